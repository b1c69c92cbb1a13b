//! `device.new_identity` (owner): the way out of a doubted identity. The
//! database becomes a new device: a new id and a new series letter, its
//! events not yet at the cloud sent again under the new id, numbered from 1
//! behind a `DeviceIdentityChanged` event that links the two ids at the cloud.

use rusqlite::{params, Connection, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{identity, not_set_up, record_host_tx, DeviceIdentity, HostFingerprint, IdentityState};
use crate::audit;
use crate::clock::Stamp;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::events;
use crate::validate::{Validate, Violations};

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct NewIdentityInput {
    /// The new device's letter in every number series: A-Z, neither the
    /// current one nor one this database used before.
    pub series_letter: String,
}

impl Validate for NewIdentityInput {
    fn validate(&self, v: &mut Violations) {
        if !is_series_letter(&self.series_letter) {
            v.add("series_letter", "must be one capital letter A-Z");
        }
    }
}

pub(crate) fn is_series_letter(s: &str) -> bool {
    s.len() == 1 && s.bytes().all(|b| b.is_ascii_uppercase())
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct NewIdentityOutput {
    pub identity: DeviceIdentity,
    pub previous_device_id: String,
    /// Events not yet at the cloud, now numbered 2.. under the new id (the
    /// `DeviceIdentityChanged` event is number 1).
    pub events_restamped: i64,
    /// Secrets copied to the new device in the keyring (the sync token is
    /// not: the new device is registered at the cloud and gets its own).
    pub secrets_copied: Vec<String>,
    pub next_steps: String,
}

/// The letters this database has used: the current one, every earlier
/// identity's, and every letter in its number series.
fn used_letters(conn: &Connection) -> Result<Vec<String>> {
    let mut letters: Vec<String> = conn
        .prepare_cached(
            "SELECT series_letter FROM device
             UNION SELECT old_series_letter FROM device_identities
             UNION SELECT new_series_letter FROM device_identities
             UNION SELECT substr(series, -1) FROM number_series",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    letters.sort();
    letters.dedup();
    Ok(letters)
}

/// Refuses a letter that is the current one or was used before (422 naming
/// `series_letter`).
fn check_letter(conn: &Connection, current: &str, letter: &str) -> Result<()> {
    if letter == current {
        return Err(Error::field(
            "series_letter",
            format!("is this device's letter already ({current}): choose another"),
        ));
    }
    let used = used_letters(conn)?;
    if used.iter().any(|l| l == letter) {
        return Err(Error::field(
            "series_letter",
            format!("was used by this database before ({}): choose one not used yet", used.join(", ")),
        ));
    }
    Ok(())
}

/// The whole change in one transaction. `new_id` is taken before (the
/// keyring entries are copied to it first).
pub fn new_identity_tx(
    tx: &Transaction,
    stamp: &Stamp,
    new_id: &str,
    letter: &str,
    host: Option<&HostFingerprint>,
) -> Result<(String, i64)> {
    let (old_id, old_letter, state): (String, String, String) = tx
        .prepare_cached("SELECT id, series_letter, identity_state FROM device")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => not_set_up(),
            e => e.into(),
        })?;
    check_letter(tx, &old_letter, letter)?;
    let state = IdentityState::parse(&state)?;
    let reason = match state {
        IdentityState::Ok => "owner",
        s => s.as_str(),
    };
    tx.prepare_cached(
        "INSERT INTO device_identities (old_device_id, new_device_id, old_series_letter, new_series_letter, reason, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![old_id, new_id, old_letter, letter, reason, stamp.at()])?;
    tx.prepare_cached(
        "UPDATE device SET id = ?1, series_letter = ?2, next_event_seq = 1, identity_state = 'ok',
                           identity_note = '', identity_changed_at = ?3",
    )?
    .execute(params![new_id, letter, stamp.at()])?;
    record_host_tx(tx, host)?;
    // Number 1 of the new device: the link to the old one.
    let link = events::append_tx(
        tx,
        stamp,
        events::kind::DeviceIdentityChanged,
        new_id,
        &events::DeviceIdentityChanged {
            previous_device_id: old_id.clone(),
            previous_series_letter: old_letter.clone(),
            series_letter: letter.to_string(),
            reason: reason.to_string(),
        },
    )?;
    // The events not yet at the cloud, in their order, numbered 2.. under the
    // new id; their ids, payloads and times stay.
    let restamped = tx
        .prepare_cached(
            "WITH pending AS (
                 SELECT id, row_number() OVER (ORDER BY device_seq, seq) AS n
                 FROM outbox WHERE synced_at IS NULL AND id <> ?2
             )
             UPDATE outbox SET device_id = ?1, device_seq = 1 + (SELECT n FROM pending WHERE pending.id = outbox.id)
             WHERE id IN (SELECT id FROM pending)",
        )?
        .execute(params![new_id, link.id])? as i64;
    tx.prepare_cached("UPDATE device SET next_event_seq = ?1")?.execute([restamped + 2])?;
    // The new device starts at the cloud from nothing: nothing declared, no
    // halt, no backoff. The endpoint stays (the same cloud); the quarantined
    // events keep their reasons and go as holes again. (`sync_state` is
    // `sync`'s table, written here because `sync` builds on `device`.)
    tx.prepare_cached(
        "UPDATE sync_state SET declared_through = 0, halted_reason = NULL, halted_at = NULL, failures = 0,
                next_attempt_at = NULL, last_error = NULL, last_error_at = NULL
         WHERE id = 1",
    )?
    .execute([])?;
    audit::record_tx(
        tx,
        stamp,
        "device.new_identity",
        "device",
        Some(new_id),
        json!({
            "previous_device_id": old_id, "previous_series_letter": old_letter, "series_letter": letter,
            "reason": reason, "events_restamped": restamped,
        }),
    )?;
    Ok((old_id, restamped))
}

/// `device.new_identity` (owner).
pub fn new_identity_cmd(ctx: &mut Ctx, input: NewIdentityInput) -> Result<NewIdentityOutput> {
    let letter = input.series_letter;
    // Refuse a bad letter before the keyring is touched.
    let current = identity(ctx.conn())?.ok_or_else(not_set_up)?;
    check_letter(ctx.conn(), &current.series_letter, &letter)?;
    let old_id = current.device_id;
    let new_id = ctx.ids.new_id();
    let copied = crate::secrets::copy_to_device(ctx.secrets.as_deref(), &old_id, &new_id)?;
    let host = ctx.host.clone();
    let (previous_device_id, events_restamped) =
        match ctx.write(|tx, stamp| new_identity_tx(tx, stamp, &new_id, &letter, host.as_ref())) {
            Ok(done) => done,
            Err(e) => {
                crate::secrets::forget_device(ctx.secrets.as_deref(), &new_id, &copied);
                return Err(e);
            }
        };
    Ok(NewIdentityOutput {
        identity: identity(ctx.conn())?.ok_or_else(not_set_up)?,
        previous_device_id,
        events_restamped,
        secrets_copied: copied,
        next_steps: format!(
            "This database is now device {new_id} with series letter {letter}. To sync it: register the new device at the cloud (pitlane-cloud device add), then configure its endpoint and token here (sync.configure). Its events wait until then."
        ),
    })
}
