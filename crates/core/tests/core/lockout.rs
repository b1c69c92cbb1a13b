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
