//! In-app alerts for managers: things that need a person to look, such as
//! a card charge that could not be recorded and was refunded. They stay
//! listed until someone acknowledges them, or until their cause is gone:
//! the transaction that removes the cause resolves them ([`resolve_tx`]).

use rusqlite::{params, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::Ctx;
use crate::audit;
use crate::clock::Stamp;
use crate::error::{Error, Result};
use crate::validate::{Validate, Violations};

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct Alert {
    pub id: String,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub subject_type: Option<String>,
    pub subject_id: Option<String>,
    pub created_at: String,
    pub acknowledged_at: Option<String>,
    pub acknowledged_by: Option<String>,
    /// When the cause went away by itself (a pending refund went through).
    pub resolved_at: Option<String>,
    pub resolved_reason: Option<String>,
}

const COLUMNS: &str =
    "id, kind, title, body, subject_type, subject_id, created_at, acknowledged_at, acknowledged_by, resolved_at, resolved_reason";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<Alert> {
    Ok(Alert {
        id: r.get(0)?,
        kind: r.get(1)?,
        title: r.get(2)?,
        body: r.get(3)?,
        subject_type: r.get(4)?,
        subject_id: r.get(5)?,
        created_at: r.get(6)?,
        acknowledged_at: r.get(7)?,
        acknowledged_by: r.get(8)?,
        resolved_at: r.get(9)?,
        resolved_reason: r.get(10)?,
    })
}

/// What to tell the managers.
pub struct NewAlert<'a> {
    pub kind: &'a str,
    pub title: String,
    pub body: String,
    pub subject_type: &'a str,
    pub subject_id: &'a str,
}

/// Raises an alert for the managers, inside the caller's transaction.
pub fn raise_tx(tx: &Transaction, stamp: &Stamp, alert: NewAlert) -> Result<String> {
    let id = stamp.new_id();
    tx.prepare_cached(
        "INSERT INTO alerts (id, kind, audience, title, body, subject_type, subject_id, created_at)
         VALUES (?1, ?2, 'manager', ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        id,
        alert.kind,
        alert.title,
        alert.body,
        alert.subject_type,
        alert.subject_id,
        stamp.at()
    ])?;
    Ok(id)
}

/// Closes the open alerts of `kind` about `subject_id` because their cause
/// is gone, inside the transaction that removed the cause. Returns how many.
pub fn resolve_tx(tx: &Transaction, stamp: &Stamp, kind: &str, subject_id: &str, reason: &str) -> Result<usize> {
    Ok(tx
        .prepare_cached(
            "UPDATE alerts SET resolved_at = ?3, resolved_reason = ?4
             WHERE kind = ?1 AND subject_id = ?2 AND acknowledged_at IS NULL AND resolved_at IS NULL",
        )?
        .execute(params![kind, subject_id, stamp.at(), reason])?)
}

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(rename = "AlertListInput")]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct ListInput {
    /// Acknowledged and resolved ones too (newest first); by default only
    /// open ones (neither).
    #[serde(default)]
    #[ts(optional = nullable)]
    pub include_acknowledged: bool,
    #[serde(default = "default_limit")]
    #[ts(optional = nullable)]
    pub limit: i64,
}

fn default_limit() -> i64 {
    100
}

impl Validate for ListInput {
    fn validate(&self, v: &mut Violations) {
        v.range("limit", self.limit, 1, 500);
    }
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct AlertList {
    pub alerts: Vec<Alert>,
    pub open_count: i64,
}

pub fn list_cmd(ctx: &mut Ctx, input: ListInput) -> Result<AlertList> {
    let conn = ctx.conn();
    let sql = if input.include_acknowledged {
        format!("SELECT {COLUMNS} FROM alerts ORDER BY created_at DESC, id DESC LIMIT ?1")
    } else {
        format!(
            "SELECT {COLUMNS} FROM alerts WHERE acknowledged_at IS NULL AND resolved_at IS NULL
             ORDER BY created_at DESC, id DESC LIMIT ?1"
        )
    };
    let alerts = conn.prepare_cached(&sql)?.query_map([input.limit], from_row)?.collect::<Result<Vec<_>, _>>()?;
    let open_count =
        conn.query_row("SELECT count(*) FROM alerts WHERE acknowledged_at IS NULL AND resolved_at IS NULL", [], |r| {
            r.get(0)
        })?;
    Ok(AlertList { alerts, open_count })
}

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct AcknowledgeInput {
    pub alert_id: String,
}

impl Validate for AcknowledgeInput {
    fn validate(&self, v: &mut Violations) {
        v.required("alert_id", &self.alert_id, 100);
    }
}

pub fn acknowledge_cmd(ctx: &mut Ctx, input: AcknowledgeInput) -> Result<Alert> {
    ctx.write(|tx, stamp| {
        let alert = tx
            .prepare_cached(&format!("SELECT {COLUMNS} FROM alerts WHERE id = ?1"))?
            .query_row([&input.alert_id], from_row)
            .optional()?
            .ok_or_else(|| Error::not_found("alert", &input.alert_id))?;
        if alert.acknowledged_at.is_some() {
            return Ok(alert);
        }
        tx.prepare_cached("UPDATE alerts SET acknowledged_at = ?2, acknowledged_by = ?3 WHERE id = ?1")?
            .execute(params![alert.id, stamp.at(), stamp.actor_id])?;
        audit::record_tx(tx, stamp, "alerts.acknowledge", "alert", Some(&alert.id), json!({ "kind": alert.kind }))?;
        Ok(tx
            .prepare_cached(&format!("SELECT {COLUMNS} FROM alerts WHERE id = ?1"))?
            .query_row([&alert.id], from_row)?)
    })
}
