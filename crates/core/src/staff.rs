//! Staff: who works here, their role, PIN (argon2id hash) and labour rate.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit;
use crate::clock::Stamp;
use crate::ctx::{Actor, Ctx};
use crate::error::{Error, Result};
use crate::events::{self, kind, Kind};
use crate::roles::Role;
use crate::validate::{Validate, Violations, MAX_NAME};

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct StaffMember {
    pub id: String,
    pub code: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    /// Minor units per hour, for technicians' labour lines.
    pub hourly_rate: i64,
    pub locked_until: Option<String>,
}

/// A PIN, kept out of Debug output and logs.
#[derive(Clone, Deserialize, ts_rs::TS)]
#[serde(transparent)]
pub struct Pin(String);

impl Pin {
    pub fn new(s: impl Into<String>) -> Self {
        Pin(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

pub fn hash_pin(pin: &Pin) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(pin.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("hashing a PIN failed: {e}")))
}

pub fn pin_matches(pin: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(pin.as_bytes(), &h).is_ok())
}

fn check_pin(v: &mut Violations, field: &str, pin: &Pin) {
    let n = pin.expose().chars().count();
    if !(4..=64).contains(&n) {
        v.add(field, "must be 4 to 64 characters (a PIN of at least 4 digits)");
    }
}

pub fn check_code(v: &mut Violations, field: &str, code: &str) {
    if code.is_empty()
        || code.len() > 32
        || !code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
    {
        v.add(field, "must be 1 to 32 lower-case letters, digits, '.' or '_'");
    }
}

fn parse_role(s: &str) -> rusqlite::Result<Role> {
    Role::parse(s).ok_or_else(|| rusqlite::Error::InvalidColumnType(0, "role".into(), rusqlite::types::Type::Text))
}

const COLUMNS: &str = "id, code, name, role, active, hourly_rate, locked_until";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<StaffMember> {
    Ok(StaffMember {
        id: r.get(0)?,
        code: r.get(1)?,
        name: r.get(2)?,
        role: parse_role(&r.get::<_, String>(3)?)?,
        active: r.get(4)?,
        hourly_rate: r.get(5)?,
        locked_until: r.get(6)?,
    })
}

pub fn get(conn: &Connection, id: &str) -> Result<StaffMember> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM staff WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or_else(|| Error::not_found("staff member", id))
}

/// The actor for a session, if the staff member still exists and is active.
pub fn active_actor(conn: &Connection, id: &str) -> Result<Option<Actor>> {
    Ok(conn
        .prepare_cached("SELECT id, code, name, role FROM staff WHERE id = ?1 AND active = 1")?
        .query_row([id], |r| {
            Ok(Actor {
                staff_id: r.get(0)?,
                code: r.get(1)?,
                name: r.get(2)?,
                role: parse_role(&r.get::<_, String>(3)?)?,
            })
        })
        .optional()?)
}

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct NewStaff {
    pub code: String,
    pub name: String,
    pub role: Role,
    pub pin: Pin,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub hourly_rate: i64,
}

impl Validate for NewStaff {
    fn validate(&self, v: &mut Violations) {
        check_code(v, "code", &self.code);
        v.required("name", &self.name, MAX_NAME);
        check_pin(v, "pin", &self.pin);
        v.range("hourly_rate", self.hourly_rate, 0, 1_000_000_000);
    }
}

/// Adds a staff member; the PIN hash is made by the caller (it is slow, and
/// belongs outside the transaction).
pub fn create_tx(
    tx: &Transaction,
    stamp: &Stamp,
    branch_id: &str,
    s: &NewStaff,
    pin_hash: &str,
) -> Result<StaffMember> {
    let id = stamp.new_id();
    tx.prepare_cached(
        "INSERT INTO staff (id, branch_id, code, name, role, pin_hash, hourly_rate, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
    )?
    .execute(params![id, branch_id, s.code, s.name.trim(), s.role.as_str(), pin_hash, s.hourly_rate, stamp.at()])
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => Error::conflict(
            "duplicate_staff_code",
            format!("The staff code '{}' is taken.", s.code),
            json!({"code": s.code}),
        ),
        e => e.into(),
    })?;
    audit::record_tx(tx, stamp, "staff.create", "staff", Some(&id), json!({ "role": s.role.as_str() }))?;
    emit_tx(tx, stamp, kind::StaffCreated, &id)
}

/// Writes the staff member's event: the person as they are now, never the
/// PIN, its hash or the lockout state.
fn emit_tx(tx: &Transaction, stamp: &Stamp, kind: Kind<events::StaffMember>, id: &str) -> Result<StaffMember> {
    let member = get(tx, id)?;
    let branch_id: String =
        tx.prepare_cached("SELECT branch_id FROM staff WHERE id = ?1")?.query_row([id], |r| r.get(0))?;
    events::append_tx(
        tx,
        stamp,
        kind,
        id,
        &events::StaffMember {
            staff_id: member.id.clone(),
            branch_id,
            code: member.code.clone(),
            name: member.name.clone(),
            role: member.role.as_str().into(),
            active: member.active,
            hourly_rate: member.hourly_rate,
        },
    )?;
    Ok(member)
}

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct StaffPatch {
    pub id: String,
    pub name: Option<String>,
    pub role: Option<Role>,
    pub pin: Option<Pin>,
    pub active: Option<bool>,
    pub hourly_rate: Option<i64>,
}

impl Validate for StaffPatch {
    fn validate(&self, v: &mut Violations) {
        v.required("id", &self.id, 100);
        if let Some(n) = &self.name {
            v.required("name", n, MAX_NAME);
        }
        if let Some(p) = &self.pin {
            check_pin(v, "pin", p);
        }
        if let Some(r) = self.hourly_rate {
            v.range("hourly_rate", r, 0, 1_000_000_000);
        }
    }
}

pub fn update_tx(tx: &Transaction, stamp: &Stamp, p: &StaffPatch, pin_hash: Option<&str>) -> Result<StaffMember> {
    let before = get(tx, &p.id)?;
    let role = p.role.unwrap_or(before.role);
    let active = p.active.unwrap_or(before.active);
    if before.role == Role::Owner && before.active && (role != Role::Owner || !active) {
        let owners: i64 =
            tx.query_row("SELECT count(*) FROM staff WHERE role = 'owner' AND active = 1", [], |r| r.get(0))?;
        if owners <= 1 {
            return Err(Error::rule(
                "last_owner",
                "This is the only active owner: make someone else owner first.",
                json!({ "staff_id": p.id }),
            ));
        }
    }
    tx.prepare_cached(
        "UPDATE staff SET name = ?2, role = ?3, active = ?4, hourly_rate = ?5,
             pin_hash = coalesce(?6, pin_hash),
             failed_pin_count = CASE WHEN ?6 IS NULL THEN failed_pin_count ELSE 0 END,
             locked_until = CASE WHEN ?6 IS NULL THEN locked_until ELSE NULL END,
             updated_at = ?7
         WHERE id = ?1",
    )?
    .execute(params![
        p.id,
        p.name.as_deref().map(str::trim).unwrap_or(&before.name),
        role.as_str(),
        active,
        p.hourly_rate.unwrap_or(before.hourly_rate),
        pin_hash,
        stamp.at()
    ])?;
    let mut changed = Vec::new();
    for (name, set) in [
        ("name", p.name.is_some()),
        ("role", p.role.is_some()),
        ("pin", p.pin.is_some()),
        ("active", p.active.is_some()),
        ("hourly_rate", p.hourly_rate.is_some()),
    ] {
        if set {
            changed.push(name);
        }
    }
    audit::record_tx(tx, stamp, "staff.update", "staff", Some(&p.id), json!({ "changed": changed }))?;
    emit_tx(tx, stamp, kind::StaffUpdated, &p.id)
}

pub fn list(conn: &Connection, include_inactive: bool) -> Result<Vec<StaffMember>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM staff WHERE active = 1 OR ?1 ORDER BY role, name"))?;
    let rows = stmt.query_map([include_inactive], from_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

// ---- commands ----------------------------------------------------------------

#[derive(Debug, Default, Deserialize, ts_rs::TS)]
#[ts(rename = "StaffListInput")]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct ListInput {
    #[serde(default)]
    #[ts(optional = nullable)]
    pub include_inactive: bool,
}
impl Validate for ListInput {}

/// A colleague as the front desk and technicians see them: who, and in
/// which role. No staff code (half a login), pay or lock.
#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct Colleague {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
}

/// `staff.list`: managers and owners get every [`StaffMember`] field, the
/// front desk and technicians [`Colleague`]s.
#[derive(Serialize, ts_rs::TS)]
#[serde(untagged)]
pub enum StaffList {
    Full { staff: Vec<StaffMember> },
    Colleagues { staff: Vec<Colleague> },
}

pub fn list_cmd(ctx: &mut Ctx, input: ListInput) -> Result<StaffList> {
    let staff = list(ctx.conn(), input.include_inactive)?;
    Ok(match ctx.actor()?.role {
        Role::Manager | Role::Owner => StaffList::Full { staff },
        Role::FrontDesk | Role::Technician => StaffList::Colleagues {
            staff: staff
                .into_iter()
                .map(|s| Colleague { id: s.id, name: s.name, role: s.role, active: s.active })
                .collect(),
        },
    })
}

pub fn create_cmd(ctx: &mut Ctx, input: NewStaff) -> Result<StaffMember> {
    let hash = hash_pin(&input.pin)?;
    let branch_id = crate::settings::branch(ctx.conn())?.id;
    ctx.write(|tx, stamp| create_tx(tx, stamp, &branch_id, &input, &hash))
}

pub fn update_cmd(ctx: &mut Ctx, input: StaffPatch) -> Result<StaffMember> {
    let hash = input.pin.as_ref().map(hash_pin).transpose()?;
    ctx.write(|tx, stamp| update_tx(tx, stamp, &input, hash.as_deref()))
}
