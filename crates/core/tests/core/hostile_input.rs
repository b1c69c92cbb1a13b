//! Every command fed malformed JSON, missing fields, wrong types, 1 MB
//! strings, negative or overflowing amounts answers 400/422, does not
//! panic, and leaves the database file byte-for-byte as it was.

use serde_json::{json, Value};

use crate::support::{failure, shop};

/// A valid input per command, and which of its fields are required.
#[allow(clippy::too_many_arguments)]
fn samples(
    customer: &str,
    vehicle: &str,
    item: &str,
    staff: &str,
    backup: &str,
    card: &str,
    tech: &str,
) -> Vec<(&'static str, Value, Vec<&'static str>)> {
    vec![
        ("reports.daily_sales", json!({ "date": "2026-11-24" }), vec![]),
        ("reports.technician_productivity", json!({ "from": "2026-11-01", "to": "2026-11-24" }), vec![]),
        ("reports.outstanding", json!({}), vec![]),
        ("settings.set_secret", json!({ "name": "payment_gateway_key", "value": "sk" }), vec!["name"]),
        ("invoices.pdf", json!({ "invoice_id": "x" }), vec!["invoice_id"]),
        ("invoices.email", json!({ "invoice_id": "x", "to": "a@example.com" }), vec!["invoice_id"]),
        ("jobs.failed", json!({ "limit": 10 }), vec![]),
        ("jobs.retry", json!({ "job_id": "x" }), vec!["job_id"]),
        ("jobs.discard", json!({ "job_id": "x" }), vec!["job_id"]),
        ("jobs.stats", json!({}), vec![]),
        ("jobs.list", json!({ "state": "waiting", "limit": 10 }), vec![]),
        ("alerts.list", json!({ "include_acknowledged": true, "limit": 10 }), vec![]),
        ("alerts.acknowledge", json!({ "alert_id": "x" }), vec!["alert_id"]),
        ("invoices.void", json!({ "invoice_id": "x", "reason": "typo" }), vec!["invoice_id", "reason"]),
        (
            "payments.process",
            json!({ "invoice_id": "x", "amount": 100, "method": "cash", "idempotency_key": "k", "reference": "r" }),
            vec!["invoice_id", "amount", "method", "idempotency_key"],
        ),
        (
            "payments.refund",
            json!({ "payment_id": "x", "amount": 100, "idempotency_key": "k", "reason": "r" }),
            vec!["payment_id", "idempotency_key"],
        ),
        ("payments.list", json!({ "invoice_id": "x" }), vec!["invoice_id"]),
        (
            "appointments.availability",
            json!({ "date": "2026-11-25", "service_type": "oil_change", "estimated_duration": 60, "bay_id": "b", "branch_id": "x" }),
            vec!["date", "service_type"],
        ),
        (
            "appointments.book",
            json!({ "customer_name": "Zed", "customer_email": "zed@example.com", "customer_phone": "+1 215 555 0111", "license_plate": "Z-9", "vehicle_make": "Kia", "vehicle_model": "Rio", "vehicle_year": 2020, "scheduled_date": "2026-11-25", "scheduled_time": "09:00", "service_type": "oil_change", "estimated_duration": 60, "notes": "n" }),
            vec!["scheduled_date", "scheduled_time", "service_type"],
        ),
        ("appointments.confirm", json!({ "appointment_id": "x", "reason": "r" }), vec!["appointment_id"]),
        ("appointments.cancel", json!({ "appointment_id": "x", "reason": "r" }), vec!["appointment_id"]),
        ("appointments.check_in", json!({ "appointment_id": "x" }), vec!["appointment_id"]),
        (
            "appointments.list",
            json!({ "from": "2026-11-25", "to": "2026-11-26", "status": "scheduled", "bay_id": "b", "customer_id": customer }),
            vec![],
        ),
        (
            "job_cards.create",
            json!({ "customer_id": customer, "vehicle_id": vehicle, "technician_id": tech, "complaint": "noise", "odometer_in": 1000 }),
            vec!["customer_id", "vehicle_id"],
        ),
        ("job_cards.get", json!({ "id": card }), vec!["id"]),
        (
            "job_cards.list",
            json!({ "status": "open", "technician_id": tech, "vehicle_id": vehicle, "limit": 10, "offset": 0 }),
            vec![],
        ),
        (
            "job_cards.add_line",
            json!({ "job_card_id": card, "kind": "part", "description": "Filter", "quantity": 1000, "item_id": item, "unit_price": 100, "tax_rate_bp": 825 }),
            vec!["job_card_id", "kind", "quantity"],
        ),
        ("job_cards.remove_line", json!({ "job_card_id": card, "line_id": "x" }), vec!["job_card_id", "line_id"]),
        (
            "job_cards.start",
            json!({ "job_card_id": card, "technician_id": tech, "odometer": 1000, "notes": "n" }),
            vec!["job_card_id", "technician_id"],
        ),
        (
            "job_cards.update",
            json!({ "job_card_id": card, "odometer_in": 1000, "complaint": "c", "findings": "f" }),
            vec!["job_card_id"],
        ),
        (
            "job_cards.complete",
            json!({ "job_card_id": card, "skip_invoice": false, "skip_inventory": false, "invoice_data": { "due_date": "2026-12-31", "notes": "n" } }),
            vec!["job_card_id"],
        ),
        ("job_cards.cancel", json!({ "job_card_id": card, "reason": "r" }), vec!["job_card_id"]),
        ("job_cards.orchestration_status", json!({ "job_card_id": card }), vec!["job_card_id"]),
        ("invoices.get", json!({ "id": "x" }), vec!["id"]),
        ("invoices.list", json!({ "status": "pending", "customer_id": customer, "limit": 10, "offset": 0 }), vec![]),
        (
            "setup.init",
            json!({ "branch_name": "B", "owner_name": "O", "owner_code": "o2", "owner_pin": "1234", "time_zone": "UTC", "currency": "EUR", "country": "DE", "default_tax_rate_bp": 1900, "payment_terms_days": 30, "series_letter": "B" }),
            vec!["branch_name", "owner_name", "owner_code", "owner_pin"],
        ),
        ("auth.login", json!({ "code": "owner", "pin": "0000" }), vec!["code", "pin"]),
        ("auth.whoami", json!({}), vec![]),
        ("auth.staff", json!({}), vec![]),
        ("customers.search", json!({ "query": "ann", "limit": 10 }), vec!["query"]),
        ("customers.get", json!({ "id": customer }), vec!["id"]),
        (
            "customers.create",
            json!({ "name": "Zed", "email": "zed@example.com", "phone": "+1 215 555 0111", "address": "1 Road", "notes": "n", "marketing_consent": true }),
            vec!["name"],
        ),
        (
            "customers.update",
            json!({ "id": customer, "name": "Ann B", "email": "annb@example.com", "phone": "+1 215 555 0122", "address": "2 Road", "notes": "m", "marketing_consent": false }),
            vec!["id"],
        ),
        ("vehicles.search", json!({ "query": "abc", "limit": 5 }), vec!["query"]),
        ("vehicles.get", json!({ "id": vehicle }), vec!["id"]),
        (
            "vehicles.register",
            json!({ "customer_id": customer, "license_plate": "NEW-1", "vin": "1M8GDM9AXKP042788", "make": "Kia", "model": "Rio", "year": 2019, "odometer": 1000 }),
            vec!["customer_id", "license_plate", "make", "model"],
        ),
        (
            "vehicles.update",
            json!({ "id": vehicle, "customer_id": customer, "license_plate": "ABC-999", "make": "Kia", "model": "Ceed", "year": 2018, "odometer": 5000 }),
            vec!["id"],
        ),
        ("vehicles.history", json!({ "id": vehicle }), vec!["id"]),
        (
            "inventory.items",
            json!({ "query": "oil", "low_stock_only": false, "include_inactive": false, "limit": 10, "offset": 0 }),
            vec![],
        ),
        (
            "inventory.create_item",
            json!({ "sku": "NEW", "barcode": "123", "name": "New Part", "unit": "pcs", "reorder_level": 1000, "cost": 100, "price": 200, "tax_rate_bp": 825, "opening_stock": 5000 }),
            vec!["sku", "name"],
        ),
        (
            "inventory.update_item",
            json!({ "id": item, "sku": "OF-2", "name": "Oil Filter XL", "unit": "pcs", "reorder_level": 2000, "cost": 100, "price": 300, "tax_rate_bp": 700, "active": true }),
            vec!["id"],
        ),
        (
            "inventory.adjust",
            json!({ "item_id": item, "quantity": 1000, "type": "purchase", "reference": { "type": "delivery", "id": "D-1" }, "reason": "delivery" }),
            vec!["item_id", "type"],
        ),
        (
            "inventory.bulk_adjust",
            json!({ "adjustments": [{ "item_id": item, "quantity": 1000 }], "type": "purchase", "reason": "delivery" }),
            vec!["adjustments", "type"],
        ),
        ("inventory.ledger", json!({ "item_id": item, "limit": 10 }), vec!["item_id"]),
        ("inventory.low_stock", json!({}), vec![]),
        ("staff.list", json!({ "include_inactive": true }), vec![]),
        (
            "staff.create",
            json!({ "code": "newbie", "name": "New Bie", "role": "technician", "pin": "1234", "hourly_rate": 5000 }),
            vec!["code", "name", "role", "pin"],
        ),
        (
            "staff.update",
            json!({ "id": staff, "name": "Renamed", "role": "manager", "pin": "4321", "active": true, "hourly_rate": 100 }),
            vec!["id"],
        ),
        ("settings.get", json!({}), vec![]),
        (
            "settings.update",
            json!({
                "branch": { "name": "Renamed", "default_tax_rate_bp": 700, "payment_terms_days": 7, "labour_rate": 9000, "time_zone": "Europe/Berlin", "currency": "EUR", "country": "DE", "paper_size": "A4" },
                "opening_hours": [{ "weekday": 1, "opens": "08:00", "closes": "17:00" }],
                "closures": [{ "date": "2026-12-25", "reason": "Christmas" }],
                "bays": [{ "name": "Bay 9", "capabilities": ["lift"], "active": true }],
                "service_types": [{ "code": "oil_change", "name": "Oil", "duration_minutes": 60, "required_capability": "lift", "lines": [{ "kind": "labour", "description": "Labour", "quantity": 500 }] }],
            }),
            vec![],
        ),
        ("audit.list", json!({ "limit": 10, "before_seq": 100 }), vec![]),
        ("audit.verify", json!({}), vec![]),
        ("backup.create", json!({ "path": backup }), vec!["path"]),
        ("backup.restore", json!({ "path": backup }), vec!["path"]),
        ("sync.status", json!({}), vec![]),
        ("sync.run_now", json!({}), vec![]),
        (
            "sync.configure",
            json!({ "endpoint": "https://cloud.example.com", "token": "t0ken" }),
            vec!["endpoint", "token"],
        ),
        ("sync.retry_quarantined", json!({ "event_id": "x" }), vec!["event_id"]),
        ("device.identity", json!({}), vec![]),
        ("device.confirm_move", json!({}), vec![]),
        ("device.new_identity", json!({ "series_letter": "B" }), vec!["series_letter"]),
    ]
}

/// Fields whose negative values are meaningful (a stock change can be negative).
const SIGNED: &[&str] = &["quantity"];

/// Every hostile variant of a valid input: (what, input).
fn variants(sample: &Value, required: &[&str]) -> Vec<(String, String)> {
    let mut out = vec![
        ("malformed JSON".to_string(), "{\"a\": ".to_string()),
        ("not an object".to_string(), "[1, 2, 3]".to_string()),
        ("a bare string".to_string(), "\"hello\"".to_string()),
        ("unknown field".to_string(), {
            let mut v = sample.clone();
            v["surprise"] = json!(1);
            v.to_string()
        }),
    ];
    for r in required {
        let mut v = sample.clone();
        v.as_object_mut().unwrap().remove(*r);
        out.push((format!("missing {r}"), v.to_string()));
    }
    let mut paths = Vec::new();
    leaves(sample, &mut Vec::new(), &mut paths);
    let huge = "x".repeat(1024 * 1024);
    for (path, leaf) in paths {
        let name = path.last().cloned().unwrap_or_default();
        let mut bad: Vec<(&str, Value)> = vec![("object in place of a value", json!({ "x": 1 }))];
        match leaf {
            Value::String(_) => {
                bad.push(("number in place of a string", json!(12345)));
                bad.push(("1 MB string", json!(huge)));
            }
            Value::Number(_) => {
                bad.push(("string in place of a number", json!("12")));
                bad.push(("fraction", json!(1.5)));
                bad.push(("overflowing number", json!(1e30)));
                bad.push(("past i64", json!(u64::MAX)));
                bad.push(("i64::MIN", json!(i64::MIN)));
                if !SIGNED.contains(&name.as_str()) {
                    bad.push(("negative number", json!(-1)));
                }
            }
            Value::Bool(_) => bad.push(("string in place of a bool", json!("yes"))),
            _ => {}
        }
        for (what, value) in bad {
            let mut v = sample.clone();
            set(&mut v, &path, value);
            out.push((format!("{what} at {}", path.join(".")), v.to_string()));
        }
    }
    out
}

fn leaves(v: &Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, Value)>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                path.push(k.clone());
                leaves(child, path, out);
                path.pop();
            }
        }
        Value::Array(a) => {
            if let Some(first) = a.first() {
                path.push("0".into());
                leaves(first, path, out);
                path.pop();
            }
        }
        other => out.push((path.clone(), other.clone())),
    }
}

fn set(v: &mut Value, path: &[String], value: Value) {
    let mut cur = v;
    for p in path {
        cur = match cur {
            Value::Array(a) => &mut a[p.parse::<usize>().unwrap()],
            other => &mut other[p.as_str()],
        };
    }
    *cur = value;
}

#[test]
fn hostile_input_never_changes_the_database() {
    let s = shop();
    let customer = s.ok(&s.owner, "customers.create", json!({ "name": "Ann Lee", "email": "ann@example.com" }));
    let vehicle = s.ok(
        &s.owner,
        "vehicles.register",
        json!({ "customer_id": customer["id"], "license_plate": "ABC-123", "make": "Toyota", "model": "Camry" }),
    );
    let item = s.item("OF-1", "Oil Filter", 5000, 1000);
    s.staff("tech", "technician");
    let staff = s.ok(&s.owner, "staff.list", json!({}))["staff"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["code"] == "tech")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let backup = s.dir.path().join("sample-backup.db");
    s.ok(&s.owner, "backup.create", json!({ "path": backup }));
    let backup = backup.display().to_string();

    let card =
        s.ok(&s.owner, "job_cards.create", json!({ "customer_id": customer["id"], "vehicle_id": vehicle["id"] }));
    let samples = samples(
        customer["id"].as_str().unwrap(),
        vehicle["id"].as_str().unwrap(),
        &item,
        &staff,
        &backup,
        card["id"].as_str().unwrap(),
        &staff,
    );
    let covered: Vec<&str> = samples.iter().map(|(c, _, _)| *c).collect();
    for c in pitlane_core::api::COMMANDS {
        assert!(covered.contains(&c.name) || c.name == "auth.logout", "{} has hostile-input samples", c.name);
    }

    let before = s.file_bytes();
    let mut checked = 0;
    for (command, sample, required) in &samples {
        for (what, input) in variants(sample, required) {
            let env = s.api.call(Some(&s.owner), command, &input);
            let status = env.status_code();
            assert!(
                status == 400 || status == 422,
                "{command} with {what}: expected 400 or 422, got {}",
                env.to_json().chars().take(400).collect::<String>()
            );
            assert!(env.to_json().len() < 10_000, "{command} with {what}: the answer does not echo the input");
            checked += 1;
        }
        let after = s.file_bytes();
        assert!(after == before, "{command}: the database file is byte-for-byte unchanged");
    }
    assert!(checked > 300, "a broad sweep ({checked} hostile calls)");
}

#[test]
fn money_and_quantity_overflow_is_a_typed_error() {
    let s = shop();
    let item = s.item("BIG", "Big Part", 0, 0);
    // Two changes of the same item that overflow when merged.
    let env = s.call(&s.owner, "inventory.bulk_adjust", json!({
        "adjustments": [{ "item_id": item, "quantity": 999_999_999_999i64 }, { "item_id": item, "quantity": 999_999_999_999i64 }],
        "type": "purchase",
    }));
    assert!(env.is_success(), "two large deliveries within range: {}", env.to_json());
    let env = s.call(
        &s.owner,
        "inventory.adjust",
        json!({ "item_id": item, "quantity": 1_000_000_000_001i64, "type": "purchase" }),
    );
    assert_eq!(env.status_code(), 422, "beyond the largest quantity: {}", env.to_json());
    let overflow = pitlane_core::money::line_net(i64::MAX, 2000);
    assert!(matches!(overflow, Err(pitlane_core::Error::Overflow { .. })));
}

/// Dates written any other way than `YYYY-MM-DD`, or beyond the years
/// allowed (2000..=2100): each must be a 422 naming its field.
const BAD_DATES: &[(&str, &str)] = &[
    ("a sign and a five-digit year", "+12026-01-01"),
    ("a plus sign", "+2026-01-01"),
    ("the end of the calendar", "9999-12-31"),
    ("after the last year allowed", "2101-01-01"),
    ("before the first year allowed", "1999-12-31"),
    ("one-digit month and day", "2026-1-5"),
    ("a leading space", " 2026-11-25"),
    ("a time after the date", "2026-11-25T10:00"),
    ("not a real day", "2026-02-30"),
];

#[test]
fn dates_beyond_the_calendar_or_oddly_written_are_refused_naming_the_field() {
    let s = shop();
    s.ok(&s.owner, "settings.update", json!({
        "bays": [{ "name": "Bay 1", "capabilities": ["lift"] }],
        "service_types": [{ "code": "oil_change", "name": "Oil Change", "duration_minutes": 60, "required_capability": "lift" }],
    }));
    let customer = s.ok(&s.owner, "customers.create", json!({ "name": "Ann Lee" }));
    let vehicle = s.ok(
        &s.owner,
        "vehicles.register",
        json!({ "customer_id": customer["id"], "license_plate": "ABC-123", "make": "Toyota", "model": "Camry" }),
    );
    let card =
        s.ok(&s.owner, "job_cards.create", json!({ "customer_id": customer["id"], "vehicle_id": vehicle["id"] }));
    // Every date an input takes: (command, the field as the 422 names it, the input with DATE in it).
    let inputs = [
        (
            "appointments.book",
            "scheduled_date",
            json!({ "customer_id": customer["id"], "vehicle_id": vehicle["id"], "scheduled_date": "DATE", "scheduled_time": "09:00", "service_type": "oil_change" }),
        ),
        ("appointments.availability", "date", json!({ "date": "DATE", "service_type": "oil_change" })),
        ("appointments.list", "from", json!({ "from": "DATE" })),
        ("appointments.list", "to", json!({ "from": "2026-11-25", "to": "DATE" })),
        ("reports.daily_sales", "date", json!({ "date": "DATE" })),
        ("reports.technician_productivity", "from", json!({ "from": "DATE", "to": "2026-11-24" })),
        ("reports.technician_productivity", "to", json!({ "from": "2026-11-01", "to": "DATE" })),
        (
            "job_cards.complete",
            "invoice_data.due_date",
            json!({ "job_card_id": card["id"], "invoice_data": { "due_date": "DATE" } }),
        ),
        ("settings.update", "closures[0].date", json!({ "closures": [{ "date": "DATE", "reason": "Holiday" }] })),
    ];
    let before = s.file_bytes();
    for (command, field, input) in &inputs {
        for (what, date) in BAD_DATES {
            let input = input.to_string().replace("DATE", date);
            let env = s.api.call(Some(&s.owner), command, &input);
            assert_eq!(env.status_code(), 422, "{command} with {what} in {field}: {}", env.to_json());
            let fields: Vec<String> = env.to_value()["details"]["fields"]
                .as_array()
                .map(|f| f.iter().filter_map(|f| f["field"].as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            assert_eq!(fields, vec![field.to_string()], "{command} with {what}: the 422 names {field} alone");
        }
        assert!(s.file_bytes() == before, "{command}: the database file is byte-for-byte unchanged");
    }
}

#[test]
fn booking_on_the_last_day_allowed_at_its_last_hour_is_a_clean_answer() {
    let s = shop();
    s.ok(&s.owner, "settings.update", json!({
        "opening_hours": (1..=7).map(|d| json!({ "weekday": d, "opens": "00:00", "closes": "24:00" })).collect::<Vec<_>>(),
        "bays": [{ "name": "Bay 1", "capabilities": ["lift"] }],
        "service_types": [{ "code": "oil_change", "name": "Oil Change", "duration_minutes": 60, "required_capability": "lift" }],
    }));
    let c = s.ok(&s.owner, "customers.create", json!({ "name": "Late Larry" }));
    let v = s.ok(
        &s.owner,
        "vehicles.register",
        json!({ "customer_id": c["id"], "license_plate": "END-1", "make": "Kia", "model": "Rio" }),
    );
    let book = |date: &str, time: &str| {
        s.call(
            &s.owner,
            "appointments.book",
            json!({ "customer_id": c["id"], "vehicle_id": v["id"],
            "scheduled_date": date, "scheduled_time": time, "service_type": "oil_change" }),
        )
    };
    let before = s.file_bytes();
    for (what, time) in [("the visit would end in year 10000", "23:30"), ("at midnight of year 10000", "23:00")] {
        let env = book("9999-12-31", time);
        assert_eq!(failure(&env), (422, "validation_failed".into()), "{what}: {}", env.to_json());
    }
    assert!(s.file_bytes() == before, "a date beyond the calendar leaves the database byte-for-byte unchanged");
    let env = book("2100-12-31", "23:30");
    assert_eq!(
        failure(&env),
        (400, "outside_opening_hours".into()),
        "the visit would run past the last day's midnight: {}",
        env.to_json()
    );
    let env = book("2100-12-31", "23:00");
    assert!(env.is_success(), "the last hour of the last day allowed ends at midnight: {}", env.to_json());
    assert_eq!(env.data().unwrap()["appointment"]["ends_at"], "2101-01-01T05:00:00.000Z", "New York is UTC-5");
    let env = book("2100-12-31", "23:00");
    assert_eq!(
        failure(&env),
        (409, "bay_unavailable".into()),
        "the bay is taken; free starts are sought past the calendar's edge"
    );
    let free =
        s.ok(&s.owner, "appointments.availability", json!({ "date": "2100-12-31", "service_type": "oil_change" }));
    assert!(free["free"].as_array().is_some_and(|f| !f.is_empty()), "free starts on the last day: {free}");
}

/// Two amounts whose sum does not fit in an i64, written straight into the
/// database (past any input ceiling): every report answers a typed error
/// naming the figure, never a 500, a panic or a wrapped total. Amounts that
/// fit are summed exactly, with no floating point.
#[test]
fn report_sums_of_huge_amounts_never_wrap() {
    for (what, big, fits) in [("sums past i64", i64::MAX / 2 + 1, false), ("sums just within i64", i64::MAX / 4, true)]
    {
        let s = shop();
        let tech = s.staff("tech", "technician");
        let tech_id = s.ok(&tech, "auth.whoami", json!({}))["staff_id"].clone();
        let mut invoices = Vec::new();
        for i in 0..2 {
            let c = s.ok(&s.owner, "customers.create", json!({ "name": format!("Fleet {i}") }));
            let v = s.ok(
                &s.owner,
                "vehicles.register",
                json!({ "customer_id": c["id"], "license_plate": format!("BIG-{i}"), "make": "Kia", "model": "Rio" }),
            );
            let card = s.ok(&s.owner, "job_cards.create", json!({ "customer_id": c["id"], "vehicle_id": v["id"] }));
            s.ok(&tech, "job_cards.start", json!({ "job_card_id": card["id"], "technician_id": tech_id }));
            s.ok(&tech, "job_cards.add_line", json!({ "job_card_id": card["id"], "kind": "labour", "description": "Work", "quantity": 1000, "unit_price": 10000 }));
            let done = s.ok(&s.owner, "job_cards.complete", json!({ "job_card_id": card["id"] }));
            invoices.push(done["invoice"]["id"].as_str().unwrap().to_string());
        }
        {
            let conn = s.api.lock_conn();
            conn.execute(
                "UPDATE invoices SET subtotal = ?1, discount = 0, tax_total = 0, total = ?1, amount_paid = 0, balance_due = ?1,
                     tax_summary = json_array(json_object('rate_bp', 825, 'net', ?1, 'tax', 0))",
                [big],
            )
            .unwrap();
            conn.execute("UPDATE job_cards SET subtotal = ?1, total = ?1", [big]).unwrap();
            conn.execute("UPDATE job_card_lines SET unit_price = ?1, quantity = 1000 WHERE kind = 'labour'", [big])
                .unwrap();
        }
        for (report, input) in [
            ("reports.daily_sales", json!({ "date": "2026-11-24" })),
            ("reports.technician_productivity", json!({ "from": "2026-11-24", "to": "2026-11-24" })),
            ("reports.outstanding", json!({})),
        ] {
            let env = s.call(&s.owner, report, input);
            if fits {
                let data = env.data().unwrap_or_else(|| panic!("{what}: {report} answers: {}", env.to_json()));
                let figures: Vec<i64> = match report {
                    "reports.daily_sales" => {
                        ["subtotal", "total", "outstanding"].map(|f| data[f].as_i64().unwrap()).into()
                    }
                    "reports.technician_productivity" => {
                        ["labour_revenue", "revenue"].map(|f| data["technicians"][0][f].as_i64().unwrap()).into()
                    }
                    _ => ["total_due", "current"].map(|f| data[f].as_i64().unwrap()).into(),
                };
                for f in figures {
                    assert_eq!(f, 2 * big, "{what}: {report} sums exactly, in integers: {data}");
                }
            } else {
                assert_eq!(
                    failure(&env),
                    (422, "amount_out_of_range".into()),
                    "{what}: {report} answers a typed error, not a wrapped total: {}",
                    env.to_json()
                );
                let field = env.to_value()["details"]["fields"][0]["field"].as_str().unwrap_or_default().to_string();
                assert!(!field.is_empty(), "{what}: {report} names the figure that does not fit");
            }
        }
        assert_eq!(invoices.len(), 2);
    }
}
