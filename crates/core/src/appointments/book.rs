//! Booking an appointment (SPEC 4.3): find or create the customer and the
//! vehicle, check the branch is open for the whole visit, take a free bay
//! with the capability the service needs, create the appointment and its
//! reservation, and write the events — in one transaction.

use rusqlite::{params, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::rules::{self, SlotProblem};
use super::{calendar, capable_bays, check_branch, get, minutes_of, next_free, service_type_by_code, Appointment};
use crate::clock::{rfc3339, Stamp};
use crate::ctx::Ctx;
use crate::customers::{self, Customer, CustomerFields};
use crate::error::{Error, Result};
use crate::events::{self, kind};
use crate::failpoints;
use crate::orchestration::{self, Run, Step};
use crate::validate::{check_email, check_phone_shape, Validate, Violations, MAX_NAME, MAX_TEXT};
use crate::vehicles::{self, NewVehicle, Vehicle};

pub const STEPS: [&str; 7] = ["customer", "vehicle", "branch_hours", "bay", "appointment", "outbox", "commit"];

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct BookInput {
    #[serde(default)]
    #[ts(optional = nullable)]
    pub customer_id: Option<String>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub customer_name: Option<String>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub customer_email: Option<String>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub customer_phone: Option<String>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub vehicle_id: Option<String>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub license_plate: Option<String>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub vehicle_make: Option<String>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub vehicle_model: Option<String>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub vehicle_year: Option<i64>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub branch_id: Option<String>,
    pub scheduled_date: String,
    pub scheduled_time: String,
    pub service_type: String,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub estimated_duration: Option<i64>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub bay_id: Option<String>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub notes: String,
}

impl Validate for BookInput {
    fn validate(&self, v: &mut Violations) {
        let has = |o: &Option<String>| o.as_deref().is_some_and(|s| !s.trim().is_empty());
        v.optional("customer_id", self.customer_id.as_deref(), 100);
        v.optional("customer_name", self.customer_name.as_deref(), MAX_NAME);
        if let Some(e) = self.customer_email.as_deref().filter(|e| !e.trim().is_empty()) {
            if let Err(m) = check_email(e) {
                v.add("customer_email", m);
            }
        }
        if let Some(p) = self.customer_phone.as_deref().filter(|p| !p.trim().is_empty()) {
            if let Err(m) = check_phone_shape(p) {
                v.add("customer_phone", m);
            }
        }
        if !has(&self.customer_id)
            && !has(&self.customer_name)
            && !has(&self.customer_email)
            && !has(&self.customer_phone)
        {
            v.add("customer_name", "choose a customer, or give the customer's name, email or phone");
        }
        v.optional("vehicle_id", self.vehicle_id.as_deref(), 100);
        if let Some(p) = self.license_plate.as_ref().filter(|_| !has(&self.vehicle_id)) {
            vehicles::check_plate(v, "license_plate", p);
        }
        if !has(&self.vehicle_id) && !has(&self.license_plate) {
            v.add("license_plate", "choose a vehicle, or give its licence plate");
        }
        v.optional("vehicle_make", self.vehicle_make.as_deref(), MAX_NAME);
        v.optional("vehicle_model", self.vehicle_model.as_deref(), MAX_NAME);
        if let Some(y) = self.vehicle_year {
            v.range("vehicle_year", y, 1886, i64::from(chrono::Datelike::year(&chrono::Utc::now())) + 1);
        }
        v.optional("branch_id", self.branch_id.as_deref(), 100);
        v.date("scheduled_date", &self.scheduled_date);
        if minutes_of("scheduled_time", &self.scheduled_time).is_err() {
            v.add("scheduled_time", "must be a time HH:MM");
        }
        v.required("service_type", &self.service_type, 50);
        if let Some(d) = self.estimated_duration {
            v.range("estimated_duration", d, 5, 1440);
        }
        v.optional("bay_id", self.bay_id.as_deref(), 100);
        v.max_len("notes", &self.notes, MAX_TEXT);
    }
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct Booked {
    pub appointment: Appointment,
    pub customer: Customer,
    pub vehicle: Vehicle,
    pub is_new_customer: bool,
    pub is_new_vehicle: bool,
    /// The plate belongs to another customer: linked to this visit anyway.
    pub vehicle_owner_mismatch: bool,
    pub steps: Vec<Step>,
    pub message: String,
}

/// What was done, in words. `notified`: the confirmation was queued for a
/// customer whom a fully set-up channel reaches (`messages::channels`).
pub fn message(new_customer: bool, new_vehicle: bool, notified: bool) -> String {
    let mut m = String::from("Appointment booked successfully.");
    if new_customer {
        m.push_str(" Welcome! Your customer profile has been created.");
    }
    if new_vehicle {
        m.push_str(" Vehicle registered successfully.");
    }
    if notified {
        m.push_str(" Confirmation notification sent.");
    }
    m
}

/// What the booking reads from its input before the write lock is taken.
#[derive(Debug, PartialEq)]
pub struct Prepared {
    /// The customer's phone in E.164, read with the branch's country; `None`
    /// when none was given or the customer is given by id. Reading a phone
    /// loads the phone-number metadata on first use: done here, outside the
    /// transaction, so the write lock is never held for it.
    pub customer_phone: Option<String>,
}

/// Reads the input as far as it can without the write lock; a phone that is
/// not a number in `country` is a 422 here.
pub fn prepare(input: &BookInput, country: &str) -> Result<Prepared> {
    let by_id = input.customer_id.as_deref().is_some_and(|s| !s.trim().is_empty());
    let customer_phone =
        if by_id { None } else { customers::phone_field("customer_phone", input.customer_phone.as_deref(), country)? };
    Ok(Prepared { customer_phone })
}

fn find_or_create_customer(
    tx: &Transaction,
    stamp: &Stamp,
    input: &BookInput,
    prepared: &Prepared,
) -> Result<(Customer, bool)> {
    if let Some(id) = input.customer_id.as_deref().filter(|s| !s.trim().is_empty()) {
        return Ok((customers::get(tx, id)?, false));
    }
    let email = input.customer_email.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let phone = prepared.customer_phone.clone();
    let by_email = match email {
        Some(e) => customers::find_by_email(tx, e)?,
        None => None,
    };
    let by_phone = match &phone {
        Some(p) => customers::find_by_phone(tx, p)?,
        None => None,
    };
    match (by_email, by_phone) {
        (Some(a), Some(b)) if a.id != b.id => Err(Error::conflict(
            "customer_conflict",
            "The email and the phone belong to two different customers.",
            json!({ "email_customer_id": a.id, "phone_customer_id": b.id }),
        )),
        (Some(c), _) | (None, Some(c)) => Ok((c, false)),
        (None, None) => {
            let name = input.customer_name.as_deref().map(str::trim).filter(|s| !s.is_empty());
            let Some(name) = name else {
                return Err(Error::field("customer_name", "is required for a new customer"));
            };
            let fields = CustomerFields {
                name: name.to_string(),
                email: email.map(str::to_string),
                phone,
                address: String::new(),
                notes: String::new(),
                marketing_consent: false,
            };
            Ok((customers::create_tx(tx, stamp, &fields)?, true))
        }
    }
}

fn find_or_register_vehicle(
    tx: &Transaction,
    stamp: &Stamp,
    input: &BookInput,
    customer: &Customer,
) -> Result<(Vehicle, bool)> {
    if let Some(id) = input.vehicle_id.as_deref().filter(|s| !s.trim().is_empty()) {
        return Ok((vehicles::get(tx, id)?, false));
    }
    let plate = input.license_plate.as_deref().unwrap_or_default();
    if let Some(v) = vehicles::find_by_plate(tx, plate)? {
        return Ok((v, false));
    }
    let mut missing = Violations::default();
    for (field, value) in [("vehicle_make", &input.vehicle_make), ("vehicle_model", &input.vehicle_model)] {
        if value.as_deref().is_none_or(|s| s.trim().is_empty()) {
            missing.add(field, "is required to register a new vehicle");
        }
    }
    missing.into_result()?;
    let v = vehicles::register_tx(
        tx,
        stamp,
        &NewVehicle {
            customer_id: customer.id.clone(),
            license_plate: plate.to_string(),
            vin: None,
            make: input.vehicle_make.clone().unwrap_or_default(),
            model: input.vehicle_model.clone().unwrap_or_default(),
            year: input.vehicle_year,
            odometer: None,
        },
    )?;
    Ok((v, true))
}

fn slot_error(p: SlotProblem, date: &str) -> Error {
    match p {
        SlotProblem::Closed(reason) => Error::rule(
            "branch_closed",
            format!(
                "The branch is closed on {date}{}.",
                if reason.is_empty() { String::new() } else { format!(" ({reason})") }
            ),
            json!({ "date": date, "reason": reason }),
        ),
        SlotProblem::OutsideHours => Error::rule(
            "outside_opening_hours",
            "The visit does not fit within the branch's opening hours.",
            json!({ "date": date }),
        ),
        SlotProblem::DstChange => Error::rule(
            "dst_change",
            "That time falls on a daylight-saving change; choose another time.",
            json!({ "date": date }),
        ),
        SlotProblem::InThePast => Error::rule("in_the_past", "That time has already passed.", json!({ "date": date })),
    }
}

fn book_tx(tx: &Transaction, stamp: &Stamp, input: &BookInput, prepared: &Prepared, run: &mut Run) -> Result<Booked> {
    let cal = calendar(tx)?;
    check_branch(&cal, input.branch_id.as_deref())?;
    let (customer, is_new_customer) = run.step(STEPS[0], || {
        failpoints::check(STEPS[0])?;
        find_or_create_customer(tx, stamp, input, prepared)
    })?;
    let (vehicle, is_new_vehicle) = run.step(STEPS[1], || {
        failpoints::check(STEPS[1])?;
        find_or_register_vehicle(tx, stamp, input, &customer)
    })?;
    let mismatch = vehicle.customer_id != customer.id;

    let (st, duration, date, slot) = run.step(STEPS[2], || {
        failpoints::check(STEPS[2])?;
        let st = service_type_by_code(tx, &input.service_type)?;
        let duration = input.estimated_duration.unwrap_or(st.duration_minutes);
        let date = crate::validate::date_field("scheduled_date", &input.scheduled_date)?;
        let start = minutes_of("scheduled_time", &input.scheduled_time)?;
        let slot = rules::check_visit(cal.tz, &cal.hours, &cal.closures, date, start, duration, stamp.now)
            .map_err(|p| slot_error(p, &input.scheduled_date))?;
        Ok((st, duration, date, slot))
    })?;

    let bay = run.step(STEPS[3], || {
        failpoints::check(STEPS[3])?;
        let mut bays = capable_bays(tx, &cal.branch.id, st.required_capability.as_deref())?;
        if let Some(b) = &input.bay_id {
            let Some(chosen) = bays.iter().find(|x| &x.id == b).cloned() else {
                return Err(Error::field("bay_id", "is not an active bay with the capability this service needs"));
            };
            bays = vec![chosen];
        }
        for b in &bays {
            if !super::busy(tx, &b.id, slot.starts_at, slot.ends_at)?.iter().any(|s| rules::overlaps(*s, slot)) {
                return Ok(b.clone());
            }
        }
        // Offer the free starts from the requested time on.
        let next = next_free(tx, &cal, &bays, date, duration, slot.starts_at.max(stamp.now), 14, 5)?;
        Err(Error::conflict(
            "bay_unavailable",
            "No bay is free for that time.",
            json!({ "next_free": next, "capability": st.required_capability }),
        ))
    })?;

    let appointment = run.step(STEPS[4], || {
        failpoints::check(STEPS[4])?;
        let id = stamp.new_id();
        tx.prepare_cached(
            "INSERT INTO appointments (id, branch_id, customer_id, vehicle_id, service_type_id, bay_id, scheduled_date,
                 scheduled_time, duration_minutes, starts_at, ends_at, status, notes, vehicle_owner_mismatch,
                 created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'scheduled', ?12, ?13, ?14, ?14)",
        )?
        .execute(params![
            id,
            cal.branch.id,
            customer.id,
            vehicle.id,
            st.id,
            bay.id,
            input.scheduled_date,
            input.scheduled_time,
            duration,
            rfc3339(slot.starts_at),
            rfc3339(slot.ends_at),
            input.notes.trim(),
            mismatch,
            stamp.at()
        ])?;
        tx.prepare_cached(
            "INSERT INTO bay_reservations (id, bay_id, appointment_id, starts_at, ends_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![stamp.new_id(), bay.id, id, rfc3339(slot.starts_at), rfc3339(slot.ends_at)])?;
        crate::audit::record_tx(tx, stamp, "appointments.book", "appointment", Some(&id), json!({ "bay_id": bay.id }))?;
        get(tx, &id)
    })?;

    run.step(STEPS[5], || {
        failpoints::check(STEPS[5])?;
        events::append_tx(
            tx,
            stamp,
            kind::AppointmentBooked,
            &appointment.id,
            &events::AppointmentBooked {
                appointment_id: appointment.id.clone(),
                customer_id: customer.id.clone(),
                vehicle_id: vehicle.id.clone(),
                service_type: st.code.clone(),
                service_type_id: st.id.clone(),
                bay_id: bay.id.clone(),
                scheduled_date: appointment.scheduled_date.clone(),
                scheduled_time: appointment.scheduled_time.clone(),
                duration_minutes: appointment.duration_minutes,
                starts_at: appointment.starts_at.clone(),
                ends_at: appointment.ends_at.clone(),
                notes: appointment.notes.clone(),
                vehicle_owner_mismatch: mismatch,
            },
        )?;
        Ok(())
    })?;

    Ok(Booked {
        // Worded by `book_cmd` once the transaction is over: whether the
        // customer is reached needs the keyring, which is not read in here.
        message: String::new(),
        appointment,
        customer,
        vehicle,
        is_new_customer,
        is_new_vehicle,
        vehicle_owner_mismatch: mismatch,
        steps: Vec::new(),
    })
}

#[tracing::instrument(skip_all, err(level = "info"))]
pub fn book_cmd(ctx: &mut Ctx, input: BookInput) -> Result<Booked> {
    let prepared = prepare(&input, &crate::settings::branch(ctx.conn())?.country)?;
    let (mut booked, steps) = orchestration::run_recorded(
        ctx,
        "book_appointment",
        None,
        |b: &Booked| Some(b.appointment.id.clone()),
        |tx, stamp, run| book_tx(tx, stamp, &input, &prepared, run),
    )?;
    booked.steps = steps;
    // The confirmation jobs were queued with the AppointmentBooked event, in
    // the booking's own transaction (jobs::ROUTES).
    let channels = crate::messages::channels(ctx.conn(), ctx.secrets.as_deref())?;
    let notified = channels.reach(booked.customer.email.is_some(), booked.customer.phone.is_some());
    booked.message = message(booked.is_new_customer, booked.is_new_vehicle, notified);
    Ok(booked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(changes: serde_json::Value) -> BookInput {
        let mut v = json!({
            "customer_name": "John Doe", "license_plate": "ABC-123", "scheduled_date": "2026-11-25",
            "scheduled_time": "09:00", "service_type": "oil_change",
        });
        for (k, x) in changes.as_object().into_iter().flatten() {
            v[k] = x.clone();
        }
        serde_json::from_value(v).expect("a booking input")
    }

    #[test]
    fn the_phone_is_read_before_the_transaction() {
        let cases = [
            (
                "a national number read with the branch's country",
                json!({ "customer_phone": "(215) 555-0100" }),
                "US",
                Some("+12155550100"),
            ),
            ("an international number", json!({ "customer_phone": "+44 20 7946 0018" }), "US", Some("+442079460018")),
            ("no phone", json!({}), "US", None),
            ("a blank phone", json!({ "customer_phone": "  " }), "US", None),
            (
                "a customer given by id: the phone is not read",
                json!({ "customer_id": "c1", "customer_phone": "+999 555 0100" }),
                "US",
                None,
            ),
        ];
        for (name, changes, country, want) in cases {
            let prepared = prepare(&input(changes), country).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(prepared, Prepared { customer_phone: want.map(str::to_string) }, "{name}");
        }
        let err =
            prepare(&input(json!({ "customer_phone": "+999 555 0100" })), "US").expect_err("no such country code");
        assert!(
            matches!(&err, Error::Validation(f) if f.len() == 1 && f[0].field == "customer_phone"),
            "a phone that is no number is a 422 naming customer_phone: {err:?}"
        );
    }
}
