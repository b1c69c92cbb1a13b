//! The background worker (SPEC 5): takes due jobs from the queue in the
//! database (`pitlane_core::jobs`) and runs their listeners — customer
//! emails through lettre (SMTP), texts through the HTTP SMS gateway, alerts
//! for managers — then records the outcome: success once, or a retry after
//! the backoff, or the failed list.
//!
//! Listeners are looked up by the names in `pitlane_core::jobs::ROUTES`,
//! the one place events are routed; [`listener`] holds every one of them.
//! Whatever a listener sends carries the job id (Message-ID, SMS
//! `Idempotency-Key`), so a receiver can drop a repeat.

mod listeners;
mod notify;

use std::sync::Arc;
use std::time::Duration;

use pitlane_core::jobs::{self, Claimed, RetryPolicy};
use pitlane_core::printing::InvoicePrinter;
use pitlane_core::Api;

pub use listeners::{listener, outdated};
pub use notify::{Mailer, Sms};

/// What a listener did, in a few words for the job's record
/// ("emailed a@b.example", "skipped: no email address").
pub type Outcome = String;

/// A listener's failure: retried with backoff, then listed as failed.
pub type Failure = String;

/// What a listener is given.
pub struct Job<'a> {
    pub claimed: &'a Claimed,
    pub api: &'a Api,
    pub printer: &'a dyn InvoicePrinter,
}

/// What one pass of the worker did.
#[derive(Debug, Clone, PartialEq)]
pub enum Ran {
    Succeeded {
        job_id: String,
        outcome: String,
    },
    Retrying {
        job_id: String,
        error: String,
    },
    Failed {
        job_id: String,
        error: String,
    },
    /// Another worker took the job over (this one's lease ran out).
    Overtaken {
        job_id: String,
    },
}

impl Ran {
    /// For printing (the CLI) and logs.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Ran::Succeeded { job_id, outcome } => {
                json!({ "job_id": job_id, "result": "succeeded", "outcome": outcome })
            }
            Ran::Retrying { job_id, error } => json!({ "job_id": job_id, "result": "retrying", "error": error }),
            Ran::Failed { job_id, error } => json!({ "job_id": job_id, "result": "failed", "error": error }),
            Ran::Overtaken { job_id } => json!({ "job_id": job_id, "result": "overtaken" }),
        }
    }
}

/// The worker: the core, the retry policy and the invoice printer.
#[derive(Clone)]
pub struct Worker {
    api: Arc<Api>,
    policy: RetryPolicy,
    printer: Arc<dyn InvoicePrinter>,
}

impl Worker {
    pub fn new(api: Arc<Api>, policy: RetryPolicy, printer: Arc<dyn InvoicePrinter>) -> Self {
        Worker { api, policy, printer }
    }

    /// Claims one due job and runs it. `None`: nothing is due.
    pub fn run_one(&self) -> pitlane_core::Result<Option<Ran>> {
        let now = self.api.clock().now();
        let claimed = {
            let mut conn = self.api.lock_conn();
            jobs::claim(&mut conn, now, &self.policy)?
        };
        let Some(claimed) = claimed else {
            return self.skip_outdated_holding_back(now);
        };
        let span = tracing::info_span!("job", id = %claimed.job.id, listener = %claimed.job.listener, attempt = claimed.attempt);
        let _enter = span.enter();
        let job = Job { claimed: &claimed, api: &self.api, printer: self.printer.as_ref() };
        let result = match (outdated(&self.api, &claimed), listener(&claimed.job.listener)) {
            (Err(e), _) => Err(e),
            (Ok(Some(skip)), _) => Ok(Done::Outcome(skip)),
            (Ok(None), Some(run)) => run(&job),
            (Ok(None), None) => Err(format!("no listener called {}", claimed.job.listener)),
        };
        let now = self.api.clock().now();
        let id = claimed.job.id.clone();
        Ok(Some(match result {
            Ok(done) => {
                let recorded = match done {
                    Done::Outcome(outcome) => {
                        let ok = jobs::succeed(&self.api.lock_conn(), &claimed, now, &outcome)?;
                        ok.then_some(outcome)
                    }
                    Done::WithWork(outcome, work) => {
                        let mut conn = self.api.lock_conn();
                        let stamp = pitlane_core::Stamp { now, ids: self.api.ids(), actor_id: None };
                        let ok = jobs::succeed_with(&mut conn, &claimed, now, &outcome, |tx| work(tx, &stamp))?;
                        ok.then_some(outcome)
                    }
                };
                match recorded {
                    Some(outcome) => {
                        tracing::info!(%outcome, "job done");
                        Ran::Succeeded { job_id: id, outcome }
                    }
                    None => Ran::Overtaken { job_id: id },
                }
            }
            Err(error) => {
                tracing::warn!(%error, "job failed");
                let after = jobs::fail(&self.api.lock_conn(), &claimed, now, &error, &self.policy)?;
                match after.state.as_str() {
                    _ if after.attempts != claimed.attempt => Ran::Overtaken { job_id: id },
                    "failed" => Ran::Failed { job_id: id, error },
                    "queued" => Ran::Retrying { job_id: id, error },
                    _ => Ran::Overtaken { job_id: id },
                }
            }
        }))
    }

    /// Nothing is due, but a message may be held back by an earlier one to
    /// the same customer that waits to be retried: if that one is outdated
    /// by now, it is skipped at once, and the later one may go.
    fn skip_outdated_holding_back(&self, now: chrono::DateTime<chrono::Utc>) -> pitlane_core::Result<Option<Ran>> {
        let waiting = jobs::holding_back(&self.api.lock_conn(), now)?;
        for claimed in waiting {
            // A database error here leaves the job to its own retry.
            let Ok(Some(skip)) = outdated(&self.api, &claimed) else { continue };
            if jobs::skip_queued(&self.api.lock_conn(), &claimed.job.id, now, &skip)? {
                tracing::info!(id = %claimed.job.id, outcome = %skip, "job done");
                return Ok(Some(Ran::Succeeded { job_id: claimed.job.id, outcome: skip }));
            }
        }
        Ok(None)
    }

    /// Runs due jobs until none is due.
    pub fn run_until_idle(&self) -> pitlane_core::Result<Vec<Ran>> {
        self.run_until_idle_or_stopped(|| false)
    }

    /// Runs due jobs until none is due or `stopped()` says so, asked
    /// between jobs: a stop waits for the job in hand, never for the queue.
    pub fn run_until_idle_or_stopped(&self, stopped: impl Fn() -> bool) -> pitlane_core::Result<Vec<Ran>> {
        let mut ran = Vec::new();
        while !stopped() {
            match self.run_one()? {
                Some(r) => ran.push(r),
                None => break,
            }
        }
        Ok(ran)
    }

    /// One settlement pass over unfinished card payments and refunds
    /// (older than the in-flight grace), waiting on the gateway for at most
    /// [`SETTLE_BUDGET`] in all. Its outcome is logged; a failure too.
    pub fn settle_card_payments(&self) -> Option<pitlane_core::payments::card::Resolution> {
        match self.api.resolve_card_attempts(false, SETTLE_BUDGET) {
            Ok(r) => {
                if r.examined > 0 || r.deferred > 0 {
                    tracing::warn!(?r, "settled unfinished card payments");
                }
                Some(r)
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not settle unfinished card payments");
                None
            }
        }
    }

    /// Runs on tokio until `stop` turns true: works off due jobs (on the
    /// blocking pool: SQLite and SMTP block), then sleeps until the next
    /// one is due or `poll` has passed. Every [`SETTLE_EVERY`] (and at the
    /// start) a settlement pass runs beside the jobs, never two at once.
    pub async fn run(self, poll: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut settling: Option<tokio::task::JoinHandle<()>> = None;
        let mut last_settle: Option<std::time::Instant> = None;
        loop {
            let due = last_settle.is_none_or(|at| at.elapsed() >= SETTLE_EVERY);
            if due && settling.as_ref().is_none_or(|t| t.is_finished()) {
                let worker = self.clone();
                last_settle = Some(std::time::Instant::now());
                settling = Some(tokio::task::spawn_blocking(move || {
                    worker.settle_card_payments();
                }));
            }
            let worker = self.clone();
            let halt = stop.clone();
            match tokio::task::spawn_blocking(move || worker.run_until_idle_or_stopped(|| *halt.borrow())).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "job queue"),
                Err(e) => tracing::error!(error = %e, "worker task"),
            }
            let pause = self.until_next_due().unwrap_or(poll).min(poll);
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                changed = stop.changed() => {
                    // A dropped sender can never say "go on": stop too.
                    if changed.is_err() {
                        return;
                    }
                }
            }
            if *stop.borrow() {
                return;
            }
        }
    }

    fn until_next_due(&self) -> Option<Duration> {
        let next = jobs::next_due(&self.api.lock_conn()).ok()??;
        let at = chrono::DateTime::parse_from_rfc3339(&next).ok()?;
        let wait = at.with_timezone(&chrono::Utc) - self.api.clock().now();
        Some(wait.to_std().unwrap_or(Duration::ZERO))
    }
}

/// The most one settlement pass waits on the payment gateway, over all the
/// attempts it settles (each call's timeout is clipped to what is left).
pub const SETTLE_BUDGET: Duration = Duration::from_secs(60);

/// How often the running worker starts a settlement pass.
pub const SETTLE_EVERY: Duration = Duration::from_secs(120);

/// Database work a listener does together with recording its success.
pub type Work = Box<dyn FnOnce(&rusqlite::Transaction, &pitlane_core::Stamp) -> pitlane_core::Result<()>>;

/// A listener's success.
pub enum Done {
    Outcome(Outcome),
    /// Recorded in one transaction with the listener's database work.
    WithWork(Outcome, Work),
}
