//! `pitlane-sync`: the cloud sync engine (docs/SYNC.md). It drains the
//! outbox to the company's endpoint oldest first. What to send next
//! ([`plan`]), how to read an answer ([`answer`]) and when to try again
//! ([`backoff`]) are pure functions; around them, a thin HTTP client
//! (reqwest, rustls) and the core's sync tables (`pitlane_core::sync`),
//! where each answer is recorded in one transaction.
//!
//! Memory stays bounded by a few batches: events are read from the database
//! a batch at a time, and the next batch is built while the cloud answers the
//! one in flight (sent only after that answer has arrived; docs/SYNC.md
//! section 5).

pub mod answer;
pub mod backoff;
pub mod plan;

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use pitlane_core::sync::{self as tables, DrainOutcome, DrainReport, SyncRunner};
use pitlane_core::Api;

use answer::{Sent, Verdict};
use backoff::Backoff;
use plan::Limits;

/// Bodies bigger than this are sent gzip-compressed.
pub const GZIP_OVER: usize = 8 * 1024;
/// The most of an answer read (a 200 lists at most 500 ids).
const MAX_ANSWER: u64 = 4 * 1024 * 1024;
/// Answers that move nothing forward (a gap resumed, a batch halved) in a
/// row before the drain waits instead.
const MAX_IDLE_ROUNDS: u32 = 40;

/// How the engine behaves: the defaults are SYNC.md's; tests shorten the
/// times. [`SyncConfig::from_env`] reads `PITLANE_SYNC_TIMEOUT_MS`,
/// `PITLANE_SYNC_BACKOFF_BASE_MS`, `PITLANE_SYNC_BACKOFF_CAP_MS`,
/// `PITLANE_SYNC_POLL_MS`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyncConfig {
    /// Each request, from connecting to the last byte of the answer.
    pub timeout: Duration,
    pub backoff: Backoff,
    /// How often the watch loop looks for new events when nothing is scheduled.
    pub poll: Duration,
    pub limits: Limits,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            timeout: Duration::from_secs(30),
            backoff: Backoff::default(),
            poll: Duration::from_secs(5),
            limits: Limits::default(),
        }
    }
}

impl SyncConfig {
    /// The defaults, with any `PITLANE_SYNC_*_MS` variable set (whole
    /// milliseconds; an unreadable value is ignored with a warning).
    pub fn from_env() -> Self {
        let ms = |name: &str| -> Option<Duration> {
            let raw = std::env::var(name).ok()?;
            match raw.trim().parse::<u64>() {
                Ok(v) if v > 0 => Some(Duration::from_millis(v)),
                _ => {
                    tracing::warn!(variable = name, "ignored: not a positive whole number of milliseconds");
                    None
                }
            }
        };
        let d = SyncConfig::default();
        SyncConfig {
            timeout: ms("PITLANE_SYNC_TIMEOUT_MS").unwrap_or(d.timeout),
            backoff: Backoff {
                base: ms("PITLANE_SYNC_BACKOFF_BASE_MS").unwrap_or(d.backoff.base),
                cap: ms("PITLANE_SYNC_BACKOFF_CAP_MS").unwrap_or(d.backoff.cap),
            },
            poll: ms("PITLANE_SYNC_POLL_MS").unwrap_or(d.poll),
            limits: d.limits,
        }
    }
}

/// The engine of one core. It holds the core weakly (the core holds it as
/// its [`SyncRunner`]); one drain at a time.
pub struct Engine {
    api: Weak<Api>,
    config: SyncConfig,
    /// Built at the first request, on a blocking thread: reqwest's blocking
    /// client must not be built or dropped inside an async runtime (the
    /// engine is made in `Background::start`, on the runtime).
    client: Mutex<Option<reqwest::blocking::Client>>,
    /// A read-only connection of its own to the database file, opened at
    /// the first read ahead: the next batch is read from it while the
    /// delivery of the one before is recorded through the core's
    /// connection (WAL: a reader does not wait for the writer). None inside
    /// when the database is in memory or not in WAL mode; the core's
    /// connection is used then.
    reader: Mutex<Option<Option<rusqlite::Connection>>>,
    busy: Mutex<()>,
    stop: AtomicBool,
}

/// Why a request got no HTTP answer.
fn transport_reason(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "no answer in time (timeout)".into()
    } else if e.is_connect() {
        "could not connect to the cloud".into()
    } else {
        // Without the URL: it may hold a path the owner typed, never a secret, but keep it short.
        format!("no answer: {}", e.without_url())
    }
}

impl Engine {
    /// Builds the engine for `api` (installed with `Api::set_sync_runner`
    /// by [`install`]).
    pub fn new(api: &Arc<Api>, config: SyncConfig) -> Arc<Engine> {
        Arc::new(Engine {
            api: Arc::downgrade(api),
            config,
            client: Mutex::new(None),
            reader: Mutex::new(None),
            busy: Mutex::new(()),
            stop: AtomicBool::new(false),
        })
    }

    /// The HTTP client, built on first use (called on a blocking thread).
    fn client(&self) -> Result<reqwest::blocking::Client, String> {
        let mut client = self.client.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = client.as_ref() {
            return Ok(c.clone());
        }
        let built = reqwest::blocking::Client::builder()
            .timeout(self.config.timeout)
            .connect_timeout(self.config.timeout)
            .user_agent(concat!("pitlane/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("the HTTP client could not be built: {e}"))?;
        *client = Some(built.clone());
        Ok(built)
    }

    pub fn config(&self) -> SyncConfig {
        self.config
    }

    /// Asks a running drain to end after the batch in hand.
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// One drain: batches until the backlog is empty, or an answer says
    /// wait, or sync is halted. It goes now, whatever the backoff says
    /// (the owner asked); [`Engine::drain_when_due`] respects it.
    pub fn drain(&self) -> DrainReport {
        self.drain_inner(true, false)
    }

    /// A drain if the backoff allows one now (otherwise `waiting`), ended
    /// early by [`Engine::request_stop`]: the watch loop's.
    pub fn drain_when_due(&self) -> DrainReport {
        self.drain_inner(false, true)
    }

    fn drain_inner(&self, now: bool, stoppable: bool) -> DrainReport {
        let Some(api) = self.api.upgrade() else { return DrainReport::new(DrainOutcome::Stopped) };
        let _one = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        match self.run(&api, now, stoppable) {
            Ok(report) => report,
            Err(e) => {
                // A database error: nothing was recorded; the next drain starts over.
                tracing::error!(error = %e, "sync drain failed");
                let mut report = DrainReport::new(DrainOutcome::Waiting);
                report.message = Some(format!("database: {e}"));
                report
            }
        }
    }

    fn write<T>(
        &self,
        api: &Api,
        f: impl FnOnce(&rusqlite::Transaction, DateTime<Utc>) -> pitlane_core::Result<T>,
    ) -> pitlane_core::Result<T> {
        let mut conn = api.lock_conn();
        let tx = pitlane_core::db::immediate(&mut conn)?;
        let out = f(&tx, api.clock().now())?;
        tx.commit()?;
        Ok(out)
    }

    /// Records a failed attempt with its backoff; answers the report.
    fn wait(
        &self,
        api: &Api,
        mut report: DrainReport,
        reason: String,
        after: Option<Duration>,
        reached: bool,
    ) -> pitlane_core::Result<DrainReport> {
        let failures = tables::state(&api.lock_conn())?.failures;
        let delay = self.config.backoff.delay(failures, rand::random::<f64>(), after);
        self.write(api, |tx, now| {
            let next = now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
            tables::record_failure_tx(tx, &reason, next, reached, now)
        })?;
        tracing::warn!(reason = %reason, failures = failures + 1, delay_ms = delay.as_millis() as u64, "sync waits");
        report.outcome = DrainOutcome::Waiting;
        report.message = Some(reason);
        Ok(report)
    }

    fn run(&self, api: &Api, now: bool, stoppable: bool) -> pitlane_core::Result<DrainReport> {
        let mut report = DrainReport::new(DrainOutcome::Done);
        let state = tables::state(&api.lock_conn())?;
        if let Some(reason) = state.halted_reason {
            report.outcome = DrainOutcome::Halted;
            report.message = Some(reason);
            return Ok(report);
        }
        let Some(endpoint) = state.endpoint else {
            report.outcome = DrainOutcome::NotConfigured;
            report.message = Some("No cloud endpoint is configured (sync.configure).".into());
            return Ok(report);
        };
        if !now {
            if let Some(next) = state.next_attempt_at.as_deref().and_then(|t| DateTime::parse_from_rfc3339(t).ok()) {
                if next.with_timezone(&Utc) > api.clock().now() {
                    report.outcome = DrainOutcome::Waiting;
                    return Ok(report);
                }
            }
        }
        // The token is read at each drain: a new one configured takes effect at once.
        let token = match api.read_secret(tables::TOKEN_SECRET) {
            Ok(Some(token)) => token,
            Ok(None) => {
                report.outcome = DrainOutcome::NotConfigured;
                report.message = Some("No cloud token is in the keyring (sync.configure).".into());
                return Ok(report);
            }
            Err(e) => return self.wait(api, report, format!("keyring: {e}"), None, false),
        };
        let url = format!("{endpoint}/v1/events");
        let mut limits = self.config.limits;
        let mut idle = 0u32;
        // The next batch, built while the last one was in flight.
        let mut ahead: Option<Batch> = None;
        // A batch the cloud holds whole whose delivery is recorded while the
        // next one (built ahead for exactly that answer) is in flight.
        let mut unrecorded: Option<(Batch, Vec<String>)> = None;
        loop {
            if stoppable && self.stop.load(Ordering::SeqCst) {
                if let Some((done, delivered)) = unrecorded.take() {
                    self.recorded(&mut report, &mut idle, &done, self.record_delivery(api, &done, &delivered)?);
                }
                report.outcome = DrainOutcome::Stopped;
                return Ok(report);
            }
            if idle >= MAX_IDLE_ROUNDS {
                let reason = "the cloud's answers make no progress (sequence gaps or smaller batches)".to_string();
                return self.wait(api, report, reason, None, true);
            }
            let batch = match ahead.take() {
                Some(batch) => batch,
                None => {
                    let input = tables::batch_input(&api.lock_conn(), limits.max_entries)?;
                    Batch::build(&input, limits)?
                }
            };
            if batch.plan.is_empty() {
                return Ok(report);
            }
            // While the cloud takes this batch, the next one is read and built on a second
            // thread; it is sent only after this one's answer has arrived, and only if that
            // answer is the one it was built for (all of this batch held).
            // The batch before it, if the cloud holds it whole, is recorded on a third
            // thread meanwhile: sending this one first loses nothing,
            // since a kill before that record only makes both go again, and the cloud
            // answers the second sending as duplicates (by id); its answer is recorded
            // only after that record.
            let previous = unrecorded.take();
            let (sent, next, record) = std::thread::scope(|scope| {
                let record = previous
                    .as_ref()
                    .map(|(done, delivered)| scope.spawn(move || self.record_delivery(api, done, delivered)));
                let next = batch.plain.then(|| scope.spawn(|| self.read_ahead(api, &batch, limits)));
                let sent = self.post(&url, &token, &batch);
                let record = record.map(|r| {
                    r.join().unwrap_or_else(|_| {
                        Err(pitlane_core::Error::Internal("the sync record thread panicked".into()))
                    })
                });
                (sent, next.and_then(|n| n.join().ok().flatten()), record)
            });
            let mut next = next;
            if let (Some((done, _)), Some(record)) = (previous.as_ref(), record) {
                let as_planned = self.recorded(&mut report, &mut idle, done, record?);
                if !as_planned {
                    // Not what this batch and the one after it were built for: the next
                    // batch is read from the database again.
                    next = None;
                }
            }
            let ids: Vec<&str> = batch.event_ids.iter().map(String::as_str).collect();
            let verdict = match sent {
                Ok((status, body, retry_after)) => {
                    let retry_after = retry_after.and_then(|v| backoff::parse_retry_after(&v, api.clock().now()));
                    answer::read(status, &body, retry_after, &Sent { event_ids: &ids })
                }
                Err(reason) => Verdict::Retry { after: None, reason, reached: false },
            };
            match verdict {
                Verdict::Delivered(delivered) => {
                    let whole = delivered.len() == batch.event_ids.len();
                    if whole && batch.plain && next.is_some() {
                        // Recorded while the next batch is in flight.
                        ahead = next;
                        unrecorded = Some((batch, delivered));
                    } else {
                        let record = self.record_delivery(api, &batch, &delivered)?;
                        if self.recorded(&mut report, &mut idle, &batch, record) {
                            ahead = next;
                        }
                    }
                }
                Verdict::Quarantine { event_id, reason } => {
                    let changed = self.write(api, |tx, now| tables::quarantine_tx(tx, &event_id, &reason, now))?;
                    if !changed {
                        return self.wait(api, report, format!("{reason} (for an event not pending)"), None, true);
                    }
                    report.quarantined += 1;
                    tracing::warn!(event_id = %event_id, "sync event quarantined");
                }
                Verdict::ResumeFrom(seq) => {
                    self.write(api, |tx, now| tables::resume_from_tx(tx, seq, now))?;
                    idle += 1;
                    tracing::warn!(expected_seq = seq, "sync resumes where the cloud expects");
                }
                Verdict::Halt(reason) => {
                    self.write(api, |tx, now| {
                        // The device's identity becomes a conflict in the same transaction.
                        let stamp = pitlane_core::Stamp { now, ids: api.ids(), actor_id: None };
                        tables::halt_tx(tx, &stamp, &reason)
                    })?;
                    tracing::error!("sync halted: the cloud holds this device's number with another event");
                    report.outcome = DrainOutcome::Halted;
                    report.message = Some(reason);
                    return Ok(report);
                }
                Verdict::Smaller => {
                    if batch.plan.entries() > 1 {
                        limits = Limits {
                            max_entries: (batch.plan.entries() / 2).max(1),
                            max_bytes: (limits.max_bytes / 2).max(1),
                        };
                        idle += 1;
                    } else if let Some(id) = ids.first() {
                        let reason = "413 batch_too_large: the event alone is over the cloud's limit";
                        self.write(api, |tx, now| tables::quarantine_tx(tx, id, reason, now))?;
                        report.quarantined += 1;
                    } else {
                        return self.wait(
                            api,
                            report,
                            "413 batch_too_large for a batch of one hole".into(),
                            None,
                            true,
                        );
                    }
                }
                Verdict::Retry { after, reason, reached } => return self.wait(api, report, reason, after, reached),
                Verdict::Refused(reason) => return self.wait(api, report, reason, None, true),
            }
        }
    }

    /// The batch that follows `batch` once the cloud holds all of it, built
    /// ahead (on a second thread, while `batch` is in flight): the events
    /// after its last number, planned as [`tables::batch_input`] would give
    /// them then. Only for a plain batch (see [`Batch::plain`]): before it,
    /// nothing at or below the declared number was pending, so after it
    /// there are no fills and no blocked records, and the rest is the
    /// events after it. None when there is nothing to say ahead (a database
    /// error shows again when the batch is built the ordinary way).
    fn read_ahead(&self, api: &Api, batch: &Batch, limits: Limits) -> Option<Batch> {
        if !batch.plain {
            return None;
        }
        let pending = {
            let mut reader = self.reader.lock().unwrap_or_else(|e| e.into_inner());
            match reader.get_or_insert_with(|| open_reader(api)) {
                Some(conn) => tables::pending_after(conn, batch.plan.through, limits.max_entries),
                None => tables::pending_after(&api.lock_conn(), batch.plan.through, limits.max_entries),
            }
            .ok()?
        };
        let input = tables::BatchInput {
            device_id: batch.device_id.clone(),
            declared_through: batch.plan.through,
            fills: Vec::new(),
            pending,
            blocked: Vec::new(),
        };
        Batch::build(&input, limits).ok().filter(|next| !next.plan.is_empty())
    }

    /// Records a delivery (the events marked, the declared number moved up)
    /// in one transaction. Answers how many events were newly marked, and
    /// whether everything stands as a batch read ahead assumed: all of
    /// `batch` newly marked by this answer, the declared number now its
    /// last, the same device and nothing halted. Otherwise the next batch is
    /// built from the database again.
    ///
    /// The commit does not wait for the disk (`synchronous = NORMAL`) when
    /// the database is in WAL mode; every other write stays FULL. Safe
    /// because a WAL loses, at a power cut, only its newest commits, whole
    /// and in order, never one before a later that survived (any later FULL
    /// commit, such as the next sale, makes the earlier ones durable too).
    /// Losing a delivery record leaves the device as if the process had
    /// been killed before recording it, after the cloud stored the batch:
    /// the events are sent again and the cloud answers them as duplicates
    /// (by id), so each is still stored once, and in the same order
    /// (docs/SYNC.md section 5). Only delivery records are relaxed: a
    /// quarantine, a resume point, a halt (identity conflict) and every
    /// business write stay durable at their commit.
    ///
    /// Nor does it copy the write-ahead log into the database file until
    /// the log holds [`DRAIN_CHECKPOINT_PAGES`] (SQLite's default is 1,000
    /// pages, about 20 batches of a backlog): a long drain checkpoints a
    /// few times instead of every twentieth batch, on the thread that
    /// records while the next batch is in flight. What the log holds is
    /// committed either way; only where it sits changes.
    fn record_delivery(&self, api: &Api, batch: &Batch, delivered: &[String]) -> pitlane_core::Result<(u64, bool)> {
        let mut conn = api.lock_conn();
        let wal = conn.query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))?.eq_ignore_ascii_case("wal");
        let level: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
        let checkpoint: i64 = conn.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))?;
        if wal {
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.pragma_update(None, "wal_autocheckpoint", DRAIN_CHECKPOINT_PAGES)?;
        }
        let recorded = (|| -> pitlane_core::Result<(u64, bool)> {
            let tx = pitlane_core::db::immediate(&mut conn)?;
            let now = api.clock().now();
            // A plain batch held whole: the run of numbers it covers, in one statement.
            let whole = batch.plain && delivered.len() == batch.event_ids.len();
            let by_run = if whole {
                let expected = batch.event_ids.len() as u64;
                tables::record_run_delivery_tx(&tx, batch.declared_through, batch.plan.through, expected, now)?
            } else {
                None
            };
            let marked = match by_run {
                Some(marked) => marked,
                None => tables::record_delivery_tx(&tx, delivered, batch.plan.through, now)?,
            };
            let state = tables::state(&tx)?;
            let as_planned = marked == batch.event_ids.len() as u64
                && state.declared_through == batch.plan.through
                && state.halted_reason.is_none()
                && tables::device_id(&tx)? == batch.device_id;
            tx.commit()?;
            Ok((marked, as_planned))
        })();
        // Back to the connection's level whatever happened (a rolled-back transaction included).
        if wal {
            conn.pragma_update(None, "synchronous", level)?;
            conn.pragma_update(None, "wal_autocheckpoint", checkpoint)?;
        }
        recorded
    }

    /// Counts a recorded delivery of `batch` in the report (and whether it
    /// moved anything); answers whether everything stands as planned.
    fn recorded(
        &self,
        report: &mut DrainReport,
        idle: &mut u32,
        batch: &Batch,
        (marked, as_planned): (u64, bool),
    ) -> bool {
        report.batches += 1;
        report.delivered += marked;
        // An answer that marks nothing and covers no new number would repeat forever.
        *idle = if marked == 0 && batch.plan.through <= batch.declared_through { *idle + 1 } else { 0 };
        tracing::info!(events = batch.event_ids.len(), holes = batch.plan.holes.len(), marked, "sync batch delivered");
        as_planned
    }

    /// One POST of a built batch: the status, the answer's first bytes and
    /// its Retry-After; or why there was no answer.
    fn post(&self, url: &str, token: &str, batch: &Batch) -> Result<(u16, Vec<u8>, Option<String>), String> {
        let mut request = self
            .client()?
            .post(url)
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "application/json");
        if batch.gzip {
            request = request.header(reqwest::header::CONTENT_ENCODING, "gzip");
        }
        let response = request.body(batch.body.clone()).send().map_err(transport_reason)?;
        let status = response.status().as_u16();
        let retry_after =
            response.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_string);
        let mut answer = Vec::new();
        response.take(MAX_ANSWER).read_to_end(&mut answer).map_err(|e| {
            // The cloud answered but the body broke off (a timeout mid-answer): as no answer.
            format!("the answer broke off: {e}")
        })?;
        Ok((status, answer, retry_after))
    }
}

/// The write-ahead log's checkpoint threshold while a delivery commits:
/// 16,000 pages, 64 MiB at SQLite's 4 KiB pages (a drain of 100,000 events
/// writes about 70 MB of log).
const DRAIN_CHECKPOINT_PAGES: i64 = 16_000;

/// The read-only connection [`Engine::read_ahead`] reads through, when the
/// core's database is a file in WAL mode. What it reads: the events after a
/// batch's last number, none of which the concurrent record of an earlier
/// batch touches; a snapshot that misses events committed a moment later
/// only makes the batch shorter, and the next one is read again.
fn open_reader(api: &Api) -> Option<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let path = api.path()?;
    let wal = api
        .lock_conn()
        .query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
        .ok()?
        .eq_ignore_ascii_case("wal");
    if !wal {
        return None;
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = rusqlite::Connection::open_with_flags(path, flags)
        .map_err(|e| tracing::warn!(error = %e, "sync reads ahead through the core's connection"))
        .ok()?;
    conn.busy_timeout(Duration::from_secs(5)).ok()?;
    // Pages read from memory-mapped file rather than one read(2) each (a best effort).
    let _ = conn.pragma_update(None, "mmap_size", 256i64 << 20);
    Some(conn)
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Dropped on an async runtime (the watch task's last reference), the
        // blocking client would panic: let it go on a plain thread.
        let client = self.client.get_mut().unwrap_or_else(|e| e.into_inner()).take();
        if let (Some(client), Ok(_)) = (client, tokio::runtime::Handle::try_current()) {
            let _ = std::thread::Builder::new().name("sync-client-drop".into()).spawn(move || drop(client));
        }
    }
}

impl SyncRunner for Engine {
    fn drain(&self) -> DrainReport {
        Engine::drain(self)
    }
}

/// One batch, ready to send: its plan and its body as it goes on the wire.
struct Batch {
    plan: plan::Plan,
    /// The device id the batch speaks for.
    device_id: String,
    /// The declared number it was planned after.
    declared_through: i64,
    /// The ids of its events, in order.
    event_ids: Vec<String>,
    /// The body: gzip-compressed when `gzip` (JSON over [`GZIP_OVER`] bytes).
    body: Vec<u8>,
    gzip: bool,
    /// Planned from an input without fills or blocked records, and itself
    /// without fills or holes: once the cloud holds all of it, the next
    /// batch is just the events after it (see [`Engine::read_ahead`]).
    plain: bool,
}

impl Batch {
    fn build(input: &tables::BatchInput, limits: Limits) -> pitlane_core::Result<Batch> {
        let fills_json: Vec<Vec<u8>> = input.fills.iter().map(|o| envelope_json(&o.event)).collect();
        let pending_json: Vec<Vec<u8>> = input.pending.iter().map(|o| envelope_json(&o.event)).collect();
        fn item<'a>((o, json): (&'a tables::Outstanding, &Vec<u8>)) -> plan::Item<'a> {
            plan::Item {
                id: &o.event.id,
                device_seq: o.event.device_seq,
                aggregate: (&o.event.aggregate_type, &o.event.aggregate_id),
                quarantined: o.quarantined,
                bytes: json.len(),
            }
        }
        let fills: Vec<plan::Item> = input.fills.iter().zip(&fills_json).map(item).collect();
        let pending: Vec<plan::Item> = input.pending.iter().zip(&pending_json).map(item).collect();
        let blocked: Vec<(&str, &str)> = input.blocked.iter().map(|(t, i)| (t.as_str(), i.as_str())).collect();
        let plan = plan::next_batch(input.declared_through, &fills, &pending, &blocked, limits);
        let chosen: Vec<(&String, &Vec<u8>)> = plan
            .fills
            .iter()
            .map(|&i| (&input.fills[i].event.id, &fills_json[i]))
            .chain(plan.events.iter().map(|&i| (&input.pending[i].event.id, &pending_json[i])))
            .collect();
        let size: usize = chosen.iter().map(|(_, j)| j.len() + 1).sum::<usize>() + plan.holes.len() * 100 + 200;
        let mut json = Vec::with_capacity(size);
        json.extend_from_slice(b"{\"device_id\":");
        json_string(&mut json, &input.device_id);
        json.extend_from_slice(b",\"events\":[");
        for (n, (_, event)) in chosen.iter().enumerate() {
            if n > 0 {
                json.push(b',');
            }
            json.extend_from_slice(event);
        }
        json.extend_from_slice(b"],\"holes\":");
        let holes: Vec<serde_json::Value> = plan
            .holes
            .iter()
            .map(|h| serde_json::json!({ "device_seq": h.device_seq, "event_id": h.event_id, "reason": h.reason.as_str() }))
            .collect();
        json.extend_from_slice(&serde_json::to_vec(&holes)?);
        json.push(b'}');
        let event_ids = chosen.into_iter().map(|(id, _)| id.clone()).collect();
        let (body, gzip) = if json.len() > GZIP_OVER { (gzip(&json), true) } else { (json, false) };
        let plain =
            input.fills.is_empty() && input.blocked.is_empty() && plan.fills.is_empty() && plan.holes.is_empty();
        Ok(Batch {
            plan,
            device_id: input.device_id.clone(),
            declared_through: input.declared_through,
            event_ids,
            body,
            gzip,
            plain,
        })
    }
}

/// gzip at the fast level: the usual choice for compressing on the wire
/// (event JSON shrinks about as well as at the default level, several times faster).
fn gzip(json: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::with_capacity(json.len() / 4), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = gz.write_all(json);
    gz.finish().unwrap_or_default()
}

/// `s` as a JSON string.
fn json_string(out: &mut Vec<u8>, s: &str) {
    // Writing a string to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// An event's envelope as JSON: the bytes `serde_json` gives for a
/// `pitlane_core::outbox::EventEnvelope` of the same fields, built without
/// parsing the payload: its stored text is spliced in as it is (written by
/// `outbox::append_tx` from a parsed value). A stored payload that is not
/// JSON goes as `null`, as a parse of it would give, and the cloud refuses
/// the event (quarantined, with the reason).
fn envelope_json(e: &tables::OutstandingEvent) -> Vec<u8> {
    let mut out = Vec::with_capacity(e.payload.len() + 400);
    out.extend_from_slice(b"{\"id\":");
    json_string(&mut out, &e.id);
    out.extend_from_slice(b",\"type\":");
    json_string(&mut out, &e.event_type);
    out.extend_from_slice(format!(",\"schema_version\":{},\"aggregate_type\":", e.schema_version).as_bytes());
    json_string(&mut out, &e.aggregate_type);
    out.extend_from_slice(b",\"aggregate_id\":");
    json_string(&mut out, &e.aggregate_id);
    out.extend_from_slice(b",\"occurred_at\":");
    json_string(&mut out, &e.occurred_at);
    out.extend_from_slice(b",\"tenant_id\":");
    json_string(&mut out, &e.tenant_id);
    out.extend_from_slice(b",\"branch_id\":");
    json_string(&mut out, &e.branch_id);
    out.extend_from_slice(b",\"device_id\":");
    json_string(&mut out, &e.device_id);
    out.extend_from_slice(format!(",\"device_seq\":{},\"actor_id\":", e.device_seq).as_bytes());
    match &e.actor_id {
        Some(actor) => json_string(&mut out, actor),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"payload\":");
    let payload = e.payload.trim();
    if serde_json::from_str::<serde::de::IgnoredAny>(payload).is_ok() {
        out.extend_from_slice(payload.as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
    out.push(b'}');
    out
}

/// Builds the engine for `api` and installs it as the core's sync runner
/// (`sync.run_now`). Answers it, for a watch loop.
pub fn install(api: &Arc<Api>, config: SyncConfig) -> Arc<Engine> {
    let engine = Engine::new(api, config);
    api.set_sync_runner(engine.clone());
    engine
}

/// Keeps syncing until `stop` turns true: a drain whenever the backoff
/// allows, then a sleep until the next attempt's time or the poll
/// interval, whichever is first. A stop wakes the sleep at once and ends a
/// drain after the batch in hand.
pub async fn watch(engine: Arc<Engine>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        if *stop.borrow() || engine.api.strong_count() == 0 {
            break;
        }
        let worker = engine.clone();
        let mut drain = tokio::task::spawn_blocking(move || worker.drain_when_due());
        let report = tokio::select! {
            r = &mut drain => r.ok(),
            _ = stop.changed() => {
                engine.request_stop();
                let _ = drain.await;
                break;
            }
        };
        let wait = match report {
            // Until the backoff allows the next attempt, at most a poll; a poll when
            // nothing is scheduled (a database error: no tight loop).
            Some(r) if r.outcome == DrainOutcome::Waiting => match engine.until_next_attempt() {
                Duration::ZERO => engine.config.poll,
                until => until.min(engine.config.poll),
            },
            _ => engine.config.poll,
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
    }
}

impl Engine {
    /// How long until the backoff allows the next attempt (zero when due).
    fn until_next_attempt(&self) -> Duration {
        let Some(api) = self.api.upgrade() else { return Duration::ZERO };
        let next = tables::state(&api.lock_conn()).ok().and_then(|s| s.next_attempt_at);
        next.as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .and_then(|t| (t.with_timezone(&Utc) - api.clock().now()).to_std().ok())
            .unwrap_or(Duration::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pitlane_core::outbox::EventEnvelope;
    use serde_json::{json, Value};

    fn stored(payload: &str, actor_id: Option<&str>) -> tables::OutstandingEvent {
        tables::OutstandingEvent {
            id: "0193a1b2-0000-7000-8000-000000000001".into(),
            event_type: "CustomerCreated".into(),
            schema_version: 1,
            aggregate_type: "customer".into(),
            aggregate_id: "c-\"1\"".into(),
            occurred_at: "2026-12-02T13:00:00.000Z".into(),
            tenant_id: "t".into(),
            branch_id: "b".into(),
            device_id: "d".into(),
            device_seq: 41,
            actor_id: actor_id.map(str::to_string),
            payload: payload.into(),
        }
    }

    #[test]
    fn an_envelope_spliced_from_the_stored_payload_is_the_serialized_envelope() {
        let written = |v: Value| v.to_string();
        // (scenario, stored payload text, actor)
        let cases: &[(&str, String, Option<&str>)] = &[
            ("a flat payload", written(json!({"name": "Ann", "phone": null, "year": 2018})), Some("staff-1")),
            (
                "nested, escaped and non-ASCII text",
                written(json!({"notes": "line\n\"quoted\" \\ tab\t é ✓", "lines": [{"qty": 2, "price": 1999}]})),
                None,
            ),
            ("numbers as written", written(json!({"minor": -120, "rate": 0.175, "big": 9007199254740993u64})), None),
            ("an empty payload", written(json!({})), None),
            ("a payload that is not JSON goes as null", "{\"name\": ".to_string(), None),
            ("trailing text is not JSON either", "{} x".to_string(), None),
        ];
        for (scenario, payload, actor) in cases {
            let e = stored(payload, *actor);
            let parsed = EventEnvelope {
                id: e.id.clone(),
                event_type: e.event_type.clone(),
                schema_version: e.schema_version,
                aggregate_type: e.aggregate_type.clone(),
                aggregate_id: e.aggregate_id.clone(),
                occurred_at: e.occurred_at.clone(),
                tenant_id: e.tenant_id.clone(),
                branch_id: e.branch_id.clone(),
                device_id: e.device_id.clone(),
                device_seq: e.device_seq,
                actor_id: e.actor_id.clone(),
                payload: serde_json::from_str(payload).unwrap_or(Value::Null),
            };
            let want = serde_json::to_vec(&parsed).unwrap();
            assert_eq!(String::from_utf8(envelope_json(&e)).unwrap(), String::from_utf8(want).unwrap(), "{scenario}");
        }
    }

    const PIN: &str = "2468";

    fn device(dir: &tempfile::TempDir) -> (Arc<Api>, String) {
        let api = Arc::new(Api::open(&dir.path().join("device.db")).unwrap());
        let env = api.call_value(
            None,
            "setup.init",
            &json!({ "branch_name": "Sync Garage", "owner_name": "Olga", "owner_code": "owner", "owner_pin": PIN }),
        );
        assert!(env.is_success(), "{}", env.to_json());
        let owner = api.login("owner", PIN).unwrap();
        (api, owner)
    }

    fn customers(api: &Api, owner: &str, n: usize) {
        for i in 0..n {
            let notes = "likes the early slot. ".repeat(i % 7);
            let env = api.call_value(
                Some(owner),
                "customers.create",
                &json!({ "name": format!("Customer {i}"), "notes": notes }),
            );
            assert!(env.is_success(), "{}", env.to_json());
        }
    }

    fn built(api: &Api, limits: Limits) -> Batch {
        Batch::build(&tables::batch_input(&api.lock_conn(), limits.max_entries).unwrap(), limits).unwrap()
    }

    fn same(a: &Batch, b: &Batch) {
        assert_eq!(a.plan, b.plan);
        assert_eq!(a.event_ids, b.event_ids);
        assert_eq!(
            (&a.body, a.gzip, a.declared_through, &a.device_id),
            (&b.body, b.gzip, b.declared_through, &b.device_id)
        );
    }

    #[test]
    fn a_batch_read_ahead_is_the_batch_built_after_the_answer_is_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let (api, owner) = device(&dir);
        customers(&api, &owner, 25);
        let engine = Engine::new(&api, SyncConfig::default());
        let limits = Limits { max_entries: 10, max_bytes: 1024 * 1024 };
        let mut batch = built(&api, limits);
        let mut batches = 0;
        while !batch.plan.is_empty() {
            assert!(batch.plain, "nothing quarantined: every batch is plain");
            let ahead = engine.read_ahead(&api, &batch, limits);
            let (marked, as_planned) = engine.record_delivery(&api, &batch, &batch.event_ids).unwrap();
            assert_eq!((marked, as_planned), (batch.event_ids.len() as u64, true));
            let after = built(&api, limits);
            match &ahead {
                Some(ahead) => same(ahead, &after),
                None => assert!(after.plan.is_empty(), "nothing read ahead only at the end"),
            }
            batch = after;
            batches += 1;
        }
        assert!(batches >= 3, "{batches} batches");
        let level: i64 = api.lock_conn().query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
        assert_eq!(level, 2, "the connection is back to FULL after each delivery record");
    }

    #[test]
    fn nothing_is_read_ahead_around_a_quarantined_event_or_after_a_partial_answer() {
        let dir = tempfile::tempdir().unwrap();
        let (api, owner) = device(&dir);
        customers(&api, &owner, 12);
        let engine = Engine::new(&api, SyncConfig::default());
        let limits = Limits { max_entries: 5, max_bytes: 1024 * 1024 };

        // A partial answer: the batch's last event is not held by the cloud.
        let batch = built(&api, limits);
        assert!(batch.plain);
        let some = &batch.event_ids[..batch.event_ids.len() - 1];
        let (marked, as_planned) = engine.record_delivery(&api, &batch, some).unwrap();
        assert_eq!((marked, as_planned), (some.len() as u64, false), "the next batch is built again");
        let next = built(&api, limits);
        assert!(!next.plain, "the missing event is a fill");
        assert!(engine.read_ahead(&api, &next, limits).is_none());
        engine.record_delivery(&api, &next, &next.event_ids).unwrap();

        // A quarantined event ahead becomes a hole: the batch with it is not plain.
        let pending = tables::batch_input(&api.lock_conn(), 100).unwrap().pending;
        let victim = pending[2].event.id.clone();
        let mut conn = api.lock_conn();
        let tx = conn.transaction().unwrap();
        assert!(tables::quarantine_tx(&tx, &victim, "422 invalid_event", chrono::Utc::now()).unwrap());
        tx.commit().unwrap();
        drop(conn);
        let with_hole = built(&api, limits);
        assert_eq!(with_hole.plan.holes.len(), 1);
        assert!(!with_hole.plain);
        assert!(engine.read_ahead(&api, &with_hole, limits).is_none());
    }
}
