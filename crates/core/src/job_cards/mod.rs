//! Job cards: the work done on a vehicle, its lines, and the path
//! `open → in_progress → completed` (or `cancelled`). Completing one is an
//! orchestrator of its own: [`complete`].

pub mod complete;
pub mod update;

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit;
use crate::clock::Stamp;
use crate::ctx::{Actor, Ctx};
use crate::error::{Error, Result};
use crate::events::{self, kind};
use crate::money::format_quantity;
use crate::roles::Role;
use crate::validate::{Validate, Violations, MAX_NAME, MAX_TEXT};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[ts(rename = "JobCardStatus")]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    InProgress,
    Completed,
    Cancelled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::InProgress => "in_progress",
            Status::Completed => "completed",
            Status::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<Status> {
        [Status::Open, Status::InProgress, Status::Completed, Status::Cancelled].into_iter().find(|x| x.as_str() == s)
    }
}

/// The only moves a job card can make.
pub fn can_move(from: Status, to: Status) -> bool {
    use Status::*;
    matches!((from, to), (Open, InProgress) | (Open, Cancelled) | (InProgress, Completed) | (InProgress, Cancelled))
}

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct Line {
    pub id: String,
    pub position: i64,
    pub kind: String,
    pub description: String,
    pub item_id: Option<String>,
    pub quantity: i64,
    pub quantity_display: String,
    /// `h` for labour, the item's unit for parts (`pcs`, `L`…), empty for fees.
    pub unit: String,
    /// The quantity with its unit, as the invoice prints it: "0.5 h", "2 pcs", "1 pc".
    pub quantity_text: String,
    pub unit_price: Option<i64>,
    pub tax_rate_bp: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct JobCard {
    pub id: String,
    pub number: String,
    pub customer_id: String,
    pub vehicle_id: String,
    pub appointment_id: Option<String>,
    pub technician_id: Option<String>,
    pub status: Status,
    pub odometer_in: Option<i64>,
    pub complaint: String,
    pub findings: String,
    pub discount: i64,
    pub subtotal: i64,
    pub tax_total: i64,
    pub total: i64,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    pub cancelled_at: Option<String>,
    pub created_at: String,
    pub lines: Vec<Line>,
}

const COLUMNS: &str =
    "id, number, customer_id, vehicle_id, appointment_id, technician_id, status, odometer_in, complaint,
    findings, discount, subtotal, tax_total, total, started_at, completed_at, cancelled_at, created_at";

pub fn find(conn: &Connection, id: &str) -> Result<Option<JobCard>> {
    let card = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM job_cards WHERE id = ?1"))?
        .query_row([id], |r| {
            let status: String = r.get(6)?;
            Ok(JobCard {
                id: r.get(0)?,
                number: r.get(1)?,
                customer_id: r.get(2)?,
                vehicle_id: r.get(3)?,
                appointment_id: r.get(4)?,
                technician_id: r.get(5)?,
                status: Status::parse(&status).unwrap_or(Status::Open),
                odometer_in: r.get(7)?,
                complaint: r.get(8)?,
                findings: r.get(9)?,
                discount: r.get(10)?,
                subtotal: r.get(11)?,
                tax_total: r.get(12)?,
                total: r.get(13)?,
                started_at: r.get(14)?,
                completed_at: r.get(15)?,
                cancelled_at: r.get(16)?,
                created_at: r.get(17)?,
                lines: Vec::new(),
            })
        })
        .optional()?;
    let Some(mut card) = card else { return Ok(None) };
    card.lines = lines(conn, id)?;
    Ok(Some(card))
}

pub fn get(conn: &Connection, id: &str) -> Result<JobCard> {
    find(conn, id)?.ok_or_else(|| Error::not_found("job card", id))
}

pub fn lines(conn: &Connection, job_card_id: &str) -> Result<Vec<Line>> {
    let mut stmt = conn.prepare_cached(
        "SELECT l.id, l.position, l.kind, l.description, l.item_id, l.quantity, l.unit_price, l.tax_rate_bp,
                CASE l.kind WHEN 'labour' THEN 'h' WHEN 'part' THEN coalesce(i.unit, 'pcs') ELSE '' END
         FROM job_card_lines l LEFT JOIN inventory_items i ON i.id = l.item_id
         WHERE l.job_card_id = ?1 ORDER BY l.position",
    )?;
    let rows = stmt
        .query_map([job_card_id], |r| {
            let quantity: i64 = r.get(5)?;
            let unit: String = r.get(8)?;
            let quantity_display = format_quantity(quantity);
            Ok(Line {
                id: r.get(0)?,
                position: r.get(1)?,
                kind: r.get(2)?,
                description: r.get(3)?,
                item_id: r.get(4)?,
                quantity,
                quantity_text: crate::wording::quantity(&quantity_display, &unit),
                quantity_display,
                unit,
                unit_price: r.get(6)?,
                tax_rate_bp: r.get(7)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// A technician may work only on their own or unassigned cards.
pub fn ensure_may_work_on(actor: &Actor, card: &JobCard) -> Result<()> {
    if actor.role == Role::Technician && card.technician_id.as_deref().is_some_and(|t| t != actor.staff_id) {
        return Err(Error::Forbidden { command: "work on another technician's job card".into() });
    }
    Ok(())
}

/// The card's status does not allow `action` ("started", "changed",
/// "cancelled", "completed"): said as the desk would say it.
fn wrong_status(card: &JobCard, action: &str) -> Error {
    let code = if card.status == Status::Completed { "already_completed" } else { "wrong_status" };
    let now = match card.status {
        Status::Open => "has not been started yet",
        Status::InProgress => "is already in progress",
        Status::Completed => "is already completed",
        Status::Cancelled => "was cancelled",
    };
    Error::conflict(
        code,
        format!("Job card {} {now}, so it cannot be {action}.", card.number),
        json!({ "job_card_id": card.id, "status": card.status.as_str() }),
    )
}

// ---- create ---------------------------------------------------------------------

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct NewJobCard {
    pub customer_id: String,
    pub vehicle_id: String,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub technician_id: Option<String>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub complaint: String,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub odometer_in: Option<i64>,
}

impl Validate for NewJobCard {
    fn validate(&self, v: &mut Violations) {
        v.required("customer_id", &self.customer_id, 100);
        v.required("vehicle_id", &self.vehicle_id, 100);
        v.optional("technician_id", self.technician_id.as_deref(), 100);
        v.max_len("complaint", &self.complaint, MAX_TEXT);
        if let Some(o) = self.odometer_in {
            v.range("odometer_in", o, 0, 10_000_000);
        }
    }
}

fn ensure_technician(conn: &Connection, id: &str) -> Result<Actor> {
    match crate::staff::active_actor(conn, id)? {
        Some(a) if a.role == Role::Technician || a.role == Role::Manager || a.role == Role::Owner => Ok(a),
        Some(_) => Err(Error::field("technician_id", "is not a technician")),
        None => Err(Error::not_found("staff member", id)),
    }
}

/// Opens a job card (`open`), with the next number of this device's series.
pub fn create_tx(
    tx: &Transaction,
    stamp: &Stamp,
    n: &NewJobCard,
    appointment_id: Option<&str>,
    year: i32,
) -> Result<JobCard> {
    crate::customers::get(tx, &n.customer_id)?;
    crate::vehicles::get(tx, &n.vehicle_id)?;
    if let Some(t) = &n.technician_id {
        ensure_technician(tx, t)?;
    }
    let branch = crate::settings::branch(tx)?;
    let id = stamp.new_id();
    let number = crate::numbers::next_tx(tx, "JC", year)?;
    tx.prepare_cached(
        "INSERT INTO job_cards (id, number, branch_id, customer_id, vehicle_id, appointment_id, technician_id, status,
                                odometer_in, complaint, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'open', ?8, ?9, ?10, ?10)",
    )?
    .execute(params![
        id,
        number,
        branch.id,
        n.customer_id,
        n.vehicle_id,
        appointment_id,
        n.technician_id,
        n.odometer_in,
        n.complaint.trim(),
        stamp.at()
    ])?;
    audit::record_tx(tx, stamp, "job_cards.create", "job_card", Some(&id), json!({ "number": number }))?;
    let card = get(tx, &id)?;
    events::append_tx(
        tx,
        stamp,
        kind::JobCardCreated,
        &id,
        &events::JobCardCreated {
            job_card_id: id.clone(),
            number,
            customer_id: card.customer_id.clone(),
            vehicle_id: card.vehicle_id.clone(),
            appointment_id: card.appointment_id.clone(),
            technician_id: card.technician_id.clone(),
            complaint: card.complaint.clone(),
            odometer_in: card.odometer_in,
        },
    )?;
    Ok(card)
}

/// The current year in the branch's time zone (numbers restart each year).
pub fn branch_year(conn: &Connection, now: chrono::DateTime<chrono::Utc>) -> Result<i32> {
    let tz: chrono_tz::Tz = crate::settings::branch(conn)?.time_zone.parse().unwrap_or(chrono_tz::UTC);
    Ok(chrono::Datelike::year(&now.with_timezone(&tz)))
}

pub fn create_cmd(ctx: &mut Ctx, input: NewJobCard) -> Result<JobCard> {
    let year = branch_year(ctx.conn(), ctx.clock.now())?;
    ctx.write(|tx, stamp| create_tx(tx, stamp, &input, None, year))
}

// ---- lines ------------------------------------------------------------------------

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct NewLine {
    pub job_card_id: String,
    pub kind: String,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub description: Option<String>,
    /// Thousandths: hours for labour, the item's unit for parts.
    pub quantity: i64,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub item_id: Option<String>,
    /// Minor units; by default the item's price (part), the technician's or
    /// branch's labour rate (labour); a fee without one stays unpriced.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub unit_price: Option<i64>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub tax_rate_bp: Option<i64>,
}

impl Validate for NewLine {
    fn validate(&self, v: &mut Violations) {
        v.required("job_card_id", &self.job_card_id, 100);
        if !matches!(self.kind.as_str(), "labour" | "part" | "fee") {
            v.add("kind", "must be labour, part or fee");
        }
        if let Some(d) = &self.description {
            v.required("description", d, MAX_NAME);
        } else if self.kind != "part" {
            v.add("description", "is required");
        }
        v.range("quantity", self.quantity, 1, 1_000_000_000);
        if self.kind == "part" && self.item_id.is_none() {
            v.add("item_id", "is required for a part line");
        }
        if self.kind != "part" && self.item_id.is_some() {
            v.add("item_id", "belongs only on a part line");
        }
        v.optional("item_id", self.item_id.as_deref(), 100);
        if let Some(p) = self.unit_price {
            v.amount("unit_price", p);
        }
        if let Some(t) = self.tax_rate_bp {
            v.range("tax_rate_bp", t, 0, 100_000);
        }
    }
}

/// Adds a line, priced from the item or the labour rate unless a price is given.
pub fn add_line_tx(tx: &Transaction, stamp: &Stamp, card: &JobCard, l: &NewLine) -> Result<Line> {
    let branch = crate::settings::branch(tx)?;
    let (description, unit_price, tax) = match l.kind.as_str() {
        "part" => {
            let item_id = l.item_id.as_deref().unwrap_or_default();
            let item = crate::inventory::get(tx, item_id)?;
            if !item.active {
                return Err(Error::field("item_id", "is no longer sold"));
            }
            (
                l.description.clone().unwrap_or(item.name),
                Some(l.unit_price.unwrap_or(item.price)),
                l.tax_rate_bp.unwrap_or(item.tax_rate_bp),
            )
        }
        "labour" => {
            let tech_rate = match &card.technician_id {
                Some(t) => crate::staff::get(tx, t)?.hourly_rate,
                None => 0,
            };
            let rate = if tech_rate > 0 { tech_rate } else { branch.labour_rate };
            let price = l.unit_price.or((rate > 0).then_some(rate));
            (l.description.clone().unwrap_or_default(), price, l.tax_rate_bp.unwrap_or(branch.default_tax_rate_bp))
        }
        _ => (
            l.description.clone().unwrap_or_default(),
            l.unit_price,
            l.tax_rate_bp.unwrap_or(branch.default_tax_rate_bp),
        ),
    };
    if let Some(price) = unit_price {
        check_printable(tx, card, price, l.quantity, tax)?;
    }
    let position: i64 = tx
        .prepare_cached("SELECT coalesce(max(position), 0) + 1 FROM job_card_lines WHERE job_card_id = ?1")?
        .query_row([&card.id], |r| r.get(0))?;
    let id = stamp.new_id();
    tx.prepare_cached(
        "INSERT INTO job_card_lines (id, job_card_id, position, kind, description, item_id, quantity, unit_price,
                                     tax_rate_bp, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        id,
        card.id,
        position,
        l.kind,
        description.trim(),
        if l.kind == "part" { l.item_id.as_deref() } else { None },
        l.quantity,
        unit_price,
        tax,
        stamp.at()
    ])?;
    tx.prepare_cached("UPDATE job_cards SET updated_at = ?2 WHERE id = ?1")?.execute(params![card.id, stamp.at()])?;
    let line =
        lines(tx, &card.id)?.into_iter().find(|x| x.id == id).ok_or_else(|| Error::Internal("line vanished".into()))?;
    events::append_tx(
        tx,
        stamp,
        kind::JobCardLineAdded,
        &card.id,
        &events::JobCardLineAdded {
            job_card_id: card.id.clone(),
            line_id: line.id.clone(),
            position: line.position,
            kind: line.kind.clone(),
            description: line.description.clone(),
            item_id: line.item_id.clone(),
            quantity: line.quantity,
            unit_price: line.unit_price,
            tax_rate_bp: line.tax_rate_bp,
        },
    )?;
    Ok(line)
}

/// Refuses a line whose amount, or the card's total with it, would be more
/// than [`crate::money::MAX_AMOUNT`] (the invoice could not print it).
fn check_printable(tx: &Transaction, card: &JobCard, unit_price: i64, quantity: i64, tax_rate_bp: i64) -> Result<()> {
    use crate::money::{check_amount, MAX_AMOUNT};
    use crate::totals::{line_total, LineInput};
    let line = line_total(LineInput { unit_price, quantity, tax_rate_bp })
        .map_err(|_| Error::field("quantity", "makes a line amount too large to print"))?;
    check_amount("quantity", "a line amount", line.net)?;
    let mut gross = line.total;
    for l in lines(tx, &card.id)? {
        let Some(price) = l.unit_price else { continue };
        let t = line_total(LineInput { unit_price: price, quantity: l.quantity, tax_rate_bp: l.tax_rate_bp })?;
        gross = gross.saturating_add(t.total);
        if gross > MAX_AMOUNT {
            break;
        }
    }
    check_amount("quantity", "the job card's total", gross)
}

fn open_card_for_lines(tx: &Transaction, actor: &Actor, id: &str) -> Result<JobCard> {
    let card = get(tx, id)?;
    ensure_may_work_on(actor, &card)?;
    if !matches!(card.status, Status::Open | Status::InProgress) {
        return Err(wrong_status(&card, "changed"));
    }
    Ok(card)
}

pub fn add_line_cmd(ctx: &mut Ctx, input: NewLine) -> Result<JobCard> {
    let actor = ctx.actor()?.clone();
    ctx.write(|tx, stamp| {
        let card = open_card_for_lines(tx, &actor, &input.job_card_id)?;
        let line = add_line_tx(tx, stamp, &card, &input)?;
        audit::record_tx(
            tx,
            stamp,
            "job_cards.add_line",
            "job_card",
            Some(&card.id),
            json!({ "line_id": line.id, "kind": line.kind }),
        )?;
        get(tx, &card.id)
    })
}

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct RemoveLine {
    pub job_card_id: String,
    pub line_id: String,
}

impl Validate for RemoveLine {
    fn validate(&self, v: &mut Violations) {
        v.required("job_card_id", &self.job_card_id, 100);
        v.required("line_id", &self.line_id, 100);
    }
}

pub fn remove_line_cmd(ctx: &mut Ctx, input: RemoveLine) -> Result<JobCard> {
    let actor = ctx.actor()?.clone();
    ctx.write(|tx, stamp| {
        let card = open_card_for_lines(tx, &actor, &input.job_card_id)?;
        let n = tx.execute(
            "DELETE FROM job_card_lines WHERE id = ?1 AND job_card_id = ?2",
            params![input.line_id, card.id],
        )?;
        if n == 0 {
            return Err(Error::not_found("job card line", &input.line_id));
        }
        tx.execute("UPDATE job_cards SET updated_at = ?2 WHERE id = ?1", params![card.id, stamp.at()])?;
        audit::record_tx(
            tx,
            stamp,
            "job_cards.remove_line",
            "job_card",
            Some(&card.id),
            json!({ "line_id": input.line_id }),
        )?;
        events::append_tx(
            tx,
            stamp,
            kind::JobCardLineRemoved,
            &card.id,
            &events::JobCardLineRemoved { job_card_id: card.id.clone(), line_id: input.line_id.clone() },
        )?;
        get(tx, &card.id)
    })
}

// ---- start and cancel -------------------------------------------------------------

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct StartInput {
    pub job_card_id: String,
    /// Leave out: a technician starts the card for themselves; a manager
    /// or owner starts it for the technician it is assigned to.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub technician_id: Option<String>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub odometer: Option<i64>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub notes: Option<String>,
}

impl Validate for StartInput {
    fn validate(&self, v: &mut Violations) {
        v.required("job_card_id", &self.job_card_id, 100);
        if let Some(t) = &self.technician_id {
            v.required("technician_id", t, 100);
        }
        if let Some(o) = self.odometer {
            v.range("odometer", o, 0, 10_000_000);
        }
        v.optional("notes", self.notes.as_deref(), MAX_TEXT);
    }
}

pub fn start_cmd(ctx: &mut Ctx, input: StartInput) -> Result<JobCard> {
    let actor = ctx.actor()?.clone();
    if actor.role == Role::Technician && input.technician_id.as_deref().is_some_and(|t| t != actor.staff_id) {
        return Err(Error::Forbidden { command: "start a job card for another technician".into() });
    }
    ctx.write(|tx, stamp| {
        let card = get(tx, &input.job_card_id)?;
        ensure_may_work_on(&actor, &card)?;
        if !can_move(card.status, Status::InProgress) {
            return Err(wrong_status(&card, "started"));
        }
        let technician_id = match (&input.technician_id, &card.technician_id) {
            (Some(named), _) => named.clone(),
            (None, _) if actor.role == Role::Technician => actor.staff_id.clone(),
            (None, Some(assigned)) => assigned.clone(),
            (None, None) => {
                return Err(Error::field("technician_id", "is required: this job card has no technician yet"));
            }
        };
        ensure_technician(tx, &technician_id)?;
        tx.execute(
            "UPDATE job_cards SET status = 'in_progress', technician_id = ?2, started_at = ?3,
                 odometer_in = coalesce(?4, odometer_in),
                 findings = CASE WHEN ?5 IS NULL THEN findings ELSE ?5 END, updated_at = ?3
             WHERE id = ?1",
            params![card.id, technician_id, stamp.at(), input.odometer, input.notes.as_deref().map(str::trim)],
        )?;
        audit::record_tx(
            tx,
            stamp,
            "job_cards.start",
            "job_card",
            Some(&card.id),
            json!({ "technician_id": technician_id }),
        )?;
        let after = get(tx, &card.id)?;
        events::append_tx(
            tx,
            stamp,
            kind::JobCardStarted,
            &card.id,
            &events::JobCardStarted {
                job_card_id: card.id.clone(),
                number: card.number.clone(),
                technician_id,
                odometer: input.odometer,
                odometer_in: after.odometer_in,
                findings: after.findings.clone(),
            },
        )?;
        Ok(after)
    })
}

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    pub job_card_id: String,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub reason: String,
}

impl Validate for CancelInput {
    fn validate(&self, v: &mut Violations) {
        v.required("job_card_id", &self.job_card_id, 100);
        v.max_len("reason", &self.reason, MAX_TEXT);
    }
}

pub fn cancel_cmd(ctx: &mut Ctx, input: CancelInput) -> Result<JobCard> {
    ctx.write(|tx, stamp| {
        let card = get(tx, &input.job_card_id)?;
        if !can_move(card.status, Status::Cancelled) {
            return Err(wrong_status(&card, "cancelled"));
        }
        tx.execute(
            "UPDATE job_cards SET status = 'cancelled', cancelled_at = ?2, updated_at = ?2 WHERE id = ?1",
            params![card.id, stamp.at()],
        )?;
        audit::record_tx(tx, stamp, "job_cards.cancel", "job_card", Some(&card.id), json!({}))?;
        events::append_tx(
            tx,
            stamp,
            kind::JobCardCancelled,
            &card.id,
            &events::JobCardCancelled {
                job_card_id: card.id.clone(),
                number: card.number.clone(),
                reason: input.reason.trim().into(),
            },
        )?;
        get(tx, &card.id)
    })
}

// ---- reads -------------------------------------------------------------------------

pub fn get_cmd(ctx: &mut Ctx, input: crate::validate::IdInput) -> Result<JobCard> {
    get(ctx.conn(), &input.id)
}

#[derive(Debug, Default, Deserialize, ts_rs::TS)]
#[ts(rename = "JobCardListInput")]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct ListInput {
    #[serde(default)]
    #[ts(optional = nullable)]
    pub status: Option<Status>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub technician_id: Option<String>,
    /// Cards with no technician; with `technician_id`, that technician's
    /// cards and the unassigned ones ("my jobs").
    #[serde(default)]
    #[ts(optional = nullable)]
    pub unassigned: bool,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub vehicle_id: Option<String>,
    #[serde(default = "fifty")]
    #[ts(optional = nullable)]
    pub limit: i64,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub offset: i64,
}

fn fifty() -> i64 {
    50
}

impl Validate for ListInput {
    fn validate(&self, v: &mut Violations) {
        v.optional("technician_id", self.technician_id.as_deref(), 100);
        v.optional("vehicle_id", self.vehicle_id.as_deref(), 100);
        v.range("limit", self.limit, 1, 500);
        v.range("offset", self.offset, 0, i64::from(i32::MAX));
    }
}

/// A card as a list shows it: the card, and who and what it is for
/// (read-only display fields, as they are now).
#[derive(Debug, Serialize, ts_rs::TS)]
pub struct ListedJobCard {
    #[serde(flatten)]
    pub card: JobCard,
    pub customer_name: String,
    pub license_plate: String,
    pub make: String,
    pub model: String,
    /// `None` while unassigned.
    pub technician_name: Option<String>,
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct JobCardList {
    pub job_cards: Vec<ListedJobCard>,
}

pub fn list_cmd(ctx: &mut Ctx, input: ListInput) -> Result<JobCardList> {
    let conn = ctx.conn();
    let rows: Vec<(String, String, String, String, String, Option<String>)> = conn
        .prepare_cached(
            "SELECT j.id, c.name, v.license_plate, v.make, v.model, t.name
             FROM job_cards j
             JOIN customers c ON c.id = j.customer_id
             JOIN vehicles v ON v.id = j.vehicle_id
             LEFT JOIN staff t ON t.id = j.technician_id
             WHERE (?1 IS NULL OR j.status = ?1)
               AND ((?2 IS NULL AND NOT ?6) OR j.technician_id = ?2 OR (?6 AND j.technician_id IS NULL))
               AND (?3 IS NULL OR j.vehicle_id = ?3)
             ORDER BY j.created_at DESC, j.id DESC LIMIT ?4 OFFSET ?5",
        )?
        .query_map(
            params![
                input.status.map(Status::as_str),
                input.technician_id,
                input.vehicle_id,
                input.limit,
                input.offset,
                input.unassigned
            ],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )?
        .collect::<Result<_, _>>()?;
    let job_cards = rows
        .into_iter()
        .map(|(id, customer_name, license_plate, make, model, technician_name)| {
            Ok(ListedJobCard { card: get(conn, &id)?, customer_name, license_plate, make, model, technician_name })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(JobCardList { job_cards })
}

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct StatusInput {
    pub job_card_id: String,
}

impl Validate for StatusInput {
    fn validate(&self, v: &mut Violations) {
        v.required("job_card_id", &self.job_card_id, 100);
    }
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct RunRecord {
    pub id: String,
    pub operation: String,
    pub outcome: String,
    pub failed_step: Option<String>,
    pub error_code: Option<String>,
    pub attempts: i64,
    pub started_at: String,
    pub finished_at: String,
    pub steps: serde_json::Value,
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct OrchestrationStatus {
    pub job_card_id: String,
    pub status: Status,
    pub runs: Vec<RunRecord>,
}

pub fn orchestration_status_cmd(ctx: &mut Ctx, input: StatusInput) -> Result<OrchestrationStatus> {
    let conn = ctx.conn();
    let card = get(conn, &input.job_card_id)?;
    let runs = conn
        .prepare_cached(
            "SELECT id, operation, outcome, failed_step, error_code, attempts, started_at, finished_at, steps
             FROM orchestration_runs WHERE subject_id = ?1 ORDER BY started_at, id",
        )?
        .query_map([&card.id], |r| {
            let steps: String = r.get(8)?;
            Ok(RunRecord {
                id: r.get(0)?,
                operation: r.get(1)?,
                outcome: r.get(2)?,
                failed_step: r.get(3)?,
                error_code: r.get(4)?,
                attempts: r.get(5)?,
                started_at: r.get(6)?,
                finished_at: r.get(7)?,
                steps: serde_json::from_str(&steps).unwrap_or_default(),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(OrchestrationStatus { job_card_id: card.id, status: card.status, runs })
}
