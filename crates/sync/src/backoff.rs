//! When to try again (docs/SYNC.md section 3): capped exponential backoff
//! with full jitter, never shorter than the cloud's `Retry-After`.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The longest `Retry-After` honoured (a broken header must not stop sync for days).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The backoff's shape: attempt `n` (0 after a success) waits a random
/// time up to `min(cap, base × 2ⁿ)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { base: Duration::from_secs(1), cap: Duration::from_secs(300) }
    }
}

impl Backoff {
    /// The ceiling of the wait after `failures` consecutive failures before this one.
    pub fn ceiling(&self, failures: u32) -> Duration {
        let factor = 1u32.checked_shl(failures.min(31)).unwrap_or(u32::MAX);
        self.base.checked_mul(factor).unwrap_or(self.cap).min(self.cap)
    }

    /// The wait: `jitter` (uniform in [0, 1]) of the ceiling, or the
    /// `Retry-After` when that is longer.
    pub fn delay(&self, failures: u32, jitter: f64, retry_after: Option<Duration>) -> Duration {
        let jittered = self.ceiling(failures).mul_f64(jitter.clamp(0.0, 1.0));
        match retry_after {
            Some(after) => jittered.max(after.min(MAX_RETRY_AFTER)),
            None => jittered,
        }
    }
}

/// A `Retry-After` value: whole seconds, or an HTTP date (a date in the
/// past is no wait). `None` when it is neither.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO).min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_wait_after_failures() {
        let b = Backoff::default();
        let s = Duration::from_secs;
        // (scenario, failures before, jitter, Retry-After, wait)
        let cases = [
            ("the first failure waits up to a second", 0, 1.0, None, s(1)),
            ("full jitter may not wait at all", 0, 0.0, None, s(0)),
            ("half the ceiling", 3, 0.5, None, s(4)),
            ("doubling per failure", 4, 1.0, None, s(16)),
            ("capped at five minutes", 9, 1.0, None, s(300)),
            ("still capped after many failures", 1000, 1.0, None, s(300)),
            ("a longer Retry-After wins", 0, 1.0, Some(s(30)), s(30)),
            ("a shorter Retry-After does not shorten the backoff", 6, 1.0, Some(s(2)), s(64)),
            ("a Retry-After beyond the cap is honoured", 0, 0.2, Some(s(900)), s(900)),
            ("an absurd Retry-After is clipped to a day", 0, 0.2, Some(s(10_000_000)), MAX_RETRY_AFTER),
        ];
        for (scenario, failures, jitter, after, want) in cases {
            assert_eq!(b.delay(failures, jitter, after), want, "{scenario}");
        }
        let short = Backoff { base: Duration::from_millis(10), cap: Duration::from_millis(50) };
        assert_eq!(short.delay(2, 1.0, None), Duration::from_millis(40), "a test's short base");
        assert_eq!(short.delay(5, 1.0, None), Duration::from_millis(50), "a test's short cap");
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = Utc.with_ymd_and_hms(2015, 10, 21, 7, 28, 0).unwrap();
        let cases = [
            ("seconds", "120", Some(Duration::from_secs(120))),
            ("seconds with spaces", " 5 ", Some(Duration::from_secs(5))),
            ("an HTTP date a minute ahead", "Wed, 21 Oct 2015 07:29:00 GMT", Some(Duration::from_secs(60))),
            ("an HTTP date in the past", "Wed, 21 Oct 2015 07:00:00 GMT", Some(Duration::ZERO)),
            ("negative seconds", "-5", None),
            ("garbage", "soon", None),
        ];
        for (scenario, value, want) in cases {
            assert_eq!(parse_retry_after(value, now), want, "{scenario}");
        }
    }
}
