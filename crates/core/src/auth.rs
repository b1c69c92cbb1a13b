//! Logging in with a staff code and PIN. Five wrong PINs in a row lock the
//! account for five minutes; the count and the lock are kept in the
//! database, so they hold across processes and restarts.
//!
//! A code that belongs to no active staff member cannot be told from one
//! that does: its PIN is verified (against a hash of no one's PIN, made like
//! every real one), and its wrong PINs are counted and locked alike, in
//! `login_failures`. That table keeps at most [`MAX_UNKNOWN_CODES`] codes,
//! forgetting the ones tried longest ago first, so an attack with endless
//! made-up codes cannot grow the database without bound.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::{Actor, Ctx, NoInput};
use crate::audit;
use crate::clock::rfc3339;
use crate::error::{Error, Result};
use crate::staff::{pin_matches, Pin};
use crate::validate::{Validate, Violations};

pub const MAX_WRONG_PINS: i64 = 5;
pub const LOCKOUT: chrono::Duration = chrono::Duration::minutes(5);
/// How many unknown codes' wrong PINs are remembered.
pub const MAX_UNKNOWN_CODES: i64 = 10_000;

/// An argon2id hash, with `Argon2::default()`'s parameters like every PIN
/// hash `staff::hash_pin` makes, of a random PIN that was thrown away. A
/// constant, so no process pays for making it.
const NO_ONES_PIN_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$x5T7dsXSyhRYRRvmGaSS3A$kERzpu65FgBvk4Z4PSbXbOIg20WKqCof8iqmz2LAbfI";

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    pub code: String,
    pub pin: Pin,
}

impl Validate for LoginInput {
    fn validate(&self, v: &mut Violations) {
        v.required("code", &self.code, 32);
        v.required("pin", self.pin.expose(), 64);
    }
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct LoginOutput {
    pub token: String,
    pub staff: Actor,
}

enum Outcome {
    In(Actor),
    Wrong { attempts_left: u32 },
    Locked(String),
}

/// Login entries are made in the name of the staff member logging in.
fn as_of<'a>(
    now: chrono::DateTime<chrono::Utc>,
    ids: &'a dyn crate::clock::IdSource,
    id: &'a str,
) -> crate::clock::Stamp<'a> {
    crate::clock::Stamp { now, ids, actor_id: Some(id) }
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn login_cmd(ctx: &mut Ctx, input: LoginInput) -> Result<LoginOutput> {
    let now = ctx.clock.now();
    // argon2 is slow by design: verify before taking the write lock. An
    // unknown code is verified too, so it takes the same time.
    let hash: Option<String> = ctx
        .conn()
        .prepare_cached("SELECT pin_hash FROM staff WHERE code = ?1 AND active = 1")?
        .query_row([&input.code], |r| r.get::<_, String>(0))
        .optional()?;
    let ok = pin_matches(input.pin.expose(), hash.as_deref().unwrap_or(NO_ONES_PIN_HASH));
    let verified: Option<(String, bool)> = hash.map(|h| (h, ok));
    let outcome = ctx.write(|tx, stamp| {
        let row: Option<(String, String, String, String, i64, Option<String>)> = tx
            .prepare_cached(
                "SELECT id, name, role, pin_hash, failed_pin_count, locked_until FROM staff
                 WHERE code = ?1 AND active = 1",
            )?
            .query_row([&input.code], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
            .optional()?;
        let Some((id, name, role, hash, failed, locked_until)) = row else {
            return wrong_pin_for_unknown_code_tx(tx, &input.code, now);
        };
        if let Some(until) = &locked_until {
            if chrono::DateTime::parse_from_rfc3339(until).is_ok_and(|u| u > now) {
                return Ok(Outcome::Locked(until.clone()));
            }
        }
        let pin_ok = matches!(&verified, Some((h, true)) if *h == hash);
        if pin_ok {
            tx.execute("UPDATE staff SET failed_pin_count = 0, locked_until = NULL WHERE id = ?1", [&id])?;
            audit::record_tx(tx, &as_of(now, stamp.ids, &id), "auth.login", "staff", Some(&id), json!({}))?;
            let role = crate::api::Role::parse(&role).ok_or_else(|| Error::Internal("unknown role".into()))?;
            return Ok(Outcome::In(Actor { staff_id: id, code: input.code.clone(), name, role }));
        }
        let failed = failed + 1;
        if failed >= MAX_WRONG_PINS {
            let until = rfc3339(now + LOCKOUT);
            tx.execute("UPDATE staff SET failed_pin_count = 0, locked_until = ?2 WHERE id = ?1", params![id, until])?;
            audit::record_tx(
                tx,
                &as_of(now, stamp.ids, &id),
                "auth.locked",
                "staff",
                Some(&id),
                json!({ "wrong_pins": failed }),
            )?;
            Ok(Outcome::Locked(until))
        } else {
            tx.execute(
                "UPDATE staff SET failed_pin_count = ?2, locked_until = NULL WHERE id = ?1",
                params![id, failed],
            )?;
            audit::record_tx(
                tx,
                &as_of(now, stamp.ids, &id),
                "auth.wrong_pin",
                "staff",
                Some(&id),
                json!({ "wrong_pins": failed }),
            )?;
            Ok(Outcome::Wrong { attempts_left: (MAX_WRONG_PINS - failed) as u32 })
        }
    })?;
    match outcome {
        Outcome::In(actor) => {
            let token = ctx.open_session(&actor.staff_id, new_token());
            tracing::info!(staff_id = %actor.staff_id, "logged in");
            Ok(LoginOutput { token, staff: actor })
        }
        Outcome::Wrong { attempts_left } => Err(Error::WrongCredentials { attempts_left }),
        Outcome::Locked(until) => Err(Error::AccountLocked { until }),
    }
}

/// A wrong PIN for a code that is no active staff member's: counted and
/// locked as a staff member's would be, so the answer is the same.
fn wrong_pin_for_unknown_code_tx(
    tx: &rusqlite::Transaction,
    code: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Outcome> {
    let row: Option<(i64, Option<String>)> = tx
        .prepare_cached("SELECT failed_pin_count, locked_until FROM login_failures WHERE code = ?1")?
        .query_row([code], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let is_new = row.is_none();
    let (failed, locked_until) = row.unwrap_or((0, None));
    if let Some(until) = &locked_until {
        if chrono::DateTime::parse_from_rfc3339(until).is_ok_and(|u| u > now) {
            return Ok(Outcome::Locked(until.clone()));
        }
    }
    let failed = failed + 1;
    let (count, until) = if failed >= MAX_WRONG_PINS { (0, Some(rfc3339(now + LOCKOUT))) } else { (failed, None) };
    tx.prepare_cached(
        "INSERT INTO login_failures (code, failed_pin_count, locked_until, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (code) DO UPDATE SET failed_pin_count = excluded.failed_pin_count,
             locked_until = excluded.locked_until, updated_at = excluded.updated_at",
    )?
    .execute(params![code, count, until, rfc3339(now)])?;
    if is_new {
        tx.prepare_cached(
            "DELETE FROM login_failures WHERE code IN
                 (SELECT code FROM login_failures ORDER BY updated_at DESC, code DESC LIMIT -1 OFFSET ?1)",
        )?
        .execute([MAX_UNKNOWN_CODES])?;
    }
    Ok(match until {
        Some(until) => Outcome::Locked(until),
        None => Outcome::Wrong { attempts_left: (MAX_WRONG_PINS - failed) as u32 },
    })
}

#[derive(Serialize, ts_rs::TS)]
pub struct LoggedOut {
    pub logged_out: bool,
}

pub fn logout_cmd(ctx: &mut Ctx, _input: NoInput) -> Result<LoggedOut> {
    ctx.close_session();
    Ok(LoggedOut { logged_out: true })
}

pub fn whoami_cmd(ctx: &mut Ctx, _input: NoInput) -> Result<Actor> {
    Ok(ctx.actor()?.clone())
}

/// Someone the login screen offers to pick: the code to log in with, the
/// name and the role. Nothing else (no pay, no lock): the PIN and its
/// lockout are what keep an account.
#[derive(Debug, Serialize, ts_rs::TS)]
pub struct LoginChoice {
    pub code: String,
    pub name: String,
    pub role: crate::api::Role,
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct LoginChoices {
    pub staff: Vec<LoginChoice>,
}

/// `auth.staff`: the active staff, by name, for the login screen.
pub fn staff_cmd(ctx: &mut Ctx, _input: NoInput) -> Result<LoginChoices> {
    let mut stmt =
        ctx.conn().prepare_cached("SELECT code, name, role FROM staff WHERE active = 1 ORDER BY name, code")?;
    let staff = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?
        .map(|row| {
            let (code, name, role) = row?;
            let role = crate::api::Role::parse(&role)
                .ok_or_else(|| Error::Internal(format!("staff {code} has an unknown role")))?;
            Ok(LoginChoice { code, name, role })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(LoginChoices { staff })
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::PasswordHash;
    use argon2::{Argon2, Params};

    use super::*;

    #[test]
    fn no_ones_pin_hash_costs_what_a_real_pin_hash_costs() {
        let dummy = PasswordHash::new(NO_ONES_PIN_HASH).expect("a valid PHC string");
        let real_hash = crate::staff::hash_pin(&Pin::new("2468")).expect("hash");
        let real = PasswordHash::new(&real_hash).expect("a valid PHC string");
        assert_eq!(dummy.algorithm, real.algorithm, "the same algorithm as hash_pin");
        assert_eq!(dummy.version, real.version, "the same argon2 version as hash_pin");
        assert_eq!(
            Params::try_from(&dummy).expect("params"),
            Params::try_from(&real).expect("params"),
            "the same memory, time and lanes as hash_pin: the same work to verify"
        );
        let cost = |p: &Params| (p.m_cost(), p.t_cost(), p.p_cost());
        assert_eq!(
            cost(&Params::try_from(&dummy).expect("params")),
            cost(Argon2::default().params()),
            "and those are Argon2::default()'s"
        );
        assert!(!pin_matches("2468", NO_ONES_PIN_HASH), "no PIN anyone uses matches it");
    }
}
