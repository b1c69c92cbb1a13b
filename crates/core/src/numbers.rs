//! Gapless human-facing numbers (`INV-2026-A000456`). A number is taken
//! inside the transaction that creates its record, so a rolled-back
//! operation consumes none; each device has its own series letter so two
//! offline devices never issue the same number. While the device's identity
//! is in doubt (a copied file, a restored backup: `device`) no number is
//! taken, so none can repeat.

use rusqlite::{params, Transaction};

use crate::error::{Error, Result};

/// The next number of `prefix` (e.g. "INV", "JC") for `year` on this device.
pub fn next_tx(tx: &Transaction, prefix: &str, year: i32) -> Result<String> {
    let (letter, state): (String, String) = tx
        .prepare_cached("SELECT series_letter, identity_state FROM device")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    match crate::device::IdentityState::parse(&state)? {
        crate::device::IdentityState::Ok => {}
        doubted => return Err(crate::device::unconfirmed(doubted)),
    }
    let series = format!("{prefix}-{year}-{letter}");
    let n: i64 = tx
        .prepare_cached(
            "INSERT INTO number_series (series, last) VALUES (?1, 1)
             ON CONFLICT (series) DO UPDATE SET last = last + 1 RETURNING last",
        )?
        .query_row(params![series], |r| r.get(0))?;
    if n > 999_999_999 {
        return Err(Error::Internal(format!("number series {series} is exhausted")));
    }
    Ok(format!("{series}{n:06}"))
}
