//! The durable job queue (SPEC 5). What happens after a commit: each event
//! becomes one job per listener that cares about it, written in the same
//! transaction as the event ([`enqueue_tx`], called by the outbox). A
//! worker (`crates/worker`) claims due jobs, runs the listener and records
//! the outcome; a failure is retried with exponential backoff and jitter
//! until the attempts run out, then the job waits in the failed list for
//! staff to retry or discard.
//!
//! Each (event, listener) pair is one row (unique), and a job is marked
//! succeeded only by the attempt that claimed it, so a listener's success
//! is recorded at most once even across crashes. A worker that dies
//! mid-job lets go of it when its lease runs out.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::Ctx;
use crate::audit;
use crate::clock::rfc3339;
use crate::error::{Error, Result};
use crate::outbox::EventEnvelope;
use crate::validate::{Validate, Violations};

/// Which listeners each event type goes to: the one place listeners are
/// registered. The worker holds a listener for every name here (a test
/// checks it).
/// One listener per way out, so a failing channel (an SMS gateway that is
/// down) retries alone and never repeats what another already sent.
pub const ROUTES: &[(&str, &[&str])] = &[
    ("AppointmentBooked", &["appointment_confirmation_email", "appointment_confirmation_sms"]),
    ("AppointmentConfirmed", &["appointment_confirmation_email", "appointment_confirmation_sms"]),
    ("JobCardCompleted", &["vehicle_ready_email", "vehicle_ready_sms"]),
    ("InvoiceGenerated", &["invoice_email"]),
    ("InvoiceEmailRequested", &["invoice_email"]),
    ("LowStockReached", &["low_stock_alert", "low_stock_email"]),
    ("PaymentCompensated", &["payment_compensation_email"]),
];

/// The customer messages and the channel each goes by. Jobs of these
/// listeners are kept in event order per customer and channel: one is not
/// run while an earlier one to the same customer by the same channel still
/// waits ([`claim`]).
pub const CUSTOMER_CHANNELS: &[(&str, &str)] = &[
    ("appointment_confirmation_email", "email"),
    ("appointment_confirmation_sms", "sms"),
    ("vehicle_ready_email", "email"),
    ("vehicle_ready_sms", "sms"),
    ("invoice_email", "email"),
];

/// The channel of a customer message; `None` for the managers' alerts.
pub fn channel_of(listener: &str) -> Option<&'static str> {
    CUSTOMER_CHANNELS.iter().find(|(l, _)| *l == listener).map(|(_, c)| *c)
}

/// Which ways out are fully set up, so that a message sent by them can be
/// delivered: what a command may promise ("Customer notified.").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Channels {
    /// `smtp_host` and `smtp_from` are set, and when `smtp_username` is set
    /// the `smtp_password` can be read from the keyring.
    pub email: bool,
    /// `sms_gateway_url` is set and `sms_api_key` can be read from the keyring.
    pub sms: bool,
}

impl Channels {
    /// Whether a customer with an email address (`email`) and/or a phone
    /// number (`phone`) is reached by a channel that is fully set up.
    pub fn reach(self, email: bool, phone: bool) -> bool {
        (email && self.email) || (phone && self.sms)
    }
}

/// The channels as set up now. A secret the keyring cannot give (none
/// there, no keyring, a locked one) makes its channel not set up.
pub fn channels(conn: &Connection, secrets: Option<&dyn crate::secrets::SecretStore>) -> Result<Channels> {
    let settings = crate::settings::integrations(conn)?;
    let secret = |name: &str| matches!(crate::secrets::read_from(conn, secrets, name), Ok(Some(_)));
    let email = settings.smtp_host.is_some()
        && settings.smtp_from.is_some()
        && (settings.smtp_username.is_none() || secret("smtp_password"));
    let sms = settings.sms_gateway_url.is_some() && secret("sms_api_key");
    Ok(Channels { email, sms })
}

/// Every listener name, once.
pub fn listener_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = ROUTES.iter().flat_map(|(_, l)| l.iter().copied()).collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// How hard the queue tries (configurable; SPEC 5's defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    /// The first pause; doubled each time, with jitter.
    pub backoff: Duration,
    /// How long a claimed job is the worker's before another may take it.
    pub lease: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 3, backoff: Duration::from_secs(60), lease: Duration::from_secs(300) }
    }
}

/// The pause before retry number `attempt` (1 = after the first failure):
/// `backoff × 2^(attempt-1)`, times a jitter between 0.75 and 1.25 that is
/// fixed per job and attempt (so a retry storm spreads out, and tests can
/// know it).
pub fn backoff(base: Duration, attempt: u32, job_id: &str) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let mut h: u64 = 0xcbf29ce484222325;
    for b in job_id.bytes().chain(attempt.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    let jitter = 0.75 + (h % 501) as f64 / 1000.0;
    exp.mul_f64(jitter)
}

/// Queues the jobs for one event, inside the event's transaction. A
/// customer message remembers its customer and channel, and every job its
/// event's place in the outbox, for [`claim`]'s ordering.
pub fn enqueue_tx(tx: &Transaction, event: &EventEnvelope, max_attempts: u32) -> Result<()> {
    let Some((_, listeners)) = ROUTES.iter().find(|(t, _)| *t == event.event_type) else {
        return Ok(());
    };
    let customer_id =
        if listeners.iter().any(|l| channel_of(l).is_some()) { message_customer(tx, &event.payload)? } else { None };
    let mut stmt = tx.prepare_cached(
        "INSERT INTO jobs (id, event_id, event_type, listener, state, max_attempts, run_at, created_at, updated_at,
                           event_seq, customer_id, channel)
         VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?6, ?6, (SELECT seq FROM outbox WHERE id = ?2), ?7, ?8)
         ON CONFLICT (event_id, listener) DO NOTHING",
    )?;
    for listener in *listeners {
        // The job id is the event id and the listener: stable, so it can be
        // the idempotency key of what the listener sends.
        let id = format!("{}:{listener}", event.id);
        let channel = channel_of(listener);
        let customer = channel.and(customer_id.as_deref());
        stmt.execute(params![
            id,
            event.id,
            event.event_type,
            listener,
            max_attempts,
            event.occurred_at,
            customer,
            channel
        ])?;
    }
    Ok(())
}

/// The customer a message event is about: its `customer_id`, or the
/// customer of its `invoice_id` (`InvoiceEmailRequested`).
fn message_customer(conn: &Connection, payload: &serde_json::Value) -> Result<Option<String>> {
    if let Some(id) = payload.get("customer_id").and_then(serde_json::Value::as_str) {
        return Ok(Some(id.to_string()));
    }
    let Some(invoice) = payload.get("invoice_id").and_then(serde_json::Value::as_str) else {
        return Ok(None);
    };
    Ok(conn
        .prepare_cached("SELECT customer_id FROM invoices WHERE id = ?1")?
        .query_row([invoice], |r| r.get(0))
        .optional()?)
}

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct Job {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub listener: String,
    pub state: String,
    pub attempts: u32,
    pub max_attempts: u32,
    pub run_at: String,
    pub last_error: Option<String>,
    pub outcome: Option<String>,
    pub created_at: String,
    pub first_started_at: Option<String>,
    pub finished_at: Option<String>,
    /// What the job is about, in words (the invoice, the appointment, to
    /// whom): filled by the commands, for people ([`describe`]).
    pub subject: Option<String>,
    /// The earlier message to the same customer by the same channel that
    /// this one waits for: filled by the commands.
    pub waits_for: Option<String>,
}

const COLUMNS: &str = "id, event_id, event_type, listener, state, attempts, max_attempts, run_at, last_error,
    outcome, created_at, first_started_at, finished_at";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<Job> {
    Ok(Job {
        id: r.get(0)?,
        event_id: r.get(1)?,
        event_type: r.get(2)?,
        listener: r.get(3)?,
        state: r.get(4)?,
        attempts: r.get(5)?,
        max_attempts: r.get(6)?,
        run_at: r.get(7)?,
        last_error: r.get(8)?,
        outcome: r.get(9)?,
        created_at: r.get(10)?,
        first_started_at: r.get(11)?,
        finished_at: r.get(12)?,
        subject: None,
        waits_for: None,
    })
}

pub fn get(conn: &Connection, id: &str) -> Result<Job> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or_else(|| Error::not_found("job", id))
}

/// A job a worker holds: the job, its event and the attempt number that
/// alone may finish it.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub job: Job,
    pub event: EventEnvelope,
    pub attempt: u32,
}

/// A job may run only when no earlier message (by event order) to the same
/// customer by the same channel is still queued or running.
const IN_ORDER: &str = "NOT EXISTS (SELECT 1 FROM jobs e
     WHERE e.customer_id = jobs.customer_id AND e.channel = jobs.channel AND e.event_seq < jobs.event_seq
       AND e.state IN ('queued', 'running'))";

/// Takes the next due job (queued and due, or running with its lease run
/// out: its worker died) and marks it running under a lease. A customer
/// message waits while an earlier one to the same customer by the same
/// channel is queued or running, so messages arrive in event order.
pub fn claim(conn: &mut Connection, now: DateTime<Utc>, policy: &RetryPolicy) -> Result<Option<Claimed>> {
    let tx = crate::db::immediate(conn)?;
    let at = rfc3339(now);
    let job = tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM jobs
             WHERE ((state = 'queued' AND run_at <= ?1) OR (state = 'running' AND lease_until <= ?1)) AND {IN_ORDER}
             ORDER BY run_at, event_seq, id LIMIT 1"
        ))?
        .query_row([&at], from_row)
        .optional()?;
    let Some(job) = job else {
        return Ok(None);
    };
    if job.state == "running" && job.attempts >= policy.max_attempts.max(1) {
        // Its worker died during every attempt (a job that kills the
        // worker): it goes to the failed list instead of round again.
        tx.prepare_cached(
            "UPDATE jobs SET state = 'failed', lease_until = NULL, finished_at = ?2, updated_at = ?2,
                    last_error = 'the worker stopped during every attempt (crash or kill); check before retrying'
             WHERE id = ?1",
        )?
        .execute(params![job.id, at])?;
        tx.commit()?;
        return claim(conn, now, policy);
    }
    let attempt = job.attempts + 1;
    let until = rfc3339(now + chrono::Duration::from_std(policy.lease).unwrap_or(chrono::Duration::minutes(5)));
    tx.prepare_cached(
        "UPDATE jobs SET state = 'running', attempts = ?2, lease_until = ?3, max_attempts = ?5,
                first_started_at = coalesce(first_started_at, ?4), updated_at = ?4
         WHERE id = ?1",
    )?
    .execute(params![job.id, attempt, until, at, policy.max_attempts.max(1)])?;
    let event = crate::outbox::by_id(&tx, &job.event_id)?;
    let job = get(&tx, &job.id)?;
    tx.commit()?;
    Ok(Some(Claimed { job, event, attempt }))
}

/// Records a success. Only the attempt that holds the job may: a worker
/// whose lease ran out and was overtaken records nothing (`false`).
pub fn succeed(conn: &Connection, claimed: &Claimed, now: DateTime<Utc>, outcome: &str) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE jobs SET state = 'succeeded', outcome = ?3, lease_until = NULL, last_error = NULL,
                    finished_at = ?4, updated_at = ?4
             WHERE id = ?1 AND state = 'running' AND attempts = ?2",
        )?
        .execute(params![claimed.job.id, claimed.attempt, outcome, rfc3339(now)])?;
    Ok(n == 1)
}

/// Records a success together with the listener's own database work (an
/// in-app alert), in one transaction: both happen once or not at all.
pub fn succeed_with(
    conn: &mut Connection,
    claimed: &Claimed,
    now: DateTime<Utc>,
    outcome: &str,
    work: impl FnOnce(&Transaction) -> Result<()>,
) -> Result<bool> {
    let tx = crate::db::immediate(conn)?;
    if !succeed(&tx, claimed, now, outcome)? {
        return Ok(false);
    }
    work(&tx)?;
    tx.commit()?;
    Ok(true)
}

/// Records a failure: queued again after the backoff, or failed for good
/// when the attempts are used up.
pub fn fail(
    conn: &Connection,
    claimed: &Claimed,
    now: DateTime<Utc>,
    error: &str,
    policy: &RetryPolicy,
) -> Result<Job> {
    let error: String = error.chars().take(1000).collect();
    let at = rfc3339(now);
    if claimed.attempt >= claimed.job.max_attempts {
        conn.prepare_cached(
            "UPDATE jobs SET state = 'failed', last_error = ?3, lease_until = NULL, finished_at = ?4, updated_at = ?4
             WHERE id = ?1 AND state = 'running' AND attempts = ?2",
        )?
        .execute(params![claimed.job.id, claimed.attempt, error, at])?;
    } else {
        let pause = backoff(policy.backoff, claimed.attempt, &claimed.job.id);
        let next = rfc3339(now + chrono::Duration::from_std(pause).unwrap_or(chrono::Duration::minutes(1)));
        conn.prepare_cached(
            "UPDATE jobs SET state = 'queued', last_error = ?3, lease_until = NULL, run_at = ?4, updated_at = ?5
             WHERE id = ?1 AND state = 'running' AND attempts = ?2",
        )?
        .execute(params![claimed.job.id, claimed.attempt, error, next, at])?;
    }
    get(conn, &claimed.job.id)
}

/// When the next queued job is due, for a worker deciding how long to sleep.
/// A message waiting for an earlier one is not counted: it is due when that
/// one has finished.
pub fn next_due(conn: &Connection) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT min(CASE state WHEN 'queued' THEN run_at ELSE lease_until END) FROM jobs
             WHERE state IN ('queued', 'running') AND {IN_ORDER}"
        ))?
        .query_row([], |r| r.get(0))?)
}

/// Queued messages, not due yet (waiting to be retried), that hold back a
/// later message that is due: the worker checks whether they are outdated
/// and skips them ([`skip_queued`]) rather than let the later one wait.
pub fn holding_back(conn: &Connection, now: DateTime<Utc>) -> Result<Vec<Claimed>> {
    let at = rfc3339(now);
    let jobs = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM jobs WHERE state = 'queued' AND run_at > ?1 AND EXISTS (
                 SELECT 1 FROM jobs l WHERE l.customer_id = jobs.customer_id AND l.channel = jobs.channel
                   AND l.event_seq > jobs.event_seq AND l.state = 'queued' AND l.run_at <= ?1)
             ORDER BY event_seq"
        ))?
        .query_map([&at], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    jobs.into_iter()
        .map(|job| {
            let event = crate::outbox::by_id(conn, &job.event_id)?;
            Ok(Claimed { attempt: job.attempts, job, event })
        })
        .collect()
}

/// Finishes a queued job as skipped (an outdated message), unless a worker
/// took it meanwhile. `true` when it was skipped.
pub fn skip_queued(conn: &Connection, job_id: &str, now: DateTime<Utc>, outcome: &str) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE jobs SET state = 'succeeded', outcome = ?2, lease_until = NULL, last_error = NULL, finished_at = ?3,
                    updated_at = ?3
             WHERE id = ?1 AND state = 'queued'",
        )?
        .execute(params![job_id, outcome, rfc3339(now)])?;
    Ok(n == 1)
}

// ---- commands ----------------------------------------------------------------

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct FailedInput {
    #[serde(default = "default_limit")]
    #[ts(optional = nullable)]
    pub limit: i64,
}

fn default_limit() -> i64 {
    100
}

impl Validate for FailedInput {
    fn validate(&self, v: &mut Violations) {
        v.range("limit", self.limit, 1, 500);
    }
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct FailedJobs {
    pub jobs: Vec<Job>,
}

/// `jobs.failed`: jobs whose attempts ran out, newest first.
pub fn failed_cmd(ctx: &mut Ctx, input: FailedInput) -> Result<FailedJobs> {
    let mut stmt = ctx.conn().prepare_cached(&format!(
        "SELECT {COLUMNS} FROM jobs WHERE state = 'failed' ORDER BY updated_at DESC, id LIMIT ?1"
    ))?;
    let jobs = stmt.query_map([input.limit], from_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(FailedJobs { jobs: described(ctx.conn(), jobs)? })
}

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(rename = "JobsListInput")]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct ListInput {
    /// `waiting` (queued or running: the default), or one state.
    #[serde(default = "waiting")]
    #[ts(optional = nullable)]
    pub state: String,
    #[serde(default = "default_limit")]
    #[ts(optional = nullable)]
    pub limit: i64,
}

fn waiting() -> String {
    "waiting".into()
}

const LIST_STATES: &[&str] = &["waiting", "queued", "running", "succeeded", "failed", "discarded"];

impl Validate for ListInput {
    fn validate(&self, v: &mut Violations) {
        if !LIST_STATES.contains(&self.state.as_str()) {
            v.add("state", format!("must be one of: {}", LIST_STATES.join(", ")));
        }
        v.range("limit", self.limit, 1, 500);
    }
}

/// `jobs.list`: the jobs in a state, each with what it is about. Waiting
/// jobs come in the order they will run (next try, then event order);
/// finished ones the most recently changed first.
pub fn list_cmd(ctx: &mut Ctx, input: ListInput) -> Result<FailedJobs> {
    let conn = ctx.conn();
    let jobs = if input.state == "waiting" {
        conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM jobs WHERE state IN ('queued', 'running') ORDER BY run_at, event_seq, id LIMIT ?1"
        ))?
        .query_map([input.limit], from_row)?
        .collect::<Result<Vec<_>, _>>()?
    } else {
        let order = if matches!(input.state.as_str(), "queued" | "running") {
            "run_at, event_seq, id"
        } else {
            "updated_at DESC, id"
        };
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM jobs WHERE state = ?2 ORDER BY {order} LIMIT ?1"))?
            .query_map(params![input.limit, input.state], from_row)?
            .collect::<Result<Vec<_>, _>>()?
    };
    Ok(FailedJobs { jobs: described(ctx.conn(), jobs)? })
}

/// The jobs with their `subject` and `waits_for` filled in.
fn described(conn: &Connection, jobs: Vec<Job>) -> Result<Vec<Job>> {
    let branch = crate::settings::branch(conn)?;
    let tz: chrono_tz::Tz = branch.time_zone.parse().unwrap_or(chrono_tz::UTC);
    jobs.into_iter()
        .map(|mut job| {
            job.subject = Some(describe(conn, &job, tz));
            if matches!(job.state.as_str(), "queued" | "running") {
                job.waits_for = conn
                    .prepare_cached(
                        "SELECT e.id FROM jobs j JOIN jobs e ON e.customer_id = j.customer_id
                             AND e.channel = j.channel AND e.event_seq < j.event_seq
                         WHERE j.id = ?1 AND e.state IN ('queued', 'running') ORDER BY e.event_seq LIMIT 1",
                    )?
                    .query_row([&job.id], |r| r.get(0))
                    .optional()?;
            }
            Ok(job)
        })
        .collect()
}

/// What a job is about, for people: "invoice INV-2026-A000012, by email to
/// John Doe <john@example.com>". Read from the database as it is now, so
/// the recipient is the one the job will use; a record that is gone falls
/// back to the event's type.
pub fn describe(conn: &Connection, job: &Job, tz: chrono_tz::Tz) -> String {
    describe_or_err(conn, job, tz).unwrap_or_else(|_| job.event_type.clone())
}

fn describe_or_err(conn: &Connection, job: &Job, tz: chrono_tz::Tz) -> Result<String> {
    let event = crate::outbox::by_id(conn, &job.event_id)?;
    let text = |key: &str| event.payload.get(key).and_then(serde_json::Value::as_str).unwrap_or_default().to_string();
    let what = match job.event_type.as_str() {
        "AppointmentBooked" | "AppointmentConfirmed" => {
            let a = crate::appointments::get(conn, &text("appointment_id"))?;
            let done = if job.event_type == "AppointmentBooked" { "booked" } else { "confirmed" };
            format!("appointment on {} {done}", crate::messages::visit_time(&a.scheduled_date, &a.scheduled_time, tz))
        }
        "JobCardCompleted" => {
            let card = crate::job_cards::get(conn, &text("job_card_id"))?;
            let v = crate::vehicles::get(conn, &card.vehicle_id)?;
            format!("car ready: {} {} ({}), job card {}", v.make, v.model, v.license_plate, card.number)
        }
        "InvoiceGenerated" | "InvoiceEmailRequested" => {
            format!("invoice {}", crate::invoices::get(conn, &text("invoice_id"))?.number)
        }
        "LowStockReached" => format!("low stock: {}", text("name")),
        "PaymentCompensated" => {
            format!("refunded card payment on {}", crate::invoices::get(conn, &text("invoice_id"))?.number)
        }
        other => other.to_string(),
    };
    let to = match (job.listener.as_str(), channel_of(&job.listener)) {
        ("low_stock_alert", _) => "in the app, for the managers".to_string(),
        (_, None) => match crate::settings::integration(conn, "alerts_email")? {
            Some(to) => format!("by email to the managers <{to}>"),
            None => "by email to the managers (no alerts address set)".to_string(),
        },
        (_, Some(_)) if job.event_type == "InvoiceEmailRequested" => format!("by email to <{}>", text("to")),
        (_, Some(channel)) => {
            let customer_id: Option<String> = conn
                .prepare_cached("SELECT customer_id FROM jobs WHERE id = ?1")?
                .query_row([&job.id], |r| r.get(0))?;
            let customer = crate::customers::get(conn, customer_id.as_deref().unwrap_or_default())?;
            match (channel, customer.email, customer.phone) {
                ("email", Some(email), _) => format!("by email to {} <{email}>", customer.name),
                ("email", None, _) => format!("by email to {} (no email address)", customer.name),
                (_, _, Some(phone)) => format!("by text to {} ({phone})", customer.name),
                _ => format!("by text to {} (no phone number)", customer.name),
            }
        }
    };
    Ok(format!("{what}, {to}"))
}

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct JobInput {
    pub job_id: String,
}

impl Validate for JobInput {
    fn validate(&self, v: &mut Violations) {
        v.required("job_id", &self.job_id, 300);
    }
}

fn change(ctx: &mut Ctx, input: &JobInput, to: &str, action: &str) -> Result<Job> {
    let job = ctx.write(|tx, stamp| {
        let job = get(tx, &input.job_id)?;
        if job.state != "failed" {
            let now = match job.state.as_str() {
                "queued" => "it is still waiting to be sent",
                "running" => "it is being sent right now",
                "succeeded" => "it has already been done",
                _ => "it was already given up",
            };
            return Err(Error::conflict(
                "job_not_failed",
                format!("Only a failed job can be retried or given up, and {now}."),
                json!({ "job_id": job.id, "state": job.state }),
            ));
        }
        tx.prepare_cached(
            "UPDATE jobs SET state = ?2, attempts = CASE ?2 WHEN 'queued' THEN 0 ELSE attempts END,
                    run_at = ?3, finished_at = CASE ?2 WHEN 'queued' THEN NULL ELSE ?3 END, updated_at = ?3
             WHERE id = ?1",
        )?
        .execute(params![job.id, to, stamp.at()])?;
        audit::record_tx(tx, stamp, action, "job", Some(&job.id), json!({ "listener": job.listener }))?;
        get(tx, &job.id)
    })?;
    Ok(described(ctx.conn(), vec![job])?.remove(0))
}

/// `jobs.retry`: a failed job goes back in the queue, due now, with its
/// attempts counted afresh.
pub fn retry_cmd(ctx: &mut Ctx, input: JobInput) -> Result<Job> {
    change(ctx, &input, "queued", "jobs.retry")
}

/// `jobs.discard`: a failed job is given up (kept for the record).
pub fn discard_cmd(ctx: &mut Ctx, input: JobInput) -> Result<Job> {
    change(ctx, &input, "discarded", "jobs.discard")
}

#[derive(Debug, Serialize, PartialEq, ts_rs::TS)]
pub struct Stats {
    pub queued: i64,
    /// Of the queued jobs, those that failed before and wait to be tried again.
    pub retrying: i64,
    pub running: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub discarded: i64,
    /// Of the jobs finished in the last 24 hours, the share that failed.
    pub failure_rate_24h: f64,
    /// From the event to the job's first start, over the last 24 hours.
    pub dispatch_latency_ms_p50: Option<i64>,
    pub dispatch_latency_ms_p95: Option<i64>,
    pub oldest_queued_at: Option<String>,
}

/// Counts by state, failure rate and dispatch latency: what a diagnostics
/// view shows.
pub fn stats(conn: &Connection, now: DateTime<Utc>) -> Result<Stats> {
    let count = |state: &str| -> Result<i64> {
        Ok(conn.prepare_cached("SELECT count(*) FROM jobs WHERE state = ?1")?.query_row([state], |r| r.get(0))?)
    };
    let since = rfc3339(now - chrono::Duration::hours(24));
    let (finished, failed_recent): (i64, i64) = conn
        .prepare_cached(
            "SELECT count(*), coalesce(sum(state = 'failed'), 0) FROM jobs
             WHERE finished_at >= ?1 AND state IN ('succeeded', 'failed')",
        )?
        .query_row([&since], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let mut latencies: Vec<i64> = conn
        .prepare_cached(
            "SELECT CAST(round((julianday(first_started_at) - julianday(created_at)) * 86400000) AS INTEGER)
             FROM jobs WHERE first_started_at >= ?1",
        )?
        .query_map([&since], |r| r.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    latencies.sort_unstable();
    let pick = |q: f64| -> Option<i64> {
        if latencies.is_empty() {
            return None;
        }
        let i = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies.get(i).copied()
    };
    Ok(Stats {
        queued: count("queued")?,
        retrying: conn
            .prepare_cached("SELECT count(*) FROM jobs WHERE state = 'queued' AND attempts > 0")?
            .query_row([], |r| r.get(0))?,
        running: count("running")?,
        succeeded: count("succeeded")?,
        failed: count("failed")?,
        discarded: count("discarded")?,
        failure_rate_24h: if finished == 0 { 0.0 } else { failed_recent as f64 / finished as f64 },
        dispatch_latency_ms_p50: pick(0.5),
        dispatch_latency_ms_p95: pick(0.95),
        oldest_queued_at: conn
            .prepare_cached("SELECT min(created_at) FROM jobs WHERE state = 'queued'")?
            .query_row([], |r| r.get(0))?,
    })
}

/// `jobs.stats`.
pub fn stats_cmd(ctx: &mut Ctx, _input: crate::api::NoInput) -> Result<Stats> {
    stats(ctx.conn(), ctx.clock.now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_with_bounded_jitter() {
        let base = Duration::from_secs(60);
        for (attempt, low, high) in [(1, 45.0, 75.0), (2, 90.0, 150.0), (3, 180.0, 300.0), (5, 720.0, 1200.0)] {
            for id in ["a", "b", "job-17", "0191:vehicle_ready"] {
                let secs = backoff(base, attempt, id).as_secs_f64();
                assert!((low..=high).contains(&secs), "attempt {attempt} for {id}: {secs}");
            }
        }
        assert_eq!(backoff(base, 2, "x"), backoff(base, 2, "x"), "fixed per job and attempt");
        assert_ne!(backoff(base, 1, "x"), backoff(base, 1, "y"), "spread across jobs");
    }

    #[test]
    fn every_customer_message_is_routed_and_named_after_its_channel() {
        for (listener, channel) in CUSTOMER_CHANNELS {
            assert!(listener_names().contains(listener), "{listener} is routed");
            assert!(listener.ends_with(&format!("_{channel}")), "{listener} goes by {channel}");
        }
        assert_eq!(channel_of("low_stock_email"), None, "the managers' alerts are not kept in a customer's line");
    }

    #[test]
    fn every_route_names_known_listeners_once() {
        let names = listener_names();
        assert_eq!(names.len(), 8);
        for (event, listeners) in ROUTES {
            assert!(!listeners.is_empty(), "{event}");
        }
    }
}
