//! The outbox: domain events written in the same transaction as the work
//! they describe, so no event exists for work that was rolled back.
//!
//! The envelope's fields (SPEC 5) are a wire format: changing them breaks
//! stored events and the sync protocol.

use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;
use serde_json::Value;

use crate::clock::Stamp;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct EventEnvelope {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub schema_version: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub occurred_at: String,
    pub tenant_id: String,
    pub branch_id: String,
    pub device_id: String,
    pub device_seq: i64,
    pub actor_id: Option<String>,
    pub payload: Value,
}

/// One event to append: its type, schema version, aggregate and payload.
pub struct NewEvent<'a> {
    pub event_type: &'a str,
    pub schema_version: i64,
    pub aggregate_type: &'a str,
    pub aggregate_id: &'a str,
    pub payload: Value,
}

/// Appends an event with the next per-device sequence number. Write events
/// through `events::append_tx`, which takes a registered type and its
/// payload struct (a test checks that nothing else calls this).
pub fn append_tx(tx: &Transaction, stamp: &Stamp, event: NewEvent) -> Result<EventEnvelope> {
    let (device_id, tenant_id, branch_id, device_seq): (String, String, String, i64) = tx
        .prepare_cached(
            "UPDATE device SET next_event_seq = next_event_seq + 1
             RETURNING id, tenant_id, branch_id, next_event_seq - 1",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .map_err(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Error::Internal("device not set up".into()),
            e => e.into(),
        })?;
    let env = EventEnvelope {
        id: stamp.new_id(),
        event_type: event.event_type.to_string(),
        schema_version: event.schema_version,
        aggregate_type: event.aggregate_type.to_string(),
        aggregate_id: event.aggregate_id.to_string(),
        occurred_at: stamp.at(),
        tenant_id,
        branch_id,
        device_id,
        device_seq,
        actor_id: stamp.actor_id.map(str::to_string),
        payload: event.payload,
    };
    tx.prepare_cached(
        "INSERT INTO outbox (id, device_seq, type, schema_version, aggregate_type, aggregate_id, occurred_at,
                             tenant_id, branch_id, device_id, actor_id, payload)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        env.id,
        env.device_seq,
        env.event_type,
        env.schema_version,
        env.aggregate_type,
        env.aggregate_id,
        env.occurred_at,
        env.tenant_id,
        env.branch_id,
        env.device_id,
        env.actor_id,
        env.payload.to_string()
    ])?;
    enqueue_tx(tx, &env, RetryPolicy::default().max_attempts)?;
    Ok(env)
}

/// One event by its id.
pub fn by_id(conn: &Connection, id: &str) -> Result<EventEnvelope> {
    let seq: i64 = conn
        .prepare_cached("SELECT seq FROM outbox WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .map_err(|_| Error::not_found("event", id))?;
    list(conn, seq - 1, 1)?.into_iter().next().map(|(_, e)| e).ok_or_else(|| Error::not_found("event", id))
}

/// Events in order, oldest first, after `after_seq`.
pub fn list(conn: &Connection, after_seq: i64, limit: i64) -> Result<Vec<(i64, EventEnvelope)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, id, type, schema_version, aggregate_type, aggregate_id, occurred_at, tenant_id,
                branch_id, device_id, device_seq, actor_id, payload
         FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![after_seq, limit], |r| {
            let payload: String = r.get(12)?;
            Ok((
                r.get(0)?,
                EventEnvelope {
                    id: r.get(1)?,
                    event_type: r.get(2)?,
                    schema_version: r.get(3)?,
                    aggregate_type: r.get(4)?,
                    aggregate_id: r.get(5)?,
                    occurred_at: r.get(6)?,
                    tenant_id: r.get(7)?,
                    branch_id: r.get(8)?,
                    device_id: r.get(9)?,
                    device_seq: r.get(10)?,
                    actor_id: r.get(11)?,
                    payload: serde_json::from_str(&payload).unwrap_or(Value::Null),
                },
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

// ---- the jobs an event queues (SPEC 5; run by `jobs` and the worker) ----------

/// Which listeners each event type goes to: the one place listeners are
/// registered. The worker holds a listener for every name here (a test
/// checks it).
/// One listener per way out, so a failing channel (an SMS gateway that is
/// down) retries alone and never repeats what another already sent.
pub const ROUTES: &[(&str, &[&str])] = &[
    ("AppointmentBooked", &["appointment_confirmation_email", "appointment_confirmation_sms"]),
    ("AppointmentConfirmed", &["appointment_confirmation_email", "appointment_confirmation_sms"]),
    ("JobCardCompleted", &["vehicle_ready_email", "vehicle_ready_sms"]),
    ("InvoiceGenerated", &["invoice_email"]),
    ("InvoiceEmailRequested", &["invoice_email"]),
    ("LowStockReached", &["low_stock_alert", "low_stock_email"]),
    ("PaymentCompensated", &["payment_compensation_email"]),
];

/// The customer messages and the channel each goes by. Jobs of these
/// listeners are kept in event order per customer and channel: one is not
/// run while an earlier one to the same customer by the same channel still
/// waits (`jobs::claim`).
pub const CUSTOMER_CHANNELS: &[(&str, &str)] = &[
    ("appointment_confirmation_email", "email"),
    ("appointment_confirmation_sms", "sms"),
    ("vehicle_ready_email", "email"),
    ("vehicle_ready_sms", "sms"),
    ("invoice_email", "email"),
];

/// The channel of a customer message; `None` for the managers' alerts.
pub fn channel_of(listener: &str) -> Option<&'static str> {
    CUSTOMER_CHANNELS.iter().find(|(l, _)| *l == listener).map(|(_, c)| *c)
}

/// How hard the queue tries (configurable; SPEC 5's defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    /// The first pause; doubled each time, with jitter.
    pub backoff: Duration,
    /// How long a claimed job is the worker's before another may take it.
    pub lease: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 3, backoff: Duration::from_secs(60), lease: Duration::from_secs(300) }
    }
}

/// Queues the jobs for one event, inside the event's transaction. A
/// customer message remembers its customer and channel, and every job its
/// event's place in the outbox, for `jobs::claim`'s ordering.
pub fn enqueue_tx(tx: &Transaction, event: &EventEnvelope, max_attempts: u32) -> Result<()> {
    let Some((_, listeners)) = ROUTES.iter().find(|(t, _)| *t == event.event_type) else {
        return Ok(());
    };
    let customer_id =
        if listeners.iter().any(|l| channel_of(l).is_some()) { message_customer(tx, &event.payload)? } else { None };
    let mut stmt = tx.prepare_cached(
        "INSERT INTO jobs (id, event_id, event_type, listener, state, max_attempts, run_at, created_at, updated_at,
                           event_seq, customer_id, channel)
         VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?6, ?6, (SELECT seq FROM outbox WHERE id = ?2), ?7, ?8)
         ON CONFLICT (event_id, listener) DO NOTHING",
    )?;
    for listener in *listeners {
        // The job id is the event id and the listener: stable, so it can be
        // the idempotency key of what the listener sends.
        let id = format!("{}:{listener}", event.id);
        let channel = channel_of(listener);
        let customer = channel.and(customer_id.as_deref());
        stmt.execute(params![
            id,
            event.id,
            event.event_type,
            listener,
            max_attempts,
            event.occurred_at,
            customer,
            channel
        ])?;
    }
    Ok(())
}

/// The customer a message event is about: its `customer_id`, or the
/// customer of its `invoice_id` (`InvoiceEmailRequested`).
fn message_customer(conn: &Connection, payload: &serde_json::Value) -> Result<Option<String>> {
    if let Some(id) = payload.get("customer_id").and_then(serde_json::Value::as_str) {
        return Ok(Some(id.to_string()));
    }
    let Some(invoice) = payload.get("invoice_id").and_then(serde_json::Value::as_str) else {
        return Ok(None);
    };
    Ok(conn
        .prepare_cached("SELECT customer_id FROM invoices WHERE id = ?1")?
        .query_row([invoice], |r| r.get(0))
        .optional()?)
}
