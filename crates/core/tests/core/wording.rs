//! What people read: messages through the command table are sentences a
//! front desk understands, with counts and nouns that agree.

use serde_json::{json, Value};

use crate::support::shop;

#[test]
fn messages_read_as_sentences() {
    let s = shop();
    s.ok(
        &s.owner,
        "settings.update",
        json!({
            "bays": [{ "name": "Bay 1" }],
            "service_types": [{ "code": "diagnostics", "name": "Diagnostics", "duration_minutes": 60 }],
        }),
    );
    let c = s.ok(&s.owner, "customers.create", json!({ "name": "Walk In" }));
    let v = s.ok(
        &s.owner,
        "vehicles.register",
        json!({ "customer_id": c["id"], "license_plate": "W-1", "make": "VW", "model": "Golf" }),
    );
    let card = s.ok(&s.owner, "job_cards.create", json!({ "customer_id": c["id"], "vehicle_id": v["id"] }));
    let booked = s.ok(
        &s.owner,
        "appointments.book",
        json!({ "customer_id": c["id"], "vehicle_id": v["id"], "service_type": "diagnostics",
                "scheduled_date": "2026-11-25", "scheduled_time": "10:00" }),
    );
    let appointment = booked["appointment"]["id"].clone();
    s.ok(&s.owner, "appointments.cancel", json!({ "appointment_id": appointment }));
    // (scenario, command, input, the message)
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        ("one bad field", "customers.create", json!({ "name": " " }), "Please check 1 field: name."),
        (
            "two bad fields",
            "customers.create",
            json!({ "name": " ", "email": "nope" }),
            "Please check 2 fields: name and email.",
        ),
        (
            "three bad fields, in words",
            "customers.create",
            json!({ "name": " ", "email": "nope", "phone": "x" }),
            "Please check 3 fields: name, email and phone.",
        ),
        (
            "a nested field is named as people say it",
            "settings.update",
            json!({ "integrations": { "smtp_port": "smtp" } }),
            "Please check 1 field: SMTP port.",
        ),
        (
            "an id field is named after what it points at",
            "job_cards.start",
            json!({ "job_card_id": " " }),
            "Please check 1 field: job card.",
        ),
        (
            "a job card that has not been started",
            "job_cards.complete",
            json!({ "job_card_id": card["id"] }),
            "Job card JC-2026-A000001 has not been started yet, so it cannot be completed.",
        ),
        (
            "a cancelled appointment",
            "appointments.check_in",
            json!({ "appointment_id": appointment }),
            "This appointment was cancelled, so it cannot be checked in.",
        ),
        (
            "an appointment cancelled twice",
            "appointments.cancel",
            json!({ "appointment_id": appointment }),
            "This appointment was already cancelled.",
        ),
        ("a record that is not there", "customers.get", json!({ "id": "nope" }), "That customer could not be found."),
    ];
    for (scenario, command, input, message) in cases {
        let env = s.call(&s.owner, command, input);
        assert_eq!(env.message(), Some(message), "{scenario}: {}", env.to_json());
    }

    let tech = s.staff("tech", "technician");
    let other = s.staff("tech2", "technician");
    let tech_id = s.ok(&tech, "auth.whoami", json!({}))["staff_id"].clone();
    s.ok(&s.owner, "job_cards.start", json!({ "job_card_id": card["id"], "technician_id": tech_id }));
    // (scenario, who, command, input, the message)
    let refusals = [
        (
            "another technician's card",
            &other,
            "job_cards.add_line",
            json!({ "job_card_id": card["id"], "kind": "fee", "description": "x", "quantity": 1000 }),
            "You cannot work on another technician's job card.",
        ),
        ("a command the role lacks", &tech, "reports.outstanding", json!({}), "Your role does not allow this."),
    ];
    for (scenario, who, command, input, message) in refusals {
        let env = s.call(who, command, input);
        assert_eq!(env.message(), Some(message), "{scenario}: {}", env.to_json());
    }
}
