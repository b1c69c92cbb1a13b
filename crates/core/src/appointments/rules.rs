//! The pure rules of booking: a branch-local date and time to a UTC
//! interval (refusing DST gaps and changes), opening hours and closures,
//! overlaps, and the next free start times. No database here.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::settings::OpeningInterval;
use crate::validate::parse_hhmm;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotProblem {
    /// The local time does not exist or happens twice (a DST change), or the
    /// visit would span one.
    DstChange,
    /// The branch is closed that day (a closure).
    Closed(String),
    /// Outside the opening hours, or past closing time.
    OutsideHours,
    /// Starts before now.
    InThePast,
}

/// A visit in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// The UTC interval of a visit starting at `start_min` minutes after local
/// midnight on `date` and lasting `duration_min`, in `tz`.
pub fn resolve(tz: Tz, date: NaiveDate, start_min: u32, duration_min: i64) -> Result<Slot, SlotProblem> {
    let end_min = i64::from(start_min) + duration_min;
    if end_min > 24 * 60 {
        return Err(SlotProblem::OutsideHours);
    }
    let local = |m: i64| {
        let t = if m == 24 * 60 {
            date.succ_opt().map(|d| d.and_time(NaiveTime::MIN))
        } else {
            NaiveTime::from_hms_opt((m / 60) as u32, (m % 60) as u32, 0).map(|t| date.and_time(t))
        };
        t.map(|t| tz.from_local_datetime(&t))
    };
    let (Some(LocalResult::Single(start)), Some(LocalResult::Single(end))) =
        (local(i64::from(start_min)), local(end_min))
    else {
        return Err(SlotProblem::DstChange);
    };
    if end.naive_utc() - start.naive_utc() != Duration::minutes(duration_min) {
        return Err(SlotProblem::DstChange);
    }
    Ok(Slot { starts_at: start.with_timezone(&Utc), ends_at: end.with_timezone(&Utc) })
}

/// The branch is open on `date` for the whole of `[start_min, end_min)`.
pub fn check_open(
    hours: &[OpeningInterval],
    closures: &[(String, String)],
    date: NaiveDate,
    start_min: u32,
    end_min: u32,
) -> Result<(), SlotProblem> {
    let day = date.format("%Y-%m-%d").to_string();
    if let Some((_, reason)) = closures.iter().find(|(d, _)| *d == day) {
        return Err(SlotProblem::Closed(reason.clone()));
    }
    let weekday = i64::from(date.weekday().number_from_monday());
    let inside = open_spans(hours, weekday).into_iter().any(|(o, c)| o <= start_min && end_min <= c);
    if inside {
        Ok(())
    } else {
        Err(SlotProblem::OutsideHours)
    }
}

/// A weekday's opening intervals as minutes, sorted, with touching ones
/// joined (08:00-12:00 and 12:00-17:00 are one span).
pub fn open_spans(hours: &[OpeningInterval], weekday: i64) -> Vec<(u32, u32)> {
    let mut spans: Vec<(u32, u32)> = hours
        .iter()
        .filter(|h| h.weekday == weekday)
        .filter_map(|h| Some((parse_hhmm(&h.opens)?, parse_hhmm(&h.closes)?)))
        .collect();
    spans.sort_unstable();
    let mut joined: Vec<(u32, u32)> = Vec::new();
    for (o, c) in spans {
        match joined.last_mut() {
            Some(last) if o <= last.1 => last.1 = last.1.max(c),
            _ => joined.push((o, c)),
        }
    }
    joined
}

pub fn overlaps(a: Slot, b: Slot) -> bool {
    a.starts_at < b.ends_at && b.starts_at < a.ends_at
}

/// Every rule for one visit: real local time, open for all of it, not past.
#[allow(clippy::too_many_arguments)]
pub fn check_visit(
    tz: Tz,
    hours: &[OpeningInterval],
    closures: &[(String, String)],
    date: NaiveDate,
    start_min: u32,
    duration_min: i64,
    now: DateTime<Utc>,
) -> Result<Slot, SlotProblem> {
    let slot = resolve(tz, date, start_min, duration_min)?;
    check_open(hours, closures, date, start_min, start_min + duration_min as u32)?;
    if slot.starts_at < now {
        return Err(SlotProblem::InThePast);
    }
    Ok(slot)
}

/// A free start: date, local time and the bay.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
pub struct FreeStart {
    pub date: String,
    pub time: String,
    pub bay_id: String,
}

/// Minutes between candidate start times.
pub const STEP_MINUTES: u32 = 15;

/// The first `want` free starts from `from_date` on (for `days` days), on
/// any of `bays` (id, its busy slots), in time order.
#[allow(clippy::too_many_arguments)]
pub fn free_starts(
    tz: Tz,
    hours: &[OpeningInterval],
    closures: &[(String, String)],
    bays: &[(String, Vec<Slot>)],
    from_date: NaiveDate,
    days: u32,
    duration_min: i64,
    now: DateTime<Utc>,
    want: usize,
) -> Vec<FreeStart> {
    let mut out = Vec::new();
    for offset in 0..days {
        let Some(date) = from_date.checked_add_days(chrono::Days::new(u64::from(offset))) else { break };
        let weekday = i64::from(date.weekday().number_from_monday());
        let mut starts: Vec<u32> = hours
            .iter()
            .filter(|h| h.weekday == weekday)
            .filter_map(|h| Some((parse_hhmm(&h.opens)?, parse_hhmm(&h.closes)?)))
            .flat_map(|(o, c)| (o..c).step_by(STEP_MINUTES as usize))
            .collect();
        starts.sort_unstable();
        starts.dedup();
        for start in starts {
            let Ok(slot) = check_visit(tz, hours, closures, date, start, duration_min, now) else { continue };
            if let Some((bay, _)) = bays.iter().find(|(_, busy)| !busy.iter().any(|b| overlaps(*b, slot))) {
                out.push(FreeStart {
                    date: date.format("%Y-%m-%d").to_string(),
                    time: format!("{:02}:{:02}", start / 60, start % 60),
                    bay_id: bay.clone(),
                });
                if out.len() == want {
                    return out;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours() -> Vec<OpeningInterval> {
        let iv = |d, o: &str, c: &str| OpeningInterval { weekday: d, opens: o.into(), closes: c.into() };
        vec![
            iv(1, "08:00", "12:00"),
            iv(1, "13:00", "18:00"),
            iv(7, "00:00", "06:00"),
            iv(6, "09:00", "13:00"),
            iv(6, "13:00", "15:00"),
        ]
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn visits() {
        let ny: Tz = "America/New_York".parse().unwrap();
        let now = t("2026-11-01T00:00:00Z");
        let closures = vec![("2026-12-28".to_string(), "Stocktake".to_string())];
        // (scenario, local date, start minute, duration, expected)
        type Case = (&'static str, &'static str, u32, i64, Result<(), SlotProblem>);
        let cases: &[Case] = &[
            ("a Monday morning", "2026-11-23", 9 * 60, 60, Ok(())),
            ("ends exactly at closing", "2026-11-23", 17 * 60, 60, Ok(())),
            ("past closing time", "2026-11-23", 17 * 60 + 30, 60, Err(SlotProblem::OutsideHours)),
            ("across the lunch break", "2026-11-23", 11 * 60 + 30, 60, Err(SlotProblem::OutsideHours)),
            ("across two touching intervals", "2026-11-28", 12 * 60 + 30, 60, Ok(())),
            ("a Tuesday (closed all day)", "2026-11-24", 9 * 60, 60, Err(SlotProblem::OutsideHours)),
            ("a closure", "2026-12-28", 9 * 60, 60, Err(SlotProblem::Closed("Stocktake".into()))),
            ("in the past", "2026-10-26", 9 * 60, 60, Err(SlotProblem::InThePast)),
            // 2027-03-14 is a Sunday: clocks go 02:00 -> 03:00 in New York.
            ("a local time that does not exist", "2027-03-14", 2 * 60 + 30, 30, Err(SlotProblem::DstChange)),
            ("across the DST change", "2027-03-14", 60 + 30, 60, Err(SlotProblem::DstChange)),
            ("after the DST change", "2027-03-14", 3 * 60, 60, Ok(())),
            // 2026-11-01 is a Sunday: 01:00-02:00 happens twice.
            ("an ambiguous local time", "2026-11-01", 60 + 30, 15, Err(SlotProblem::DstChange)),
        ];
        for (name, date, start, duration, want) in cases {
            let got = check_visit(ny, &hours(), &closures, d(date), *start, *duration, now).map(|_| ());
            assert_eq!(&got, want, "{name}");
        }
    }

    #[test]
    fn a_slot_is_in_utc() {
        let ny: Tz = "America/New_York".parse().unwrap();
        let s = resolve(ny, d("2026-11-23"), 9 * 60, 60).unwrap();
        assert_eq!(s.starts_at, t("2026-11-23T14:00:00Z"), "EST is UTC-5");
        assert_eq!(s.ends_at, t("2026-11-23T15:00:00Z"));
    }

    #[test]
    fn next_free_starts_skip_busy_bays_and_closed_days() {
        let utc: Tz = "UTC".parse().unwrap();
        let busy = |a: &str, b: &str| Slot { starts_at: t(a), ends_at: t(b) };
        let bays = vec![
            ("bay1".to_string(), vec![busy("2026-11-23T08:00:00Z", "2026-11-23T11:00:00Z")]),
            ("bay2".to_string(), vec![busy("2026-11-23T08:00:00Z", "2026-11-23T10:00:00Z")]),
        ];
        let got = free_starts(utc, &hours(), &[], &bays, d("2026-11-23"), 7, 60, t("2026-11-01T00:00:00Z"), 3);
        let times: Vec<(&str, &str, &str)> =
            got.iter().map(|f| (f.date.as_str(), f.time.as_str(), f.bay_id.as_str())).collect();
        assert_eq!(
            times,
            vec![("2026-11-23", "10:00", "bay2"), ("2026-11-23", "10:15", "bay2"), ("2026-11-23", "10:30", "bay2")]
        );
        let late = free_starts(utc, &hours(), &[], &bays, d("2026-11-24"), 7, 60, t("2026-11-01T00:00:00Z"), 1);
        assert_eq!(late[0].date, "2026-11-28", "Tuesday to Friday closed: Saturday is next");
    }
}
