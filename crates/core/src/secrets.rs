//! Secrets (the payment gateway's key, the SMTP password, the SMS
//! gateway's key, the cloud sync token) live in the OS keyring, never in the database or the logs.
//! The core knows only this trait; `crates/secrets` implements it over the
//! keyring crate. With no keyring on the computer a secret is refused with
//! a clear message: there is no plaintext fallback.

use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
pub use crate::keyring::{SecretError, SecretStore};
use crate::validate::{Validate, Violations};

/// The secrets Pitlane keeps, by name.
pub const NAMES: &[&str] = &["payment_gateway_key", "smtp_password", "sms_api_key", "sync_token"];

/// The keyring entry name of `name` on this device: two databases on one
/// computer (the demo and the real one) never share a key.
pub(crate) fn scoped(conn: &rusqlite::Connection, name: &str) -> Result<String> {
    let device: Option<String> = conn.query_row("SELECT id FROM device", [], |r| r.get(0)).optional()?;
    let device = device.ok_or_else(|| Error::Internal("device row missing".into()))?;
    Ok(key_of(&device, name))
}

/// The keyring entry name of secret `name` of device `device_id`.
fn key_of(device_id: &str, name: &str) -> String {
    format!("{device_id}/{name}")
}

/// Secrets bound to the device id at the cloud: the sync token speaks for
/// one device, so a new identity gets its own (`pitlane-cloud device add`).
pub const NOT_CARRIED: &[&str] = &["sync_token"];

/// Copies the secrets in [`NAMES`] but [`NOT_CARRIED`] of device `from` to
/// device `to` (a new identity of the same database, `device.new_identity`);
/// the entries of `from` stay (another copy of the database, even on this
/// computer, may still be `from` and use them). Answers
/// the names copied. No keyring: nothing to copy. A locked or failing
/// keyring is refused, and whatever was copied is removed again.
pub fn copy_to_device(store: Option<&dyn SecretStore>, from: &str, to: &str) -> Result<Vec<String>> {
    let Some(store) = store else { return Ok(Vec::new()) };
    let mut copied = Vec::new();
    let result = (|| {
        for name in NAMES.iter().filter(|n| !NOT_CARRIED.contains(n)) {
            match store.get(&key_of(from, name)) {
                Ok(Some(value)) => {
                    store.set(&key_of(to, name), &value)?;
                    copied.push(name.to_string());
                }
                Ok(None) => {}
                Err(SecretError::NoKeyring(_)) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(copied),
        Err(e) => {
            forget_device(Some(store), to, &copied);
            Err(refused(e))
        }
    }
}

/// Removes the secrets `names` of device `device_id` (a new identity that
/// was not made after all). Best effort.
pub fn forget_device(store: Option<&dyn SecretStore>, device_id: &str, names: &[String]) {
    if let Some(store) = store {
        for name in names {
            let _ = store.delete(&key_of(device_id, name));
        }
    }
}

pub(crate) fn refused(e: SecretError) -> Error {
    match e {
        SecretError::NoKeyring(why) => Error::rule(
            "keyring_unavailable",
            "No keyring is available on this computer. Pitlane keeps keys and passwords only in the system keyring (GNOME Keyring or KWallet, macOS Keychain, Windows Credential Manager), never in a file: set one up and try again.",
            json!({ "reason": why }),
        ),
        SecretError::Locked(why) => Error::rule(
            "keyring_locked",
            "The system keyring is locked. Unlock it (log in to the desktop session, or open the keyring and unlock it) and try again.",
            json!({ "reason": why }),
        ),
        SecretError::Failed(why) => {
            Error::rule("keyring_failed", "The system keyring refused the request.", json!({ "reason": why }))
        }
    }
}

/// Reads a secret for the core's own use (never returned by a command).
pub fn read(ctx: &Ctx, name: &str) -> Result<Option<String>> {
    read_from(ctx.conn(), ctx.secrets.as_deref(), name)
}

/// Reads a secret from `store`, scoped to the device of `conn`.
pub fn read_from(conn: &rusqlite::Connection, store: Option<&dyn SecretStore>, name: &str) -> Result<Option<String>> {
    let Some(store) = store else {
        return Err(refused(SecretError::NoKeyring("this build has no keyring".into())));
    };
    store.get(&scoped(conn, name)?).map_err(refused)
}

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct SetSecretInput {
    pub name: String,
    /// The secret; `null` removes it.
    pub value: Option<String>,
}

impl Validate for SetSecretInput {
    fn validate(&self, v: &mut Violations) {
        if !NAMES.contains(&self.name.as_str()) {
            v.add("name", format!("must be one of: {}", NAMES.join(", ")));
        }
        if let Some(value) = &self.value {
            if value.trim().is_empty() {
                v.add("value", "must not be empty (send null to remove the secret)");
            } else if value.len() > 4096 {
                v.add("value", "must be at most 4096 bytes");
            } else if value.chars().any(char::is_control) {
                v.add("value", "must not contain control characters");
            }
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct SecretState {
    pub name: String,
    /// `set`, `not_set`, `locked` (the keyring is locked), or
    /// `unavailable` (no keyring, or it failed).
    pub state: &'static str,
}

/// `settings.set_secret` (owner): stores or removes a secret in the keyring.
/// The audit entry names the secret, never its value.
pub fn set_cmd(ctx: &mut Ctx, input: SetSecretInput) -> Result<SecretState> {
    let Some(store) = ctx.secrets.clone() else {
        return Err(refused(SecretError::NoKeyring("this build has no keyring".into())));
    };
    let key = scoped(ctx.conn(), &input.name)?;
    match &input.value {
        Some(value) => store.set(&key, value.trim()).map_err(refused)?,
        None => store.delete(&key).map_err(refused)?,
    }
    let action = if input.value.is_some() { "set" } else { "removed" };
    ctx.write(|tx, stamp| {
        audit::record_tx(
            tx,
            stamp,
            "settings.set_secret",
            "secret",
            None,
            json!({ "name": input.name, "action": action }),
        )
    })?;
    Ok(SecretState { name: input.name, state: if input.value.is_some() { "set" } else { "not_set" } })
}

/// The state of every secret, for `settings.get`.
pub fn states(ctx: &Ctx) -> Result<Vec<SecretState>> {
    NAMES
        .iter()
        .map(|name| {
            let state = match (&ctx.secrets, scoped(ctx.conn(), name)) {
                (Some(store), Ok(key)) => match store.get(&key) {
                    Ok(Some(_)) => "set",
                    Ok(None) => "not_set",
                    Err(SecretError::Locked(_)) => "locked",
                    Err(_) => "unavailable",
                },
                _ => "unavailable",
            };
            Ok(SecretState { name: name.to_string(), state })
        })
        .collect()
}
