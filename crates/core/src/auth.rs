//! Logging in with a staff code and PIN. Five wrong PINs in a row lock the
//! account for five minutes; the count and the lock are kept in the
//! database, so they hold across processes and restarts.

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

#[derive(Debug, Deserialize)]
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

#[derive(Debug, Serialize)]
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
    // argon2 is slow by design: verify before taking the write lock.
    let verified: Option<(String, bool)> = ctx
        .conn()
        .prepare_cached("SELECT pin_hash FROM staff WHERE code = ?1 AND active = 1")?
        .query_row([&input.code], |r| r.get::<_, String>(0))
        .optional()?
        .map(|hash| {
            let ok = pin_matches(input.pin.expose(), &hash);
            (hash, ok)
        });
    let outcome = ctx.write(|tx, stamp| {
        let row: Option<(String, String, String, String, i64, Option<String>)> = tx
            .prepare_cached(
                "SELECT id, name, role, pin_hash, failed_pin_count, locked_until FROM staff
                 WHERE code = ?1 AND active = 1",
            )?
            .query_row([&input.code], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
            .optional()?;
        let Some((id, name, role, hash, failed, locked_until)) = row else {
            // The same error as a wrong PIN, counting nothing.
            return Ok(Outcome::Wrong { attempts_left: MAX_WRONG_PINS as u32 });
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

#[derive(Serialize)]
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
