//! The outbox: domain events written in the same transaction as the work
//! they describe, so no event exists for work that was rolled back.
//!
//! The envelope's fields (SPEC 5) are a wire format: changing them breaks
//! stored events and the sync protocol.

use rusqlite::{params, Connection, Transaction};
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

/// Appends an event with the next per-device sequence number.
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
    crate::jobs::enqueue_tx(tx, &env, crate::jobs::RetryPolicy::default().max_attempts)?;
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
