//! Amounts an invoice cannot print are refused at input: a price, a line's
//! amount or a job card's total above 9,999,999.99 (`money::MAX_AMOUNT`)
//! is a 422 naming the field, and nothing is written.

use pitlane_core::money::MAX_AMOUNT;
use serde_json::{json, Value};

use crate::support::shop;

fn refused_field(env: &pitlane_core::api::Envelope) -> (u16, Value) {
    let v = env.to_value();
    (v["status_code"].as_u64().unwrap_or_default() as u16, v["details"]["fields"][0]["field"].clone())
}

#[test]
fn amounts_no_invoice_can_print_are_refused_with_the_field_named() {
    let s = shop();
    let tech = s.staff("tech", "technician");
    let tech_id = s.ok(&tech, "auth.whoami", json!({}))["staff_id"].clone();
    let c = s.ok(&s.owner, "customers.create", json!({ "name": "Ann Big" }));
    let v = s.ok(
        &s.owner,
        "vehicles.register",
        json!({ "customer_id": c["id"], "license_plate": "BIG 1", "make": "Ford", "model": "Transit" }),
    );
    let card = s.ok(&s.owner, "job_cards.create", json!({ "customer_id": c["id"], "vehicle_id": v["id"] }));
    s.ok(&tech, "job_cards.start", json!({ "job_card_id": card["id"], "technician_id": tech_id }));
    let line = |quantity: i64, unit_price: i64| {
        json!({ "job_card_id": card["id"], "kind": "labour", "description": "Work", "quantity": quantity,
                "unit_price": unit_price, "tax_rate_bp": 0 })
    };

    // (scenario, command, input, the field named)
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        ("a unit price above the ceiling", "job_cards.add_line", line(1000, MAX_AMOUNT + 1), "unit_price"),
        ("ten hours at the top price", "job_cards.add_line", line(10_000, MAX_AMOUNT), "quantity"),
        ("a line just over by rounding", "job_cards.add_line", line(1001, MAX_AMOUNT), "quantity"),
        (
            "an item priced above the ceiling",
            "inventory.create_item",
            json!({ "sku": "X1", "name": "Gold", "price": MAX_AMOUNT + 1 }),
            "price",
        ),
        (
            "a service type's canned price above the ceiling",
            "settings.update",
            json!({ "service_types": [{ "code": "gold", "name": "Gold", "duration_minutes": 30,
                "lines": [{ "kind": "labour", "description": "Work", "quantity": 1000, "unit_price": MAX_AMOUNT + 1 }] }] }),
            "service_types[0].lines[0].unit_price",
        ),
    ];
    for (name, command, input, field) in cases {
        let before = s.dump();
        let env = s.call(&s.owner, command, input);
        assert_eq!(refused_field(&env), (422, json!(field)), "{name}: {}", env.to_json());
        assert_eq!(s.dump(), before, "{name}: nothing is written");
        let said = env.to_value()["details"]["fields"][0]["message"].as_str().unwrap_or_default().to_string();
        assert!(said.contains("9,999,999.99") && !said.contains("999999999"), "{name}: amounts read as money: {said}");
    }

    // The top amount itself is fine; a card whose total would pass it is not.
    s.ok(&s.owner, "job_cards.add_line", line(1000, MAX_AMOUNT - 100));
    let before = s.dump();
    let env = s.call(&s.owner, "job_cards.add_line", line(1000, 101));
    assert_eq!(refused_field(&env), (422, json!("quantity")), "the card's total would pass the ceiling");
    assert!(env.to_value()["details"]["fields"][0]["message"].as_str().unwrap().contains("9,999,999.99"));
    assert_eq!(s.dump(), before, "the refused line is not added");
    s.ok(&s.owner, "job_cards.add_line", line(1000, 100));
    let done = s.ok(&tech, "job_cards.complete", json!({ "job_card_id": card["id"] }));
    assert_eq!(done["invoice"]["total"], MAX_AMOUNT, "an invoice of exactly the ceiling is made");
}

#[test]
fn with_tax_the_card_total_counts() {
    let s = shop();
    let c = s.ok(&s.owner, "customers.create", json!({ "name": "Ann Tax" }));
    let v = s.ok(
        &s.owner,
        "vehicles.register",
        json!({ "customer_id": c["id"], "license_plate": "TAX 1", "make": "Ford", "model": "Transit" }),
    );
    let card = s.ok(&s.owner, "job_cards.create", json!({ "customer_id": c["id"], "vehicle_id": v["id"] }));
    // 9,500,000.00 net at 8.25 % is 10,283,750.00 with tax: no invoice shows it.
    let env = s.call(
        &s.owner,
        "job_cards.add_line",
        json!({ "job_card_id": card["id"], "kind": "fee", "description": "Fee", "quantity": 1000, "unit_price": 950_000_000 }),
    );
    assert_eq!(refused_field(&env), (422, json!("quantity")), "{}", env.to_json());
}
