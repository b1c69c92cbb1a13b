//! Settling unfinished card payments never blocks a command (issue 8,
//! item 17): the `pitlane` binary as a user runs it, with the gateway's key
//! in a real Secret Service keyring (gnome-keyring on a private D-Bus) and
//! the loopback gateway double accepting connections but never answering.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use pitlane_gateway::double::{GatewayDouble, Mode};
use pitlane_testkit::secret_service::SecretService;
use serde_json::{json, Value};

const KEY: &str = "sk_test_cli_settle";

/// Runs `pitlane --db db [--user who] args…` in the keyring's session,
/// and says how long it took.
fn pitlane(keyring: &SecretService, db: &Path, who: Option<&str>, args: &[&str], stdin: &str) -> (Output, Duration) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pitlane"));
    keyring.apply(&mut cmd).arg("--db").arg(db);
    if let Some(who) = who {
        cmd.args(["--user", who]);
    }
    cmd.args(args)
        .env("PITLANE_PIN", "1234")
        .env_remove("PITLANE_DB")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out, started.elapsed())
}

fn envelope(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is an envelope ({e}): {} / {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn call(keyring: &SecretService, db: &Path, who: &str, command: &str, input: Value) -> (Value, Duration) {
    let (out, took) = pitlane(keyring, db, Some(who), &["call", command, &input.to_string()], "");
    (envelope(&out), took)
}

#[test]
fn a_gateway_that_never_answers_blocks_no_command() {
    let keyring = SecretService::start().expect("a real keyring: scripts/setup.sh installs gnome-keyring and dbus");
    let double = GatewayDouble::start(KEY).expect("gateway double");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let (demo, _) = pitlane(&keyring, &db, None, &["demo"], "");
    assert_eq!(demo.status.code(), Some(0));

    // The owner connects the gateway: its address in settings, its key in the keyring.
    let (set, _) = call(
        &keyring,
        &db,
        "owner",
        "settings.update",
        json!({ "integrations": { "payment_gateway_url": double.url() } }),
    );
    assert_eq!(set["success"], true, "{set}");
    let (secret, _) = pitlane(&keyring, &db, Some("owner"), &["secret", "payment_gateway_key"], &format!("{KEY}\n"));
    assert_eq!(envelope(&secret)["data"]["state"], "set", "the key is in the real keyring");

    // Two card payments whose outcome stays unknown (the gateway is down),
    // on two unpaid invoices.
    let (list, _) = call(&keyring, &db, "desk", "invoices.list", json!({ "status": "pending", "limit": 10 }));
    let invoices: Vec<(String, i64)> = list["data"]["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["id"].as_str().unwrap().to_string(), i["balance_due"].as_i64().unwrap()))
        .take(2)
        .collect();
    assert_eq!(invoices.len(), 2, "the demo has unpaid invoices: {list}");
    double.set_mode(Mode::Unavailable);
    let card = |invoice: &str, amount: i64, key: &str| {
        call(
            &keyring,
            &db,
            "desk",
            "payments.process",
            json!({ "invoice_id": invoice, "amount": amount, "method": "card", "idempotency_key": key }),
        )
    };
    for (n, (invoice, due)) in invoices.iter().enumerate() {
        let (unknown, _) = card(invoice, *due, &format!("open-{n}"));
        assert_eq!(unknown["code"], "payment_outcome_unknown", "{unknown}");
    }
    // Both are old enough (past the 2-minute in-flight grace) that the
    // start-up settlement of old would have asked the gateway about them.
    let attempts: Vec<String> = {
        let conn = pitlane_core::db::open(&db).unwrap();
        conn.execute(
            "UPDATE payment_attempts SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-10 minutes'),
                                         updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-10 minutes')",
            [],
        )
        .unwrap();
        let mut stmt =
            conn.prepare("SELECT id FROM payment_attempts WHERE status = 'pending' ORDER BY created_at, id").unwrap();
        let ids = stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<Vec<_>, _>>().unwrap();
        ids
    };
    assert_eq!(attempts.len(), 2, "two open attempts");

    // Now the gateway accepts connections and never answers.
    double.set_mode(Mode::Stall);
    let (search, took) = call(&keyring, &db, "desk", "customers.search", json!({ "query": "jo" }));
    assert_eq!(search["success"], true, "{search}");
    assert!(
        took < Duration::from_secs(5),
        "a command that does not touch card payments never waits on the gateway: {took:?}"
    );

    // A card command meeting an open attempt answers at once.
    let (another, took) = card(&invoices[0].0, invoices[0].1, "another-card");
    assert_eq!(
        (another["status_code"].as_i64(), another["code"].as_str()),
        (Some(409), Some("payment_in_progress")),
        "{another}"
    );
    assert!(
        attempts.iter().any(|a| another["details"]["attempt_id"] == a.as_str()),
        "names the open attempt: {another}"
    );
    assert!(another["message"].as_str().unwrap().contains("settled shortly"), "{another}");
    assert!(took < Duration::from_secs(5), "answered at once, not after asking the gateway: {took:?}");
    let (same, took) = card(&invoices[1].0, invoices[1].1, "open-1");
    assert_eq!(same["code"], "payment_in_progress", "the same request again: {same}");
    assert!(took < Duration::from_secs(5), "{took:?}");

    // The worker settles them in the background once the gateway answers:
    // it never charged, so both end as not charged.
    double.set_mode(Mode::Approve);
    let (work, _) = pitlane(&keyring, &db, Some("manager"), &["jobs", "work"], "");
    assert_eq!(work.status.code(), Some(0), "{}", String::from_utf8_lossy(&work.stdout));
    let (settled, _) = card(&invoices[1].0, invoices[1].1, "open-1");
    assert_eq!(settled["code"], "card_not_charged", "settled by `jobs work`: {settled}");
    let (paid, _) = card(&invoices[0].0, invoices[0].1, "after-settling");
    assert_eq!(paid["data"]["invoice"]["status"], "paid", "the invoice takes a card again: {paid}");
    assert_eq!(double.charges().len(), 1);
}
