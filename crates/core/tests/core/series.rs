//! Gapless number series and orchestration-run records.

use pitlane_core::orchestration::Run;
use pitlane_core::{Error, Stamp};
use serde_json::json;

use crate::support::shop;

#[test]
fn numbers_are_gapless_per_series_and_a_rollback_consumes_none() {
    let s = shop();
    let mut conn = s.api.lock_conn();
    let take = |conn: &mut rusqlite::Connection, prefix: &str, year: i32, commit: bool| -> String {
        let tx = conn.transaction().unwrap();
        let n = pitlane_core::numbers::next_tx(&tx, prefix, year).unwrap();
        if commit {
            tx.commit().unwrap();
        } else {
            tx.rollback().unwrap();
        }
        n
    };
    assert_eq!(take(&mut conn, "INV", 2026, true), "INV-2026-A000001");
    assert_eq!(take(&mut conn, "INV", 2026, false), "INV-2026-A000002", "taken inside a transaction that rolls back");
    assert_eq!(take(&mut conn, "INV", 2026, true), "INV-2026-A000002", "the rolled-back number was not consumed");
    assert_eq!(take(&mut conn, "JC", 2026, true), "JC-2026-A000001", "each prefix is its own series");
    assert_eq!(take(&mut conn, "INV", 2027, true), "INV-2027-A000001", "a new year starts a new series");
    conn.execute("UPDATE device SET series_letter = 'B'", []).unwrap();
    assert_eq!(take(&mut conn, "INV", 2026, true), "INV-2026-B000001", "another device's letter is another series");
}

#[test]
fn a_failed_run_is_recorded_with_the_step_that_failed() {
    let s = shop();
    let conn = s.api.lock_conn();
    let stamp = Stamp { now: s.api.clock().now(), ids: s.api.ids(), actor_id: None };
    let mut run = Run::default();
    run.step("check", || Ok(())).unwrap();
    let failed: Result<(), Error> =
        run.step("deduct_stock", || Err(Error::rule("insufficient_stock", "short", json!({}))));
    assert!(failed.is_err());
    let err = failed.unwrap_err();
    let id = pitlane_core::orchestration::record(
        &conn,
        &stamp,
        "complete_job_card",
        Some("jc-1"),
        &stamp.at(),
        &run,
        Some(&err),
        1,
    )
    .unwrap();
    let (outcome, step, code, steps): (String, String, String, String) = conn
        .query_row("SELECT outcome, failed_step, error_code, steps FROM orchestration_runs WHERE id = ?1", [&id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .unwrap();
    assert_eq!((outcome.as_str(), step.as_str(), code.as_str()), ("failed", "deduct_stock", "insufficient_stock"));
    let steps: serde_json::Value = serde_json::from_str(&steps).unwrap();
    assert_eq!(steps.as_array().unwrap().len(), 2, "every step taken is recorded");
}
