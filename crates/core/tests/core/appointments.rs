//! Booking (SPEC 4.3, worked example 1), confirming, cancelling and
//! checking in, with their failure paths.

use std::sync::{Arc, Barrier};

use pitlane_core::appointments::book::STEPS;
use pitlane_core::appointments::{can_move, Status};
use serde_json::{json, Value};

use crate::support::{failure, open_with_real_ids, shop, Shop, PIN};

/// A shop with two lift bays, an alignment bay and the usual service types.
fn garage() -> (Shop, Value) {
    let s = shop();
    let filter = s.item("OF-100", "Oil Filter", 20_000, 2000);
    s.ok(&s.owner, "settings.update", json!({
        "branch": { "labour_rate": 11000 },
        "closures": [{ "date": "2026-12-25", "reason": "Christmas Day" }],
        // Email is set up, so a booking's confirmation goes out.
        "integrations": { "smtp_host": "smtp.garage.example", "smtp_from": "service@garage.example" },
        "bays": [
            { "name": "Bay 1", "capabilities": ["lift"] },
            { "name": "Bay 2", "capabilities": ["lift"] },
            { "name": "Alignment", "capabilities": ["alignment", "lift"] },
        ],
        "service_types": [
            { "code": "oil_change", "name": "Oil Change", "duration_minutes": 60, "required_capability": "lift",
              "lines": [
                { "kind": "labour", "description": "Oil and filter change", "quantity": 500 },
                { "kind": "part", "description": "Oil Filter", "quantity": 1000, "item_id": filter },
              ] },
            { "code": "wheel_alignment", "name": "Wheel Alignment", "duration_minutes": 60, "required_capability": "alignment" },
        ],
    }));
    let settings = s.ok(&s.owner, "settings.get", json!({}));
    (s, settings)
}

fn john() -> Value {
    json!({
        "customer_name": "John Doe", "customer_email": "john@example.com", "customer_phone": "+1234567890",
        "license_plate": "ABC-123", "vehicle_make": "Toyota", "vehicle_model": "Camry", "vehicle_year": 2020,
        "scheduled_date": "2026-11-25", "scheduled_time": "09:00", "service_type": "oil_change",
    })
}

fn with(mut base: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

#[test]
fn worked_example_1_a_new_customer_books_then_books_again() {
    let (s, _) = garage();
    let first = s.ok(&s.owner, "appointments.book", john());
    assert_eq!(first["is_new_customer"], true);
    assert_eq!(first["is_new_vehicle"], true);
    assert_eq!(first["appointment"]["status"], "scheduled");
    assert_eq!(
        first["message"],
        "Appointment booked successfully. Welcome! Your customer profile has been created. Vehicle registered successfully. Confirmation notification sent."
    );
    let queued: Vec<(String, String)> = s
        .api
        .lock_conn()
        .prepare("SELECT listener, state FROM jobs WHERE event_type = 'AppointmentBooked' ORDER BY listener")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        queued,
        [
            ("appointment_confirmation_email".to_string(), "queued".to_string()),
            ("appointment_confirmation_sms".to_string(), "queued".to_string())
        ],
        "the confirmation is queued with the booking, by email and by SMS"
    );
    assert_eq!(first["appointment"]["starts_at"], "2026-11-25T14:00:00.000Z", "09:00 in New York is 14:00 UTC");

    let again = s.ok(
        &s.owner,
        "appointments.book",
        with(
            john(),
            json!({
                "customer_phone": "+1 (234) 567-890", "license_plate": "abc 123", "scheduled_time": "11:00",
            }),
        ),
    );
    assert_eq!(again["is_new_customer"], false, "found by email/phone, not created");
    assert_eq!(again["is_new_vehicle"], false, "found by plate, not created");
    assert_eq!(again["customer"]["id"], first["customer"]["id"]);
    assert_eq!(again["vehicle"]["id"], first["vehicle"]["id"]);
    assert_eq!(again["message"], "Appointment booked successfully. Confirmation notification sent.");
    let events: Vec<String> = pitlane_core::outbox::list(&s.api.lock_conn(), 0, 1000)
        .unwrap()
        .into_iter()
        .map(|(_, e)| e.event_type)
        .collect();
    assert_eq!(events.iter().filter(|e| *e == "CustomerCreated").count(), 1);
    assert_eq!(events.iter().filter(|e| *e == "AppointmentBooked").count(), 2);
}

#[test]
fn booking_refusals() {
    let (s, _) = garage();
    s.ok(&s.owner, "customers.create", json!({ "name": "Email Owner", "email": "a@example.com" }));
    s.ok(&s.owner, "customers.create", json!({ "name": "Phone Owner", "phone": "+1 215 555 0100" }));
    let before = s.dump().into_iter().filter(|(t, _)| t != "orchestration_runs").collect::<Vec<_>>();
    let cases = [
        (
            "email and phone of two customers",
            json!({ "customer_email": "a@example.com", "customer_phone": "(215) 555-0100" }),
            409,
            "customer_conflict",
        ),
        ("a closure", json!({ "scheduled_date": "2026-12-25" }), 400, "branch_closed"),
        ("a Saturday (closed)", json!({ "scheduled_date": "2026-11-28" }), 400, "outside_opening_hours"),
        ("past closing time", json!({ "scheduled_time": "16:30" }), 400, "outside_opening_hours"),
        ("in the past", json!({ "scheduled_date": "2026-11-23" }), 400, "in_the_past"),
        ("unknown service", json!({ "service_type": "teleport" }), 422, "validation_failed"),
        ("new vehicle without make", json!({ "vehicle_make": null }), 422, "validation_failed"),
        ("bad time", json!({ "scheduled_time": "25:00" }), 422, "validation_failed"),
    ];
    for (name, change, status, code) in cases {
        let env = s.call(&s.owner, "appointments.book", with(john(), change));
        assert_eq!(failure(&env), (status, code.to_string()), "{name}: {}", env.to_json());
    }
    let after = s.dump().into_iter().filter(|(t, _)| t != "orchestration_runs").collect::<Vec<_>>();
    assert_eq!(after, before, "refused bookings create nothing (no customer, no vehicle)");
}

#[test]
fn a_full_bay_answers_with_the_next_free_times() {
    let (s, settings) = garage();
    let alignment =
        settings["bays"].as_array().unwrap().iter().find(|b| b["name"] == "Alignment").unwrap()["id"].clone();
    let book = |plate: &str, time: &str, service: &str| {
        s.call(
            &s.owner,
            "appointments.book",
            with(john(), json!({ "license_plate": plate, "scheduled_time": time, "service_type": service })),
        )
    };
    assert!(book("A-1", "09:00", "wheel_alignment").is_success());
    let env = book("A-2", "09:30", "wheel_alignment");
    assert_eq!(failure(&env), (409, "bay_unavailable".into()), "one alignment bay, already taken");
    let next = env.to_value()["details"]["next_free"].clone();
    assert_eq!(
        next[0],
        json!({ "date": "2026-11-25", "time": "10:00", "bay_id": alignment }),
        "the next free start on that bay"
    );
    assert_eq!(next.as_array().unwrap().len(), 5);
    // Lift bays: three lift-capable bays take three oil changes at once, the fourth waits.
    for plate in ["L-1", "L-2"] {
        assert!(book(plate, "13:00", "oil_change").is_success());
    }
    assert!(book("L-3", "13:00", "oil_change").is_success(), "the alignment bay also has a lift");
    assert_eq!(failure(&book("L-4", "13:30", "oil_change")).1, "bay_unavailable");
}

#[test]
fn two_bookings_racing_for_the_last_slot_exactly_one_wins() {
    let (s, _) = garage();
    // Fill the alignment bay's afternoon but for 15:00.
    for (i, t) in ["08:00", "09:00", "10:00", "11:00", "12:00", "13:00", "14:00", "16:00"].iter().enumerate() {
        assert!(s
            .call(
                &s.owner,
                "appointments.book",
                with(
                    john(),
                    json!({ "license_plate": format!("F-{i}"), "scheduled_time": t, "service_type": "wheel_alignment" })
                )
            )
            .is_success());
    }
    // Two separate connections: two windows or two processes on one file.
    let barrier = Arc::new(Barrier::new(2));
    let desks: Vec<_> = (0..2)
        .map(|_| {
            let api = open_with_real_ids(s.dir.path(), s.clock.clone());
            let token = api.login("owner", PIN).unwrap();
            (api, token)
        })
        .collect();
    let handles: Vec<_> = desks
        .into_iter()
        .enumerate()
        .map(|(i, (api, token))| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                api.call_value(Some(&token), "appointments.book", &with(john(), json!({
                    "license_plate": format!("RACE-{i}"), "scheduled_time": "15:00", "service_type": "wheel_alignment",
                })))
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let wins = results.iter().filter(|e| e.is_success()).count();
    assert_eq!(wins, 1, "exactly one wins: {:?}", results.iter().map(|e| e.to_json()).collect::<Vec<_>>());
    let loser = results.iter().find(|e| !e.is_success()).unwrap();
    assert_eq!(loser.code(), Some("bay_unavailable"));
    let overlapping: i64 = s
        .api
        .lock_conn()
        .query_row(
            "SELECT count(*) FROM bay_reservations a JOIN bay_reservations b ON a.bay_id = b.bay_id AND a.id < b.id
         WHERE a.active = 1 AND b.active = 1 AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(overlapping, 0, "no two active reservations overlap");
}

#[test]
fn the_database_refuses_overlapping_reservations_too() {
    let (s, _) = garage();
    let booked = s.ok(&s.owner, "appointments.book", john());
    let conn = s.api.lock_conn();
    let err = conn.execute(
        "INSERT INTO bay_reservations (id, bay_id, appointment_id, starts_at, ends_at)
         SELECT 'x', bay_id, appointment_id, '2026-11-25T14:30:00.000Z', '2026-11-25T15:30:00.000Z' FROM bay_reservations LIMIT 1",
        [],
    );
    assert!(err.is_err(), "the trigger refuses an overlap written by hand");
    let _ = booked;
}

#[test]
fn confirm_cancel_and_check_in() {
    let (s, _) = garage();
    let a = s.ok(&s.owner, "appointments.book", john());
    let id = a["appointment"]["id"].clone();
    let c = s.ok(&s.owner, "appointments.confirm", json!({ "appointment_id": id }));
    assert_eq!(c["status"], "confirmed");
    let checked = s.ok(&s.owner, "appointments.check_in", json!({ "appointment_id": id }));
    assert_eq!(checked["appointment"]["status"], "checked_in");
    let card = &checked["job_card"];
    assert_eq!(card["status"], "open");
    assert_eq!(card["appointment_id"], id);
    let lines = card["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "the service type's canned lines");
    assert_eq!(lines[0]["unit_price"], 11000, "labour at the branch rate");
    assert_eq!(lines[1]["unit_price"], 1299, "the part at its price");
    let env = s.call(&s.owner, "appointments.cancel", json!({ "appointment_id": id }));
    assert_eq!(failure(&env), (409, "wrong_status".into()), "a checked-in visit cannot be cancelled");

    // Cancelling frees the bay.
    let b = s.ok(
        &s.owner,
        "appointments.book",
        with(john(), json!({ "scheduled_time": "10:00", "service_type": "wheel_alignment" })),
    );
    s.ok(&s.owner, "appointments.cancel", json!({ "appointment_id": b["appointment"]["id"] }));
    assert!(
        s.call(
            &s.owner,
            "appointments.book",
            with(john(), json!({ "scheduled_time": "10:00", "service_type": "wheel_alignment" }))
        )
        .is_success(),
        "the freed slot can be booked"
    );
    let day = s.ok(&s.owner, "appointments.list", json!({ "from": "2026-11-25" }));
    assert_eq!(day["appointments"].as_array().unwrap().len(), 3);
    let free =
        s.ok(&s.owner, "appointments.availability", json!({ "date": "2026-11-25", "service_type": "wheel_alignment" }));
    assert!(!free["free"].as_array().unwrap().iter().any(|f| f["time"] == "10:00"), "the booked time is not offered");
    assert!(free["free"].as_array().unwrap().iter().any(|f| f["time"] == "11:00"));
}

#[test]
fn a_failure_at_any_booking_step_leaves_every_table_as_it_was() {
    for step in STEPS {
        let (s, _) = garage();
        let before = s.dump().into_iter().filter(|(t, _)| t != "orchestration_runs").collect::<Vec<_>>();
        pitlane_core::failpoints::arm(Some(step));
        let env = s.call(&s.owner, "appointments.book", john());
        pitlane_core::failpoints::arm(None);
        assert_eq!(failure(&env).0, 500, "{step}");
        let after = s.dump().into_iter().filter(|(t, _)| t != "orchestration_runs").collect::<Vec<_>>();
        assert_eq!(after, before, "{step}: nothing but the run log changed");
        let failed: (String, String) = s
            .api
            .lock_conn()
            .query_row(
                "SELECT outcome, failed_step FROM orchestration_runs WHERE operation = 'book_appointment'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(failed, ("failed".to_string(), step.to_string()), "{step}: one failed run naming it");
    }
}

#[test]
fn appointment_moves() {
    use Status::*;
    let allowed = [
        (Scheduled, Confirmed),
        (Scheduled, CheckedIn),
        (Confirmed, CheckedIn),
        (Scheduled, Cancelled),
        (Confirmed, Cancelled),
        (Scheduled, NoShow),
        (Confirmed, NoShow),
    ];
    for from in Status::ALL {
        for to in Status::ALL {
            assert_eq!(can_move(from, to), allowed.contains(&(from, to)), "{from:?} -> {to:?}");
        }
    }
}

#[test]
fn a_failure_at_any_check_in_step_leaves_every_table_as_it_was() {
    for step in pitlane_core::appointments::check_in::STEPS {
        let (s, _) = garage();
        let a = s.ok(&s.owner, "appointments.book", john());
        let before = s.dump().into_iter().filter(|(t, _)| t != "orchestration_runs").collect::<Vec<_>>();
        pitlane_core::failpoints::arm(Some(step));
        let env = s.call(&s.owner, "appointments.check_in", json!({ "appointment_id": a["appointment"]["id"] }));
        pitlane_core::failpoints::arm(None);
        assert_eq!(failure(&env).0, 500, "{step}");
        let after = s.dump().into_iter().filter(|(t, _)| t != "orchestration_runs").collect::<Vec<_>>();
        assert_eq!(after, before, "{step}: no job card, the appointment still scheduled");
        let failed: String = s
            .api
            .lock_conn()
            .query_row("SELECT failed_step FROM orchestration_runs WHERE operation = 'check_in'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(failed, step, "{step}: the run names it");
        assert!(
            s.call(&s.owner, "appointments.check_in", json!({ "appointment_id": a["appointment"]["id"] })).is_success(),
            "{step}: retry works"
        );
    }
}

/// Phones are read (E.164, with the branch's country; the phone-number
/// metadata loads on first use) before the write lock is taken: with another
/// process holding the lock, a phone that is no number still gets its 422 at
/// once, where reading it inside the transaction would first wait out the
/// lock and fail busy.
#[test]
fn phones_are_read_before_the_write_lock_is_taken() {
    let (s, _) = garage();
    let ann = s.ok(&s.owner, "customers.create", json!({ "name": "Ann Lee", "phone": "+1 215 555 0100" }));
    let holder = rusqlite::Connection::open(crate::support::db_path(s.dir.path())).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap(); // another process writing, for as long as it likes
    let cases = [
        ("appointments.book", "customer_phone", with(john(), json!({ "customer_phone": "+999 555 0100" }))),
        ("customers.create", "phone", json!({ "name": "Bob", "phone": "+999 555 0100" })),
        ("customers.update", "phone", json!({ "id": ann["id"], "phone": "+999 555 0100" })),
    ];
    for (command, field, input) in cases {
        let env = s.call(&s.owner, command, input);
        assert_eq!(failure(&env), (422, "validation_failed".into()), "{command}: {}", env.to_json());
        assert_eq!(env.to_value()["details"]["fields"][0]["field"], field, "{command}");
    }
    holder.execute_batch("ROLLBACK").unwrap();
}

/// The list carries who and which car each appointment is for, read in the
/// same answer (no `vehicles.get` per row), under every filter, and as they
/// are now: a renamed customer or a new plate shows in the next list.
#[test]
fn the_day_list_names_each_customer_and_car() {
    let (s, settings) = garage();
    let alignment =
        settings["bays"].as_array().unwrap().iter().find(|b| b["name"] == "Alignment").unwrap()["id"].clone();
    let book = |changes: Value| s.ok(&s.owner, "appointments.book", with(john(), changes));
    let john_0900 = book(json!({}));
    let ann_1000 = book(json!({
        "customer_name": "Ann Lee", "customer_email": "ann@example.com", "customer_phone": null,
        "license_plate": "XYZ-9", "vehicle_make": "Honda", "vehicle_model": "Civic", "vehicle_year": null,
        "scheduled_time": "10:00", "service_type": "wheel_alignment",
    }));
    // Bob brings John's car: the appointment is Bob's, the car John's.
    let bob_1100 = book(json!({
        "customer_name": "Bob Ray", "customer_email": "bob@example.com", "customer_phone": "+1 215 555 0101",
        "scheduled_time": "11:00",
    }));
    assert_eq!(bob_1100["appointment"]["vehicle_owner_mismatch"], true);
    let john_next_day = book(json!({ "scheduled_date": "2026-11-26" }));
    let cancelled = book(json!({ "scheduled_time": "14:00" }));
    s.ok(&s.owner, "appointments.cancel", json!({ "appointment_id": cancelled["appointment"]["id"] }));

    let john = john_0900["customer"]["id"].clone();
    let (john_phone, bob_phone) = (john_0900["customer"]["phone"].clone(), bob_1100["customer"]["phone"].clone());
    // (name, phone, plate, make, model, year) of each booking.
    let johns = json!(["John Doe", john_phone, "ABC-123", "Toyota", "Camry", 2020]);
    let anns = json!(["Ann Lee", null, "XYZ-9", "Honda", "Civic", null]);
    let bobs = json!(["Bob Ray", bob_phone, "ABC-123", "Toyota", "Camry", 2020]);
    // The alignment bay takes Ann's alignment, and any oil change the lifts
    // left to it.
    let on_alignment: Vec<(&Value, &Value)> =
        [(&john_0900, &johns), (&ann_1000, &anns), (&bob_1100, &bobs), (&cancelled, &johns)]
            .into_iter()
            .filter(|(b, _)| b["appointment"]["bay_id"] == alignment)
            .collect();
    assert!(on_alignment.iter().any(|(b, _)| b["appointment"]["id"] == ann_1000["appointment"]["id"]));
    let ids = |v: &[&Value]| v.iter().map(|b| b["appointment"]["id"].clone()).collect::<Vec<_>>();
    // (scenario, input, the appointments in order, what each is named)
    let cases = [
        (
            "the day, by time, cancelled included",
            json!({ "from": "2026-11-25" }),
            ids(&[&john_0900, &ann_1000, &bob_1100, &cancelled]),
            vec![&johns, &anns, &bobs, &johns],
        ),
        ("the next day", json!({ "from": "2026-11-26" }), ids(&[&john_next_day]), vec![&johns]),
        (
            "one bay",
            json!({ "from": "2026-11-25", "bay_id": alignment }),
            on_alignment.iter().map(|(b, _)| b["appointment"]["id"].clone()).collect(),
            on_alignment.iter().map(|(_, n)| *n).collect(),
        ),
        (
            "one customer over two days",
            json!({ "from": "2026-11-25", "to": "2026-11-26", "customer_id": john }),
            ids(&[&john_0900, &cancelled, &john_next_day]),
            vec![&johns, &johns, &johns],
        ),
        (
            "only the cancelled",
            json!({ "from": "2026-11-25", "status": "cancelled" }),
            ids(&[&cancelled]),
            vec![&johns],
        ),
        ("a day with nothing", json!({ "from": "2026-11-27" }), vec![], vec![]),
        ("today (the default), nothing booked", json!({}), vec![], vec![]),
    ];
    let named = |a: &Value| {
        json!([a["customer_name"], a["customer_phone"], a["license_plate"], a["make"], a["model"], a["year"]])
    };
    for (scenario, input, want_ids, want_names) in cases {
        let list = s.ok(&s.owner, "appointments.list", input);
        let listed = list["appointments"].as_array().unwrap();
        assert_eq!(listed.iter().map(|a| a["id"].clone()).collect::<Vec<_>>(), want_ids, "{scenario}: which, in order");
        let names: Vec<Value> = listed.iter().map(named).collect();
        assert_eq!(names, want_names.into_iter().cloned().collect::<Vec<_>>(), "{scenario}: who and which car");
        for a in listed {
            let plain = s.ok(&s.owner, "appointments.list", json!({ "from": a["scheduled_date"] }))["appointments"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["id"] == a["id"])
                .cloned()
                .unwrap();
            assert_eq!(&plain, a, "{scenario}: the same row whatever the filter");
            let booked = [&john_0900, &ann_1000, &bob_1100, &john_next_day, &cancelled]
                .into_iter()
                .find(|b| b["appointment"]["id"] == a["id"])
                .unwrap();
            for (k, v) in booked["appointment"].as_object().unwrap() {
                if k != "status" {
                    assert_eq!(&a[k], v, "{scenario}: the appointment's own {k} is unchanged");
                }
            }
        }
    }

    // Renamed and re-plated: the next list says so (nothing cached).
    s.ok(&s.owner, "customers.update", json!({ "id": john, "name": "John Smith" }));
    s.ok(&s.owner, "vehicles.update", json!({ "id": john_0900["vehicle"]["id"], "license_plate": "NEW-123" }));
    let day = s.ok(&s.owner, "appointments.list", json!({ "from": "2026-11-25" }));
    let now: Vec<(Value, Value)> = day["appointments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["customer_name"].clone(), a["license_plate"].clone()))
        .collect();
    assert_eq!(
        now,
        [
            (json!("John Smith"), json!("NEW-123")),
            (json!("Ann Lee"), json!("XYZ-9")),
            (json!("Bob Ray"), json!("NEW-123")),
            (json!("John Smith"), json!("NEW-123")),
        ],
        "the renamed customer and the new plate, on every row they belong to"
    );
}
