//! The crash test (issue 3): a child process books, checks in, completes
//! and takes payments in a loop and is killed with SIGKILL at random
//! moments. After every kill the database is reopened and must hold every
//! invariant. 200 cycles by default; `PITLANE_CRASH_CYCLES` sets more.
//!
//! The child is this same test binary, re-run on `crash::child_workload`
//! with `PITLANE_CRASH_CHILD` set to the database folder.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use rusqlite::Connection;
use serde_json::{json, Value};

use crate::support::{db_path, open_with_real_ids, shop, Dice, PIN};

const CHILD: &str = "PITLANE_CRASH_CHILD";

fn data(env: &pitlane_core::Envelope) -> Option<Value> {
    env.data().cloned()
}

/// The work a busy front desk and workshop do, forever (until killed).
/// Only the crash test runs it, as a child process.
#[test]
#[ignore = "the crash test's child process"]
fn child_workload() {
    let dir = std::env::var(CHILD).expect("run by the crash test, which sets PITLANE_CRASH_CHILD");
    let seed: u64 = std::env::var("PITLANE_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    let api = open_with_real_ids(Path::new(&dir), crate::support::start_clock());
    let t = api.login("owner", PIN).expect("login");
    let t = Some(t.as_str());
    let mut dice = Dice(seed);
    let vehicles: Vec<(Value, Value)> = {
        let conn = api.lock_conn();
        let mut stmt = conn.prepare("SELECT customer_id, id FROM vehicles").unwrap();
        stmt.query_map([], |r| Ok((json!(r.get::<_, String>(0)?), json!(r.get::<_, String>(1)?))))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let tech: String = api.lock_conn().query_row("SELECT id FROM staff WHERE code = 'tech'", [], |r| r.get(0)).unwrap();
    let items: Vec<String> = {
        let conn = api.lock_conn();
        let mut stmt = conn.prepare("SELECT id FROM inventory_items").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    };
    loop {
        let pick = |q: &str| -> Option<String> { api.lock_conn().query_row(q, [], |r| r.get(0)).ok() };
        match dice.next() % 5 {
            0 | 1 => {
                let (c, v) = &vehicles[(dice.next() as usize) % vehicles.len()];
                let day = 25 + dice.next() % 5; // 25th to 29th: Wednesday to Sunday
                let hour = 8 + dice.next() % 8;
                let _ = api.call_value(t, "appointments.book", &json!({
                    "customer_id": c, "vehicle_id": v, "scheduled_date": format!("2026-11-{day}"),
                    "scheduled_time": format!("{hour:02}:{:02}", (dice.next() % 4) * 15), "service_type": "oil_change",
                }));
            }
            2 => {
                if let Some(a) =
                    pick("SELECT id FROM appointments WHERE status = 'scheduled' ORDER BY random() LIMIT 1")
                {
                    let _ = api.call_value(t, "appointments.check_in", &json!({ "appointment_id": a }));
                }
            }
            3 => {
                if let Some(card) =
                    pick("SELECT id FROM job_cards WHERE status IN ('open', 'in_progress') ORDER BY random() LIMIT 1")
                {
                    let _ =
                        api.call_value(t, "job_cards.start", &json!({ "job_card_id": card, "technician_id": tech }));
                    let item = &items[(dice.next() as usize) % items.len()];
                    let _ = api.call_value(t, "job_cards.add_line", &json!({ "job_card_id": card, "kind": "part", "item_id": item, "quantity": 1000 + (dice.next() % 3) as i64 * 500 }));
                    let skip = dice.next() % 7 == 0;
                    let _ =
                        api.call_value(t, "job_cards.complete", &json!({ "job_card_id": card, "skip_invoice": skip }));
                }
            }
            _ => {
                if let Some(inv) = pick(
                    "SELECT id FROM invoices WHERE status IN ('pending', 'partially_paid') ORDER BY random() LIMIT 1",
                ) {
                    let due: i64 = api
                        .lock_conn()
                        .query_row("SELECT balance_due FROM invoices WHERE id = ?1", [&inv], |r| r.get(0))
                        .unwrap_or(0);
                    let amount = if dice.next() % 2 == 0 { due } else { (due / 2).max(1) };
                    let env = api.call_value(t, "payments.process", &json!({
                        "invoice_id": inv, "amount": amount, "method": "cash", "idempotency_key": format!("{seed}-{}", dice.next()),
                    }));
                    let _ = data(&env);
                }
            }
        }
    }
}

/// Every invariant a crash must not break; `Err` says which.
fn check(conn: &Connection) -> Result<(), String> {
    let one = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let text: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    if text != "ok" {
        return Err(format!("integrity_check: {text}"));
    }
    let fk: i64 = conn.prepare("PRAGMA foreign_key_check").unwrap().query_map([], |_| Ok(())).unwrap().count() as i64;
    if fk != 0 {
        return Err(format!("{fk} foreign key violations"));
    }
    let checks = [
        ("stock equals the ledger", "SELECT count(*) FROM inventory_items i WHERE on_hand <> (SELECT coalesce(sum(delta), 0) FROM inventory_transactions t WHERE t.item_id = i.id)"),
        ("stock never negative", "SELECT count(*) FROM inventory_items WHERE on_hand < 0"),
        ("completed cards have their service record", "SELECT count(*) FROM job_cards j WHERE status = 'completed' AND NOT EXISTS (SELECT 1 FROM service_records s WHERE s.job_card_id = j.id)"),
        ("completed cards have their completion event", "SELECT count(*) FROM job_cards j WHERE status = 'completed' AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.type = 'JobCardCompleted' AND o.aggregate_id = j.id)"),
        ("completed cards have their stock rows", "SELECT count(*) FROM job_cards j WHERE status = 'completed' AND EXISTS (SELECT 1 FROM job_card_lines l WHERE l.job_card_id = j.id AND l.kind = 'part') AND NOT EXISTS (SELECT 1 FROM inventory_transactions t WHERE t.reference_id = j.id)"),
        ("invoiced cards announce their invoice", "SELECT count(*) FROM invoices i WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.type = 'InvoiceGenerated' AND o.aggregate_id = i.id)"),
        ("only completed cards have invoices, records or stock rows", "SELECT count(*) FROM job_cards j WHERE status <> 'completed' AND (EXISTS (SELECT 1 FROM invoices i WHERE i.job_card_id = j.id) OR EXISTS (SELECT 1 FROM service_records s WHERE s.job_card_id = j.id) OR EXISTS (SELECT 1 FROM inventory_transactions t WHERE t.reference_id = j.id))"),
        ("no completion event for work rolled back", "SELECT count(*) FROM outbox o WHERE o.type = 'JobCardCompleted' AND NOT EXISTS (SELECT 1 FROM job_cards j WHERE j.id = o.aggregate_id AND j.status = 'completed')"),
        ("no booking event without its appointment", "SELECT count(*) FROM outbox o WHERE o.type = 'AppointmentBooked' AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.id = o.aggregate_id)"),
        ("no payment event without its payment", "SELECT count(*) FROM outbox o WHERE o.type = 'PaymentCaptured' AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.id = json_extract(o.payload, '$.payment_id'))"),
        ("paid amounts add up", "SELECT count(*) FROM invoices i WHERE amount_paid <> (SELECT coalesce(sum(amount - refunded_amount), 0) FROM payments p WHERE p.invoice_id = i.id)"),
        ("no overlapping reservations", "SELECT count(*) FROM bay_reservations a JOIN bay_reservations b ON a.bay_id = b.bay_id AND a.id < b.id WHERE a.active = 1 AND b.active = 1 AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at"),
        ("event sequence has no gaps", "SELECT count(*) FROM (SELECT device_seq, lag(device_seq) OVER (ORDER BY device_seq) AS prev FROM outbox) WHERE prev IS NOT NULL AND device_seq <> prev + 1"),
    ];
    for (what, sql) in checks {
        let n = one(sql);
        if n != 0 {
            return Err(format!("{what}: {n} rows break it"));
        }
    }
    // Invoice numbers: gapless, and the series has consumed exactly as many.
    let mut stmt = conn.prepare("SELECT number FROM invoices ORDER BY number").unwrap();
    let numbers: Vec<String> = stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
    for (i, n) in numbers.iter().enumerate() {
        let want = format!("INV-2026-A{:06}", i + 1);
        if *n != want {
            return Err(format!("invoice numbers have a gap: {n} where {want} was expected"));
        }
    }
    let last = conn
        .query_row("SELECT coalesce(max(last), 0) FROM number_series WHERE series = 'INV-2026-A'", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap();
    if last != numbers.len() as i64 {
        return Err(format!("series says {last} invoices, {} exist", numbers.len()));
    }
    Ok(())
}

#[test]
fn killing_the_process_at_random_moments_never_breaks_the_database() {
    let s = shop();
    let filter = s.item("OF-100", "Oil Filter", 1_000_000, 2000);
    s.item("OIL", "Engine Oil", 2_000_000, 10_000);
    s.ok(&s.owner, "settings.update", json!({
        "branch": { "labour_rate": 11000 },
        "opening_hours": (1..=7).map(|d| json!({ "weekday": d, "opens": "08:00", "closes": "18:00" })).collect::<Vec<_>>(),
        "bays": [{ "name": "Bay 1", "capabilities": ["lift"] }, { "name": "Bay 2", "capabilities": ["lift"] }],
        "service_types": [{ "code": "oil_change", "name": "Oil Change", "duration_minutes": 60, "required_capability": "lift",
            "lines": [{ "kind": "labour", "description": "Oil change", "quantity": 500 }, { "kind": "part", "description": "Oil Filter", "quantity": 1000, "item_id": filter }] }],
    }));
    s.staff("tech", "technician");
    for i in 0..20 {
        let c = s.ok(&s.owner, "customers.create", json!({ "name": format!("Customer {i}") }));
        s.ok(
            &s.owner,
            "vehicles.register",
            json!({ "customer_id": c["id"], "license_plate": format!("CR-{i}"), "make": "Kia", "model": "Rio" }),
        );
    }
    drop(s.api.lock_conn()); // nothing held while children write

    let cycles: u64 = std::env::var("PITLANE_CRASH_CYCLES").ok().and_then(|c| c.parse().ok()).unwrap_or(200);
    let exe = std::env::current_exe().unwrap();
    let mut dice = Dice(7);
    let mut completed_before = 0;
    for cycle in 0..cycles {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash::child_workload", "--ignored", "--nocapture", "--test-threads", "1"])
            .env(CHILD, s.dir.path())
            .env("PITLANE_CRASH_SEED", (cycle + 1).to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(30 + dice.next() % 120));
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait();
        let conn = pitlane_core::db::open(&db_path(s.dir.path())).expect("reopens after a crash");
        if let Err(e) = check(&conn) {
            panic!("after crash {cycle}: {e}");
        }
        completed_before =
            conn.query_row("SELECT count(*) FROM job_cards WHERE status = 'completed'", [], |r| r.get(0)).unwrap();
    }
    let conn = pitlane_core::db::open(&db_path(s.dir.path())).unwrap();
    let (appointments, payments): (i64, i64) = conn
        .query_row("SELECT (SELECT count(*) FROM appointments), (SELECT count(*) FROM payments)", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert!(
        appointments > 20 && completed_before > 5 && payments > 5,
        "the children did real work: {appointments} appointments, {completed_before} completions, {payments} payments"
    );
}

#[test]
fn the_crash_checks_can_fail() {
    let s = shop();
    let item = s.item("X", "Part", 5000, 0);
    s.item("Y", "Other Part", 5000, 0); // a second event, so a gap can show
    let conn = s.api.lock_conn();
    assert!(check(&conn).is_ok(), "a healthy shop passes");
    let breaks = [
        ("stock equals the ledger", "UPDATE inventory_items SET on_hand = on_hand + 1 WHERE id = ?1"),
        ("event sequence has no gaps", "UPDATE outbox SET device_seq = device_seq + 100 WHERE seq = (SELECT max(seq) FROM outbox) AND ?1 IS NOT NULL"),
    ];
    for (what, sql) in breaks {
        conn.execute_batch("SAVEPOINT b").unwrap();
        conn.execute(sql, [&item]).unwrap();
        let err = check(&conn).expect_err(what);
        assert!(err.contains(what), "{what}: {err}");
        conn.execute_batch("ROLLBACK TO b; RELEASE b").unwrap();
    }
}

/// One racer as its own OS process: books the last slot, completes the
/// job card or takes 3 of the last 5 units, as `PITLANE_RACE` says.
/// Exits 0 when it won, 3 when told it lost.
#[test]
#[ignore = "a child process of the racing tests"]
fn child_racer() {
    let dir = std::env::var("PITLANE_RACER").expect("run by a racing test, which sets PITLANE_RACER");
    let race = std::env::var("PITLANE_RACE").unwrap_or_else(|_| "book".into());
    let api = open_with_real_ids(Path::new(&dir), crate::support::start_clock());
    let t = api.login("owner", PIN).expect("login");
    let one = |sql: &str| -> String { api.lock_conn().query_row(sql, [], |r| r.get(0)).unwrap() };
    let (command, input, loses_with) = match race.as_str() {
        "book" => {
            let (c, v) = (one("SELECT customer_id FROM vehicles LIMIT 1"), one("SELECT id FROM vehicles LIMIT 1"));
            let input = json!({ "customer_id": c, "vehicle_id": v, "scheduled_date": "2026-11-25",
                                "scheduled_time": "10:00", "service_type": "oil_change" });
            ("appointments.book", input, "bay_unavailable")
        }
        "book_phone" | "book_by_id" => {
            let i: u32 = std::env::var("PITLANE_RACER_INDEX").ok().and_then(|i| i.parse().ok()).unwrap_or(0);
            let time = format!("{:02}:00", 8 + i);
            let input = if race == "book_phone" {
                json!({ "customer_name": format!("Racer {i}"), "customer_phone": format!("(215) 555-01{i:02}"),
                        "license_plate": format!("PH-{i}"), "vehicle_make": "Kia", "vehicle_model": "Rio",
                        "scheduled_date": "2026-11-25", "scheduled_time": time, "service_type": "oil_change" })
            } else {
                let (c, v) = (one("SELECT customer_id FROM vehicles LIMIT 1"), one("SELECT id FROM vehicles LIMIT 1"));
                json!({ "customer_id": c, "vehicle_id": v, "scheduled_date": "2026-11-25",
                        "scheduled_time": time, "service_type": "oil_change" })
            };
            ("appointments.book", input, "bay_unavailable")
        }
        "complete" => {
            let card = one("SELECT id FROM job_cards LIMIT 1");
            ("job_cards.complete", json!({ "job_card_id": card }), "already_completed")
        }
        _ => {
            let item = one("SELECT id FROM inventory_items LIMIT 1");
            let input = json!({ "item_id": item, "quantity": -3000, "type": "adjustment", "reason": "race" });
            ("inventory.adjust", input, "insufficient_stock")
        }
    };
    // Start together: say so, then wait for the go file.
    std::fs::write(Path::new(&dir).join(format!("ready-{}", std::process::id())), b"ready").unwrap();
    let go = Path::new(&dir).join("go");
    while !go.exists() {
        std::thread::sleep(Duration::from_millis(1));
    }
    let env = api.call_value(Some(&t), command, &input);
    assert!(env.is_success() || env.code() == Some(loses_with), "{}", env.to_json());
    std::process::exit(if env.is_success() { 0 } else { 3 });
}

/// Starts four racer processes on the shop in `dir`, lets them go at once
/// and returns their exit codes.
fn race(dir: &Path, what: &str) -> Vec<Option<i32>> {
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(&exe)
                .args(["--exact", "crash::child_racer", "--ignored", "--nocapture", "--test-threads", "1"])
                .env("PITLANE_RACER", dir)
                .env("PITLANE_RACE", what)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300)); // all started and logged in
    std::fs::write(dir.join("go"), b"go").unwrap();
    children.into_iter().map(|mut c| c.wait().unwrap().code()).collect()
}

#[test]
fn processes_racing_to_complete_one_job_card_make_one_invoice() {
    let s = shop();
    let tech = s.staff("tech", "technician");
    let tech_id = s.ok(&tech, "auth.whoami", json!({}))["staff_id"].clone();
    let c = s.ok(&s.owner, "customers.create", json!({ "name": "Racer" }));
    let v = s.ok(
        &s.owner,
        "vehicles.register",
        json!({ "customer_id": c["id"], "license_plate": "RACE-2", "make": "Kia", "model": "Rio" }),
    );
    let card = s.ok(&s.owner, "job_cards.create", json!({ "customer_id": c["id"], "vehicle_id": v["id"] }));
    s.ok(&tech, "job_cards.start", json!({ "job_card_id": card["id"], "technician_id": tech_id }));
    s.ok(&tech, "job_cards.add_line", json!({ "job_card_id": card["id"], "kind": "labour", "description": "Brakes", "quantity": 1000, "unit_price": 9000 }));
    let codes = race(s.dir.path(), "complete");
    assert_eq!(codes.iter().filter(|c| **c == Some(0)).count(), 1, "exactly one process completes it: {codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == Some(3)).count(), 3, "the others get already_completed: {codes:?}");
    let conn = s.api.lock_conn();
    let one = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(one("SELECT count(*) FROM invoices"), 1, "one invoice");
    assert_eq!(one("SELECT count(*) FROM service_records"), 1);
    assert_eq!(one("SELECT count(*) FROM outbox WHERE type = 'JobCardCompleted'"), 1);
}

#[test]
fn processes_racing_for_the_last_units_never_go_negative() {
    let s = shop();
    s.item("PAD-1", "Brake Pads", 5000, 0);
    let codes = race(s.dir.path(), "deduct");
    assert_eq!(codes.iter().filter(|c| **c == Some(0)).count(), 1, "3 of 5 units go once: {codes:?}");
    assert_eq!(
        codes.iter().filter(|c| **c == Some(3)).count(),
        3,
        "the others are told there is not enough: {codes:?}"
    );
    let (on_hand, ledger): (i64, i64) = s
        .api
        .lock_conn()
        .query_row(
            "SELECT on_hand, (SELECT sum(delta) FROM inventory_transactions t WHERE t.item_id = i.id) FROM inventory_items i",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((on_hand, ledger), (2000, 2000));
}

#[test]
fn processes_racing_for_the_last_bay_exactly_one_wins() {
    let s = shop();
    s.ok(&s.owner, "settings.update", json!({
        "bays": [{ "name": "Only Bay", "capabilities": ["lift"] }],
        "service_types": [{ "code": "oil_change", "name": "Oil Change", "duration_minutes": 60, "required_capability": "lift" }],
    }));
    let c = s.ok(&s.owner, "customers.create", json!({ "name": "Racer" }));
    s.ok(
        &s.owner,
        "vehicles.register",
        json!({ "customer_id": c["id"], "license_plate": "RACE-1", "make": "Kia", "model": "Rio" }),
    );
    let codes = race(s.dir.path(), "book");
    assert_eq!(codes.iter().filter(|c| **c == Some(0)).count(), 1, "exactly one process wins: {codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == Some(3)).count(), 3, "the others are told the bay is taken: {codes:?}");
    let n: i64 = s.api.lock_conn().query_row("SELECT count(*) FROM appointments", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 1);
}

/// Starts `n` racer processes, waits until every one is logged in and
/// ready, lets them go at once, and returns their exit codes and the time
/// from the go to the last exit.
fn race_timed(dir: &Path, what: &str, n: usize) -> (Vec<Option<i32>>, Duration) {
    let exe = std::env::current_exe().unwrap();
    let mut children: Vec<_> = (0..n)
        .map(|i| {
            Command::new(&exe)
                .args(["--exact", "crash::child_racer", "--ignored", "--nocapture", "--test-threads", "1"])
                .env("PITLANE_RACER", dir)
                .env("PITLANE_RACE", what)
                .env("PITLANE_RACER_INDEX", i.to_string())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let ready = || {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("ready-"))
            .count()
    };
    let waiting = std::time::Instant::now();
    while ready() < n {
        assert!(waiting.elapsed() < Duration::from_secs(120), "every racer gets ready");
        std::thread::sleep(Duration::from_millis(5));
    }
    let go = std::time::Instant::now();
    std::fs::write(dir.join("go"), b"go").unwrap();
    let codes = children.iter_mut().map(|c| c.wait().unwrap().code()).collect();
    (codes, go.elapsed())
}

/// Eight processes book at once, on one bay across the day: each a new
/// customer with a phone, or (the baseline, in the same run) an existing
/// customer by id, reading no phone. Every one books. The phone, and the
/// phone-number metadata its first reading loads, are read before the write
/// lock is taken, so no process holds the lock for that. The two times are
/// printed side by side: a figure to compare, not a timed assertion.
#[test]
fn processes_booking_new_customers_with_phones_all_book() {
    let mut figures = Vec::new();
    for what in ["book_by_id", "book_phone"] {
        let s = shop();
        s.ok(&s.owner, "settings.update", json!({
            "bays": [{ "name": "Only Bay", "capabilities": ["lift"] }],
            "service_types": [{ "code": "oil_change", "name": "Oil Change", "duration_minutes": 60, "required_capability": "lift" }],
        }));
        let c = s.ok(&s.owner, "customers.create", json!({ "name": "Regular" }));
        s.ok(
            &s.owner,
            "vehicles.register",
            json!({ "customer_id": c["id"], "license_plate": "REG-1", "make": "Kia", "model": "Rio" }),
        );
        let (codes, took) = race_timed(s.dir.path(), what, 8);
        assert!(codes.iter().all(|c| *c == Some(0)), "{what}: every process books its own hour: {codes:?}");
        let conn = s.api.lock_conn();
        let one = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(one("SELECT count(*) FROM appointments"), 8, "{what}");
        if what == "book_phone" {
            assert_eq!(
                one("SELECT count(*) FROM customers WHERE phone LIKE '+1215555010_'"),
                8,
                "phones stored as E.164"
            );
        }
        figures.push(format!("{what}: {:.0} ms", took.as_secs_f64() * 1000.0));
    }
    eprintln!("8 processes booking at once, go to last exit: {}", figures.join(", "));
}
