//! Invoices as documents (SPEC 10): the core gathers and words everything
//! an invoice shows — in the branch's time zone, amounts formatted — into a
//! [`PrintableInvoice`]; a printer outside the core (`crates/pdf`) lays it
//! out. `invoices.pdf` writes the file next to the database.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::validate::{Validate, Violations};
use crate::{customers, invoices, job_cards, payments, settings, vehicles};

pub use crate::document::{InvoicePrinter, Paper, Party, PrintLine, PrintableInvoice, Printed};
pub use crate::money::amount;
pub use crate::wording::{day, phone};

fn rate(bp: i64) -> String {
    let whole = bp / 100;
    let frac = bp % 100;
    if frac == 0 {
        format!("{whole}%")
    } else if frac % 10 == 0 {
        format!("{whole}.{}%", frac / 10)
    } else {
        format!("{whole}.{frac:02}%")
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn number(v: &Value, key: &str) -> i64 {
    v.get(key).and_then(Value::as_i64).unwrap_or_default()
}

/// Gathers an invoice with its branch, customer, vehicle and payments, as
/// printed at `now`.
pub fn printable(conn: &Connection, invoice_id: &str, now: DateTime<Utc>) -> Result<PrintableInvoice> {
    let invoice = invoices::get(conn, invoice_id)?;
    let branch = settings::branch(conn)?;
    let tz: chrono_tz::Tz = branch.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let customer = customers::get(conn, &invoice.customer_id)?;
    let vehicle = vehicles::get(conn, &invoice.vehicle_id)?;
    let card = job_cards::get(conn, &invoice.job_card_id)?;

    let branch_lines: Vec<String> = [
        branch.address.clone(),
        phone(&branch.phone, &branch.country),
        branch.email.clone(),
        if branch.tax_number.is_empty() { String::new() } else { format!("Tax number: {}", branch.tax_number) },
    ]
    .into_iter()
    .flat_map(|l| l.lines().map(str::to_string).collect::<Vec<_>>())
    .filter(|l| !l.trim().is_empty())
    .collect();
    let customer_lines: Vec<String> = customer
        .address
        .lines()
        .map(str::to_string)
        .chain(customer.phone.as_deref().map(|p| phone(p, &branch.country)))
        .chain(customer.email.clone())
        .filter(|l| !l.trim().is_empty())
        .collect();
    // The reading at this visit; the vehicle's last known one otherwise.
    let odometer = card.odometer_in.or(vehicle.odometer);
    let mut vehicle_lines = vec![format!(
        "{} {}{}",
        vehicle.make,
        vehicle.model,
        vehicle.year.map(|y| format!(" ({y})")).unwrap_or_default()
    )];
    if let Some(vin) = &vehicle.vin {
        vehicle_lines.push(format!("VIN {vin}"));
    }
    if let Some(km) = odometer {
        vehicle_lines.push(format!("Odometer {} {}", amount(km * 100).trim_end_matches(".00"), branch.odometer_unit));
    }

    let mut lines: Vec<(usize, PrintLine)> = Vec::new();
    for l in invoice.lines.as_array().map(Vec::as_slice).unwrap_or_default() {
        let kind = text(l, "kind");
        // Invoices billed before part numbers were copied: the item's own.
        let item = match (l.get("sku"), l.get("item_id").and_then(Value::as_str)) {
            (None, Some(id)) => crate::inventory::find(conn, id)?,
            _ => None,
        };
        let sku = item.as_ref().map(|i| i.sku.clone()).unwrap_or_else(|| text(l, "sku"));
        let unit = match (&item, l.get("unit").and_then(Value::as_str)) {
            (Some(i), _) => i.unit.clone(),
            (None, Some(u)) => u.to_string(),
            (None, None) if kind == "labour" => "h".into(),
            _ => String::new(),
        };
        let quantity = crate::wording::quantity(&text(l, "quantity_display"), &unit);
        let (order, group) = match kind.as_str() {
            "labour" => (0, "Labour"),
            "part" => (1, "Parts"),
            _ => (2, "Fees"),
        };
        lines.push((
            order,
            PrintLine {
                group: group.into(),
                description: text(l, "description"),
                sku,
                quantity,
                unit_price: amount(number(l, "unit_price")),
                tax_rate: rate(number(l, "tax_rate_bp")),
                amount: amount(number(l, "net")),
            },
        ));
    }
    lines.sort_by_key(|(order, _)| *order);
    let lines: Vec<PrintLine> = lines.into_iter().map(|(_, l)| l).collect();

    let mut totals = vec![("Subtotal".to_string(), amount(invoice.subtotal))];
    if invoice.discount != 0 {
        totals.push(("Discount".into(), amount(-invoice.discount)));
    }
    for r in invoice.tax_summary.as_array().map(Vec::as_slice).unwrap_or_default() {
        totals.push((
            format!("Tax {} on {}", rate(number(r, "rate_bp")), amount(number(r, "net"))),
            amount(number(r, "tax")),
        ));
    }
    totals.push((format!("Total {}", invoice.currency), amount(invoice.total)));

    let mut paid = Vec::new();
    for p in payments::for_invoice(conn, &invoice.id)? {
        let method = match p.method.as_str() {
            "bank_transfer" => "Bank transfer",
            "card" => "Card",
            "cash" => "Cash",
            _ => "Payment",
        };
        paid.push((format!("{} {method}", day(&p.created_at, tz)), amount(-p.amount)));
        if p.refunded_amount > 0 {
            paid.push((format!("Refunded ({method})"), amount(p.refunded_amount)));
        }
    }

    let status = match invoice.status.as_str() {
        "paid" => "Paid",
        "partially_paid" => "Partly paid",
        "void" => "Void",
        _ => "Due",
    };
    // A void invoice asks for nothing: no due date, nothing to pay, no
    // payment instructions.
    let void = invoice.status == "void";
    let mut facts = vec![
        ("Invoice".into(), invoice.number.clone()),
        ("Date".into(), day(&invoice.issued_at, tz)),
        ("Due".into(), day(&invoice.due_date, tz)),
        ("Job card".into(), card.number.clone()),
        ("Status".into(), status.into()),
    ];
    if void {
        facts.retain(|(label, _): &(String, String)| label != "Due");
    }
    Ok(PrintableInvoice {
        paper: if branch.paper_size == "Letter" { Paper::Letter } else { Paper::A4 },
        title: if invoice.status == "void" { "Invoice (void)".into() } else { "Invoice".into() },
        number: invoice.number.clone(),
        facts,
        branch: Party { name: branch.name.clone(), lines: branch_lines },
        customer: Party { name: customer.name.clone(), lines: customer_lines },
        vehicle: Party { name: vehicle.license_plate.clone(), lines: vehicle_lines },
        currency: invoice.currency.clone(),
        lines,
        totals,
        payments: paid,
        balance_due: if void {
            ("Void: nothing to pay".into(), format!("{} {}", invoice.currency, amount(0)))
        } else {
            ("Balance due".into(), format!("{} {}", invoice.currency, amount(invoice.balance_due)))
        },
        complaint: card.complaint.trim().to_string(),
        work_performed: card.findings.trim().to_string(),
        notes: invoice.notes.clone(),
        payment_instructions: if void { String::new() } else { branch.payment_instructions.clone() },
        footer: branch.invoice_footer.clone(),
        logo: crate::logo::get(conn, &branch.id)?,
        author: branch.name.clone(),
        printed_at: now,
    })
}

/// Where invoice PDFs go: `invoices/` beside the database file.
pub fn folder(ctx: &Ctx) -> Result<PathBuf> {
    let db = ctx
        .db_path()
        .ok_or_else(|| Error::rule("no_folder", "This database has no folder to write PDFs to.", json!({})))?;
    let dir = db.parent().map(|p| p.to_path_buf()).unwrap_or_default().join("invoices");
    std::fs::create_dir_all(&dir).map_err(|e| Error::Internal(format!("create {}: {e}", dir.display())))?;
    Ok(dir)
}

/// Prints an invoice to `folder/NUMBER.pdf` (written whole, then renamed
/// into place, so a reader never sees half a file).
pub fn write_pdf(
    printer: &dyn InvoicePrinter,
    doc: &PrintableInvoice,
    folder: &std::path::Path,
) -> Result<(PathBuf, Printed)> {
    let printed = printer.print(doc).map_err(|e| Error::Internal(format!("pdf: {e}")))?;
    let name: String =
        doc.number.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    let path = folder.join(format!("{name}.pdf"));
    let partial = folder.join(format!(".{name}.pdf.partial"));
    std::fs::write(&partial, &printed.bytes).map_err(|e| Error::Internal(format!("write pdf: {e}")))?;
    std::fs::rename(&partial, &path).map_err(|e| Error::Internal(format!("rename pdf: {e}")))?;
    Ok((path, printed))
}

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct PdfInput {
    pub invoice_id: String,
    /// Also answer the PDF itself (`content_base64`), for a preview where
    /// the file's path is of no use (browser mode).
    #[serde(default)]
    #[ts(optional = nullable)]
    pub inline: bool,
}

impl Validate for PdfInput {
    fn validate(&self, v: &mut Violations) {
        v.required("invoice_id", &self.invoice_id, 100);
    }
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct PdfWritten {
    pub path: String,
    pub pages: u32,
    pub bytes: usize,
    /// The PDF, standard base64: only when asked for with `inline`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub content_base64: Option<String>,
}

/// `invoices.pdf`: writes the invoice's PDF and returns its path (and,
/// with `inline`, the PDF itself).
pub fn pdf_cmd(ctx: &mut Ctx, input: PdfInput) -> Result<PdfWritten> {
    let printer: Arc<dyn InvoicePrinter> = ctx
        .printer
        .clone()
        .ok_or_else(|| Error::rule("pdf_unavailable", "This build cannot print PDFs.", json!({})))?;
    let now = ctx.stamp().now;
    let doc = printable(ctx.conn(), &input.invoice_id, now)?;
    let folder = folder(ctx)?;
    let (path, printed) = write_pdf(printer.as_ref(), &doc, &folder)?;
    let content_base64 = input.inline.then(|| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(&printed.bytes)
    });
    Ok(PdfWritten {
        path: path.display().to_string(),
        pages: printed.pages,
        bytes: printed.bytes.len(),
        content_base64,
    })
}

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct EmailInput {
    pub invoice_id: String,
    /// Send to this address instead of the customer's.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub to: Option<String>,
}

impl Validate for EmailInput {
    fn validate(&self, v: &mut Violations) {
        v.required("invoice_id", &self.invoice_id, 100);
        if let Some(to) = &self.to {
            if let Err(why) = crate::validate::check_email(to) {
                v.add("to", why);
            }
        }
    }
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct EmailQueued {
    pub job_id: String,
    pub to: String,
    pub invoice_number: String,
}

/// `invoices.email`: queues the invoice (as a PDF attachment) to the
/// customer's email address, or to `to`. The worker sends it.
pub fn email_cmd(ctx: &mut Ctx, input: EmailInput) -> Result<EmailQueued> {
    ctx.write(|tx, stamp| {
        let invoice = invoices::get(tx, &input.invoice_id)?;
        if invoice.status == "void" {
            return Err(Error::conflict(
                "invoice_void",
                format!("Invoice {} is void.", invoice.number),
                json!({ "invoice_id": invoice.id }),
            ));
        }
        let customer = customers::get(tx, &invoice.customer_id)?;
        let to = match input.to.as_deref().map(str::trim).or(customer.email.as_deref()) {
            Some(to) => to.to_string(),
            None => {
                return Err(Error::field(
                    "to",
                    format!(
                        "{} has no email address: add one to the customer, or give the address to send to.",
                        customer.name
                    ),
                ))
            }
        };
        let event = crate::events::append_tx(
            tx,
            stamp,
            crate::events::kind::InvoiceEmailRequested,
            &invoice.id,
            &crate::events::InvoiceEmailRequested {
                invoice_id: invoice.id.clone(),
                number: invoice.number.clone(),
                to: to.clone(),
            },
        )?;
        let to_customer = customer.email.as_deref() == Some(to.as_str());
        crate::audit::record_tx(
            tx,
            stamp,
            "invoices.email",
            "invoice",
            Some(&invoice.id),
            json!({ "number": invoice.number, "to_customer_address": to_customer }),
        )?;
        Ok(EmailQueued { job_id: format!("{}:invoice_email", event.id), to, invoice_number: invoice.number })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_rates_read_like_an_invoice() {
        let cases = [
            (0, "0.00"),
            (5, "0.05"),
            (123456, "1,234.56"),
            (100000000, "1,000,000.00"),
            (-99999, "-999.99"),
            (-123456789, "-1,234,567.89"),
        ];
        for (minor, want) in cases {
            assert_eq!(amount(minor), want, "{minor}");
        }
        for (bp, want) in [(825, "8.25%"), (2000, "20%"), (2500, "25%"), (750, "7.5%"), (0, "0%")] {
            assert_eq!(rate(bp), want);
        }
    }

    #[test]
    fn phones_are_written_the_way_the_branch_writes_them() {
        let cases = [
            ("a stored US number at a US branch", "+12125550199", "US", "(212) 555-0199"),
            ("the branch's own number as typed", "212-555-0123", "US", "(212) 555-0123"),
            ("a UK number at a US branch", "+442079460958", "US", "+44 20 7946 0958"),
            ("a German number at a German branch", "+49301234567", "DE", "030 1234567"),
            ("a US number at a German branch", "+12125550199", "DE", "+1 212-555-0199"),
            ("not a number: as it is", "ask at the desk", "US", "ask at the desk"),
        ];
        for (name, raw, country, want) in cases {
            assert_eq!(phone(raw, country), want, "{name}");
        }
    }
}
