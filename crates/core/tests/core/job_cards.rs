//! Completing a job card (SPEC 4.1 and worked example 2): all or nothing,
//! every step recorded, a failed run kept with the step that failed.

use pitlane_core::job_cards::complete::STEPS;
use pitlane_core::job_cards::{can_move, Status};
use serde_json::{json, Value};

use crate::support::{failure, shop, Shop};

struct Job {
    card: String,
    tech: String,
    tech_id: String,
    filter: String,
}

/// A car in the workshop: a job card in progress with labour and `filters`
/// oil filters, of which `stock` are on the shelf.
fn job_in_progress(s: &Shop, filters: i64, stock: i64) -> Job {
    s.ok(
        &s.owner,
        "settings.update",
        json!({ "integrations": { "smtp_host": "smtp.garage.example", "smtp_from": "service@garage.example" } }),
    );
    let tech = s.staff("tech", "technician");
    let tech_id = s.ok(&tech, "auth.whoami", json!({}))["staff_id"].as_str().unwrap().to_string();
    let filter = s.item("OF-100", "Oil Filter", stock * 1000, 2000);
    let c = s.ok(&s.owner, "customers.create", json!({ "name": "John Doe", "email": "john@example.com" }));
    let v = s.ok(
        &s.owner,
        "vehicles.register",
        json!({ "customer_id": c["id"], "license_plate": "ABC-123", "make": "Toyota", "model": "Camry" }),
    );
    let card = s.ok(
        &s.owner,
        "job_cards.create",
        json!({ "customer_id": c["id"], "vehicle_id": v["id"], "complaint": "Service due", "odometer_in": 42000 }),
    );
    let card = card["id"].as_str().unwrap().to_string();
    s.ok(&tech, "job_cards.start", json!({ "job_card_id": card, "technician_id": tech_id }));
    s.ok(&tech, "job_cards.add_line", json!({ "job_card_id": card, "kind": "labour", "description": "Oil change", "quantity": 500, "unit_price": 11000 }));
    s.ok(
        &tech,
        "job_cards.add_line",
        json!({ "job_card_id": card, "kind": "part", "item_id": filter, "quantity": filters * 1000 }),
    );
    Job { card, tech, tech_id, filter }
}

fn all_but_runs(s: &Shop) -> Vec<(String, Vec<String>)> {
    s.dump().into_iter().filter(|(t, _)| t != "orchestration_runs").collect()
}

fn runs(s: &Shop) -> Vec<(String, Option<String>, Option<String>)> {
    let conn = s.api.lock_conn();
    let mut stmt = conn
        .prepare("SELECT outcome, failed_step, error_code FROM orchestration_runs ORDER BY started_at, rowid")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().collect::<Result<_, _>>().unwrap()
}

#[test]
fn worked_example_2_not_enough_oil_filters_changes_nothing() {
    let s = shop();
    let job = job_in_progress(&s, 10, 5);
    let before = all_but_runs(&s);
    let env = s.call(&job.tech, "job_cards.complete", json!({ "job_card_id": job.card }));
    let v = env.to_value();
    assert_eq!(v["success"], false);
    assert_eq!(v["status_code"], 400);
    assert_eq!(v["code"], "insufficient_stock");
    assert_eq!(v["message"], "Insufficient stock for item 'Oil Filter'. Current: 5, Requested: 10");
    assert_eq!(
        all_but_runs(&s),
        before,
        "every table as it was: no invoice, no ledger row, no event, still in progress"
    );
    let card = s.ok(&s.owner, "job_cards.get", json!({ "id": job.card }));
    assert_eq!(card["status"], "in_progress");
    assert_eq!(
        runs(&s),
        vec![("failed".into(), Some("deduct_stock".into()), Some("insufficient_stock".into()))],
        "the failed run names its step"
    );
    let status = s.ok(&s.owner, "job_cards.orchestration_status", json!({ "job_card_id": job.card }));
    assert_eq!(status["runs"][0]["failed_step"], "deduct_stock");
    let _ = job.filter;
}

#[test]
fn completing_does_everything_once() {
    let s = shop();
    let job = job_in_progress(&s, 1, 5);
    let done = s.ok(
        &job.tech,
        "job_cards.complete",
        json!({ "job_card_id": job.card, "invoice_data": { "notes": "Thanks!" } }),
    );
    assert_eq!(done["job_card"]["status"], "completed");
    // 0.5 h × 110.00 = 55.00; one filter at 12.99; 8.25 % tax per line.
    assert_eq!(done["job_card"]["subtotal"], 5500 + 1299);
    assert_eq!(done["job_card"]["tax_total"], 454 + 107);
    let invoice = &done["invoice"];
    assert_eq!(invoice["number"], "INV-2026-A000001");
    assert_eq!(invoice["total"], 5500 + 1299 + 454 + 107);
    assert_eq!(invoice["balance_due"], invoice["total"]);
    assert_eq!(invoice["status"], "pending");
    assert_eq!(invoice["due_date"], "2026-12-08", "issue date + 14 days of payment terms");
    assert_eq!(done["inventory_transactions_count"], 1);
    assert_eq!(done["service_record"]["odometer"], 42000);
    let steps: Vec<&str> = done["steps"].as_array().unwrap().iter().map(|x| x["name"].as_str().unwrap()).collect();
    assert_eq!(steps, STEPS.to_vec(), "every step recorded in order");
    assert_eq!(
        done["message"],
        "Job card completed successfully. Invoice INV-2026-A000001 generated. Stock updated for 1 part. Customer notified."
    );

    let item = s.ok(&s.owner, "inventory.ledger", json!({ "item_id": job.filter }));
    assert_eq!(item["item"]["on_hand"], 4000);
    assert_eq!(item["transactions"][0]["type"], "job_card");
    assert_eq!(item["transactions"][0]["reference"]["id"], json!(job.card));

    let events: Vec<String> = pitlane_core::outbox::list(&s.api.lock_conn(), 0, 1000)
        .unwrap()
        .into_iter()
        .map(|(_, e)| e.event_type)
        .collect();
    for e in ["JobCardStarted", "JobCardCompleted", "InvoiceGenerated", "InventoryAdjusted"] {
        assert!(events.contains(&e.to_string()), "{e} in {events:?}");
    }
    let vehicle_update = pitlane_core::outbox::list(&s.api.lock_conn(), 0, 1000)
        .unwrap()
        .into_iter()
        .map(|(_, e)| e)
        .rfind(|e| e.event_type == "VehicleUpdated")
        .expect("the odometer was raised");
    assert_eq!(vehicle_update.payload["odometer"], 42000);
    assert_eq!(
        vehicle_update.payload["license_plate"], "ABC-123",
        "the same whole-vehicle payload vehicles.update sends"
    );

    let again = s.call(&job.tech, "job_cards.complete", json!({ "job_card_id": job.card }));
    assert_eq!(failure(&again), (409, "already_completed".into()), "two clicks never make two invoices");
    let invoices = s.ok(&s.owner, "invoices.list", json!({}));
    assert_eq!(invoices["invoices"].as_array().unwrap().len(), 1);
    let history = s.ok(&s.owner, "vehicles.history", json!({ "id": done["job_card"]["vehicle_id"] }));
    assert_eq!(history["records"].as_array().unwrap().len(), 1);
}

#[test]
fn skipping_the_invoice_and_the_stock() {
    let s = shop();
    let job = job_in_progress(&s, 10, 5);
    let done = s.ok(
        &s.owner,
        "job_cards.complete",
        json!({ "job_card_id": job.card, "skip_invoice": true, "skip_inventory": true }),
    );
    assert_eq!(done["invoice"], Value::Null);
    assert_eq!(done["inventory_transactions_count"], 0);
    assert_eq!(
        done["message"], "Job card completed successfully. Customer notified.",
        "no invoice sentence when skipped"
    );
    let item = s.ok(&s.owner, "inventory.ledger", json!({ "item_id": job.filter }));
    assert_eq!(item["item"]["on_hand"], 5000, "stock untouched");
}

#[test]
fn a_failure_at_any_step_leaves_every_table_as_it_was() {
    for step in STEPS {
        let s = shop();
        let job = job_in_progress(&s, 1, 5);
        let before = all_but_runs(&s);
        pitlane_core::failpoints::arm(Some(step));
        let env = s.call(&job.tech, "job_cards.complete", json!({ "job_card_id": job.card }));
        pitlane_core::failpoints::arm(None);
        assert_eq!(failure(&env).0, 500, "{step}: an injected failure");
        assert_eq!(all_but_runs(&s), before, "{step}: every table but the run log as it was");
        assert_eq!(
            runs(&s),
            vec![("failed".into(), Some(step.to_string()), Some("internal_error".into()))],
            "{step}: one failed run naming it"
        );
        // And the same card completes once the fault is gone.
        assert!(
            s.call(&job.tech, "job_cards.complete", json!({ "job_card_id": job.card })).is_success(),
            "{step}: retry succeeds"
        );
    }
}

#[test]
fn prerequisites_are_checked() {
    let s = shop();
    let job = job_in_progress(&s, 1, 5);
    let other = s.staff("tech2", "technician");
    let env = s.call(&other, "job_cards.complete", json!({ "job_card_id": job.card }));
    assert_eq!(failure(&env).0, 403, "another technician's card");
    let env = s.call(
        &other,
        "job_cards.add_line",
        json!({ "job_card_id": job.card, "kind": "fee", "description": "x", "quantity": 1000 }),
    );
    assert_eq!(failure(&env).0, 403);

    s.ok(
        &job.tech,
        "job_cards.add_line",
        json!({ "job_card_id": job.card, "kind": "fee", "description": "Disposal", "quantity": 1000 }),
    );
    let env = s.call(&job.tech, "job_cards.complete", json!({ "job_card_id": job.card }));
    assert_eq!(failure(&env), (400, "unpriced_lines".into()), "a fee without a price");

    let c = s.ok(&s.owner, "customers.create", json!({ "name": "Walk In" }));
    let v = s.ok(
        &s.owner,
        "vehicles.register",
        json!({ "customer_id": c["id"], "license_plate": "W-1", "make": "VW", "model": "Golf" }),
    );
    let open = s.ok(&s.owner, "job_cards.create", json!({ "customer_id": c["id"], "vehicle_id": v["id"] }));
    assert_eq!(open["number"], "JC-2026-A000002");
    let env = s.call(&s.owner, "job_cards.complete", json!({ "job_card_id": open["id"] }));
    assert_eq!(failure(&env), (409, "wrong_status".into()), "an open card is not in progress");
    let env = s.call(&other, "job_cards.start", json!({ "job_card_id": open["id"], "technician_id": job.tech_id }));
    assert_eq!(failure(&env).0, 403, "a technician starts cards only for themselves");
    s.ok(
        &other,
        "job_cards.start",
        json!({ "job_card_id": open["id"], "technician_id": s.ok(&other, "auth.whoami", json!({}))["staff_id"] }),
    );
    let env = s.call(&s.owner, "job_cards.complete", json!({ "job_card_id": open["id"] }));
    assert_eq!(failure(&env), (400, "no_lines".into()));
}

#[test]
fn the_card_shows_each_quantity_in_its_unit() {
    let s = shop();
    let job = job_in_progress(&s, 1, 5);
    s.ok(
        &job.tech,
        "job_cards.add_line",
        json!({ "job_card_id": job.card, "kind": "part", "item_id": job.filter, "quantity": 2000 }),
    );
    s.ok(&job.tech, "job_cards.add_line", json!({ "job_card_id": job.card, "kind": "fee", "description": "Disposal", "quantity": 1000, "unit_price": 500 }));
    let card = s.ok(&job.tech, "job_cards.get", json!({ "id": job.card }));
    let shown: Vec<(&str, &str, &str)> = card["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["kind"].as_str().unwrap(), l["unit"].as_str().unwrap(), l["quantity_text"].as_str().unwrap()))
        .collect();
    assert_eq!(
        shown,
        [("labour", "h", "0.5 h"), ("part", "pcs", "1 pc"), ("part", "pcs", "2 pcs"), ("fee", "", "1")],
        "{card}"
    );
}

#[test]
fn job_card_moves() {
    use Status::*;
    let all = [Open, InProgress, Completed, Cancelled];
    let allowed = [(Open, InProgress), (Open, Cancelled), (InProgress, Completed), (InProgress, Cancelled)];
    for from in all {
        for to in all {
            assert_eq!(can_move(from, to), allowed.contains(&(from, to)), "{from:?} -> {to:?}");
        }
    }
}

/// Runs `call` on `n` separate cores on the same database file at once
/// (as separate windows or processes would), each logged in as the owner.
fn at_once(
    s: &Shop,
    n: usize,
    call: impl Fn(usize, &pitlane_core::Api, &str) -> pitlane_core::Envelope + Send + Sync + 'static,
) -> Vec<pitlane_core::Envelope> {
    let call = std::sync::Arc::new(call);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(n));
    let desks: Vec<_> = (0..n)
        .map(|_| {
            let api = crate::support::open_with_real_ids(s.dir.path(), s.clock.clone());
            let token = api.login("owner", crate::support::PIN).unwrap();
            (api, token)
        })
        .collect();
    let handles: Vec<_> = desks
        .into_iter()
        .enumerate()
        .map(|(i, (api, token))| {
            let (barrier, call) = (barrier.clone(), call.clone());
            std::thread::spawn(move || {
                barrier.wait();
                call(i, &api, &token)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn two_completing_the_same_card_make_one_invoice() {
    let s = shop();
    let job = job_in_progress(&s, 1, 5);
    let card = job.card.clone();
    let results = at_once(&s, 2, move |_, api, token| {
        api.call_value(Some(token), "job_cards.complete", &json!({ "job_card_id": card }))
    });
    assert_eq!(results.iter().filter(|e| e.is_success()).count(), 1, "one completion wins");
    let loser = results.iter().find(|e| !e.is_success()).unwrap();
    assert_eq!(loser.code(), Some("already_completed"));
    let invoices: i64 = s.api.lock_conn().query_row("SELECT count(*) FROM invoices", [], |r| r.get(0)).unwrap();
    assert_eq!(invoices, 1, "one invoice");
    let on_hand: i64 = s
        .api
        .lock_conn()
        .query_row("SELECT on_hand FROM inventory_items WHERE id = ?1", [&job.filter], |r| r.get(0))
        .unwrap();
    assert_eq!(on_hand, 4000, "stock deducted once");
}

#[test]
fn concurrent_deductions_of_the_last_units_never_go_negative() {
    let s = shop();
    let item = s.item("LAST", "Last Battery", 3000, 0);
    let id = item.clone();
    let results = at_once(&s, 5, move |_, api, token| {
        api.call_value(
            Some(token),
            "inventory.adjust",
            &json!({ "item_id": id, "quantity": -1000, "type": "adjustment" }),
        )
    });
    assert_eq!(results.iter().filter(|e| e.is_success()).count(), 3, "three units, three deductions");
    assert!(results.iter().filter(|e| !e.is_success()).all(|e| e.code() == Some("insufficient_stock")));
    let conn = s.api.lock_conn();
    let on_hand: i64 =
        conn.query_row("SELECT on_hand FROM inventory_items WHERE id = ?1", [&item], |r| r.get(0)).unwrap();
    assert_eq!(on_hand, 0);
    assert_eq!(pitlane_core::inventory::ledger_sum(&conn, &item).unwrap(), 0, "the ledger agrees");
}

#[test]
fn reports_count_the_days_work() {
    let s = shop();
    let job = job_in_progress(&s, 1, 5);
    s.ok(&job.tech, "job_cards.complete", json!({ "job_card_id": job.card }));
    let day = s.ok(&s.owner, "reports.daily_sales", json!({}));
    assert_eq!(day["date"], "2026-11-24", "today in New York");
    assert_eq!(day["invoices"], 1);
    assert_eq!(day["total"], 5500 + 1299 + 454 + 107);
    assert_eq!(day["outstanding"], day["total"], "nothing paid yet");
    assert_eq!(day["job_cards_completed"], 1);
    let other_day = s.ok(&s.owner, "reports.daily_sales", json!({ "date": "2026-11-23" }));
    assert_eq!(other_day["invoices"], 0);

    let prod = s.ok(&s.owner, "reports.technician_productivity", json!({}));
    let tech = &prod["technicians"][0];
    assert_eq!(tech["staff_id"], json!(job.tech_id));
    assert_eq!(
        (tech["job_cards_completed"].as_i64(), tech["labour_hours"].as_i64(), tech["labour_revenue"].as_i64()),
        (Some(1), Some(500), Some(5500))
    );
    assert_eq!(tech["revenue"], 5500 + 1299);

    let owed = s.ok(&s.owner, "reports.outstanding", json!({}));
    assert_eq!(owed["total_due"], day["total"]);
    assert_eq!(owed["current"], day["total"], "not yet due");
    s.clock.advance(chrono::Duration::days(14 + 40));
    let owner = s.api.login("owner", crate::support::PIN).unwrap(); // the old session idled out
    let later = s.ok(&owner, "reports.outstanding", json!({}));
    assert_eq!(later["invoices"][0]["days_overdue"], 40);
    assert_eq!(later["overdue_31_60"], day["total"]);
}

#[test]
fn partial_payments_refunds_and_voiding() {
    let s = shop();
    let job = job_in_progress(&s, 1, 5);
    let done = s.ok(&job.tech, "job_cards.complete", json!({ "job_card_id": job.card }));
    let invoice = done["invoice"]["id"].clone();
    let total = done["invoice"]["total"].as_i64().unwrap();
    let desk = s.staff("desk", "front_desk");
    let pay = |amount: i64, key: &str| {
        s.call(
            &desk,
            "payments.process",
            json!({ "invoice_id": invoice, "amount": amount, "method": "cash", "idempotency_key": key }),
        )
    };

    let first = pay(5000, "k1");
    assert!(first.is_success());
    assert_eq!(first.to_value()["data"]["invoice"]["status"], "partially_paid");
    let replay = pay(5000, "k1");
    assert_eq!(replay.to_value()["data"]["replayed"], true, "the same key returns the first result");
    assert_eq!(replay.to_value()["data"]["payment"]["id"], first.to_value()["data"]["payment"]["id"]);
    assert_eq!(failure(&pay(4000, "k1")), (409, "idempotency_key_reused".into()));
    assert_eq!(failure(&pay(total, "k2")), (400, "overpayment".into()), "no overpayment");
    let card = s.call(
        &desk,
        "payments.process",
        json!({ "invoice_id": invoice, "amount": 100, "method": "card", "idempotency_key": "c1" }),
    );
    assert_eq!(
        failure(&card),
        (400, "card_gateway_not_configured".into()),
        "no gateway set up: refused, nothing charged"
    );
    let rest = pay(total - 5000, "k3");
    assert_eq!(rest.to_value()["data"]["invoice"]["status"], "paid");
    assert_eq!(rest.to_value()["data"]["invoice"]["balance_due"], 0);

    assert_eq!(
        failure(&s.call(&desk, "invoices.void", json!({ "invoice_id": invoice, "reason": "x" }))).0,
        403,
        "front desk cannot void"
    );
    assert_eq!(
        failure(&s.call(&s.owner, "invoices.void", json!({ "invoice_id": invoice, "reason": "x" }))),
        (409, "invoice_has_payments".into())
    );
    let payments =
        s.ok(&desk, "payments.list", json!({ "invoice_id": invoice }))["payments"].as_array().unwrap().clone();
    assert_eq!(payments.len(), 2, "the replay made no second payment");
    for (i, p) in payments.iter().enumerate() {
        let r = s.ok(
            &s.owner,
            "payments.refund",
            json!({ "payment_id": p["id"], "idempotency_key": format!("r{i}"), "reason": "customer unhappy" }),
        );
        assert_eq!(r["payment"]["status"], "refunded");
    }
    let inv = s.ok(&s.owner, "invoices.get", json!({ "id": invoice }));
    assert_eq!((inv["amount_paid"].as_i64(), inv["status"].as_str()), (Some(0), Some("pending")));
    let void = s.ok(&s.owner, "invoices.void", json!({ "invoice_id": invoice, "reason": "job redone under warranty" }));
    assert_eq!(void["status"], "void");
    assert_eq!(failure(&pay(100, "k9")), (409, "invoice_void".into()));
    s.ok(&s.owner, "settings.update", json!({ "branch": { "payment_instructions": "Pay to account 123." } }));
    let now = s.api.clock().now();
    let printed = pitlane_core::printing::printable(&s.api.lock_conn(), invoice.as_str().unwrap(), now).unwrap();
    assert_eq!(printed.title, "Invoice (void)");
    assert!(
        !printed.facts.iter().any(|(label, _)| label == "Due"),
        "a void invoice has no due date: {:?}",
        printed.facts
    );
    assert_eq!(printed.balance_due.0, "Void: nothing to pay", "a void invoice asks for nothing");
    assert!(printed.balance_due.1.ends_with(" 0.00"), "{:?}", printed.balance_due);
    assert_eq!(printed.payment_instructions, "", "and says nothing of how to pay");
    let events: Vec<String> = pitlane_core::outbox::list(&s.api.lock_conn(), 0, 1000)
        .unwrap()
        .into_iter()
        .map(|(_, e)| e.event_type)
        .collect();
    assert_eq!(events.iter().filter(|e| *e == "PaymentCaptured").count(), 2);
    assert_eq!(events.iter().filter(|e| *e == "PaymentRefunded").count(), 2);
    assert!(events.contains(&"InvoiceVoided".to_string()));
}

#[test]
fn starting_a_card_without_naming_the_technician() {
    let s = shop();
    let me = s.staff("tech", "technician");
    let other = s.staff("tech2", "technician");
    let manager = s.staff("mgr", "manager");
    let id_of = |token: &str| s.ok(token, "auth.whoami", json!({}))["staff_id"].as_str().unwrap().to_string();
    let (me_id, other_id) = (id_of(&me), id_of(&other));
    let c = s.ok(&s.owner, "customers.create", json!({ "name": "Walk In" }));
    let v = s.ok(
        &s.owner,
        "vehicles.register",
        json!({ "customer_id": c["id"], "license_plate": "W-1", "make": "VW", "model": "Golf" }),
    );
    /// Ok(the technician after) or Err((status, code, the field a 422 names)).
    type Outcome<'a> = Result<&'a str, (u16, &'a str, &'a str)>;
    struct Case<'a> {
        scenario: &'a str,
        who: &'a str,
        assigned: Option<&'a str>,
        named: Option<&'a str>,
        outcome: Outcome<'a>,
    }
    fn case<'a>(
        scenario: &'a str,
        who: &'a str,
        assigned: Option<&'a str>,
        named: Option<&'a str>,
        outcome: Outcome<'a>,
    ) -> Case<'a> {
        Case { scenario, who, assigned, named, outcome }
    }
    let cases = [
        case("a technician starts an unassigned card: it becomes theirs", &me, None, None, Ok(&me_id)),
        case("a technician starts the card assigned to them", &me, Some(&me_id), None, Ok(&me_id)),
        case("a technician still may name themselves", &me, None, Some(&me_id), Ok(&me_id)),
        case(
            "a technician cannot start another technician's card",
            &me,
            Some(&other_id),
            None,
            Err((403, "forbidden", "")),
        ),
        case("a technician cannot name another technician", &me, None, Some(&other_id), Err((403, "forbidden", ""))),
        case(
            "a manager starts a card assigned at check-in: its technician",
            &manager,
            Some(&other_id),
            None,
            Ok(&other_id),
        ),
        case(
            "a manager starts an unassigned card without naming anyone",
            &manager,
            None,
            None,
            Err((422, "validation_failed", "technician_id")),
        ),
        case("the owner names the technician", &s.owner, None, Some(&other_id), Ok(&other_id)),
    ];
    for Case { scenario, who, assigned, named, outcome } in cases {
        let card = s.ok(
            &s.owner,
            "job_cards.create",
            json!({ "customer_id": c["id"], "vehicle_id": v["id"], "technician_id": assigned }),
        );
        let mut input = json!({ "job_card_id": card["id"] });
        if let Some(t) = named {
            input["technician_id"] = json!(t);
        }
        let before = s.dump();
        let env = s.call(who, "job_cards.start", input);
        match outcome {
            Ok(tech) => {
                assert!(env.is_success(), "{scenario}: started, got {}", env.to_json());
                let started = env.data().unwrap();
                assert_eq!(started["status"], "in_progress", "{scenario}");
                assert_eq!(started["technician_id"], tech, "{scenario}: the card's technician");
            }
            Err((status, code, field)) => {
                assert_eq!(failure(&env), (status, code.to_string()), "{scenario}: {}", env.to_json());
                if status == 422 {
                    assert_eq!(env.to_value()["details"]["fields"][0]["field"], field, "{scenario}: names the field");
                }
                assert_eq!(s.dump(), before, "{scenario}: nothing changed");
            }
        }
    }
}

#[test]
fn the_workshop_records_odometer_complaint_and_findings_while_the_car_is_in() {
    let s = shop();
    let job = job_in_progress(&s, 1, 5);
    let card = s.ok(
        &job.tech,
        "job_cards.update",
        json!({ "job_card_id": job.card, "odometer_in": 42150, "findings": "  Rear pads at 2 mm; replaced.  " }),
    );
    assert_eq!(card["odometer_in"], 42150);
    assert_eq!(card["findings"], "Rear pads at 2 mm; replaced.", "texts are trimmed");
    assert_eq!(card["complaint"], "Service due", "a field not sent stays");
    let events: Vec<(String, String)> = {
        let conn = s.api.lock_conn();
        let mut stmt =
            conn.prepare("SELECT type, payload FROM outbox WHERE type = 'JobCardUpdated' ORDER BY seq").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<Result<_, _>>().unwrap()
    };
    assert_eq!(events.len(), 1, "one event for one change");
    let payload: Value = serde_json::from_str(&events[0].1).unwrap();
    assert_eq!(payload["odometer_in"], 42150);
    assert!(payload.get("complaint").is_none(), "the event carries only what changed");

    let other = s.staff("tech_b", "technician");
    let before = s.dump();
    s.ok(&job.tech, "job_cards.update", json!({ "job_card_id": job.card, "odometer_in": 42150 }));
    assert_eq!(s.dump(), before, "the same value again changes nothing and writes no event");

    let (status, code) =
        failure(&s.call(&other, "job_cards.update", json!({ "job_card_id": job.card, "findings": "x" })));
    assert_eq!((status, code.as_str()), (403, "forbidden"), "another technician's card");
    let (status, code) =
        failure(&s.call(&s.owner, "job_cards.update", json!({ "job_card_id": job.card, "odometer_in": -1 })));
    assert_eq!((status, code.as_str()), (422, "validation_failed"));
    let after = s.dump();
    let changed: Vec<&String> = after.iter().zip(&before).filter(|(a, b)| a != b).map(|(a, _)| &a.0).collect();
    assert!(changed.is_empty(), "refusals change nothing, but these tables changed: {changed:?}");

    s.ok(&job.tech, "job_cards.complete", json!({ "job_card_id": job.card }));
    let (status, code) =
        failure(&s.call(&job.tech, "job_cards.update", json!({ "job_card_id": job.card, "findings": "later" })));
    assert_eq!((status, code.as_str()), (409, "already_completed"), "a billed card keeps what it was billed with");
}

/// "My jobs": a technician's own cards and the unassigned ones, each with
/// whose car it is; another technician's cards stay out.
#[test]
fn the_list_gives_my_jobs_and_the_unassigned_ones_with_customer_and_car() {
    let s = shop();
    let mine = job_in_progress(&s, 1, 5);
    let other = s.staff("other", "technician");
    let other_id = s.ok(&other, "auth.whoami", json!({}))["staff_id"].clone();
    let c = s.ok(&s.owner, "customers.create", json!({ "name": "Ann Lee", "phone": "+1 202 555 0147" }));
    let v = s.ok(
        &s.owner,
        "vehicles.register",
        json!({ "customer_id": c["id"], "license_plate": "XYZ-9", "make": "Honda", "model": "Civic" }),
    );
    let open =
        s.ok(&s.owner, "job_cards.create", json!({ "customer_id": c["id"], "vehicle_id": v["id"] }))["id"].clone();
    let theirs = s.ok(
        &s.owner,
        "job_cards.create",
        json!({ "customer_id": c["id"], "vehicle_id": v["id"], "technician_id": other_id }),
    )["id"]
        .clone();
    let ids = |input: Value| -> Vec<String> {
        let list = s.ok(&mine.tech, "job_cards.list", input);
        list["job_cards"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(ids(json!({ "technician_id": mine.tech_id, "unassigned": true })), [open.as_str().unwrap(), &mine.card]);
    assert_eq!(ids(json!({ "unassigned": true })), [open.as_str().unwrap()]);
    assert_eq!(ids(json!({ "technician_id": mine.tech_id })), [mine.card.as_str()]);
    assert_eq!(ids(json!({})).len(), 3, "no filter: every card");
    assert!(ids(json!({ "unassigned": false })).contains(&theirs.as_str().unwrap().to_string()));
    assert_eq!(
        ids(json!({ "technician_id": mine.tech_id, "unassigned": true, "status": "open" })),
        [open.as_str().unwrap()]
    );

    let list = s.ok(&mine.tech, "job_cards.list", json!({ "technician_id": mine.tech_id, "unassigned": true }));
    let (unassigned, in_progress) = (&list["job_cards"][0], &list["job_cards"][1]);
    assert_eq!(
        (&unassigned["customer_name"], &unassigned["license_plate"], &unassigned["make"], &unassigned["model"]),
        (&json!("Ann Lee"), &json!("XYZ-9"), &json!("Honda"), &json!("Civic"))
    );
    assert_eq!(unassigned["technician_name"], Value::Null);
    assert_eq!(in_progress["customer_name"], "John Doe");
    assert_eq!(in_progress["technician_name"], "tech person");
    assert_eq!(in_progress["lines"].as_array().unwrap().len(), 2, "the card itself, lines and all");
    assert_eq!(in_progress["number"], s.ok(&mine.tech, "job_cards.get", json!({ "id": mine.card }))["number"]);
    assert_eq!(failure(&s.call(&mine.tech, "job_cards.list", json!({ "unassigned": "yes" }))).0, 422);
}

#[test]
fn invoice_lines_word_their_quantities_as_the_printed_invoice_does() {
    // (scenario, oil filters on the card, what the parts line says)
    let cases = [("one filter", 1, "1 pc"), ("two filters", 2, "2 pcs")];
    for (scenario, filters, part_words) in cases {
        let s = shop();
        let job = job_in_progress(&s, filters, 10);
        let done = s.ok(&job.tech, "job_cards.complete", json!({ "job_card_id": job.card }));
        let invoice = s.ok(&s.owner, "invoices.get", json!({ "id": done["invoice"]["id"] }));
        let words: Vec<(&str, &str)> = invoice["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["kind"].as_str().unwrap(), l["quantity_text"].as_str().unwrap()))
            .collect();
        assert_eq!(words, [("labour", "0.5 h"), ("part", part_words)], "{scenario}");
        let listed = s.ok(&s.owner, "invoices.list", json!({}));
        assert_eq!(listed["invoices"][0]["lines"], invoice["lines"], "{scenario}: the list says the same");
    }
}
