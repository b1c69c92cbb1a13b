//! Checking a car in (SPEC 4.4): the appointment becomes `checked_in` and a
//! job card opens with the service type's canned lines, in one transaction.

use rusqlite::params;
use serde::Serialize;
use serde_json::json;

use super::{get, set_status_tx, Appointment, AppointmentAction, Status};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::events::{self, kind};
use crate::failpoints;
use crate::job_cards::{self, JobCard, NewJobCard, NewLine};
use crate::orchestration::{self, Step};

pub const STEPS: [&str; 4] = ["appointment", "job_card", "canned_lines", "commit"];

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct CheckedIn {
    pub appointment: Appointment,
    pub job_card: JobCard,
    pub steps: Vec<Step>,
}

pub fn check_in_cmd(ctx: &mut Ctx, input: AppointmentAction) -> Result<CheckedIn> {
    let year = job_cards::branch_year(ctx.conn(), ctx.clock.now())?;
    let subject = input.appointment_id.clone();
    let (mut done, steps) = orchestration::run_recorded(
        ctx,
        "check_in",
        Some(&subject),
        |d: &CheckedIn| Some(d.appointment.id.clone()),
        |tx, stamp, run| {
            let a = run.step(STEPS[0], || {
                failpoints::check(STEPS[0])?;
                let a = get(tx, &input.appointment_id)?;
                set_status_tx(tx, stamp, &a, Status::CheckedIn)?;
                Ok(a)
            })?;
            let card = run.step(STEPS[1], || {
                failpoints::check(STEPS[1])?;
                let card = job_cards::create_tx(
                    tx,
                    stamp,
                    &NewJobCard {
                        customer_id: a.customer_id.clone(),
                        vehicle_id: a.vehicle_id.clone(),
                        technician_id: None,
                        complaint: a.notes.clone(),
                        odometer_in: None,
                    },
                    Some(&a.id),
                    year,
                )?;
                tx.prepare_cached("UPDATE appointments SET job_card_id = ?2, updated_at = ?3 WHERE id = ?1")?
                    .execute(params![a.id, card.id, stamp.at()])?;
                Ok(card)
            })?;
            run.step(STEPS[2], || {
                failpoints::check(STEPS[2])?;
                let st = crate::settings::service_types(tx)?
                    .into_iter()
                    .find(|t| t.id == a.service_type_id)
                    .ok_or_else(|| Error::Internal("service type of the appointment is gone".into()))?;
                for l in &st.lines {
                    job_cards::add_line_tx(
                        tx,
                        stamp,
                        &card,
                        &NewLine {
                            job_card_id: card.id.clone(),
                            kind: l.kind.clone(),
                            description: Some(l.description.clone()),
                            quantity: l.quantity,
                            item_id: l.item_id.clone(),
                            unit_price: l.unit_price,
                            tax_rate_bp: None,
                        },
                    )?;
                }
                crate::audit::record_tx(
                    tx,
                    stamp,
                    "appointments.check_in",
                    "appointment",
                    Some(&a.id),
                    json!({ "job_card_id": card.id }),
                )?;
                events::append_tx(
                    tx,
                    stamp,
                    kind::AppointmentCheckedIn,
                    &a.id,
                    &events::AppointmentCheckedIn {
                        appointment_id: a.id.clone(),
                        job_card_id: card.id.clone(),
                        customer_id: a.customer_id.clone(),
                    },
                )?;
                Ok(())
            })?;
            Ok(CheckedIn { appointment: get(tx, &a.id)?, job_card: job_cards::get(tx, &card.id)?, steps: Vec::new() })
        },
    )?;
    done.steps = steps;
    Ok(done)
}
