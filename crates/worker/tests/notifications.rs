//! The worker against real servers on loopback that the tests start: an
//! SMTP server (mailin-embedded) and an SMS gateway (axum). Mail is read
//! back with a MIME parser (mail-parser), the attached PDF with pdftotext.

#[path = "../../core/tests/core/support.rs"]
#[allow(dead_code)]
mod support;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mail_parser::{MessageParser, MimeHeaders};
use mailin_embedded::{response, Handler, Response, Server, SslConfig};
use pitlane_core::jobs::RetryPolicy;
use pitlane_core::{Api, FixedClock};
use pitlane_worker::{Ran, Worker};
use serde_json::{json, Value};
use support::{failure, Shop};

// ---- an SMTP server ------------------------------------------------------

#[derive(Clone, Default)]
struct Inbox {
    messages: Arc<Mutex<Vec<Vec<u8>>>>,
    data_started: Arc<AtomicU32>,
    /// Held before answering DATA (the client waits: "mid-job").
    stall: Arc<Mutex<Option<Duration>>>,
    current: Vec<u8>,
}

impl Handler for Inbox {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, _to: &[String]) -> Response {
        self.data_started.fetch_add(1, Ordering::SeqCst);
        let stall = *self.stall.lock().unwrap();
        if let Some(pause) = stall {
            std::thread::sleep(pause);
        }
        self.current.clear();
        response::START_DATA
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        self.messages.lock().unwrap().push(std::mem::take(&mut self.current));
        response::OK
    }
}

impl Inbox {
    fn count(&self) -> usize {
        self.messages.lock().unwrap().len()
    }

    fn parsed(&self) -> Vec<mail_parser::Message<'static>> {
        self.messages
            .lock()
            .unwrap()
            .iter()
            .map(|m| MessageParser::default().parse(m).expect("a MIME message").into_owned())
            .collect()
    }
}

/// A port nothing listens on (yet).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts an SMTP server on `port`; it runs until the test process ends.
fn smtp_on(port: u16) -> Inbox {
    let inbox = Inbox::default();
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let handler = inbox.clone();
    std::thread::spawn(move || {
        let mut server = Server::new(handler);
        server.with_name("smtp.test").with_ssl(SslConfig::None).unwrap().with_tcp_listener(listener);
        let _ = server.serve();
    });
    inbox
}

// ---- an SMS gateway --------------------------------------------------------

/// One text as the gateway got it: Authorization, Idempotency-Key, body.
type Text = (Option<String>, Option<String>, Value);

/// The texts the gateway took, and how many requests it is still to
/// refuse with a 503 (a gateway that is down for a while).
#[derive(Clone, Default)]
struct Texts(Arc<Mutex<Vec<Text>>>, Arc<AtomicU32>);

impl Texts {
    /// The text of every message taken, in the order taken.
    fn said(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(_, _, body)| body["text"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    fn refuse_next(&self, n: u32) {
        self.1.store(n, Ordering::SeqCst);
    }
}

fn sms_gateway() -> (String, Texts) {
    use axum::extract::State;
    use axum::http::HeaderMap;
    use axum::routing::post;
    let texts = Texts::default();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let state = texts.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let app = axum::Router::new()
                .route(
                    "/v1/messages",
                    post(
                        |State(t): State<Texts>, headers: HeaderMap, axum::Json(body): axum::Json<Value>| async move {
                            use axum::http::StatusCode;
                            if t.1.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
                                return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({ "error": "down" })));
                            }
                            let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
                            t.0.lock().unwrap().push((h("authorization"), h("idempotency-key"), body));
                            (StatusCode::OK, axum::Json(json!({ "id": "sms_1", "status": "queued" })))
                        },
                    ),
                )
                .with_state(state);
            axum::serve(tokio::net::TcpListener::from_std(listener).unwrap(), app).await.unwrap();
        });
    });
    (url, texts)
}

// ---- the shop -------------------------------------------------------------------

const POLICY: RetryPolicy =
    RetryPolicy { max_attempts: 3, backoff: Duration::from_secs(60), lease: Duration::from_secs(120) };

/// The keyring crate's mock store, one per test process (its entries live
/// in the store, so the shop and the worker must share it).
fn keyring() -> Arc<pitlane_secrets::KeyringStore> {
    static STORE: std::sync::OnceLock<Arc<pitlane_secrets::KeyringStore>> = std::sync::OnceLock::new();
    STORE.get_or_init(|| Arc::new(pitlane_secrets::KeyringStore::mock())).clone()
}

/// A second core on the shop's file, for the worker (sharing the clock).
fn worker_for(s: &Shop, clock: Arc<FixedClock>) -> (Worker, Arc<Api>) {
    let api = Arc::new(support::open_at(s.dir.path(), clock));
    api.set_secret_store(keyring());
    (Worker::new(api.clone(), POLICY, Arc::new(pitlane_pdf::PdfPrinter)), api)
}

fn smtp_settings(s: &Shop, port: u16) {
    s.ok(
        &s.owner,
        "settings.update",
        json!({ "integrations": {
        "smtp_host": "127.0.0.1", "smtp_port": port.to_string(), "smtp_security": "none",
        "smtp_from": "Test Garage <service@garage.example>", "alerts_email": "managers@garage.example",
    } }),
    );
}

/// A completed job card for a customer with these contact details; returns
/// the invoice id and number.
fn completed(s: &Shop, name: &str, email: Option<&str>, phone: Option<&str>) -> (String, String) {
    let tech = s.staff(&format!("t{}", name.len()), "technician");
    let tech_id = s.ok(&tech, "auth.whoami", json!({}))["staff_id"].clone();
    let c = s.ok(&s.owner, "customers.create", json!({ "name": name, "email": email, "phone": phone }));
    let v = s.ok(&s.owner, "vehicles.register", json!({ "customer_id": c["id"], "license_plate": format!("R-{}", name.len()), "make": "Volvo", "model": "V70" }));
    let card = s.ok(&s.owner, "job_cards.create", json!({ "customer_id": c["id"], "vehicle_id": v["id"] }));
    s.ok(&tech, "job_cards.start", json!({ "job_card_id": card["id"], "technician_id": tech_id }));
    s.ok(&tech, "job_cards.add_line", json!({ "job_card_id": card["id"], "kind": "labour", "description": "Clutch replacement", "quantity": 4000, "unit_price": 9500 }));
    let done = s.ok(&tech, "job_cards.complete", json!({ "job_card_id": card["id"] }));
    (done["invoice"]["id"].as_str().unwrap().into(), done["invoice"]["number"].as_str().unwrap().into())
}

fn pdf_text(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.pdf");
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("pdftotext").arg(&path).arg("-").output().expect("pdftotext");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_invoice_email_arrives_with_the_pdf_attached() {
    let s = support::shop();
    let port = free_port();
    let inbox = smtp_on(port);
    smtp_settings(&s, port);
    let (invoice, number) = completed(&s, "Анна Иванова", Some("anna@example.com"), None);
    let desk = s.staff("desk", "front_desk");
    let queued = s.ok(&desk, "invoices.email", json!({ "invoice_id": invoice }));
    assert_eq!(queued["to"], "anna@example.com");

    let (worker, _api) = worker_for(&s, s.clock.clone());
    let ran = worker.run_until_idle().unwrap();
    let outcomes: Vec<String> = ran
        .iter()
        .map(|r| match r {
            Ran::Succeeded { job_id, outcome } => format!("{}: {outcome}", job_id.split(':').nth(1).unwrap()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            "vehicle_ready_email: emailed anna@example.com",
            "vehicle_ready_sms: skipped: the customer has no phone number",
            "invoice_email: emailed anna@example.com (1 page)", // sent when the invoice was made
            "invoice_email: emailed anna@example.com (1 page)", // and again when asked for
        ]
    );
    let mail = inbox.parsed();
    let job_id = queued["job_id"].as_str().unwrap().replace(':', ".");
    let invoice_mail = mail
        .iter()
        .find(|m| m.message_id().is_some_and(|id| id.starts_with(&job_id)))
        .expect("the invoice email asked for, its Message-ID from the job id");
    assert!(invoice_mail.subject().unwrap().contains(&number));
    assert_eq!(invoice_mail.to().unwrap().first().unwrap().address().unwrap(), "anna@example.com");
    let pdf = invoice_mail.attachments().next().expect("a PDF attached");
    assert_eq!(pdf.attachment_name(), Some(format!("{number}.pdf").as_str()));
    assert!(pdf.contents().starts_with(b"%PDF-"));
    let text: String = pdf_text(pdf.contents()).split_whitespace().collect();
    assert!(text.contains("АннаИванова") && text.contains(&number), "the PDF is the customer's invoice");
    assert!(mail.iter().any(|m| m.subject().unwrap_or("").contains("is ready")), "and the car-ready note");

    // Nothing runs twice: a second pass finds nothing to do.
    assert!(worker.run_until_idle().unwrap().is_empty());
    assert_eq!(inbox.count(), 3);

    // A customer without an email address is a 422 that says so; an unknown invoice a 404.
    let (no_email, _) = completed(&s, "Nobody Mailable", None, None);
    let refused = s.call(&desk, "invoices.email", json!({ "invoice_id": no_email }));
    assert_eq!(failure(&refused), (422, "validation_failed".into()));
    assert!(refused.to_json().contains("has no email address"), "{}", refused.to_json());
    assert_eq!(failure(&s.call(&desk, "invoices.email", json!({ "invoice_id": "nope" }))).0, 404);
}

#[test]
fn with_the_mail_server_down_the_job_is_retried_then_failed_and_retry_delivers_once() {
    let s = support::shop();
    let port = free_port(); // nothing listens here yet
    smtp_settings(&s, port);
    let (invoice, number) = completed(&s, "Down Time", None, None); // no email: only the invoice job mails
    let queued = s.ok(&s.owner, "invoices.email", json!({ "invoice_id": invoice, "to": "ap@fleet.example" }));
    let job_id = queued["job_id"].as_str().unwrap().to_string();
    let (worker, api) = worker_for(&s, s.clock.clone());

    let first = worker.run_until_idle().unwrap();
    assert!(first.iter().any(|r| matches!(r, Ran::Retrying { job_id: j, .. } if *j == job_id)), "{first:?}");
    assert!(worker.run_until_idle().unwrap().is_empty(), "not due again before the backoff");
    s.clock.advance(chrono::Duration::seconds(80)); // first backoff: 60 s ± 25 %
    assert!(matches!(&worker.run_until_idle().unwrap()[..], [Ran::Retrying { .. }]));
    s.clock.advance(chrono::Duration::seconds(160)); // second: 120 s ± 25 %
    assert!(matches!(&worker.run_until_idle().unwrap()[..], [Ran::Failed { .. }]));

    let manager = api.login("owner", support::PIN).unwrap();
    let failed = support::ok(&api, Some(&manager), "jobs.failed", json!({}));
    assert_eq!(failed["jobs"][0]["id"], job_id.as_str());
    assert_eq!(failed["jobs"][0]["attempts"], 3);
    assert!(failed["jobs"][0]["last_error"].as_str().unwrap().contains("smtp"));
    let stats = support::ok(&api, Some(&manager), "jobs.stats", json!({}));
    assert_eq!(stats["failed"], 1);

    // The server comes back; a manager retries; it is delivered once.
    let inbox = smtp_on(port);
    support::ok(&api, Some(&manager), "jobs.retry", json!({ "job_id": job_id }));
    assert!(matches!(&worker.run_until_idle().unwrap()[..], [Ran::Succeeded { .. }]));
    assert!(worker.run_until_idle().unwrap().is_empty());
    assert_eq!(inbox.count(), 1);
    assert!(inbox.parsed()[0].subject().unwrap().contains(&number));
    assert_eq!(support::ok(&api, Some(&manager), "jobs.failed", json!({}))["jobs"], json!([]));
    let stats = support::ok(&api, Some(&manager), "jobs.stats", json!({}));
    // The asked-for email, and the three that found nothing to do (no
    // address on the customer): car ready by email and SMS, invoice made.
    assert_eq!((stats["failed"].as_i64(), stats["succeeded"].as_i64()), (Some(0), Some(4)));
    assert!(stats["dispatch_latency_ms_p50"].is_i64());
    assert_eq!(failure(&api.call_value(Some(&manager), "jobs.retry", &json!({ "job_id": job_id }))).0, 409);
}

#[test]
fn the_sms_gateway_receives_the_ready_for_pickup_message() {
    let s = support::shop();
    let (url, texts) = sms_gateway();
    s.api.set_secret_store(keyring());
    s.ok(&s.owner, "settings.update", json!({ "integrations": { "sms_gateway_url": url, "sms_sender": "GARAGE" } }));
    s.ok(&s.owner, "settings.set_secret", json!({ "name": "sms_api_key", "value": "sms_key_123" }));
    completed(&s, "Phone Only", None, Some("+1 215 555 0142"));
    let (worker, _api) = worker_for(&s, s.clock.clone());
    let ran = worker.run_until_idle().unwrap();
    assert!(
        ran.iter().any(|r| matches!(r, Ran::Succeeded { job_id, outcome } if job_id.ends_with(":vehicle_ready_sms") && outcome == "texted +12155550142")),
        "{ran:?}"
    );
    let got = texts.0.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let (auth, key, body) = &got[0];
    assert_eq!(auth.as_deref(), Some("Bearer sms_key_123"));
    assert!(key.as_deref().unwrap().ends_with(":vehicle_ready_sms"), "the job id is the idempotency key");
    assert_eq!(body["to"], "+12155550142");
    assert_eq!(body["from"], "GARAGE");
    assert!(body["text"].as_str().unwrap().contains("ready for pickup"), "{body}");
}

#[test]
fn low_stock_raises_one_in_app_alert_and_emails_the_managers() {
    let s = support::shop();
    let port = free_port();
    let inbox = smtp_on(port);
    smtp_settings(&s, port);
    let item = s.item("BP-1", "Brake Pads", 5000, 4000);
    s.ok(
        &s.owner,
        "inventory.adjust",
        json!({ "item_id": item, "quantity": -2000, "type": "adjustment", "reason": "used" }),
    );
    let (worker, api) = worker_for(&s, s.clock.clone());
    let ran = worker.run_until_idle().unwrap();
    assert!(matches!(&ran[..], [Ran::Succeeded { .. }, Ran::Succeeded { .. }]), "the alert and the email: {ran:?}");
    assert!(worker.run_until_idle().unwrap().is_empty());
    let owner = api.login("owner", support::PIN).unwrap();
    let alerts = support::ok(&api, Some(&owner), "alerts.list", json!({}));
    assert_eq!(alerts["open_count"], 1, "one alert, once");
    assert_eq!(alerts["alerts"][0]["title"], "Low stock: Brake Pads");
    let mail = inbox.parsed();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to().unwrap().first().unwrap().address().unwrap(), "managers@garage.example");
}

// ---- a worker killed mid-job ---------------------------------------------------

#[test]
#[ignore = "a child process of the worker kill test"]
fn child_worker() {
    let dir = std::env::var("PITLANE_WORKER_CHILD").expect("run by the kill test");
    let api = Arc::new(support::open_at(Path::new(&dir), support::start_clock()));
    let worker = Worker::new(api, POLICY, Arc::new(pitlane_pdf::PdfPrinter));
    let _ = worker.run_until_idle();
    std::process::exit(0);
}

#[test]
fn killing_the_worker_mid_job_neither_repeats_nor_loses_it() {
    let s = support::shop();
    let port = free_port();
    let inbox = smtp_on(port);
    smtp_settings(&s, port);
    let (invoice, number) = completed(&s, "Kill Test", None, None);
    let queued = s.ok(&s.owner, "invoices.email", json!({ "invoice_id": invoice, "to": "kill@example.com" }));
    let job_id = queued["job_id"].as_str().unwrap().to_string();
    drop(s.api.lock_conn());

    // The server holds its answer to DATA: the child is mid-job when killed.
    *inbox.stall.lock().unwrap() = Some(Duration::from_secs(2));
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_worker", "--ignored", "--nocapture", "--test-threads", "1"])
        .env("PITLANE_WORKER_CHILD", s.dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while inbox.data_started.load(Ordering::SeqCst) == 0 {
        assert!(started.elapsed() < Duration::from_secs(30), "the child reached the mail server");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL, mid-conversation
    child.wait().unwrap();
    *inbox.stall.lock().unwrap() = None;
    let state: (String, u32) = s
        .api
        .lock_conn()
        .query_row("SELECT state, attempts FROM jobs WHERE id = ?1", [&job_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!(state, ("running".into(), 1), "left running by the dead worker");

    // Restart. Before the lease runs out nobody takes it…
    let (worker, _api) = worker_for(&s, s.clock.clone());
    assert!(worker.run_until_idle().unwrap().is_empty());
    // …after it, the job runs again and is delivered exactly once.
    s.clock.advance(chrono::Duration::seconds(121));
    let ran = worker.run_until_idle().unwrap();
    assert!(matches!(&ran[..], [Ran::Succeeded { job_id: j, .. }] if *j == job_id), "{ran:?}");
    assert!(worker.run_until_idle().unwrap().is_empty());
    std::thread::sleep(Duration::from_millis(2500)); // the stalled session has given up
    assert_eq!(inbox.count(), 1, "delivered once");
    assert!(inbox.parsed()[0].subject().unwrap().contains(&number));
    let (state, attempts): (String, u32) = s
        .api
        .lock_conn()
        .query_row("SELECT state, attempts FROM jobs WHERE id = ?1", [&job_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!((state.as_str(), attempts), ("succeeded", 2), "one success, on the second attempt");
}

#[test]
fn the_worker_runs_on_tokio_until_stopped() {
    let s = support::shop();
    let port = free_port();
    let inbox = smtp_on(port);
    smtp_settings(&s, port);
    let (worker, _api) = worker_for(&s, s.clock.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = runtime.spawn(worker.run(Duration::from_millis(50), stopped));
    // Work arrives while the worker is running.
    let (invoice, _) = completed(&s, "Tokio Customer", None, None);
    s.ok(&s.owner, "invoices.email", json!({ "invoice_id": invoice, "to": "t@example.com" }));
    let started = std::time::Instant::now();
    while inbox.count() == 0 {
        assert!(started.elapsed() < Duration::from_secs(20), "the running worker picked the job up");
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.send(true).unwrap();
    runtime.block_on(running).unwrap();
    assert_eq!(inbox.count(), 1);
}

#[test]
fn a_stop_waits_for_the_job_in_hand_not_for_the_whole_queue() {
    let s = support::shop();
    let port = free_port();
    let inbox = smtp_on(port);
    smtp_settings(&s, port);
    let (invoice, _) = completed(&s, "Queue Customer", None, None);
    let (worker, _api) = worker_for(&s, s.clock.clone());
    worker.run_until_idle().unwrap();
    let before = inbox.count();
    for n in 0..3 {
        s.ok(&s.owner, "invoices.email", json!({ "invoice_id": invoice, "to": format!("q{n}@example.com") }));
    }
    let asked = std::cell::Cell::new(0);
    let ran = worker
        .run_until_idle_or_stopped(|| {
            asked.set(asked.get() + 1);
            asked.get() > 1
        })
        .unwrap();
    assert_eq!(ran.len(), 1, "the stop came after the first job: one ran");
    assert_eq!(inbox.count(), before + 1);
    let queued: i64 =
        s.api.lock_conn().query_row("SELECT count(*) FROM jobs WHERE state = 'queued'", [], |r| r.get(0)).unwrap();
    assert_eq!(queued, 2, "the rest wait for the next start");
}

#[test]
fn a_job_whose_worker_dies_every_time_ends_in_the_failed_list() {
    let s = support::shop();
    s.item("OIL", "Engine Oil", 5000, 4000);
    let item: String = s.api.lock_conn().query_row("SELECT id FROM inventory_items", [], |r| r.get(0)).unwrap();
    s.ok(
        &s.owner,
        "inventory.adjust",
        json!({ "item_id": item, "quantity": -2000, "type": "adjustment", "reason": "used" }),
    );
    // Three workers each take the job and die (their claims are never finished).
    for _ in 0..3 {
        let mut conn = s.api.lock_conn();
        let claimed = pitlane_core::jobs::claim(&mut conn, pitlane_core::Clock::now(s.clock.as_ref()), &POLICY)
            .unwrap()
            .expect("a job to take");
        assert_eq!(claimed.job.listener, "low_stock_alert");
        drop(conn);
        s.clock.advance(chrono::Duration::seconds(121));
    }
    let (worker, api) = worker_for(&s, s.clock.clone());
    let ran = worker.run_until_idle().unwrap();
    assert!(ran.iter().all(|r| !matches!(r, Ran::Succeeded { job_id, .. } if job_id.ends_with(":low_stock_alert"))));
    let owner = api.login("owner", support::PIN).unwrap();
    let failed = support::ok(&api, Some(&owner), "jobs.failed", json!({}));
    assert_eq!(failed["jobs"][0]["listener"], "low_stock_alert");
    assert!(failed["jobs"][0]["last_error"].as_str().unwrap().contains("worker stopped"));
}

#[test]
fn unencrypted_smtp_is_only_allowed_to_this_machine_whatever_the_order() {
    let s = support::shop();
    s.ok(&s.owner, "settings.update", json!({ "integrations": { "smtp_host": "127.0.0.1", "smtp_security": "none" } }));
    let moved = s.call(&s.owner, "settings.update", json!({ "integrations": { "smtp_host": "smtp.example.com" } }));
    assert_eq!(failure(&moved), (422, "validation_failed".into()));
    assert!(moved.to_json().contains("integrations.smtp_security"));
    let settings = s.ok(&s.owner, "settings.get", json!({}));
    assert_eq!(settings["integrations"]["smtp_host"], "127.0.0.1", "nothing changed");
}

#[test]
fn half_finished_email_settings_fail_only_the_jobs_with_something_to_send() {
    let s = support::shop();
    // A server but no sender address: email cannot work.
    s.ok(&s.owner, "settings.update", json!({ "integrations": { "smtp_host": "127.0.0.1", "smtp_security": "none" } }));
    completed(&s, "No Address", None, None);
    let (worker, _api) = worker_for(&s, s.clock.clone());
    let ran = worker.run_until_idle().unwrap();
    assert!(
        ran.iter().all(
            |r| matches!(r, Ran::Succeeded { outcome, .. } if outcome.starts_with("skipped: the customer has no"))
        ),
        "{ran:?}"
    );
    completed(&s, "Has Address", Some("has@example.com"), None);
    let ran = worker.run_until_idle().unwrap();
    let retrying: Vec<_> = ran
        .iter()
        .filter(|r| matches!(r, Ran::Retrying { error, .. } if error.contains("without a sender address")))
        .collect();
    assert_eq!(retrying.len(), 1, "the car-ready email waits for the settings: {ran:?}");
    let invoice_job = ran.iter().any(|r| matches!(r, Ran::Retrying { job_id, .. } | Ran::Succeeded { job_id, .. } if job_id.ends_with(":invoice_email")));
    assert!(!invoice_job, "and the invoice email, a later message to the same customer, waits behind it: {ran:?}");
}

// ---- the customer's messages: in order, never outdated, worded for people -------

/// A shop with a lift bay, an oil change service, email to a local SMTP
/// server and texts to a local SMS gateway (its key in the keyring).
fn garage() -> (support::Shop, Inbox, Texts) {
    let s = support::shop();
    s.api.set_secret_store(keyring());
    let port = free_port();
    let inbox = smtp_on(port);
    smtp_settings(&s, port);
    let (url, texts) = sms_gateway();
    s.ok(&s.owner, "settings.update", json!({
        "branch": { "phone": "+1 215 555 0100", "address": "1200 Market Street\nPhiladelphia, PA 19107" },
        "integrations": { "sms_gateway_url": url, "sms_sender": "GARAGE" },
        "bays": [{ "name": "Bay 1", "capabilities": ["lift"] }],
        "service_types": [{ "code": "oil_change", "name": "Oil Change", "duration_minutes": 60, "required_capability": "lift" }],
    }));
    s.ok(&s.owner, "settings.set_secret", json!({ "name": "sms_api_key", "value": "sms_key_123" }));
    (s, inbox, texts)
}

/// Books John Doe's Toyota for Wednesday 25 November 2026 (the clock says
/// the 24th) at 09:00; returns the appointment and customer ids.
fn book_john(s: &support::Shop, email: Option<&str>) -> (String, String) {
    let booked = s.ok(
        &s.owner,
        "appointments.book",
        json!({
            "customer_name": "John Doe", "customer_email": email, "customer_phone": "+1 215 555 0142",
            "license_plate": "ABC-123", "vehicle_make": "Toyota", "vehicle_model": "Camry",
            "scheduled_date": "2026-11-25", "scheduled_time": "09:00", "service_type": "oil_change",
        }),
    );
    (booked["appointment"]["id"].as_str().unwrap().into(), booked["customer"]["id"].as_str().unwrap().into())
}

/// Checks the appointment in, and with `finish` works and completes its job card.
fn check_in(s: &support::Shop, appointment: &str, finish: bool) {
    let card =
        s.ok(&s.owner, "appointments.check_in", json!({ "appointment_id": appointment }))["job_card"]["id"].clone();
    if finish {
        let owner_id = s.ok(&s.owner, "auth.whoami", json!({}))["staff_id"].clone();
        s.ok(&s.owner, "job_cards.start", json!({ "job_card_id": card, "technician_id": owner_id }));
        s.ok(&s.owner, "job_cards.add_line", json!({ "job_card_id": card, "kind": "labour", "description": "Oil change", "quantity": 1000, "unit_price": 5000 }));
        s.ok(&s.owner, "job_cards.complete", json!({ "job_card_id": card }));
    }
}

/// What each job of the worker's passes ended as: "listener: outcome" for
/// the jobs of `event_type`.
fn outcomes_of(s: &support::Shop, event_type: &str) -> Vec<String> {
    s.api
        .lock_conn()
        .prepare("SELECT listener, coalesce(outcome, state) FROM jobs WHERE event_type = ?1 ORDER BY listener")
        .unwrap()
        .query_map([event_type], |r| Ok(format!("{}: {}", r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_booking_message_whose_moment_has_passed_is_skipped_as_outdated() {
    type Change = fn(&support::Shop, &str);
    let cases: [(&str, Change, &str); 5] = [
        (
            "cancelled before the worker ran",
            |s, a| {
                s.ok(&s.owner, "appointments.cancel", json!({ "appointment_id": a }));
            },
            "the appointment was cancelled",
        ),
        ("checked in before the worker ran", |s, a| check_in(s, a, false), "the car was checked in"),
        ("checked in and done before the worker ran", |s, a| check_in(s, a, true), "the visit is done"),
        (
            "the worker came back after the visit's time",
            |s, _| {
                s.clock.advance(chrono::Duration::days(2));
            },
            "the appointment's time has passed",
        ),
        (
            "confirmed before the worker ran",
            |s, a| {
                s.ok(&s.owner, "appointments.confirm", json!({ "appointment_id": a }));
            },
            "the appointment was confirmed since, and the confirmation says so",
        ),
    ];
    for (case, change, why) in cases {
        let (s, inbox, texts) = garage();
        let (appointment, _) = book_john(&s, Some("john@example.com"));
        change(&s, &appointment);
        let (worker, _api) = worker_for(&s, s.clock.clone());
        worker.run_until_idle().unwrap();
        let skip = format!("skipped: outdated, {why}");
        assert_eq!(
            outcomes_of(&s, "AppointmentBooked"),
            [format!("appointment_confirmation_email: {skip}"), format!("appointment_confirmation_sms: {skip}")],
            "{case}: the booking message is not sent, and the job says why"
        );
        let booked_sent = |t: &str| t.contains("is booked for");
        assert!(!texts.said().iter().any(|t| booked_sent(t)), "{case}: no booking text: {:?}", texts.said());
        assert!(
            !inbox.parsed().iter().any(|m| booked_sent(m.body_text(0).as_deref().unwrap_or(""))),
            "{case}: no booking email"
        );
    }
}

#[test]
fn messages_about_one_visit_reach_the_customer_in_the_order_of_their_events() {
    let (s, _inbox, texts) = garage();
    let (worker, api) = worker_for(&s, s.clock.clone());
    let manager = api.login("owner", support::PIN).unwrap();
    // The gateway is down for the booking's text.
    texts.refuse_next(1);
    let (_appointment, customer) = book_john(&s, None);
    let first = worker.run_until_idle().unwrap();
    assert!(
        first
            .iter()
            .any(|r| matches!(r, Ran::Retrying { job_id, .. } if job_id.ends_with(":appointment_confirmation_sms"))),
        "{first:?}"
    );
    // Meanwhile John's other car, a walk-in, is finished: its text must wait for the booking's.
    let v = s.ok(
        &s.owner,
        "vehicles.register",
        json!({ "customer_id": customer, "license_plate": "XYZ-9", "make": "Volvo", "model": "V70" }),
    );
    let card = s.ok(&s.owner, "job_cards.create", json!({ "customer_id": customer, "vehicle_id": v["id"] }));
    let owner_id = s.ok(&s.owner, "auth.whoami", json!({}))["staff_id"].clone();
    s.ok(&s.owner, "job_cards.start", json!({ "job_card_id": card["id"], "technician_id": owner_id }));
    s.ok(&s.owner, "job_cards.add_line", json!({ "job_card_id": card["id"], "kind": "labour", "description": "Brakes", "quantity": 1000, "unit_price": 9000 }));
    s.ok(&s.owner, "job_cards.complete", json!({ "job_card_id": card["id"] }));
    worker.run_until_idle().unwrap();
    assert_eq!(texts.said(), Vec::<String>::new(), "the car-ready text waits for the earlier booking text");

    // The queue shows both, with what they are about, the attempt, the next try and the error.
    let waiting = support::ok(&api, Some(&manager), "jobs.list", json!({}))["jobs"].clone();
    let sms: Vec<&Value> =
        waiting.as_array().unwrap().iter().filter(|j| j["listener"].as_str().unwrap().ends_with("_sms")).collect();
    assert_eq!(sms.len(), 2, "{waiting}");
    let (booking, ready) = (
        sms.iter().find(|j| j["event_type"] == "AppointmentBooked").unwrap(),
        sms.iter().find(|j| j["event_type"] == "JobCardCompleted").unwrap(),
    );
    assert_eq!(booking["attempts"], 1);
    assert_eq!(booking["last_error"], "sms gateway answered 503");
    assert_eq!(
        booking["subject"],
        "appointment on Wednesday, 25 Nov 2026 at 09:00 booked, by text to John Doe (+12155550142)"
    );
    assert_eq!(ready["waits_for"], booking["id"], "the car-ready text names what it waits for");
    assert!(ready["subject"].as_str().unwrap().starts_with("car ready: Volvo V70 (XYZ-9), job card "), "{ready}");
    let stats = support::ok(&api, Some(&manager), "jobs.stats", json!({}));
    assert_eq!(stats["retrying"], 1, "{stats}");

    texts.refuse_next(1); // and down again at its second attempt
    s.clock.advance(chrono::Duration::seconds(80));
    worker.run_until_idle().unwrap();
    assert_eq!(texts.said(), Vec::<String>::new(), "refused once more: the car-ready text still waits");
    s.clock.advance(chrono::Duration::seconds(160));
    worker.run_until_idle().unwrap();
    let said = texts.said();
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(said[0].contains("is booked for") && said[1].contains("is ready for pickup"), "in event order: {said:?}");
}

#[test]
fn an_outdated_message_that_waits_for_a_retry_does_not_hold_back_the_next() {
    // The customer: "confirmed", then "ready", then "booked".
    let (s, _inbox, texts) = garage();
    let (worker, _api) = worker_for(&s, s.clock.clone());
    texts.refuse_next(1);
    let (appointment, _) = book_john(&s, None);
    worker.run_until_idle().unwrap(); // the booking text is refused: retried in about a minute
    s.ok(&s.owner, "appointments.confirm", json!({ "appointment_id": appointment }));
    check_in(&s, &appointment, true);
    let ran = worker.run_until_idle().unwrap();
    assert_eq!(texts.said().len(), 1, "at once, without waiting for the retry: {ran:?}");
    assert!(texts.said()[0].contains("is ready for pickup"), "{:?}", texts.said());
    s.clock.advance(chrono::Duration::seconds(300));
    worker.run_until_idle().unwrap();
    assert_eq!(texts.said().len(), 1, "nothing outdated comes later: {:?}", texts.said());
    assert_eq!(
        outcomes_of(&s, "AppointmentBooked")[1],
        "appointment_confirmation_sms: skipped: outdated, the visit is done"
    );
    assert_eq!(
        outcomes_of(&s, "AppointmentConfirmed")[1],
        "appointment_confirmation_sms: skipped: outdated, the visit is done"
    );
}

#[test]
fn messages_greet_the_customer_by_name_and_sign_with_the_branch() {
    let (s, inbox, texts) = garage();
    let (appointment, _) = book_john(&s, Some("john@example.com"));
    let (worker, _api) = worker_for(&s, s.clock.clone());
    worker.run_until_idle().unwrap();
    assert_eq!(
        texts.said(),
        ["Hello John Doe, your Oil Change for the Toyota Camry (ABC-123) is booked for Wednesday, 25 Nov 2026 at 09:00. Test Garage, (215) 555-0100"]
    );
    let mail = inbox.parsed();
    assert_eq!(mail[0].subject(), Some("Test Garage: your appointment on Wednesday, 25 Nov 2026 at 09:00"));
    assert_eq!(
        mail[0].body_text(0).unwrap().replace("\r\n", "\n").trim_end(),
        "Hello John Doe,\n\nYour Oil Change for the Toyota Camry (ABC-123) is booked for Wednesday, 25 Nov 2026 at 09:00.\n\nIf that time does not suit you, please call us on (215) 555-0100.\n\nKind regards,\nTest Garage\n1200 Market Street\nPhiladelphia, PA 19107\n(215) 555-0100"
    );
    check_in(&s, &appointment, true);
    worker.run_until_idle().unwrap();
    assert_eq!(
        texts.said()[1],
        "Hello John Doe, your Toyota Camry (ABC-123) is ready for pickup. Test Garage, (215) 555-0100"
    );
    let invoice =
        inbox.parsed().into_iter().find(|m| m.subject().unwrap_or("").starts_with("Invoice ")).expect("the invoice");
    let body = invoice.body_text(0).unwrap().replace("\r\n", "\n");
    assert!(
        body.starts_with("Hello John Doe,\n\nPlease find attached invoice INV-2026-A000001 of 24 Nov 2026 for USD "),
        "{body}"
    );
    assert!(body.contains("The amount is due by 8 Dec 2026."), "the due date as the invoice writes it: {body}");
    assert!(body.contains("Kind regards,\nTest Garage\n"), "{body}");
}

#[test]
fn the_front_desk_is_told_the_customer_was_notified_only_when_a_channel_can_deliver() {
    // (case, integrations, secrets, keyring attached, customer email, customer phone, notified)
    type Case = (&'static str, Value, &'static [(&'static str, &'static str)], bool, bool, bool, bool);
    let smtp = json!({ "smtp_host": "127.0.0.1", "smtp_security": "none", "smtp_from": "Test Garage <service@garage.example>" });
    let sms = json!({ "sms_gateway_url": "http://127.0.0.1:9" });
    let cases: Vec<Case> = vec![
        ("SMS set up but its key is not in the keyring", sms.clone(), &[], true, false, true, false),
        ("SMS set up, no keyring on this computer", sms.clone(), &[], false, false, true, false),
        ("SMS with its key", sms.clone(), &[("sms_api_key", "k")], true, false, true, true),
        (
            "SMS with its key, but the customer has no phone",
            sms.clone(),
            &[("sms_api_key", "k")],
            true,
            true,
            false,
            false,
        ),
        (
            "an SMTP server without a sender",
            json!({ "smtp_host": "127.0.0.1", "smtp_security": "none" }),
            &[],
            true,
            true,
            false,
            false,
        ),
        (
            "an SMTP login without its password in the keyring",
            with(&smtp, json!({ "smtp_username": "garage" })),
            &[],
            true,
            true,
            false,
            false,
        ),
        (
            "an SMTP login with its password",
            with(&smtp, json!({ "smtp_username": "garage" })),
            &[("smtp_password", "pw")],
            true,
            true,
            false,
            true,
        ),
        ("email fully set up", smtp.clone(), &[], true, true, false, true),
        ("email fully set up, but the customer has no address", smtp.clone(), &[], true, false, false, false),
    ];
    for (case, integrations, secrets, keyring_attached, email, phone, notified) in cases {
        let s = support::shop();
        if keyring_attached {
            // A keyring of its own: every test shop has the same device id.
            s.api.set_secret_store(Arc::new(pitlane_secrets::KeyringStore::mock()));
        }
        s.ok(&s.owner, "settings.update", json!({
            "integrations": integrations,
            "bays": [{ "name": "Bay 1", "capabilities": ["lift"] }],
            "service_types": [{ "code": "oil_change", "name": "Oil Change", "duration_minutes": 60, "required_capability": "lift" }],
        }));
        for (name, value) in secrets {
            s.ok(&s.owner, "settings.set_secret", json!({ "name": name, "value": value }));
        }
        let booked = s.ok(&s.owner, "appointments.book", json!({
            "customer_name": "Jane Roe", "customer_email": email.then_some("jane@example.com"),
            "customer_phone": phone.then_some("+1 215 555 0199"), "license_plate": "JR-1", "vehicle_make": "Kia",
            "vehicle_model": "Rio", "scheduled_date": "2026-11-25", "scheduled_time": "09:00", "service_type": "oil_change",
        }));
        let said = booked["message"].as_str().unwrap();
        assert_eq!(said.contains("Confirmation notification sent."), notified, "{case}: {said}");
        let card = s.ok(&s.owner, "appointments.check_in", json!({ "appointment_id": booked["appointment"]["id"] }))
            ["job_card"]["id"]
            .clone();
        let owner_id = s.ok(&s.owner, "auth.whoami", json!({}))["staff_id"].clone();
        s.ok(&s.owner, "job_cards.start", json!({ "job_card_id": card, "technician_id": owner_id }));
        s.ok(&s.owner, "job_cards.add_line", json!({ "job_card_id": card, "kind": "fee", "description": "Disposal", "quantity": 1000, "unit_price": 500 }));
        let done = s.ok(&s.owner, "job_cards.complete", json!({ "job_card_id": card }));
        let said = done["message"].as_str().unwrap();
        assert_eq!(said.contains("Customer notified."), notified, "{case}: {said}");
    }
}

fn with(base: &Value, more: Value) -> Value {
    let mut v = base.clone();
    for (k, x) in more.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}
