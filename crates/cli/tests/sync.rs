//! `pitlane sync` as the owner runs it: the token in a real Secret Service
//! keyring (gnome-keyring on a private D-Bus), the real `pitlane-cloud` on
//! a real PostgreSQL (crates/testkit). One drain prints the status; the
//! watch loop keeps syncing until SIGTERM.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use pitlane_testkit::cloud::Cloud;
use pitlane_testkit::postgres::Postgres;
use pitlane_testkit::secret_service::SecretService;
use serde_json::{json, Value};

fn command(keyring: &SecretService, db: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pitlane"));
    keyring
        .apply(&mut cmd)
        .arg("--db")
        .arg(db)
        .args(args)
        .env("PITLANE_PIN", "4321")
        .env_remove("PITLANE_DB")
        .env("PITLANE_SYNC_POLL_MS", "100")
        .env("PITLANE_SYNC_BACKOFF_BASE_MS", "10")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn run(keyring: &SecretService, db: &Path, args: &[&str]) -> Output {
    command(keyring, db, args).output().unwrap()
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

fn call(keyring: &SecretService, db: &Path, command: &str, input: Value) -> Value {
    let out = run(keyring, db, &["--user", "o", "call", command, &input.to_string()]);
    let env = envelope(&out);
    assert_eq!(env["success"], true, "{command}: {env}");
    env["data"].clone()
}

#[test]
fn pitlane_sync_drains_to_the_cloud_with_the_token_in_the_real_keyring_and_watch_keeps_going() {
    let keyring = SecretService::start().expect("a real keyring: scripts/setup.sh installs gnome-keyring and dbus");
    let pg = Postgres::start();
    let cloud = Cloud::start(&pg.create_database("cloud"));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let init = run(&keyring, &db, &["init", "--branch-name", "B", "--owner-name", "O", "--owner-code", "o"]);
    assert_eq!(init.status.code(), Some(0), "{}", String::from_utf8_lossy(&init.stdout));
    for i in 0..5 {
        call(&keyring, &db, "customers.create", json!({ "name": format!("Customer {i}") }));
    }

    // Not configured yet: the status says so, and who the device is.
    let out = run(&keyring, &db, &["sync"]);
    assert_eq!(out.status.code(), Some(0));
    let status = envelope(&out)["data"].clone();
    assert_eq!(status["configured"], false);
    assert!(status["backlog"].as_i64().unwrap() >= 5);
    let d = &status["device"];
    let token = cloud.add_device(
        d["device_id"].as_str().unwrap(),
        d["tenant_id"].as_str().unwrap(),
        d["branch_id"].as_str().unwrap(),
    );
    call(&keyring, &db, "sync.configure", json!({ "endpoint": cloud.url(), "token": token }));
    let kept = std::fs::read(&db).unwrap();
    assert!(!kept.windows(token.len()).any(|w| w == token.as_bytes()), "the token is not in the database");

    let out = run(&keyring, &db, &["sync"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let status = envelope(&out)["data"].clone();
    assert_eq!(status["backlog"], 0, "{status}");
    assert!(status["last_success_at"].is_string());
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&token), "no token printed");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&token), "nor logged");
    let count = |sql: &str| -> i64 { pg.psql("cloud", sql).trim().parse().unwrap() };
    let sent = count("SELECT count(*) FROM events");
    assert!(sent >= 5, "the backlog is at the cloud");

    // --watch: a new event reaches the cloud without another command, and SIGTERM ends it.
    let mut watch = command(&keyring, &db, &["sync", "--watch"]).spawn().unwrap();
    call(&keyring, &db, "customers.create", json!({ "name": "Late Customer" }));
    let deadline = Instant::now() + Duration::from_secs(120);
    while count("SELECT count(*) FROM events") == sent {
        assert!(Instant::now() < deadline, "the watch loop sent the new event");
        std::thread::sleep(Duration::from_millis(100));
    }
    let killed = Command::new("kill").args(["-TERM", &watch.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let mut stdout = String::new();
    std::io::Read::read_to_string(watch.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    let exit = watch.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "a clean stop");
    let status: Value = serde_json::from_str(&stdout).expect("the status envelope at the end");
    assert_eq!(status["data"]["backlog"], 0);
    assert_eq!(count("SELECT count(*) FROM events"), sent + 1, "each event once");

    // Usage errors are not 0.
    let out = run(&keyring, &db, &["sync", "--now-please"]);
    assert_eq!(out.status.code(), Some(2));
}
