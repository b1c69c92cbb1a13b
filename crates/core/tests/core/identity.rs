//! One device, one identity (docs/SYNC.md section 6): a database opened on
//! another computer or restored from a backup issues no invoice or job card
//! number until the owner confirms the move or gives it a new identity.

use pitlane_core::device::{HostFingerprint, IdentityState};
use pitlane_core::{Api, Envelope};
use serde_json::{json, Value};

use crate::support::{dump, failure, open_with_real_ids, shop, Shop, PIN};

fn till(name: &str) -> HostFingerprint {
    HostFingerprint::of_label(name)
}

/// A customer with a vehicle: what a job card needs.
fn customer_with_vehicle(api: &Api, token: &str, plate: &str) -> (String, String) {
    let c = ok(api, token, "customers.create", json!({ "name": format!("Owner of {plate}") }));
    let v = ok(
        api,
        token,
        "vehicles.register",
        json!({ "customer_id": c["id"], "license_plate": plate, "make": "Kia", "model": "Rio" }),
    );
    (c["id"].as_str().unwrap().to_string(), v["id"].as_str().unwrap().to_string())
}

fn ok(api: &Api, token: &str, command: &str, input: Value) -> Value {
    crate::support::ok(api, Some(token), command, input)
}

fn job_card(api: &Api, token: &str, customer: &(String, String)) -> Envelope {
    api.call_value(Some(token), "job_cards.create", &json!({ "customer_id": customer.0, "vehicle_id": customer.1 }))
}

fn number(env: &Envelope) -> String {
    env.data().unwrap_or_else(|| panic!("a job card: {}", env.to_json()))["number"].as_str().unwrap().to_string()
}

fn refused_for(env: &Envelope, state: &str) {
    assert_eq!(failure(env), (409, "device_identity_unconfirmed".into()), "no number while in doubt");
    let Envelope::Failure { details, message, .. } = env else { unreachable!() };
    assert_eq!(details["state"], state, "the refusal names the state");
    assert!(message.contains("new-identity"), "the message tells the owner what to do: {message}");
}

/// The shop's file opened again on computer `host`, the owner logged in.
fn reopen_on(s: &Shop, host: &str) -> (Api, String, IdentityState) {
    let api = open_with_real_ids(s.dir.path(), s.clock.clone());
    let state = api.check_host(till(host)).expect("the check at open");
    let owner = api.login("owner", PIN).expect("owner logs in");
    (api, owner, state)
}

fn identity(api: &Api, token: &str) -> Value {
    ok(api, token, "device.identity", json!({}))
}

#[test]
fn opened_on_another_computer_it_is_moved_and_issues_numbers_again_once_the_owner_confirms_the_move() {
    let s = shop();
    assert_eq!(s.api.check_host(till("till-1")).unwrap(), IdentityState::Ok, "the first open records the computer");
    let customer = customer_with_vehicle(&s.api, &s.owner, "MOV-1");
    assert_eq!(number(&job_card(&s.api, &s.owner, &customer)), "JC-2026-A000001");
    let (api, owner, state) = reopen_on(&s, "till-1");
    assert_eq!(state, IdentityState::Ok, "the same computer");
    drop((api, owner));

    let (api, owner, state) = reopen_on(&s, "till-2");
    assert_eq!(state, IdentityState::Moved, "another computer");
    let desk = {
        ok(&api, &owner, "staff.create", json!({ "code": "desk", "name": "Desk", "role": "front_desk", "pin": PIN }));
        api.login("desk", PIN).unwrap()
    };
    let seen = identity(&api, &desk);
    assert_eq!(seen["state"], "moved", "any staff sees the state");
    assert!(seen["what_to_do"].as_str().unwrap().contains("confirm-move"), "and what to do: {seen}");
    refused_for(&job_card(&api, &owner, &customer), "moved");
    let other = customer_with_vehicle(&api, &desk, "MOV-2");
    assert_eq!(
        failure(&api.call_value(Some(&desk), "device.confirm_move", &json!({}))),
        (403, "forbidden".into()),
        "only the owner confirms a move"
    );
    refused_for(&job_card(&api, &owner, &other), "moved");

    let confirmed = ok(&api, &owner, "device.confirm_move", json!({}));
    assert_eq!(confirmed["state"], "ok");
    assert_eq!(confirmed["series_letter"], "A", "the same device, the same letter");
    assert_eq!(number(&job_card(&api, &owner, &other)), "JC-2026-A000002", "the series goes on");
    drop((api, owner, desk));

    let (api, owner, state) = reopen_on(&s, "till-2");
    assert_eq!(state, IdentityState::Ok, "the new computer is the device's own now");
    drop((api, owner));
    let (api, owner, state) = reopen_on(&s, "till-1");
    assert_eq!(state, IdentityState::Moved, "the retired computer is another computer now");
    assert_eq!(
        failure(&api.call_value(Some(&owner), "device.new_identity", &json!({ "series_letter": "a" }))),
        (422, "validation_failed".into())
    );
    let changed = ok(&api, &owner, "device.new_identity", json!({ "series_letter": "B" }));
    assert_eq!(changed["identity"]["state"], "ok");
    assert_eq!(changed["identity"]["previous"][0]["reason"], "moved");
    assert_eq!(number(&job_card(&api, &owner, &customer)), "JC-2026-B000001", "numbers with the new letter");
    let audit = ok(&api, &owner, "audit.list", json!({ "limit": 20 }));
    let actions: Vec<&str> =
        audit["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in ["device.identity_doubted", "device.confirm_move", "device.new_identity"] {
        assert!(actions.contains(&action), "{action} is audited: {actions:?}");
    }
}

#[test]
fn a_restored_backup_issues_no_number_until_it_has_a_new_identity() {
    let s = shop();
    s.api.check_host(till("till-1")).unwrap();
    let customer = customer_with_vehicle(&s.api, &s.owner, "RST-1");
    assert_eq!(number(&job_card(&s.api, &s.owner, &customer)), "JC-2026-A000001");
    let file = s.dir.path().join("monday.db");
    s.ok(&s.owner, "backup.create", json!({ "path": file }));
    assert_eq!(number(&job_card(&s.api, &s.owner, &customer)), "JC-2026-A000002", "issued after the backup");

    s.ok(&s.owner, "backup.restore", json!({ "path": file }));
    let seen = identity(&s.api, &s.owner);
    assert_eq!(seen["state"], "restored");
    refused_for(&job_card(&s.api, &s.owner, &customer), "restored");
    assert_eq!(
        failure(&s.call(&s.owner, "device.confirm_move", json!({}))),
        (409, "wrong_status".into()),
        "a restored database cannot be confirmed: A000002 is in use"
    );
    // Other work goes on, its events wait.
    customer_with_vehicle(&s.api, &s.owner, "RST-2");

    let changed = s.ok(&s.owner, "device.new_identity", json!({ "series_letter": "C" }));
    assert_eq!(changed["identity"]["series_letter"], "C");
    assert_eq!(changed["identity"]["previous"][0]["reason"], "restored");
    assert_ne!(changed["identity"]["device_id"], seen["device_id"], "a new device id");
    assert_eq!(number(&job_card(&s.api, &s.owner, &customer)), "JC-2026-C000001");
    assert_eq!(
        failure(&s.call(&s.owner, "device.confirm_move", json!({}))),
        (409, "wrong_status".into()),
        "nothing left to confirm"
    );
}

#[test]
fn a_new_identity_with_a_bad_letter_leaves_the_database_unchanged() {
    let s = shop();
    s.ok(&s.owner, "device.new_identity", json!({ "series_letter": "B" }));
    // A letter that only the number series remember (set up under an older
    // build, or by another tool) counts as used too.
    s.api.lock_conn().execute("INSERT INTO number_series (series, last) VALUES ('INV-2025-Q', 3)", []).unwrap();
    let before = s.dump();
    let cases = [
        ("the current letter", json!({ "series_letter": "B" })),
        ("the letter of the identity before", json!({ "series_letter": "A" })),
        ("a letter in the number series", json!({ "series_letter": "Q" })),
        ("lowercase", json!({ "series_letter": "c" })),
        ("two letters", json!({ "series_letter": "CD" })),
        ("a digit", json!({ "series_letter": "1" })),
        ("empty", json!({ "series_letter": "" })),
        ("not a letter at all", json!({ "series_letter": "Ä" })),
    ];
    for (scenario, input) in cases {
        let env = s.call(&s.owner, "device.new_identity", input);
        assert_eq!(failure(&env), (422, "validation_failed".into()), "{scenario}");
        let Envelope::Failure { details, .. } = &env else { unreachable!() };
        assert_eq!(details["fields"][0]["field"], "series_letter", "{scenario}: the field is named: {details}");
        assert_eq!(s.dump(), before, "{scenario}: the database is unchanged");
    }
}

#[test]
fn restamped_events_keep_their_order_and_ids_and_follow_the_link_event() {
    let s = shop();
    for plate in ["EV-1", "EV-2", "EV-3"] {
        customer_with_vehicle(&s.api, &s.owner, plate);
    }
    let events = |api: &Api| -> Vec<(String, String, i64, Option<String>, String)> {
        api.lock_conn()
            .prepare("SELECT id, device_id, device_seq, synced_at, type FROM outbox ORDER BY device_id, device_seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let all = events(&s.api);
    assert!(all.len() >= 6, "events to work with: {all:?}");
    // The first two are at the cloud (as the sync engine marks them).
    let delivered: Vec<String> = all.iter().take(2).map(|e| e.0.clone()).collect();
    for id in &delivered {
        s.api
            .lock_conn()
            .execute("UPDATE outbox SET synced_at = '2026-11-24T14:00:00.000Z' WHERE id = ?1", [id])
            .unwrap();
    }
    let before = events(&s.api);
    let old_device = before[0].1.clone();

    let changed = s.ok(&s.owner, "device.new_identity", json!({ "series_letter": "B" }));
    let new_device = changed["identity"]["device_id"].as_str().unwrap().to_string();
    assert_eq!(changed["previous_device_id"], old_device.as_str());
    let pending = before.len() - delivered.len();
    assert_eq!(changed["events_restamped"], pending as i64);

    let after = events(&s.api);
    let kept: Vec<_> = after.iter().filter(|e| e.1 == old_device).cloned().collect();
    assert_eq!(kept, before[..2].to_vec(), "the events at the cloud keep the old id and numbers");
    let mine: Vec<_> = after.iter().filter(|e| e.1 == new_device).collect();
    assert_eq!(mine[0].4, "DeviceIdentityChanged", "number 1 of the new device links it to the old");
    assert_eq!(mine[0].2, 1);
    let link = s
        .api
        .lock_conn()
        .query_row("SELECT payload FROM outbox WHERE id = ?1", [&mine[0].0], |r| r.get::<_, String>(0))
        .unwrap();
    let link: Value = serde_json::from_str(&link).unwrap();
    assert_eq!(link["previous_device_id"], old_device.as_str());
    assert_eq!(link["series_letter"], "B");
    assert_eq!(link["previous_series_letter"], "A");
    let restamped: Vec<(String, i64)> = mine[1..].iter().map(|e| (e.0.clone(), e.2)).collect();
    let expected: Vec<(String, i64)> =
        before[2..].iter().enumerate().map(|(i, e)| (e.0.clone(), i as i64 + 2)).collect();
    assert_eq!(restamped, expected, "the same events, the same order, numbered 2.. without a gap");

    // The next event follows them.
    customer_with_vehicle(&s.api, &s.owner, "EV-4");
    let last = events(&s.api).into_iter().filter(|e| e.1 == new_device).map(|e| e.2).max().unwrap();
    assert_eq!(last, pending as i64 + 3, "customer and vehicle after the restamped ones");
    let seen = identity(&s.api, &s.owner);
    assert_eq!(seen["previous"][0]["device_id"], old_device.as_str());
    assert_eq!(seen["previous"][0]["replaced_by"], new_device.as_str());
    assert_eq!(seen["previous"][0]["reason"], "owner", "nothing was in doubt: the owner's choice");
}

#[test]
fn the_identity_check_never_blocks_opening_a_database_that_is_not_set_up() {
    let dir = tempfile::tempdir().unwrap();
    let conn = pitlane_core::db::open(&crate::support::db_path(dir.path())).unwrap();
    let api = Api::with_parts(
        conn,
        crate::support::start_clock(),
        std::sync::Arc::new(pitlane_core::UuidV7Ids),
        Some(crate::support::db_path(dir.path())),
    );
    assert_eq!(api.check_host(till("till-1")).unwrap(), IdentityState::Ok, "nothing to doubt before setup");
    let before = dump(&api.lock_conn());
    crate::support::ok(
        &api,
        None,
        "setup.init",
        json!({ "branch_name": "G", "owner_name": "O", "owner_code": "owner", "owner_pin": PIN }),
    );
    assert_ne!(dump(&api.lock_conn()), before);
    let recorded: Option<String> =
        api.lock_conn().query_row("SELECT host_fingerprint FROM device", [], |r| r.get(0)).unwrap();
    assert_eq!(recorded.as_deref(), Some(till("till-1").as_str()), "setup records the computer it runs on");
}

#[test]
fn the_cloud_saying_sequence_reused_is_a_conflict_until_a_new_identity_starts_sync_afresh() {
    let s = shop();
    customer_with_vehicle(&s.api, &s.owner, "SYN-1");
    s.api
        .lock_conn()
        .execute("UPDATE sync_state SET endpoint = 'https://cloud.example.com', declared_through = 2", [])
        .unwrap();
    {
        let mut conn = s.api.lock_conn();
        let tx = pitlane_core::db::immediate(&mut conn).unwrap();
        let stamp = pitlane_core::Stamp { now: s.api.clock().now(), ids: s.api.ids(), actor_id: None };
        pitlane_core::sync::halt_tx(&tx, &stamp, "409 sequence_reused: device_seq 3").unwrap();
        tx.commit().unwrap();
    }
    let seen = identity(&s.api, &s.owner);
    assert_eq!(seen["state"], "conflict", "the halt and the identity in one transaction");
    assert_eq!(seen["note"], "409 sequence_reused: device_seq 3");
    let customer = customer_with_vehicle(&s.api, &s.owner, "SYN-2");
    refused_for(&job_card(&s.api, &s.owner, &customer), "conflict");
    assert_eq!(
        failure(&s.call(&s.owner, "device.confirm_move", json!({}))),
        (409, "wrong_status".into()),
        "the cloud has seen two devices: no move to confirm"
    );

    s.ok(&s.owner, "device.new_identity", json!({ "series_letter": "D" }));
    let status = s.ok(&s.owner, "sync.status", json!({}));
    assert_eq!(status["halted_reason"], Value::Null, "{status}");
    assert_eq!(status["endpoint"], "https://cloud.example.com", "the same cloud");
    assert_eq!(status["device"]["series_letter"], "D");
    let state = pitlane_core::sync::state(&s.api.lock_conn()).unwrap();
    assert_eq!(state.declared_through, 0, "the new device starts from nothing at the cloud");
    let batch = pitlane_core::sync::batch_input(&s.api.lock_conn(), 500).unwrap();
    assert_eq!(batch.device_id, status["device"]["device_id"].as_str().unwrap());
    let seqs: Vec<i64> = batch.pending.iter().map(|o| o.event.device_seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "everything pending goes, from 1");
    assert_eq!(batch.pending[0].event.event_type, "DeviceIdentityChanged");
}

#[test]
fn a_device_in_doubt_sends_nothing() {
    let s = shop();
    s.api.check_host(till("till-1")).unwrap();
    assert_eq!(pitlane_core::sync::state(&s.api.lock_conn()).unwrap().halted_reason, None);
    let (api, owner, _) = reopen_on(&s, "till-2");
    let state = pitlane_core::sync::state(&api.lock_conn()).unwrap();
    let reason = state.halted_reason.expect("a moved device reads as halted: the engine sends nothing");
    assert!(reason.contains("moved") && reason.contains("confirm-move"), "{reason}");
    let status = ok(&api, &owner, "sync.status", json!({}));
    assert_eq!(status["halted_reason"], reason.as_str(), "sync.status says why");
    ok(&api, &owner, "device.confirm_move", json!({}));
    assert_eq!(pitlane_core::sync::state(&api.lock_conn()).unwrap().halted_reason, None);
}

#[test]
fn the_sync_token_is_not_carried_to_a_new_identity() {
    assert!(
        pitlane_core::secrets::NOT_CARRIED.contains(&pitlane_core::sync::TOKEN_SECRET),
        "a token speaks for one device id at the cloud"
    );
    for name in pitlane_core::secrets::NAMES.iter().filter(|n| **n != pitlane_core::sync::TOKEN_SECRET) {
        assert!(!pitlane_core::secrets::NOT_CARRIED.contains(name), "{name} goes along");
    }
}
