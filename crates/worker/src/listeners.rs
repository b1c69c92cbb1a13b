//! The listeners, by the names `pitlane_core::jobs::ROUTES` gives them.

use pitlane_core::alerts::{self, NewAlert};
use pitlane_core::jobs::Claimed;
use pitlane_core::messages::{self, InvoiceFacts, Sender};
use pitlane_core::{appointments, customers, invoices, job_cards, printing, settings, vehicles, Api};
use serde_json::Value;

use crate::notify::{File, Mailer, Sms};
use crate::{Done, Failure, Job};

type Listener = fn(&Job) -> Result<Done, Failure>;

/// The listener called `name`.
pub fn listener(name: &str) -> Option<Listener> {
    Some(match name {
        "appointment_confirmation_email" => |j| appointment_confirmation(j, Channel::Email),
        "appointment_confirmation_sms" => |j| appointment_confirmation(j, Channel::Sms),
        "vehicle_ready_email" => |j| vehicle_ready(j, Channel::Email),
        "vehicle_ready_sms" => |j| vehicle_ready(j, Channel::Sms),
        "invoice_email" => invoice_email,
        "low_stock_alert" => low_stock_alert,
        "low_stock_email" => low_stock_email,
        "payment_compensation_email" => payment_compensation_email,
        _ => return None,
    })
}

fn field<'a>(job: &'a Job, key: &str) -> Result<&'a str, Failure> {
    payload_field(job.claimed, key)
}

fn payload_field<'a>(claimed: &'a Claimed, key: &str) -> Result<&'a str, Failure> {
    claimed.event.payload.get(key).and_then(Value::as_str).ok_or_else(|| format!("the event has no {key}"))
}

/// Whether a customer message's moment has passed, judged from the
/// database as it is now: `Some(outcome)`, a skip that says why. A booking
/// confirmation is outdated once the appointment was cancelled, missed,
/// checked in (or its visit done), confirmed since (the confirmation says
/// it), or its time has passed; a car-ready note or the invoice made with
/// it once the invoice was voided. The worker asks before it runs a job,
/// and about a queued message that holds back a later one.
pub fn outdated(api: &Api, claimed: &Claimed) -> Result<Option<String>, Failure> {
    use appointments::Status;
    let event = claimed.event.event_type.as_str();
    let why = match claimed.job.listener.as_str() {
        "appointment_confirmation_email" | "appointment_confirmation_sms" => {
            let conn = api.lock_conn();
            let a = db(appointments::get(&conn, payload_field(claimed, "appointment_id")?))?;
            let card_done = match &a.job_card_id {
                Some(id) => db(job_cards::get(&conn, id))?.status == job_cards::Status::Completed,
                None => false,
            };
            let started = chrono::DateTime::parse_from_rfc3339(&a.starts_at).is_ok_and(|t| t <= api.clock().now());
            match a.status {
                Status::Cancelled => Some("the appointment was cancelled"),
                Status::NoShow => Some("the customer did not come to the appointment"),
                Status::CheckedIn if card_done => Some("the visit is done"),
                Status::CheckedIn => Some("the car was checked in"),
                Status::Confirmed if event == "AppointmentBooked" => {
                    Some("the appointment was confirmed since, and the confirmation says so")
                }
                _ if started => Some("the appointment's time has passed"),
                _ => None,
            }
        }
        "vehicle_ready_email" | "vehicle_ready_sms" => {
            let invoice = claimed.event.payload.get("invoice_id").and_then(Value::as_str);
            match invoice {
                Some(id) if db(invoices::get(&api.lock_conn(), id))?.status == "void" => Some("the invoice was voided"),
                _ => None,
            }
        }
        "invoice_email" if event == "InvoiceGenerated" => {
            let invoice = db(invoices::get(&api.lock_conn(), payload_field(claimed, "invoice_id")?))?;
            (invoice.status == "void").then_some("the invoice was voided")
        }
        _ => None,
    };
    Ok(why.map(|w| format!("skipped: outdated, {w}")))
}

fn db<T>(r: pitlane_core::Result<T>) -> Result<T, Failure> {
    r.map_err(|e| format!("database: {e}"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
}

const NO_EMAIL: &str = "skipped: the customer has no email address";
const NO_PHONE: &str = "skipped: the customer has no phone number";
const EMAIL_NOT_SET_UP: &str = "skipped: email is not set up";
const SMS_NOT_SET_UP: &str = "skipped: SMS is not set up";

fn skipped(why: &str) -> Result<Done, Failure> {
    Ok(Done::Outcome(why.to_string()))
}

/// Tells a customer by one channel. A customer who left no address for it,
/// or a channel the branch has not set up, is a success that says so
/// (nothing to retry); the address is checked first, so half-finished
/// settings fail only jobs that have something to send.
fn tell_customer(
    job: &Job,
    channel: Channel,
    customer: customers::Customer,
    words: &messages::Words,
) -> Result<Done, Failure> {
    let id = &job.claimed.job.id;
    match channel {
        Channel::Email => {
            let Some(to) = customer.email else { return skipped(NO_EMAIL) };
            let Some(mailer) = Mailer::from_settings(job.api)? else { return skipped(EMAIL_NOT_SET_UP) };
            mailer.send(&to, &words.subject, &words.body, None, id)?;
            Ok(Done::Outcome(format!("emailed {to}")))
        }
        Channel::Sms => {
            let Some(to) = customer.phone else { return skipped(NO_PHONE) };
            let Some(sms) = Sms::from_settings(job.api)? else { return skipped(SMS_NOT_SET_UP) };
            sms.send(&to, &words.text, id)?;
            Ok(Done::Outcome(format!("texted {to}")))
        }
    }
}

fn appointment_confirmation(job: &Job, channel: Channel) -> Result<Done, Failure> {
    let id = field(job, "appointment_id")?;
    let (appointment, branch, vehicle, service, customer) = {
        let conn = job.api.lock_conn();
        let a = db(appointments::get(&conn, id))?;
        let branch = Sender::of(&db(settings::branch(&conn))?);
        let vehicle = db(vehicles::get(&conn, &a.vehicle_id))?;
        let service = db(settings::service_types(&conn))?
            .into_iter()
            .find(|s| s.id == a.service_type_id)
            .map(|s| s.name)
            .unwrap_or_else(|| "service".into());
        let customer = db(customers::get(&conn, &a.customer_id))?;
        (a, branch, vehicle, service, customer)
    };
    let confirmed = job.claimed.event.event_type == "AppointmentConfirmed";
    let when = messages::visit_time(&appointment.scheduled_date, &appointment.scheduled_time, branch.time_zone);
    let car = messages::vehicle(&vehicle.make, &vehicle.model, &vehicle.license_plate);
    let words = messages::appointment(&branch, &customer.name, &car, &service, &when, confirmed);
    tell_customer(job, channel, customer, &words)
}

fn vehicle_ready(job: &Job, channel: Channel) -> Result<Done, Failure> {
    let id = field(job, "job_card_id")?;
    let (vehicle, branch, customer) = {
        let conn = job.api.lock_conn();
        let card = db(job_cards::get(&conn, id))?;
        let vehicle = db(vehicles::get(&conn, &card.vehicle_id))?;
        let customer = db(customers::get(&conn, &card.customer_id))?;
        (vehicle, Sender::of(&db(settings::branch(&conn))?), customer)
    };
    let make_model = format!("{} {}", vehicle.make.trim(), vehicle.model.trim());
    let car = messages::vehicle(&vehicle.make, &vehicle.model, &vehicle.license_plate);
    let words = messages::vehicle_ready(&branch, &customer.name, make_model.trim(), &car);
    tell_customer(job, channel, customer, &words)
}

/// The invoice as a PDF attachment: to the address staff gave
/// (`invoices.email`), or, when the invoice is made (`InvoiceGenerated`),
/// to the customer's address if they have one and email is set up.
fn invoice_email(job: &Job) -> Result<Done, Failure> {
    let id = field(job, "invoice_id")?;
    let requested = job.claimed.event.event_type == "InvoiceEmailRequested";
    let (doc, branch, invoice, customer) = {
        let conn = job.api.lock_conn();
        let invoice = db(invoices::get(&conn, id))?;
        let customer = db(customers::get(&conn, &invoice.customer_id))?;
        (
            db(printing::printable(&conn, id, job.api.clock().now()))?,
            Sender::of(&db(settings::branch(&conn))?),
            invoice,
            customer,
        )
    };
    // Asked for: the given address, and a missing email setup is a failure
    // to retry. When the invoice is made: the customer's address, if any.
    let (to, mailer) = if requested {
        let mailer =
            Mailer::from_settings(job.api)?.ok_or("email is not set up (settings.update integrations.smtp_host)")?;
        (field(job, "to")?.to_string(), mailer)
    } else {
        let Some(to) = customer.email.clone() else { return skipped(NO_EMAIL) };
        let Some(mailer) = Mailer::from_settings(job.api)? else { return skipped(EMAIL_NOT_SET_UP) };
        (to, mailer)
    };
    let printed = job.printer.print(&doc).map_err(|e| format!("pdf: {e}"))?;
    let facts = InvoiceFacts {
        number: &invoice.number,
        issued_at: &invoice.issued_at,
        due_date: &invoice.due_date,
        currency: &invoice.currency,
        total: invoice.total,
        balance_due: invoice.balance_due,
        void: invoice.status == "void",
    };
    let (subject, body) = messages::invoice(&branch, &customer.name, &facts);
    let file = File { name: format!("{}.pdf", invoice.number), content_type: "application/pdf", bytes: printed.bytes };
    mailer.send(&to, &subject, &body, Some(file), &job.claimed.job.id)?;
    let pages = if printed.pages == 1 { "1 page".to_string() } else { format!("{} pages", printed.pages) };
    Ok(Done::Outcome(format!("emailed {to} ({pages})")))
}

/// Emails the managers' alert address, if one is set.
fn email_managers(job: &Job, subject: &str, body: &str) -> Result<Option<String>, Failure> {
    let Some(to) = db(settings::integration(&job.api.lock_conn(), "alerts_email"))? else {
        return Ok(None);
    };
    let Some(mailer) = Mailer::from_settings(job.api)? else {
        return Ok(None);
    };
    mailer.send(&to, subject, body, None, &job.claimed.job.id)?;
    Ok(Some(to))
}

/// The low-stock item's id, the alert's title and its sentence.
fn low_stock_words(job: &Job) -> Result<(String, String, String), Failure> {
    let payload = &job.claimed.event.payload;
    let item_id = field(job, "item_id")?.to_string();
    let name = field(job, "name")?.to_string();
    let on_hand = payload.get("on_hand").and_then(Value::as_i64).unwrap_or_default();
    let reorder = payload.get("reorder_level").and_then(Value::as_i64).unwrap_or_default();
    let body = format!(
        "{name} is down to {} (reorder level {}). Order more before the next jobs need it.",
        pitlane_core::money::format_quantity(on_hand),
        pitlane_core::money::format_quantity(reorder)
    );
    Ok((item_id, format!("Low stock: {name}"), body))
}

/// The in-app alert, raised in the transaction that records the job's
/// success: once.
fn low_stock_alert(job: &Job) -> Result<Done, Failure> {
    let (item_id, title, body) = low_stock_words(job)?;
    Ok(Done::WithWork(
        "alert shown".into(),
        Box::new(move |tx, stamp| {
            alerts::raise_tx(
                tx,
                stamp,
                NewAlert { kind: "low_stock", title, body, subject_type: "inventory_item", subject_id: &item_id },
            )
            .map(|_| ())
        }),
    ))
}

fn low_stock_email(job: &Job) -> Result<Done, Failure> {
    let (_, title, body) = low_stock_words(job)?;
    Ok(Done::Outcome(match email_managers(job, &title, &body)? {
        Some(to) => format!("emailed {to}"),
        None => "skipped: no alerts email address, or email is not set up".into(),
    }))
}

fn payment_compensation_email(job: &Job) -> Result<Done, Failure> {
    let payload = &job.claimed.event.payload;
    let amount = payload.get("amount").and_then(Value::as_i64).unwrap_or_default();
    let currency = field(job, "currency").unwrap_or("");
    let reason = field(job, "reason").unwrap_or("the payment could not be recorded");
    let invoice_id = field(job, "invoice_id")?;
    let number = db(invoices::get(&job.api.lock_conn(), invoice_id))?.number;
    let subject = format!("Card payment on {number} refunded");
    let body = format!(
        "A card payment of {currency} {} on invoice {number} was charged but could not be recorded ({reason}), so it was refunded to the card. The invoice is unchanged.",
        printing::amount(amount)
    );
    Ok(Done::Outcome(match email_managers(job, &subject, &body)? {
        Some(to) => format!("emailed {to}"),
        None => {
            "skipped: no alerts email address, or email is not set up (the in-app alert came with the refund)".into()
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_routed_listener_exists() {
        for name in pitlane_core::jobs::listener_names() {
            assert!(listener(name).is_some(), "{name} is routed but has no listener");
        }
        assert!(listener("nobody").is_none());
    }
}
