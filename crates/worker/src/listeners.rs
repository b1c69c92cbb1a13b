//! The listeners, by the names `pitlane_core::jobs::ROUTES` gives them.

use pitlane_core::alerts::{self, NewAlert};
use pitlane_core::{appointments, customers, invoices, job_cards, printing, settings, vehicles};
use serde_json::Value;

use crate::notify::{File, Mailer, Sms};
use crate::{Done, Failure, Job};

type Listener = fn(&Job) -> Result<Done, Failure>;

/// The listener called `name`.
pub fn listener(name: &str) -> Option<Listener> {
    Some(match name {
        "appointment_confirmation" => appointment_confirmation,
        "vehicle_ready" => vehicle_ready,
        "invoice_email" => invoice_email,
        "low_stock_alert" => low_stock_alert,
        "payment_compensation_alert" => payment_compensation_alert,
        _ => return None,
    })
}

fn field<'a>(job: &'a Job, key: &str) -> Result<&'a str, Failure> {
    job.claimed.event.payload.get(key).and_then(Value::as_str).ok_or_else(|| format!("the event has no {key}"))
}

fn db<T>(r: pitlane_core::Result<T>) -> Result<T, Failure> {
    r.map_err(|e| format!("database: {e}"))
}

/// Which ways a customer can be told something, given what they left and
/// what the branch has set up.
#[derive(Debug, PartialEq, Eq)]
pub struct Reach {
    pub email: bool,
    pub sms: bool,
}

pub fn reach(has_email: bool, smtp: bool, has_phone: bool, sms_gateway: bool) -> Reach {
    Reach { email: has_email && smtp, sms: has_phone && sms_gateway }
}

/// Tells a customer by every way that works; a customer who cannot be
/// reached is a success that says so (nothing to retry).
fn tell_customer(job: &Job, customer_id: &str, subject: &str, body: &str, text: &str) -> Result<Done, Failure> {
    let customer = db(customers::get(&job.api.lock_conn(), customer_id))?;
    let mailer = Mailer::from_settings(job.api)?;
    let sms = Sms::from_settings(job.api)?;
    let how = reach(customer.email.is_some(), mailer.is_some(), customer.phone.is_some(), sms.is_some());
    let mut did = Vec::new();
    if let (true, Some(m), Some(to)) = (how.email, &mailer, &customer.email) {
        m.send(to, subject, body, None, &job.claimed.job.id)?;
        did.push(format!("emailed {to}"));
    }
    if let (true, Some(s), Some(to)) = (how.sms, &sms, &customer.phone) {
        s.send(to, text, &job.claimed.job.id)?;
        did.push(format!("texted {to}"));
    }
    if did.is_empty() {
        let why = match (customer.email.is_some() || customer.phone.is_some(), mailer.is_some() || sms.is_some()) {
            (false, _) => "the customer has no email address or phone number",
            (true, false) => "neither email nor SMS is set up",
            (true, true) => "no way set up reaches this customer",
        };
        return Ok(Done::Outcome(format!("skipped: {why}")));
    }
    Ok(Done::Outcome(did.join("; ")))
}

fn when(date: &str, time: &str) -> String {
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map(|d| format!("{} at {time}", d.format("%A %-d %B %Y")))
        .unwrap_or_else(|_| format!("{date} {time}"))
}

fn appointment_confirmation(job: &Job) -> Result<Done, Failure> {
    let id = field(job, "appointment_id")?;
    let (appointment, branch, vehicle, service) = {
        let conn = job.api.lock_conn();
        let a = db(appointments::get(&conn, id))?;
        let branch = db(settings::branch(&conn))?;
        let vehicle = db(vehicles::get(&conn, &a.vehicle_id))?;
        let service = db(settings::service_types(&conn))?
            .into_iter()
            .find(|s| s.id == a.service_type_id)
            .map(|s| s.name)
            .unwrap_or_else(|| "service".into());
        (a, branch, vehicle, service)
    };
    if appointment.status.as_str() == "cancelled" {
        return Ok(Done::Outcome("skipped: the appointment was cancelled".into()));
    }
    let confirmed = job.claimed.event.event_type == "AppointmentConfirmed";
    let at = when(&appointment.scheduled_date, &appointment.scheduled_time);
    let subject = format!("{}: your appointment on {at}", branch.name);
    let body = format!(
        "Hello,\n\nYour {service} appointment for {} {} ({}) is {} for {at} at {}.\n\n{}\n{}\n",
        vehicle.make,
        vehicle.model,
        vehicle.license_plate,
        if confirmed { "confirmed" } else { "booked" },
        branch.name,
        branch.address,
        branch.phone
    );
    let text = format!(
        "{}: {service} for {} {} {at}.",
        branch.name,
        vehicle.license_plate,
        if confirmed { "confirmed" } else { "booked" }
    );
    tell_customer(job, &appointment.customer_id, &subject, &body, &text)
}

fn vehicle_ready(job: &Job) -> Result<Done, Failure> {
    let id = field(job, "job_card_id")?;
    let (card, vehicle, branch) = {
        let conn = job.api.lock_conn();
        let card = db(job_cards::get(&conn, id))?;
        let vehicle = db(vehicles::get(&conn, &card.vehicle_id))?;
        (card, vehicle, db(settings::branch(&conn))?)
    };
    let subject = format!("{}: your {} {} is ready", branch.name, vehicle.make, vehicle.model);
    let body = format!(
        "Hello,\n\nThe work on your {} {} ({}) is finished and the car is ready for pickup.\n\n{}\n{}\n{}\n",
        vehicle.make, vehicle.model, vehicle.license_plate, branch.name, branch.address, branch.phone
    );
    let text = format!(
        "{}: your {} {} ({}) is ready for pickup.",
        branch.name, vehicle.make, vehicle.model, vehicle.license_plate
    );
    tell_customer(job, &card.customer_id, &subject, &body, &text)
}

fn invoice_email(job: &Job) -> Result<Done, Failure> {
    let id = field(job, "invoice_id")?;
    let to = field(job, "to")?;
    let (doc, branch, invoice) = {
        let conn = job.api.lock_conn();
        (db(printing::printable(&conn, id))?, db(settings::branch(&conn))?, db(invoices::get(&conn, id))?)
    };
    let mailer =
        Mailer::from_settings(job.api)?.ok_or("email is not set up (settings.update integrations.smtp_host)")?;
    let printed = job.printer.print(&doc).map_err(|e| format!("pdf: {e}"))?;
    let subject = format!("Invoice {} from {}", invoice.number, branch.name);
    let body = format!(
        "Hello,\n\nPlease find attached invoice {} for {} {}, due {}.\n\n{}\n{}\n",
        invoice.number,
        invoice.currency,
        printing::amount(invoice.balance_due),
        invoice.due_date,
        branch.name,
        branch.invoice_footer
    );
    let file = File { name: format!("{}.pdf", invoice.number), content_type: "application/pdf", bytes: printed.bytes };
    mailer.send(to, &subject, &body, Some(file), &job.claimed.job.id)?;
    Ok(Done::Outcome(format!("emailed {to} ({} pages)", printed.pages)))
}

/// Emails the managers' alert address, if one is set.
fn email_managers(job: &Job, subject: &str, body: &str) -> Result<Option<String>, Failure> {
    let to = db(settings::integration(&job.api.lock_conn(), "alerts_email"))?;
    let (Some(to), Some(mailer)) = (to, Mailer::from_settings(job.api)?) else {
        return Ok(None);
    };
    mailer.send(&to, subject, body, None, &job.claimed.job.id)?;
    Ok(Some(to))
}

fn low_stock_alert(job: &Job) -> Result<Done, Failure> {
    let payload = &job.claimed.event.payload;
    let item_id = field(job, "item_id")?.to_string();
    let name = field(job, "name")?.to_string();
    let on_hand = payload.get("on_hand").and_then(Value::as_i64).unwrap_or_default();
    let reorder = payload.get("reorder_level").and_then(Value::as_i64).unwrap_or_default();
    let title = format!("Low stock: {name}");
    let body = format!(
        "{name} is down to {} (reorder level {}). Order more before the next jobs need it.",
        pitlane_core::money::format_quantity(on_hand),
        pitlane_core::money::format_quantity(reorder)
    );
    let emailed = email_managers(job, &title, &body)?;
    let outcome = match &emailed {
        Some(to) => format!("alert shown; emailed {to}"),
        None => "alert shown".to_string(),
    };
    Ok(Done::WithWork(
        outcome,
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

fn payment_compensation_alert(job: &Job) -> Result<Done, Failure> {
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
        None => "skipped: no alerts email set (the in-app alert was raised with the refund)".into(),
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

    #[test]
    fn a_customer_is_reached_by_what_they_left_and_what_is_set_up() {
        let cases = [
            ("email and SMS", (true, true, true, true), (true, true)),
            ("email only set up", (true, true, true, false), (true, false)),
            ("no email address", (false, true, true, true), (false, true)),
            ("nothing set up", (true, false, true, false), (false, false)),
            ("no contact details", (false, true, false, true), (false, false)),
        ];
        for (name, (e, smtp, p, gw), (want_email, want_sms)) in cases {
            assert_eq!(reach(e, smtp, p, gw), Reach { email: want_email, sms: want_sms }, "{name}");
        }
    }
}
