//! One person is one customer however their phone or email is written; a
//! plate is one plate however it is typed (SPEC 3).

use serde_json::json;

use crate::support::{failure, shop};

#[test]
fn the_same_customer_through_other_spellings_of_phone_and_email() {
    let s = shop();
    let john = s.ok(
        &s.owner,
        "customers.create",
        json!({
            "name": "John Doe", "email": "John@Example.com", "phone": "+1 (234) 567-890",
        }),
    );
    assert_eq!(john["phone"], "+1234567890", "phone stored as E.164");
    assert_eq!(john["email"], "John@Example.com", "email shown as entered");

    let cases = [
        ("phone without formatting", json!({ "name": "J. Doe", "phone": "+1234567890" }), "duplicate_phone"),
        ("email in lower case", json!({ "name": "J. Doe", "email": "john@example.com" }), "duplicate_email"),
        ("email in upper case", json!({ "name": "J. Doe", "email": "JOHN@EXAMPLE.COM" }), "duplicate_email"),
    ];
    for (name, input, code) in cases {
        let env = s.call(&s.owner, "customers.create", input);
        assert_eq!(failure(&env), (409, code.to_string()), "{name}");
        let details = env.to_value()["details"].clone();
        assert_eq!(details["customer_id"], john["id"], "{name}: the conflict names the existing customer");
    }

    for query in ["+1234567890", "+1 (234) 567-890", "234567890", "john@example.com", "JOHN@EXAMPLE", "doe", "john d"] {
        let found = s.ok(&s.owner, "customers.search", json!({ "query": query }));
        let ids: Vec<_> = found["customers"].as_array().unwrap().iter().map(|c| c["id"].clone()).collect();
        assert_eq!(ids, vec![john["id"].clone()], "search '{query}' finds John once");
    }

    let conn = s.api.lock_conn();
    let by_phone = pitlane_core::customers::find_by_phone(&conn, "+1234567890").unwrap().unwrap();
    let by_email = pitlane_core::customers::find_by_email(&conn, "john@EXAMPLE.com").unwrap().unwrap();
    assert_eq!(by_phone.id, by_email.id);
}

#[test]
fn a_plate_typed_differently_is_the_same_plate() {
    let s = shop();
    let john = s.ok(&s.owner, "customers.create", json!({ "name": "John Doe" }));
    let car = s.ok(
        &s.owner,
        "vehicles.register",
        json!({
            "customer_id": john["id"], "license_plate": "ABC-123", "make": "Toyota", "model": "Camry", "year": 2020,
        }),
    );
    assert_eq!(car["license_plate"], "ABC-123", "shown as entered");

    let found = s.ok(&s.owner, "vehicles.search", json!({ "query": "abc 123" }));
    assert_eq!(found["vehicles"][0]["id"], car["id"], "'abc 123' finds ABC-123");
    assert_eq!(found["vehicles"].as_array().unwrap().len(), 1);

    let conn = s.api.lock_conn();
    let v = pitlane_core::vehicles::find_by_plate(&conn, "abc 123").unwrap().expect("found by plate");
    assert_eq!(serde_json::json!(v.id), car["id"]);
    drop(conn);

    let env = s.call(
        &s.owner,
        "vehicles.register",
        json!({
            "customer_id": john["id"], "license_plate": "abc 123", "make": "Ford", "model": "Focus",
        }),
    );
    assert_eq!(failure(&env), (409, "duplicate_plate".into()), "the same plate cannot be registered twice");
}

#[test]
fn vin_check_digit_is_enforced_for_north_american_vins() {
    let s = shop();
    let c = s.ok(&s.owner, "customers.create", json!({ "name": "Ann Lee" }));
    let env = s.call(&s.owner, "vehicles.register", json!({
        "customer_id": c["id"], "license_plate": "VIN-1", "make": "Ford", "model": "F-150", "vin": "1M8GDM9A1KP042788",
    }));
    assert_eq!(failure(&env), (422, "validation_failed".into()));
    assert_eq!(env.to_value()["details"]["fields"][0]["field"], "vin");
    let ok = s.ok(&s.owner, "vehicles.register", json!({
        "customer_id": c["id"], "license_plate": "VIN-1", "make": "Ford", "model": "F-150", "vin": "1m8gdm9axkp042788",
    }));
    assert_eq!(ok["vin"], "1M8GDM9AXKP042788");
}

#[test]
fn updating_a_customer_keeps_search_in_step() {
    let s = shop();
    let c = s.ok(&s.owner, "customers.create", json!({ "name": "Maria Garcia", "phone": "(215) 555-0199" }));
    assert_eq!(c["phone"], "+12155550199", "national number read with the branch's country");
    s.ok(
        &s.owner,
        "customers.update",
        json!({ "id": c["id"], "name": "Maria Lopez", "email": "maria@example.com", "phone": null }),
    );
    let by_old = s.ok(&s.owner, "customers.search", json!({ "query": "garcia" }));
    assert!(by_old["customers"].as_array().unwrap().is_empty(), "old name no longer matches");
    let by_new = s.ok(&s.owner, "customers.search", json!({ "query": "lopez" }));
    assert_eq!(by_new["customers"][0]["id"], c["id"]);
    assert_eq!(by_new["customers"][0]["phone"], serde_json::Value::Null, "null cleared the phone");
    let by_phone = s.ok(&s.owner, "customers.search", json!({ "query": "2155550199" }));
    assert!(by_phone["customers"].as_array().unwrap().is_empty(), "the cleared phone no longer matches");
}

#[test]
fn search_cards_follow_vehicles_and_their_owners() {
    let s = shop();
    let ann = s.ok(&s.owner, "customers.create", json!({ "name": "Ann Lee" }));
    let bob = s.ok(&s.owner, "customers.create", json!({ "name": "Bob Ray" }));
    let car = s.ok(
        &s.owner,
        "vehicles.register",
        json!({ "customer_id": ann["id"], "license_plate": "KL-77", "make": "Mazda", "model": "3" }),
    );
    let hit = s.ok(&s.owner, "customers.search", json!({ "query": "ann" }));
    assert_eq!(hit["customers"][0]["vehicles"][0]["license_plate"], "KL-77", "a new vehicle shows on its owner's card");
    let by_plate = s.ok(&s.owner, "customers.search", json!({ "query": "kl77" }));
    assert_eq!(by_plate["customers"][0]["id"], ann["id"], "the plate finds its owner");

    s.ok(&s.owner, "vehicles.update", json!({ "id": car["id"], "customer_id": bob["id"], "license_plate": "KL-78" }));
    let ann_now = s.ok(&s.owner, "customers.search", json!({ "query": "ann" }));
    assert!(ann_now["customers"][0]["vehicles"].as_array().unwrap().is_empty(), "the old owner's card lost the car");
    let by_new_plate = s.ok(&s.owner, "vehicles.search", json!({ "query": "kl 78" }));
    assert_eq!(
        by_new_plate["vehicles"][0]["customer_name"], "Bob Ray",
        "the new plate finds the car under its new owner"
    );
    let by_old_plate = s.ok(&s.owner, "vehicles.search", json!({ "query": "kl 77" }));
    assert!(by_old_plate["vehicles"].as_array().unwrap().is_empty(), "the old plate finds nothing");
}

#[test]
fn a_customer_found_through_several_terms_is_listed_once() {
    let s = shop();
    let anna = s.ok(&s.owner, "customers.create", json!({ "name": "Anna Andersen", "email": "anna@andersen.example" }));
    s.ok(
        &s.owner,
        "vehicles.register",
        json!({ "customer_id": anna["id"], "license_plate": "AN-1", "make": "Volvo", "model": "V70" }),
    );
    s.ok(&s.owner, "customers.create", json!({ "name": "Andrew Ng" }));
    // "an" starts the name, the surname, the email and the plate of Anna,
    // and these terms sort apart, with Andrew's name between them.
    let found = s.ok(&s.owner, "customers.search", json!({ "query": "an" }));
    let names: Vec<&str> = found["customers"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(names.len(), unique.len(), "each customer once: {names:?}");
    assert_eq!(unique, ["Andrew Ng", "Anna Andersen"]);
}
