//! Time and ids are injected, so tests are exact and repeatable.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, SecondsFormat, Utc};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until told to move: for tests.
pub struct FixedClock(Mutex<DateTime<Utc>>);

impl FixedClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        FixedClock(Mutex::new(at))
    }
    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }
    pub fn advance(&self, by: chrono::Duration) {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *t += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Where new record ids come from.
pub trait IdSource: Send + Sync {
    fn new_id(&self) -> String;
}

/// UUIDv7: unique across devices and sortable by creation time.
pub struct UuidV7Ids;

impl IdSource for UuidV7Ids {
    fn new_id(&self) -> String {
        uuid::Uuid::now_v7().to_string()
    }
}

/// Predictable UUIDv7-shaped ids for tests: ...-000000000001, ...-000000000002.
#[derive(Default)]
pub struct SequentialIds(AtomicU64);

impl IdSource for SequentialIds {
    fn new_id(&self) -> String {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        format!("00000000-0000-7000-8000-{n:012x}")
    }
}

/// Who makes a change and when: passed to every write.
pub struct Stamp<'a> {
    pub now: DateTime<Utc>,
    pub ids: &'a dyn IdSource,
    pub actor_id: Option<&'a str>,
}

impl Stamp<'_> {
    /// The time as stored: RFC 3339 in UTC with milliseconds.
    pub fn at(&self) -> String {
        rfc3339(self.now)
    }
    pub fn new_id(&self) -> String {
        self.ids.new_id()
    }
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}
