//! Five wrong PINs in a row lock the account for five minutes (SPEC 8).

use chrono::Duration;
use serde_json::json;

use crate::support::{failure, open_at, shop, PIN};

#[test]
fn five_wrong_pins_lock_the_account_for_five_minutes() {
    let s = shop();
    s.staff("desk", "front_desk");
    let login = |pin: &str| s.api.call_value(None, "auth.login", &json!({ "code": "desk", "pin": pin }));

    for left in (1..=4).rev() {
        let env = login("0000");
        assert_eq!(failure(&env), (401, "wrong_credentials".into()));
        assert_eq!(env.to_value()["details"]["attempts_left"], left);
    }
    let fifth = login("0000");
    assert_eq!(failure(&fifth), (401, "account_locked".into()), "the fifth wrong PIN locks");
    assert_eq!(failure(&login(PIN)), (401, "account_locked".into()), "even the right PIN is refused while locked");

    // The lock is in the database: another process (a reopened core) sees it.
    let other = open_at(s.dir.path(), s.clock.clone());
    let env = other.call_value(None, "auth.login", &json!({ "code": "desk", "pin": PIN }));
    assert_eq!(failure(&env), (401, "account_locked".into()), "the lock holds across processes");

    s.clock.advance(Duration::minutes(4) + Duration::seconds(59));
    assert_eq!(failure(&login(PIN)), (401, "account_locked".into()), "still locked just before five minutes");
    s.clock.advance(Duration::seconds(2));
    assert!(login(PIN).is_success(), "the right PIN works after five minutes");
}

#[test]
fn a_right_pin_resets_the_count() {
    let s = shop();
    s.staff("desk", "front_desk");
    let login = |pin: &str| s.api.call_value(None, "auth.login", &json!({ "code": "desk", "pin": pin }));
    for _ in 0..4 {
        assert!(!login("0000").is_success());
    }
    assert!(login(PIN).is_success());
    for _ in 0..4 {
        assert_eq!(failure(&login("0000")).1, "wrong_credentials", "the count started again");
    }
}

#[test]
fn unknown_codes_and_deactivated_staff_cannot_log_in() {
    let s = shop();
    let token = s.staff("desk", "front_desk");
    let env = s.api.call_value(None, "auth.login", &json!({ "code": "nobody", "pin": PIN }));
    assert_eq!(failure(&env), (401, "wrong_credentials".into()), "an unknown code looks like a wrong PIN");

    let desk = s.ok(&token, "auth.whoami", json!({}));
    s.ok(&s.owner, "staff.update", json!({ "id": desk["staff_id"], "active": false }));
    assert_eq!(failure(&s.call(&token, "auth.whoami", json!({}))).0, 401, "a deactivated account's session ends");
    let env = s.api.call_value(None, "auth.login", &json!({ "code": "desk", "pin": PIN }));
    assert_eq!(failure(&env).0, 401);

    let me = s.ok(&s.owner, "auth.whoami", json!({}));
    let env = s.call(&s.owner, "staff.update", json!({ "id": me["staff_id"], "role": "manager" }));
    assert_eq!(failure(&env), (400, "last_owner".into()), "the last owner cannot demote themselves");
}

#[test]
fn a_session_ends_after_twelve_idle_hours() {
    let s = shop();
    let token = s.staff("desk", "front_desk");
    s.clock.advance(Duration::hours(11));
    assert!(s.call(&token, "auth.whoami", json!({})).is_success(), "11 idle hours: still in");
    s.clock.advance(Duration::hours(12) + Duration::seconds(1));
    assert_eq!(failure(&s.call(&token, "auth.whoami", json!({}))), (401, "not_logged_in".into()), "12 idle hours: out");
    let again = s.api.login("desk", PIN).expect("log in again");
    assert!(s.call(&again, "auth.whoami", json!({})).is_success());
}

/// Everything a caller sees of a failed login.
fn seen(env: &pitlane_core::Envelope) -> serde_json::Value {
    let mut v = env.to_value();
    assert_eq!(v["success"], false, "a failed login: {v}");
    v.as_object_mut().unwrap().remove("data");
    v
}

#[test]
fn an_unknown_code_answers_exactly_like_a_known_one_with_the_same_history() {
    let s = shop();
    s.staff("desk", "front_desk");
    let other = open_at(s.dir.path(), s.clock.clone()); // a second process on the same file
    let wrong = |api: &pitlane_core::Api, code: &str| {
        api.call_value(None, "auth.login", &json!({ "code": code, "pin": "0000" }))
    };
    // Attempts 1 to 7 alternate between the two processes; 6 and 7 are while locked.
    for attempt in 1..=7 {
        let api = if attempt % 2 == 0 { &other } else { &s.api };
        let known = seen(&wrong(api, "desk"));
        let unknown = seen(&wrong(api, "nobody"));
        assert_eq!(unknown, known, "wrong PIN {attempt}: an unknown code answers exactly as a known one");
        let want = if attempt < 5 { "wrong_credentials" } else { "account_locked" };
        assert_eq!(known["code"], want, "wrong PIN {attempt}");
    }
    s.clock.advance(Duration::minutes(5) + Duration::seconds(1));
    let known = seen(&wrong(&s.api, "desk"));
    assert_eq!(seen(&wrong(&s.api, "nobody")), known, "after the lock, both count again from the start");
    assert_eq!(known["details"]["attempts_left"], 4);
}

fn median(mut v: Vec<std::time::Duration>) -> std::time::Duration {
    v.sort();
    v[v.len() / 2]
}

/// An unknown code is verified against a hash like a real one: answering it
/// costs the same time. Medians of interleaved samples, with a generous
/// ratio: without the verification an unknown code answers in a small
/// fraction of the time.
#[test]
fn an_unknown_code_takes_as_long_as_a_known_one() {
    let s = shop();
    s.staff("desk", "front_desk");
    let timed = |code: &str| {
        let t = std::time::Instant::now();
        let env = s.api.call_value(None, "auth.login", &json!({ "code": code, "pin": "0000" }));
        let took = t.elapsed();
        assert_eq!(failure(&env), (401, "wrong_credentials".into()), "{code}");
        took
    };
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for round in 0..6 {
        for i in 0..4 {
            // Alternate which goes first, so the machine's noise hits both alike.
            if i % 2 == 0 {
                known.push(timed("desk"));
                unknown.push(timed(&format!("ghost{round}")));
            } else {
                unknown.push(timed(&format!("ghost{round}")));
                known.push(timed("desk"));
            }
        }
        assert!(s.api.login("desk", PIN).is_ok(), "the right PIN resets the known code's count");
    }
    let (known, unknown) = (median(known), median(unknown));
    let ratio = unknown.as_secs_f64() / known.as_secs_f64();
    assert!(
        (0.6..=1.7).contains(&ratio),
        "an unknown code's median {unknown:?} is within a generous ratio of a known code's {known:?} (ratio {ratio:.2})"
    );
}

#[test]
fn unknown_codes_remembered_are_bounded() {
    let s = shop();
    let max = pitlane_core::auth::MAX_UNKNOWN_CODES;
    {
        let conn = s.api.lock_conn();
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
             INSERT INTO login_failures (code, failed_pin_count, updated_at)
             SELECT printf('made_up_%05d', i), 1, printf('2026-11-24T13:%02d:%02d.000Z', i / 600 % 60, i / 10 % 60) FROM n",
            [max],
        )
        .unwrap();
    }
    let oldest: String = s
        .api
        .lock_conn()
        .query_row("SELECT code FROM login_failures ORDER BY updated_at, code LIMIT 1", [], |r| r.get(0))
        .unwrap();
    let env = s.api.call_value(None, "auth.login", &json!({ "code": "one_more", "pin": "0000" }));
    assert_eq!(env.to_value()["details"]["attempts_left"], 4, "the new code is counted");
    let conn = s.api.lock_conn();
    let count: i64 = conn.query_row("SELECT count(*) FROM login_failures", [], |r| r.get(0)).unwrap();
    assert_eq!(count, max, "at most {max} unknown codes are remembered");
    let kept: i64 =
        conn.query_row("SELECT count(*) FROM login_failures WHERE code = ?1", [&oldest], |r| r.get(0)).unwrap();
    assert_eq!(kept, 0, "the code tried longest ago is forgotten first");
}
