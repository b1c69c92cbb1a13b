//! One device, one identity (docs/SYNC.md section 6). A device's id, series
//! letter and event sequence are its identity at the cloud and on paper; a
//! database file copied to another computer, or an older backup restored,
//! would send event numbers the cloud already holds and issue invoice and job
//! card numbers already issued. So the device records the computer it belongs
//! to (a fingerprint checked at every open), and while its identity is in
//! doubt (`moved`, `restored`, `conflict`) `numbers` takes no number and sync
//! sends nothing. Everything else goes on; its events wait. The way out is
//! the owner's: [`confirm_move_cmd`] (only from `moved`) or
//! [`new_identity::new_identity_cmd`].

pub mod new_identity;

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;
use serde_json::json;

use crate::audit;
use crate::clock::Stamp;
use crate::ctx::{Ctx, NoInput};
use crate::error::{Error, Result};
use crate::seen;

pub use crate::host::HostFingerprint;
pub use new_identity::{new_identity_cmd, NewIdentityInput, NewIdentityOutput};

/// Whether this database may speak as its device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
#[ts(rename = "DeviceIdentityState")]
pub enum IdentityState {
    /// The device is what it says it is.
    Ok,
    /// Opened on another computer than the one it belongs to.
    Moved,
    /// Brought back from a backup by `backup.restore`, or opened older
    /// than this computer last saw it (the seen mark, [`crate::seen`]).
    Restored,
    /// The cloud already holds this device's event numbers with other events
    /// (`sequence_reused`): another copy of this database spoke first.
    Conflict,
}

impl IdentityState {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityState::Ok => "ok",
            IdentityState::Moved => "moved",
            IdentityState::Restored => "restored",
            IdentityState::Conflict => "conflict",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "ok" => IdentityState::Ok,
            "moved" => IdentityState::Moved,
            "restored" => IdentityState::Restored,
            "conflict" => IdentityState::Conflict,
            other => return Err(Error::Internal(format!("unknown identity state {other}"))),
        })
    }

    /// What the owner does about it, in a sentence; empty when `ok`.
    pub fn what_to_do(self) -> &'static str {
        match self {
            IdentityState::Ok => "",
            IdentityState::Moved => {
                "This database was opened on another computer than the one it belongs to. If this is the same till moved to a new computer and the old one is no longer used, the owner confirms the move (pitlane device confirm-move). If the database was copied and the other copy is still in use, the owner gives this one a new identity with a series letter no other till uses (pitlane device new-identity --series-letter B)."
            }
            IdentityState::Restored => {
                "This database was restored from a backup (or is an older copy than this computer last used), so the invoice and job card numbers and the event numbers after the backup may already have been used. The owner gives it a new identity with a series letter no other till uses (pitlane device new-identity --series-letter B), then registers the new device at the cloud and configures its token."
            }
            IdentityState::Conflict => {
                "The cloud already holds this device's event numbers with other events: another copy of this database (a copied file or an older backup) has been sending as this device. The owner gives this copy a new identity with a series letter no other till uses (pitlane device new-identity --series-letter B), then registers the new device at the cloud (pitlane-cloud device add) and configures its token (sync.configure)."
            }
        }
    }
}

/// Something that puts a device's identity in doubt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doubt {
    /// Opened on another computer.
    Moved,
    /// `backup.restore` replaced the database, or it is older than its
    /// seen mark.
    Restored,
    /// The cloud answered `sequence_reused`.
    Conflict,
}

/// The state after `doubt` arrives in `current`. Pure: the whole rule.
/// A state in doubt never clears itself; `conflict` is the strongest (the
/// cloud has seen it), `restored` next (only a new identity helps), `moved`
/// the weakest (the owner may confirm the move).
pub fn next_state(current: IdentityState, doubt: Doubt) -> IdentityState {
    use IdentityState as S;
    match (current, doubt) {
        (S::Conflict, _) | (_, Doubt::Conflict) => S::Conflict,
        (_, Doubt::Restored) => S::Restored,
        (S::Ok, Doubt::Moved) => S::Moved,
        (state, Doubt::Moved) => state,
    }
}

/// What to do with the computer's fingerprint at open. Pure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtOpen {
    /// No fingerprint yet (a device set up before it was kept, or by a core
    /// without one): this computer's is recorded.
    Record,
    /// The computer the device belongs to.
    Same,
    /// Another computer.
    Moved,
}

pub fn at_open(recorded: Option<&str>, here: &str) -> AtOpen {
    match recorded {
        None => AtOpen::Record,
        Some(r) if r == here => AtOpen::Same,
        Some(_) => AtOpen::Moved,
    }
}

/// An identity this database had before its current one.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct PreviousIdentity {
    pub device_id: String,
    pub series_letter: String,
    pub replaced_by: String,
    /// The state that led to it (`moved`, `restored`, `conflict`), or
    /// `owner` when the owner chose it with nothing in doubt.
    pub reason: String,
    pub at: String,
}

/// `device.identity`: who this database speaks as, and whether it may.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct DeviceIdentity {
    pub device_id: String,
    pub tenant_id: String,
    pub branch_id: String,
    pub series_letter: String,
    pub state: IdentityState,
    /// What put it in doubt (empty when `ok`).
    pub note: String,
    /// When the state last changed.
    pub since: Option<String>,
    /// What the owner does about it (empty when `ok`).
    pub what_to_do: String,
    /// Oldest first.
    pub previous: Vec<PreviousIdentity>,
}

/// The device's identity; `None` before `setup.init`.
pub fn identity(conn: &Connection) -> Result<Option<DeviceIdentity>> {
    let row = conn
        .prepare_cached(
            "SELECT id, tenant_id, branch_id, series_letter, identity_state, identity_note, identity_changed_at
             FROM device",
        )?
        .query_row([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Option<String>>(6)?,
            ))
        })
        .optional()?;
    let Some((device_id, tenant_id, branch_id, series_letter, state, note, since)) = row else { return Ok(None) };
    let state = IdentityState::parse(&state)?;
    let previous = conn
        .prepare_cached(
            "SELECT old_device_id, old_series_letter, new_device_id, reason, at FROM device_identities ORDER BY seq",
        )?
        .query_map([], |r| {
            Ok(PreviousIdentity {
                device_id: r.get(0)?,
                series_letter: r.get(1)?,
                replaced_by: r.get(2)?,
                reason: r.get(3)?,
                at: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(DeviceIdentity {
        device_id,
        tenant_id,
        branch_id,
        series_letter,
        what_to_do: state.what_to_do().to_string(),
        state,
        note,
        since,
        previous,
    }))
}

/// The device's identity state; `Ok` before `setup.init` (there is nothing
/// to doubt yet).
pub fn state(conn: &Connection) -> Result<IdentityState> {
    let s: Option<String> =
        conn.prepare_cached("SELECT identity_state FROM device")?.query_row([], |r| r.get(0)).optional()?;
    s.map_or(Ok(IdentityState::Ok), |s| IdentityState::parse(&s))
}

/// The refusal of anything that would speak as the device (a number, a
/// sync) while its identity is in doubt: 409 `device_identity_unconfirmed`,
/// whose message says what the owner does.
pub fn unconfirmed(state: IdentityState) -> Error {
    Error::conflict(
        "device_identity_unconfirmed",
        format!(
            "No invoice or job card number can be issued until the owner settles this device's identity. {}",
            state.what_to_do()
        ),
        json!({ "state": state.as_str() }),
    )
}

/// Fails with [`unconfirmed`] unless the device's identity is `ok`.
pub fn require_ok(conn: &Connection) -> Result<()> {
    match state(conn)? {
        IdentityState::Ok => Ok(()),
        s => Err(unconfirmed(s)),
    }
}

/// Puts the device's identity in doubt (in the caller's transaction, with
/// an audit entry when the state changes). Answers the new state.
pub fn doubt_tx(tx: &Transaction, stamp: &Stamp, doubt: Doubt, note: &str) -> Result<IdentityState> {
    let Some(current) =
        tx.prepare_cached("SELECT identity_state FROM device")?.query_row([], |r| r.get::<_, String>(0)).optional()?
    else {
        return Ok(IdentityState::Ok); // not set up: nothing to doubt
    };
    let current = IdentityState::parse(&current)?;
    let next = next_state(current, doubt);
    if next == current && doubt != Doubt::Restored {
        return Ok(current);
    }
    tx.prepare_cached("UPDATE device SET identity_state = ?1, identity_note = ?2, identity_changed_at = ?3")?
        .execute(params![next.as_str(), note, stamp.at()])?;
    audit::record_tx(
        tx,
        stamp,
        "device.identity_doubted",
        "device",
        None,
        json!({ "from": current.as_str(), "to": next.as_str(), "note": note }),
    )?;
    tracing::warn!(from = current.as_str(), to = next.as_str(), "device identity in doubt");
    Ok(next)
}

/// Records `host` as the computer the device belongs to.
pub fn record_host_tx(tx: &Transaction, host: Option<&HostFingerprint>) -> Result<()> {
    tx.prepare_cached("UPDATE device SET host_fingerprint = ?1")?.execute([host.map(HostFingerprint::as_str)])?;
    Ok(())
}

/// The check at every open: records the computer's fingerprint the first
/// time, and marks the device `moved` when it is another computer's.
/// Answers the state after the check (`Ok` before `setup.init`).
pub fn check_host_tx(tx: &Transaction, stamp: &Stamp, host: &HostFingerprint) -> Result<IdentityState> {
    let Some(recorded) = tx
        .prepare_cached("SELECT host_fingerprint FROM device")?
        .query_row([], |r| r.get::<_, Option<String>>(0))
        .optional()?
    else {
        return Ok(IdentityState::Ok);
    };
    match at_open(recorded.as_deref(), host.as_str()) {
        AtOpen::Record => {
            record_host_tx(tx, Some(host))?;
            state(tx)
        }
        AtOpen::Same => state(tx),
        AtOpen::Moved => doubt_tx(tx, stamp, Doubt::Moved, "opened on another computer"),
    }
}

/// The seen-mark check at open (when the runtime gave a directory): a
/// database whose highest event number is below this computer's mark for its
/// device is an older copy and becomes `restored`; otherwise the mark is
/// raised to it. Answers the state after the check (`Ok` before `setup.init`).
pub fn check_seen_tx(tx: &Transaction, stamp: &Stamp, marks: &seen::SeenMarks) -> Result<IdentityState> {
    let Some((device_id, db_seq)) = seen::highest(tx)? else { return Ok(IdentityState::Ok) };
    let mark = marks.read(&device_id);
    match seen::against_mark(db_seq, mark) {
        seen::Seen::Current => {
            marks.raise(&device_id, db_seq);
            state(tx)
        }
        seen::Seen::Older => {
            let mark = mark.unwrap_or_default();
            marks.remember(&device_id, mark);
            let current = state(tx)?;
            tracing::warn!(device_id, db_seq, mark, "database older than this computer last saw it");
            if matches!(current, IdentityState::Restored | IdentityState::Conflict) {
                return Ok(current); // already in doubt for good: not noted again at every open
            }
            let note = format!(
                "opened older than this computer last saw it: its last event number is {db_seq}, this computer saw {mark} (seen mark in {})",
                marks.dir().display()
            );
            doubt_tx(tx, stamp, Doubt::Restored, &note)
        }
    }
}

/// `device.identity` (any staff).
pub fn identity_cmd(ctx: &mut Ctx, _input: NoInput) -> Result<DeviceIdentity> {
    identity(ctx.conn())?.ok_or_else(not_set_up)
}

pub(crate) fn not_set_up() -> Error {
    Error::rule("not_set_up", "This database is not set up yet (setup.init).", json!({}))
}

/// `device.confirm_move` (owner): the database is the same till moved to a
/// new computer and the old computer no longer uses it. Only from `moved`;
/// the device keeps its id and letter, and this computer becomes its own.
/// (Should the old computer still be in use after all, the cloud's sequence
/// check catches it: `conflict`.)
pub fn confirm_move_cmd(ctx: &mut Ctx, _input: NoInput) -> Result<DeviceIdentity> {
    let host = ctx.host.clone();
    ctx.write(|tx, stamp| {
        let current = state(tx)?;
        if current != IdentityState::Moved {
            return Err(Error::conflict(
                "wrong_status",
                match current {
                    IdentityState::Ok => "This device's identity is not in doubt: there is no move to confirm.",
                    _ => "Only a move to another computer can be confirmed; this device needs a new identity (device.new_identity).",
                },
                json!({ "state": current.as_str() }),
            ));
        }
        record_host_tx(tx, host.as_ref())?;
        tx.prepare_cached("UPDATE device SET identity_state = 'ok', identity_note = '', identity_changed_at = ?1")?
            .execute([stamp.at()])?;
        audit::record_tx(tx, stamp, "device.confirm_move", "device", None, json!({}))?;
        identity(tx)?.ok_or_else(not_set_up)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use IdentityState as S;

    #[test]
    fn a_doubt_never_clears_and_the_strongest_wins() {
        let cases = [
            ("an ok device opened elsewhere is moved", S::Ok, Doubt::Moved, S::Moved),
            ("a moved device opened elsewhere again stays moved", S::Moved, Doubt::Moved, S::Moved),
            ("a restored device opened elsewhere stays restored", S::Restored, Doubt::Moved, S::Restored),
            ("a conflict opened elsewhere stays a conflict", S::Conflict, Doubt::Moved, S::Conflict),
            ("a restore of an ok device", S::Ok, Doubt::Restored, S::Restored),
            ("a restore of a moved device needs a new identity", S::Moved, Doubt::Restored, S::Restored),
            ("a restore of a backup already in conflict stays a conflict", S::Conflict, Doubt::Restored, S::Conflict),
            ("the cloud's word on an ok device", S::Ok, Doubt::Conflict, S::Conflict),
            ("the cloud's word on a moved device", S::Moved, Doubt::Conflict, S::Conflict),
            ("the cloud's word on a restored device", S::Restored, Doubt::Conflict, S::Conflict),
        ];
        for (scenario, from, doubt, to) in cases {
            assert_eq!(next_state(from, doubt), to, "{scenario}");
        }
    }

    #[test]
    fn the_fingerprint_at_open() {
        let here = HostFingerprint::of_label("till-1");
        let there = HostFingerprint::of_label("till-2");
        let cases = [
            ("first open records the computer", None, AtOpen::Record),
            ("the same computer", Some(here.as_str()), AtOpen::Same),
            ("another computer", Some(there.as_str()), AtOpen::Moved),
        ];
        for (scenario, recorded, expected) in cases {
            assert_eq!(at_open(recorded, here.as_str()), expected, "{scenario}");
        }
    }
}
