//! A manager's refund of a card payment (`payments.refund`), as a saga:
//!
//! 1. `begin`: the refund attempt is committed with its key (the caller's
//!    idempotency key, which is also the refund's `Idempotency-Key` at the
//!    gateway) before the gateway is asked.
//! 2. `refund`: with the database released, retried with the same key while
//!    the gateway does not answer; without an answer, the key is looked up.
//! 3. `record`: one transaction writes the refund, the payment's and the
//!    invoice's amounts, `PaymentRefunded` and the attempt's end.
//!
//! A crash after the gateway refunded leaves the attempt `pending`: the
//! settlement pass looks the key up and records the refund once, or closes
//! the attempt as not refunded. The gateway's key makes a repeated request
//! return the first refund, so it is never sent twice.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;
use serde_json::json;

use super::card::{ask, in_progress, not_configured, unsettled};
use super::{get, record_refund_tx, refundable, RefundInput, Refunded};
use crate::alerts::{self, NewAlert};
use crate::api::Ctx;
use crate::audit;
use crate::clock::Stamp;
use crate::error::{Error, Result};
use crate::failpoints;
use crate::gateway::{GatewayError, PaymentGateway, Refund, RefundRequest};
use crate::invoices;
use crate::money::format_minor;

/// One manager's refund of a card payment: the saga's durable state.
#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct RefundAttempt {
    pub id: String,
    pub idempotency_key: String,
    pub payment_id: String,
    pub invoice_id: String,
    pub charge_id: String,
    pub amount: i64,
    pub reason: String,
    pub status: String,
    pub refund_id: Option<String>,
    pub gateway_refund_id: Option<String>,
    pub outcome_code: Option<String>,
    pub outcome_message: Option<String>,
    pub created_at: String,
}

const COLUMNS: &str = "id, idempotency_key, payment_id, invoice_id, charge_id, amount, reason, status, refund_id,
    gateway_refund_id, outcome_code, outcome_message, created_at";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<RefundAttempt> {
    Ok(RefundAttempt {
        id: r.get(0)?,
        idempotency_key: r.get(1)?,
        payment_id: r.get(2)?,
        invoice_id: r.get(3)?,
        charge_id: r.get(4)?,
        amount: r.get(5)?,
        reason: r.get(6)?,
        status: r.get(7)?,
        refund_id: r.get(8)?,
        gateway_refund_id: r.get(9)?,
        outcome_code: r.get(10)?,
        outcome_message: r.get(11)?,
        created_at: r.get(12)?,
    })
}

fn attempt(conn: &Connection, id: &str) -> Result<RefundAttempt> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM refund_attempts WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or_else(|| Error::not_found("refund attempt", id))
}

pub(crate) fn attempt_by_key(conn: &Connection, key: &str) -> Result<Option<RefundAttempt>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM refund_attempts WHERE idempotency_key = ?1"))?
        .query_row([key], from_row)
        .optional()?)
}

/// The `pending` refund attempts made at or before `cutoff`, oldest first.
pub(crate) fn unfinished(conn: &Connection, cutoff: &str) -> Result<Vec<RefundAttempt>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM refund_attempts WHERE status = 'pending' AND created_at <= ?1 ORDER BY created_at, id"
    ))?;
    let rows = stmt.query_map([cutoff], from_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

enum Begin {
    /// This key's refund is recorded: the first result.
    Replay(Box<Refunded>),
    /// A new attempt, committed: send it.
    Refund(RefundAttempt),
    /// This key's attempt ended without a refund: the first answer again.
    Finished(RefundAttempt),
    /// This key's attempt is unfinished: settled in the background.
    InFlight(RefundAttempt),
}

/// `payments.refund` of a card payment.
pub fn refund(ctx: &mut Ctx, input: &RefundInput) -> Result<Refunded> {
    let Some(gateway) = ctx.gateway()? else {
        return Err(not_configured());
    };
    match ctx.write(|tx, stamp| begin_tx(tx, stamp, input))? {
        Begin::Replay(done) => Ok(*done),
        Begin::Finished(a) => result_of(ctx, &a, true),
        Begin::InFlight(a) => Err(in_progress("refund", &a.id, &a.created_at, true)),
        Begin::Refund(a) => {
            let a = refund_and_record(ctx, gateway.as_ref(), a)?;
            result_of(ctx, &a, false)
        }
    }
}

fn begin_tx(tx: &Transaction, stamp: &Stamp, input: &RefundInput) -> Result<Begin> {
    // Refunds recorded before refunds had attempts are answered as before.
    if let Some(done) = super::replay_refund_tx(tx, &input.idempotency_key, &input.payment_id)? {
        return Ok(Begin::Replay(Box::new(done)));
    }
    if let Some(a) = attempt_by_key(tx, &input.idempotency_key)? {
        if a.payment_id != input.payment_id || input.amount.is_some_and(|asked| asked != a.amount) {
            return Err(Error::conflict(
                "idempotency_key_reused",
                "This refund request was already used for another refund: start a new refund.",
                json!({ "attempt_id": a.id }),
            ));
        }
        return Ok(match a.status.as_str() {
            "recorded" => {
                let replayed = super::replay_refund_tx(tx, &a.idempotency_key, &a.payment_id)?;
                Begin::Replay(Box::new(
                    replayed.ok_or_else(|| Error::Internal("recorded refund without its row".into()))?,
                ))
            }
            "pending" => Begin::InFlight(a),
            _ => Begin::Finished(a),
        });
    }
    let payment = get(tx, &input.payment_id)?;
    if let Some((kind, id, started_at)) = unsettled(tx, &payment.invoice_id)? {
        return Err(in_progress(&kind, &id, &started_at, false));
    }
    let amount = refundable(&payment, input.amount)?;
    let id = stamp.new_id();
    tx.prepare_cached(
        "INSERT INTO refund_attempts (id, idempotency_key, payment_id, invoice_id, charge_id, amount, reason, status,
                                      actor_id, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?9, ?9)",
    )?
    .execute(params![
        id,
        input.idempotency_key,
        payment.id,
        payment.invoice_id,
        payment.reference,
        amount,
        input.reason.trim(),
        stamp.actor_id,
        stamp.at()
    ])?;
    audit::record_tx(
        tx,
        stamp,
        "payments.refund_attempt",
        "invoice",
        Some(&payment.invoice_id),
        json!({ "attempt_id": id, "payment_id": payment.id, "amount": amount }),
    )?;
    Ok(Begin::Refund(attempt(tx, &id)?))
}

fn refund_and_record(ctx: &mut Ctx, gateway: &dyn PaymentGateway, a: RefundAttempt) -> Result<RefundAttempt> {
    let request = RefundRequest {
        idempotency_key: a.idempotency_key.clone(),
        charge_id: a.charge_id.clone(),
        amount: a.amount,
        reason: if a.reason.is_empty() { "Refund".into() } else { a.reason.clone() },
    };
    let answered = ask(ctx, |limit| gateway.refund(&request, limit));
    // A crash right here (the test's "killed after the gateway refunded")
    // leaves the attempt pending with the money given back: the settlement
    // pass finds the refund by its key and records it.
    failpoints::check("payments.refund.refunded")?;
    match answered {
        Ok(refund) => record(ctx, a, &refund),
        // A 409 may be another request with this key still running: asked about, not taken as "no".
        Err(GatewayError::Refused { status, code, message }) if status != 409 => finish(
            ctx,
            &a,
            "gateway_refused",
            &format!("The payment gateway refused the refund ({code}: {message}); nothing was refunded."),
        ),
        Err(_) => match ask(ctx, |limit| gateway.find_refund(&a.idempotency_key, limit)) {
            Ok(Some(refund)) => record(ctx, a, &refund),
            Ok(None) => finish(
                ctx,
                &a,
                "gateway_unavailable",
                "The payment gateway could not be reached; nothing was refunded. Try again (a new refund).",
            ),
            Err(e) => {
                tracing::warn!(attempt = %a.id, error = %e, "refund outcome unknown; left for the settlement pass");
                Ok(a)
            }
        },
    }
}

/// The settlement pass: looks an unfinished refund up by its key.
pub(crate) fn settle(ctx: &mut Ctx, gateway: &dyn PaymentGateway, a: RefundAttempt) -> Result<RefundAttempt> {
    match ask(ctx, |limit| gateway.find_refund(&a.idempotency_key, limit)) {
        Ok(Some(refund)) => record(ctx, a, &refund),
        Ok(None) => finish(
            ctx,
            &a,
            "refund_not_made",
            "The refund was interrupted before the payment gateway made it; nothing was refunded.",
        ),
        Err(e) => {
            tracing::warn!(attempt = %a.id, error = %e, "cannot settle a refund attempt: gateway not answering");
            Ok(a)
        }
    }
}

/// The gateway made the refund: record it once, in one transaction with
/// the attempt's end. A refund that does not match the attempt is never
/// recorded (`gateway_mismatch`, with an alert).
fn record(ctx: &mut Ctx, a: RefundAttempt, refund: &Refund) -> Result<RefundAttempt> {
    if refund.idempotency_key != a.idempotency_key || refund.charge_id != a.charge_id || refund.amount != a.amount {
        tracing::error!(attempt = %a.id, refund = %refund.id, "gateway answered with a different refund");
        let done = finish(
            ctx,
            &a,
            "gateway_mismatch",
            "The payment gateway answered with a refund that does not match this one; nothing was recorded. Check the gateway's dashboard.",
        )?;
        ctx.write(|tx, stamp| {
            alerts::raise_tx(
                tx,
                stamp,
                NewAlert {
                    kind: "gateway_mismatch",
                    title: "The payment gateway answered about another refund".into(),
                    body: format!(
                        "Asked to refund {} of charge {}, the gateway answered with refund {} of {} on charge {}. Nothing was recorded; check the gateway's dashboard.",
                        format_minor(a.amount),
                        a.charge_id,
                        refund.id,
                        format_minor(refund.amount),
                        refund.charge_id
                    ),
                    subject_type: "refund_attempt",
                    subject_id: &a.id,
                },
            )
        })?;
        return Ok(done);
    }
    ctx.write(|tx, stamp| {
        let now = attempt(tx, &a.id)?;
        if now.status != "pending" {
            return Ok(now);
        }
        let payment = get(tx, &a.payment_id)?;
        let done = record_refund_tx(tx, stamp, &payment, a.amount, &a.reason, &a.idempotency_key, Some(&refund.id))?;
        tx.prepare_cached(
            "UPDATE refund_attempts SET status = 'recorded', refund_id = ?2, gateway_refund_id = ?3, updated_at = ?4
             WHERE id = ?1",
        )?
        .execute(params![a.id, done.refund_id, refund.id, stamp.at()])?;
        attempt(tx, &a.id)
    })
}

/// Ends an attempt with no refund made.
fn finish(ctx: &mut Ctx, a: &RefundAttempt, code: &str, message: &str) -> Result<RefundAttempt> {
    ctx.write(|tx, stamp| {
        let rows = tx
            .prepare_cached(
                "UPDATE refund_attempts SET status = 'failed', outcome_code = ?2, outcome_message = ?3, updated_at = ?4
                 WHERE id = ?1 AND status = 'pending'",
            )?
            .execute(params![a.id, code, message, stamp.at()])?;
        if rows == 1 {
            audit::record_tx(
                tx,
                stamp,
                "payments.refund_not_made",
                "invoice",
                Some(&a.invoice_id),
                json!({ "attempt_id": a.id, "outcome": code }),
            )?;
        }
        attempt(tx, &a.id)
    })
}

/// The answer a caller gets for a refund attempt.
fn result_of(ctx: &Ctx, a: &RefundAttempt, replayed: bool) -> Result<Refunded> {
    let details = json!({ "attempt_id": a.id, "payment_id": a.payment_id, "reason_code": a.outcome_code,
                          "replayed": replayed });
    match a.status.as_str() {
        "recorded" => {
            let refund_id = a.refund_id.clone().unwrap_or_default();
            let payment = get(ctx.conn(), &a.payment_id)?;
            let invoice = invoices::get(ctx.conn(), &a.invoice_id)?;
            Ok(Refunded { refund_id, amount: a.amount, payment, invoice, replayed })
        }
        "failed" => {
            let code = match a.outcome_code.as_deref() {
                Some("gateway_refused") => "gateway_refused",
                Some("gateway_mismatch") => "gateway_mismatch",
                Some("gateway_unavailable") => "gateway_unavailable",
                _ => "refund_not_made",
            };
            Err(Error::rule(code, a.outcome_message.clone().unwrap_or_default(), details))
        }
        _ => Err(Error::rule(
            "refund_outcome_unknown",
            "The payment gateway did not answer, so it is not known yet whether the refund went through. Do not refund again: it will be settled shortly, in the background; send the same request later for its result.",
            details,
        )),
    }
}
