//! Card payments: the saga of SPEC 4.6.
//!
//! 1. `begin`: the attempt is committed (its id is the charge's idempotency
//!    key at the gateway; its refund key is fixed too).
//! 2. `charge`: with the database released, retried with the same key while
//!    the gateway does not answer. The charge is the point of no return.
//! 3. `record`: one transaction writes the payment, the invoice's paid
//!    amount, `PaymentCaptured` and the attempt's end; a transient failure
//!    is retried, because the customer has paid.
//! 4. `compensate`: when recording cannot succeed, the charge is refunded
//!    with the attempt's own refund key, the attempt is marked compensated,
//!    `PaymentCompensated` goes out and the managers are alerted.
//! 5. `resolve_unfinished`: the settlement pass in the background (the
//!    worker), with a time budget: attempts left pending by a crash
//!    are settled by asking the gateway about their key.
//!
//! Whatever happens, a charge is recorded or refunded, never both, never
//! twice: every transition checks the attempt's status inside the
//! transaction that changes it, and the gateway's idempotency keys make a
//! repeated charge or refund return the first one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{params, OptionalExtension, Transaction};
use serde::Serialize;
use serde_json::json;

use super::{by_key, get, Paid, PaymentInput};
use crate::alerts::{self, NewAlert};
use crate::audit;
use crate::clock::Stamp;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::events::{self, kind};
use crate::failpoints;
use crate::gateway::{Charge, ChargeRequest, ChargeStatus, GatewayError, PaymentGateway, RefundRequest};
use crate::invoices;
use crate::money::format_minor;

/// One card payment attempt: the saga's durable state.
#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct Attempt {
    pub id: String,
    pub idempotency_key: String,
    pub invoice_id: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    pub charge_id: Option<String>,
    pub payment_id: Option<String>,
    pub refund_key: String,
    pub refund_id: Option<String>,
    pub outcome_code: Option<String>,
    pub outcome_message: Option<String>,
    pub actor_id: Option<String>,
    pub created_at: String,
}

const COLUMNS: &str = "id, idempotency_key, invoice_id, amount, currency, status, charge_id, payment_id, refund_key,
    refund_id, outcome_code, outcome_message, actor_id, created_at";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<Attempt> {
    Ok(Attempt {
        id: r.get(0)?,
        idempotency_key: r.get(1)?,
        invoice_id: r.get(2)?,
        amount: r.get(3)?,
        currency: r.get(4)?,
        status: r.get(5)?,
        charge_id: r.get(6)?,
        payment_id: r.get(7)?,
        refund_key: r.get(8)?,
        refund_id: r.get(9)?,
        outcome_code: r.get(10)?,
        outcome_message: r.get(11)?,
        actor_id: r.get(12)?,
        created_at: r.get(13)?,
    })
}

pub fn attempt(conn: &rusqlite::Connection, id: &str) -> Result<Attempt> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM payment_attempts WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or_else(|| Error::not_found("payment attempt", id))
}

pub(crate) fn attempt_by_key(conn: &rusqlite::Connection, key: &str) -> Result<Option<Attempt>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM payment_attempts WHERE idempotency_key = ?1"))?
        .query_row([key], from_row)
        .optional()?)
}

/// Every attempt on an invoice, oldest first.
pub fn attempts_for_invoice(conn: &rusqlite::Connection, invoice_id: &str) -> Result<Vec<Attempt>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM payment_attempts WHERE invoice_id = ?1 ORDER BY created_at, id"
    ))?;
    let rows = stmt.query_map([invoice_id], from_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub(crate) fn not_configured() -> Error {
    Error::rule(
        "card_gateway_not_configured",
        "Card payments need the payment gateway: the owner sets its address in settings and its key in the keyring.",
        json!({}),
    )
}

/// What step 1 found.
enum Begin {
    /// This key's payment is already recorded: the first result.
    Replay(Box<Paid>),
    /// A new attempt, committed: charge it.
    Charge(Attempt),
    /// This key's attempt ended without a payment: the first result again.
    Finished(Attempt),
    /// This key's attempt is unfinished: settled in the background.
    InFlight(Attempt),
}

/// `payments.process` with `method: card`.
pub fn process(ctx: &mut Ctx, input: PaymentInput) -> Result<Paid> {
    let Some(gateway) = super::gateway(ctx)? else {
        return Err(not_configured());
    };
    match ctx.write(|tx, stamp| begin_tx(tx, stamp, &input))? {
        Begin::Replay(paid) => Ok(*paid),
        Begin::Finished(a) => result_of(ctx, &a, true),
        Begin::InFlight(a) => Err(in_progress("charge", &a.id, &a.created_at, true)),
        Begin::Charge(a) => {
            let a = charge_and_settle(ctx, gateway.as_ref(), a)?;
            result_of(ctx, &a, false)
        }
    }
}

/// 409 `payment_in_progress`: an unfinished card attempt (`kind` `charge`
/// or `refund`) stands in the way. Never waits on the gateway: the
/// settlement pass in the background finishes the attempt.
pub(crate) fn in_progress(kind: &str, attempt_id: &str, started_at: &str, same_request: bool) -> Error {
    let message = if same_request {
        "This request is still being settled with the payment gateway; it will be settled shortly, in the background. Do not send it again with another key; ask again in a minute for its result."
    } else {
        "A card payment or refund on this invoice is still being settled with the payment gateway; it will be settled shortly, in the background. Try again in a minute."
    };
    Error::conflict(
        "payment_in_progress",
        message,
        json!({ "attempt_id": attempt_id, "kind": kind, "started_at": started_at }),
    )
}

/// The first unfinished card attempt on an invoice, a charge
/// (`pending`, `compensating`) or a manager's refund (`pending`), as
/// `(kind, id, created_at)`.
pub(crate) fn unsettled(conn: &rusqlite::Connection, invoice_id: &str) -> Result<Option<(String, String, String)>> {
    Ok(conn
        .prepare_cached(
            "SELECT kind, id, created_at FROM (
                 SELECT 'charge' AS kind, id, created_at FROM payment_attempts
                 WHERE invoice_id = ?1 AND status IN ('pending', 'compensating')
                 UNION ALL
                 SELECT 'refund', id, created_at FROM refund_attempts WHERE invoice_id = ?1 AND status = 'pending')
             ORDER BY created_at, id LIMIT 1",
        )?
        .query_row([invoice_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?)
}

/// What card payments being taken right now hold of an invoice's balance.
pub fn in_flight(conn: &rusqlite::Connection, invoice_id: &str) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT coalesce(sum(amount), 0) FROM payment_attempts
             WHERE invoice_id = ?1 AND status IN ('pending', 'compensating')",
        )?
        .query_row([invoice_id], |r| r.get(0))?)
}

fn begin_tx(tx: &Transaction, stamp: &Stamp, p: &PaymentInput) -> Result<Begin> {
    if let Some(a) = attempt_by_key(tx, &p.idempotency_key)? {
        if a.invoice_id != p.invoice_id || a.amount != p.amount {
            return Err(Error::conflict(
                "idempotency_key_reused",
                "This payment request was already used for a different payment: start a new payment.",
                json!({ "attempt_id": a.id }),
            ));
        }
        return Ok(match a.status.as_str() {
            "recorded" => {
                let payment = get(tx, a.payment_id.as_deref().unwrap_or_default())?;
                let invoice = invoices::get(tx, &payment.invoice_id)?;
                Begin::Replay(Box::new(Paid { payment, invoice, replayed: true }))
            }
            "pending" | "compensating" => Begin::InFlight(a),
            _ => Begin::Finished(a),
        });
    }
    if let Some(first) = by_key(tx, &p.idempotency_key)? {
        return Err(Error::conflict(
            "idempotency_key_reused",
            "This payment request was already used for a different payment: start a new payment.",
            json!({ "payment_id": first.id }),
        ));
    }
    let invoice = invoices::get(tx, &p.invoice_id)?;
    if invoice.status == "void" {
        return Err(Error::conflict(
            "invoice_void",
            format!("Invoice {} is void.", invoice.number),
            json!({ "invoice_id": invoice.id }),
        ));
    }
    // One card attempt at a time per invoice: another one still open is
    // settled in the background, never waited on here.
    if let Some((kind, id, started_at)) = unsettled(tx, &invoice.id)? {
        return Err(in_progress(&kind, &id, &started_at, false));
    }
    if p.amount > invoice.balance_due {
        return Err(Error::rule(
            "overpayment",
            format!("The amount is more than the balance due ({}).", format_minor(invoice.balance_due)),
            json!({ "balance_due": invoice.balance_due, "in_flight": 0, "amount": p.amount }),
        ));
    }
    let id = stamp.new_id();
    let refund_key = stamp.new_id();
    tx.prepare_cached(
        "INSERT INTO payment_attempts (id, idempotency_key, invoice_id, amount, currency, status, refund_key,
                                       actor_id, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7, ?8, ?8)",
    )?
    .execute(params![
        id,
        p.idempotency_key,
        invoice.id,
        p.amount,
        invoice.currency,
        refund_key,
        stamp.actor_id,
        stamp.at()
    ])?;
    audit::record_tx(
        tx,
        stamp,
        "payments.card_attempt",
        "invoice",
        Some(&invoice.id),
        json!({ "attempt_id": id, "amount": p.amount }),
    )?;
    Ok(Begin::Charge(attempt(tx, &id)?))
}

/// Asks the gateway with the database released: up to
/// `CardPolicy::gateway_tries` calls while it does not answer, pausing
/// (doubling) between them; definite answers and refusals return at once.
/// Inside a settlement pass ([`resolve_unfinished`]) every call's time is
/// clipped to what is left of the pass's budget, and no call starts once
/// it is spent (that counts as no answer).
pub(crate) fn ask<T>(
    ctx: &mut Ctx,
    mut call: impl FnMut(Option<Duration>) -> Result<T, GatewayError>,
) -> Result<T, GatewayError> {
    let policy = ctx.card_policy;
    let deadline = ctx.deadline;
    let left = move || deadline.map(|d| d.saturating_duration_since(Instant::now()));
    ctx.released(|| {
        let mut delay = policy.retry_delay;
        let mut tried = 0;
        loop {
            let limit = left();
            if limit == Some(Duration::ZERO) {
                return Err(GatewayError::Unreachable("out of time for this settlement pass".into()));
            }
            tried += 1;
            match call(limit) {
                Err(GatewayError::Unreachable(why)) if tried < policy.gateway_tries => {
                    tracing::warn!(tried, %why, "payment gateway did not answer, asking again");
                    std::thread::sleep(left().map_or(delay, |l| l.min(delay)));
                    delay *= 2;
                }
                other => return other,
            }
        }
    })
}

fn charge_and_settle(ctx: &mut Ctx, gateway: &dyn PaymentGateway, a: Attempt) -> Result<Attempt> {
    let invoice = invoices::get(ctx.conn(), &a.invoice_id)?;
    let request = ChargeRequest {
        idempotency_key: a.id.clone(),
        amount: a.amount,
        currency: a.currency.clone(),
        description: format!("Invoice {}", invoice.number),
        invoice_id: a.invoice_id.clone(),
    };
    let charged = ask(ctx, |limit| gateway.charge(&request, limit));
    // A crash right here (the test's "between charge and record") leaves
    // the attempt pending with the money taken: the settlement pass finds it.
    failpoints::check("payments.card.charged")?;
    // A 409 can mean "a request with this key is still being processed":
    // never read as "nothing happened", it is settled by asking.
    let charged = match charged {
        Err(GatewayError::Refused { status: 409, code, .. }) => {
            Err(GatewayError::Unreachable(format!("conflict ({code}) while the key may be in use")))
        }
        other => other,
    };
    match charged {
        Ok(charge) => after_charge(ctx, gateway, a, charge),
        Err(GatewayError::Refused { code, message, .. }) => finish(
            ctx,
            &a,
            "failed",
            "gateway_refused",
            &format!("The payment gateway refused the charge ({code}: {message}); the card was not charged."),
        ),
        Err(GatewayError::Unreachable(_)) => {
            // The outcome is unknown: ask about the key before saying anything.
            match ask(ctx, |limit| gateway.find_charge(&a.id, limit)) {
                Ok(Some(charge)) => after_charge(ctx, gateway, a, charge),
                Ok(None) => finish(
                    ctx,
                    &a,
                    "failed",
                    "gateway_unavailable",
                    "The payment gateway could not be reached; the card was not charged. Try again or take another method.",
                ),
                Err(e) => {
                    tracing::warn!(attempt = %a.id, error = %e, "card charge outcome unknown; left for resolution");
                    Ok(a)
                }
            }
        }
    }
}

/// The gateway answered about this attempt's charge: record it, or finish
/// a decline.
fn after_charge(ctx: &mut Ctx, gateway: &dyn PaymentGateway, a: Attempt, charge: Charge) -> Result<Attempt> {
    if charge.idempotency_key != a.id || charge.amount != a.amount || charge.currency != a.currency {
        // Not the charge we asked for: never record someone else's money.
        tracing::error!(attempt = %a.id, charge = %charge.id, "gateway answered with a different charge");
        let done = finish(
            ctx,
            &a,
            "failed",
            "gateway_mismatch",
            "The payment gateway answered with a charge that does not match this payment; nothing was recorded. Call the gateway's support before charging again.",
        )?;
        ctx.write(|tx, stamp| {
            alerts::raise_tx(
                tx,
                stamp,
                NewAlert {
                    kind: "gateway_mismatch",
                    title: "The payment gateway answered about another charge".into(),
                    body: format!(
                        "Asked to charge {} {}, the gateway answered with charge {} for {} {}. Nothing was recorded; check the gateway's dashboard.",
                        a.currency,
                        format_minor(a.amount),
                        charge.id,
                        charge.currency,
                        format_minor(charge.amount)
                    ),
                    subject_type: "payment_attempt",
                    subject_id: &a.id,
                },
            )
        })?;
        return Ok(done);
    }
    match charge.status {
        ChargeStatus::Declined => {
            let why = charge.decline_code.as_deref().unwrap_or("declined").replace('_', " ");
            finish(ctx, &a, "declined", "card_declined", &format!("The card was declined ({why}). No money was taken."))
        }
        ChargeStatus::Succeeded if charge.refunded_amount >= charge.amount => {
            // Already refunded at the gateway (a compensation whose end was
            // not written): finish the compensation, no second refund.
            compensate(ctx, gateway, a, &charge, None)
        }
        ChargeStatus::Succeeded => record_or_compensate(ctx, gateway, a, charge),
    }
}

fn retryable(e: &Error) -> bool {
    matches!(
        e,
        Error::Db(rusqlite::Error::SqliteFailure(f, _))
            if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy
                    | rusqlite::ErrorCode::DatabaseLocked
                    | rusqlite::ErrorCode::SystemIoFailure
                    | rusqlite::ErrorCode::DiskFull
            )
    )
}

fn record_or_compensate(ctx: &mut Ctx, gateway: &dyn PaymentGateway, a: Attempt, charge: Charge) -> Result<Attempt> {
    let policy = ctx.card_policy;
    let mut delay = policy.retry_delay;
    let mut tried = 0;
    let failure = loop {
        tried += 1;
        match ctx.write(|tx, stamp| record_tx(tx, stamp, &a, &charge)) {
            Ok(Some(done)) => return Ok(done),
            // Someone else settled it as "no charge" meanwhile: the money
            // is here, so it goes back.
            Ok(None) => {
                break Error::conflict(
                    "attempt_already_settled",
                    "This attempt was settled as not charged.",
                    json!({ "attempt_id": a.id }),
                )
            }
            Err(e) if retryable(&e) && tried < policy.record_tries => {
                tracing::warn!(attempt = %a.id, tried, error = %e, "recording a card charge failed, trying again");
                ctx.released(|| std::thread::sleep(delay));
                delay *= 2;
            }
            Err(e) => break e,
        }
    };
    tracing::error!(attempt = %a.id, error = %failure, "card charge could not be recorded; refunding it");
    compensate(ctx, gateway, a, &charge, Some(&failure))
}

/// Step 3. `Ok(None)` when the attempt was meanwhile settled as not charged.
fn record_tx(tx: &Transaction, stamp: &Stamp, a: &Attempt, charge: &Charge) -> Result<Option<Attempt>> {
    let now = attempt(tx, &a.id)?;
    match now.status.as_str() {
        "pending" => {}
        "recorded" | "compensating" | "compensated" => return Ok(Some(now)),
        _ => return Ok(None),
    }
    failpoints::check("payments.card.record")?;
    let paid = super::process_tx(
        tx,
        stamp,
        &PaymentInput {
            invoice_id: a.invoice_id.clone(),
            amount: a.amount,
            method: "card".into(),
            idempotency_key: a.idempotency_key.clone(),
            reference: charge.id.clone(),
        },
    )?;
    tx.prepare_cached(
        "UPDATE payment_attempts SET status = 'recorded', charge_id = ?2, payment_id = ?3, updated_at = ?4
         WHERE id = ?1",
    )?
    .execute(params![a.id, charge.id, paid.payment.id, stamp.at()])?;
    Ok(Some(attempt(tx, &a.id)?))
}

/// A short reason and its code for what stopped the recording.
fn describe(e: &Error) -> (String, String) {
    let code = e.code().to_string();
    let reason = match e {
        Error::Rule { message, .. } | Error::Conflict { message, .. } => message.trim_end_matches('.').to_string(),
        Error::NotFound { entity, .. } => format!("the {entity} no longer exists"),
        _ => "the database could not save it".to_string(),
    };
    (code, reason)
}

/// Step 4: refund with the attempt's own key, then mark it compensated,
/// send `PaymentCompensated` and alert the managers. `cause` is what broke
/// the recording (none when resuming a compensation already decided).
fn compensate(
    ctx: &mut Ctx,
    gateway: &dyn PaymentGateway,
    a: Attempt,
    charge: &Charge,
    cause: Option<&Error>,
) -> Result<Attempt> {
    let (code, reason) = match cause {
        Some(e) => describe(e),
        None => (
            a.outcome_code.clone().unwrap_or_else(|| "not_recorded".into()),
            a.outcome_message.clone().unwrap_or_else(|| "the payment could not be recorded".into()),
        ),
    };
    // Decide first, durably: from here on the attempt can only end refunded.
    let decided = ctx.write(|tx, stamp| {
        let rows = tx
            .prepare_cached(
                "UPDATE payment_attempts SET status = 'compensating', charge_id = ?2, outcome_code = ?3,
                        outcome_message = ?4, updated_at = ?5
                 WHERE id = ?1 AND status IN ('pending', 'failed', 'declined')",
            )?
            .execute(params![a.id, charge.id, code, reason, stamp.at()])?;
        Ok((rows, attempt(tx, &a.id)?))
    });
    match &decided {
        Ok((_, now)) if now.status == "recorded" || now.status == "compensated" => return Ok(now.clone()),
        Ok(_) => {}
        // The database will not even take the decision: refund anyway (the
        // refund key is fixed, so a later retry cannot refund twice), and
        // resolution finishes the record.
        Err(e) => tracing::error!(attempt = %a.id, error = %e, "could not mark the attempt compensating"),
    }
    let request = RefundRequest {
        idempotency_key: a.refund_key.clone(),
        charge_id: charge.id.clone(),
        amount: charge.amount,
        reason: format!("Not recorded: {reason}"),
    };
    let refunded = ask(ctx, |limit| gateway.refund(&request, limit));
    let refund = match refunded {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(attempt = %a.id, error = %e, "compensating refund failed; the settlement pass retries it");
            ctx.write(|tx, stamp| {
                let raised: bool = tx
                    .prepare_cached(
                        "SELECT EXISTS (SELECT 1 FROM alerts WHERE kind = 'card_refund_pending' AND subject_id = ?1
                                        AND acknowledged_at IS NULL AND resolved_at IS NULL)",
                    )?
                    .query_row([&a.id], |r| r.get(0))?;
                if raised {
                    return Ok(String::new()); // one open alert per attempt is enough
                }
                alerts::raise_tx(
                    tx,
                    stamp,
                    NewAlert {
                        kind: "card_refund_pending",
                        title: "A card charge is waiting to be refunded".into(),
                        body: format!(
                            "A card payment of {} could not be recorded ({reason}) and the refund has not gone through yet ({e}). Pitlane retries it in the background; check the gateway if this stays.",
                            format_minor(a.amount)
                        ),
                        subject_type: "payment_attempt",
                        subject_id: &a.id,
                    },
                )
            })?;
            return attempt(ctx.conn(), &a.id);
        }
    };
    ctx.write(|tx, stamp| {
        let rows = tx
            .prepare_cached(
                "UPDATE payment_attempts SET status = 'compensated', charge_id = ?2, refund_id = ?3,
                        outcome_code = coalesce(outcome_code, ?4), outcome_message = coalesce(outcome_message, ?5),
                        updated_at = ?6
                 WHERE id = ?1 AND status IN ('pending', 'failed', 'declined', 'compensating')",
            )?
            .execute(params![a.id, charge.id, refund.id, code, reason, stamp.at()])?;
        if rows == 0 {
            return attempt(tx, &a.id);
        }
        // The refund went through: a "waiting to be refunded" alert has no
        // cause any more.
        alerts::resolve_tx(tx, stamp, "card_refund_pending", &a.id, "the refund went through")?;
        let invoice = invoices::get(tx, &a.invoice_id)?;
        audit::record_tx(
            tx,
            stamp,
            "payments.compensate",
            "invoice",
            Some(&a.invoice_id),
            json!({ "attempt_id": a.id, "charge_id": charge.id, "refund_id": refund.id, "amount": a.amount, "reason": code }),
        )?;
        events::append_tx(
            tx,
            stamp,
            kind::PaymentCompensated,
            &a.invoice_id,
            &events::PaymentCompensated {
                attempt_id: a.id.clone(),
                invoice_id: a.invoice_id.clone(),
                amount: a.amount,
                currency: a.currency.clone(),
                charge_id: charge.id.clone(),
                refund_id: refund.id.clone(),
                reason_code: code.to_string(),
                reason: reason.to_string(),
            },
        )?;
        alerts::raise_tx(
            tx,
            stamp,
            NewAlert {
                kind: "payment_compensated",
                title: format!("Card payment on {} refunded", invoice.number),
                body: format!(
                    "A card payment of {} on invoice {} was charged but could not be recorded ({reason}), so it was refunded to the card. The invoice is unchanged; take the payment again if it is still due.",
                    format_minor(a.amount),
                    invoice.number
                ),
                subject_type: "invoice",
                subject_id: &a.invoice_id,
            },
        )?;
        attempt(tx, &a.id)
    })
}

/// Ends an attempt without money taken (declined, not charged).
fn finish(ctx: &mut Ctx, a: &Attempt, status: &str, code: &str, message: &str) -> Result<Attempt> {
    ctx.write(|tx, stamp| {
        let rows = tx
            .prepare_cached(
                "UPDATE payment_attempts SET status = ?2, outcome_code = ?3, outcome_message = ?4, updated_at = ?5
                 WHERE id = ?1 AND status = 'pending'",
            )?
            .execute(params![a.id, status, code, message, stamp.at()])?;
        if rows == 1 {
            audit::record_tx(
                tx,
                stamp,
                "payments.card_not_taken",
                "invoice",
                Some(&a.invoice_id),
                json!({ "attempt_id": a.id, "outcome": code }),
            )?;
        }
        attempt(tx, &a.id)
    })
}

/// Asks the gateway about an unfinished attempt and settles it.
fn settle(ctx: &mut Ctx, gateway: &dyn PaymentGateway, a: Attempt) -> Result<Attempt> {
    match ask(ctx, |limit| gateway.find_charge(&a.id, limit)) {
        Err(e) => {
            tracing::warn!(attempt = %a.id, error = %e, "cannot settle card attempt: gateway not answering");
            Ok(a)
        }
        Ok(None) if a.status == "pending" => finish(
            ctx,
            &a,
            "failed",
            "card_not_charged",
            "The card payment was interrupted before the card was charged; no money was taken.",
        ),
        Ok(None) => {
            tracing::error!(attempt = %a.id, "attempt being compensated has no charge at the gateway");
            Ok(a)
        }
        Ok(Some(charge)) if a.status == "compensating" => compensate(ctx, gateway, a, &charge, None),
        Ok(Some(charge)) => after_charge(ctx, gateway, a, charge),
    }
}

/// The answer a caller gets for a settled attempt.
fn result_of(ctx: &Ctx, a: &Attempt, replayed: bool) -> Result<Paid> {
    let details = json!({ "attempt_id": a.id, "charge_id": a.charge_id, "refund_id": a.refund_id,
                          "reason_code": a.outcome_code, "replayed": replayed });
    let said = a.outcome_message.clone().unwrap_or_default();
    match a.status.as_str() {
        "recorded" => {
            let payment = get(ctx.conn(), a.payment_id.as_deref().unwrap_or_default())?;
            let invoice = invoices::get(ctx.conn(), &a.invoice_id)?;
            Ok(Paid { payment, invoice, replayed })
        }
        "declined" => Err(Error::rule("card_declined", said, details)),
        "failed" => {
            let code = match a.outcome_code.as_deref() {
                Some("gateway_refused") => "gateway_refused",
                Some("gateway_mismatch") => "gateway_mismatch",
                Some("gateway_unavailable") => "gateway_unavailable",
                _ => "card_not_charged",
            };
            Err(Error::rule(code, said, details))
        }
        "compensated" => Err(Error::rule(
            "payment_compensated",
            format!(
                "The card was charged but the payment could not be recorded ({}), so the charge of {} was refunded. Nothing was taken; the invoice is unchanged.",
                said,
                format_minor(a.amount)
            ),
            details,
        )),
        "compensating" => Err(Error::rule(
            "payment_refund_pending",
            format!(
                "The card was charged but the payment could not be recorded ({}); the refund of {} has not gone through yet and will be retried. Managers have been alerted.",
                said,
                format_minor(a.amount)
            ),
            details,
        )),
        _ => Err(Error::rule(
            "payment_outcome_unknown",
            "The payment gateway did not answer, so it is not known yet whether the card was charged. Do not charge the card again: send the same request later (or restart) and Pitlane will ask the gateway.",
            details,
        )),
    }
}

/// What a settlement pass did.
#[derive(Debug, Default, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct Resolution {
    /// Attempts (charges, refunds, rechecks) the gateway was asked about.
    pub examined: u32,
    pub recorded: u32,
    pub compensated: u32,
    pub not_charged: u32,
    /// Managers' refunds found at the gateway and recorded.
    pub refunds_recorded: u32,
    /// Managers' refunds the gateway never made, closed as not refunded.
    pub refunds_not_made: u32,
    /// Examined but still unfinished (no answer, or a refund refused).
    pub still_open: u32,
    /// Not examined: the pass's budget ran out first. The next pass takes them.
    pub deferred: u32,
}

/// One settlement pass (SPEC 4.6 step 5): settles the card attempts a
/// crash or a lost connection left unfinished (charges `pending` or
/// `compensating`, managers' refunds `pending`), oldest first, then asks
/// once more about attempts ended as "not charged". Without
/// `include_recent`, only attempts older than the in-flight grace are
/// taken. Gateway calls stop when `budget` is spent: what is left counts
/// as `deferred`, and the pass ends shortly after the budget.
pub fn resolve_unfinished(ctx: &mut Ctx, include_recent: bool, budget: Duration) -> Result<Resolution> {
    let started = Instant::now();
    let deadline = started + budget;
    let cutoff = if include_recent {
        crate::clock::rfc3339(ctx.clock.now() + chrono::Duration::days(1))
    } else {
        crate::clock::rfc3339(ctx.clock.now() - ctx.card_policy.in_flight_grace)
    };
    let open: Vec<Attempt> = {
        let mut stmt = ctx.conn().prepare_cached(&format!(
            "SELECT {COLUMNS} FROM payment_attempts
             WHERE status IN ('pending', 'compensating') AND created_at <= ?1 ORDER BY created_at, id"
        ))?;
        let rows = stmt.query_map([&cutoff], from_row)?.collect::<Result<Vec<_>, _>>()?;
        rows
    };
    let refunds = super::card_refund::unfinished(ctx.conn(), &cutoff)?;
    // A gateway can make a charge after saying it had none (a request that
    // was stuck in its queue). Attempts ended as "not charged" are asked
    // about once more, once the grace has passed since that ending
    // (`updated_at`): money found is refunded.
    let recheck: Vec<Attempt> = {
        let mut stmt = ctx.conn().prepare_cached(&format!(
            "SELECT {COLUMNS} FROM payment_attempts
             WHERE status = 'failed' AND outcome_code IN ('gateway_unavailable', 'card_not_charged')
               AND rechecked_at IS NULL AND updated_at <= ?1 ORDER BY created_at, id"
        ))?;
        let rows = stmt.query_map([&cutoff], from_row)?.collect::<Result<Vec<_>, _>>()?;
        rows
    };
    let mut out = Resolution::default();
    let total = (open.len() + refunds.len() + recheck.len()) as u32;
    if total == 0 {
        return Ok(out);
    }
    let gateway: Option<Arc<dyn PaymentGateway>> = match super::gateway(ctx) {
        Ok(g) => g,
        Err(e) => {
            tracing::warn!(error = %e, "cannot reach the payment gateway to settle card payments");
            None
        }
    };
    let Some(gateway) = gateway else {
        tracing::warn!(count = total, "unfinished card payments, but no payment gateway is set up");
        out.examined = total;
        out.still_open = total;
        return Ok(out);
    };
    let saved = ctx.deadline.replace(deadline);
    let done = settle_all(ctx, gateway.as_ref(), deadline, open, refunds, recheck, &mut out);
    ctx.deadline = saved;
    done?;
    tracing::info!(?out, took_ms = started.elapsed().as_millis() as u64, "settlement pass");
    Ok(out)
}

fn settle_all(
    ctx: &mut Ctx,
    gateway: &dyn PaymentGateway,
    deadline: Instant,
    open: Vec<Attempt>,
    refunds: Vec<super::card_refund::RefundAttempt>,
    recheck: Vec<Attempt>,
    out: &mut Resolution,
) -> Result<()> {
    let spent = || Instant::now() >= deadline;
    for a in open {
        if spent() {
            out.deferred += 1;
            continue;
        }
        out.examined += 1;
        let id = a.id.clone();
        let settled = settle(ctx, gateway, a)?;
        tracing::info!(attempt = %id, status = %settled.status, "card attempt settled");
        match settled.status.as_str() {
            "recorded" => out.recorded += 1,
            "compensated" => out.compensated += 1,
            "failed" | "declined" => out.not_charged += 1,
            _ => out.still_open += 1,
        }
    }
    for r in refunds {
        if spent() {
            out.deferred += 1;
            continue;
        }
        out.examined += 1;
        let id = r.id.clone();
        let settled = match super::card_refund::settle(ctx, gateway, r) {
            Ok(settled) => settled.status,
            // The refund is at the gateway but will not record (a rule, not
            // the database): it stays pending, the pass goes on.
            Err(e) if !matches!(e, Error::Db(_)) => {
                tracing::error!(attempt = %id, error = %e, "a refund found at the gateway could not be recorded");
                "pending".into()
            }
            Err(e) => return Err(e),
        };
        tracing::info!(attempt = %id, status = %settled, "refund attempt settled");
        match settled.as_str() {
            "recorded" => out.refunds_recorded += 1,
            "failed" => out.refunds_not_made += 1,
            _ => out.still_open += 1,
        }
    }
    for a in recheck {
        if spent() {
            out.deferred += 1;
            continue;
        }
        out.examined += 1;
        match ask(ctx, |limit| gateway.find_charge(&a.id, limit)) {
            Ok(Some(charge)) if charge.status == ChargeStatus::Succeeded && charge.idempotency_key == a.id => {
                tracing::error!(attempt = %a.id, charge = %charge.id, "a charge appeared after the gateway said there was none");
                let late = Error::rule(
                    "late_charge",
                    "the gateway made the charge after saying there was none, and the payment had been reported as not taken",
                    json!({}),
                );
                let settled = compensate(ctx, gateway, a, &charge, Some(&late))?;
                if settled.status == "compensated" {
                    out.compensated += 1;
                } else {
                    out.still_open += 1;
                }
            }
            Ok(_) => {
                ctx.write(|tx, stamp| {
                    tx.prepare_cached("UPDATE payment_attempts SET rechecked_at = ?2 WHERE id = ?1")?
                        .execute(params![a.id, stamp.at()])?;
                    Ok(())
                })?;
                out.not_charged += 1;
            }
            Err(e) => {
                tracing::warn!(attempt = %a.id, error = %e, "cannot recheck a card attempt: gateway not answering");
                out.still_open += 1;
            }
        }
    }
    Ok(())
}
