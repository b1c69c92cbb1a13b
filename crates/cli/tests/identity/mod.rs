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

/// The database file and its log, as a file manager copies them (the
/// process that used it has ended).
fn copy_db(from: &Path, to: &Path) {
    for ext in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", to.display()));
        let src = format!("{}{ext}", from.display());
        if Path::new(&src).exists() {
            std::fs::copy(&src, format!("{}{ext}", to.display())).unwrap();
        }
    }
    std::fs::copy(from, to).unwrap();
}

fn count(db: &Path, sql: &str) -> i64 {
    pitlane_core::db::open(db).unwrap().query_row(sql, [], |r| r.get(0)).unwrap()
}

/// The seen mark this computer keeps for `device_id` (docs/SYNC.md 6).
fn mark(db: &Path, device_id: &str) -> Option<i64> {
    let file = crate::state_dir(db).join(format!("{device_id}.seen"));
    std::fs::read_to_string(file).ok().map(|s| s.trim().parse().unwrap())
}

#[test]
fn an_older_copy_of_the_file_on_the_same_computer_waits_for_the_owner() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    init(&db);
    let (code, first) = job_card(&db, "OLD-1");
    assert_eq!(code, Some(0), "{first}");
    assert!(first["data"]["number"].as_str().unwrap().ends_with("-A000001"), "{first}");
    let card_id = first["data"]["id"].as_str().unwrap().to_string();
    let (_, owner_id) = owner(&db, &["call", "auth.whoami", "{}"]);
    let started = owner(
        &db,
        &[
            "call",
            "job_cards.start",
            &format!(
                r#"{{"job_card_id":"{card_id}","technician_id":"{}"}}"#,
                owner_id["data"]["staff_id"].as_str().unwrap()
            ),
        ],
    );
    assert_eq!(started.0, Some(0), "{}", started.1);
    let line = format!(
        r#"{{"job_card_id":"{card_id}","kind":"labour","description":"Oil change","quantity":1000,"unit_price":4500,"tax_rate_bp":0}}"#
    );
    assert_eq!(owner(&db, &["call", "job_cards.add_line", &line]).0, Some(0));
    let device_id = owner(&db, &["device"]).1["data"]["device_id"].as_str().unwrap().to_string();

    // Monday's copy of the file, taken by hand; then the day goes on.
    let monday = dir.path().join("monday.db");
    copy_db(&db, &monday);
    let monday_seq = count(&monday, "SELECT next_event_seq - 1 FROM device");
    assert_eq!(mark(&db, &device_id), Some(monday_seq), "the mark follows each write");
    let (code, second) = job_card(&db, "NEW-1");
    assert_eq!(code, Some(0), "{second}");
    assert!(second["data"]["number"].as_str().unwrap().ends_with("-A000002"), "{second}");
    let tuesday = dir.path().join("tuesday.db");
    copy_db(&db, &tuesday);
    let tuesday_seq = count(&tuesday, "SELECT next_event_seq - 1 FROM device");
    assert!(tuesday_seq > monday_seq);
    assert_eq!(mark(&db, &device_id), Some(tuesday_seq));

    // Monday's file put back over the database on the same computer.
    copy_db(&monday, &db);
    let (_, seen) = owner(&db, &["device"]);
    assert_eq!(seen["data"]["state"], "restored", "{seen}");
    let note = seen["data"]["note"].as_str().unwrap();
    assert!(note.contains("older than this computer last saw it"), "{note}");
    let cards = count(&db, "SELECT count(*) FROM job_cards");
    let (code, refused) = job_card(&db, "OLD-2");
    assert_eq!((code, refused["status_code"].clone()), (Some(1), Value::from(409)), "{refused}");
    assert_eq!(refused["code"], "device_identity_unconfirmed", "{refused}");
    let (code, refused) = owner(&db, &["call", "job_cards.complete", &format!(r#"{{"job_card_id":"{card_id}"}}"#)]);
    assert_eq!((code, refused["code"].clone()), (Some(1), Value::from("device_identity_unconfirmed")), "{refused}");
    assert_eq!(count(&db, "SELECT count(*) FROM job_cards"), cards, "no job card written");
    assert_eq!(count(&db, "SELECT count(*) FROM invoices"), 0, "no invoice written");
    let (code, wrong) = owner(&db, &["device", "confirm-move"]);
    assert_eq!((code, wrong["code"].clone()), (Some(1), Value::from("wrong_status")), "not a move: {wrong}");
    assert_eq!(mark(&db, &device_id), Some(tuesday_seq), "the mark never goes down");

    // Tuesday's file, the newest, is fine where it lies.
    let (_, seen) = owner(&tuesday, &["device"]);
    assert_eq!(seen["data"]["state"], "ok", "{seen}");

    // Two copies used in turns: the one behind is caught when it is opened.
    let other = dir.path().join("other.db");
    copy_db(&tuesday, &other);
    assert_eq!(owner(&other, &["device"]).1["data"]["state"], "ok", "the same events: nothing older");
    let (code, third) = job_card(&other, "OTHER-1");
    assert_eq!(code, Some(0), "{third}");
    let (_, seen) = owner(&tuesday, &["device"]);
    assert_eq!(seen["data"]["state"], "restored", "tuesday's copy is behind the other now: {seen}");
    assert_eq!(job_card(&tuesday, "TUE-2").1["code"], "device_identity_unconfirmed");

    // The way out: a new identity, with a new letter and numbers of its own.
    let (code, changed) = owner(&db, &["device", "new-identity", "--series-letter", "B"]);
    assert_eq!(code, Some(0), "{changed}");
    let new_id = changed["data"]["identity"]["device_id"].as_str().unwrap().to_string();
    assert_ne!(new_id, device_id);
    assert_eq!(mark(&db, &new_id), Some(count(&db, "SELECT next_event_seq - 1 FROM device")), "its own mark");
    let (code, card) = job_card(&db, "NEW-ID-1");
    assert_eq!(code, Some(0), "{card}");
    assert!(card["data"]["number"].as_str().unwrap().ends_with("B000001"), "{card}");
    let (code, done) = owner(&db, &["call", "job_cards.complete", &format!(r#"{{"job_card_id":"{card_id}"}}"#)]);
    assert_eq!(code, Some(0), "{done}");
    assert_eq!(owner(&db, &["device"]).1["data"]["state"], "ok");

    // A mark that cannot be read is as no mark: a warning, not a refusal.
    std::fs::write(crate::state_dir(&db).join(format!("{new_id}.seen")), "not a number\n").unwrap();
    let out = pitlane(&db, &["--user", "o", "device"], Some(PIN));
    assert_eq!(envelope(&out)["data"]["state"], "ok");
    assert_eq!(mark(&db, &new_id), Some(count(&db, "SELECT next_event_seq - 1 FROM device")), "written anew");
}
