//! One device, one identity, end to end (docs/SYNC.md section 6): a plain
//! file copy of a device's database on the same computer (same machine id,
//! same keyring: nothing local can tell the copy from the original) makes
//! new events; the real cloud refuses the reused numbers and changes
//! nothing; the copy stops and issues no number; after `device.new_identity`
//! and a registration of the new id its events arrive under the new id, and
//! the original's stay as they were.

use std::sync::Arc;

use pitlane_core::sync::DrainOutcome;
use pitlane_core::Api;
use serde_json::{json, Value};

use crate::{at_cloud, config, Device, Site, PIN};

/// Every row of the cloud's `events` and `devices` tables, in a stable order.
fn cloud_tables(site: &Site) -> (String, String) {
    (
        site.sql("SELECT coalesce(string_agg(e::text, E'\\n' ORDER BY cloud_seq), '') FROM events e"),
        site.sql("SELECT coalesce(string_agg(d::text, E'\\n' ORDER BY id), '') FROM devices d"),
    )
}

fn call(api: &Api, token: &str, command: &str, input: Value) -> pitlane_core::Envelope {
    api.call_value(Some(token), command, &input)
}

fn ok(api: &Api, token: &str, command: &str, input: Value) -> Value {
    let env = call(api, token, command, input);
    env.data().unwrap_or_else(|| panic!("{command}: {}", env.to_json())).clone()
}

/// A job card for a new customer with a vehicle.
fn job_card(api: &Api, token: &str, plate: &str) -> pitlane_core::Envelope {
    let c = ok(api, token, "customers.create", json!({ "name": format!("Owner of {plate}") }));
    let v = ok(
        api,
        token,
        "vehicles.register",
        json!({ "customer_id": c["id"], "license_plate": plate, "make": "Kia", "model": "Rio" }),
    );
    call(api, token, "job_cards.create", json!({ "customer_id": c["id"], "vehicle_id": v["id"] }))
}

#[test]
fn a_plain_copy_of_the_file_is_caught_by_the_cloud_and_goes_on_as_a_new_device() {
    let site = Site::start();
    let device = Device::new();
    // The keyring of this computer, shared by every database opened on it.
    let keyring = Arc::new(pitlane_secrets::KeyringStore::mock());
    device.api.set_secret_store(keyring.clone());
    device.customers(2);
    device.register(&site);
    assert_eq!(device.engine.drain().outcome, DrainOutcome::Done);
    let original_id = device.device_id();

    // A plain copy of the file, everything in it already at the cloud.
    let copy_path = device.dir.path().join("copy.db");
    {
        let conn = device.api.lock_conn();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
        std::fs::copy(device.dir.path().join("device.db"), &copy_path).unwrap();
    }
    // The original goes on and syncs: the cloud holds its next numbers.
    assert!(job_card(&device.api, &device.owner, "ORIG-1").is_success());
    assert_eq!(device.engine.drain().outcome, DrainOutcome::Done);

    // The copy, on the same computer: nothing local can tell it apart.
    let copy = Arc::new(Api::open(&copy_path).unwrap());
    copy.set_secret_store(keyring.clone());
    let owner = copy.login("owner", PIN).unwrap();
    assert_eq!(ok(&copy, &owner, "device.identity", json!({}))["state"], "ok", "same machine id: not moved");
    assert_eq!(ok(&copy, &owner, "device.identity", json!({}))["device_id"], original_id.as_str());
    let engine = pitlane_sync::install(&copy, config());
    ok(&copy, &owner, "customers.create", json!({ "name": "Made in the copy" }));
    let before = cloud_tables(&site);
    let report = engine.drain();
    assert_eq!(report.outcome, DrainOutcome::Halted, "the cloud said sequence_reused: {report:?}");
    assert_eq!(cloud_tables(&site), before, "nothing at the cloud changed: events and devices as they were");

    // The copy stops and tells the owner; it issues no number.
    let seen = ok(&copy, &owner, "device.identity", json!({}));
    assert_eq!(seen["state"], "conflict", "{seen}");
    assert!(seen["what_to_do"].as_str().unwrap().contains("new-identity"), "{seen}");
    let refused = job_card(&copy, &owner, "COPY-1");
    assert_eq!(refused.status_code(), 409, "{}", refused.to_json());
    assert!(refused.to_json().contains("device_identity_unconfirmed"));
    let status = ok(&copy, &owner, "sync.status", json!({}));
    assert!(status["halted_reason"].is_string(), "sync.status says why: {status}");
    assert_eq!(engine.drain().outcome, DrainOutcome::Halted, "sync stays stopped");
    assert_eq!(cloud_tables(&site), before, "still nothing changed at the cloud");

    // The way out: a new identity, registered at the cloud, configured.
    let changed = ok(&copy, &owner, "device.new_identity", json!({ "series_letter": "B" }));
    let new_id = changed["identity"]["device_id"].as_str().unwrap().to_string();
    assert_ne!(new_id, original_id);
    assert!(
        !changed["secrets_copied"].as_array().unwrap().iter().any(|n| n == "sync_token"),
        "the original's token stays the original's: {changed}"
    );
    assert_eq!(engine.drain().outcome, DrainOutcome::NotConfigured, "no token for the new device yet");
    assert_eq!(cloud_tables(&site), before);
    let tenant = seen["tenant_id"].as_str().unwrap();
    let branch = seen["branch_id"].as_str().unwrap();
    let token = site.cloud.add_device(&new_id, tenant, branch);
    ok(&copy, &owner, "sync.configure", json!({ "endpoint": site.cloud.url(), "token": token }));
    let report = engine.drain();
    assert_eq!(report.outcome, DrainOutcome::Done, "{report:?}");

    let local: Vec<(i64, String)> = {
        let conn = copy.lock_conn();
        let mut stmt =
            conn.prepare("SELECT device_seq, id FROM outbox WHERE device_id = ?1 ORDER BY device_seq").unwrap();
        stmt.query_map([&new_id], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<Result<_, _>>().unwrap()
    };
    assert_eq!(at_cloud(&site, &new_id), local, "the copy's events arrived under the new id, in order");
    let first_type = site.sql(&format!("SELECT type FROM events WHERE device_id = '{new_id}' AND device_seq = 1"));
    assert_eq!(first_type.trim(), "DeviceIdentityChanged", "number 1 links the new id to the old");
    let link = site.sql(&format!(
        "SELECT payload->>'previous_device_id' FROM events WHERE device_id = '{new_id}' AND device_seq = 1"
    ));
    assert_eq!(link.trim(), original_id, "the cloud can link the two");
    let original_at_cloud: Vec<(i64, String)> = {
        let conn = device.api.lock_conn();
        let mut stmt = conn.prepare("SELECT device_seq, id FROM outbox ORDER BY device_seq").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<Result<_, _>>().unwrap()
    };
    assert_eq!(at_cloud(&site, &original_id), original_at_cloud, "the original device's events are untouched");
    let card = job_card(&copy, &owner, "COPY-2");
    let number = card.data().unwrap_or_else(|| panic!("{}", card.to_json()))["number"].as_str().unwrap().to_string();
    assert!(number.contains("-B"), "the copy numbers with its new letter: {number}");

    // The original is none the worse: it goes on syncing as itself.
    assert!(job_card(&device.api, &device.owner, "ORIG-2").is_success());
    assert_eq!(device.engine.drain().outcome, DrainOutcome::Done);
    assert_eq!(ok(&device.api, &device.owner, "device.identity", json!({}))["state"], "ok");
}
