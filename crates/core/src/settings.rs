//! The branch this device belongs to, its opening hours and closures, its
//! bays and service types (with their canned lines), and the device itself.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit;
use crate::clock::Stamp;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::validate::{parse_hhmm, Validate, Violations, MAX_NAME, MAX_TEXT};

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct Branch {
    pub id: String,
    pub code: String,
    pub name: String,
    pub address: String,
    pub phone: String,
    pub email: String,
    pub tax_number: String,
    pub country: String,
    pub time_zone: String,
    pub currency: String,
    pub default_tax_rate_bp: i64,
    pub payment_terms_days: i64,
    pub labour_rate: i64,
    pub invoice_footer: String,
    pub paper_size: String,
    /// `km` or `mi`: as set, else from the country (mi in the US and GB).
    pub odometer_unit: String,
    /// Printed on invoices: bank details, how to pay.
    pub payment_instructions: String,
    /// Minutes without input before the app locks the screen (1..=240).
    pub idle_lock_minutes: i64,
}

/// The odometer's unit in `country` when none is set.
pub fn default_odometer_unit(country: &str) -> &'static str {
    if matches!(country, "US" | "GB") {
        "mi"
    } else {
        "km"
    }
}

/// The most characters of `branch.payment_instructions`.
pub const MAX_PAYMENT_INSTRUCTIONS: usize = 1000;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct OpeningInterval {
    /// ISO weekday: 1 = Monday … 7 = Sunday.
    pub weekday: i64,
    /// "HH:MM", branch local time.
    pub opens: String,
    pub closes: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct Closure {
    /// "YYYY-MM-DD", branch local date.
    pub date: String,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct Bay {
    pub id: String,
    pub name: String,
    pub capabilities: Vec<String>,
    pub active: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct CannedLine {
    pub kind: String,
    pub description: String,
    /// Thousandths: hours for labour, the item's unit for parts.
    pub quantity: i64,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub item_id: Option<String>,
    /// Minor units; none means the item's price or the branch labour rate.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub unit_price: Option<i64>,
}

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct ServiceType {
    pub id: String,
    pub code: String,
    pub name: String,
    pub duration_minutes: i64,
    pub required_capability: Option<String>,
    pub active: bool,
    pub lines: Vec<CannedLine>,
}

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct Device {
    pub id: String,
    pub tenant_id: String,
    pub branch_id: String,
    pub series_letter: String,
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct Settings {
    pub branch: Branch,
    pub opening_hours: Vec<OpeningInterval>,
    pub closures: Vec<Closure>,
    pub bays: Vec<Bay>,
    pub service_types: Vec<ServiceType>,
    pub device: Device,
    /// The invoice logo (its type and size; the file is not sent back).
    pub logo: Option<crate::logo::LogoInfo>,
    pub integrations: Integrations,
    /// Which secrets the keyring holds (never their values).
    pub secrets: Vec<crate::secrets::SecretState>,
}

/// Where the device reaches outside services. Addresses only: their keys
/// are secrets, in the keyring.
#[derive(Debug, Clone, Default, Serialize, PartialEq, ts_rs::TS)]
pub struct Integrations {
    pub payment_gateway_url: Option<String>,
    pub smtp_host: Option<String>,
    /// A number on the wire (1..=65535).
    pub smtp_port: Option<u16>,
    pub smtp_username: Option<String>,
    /// The sender: `Garage Name <service@garage.example>`.
    pub smtp_from: Option<String>,
    /// `starttls` (default), `tls`, or `none` (this machine only).
    pub smtp_security: Option<String>,
    pub sms_gateway_url: Option<String>,
    pub sms_sender: Option<String>,
    /// Where manager alerts (low stock, refunded card charges) are emailed.
    pub alerts_email: Option<String>,
}

/// The integration settings by name, in the order of [`Integrations`].
pub const INTEGRATION_NAMES: &[&str] = &[
    "payment_gateway_url",
    "smtp_host",
    "smtp_port",
    "smtp_username",
    "smtp_from",
    "smtp_security",
    "sms_gateway_url",
    "sms_sender",
    "alerts_email",
];

pub fn integrations(conn: &Connection) -> Result<Integrations> {
    let get = |n: &str| integration(conn, n);
    Ok(Integrations {
        payment_gateway_url: get("payment_gateway_url")?,
        smtp_host: get("smtp_host")?,
        smtp_port: get("smtp_port")?.and_then(|p| p.parse().ok()),
        smtp_username: get("smtp_username")?,
        smtp_from: get("smtp_from")?,
        smtp_security: get("smtp_security")?,
        sms_gateway_url: get("sms_gateway_url")?,
        sms_sender: get("sms_sender")?,
        alerts_email: get("alerts_email")?,
    })
}

/// One integration setting by name.
pub fn integration(conn: &Connection, name: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT value FROM integration_settings WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?)
}

pub fn device(conn: &Connection) -> Result<Option<Device>> {
    Ok(conn
        .prepare_cached("SELECT id, tenant_id, branch_id, series_letter FROM device")?
        .query_row([], |r| {
            Ok(Device { id: r.get(0)?, tenant_id: r.get(1)?, branch_id: r.get(2)?, series_letter: r.get(3)? })
        })
        .optional()?)
}

/// The device's own branch.
pub fn branch(conn: &Connection) -> Result<Branch> {
    conn.prepare_cached(
        "SELECT b.id, code, name, address, phone, email, tax_number, country, time_zone, currency,
                default_tax_rate_bp, payment_terms_days, labour_rate, invoice_footer, paper_size,
                odometer_unit, payment_instructions, idle_lock_minutes
         FROM branches b JOIN device d ON d.branch_id = b.id",
    )?
    .query_row([], |r| {
        Ok(Branch {
            id: r.get(0)?,
            code: r.get(1)?,
            name: r.get(2)?,
            address: r.get(3)?,
            phone: r.get(4)?,
            email: r.get(5)?,
            tax_number: r.get(6)?,
            country: r.get(7)?,
            time_zone: r.get(8)?,
            currency: r.get(9)?,
            default_tax_rate_bp: r.get(10)?,
            payment_terms_days: r.get(11)?,
            labour_rate: r.get(12)?,
            invoice_footer: r.get(13)?,
            paper_size: r.get(14)?,
            odometer_unit: r
                .get::<_, Option<String>>(15)?
                .unwrap_or_else(|| default_odometer_unit(&r.get::<_, String>(7).unwrap_or_default()).into()),
            payment_instructions: r.get(16)?,
            idle_lock_minutes: r.get(17)?,
        })
    })
    .optional()?
    .ok_or_else(|| Error::rule("not_set_up", "This database has no branch yet: run setup first.", json!({})))
}

pub fn opening_hours(conn: &Connection, branch_id: &str) -> Result<Vec<OpeningInterval>> {
    let mut stmt = conn.prepare_cached(
        "SELECT weekday, opens, closes FROM opening_hours WHERE branch_id = ?1 ORDER BY weekday, opens",
    )?;
    let rows = stmt
        .query_map([branch_id], |r| Ok(OpeningInterval { weekday: r.get(0)?, opens: r.get(1)?, closes: r.get(2)? }))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn closures(conn: &Connection, branch_id: &str) -> Result<Vec<Closure>> {
    let mut stmt = conn.prepare_cached("SELECT date, reason FROM closures WHERE branch_id = ?1 ORDER BY date")?;
    let rows = stmt
        .query_map([branch_id], |r| Ok(Closure { date: r.get(0)?, reason: r.get(1)? }))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn bays(conn: &Connection, branch_id: &str) -> Result<Vec<Bay>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, name, capabilities, active FROM bays WHERE branch_id = ?1 ORDER BY name")?;
    let rows = stmt
        .query_map([branch_id], |r| {
            let caps: String = r.get(2)?;
            Ok(Bay {
                id: r.get(0)?,
                name: r.get(1)?,
                capabilities: serde_json::from_str(&caps).unwrap_or_default(),
                active: r.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn service_types(conn: &Connection) -> Result<Vec<ServiceType>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, code, name, duration_minutes, required_capability, active FROM service_types ORDER BY name",
    )?;
    let mut types = stmt
        .query_map([], |r| {
            Ok(ServiceType {
                id: r.get(0)?,
                code: r.get(1)?,
                name: r.get(2)?,
                duration_minutes: r.get(3)?,
                required_capability: r.get(4)?,
                active: r.get(5)?,
                lines: Vec::new(),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut lines = conn.prepare_cached(
        "SELECT kind, description, quantity, item_id, unit_price FROM service_type_lines
         WHERE service_type_id = ?1 ORDER BY position",
    )?;
    for t in &mut types {
        t.lines = lines
            .query_map([&t.id], |r| {
                Ok(CannedLine {
                    kind: r.get(0)?,
                    description: r.get(1)?,
                    quantity: r.get(2)?,
                    item_id: r.get(3)?,
                    unit_price: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
    }
    Ok(types)
}

/// The branch's settings as `BranchCreated` and `BranchSettingsUpdated`
/// carry them: read back after the write, so the event says what is stored.
/// `changed`: the parts the write set.
pub fn event_snapshot(conn: &Connection, changed: &[&str]) -> Result<crate::events::BranchSettings> {
    use crate::events as e;
    use sha2::{Digest, Sha256};
    let b = branch(conn)?;
    let odometer_unit: Option<String> =
        conn.query_row("SELECT odometer_unit FROM branches WHERE id = ?1", [&b.id], |r| r.get(0))?;
    let logo = crate::logo::get(conn, &b.id)?.map(|l| e::Logo {
        media_type: l.media_type.to_string(),
        width: l.width,
        height: l.height,
        bytes: l.bytes.len() as u64,
        sha256: Sha256::digest(&l.bytes).iter().map(|x| format!("{x:02x}")).collect(),
    });
    Ok(e::BranchSettings {
        opening_hours: opening_hours(conn, &b.id)?
            .into_iter()
            .map(|h| e::OpeningInterval { weekday: h.weekday, opens: h.opens, closes: h.closes })
            .collect(),
        closures: closures(conn, &b.id)?.into_iter().map(|c| e::Closure { date: c.date, reason: c.reason }).collect(),
        bays: bays(conn, &b.id)?
            .into_iter()
            .map(|x| e::Bay { bay_id: x.id, name: x.name, capabilities: x.capabilities, active: x.active })
            .collect(),
        service_types: service_types(conn)?
            .into_iter()
            .map(|t| e::ServiceType {
                service_type_id: t.id,
                code: t.code,
                name: t.name,
                duration_minutes: t.duration_minutes,
                required_capability: t.required_capability,
                active: t.active,
                lines: t
                    .lines
                    .into_iter()
                    .map(|l| e::CannedLine {
                        kind: l.kind,
                        description: l.description,
                        quantity: l.quantity,
                        item_id: l.item_id,
                        unit_price: l.unit_price,
                    })
                    .collect(),
            })
            .collect(),
        logo,
        changed: changed.iter().map(|c| c.to_string()).collect(),
        branch: e::Branch {
            branch_id: b.id,
            code: b.code,
            name: b.name,
            address: b.address,
            phone: b.phone,
            email: b.email,
            tax_number: b.tax_number,
            country: b.country,
            time_zone: b.time_zone,
            currency: b.currency,
            default_tax_rate_bp: b.default_tax_rate_bp,
            payment_terms_days: b.payment_terms_days,
            labour_rate: b.labour_rate,
            invoice_footer: b.invoice_footer,
            paper_size: b.paper_size,
            odometer_unit,
            payment_instructions: b.payment_instructions,
            idle_lock_minutes: b.idle_lock_minutes,
        },
    })
}

pub fn load(conn: &Connection) -> Result<Settings> {
    let branch = branch(conn)?;
    let device = device(conn)?.ok_or_else(|| Error::Internal("device row missing".into()))?;
    Ok(Settings {
        opening_hours: opening_hours(conn, &branch.id)?,
        closures: closures(conn, &branch.id)?,
        bays: bays(conn, &branch.id)?,
        service_types: service_types(conn)?,
        device,
        logo: crate::logo::get(conn, &branch.id)?.map(|l| l.info()),
        branch,
        integrations: integrations(conn)?,
        secrets: Vec::new(),
    })
}

// ---- settings.update -------------------------------------------------------

#[derive(Debug, Default, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct BranchPatch {
    pub name: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub tax_number: Option<String>,
    pub country: Option<String>,
    pub time_zone: Option<String>,
    pub currency: Option<String>,
    pub default_tax_rate_bp: Option<i64>,
    pub payment_terms_days: Option<i64>,
    pub labour_rate: Option<i64>,
    pub invoice_footer: Option<String>,
    pub paper_size: Option<String>,
    /// `km` or `mi`; empty: the country's (mi in the US and GB, else km).
    pub odometer_unit: Option<String>,
    pub payment_instructions: Option<String>,
    /// Minutes without input before the app locks the screen, 1..=240.
    pub idle_lock_minutes: Option<i64>,
    /// A PNG or JPEG, base64-encoded (a `data:` URL too), at most 256 KB and
    /// 4000 pixels a side; `null` removes it.
    #[serde(default, deserialize_with = "crate::validate::double_option")]
    #[ts(optional = nullable)]
    pub logo: Option<Option<String>>,
}

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct BayInput {
    /// Leave out to add a new bay.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub capabilities: Vec<String>,
    #[serde(default = "yes")]
    #[ts(optional = nullable)]
    pub active: bool,
}

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct ServiceTypeInput {
    pub code: String,
    pub name: String,
    pub duration_minutes: i64,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub required_capability: Option<String>,
    #[serde(default = "yes")]
    #[ts(optional = nullable)]
    pub active: bool,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub lines: Vec<CannedLine>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct UpdateSettings {
    #[serde(default)]
    #[ts(optional = nullable)]
    pub branch: Option<BranchPatch>,
    /// Replaces the whole week.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub opening_hours: Option<Vec<OpeningInterval>>,
    /// Replaces the list of closures.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub closures: Option<Vec<Closure>>,
    /// Bays to add (no id) or change (with id).
    #[serde(default)]
    #[ts(optional = nullable)]
    pub bays: Option<Vec<BayInput>>,
    /// Service types to add or change, matched by code; lines are replaced.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub service_types: Option<Vec<ServiceTypeInput>>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub integrations: Option<IntegrationsPatch>,
}

#[derive(Debug, Default, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct IntegrationsPatch {
    /// The card payment gateway's address (https; plain http only on
    /// loopback). For every field an empty string removes the setting.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub payment_gateway_url: Option<String>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub smtp_host: Option<String>,
    /// A number; a numeric string is taken too (older callers sent one).
    #[serde(default)]
    #[ts(optional = nullable)]
    pub smtp_port: Option<PortInput>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub smtp_username: Option<String>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub smtp_from: Option<String>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub smtp_security: Option<String>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub sms_gateway_url: Option<String>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub sms_sender: Option<String>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub alerts_email: Option<String>,
}

/// A port as sent: a JSON number, or the same as a string; `""` removes it.
#[derive(Debug, Clone, PartialEq, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(untagged)]
pub enum PortInput {
    Number(serde_json::Number),
    Text(String),
}

impl PortInput {
    /// The port (`Ok(None)`: remove it), or why it is no port.
    pub fn port(&self) -> std::result::Result<Option<u16>, &'static str> {
        let port = match self {
            PortInput::Number(n) => n.as_u64().and_then(|p| u16::try_from(p).ok()),
            PortInput::Text(t) if t.trim().is_empty() => return Ok(None),
            PortInput::Text(t) => t.trim().parse::<u16>().ok(),
        };
        port.filter(|p| *p > 0).map(Some).ok_or("must be a port number from 1 to 65535")
    }

    /// How it is stored: the port's digits, `""` to remove it.
    fn stored(&self) -> String {
        match (self.port(), self) {
            (Ok(Some(p)), _) => p.to_string(),
            (Ok(None), _) => String::new(),
            (Err(_), PortInput::Number(n)) => n.to_string(),
            (Err(_), PortInput::Text(t)) => t.clone(),
        }
    }
}

impl IntegrationsPatch {
    fn pairs(&self) -> [(&'static str, Option<String>); 9] {
        [
            ("payment_gateway_url", self.payment_gateway_url.clone()),
            ("smtp_host", self.smtp_host.clone()),
            ("smtp_port", self.smtp_port.as_ref().map(PortInput::stored)),
            ("smtp_username", self.smtp_username.clone()),
            ("smtp_from", self.smtp_from.clone()),
            ("smtp_security", self.smtp_security.clone()),
            ("sms_gateway_url", self.sms_gateway_url.clone()),
            ("sms_sender", self.sms_sender.clone()),
            ("alerts_email", self.alerts_email.clone()),
        ]
    }

    fn validate(&self, v: &mut Violations) {
        let field = |n: &str| format!("integrations.{n}");
        if let Some(Err(why)) = self.smtp_port.as_ref().map(PortInput::port) {
            v.add(field("smtp_port"), why);
        }
        for (name, value) in self.pairs() {
            let Some(value) = value.as_deref().map(str::trim) else { continue };
            if value.is_empty() || name == "smtp_port" {
                continue;
            }
            v.max_len(&field(name), value, 500);
            match name {
                "payment_gateway_url" | "sms_gateway_url" => check_service_url(v, &field(name), value),
                "smtp_host" if value.contains(|c: char| c.is_whitespace() || c == '/' || c == ':') => {
                    v.add(field(name), "must be a host name such as smtp.example.com")
                }
                "smtp_security" if !matches!(value, "starttls" | "tls" | "none") => {
                    v.add(field(name), "must be starttls, tls or none")
                }
                "smtp_from" => {
                    let address = value.rsplit_once('<').map(|(_, a)| a.trim_end_matches('>')).unwrap_or(value);
                    if crate::validate::check_email(address).is_err() {
                        v.add(field(name), "must be an email address, optionally as Name <address>");
                    }
                }
                "alerts_email" if crate::validate::check_email(value).is_err() => {
                    v.add(field(name), "must be an email address")
                }
                _ => {}
            }
        }
        if self.smtp_security.as_deref().map(str::trim) == Some("none") {
            if let Some(host) = self.smtp_host.as_deref().map(str::trim) {
                if !matches!(host, "127.0.0.1" | "localhost" | "::1") {
                    v.add(field("smtp_security"), "none (no encryption) is only allowed to this machine");
                }
            }
        }
    }
}

/// An outside service's address: https, or plain http on this machine
/// only (127.0.0.1, localhost or [::1], then a port, a path or nothing).
pub fn is_allowed_service_url(url: &str) -> bool {
    if url.contains(char::is_whitespace) {
        return false;
    }
    if let Some(rest) = url.strip_prefix("https://") {
        return !rest.is_empty() && !rest.starts_with('/');
    }
    ["http://127.0.0.1", "http://localhost", "http://[::1]"].iter().any(|host| {
        url.strip_prefix(host).is_some_and(|rest| rest.is_empty() || rest.starts_with(':') || rest.starts_with('/'))
    })
}

pub fn check_service_url(v: &mut Violations, field: &str, url: &str) {
    let url = url.trim();
    if url.is_empty() {
        return;
    }
    v.max_len(field, url, 500);
    if !is_allowed_service_url(url) {
        v.add(field, "must be an https:// address (plain http only on this machine)");
    }
}

pub fn check_time_zone(v: &mut Violations, field: &str, tz: &str) {
    if tz.parse::<chrono_tz::Tz>().is_err() {
        v.add(field, "must be an IANA time zone such as Europe/Berlin");
    }
}

pub fn check_currency(v: &mut Violations, field: &str, cur: &str) {
    if !(cur.len() == 3 && cur.chars().all(|c| c.is_ascii_uppercase())) {
        v.add(field, "must be an ISO 4217 code such as EUR");
    }
}

pub fn check_country(v: &mut Violations, field: &str, country: &str) {
    if country.len() != 2 || country.parse::<phonenumber::country::Id>().is_err() {
        v.add(field, "must be an ISO 3166 country code such as US");
    }
}

pub fn check_tax_rate(v: &mut Violations, field: &str, bp: i64) {
    v.range(field, bp, 0, 100_000);
}

/// Opening intervals: valid times, opening before closing, no overlap in a day.
pub fn check_opening_hours(v: &mut Violations, hours: &[OpeningInterval]) {
    let mut parsed: Vec<(i64, u32, u32)> = Vec::new();
    for (i, h) in hours.iter().enumerate() {
        let f = format!("opening_hours[{i}]");
        if !(1..=7).contains(&h.weekday) {
            v.add(format!("{f}.weekday"), "must be 1 (Monday) to 7 (Sunday)");
        }
        match (parse_hhmm(&h.opens), parse_hhmm(&h.closes)) {
            (Some(o), Some(c)) if o < c => parsed.push((h.weekday, o, c)),
            (Some(_), Some(_)) => v.add(format!("{f}.closes"), "must be after opens"),
            (o, c) => {
                if o.is_none() {
                    v.add(format!("{f}.opens"), "must be a time HH:MM");
                }
                if c.is_none() {
                    v.add(format!("{f}.closes"), "must be a time HH:MM");
                }
            }
        }
    }
    parsed.sort();
    for w in parsed.windows(2) {
        if w[0].0 == w[1].0 && w[1].1 < w[0].2 {
            let day = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
                .get((w[0].0 - 1) as usize)
                .copied()
                .unwrap_or("one day");
            v.add("opening_hours", format!("intervals overlap on {day}"));
        }
    }
}

fn check_canned_line(v: &mut Violations, f: &str, l: &CannedLine) {
    if !matches!(l.kind.as_str(), "labour" | "part" | "fee") {
        v.add(format!("{f}.kind"), "must be labour, part or fee");
    }
    v.required(&format!("{f}.description"), &l.description, MAX_NAME);
    v.range(&format!("{f}.quantity"), l.quantity, 1, 1_000_000_000);
    if let Some(p) = l.unit_price {
        v.amount(&format!("{f}.unit_price"), p);
    }
    if l.kind == "part" && l.item_id.is_none() {
        v.add(format!("{f}.item_id"), "is required for a part line");
    }
}

impl Validate for UpdateSettings {
    fn validate(&self, v: &mut Violations) {
        if let Some(b) = &self.branch {
            if let Some(n) = &b.name {
                v.required("branch.name", n, MAX_NAME);
            }
            for (f, val) in [
                ("branch.address", &b.address),
                ("branch.phone", &b.phone),
                ("branch.email", &b.email),
                ("branch.tax_number", &b.tax_number),
            ] {
                v.optional(f, val.as_deref(), MAX_NAME);
            }
            v.optional("branch.invoice_footer", b.invoice_footer.as_deref(), MAX_TEXT);
            if let Some(tz) = &b.time_zone {
                check_time_zone(v, "branch.time_zone", tz);
            }
            if let Some(c) = &b.currency {
                check_currency(v, "branch.currency", c);
            }
            if let Some(c) = &b.country {
                check_country(v, "branch.country", c);
            }
            if let Some(bp) = b.default_tax_rate_bp {
                check_tax_rate(v, "branch.default_tax_rate_bp", bp);
            }
            if let Some(d) = b.payment_terms_days {
                v.range("branch.payment_terms_days", d, 0, 365);
            }
            if let Some(m) = b.idle_lock_minutes {
                v.range("branch.idle_lock_minutes", m, 1, 240);
            }
            if let Some(r) = b.labour_rate {
                v.amount("branch.labour_rate", r);
            }
            if let Some(p) = &b.paper_size {
                if p != "A4" && p != "Letter" {
                    v.add("branch.paper_size", "must be A4 or Letter");
                }
            }
            if let Some(u) = &b.odometer_unit {
                if !matches!(u.as_str(), "km" | "mi" | "") {
                    v.add("branch.odometer_unit", "must be km or mi (empty: the country's)");
                }
            }
            if let Some(p) = &b.payment_instructions {
                v.max_len("branch.payment_instructions", p, MAX_PAYMENT_INSTRUCTIONS);
                if p.lines().count() > 12 {
                    v.add("branch.payment_instructions", "must fit in 12 lines");
                }
            }
            if let Some(Some(logo)) = &b.logo {
                if let Err(why) = crate::logo::parse(logo) {
                    v.add("branch.logo", why);
                }
            }
        }
        if let Some(h) = &self.opening_hours {
            check_opening_hours(v, h);
        }
        if let Some(i) = &self.integrations {
            i.validate(v);
        }
        if let Some(cs) = &self.closures {
            for (i, c) in cs.iter().enumerate() {
                v.date(&format!("closures[{i}].date"), &c.date);
                v.max_len(&format!("closures[{i}].reason"), &c.reason, MAX_NAME);
            }
        }
        if let Some(bays) = &self.bays {
            for (i, b) in bays.iter().enumerate() {
                v.required(&format!("bays[{i}].name"), &b.name, MAX_NAME);
                for (j, c) in b.capabilities.iter().enumerate() {
                    v.required(&format!("bays[{i}].capabilities[{j}]"), c, 50);
                }
            }
        }
        if let Some(types) = &self.service_types {
            for (i, t) in types.iter().enumerate() {
                let f = format!("service_types[{i}]");
                if t.code.is_empty()
                    || t.code.len() > 50
                    || !t.code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                {
                    v.add(format!("{f}.code"), "must be lower-case letters, digits and _ (e.g. oil_change)");
                }
                v.required(&format!("{f}.name"), &t.name, MAX_NAME);
                v.range(&format!("{f}.duration_minutes"), t.duration_minutes, 5, 1440);
                if let Some(c) = &t.required_capability {
                    v.required(&format!("{f}.required_capability"), c, 50);
                }
                for (j, l) in t.lines.iter().enumerate() {
                    check_canned_line(v, &format!("{f}.lines[{j}]"), l);
                }
            }
        }
    }
}

pub fn replace_opening_hours_tx(tx: &Transaction, branch_id: &str, hours: &[OpeningInterval]) -> Result<()> {
    tx.execute("DELETE FROM opening_hours WHERE branch_id = ?1", [branch_id])?;
    for h in hours {
        tx.execute(
            "INSERT INTO opening_hours (branch_id, weekday, opens, closes) VALUES (?1, ?2, ?3, ?4)",
            params![branch_id, h.weekday, h.opens, h.closes],
        )?;
    }
    Ok(())
}

pub fn upsert_bay_tx(tx: &Transaction, stamp: &Stamp, branch_id: &str, b: &BayInput) -> Result<String> {
    let caps = serde_json::to_string(&b.capabilities)?;
    let dup = |e: rusqlite::Error| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => Error::conflict(
            "duplicate_bay",
            format!("A bay named '{}' already exists.", b.name),
            json!({"name": b.name}),
        ),
        e => e.into(),
    };
    match &b.id {
        Some(id) => {
            let n = tx
                .execute(
                    "UPDATE bays SET name = ?2, capabilities = ?3, active = ?4 WHERE id = ?1 AND branch_id = ?5",
                    params![id, b.name.trim(), caps, b.active, branch_id],
                )
                .map_err(dup)?;
            if n == 0 {
                return Err(Error::not_found("bay", id));
            }
            Ok(id.clone())
        }
        None => {
            let id = stamp.new_id();
            tx.execute(
                "INSERT INTO bays (id, branch_id, name, capabilities, active) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, branch_id, b.name.trim(), caps, b.active],
            )
            .map_err(dup)?;
            Ok(id)
        }
    }
}

pub fn upsert_service_type_tx(tx: &Transaction, stamp: &Stamp, t: &ServiceTypeInput) -> Result<String> {
    let existing: Option<String> =
        tx.query_row("SELECT id FROM service_types WHERE code = ?1", [&t.code], |r| r.get(0)).optional()?;
    let id = match existing {
        Some(id) => {
            tx.execute(
                "UPDATE service_types SET name = ?2, duration_minutes = ?3, required_capability = ?4, active = ?5
                 WHERE id = ?1",
                params![id, t.name.trim(), t.duration_minutes, t.required_capability, t.active],
            )?;
            tx.execute("DELETE FROM service_type_lines WHERE service_type_id = ?1", [&id])?;
            id
        }
        None => {
            let id = stamp.new_id();
            tx.execute(
                "INSERT INTO service_types (id, code, name, duration_minutes, required_capability, active)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id, t.code, t.name.trim(), t.duration_minutes, t.required_capability, t.active],
            )?;
            id
        }
    };
    for (pos, l) in t.lines.iter().enumerate() {
        if let Some(item) = &l.item_id {
            let known: bool =
                tx.query_row("SELECT count(*) > 0 FROM inventory_items WHERE id = ?1", [item], |r| r.get(0))?;
            if !known {
                return Err(Error::field(
                    format!("service_types[{}].lines[{pos}].item_id", t.code),
                    "no such inventory item",
                ));
            }
        }
        tx.execute(
            "INSERT INTO service_type_lines (service_type_id, position, kind, description, quantity, item_id, unit_price)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![id, pos as i64, l.kind, l.description.trim(), l.quantity, l.item_id, l.unit_price],
        )?;
    }
    Ok(id)
}

pub fn update_tx(tx: &Transaction, stamp: &Stamp, input: &UpdateSettings) -> Result<()> {
    let branch = branch(tx)?;
    let mut changed: Vec<&str> = Vec::new();
    if let Some(p) = &input.branch {
        let b = Branch {
            id: branch.id.clone(),
            code: branch.code.clone(),
            name: p.name.as_deref().map(str::trim).unwrap_or(&branch.name).to_string(),
            address: p.address.clone().unwrap_or(branch.address.clone()),
            phone: p.phone.clone().unwrap_or(branch.phone.clone()),
            email: p.email.clone().unwrap_or(branch.email.clone()),
            tax_number: p.tax_number.clone().unwrap_or(branch.tax_number.clone()),
            country: p.country.clone().unwrap_or(branch.country.clone()),
            time_zone: p.time_zone.clone().unwrap_or(branch.time_zone.clone()),
            currency: p.currency.clone().unwrap_or(branch.currency.clone()),
            default_tax_rate_bp: p.default_tax_rate_bp.unwrap_or(branch.default_tax_rate_bp),
            payment_terms_days: p.payment_terms_days.unwrap_or(branch.payment_terms_days),
            labour_rate: p.labour_rate.unwrap_or(branch.labour_rate),
            invoice_footer: p.invoice_footer.clone().unwrap_or(branch.invoice_footer.clone()),
            paper_size: p.paper_size.clone().unwrap_or(branch.paper_size.clone()),
            odometer_unit: String::new(),
            payment_instructions: p.payment_instructions.clone().unwrap_or(branch.payment_instructions.clone()),
            idle_lock_minutes: p.idle_lock_minutes.unwrap_or(branch.idle_lock_minutes),
        };
        let odometer_unit: Option<String> = match p.odometer_unit.as_deref() {
            Some("") => None,
            Some(u) => Some(u.to_string()),
            None => tx.query_row("SELECT odometer_unit FROM branches WHERE id = ?1", [&b.id], |r| r.get(0))?,
        };
        tx.execute(
            "UPDATE branches SET name = ?2, address = ?3, phone = ?4, email = ?5, tax_number = ?6, country = ?7,
                 time_zone = ?8, currency = ?9, default_tax_rate_bp = ?10, payment_terms_days = ?11,
                 labour_rate = ?12, invoice_footer = ?13, paper_size = ?14, updated_at = ?15,
                 odometer_unit = ?16, payment_instructions = ?17, idle_lock_minutes = ?18
             WHERE id = ?1",
            params![
                b.id,
                b.name,
                b.address,
                b.phone,
                b.email,
                b.tax_number,
                b.country,
                b.time_zone,
                b.currency,
                b.default_tax_rate_bp,
                b.payment_terms_days,
                b.labour_rate,
                b.invoice_footer,
                b.paper_size,
                stamp.at(),
                odometer_unit,
                b.payment_instructions.trim_end(),
                b.idle_lock_minutes,
            ],
        )?;
        if let Some(logo) = &p.logo {
            let parsed =
                logo.as_deref().map(crate::logo::parse).transpose().map_err(|m| Error::field("branch.logo", m))?;
            crate::logo::set_tx(tx, stamp, &b.id, parsed.as_ref())?;
        }
        changed.push("branch");
    }
    if let Some(h) = &input.opening_hours {
        replace_opening_hours_tx(tx, &branch.id, h)?;
        changed.push("opening_hours");
    }
    if let Some(cs) = &input.closures {
        tx.execute("DELETE FROM closures WHERE branch_id = ?1", [&branch.id])?;
        for c in cs {
            tx.execute(
                "INSERT INTO closures (branch_id, date, reason) VALUES (?1, ?2, ?3)
                 ON CONFLICT (branch_id, date) DO UPDATE SET reason = excluded.reason",
                params![branch.id, c.date, c.reason],
            )?;
        }
        changed.push("closures");
    }
    if let Some(bays) = &input.bays {
        for b in bays {
            upsert_bay_tx(tx, stamp, &branch.id, b)?;
        }
        changed.push("bays");
    }
    if let Some(types) = &input.service_types {
        for t in types {
            upsert_service_type_tx(tx, stamp, t)?;
        }
        changed.push("service_types");
    }
    if let Some(i) = &input.integrations {
        for (name, value) in i.pairs() {
            let Some(value) = value.as_deref().map(str::trim) else { continue };
            let value = if name.ends_with("_url") { value.trim_end_matches('/') } else { value };
            if value.is_empty() {
                tx.execute("DELETE FROM integration_settings WHERE name = ?1", [name])?;
            } else {
                tx.execute(
                    "INSERT INTO integration_settings (name, value, updated_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                    params![name, value, stamp.at()],
                )?;
            }
        }
        // Checked on the result, so no order of changes can send the SMTP
        // password unencrypted to another machine.
        let security = integration(tx, "smtp_security")?;
        let host = integration(tx, "smtp_host")?;
        if let (Some("none"), Some(host)) = (security.as_deref(), host.as_deref()) {
            if !matches!(host, "127.0.0.1" | "localhost" | "::1") {
                return Err(Error::field(
                    "integrations.smtp_security",
                    "none (no encryption) is only allowed to this machine; use starttls or tls",
                ));
            }
        }
        changed.push("integrations");
    }
    audit::record_tx(tx, stamp, "settings.update", "branch", Some(&branch.id), json!({ "changed": changed }))?;
    crate::events::append_tx(
        tx,
        stamp,
        crate::events::kind::BranchSettingsUpdated,
        &branch.id,
        &event_snapshot(tx, &changed)?,
    )?;
    Ok(())
}

// ---- commands ----------------------------------------------------------------

pub fn get_cmd(ctx: &mut Ctx, _input: crate::ctx::NoInput) -> Result<Settings> {
    let mut settings = load(ctx.conn())?;
    settings.secrets = crate::secrets::states(ctx)?;
    Ok(settings)
}

pub fn update_cmd(ctx: &mut Ctx, input: UpdateSettings) -> Result<Settings> {
    ctx.write(|tx, stamp| update_tx(tx, stamp, &input))?;
    get_cmd(ctx, crate::ctx::NoInput {})
}

#[cfg(test)]
mod service_url_tests {
    #[test]
    fn only_https_or_this_machine() {
        let cases = [
            ("https://pay.example.com", true),
            ("https://pay.example.com/v2", true),
            ("http://127.0.0.1:8080", true),
            ("http://localhost", true),
            ("http://[::1]:9000/x", true),
            ("http://pay.example.com", false),
            ("http://localhost.example.com", false),
            ("http://127.0.0.1.evil.net", false),
            ("https://", false),
            ("ftp://localhost", false),
            ("https://pay example.com", false),
        ];
        for (url, ok) in cases {
            assert_eq!(super::is_allowed_service_url(url), ok, "{url}");
        }
    }
}
