//! `pitlane-sync`: the cloud sync engine (docs/SYNC.md). It drains the
//! outbox to the company's endpoint oldest first. What to send next
//! ([`plan`]), how to read an answer ([`answer`]) and when to try again
//! ([`backoff`]) are pure functions; around them, a thin HTTP client
//! (reqwest, rustls) and the core's sync tables (`pitlane_core::sync`),
//! where each answer is recorded in one transaction.
//!
//! Memory stays bounded by one batch: events are read from the database a
//! batch at a time.

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
        loop {
            if stoppable && self.stop.load(Ordering::SeqCst) {
                report.outcome = DrainOutcome::Stopped;
                return Ok(report);
            }
            if idle >= MAX_IDLE_ROUNDS {
                let reason = "the cloud's answers make no progress (sequence gaps or smaller batches)".to_string();
                return self.wait(api, report, reason, None, true);
            }
            let input = tables::batch_input(&api.lock_conn(), limits.max_entries)?;
            let batch = Batch::build(&input, limits)?;
            if batch.plan.is_empty() {
                return Ok(report);
            }
            let ids: Vec<&str> = batch.event_ids.iter().map(String::as_str).collect();
            let verdict = match self.post(&url, &token, &batch.body) {
                Ok((status, body, retry_after)) => {
                    let retry_after = retry_after.and_then(|v| backoff::parse_retry_after(&v, api.clock().now()));
                    answer::read(status, &body, retry_after, &Sent { event_ids: &ids })
                }
                Err(reason) => Verdict::Retry { after: None, reason, reached: false },
            };
            match verdict {
                Verdict::Delivered(delivered) => {
                    let marked =
                        self.write(api, |tx, now| tables::record_delivery_tx(tx, &delivered, batch.plan.through, now))?;
                    report.batches += 1;
                    report.delivered += marked;
                    // An answer that marks nothing and covers no new number would repeat forever.
                    idle = if marked == 0 && batch.plan.through <= input.declared_through { idle + 1 } else { 0 };
                    tracing::info!(events = ids.len(), holes = batch.plan.holes.len(), marked, "sync batch delivered");
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

    /// One POST: the status, the answer's first bytes and its Retry-After;
    /// or why there was no answer.
    fn post(&self, url: &str, token: &str, body: &[u8]) -> Result<(u16, Vec<u8>, Option<String>), String> {
        let mut request = self
            .client()?
            .post(url)
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "application/json");
        request = if body.len() > GZIP_OVER {
            let mut gz = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::fast());
            gz.write_all(body).map_err(|e| format!("gzip: {e}"))?;
            let compressed = gz.finish().map_err(|e| format!("gzip: {e}"))?;
            request.header(reqwest::header::CONTENT_ENCODING, "gzip").body(compressed)
        } else {
            request.body(body.to_vec())
        };
        let response = request.send().map_err(transport_reason)?;
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

/// One batch: its plan and its JSON body.
struct Batch {
    plan: plan::Plan,
    event_ids: Vec<String>,
    body: Vec<u8>,
}

impl Batch {
    fn build(input: &tables::BatchInput, limits: Limits) -> pitlane_core::Result<Batch> {
        let encode = |o: &tables::Outstanding| serde_json::to_vec(&o.event);
        let fills_json = input.fills.iter().map(encode).collect::<Result<Vec<_>, _>>()?;
        let pending_json = input.pending.iter().map(encode).collect::<Result<Vec<_>, _>>()?;
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
        let mut body = Vec::with_capacity(size);
        body.extend_from_slice(b"{\"device_id\":");
        body.extend_from_slice(&serde_json::to_vec(&input.device_id)?);
        body.extend_from_slice(b",\"events\":[");
        for (n, (_, json)) in chosen.iter().enumerate() {
            if n > 0 {
                body.push(b',');
            }
            body.extend_from_slice(json);
        }
        body.extend_from_slice(b"],\"holes\":");
        let holes: Vec<serde_json::Value> = plan
            .holes
            .iter()
            .map(|h| serde_json::json!({ "device_seq": h.device_seq, "event_id": h.event_id, "reason": h.reason.as_str() }))
            .collect();
        body.extend_from_slice(&serde_json::to_vec(&holes)?);
        body.push(b'}');
        let event_ids = chosen.into_iter().map(|(id, _)| id.clone()).collect();
        Ok(Batch { plan, event_ids, body })
    }
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
