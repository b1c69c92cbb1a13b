//! Reports for managers: the day's sales, technicians' output and the money
//! still owed. Days are the branch's local days.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

use crate::api::Ctx;
use crate::clock::rfc3339;
use crate::error::{Error, Result};
use crate::totals::RateTotal;
use crate::validate::{Validate, Violations};

fn branch_tz(conn: &Connection) -> Result<Tz> {
    crate::settings::branch(conn)?.time_zone.parse().map_err(|_| Error::Internal("bad branch time zone".into()))
}

/// The UTC instants where the local day `d` starts and the next begins.
pub fn day_bounds(tz: Tz, d: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start_of = |d: NaiveDate| {
        let midnight = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        tz.from_local_datetime(&midnight)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| midnight.and_utc())
    };
    (start_of(d), start_of(d.succ_opt().unwrap_or(d)))
}

fn parse_day(field: &str, s: &Option<String>, default: NaiveDate) -> Result<NaiveDate> {
    match s {
        None => Ok(default),
        Some(s) => {
            NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| Error::field(field, "must be a date YYYY-MM-DD"))
        }
    }
}

fn check_day(v: &mut Violations, field: &str, s: &Option<String>) {
    if let Some(s) = s {
        if NaiveDate::parse_from_str(s, "%Y-%m-%d").is_err() {
            v.add(field, "must be a date YYYY-MM-DD");
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayInput {
    /// YYYY-MM-DD, branch local; today by default.
    #[serde(default)]
    pub date: Option<String>,
}

impl Validate for DayInput {
    fn validate(&self, v: &mut Violations) {
        check_day(v, "date", &self.date);
    }
}

#[derive(Debug, Serialize)]
pub struct DailySales {
    pub date: String,
    pub currency: String,
    pub invoices: i64,
    pub subtotal: i64,
    pub discount: i64,
    pub tax_total: i64,
    pub total: i64,
    /// Paid so far on the day's invoices.
    pub collected: i64,
    pub outstanding: i64,
    pub tax_summary: Vec<RateTotal>,
    pub job_cards_completed: i64,
    pub voided: i64,
}

pub fn daily_sales_cmd(ctx: &mut Ctx, input: DayInput) -> Result<DailySales> {
    let conn = ctx.conn();
    let tz = branch_tz(conn)?;
    let day = parse_day("date", &input.date, ctx.clock.now().with_timezone(&tz).date_naive())?;
    let (from, to) = day_bounds(tz, day);
    let (from, to) = (rfc3339(from), rfc3339(to));
    let mut out = DailySales {
        date: day.format("%Y-%m-%d").to_string(),
        currency: crate::settings::branch(conn)?.currency,
        invoices: 0,
        subtotal: 0,
        discount: 0,
        tax_total: 0,
        total: 0,
        collected: 0,
        outstanding: 0,
        tax_summary: Vec::new(),
        job_cards_completed: 0,
        voided: 0,
    };
    let mut stmt = conn.prepare_cached(
        "SELECT status, subtotal, discount, tax_total, total, amount_paid, balance_due, tax_summary FROM invoices
         WHERE issued_at >= ?1 AND issued_at < ?2",
    )?;
    let mut rows = stmt.query(params![from, to])?;
    while let Some(r) = rows.next()? {
        let status: String = r.get(0)?;
        if status == "void" {
            out.voided += 1;
            continue;
        }
        out.invoices += 1;
        out.subtotal += r.get::<_, i64>(1)?;
        out.discount += r.get::<_, i64>(2)?;
        out.tax_total += r.get::<_, i64>(3)?;
        out.total += r.get::<_, i64>(4)?;
        out.collected += r.get::<_, i64>(5)?;
        out.outstanding += r.get::<_, i64>(6)?;
        let summary: Vec<RateTotal> = serde_json::from_str(&r.get::<_, String>(7)?).unwrap_or_default();
        for s in summary {
            match out.tax_summary.iter_mut().find(|x| x.rate_bp == s.rate_bp) {
                Some(x) => {
                    x.net += s.net;
                    x.tax += s.tax;
                }
                None => out.tax_summary.push(s),
            }
        }
    }
    out.tax_summary.sort_by_key(|r| r.rate_bp);
    out.job_cards_completed = conn.query_row(
        "SELECT count(*) FROM job_cards WHERE status = 'completed' AND completed_at >= ?1 AND completed_at < ?2",
        params![from, to],
        |r| r.get(0),
    )?;
    Ok(out)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeInput {
    /// First day, branch local; 6 days before `to` by default.
    #[serde(default)]
    pub from: Option<String>,
    /// Last day, inclusive; today by default.
    #[serde(default)]
    pub to: Option<String>,
}

impl Validate for RangeInput {
    fn validate(&self, v: &mut Violations) {
        check_day(v, "from", &self.from);
        check_day(v, "to", &self.to);
    }
}

#[derive(Debug, Serialize)]
pub struct TechnicianOutput {
    pub staff_id: String,
    pub name: String,
    pub job_cards_completed: i64,
    /// Thousandths of an hour.
    pub labour_hours: i64,
    pub labour_revenue: i64,
    pub revenue: i64,
}

#[derive(Debug, Serialize)]
pub struct Productivity {
    pub from: String,
    pub to: String,
    pub technicians: Vec<TechnicianOutput>,
}

pub fn technician_productivity_cmd(ctx: &mut Ctx, input: RangeInput) -> Result<Productivity> {
    let conn = ctx.conn();
    let tz = branch_tz(conn)?;
    let to_day = parse_day("to", &input.to, ctx.clock.now().with_timezone(&tz).date_naive())?;
    let from_day = parse_day("from", &input.from, to_day - chrono::Duration::days(6))?;
    if from_day > to_day {
        return Err(Error::field("from", "must not be after to"));
    }
    let (from, _) = day_bounds(tz, from_day);
    let (_, to) = day_bounds(tz, to_day);
    let mut stmt = conn.prepare_cached(
        "SELECT s.id, s.name,
                count(DISTINCT j.id),
                coalesce(sum(CASE WHEN l.kind = 'labour' THEN l.quantity END), 0),
                coalesce(sum(CASE WHEN l.kind = 'labour' THEN (l.unit_price * l.quantity + 500) / 1000 END), 0)
         FROM staff s
         JOIN job_cards j ON j.technician_id = s.id AND j.status = 'completed' AND j.completed_at >= ?1 AND j.completed_at < ?2
         LEFT JOIN job_card_lines l ON l.job_card_id = j.id
         GROUP BY s.id ORDER BY s.name",
    )?;
    let mut technicians = stmt
        .query_map(params![rfc3339(from), rfc3339(to)], |r| {
            Ok(TechnicianOutput {
                staff_id: r.get(0)?,
                name: r.get(1)?,
                job_cards_completed: r.get(2)?,
                labour_hours: r.get(3)?,
                labour_revenue: r.get(4)?,
                revenue: 0,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    for t in &mut technicians {
        t.revenue = conn.query_row(
            "SELECT coalesce(sum(subtotal), 0) FROM job_cards
             WHERE technician_id = ?1 AND status = 'completed' AND completed_at >= ?2 AND completed_at < ?3",
            params![t.staff_id, rfc3339(from), rfc3339(to)],
            |r| r.get(0),
        )?;
    }
    Ok(Productivity {
        from: from_day.format("%Y-%m-%d").to_string(),
        to: to_day.format("%Y-%m-%d").to_string(),
        technicians,
    })
}

#[derive(Debug, Serialize)]
pub struct OutstandingInvoice {
    pub invoice_id: String,
    pub number: String,
    pub customer_id: String,
    pub customer_name: String,
    pub total: i64,
    pub balance_due: i64,
    pub due_date: String,
    pub days_overdue: i64,
}

#[derive(Debug, Serialize)]
pub struct Outstanding {
    pub as_of: String,
    pub currency: String,
    pub total_due: i64,
    /// Balance by age past the due date: not yet due, 1–30, 31–60, over 60 days.
    pub current: i64,
    pub overdue_1_30: i64,
    pub overdue_31_60: i64,
    pub overdue_over_60: i64,
    pub invoices: Vec<OutstandingInvoice>,
}

pub fn outstanding_cmd(ctx: &mut Ctx, _input: crate::api::NoInput) -> Result<Outstanding> {
    let conn = ctx.conn();
    let tz = branch_tz(conn)?;
    let today = ctx.clock.now().with_timezone(&tz).date_naive();
    let mut stmt = conn.prepare_cached(
        "SELECT i.id, i.number, i.customer_id, c.name, i.total, i.balance_due, i.due_date
         FROM invoices i JOIN customers c ON c.id = i.customer_id
         WHERE i.status IN ('pending', 'partially_paid') AND i.balance_due > 0
         ORDER BY i.due_date, i.number",
    )?;
    let invoices = stmt
        .query_map([], |r| {
            let due: String = r.get(6)?;
            let days = NaiveDate::parse_from_str(&due, "%Y-%m-%d").map(|d| (today - d).num_days().max(0)).unwrap_or(0);
            Ok(OutstandingInvoice {
                invoice_id: r.get(0)?,
                number: r.get(1)?,
                customer_id: r.get(2)?,
                customer_name: r.get(3)?,
                total: r.get(4)?,
                balance_due: r.get(5)?,
                due_date: due,
                days_overdue: days,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let bucket = |lo: i64, hi: i64| {
        invoices.iter().filter(|i| i.days_overdue >= lo && i.days_overdue <= hi).map(|i| i.balance_due).sum()
    };
    Ok(Outstanding {
        as_of: today.format("%Y-%m-%d").to_string(),
        currency: crate::settings::branch(conn)?.currency,
        total_due: invoices.iter().map(|i| i.balance_due).sum(),
        current: bucket(0, 0),
        overdue_1_30: bucket(1, 30),
        overdue_31_60: bucket(31, 60),
        overdue_over_60: bucket(61, i64::MAX),
        invoices,
    })
}
