//! Settings through the command table: integration values keep their types.

use serde_json::{json, Value};

use crate::support::{failure, shop};

#[test]
fn smtp_port_takes_a_number() {
    // (scenario, what is sent, the port settings.get shows after, or None for a 422)
    let cases: &[(&str, Value, Option<Value>)] = &[
        ("a port as a JSON number", json!(2525), Some(json!(2525))),
        ("the lowest port", json!(1), Some(json!(1))),
        ("the highest port", json!(65535), Some(json!(65535))),
        ("a numeric string, as older callers send it", json!("587"), Some(json!(587))),
        ("a numeric string with spaces", json!(" 465 "), Some(json!(465))),
        ("an empty string removes the setting", json!(""), Some(Value::Null)),
        ("port 0", json!(0), None),
        ("one above the highest port", json!(65536), None),
        ("a negative number", json!(-25), None),
        ("a fraction", json!(25.5), None),
        ("a huge number", json!(1e300), None),
        ("words", json!("smtp"), None),
        ("a string out of range", json!("70000"), None),
        ("a boolean", json!(true), None),
        ("a list", json!([25]), None),
    ];
    for (scenario, sent, expected) in cases {
        let s = shop();
        // A port already stored: a refused change must leave it, a removal must clear it.
        s.ok(&s.owner, "settings.update", json!({ "integrations": { "smtp_port": 2526 } }));
        let before = s.dump();
        let env = s.call(&s.owner, "settings.update", json!({ "integrations": { "smtp_port": sent } }));
        match expected {
            Some(port) => {
                assert!(env.is_success(), "{scenario}: accepted, got {}", env.to_json());
                let got = s.ok(&s.owner, "settings.get", json!({}))["integrations"]["smtp_port"].clone();
                assert_eq!(&got, port, "{scenario}: settings.get shows the port as a number");
                assert_eq!(env.data().unwrap()["integrations"]["smtp_port"], *port, "{scenario}: so does the answer");
            }
            None => {
                assert_eq!(failure(&env), (422, "validation_failed".into()), "{scenario}: refused");
                let fields = env.to_value()["details"]["fields"].clone();
                assert_eq!(fields[0]["field"], "integrations.smtp_port", "{scenario}: names the field: {fields}");
                assert_eq!(s.dump(), before, "{scenario}: nothing changed");
            }
        }
    }
}

/// The screen lock's idle time: 5 minutes until the owner changes it,
/// whole minutes from 1 to 240, read by everyone, set by the owner only.
#[test]
fn idle_lock_minutes_default_to_five_and_only_the_owner_changes_them() {
    let s = shop();
    let tech = s.staff("tech", "technician");
    let minutes = |token: &str| s.ok(token, "settings.get", json!({}))["branch"]["idle_lock_minutes"].clone();
    assert_eq!(minutes(&tech), 5, "the default, readable by a technician");
    for (scenario, sent) in [("zero", json!(0)), ("over four hours", json!(241)), ("a fraction", json!(2.5))] {
        let env = s.call(&s.owner, "settings.update", json!({ "branch": { "idle_lock_minutes": sent } }));
        assert_eq!(failure(&env), (422, "validation_failed".into()), "{scenario}");
        assert_eq!(env.to_value()["details"]["fields"][0]["field"], "branch.idle_lock_minutes", "{scenario}");
        assert_eq!(minutes(&s.owner), 5, "{scenario}: unchanged");
    }
    let env = s.call(&tech, "settings.update", json!({ "branch": { "idle_lock_minutes": 15 } }));
    assert_eq!(failure(&env).0, 403, "a technician cannot change it");
    for m in [1, 240, 15] {
        let out = s.ok(&s.owner, "settings.update", json!({ "branch": { "idle_lock_minutes": m } }));
        assert_eq!(out["branch"]["idle_lock_minutes"], m);
    }
    s.ok(&s.owner, "settings.update", json!({ "branch": { "name": "Renamed" } }));
    assert_eq!(minutes(&tech), 15, "kept when other branch settings change");
}
