//! The audit log: who did what, when. Append-only (triggers refuse UPDATE and
//! DELETE) and hash-chained: each entry's hash covers its own fields and the
//! previous entry's hash, so `verify` finds an edited, inserted or removed row.
//! Details hold ids and field names, never personal data.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::clock::Stamp;
use crate::error::Result;

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct AuditEntry {
    pub seq: i64,
    pub id: String,
    pub at: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub details: Value,
}

#[allow(clippy::too_many_arguments)]
fn entry_hash(
    prev: &str,
    id: &str,
    at: &str,
    actor: Option<&str>,
    action: &str,
    entity_type: &str,
    entity_id: Option<&str>,
    details: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [prev, id, at, actor.unwrap_or(""), action, entity_type, entity_id.unwrap_or(""), details] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Appends an entry inside the caller's transaction.
pub fn record_tx(
    tx: &Transaction,
    stamp: &Stamp,
    action: &str,
    entity_type: &str,
    entity_id: Option<&str>,
    details: Value,
) -> Result<()> {
    let prev: String = tx
        .prepare_cached("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| r.get(0))
        .optional()?
        .unwrap_or_else(|| GENESIS.to_string());
    let id = stamp.new_id();
    let at = stamp.at();
    let details = details.to_string();
    let hash = entry_hash(&prev, &id, &at, stamp.actor_id, action, entity_type, entity_id, &details);
    tx.prepare_cached(
        "INSERT INTO audit_log (id, at, actor_id, action, entity_type, entity_id, details, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![id, at, stamp.actor_id, action, entity_type, entity_id, details, prev, hash])?;
    Ok(())
}

#[derive(Debug, Serialize, PartialEq, ts_rs::TS)]
pub struct Verification {
    pub ok: bool,
    pub entries_checked: i64,
    /// The first entry whose hash or link does not hold.
    pub broken_at_seq: Option<i64>,
    pub broken_entry_id: Option<String>,
    pub reason: Option<String>,
}

/// Walks the whole chain and reports the first row that does not hold.
pub fn verify(conn: &Connection) -> Result<Verification> {
    let mut stmt = conn.prepare(
        "SELECT seq, id, at, actor_id, action, entity_type, entity_id, details, prev_hash, hash
         FROM audit_log ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut prev = GENESIS.to_string();
    let mut checked = 0;
    let mut expected_seq = None;
    while let Some(r) = rows.next()? {
        let seq: i64 = r.get(0)?;
        let id: String = r.get(1)?;
        let fail = |reason: &str| Verification {
            ok: false,
            entries_checked: checked,
            broken_at_seq: Some(seq),
            broken_entry_id: Some(id.clone()),
            reason: Some(reason.to_string()),
        };
        if let Some(e) = expected_seq {
            if seq != e {
                return Ok(fail("entries are missing before this one"));
            }
        }
        let stored_prev: String = r.get(8)?;
        if stored_prev != prev {
            return Ok(fail("does not link to the entry before it"));
        }
        let actor: Option<String> = r.get(3)?;
        let entity_id: Option<String> = r.get(6)?;
        let computed = entry_hash(
            &stored_prev,
            &id,
            &r.get::<_, String>(2)?,
            actor.as_deref(),
            &r.get::<_, String>(4)?,
            &r.get::<_, String>(5)?,
            entity_id.as_deref(),
            &r.get::<_, String>(7)?,
        );
        let stored: String = r.get(9)?;
        if computed != stored {
            return Ok(fail("its content does not match its hash"));
        }
        prev = stored;
        checked += 1;
        expected_seq = Some(seq + 1);
    }
    Ok(Verification { ok: true, entries_checked: checked, broken_at_seq: None, broken_entry_id: None, reason: None })
}

/// Newest first, optionally only one entity's entries.
pub fn list(
    conn: &Connection,
    entity_id: Option<&str>,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, id, at, actor_id, action, entity_type, entity_id, details FROM audit_log
         WHERE (?1 IS NULL OR entity_id = ?1) AND (?2 IS NULL OR seq < ?2)
         ORDER BY seq DESC LIMIT ?3",
    )?;
    let rows = stmt
        .query_map(params![entity_id, before_seq, limit], |r| {
            let details: String = r.get(7)?;
            Ok(AuditEntry {
                seq: r.get(0)?,
                id: r.get(1)?,
                at: r.get(2)?,
                actor_id: r.get(3)?,
                action: r.get(4)?,
                entity_type: r.get(5)?,
                entity_id: r.get(6)?,
                details: serde_json::from_str(&details).unwrap_or(Value::String(details)),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
