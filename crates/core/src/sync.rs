//! Cloud sync, the device's side of the tables (docs/SYNC.md section 5):
//! where sync stands (`sync_state`), the events still to send, and the
//! record of each answer. The engine that talks to the cloud is
//! `crates/sync`; it reads with the functions here and records each answer
//! in one transaction. Writes take a `&Transaction`; time comes from the
//! caller.
//!
//! Also the `sync.*` commands. `sync.run_now` runs a drain through the
//! [`SyncRunner`] a transport installed ([`crate::Api::set_sync_runner`]).

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit;
use crate::clock::{rfc3339, Stamp};
use crate::ctx::{Ctx, NoInput};
use crate::device::IdentityState;
use crate::error::{Error, Result};
pub use crate::sync_runner::{DrainOutcome, DrainReport, SyncRunner};
use crate::validate::{Validate, Violations};

/// The keyring secret that holds the device's bearer token.
pub const TOKEN_SECRET: &str = "sync_token";

/// Longest reason kept for a quarantined event or a failed attempt.
pub const MAX_REASON: usize = 500;

/// Quarantined events listed by `sync.status`, the oldest first.
pub const QUARANTINE_LISTED: i64 = 100;

// ---- the state -------------------------------------------------------------------

/// The `sync_state` row.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncState {
    pub endpoint: Option<String>,
    pub declared_through: i64,
    pub last_attempt_at: Option<String>,
    pub last_success_at: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    pub failures: u32,
    pub next_attempt_at: Option<String>,
    pub online: bool,
    pub halted_reason: Option<String>,
    pub halted_at: Option<String>,
}

/// Where sync stands. A device whose identity is in doubt (`device`: a
/// database opened on another computer, or restored) sends nothing either:
/// it reads as halted, with what the owner must do as the reason.
pub fn state(conn: &Connection) -> Result<SyncState> {
    let mut state = stored_state(conn)?;
    if state.halted_reason.is_none() {
        if let Some(identity) = crate::device::identity(conn)?.filter(|i| i.state != IdentityState::Ok) {
            state.halted_reason = Some(format!(
                "This device's identity is {}: nothing is sent until the owner acts. {}",
                identity.state.as_str(),
                identity.what_to_do
            ));
            state.halted_at = identity.since;
        }
    }
    Ok(state)
}

fn stored_state(conn: &Connection) -> Result<SyncState> {
    Ok(conn
        .prepare_cached(
            "SELECT endpoint, declared_through, last_attempt_at, last_success_at, last_error, last_error_at,
                    failures, next_attempt_at, online, halted_reason, halted_at
             FROM sync_state WHERE id = 1",
        )?
        .query_row([], |r| {
            Ok(SyncState {
                endpoint: r.get(0)?,
                declared_through: r.get(1)?,
                last_attempt_at: r.get(2)?,
                last_success_at: r.get(3)?,
                last_error: r.get(4)?,
                last_error_at: r.get(5)?,
                failures: r.get::<_, i64>(6)?.clamp(0, i64::from(u32::MAX)) as u32,
                next_attempt_at: r.get(7)?,
                online: r.get(8)?,
                halted_reason: r.get(9)?,
                halted_at: r.get(10)?,
            })
        })?)
}

// ---- what to send next -------------------------------------------------------------

/// An event not yet at the cloud: its envelope's fields as stored, the
/// payload as its stored JSON text (the engine splices it into the batch
/// unparsed; [`crate::outbox::EventEnvelope`] serializes to the same bytes).
#[derive(Debug, Clone, PartialEq)]
pub struct OutstandingEvent {
    pub id: String,
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
    /// `outbox.payload`: the JSON text stored when the event was appended.
    pub payload: String,
}

/// An event not yet at the cloud.
#[derive(Debug, Clone, PartialEq)]
pub struct Outstanding {
    pub event: OutstandingEvent,
    /// Refused by the cloud; waits for the owner.
    pub quarantined: bool,
}

/// What the planner (`crates/sync`) decides the next batch from.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchInput {
    pub device_id: String,
    pub declared_through: i64,
    /// Holes already declared that may be filled now (released, or no longer
    /// held), ascending by `device_seq`.
    pub fills: Vec<Outstanding>,
    /// The events after `declared_through`, ascending by `device_seq`.
    pub pending: Vec<Outstanding>,
    /// Records with a quarantined event among the declared holes: their
    /// later events are held.
    pub blocked: Vec<(String, String)>,
}

const OUTSTANDING_COLUMNS: &str = "id, type, schema_version, aggregate_type, aggregate_id, occurred_at, tenant_id,
     branch_id, device_id, device_seq, actor_id, payload, quarantined_at IS NOT NULL";

fn outstanding_row(r: &rusqlite::Row) -> rusqlite::Result<Outstanding> {
    Ok(Outstanding {
        event: OutstandingEvent {
            id: r.get(0)?,
            event_type: r.get(1)?,
            schema_version: r.get(2)?,
            aggregate_type: r.get(3)?,
            aggregate_id: r.get(4)?,
            occurred_at: r.get(5)?,
            tenant_id: r.get(6)?,
            branch_id: r.get(7)?,
            device_id: r.get(8)?,
            device_seq: r.get(9)?,
            actor_id: r.get(10)?,
            payload: r.get(11)?,
        },
        quarantined: r.get(12)?,
    })
}

/// The next batch's input: at most `limit` fills and `limit` pending events.
pub fn batch_input(conn: &Connection, limit: usize) -> Result<BatchInput> {
    let device_id = device_id(conn)?;
    let declared_through = state(conn)?.declared_through;
    let fills = conn
        .prepare_cached(&format!(
            "SELECT {OUTSTANDING_COLUMNS} FROM outbox o
             WHERE synced_at IS NULL AND device_seq <= ?1 AND quarantined_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM outbox q
                               WHERE q.quarantined_at IS NOT NULL AND q.synced_at IS NULL
                                 AND q.aggregate_type = o.aggregate_type AND q.aggregate_id = o.aggregate_id
                                 AND q.device_seq < o.device_seq)
             ORDER BY device_seq LIMIT ?2"
        ))?
        .query_map(params![declared_through, clamp_limit(limit)], outstanding_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let pending = pending_after(conn, declared_through, limit)?;
    let blocked = conn
        .prepare_cached(
            "SELECT DISTINCT aggregate_type, aggregate_id FROM outbox
             WHERE quarantined_at IS NOT NULL AND synced_at IS NULL AND device_seq <= ?1",
        )?
        .query_map([declared_through], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(BatchInput { device_id, declared_through, fills, pending, blocked })
}

fn clamp_limit(limit: usize) -> i64 {
    limit.min(100_000) as i64
}

/// This database's device id.
pub fn device_id(conn: &Connection) -> Result<String> {
    conn.prepare_cached("SELECT id FROM device")?
        .query_row([], |r| r.get(0))
        .optional()?
        .ok_or_else(|| Error::Internal("device not set up".into()))
}

/// The events not yet at the cloud after number `after`, ascending by
/// `device_seq`, at most `limit`: a batch input's `pending`. The engine also
/// reads them ahead, after the batch in flight, to build the next batch
/// while the cloud answers (`crates/sync`).
pub fn pending_after(conn: &Connection, after: i64, limit: usize) -> Result<Vec<Outstanding>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {OUTSTANDING_COLUMNS} FROM outbox
             WHERE synced_at IS NULL AND device_seq > ?1 ORDER BY device_seq LIMIT ?2"
        ))?
        .query_map(params![after, clamp_limit(limit)], outstanding_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

// ---- recording answers -----------------------------------------------------------

fn clip(text: &str) -> String {
    if text.len() <= MAX_REASON {
        return text.to_string();
    }
    let mut end = MAX_REASON;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The cloud took a batch: marks the delivered events (`synced_at`), moves
/// `declared_through` up to `through` (the batch's last number, event or
/// hole), records the success and clears the failures. Answers how many
/// events were newly marked.
pub fn record_delivery_tx(tx: &Transaction, delivered: &[String], through: i64, now: DateTime<Utc>) -> Result<u64> {
    let at = rfc3339(now);
    let mut marked = 0u64;
    {
        let mut mark = tx.prepare_cached("UPDATE outbox SET synced_at = ?2 WHERE id = ?1 AND synced_at IS NULL")?;
        for id in delivered {
            marked += mark.execute(params![id, at])? as u64;
        }
    }
    tx.prepare_cached(
        "UPDATE sync_state SET declared_through = MAX(declared_through, ?1), last_attempt_at = ?2,
                last_success_at = ?2, failures = 0, next_attempt_at = NULL, online = 1
         WHERE id = 1",
    )?
    .execute(params![through.max(0), at])?;
    Ok(marked)
}

/// The cloud took all of a batch that was every pending event numbered
/// after `after` through `through` (a plain batch, see the sync crate):
/// marks them with one statement instead of one per id, and records the
/// success as [`record_delivery_tx`] does. Answers None, having changed
/// nothing, when the pending events in that range are not exactly
/// `expected` (the caller then records by id).
pub fn record_run_delivery_tx(
    tx: &Transaction,
    after: i64,
    through: i64,
    expected: u64,
    now: DateTime<Utc>,
) -> Result<Option<u64>> {
    let pending: i64 = tx
        .prepare_cached("SELECT count(*) FROM outbox WHERE synced_at IS NULL AND device_seq > ?1 AND device_seq <= ?2")?
        .query_row(params![after, through], |r| r.get(0))?;
    if pending as u64 != expected {
        return Ok(None);
    }
    let at = rfc3339(now);
    let marked = tx
        .prepare_cached(
            "UPDATE outbox SET synced_at = ?3 WHERE synced_at IS NULL AND device_seq > ?1 AND device_seq <= ?2",
        )?
        .execute(params![after, through, at])? as u64;
    Ok(Some(marked + record_delivery_tx(tx, &[], through, now)?))
}

/// An attempt failed (no answer, 5xx, 429, 401 …): the error, one more
/// failure, and no new attempt before `next_attempt_at`. `reached` says
/// whether the cloud answered at all (online).
pub fn record_failure_tx(
    tx: &Transaction,
    error: &str,
    next_attempt_at: DateTime<Utc>,
    reached: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    let at = rfc3339(now);
    tx.prepare_cached(
        "UPDATE sync_state SET last_attempt_at = ?1, last_error = ?2, last_error_at = ?1,
                failures = failures + 1, next_attempt_at = ?3, online = ?4
         WHERE id = 1",
    )?
    .execute(params![at, clip(error), rfc3339(next_attempt_at), reached])?;
    Ok(())
}

/// The cloud refused one event: it keeps `reason` and is sent as a hole
/// from now on. Answers false when the event is unknown or already delivered.
pub fn quarantine_tx(tx: &Transaction, event_id: &str, reason: &str, now: DateTime<Utc>) -> Result<bool> {
    let at = rfc3339(now);
    let changed = tx
        .prepare_cached(
            "UPDATE outbox SET quarantined_at = ?2, quarantine_reason = ?3 WHERE id = ?1 AND synced_at IS NULL",
        )?
        .execute(params![event_id, at, clip(reason)])?;
    tx.prepare_cached(
        "UPDATE sync_state SET last_attempt_at = ?1, last_error = ?2, last_error_at = ?1, online = 1 WHERE id = 1",
    )?
    .execute(params![at, clip(&format!("event {event_id} quarantined: {reason}"))])?;
    Ok(changed == 1)
}

/// The cloud expects `expected_seq` next (`sequence_gap`): the next batch
/// starts there, and this device's events from there on that were marked
/// delivered are sent again (the cloud does not hold them).
pub fn resume_from_tx(tx: &Transaction, expected_seq: i64, now: DateTime<Utc>) -> Result<()> {
    let expected_seq = expected_seq.max(1);
    tx.prepare_cached(
        "UPDATE outbox SET synced_at = NULL
         WHERE device_seq >= ?1 AND synced_at IS NOT NULL AND device_id = (SELECT id FROM device)",
    )?
    .execute([expected_seq])?;
    tx.prepare_cached(
        "UPDATE sync_state SET declared_through = ?1, last_attempt_at = ?2, online = 1, next_attempt_at = NULL
         WHERE id = 1",
    )?
    .execute(params![expected_seq - 1, rfc3339(now)])?;
    Ok(())
}

/// The cloud holds one of this device's numbers with another event
/// (`sequence_reused`): sync stops, and the device's identity is a
/// `conflict` (no number is issued), until the owner gives it a new
/// identity (docs/SYNC.md section 6).
pub fn halt_tx(tx: &Transaction, stamp: &Stamp, reason: &str) -> Result<()> {
    let at = stamp.at();
    tx.prepare_cached(
        "UPDATE sync_state SET halted_reason = ?2, halted_at = ?1, last_attempt_at = ?1, last_error = ?2,
                last_error_at = ?1, online = 1
         WHERE id = 1",
    )?
    .execute(params![at, clip(reason)])?;
    crate::device::doubt_tx(tx, stamp, crate::device::Doubt::Conflict, &clip(reason))?;
    Ok(())
}

// ---- sync.status -------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct QuarantinedEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub device_seq: i64,
    pub occurred_at: String,
    pub quarantined_at: String,
    pub reason: String,
}

/// Who this device is, so the owner can register it at the cloud.
#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct SyncDevice {
    pub device_id: String,
    pub tenant_id: String,
    pub branch_id: String,
    pub series_letter: String,
}

/// Where sync stands. Holds no secret (any staff sees it).
#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct SyncStatus {
    /// An endpoint is set (the token is in the keyring).
    pub configured: bool,
    pub endpoint: Option<String>,
    /// The last attempt reached the cloud.
    pub online: bool,
    /// Events not yet at the cloud, quarantined ones excluded.
    pub backlog: i64,
    /// When the oldest of them happened.
    pub oldest_pending_at: Option<String>,
    pub last_attempt_at: Option<String>,
    pub last_success_at: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    /// Consecutive failed attempts.
    pub failures: u32,
    pub next_attempt_at: Option<String>,
    /// Set when sync stopped for an identity conflict: the owner must act.
    pub halted_reason: Option<String>,
    pub halted_at: Option<String>,
    /// How many events are quarantined, and the oldest of them.
    pub quarantined_count: i64,
    pub quarantined: Vec<QuarantinedEvent>,
    pub device: SyncDevice,
}

pub fn status(conn: &Connection) -> Result<SyncStatus> {
    let s = state(conn)?;
    let device = conn
        .query_row("SELECT id, tenant_id, branch_id, series_letter FROM device", [], |r| {
            Ok(SyncDevice {
                device_id: r.get(0)?,
                tenant_id: r.get(1)?,
                branch_id: r.get(2)?,
                series_letter: r.get(3)?,
            })
        })
        .optional()?
        .ok_or_else(|| Error::Internal("device not set up".into()))?;
    let (backlog, oldest_pending_at): (i64, Option<String>) = conn
        .prepare_cached(
            "SELECT COUNT(*), (SELECT occurred_at FROM outbox WHERE synced_at IS NULL AND quarantined_at IS NULL
                               ORDER BY device_seq LIMIT 1)
             FROM outbox WHERE synced_at IS NULL AND quarantined_at IS NULL",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let quarantined_count: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM outbox WHERE quarantined_at IS NOT NULL AND synced_at IS NULL")?
        .query_row([], |r| r.get(0))?;
    let quarantined = conn
        .prepare_cached(
            "SELECT id, type, aggregate_type, aggregate_id, device_seq, occurred_at, quarantined_at,
                    COALESCE(quarantine_reason, '')
             FROM outbox WHERE quarantined_at IS NOT NULL AND synced_at IS NULL ORDER BY device_seq LIMIT ?1",
        )?
        .query_map([QUARANTINE_LISTED], |r| {
            Ok(QuarantinedEvent {
                id: r.get(0)?,
                event_type: r.get(1)?,
                aggregate_type: r.get(2)?,
                aggregate_id: r.get(3)?,
                device_seq: r.get(4)?,
                occurred_at: r.get(5)?,
                quarantined_at: r.get(6)?,
                reason: r.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(SyncStatus {
        configured: s.endpoint.is_some(),
        endpoint: s.endpoint,
        online: s.online,
        backlog,
        oldest_pending_at,
        last_attempt_at: s.last_attempt_at,
        last_success_at: s.last_success_at,
        last_error: s.last_error,
        last_error_at: s.last_error_at,
        failures: s.failures,
        next_attempt_at: s.next_attempt_at,
        halted_reason: s.halted_reason,
        halted_at: s.halted_at,
        quarantined_count,
        quarantined,
        device,
    })
}

/// `sync.status` (any staff).
pub fn status_cmd(ctx: &mut Ctx, _input: NoInput) -> Result<SyncStatus> {
    status(ctx.conn())
}

// ---- sync.configure ------------------------------------------------------------------

/// Longest endpoint accepted.
pub const MAX_ENDPOINT: usize = 2000;

/// Checks a cloud endpoint and answers it without a trailing `/`: an
/// absolute `https://` URL, or `http://` to this computer only (127.0.0.0/8,
/// `::1`, `localhost`); no user name, query or fragment.
pub fn check_endpoint(raw: &str) -> std::result::Result<String, String> {
    let url = raw.trim();
    if url.is_empty() {
        return Err("is required".into());
    }
    if url.len() > MAX_ENDPOINT {
        return Err(format!("must be at most {MAX_ENDPOINT} characters"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must be a URL without spaces".into());
    }
    let (scheme, rest) = url.split_once("://").ok_or("must be a URL such as https://cloud.example.com")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err("must start with https:// (or http:// to this computer)".into());
    }
    if rest.contains(['?', '#']) {
        return Err("must not have a query or fragment".into());
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return Err("must not hold a user name or password (the token goes in the token field)".into());
    }
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        let (h, after) = inner.split_once(']').ok_or("has a malformed IPv6 address")?;
        if h.is_empty() || !h.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.') {
            return Err("has a malformed IPv6 address".into());
        }
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or("has a malformed port")?),
        };
        (h.to_ascii_lowercase(), port)
    } else {
        let (h, port) = match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if h.is_empty() || h.len() > 253 || !h.trim_end_matches('.').split('.').all(label_ok) {
            return Err("has no valid host name".into());
        }
        (h.trim_end_matches('.').to_ascii_lowercase(), port)
    };
    if let Some(p) = port {
        if p.is_empty()
            || !p.chars().all(|c| c.is_ascii_digit())
            || p.parse::<u32>().map_or(true, |n| n == 0 || n > 65535)
        {
            return Err("has a malformed port (1 to 65535)".into());
        }
    }
    if path.contains("//") || path.split('/').any(|seg| seg == ".." || seg == ".") {
        return Err("has a malformed path".into());
    }
    if scheme == "http" && !is_loopback(&host) {
        return Err(
            "must use https:// (plain http:// is allowed only to this computer: 127.0.0.1, ::1, localhost)".into()
        );
    }
    let port = port.map(|p| format!(":{p}")).unwrap_or_default();
    let host = if host.contains(':') { format!("[{host}]") } else { host };
    Ok(format!("{scheme}://{host}{port}{}", path.trim_end_matches('/')))
}

/// 127.0.0.0/8, ::1 (any spelling) and localhost.
fn is_loopback(host: &str) -> bool {
    if host == "localhost" {
        return true;
    }
    if let Ok(v4) = host.parse::<std::net::Ipv4Addr>() {
        return v4.is_loopback();
    }
    if let Ok(v6) = host.parse::<std::net::Ipv6Addr>() {
        return v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback());
    }
    false
}

#[derive(Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct ConfigureInput {
    /// The cloud's base URL: https, or http to this computer.
    pub endpoint: String,
    /// The device's bearer token (`pitlane-cloud device add`); kept in the OS keyring.
    pub token: String,
}

impl std::fmt::Debug for ConfigureInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigureInput").field("endpoint", &self.endpoint).field("token", &"<redacted>").finish()
    }
}

impl Validate for ConfigureInput {
    fn validate(&self, v: &mut Violations) {
        if let Err(message) = check_endpoint(&self.endpoint) {
            v.add("endpoint", message);
        }
        let token = self.token.trim();
        if token.is_empty() {
            v.add("token", "is required");
        } else if token.len() > 4096 {
            v.add("token", "must be at most 4096 bytes");
        } else if token.chars().any(|c| c.is_control() || c.is_whitespace()) {
            v.add("token", "must not contain spaces or control characters");
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct ConfigureOutput {
    pub endpoint: String,
}

/// `sync.configure` (owner): the endpoint in `sync_state`, the token in the
/// keyring. The next attempt is at once (failures and backoff cleared). The
/// audit entry names the endpoint, never the token.
pub fn configure_cmd(ctx: &mut Ctx, input: ConfigureInput) -> Result<ConfigureOutput> {
    let endpoint = check_endpoint(&input.endpoint).map_err(|m| Error::field("endpoint", m))?;
    let Some(store) = ctx.secrets.clone() else {
        return Err(crate::secrets::refused(crate::keyring::SecretError::NoKeyring(
            "this build has no keyring".into(),
        )));
    };
    let key = crate::secrets::scoped(ctx.conn(), TOKEN_SECRET)?;
    store.set(&key, input.token.trim()).map_err(crate::secrets::refused)?;
    ctx.write(|tx, stamp| {
        tx.execute(
            "UPDATE sync_state SET endpoint = ?1, failures = 0, next_attempt_at = NULL WHERE id = 1",
            [&endpoint],
        )?;
        audit::record_tx(tx, stamp, "sync.configure", "sync", None, json!({ "endpoint": endpoint }))
    })?;
    Ok(ConfigureOutput { endpoint })
}

// ---- sync.retry_quarantined -----------------------------------------------------------

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct RetryQuarantinedInput {
    pub event_id: String,
}

impl Validate for RetryQuarantinedInput {
    fn validate(&self, v: &mut Violations) {
        v.required("event_id", &self.event_id, 100);
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct RetryQuarantinedOutput {
    pub event_id: String,
}

/// `sync.retry_quarantined` (owner): the event leaves quarantine and is sent
/// again at the next attempt, filling its hole, with the events held behind
/// it. 404 for an unknown event, 409 `not_quarantined` when it is not.
pub fn retry_quarantined_cmd(ctx: &mut Ctx, input: RetryQuarantinedInput) -> Result<RetryQuarantinedOutput> {
    let id = input.event_id.trim().to_string();
    ctx.write(|tx, stamp| {
        let quarantined: Option<(bool, Option<String>)> = tx
            .prepare_cached(
                "SELECT quarantined_at IS NOT NULL AND synced_at IS NULL, quarantine_reason FROM outbox WHERE id = ?1",
            )?
            .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let reason = match quarantined {
            None => return Err(Error::not_found("event", &id)),
            Some((false, _)) => {
                return Err(Error::conflict(
                    "not_quarantined",
                    "This event is not quarantined: there is nothing to retry.",
                    json!({ "event_id": id }),
                ))
            }
            Some((true, reason)) => reason,
        };
        tx.execute("UPDATE outbox SET quarantined_at = NULL, quarantine_reason = NULL WHERE id = ?1", [&id])?;
        tx.execute("UPDATE sync_state SET next_attempt_at = NULL WHERE id = 1", [])?;
        audit::record_tx(
            tx,
            stamp,
            "sync.retry_quarantined",
            "event",
            Some(&id),
            json!({ "reason": reason.unwrap_or_default() }),
        )
    })?;
    Ok(RetryQuarantinedOutput { event_id: id })
}

// ---- sync.run_now ------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct RunNowOutput {
    pub drain: DrainReport,
    pub status: SyncStatus,
}

/// `sync.run_now` (owner): one drain now, then the status. The command's
/// hold on the database is released while the drain talks to the cloud.
/// 409 `sync_unavailable` when this front end runs no sync engine.
pub fn run_now_cmd(ctx: &mut Ctx, _input: NoInput) -> Result<RunNowOutput> {
    let Some(runner) = ctx.sync_runner.clone() else {
        return Err(Error::conflict(
            "sync_unavailable",
            "This program has no sync engine: run `pitlane sync`, or use the desktop app.",
            json!({}),
        ));
    };
    let drain = ctx.released(|| runner.drain());
    Ok(RunNowOutput { drain, status: status(ctx.conn())? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_accepted_and_refused() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("https with a host", "https://cloud.example.com", Some("https://cloud.example.com")),
            ("a trailing slash is dropped", "https://cloud.example.com/", Some("https://cloud.example.com")),
            (
                "a path and a port",
                "https://Cloud.Example.com:8443/pitlane/",
                Some("https://cloud.example.com:8443/pitlane"),
            ),
            ("http to 127.0.0.1", "http://127.0.0.1:8080", Some("http://127.0.0.1:8080")),
            ("http to 127.9.9.9", "http://127.9.9.9", Some("http://127.9.9.9")),
            ("http to localhost", "http://localhost:9000", Some("http://localhost:9000")),
            ("http to ::1", "http://[::1]:8080", Some("http://[::1]:8080")),
            ("https to an IPv6 address", "https://[2001:db8::1]", Some("https://[2001:db8::1]")),
            ("http to another computer", "http://cloud.example.com", None),
            ("http to a LAN address", "http://192.168.1.10:8080", None),
            ("http to a name that starts like loopback", "http://127.0.0.1.evil.com", None),
            ("http to localhost's look-alike", "http://localhost.evil.com", None),
            ("no scheme", "cloud.example.com", None),
            ("ftp", "ftp://cloud.example.com", None),
            ("empty", "  ", None),
            ("no host", "https://", None),
            ("a user name", "https://user:pw@cloud.example.com", None),
            ("a query", "https://cloud.example.com/?a=1", None),
            ("a space", "https://cloud example.com", None),
            ("port zero", "https://cloud.example.com:0", None),
            ("port too high", "https://cloud.example.com:70000", None),
            ("port not a number", "https://cloud.example.com:http", None),
            ("a bad host label", "https://-cloud.example.com", None),
            ("a malformed IPv6 address", "http://[::1", None),
            ("dot segments", "https://cloud.example.com/../x", None),
        ];
        for (scenario, input, want) in cases {
            let got = check_endpoint(input);
            assert_eq!(got.as_deref().ok(), *want, "{scenario}: {input} gave {got:?}");
        }
    }

    #[test]
    fn long_reasons_are_clipped_on_a_character_boundary() {
        let long = "é".repeat(400);
        let clipped = clip(&long);
        assert!(clipped.len() <= MAX_REASON + 3, "clipped to the limit plus the ellipsis");
        assert!(clipped.ends_with('…'));
        assert_eq!(clip("short"), "short");
    }
}
