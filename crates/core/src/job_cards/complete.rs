//! Completing a job card (SPEC 4.1): one IMMEDIATE transaction that
//! finalizes totals, issues the invoice, deducts stock, writes the service
//! record and the events — all or nothing. Each step is recorded in an
//! orchestration run; a failed run is written after the rollback, in its
//! own transaction, naming the step that failed.

use chrono::Datelike;
use rusqlite::{params, Connection, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{ensure_may_work_on, get, wrong_status, JobCard, Status};
use crate::clock::Stamp;
use crate::ctx::{Actor, Ctx};
use crate::error::{Error, Result};
use crate::events::{self, kind};
use crate::failpoints;
use crate::inventory::{self, Change, Movement, Reference};
use crate::invoices::{self, Invoice, NewInvoice};
use crate::orchestration::{self, Run, Step};
use crate::totals::{self, LineInput};
use crate::validate::{Validate, Violations, MAX_TEXT};
use crate::vehicles::ServiceRecord;

/// The steps, in order, as recorded.
pub const STEPS: [&str; 7] =
    ["prerequisites", "finalize_totals", "generate_invoice", "deduct_stock", "service_record", "outbox", "commit"];

#[derive(Debug, Default, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct InvoiceData {
    /// YYYY-MM-DD; by default the issue date plus the branch's payment terms.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub due_date: Option<String>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub notes: String,
}

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct CompleteInput {
    pub job_card_id: String,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub skip_invoice: bool,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub skip_inventory: bool,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub invoice_data: InvoiceData,
}

impl Validate for CompleteInput {
    fn validate(&self, v: &mut Violations) {
        v.required("job_card_id", &self.job_card_id, 100);
        if let Some(d) = &self.invoice_data.due_date {
            v.date("invoice_data.due_date", d);
        }
        v.max_len("invoice_data.notes", &self.invoice_data.notes, MAX_TEXT);
    }
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct Completed {
    pub job_card: JobCard,
    pub invoice: Option<Invoice>,
    pub inventory_transactions_count: usize,
    pub service_record: ServiceRecord,
    pub steps: Vec<Step>,
    pub message: String,
}

/// What was done, in words: no invoice sentence when none was made.
/// `notified`: the car-ready note (and the invoice email) were queued for a
/// customer whom a fully set-up channel reaches (`messages::channels`).
pub fn message(invoice: Option<&Invoice>, stock_items: Option<usize>, notified: bool) -> String {
    let mut m = String::from("Job card completed successfully.");
    if let Some(i) = invoice {
        m.push_str(&format!(" Invoice {} generated.", i.number));
    }
    match stock_items {
        Some(0) | None => {}
        Some(1) => m.push_str(" Stock updated for 1 part."),
        Some(n) => m.push_str(&format!(" Stock updated for {n} parts.")),
    }
    if notified {
        m.push_str(" Customer notified.");
    }
    m
}

fn complete_tx(
    tx: &Transaction,
    stamp: &Stamp,
    actor: &Actor,
    input: &CompleteInput,
    run: &mut Run,
) -> Result<Completed> {
    let branch = crate::settings::branch(tx)?;
    let tz: chrono_tz::Tz = branch.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let today = stamp.now.with_timezone(&tz).date_naive();

    let card = run.step(STEPS[0], || {
        failpoints::check(STEPS[0])?;
        let card = get(tx, &input.job_card_id)?;
        ensure_may_work_on(actor, &card)?;
        if card.status != Status::InProgress {
            return Err(wrong_status(&card, "completed"));
        }
        if card.technician_id.is_none() {
            return Err(Error::rule(
                "no_technician",
                "Assign a technician before completing.",
                json!({ "job_card_id": card.id }),
            ));
        }
        if card.lines.is_empty() {
            return Err(Error::rule("no_lines", "The job card has no lines.", json!({ "job_card_id": card.id })));
        }
        let unpriced: Vec<&str> = card.lines.iter().filter(|l| l.unit_price.is_none()).map(|l| l.id.as_str()).collect();
        if !unpriced.is_empty() {
            return Err(Error::rule(
                "unpriced_lines",
                "Every line needs a price before completing.",
                json!({ "line_ids": unpriced }),
            ));
        }
        Ok(card)
    })?;

    let totals = run.step(STEPS[1], || {
        failpoints::check(STEPS[1])?;
        let inputs: Vec<LineInput> = card
            .lines
            .iter()
            .map(|l| LineInput {
                unit_price: l.unit_price.unwrap_or(0),
                quantity: l.quantity,
                tax_rate_bp: l.tax_rate_bp,
            })
            .collect();
        let t = totals::totals(&inputs, card.discount)?;
        crate::money::check_amount("job_card_id", "the job card's total", t.subtotal + t.tax_total)?;
        tx.prepare_cached(
            "UPDATE job_cards SET subtotal = ?2, tax_total = ?3, total = ?4, status = 'completed', completed_at = ?5,
                 updated_at = ?5 WHERE id = ?1 AND status = 'in_progress'",
        )?
        .execute(params![card.id, t.subtotal, t.tax_total, t.total, stamp.at()])?;
        Ok(t)
    })?;

    let invoice = run.step(STEPS[2], || {
        failpoints::check(STEPS[2])?;
        if input.skip_invoice {
            return Ok(None);
        }
        let due = match &input.invoice_data.due_date {
            Some(d) => {
                let d = crate::validate::date_field("invoice_data.due_date", d)?;
                if d < today {
                    return Err(Error::field("invoice_data.due_date", "must not be before the issue date"));
                }
                d
            }
            None => today + chrono::Duration::days(branch.payment_terms_days),
        };
        let inv = invoices::insert_tx(
            tx,
            stamp,
            &NewInvoice {
                job_card_id: &card.id,
                customer_id: &card.customer_id,
                vehicle_id: &card.vehicle_id,
                currency: &branch.currency,
                lines: billed_lines(tx, &card.lines, &totals)?,
                totals: &totals,
                due_date: &due.format("%Y-%m-%d").to_string(),
                notes: input.invoice_data.notes.trim(),
                year: today.year(),
            },
        )?;
        Ok(Some(inv))
    })?;

    let ledger = run.step(STEPS[3], || {
        failpoints::check(STEPS[3])?;
        if input.skip_inventory {
            return Ok(None);
        }
        let changes: Vec<Change> = card
            .lines
            .iter()
            .filter(|l| l.kind == "part")
            .filter_map(|l| l.item_id.as_ref().map(|i| Change { item_id: i.clone(), quantity: -l.quantity }))
            .collect();
        let reference = Reference { kind: "job_card".into(), id: card.id.clone() };
        let entries = inventory::bulk_adjust_tx(
            tx,
            stamp,
            &changes,
            Movement::JobCard,
            Some(&reference),
            &format!("Job card {}", card.number),
        )?;
        Ok(Some(entries))
    })?;

    let record = run.step(STEPS[4], || {
        failpoints::check(STEPS[4])?;
        let id = stamp.new_id();
        let summary = card.lines.iter().map(|l| l.description.as_str()).collect::<Vec<_>>().join("; ");
        let parts: Vec<_> = card
            .lines
            .iter()
            .filter(|l| l.kind == "part")
            .map(|l| json!({ "item_id": l.item_id, "description": l.description, "quantity": l.quantity }))
            .collect();
        let date = today.format("%Y-%m-%d").to_string();
        tx.prepare_cached(
            "INSERT INTO service_records (id, vehicle_id, job_card_id, date, odometer, summary, parts_used, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            id,
            card.vehicle_id,
            card.id,
            date,
            card.odometer_in,
            summary,
            json!(parts).to_string(),
            stamp.at()
        ])?;
        if let Some(o) = card.odometer_in {
            crate::vehicles::raise_odometer_tx(tx, stamp, &card.vehicle_id, o)?;
        }
        Ok(ServiceRecord {
            id,
            vehicle_id: card.vehicle_id.clone(),
            job_card_id: Some(card.id.clone()),
            date,
            odometer: card.odometer_in,
            summary,
            parts_used: json!(parts),
        })
    })?;

    run.step(STEPS[5], || {
        failpoints::check(STEPS[5])?;
        events::append_tx(
            tx,
            stamp,
            kind::JobCardCompleted,
            &card.id,
            &events::JobCardCompleted {
                job_card_id: card.id.clone(),
                number: card.number.clone(),
                customer_id: card.customer_id.clone(),
                vehicle_id: card.vehicle_id.clone(),
                technician_id: card.technician_id.clone(),
                subtotal: totals.subtotal,
                discount: totals.discount,
                tax_total: totals.tax_total,
                total: totals.total,
                invoice_id: invoice.as_ref().map(|i| i.id.clone()),
                service_record_id: record.id.clone(),
                service_record: events::ServiceRecord {
                    date: record.date.clone(),
                    odometer: record.odometer,
                    summary: record.summary.clone(),
                    parts_used: serde_json::from_value(record.parts_used.clone())?,
                },
            },
        )?;
        if let Some(inv) = &invoice {
            events::append_tx(
                tx,
                stamp,
                kind::InvoiceGenerated,
                &inv.id,
                &events::InvoiceGenerated {
                    invoice_id: inv.id.clone(),
                    number: inv.number.clone(),
                    job_card_id: card.id.clone(),
                    customer_id: inv.customer_id.clone(),
                    vehicle_id: inv.vehicle_id.clone(),
                    currency: inv.currency.clone(),
                    lines: serde_json::from_value(inv.lines.clone())?,
                    subtotal: inv.subtotal,
                    discount: inv.discount,
                    tax_summary: serde_json::from_value(inv.tax_summary.clone())?,
                    tax_total: inv.tax_total,
                    total: inv.total,
                    amount_paid: inv.amount_paid,
                    balance_due: inv.balance_due,
                    status: inv.status.clone(),
                    issued_at: inv.issued_at.clone(),
                    due_date: inv.due_date.clone(),
                    notes: inv.notes.clone(),
                },
            )?;
        }
        crate::audit::record_tx(
            tx,
            stamp,
            "job_cards.complete",
            "job_card",
            Some(&card.id),
            json!({ "invoice": invoice.as_ref().map(|i| &i.number), "skip_inventory": input.skip_inventory }),
        )?;
        Ok(())
    })?;

    let count = ledger.as_ref().map_or(0, Vec::len);
    Ok(Completed {
        job_card: get(tx, &card.id)?,
        // Worded by `complete_cmd` once the transaction is over (the keyring
        // is not read in here).
        message: String::new(),
        invoice,
        inventory_transactions_count: count,
        service_record: record,
        steps: Vec::new(),
    })
}

/// The orchestrator: see the module docs.
#[tracing::instrument(skip_all, fields(job_card_id = %input.job_card_id), err(level = "info"))]
pub fn complete_cmd(ctx: &mut Ctx, input: CompleteInput) -> Result<Completed> {
    let actor = ctx.actor()?.clone();
    let subject = input.job_card_id.clone();
    let (mut done, steps) = orchestration::run_recorded(
        ctx,
        "complete_job_card",
        Some(&subject),
        |d: &Completed| Some(d.job_card.id.clone()),
        |tx, stamp, run| complete_tx(tx, stamp, &actor, &input, run),
    )?;
    done.steps = steps;
    // The notes themselves were queued with the events (jobs::ROUTES).
    let customer = crate::customers::get(ctx.conn(), &done.job_card.customer_id)?;
    let channels = crate::messages::channels(ctx.conn(), ctx.secrets.as_deref())?;
    let notified = channels.reach(customer.email.is_some(), customer.phone.is_some());
    done.message = message(done.invoice.as_ref(), Some(done.inventory_transactions_count), notified);
    Ok(done)
}

/// The lines as billed, for the invoice's copy: with the part number and
/// unit of part lines as they were when billed.
pub fn billed_lines(conn: &Connection, lines: &[super::Line], totals: &crate::totals::Totals) -> Result<Value> {
    let mut billed = Vec::with_capacity(lines.len());
    for (l, t) in lines.iter().zip(&totals.lines) {
        let item = match &l.item_id {
            Some(id) => crate::inventory::find(conn, id)?,
            None => None,
        };
        let (sku, unit) = match (&item, l.kind.as_str()) {
            (Some(i), _) => (i.sku.as_str(), i.unit.as_str()),
            (None, "labour") => ("", "h"),
            _ => ("", ""),
        };
        billed.push(json!({
            "kind": l.kind, "description": l.description, "item_id": l.item_id, "sku": sku, "unit": unit,
            "quantity": l.quantity, "quantity_display": l.quantity_display,
            "unit_price": l.unit_price, "tax_rate_bp": l.tax_rate_bp,
            "net": t.net, "tax": t.tax, "total": t.total,
        }));
    }
    Ok(Value::Array(billed))
}
