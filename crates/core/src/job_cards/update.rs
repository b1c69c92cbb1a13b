//! Recording what the workshop finds while a car is in: the odometer
//! reading, the customer's complaint as understood, and the findings (the
//! work performed, printed on the invoice). Allowed while the card is open
//! or in progress; a completed or cancelled card keeps what it was billed with.

use rusqlite::params;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{ensure_may_work_on, get, wrong_status, JobCard, Status};
use crate::audit;
use crate::ctx::Ctx;
use crate::error::Result;
use crate::events::{self, kind};
use crate::validate::{Validate, Violations, MAX_TEXT};

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable, rename = "JobCardUpdateInput")]
#[serde(deny_unknown_fields)]
pub struct UpdateInput {
    pub job_card_id: String,
    #[serde(default)]
    pub odometer_in: Option<i64>,
    #[serde(default)]
    pub complaint: Option<String>,
    #[serde(default)]
    pub findings: Option<String>,
}

impl Validate for UpdateInput {
    fn validate(&self, v: &mut Violations) {
        v.required("job_card_id", &self.job_card_id, 100);
        if let Some(o) = self.odometer_in {
            v.range("odometer_in", o, 0, 10_000_000);
        }
        v.optional("complaint", self.complaint.as_deref(), MAX_TEXT);
        v.optional("findings", self.findings.as_deref(), MAX_TEXT);
    }
}

/// Changes the fields that are sent (texts trimmed); the others stay.
/// Nothing sent, or nothing different: the card comes back unchanged, with
/// no audit entry and no event.
pub fn update_cmd(ctx: &mut Ctx, input: UpdateInput) -> Result<JobCard> {
    let actor = ctx.actor()?.clone();
    ctx.write(|tx, stamp| {
        let card = get(tx, &input.job_card_id)?;
        ensure_may_work_on(&actor, &card)?;
        if !matches!(card.status, Status::Open | Status::InProgress) {
            return Err(wrong_status(&card, "changed"));
        }
        let mut changed = Map::new();
        if let Some(o) = input.odometer_in.filter(|o| card.odometer_in != Some(*o)) {
            changed.insert("odometer_in".into(), json!(o));
        }
        if let Some(c) = input.complaint.as_deref().map(str::trim).filter(|c| *c != card.complaint) {
            changed.insert("complaint".into(), json!(c));
        }
        if let Some(f) = input.findings.as_deref().map(str::trim).filter(|f| *f != card.findings) {
            changed.insert("findings".into(), json!(f));
        }
        if changed.is_empty() {
            return Ok(card);
        }
        tx.execute(
            "UPDATE job_cards SET odometer_in = coalesce(?2, odometer_in), complaint = coalesce(?3, complaint),
                 findings = coalesce(?4, findings), updated_at = ?5
             WHERE id = ?1",
            params![
                card.id,
                changed.get("odometer_in").and_then(Value::as_i64),
                changed.get("complaint").and_then(Value::as_str),
                changed.get("findings").and_then(Value::as_str),
                stamp.at()
            ],
        )?;
        let fields: Vec<&str> = changed.keys().map(String::as_str).collect();
        audit::record_tx(tx, stamp, "job_cards.update", "job_card", Some(&card.id), json!({ "fields": fields }))?;
        events::append_tx(
            tx,
            stamp,
            kind::JobCardUpdated,
            &card.id,
            &events::JobCardUpdated {
                job_card_id: card.id.clone(),
                number: card.number.clone(),
                odometer_in: changed.get("odometer_in").and_then(Value::as_i64),
                complaint: changed.get("complaint").and_then(Value::as_str).map(str::to_string),
                findings: changed.get("findings").and_then(Value::as_str).map(str::to_string),
            },
        )?;
        get(tx, &card.id)
    })
}
