//! The words of what Pitlane sends to customers (SPEC 5): a greeting with
//! the customer's name, dates written as on the invoice (in the branch's
//! time zone, `printing::day`), and the branch's name and phone at the end.
//! Pure functions: the worker's listeners fill them from the database as it
//! is when the message goes out.

use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;

use rusqlite::Connection;

use crate::error::Result;
use crate::settings::Branch;

/// An email's subject and body, and the text message saying the same.
#[derive(Debug, Clone, PartialEq)]
pub struct Words {
    pub subject: String,
    pub body: String,
    pub text: String,
}

/// Who a message is from: the branch, as its messages need it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sender {
    pub name: String,
    pub address: String,
    pub phone: String,
    pub time_zone: Tz,
    /// The invoice footer, under an invoice email.
    pub footer: String,
}

impl Sender {
    pub fn of(branch: &Branch) -> Sender {
        Sender {
            name: branch.name.trim().to_string(),
            address: branch.address.clone(),
            // Written as on the invoice (`printing::phone`).
            phone: if branch.phone.trim().is_empty() {
                String::new()
            } else {
                crate::wording::phone(&branch.phone, &branch.country)
            },
            time_zone: branch.time_zone.parse().unwrap_or(chrono_tz::UTC),
            footer: branch.invoice_footer.trim().to_string(),
        }
    }
}

/// A visit's branch-local date and time: "Wednesday, 25 Nov 2026 at 09:00".
pub fn visit_time(date: &str, time: &str, tz: Tz) -> String {
    let day = crate::wording::day(date, tz);
    match NaiveDate::parse_from_str(date, "%Y-%m-%d") {
        Ok(d) => format!("{}, {day} at {time}", d.format("%A")),
        Err(_) => format!("{day} at {time}"),
    }
}

/// A moment (RFC 3339) in the branch's time: "25 Nov 2026 09:14".
pub fn local_time(at: &str, tz: Tz) -> String {
    match DateTime::parse_from_rfc3339(at) {
        Ok(t) => format!("{} {}", crate::wording::day(at, tz), t.with_timezone(&tz).format("%H:%M")),
        Err(_) => at.to_string(),
    }
}

/// "Hello John Doe," (just "Hello," without a name).
pub fn greeting(name: &str) -> String {
    match name.trim() {
        "" => "Hello,".into(),
        name => format!("Hello {name},"),
    }
}

/// An email's closing: the branch's name, address and phone, each line
/// only when it is set.
pub fn signature(branch: &Sender) -> String {
    let mut lines = vec!["Kind regards,".to_string(), branch.name.to_string()];
    lines.extend(branch.address.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string));
    if !branch.phone.is_empty() {
        lines.push(branch.phone.to_string());
    }
    lines.join("\n")
}

/// A text's closing: "Test Garage, +1 215 555 0142".
fn text_signature(branch: &Sender) -> String {
    match branch.phone.as_str() {
        "" => branch.name.to_string(),
        phone => format!("{}, {phone}", branch.name),
    }
}

fn email(customer: &str, paragraphs: &[String], branch: &Sender) -> String {
    format!("{}\n\n{}\n\n{}\n", greeting(customer), paragraphs.join("\n\n"), signature(branch))
}

/// A vehicle as the customer knows it: "Toyota Camry (ABC-123)".
pub fn vehicle(make: &str, model: &str, plate: &str) -> String {
    let name = format!("{} {}", make.trim(), model.trim());
    match (name.trim(), plate.trim()) {
        ("", plate) => plate.to_string(),
        (name, "") => name.to_string(),
        (name, plate) => format!("{name} ({plate})"),
    }
}

/// An appointment that was booked (or, `confirmed`, confirmed): `when` as
/// [`visit_time`] writes it.
pub fn appointment(
    branch: &Sender,
    customer: &str,
    vehicle: &str,
    service: &str,
    when: &str,
    confirmed: bool,
) -> Words {
    let done = if confirmed { "confirmed" } else { "booked" };
    let mut paragraphs = vec![format!("Your {service} for the {vehicle} is {done} for {when}.")];
    if !branch.phone.is_empty() {
        paragraphs.push(format!("If that time does not suit you, please call us on {}.", branch.phone));
    }
    Words {
        subject: format!("{}: your appointment on {when}", branch.name),
        body: email(customer, &paragraphs, branch),
        text: format!(
            "{} your {service} for the {vehicle} is {done} for {when}. {}",
            greeting(customer),
            text_signature(branch)
        ),
    }
}

/// The work on a vehicle is finished: `make_model` ("Toyota Camry") and
/// `vehicle` as [`vehicle`] writes it.
pub fn vehicle_ready(branch: &Sender, customer: &str, make_model: &str, vehicle: &str) -> Words {
    let paragraphs = vec![format!("The work on your {vehicle} is finished, and it is ready for pickup.")];
    Words {
        subject: format!("{}: your {make_model} is ready", branch.name),
        body: email(customer, &paragraphs, branch),
        text: format!("{} your {vehicle} is ready for pickup. {}", greeting(customer), text_signature(branch)),
    }
}

/// What an invoice email says about the invoice it carries.
pub struct InvoiceFacts<'a> {
    pub number: &'a str,
    /// When it was issued (RFC 3339).
    pub issued_at: &'a str,
    /// `YYYY-MM-DD`, branch local.
    pub due_date: &'a str,
    pub currency: &'a str,
    pub total: i64,
    pub balance_due: i64,
    pub void: bool,
}

/// The email that carries an invoice: its subject and body (no text).
pub fn invoice(branch: &Sender, customer: &str, facts: &InvoiceFacts) -> (String, String) {
    let tz = branch.time_zone;
    let money = |minor: i64| format!("{} {}", facts.currency, crate::money::amount(minor));
    let mut paragraphs = vec![format!(
        "Please find attached invoice {} of {} for {}.",
        facts.number,
        crate::wording::day(facts.issued_at, tz),
        money(facts.total)
    )];
    paragraphs.push(if facts.void {
        "This invoice has been voided: there is nothing to pay.".to_string()
    } else if facts.balance_due <= 0 {
        "It is paid in full. Thank you!".to_string()
    } else if facts.balance_due < facts.total {
        format!(
            "Thank you for your payment. The remaining {} is due by {}.",
            money(facts.balance_due),
            crate::wording::day(facts.due_date, tz)
        )
    } else {
        format!("The amount is due by {}.", crate::wording::day(facts.due_date, tz))
    });
    let mut body = email(customer, &paragraphs, branch);
    if !branch.footer.is_empty() {
        body.push('\n');
        body.push_str(&branch.footer);
        body.push('\n');
    }
    (format!("Invoice {} from {}", facts.number, branch.name), body)
}

/// Which ways out are fully set up, so that a message sent by them can be
/// delivered: what a command may promise ("Customer notified.").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Channels {
    /// `smtp_host` and `smtp_from` are set, and when `smtp_username` is set
    /// the `smtp_password` can be read from the keyring.
    pub email: bool,
    /// `sms_gateway_url` is set and `sms_api_key` can be read from the keyring.
    pub sms: bool,
}

impl Channels {
    /// Whether a customer with an email address (`email`) and/or a phone
    /// number (`phone`) is reached by a channel that is fully set up.
    pub fn reach(self, email: bool, phone: bool) -> bool {
        (email && self.email) || (phone && self.sms)
    }
}

/// The channels as set up now. A secret the keyring cannot give (none
/// there, no keyring, a locked one) makes its channel not set up.
pub fn channels(conn: &Connection, secrets: Option<&dyn crate::secrets::SecretStore>) -> Result<Channels> {
    let settings = crate::settings::integrations(conn)?;
    let secret = |name: &str| matches!(crate::secrets::read_from(conn, secrets, name), Ok(Some(_)));
    let email = settings.smtp_host.is_some()
        && settings.smtp_from.is_some()
        && (settings.smtp_username.is_none() || secret("smtp_password"));
    let sms = settings.sms_gateway_url.is_some() && secret("sms_api_key");
    Ok(Channels { email, sms })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn branch(phone: &str) -> Sender {
        Sender {
            name: "Test Garage".into(),
            address: "1200 Market Street\nPhiladelphia, PA 19107".into(),
            phone: phone.into(),
            time_zone: "America/New_York".parse().unwrap(),
            footer: "Thank you for your business.".into(),
        }
    }

    #[test]
    fn dates_are_written_as_on_the_invoice_in_the_branch_time_zone() {
        let ny: Tz = "America/New_York".parse().unwrap();
        for (what, got, want) in [
            ("a visit", visit_time("2026-11-25", "09:00", ny), "Wednesday, 25 Nov 2026 at 09:00"),
            ("a moment late in the UTC day", local_time("2026-11-25T03:30:00.000Z", ny), "24 Nov 2026 22:30"),
            ("a moment in summer time", local_time("2026-07-01T12:00:00.000Z", ny), "1 Jul 2026 08:00"),
        ] {
            assert_eq!(got, want, "{what}");
        }
    }

    #[test]
    fn messages_greet_the_customer_by_name_and_sign_with_the_branch() {
        let b = branch("+1 215 555 0142");
        let when = visit_time("2026-11-25", "09:00", b.time_zone);
        let booked = appointment(&b, "John Doe", "Toyota Camry (ABC-123)", "Oil Change", &when, false);
        assert_eq!(
            booked.text,
            "Hello John Doe, your Oil Change for the Toyota Camry (ABC-123) is booked for Wednesday, 25 Nov 2026 at 09:00. Test Garage, +1 215 555 0142"
        );
        assert_eq!(
            booked.body,
            "Hello John Doe,\n\nYour Oil Change for the Toyota Camry (ABC-123) is booked for Wednesday, 25 Nov 2026 at 09:00.\n\nIf that time does not suit you, please call us on +1 215 555 0142.\n\nKind regards,\nTest Garage\n1200 Market Street\nPhiladelphia, PA 19107\n+1 215 555 0142\n"
        );
        let confirmed = appointment(&b, "John Doe", "Toyota Camry (ABC-123)", "Oil Change", &when, true);
        assert!(confirmed.text.contains("is confirmed for Wednesday"), "{}", confirmed.text);
        let ready = vehicle_ready(&b, "Анна Иванова", "Volvo V70", "Volvo V70 (R-1)");
        assert_eq!(ready.subject, "Test Garage: your Volvo V70 is ready");
        assert_eq!(
            ready.text,
            "Hello Анна Иванова, your Volvo V70 (R-1) is ready for pickup. Test Garage, +1 215 555 0142"
        );
        let no_phone = vehicle_ready(&branch(""), "", "Volvo V70", "Volvo V70 (R-1)");
        assert_eq!(no_phone.text, "Hello, your Volvo V70 (R-1) is ready for pickup. Test Garage", "no empty parts");
        assert!(no_phone.body.ends_with("Kind regards,\nTest Garage\n1200 Market Street\nPhiladelphia, PA 19107\n"));
    }

    #[test]
    fn the_invoice_email_says_what_is_due_and_by_when() {
        let b = branch("+1 215 555 0142");
        let facts = |balance_due: i64, void: bool| InvoiceFacts {
            number: "INV-2026-A000012",
            issued_at: "2026-11-25T03:30:00.000Z",
            due_date: "2026-12-09",
            currency: "USD",
            total: 123_456,
            balance_due,
            void,
        };
        for (case, balance, void, want) in [
            ("nothing paid yet", 123_456, false, "The amount is due by 9 Dec 2026."),
            (
                "paid in part",
                23_456,
                false,
                "Thank you for your payment. The remaining USD 234.56 is due by 9 Dec 2026.",
            ),
            ("paid in full", 0, false, "It is paid in full. Thank you!"),
            ("voided", 123_456, true, "This invoice has been voided: there is nothing to pay."),
        ] {
            let (subject, body) = invoice(&b, "John Doe", &facts(balance, void));
            assert_eq!(subject, "Invoice INV-2026-A000012 from Test Garage", "{case}");
            assert!(
                body.starts_with(
                    "Hello John Doe,\n\nPlease find attached invoice INV-2026-A000012 of 24 Nov 2026 for USD 1,234.56."
                ),
                "{case}: issued on the branch's date: {body}"
            );
            assert!(body.contains(want), "{case}: {body}");
            assert!(body.ends_with("+1 215 555 0142\n\nThank you for your business.\n"), "{case}: {body}");
        }
    }
}
