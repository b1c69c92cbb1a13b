//! What a command runs with: the connection, time, ids, the actor and the
//! outside services ([`Ctx`]). It sits below the areas: each area's
//! commands take a `Ctx`, and only `api` (the command table) knows the areas.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, Transaction};
use serde::{Deserialize, Serialize};

use crate::clock::{Clock, IdSource, Stamp};
use crate::document::InvoicePrinter;
use crate::error::{Error, Result};
use crate::gateway::{CardPolicy, GatewayConnector, PaymentGateway};
use crate::keyring::SecretStore;
use crate::roles::Role;
use crate::validate::Validate;

/// The staff member a call runs as.
#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct Actor {
    pub staff_id: String,
    pub code: String,
    pub name: String,
    pub role: Role,
}

pub(crate) struct Session {
    pub(crate) staff_id: String,
    pub(crate) last_seen: chrono::DateTime<chrono::Utc>,
}

/// Sessions end after this long without a call.
pub const SESSION_IDLE_LIMIT: chrono::Duration = chrono::Duration::hours(12);

/// A command that takes no input: `{}` (or nothing).
#[derive(Debug, Default, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct NoInput {}
impl Validate for NoInput {}

/// What a command sees: the connection, time, ids and the actor.
pub struct Ctx<'a> {
    /// Held for the whole command, except inside [`Ctx::released`].
    pub(crate) conn: Option<MutexGuard<'a, Connection>>,
    pub(crate) db: &'a Mutex<Connection>,
    pub clock: &'a dyn Clock,
    pub ids: &'a dyn IdSource,
    pub actor: Option<Actor>,
    pub(crate) api_sessions: &'a Mutex<HashMap<String, Session>>,
    pub token: Option<&'a str>,
    pub command: &'static str,
    pub(crate) fixed_gateway: Option<Arc<dyn PaymentGateway>>,
    pub(crate) connector: Option<Arc<GatewayConnector>>,
    pub secrets: Option<Arc<dyn SecretStore>>,
    pub printer: Option<Arc<dyn InvoicePrinter>>,
    pub(crate) db_path: Option<PathBuf>,
    pub card_policy: CardPolicy,
    /// What `sync.run_now` drains with (none: this front end has no engine).
    pub(crate) sync_runner: Option<Arc<dyn crate::sync_runner::SyncRunner>>,
    /// When the settlement pass running in this context must stop asking
    /// the gateway (`payments::card::ask` clips each call to it).
    pub(crate) deadline: Option<std::time::Instant>,
    /// The computer this core runs on, when known (`device`).
    pub(crate) host: Option<crate::host::HostFingerprint>,
    /// Where the seen marks are kept, when the runtime said (`seen`).
    pub(crate) seen: Option<Arc<crate::seen::SeenMarks>>,
}

const HELD: &str = "the connection is held outside Ctx::released";

impl Ctx<'_> {
    pub fn conn(&self) -> &Connection {
        self.conn.as_deref().expect(HELD)
    }

    /// The database file, when there is one (not in memory).
    pub fn db_path(&self) -> Option<&Path> {
        self.db_path.as_deref()
    }

    pub fn conn_mut(&mut self) -> &mut Connection {
        self.conn.as_deref_mut().expect(HELD)
    }

    /// Runs `f` with the database released, so a slow outside call (the
    /// payment gateway) does not hold up other commands; takes it back after.
    pub fn released<T>(&mut self, f: impl FnOnce() -> T) -> T {
        self.conn = None;
        let out = f();
        self.conn = Some(self.db.lock().unwrap_or_else(|e| e.into_inner()));
        out
    }

    pub fn actor(&self) -> Result<&Actor> {
        self.actor.as_ref().ok_or(Error::NotLoggedIn)
    }

    pub fn stamp(&self) -> Stamp<'_> {
        Stamp { now: self.clock.now(), ids: self.ids, actor_id: self.actor.as_ref().map(|a| a.staff_id.as_str()) }
    }

    /// Runs `f` in one IMMEDIATE transaction and commits; on error rolls
    /// back everything. A busy database is retried a few times with backoff.
    /// After the commit the seen mark follows the device's event number.
    pub fn write<T>(&mut self, mut f: impl FnMut(&Transaction, &Stamp) -> Result<T>) -> Result<T> {
        let actor_id = self.actor.as_ref().map(|a| a.staff_id.clone());
        let mut delay = Duration::from_millis(20);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let stamp = Stamp { now: self.clock.now(), ids: self.ids, actor_id: actor_id.as_deref() };
            let result = (|| -> Result<T> {
                let tx = crate::db::immediate(self.conn.as_deref_mut().expect(HELD))?;
                let out = f(&tx, &stamp)?;
                tx.commit()?;
                Ok(out)
            })();
            match result {
                Err(e) if e.is_transient() && attempt < 5 => {
                    tracing::warn!(attempt, "database busy, retrying");
                    std::thread::sleep(delay);
                    delay *= 2;
                }
                other => {
                    if let (Ok(_), Some(seen)) = (&other, &self.seen) {
                        seen.after_commit(self.conn.as_deref().expect(HELD));
                    }
                    return other;
                }
            }
        }
    }

    /// Starts a session for `staff_id` and returns its token.
    /// Sessions idle past [`SESSION_IDLE_LIMIT`] are dropped here too, so
    /// abandoned ones do not pile up.
    pub fn open_session(&self, staff_id: &str, token: String) -> String {
        let now = self.clock.now();
        let mut sessions = self.api_sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|_, s| now - s.last_seen <= SESSION_IDLE_LIMIT);
        sessions.insert(token.clone(), Session { staff_id: staff_id.to_string(), last_seen: now });
        token
    }

    pub fn close_session(&self) {
        if let Some(t) = self.token {
            self.api_sessions.lock().unwrap_or_else(|e| e.into_inner()).remove(t);
        }
    }
}
