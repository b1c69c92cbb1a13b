//! The command table: one name → typed input → core call → typed output,
//! shared by every transport. Order of checks for every call: logged in
//! (401), role allows the command (403), input parses (400/422), then the
//! command runs; a change runs in one IMMEDIATE transaction with its audit
//! entry and events.

pub mod envelope;
mod table;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use rusqlite::Connection;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

pub use crate::ctx::{Actor, Ctx, NoInput, SESSION_IDLE_LIMIT};
pub use crate::roles::{Permission, Role};
pub use envelope::Envelope;
pub use table::{Command, TypeSet, COMMANDS};

use crate::clock::{Clock, IdSource, SystemClock, UuidV7Ids};
use crate::ctx::Session;
use crate::device::{HostFingerprint, IdentityState};
use crate::document::InvoicePrinter;
use crate::error::{Error, Result};
use crate::gateway::{CardPolicy, GatewayConnector, PaymentGateway};
use crate::keyring::SecretStore;
use crate::roles;
use crate::seen::SeenMarks;
use crate::sync_runner::SyncRunner;
use crate::validate::{Validate, Violations};

/// Inputs bigger than this are refused before parsing.
pub const MAX_INPUT_BYTES: usize = 4 * 1024 * 1024;

/// The core as the transports see it.
pub struct Api {
    conn: Mutex<Connection>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
    sessions: Mutex<HashMap<String, Session>>,
    path: Option<PathBuf>,
    gateway: RwLock<Option<Arc<dyn PaymentGateway>>>,
    connector: RwLock<Option<Arc<GatewayConnector>>>,
    secrets: RwLock<Option<Arc<dyn SecretStore>>>,
    printer: RwLock<Option<Arc<dyn InvoicePrinter>>>,
    card_policy: RwLock<CardPolicy>,
    sync_runner: RwLock<Option<Arc<dyn SyncRunner>>>,
    host: RwLock<Option<HostFingerprint>>,
    seen: RwLock<Option<Arc<SeenMarks>>>,
}

impl Api {
    /// Opens (creating and migrating as needed) the database at `path`, and
    /// checks that it belongs to this computer ([`Api::check_host`]).
    pub fn open(path: &Path) -> Result<Self> {
        let conn = crate::db::open(path)?;
        let api = Self::with_parts(conn, Arc::new(SystemClock), Arc::new(UuidV7Ids), Some(path.to_path_buf()));
        match HostFingerprint::of_this_computer() {
            Some(host) => {
                // Never blocks opening: a failed check is logged, and the
                // next open checks again.
                if let Err(e) = api.check_host(host) {
                    tracing::warn!(error = %e, "could not check which computer the database belongs to");
                }
            }
            None => tracing::warn!("this computer has no machine id or host name: its database is not checked"),
        }
        Ok(api)
    }

    /// Tells the core which computer it runs on (injected like the clock:
    /// [`Api::open`] passes this computer's). The first time, the device
    /// records it; on another computer than its own the device's identity
    /// becomes `moved` (docs/SYNC.md section 6). Answers the identity state.
    pub fn check_host(&self, host: HostFingerprint) -> Result<IdentityState> {
        *self.host.write().unwrap_or_else(|e| e.into_inner()) = Some(host.clone());
        let mut ctx = self.ctx(self.lock_conn(), None, None, "device.check_host");
        ctx.write(|tx, stamp| crate::device::check_host_tx(tx, stamp, &host))
    }

    /// Keeps the seen marks in `dir` (outside the data directory; the
    /// runtime chooses it, docs/SYNC.md section 6): checks the database
    /// against its device's mark now (older than this computer last saw it:
    /// `restored`), and from now on raises the mark after each write that
    /// raised the device's event number. Answers the identity state.
    pub fn set_seen_dir(&self, dir: PathBuf) -> Result<IdentityState> {
        let marks = Arc::new(SeenMarks::new(dir));
        *self.seen.write().unwrap_or_else(|e| e.into_inner()) = Some(marks.clone());
        let mut ctx = self.ctx(self.lock_conn(), None, None, "device.check_seen");
        ctx.write(|tx, stamp| crate::device::check_seen_tx(tx, stamp, &marks))
    }

    /// Builds the core over an open, migrated connection with the given
    /// clock and id source (tests inject fixed ones).
    pub fn with_parts(conn: Connection, clock: Arc<dyn Clock>, ids: Arc<dyn IdSource>, path: Option<PathBuf>) -> Self {
        Api {
            conn: Mutex::new(conn),
            clock,
            ids,
            sessions: Mutex::new(HashMap::new()),
            path,
            gateway: RwLock::new(None),
            connector: RwLock::new(None),
            secrets: RwLock::new(None),
            printer: RwLock::new(None),
            card_policy: RwLock::new(CardPolicy::default()),
            sync_runner: RwLock::new(None),
            host: RwLock::new(None),
            seen: RwLock::new(None),
        }
    }

    /// Connects card payments to this gateway, whatever the settings say
    /// (tests, and tools that bring their own).
    pub fn set_gateway(&self, gateway: Arc<dyn PaymentGateway>) {
        *self.gateway.write().unwrap_or_else(|e| e.into_inner()) = Some(gateway);
    }

    /// How to reach the gateway from the settings' address and the key in
    /// the keyring; used when no fixed gateway is set. Without either, card
    /// payments are refused with `card_gateway_not_configured`.
    pub fn set_gateway_connector(&self, connector: Arc<GatewayConnector>) {
        *self.connector.write().unwrap_or_else(|e| e.into_inner()) = Some(connector);
    }

    /// Where secrets live (the OS keyring; tests use the keyring crate's
    /// mock store). Without one, secrets are refused, never kept elsewhere.
    pub fn set_secret_store(&self, store: Arc<dyn SecretStore>) {
        *self.secrets.write().unwrap_or_else(|e| e.into_inner()) = Some(store);
    }

    /// How invoices become PDFs (`crates/pdf`).
    pub fn set_printer(&self, printer: Arc<dyn InvoicePrinter>) {
        *self.printer.write().unwrap_or_else(|e| e.into_inner()) = Some(printer);
    }

    fn printer(&self) -> Option<Arc<dyn InvoicePrinter>> {
        self.printer.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A secret from the keyring, for the transports' own work (the
    /// worker's SMTP password, the SMS key). `None` when not set.
    pub fn read_secret(&self, name: &str) -> Result<Option<String>> {
        let conn = self.lock_conn();
        crate::secrets::read_from(&conn, self.secret_store().as_deref(), name)
    }

    fn secret_store(&self) -> Option<Arc<dyn SecretStore>> {
        self.secrets.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn connector(&self) -> Option<Arc<GatewayConnector>> {
        self.connector.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// How hard the card saga retries (tests shorten the pauses).
    pub fn set_card_policy(&self, policy: CardPolicy) {
        *self.card_policy.write().unwrap_or_else(|e| e.into_inner()) = policy;
    }

    /// How `sync.run_now` drains the outbox (`crates/sync`, installed by the
    /// runtime). The runner must not own this `Api` (hold a `Weak`).
    pub fn set_sync_runner(&self, runner: Arc<dyn SyncRunner>) {
        *self.sync_runner.write().unwrap_or_else(|e| e.into_inner()) = Some(runner);
    }

    fn sync_runner(&self) -> Option<Arc<dyn SyncRunner>> {
        self.sync_runner.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn gateway(&self) -> Option<Arc<dyn PaymentGateway>> {
        self.gateway.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn card_policy(&self) -> CardPolicy {
        *self.card_policy.read().unwrap_or_else(|e| e.into_inner())
    }

    /// One settlement pass over card payments and card refunds a crash or
    /// a lost connection left unfinished (SPEC 4.6 step 5): each charge the
    /// gateway knows of is recorded or refunded, each refund recorded or
    /// closed, never both, never twice. Run in the background (the worker,
    /// the app), never in front of a command: the whole pass waits on the
    /// gateway for at most about `budget`, and what it could not reach is
    /// `deferred` to the next pass. Attempts younger than the policy's
    /// in-flight grace are left alone unless `include_recent`.
    pub fn resolve_card_attempts(
        &self,
        include_recent: bool,
        budget: Duration,
    ) -> Result<crate::payments::card::Resolution> {
        let mut ctx = self.ctx(self.lock_conn(), None, None, "payments.resolve");
        crate::payments::card::resolve_unfinished(&mut ctx, include_recent, budget)
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Direct access to the connection, for tests, benchmarks and the
    /// transports' start-up work. Commands go through [`Api::call`].
    pub fn lock_conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    pub fn ids(&self) -> &dyn IdSource {
        self.ids.as_ref()
    }

    /// Runs one command as the holder of `token` (none: not logged in) on a
    /// JSON input, and answers with the envelope.
    pub fn call(&self, token: Option<&str>, command: &str, input: &str) -> Envelope {
        let span = tracing::info_span!("command", command);
        let _enter = span.enter();
        match self.run(token, command, input) {
            Ok(data) => Envelope::ok(data),
            Err(e) => {
                if !matches!(e, Error::Db(_) | Error::Internal(_)) {
                    tracing::info!(code = envelope::code_of(&e), "command refused");
                }
                envelope::failure(&e, || self.ids.new_id())
            }
        }
    }

    /// Like [`Api::call`] with an input already parsed.
    pub fn call_value(&self, token: Option<&str>, command: &str, input: &Value) -> Envelope {
        self.call(token, command, &input.to_string())
    }

    fn run(&self, token: Option<&str>, command: &str, input: &str) -> Result<Value> {
        let cmd = table::find(command).ok_or_else(|| Error::BadRequest(format!("Unknown command '{command}'.")))?;
        let conn = self.lock_conn();
        let actor = match token {
            Some(t) => self.actor_for(&conn, t)?,
            None => None,
        };
        match (&actor, cmd.permission) {
            (_, Permission::Public) => {}
            (None, _) => return Err(Error::NotLoggedIn),
            (Some(a), p) => {
                if !roles::allows(a.role, p) {
                    return Err(Error::Forbidden { command: command.to_string() });
                }
            }
        }
        if input.len() > MAX_INPUT_BYTES {
            return Err(Error::BadRequest(format!("The input is larger than {} MB.", MAX_INPUT_BYTES / 1024 / 1024)));
        }
        let input = if input.trim().is_empty() { "{}" } else { input };
        let value: Value = serde_json::from_str(input)
            .map_err(|e| Error::BadRequest(format!("The input is not valid JSON ({e}).")))?;
        let value = if value.is_null() { Value::Object(Default::default()) } else { value };
        if !value.is_object() {
            return Err(Error::BadRequest("The input must be a JSON object.".into()));
        }
        let mut ctx = self.ctx(conn, actor, token, cmd.name);
        (cmd.run)(&mut ctx, value)
    }

    /// What a command (or the core's own start-up work) runs with.
    fn ctx<'a>(
        &'a self,
        conn: MutexGuard<'a, Connection>,
        actor: Option<Actor>,
        token: Option<&'a str>,
        command: &'static str,
    ) -> Ctx<'a> {
        Ctx {
            conn: Some(conn),
            db: &self.conn,
            clock: self.clock.as_ref(),
            ids: self.ids.as_ref(),
            actor,
            api_sessions: &self.sessions,
            token,
            command,
            fixed_gateway: self.gateway(),
            connector: self.connector(),
            secrets: self.secret_store(),
            printer: self.printer(),
            db_path: self.path.clone(),
            card_policy: self.card_policy(),
            sync_runner: self.sync_runner(),
            deadline: None,
            host: self.host.read().unwrap_or_else(|e| e.into_inner()).clone(),
            seen: self.seen.read().unwrap_or_else(|e| e.into_inner()).clone(),
        }
    }

    /// The actor behind a session token, re-read from the database so a
    /// deactivated account or a changed role takes effect at once.
    fn actor_for(&self, conn: &Connection, token: &str) -> Result<Option<Actor>> {
        let now = self.clock.now();
        let staff_id = {
            let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
            match sessions.get_mut(token) {
                Some(s) if now - s.last_seen <= SESSION_IDLE_LIMIT => {
                    s.last_seen = now;
                    s.staff_id.clone()
                }
                Some(_) => {
                    sessions.remove(token);
                    return Err(Error::NotLoggedIn);
                }
                None => return Err(Error::NotLoggedIn),
            }
        };
        match crate::staff::active_actor(conn, &staff_id)? {
            Some(a) => Ok(Some(a)),
            None => {
                self.sessions.lock().unwrap_or_else(|e| e.into_inner()).remove(token);
                Err(Error::NotLoggedIn)
            }
        }
    }

    /// Logs in and returns the session token: what the CLI does for
    /// `--user CODE` with `PITLANE_PIN`.
    pub fn login(&self, code: &str, pin: &str) -> Result<String> {
        let input = serde_json::json!({ "code": code, "pin": pin });
        match self.run(None, "auth.login", &input.to_string()) {
            Ok(v) => v
                .get("token")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| Error::Internal("login answered without a token".into())),
            Err(e) => Err(e),
        }
    }
}

/// Parses the input into `I`, validates it (every bad field at once), runs
/// `f` and serializes its output.
pub fn dispatch<I, O>(ctx: &mut Ctx, input: Value, f: fn(&mut Ctx, I) -> Result<O>) -> Result<Value>
where
    I: DeserializeOwned + Validate,
    O: Serialize,
{
    let parsed: I = serde_path_to_error::deserialize(input).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let (field, message) = describe_serde_error(&path, &inner);
        Error::field(field, message)
    })?;
    let mut v = Violations::default();
    parsed.validate(&mut v);
    v.into_result()?;
    let out = f(ctx, parsed)?;
    Ok(serde_json::to_value(out)?)
}

/// Turns serde's sentence into a field name and a short message that holds
/// no input text (a 1 MB string is not echoed back).
fn describe_serde_error(path: &str, inner: &str) -> (String, String) {
    let field_in = |prefix: &str| -> Option<String> {
        let rest = inner.strip_prefix(prefix)?;
        let name = rest.split('`').nth(1)?;
        Some(name.to_string())
    };
    let join = |name: String| if path == "." || path.is_empty() { name } else { format!("{path}.{name}") };
    if let Some(name) = field_in("missing field") {
        return (join(name), "is required".into());
    }
    if let Some(name) = field_in("unknown field") {
        // The path already ends at the unknown field.
        let field = if path == "." || path.is_empty() { name } else { path.to_string() };
        return (field, "is not a known field".into());
    }
    let field = if path == "." || path.is_empty() { "input".to_string() } else { path.to_string() };
    let message = if let Some(pos) = inner.find("expected") {
        let expected = inner[pos..].split(" at line").next().unwrap_or("");
        format!("has the wrong type or value: {}", expected.chars().take(120).collect::<String>())
    } else if inner.contains("out of range") || inner.contains("invalid value: integer") {
        "is out of range".to_string()
    } else {
        "has the wrong type or value".to_string()
    };
    (field, message)
}
