//! Everything pitlane-cloud reads and writes in PostgreSQL. A batch is one transaction: the
//! device row locked, the plan (`plan::plan`) made from what is stored, then carried out.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
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
pub async fn ingest(pool: &PgPool, who: &Identity, batch: &Batch) -> Result<Answer, CloudError> {
    let mut tx = pool.begin().await?;
    // The device's row lock serializes this device's batches across every process.
    let last_seq: i64 =
        sqlx::query_scalar("SELECT last_seq FROM devices WHERE id = $1 AND revoked_at IS NULL FOR UPDATE")
            .bind(&who.device_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(CloudError::Unauthorized)?;

    let seqs: Vec<i64> =
        batch.events.iter().map(|e| e.device_seq).chain(batch.holes.iter().map(|h| h.device_seq)).collect();
    let ids: Vec<String> = batch.events.iter().map(|e| e.id.clone()).collect();
    let mut stored = Stored { last_seq, ..Stored::default() };
    if !ids.is_empty() {
        let rows = sqlx::query("SELECT id FROM events WHERE id = ANY($1)").bind(&ids).fetch_all(&mut *tx).await?;
        stored.ids = rows.iter().map(|r| r.get::<String, _>(0)).collect::<HashSet<_>>();
    }
    if !seqs.is_empty() {
        let rows = sqlx::query("SELECT device_seq, id FROM events WHERE device_id = $1 AND device_seq = ANY($2)")
            .bind(&who.device_id)
            .bind(&seqs)
            .fetch_all(&mut *tx)
            .await?;
        stored.held = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        let rows =
            sqlx::query("SELECT device_seq, event_id FROM device_holes WHERE device_id = $1 AND device_seq = ANY($2)")
                .bind(&who.device_id)
                .bind(&seqs)
                .fetch_all(&mut *tx)
                .await?;
        stored.holes = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    }

    let plan = plan(&stored, &batch.events, &batch.holes)?;

    if !plan.store.is_empty() {
        let rows: Vec<&Envelope> = plan.store.iter().map(|&i| &batch.events[i]).collect();
        // cloud_seq comes from the one counter row. The UPDATE keeps that row locked until this
        // transaction commits, so the next writer takes its numbers only after ours are
        // visible: cloud_seq is gapless and commits in order, and a reader paging with
        // `after = N` never skips an event that commits late (a PostgreSQL sequence would).
        // Taken last, after every check, so the lock is held for the insert and commit only.
        let n = rows.len() as i64;
        let last: i64 = sqlx::query_scalar("UPDATE cloud_counter SET last = last + $1 RETURNING last")
            .bind(n)
            .fetch_one(&mut *tx)
            .await?;
        insert_events(&mut tx, last - n + 1, &rows).await?;
    }
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
    sqlx::query("UPDATE devices SET last_seq = $2, last_contact_at = now() WHERE id = $1")
        .bind(&who.device_id)
        .bind(plan.last_seq)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Answer {
        accepted: plan.accepted,
        duplicates: plan.duplicates,
        holes: plan.holes,
        device_last_seq: plan.last_seq,
    })
}

/// One multi-row INSERT of envelopes numbered from `first_cloud_seq`.
pub async fn insert_events(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    first_cloud_seq: i64,
    rows: &[&Envelope],
) -> Result<(), sqlx::Error> {
    let cloud_seq: Vec<i64> = (0..rows.len() as i64).map(|i| first_cloud_seq + i).collect();
    sqlx::query(
        "INSERT INTO events (cloud_seq, id, device_id, device_seq, type, schema_version, aggregate_type,
                             aggregate_id, occurred_at, tenant_id, branch_id, actor_id, payload)
         SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::int[],
                              $7::text[], $8::text[], $9::timestamptz[], $10::text[], $11::text[], $12::text[],
                              $13::jsonb[])",
    )
    .bind(&cloud_seq)
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
    .bind(rows.iter().map(|e| &e.payload).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A tenant's events after `after`, in cloud_seq order.
pub async fn events_after(pool: &PgPool, tenant_id: &str, after: i64, limit: i64) -> Result<Value, CloudError> {
    let rows = sqlx::query(
        "SELECT cloud_seq, received_at, id, type, schema_version, aggregate_type, aggregate_id, occurred_at,
                tenant_id, branch_id, device_id, device_seq, actor_id, payload
         FROM events WHERE tenant_id = $1 AND cloud_seq > $2 ORDER BY cloud_seq LIMIT $3",
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
                payload: r.get(13),
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
