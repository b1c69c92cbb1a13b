//! The engine end to end against the real `pitlane-cloud` on a real
//! PostgreSQL, both started by each test (crates/testkit). The device is a
//! real core on a temporary database; its token is in the keyring crate's
//! mock store (the Secret Service test is the fault helper's).

use std::sync::Arc;
use std::time::Duration;

use pitlane_core::sync::DrainOutcome;
use pitlane_core::Api;
use pitlane_sync::{Engine, SyncConfig};
use pitlane_testkit::cloud::Cloud;
use pitlane_testkit::postgres::Postgres;
use serde_json::{json, Value};

const PIN: &str = "2468";

struct Site {
    pg: Postgres,
    cloud: Cloud,
}

impl Site {
    fn start() -> Site {
        let pg = Postgres::start();
        let url = pg.create_database("cloud");
        let cloud = Cloud::start(&url);
        Site { pg, cloud }
    }

    fn sql(&self, sql: &str) -> String {
        self.pg.psql("cloud", sql)
    }

    fn count(&self, sql: &str) -> i64 {
        self.sql(sql).trim().parse().expect("a count")
    }
}

struct Device {
    dir: tempfile::TempDir,
    api: Arc<Api>,
    owner: String,
    engine: Arc<Engine>,
}

fn config() -> SyncConfig {
    SyncConfig {
        timeout: Duration::from_secs(20),
        backoff: pitlane_sync::backoff::Backoff { base: Duration::from_millis(10), cap: Duration::from_millis(50) },
        ..SyncConfig::default()
    }
}

impl Device {
    /// A set-up shop with its token in the (mock) keyring, not yet configured.
    fn new() -> Device {
        let dir = tempfile::tempdir().unwrap();
        let api = Arc::new(Api::open(&dir.path().join("device.db")).unwrap());
        api.set_secret_store(Arc::new(pitlane_secrets::KeyringStore::mock()));
        let env = api.call_value(
            None,
            "setup.init",
            &json!({ "branch_name": "Sync Garage", "owner_name": "Olga", "owner_code": "owner", "owner_pin": PIN }),
        );
        assert!(env.is_success(), "{}", env.to_json());
        let owner = api.login("owner", PIN).unwrap();
        let engine = pitlane_sync::install(&api, config());
        Device { dir, api, owner, engine }
    }

    fn ok(&self, command: &str, input: Value) -> Value {
        let env = self.api.call_value(Some(&self.owner), command, &input);
        env.data().unwrap_or_else(|| panic!("{command}: {}", env.to_json())).clone()
    }

    fn status(&self) -> Value {
        self.ok("sync.status", json!({}))
    }

    /// Registers this device at the cloud and configures the endpoint and token.
    fn register(&self, site: &Site) {
        let d = &self.status()["device"];
        let token = site.cloud.add_device(
            d["device_id"].as_str().unwrap(),
            d["tenant_id"].as_str().unwrap(),
            d["branch_id"].as_str().unwrap(),
        );
        self.ok("sync.configure", json!({ "endpoint": site.cloud.url(), "token": token }));
    }

    fn customers(&self, n: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                // Long notes: a batch goes over 8 KiB and is sent gzip-compressed.
                let notes = format!("Customer {i}: {}", "likes the early slot. ".repeat(10));
                self.ok("customers.create", json!({ "name": format!("Customer {i}"), "notes": notes }))["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    fn outbox(&self) -> Vec<(String, i64, bool)> {
        let conn = self.api.lock_conn();
        let mut stmt =
            conn.prepare("SELECT id, device_seq, synced_at IS NOT NULL FROM outbox ORDER BY device_seq").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().collect::<Result<_, _>>().unwrap()
    }

    fn device_id(&self) -> String {
        self.status()["device"]["device_id"].as_str().unwrap().to_string()
    }
}

/// The cloud's events of `device`, as (device_seq, id), in order.
fn at_cloud(site: &Site, device: &str) -> Vec<(i64, String)> {
    let rows = site.sql(&format!(
        "SELECT coalesce(string_agg(device_seq || ' ' || id, ',' ORDER BY device_seq), '') FROM events WHERE device_id = '{device}'"
    ));
    rows.trim()
        .split(',')
        .filter(|r| !r.is_empty())
        .map(|r| {
            let (seq, id) = r.split_once(' ').unwrap();
            (seq.parse().unwrap(), id.to_string())
        })
        .collect()
}

#[test]
fn a_device_with_a_backlog_drains_and_a_second_drain_sends_nothing() {
    let site = Site::start();
    let device = Device::new();
    device.customers(40);
    let before = device.status();
    assert_eq!(before["configured"], false);
    let report = device.engine.drain();
    assert_eq!(report.outcome, DrainOutcome::NotConfigured, "nothing is sent before sync.configure");
    device.register(&site);

    let report = device.engine.drain();
    assert_eq!(report.outcome, DrainOutcome::Done, "{report:?}");
    let outbox = device.outbox();
    assert_eq!(report.delivered, outbox.len() as u64, "every event delivered");
    assert!(outbox.iter().all(|(_, _, synced)| *synced), "the outbox is marked");
    let cloud: Vec<(i64, String)> = at_cloud(&site, &device.device_id());
    let local: Vec<(i64, String)> = outbox.iter().map(|(id, seq, _)| (*seq, id.clone())).collect();
    assert_eq!(cloud, local, "the cloud holds each event once, in the device's order");
    let status = device.status();
    assert_eq!(status["backlog"], 0);
    assert_eq!(status["online"], true);
    assert!(status["last_success_at"].is_string(), "{status}");
    assert_eq!(status["failures"], 0);

    let again = device.engine.drain();
    assert_eq!((again.outcome, again.batches, again.delivered), (DrainOutcome::Done, 0, 0), "nothing left to send");
    assert_eq!(at_cloud(&site, &device.device_id()).len(), outbox.len(), "nothing stored twice");

    // New work later goes in the next drain, through sync.run_now.
    device.customers(2);
    let run = device.ok("sync.run_now", json!({}));
    assert_eq!(run["drain"]["outcome"], "done");
    assert_eq!(run["drain"]["delivered"], 2);
    assert_eq!(run["status"]["backlog"], 0);
    assert_eq!(at_cloud(&site, &device.device_id()).len(), outbox.len() + 2);
}

#[test]
fn a_wrong_token_is_refused_everything_stays_pending_and_the_error_is_recorded() {
    let site = Site::start();
    let device = Device::new();
    device.customers(3);
    device.register(&site);
    let real = device.api.read_secret("sync_token").unwrap().unwrap();
    device.ok("sync.configure", json!({ "endpoint": site.cloud.url(), "token": "plc_wrong" }));
    let report = device.engine.drain();
    assert_eq!(report.outcome, DrainOutcome::Waiting, "{report:?}");
    assert!(device.outbox().iter().all(|(_, _, synced)| !synced), "nothing marked");
    assert_eq!(site.count("SELECT count(*) FROM events"), 0, "nothing stored");
    let status = device.status();
    assert!(status["last_error"].as_str().unwrap().starts_with("401 unauthorized"), "{status}");
    assert_eq!(status["failures"], 1);
    assert!(status["next_attempt_at"].is_string(), "backoff scheduled");
    assert_eq!(status["last_success_at"], Value::Null);
    assert!(!status.to_string().contains("plc_"), "no token in the status");
    assert_eq!(device.engine.drain_when_due().outcome, DrainOutcome::Waiting, "the watch loop waits its turn");

    // The right token again, but revoked at the cloud: 401 likewise.
    site.cloud.revoke(&device.device_id());
    device.ok("sync.configure", json!({ "endpoint": site.cloud.url(), "token": real }));
    let report = device.engine.drain();
    assert_eq!(report.outcome, DrainOutcome::Waiting, "{report:?}");
    let status = device.status();
    assert!(status["last_error"].as_str().unwrap().starts_with("401"), "{status}");
    assert_eq!(status["failures"], 1, "sync.configure cleared the count; one failure since");
    assert_eq!(site.count("SELECT count(*) FROM events"), 0, "still nothing stored");
    assert!(device.outbox().iter().all(|(_, _, synced)| !synced));
}

#[test]
fn a_refused_event_is_quarantined_its_record_held_and_released_it_fills_its_hole() {
    let site = Site::start();
    let device = Device::new();
    let ids = device.customers(3);
    // A later change of the first customer: held behind its quarantined creation.
    device.ok("customers.update", json!({ "id": ids[0], "name": "Renamed" }));
    device.customers(1);
    device.register(&site);
    let victim: (String, String) = device
        .api
        .lock_conn()
        .query_row(
            "SELECT id, occurred_at FROM outbox WHERE aggregate_id = ?1 ORDER BY device_seq LIMIT 1",
            [&ids[0]],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    // Broken on the way (as a bug would): the cloud refuses it with 422 invalid_event.
    device.api.lock_conn().execute("UPDATE outbox SET occurred_at = 'yesterday' WHERE id = ?1", [&victim.0]).unwrap();

    let report = device.engine.drain();
    assert_eq!(report.outcome, DrainOutcome::Done, "sync goes on: {report:?}");
    assert_eq!(report.quarantined, 1);
    let status = device.status();
    assert_eq!(status["quarantined"][0]["id"], victim.0.as_str());
    assert!(
        status["quarantined"][0]["reason"].as_str().unwrap().contains("invalid_event"),
        "the reason is kept: {status}"
    );
    assert_eq!(status["backlog"], 1, "the held update waits");
    let d = device.device_id();
    let holes = site.count(&format!("SELECT count(*) FROM device_holes WHERE device_id = '{d}'"));
    assert_eq!(holes, 2, "the quarantined creation and the held update are holes at the cloud");
    let at = at_cloud(&site, &d);
    assert!(!at.iter().any(|(_, id)| *id == victim.0));
    assert_eq!(at.len(), device.outbox().len() - 2, "everything else arrived");

    // Fixed, then released by the owner: both fill their holes, in order.
    device.api.lock_conn().execute("UPDATE outbox SET occurred_at = ?2 WHERE id = ?1", [&victim.0, &victim.1]).unwrap();
    device.ok("sync.retry_quarantined", json!({ "event_id": victim.0 }));
    let report = device.engine.drain();
    assert_eq!((report.outcome, report.delivered), (DrainOutcome::Done, 2), "{report:?}");
    let local: Vec<(i64, String)> = device.outbox().iter().map(|(id, seq, _)| (*seq, id.clone())).collect();
    assert_eq!(at_cloud(&site, &d), local, "every event once, the device's sequence without a gap");
    assert_eq!(site.count(&format!("SELECT count(*) FROM device_holes WHERE device_id = '{d}' ")), 0, "no hole left");
    assert_eq!(device.status()["quarantined_count"], 0);
}

#[test]
fn a_device_that_thinks_it_sent_more_than_the_cloud_holds_resumes_where_the_cloud_expects() {
    let site = Site::start();
    let device = Device::new();
    device.customers(5);
    device.register(&site);
    // As if the answers had been recorded for a cloud that lost them (a restored cloud database).
    {
        let conn = device.api.lock_conn();
        conn.execute("UPDATE outbox SET synced_at = '2026-01-01T00:00:00.000Z' WHERE device_seq <= 3", []).unwrap();
        conn.execute("UPDATE sync_state SET declared_through = 3", []).unwrap();
    }
    let report = device.engine.drain();
    assert_eq!(report.outcome, DrainOutcome::Done, "{report:?}");
    let local: Vec<(i64, String)> = device.outbox().iter().map(|(id, seq, _)| (*seq, id.clone())).collect();
    assert_eq!(at_cloud(&site, &device.device_id()), local, "resent from 1: nothing missing at the cloud");
    assert!(device.outbox().iter().all(|(_, _, s)| *s));
}

#[test]
fn a_copy_of_the_database_that_reuses_a_number_halts_and_changes_nothing_at_the_cloud() {
    let site = Site::start();
    let device = Device::new();
    device.customers(2);
    device.register(&site);
    assert_eq!(device.engine.drain().outcome, DrainOutcome::Done);
    // A copy of the database, taken now (an older backup restored elsewhere).
    let copy_path = device.dir.path().join("copy.db");
    device.ok("backup.create", json!({ "path": copy_path }));
    device.customers(1);
    assert_eq!(device.engine.drain().outcome, DrainOutcome::Done);
    let before = site.sql("SELECT string_agg(id || ' ' || device_seq, ',' ORDER BY cloud_seq) FROM events");

    let copy = Arc::new(Api::open(&copy_path).unwrap());
    copy.set_secret_store(Arc::new(pitlane_secrets::KeyringStore::mock()));
    let owner = copy.login("owner", PIN).unwrap();
    // The copy has the same device id; it gets its own token only through the original's
    // registration, so the owner configures the same token (read from the original's keyring).
    let original_token = device.api.read_secret("sync_token").unwrap().unwrap();
    let env = copy.call_value(
        Some(&owner),
        "sync.configure",
        &json!({ "endpoint": site.cloud.url(), "token": original_token }),
    );
    assert!(env.is_success(), "{}", env.to_json());
    let env = copy.call_value(Some(&owner), "customers.create", &json!({ "name": "Someone else" }));
    assert!(env.is_success());
    let engine = pitlane_sync::install(&copy, config());
    let report = engine.drain();
    assert_eq!(report.outcome, DrainOutcome::Halted, "{report:?}");
    let after = site.sql("SELECT string_agg(id || ' ' || device_seq, ',' ORDER BY cloud_seq) FROM events");
    assert_eq!(before, after, "nothing at the cloud changed");
    let status = copy.call_value(Some(&owner), "sync.status", &json!({}));
    let status = status.data().unwrap();
    assert!(status["halted_reason"].as_str().unwrap().contains("new identity"), "{status}");
    assert_eq!(engine.drain().outcome, DrainOutcome::Halted, "sync stays stopped");
}
