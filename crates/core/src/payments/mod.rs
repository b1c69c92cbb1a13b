//! Payments (SPEC 4.6). Cash, bank transfer and other direct methods are
//! recorded at once, in one transaction with the invoice's paid amount and
//! status and a `PaymentCaptured` event. Card payments go through the
//! gateway saga in [`card`]. No overpayment; the same idempotency key
//! returns the first result. Refunds and voiding invoices are for managers;
//! a card payment's refund goes through the gateway first.

pub mod card;
pub mod card_refund;

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit;
use crate::clock::Stamp;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::events::{self, kind};
use crate::invoices::{self, Invoice};
use crate::validate::{Validate, Violations, MAX_NAME, MAX_TEXT};

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct Payment {
    pub id: String,
    pub invoice_id: String,
    pub amount: i64,
    pub refunded_amount: i64,
    pub method: String,
    pub reference: String,
    pub status: String,
    pub idempotency_key: String,
    pub created_at: String,
}

const COLUMNS: &str = "id, invoice_id, amount, refunded_amount, method, reference, status, idempotency_key, created_at";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<Payment> {
    Ok(Payment {
        id: r.get(0)?,
        invoice_id: r.get(1)?,
        amount: r.get(2)?,
        refunded_amount: r.get(3)?,
        method: r.get(4)?,
        reference: r.get(5)?,
        status: r.get(6)?,
        idempotency_key: r.get(7)?,
        created_at: r.get(8)?,
    })
}

pub fn get(conn: &Connection, id: &str) -> Result<Payment> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM payments WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or_else(|| Error::not_found("payment", id))
}

fn by_key(conn: &Connection, key: &str) -> Result<Option<Payment>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM payments WHERE idempotency_key = ?1"))?
        .query_row([key], from_row)
        .optional()?)
}

/// The invoice's status for what has been paid on it.
pub fn status_for(total: i64, paid: i64) -> &'static str {
    if paid <= 0 && total > 0 {
        "pending"
    } else if paid < total {
        "partially_paid"
    } else {
        "paid"
    }
}

fn set_paid_tx(tx: &Transaction, stamp: &Stamp, invoice: &Invoice, paid: i64) -> Result<Invoice> {
    tx.prepare_cached("UPDATE invoices SET amount_paid = ?2, balance_due = total - ?2, status = ?3 WHERE id = ?1")?
        .execute(params![invoice.id, paid, status_for(invoice.total, paid)])?;
    let _ = stamp;
    invoices::get(tx, &invoice.id)
}

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct PaymentInput {
    pub invoice_id: String,
    /// Minor units, more than zero and at most the balance due.
    pub amount: i64,
    pub method: String,
    /// Sent again with a retried request, it returns the first result.
    pub idempotency_key: String,
    /// A bank transfer's reference, a cheque number…
    #[serde(default)]
    #[ts(optional = nullable)]
    pub reference: String,
}

impl Validate for PaymentInput {
    fn validate(&self, v: &mut Violations) {
        v.required("invoice_id", &self.invoice_id, 100);
        v.range("amount", self.amount, 1, 1_000_000_000_000);
        if !matches!(self.method.as_str(), "cash" | "card" | "bank_transfer" | "other") {
            v.add("method", "must be cash, card, bank_transfer or other");
        }
        v.required("idempotency_key", &self.idempotency_key, 200);
        v.max_len("reference", &self.reference, MAX_NAME);
    }
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct Paid {
    pub payment: Payment,
    pub invoice: Invoice,
    /// True when this answers a repeated request with the first result.
    pub replayed: bool,
}

pub fn process_tx(tx: &Transaction, stamp: &Stamp, p: &PaymentInput) -> Result<Paid> {
    if let Some(first) = by_key(tx, &p.idempotency_key)? {
        if first.invoice_id != p.invoice_id || first.amount != p.amount || first.method != p.method {
            return Err(Error::conflict(
                "idempotency_key_reused",
                "This payment request was already used for a different payment: start a new payment.",
                json!({ "payment_id": first.id }),
            ));
        }
        let invoice = invoices::get(tx, &first.invoice_id)?;
        return Ok(Paid { payment: first, invoice, replayed: true });
    }
    let invoice = invoices::get(tx, &p.invoice_id)?;
    if invoice.status == "void" {
        return Err(Error::conflict(
            "invoice_void",
            format!("Invoice {} is void.", invoice.number),
            json!({ "invoice_id": invoice.id }),
        ));
    }
    if p.amount > invoice.balance_due {
        return Err(Error::rule(
            "overpayment",
            format!("The amount is more than the balance due ({}).", crate::money::format_minor(invoice.balance_due)),
            json!({ "balance_due": invoice.balance_due, "amount": p.amount }),
        ));
    }
    let id = stamp.new_id();
    tx.prepare_cached(
        "INSERT INTO payments (id, invoice_id, amount, method, reference, status, idempotency_key, actor_id, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'captured', ?6, ?7, ?8, ?8)",
    )?
    .execute(params![id, invoice.id, p.amount, p.method, p.reference.trim(), p.idempotency_key, stamp.actor_id, stamp.at()])?;
    let invoice = set_paid_tx(tx, stamp, &invoice, invoice.amount_paid + p.amount)?;
    audit::record_tx(
        tx,
        stamp,
        "payments.process",
        "invoice",
        Some(&invoice.id),
        json!({ "payment_id": id, "amount": p.amount, "method": p.method }),
    )?;
    events::append_tx(
        tx,
        stamp,
        kind::PaymentCaptured,
        &invoice.id,
        &events::PaymentCaptured {
            payment_id: id.clone(),
            invoice_id: invoice.id.clone(),
            amount: p.amount,
            method: p.method.clone(),
            reference: p.reference.trim().into(),
            amount_paid: invoice.amount_paid,
            balance_due: invoice.balance_due,
            status: invoice.status.clone(),
        },
    )?;
    Ok(Paid { payment: get(tx, &id)?, invoice, replayed: false })
}

pub fn process_cmd(ctx: &mut Ctx, input: PaymentInput) -> Result<Paid> {
    if input.method == "card" {
        return card::process(ctx, input);
    }
    ctx.write(|tx, stamp| {
        if card::attempt_by_key(tx, &input.idempotency_key)?.is_some() {
            return Err(Error::conflict(
                "idempotency_key_reused",
                "This payment request was already used for a card payment: start a new payment.",
                json!({}),
            ));
        }
        // A card being charged right now holds its part of the balance.
        if by_key(tx, &input.idempotency_key)?.is_none() {
            let in_flight = card::in_flight(tx, &input.invoice_id)?;
            let invoice = invoices::get(tx, &input.invoice_id)?;
            if in_flight > 0 && input.amount > invoice.balance_due - in_flight {
                return Err(Error::rule(
                    "overpayment",
                    format!(
                        "The amount is more than the balance due ({}) less the card payment being taken now ({}).",
                        crate::money::format_minor(invoice.balance_due),
                        crate::money::format_minor(in_flight)
                    ),
                    json!({ "balance_due": invoice.balance_due, "in_flight": in_flight, "amount": input.amount }),
                ));
            }
        }
        process_tx(tx, stamp, &input)
    })
}

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct RefundInput {
    pub payment_id: String,
    /// Minor units; the whole unrefunded amount by default.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub amount: Option<i64>,
    pub idempotency_key: String,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub reason: String,
}

impl Validate for RefundInput {
    fn validate(&self, v: &mut Violations) {
        v.required("payment_id", &self.payment_id, 100);
        if let Some(a) = self.amount {
            v.range("amount", a, 1, 1_000_000_000_000);
        }
        v.required("idempotency_key", &self.idempotency_key, 200);
        v.max_len("reason", &self.reason, MAX_TEXT);
    }
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct Refunded {
    pub refund_id: String,
    pub amount: i64,
    pub payment: Payment,
    pub invoice: Invoice,
    pub replayed: bool,
}

pub fn refund_cmd(ctx: &mut Ctx, input: RefundInput) -> Result<Refunded> {
    // A card payment's refund is a saga of its own (`card_refund`): its
    // attempt is committed before the gateway is asked.
    let payment = get(ctx.conn(), &input.payment_id)?;
    if payment.method == "card" {
        return card_refund::refund(ctx, &input);
    }
    ctx.write(|tx, stamp| {
        if let Some(replayed) = replay_refund_tx(tx, &input.idempotency_key, &input.payment_id)? {
            return Ok(replayed);
        }
        if card_refund::attempt_by_key(tx, &input.idempotency_key)?.is_some() {
            return Err(Error::conflict(
                "idempotency_key_reused",
                "This refund request was already used for another refund: start a new refund.",
                json!({}),
            ));
        }
        let payment = get(tx, &input.payment_id)?;
        let amount = refundable(&payment, input.amount)?;
        record_refund_tx(tx, stamp, &payment, amount, &input.reason, &input.idempotency_key, None)
    })
}

/// The refund already recorded under `key`, answered again (`replayed`);
/// 409 `idempotency_key_reused` when it refunded another payment.
fn replay_refund_tx(tx: &Transaction, key: &str, payment_id: &str) -> Result<Option<Refunded>> {
    let first: Option<(String, String, i64)> = tx
        .prepare_cached("SELECT id, payment_id, amount FROM refunds WHERE idempotency_key = ?1")?
        .query_row([key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((id, first_payment, amount)) = first else {
        return Ok(None);
    };
    if first_payment != payment_id {
        return Err(Error::conflict(
            "idempotency_key_reused",
            "This refund request was already used for another refund: start a new refund.",
            json!({ "refund_id": id }),
        ));
    }
    let payment = get(tx, &first_payment)?;
    let invoice = invoices::get(tx, &payment.invoice_id)?;
    Ok(Some(Refunded { refund_id: id, amount, payment, invoice, replayed: true }))
}

/// Writes a refund of `amount` off `payment`: the row, the payment's and
/// the invoice's paid amounts, the audit entry and `PaymentRefunded`.
fn record_refund_tx(
    tx: &Transaction,
    stamp: &Stamp,
    payment: &Payment,
    amount: i64,
    reason: &str,
    key: &str,
    gateway_refund_id: Option<&str>,
) -> Result<Refunded> {
    let id = stamp.new_id();
    tx.prepare_cached(
        "INSERT INTO refunds (id, payment_id, amount, reason, idempotency_key, actor_id, created_at, gateway_refund_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        id,
        payment.id,
        amount,
        reason.trim(),
        key,
        stamp.actor_id,
        stamp.at(),
        gateway_refund_id
    ])?;
    let refunded = payment.refunded_amount + amount;
    tx.prepare_cached("UPDATE payments SET refunded_amount = ?2, status = ?3, updated_at = ?4 WHERE id = ?1")?
        .execute(params![
            payment.id,
            refunded,
            if refunded == payment.amount { "refunded" } else { "partially_refunded" },
            stamp.at()
        ])?;
    let invoice = invoices::get(tx, &payment.invoice_id)?;
    let invoice = set_paid_tx(tx, stamp, &invoice, invoice.amount_paid - amount)?;
    audit::record_tx(
        tx,
        stamp,
        "payments.refund",
        "invoice",
        Some(&invoice.id),
        json!({ "payment_id": payment.id, "amount": amount }),
    )?;
    events::append_tx(
        tx,
        stamp,
        kind::PaymentRefunded,
        &invoice.id,
        &events::PaymentRefunded {
            refund_id: id.clone(),
            payment_id: payment.id.clone(),
            invoice_id: invoice.id.clone(),
            amount,
            reason: reason.trim().into(),
            gateway_refund_id: gateway_refund_id.map(str::to_string),
            amount_paid: invoice.amount_paid,
            balance_due: invoice.balance_due,
            status: invoice.status.clone(),
        },
    )?;
    Ok(Refunded { refund_id: id, amount, payment: get(tx, &payment.id)?, invoice, replayed: false })
}

/// How much of `payment` a refund of `asked` (all that is left by default) takes.
fn refundable(payment: &Payment, asked: Option<i64>) -> Result<i64> {
    let left = payment.amount - payment.refunded_amount;
    let amount = asked.unwrap_or(left);
    if amount <= 0 || amount > left {
        return Err(Error::rule(
            "refund_too_large",
            format!("At most {} of this payment can be refunded.", crate::money::format_minor(left)),
            json!({ "refundable": left }),
        ));
    }
    Ok(amount)
}

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(rename = "PaymentListInput")]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct ListInput {
    pub invoice_id: String,
}

impl Validate for ListInput {
    fn validate(&self, v: &mut Violations) {
        v.required("invoice_id", &self.invoice_id, 100);
    }
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct PaymentList {
    pub payments: Vec<Payment>,
    /// Card payment attempts on the invoice, settled or not (declined,
    /// refunded after a failed recording...), for the payment history.
    pub card_attempts: Vec<card::Attempt>,
}

/// The payments on an invoice, oldest first.
pub fn for_invoice(conn: &Connection, invoice_id: &str) -> Result<Vec<Payment>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM payments WHERE invoice_id = ?1 ORDER BY created_at, id"))?;
    let payments = stmt.query_map([invoice_id], from_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(payments)
}

pub fn list_cmd(ctx: &mut Ctx, input: ListInput) -> Result<PaymentList> {
    let invoice = invoices::get(ctx.conn(), &input.invoice_id)?;
    let payments = for_invoice(ctx.conn(), &invoice.id)?;
    let card_attempts = card::attempts_for_invoice(ctx.conn(), &invoice.id)?;
    Ok(PaymentList { payments, card_attempts })
}

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct VoidInput {
    pub invoice_id: String,
    pub reason: String,
}

impl Validate for VoidInput {
    fn validate(&self, v: &mut Violations) {
        v.required("invoice_id", &self.invoice_id, 100);
        v.required("reason", &self.reason, MAX_TEXT);
    }
}

/// Voids an invoice that has nothing paid on it (refund payments first).
pub fn void_cmd(ctx: &mut Ctx, input: VoidInput) -> Result<Invoice> {
    ctx.write(|tx, stamp| {
        let invoice = invoices::get(tx, &input.invoice_id)?;
        if invoice.status == "void" {
            return Err(Error::conflict("invoice_void", format!("Invoice {} is already void.", invoice.number), json!({ "invoice_id": invoice.id })));
        }
        if invoice.amount_paid > 0 {
            return Err(Error::conflict(
                "invoice_has_payments",
                "Refund the payments on this invoice before voiding it.",
                json!({ "invoice_id": invoice.id, "amount_paid": invoice.amount_paid }),
            ));
        }
        tx.prepare_cached("UPDATE invoices SET status = 'void', balance_due = total - amount_paid, notes = trim(notes || ' ' || ?2) WHERE id = ?1")?
            .execute(params![invoice.id, format!("[void: {}]", input.reason.trim())])?;
        audit::record_tx(tx, stamp, "invoices.void", "invoice", Some(&invoice.id), json!({ "number": invoice.number }))?;
        let after = invoices::get(tx, &invoice.id)?;
        events::append_tx(
            tx,
            stamp,
            kind::InvoiceVoided,
            &invoice.id,
            &events::InvoiceVoided {
                invoice_id: invoice.id.clone(),
                number: invoice.number.clone(),
                reason: input.reason.trim().into(),
                notes: after.notes.clone(),
            },
        )?;
        Ok(after)
    })
}

/// The card gateway: the fixed one, or one reached through the
/// connector with the settings' address and the keyring's key.
/// `None` when no address is set up.
pub(crate) fn gateway(ctx: &Ctx) -> Result<Option<std::sync::Arc<dyn crate::gateway::PaymentGateway>>> {
    if let Some(g) = &ctx.fixed_gateway {
        return Ok(Some(g.clone()));
    }
    let Some(connect) = ctx.connector.clone() else {
        return Ok(None);
    };
    let Some(url) = crate::settings::integration(ctx.conn(), "payment_gateway_url")? else {
        return Ok(None);
    };
    let Some(key) = crate::secrets::read(ctx, "payment_gateway_key")? else {
        return Err(Error::rule(
            "card_gateway_key_missing",
            "The card payment gateway's key is not set up yet: the owner adds it in the settings.",
            serde_json::json!({}),
        ));
    };
    connect(&url, &key).map(Some).map_err(|e| {
        Error::rule("gateway_refused", format!("The payment gateway cannot be used: {e}."), serde_json::json!({}))
    })
}
