//! The device side of cloud sync: `pitlane sync` draining 100,000 events to
//! a loopback endpoint that discards them, beside raw HTTP POSTs of the same
//! request bodies (the bodies the drain sent, captured by the endpoint, with
//! the same headers and compression) from the same client library (reqwest's
//! blocking client, as the engine uses) to the same endpoint. Also the peak
//! memory of the syncing process: the kernel's high-water mark (`VmHWM`),
//! read from /proc while it runs. Several trials, each a drain of a fresh
//! copy of one filled database followed at once by its replay; the median
//! ratio is the figure (the machine is shared and its speed swings).
//!
//! The drain is a child process (`pitlane` beside this program) whose token
//! is in a real GNOME Keyring on a D-Bus session of the benchmark's own
//! (`pitlane_testkit::secret_service`), as on a desktop.

use std::convert::Infallible;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use pitlane_core::customers::CustomerFields;
use pitlane_core::vehicles::NewVehicle;
use pitlane_core::{Stamp, UuidV7Ids};
use serde_json::{json, Value};

use crate::{fresh, person, shop, PIN};

/// One request body as the drain sent it.
#[derive(Clone)]
struct Sent {
    gzip: bool,
    body: Bytes,
}

/// The endpoint: answers every batch 200 with all its ids accepted, keeps
/// nothing but (while `capture` is on) the bodies, for the raw replay.
struct Discard {
    url: String,
    sent: Arc<Mutex<Vec<Sent>>>,
    capture: Arc<Mutex<bool>>,
    /// When the first and the last batch arrived (the drain's start-up and
    /// its end are told apart from the sending).
    arrivals: Arc<Mutex<(Option<Instant>, Option<Instant>)>>,
    _runtime: tokio::runtime::Runtime,
}

fn accepted(sent: &Sent) -> Value {
    let batch: Value = if sent.gzip {
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(&sent.body[..]).read_to_end(&mut json).expect("gunzip");
        serde_json::from_slice(&json).expect("batch JSON")
    } else {
        serde_json::from_slice(&sent.body).expect("batch JSON")
    };
    let events = batch["events"].as_array().cloned().unwrap_or_default();
    let ids: Vec<&Value> = events.iter().map(|e| &e["id"]).collect();
    let last = events
        .iter()
        .filter_map(|e| e["device_seq"].as_i64())
        .chain(batch["holes"].as_array().into_iter().flatten().filter_map(|h| h["device_seq"].as_i64()))
        .max()
        .unwrap_or(0);
    json!({"success": true, "data": {"accepted": ids, "duplicates": [], "holes": [], "device_last_seq": last}})
}

impl Discard {
    fn start() -> Discard {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let sent = Arc::new(Mutex::new(Vec::new()));
        let capture = Arc::new(Mutex::new(true));
        let arrivals = Arc::new(Mutex::new((None, None)));
        let (kept, capturing, arrived) = (sent.clone(), capture.clone(), arrivals.clone());
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let (kept, capturing, arrived) = (kept.clone(), capturing.clone(), arrived.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let (kept, capturing, arrived) = (kept.clone(), capturing.clone(), arrived.clone());
                        async move {
                            let at = Instant::now();
                            let gzip = req
                                .headers()
                                .get("content-encoding")
                                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
                            let is_batch = req.uri().path() == "/v1/events";
                            let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                            let answer = if is_batch {
                                let sent = Sent { gzip, body };
                                let answer = accepted(&sent);
                                if *capturing.lock().expect("lock") {
                                    kept.lock().expect("lock").push(sent);
                                    let mut arrived = arrived.lock().expect("lock");
                                    arrived.0.get_or_insert(at);
                                    arrived.1 = Some(Instant::now());
                                }
                                answer
                            } else {
                                json!({"success": true, "data": {}})
                            };
                            Ok::<_, Infallible>(
                                Response::builder()
                                    .header("content-type", "application/json")
                                    .body(Full::new(Bytes::from(answer.to_string())))
                                    .expect("response"),
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Discard { url, sent, capture, arrivals, _runtime: runtime }
    }
}

/// `events` events (half `CustomerCreated`, half `VehicleRegistered`)
/// written through the core's own functions in large transactions.
fn fill(path: &Path, events: usize) {
    fresh(path);
    let (api, _) = shop(path);
    let mut conn = api.lock_conn();
    let ids = UuidV7Ids;
    let pairs = events / 2;
    let mut i = 0;
    while i < pairs {
        let tx = conn.transaction().expect("tx");
        let stamp = Stamp { now: chrono::Utc::now(), ids: &ids, actor_id: None };
        let end = (i + 5_000).min(pairs);
        for k in i..end {
            let (name, email, phone, plate) = person(k);
            let phone = pitlane_core::validate::normalize_phone(&phone, "US").expect("phone");
            let customer = pitlane_core::customers::create_tx(
                &tx,
                &stamp,
                &CustomerFields {
                    name,
                    email: Some(email),
                    phone: Some(phone),
                    address: "1 Main Street, Springfield".into(),
                    notes: String::new(),
                    marketing_consent: false,
                },
            )
            .expect("customer");
            pitlane_core::vehicles::register_tx(
                &tx,
                &stamp,
                &NewVehicle {
                    customer_id: customer.id,
                    license_plate: plate,
                    vin: None,
                    make: "Toyota".into(),
                    model: "Corolla".into(),
                    year: Some(2018),
                    odometer: None,
                },
            )
            .expect("vehicle");
        }
        tx.commit().expect("commit");
        i = end;
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").expect("checkpoint");
}

/// `pitlane` beside this program (`cargo build --release -p pitlane-bench
/// -p pitlane-cli` builds both).
fn pitlane_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let bin = exe.with_file_name("pitlane");
    assert!(bin.is_file(), "{} is missing: cargo build --release -p pitlane-cli first", bin.display());
    bin
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs the drain as a child, sampling its memory high-water mark until it
/// exits. Answers when it started, the wall time and the peak in KiB.
fn run_drain(keyring: &pitlane_testkit::secret_service::SecretService, db: &Path) -> (Instant, Duration, u64) {
    let started = Instant::now();
    let mut child = keyring
        .apply(&mut Command::new(pitlane_bin()))
        .args(["--db"])
        .arg(db)
        .arg("sync")
        .env("PITLANE_STATE_DIR", state_dir(db))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start pitlane sync");
    let pid = child.id();
    let mut peak = 0;
    loop {
        if let Some(kib) = vm_hwm_kib(pid) {
            peak = peak.max(kib);
        }
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let elapsed = started.elapsed();
    let out = child.wait_with_output().expect("output");
    assert!(
        out.status.success(),
        "pitlane sync failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (started, elapsed, peak)
}

/// The seen marks of the drain's database, beside it.
fn state_dir(db: &Path) -> std::path::PathBuf {
    db.with_extension("state")
}

fn configure(keyring: &pitlane_testkit::secret_service::SecretService, db: &Path, endpoint: &str) {
    let out = keyring
        .apply(&mut Command::new(pitlane_bin()))
        .args(["--db"])
        .arg(db)
        .args(["--user", "owner", "call", "sync.configure"])
        .arg(json!({"endpoint": endpoint, "token": "bench-token-0123456789"}).to_string())
        .env("PITLANE_PIN", PIN)
        .output()
        .expect("pitlane call sync.configure");
    assert!(out.status.success(), "sync.configure: {}", String::from_utf8_lossy(&out.stdout));
}

fn unsynced(db: &Path) -> i64 {
    rusqlite::Connection::open(db)
        .expect("open")
        .query_row("SELECT count(*) FROM outbox WHERE synced_at IS NULL", [], |r| r.get(0))
        .expect("count")
}

/// The raw baseline: the same bodies, one POST after another, as the drain
/// sends them (one batch, then its answer, then the next).
fn replay(url: &str, sent: &[Sent]) -> Duration {
    let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
    let started = Instant::now();
    for s in sent {
        let mut request = client
            .post(format!("{url}/v1/events"))
            .header("authorization", "Bearer bench-token-0123456789")
            .header("content-type", "application/json");
        if s.gzip {
            request = request.header("content-encoding", "gzip");
        }
        let response = request.body(s.body.clone()).send().expect("post");
        assert!(response.status().is_success());
        let answer: Value = response.json().expect("answer");
        assert_eq!(answer["success"], true);
    }
    started.elapsed()
}

/// One drain of a fresh copy of the filled database, then the raw replay
/// of the bodies it sent.
struct Trial {
    drain: Duration,
    raw: Duration,
    peak_kib: u64,
    requests: usize,
    gzipped: usize,
    bytes: usize,
    startup: Duration,
    after_last: Duration,
}

fn trial(
    keyring: &pitlane_testkit::secret_service::SecretService,
    endpoint: &Discard,
    filled: &Path,
    db: &Path,
) -> Trial {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    std::fs::copy(filled, db).expect("copy the filled database");
    // Each trial's copy is a first sight (a shared seen mark would take the
    // next copy of the same device for an older one).
    let _ = std::fs::remove_dir_all(state_dir(db));
    endpoint.sent.lock().expect("lock").clear();
    *endpoint.arrivals.lock().expect("lock") = (None, None);
    *endpoint.capture.lock().expect("lock") = true;
    let (started, drain, peak_kib) = run_drain(keyring, db);
    *endpoint.capture.lock().expect("lock") = false;
    let (first, last) = *endpoint.arrivals.lock().expect("lock");
    let (first, last) = (first.expect("a batch arrived"), last.expect("a batch arrived"));
    assert_eq!(unsynced(db), 0, "the drain delivered every event");
    let sent = endpoint.sent.lock().expect("lock").clone();
    let raw = replay(&endpoint.url, &sent);
    Trial {
        drain,
        raw,
        peak_kib,
        requests: sent.len(),
        gzipped: sent.iter().filter(|s| s.gzip).count(),
        bytes: sent.iter().map(|s| s.body.len()).sum(),
        startup: first - started,
        after_last: (started + drain).saturating_duration_since(last),
    }
}

/// `trials` drains of the same filled database (each on a fresh copy, each
/// followed at once by its raw replay, so both meet the machine in the
/// same state); the median ratio is the figure, the machine being shared.
pub fn compare(data: &Path, events: usize, trials: usize) {
    std::fs::create_dir_all(data).expect("data dir");
    let filled = data.join("sync-filled.db");
    let db = data.join("sync-drain.db");
    println!();
    println!("filling a device database with {events} events...");
    let t = Instant::now();
    fill(&filled, events);
    let total = unsynced(&filled);
    println!("  {total} events in {:.0} s", t.elapsed().as_secs_f64());
    let keyring = pitlane_testkit::secret_service::SecretService::start().expect("a real keyring: scripts/setup.sh");
    let endpoint = Discard::start();
    configure(&keyring, &filled, &endpoint.url);
    println!("sync drain, {total} events to a loopback endpoint that discards them, {trials} trials");
    let mut ratios = Vec::new();
    let mut peak = 0u64;
    for n in 1..=trials.max(1) {
        let t = trial(&keyring, &endpoint, &filled, &db);
        let drain_rate = total as f64 / t.drain.as_secs_f64();
        let raw_rate = total as f64 / t.raw.as_secs_f64();
        if n == 1 {
            println!(
                "  {} requests, {} gzipped, {:.1} MB on the wire",
                t.requests,
                t.gzipped,
                t.bytes as f64 / 1_000_000.0
            );
        }
        println!(
            "  trial {n}: raw POSTs of the same bodies (reqwest) {raw_rate:>8.0} events/s ({:.2} s); \
             pitlane sync (whole process) {drain_rate:>8.0} events/s ({:.2} s, start-up to the first batch {:.2} s, \
             after the last {:.2} s); ratio {:.2}",
            t.raw.as_secs_f64(),
            t.drain.as_secs_f64(),
            t.startup.as_secs_f64(),
            t.after_last.as_secs_f64(),
            drain_rate / raw_rate
        );
        ratios.push(drain_rate / raw_rate);
        peak = peak.max(t.peak_kib);
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    println!("  ratio sync / raw, median of {}            {median:>6.2}      goal: >= 0.5", ratios.len());
    println!("  peak memory of pitlane sync (VmHWM)    {:>10.1} MiB    goal: < 100 MB", peak as f64 / 1024.0);
}
