//! Appointments: `scheduled → confirmed → checked_in`, or `cancelled` /
//! `no_show`, each holding a bay reservation while active. Booking and
//! check-in are orchestrators of their own ([`book`], [`check_in`]).

pub mod book;
pub mod check_in;
pub mod rules;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit;
use crate::clock::{rfc3339, Stamp};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::events::{self, kind, Kind};
use crate::settings::{self, ServiceType};
use crate::validate::{parse_hhmm, Validate, Violations, MAX_TEXT};
use rules::{FreeStart, Slot};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[ts(rename = "AppointmentStatus")]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Scheduled,
    Confirmed,
    CheckedIn,
    Cancelled,
    NoShow,
}

impl Status {
    pub const ALL: [Status; 5] =
        [Status::Scheduled, Status::Confirmed, Status::CheckedIn, Status::Cancelled, Status::NoShow];
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Scheduled => "scheduled",
            Status::Confirmed => "confirmed",
            Status::CheckedIn => "checked_in",
            Status::Cancelled => "cancelled",
            Status::NoShow => "no_show",
        }
    }
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// The only moves an appointment can make.
pub fn can_move(from: Status, to: Status) -> bool {
    use Status::*;
    matches!(
        (from, to),
        (Scheduled, Confirmed)
            | (Scheduled, CheckedIn)
            | (Confirmed, CheckedIn)
            | (Scheduled, Cancelled)
            | (Confirmed, Cancelled)
            | (Scheduled, NoShow)
            | (Confirmed, NoShow)
    )
}

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct Appointment {
    pub id: String,
    pub customer_id: String,
    pub vehicle_id: String,
    pub service_type_id: String,
    pub bay_id: String,
    pub scheduled_date: String,
    pub scheduled_time: String,
    pub duration_minutes: i64,
    pub starts_at: String,
    pub ends_at: String,
    pub status: Status,
    pub notes: String,
    pub vehicle_owner_mismatch: bool,
    pub job_card_id: Option<String>,
    pub created_at: String,
}

/// The appointment's columns, as `a.*` of `FROM appointments a` (lists join
/// the customer and the vehicle, whose `id` and `notes` would clash).
const COLUMNS: &str = "a.id, a.customer_id, a.vehicle_id, a.service_type_id, a.bay_id, a.scheduled_date,
    a.scheduled_time, a.duration_minutes, a.starts_at, a.ends_at, a.status, a.notes, a.vehicle_owner_mismatch,
    a.job_card_id, a.created_at";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<Appointment> {
    let status: String = r.get(10)?;
    Ok(Appointment {
        id: r.get(0)?,
        customer_id: r.get(1)?,
        vehicle_id: r.get(2)?,
        service_type_id: r.get(3)?,
        bay_id: r.get(4)?,
        scheduled_date: r.get(5)?,
        scheduled_time: r.get(6)?,
        duration_minutes: r.get(7)?,
        starts_at: r.get(8)?,
        ends_at: r.get(9)?,
        status: Status::parse(&status).unwrap_or(Status::Scheduled),
        notes: r.get(11)?,
        vehicle_owner_mismatch: r.get(12)?,
        job_card_id: r.get(13)?,
        created_at: r.get(14)?,
    })
}

pub fn get(conn: &Connection, id: &str) -> Result<Appointment> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM appointments a WHERE a.id = ?1"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or_else(|| Error::not_found("appointment", id))
}

pub fn service_type_by_code(conn: &Connection, code: &str) -> Result<ServiceType> {
    settings::service_types(conn)?
        .into_iter()
        .find(|t| t.code == code && t.active)
        .ok_or_else(|| Error::field("service_type", "no such active service type"))
}

fn parse_slot(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| Error::Internal("bad stored time".into()))
}

/// Active bays that have `capability` (any bay when none is needed), by name.
pub fn capable_bays(conn: &Connection, branch_id: &str, capability: Option<&str>) -> Result<Vec<settings::Bay>> {
    Ok(settings::bays(conn, branch_id)?
        .into_iter()
        .filter(|b| b.active && capability.is_none_or(|c| b.capabilities.iter().any(|x| x == c)))
        .collect())
}

/// Active reservations of a bay that touch `[from, to)`.
pub fn busy(conn: &Connection, bay_id: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Slot>> {
    let mut stmt = conn.prepare_cached(
        "SELECT starts_at, ends_at FROM bay_reservations
         WHERE bay_id = ?1 AND active = 1 AND starts_at < ?3 AND ends_at > ?2 AND starts_at >= ?4 ORDER BY starts_at",
    )?;
    // A visit lasts at most a day (service types and estimates are capped at
    // 1440 minutes), so nothing starting earlier can reach `from`: the bound
    // keeps the index range short on a bay with years of bookings.
    let earliest = from - chrono::Duration::days(1);
    let rows: Vec<(String, String)> = stmt
        .query_map(params![bay_id, rfc3339(from), rfc3339(to), rfc3339(earliest)], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    rows.into_iter().map(|(a, b)| Ok(Slot { starts_at: parse_slot(&a)?, ends_at: parse_slot(&b)? })).collect()
}

/// Everything the pure rules need about the branch.
pub struct BranchCalendar {
    pub branch: settings::Branch,
    pub tz: Tz,
    pub hours: Vec<settings::OpeningInterval>,
    pub closures: Vec<(String, String)>,
}

pub fn calendar(conn: &Connection) -> Result<BranchCalendar> {
    let branch = settings::branch(conn)?;
    let tz: Tz = branch.time_zone.parse().map_err(|_| Error::Internal("bad branch time zone".into()))?;
    Ok(BranchCalendar {
        hours: settings::opening_hours(conn, &branch.id)?,
        closures: settings::closures(conn, &branch.id)?.into_iter().map(|c| (c.date, c.reason)).collect(),
        tz,
        branch,
    })
}

/// The next free starts for a visit of `duration` on `bays`, from `date`.
#[allow(clippy::too_many_arguments)]
pub fn next_free(
    conn: &Connection,
    cal: &BranchCalendar,
    bays: &[settings::Bay],
    date: NaiveDate,
    duration: i64,
    now: DateTime<Utc>,
    days: u32,
    want: usize,
) -> Result<Vec<FreeStart>> {
    let from = date.and_hms_opt(0, 0, 0).map(|d| d.and_utc() - chrono::Duration::days(1)).unwrap_or(now);
    let to = from + chrono::Duration::days(i64::from(days) + 2);
    let busy_bays =
        bays.iter().map(|b| Ok((b.id.clone(), busy(conn, &b.id, from, to)?))).collect::<Result<Vec<_>>>()?;
    Ok(rules::free_starts(cal.tz, &cal.hours, &cal.closures, &busy_bays, date, days, duration, now, want))
}

/// Why an appointment cannot move, as the desk would say it.
fn wrong_status_message(from: Status, to: Status) -> String {
    let now = match from {
        Status::Scheduled => "is booked",
        Status::Confirmed => "is confirmed",
        Status::CheckedIn => "is already checked in",
        Status::Cancelled => "was cancelled",
        Status::NoShow => "was marked as a no-show",
    };
    if from == to {
        let now = match from {
            Status::Cancelled => "was already cancelled",
            Status::NoShow => "was already marked as a no-show",
            Status::Scheduled => "is already booked",
            Status::Confirmed => "is already confirmed",
            Status::CheckedIn => now,
        };
        return format!("This appointment {now}.");
    }
    let action = match to {
        Status::Scheduled => "booked again",
        Status::Confirmed => "confirmed",
        Status::CheckedIn => "checked in",
        Status::Cancelled => "cancelled",
        Status::NoShow => "marked as a no-show",
    };
    format!("This appointment {now}, so it cannot be {action}.")
}

pub fn set_status_tx(tx: &Transaction, stamp: &Stamp, a: &Appointment, to: Status) -> Result<()> {
    if !can_move(a.status, to) {
        return Err(Error::conflict(
            "wrong_status",
            wrong_status_message(a.status, to),
            json!({ "appointment_id": a.id, "status": a.status.as_str() }),
        ));
    }
    tx.prepare_cached("UPDATE appointments SET status = ?2, updated_at = ?3 WHERE id = ?1")?.execute(params![
        a.id,
        to.as_str(),
        stamp.at()
    ])?;
    if matches!(to, Status::Cancelled | Status::NoShow) {
        tx.prepare_cached("UPDATE bay_reservations SET active = 0 WHERE appointment_id = ?1")?.execute([&a.id])?;
    }
    Ok(())
}

// ---- commands ----------------------------------------------------------------

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityInput {
    /// YYYY-MM-DD, branch local.
    pub date: String,
    /// Service type code (e.g. oil_change).
    pub service_type: String,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub estimated_duration: Option<i64>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub bay_id: Option<String>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub branch_id: Option<String>,
}

impl Validate for AvailabilityInput {
    fn validate(&self, v: &mut Violations) {
        v.date("date", &self.date);
        v.required("service_type", &self.service_type, 50);
        if let Some(d) = self.estimated_duration {
            v.range("estimated_duration", d, 5, 1440);
        }
        v.optional("bay_id", self.bay_id.as_deref(), 100);
        v.optional("branch_id", self.branch_id.as_deref(), 100);
    }
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct Availability {
    pub date: String,
    pub duration_minutes: i64,
    pub free: Vec<FreeStart>,
}

pub fn check_branch(cal: &BranchCalendar, branch_id: Option<&str>) -> Result<()> {
    match branch_id {
        Some(b) if b != cal.branch.id => Err(Error::not_found("branch", b)),
        _ => Ok(()),
    }
}

pub fn availability_cmd(ctx: &mut Ctx, input: AvailabilityInput) -> Result<Availability> {
    let conn = ctx.conn();
    let cal = calendar(conn)?;
    check_branch(&cal, input.branch_id.as_deref())?;
    let st = service_type_by_code(conn, &input.service_type)?;
    let duration = input.estimated_duration.unwrap_or(st.duration_minutes);
    let mut bays = capable_bays(conn, &cal.branch.id, st.required_capability.as_deref())?;
    if let Some(b) = &input.bay_id {
        bays.retain(|x| &x.id == b);
        if bays.is_empty() {
            return Err(Error::field("bay_id", "is not an active bay with the capability this service needs"));
        }
    }
    let date = crate::validate::date_field("date", &input.date)?;
    // Every free start of that day: one entry per start, on the first free bay.
    let free = next_free(conn, &cal, &bays, date, duration, ctx.clock.now(), 1, 200)?;
    Ok(Availability { date: input.date, duration_minutes: duration, free })
}

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct AppointmentAction {
    pub appointment_id: String,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub reason: String,
}

impl Validate for AppointmentAction {
    fn validate(&self, v: &mut Violations) {
        v.required("appointment_id", &self.appointment_id, 100);
        v.max_len("reason", &self.reason, MAX_TEXT);
    }
}

fn transition(
    ctx: &mut Ctx,
    input: &AppointmentAction,
    to: Status,
    event: Kind<events::AppointmentStatusChanged>,
) -> Result<Appointment> {
    ctx.write(|tx, stamp| {
        let a = get(tx, &input.appointment_id)?;
        set_status_tx(tx, stamp, &a, to)?;
        let action = match to {
            Status::Confirmed => "appointments.confirm",
            Status::Cancelled => "appointments.cancel",
            _ => "appointments.update",
        };
        audit::record_tx(tx, stamp, action, "appointment", Some(&a.id), json!({}))?;
        events::append_tx(
            tx,
            stamp,
            event,
            &a.id,
            &events::AppointmentStatusChanged {
                appointment_id: a.id.clone(),
                customer_id: a.customer_id.clone(),
                reason: input.reason.trim().into(),
            },
        )?;
        get(tx, &a.id)
    })
}

pub fn confirm_cmd(ctx: &mut Ctx, input: AppointmentAction) -> Result<Appointment> {
    transition(ctx, &input, Status::Confirmed, kind::AppointmentConfirmed)
}

pub fn cancel_cmd(ctx: &mut Ctx, input: AppointmentAction) -> Result<Appointment> {
    transition(ctx, &input, Status::Cancelled, kind::AppointmentCancelled)
}

#[derive(Debug, Default, Deserialize, ts_rs::TS)]
#[ts(rename = "AppointmentListInput")]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct ListInput {
    /// First day (YYYY-MM-DD, branch local); today by default.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub from: Option<String>,
    /// Last day, inclusive; `from` by default.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub to: Option<String>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub status: Option<Status>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub bay_id: Option<String>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub customer_id: Option<String>,
}

impl Validate for ListInput {
    fn validate(&self, v: &mut Violations) {
        for (f, d) in [("from", &self.from), ("to", &self.to)] {
            if let Some(d) = d {
                v.date(f, d);
            }
        }
        v.optional("bay_id", self.bay_id.as_deref(), 100);
        v.optional("customer_id", self.customer_id.as_deref(), 100);
    }
}

/// An appointment as a list shows it: the appointment, and who and which car
/// it is for (read-only display fields, as the customer and vehicle are now).
#[derive(Debug, Serialize, ts_rs::TS)]
pub struct ListedAppointment {
    #[serde(flatten)]
    pub appointment: Appointment,
    /// The appointment's customer (who booked), not necessarily the
    /// vehicle's owner: see `vehicle_owner_mismatch`.
    pub customer_name: String,
    /// E.164, or `None` when the customer has none.
    pub customer_phone: Option<String>,
    pub license_plate: String,
    pub make: String,
    pub model: String,
    pub year: Option<i64>,
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct AppointmentList {
    pub appointments: Vec<ListedAppointment>,
}

/// One query: the day range walks `appointments_date`, and each row finds
/// its customer and vehicle by primary key (no lookup per row afterwards).
fn list_sql() -> String {
    format!(
        "SELECT {COLUMNS}, c.name, c.phone, v.license_plate, v.make, v.model, v.year
         FROM appointments a
         JOIN customers c ON c.id = a.customer_id
         JOIN vehicles v ON v.id = a.vehicle_id
         WHERE a.scheduled_date BETWEEN ?1 AND ?2 AND (?3 IS NULL OR a.status = ?3) AND (?4 IS NULL OR a.bay_id = ?4)
           AND (?5 IS NULL OR a.customer_id = ?5)
         ORDER BY a.scheduled_date, a.scheduled_time, a.id LIMIT 1000"
    )
}

pub fn list_cmd(ctx: &mut Ctx, input: ListInput) -> Result<AppointmentList> {
    let cal = calendar(ctx.conn())?;
    let today = ctx.clock.now().with_timezone(&cal.tz).date_naive().format("%Y-%m-%d").to_string();
    let from = input.from.clone().unwrap_or(today);
    let to = input.to.clone().unwrap_or(from.clone());
    let mut stmt = ctx.conn().prepare_cached(&list_sql())?;
    let appointments = stmt
        .query_map(params![from, to, input.status.map(Status::as_str), input.bay_id, input.customer_id], |r| {
            Ok(ListedAppointment {
                appointment: from_row(r)?,
                customer_name: r.get(15)?,
                customer_phone: r.get(16)?,
                license_plate: r.get(17)?,
                make: r.get(18)?,
                model: r.get(19)?,
                year: r.get(20)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AppointmentList { appointments })
}

/// Minutes after midnight of an `HH:MM` input, or a 422 naming the field.
pub fn minutes_of(field: &str, hhmm: &str) -> Result<u32> {
    parse_hhmm(hhmm).filter(|m| *m < 24 * 60).ok_or_else(|| Error::field(field, "must be a time HH:MM"))
}

#[cfg(test)]
mod tests {
    /// What SQLite plans for the list, one line per step.
    fn plan(sql: &str) -> Vec<String> {
        let conn = crate::db::open_in_memory().expect("schema");
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).expect("plan");
        let params = rusqlite::params!["2026-11-25", "2026-11-25", None::<String>, None::<String>, None::<String>];
        stmt.query_map(params, |r| r.get::<_, String>(3)).expect("rows").collect::<Result<_, _>>().expect("plan")
    }

    #[test]
    fn the_day_list_walks_the_date_index_and_finds_names_by_key() {
        let steps = plan(&super::list_sql());
        let expected = [
            "SEARCH a USING INDEX appointments_date (scheduled_date>? AND scheduled_date<?)",
            "SEARCH c USING INDEX sqlite_autoindex_customers_1 (id=?)",
            "SEARCH v USING INDEX sqlite_autoindex_vehicles_1 (id=?)",
        ];
        assert_eq!(
            steps.iter().filter(|s| s.starts_with("SEARCH") || s.starts_with("SCAN")).collect::<Vec<_>>(),
            expected,
            "the days' range first, then one key lookup each for the customer and the car: {steps:?}"
        );
    }
}
