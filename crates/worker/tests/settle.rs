//! The running worker settles unfinished card payments in the background
//! (issue 8, item 17): a settlement pass at its start, against the loopback
//! gateway double through the real HTTP client.

#[path = "../../core/tests/core/support.rs"]
#[allow(dead_code)]
mod support;

use std::sync::Arc;
use std::time::Duration;

use pitlane_core::gateway::CardPolicy;
use pitlane_core::jobs::RetryPolicy;
use pitlane_gateway::double::{GatewayDouble, Mode};
use pitlane_gateway::HttpGateway;
use pitlane_worker::Worker;
use serde_json::json;

#[test]
fn the_running_worker_settles_an_open_card_payment_at_its_start() {
    let s = support::shop();
    let double = GatewayDouble::start("sk_worker").unwrap();
    let gateway = Arc::new(HttpGateway::new(&double.url(), "sk_worker", Duration::from_millis(400)).unwrap());
    let policy = CardPolicy { retry_delay: Duration::from_millis(10), ..CardPolicy::default() };
    s.api.set_gateway(gateway.clone());
    s.api.set_card_policy(policy);
    let desk = s.staff("desk", "front_desk");
    let tech = s.staff("tech", "technician");
    let tech_id = s.ok(&tech, "auth.whoami", json!({}))["staff_id"].clone();
    let c = s.ok(&s.owner, "customers.create", json!({ "name": "Card Holder" }));
    let v = s.ok(
        &s.owner,
        "vehicles.register",
        json!({ "customer_id": c["id"], "license_plate": "W-1", "make": "Ford", "model": "Focus" }),
    );
    let card = s.ok(&s.owner, "job_cards.create", json!({ "customer_id": c["id"], "vehicle_id": v["id"] }));
    s.ok(&tech, "job_cards.start", json!({ "job_card_id": card["id"], "technician_id": tech_id }));
    s.ok(
        &tech,
        "job_cards.add_line",
        json!({ "job_card_id": card["id"], "kind": "labour", "description": "Brakes", "quantity": 1000, "unit_price": 9000 }),
    );
    let invoice = s.ok(&tech, "job_cards.complete", json!({ "job_card_id": card["id"] }))["invoice"].clone();
    let pay =
        json!({ "invoice_id": invoice["id"], "amount": invoice["total"], "method": "card", "idempotency_key": "w-1" });
    double.set_mode(Mode::Unavailable);
    assert_eq!(support::failure(&s.call(&desk, "payments.process", pay.clone())).1, "payment_outcome_unknown");
    // Past the in-flight grace, with the gateway back.
    double.set_mode(Mode::Approve);
    s.clock.advance(chrono::Duration::minutes(3));

    let api = Arc::new(support::open_at(s.dir.path(), s.clock.clone()));
    api.set_gateway(gateway);
    api.set_card_policy(policy);
    let worker = Worker::new(api.clone(), RetryPolicy::default(), Arc::new(pitlane_pdf::PdfPrinter));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = runtime.spawn(worker.run(Duration::from_millis(50), stopped));
    let status =
        || -> String { api.lock_conn().query_row("SELECT status FROM payment_attempts", [], |r| r.get(0)).unwrap() };
    let started = std::time::Instant::now();
    while status() == "pending" {
        assert!(started.elapsed() < Duration::from_secs(20), "the running worker settled the attempt");
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.send(true).unwrap();
    runtime.block_on(running).unwrap();
    assert_eq!(status(), "failed", "the gateway never charged it: settled as not charged");
    let desk = s.api.login("desk", support::PIN).unwrap();
    assert_eq!(support::failure(&s.call(&desk, "payments.process", pay)).1, "card_not_charged");
}
