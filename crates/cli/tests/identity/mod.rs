//! `pitlane device`: the identity of a database moved to another computer or
//! restored from a backup, through the real open path (this computer's
//! machine id) and, for the secrets, a real keyring.

use std::path::Path;

use pitlane_core::device::HostFingerprint;
use serde_json::Value;

use crate::{envelope, in_keyring_session, pitlane};

const PIN: &str = "1111";

fn init(db: &Path) {
    let out = pitlane(db, &["init", "--branch-name", "B", "--owner-name", "O", "--owner-code", "o"], Some(PIN));
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}

fn owner(db: &Path, args: &[&str]) -> (Option<i32>, Value) {
    let out = pitlane(db, &[&["--user", "o"], args].concat(), Some(PIN));
    (out.status.code(), envelope(&out))
}

fn fingerprint(db: &Path) -> Option<String> {
    let conn = pitlane_core::db::open(db).unwrap();
    conn.query_row("SELECT host_fingerprint FROM device", [], |r| r.get(0)).unwrap()
}

/// A job card for a new customer and vehicle: the call and its envelope.
fn job_card(db: &Path, plate: &str) -> (Option<i32>, Value) {
    let (_, c) = owner(db, &["call", "customers.create", &format!(r#"{{"name":"Owner {plate}"}}"#)]);
    let (_, v) = owner(
        db,
        &[
            "call",
            "vehicles.register",
            &format!(
                r#"{{"customer_id":"{}","license_plate":"{plate}","make":"Kia","model":"Rio"}}"#,
                c["data"]["id"].as_str().unwrap()
            ),
        ],
    );
    owner(
        db,
        &[
            "call",
            "job_cards.create",
            &format!(
                r#"{{"customer_id":"{}","vehicle_id":"{}"}}"#,
                c["data"]["id"].as_str().unwrap(),
                v["data"]["id"].as_str().unwrap()
            ),
        ],
    )
}

#[test]
fn a_database_from_another_computer_or_a_backup_waits_for_the_owner() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    init(&db);
    let here = HostFingerprint::of_this_computer().expect("this computer has a machine id or a host name");
    assert_eq!(fingerprint(&db).as_deref(), Some(here.as_str()), "the device belongs to the computer that made it");
    let (code, seen) = owner(&db, &["device"]);
    assert_eq!((code, seen["data"]["state"].clone()), (Some(0), Value::from("ok")));

    // The file as it arrives from another computer.
    let elsewhere = HostFingerprint::of_label("the old till");
    pitlane_core::db::open(&db)
        .unwrap()
        .execute("UPDATE device SET host_fingerprint = ?1", [elsewhere.as_str()])
        .unwrap();
    let (_, seen) = owner(&db, &["device"]);
    assert_eq!(seen["data"]["state"], "moved", "{seen}");
    let (code, refused) = job_card(&db, "CLI-1");
    assert_eq!(code, Some(1), "a business failure");
    assert_eq!(refused["code"], "device_identity_unconfirmed", "{refused}");
    let (code, confirmed) = owner(&db, &["device", "confirm-move"]);
    assert_eq!((code, confirmed["data"]["state"].clone()), (Some(0), Value::from("ok")), "{confirmed}");
    assert_eq!(fingerprint(&db).as_deref(), Some(here.as_str()), "this computer is the device's own now");
    let (code, card) = job_card(&db, "CLI-2");
    assert_eq!(code, Some(0), "{card}");
    assert!(card["data"]["number"].as_str().unwrap().ends_with("-A000001"), "the series goes on: {card}");

    // A backup brought back.
    let backup = dir.path().join("monday.db");
    assert_eq!(owner(&db, &["backup", backup.to_str().unwrap()]).0, Some(0));
    assert_eq!(owner(&db, &["restore", backup.to_str().unwrap()]).0, Some(0));
    let (_, seen) = owner(&db, &["device"]);
    assert_eq!(seen["data"]["state"], "restored", "{seen}");
    assert_eq!(job_card(&db, "CLI-3").1["code"], "device_identity_unconfirmed");
    let (code, wrong) = owner(&db, &["device", "confirm-move"]);
    assert_eq!((code, wrong["code"].clone()), (Some(1), Value::from("wrong_status")), "{wrong}");
    let (code, bad) = owner(&db, &["device", "new-identity", "--series-letter", "b"]);
    assert_eq!((code, bad["details"]["fields"][0]["field"].clone()), (Some(1), Value::from("series_letter")), "{bad}");
    let (code, changed) = owner(&db, &["device", "new-identity", "--series-letter", "B"]);
    assert_eq!(code, Some(0), "{changed}");
    assert_eq!(changed["data"]["identity"]["series_letter"], "B");
    let (_, card) = job_card(&db, "CLI-4");
    assert!(card["data"]["number"].as_str().unwrap().ends_with("B000001"), "{card}");
    let (_, desk) = {
        let out = pitlane(&db, &["device", "new-identity", "--series-letter", "C"], None);
        (out.status.code(), envelope(&out))
    };
    assert_eq!(desk["status_code"], 401, "the owner's command");
}

#[test]
fn a_new_identity_takes_the_keys_along_in_a_real_keyring() {
    let dir = tempfile::tempdir().unwrap();
    let (db, home) = (dir.path().join("shop.db"), dir.path().join("home"));
    // in_keyring_session logs in with PIN 4321.
    let out = pitlane(&db, &["init", "--branch-name", "B", "--owner-name", "O", "--owner-code", "o"], Some("4321"));
    assert_eq!(out.status.code(), Some(0));
    let run = |args: &[&str], stdin: &str| {
        let out = in_keyring_session(&home, true, &db, &[&["--user", "o"], args].concat(), stdin);
        envelope(&out)
    };
    let set = run(&["secret", "payment_gateway_key"], "sk_kept_1\n");
    assert_eq!(set["data"]["state"], "set", "{set}");
    let before = run(&["device"], "");
    let changed = run(&["device", "new-identity", "--series-letter", "K"], "");
    assert_eq!(changed["success"], true, "{changed}");
    assert_eq!(changed["data"]["secrets_copied"], serde_json::json!(["payment_gateway_key"]), "{changed}");
    assert_ne!(changed["data"]["identity"]["device_id"], before["data"]["device_id"]);
    let get = in_keyring_session(&home, true, &db, &["--user", "o", "call", "settings.get"], "");
    let states = crate::secret_states(&get);
    assert_eq!(crate::state_of(&states, "payment_gateway_key"), "set", "the new device has the key: {states:?}");
    assert_eq!(crate::state_of(&states, "smtp_password"), "not_set", "{states:?}");
}
