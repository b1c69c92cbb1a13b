//! Reports for managers: the day's sales, technicians' output and the money
//! still owed. Days are the branch's local days. Every figure is summed in
//! Rust with checked arithmetic: a sum that does not fit in an `i64` is
//! `Error::Overflow` naming the figure, never a wrapped or negative total
//! (SQLite's `sum()` would fail or turn to floating point instead).

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

use crate::api::Ctx;
use crate::clock::rfc3339;
use crate::error::{Error, Result};
use crate::money;
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
        Some(s) => crate::validate::date_field(field, s),
    }
}

fn check_day(v: &mut Violations, field: &str, s: &Option<String>) {
    if let Some(s) = s {
        v.date(field, s);
    }
}

#[derive(Debug, Default, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct DayInput {
    /// YYYY-MM-DD, branch local; today by default.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub date: Option<String>,
}

impl Validate for DayInput {
    fn validate(&self, v: &mut Violations) {
        check_day(v, "date", &self.date);
    }
}

#[derive(Debug, Serialize, ts_rs::TS)]
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
        out.subtotal = money::add(out.subtotal, r.get(1)?, "subtotal")?;
        out.discount = money::add(out.discount, r.get(2)?, "discount")?;
        out.tax_total = money::add(out.tax_total, r.get(3)?, "tax_total")?;
        out.total = money::add(out.total, r.get(4)?, "total")?;
        out.collected = money::add(out.collected, r.get(5)?, "collected")?;
        out.outstanding = money::add(out.outstanding, r.get(6)?, "outstanding")?;
        let summary: Vec<RateTotal> = serde_json::from_str(&r.get::<_, String>(7)?).unwrap_or_default();
        for s in summary {
            match out.tax_summary.iter_mut().find(|x| x.rate_bp == s.rate_bp) {
                Some(x) => {
                    x.net = money::add(x.net, s.net, "tax_summary.net")?;
                    x.tax = money::add(x.tax, s.tax, "tax_summary.tax")?;
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

#[derive(Debug, Default, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct RangeInput {
    /// First day, branch local; 6 days before `to` by default.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub from: Option<String>,
    /// Last day, inclusive; today by default.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub to: Option<String>,
}

impl Validate for RangeInput {
    fn validate(&self, v: &mut Violations) {
        check_day(v, "from", &self.from);
        check_day(v, "to", &self.to);
    }
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct TechnicianOutput {
    pub staff_id: String,
    pub name: String,
    pub job_cards_completed: i64,
    /// Thousandths of an hour.
    pub labour_hours: i64,
    pub labour_revenue: i64,
    pub revenue: i64,
}

#[derive(Debug, Serialize, ts_rs::TS)]
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
        return Err(Error::field("from", "must be on or before the end date"));
    }
    let (from, _) = day_bounds(tz, from_day);
    let (_, to) = day_bounds(tz, to_day);
    // One row per completed card, then one per labour line of it: summed
    // here, checked, so no figure can wrap.
    let mut stmt = conn.prepare_cached(
        "SELECT s.id, s.name, j.id, j.subtotal, l.quantity, l.unit_price
         FROM staff s
         JOIN job_cards j ON j.technician_id = s.id AND j.status = 'completed' AND j.completed_at >= ?1 AND j.completed_at < ?2
         LEFT JOIN job_card_lines l ON l.job_card_id = j.id AND l.kind = 'labour'
         ORDER BY s.name, s.id, j.id",
    )?;
    let mut rows = stmt.query(params![rfc3339(from), rfc3339(to)])?;
    let mut technicians: Vec<TechnicianOutput> = Vec::new();
    let mut last_card = String::new();
    while let Some(r) = rows.next()? {
        let staff_id: String = r.get(0)?;
        if technicians.last().is_none_or(|t| t.staff_id != staff_id) {
            technicians.push(TechnicianOutput {
                staff_id,
                name: r.get(1)?,
                job_cards_completed: 0,
                labour_hours: 0,
                labour_revenue: 0,
                revenue: 0,
            });
        }
        let Some(t) = technicians.last_mut() else { continue };
        let card: String = r.get(2)?;
        if card != last_card {
            t.job_cards_completed += 1;
            t.revenue = money::add(t.revenue, r.get(3)?, "revenue")?;
            last_card = card;
        }
        if let Some(quantity) = r.get::<_, Option<i64>>(4)? {
            t.labour_hours = money::add(t.labour_hours, quantity, "labour_hours")?;
            let net = money::line_net(r.get::<_, Option<i64>>(5)?.unwrap_or(0), quantity)
                .map_err(|_| Error::Overflow { field: "labour_revenue".into() })?;
            t.labour_revenue = money::add(t.labour_revenue, net, "labour_revenue")?;
        }
    }
    Ok(Productivity {
        from: from_day.format("%Y-%m-%d").to_string(),
        to: to_day.format("%Y-%m-%d").to_string(),
        technicians,
    })
}

#[derive(Debug, Serialize, ts_rs::TS)]
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

#[derive(Debug, Serialize, ts_rs::TS)]
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
    let bucket = |field: &str, lo: i64, hi: i64| {
        money::sum(
            invoices.iter().filter(|i| i.days_overdue >= lo && i.days_overdue <= hi).map(|i| i.balance_due),
            field,
        )
    };
    Ok(Outstanding {
        as_of: today.format("%Y-%m-%d").to_string(),
        currency: crate::settings::branch(conn)?.currency,
        total_due: money::sum(invoices.iter().map(|i| i.balance_due), "total_due")?,
        current: bucket("current", 0, 0)?,
        overdue_1_30: bucket("overdue_1_30", 1, 30)?,
        overdue_31_60: bucket("overdue_31_60", 31, 60)?,
        overdue_over_60: bucket("overdue_over_60", 61, i64::MAX)?,
        invoices,
    })
}
