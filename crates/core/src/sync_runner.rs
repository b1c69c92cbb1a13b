//! The sync engine as the core sees it: the trait of whoever runs a drain
//! (`crates/sync`), installed by the transports with
//! [`crate::Api::set_sync_runner`], and what a drain answers. Apart from
//! `sync` so the command context can hold a runner.

use serde::Serialize;

/// Runs one drain of the outbox to the cloud (`crates/sync` implements it).
/// Called with no database lock held; it takes the connection itself.
pub trait SyncRunner: Send + Sync {
    fn drain(&self) -> DrainReport;
}

/// How a drain ended.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum DrainOutcome {
    /// Nothing more to send (every event delivered, or held behind a quarantined one).
    Done,
    /// An answer said wait (backoff, Retry-After, offline): `next_attempt_at`.
    Waiting,
    /// Sync is halted (`sequence_reused`): the owner must act.
    Halted,
    /// No endpoint or no token.
    NotConfigured,
    /// Asked to stop before the backlog was empty.
    Stopped,
}

/// What one drain did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct DrainReport {
    pub outcome: DrainOutcome,
    /// Batches the cloud answered.
    pub batches: u64,
    /// Events the cloud now holds (accepted or duplicate).
    pub delivered: u64,
    /// Events quarantined during this drain.
    pub quarantined: u64,
    /// Why it stopped, when not `done` (no token, the last error).
    pub message: Option<String>,
}

impl DrainReport {
    pub fn new(outcome: DrainOutcome) -> Self {
        DrainReport { outcome, batches: 0, delivered: 0, quarantined: 0, message: None }
    }
}
