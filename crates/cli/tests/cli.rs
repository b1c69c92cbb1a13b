//! The `pitlane` binary as people and scripts use it: exit codes, init,
//! demo, call, backup, restore and migrate; browser mode in `serve/`.

mod identity;
mod serve;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// The seen marks (docs/SYNC.md 6) of the databases in `db`'s folder:
/// each test's own, as each computer has its own.
fn state_dir(db: &Path) -> std::path::PathBuf {
    db.parent().expect("a database in a folder").join("state")
}

fn pitlane(db: &Path, args: &[&str], pin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pitlane"));
    cmd.arg("--db").arg(db).args(args).env_remove("PITLANE_PIN").env_remove("PITLANE_DB");
    cmd.env("PITLANE_STATE_DIR", state_dir(db));
    if let Some(p) = pin {
        cmd.env("PITLANE_PIN", p);
    }
    cmd.output().expect("run pitlane")
}

fn envelope(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is an envelope ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn exit_codes_follow_the_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let init = pitlane(
        &db,
        &[
            "init",
            "--branch-name",
            "Main St",
            "--owner-name",
            "Ola",
            "--owner-code",
            "ola",
            "--timezone",
            "Europe/Oslo",
            "--currency",
            "NOK",
            "--country",
            "NO",
        ],
        Some("4321"),
    );
    assert_eq!(init.status.code(), Some(0), "{}", String::from_utf8_lossy(&init.stdout));
    assert_eq!(envelope(&init)["data"]["branch"]["time_zone"], "Europe/Oslo");

    let no_pin = pitlane(&db, &["init", "--branch-name", "X", "--owner-name", "Y", "--owner-code", "y"], None);
    assert_eq!(no_pin.status.code(), Some(2), "init without PITLANE_PIN is a usage error");

    let ok = pitlane(
        &db,
        &["--user", "ola", "call", "customers.create", r#"{"name":"Kari Nordmann","phone":"22 33 44 55"}"#],
        Some("4321"),
    );
    assert_eq!(ok.status.code(), Some(0));
    assert_eq!(envelope(&ok)["data"]["phone"], "+4722334455", "a national number read with the branch's country");

    let dup = pitlane(
        &db,
        &["--user", "ola", "call", "customers.create", r#"{"name":"K N","phone":"+47 22 33 44 55"}"#],
        Some("4321"),
    );
    assert_eq!(dup.status.code(), Some(1), "a business failure exits 1");
    assert_eq!(envelope(&dup)["code"], "duplicate_phone");

    let bad_json = pitlane(&db, &["--user", "ola", "call", "customers.create", "{nope"], Some("4321"));
    assert_eq!(bad_json.status.code(), Some(2), "malformed JSON is a usage error");
    assert_eq!(envelope(&bad_json)["status_code"], 400);

    let unknown = pitlane(&db, &["--user", "ola", "call", "customers.delete", "{}"], Some("4321"));
    assert_eq!(unknown.status.code(), Some(2), "an unknown command is a usage error");

    let wrong_pin = pitlane(&db, &["--user", "ola", "call", "auth.whoami"], Some("0000"));
    assert_eq!(wrong_pin.status.code(), Some(1));
    assert_eq!(envelope(&wrong_pin)["code"], "wrong_credentials");

    let no_login = pitlane(&db, &["call", "customers.search", r#"{"query":"kari"}"#], None);
    assert_eq!(no_login.status.code(), Some(1));
    assert_eq!(envelope(&no_login)["status_code"], 401);

    let bad_verb = pitlane(&db, &["frobnicate"], None);
    assert_eq!(bad_verb.status.code(), Some(2), "clap's usage errors exit 2");
}

#[test]
fn the_demo_is_a_realistic_branch() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let demo = pitlane(&db, &["demo"], None);
    assert_eq!(demo.status.code(), Some(0), "{}", String::from_utf8_lossy(&demo.stderr));
    let text = String::from_utf8_lossy(&demo.stdout);
    for code in ["owner", "manager", "desk", "tech1", "tech2", "1234"] {
        assert!(text.contains(code), "the demo prints {code}");
    }
    let call = |user: &str, command: &str, input: &str| {
        envelope(&pitlane(&db, &["--user", user, "call", command, input], Some("1234")))
    };

    let settings = call("owner", "settings.get", "{}")["data"].clone();
    assert!(settings["bays"].as_array().unwrap().len() >= 4, "4+ bays");
    assert!(settings["bays"].as_array().unwrap().iter().any(|b| b["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c == "alignment")));
    let types = settings["service_types"].as_array().unwrap();
    assert!(types.len() >= 5, "5+ service types");
    for code in ["oil_change", "brake_service", "tire_rotation", "diagnostics", "wheel_alignment"] {
        let t = types.iter().find(|t| t["code"] == code).unwrap_or_else(|| panic!("{code}"));
        assert!(!t["lines"].as_array().unwrap().is_empty(), "{code} has canned lines");
    }
    let oil = types.iter().find(|t| t["code"] == "oil_change").unwrap();
    assert_eq!((oil["duration_minutes"].as_i64(), oil["required_capability"].as_str()), (Some(60), Some("lift")));
    assert!(!settings["closures"].as_array().unwrap().is_empty(), "a closure");
    let weekdays: std::collections::HashSet<i64> =
        settings["opening_hours"].as_array().unwrap().iter().map(|h| h["weekday"].as_i64().unwrap()).collect();
    assert!(weekdays.len() >= 5);

    let staff = call("owner", "staff.list", "{}")["data"]["staff"].as_array().unwrap().clone();
    for role in ["owner", "manager", "front_desk", "technician"] {
        assert!(staff.iter().any(|s| s["role"] == role), "staff of role {role}");
    }
    let items = call("manager", "inventory.items", r#"{"limit":500}"#)["data"]["items"].as_array().unwrap().clone();
    assert!(items.len() >= 50, "50+ parts");
    assert!(items.iter().any(|i| i["name"] == "Oil Filter"));
    let low = call("manager", "inventory.low_stock", "{}")["data"]["items"].as_array().unwrap().len();
    assert!(low >= 2, "a few parts near their reorder level ({low})");

    let customers: i64 = rusqlite_count(&db, "SELECT count(*) FROM customers");
    let vehicles: i64 = rusqlite_count(&db, "SELECT count(*) FROM vehicles");
    assert!(customers >= 300 && vehicles >= customers, "{customers} customers, {vehicles} vehicles");
    assert_eq!(call("desk", "customers.search", r#"{"query":"a"}"#)["success"], true);

    let again = pitlane(&db, &["demo"], None);
    assert_eq!(again.status.code(), Some(1), "the demo does not overwrite a set-up database");
}

fn rusqlite_count(db: &Path, sql: &str) -> i64 {
    let out = Command::new(env!("CARGO_BIN_EXE_pitlane"))
        .arg("--db")
        .arg(db)
        .args(["--user", "owner", "call", "audit.verify", "{}"])
        .env("PITLANE_PIN", "1234")
        .env("PITLANE_STATE_DIR", state_dir(db))
        .output()
        .unwrap();
    assert_eq!(envelope(&out)["data"]["ok"], true, "the demo's audit chain verifies");
    pitlane_core::db::open(db).unwrap().query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn backup_restore_and_migrate_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let backup = dir.path().join("copy.db");
    assert!(pitlane(&db, &["init", "--branch-name", "B", "--owner-name", "O", "--owner-code", "o"], Some("1111"))
        .status
        .success());
    assert!(pitlane(&db, &["--user", "o", "call", "customers.create", r#"{"name":"Before Backup"}"#], Some("1111"))
        .status
        .success());
    let b = pitlane(&db, &["--user", "o", "backup", backup.to_str().unwrap()], Some("1111"));
    assert_eq!(b.status.code(), Some(0), "{}", String::from_utf8_lossy(&b.stdout));
    assert!(pitlane(&db, &["--user", "o", "call", "customers.create", r#"{"name":"After Backup"}"#], Some("1111"))
        .status
        .success());
    let r = pitlane(&db, &["--user", "o", "restore", backup.to_str().unwrap()], Some("1111"));
    assert_eq!(r.status.code(), Some(0), "{}", String::from_utf8_lossy(&r.stdout));
    let found =
        envelope(&pitlane(&db, &["--user", "o", "call", "customers.search", r#"{"query":"backup"}"#], Some("1111")));
    let names: Vec<_> = found["data"]["customers"].as_array().unwrap().iter().map(|c| c["name"].clone()).collect();
    assert_eq!(names, vec![Value::from("Before Backup")], "the restore brought back the backup's state");

    let m = pitlane(&db, &["migrate"], None);
    assert_eq!(m.status.code(), Some(0));
    assert_eq!(envelope(&m)["data"]["schema_version"], pitlane_core::db::latest_version());

    let desk_backup = pitlane(&db, &["backup", dir.path().join("x.db").to_str().unwrap()], None);
    assert_eq!(envelope(&desk_backup)["status_code"], 401, "backups need the owner");
}

#[test]
fn a_secret_is_read_from_stdin_and_refused_without_a_keyring() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let init = pitlane(&db, &["init", "--branch-name", "B", "--owner-name", "O", "--owner-code", "o"], Some("4321"));
    assert_eq!(init.status.code(), Some(0));
    // No Secret Service to talk to: the keyring is unavailable on purpose.
    let mut child = Command::new(env!("CARGO_BIN_EXE_pitlane"))
        .arg("--db")
        .arg(&db)
        .args(["--user", "o", "secret", "payment_gateway_key"])
        .env("PITLANE_PIN", "4321")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/pitlane-test-bus")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"sk_live_never_on_disk\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(envelope(&out)["code"], "keyring_unavailable");
    let all = [std::fs::read(&db).unwrap(), std::fs::read(db.with_extension("db-wal")).unwrap_or_default()].concat();
    assert!(!all.windows(21).any(|w| w == b"sk_live_never_on_disk"), "the secret is not kept in the database");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("sk_live"), "nor logged");
}

#[test]
fn jobs_are_listed_and_worked_off_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    assert_eq!(pitlane(&db, &["demo"], None).status.code(), Some(0));
    let before = envelope(&pitlane(&db, &["--user", "manager", "jobs", "--json"], Some("1234")));
    let queued = before["data"]["stats"]["queued"].as_i64().unwrap();
    assert!(queued > 0, "the demo's bookings and completions queued notifications: {before}");
    let desk = pitlane(&db, &["--user", "desk", "jobs"], Some("1234"));
    assert_eq!(desk.status.code(), Some(1), "the front desk does not manage jobs");
    // No mail server or SMS gateway is set up: each job finishes as skipped, none fails.
    let work = pitlane(&db, &["--user", "manager", "jobs", "work"], Some("1234"));
    assert_eq!(work.status.code(), Some(0), "{}", String::from_utf8_lossy(&work.stdout));
    let ran = envelope(&work)["data"]["ran"].as_array().unwrap().clone();
    assert!(!ran.is_empty());
    assert!(ran.iter().all(|r| r["result"] == "succeeded"), "{ran:?}");
    assert!(ran.iter().any(|r| r["outcome"] == "skipped: email is not set up"), "and say why: {ran:?}");
    let after = envelope(&pitlane(&db, &["--user", "manager", "jobs", "--json"], Some("1234")));
    assert_eq!(after["data"]["stats"]["queued"], 0);
    assert_eq!(after["data"]["waiting"], serde_json::json!([]));
    assert_eq!(after["data"]["failed"], serde_json::json!([]));
}

/// Fails loudly when a tool the keyring tests need is missing
/// (scripts/setup.sh installs them).
fn require_tool(name: &str) {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
        .unwrap_or(false);
    assert!(found, "{name} is missing: run scripts/setup.sh (it installs gnome-keyring and dbus)");
}

/// Runs `pitlane --db DB ARGS` inside a D-Bus session of its own with a real
/// GNOME Keyring whose files live in `home`: started unlocked (as a desktop
/// login does) or locked (as after an automatic login, or over SSH).
fn in_keyring_session(home: &Path, unlocked: bool, db: &Path, args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    require_tool("dbus-run-session");
    require_tool("gnome-keyring-daemon");
    let run = home.join("run");
    std::fs::create_dir_all(&run).unwrap();
    let start = if unlocked {
        "printf pw | gnome-keyring-daemon --daemonize --unlock --components=secrets"
    } else {
        "gnome-keyring-daemon --daemonize --components=secrets"
    };
    // Exit 97 when the daemon does not start, so that cannot pass for a refusal.
    let script = format!("{start} >/dev/null || exit 97; sleep 0.5; exec \"$@\"");
    let mut child = Command::new("dbus-run-session")
        .args(["--", "sh", "-c", &script, "sh", env!("CARGO_BIN_EXE_pitlane"), "--db"])
        .arg(db)
        .args(args)
        .env("XDG_DATA_HOME", home)
        .env("XDG_RUNTIME_DIR", &run)
        .env("PITLANE_STATE_DIR", state_dir(db))
        .env("PITLANE_PIN", "4321")
        .env_remove("PITLANE_DB")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start dbus-run-session");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_ne!(out.status.code(), Some(97), "gnome-keyring-daemon started: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn secret_states(out: &Output) -> Vec<(String, String)> {
    envelope(out)["data"]["secrets"]
        .as_array()
        .unwrap_or_else(|| panic!("settings.get answered: {}", String::from_utf8_lossy(&out.stdout)))
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_string(), s["state"].as_str().unwrap().to_string()))
        .collect()
}

fn state_of(states: &[(String, String)], name: &str) -> String {
    states.iter().find(|(n, _)| n == name).map(|(_, s)| s.clone()).unwrap_or_default()
}

#[test]
fn a_secret_goes_into_a_real_unlocked_keyring() {
    let dir = tempfile::tempdir().unwrap();
    let (db, home) = (dir.path().join("shop.db"), dir.path().join("home"));
    let init = pitlane(&db, &["init", "--branch-name", "B", "--owner-name", "O", "--owner-code", "o"], Some("4321"));
    assert_eq!(init.status.code(), Some(0));

    let set = in_keyring_session(&home, true, &db, &["--user", "o", "secret", "smtp_password"], "sk_real_keyring_1\n");
    assert_eq!(set.status.code(), Some(0), "{}", String::from_utf8_lossy(&set.stdout));
    assert_eq!(envelope(&set)["data"]["state"], "set");

    // A new session unlocks the same keyring: the secret is still there.
    let get = in_keyring_session(&home, true, &db, &["--user", "o", "call", "settings.get"], "");
    let states = secret_states(&get);
    assert_eq!(state_of(&states, "smtp_password"), "set", "settings.get sees the stored secret: {states:?}");
    assert_eq!(state_of(&states, "sms_api_key"), "not_set", "{states:?}");
    let all = [std::fs::read(&db).unwrap(), std::fs::read(db.with_extension("db-wal")).unwrap_or_default()].concat();
    assert!(!all.windows(17).any(|w| w == b"sk_real_keyring_1"), "the secret is only in the keyring");
}

#[test]
fn a_locked_keyring_is_its_own_error() {
    let dir = tempfile::tempdir().unwrap();
    let (db, home) = (dir.path().join("shop.db"), dir.path().join("home"));
    let init = pitlane(&db, &["init", "--branch-name", "B", "--owner-name", "O", "--owner-code", "o"], Some("4321"));
    assert_eq!(init.status.code(), Some(0));
    // The login keyring is made (unlocked) once, then the daemon restarts without the password.
    let first = in_keyring_session(&home, true, &db, &["--user", "o", "secret", "smtp_password"], "first\n");
    assert_eq!(envelope(&first)["data"]["state"], "set", "{}", String::from_utf8_lossy(&first.stdout));

    // (scenario, the secret changed while the keyring is locked)
    for (scenario, name) in [("replacing a stored secret", "smtp_password"), ("adding a new one", "sms_api_key")] {
        let out = in_keyring_session(&home, false, &db, &["--user", "o", "secret", name], "second\n");
        assert_eq!(out.status.code(), Some(1), "{scenario}: a business failure");
        let env = envelope(&out);
        assert_eq!(env["code"], "keyring_locked", "{scenario}: {env}");
        assert_eq!(env["status_code"], 400, "{scenario}");
        assert!(env["message"].as_str().unwrap().contains("Unlock it"), "{scenario}: says what to do: {env}");
    }
    let get = in_keyring_session(&home, false, &db, &["--user", "o", "call", "settings.get"], "");
    assert_eq!(get.status.code(), Some(0), "a locked keyring does not fail settings.get");
    let states = secret_states(&get);
    assert_eq!(state_of(&states, "smtp_password"), "locked", "{states:?}");

    let unlocked = in_keyring_session(&home, true, &db, &["--user", "o", "call", "settings.get"], "");
    assert_eq!(state_of(&secret_states(&unlocked), "smtp_password"), "set", "unlocked again, the first value is kept");
    assert_eq!(state_of(&secret_states(&unlocked), "sms_api_key"), "not_set", "nothing was added while locked");
}

#[test]
fn pitlane_jobs_shows_waiting_retrying_and_failed_jobs_with_what_they_are_about() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    assert_eq!(pitlane(&db, &["demo"], None).status.code(), Some(0));
    let table = |args: &[&str]| {
        let out = pitlane(&db, &[&["--user", "manager", "jobs"], args].concat(), Some("1234"));
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let before = table(&[]);
    let queued = envelope(&pitlane(&db, &["--user", "manager", "jobs", "--json"], Some("1234")))["data"]["stats"]
        ["queued"]
        .as_i64()
        .unwrap();
    assert!(
        before.starts_with(&format!("Jobs: {queued} waiting (0 retrying), 0 running, 0 done, 0 failed, 0 given up.\n")),
        "the counts first, in words: {before}"
    );
    assert!(before.contains(&format!("Waiting to run ({queued} jobs, the first 100 shown):")), "{before}");
    assert!(before.contains("STATE") && before.contains("NEXT TRY") && before.contains("ABOUT"), "{before}");
    assert!(before.contains("invoice INV-2026-A000001, by email to "), "each job names what it is about: {before}");
    assert!(before.contains("after an earlier message"), "a later message to the same customer waits: {before}");
    assert!(!before.contains("Failed ("), "no failed section while none failed");

    // Email to a server that is not there: the emails fail and are retried in about an hour.
    let no_mail_server = |db: &Path| {
        let set = pitlane(
            db,
            &[
                "--user",
                "owner",
                "call",
                "settings.update",
                r#"{"integrations":{"smtp_host":"127.0.0.1","smtp_port":"9","smtp_security":"none","smtp_from":"Garage <g@garage.example>"}}"#,
            ],
            Some("1234"),
        );
        assert_eq!(set.status.code(), Some(0), "{}", String::from_utf8_lossy(&set.stdout));
    };
    no_mail_server(&db);
    let work = |db: &Path, attempts: &str| {
        let args = ["--user", "manager", "jobs", "work", "--backoff-secs", "3600", "--max-attempts", attempts];
        assert_eq!(pitlane(db, &args, Some("1234")).status.code(), Some(0));
    };
    work(&db, "3");
    let retrying = table(&[]);
    let line = retrying.lines().find(|l| l.trim_start().starts_with("retrying")).expect(&retrying);
    assert!(line.contains(" 2 of 3 "), "the attempt that comes next: {line}");
    assert!(line.contains(" 2026 ") || line.contains(" 2027 "), "the next try, a date and time: {line}");
    assert!(retrying.contains("last error: smtp: "), "{retrying}");

    // Another shop gives up at the first failure: its failed jobs say what to do.
    let db = dir.path().join("other.db");
    assert_eq!(pitlane(&db, &["demo"], None).status.code(), Some(0));
    no_mail_server(&db);
    work(&db, "1");
    let out = pitlane(&db, &["--user", "manager", "jobs"], Some("1234"));
    let failed = String::from_utf8(out.stdout).unwrap();
    assert!(failed.contains("\nFailed ("), "{failed}");
    assert!(failed.contains("job id: ") && failed.contains("pitlane jobs retry JOB_ID"), "what to act on: {failed}");
    let json = envelope(&pitlane(&db, &["--user", "manager", "jobs", "--json"], Some("1234")));
    let first = &json["data"]["failed"][0];
    assert_eq!(first["attempts"], 1);
    assert!(first["subject"].as_str().unwrap().contains(", by email to "), "{first}");
}

/// `pitlane … | head -c0`: the reader is gone before the answer is written.
/// The command already committed, so it succeeded: exit 0, not a panic
/// (101) that a script retrying on failure would answer by doing it again.
#[test]
fn a_closed_stdout_is_not_a_failure_of_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    assert!(pitlane(&db, &["init", "--branch-name", "B", "--owner-name", "O", "--owner-code", "o"], Some("1111"))
        .status
        .success());
    let closed_pipe = || {
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(reader); // closed before the child writes anything
        writer
    };
    let cases: &[(&str, &[&str])] = &[
        ("a change", &["--user", "o", "call", "customers.create", r#"{"name":"Written Once"}"#]),
        ("the command list", &["commands"]),
        ("the schema version", &["migrate"]),
    ];
    for (what, args) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_pitlane"))
            .arg("--db")
            .arg(&db)
            .args(*args)
            .env("PITLANE_PIN", "1111")
            .env("PITLANE_STATE_DIR", state_dir(&db))
            .env_remove("PITLANE_DB")
            .stdout(closed_pipe())
            .stderr(std::process::Stdio::piped())
            .output()
            .expect("run pitlane");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{what}: the command succeeded, whoever stopped reading: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"), "{what}: no panic");
    }
    let found =
        envelope(&pitlane(&db, &["--user", "o", "call", "customers.search", r#"{"query":"written"}"#], Some("1111")));
    assert_eq!(found["data"]["customers"].as_array().map(Vec::len), Some(1), "the change was committed once");
}

#[test]
fn pitlane_jobs_shows_the_messages_skipped_because_their_moment_had_passed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    assert_eq!(pitlane(&db, &["demo"], None).status.code(), Some(0));
    let table =
        |db: &Path| String::from_utf8(pitlane(db, &["--user", "manager", "jobs"], Some("1234")).stdout).unwrap();
    assert!(!table(&db).contains("Not sent because"), "nothing skipped before the worker ran");
    // The demo's checked-in cars still have their booking confirmations queued.
    assert_eq!(pitlane(&db, &["--user", "manager", "jobs", "work"], Some("1234")).status.code(), Some(0));
    let after = table(&db);
    assert!(after.contains("Not sent because their moment had passed (the latest "), "{after}");
    assert!(after.lines().any(|l| l.trim_start().starts_with("why: the ")), "each with its reason, in words: {after}");
    assert!(!after.contains("skipped: outdated"), "not the worker's own wording: {after}");
}
