//! The device's side of cloud sync in the tables (docs/SYNC.md section 5):
//! the `sync.*` commands and the functions the engine records answers with.

use std::sync::Arc;

use chrono::Utc;
use pitlane_core::sync;
use serde_json::json;

use crate::support::{failure, shop, Shop};

fn keyring(s: &Shop) -> Arc<pitlane_secrets::KeyringStore> {
    let store = Arc::new(pitlane_secrets::KeyringStore::mock());
    s.api.set_secret_store(store.clone());
    store
}

/// `n` customers created: `n` events in the outbox (besides set-up's).
fn customers(s: &Shop, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            s.ok(&s.owner, "customers.create", json!({ "name": format!("Customer {i}") }))["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn write<T>(s: &Shop, f: impl FnOnce(&rusqlite::Transaction) -> pitlane_core::Result<T>) -> T {
    let mut conn = s.api.lock_conn();
    let tx = pitlane_core::db::immediate(&mut conn).unwrap();
    let out = f(&tx).unwrap();
    tx.commit().unwrap();
    out
}

fn unsynced(s: &Shop) -> i64 {
    s.api.lock_conn().query_row("SELECT COUNT(*) FROM outbox WHERE synced_at IS NULL", [], |r| r.get(0)).unwrap()
}

#[test]
fn configure_refuses_bad_endpoints_and_tokens_naming_the_field_and_changes_nothing() {
    let s = shop();
    let store = keyring(&s);
    let cases = [
        ("plain http to another computer", json!({ "endpoint": "http://cloud.example.com", "token": "t" }), "endpoint"),
        ("plain http to a LAN address", json!({ "endpoint": "http://10.0.0.5:8080", "token": "t" }), "endpoint"),
        ("not a URL", json!({ "endpoint": "cloud.example.com", "token": "t" }), "endpoint"),
        ("a user name in the URL", json!({ "endpoint": "https://me:pw@cloud.example.com", "token": "t" }), "endpoint"),
        ("an empty endpoint", json!({ "endpoint": "", "token": "t" }), "endpoint"),
        ("an empty token", json!({ "endpoint": "https://cloud.example.com", "token": "" }), "token"),
        ("a blank token", json!({ "endpoint": "https://cloud.example.com", "token": "   " }), "token"),
        ("a token with a line break", json!({ "endpoint": "https://cloud.example.com", "token": "a\nb" }), "token"),
    ];
    let before = s.file_bytes();
    for (scenario, input, field) in cases {
        let env = s.call(&s.owner, "sync.configure", input);
        assert_eq!(failure(&env), (422, "validation_failed".into()), "{scenario}");
        let fields: Vec<String> = match &env {
            pitlane_core::Envelope::Failure { details, .. } => {
                details["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap().to_string()).collect()
            }
            _ => unreachable!(),
        };
        assert_eq!(fields, vec![field.to_string()], "{scenario}: names the field");
    }
    assert!(s.file_bytes() == before, "refused configurations leave the database byte-for-byte unchanged");
    let status = s.ok(&s.owner, "sync.status", json!({}));
    assert_eq!(status["configured"], false, "still not configured");
    use pitlane_core::secrets::SecretStore;
    let device = &status["device"]["device_id"];
    assert_eq!(store.get(&format!("{}/sync_token", device.as_str().unwrap())).unwrap(), None, "no token kept");
}

#[test]
fn configure_keeps_the_token_in_the_keyring_and_the_endpoint_in_the_status_never_the_token() {
    let s = shop();
    let store = keyring(&s);
    let out = s.ok(
        &s.owner,
        "sync.configure",
        json!({ "endpoint": "https://Cloud.Example.com/pitlane/", "token": " secret-token-123 " }),
    );
    assert_eq!(out["endpoint"], "https://cloud.example.com/pitlane", "the endpoint normalized");
    let status = s.ok(&s.owner, "sync.status", json!({}));
    assert_eq!(status["configured"], true);
    assert_eq!(status["endpoint"], "https://cloud.example.com/pitlane");
    assert!(!status.to_string().contains("secret-token-123"), "the status never holds the token");
    use pitlane_core::secrets::SecretStore;
    let device = status["device"]["device_id"].as_str().unwrap().to_string();
    assert_eq!(store.get(&format!("{device}/sync_token")).unwrap().as_deref(), Some("secret-token-123"));
    assert_eq!(s.api.read_secret("sync_token").unwrap().as_deref(), Some("secret-token-123"), "the engine reads it");
    let audit = s.ok(&s.owner, "audit.list", json!({ "limit": 5 }));
    assert!(audit.to_string().contains("sync.configure"), "the change is audited");
    assert!(!audit.to_string().contains("secret-token-123"), "the audit entry holds no token");
    // Loopback over plain http is fine (a cloud on this computer).
    s.ok(&s.owner, "sync.configure", json!({ "endpoint": "http://127.0.0.1:8080", "token": "t2" }));
    s.ok(&s.owner, "sync.configure", json!({ "endpoint": "http://[::1]:8080", "token": "t2" }));
    s.ok(&s.owner, "sync.configure", json!({ "endpoint": "http://localhost:8080", "token": "t2" }));
}

#[test]
fn configure_without_a_keyring_is_refused_and_nothing_is_kept() {
    let s = shop();
    let env = s.call(&s.owner, "sync.configure", json!({ "endpoint": "https://cloud.example.com", "token": "t" }));
    assert_eq!(failure(&env), (400, "keyring_unavailable".into()));
    assert_eq!(s.ok(&s.owner, "sync.status", json!({}))["configured"], false, "no endpoint without its token");
}

#[test]
fn the_status_shows_the_backlog_its_oldest_event_and_who_the_device_is() {
    let s = shop();
    let before = s.ok(&s.owner, "sync.status", json!({}));
    let base = before["backlog"].as_i64().unwrap();
    customers(&s, 3);
    let desk = s.staff("desk", "front_desk");
    let status = s.ok(&desk, "sync.status", json!({}));
    assert!(status["backlog"].as_i64().unwrap() >= base + 3, "three more events wait: {status}");
    let oldest: String = s
        .api
        .lock_conn()
        .query_row("SELECT occurred_at FROM outbox ORDER BY device_seq LIMIT 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(status["oldest_pending_at"], oldest.as_str());
    assert_eq!(status["configured"], false);
    assert_eq!(status["online"], false, "never reached the cloud");
    assert_eq!(status["last_success_at"], serde_json::Value::Null);
    assert_eq!(status["halted_reason"], serde_json::Value::Null);
    assert_eq!(status["quarantined"], json!([]));
    let (device, tenant, branch, letter): (String, String, String, String) = s
        .api
        .lock_conn()
        .query_row("SELECT id, tenant_id, branch_id, series_letter FROM device", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .unwrap();
    assert_eq!(
        status["device"],
        json!({ "device_id": device, "tenant_id": tenant, "branch_id": branch, "series_letter": letter }),
        "what the owner registers at the cloud"
    );
}

#[test]
fn a_delivery_marks_its_events_and_moves_the_declared_number_in_one_transaction() {
    let s = shop();
    customers(&s, 4);
    let input = sync::batch_input(&s.api.lock_conn(), 500).unwrap();
    assert_eq!(input.declared_through, 0);
    assert!(input.fills.is_empty());
    let all = input.pending.len();
    assert!(all >= 4);
    let seqs: Vec<i64> = input.pending.iter().map(|o| o.event.device_seq).collect();
    assert_eq!(seqs, (1..=all as i64).collect::<Vec<_>>(), "pending in device order from 1");
    // The first two delivered.
    let ids: Vec<String> = input.pending[..2].iter().map(|o| o.event.id.clone()).collect();
    let marked = write(&s, |tx| sync::record_delivery_tx(tx, &ids, 2, Utc::now()));
    assert_eq!(marked, 2);
    let again = write(&s, |tx| sync::record_delivery_tx(tx, &ids, 2, Utc::now()));
    assert_eq!(again, 0, "a repeated answer marks nothing twice");
    let state = sync::state(&s.api.lock_conn()).unwrap();
    assert_eq!(state.declared_through, 2);
    assert!(state.online && state.last_success_at.is_some() && state.failures == 0);
    let next = sync::batch_input(&s.api.lock_conn(), 500).unwrap();
    assert_eq!(next.pending.first().map(|o| o.event.device_seq), Some(3), "the next batch starts after 2");
    assert_eq!(unsynced(&s), all as i64 - 2);
}

#[test]
fn a_whole_run_is_marked_in_one_statement_only_when_its_pending_events_are_exactly_the_batch() {
    // (scenario, already delivered before, run after, run through, expected, marked or None)
    type Case = (&'static str, usize, i64, i64, u64, Option<u64>);
    let cases: [Case; 5] = [
        ("the run is the batch", 0, 0, 3, 3, Some(3)),
        ("a run after a delivered one", 2, 2, 4, 2, Some(2)),
        ("one of the run delivered already (the count differs)", 2, 0, 4, 4, None),
        ("the batch was smaller than the run says", 0, 0, 4, 3, None),
        ("the run holds more pending events than the batch", 0, 0, 1_000, 1, None),
    ];
    for (scenario, before, after, through, expected, want) in cases {
        let s = shop();
        customers(&s, 4);
        let pending = sync::batch_input(&s.api.lock_conn(), 500).unwrap().pending;
        let ids: Vec<String> = pending[..before].iter().map(|o| o.event.id.clone()).collect();
        write(&s, |tx| sync::record_delivery_tx(tx, &ids, before as i64, Utc::now()));
        let left = unsynced(&s);
        let declared = sync::state(&s.api.lock_conn()).unwrap().declared_through;
        let got = write(&s, |tx| sync::record_run_delivery_tx(tx, after, through, expected, Utc::now()));
        assert_eq!(got, want, "{scenario}");
        let state = sync::state(&s.api.lock_conn()).unwrap();
        match want {
            Some(marked) => {
                assert_eq!(unsynced(&s), left - marked as i64, "{scenario}");
                assert_eq!(state.declared_through, through, "{scenario}");
                let marked_seqs: Vec<i64> = s
                    .api
                    .lock_conn()
                    .prepare("SELECT device_seq FROM outbox WHERE synced_at IS NOT NULL ORDER BY device_seq")
                    .unwrap()
                    .query_map([], |r| r.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                assert_eq!(marked_seqs, (1..=through).collect::<Vec<_>>(), "{scenario}: exactly the run");
            }
            None => {
                assert_eq!(unsynced(&s), left, "{scenario}: nothing marked");
                assert_eq!(state.declared_through, declared, "{scenario}: the declared number unchanged");
            }
        }
    }
}

#[test]
fn failures_count_up_and_a_success_clears_them() {
    let s = shop();
    customers(&s, 1);
    let now = Utc::now();
    write(&s, |tx| sync::record_failure_tx(tx, "connection refused", now + chrono::Duration::seconds(2), false, now));
    write(&s, |tx| sync::record_failure_tx(tx, "HTTP 503", now + chrono::Duration::seconds(4), true, now));
    let state = sync::state(&s.api.lock_conn()).unwrap();
    assert_eq!(state.failures, 2);
    assert_eq!(state.last_error.as_deref(), Some("HTTP 503"));
    assert!(state.online, "a 503 is an answer: the cloud is reachable");
    assert!(state.next_attempt_at.is_some());
    write(&s, |tx| sync::record_delivery_tx(tx, &[], 0, now));
    let state = sync::state(&s.api.lock_conn()).unwrap();
    assert_eq!((state.failures, state.next_attempt_at), (0, None), "a success clears the backoff");
    assert_eq!(state.last_error.as_deref(), Some("HTTP 503"), "the last error stays for the record");
}

#[test]
fn a_quarantined_event_is_listed_with_its_reason_and_released_by_the_owner() {
    let s = shop();
    let _store = keyring(&s);
    customers(&s, 2);
    let input = sync::batch_input(&s.api.lock_conn(), 500).unwrap();
    let victim = input.pending[1].event.clone();
    assert!(write(&s, |tx| sync::quarantine_tx(tx, &victim.id, "422 invalid_event: payload.name", Utc::now())));
    let status = s.ok(&s.owner, "sync.status", json!({}));
    assert_eq!(status["quarantined_count"], 1);
    let q = &status["quarantined"][0];
    assert_eq!(q["id"], victim.id.as_str());
    assert_eq!(q["type"], victim.event_type.as_str());
    assert_eq!(q["aggregate_type"], victim.aggregate_type.as_str());
    assert_eq!(q["aggregate_id"], victim.aggregate_id.as_str());
    assert_eq!(q["occurred_at"], victim.occurred_at.as_str());
    assert_eq!(q["reason"], "422 invalid_event: payload.name");
    let again = sync::batch_input(&s.api.lock_conn(), 500).unwrap();
    assert!(again.pending[1].quarantined, "the engine sees it quarantined");

    let env = s.call(&s.owner, "sync.retry_quarantined", json!({ "event_id": "no-such-event" }));
    assert_eq!(failure(&env), (404, "not_found".into()), "an unknown event");
    let other = &input.pending[0].event.id;
    let env = s.call(&s.owner, "sync.retry_quarantined", json!({ "event_id": other }));
    assert_eq!(failure(&env), (409, "not_quarantined".into()), "an event that is not quarantined");
    let manager = s.staff("mgr", "manager");
    let env = s.call(&manager, "sync.retry_quarantined", json!({ "event_id": victim.id }));
    assert_eq!(failure(&env), (403, "forbidden".into()), "owners only");

    s.ok(&s.owner, "sync.retry_quarantined", json!({ "event_id": victim.id }));
    let status = s.ok(&s.owner, "sync.status", json!({}));
    assert_eq!(status["quarantined_count"], 0);
    let released = sync::batch_input(&s.api.lock_conn(), 500).unwrap();
    assert!(!released.pending[1].quarantined, "sent again at the next attempt");
    let env = s.call(&s.owner, "sync.retry_quarantined", json!({ "event_id": victim.id }));
    assert_eq!(failure(&env), (409, "not_quarantined".into()), "released once");
}

#[test]
fn declared_holes_come_back_as_fills_once_released_and_held_records_stay_blocked() {
    let s = shop();
    let ids = customers(&s, 2);
    // A second event of the first customer: held behind it when it is quarantined.
    s.ok(&s.owner, "customers.update", json!({ "id": ids[0], "name": "Renamed" }));
    let input = sync::batch_input(&s.api.lock_conn(), 500).unwrap();
    let of = |id: &str| input.pending.iter().filter(|o| o.event.aggregate_id == id).cloned().collect::<Vec<_>>();
    let first = of(&ids[0]);
    assert_eq!(first.len(), 2, "created and updated");
    let through = input.pending.last().unwrap().event.device_seq;
    // The cloud took everything but the first customer's events (declared holes).
    let delivered: Vec<String> =
        input.pending.iter().filter(|o| o.event.aggregate_id != ids[0]).map(|o| o.event.id.clone()).collect();
    write(&s, |tx| {
        sync::quarantine_tx(tx, &first[0].event.id, "422 invalid_event", Utc::now())?;
        sync::record_delivery_tx(tx, &delivered, through, Utc::now())
    });
    let held = sync::batch_input(&s.api.lock_conn(), 500).unwrap();
    assert!(held.fills.is_empty(), "the update waits behind its quarantined creation: {:?}", held.fills);
    assert!(held.pending.is_empty());
    assert_eq!(held.blocked, vec![(first[0].event.aggregate_type.clone(), ids[0].clone())]);
    s.ok(&s.owner, "sync.retry_quarantined", json!({ "event_id": first[0].event.id }));
    let fills = sync::batch_input(&s.api.lock_conn(), 500).unwrap();
    let seqs: Vec<i64> = fills.fills.iter().map(|o| o.event.device_seq).collect();
    assert_eq!(seqs, vec![first[0].event.device_seq, first[1].event.device_seq], "both fill their holes, in order");
    assert!(fills.blocked.is_empty());
}

#[test]
fn a_sequence_gap_resumes_from_the_expected_number_and_sends_those_events_again() {
    let s = shop();
    customers(&s, 3);
    let input = sync::batch_input(&s.api.lock_conn(), 500).unwrap();
    let ids: Vec<String> = input.pending.iter().map(|o| o.event.id.clone()).collect();
    let through = input.pending.last().unwrap().event.device_seq;
    write(&s, |tx| sync::record_delivery_tx(tx, &ids, through, Utc::now()));
    assert_eq!(unsynced(&s), 0);
    write(&s, |tx| sync::resume_from_tx(tx, 3, Utc::now()));
    let state = sync::state(&s.api.lock_conn()).unwrap();
    assert_eq!(state.declared_through, 2);
    assert_eq!(unsynced(&s), through - 2, "events from 3 on are pending again");
    let next = sync::batch_input(&s.api.lock_conn(), 500).unwrap();
    assert_eq!(next.pending.first().map(|o| o.event.device_seq), Some(3));
}

#[test]
fn a_reused_sequence_halts_sync_and_the_status_says_why() {
    let s = shop();
    write(&s, |tx| {
        let stamp = pitlane_core::Stamp { now: Utc::now(), ids: s.api.ids(), actor_id: None };
        sync::halt_tx(tx, &stamp, "the cloud holds number 7 of this device with another event")
    });
    let desk = s.staff("desk", "front_desk");
    let status = s.ok(&desk, "sync.status", json!({}));
    assert_eq!(status["halted_reason"], "the cloud holds number 7 of this device with another event");
    assert!(status["halted_at"].is_string());
}

#[test]
fn run_now_without_a_sync_engine_is_a_clear_conflict() {
    let s = shop();
    let env = s.call(&s.owner, "sync.run_now", json!({}));
    assert_eq!(failure(&env), (409, "sync_unavailable".into()));
}

/// A runner the test installs: `run_now` releases the database while it
/// runs (the runner takes the connection itself), then answers the status.
struct CountingRunner {
    api: std::sync::Weak<pitlane_core::Api>,
}

impl sync::SyncRunner for CountingRunner {
    fn drain(&self) -> sync::DrainReport {
        let api = self.api.upgrade().expect("the api is alive");
        // Would deadlock if the command still held the connection.
        let backlog = sync::status(&api.lock_conn()).unwrap().backlog;
        let mut report = sync::DrainReport::new(sync::DrainOutcome::Done);
        report.message = Some(format!("saw {backlog}"));
        report
    }
}

#[test]
fn run_now_drains_through_the_installed_runner_with_the_database_released() {
    let Shop { api, dir: _dir, owner, .. } = shop();
    let api = Arc::new(api);
    api.set_sync_runner(Arc::new(CountingRunner { api: Arc::downgrade(&api) }));
    let env = api.call_value(Some(&owner), "sync.run_now", &json!({}));
    let data = env.data().unwrap_or_else(|| panic!("{}", env.to_json()));
    assert_eq!(data["drain"]["outcome"], "done");
    assert!(data["drain"]["message"].as_str().unwrap().starts_with("saw "));
    assert!(data["status"]["backlog"].is_number());
}
