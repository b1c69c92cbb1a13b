//! Orchestration runs: the steps a business operation took, its outcome and
//! timings. A failed run is written after the rollback, in its own
//! transaction, so the record survives the failure it describes.

use std::time::Instant;

use rusqlite::{params, Connection};
use serde::Serialize;

use crate::clock::Stamp;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct Step {
    pub name: &'static str,
    pub outcome: &'static str,
    pub duration_us: u64,
}

/// The steps of one run, filled in as the operation goes.
#[derive(Debug, Default)]
pub struct Run {
    pub steps: Vec<Step>,
}

impl Run {
    /// Runs one named step and records its outcome and duration.
    pub fn step<T>(&mut self, name: &'static str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let started = Instant::now();
        let out = f();
        self.steps.push(Step {
            name,
            outcome: if out.is_ok() { "ok" } else { "failed" },
            duration_us: started.elapsed().as_micros() as u64,
        });
        out
    }

    pub fn failed_step(&self) -> Option<&'static str> {
        self.steps.iter().find(|s| s.outcome == "failed").map(|s| s.name)
    }
}

/// Records a finished run. Call inside the operation's transaction on
/// success, or in a transaction of its own after a rollback.
#[allow(clippy::too_many_arguments)]
pub fn record(
    conn: &Connection,
    stamp: &Stamp,
    operation: &str,
    subject_id: Option<&str>,
    started_at: &str,
    run: &Run,
    error: Option<&Error>,
    attempts: u32,
) -> Result<String> {
    let id = stamp.new_id();
    let code = error.map(|e| crate::api::envelope::code_of(e).to_string());
    conn.prepare_cached(
        "INSERT INTO orchestration_runs (id, operation, subject_id, actor_id, started_at, finished_at, outcome,
                                         failed_step, error_code, attempts, steps)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        id,
        operation,
        subject_id,
        stamp.actor_id,
        started_at,
        stamp.at(),
        if error.is_some() { "failed" } else { "succeeded" },
        run.failed_step(),
        code,
        attempts,
        serde_json::to_string(&run.steps)?,
    ])?;
    Ok(id)
}

/// Runs an orchestrator's steps in one IMMEDIATE transaction (retried on a
/// busy database by [`crate::api::Ctx::write`]) and records the run: inside
/// that transaction on success, in a transaction of its own after the
/// rollback on failure, naming the failed step (`commit` when every step
/// passed and the commit itself failed).
pub fn run_recorded<T>(
    ctx: &mut crate::api::Ctx,
    operation: &str,
    subject_on_failure: Option<&str>,
    subject_on_success: impl Fn(&T) -> Option<String>,
    mut steps: impl FnMut(&rusqlite::Transaction, &Stamp, &mut Run) -> Result<T>,
) -> Result<(T, Vec<Step>)> {
    let started_at = ctx.stamp().at();
    let mut run = Run::default();
    let mut attempts = 0u32;
    let result = ctx.write(|tx, stamp| {
        // Counted once the transaction has begun; a BEGIN that stays busy
        // is recorded as a failed `begin` with no attempts.
        attempts += 1;
        run = Run::default();
        let out = steps(tx, stamp, &mut run)?;
        run.step("commit", || crate::failpoints::check("commit"))?;
        record(tx, stamp, operation, subject_on_success(&out).as_deref(), &started_at, &run, None, attempts)?;
        Ok(out)
    });
    match result {
        Ok(out) => Ok((out, run.steps)),
        Err(e) => {
            if run.failed_step().is_none() {
                // No step failed: the transaction could not begin (busy) or
                // the commit itself failed.
                let name = if run.steps.is_empty() { "begin" } else { "commit" };
                run.steps.retain(|s| s.name != "commit");
                run.steps.push(Step { name, outcome: "failed", duration_us: 0 });
            }
            let recorded = ctx.write(|tx, stamp| {
                record(tx, stamp, operation, subject_on_failure, &started_at, &run, Some(&e), attempts)
            });
            if let Err(re) = recorded {
                tracing::error!(error = %re, operation, "could not record the failed run");
            }
            Err(e)
        }
    }
}
