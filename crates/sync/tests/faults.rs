//! The sync engine against the real `pitlane-cloud` on a real PostgreSQL,
//! with the fault proxy (`pitlane_testkit::proxy`) between them: one test
//! per way the network or the cloud fails (issue 10, "Tests that must
//! exist"). Events are made through real commands on a real device database.
//! After each scenario the cloud's tables are read directly and checked
//! against the device's outbox ([`World::check`]): every event once, each
//! device's sequence without a gap (holes only for quarantined and held
//! events), per-aggregate order kept; the outbox shows them delivered.
//!
//! No assertion is about time, except that the engine waited at least as
//! long as a Retry-After asked (a lower bound: a slow machine only waits
//! longer).
//!
//! Needs the binaries: `cargo build -p pitlane-cloud -p pitlane-cli --bins`
//! first (in the same locked cargo invocation as the test).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pitlane_core::Api;
use pitlane_sync::backoff::Backoff;
use pitlane_sync::plan::Limits;
use pitlane_sync::{Engine, SyncConfig};
use pitlane_testkit::cloud::Cloud;
use pitlane_testkit::postgres::Postgres;
use pitlane_testkit::proxy::{AfterStall, BatchSeen, Fault, Pick, Proxy};
use serde_json::{json, Value};

const PIN: &str = "4321";

/// The engine as the tests run it: the protocol's behaviour, shorter waits
/// and small batches (so a scenario spans many batches).
fn config() -> SyncConfig {
    SyncConfig {
        timeout: Duration::from_secs(2),
        backoff: Backoff { base: Duration::from_millis(20), cap: Duration::from_millis(200) },
        poll: Duration::from_millis(50),
        limits: Limits { max_entries: 12, max_bytes: 1024 * 1024 },
    }
}

// ---- the device ------------------------------------------------------------------

/// A device database set up with a branch and its owner.
struct Device {
    _dir: Option<tempfile::TempDir>,
    api: Arc<Api>,
    owner: String,
    id: String,
    tenant_id: String,
    branch_id: String,
}

impl Device {
    fn new() -> Device {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.db");
        let api = Arc::new(Api::open(&path).unwrap());
        // As pitlane_runtime::equip, with the keyring crate's mock store.
        api.set_secret_store(Arc::new(pitlane_secrets::KeyringStore::mock()));
        let init = api.call_value(
            None,
            "setup.init",
            &json!({"branch_name": "Faults", "owner_name": "Olive Owner", "owner_code": "owner",
                    "owner_pin": PIN, "time_zone": "UTC", "country": "US"}),
        );
        assert!(init.is_success(), "setup.init: {}", init.to_json());
        let owner = api.login("owner", PIN).unwrap();
        let d = pitlane_core::settings::device(&api.lock_conn()).unwrap().unwrap();
        Device { _dir: Some(dir), api, owner, id: d.id, tenant_id: d.tenant_id, branch_id: d.branch_id }
    }

    fn call(&self, command: &str, input: Value) -> Value {
        let env = self.api.call_value(Some(&self.owner), command, &input);
        match env.data() {
            Some(data) => data.clone(),
            None => panic!("{command}: {}", env.to_json()),
        }
    }

    fn configure(&self, endpoint: &str, token: &str) {
        self.call("sync.configure", json!({"endpoint": endpoint, "token": token}));
    }

    fn outbox(&self) -> Vec<Local> {
        let conn = self.api.lock_conn();
        let mut stmt = conn
            .prepare(
                "SELECT id, device_seq, aggregate_type, aggregate_id, synced_at IS NOT NULL,
                        quarantine_reason, payload
                 FROM outbox ORDER BY device_seq",
            )
            .unwrap();
        let rows = stmt
            .query_map([], |r| {
                Ok(Local {
                    id: r.get(0)?,
                    device_seq: r.get(1)?,
                    aggregate: (r.get(2)?, r.get(3)?),
                    synced: r.get(4)?,
                    quarantine_reason: r.get(5)?,
                    payload: serde_json::from_str(&r.get::<_, String>(6)?).unwrap(),
                })
            })
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        rows
    }

    fn backlog(&self) -> usize {
        self.outbox().iter().filter(|e| !e.synced).count()
    }
}

/// One outbox row.
#[derive(Debug, Clone)]
struct Local {
    id: String,
    device_seq: i64,
    aggregate: (String, String),
    synced: bool,
    quarantine_reason: Option<String>,
    payload: Value,
}

/// Work across several records, through real commands: customers created
/// and updated, vehicles registered and updated, stock items created and
/// adjusted. Answers the customers' ids. About `6 * n + 2` events.
fn work(device: &Device, n: usize, tag: &str) -> Vec<String> {
    let items: Vec<String> = (0..2)
        .map(|i| {
            device.call(
                "inventory.create_item",
                json!({"sku": format!("{tag}-P{i}"), "name": format!("Part {tag} {i}"), "opening_stock": 100_000}),
            )["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let mut customers = Vec::new();
    for i in 0..n {
        let customer = device.call("customers.create", json!({"name": format!("Customer {tag} {i}")}));
        let cid = customer["id"].as_str().unwrap().to_string();
        let vehicle = device.call(
            "vehicles.register",
            json!({"customer_id": cid, "license_plate": format!("{tag}V{i}"), "make": "Ford", "model": "Focus"}),
        );
        device.call("customers.update", json!({"id": cid, "name": format!("Customer {tag} {i} (updated)")}));
        device.call(
            "inventory.adjust",
            json!({"item_id": items[i % 2], "quantity": -1000, "type": "adjustment", "reason": "used"}),
        );
        device.call("vehicles.update", json!({"id": vehicle["id"], "make": "Ford", "model": "Fiesta"}));
        device.call("customers.update", json!({"id": cid, "address": format!("{i} Main Street")}));
        customers.push(cid);
    }
    customers
}

// ---- the world: PostgreSQL, the cloud, the proxy, one device ----------------------

struct World {
    pg: Postgres,
    cloud: Arc<Mutex<Cloud>>,
    proxy: Proxy,
    device: Device,
    engine: Arc<Engine>,
}

const CLOUD_DB: &str = "cloud";

impl World {
    fn new() -> World {
        let pg = Postgres::start();
        let url = pg.create_database(CLOUD_DB);
        let cloud = Cloud::start(&url);
        let proxy = Proxy::start(&cloud.url()).unwrap();
        let device = Device::new();
        let token = cloud.add_device(&device.id, &device.tenant_id, &device.branch_id);
        device.configure(&proxy.url(), &token);
        let engine = pitlane_sync::install(&device.api, config());
        let cloud = Arc::new(Mutex::new(cloud));
        {
            let cloud = cloud.clone();
            proxy.on_restart(move || cloud.lock().unwrap_or_else(|e| e.into_inner()).restart());
        }
        World { pg, cloud, proxy, device, engine }
    }

    /// Drains until the engine says done with nothing left to send
    /// (retrying through `waiting`, as `sync.run_now` pressed again would).
    /// `_rounds` of faults are expected; the bound is a generous deadline.
    fn drain_until_done(&self, _rounds: usize) {
        let until = Instant::now() + Duration::from_secs(300);
        loop {
            let report = self.engine.drain();
            if report.outcome == pitlane_core::sync::DrainOutcome::Done {
                return;
            }
            assert_eq!(
                report.outcome,
                pitlane_core::sync::DrainOutcome::Waiting,
                "only waiting is retried: {report:?}"
            );
            assert!(
                Instant::now() < until,
                "not done after 300 s; status: {}",
                self.device.call("sync.status", json!({}))
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn check(&self) -> Checked {
        check(&self.pg, &self.device, Settled::Yes)
    }
}

/// One event as the cloud stored it.
#[derive(Debug, Clone)]
struct Stored {
    id: String,
    device_seq: i64,
    cloud_seq: i64,
    aggregate: (String, String),
    payload: Value,
}

fn cloud_events(pg: &Postgres, device_id: &str) -> Vec<Stored> {
    let out = pg.psql(
        CLOUD_DB,
        &format!(
            "SELECT json_build_object('id', id, 'device_seq', device_seq, 'cloud_seq', cloud_seq,
                    'aggregate_type', aggregate_type, 'aggregate_id', aggregate_id, 'payload', payload)
             FROM events WHERE device_id = '{device_id}' ORDER BY cloud_seq"
        ),
    );
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            Stored {
                id: v["id"].as_str().unwrap().to_string(),
                device_seq: v["device_seq"].as_i64().unwrap(),
                cloud_seq: v["cloud_seq"].as_i64().unwrap(),
                aggregate: (
                    v["aggregate_type"].as_str().unwrap().to_string(),
                    v["aggregate_id"].as_str().unwrap().to_string(),
                ),
                payload: v["payload"].clone(),
            }
        })
        .collect()
}

/// The holes the cloud holds open for this device: seq → (event id, reason).
fn cloud_holes(pg: &Postgres, device_id: &str) -> BTreeMap<i64, (String, String)> {
    pg.psql(CLOUD_DB, &format!("SELECT device_seq, event_id, reason FROM device_holes WHERE device_id = '{device_id}'"))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            (f[0].parse().unwrap(), (f[1].to_string(), f[2].to_string()))
        })
        .collect()
}

/// Whether the last drain ended normally. A syncing process killed after
/// the cloud stored a batch but before the device recorded the answer
/// leaves events at the cloud not yet marked delivered: they are sent
/// again (as duplicates) by the next drain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settled {
    Yes,
    NotYet,
}

/// What [`check`] found, for a scenario's own assertions.
struct Checked {
    stored: Vec<Stored>,
    holes: BTreeMap<i64, (String, String)>,
    outbox: Vec<Local>,
}

/// The invariants every scenario ends with, from PostgreSQL directly and
/// the device's outbox:
/// - every event the cloud holds is one of the device's, stored once, with
///   the device's number, record and payload;
/// - each delivered (synced) event is at the cloud, and (once sync has
///   settled) each event at the cloud is marked delivered on the device;
/// - the device's sequence is covered without a gap from 1 to the cloud's
///   highest number: by stored events, and by holes only for events that
///   are quarantined (with their reason) or held behind one of their record;
/// - per record, the cloud's order (cloud_seq) is the device's (device_seq).
fn check(pg: &Postgres, device: &Device, settled: Settled) -> Checked {
    let stored = cloud_events(pg, &device.id);
    let holes = cloud_holes(pg, &device.id);
    let outbox = device.outbox();
    let local: HashMap<&str, &Local> = outbox.iter().map(|e| (e.id.as_str(), e)).collect();

    let mut seen = BTreeSet::new();
    for s in &stored {
        assert!(seen.insert(s.id.clone()), "event {} is stored once", s.id);
        let l = local.get(s.id.as_str()).unwrap_or_else(|| panic!("the cloud holds {} the device never made", s.id));
        assert_eq!(s.device_seq, l.device_seq, "event {} keeps its number", s.id);
        assert_eq!(s.aggregate, l.aggregate, "event {} keeps its record", s.id);
        assert_eq!(s.payload, l.payload, "event {} keeps its payload", s.id);
        if settled == Settled::Yes {
            assert!(l.synced, "event {} is at the cloud, so the outbox shows it delivered", s.id);
        }
    }
    for l in &outbox {
        if l.synced {
            assert!(
                seen.contains(&l.id),
                "event {} (#{}) is marked delivered but the cloud lacks it",
                l.id,
                l.device_seq
            );
        }
    }
    let max = stored.iter().map(|s| s.device_seq).chain(holes.keys().copied()).max().unwrap_or(0);
    let stored_seqs: BTreeSet<i64> = stored.iter().map(|s| s.device_seq).collect();
    for seq in 1..=max {
        if stored_seqs.contains(&seq) {
            assert!(!holes.contains_key(&seq), "#{seq} is stored, so it is no longer a hole");
            continue;
        }
        let (event_id, reason) =
            holes.get(&seq).unwrap_or_else(|| panic!("#{seq} is neither stored nor a declared hole: a gap"));
        let l = outbox.iter().find(|l| l.device_seq == seq).unwrap();
        assert_eq!(event_id, &l.id, "hole #{seq} names its event");
        assert!(!l.synced, "the event of hole #{seq} is not marked delivered");
        match reason.as_str() {
            "quarantined" => assert!(l.quarantine_reason.is_some(), "#{seq} is quarantined with a reason"),
            "held" => assert!(
                outbox.iter().any(|q| q.aggregate == l.aggregate
                    && q.device_seq < seq
                    && q.quarantine_reason.is_some()
                    && !q.synced),
                "#{seq} is held behind a quarantined event of its record"
            ),
            other => panic!("hole #{seq} has reason {other}"),
        }
    }
    let mut by_record: HashMap<&(String, String), Vec<&Stored>> = HashMap::new();
    for s in &stored {
        by_record.entry(&s.aggregate).or_default().push(s);
    }
    for (record, mut events) in by_record {
        events.sort_by_key(|s| s.device_seq);
        for pair in events.windows(2) {
            assert!(
                pair[0].cloud_seq < pair[1].cloud_seq,
                "{record:?}: #{} (cloud {}) reached the cloud after #{} (cloud {})",
                pair[0].device_seq,
                pair[0].cloud_seq,
                pair[1].device_seq,
                pair[1].cloud_seq
            );
        }
    }
    let cloud_seqs: Vec<i64> = pg
        .psql(CLOUD_DB, "SELECT cloud_seq FROM events ORDER BY cloud_seq")
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(cloud_seqs, (1..=cloud_seqs.len() as i64).collect::<Vec<_>>(), "cloud_seq is gapless");
    Checked { stored, holes, outbox }
}

/// Everything made is delivered: no backlog, no holes, all stored.
fn assert_all_delivered(world: &World) -> Checked {
    let checked = world.check();
    assert!(checked.holes.is_empty(), "no hole left open: {:?}", checked.holes);
    assert_eq!(checked.stored.len(), checked.outbox.len(), "every event is at the cloud");
    assert_eq!(world.device.backlog(), 0, "the outbox shows every event delivered");
    checked
}

// ---- the scenarios -----------------------------------------------------------------

#[test]
fn request_dropped() {
    let world = World::new();
    work(&world.device, 3, "a");
    world.proxy.script([Fault::Pass, Fault::DropRequest, Fault::DropRequest]);
    world.drain_until_done(20);
    work(&world.device, 2, "b");
    world.proxy.script([Fault::DropRequest]);
    world.drain_until_done(20);
    assert_eq!(world.proxy.stats().dropped, 3, "the proxy dropped three batches");
    assert_eq!(world.proxy.pending(), 0);
    assert_all_delivered(&world);
}

#[test]
fn cloud_commits_then_the_answer_is_lost() {
    let world = World::new();
    work(&world.device, 4, "a");
    world.proxy.script([Fault::Pass, Fault::CommitThenDrop, Fault::CommitThenDrop]);
    world.drain_until_done(20);
    let seen = world.proxy.batches();
    let lost = seen.iter().position(|b| b.fault == "commit_then_drop").unwrap();
    assert_eq!(seen[lost].upstream_status, Some(200), "the cloud took the batch whose answer was lost");
    assert_eq!(
        seen[lost + 1].event_ids[..seen[lost].event_ids.len().min(seen[lost + 1].event_ids.len())],
        seen[lost].event_ids[..seen[lost].event_ids.len().min(seen[lost + 1].event_ids.len())],
        "the device sent the same events again"
    );
    assert_eq!(world.proxy.stats().committed_then_dropped, 2);
    assert_all_delivered(&world);
}

#[test]
fn batch_delivered_twice() {
    let world = World::new();
    work(&world.device, 4, "a");
    world.proxy.script([Fault::Duplicate, Fault::Pass, Fault::Duplicate]);
    world.drain_until_done(20);
    let stats = world.proxy.stats();
    assert_eq!(stats.duplicated, 2);
    assert_eq!(stats.forwarded, stats.batches + 2, "two batches went to the cloud twice");
    assert_all_delivered(&world);
}

#[test]
fn stall_past_the_client_timeout() {
    let world = World::new();
    work(&world.device, 4, "a");
    let hold = config().timeout * 2;
    world.proxy.script([
        Fault::Stall { hold, then: AfterStall::Forward },
        Fault::Pass,
        Fault::Stall { hold, then: AfterStall::Drop },
    ]);
    world.drain_until_done(30);
    // The late forward lands at the cloud after the device gave up on it;
    // wait for it before reading the cloud (no time is asserted).
    let until = Instant::now() + Duration::from_secs(120);
    while world.proxy.batches()[0].upstream_status.is_none() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(world.proxy.batches()[0].upstream_status.is_some(), "the stalled batch reached the cloud late");
    work(&world.device, 1, "b");
    world.drain_until_done(20);
    assert_eq!(world.proxy.stats().stalled, 2);
    assert_all_delivered(&world);
}

#[test]
fn status_500_then_429_with_retry_after() {
    let world = World::new();
    work(&world.device, 3, "a");
    let retry_after = 2;
    world.proxy.script([Fault::Status500, Fault::Status429 { retry_after }]);
    // As the watch loop does: a drain only when the backoff allows.
    let until = Instant::now() + Duration::from_secs(120);
    loop {
        let report = world.engine.drain_when_due();
        if report.outcome == pitlane_core::sync::DrainOutcome::Done && world.device.backlog() == 0 {
            break;
        }
        assert!(Instant::now() < until, "not done: {report:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let seen = world.proxy.batches();
    assert_eq!((seen[0].fault, seen[1].fault), ("status_500", "status_429"));
    let waited = seen[2].at.duration_since(seen[1].at);
    assert!(
        waited >= Duration::from_secs(retry_after),
        "the engine waited {waited:?} after a 429 that said Retry-After: {retry_after}"
    );
    let status = world.device.call("sync.status", json!({}));
    assert_eq!(status["backlog"], 0, "{status}");
    assert_all_delivered(&world);
}

#[test]
fn cloud_restarted_in_the_middle_of_a_batch() {
    let world = World::new();
    work(&world.device, 6, "a");
    world.proxy.script([
        Fault::Pass,
        Fault::RestartUpstreamMidBatch,
        Fault::Pass,
        Fault::RestartUpstreamMidBatch,
        Fault::RestartUpstreamMidBatch,
    ]);
    world.drain_until_done(40);
    assert_eq!(world.proxy.stats().restarts, 3);
    work(&world.device, 1, "b");
    world.drain_until_done(20);
    assert_all_delivered(&world);
    let health = reqwest::blocking::get(format!("{}/health", world.cloud.lock().unwrap().url())).unwrap();
    assert_eq!(health.status().as_u16(), 200, "the restarted cloud serves");
}

#[test]
fn one_event_rejected_with_422() {
    let world = World::new();
    let customers = work(&world.device, 4, "a");
    // The first update of customer 1: its record has later events, and
    // other records' events come after it too.
    let target = customers[1].clone();
    let first_update = {
        let target = target.clone();
        Pick::Matching(Arc::new(move |e: &Value| e["aggregate_id"] == json!(target) && e["type"] == "CustomerUpdated"))
    };
    world.proxy.script([Fault::RejectEvent422(first_update)]);
    world.drain_until_done(20);
    // More work while it is quarantined: on the same customer (held) and others.
    world.device.call("customers.update", json!({"id": target, "phone": "+12155550100"}));
    work(&world.device, 1, "b");
    world.drain_until_done(20);

    let rejected = world.proxy.rejecting();
    assert_eq!(rejected.len(), 1);
    let rejected = rejected[0].clone();
    let checked = world.check();
    let outbox = &checked.outbox;
    let bad = outbox.iter().find(|e| e.id == rejected).unwrap();
    let reason = bad.quarantine_reason.clone().expect("the rejected event is quarantined");
    assert!(reason.contains("invalid_event") || reason.contains("payload"), "its reason says why: {reason}");
    let held: Vec<&Local> =
        outbox.iter().filter(|e| e.aggregate == bad.aggregate && e.device_seq > bad.device_seq).collect();
    assert_eq!(held.len(), 2, "the customer's later update and the one made meanwhile");
    for h in &held {
        assert!(!h.synced, "#{} waits behind the quarantined event of its record", h.device_seq);
        assert_eq!(checked.holes.get(&h.device_seq).map(|(_, r)| r.as_str()), Some("held"));
    }
    assert_eq!(checked.holes.get(&bad.device_seq).map(|(_, r)| r.as_str()), Some("quarantined"));
    assert_eq!(checked.holes.len(), 3, "only the quarantined and the held are holes");
    let others = outbox.iter().filter(|e| e.aggregate != bad.aggregate).count();
    assert_eq!(
        checked.stored.iter().filter(|s| s.aggregate != bad.aggregate).count(),
        others,
        "every other record's events were delivered"
    );
    let status = world.device.call("sync.status", json!({}));
    let listed = status["quarantined"].as_array().cloned().unwrap_or_default();
    assert!(
        listed.iter().any(|q| q.to_string().contains(&rejected)),
        "sync.status lists the quarantined event: {status}"
    );

    // The cause is fixed at the cloud; the owner releases the event.
    world.proxy.stop_rejecting();
    world.device.call("sync.retry_quarantined", json!({"event_id": rejected}));
    world.drain_until_done(20);
    let checked = assert_all_delivered(&world);
    let record: Vec<&Stored> = checked.stored.iter().filter(|s| s.aggregate == bad.aggregate).collect();
    let mut in_cloud_order = record.clone();
    in_cloud_order.sort_by_key(|s| s.cloud_seq);
    let seqs: Vec<i64> = in_cloud_order.iter().map(|s| s.device_seq).collect();
    let mut sorted = seqs.clone();
    sorted.sort();
    assert_eq!(seqs, sorted, "the holes were filled in the record's order");
    assert!(world.device.outbox().iter().all(|e| e.quarantine_reason.is_none() || e.synced));
}

#[test]
fn a_10000_event_backlog_made_while_the_cloud_is_down_drains_when_it_returns() {
    let world = World::new();
    world.cloud.lock().unwrap().kill();
    // 10,000 events through real commands: stock adjustments on 20 items
    // and some customers.
    let items: Vec<String> = (0..20)
        .map(|i| {
            world.device.call(
                "inventory.create_item",
                json!({"sku": format!("B{i}"), "name": format!("Bulk {i}"), "opening_stock": 100_000_000}),
            )["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    // Set-up and the items wrote events of their own (each item with stock
    // writes two); every call below writes one more.
    let mut made = world.device.outbox().len();
    let mut i = 0;
    while made < 10_000 {
        if i % 50 == 0 {
            world.device.call("customers.create", json!({"name": format!("Walk-in {i}")}));
        } else {
            world.device.call(
                "inventory.adjust",
                json!({"item_id": items[i % items.len()], "quantity": if i % 2 == 0 { -1000 } else { 1000 },
                       "type": "adjustment", "reason": "count"}),
            );
        }
        made += 1;
        i += 1;
        if i == 100 {
            // The device tries while the cloud is down: nothing is lost.
            let report = world.engine.drain();
            assert_eq!(report.outcome, pitlane_core::sync::DrainOutcome::Waiting, "{report:?}");
        }
    }
    assert_eq!(world.device.outbox().len(), 10_000);
    assert_eq!(world.device.backlog(), 10_000, "nothing left while the cloud was down");
    world.cloud.lock().unwrap().restart();
    let engine = pitlane_sync::install(&world.device.api, SyncConfig { limits: Limits::default(), ..config() });
    let until = Instant::now() + Duration::from_secs(600);
    while world.device.backlog() > 0 && Instant::now() < until {
        engine.drain();
    }
    let checked = assert_all_delivered(&world);
    assert_eq!(checked.stored.len(), 10_000);
}

// ---- the CLI: the real keyring, and SIGKILL ------------------------------------------

/// `pitlane` beside this test's executable (target/<profile>/pitlane).
fn pitlane_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let bin = dir.join("pitlane");
    assert!(bin.is_file(), "{} is missing: cargo build -p pitlane-cli --bins first", bin.display());
    bin
}

/// A device made by the CLI (`pitlane init`), its token in the keyring of
/// `keyring`, syncing to `endpoint`.
fn cli_device(
    keyring: &pitlane_testkit::secret_service::SecretService,
    dir: &Path,
    cloud: &Cloud,
    endpoint: &str,
) -> (PathBuf, Device) {
    let db = dir.join("cli.db");
    let out = Command::new(pitlane_bin())
        .args(["--db"])
        .arg(&db)
        .args(["init", "--branch-name", "CLI", "--owner-name", "Olive", "--owner-code", "owner"])
        .env("PITLANE_PIN", PIN)
        .output()
        .unwrap();
    assert!(out.status.success(), "init: {}", String::from_utf8_lossy(&out.stdout));
    let device = Device::open(&db);
    let token = cloud.add_device(&device.id, &device.tenant_id, &device.branch_id);
    let out = keyring
        .apply(&mut Command::new(pitlane_bin()))
        .args(["--db"])
        .arg(&db)
        .args(["--user", "owner", "call", "sync.configure"])
        .arg(json!({"endpoint": endpoint, "token": token}).to_string())
        .env("PITLANE_PIN", PIN)
        .output()
        .unwrap();
    assert!(out.status.success(), "sync.configure: {}", String::from_utf8_lossy(&out.stdout));
    (db, device)
}

impl Device {
    /// The database a CLI made, opened in this process (no keyring: the
    /// token is the CLI's).
    fn open(path: &Path) -> Device {
        let api = Arc::new(Api::open(path).unwrap());
        let owner = api.login("owner", PIN).unwrap();
        let d = pitlane_core::settings::device(&api.lock_conn()).unwrap().unwrap();
        Device { _dir: None, api, owner, id: d.id, tenant_id: d.tenant_id, branch_id: d.branch_id }
    }
}

/// A small, seeded random source (the seed is printed, to replay a run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

/// Where a SIGKILL is aimed in one cycle of the test below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aim {
    /// While the proxy holds the cloud's answer back: the cloud has
    /// committed the batch, the device does not know yet.
    AfterCommit,
    /// While the proxy holds the request back: nothing of the batch has
    /// reached the cloud (then the request is forwarded late, or dropped).
    BeforeCommit(AfterStall),
    /// At a random moment.
    Anywhere,
}

#[test]
fn sigkill_of_pitlane_sync_watch_at_random_moments_never_loses_or_duplicates() {
    let pg = Postgres::start();
    let cloud = Cloud::start(&pg.create_database(CLOUD_DB));
    let proxy = Proxy::start(&cloud.url()).unwrap();
    let keyring = pitlane_testkit::secret_service::SecretService::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (db, device) = cli_device(&keyring, dir.path(), &cloud, &proxy.url());
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    println!("seed {seed}");
    let mut rng = Lcg(seed);
    // Longer than the kill takes to land once the hold is seen, shorter than the client's
    // timeout (30 s by default), so the device is still waiting when it dies.
    let hold = Duration::from_millis(1500);
    const CYCLES: usize = 50;
    let (mut aimed_after_commit, mut aimed_before_commit) = (0, 0);
    let (mut after_commit, mut unsent, mut stored_unrecorded) = (0, 0, 0);
    for cycle in 0..CYCLES {
        let aim = match cycle % 5 {
            0 | 1 => Aim::AfterCommit,
            2 => Aim::BeforeCommit(AfterStall::Forward),
            3 => Aim::BeforeCommit(AfterStall::Drop),
            _ => Aim::Anywhere,
        };
        proxy.clear_script();
        match aim {
            Aim::AfterCommit => proxy.script([Fault::HoldAnswer { hold }]),
            Aim::BeforeCommit(then) => proxy.script([Fault::Stall { hold, then }]),
            Aim::Anywhere => {}
        }
        // New events before and while the syncing process runs (20 to 80).
        work(&device, 3 + rng.next(10) as usize, &format!("k{cycle}"));
        let first_batch = proxy.batches().len();
        let mut child = keyring
            .apply(&mut Command::new(pitlane_bin()))
            .args(["--db"])
            .arg(&db)
            .args(["sync", "--watch"])
            .env("PITLANE_SYNC_POLL_MS", "20")
            .env("PITLANE_SYNC_BACKOFF_BASE_MS", "20")
            .env("PITLANE_SYNC_BACKOFF_CAP_MS", "200")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if rng.next(2) == 0 {
            work(&device, 1, &format!("w{cycle}"));
        }
        // Wait for the window aimed at (this child's batch held by the proxy), then kill at a
        // random moment inside it.
        let held_now = |batches: &[BatchSeen]| match aim {
            Aim::AfterCommit => batches.iter().any(|b| b.answer_held.is_some_and(|h| h.until.is_none())),
            Aim::BeforeCommit(_) => batches.iter().any(|b| b.request_held.is_some_and(|h| h.until.is_none())),
            Aim::Anywhere => true,
        };
        let until = Instant::now() + Duration::from_secs(30);
        while !held_now(&proxy.batches()[first_batch..]) {
            assert!(Instant::now() < until, "cycle {cycle}: the child's batch never reached the window {aim:?}");
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(match aim {
            Aim::Anywhere => rng.next(400),
            _ => rng.next(300),
        }));
        let killed_at = Instant::now();
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        let dead_at = Instant::now();
        assert!(status.code().is_none(), "cycle {cycle}: killed by a signal, not exited: {status}");
        match aim {
            Aim::AfterCommit => aimed_after_commit += 1,
            Aim::BeforeCommit(_) => aimed_before_commit += 1,
            Aim::Anywhere => {}
        }
        // Whatever moment it died at, what the cloud holds is consistent.
        let checked = check(&pg, &device, Settled::NotYet);
        // Where the kill landed, from what the proxy saw and what the tables hold now: the
        // cloud had committed a batch of this child's and the proxy still held its answer
        // from before the kill until after the child was dead; events neither at the cloud
        // nor marked delivered (so unsent when it died); events at the cloud the device has
        // not recorded as delivered (by any path).
        let batches = proxy.batches();
        if batches[first_batch..]
            .iter()
            .any(|b| b.upstream_status == Some(200) && b.answer_held.is_some_and(|h| h.covers(killed_at, dead_at)))
        {
            after_commit += 1;
        }
        let at_cloud: BTreeSet<&str> = checked.stored.iter().map(|s| s.id.as_str()).collect();
        if checked.outbox.iter().any(|l| !l.synced && !at_cloud.contains(l.id.as_str())) {
            unsent += 1;
        }
        if checked.outbox.iter().any(|l| !l.synced && at_cloud.contains(l.id.as_str())) {
            stored_unrecorded += 1;
        }
    }
    println!(
        "of {CYCLES} kills: {aimed_after_commit} aimed after the cloud's commit, {after_commit} landed there \
         (the answer held by the proxy); {aimed_before_commit} aimed before it; {unsent} left events unsent; \
         {stored_unrecorded} left events at the cloud not recorded as delivered"
    );
    assert!(after_commit >= 10, "at least 10 kills after the cloud committed, before the answer: {after_commit}");
    assert!(unsent >= 10, "at least 10 kills with events unsent: {unsent}");
    assert!(stored_unrecorded >= after_commit, "each of those left events the device must send again");

    // Held requests and answers end on their own (a stalled request may still reach the cloud).
    proxy.clear_script();
    let until = Instant::now() + Duration::from_secs(30);
    while proxy.in_flight() > 0 {
        assert!(Instant::now() < until, "the proxy still holds a batch after 30 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    // One last drain, to the end.
    let out = keyring
        .apply(&mut Command::new(pitlane_bin()))
        .args(["--db"])
        .arg(&db)
        .arg("sync")
        .env("PITLANE_PIN", PIN)
        .output()
        .unwrap();
    assert!(out.status.success(), "pitlane sync: {}", String::from_utf8_lossy(&out.stdout));
    let checked = check(&pg, &device, Settled::Yes);
    assert!(checked.holes.is_empty());
    assert_eq!(checked.stored.len(), checked.outbox.len(), "every event is at the cloud, once");
    assert_eq!(device.backlog(), 0);
}

/// The recipe of /work/shared/TESTING.md: a D-Bus session of its own with
/// GNOME Keyring, where `pitlane call sync.configure` stores the token and
/// `pitlane sync` reads it back to drain.
#[test]
fn the_token_in_the_real_secret_service_end_to_end() {
    let pg = Postgres::start();
    let cloud = Cloud::start(&pg.create_database(CLOUD_DB));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e2e.db");
    let out = Command::new(pitlane_bin())
        .args(["--db"])
        .arg(&db)
        .args(["init", "--branch-name", "E2E", "--owner-name", "Olive", "--owner-code", "owner"])
        .env("PITLANE_PIN", PIN)
        .output()
        .unwrap();
    assert!(out.status.success());
    let device = Device::open(&db);
    work(&device, 3, "e");
    let token = cloud.add_device(&device.id, &device.tenant_id, &device.branch_id);
    let home = dir.path().join("home");
    let run = home.join("run");
    std::fs::create_dir_all(&run).unwrap();
    let bin = pitlane_bin();
    let configure = json!({"endpoint": cloud.url(), "token": token}).to_string();
    let script = r#"printf pw | gnome-keyring-daemon --daemonize --unlock --components=secrets >/dev/null || exit 97
sleep 0.5
"$0" --db "$1" --user owner call sync.configure "$2" || exit 98
"$0" --db "$1" --user owner call sync.status
"$0" --db "$1" sync"#;
    let out = Command::new("dbus-run-session")
        .args(["--", "sh", "-c", script])
        .arg(&bin)
        .arg(&db)
        .arg(&configure)
        .env("XDG_DATA_HOME", &home)
        .env("XDG_RUNTIME_DIR", &run)
        .env("PITLANE_PIN", PIN)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("dbus-run-session (scripts/setup.sh installs dbus and gnome-keyring)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(!stdout.contains(&token), "the token is never printed");
    let checked = check(&pg, &device, Settled::Yes);
    assert_eq!(checked.stored.len(), checked.outbox.len(), "the CLI drained with the keyring's token");
    assert!(checked.holes.is_empty());
    assert_eq!(device.backlog(), 0);
    // The token is in the keyring's files, not in the database.
    for file in [db.clone(), db.with_extension("db-wal")] {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(!bytes.windows(token.len()).any(|w| w == token.as_bytes()), "the token is not in {}", file.display());
    }
}
