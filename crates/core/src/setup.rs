//! First start: the device, its branch and the owner, in one transaction.
//! Refused once a branch exists.

use rusqlite::{params, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit;
use crate::clock::Stamp;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::events::{self, kind};
use crate::roles::Role;
use crate::settings::{
    self, check_country, check_currency, check_tax_rate, check_time_zone, Branch, Device, OpeningInterval,
};
use crate::staff::{self, NewStaff, Pin, StaffMember};
use crate::validate::{Validate, Violations, MAX_NAME};

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct InitInput {
    pub branch_name: String,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub branch_code: Option<String>,
    pub owner_name: String,
    pub owner_code: String,
    pub owner_pin: Pin,
    #[serde(default = "utc")]
    #[ts(optional = nullable)]
    pub time_zone: String,
    #[serde(default = "usd")]
    #[ts(optional = nullable)]
    pub currency: String,
    #[serde(default = "us")]
    #[ts(optional = nullable)]
    pub country: String,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub default_tax_rate_bp: i64,
    #[serde(default = "fourteen")]
    #[ts(optional = nullable)]
    pub payment_terms_days: i64,
    /// This device's letter in every number series (INV-2026-A000001).
    #[serde(default = "letter_a")]
    #[ts(optional = nullable)]
    pub series_letter: String,
    /// The company this device reports to; a new one when left out.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub tenant_id: Option<String>,
}

fn utc() -> String {
    "UTC".into()
}
fn usd() -> String {
    "USD".into()
}
fn us() -> String {
    "US".into()
}
fn fourteen() -> i64 {
    14
}
fn letter_a() -> String {
    "A".into()
}

impl Validate for InitInput {
    fn validate(&self, v: &mut Violations) {
        v.required("branch_name", &self.branch_name, MAX_NAME);
        if let Some(c) = &self.branch_code {
            staff::check_code(v, "branch_code", c);
        }
        v.required("owner_name", &self.owner_name, MAX_NAME);
        staff::check_code(v, "owner_code", &self.owner_code);
        let pin_len = self.owner_pin.expose().chars().count();
        if !(4..=64).contains(&pin_len) {
            v.add("owner_pin", "must be 4 to 64 characters");
        }
        check_time_zone(v, "time_zone", &self.time_zone);
        check_currency(v, "currency", &self.currency);
        check_country(v, "country", &self.country);
        check_tax_rate(v, "default_tax_rate_bp", self.default_tax_rate_bp);
        v.range("payment_terms_days", self.payment_terms_days, 0, 365);
        if !(self.series_letter.len() == 1 && self.series_letter.chars().all(|c| c.is_ascii_uppercase())) {
            v.add("series_letter", "must be one capital letter A-Z");
        }
        v.optional("tenant_id", self.tenant_id.as_deref(), 100);
    }
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct InitOutput {
    pub branch: Branch,
    pub owner: StaffMember,
    pub device: Device,
}

/// Monday to Friday 08:00-17:00 until the owner sets the real hours.
pub fn default_hours() -> Vec<OpeningInterval> {
    (1..=5).map(|d| OpeningInterval { weekday: d, opens: "08:00".into(), closes: "17:00".into() }).collect()
}

pub fn init_tx(tx: &Transaction, stamp: &Stamp, input: &InitInput, owner_pin_hash: &str) -> Result<InitOutput> {
    if settings::device(tx)?.is_some() {
        return Err(Error::conflict("already_set_up", "This database is already set up.", json!({})));
    }
    let branch_id = stamp.new_id();
    let code = input.branch_code.clone().unwrap_or_else(|| {
        let c: String = input.branch_name.to_lowercase().chars().filter(char::is_ascii_alphanumeric).take(16).collect();
        if c.is_empty() {
            "main".into()
        } else {
            c
        }
    });
    tx.execute(
        "INSERT INTO branches (id, code, name, country, time_zone, currency, default_tax_rate_bp, payment_terms_days,
                               created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
        params![
            branch_id,
            code,
            input.branch_name.trim(),
            input.country,
            input.time_zone,
            input.currency,
            input.default_tax_rate_bp,
            input.payment_terms_days,
            stamp.at()
        ],
    )?;
    let device_id = stamp.new_id();
    let tenant = input.tenant_id.clone().unwrap_or_else(|| stamp.new_id());
    tx.execute(
        "INSERT INTO device (id, tenant_id, branch_id, series_letter, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![device_id, tenant, branch_id, input.series_letter, stamp.at()],
    )?;
    settings::replace_opening_hours_tx(tx, &branch_id, &default_hours())?;
    audit::record_tx(tx, stamp, "setup.init", "branch", Some(&branch_id), json!({ "device_id": device_id }))?;
    events::append_tx(
        tx,
        stamp,
        kind::DeviceRegistered,
        &device_id,
        &events::Device {
            device_id: device_id.clone(),
            tenant_id: tenant.clone(),
            branch_id: branch_id.clone(),
            series_letter: input.series_letter.clone(),
        },
    )?;
    events::append_tx(
        tx,
        stamp,
        kind::BranchCreated,
        &branch_id,
        &settings::event_snapshot(tx, &["branch", "opening_hours"])?,
    )?;
    let owner = staff::create_tx(
        tx,
        stamp,
        &branch_id,
        &NewStaff {
            code: input.owner_code.clone(),
            name: input.owner_name.clone(),
            role: Role::Owner,
            pin: input.owner_pin.clone(),
            hourly_rate: 0,
        },
        owner_pin_hash,
    )?;
    Ok(InitOutput {
        branch: settings::branch(tx)?,
        owner,
        device: settings::device(tx)?.ok_or_else(|| Error::Internal("device missing after setup".into()))?,
    })
}

pub fn init_cmd(ctx: &mut Ctx, input: InitInput) -> Result<InitOutput> {
    if settings::device(ctx.conn())?.is_some() {
        return Err(Error::conflict("already_set_up", "This database is already set up.", json!({})));
    }
    let hash = staff::hash_pin(&input.owner_pin)?;
    let host = ctx.host.clone();
    ctx.write(|tx, stamp| {
        let out = init_tx(tx, stamp, &input, &hash)?;
        // The computer the new device belongs to (unknown: recorded at the next open).
        crate::device::record_host_tx(tx, host.as_ref())?;
        Ok(out)
    })
}
