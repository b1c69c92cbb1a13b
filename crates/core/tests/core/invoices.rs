//! Listing invoices: each with who it was billed to and the car's plate,
//! read in the same answer, under every filter.

use serde_json::{json, Value};

use crate::support::{shop, Shop};

/// Opens, works and completes a job card for `customer` and `vehicle`: its invoice.
fn invoiced(s: &Shop, tech: &str, tech_id: &str, customer: &Value, vehicle: &Value) -> Value {
    let card = s.ok(&s.owner, "job_cards.create", json!({ "customer_id": customer, "vehicle_id": vehicle }));
    s.ok(tech, "job_cards.start", json!({ "job_card_id": card["id"], "technician_id": tech_id }));
    s.ok(
        tech,
        "job_cards.add_line",
        json!({ "job_card_id": card["id"], "kind": "labour", "description": "Inspection", "quantity": 1000, "unit_price": 5000 }),
    );
    let done = s.ok(tech, "job_cards.complete", json!({ "job_card_id": card["id"] }));
    // An hour apart: the list is newest first.
    s.clock.advance(chrono::Duration::hours(1));
    done["invoice"].clone()
}

#[test]
fn the_invoice_list_names_the_customer_and_plate() {
    let s = shop();
    let tech = s.staff("tech", "technician");
    let tech_id = s.ok(&tech, "auth.whoami", json!({}))["staff_id"].clone();
    let tech_id = tech_id.as_str().unwrap();
    let john =
        s.ok(&s.owner, "customers.create", json!({ "name": "John Doe", "email": "john@example.com" }))["id"].clone();
    let ann =
        s.ok(&s.owner, "customers.create", json!({ "name": "Ann Lee", "phone": "+1 215 555 0100" }))["id"].clone();
    let register = |owner: &Value, plate: &str| {
        s.ok(
            &s.owner,
            "vehicles.register",
            json!({ "customer_id": owner, "license_plate": plate, "make": "Toyota", "model": "Camry" }),
        )["id"]
            .clone()
    };
    let (camry, civic) = (register(&john, "ABC-123"), register(&ann, "XYZ-9"));

    let johns_first = invoiced(&s, &tech, tech_id, &john, &camry);
    let anns = invoiced(&s, &tech, tech_id, &ann, &civic);
    // John sells the Camry to Ann, who brings it in: that invoice is hers,
    // and John's earlier one stays his.
    s.ok(&s.owner, "vehicles.update", json!({ "id": camry, "customer_id": ann }));
    let anns_camry = invoiced(&s, &tech, tech_id, &ann, &camry);
    let total = anns["total"].as_i64().unwrap();
    s.ok(
        &s.owner,
        "payments.process",
        json!({ "invoice_id": anns["id"], "amount": total, "method": "cash", "idempotency_key": "paid-in-full" }),
    );

    let named = |i: &Value, name: &str, plate: &str| (i["id"].clone(), json!(name), json!(plate));
    let (n1, n2, n3) = (
        named(&johns_first, "John Doe", "ABC-123"),
        named(&anns, "Ann Lee", "XYZ-9"),
        named(&anns_camry, "Ann Lee", "ABC-123"),
    );
    // (scenario, input, the invoices in order with their customer's name and plate)
    let cases = [
        ("all, newest first", json!({}), vec![&n3, &n2, &n1]),
        ("one customer: the car's earlier owner", json!({ "customer_id": john }), vec![&n1]),
        ("one customer: the car's owner now", json!({ "customer_id": ann }), vec![&n3, &n2]),
        ("unpaid", json!({ "status": "pending" }), vec![&n3, &n1]),
        ("paid", json!({ "status": "paid" }), vec![&n2]),
        ("unpaid of one customer", json!({ "status": "pending", "customer_id": ann }), vec![&n3]),
        ("a page: the second of one", json!({ "limit": 1, "offset": 1 }), vec![&n2]),
        ("past the end", json!({ "offset": 3 }), vec![]),
        ("none void", json!({ "status": "void" }), vec![]),
    ];
    for (scenario, input, want) in cases {
        let list = s.ok(&s.owner, "invoices.list", input);
        let listed = list["invoices"].as_array().unwrap();
        let got: Vec<(Value, Value, Value)> =
            listed.iter().map(|i| (i["id"].clone(), i["customer_name"].clone(), i["license_plate"].clone())).collect();
        assert_eq!(got, want.into_iter().cloned().collect::<Vec<_>>(), "{scenario}");
        for i in listed {
            let mut plain = i.clone();
            let o = plain.as_object_mut().unwrap();
            o.remove("customer_name");
            o.remove("license_plate");
            assert_eq!(
                plain,
                s.ok(&s.owner, "invoices.get", json!({ "id": i["id"] })),
                "{scenario}: the invoice itself as invoices.get gives it"
            );
        }
    }

    // Renamed and re-plated: the next list says so.
    s.ok(&s.owner, "customers.update", json!({ "id": john, "name": "John Smith" }));
    s.ok(&s.owner, "vehicles.update", json!({ "id": camry, "license_plate": "NEW-123" }));
    let list = s.ok(&s.owner, "invoices.list", json!({}));
    let got: Vec<(Value, Value)> = list["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["customer_name"].clone(), i["license_plate"].clone()))
        .collect();
    assert_eq!(
        got,
        [
            (json!("Ann Lee"), json!("NEW-123")),
            (json!("Ann Lee"), json!("XYZ-9")),
            (json!("John Smith"), json!("NEW-123"))
        ],
        "the new name and the new plate, on every invoice they belong to"
    );
}
