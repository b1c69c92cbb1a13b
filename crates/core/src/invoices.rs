//! Invoices: a copy of the job card's lines as billed, their totals and tax
//! summary, and the money still owed. Made by completing a job card.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::Stamp;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::validate::{Validate, Violations};

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct Invoice {
    pub id: String,
    pub number: String,
    pub job_card_id: String,
    pub customer_id: String,
    pub vehicle_id: String,
    pub currency: String,
    pub lines: Value,
    pub subtotal: i64,
    pub discount: i64,
    pub tax_summary: Value,
    pub tax_total: i64,
    pub total: i64,
    pub amount_paid: i64,
    pub balance_due: i64,
    pub status: String,
    pub issued_at: String,
    pub due_date: String,
    pub notes: String,
}

/// The invoice's columns, as `i.*` of `FROM invoices i` (the list joins the
/// customer and the vehicle, whose `id` and `notes` would clash).
const COLUMNS: &str =
    "i.id, i.number, i.job_card_id, i.customer_id, i.vehicle_id, i.currency, i.lines, i.subtotal, i.discount,
    i.tax_summary, i.tax_total, i.total, i.amount_paid, i.balance_due, i.status, i.issued_at, i.due_date, i.notes";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<Invoice> {
    let lines: String = r.get(6)?;
    let summary: String = r.get(9)?;
    Ok(Invoice {
        id: r.get(0)?,
        number: r.get(1)?,
        job_card_id: r.get(2)?,
        customer_id: r.get(3)?,
        vehicle_id: r.get(4)?,
        currency: r.get(5)?,
        lines: with_quantity_text(serde_json::from_str(&lines).unwrap_or(Value::Null)),
        subtotal: r.get(7)?,
        discount: r.get(8)?,
        tax_summary: serde_json::from_str(&summary).unwrap_or(Value::Null),
        tax_total: r.get(10)?,
        total: r.get(11)?,
        amount_paid: r.get(12)?,
        balance_due: r.get(13)?,
        status: r.get(14)?,
        issued_at: r.get(15)?,
        due_date: r.get(16)?,
        notes: r.get(17)?,
    })
}

/// Each billed line as stored, plus `quantity_text`: its quantity with its
/// unit as the printed invoice words it ("0.5 h", "1 pc", "2 pcs"; a fee
/// alone), so every screen shows the same words as the PDF.
fn with_quantity_text(mut lines: Value) -> Value {
    for line in lines.as_array_mut().into_iter().flatten() {
        let Some(line) = line.as_object_mut() else { continue };
        let text = |key: &str| line.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
        let unit = match (text("unit"), text("kind").as_str()) {
            (unit, _) if !unit.is_empty() => unit,
            (_, "labour") => "h".to_string(),
            _ => String::new(),
        };
        let words = crate::wording::quantity(&text("quantity_display"), &unit);
        line.insert("quantity_text".into(), Value::String(words));
    }
    lines
}

pub fn find(conn: &Connection, id: &str) -> Result<Option<Invoice>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM invoices i WHERE i.id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

pub fn get(conn: &Connection, id: &str) -> Result<Invoice> {
    find(conn, id)?.ok_or_else(|| Error::not_found("invoice", id))
}

pub fn of_job_card(conn: &Connection, job_card_id: &str) -> Result<Option<Invoice>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM invoices i WHERE i.job_card_id = ?1"))?
        .query_row([job_card_id], from_row)
        .optional()?)
}

/// What a new invoice holds; the number is taken inside [`insert_tx`].
pub struct NewInvoice<'a> {
    pub job_card_id: &'a str,
    pub customer_id: &'a str,
    pub vehicle_id: &'a str,
    pub currency: &'a str,
    pub lines: Value,
    pub totals: &'a crate::totals::Totals,
    pub due_date: &'a str,
    pub notes: &'a str,
    pub year: i32,
}

pub fn insert_tx(tx: &Transaction, stamp: &Stamp, n: &NewInvoice) -> Result<Invoice> {
    let id = stamp.new_id();
    let number = crate::numbers::next_tx(tx, "INV", n.year)?;
    let status = if n.totals.total == 0 { "paid" } else { "pending" };
    tx.prepare_cached(
        "INSERT INTO invoices (id, number, job_card_id, customer_id, vehicle_id, currency, lines, subtotal, discount,
                               tax_summary, tax_total, total, amount_paid, balance_due, status, issued_at, due_date, notes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 0, ?12, ?13, ?14, ?15, ?16)",
    )?
    .execute(params![
        id,
        number,
        n.job_card_id,
        n.customer_id,
        n.vehicle_id,
        n.currency,
        n.lines.to_string(),
        n.totals.subtotal,
        n.totals.discount,
        serde_json::to_string(&n.totals.tax_summary)?,
        n.totals.tax_total,
        n.totals.total,
        status,
        stamp.at(),
        n.due_date,
        n.notes
    ])?;
    get(tx, &id)
}

// ---- commands ----------------------------------------------------------------

pub fn get_cmd(ctx: &mut Ctx, input: crate::validate::IdInput) -> Result<Invoice> {
    get(ctx.conn(), &input.id)
}

#[derive(Debug, Default, Deserialize, ts_rs::TS)]
#[ts(rename = "InvoiceListInput")]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct ListInput {
    #[serde(default)]
    #[ts(optional = nullable)]
    pub status: Option<String>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub customer_id: Option<String>,
    #[serde(default = "fifty")]
    #[ts(optional = nullable)]
    pub limit: i64,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub offset: i64,
}

fn fifty() -> i64 {
    50
}

impl Validate for ListInput {
    fn validate(&self, v: &mut Violations) {
        if let Some(s) = &self.status {
            if !matches!(s.as_str(), "pending" | "partially_paid" | "paid" | "void") {
                v.add("status", "must be pending, partially_paid, paid or void");
            }
        }
        v.optional("customer_id", self.customer_id.as_deref(), 100);
        v.range("limit", self.limit, 1, 500);
        v.range("offset", self.offset, 0, i64::from(i32::MAX));
    }
}

/// An invoice as a list shows it: the invoice, and who it was billed to and
/// for which car (read-only display fields, as the customer and vehicle are
/// now).
#[derive(Debug, Serialize, ts_rs::TS)]
pub struct ListedInvoice {
    #[serde(flatten)]
    pub invoice: Invoice,
    /// The invoice's customer (`customer_id`).
    pub customer_name: String,
    /// The invoice's vehicle (`vehicle_id`).
    pub license_plate: String,
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct InvoiceList {
    pub invoices: Vec<ListedInvoice>,
}

/// The page is chosen first, from the invoices alone (as the list always
/// did: the status or customer filter, newest first, limit and offset); only
/// its rows then look up their customer and vehicle, by primary key, so a
/// long history costs no more lookups than the page holds.
fn list_sql() -> String {
    format!(
        "SELECT {COLUMNS}, c.name, v.license_plate
         FROM (SELECT id FROM invoices
               WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR customer_id = ?2)
               ORDER BY issued_at DESC, number DESC LIMIT ?3 OFFSET ?4) AS page
         JOIN invoices i ON i.id = page.id
         JOIN customers c ON c.id = i.customer_id
         JOIN vehicles v ON v.id = i.vehicle_id
         ORDER BY i.issued_at DESC, i.number DESC"
    )
}

pub fn list_cmd(ctx: &mut Ctx, input: ListInput) -> Result<InvoiceList> {
    let mut stmt = ctx.conn().prepare_cached(&list_sql())?;
    let invoices = stmt
        .query_map(params![input.status, input.customer_id, input.limit, input.offset], |r| {
            Ok(ListedInvoice { invoice: from_row(r)?, customer_name: r.get(18)?, license_plate: r.get(19)? })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(InvoiceList { invoices })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_invoice_list_picks_its_page_before_looking_up_names() {
        let conn = crate::db::open_in_memory().expect("schema");
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {}", super::list_sql())).expect("plan");
        let params = rusqlite::params![None::<String>, None::<String>, 50, 0];
        let steps: Vec<String> =
            stmt.query_map(params, |r| r.get(3)).expect("rows").collect::<Result<_, _>>().expect("plan");
        let lookups: Vec<&String> = steps.iter().filter(|s| s.starts_with("SEARCH") || s.starts_with("SCAN")).collect();
        assert_eq!(
            lookups,
            [
                "SCAN invoices",
                "SCAN page",
                "SEARCH i USING INDEX sqlite_autoindex_invoices_1 (id=?)",
                "SEARCH c USING INDEX sqlite_autoindex_customers_1 (id=?)",
                "SEARCH v USING INDEX sqlite_autoindex_vehicles_1 (id=?)",
            ],
            "the page from the invoices alone, then one key lookup each per row of the page: {steps:?}"
        );
    }
}
