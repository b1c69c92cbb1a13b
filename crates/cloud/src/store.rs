//! Everything pitlane-cloud reads and writes in PostgreSQL. A batch is one transaction: the
//! device row locked, the plan (`plan::plan`) made from what is stored, then carried out.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Row;

use crate::batch::{Batch, Envelope, Identity};
use crate::error::CloudError;
use crate::plan::{plan, Stored};

/// The schema, embedded at build time (crates/cloud/migrations). sqlx's migrator takes an
/// advisory lock, so several processes may start at once.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A bounded pool: a request waits at most `acquire` for a connection, then answers 503.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, CloudError> {
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy(url)?;
    Ok(pool)
}

/// Brings the schema up to date.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// SHA-256 of a token, as stored: the token itself is never kept.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The device a token speaks for; unknown and revoked tokens are `Unauthorized`.
pub async fn identity(pool: &PgPool, token: &str) -> Result<Identity, CloudError> {
    let row = sqlx::query("SELECT id, tenant_id, branch_id FROM devices WHERE token_hash = $1 AND revoked_at IS NULL")
        .bind(token_hash(token))
        .fetch_optional(pool)
        .await?
        .ok_or(CloudError::Unauthorized)?;
    Ok(Identity { device_id: row.get(0), tenant_id: row.get(1), branch_id: row.get(2) })
}

/// The answer to an accepted batch (docs/SYNC.md section 3).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Answer {
    pub accepted: Vec<String>,
    pub duplicates: Vec<String>,
    pub holes: Vec<i64>,
    pub device_last_seq: i64,
}

/// Stores a checked batch of the token's device: all of it or nothing.
///
/// Round trips: lock the device row; one look-up of what is stored; the events inserted with the
/// device row updated; the numbering under the counter row's lock; commit.
pub async fn ingest(pool: &PgPool, who: &Identity, batch: &Batch) -> Result<Answer, CloudError> {
    let mut tx = pool.begin().await?;
    // The device's row lock serializes this device's batches across every process. Taken by a
    // statement of its own: the look-up below must see what the batch we waited for committed.
    let last_seq: i64 =
        sqlx::query_scalar("SELECT last_seq FROM devices WHERE id = $1 AND revoked_at IS NULL FOR UPDATE")
            .bind(&who.device_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(CloudError::Unauthorized)?;

    // Only numbers already covered can be held by a stored event or an open hole.
    let covered: Vec<i64> = batch
        .events
        .iter()
        .map(|e| e.device_seq)
        .chain(batch.holes.iter().map(|h| h.device_seq))
        .filter(|&seq| seq <= last_seq)
        .collect();
    let ids: Vec<&str> = batch.events.iter().map(|e| e.id.as_str()).collect();
    let mut stored = Stored { last_seq, ..Stored::default() };
    if !ids.is_empty() || !covered.is_empty() {
        // 0: a batch's event id stored (by any device); 1: the device's event at a covered
        // number; 2: the device's open hole at a covered number.
        let rows = sqlx::query(
            "SELECT 0, id, 0::bigint FROM event_bodies WHERE id = ANY($1)
             UNION ALL
             SELECT 1, id, device_seq FROM event_bodies WHERE device_id = $2 AND device_seq = ANY($3)
             UNION ALL
             SELECT 2, event_id, device_seq FROM device_holes WHERE device_id = $2 AND device_seq = ANY($3)",
        )
        .bind(&ids)
        .bind(&who.device_id)
        .bind(&covered)
        .fetch_all(&mut *tx)
        .await?;
        for row in rows {
            let (kind, id, seq): (i32, String, i64) = (row.get(0), row.get(1), row.get(2));
            match kind {
                0 => {
                    stored.ids.insert(id);
                }
                1 => {
                    stored.held.insert(seq, id);
                }
                _ => {
                    stored.holes.insert(seq, id);
                }
            }
        }
    }

    let plan = plan(&stored, &batch.events, &batch.holes)?;

    if !plan.filled.is_empty() {
        sqlx::query("DELETE FROM device_holes WHERE device_id = $1 AND device_seq = ANY($2)")
            .bind(&who.device_id)
            .bind(&plan.filled)
            .execute(&mut *tx)
            .await?;
    }
    if !plan.new_holes.is_empty() {
        let seqs: Vec<i64> = plan.new_holes.iter().map(|h| h.device_seq).collect();
        let ids: Vec<&str> = plan.new_holes.iter().map(|h| h.event_id.as_str()).collect();
        let reasons: Vec<&str> = plan.new_holes.iter().map(|h| h.reason.as_str()).collect();
        sqlx::query(
            "INSERT INTO device_holes (device_id, device_seq, event_id, reason)
             SELECT $1, * FROM UNNEST($2::bigint[], $3::text[], $4::text[])",
        )
        .bind(&who.device_id)
        .bind(&seqs)
        .bind(&ids)
        .bind(&reasons)
        .execute(&mut *tx)
        .await?;
    }
    let rows: Vec<&Envelope> = plan.store.iter().map(|&i| &batch.events[i]).collect();
    if rows.is_empty() {
        sqlx::query("UPDATE devices SET last_seq = $2, last_contact_at = now() WHERE id = $1")
            .bind(&who.device_id)
            .bind(plan.last_seq)
            .execute(&mut *tx)
            .await?;
    } else {
        // The events go in before the counter row is taken: concurrent batches insert theirs
        // side by side, and queue only for the numbering below.
        insert_events(&mut tx, &who.device_id, plan.last_seq, &rows).await?;
        number_events(&mut tx, &who.tenant_id, &rows).await?;
    }
    tx.commit().await?;
    Ok(Answer {
        accepted: plan.accepted,
        duplicates: plan.duplicates,
        holes: plan.holes,
        device_last_seq: plan.last_seq,
    })
}

/// One multi-row INSERT of envelopes into `event_bodies`; the same statement sets the device's
/// `last_seq` and `last_contact_at` (the row this transaction has locked).
async fn insert_events(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    device_id: &str,
    last_seq: i64,
    rows: &[&Envelope],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "WITH device AS (UPDATE devices SET last_seq = $14, last_contact_at = now() WHERE id = $13)
         INSERT INTO event_bodies (id, device_id, device_seq, type, schema_version, aggregate_type,
                                   aggregate_id, occurred_at, tenant_id, branch_id, actor_id, payload)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::int[], $6::text[],
                              $7::text[], $8::timestamptz[], $9::text[], $10::text[], $11::text[],
                              $12::text[]::jsonb[])",
    )
    .bind(rows.iter().map(|e| e.id.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|e| e.device_id.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|e| e.device_seq).collect::<Vec<_>>())
    .bind(rows.iter().map(|e| e.event_type.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|e| e.schema_version).collect::<Vec<_>>())
    .bind(rows.iter().map(|e| e.aggregate_type.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|e| e.aggregate_id.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|e| e.occurred_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|e| e.tenant_id.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|e| e.branch_id.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|e| e.actor_id.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|e| e.payload.get()).collect::<Vec<_>>())
    .bind(device_id)
    .bind(last_seq)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Gives the events, in the order given, the next numbers of the gapless cloud_seq.
///
/// The numbers come from the one counter row. The UPDATE keeps that row locked until this
/// transaction commits, so the next writer takes its numbers only after ours are visible:
/// cloud_seq is gapless and commits in order, and a reader paging with `after = N` never skips
/// an event that commits late (a PostgreSQL sequence would). Taken last, after every check and
/// every other write, in one statement with the narrow `event_order` rows, so the lock is held
/// for those rows and the commit only.
async fn number_events(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    tenant_id: &str,
    rows: &[&Envelope],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "WITH counter AS (UPDATE cloud_counter SET last = last + $1 RETURNING last)
         INSERT INTO event_order (tenant_id, cloud_seq, event_id)
         SELECT $2, counter.last - $1 + e.n, e.id FROM counter, UNNEST($3::text[]) WITH ORDINALITY AS e (id, n)",
    )
    .bind(rows.len() as i64)
    .bind(tenant_id)
    .bind(rows.iter().map(|e| e.id.as_str()).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A tenant's events after `after`, in cloud_seq order.
pub async fn events_after(pool: &PgPool, tenant_id: &str, after: i64, limit: i64) -> Result<Value, CloudError> {
    let rows = sqlx::query(
        "SELECT o.cloud_seq, b.received_at, b.id, b.type, b.schema_version, b.aggregate_type, b.aggregate_id,
                b.occurred_at, b.tenant_id, b.branch_id, b.device_id, b.device_seq, b.actor_id, b.payload::text
         FROM event_order o JOIN event_bodies b ON b.id = o.event_id
         WHERE o.tenant_id = $1 AND o.cloud_seq > $2 ORDER BY o.cloud_seq LIMIT $3",
    )
    .bind(tenant_id)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let mut last = after;
    let events: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            let event = Envelope {
                id: r.get(2),
                event_type: r.get(3),
                schema_version: r.get(4),
                aggregate_type: r.get(5),
                aggregate_id: r.get(6),
                occurred_at: r.get(7),
                tenant_id: r.get(8),
                branch_id: r.get(9),
                device_id: r.get(10),
                device_seq: r.get(11),
                actor_id: r.get(12),
                payload: RawValue::from_string(r.get(13)).expect("jsonb reads back as JSON"),
            };
            last = r.get(0);
            let received_at: DateTime<Utc> = r.get(1);
            json!({
                "cloud_seq": last,
                "received_at": received_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "event": event.to_json(),
            })
        })
        .collect();
    Ok(json!({ "events": events, "last_cloud_seq": last }))
}

/// Devices, as `GET /v1/devices` and `device list` show them; all tenants when `tenant_id` is None.
pub async fn devices(pool: &PgPool, tenant_id: Option<&str>) -> Result<Vec<Value>, CloudError> {
    let rows = sqlx::query(
        "SELECT d.id, d.tenant_id, d.branch_id, d.name, d.last_seq, d.last_contact_at, d.revoked_at IS NOT NULL,
                (SELECT count(*) FROM device_holes h WHERE h.device_id = d.id)
         FROM devices d WHERE $1::text IS NULL OR d.tenant_id = $1 ORDER BY d.created_at, d.id",
    )
    .bind(tenant_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let contact: Option<DateTime<Utc>> = r.get(5);
            json!({
                "device_id": r.get::<String, _>(0),
                "tenant_id": r.get::<String, _>(1),
                "branch_id": r.get::<String, _>(2),
                "name": r.get::<String, _>(3),
                "last_seq": r.get::<i64, _>(4),
                "open_holes": r.get::<i64, _>(7),
                "last_contact_at": contact.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
                "revoked": r.get::<bool, _>(6),
            })
        })
        .collect())
}

/// Registers a device with a new token; returns the token (shown once, stored hashed).
pub async fn add_device(pool: &PgPool, who: &Identity, name: &str) -> Result<String, CloudError> {
    let token = crate::token::new_token();
    let done = sqlx::query(
        "INSERT INTO devices (id, tenant_id, branch_id, name, token_hash) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&who.device_id)
    .bind(&who.tenant_id)
    .bind(&who.branch_id)
    .bind(name)
    .bind(token_hash(&token))
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(CloudError::InvalidQuery { field: "device_id", problem: "is already registered".into() });
    }
    Ok(token)
}

/// Revokes a device's token; its events stay. False when no such device.
pub async fn revoke_device(pool: &PgPool, device_id: &str) -> Result<bool, CloudError> {
    let done = sqlx::query("UPDATE devices SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1")
        .bind(device_id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}
