//! Schema upgrades, refusing databases from newer versions or other
//! programs, and backup/restore.

use std::path::Path;

use pitlane_core::db;
use rusqlite::Connection;
use serde_json::json;

use crate::support::{failure, shop};

fn identity(conn: &Connection) -> (i64, i64) {
    let app: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0)).unwrap();
    (app, db::version(conn).unwrap())
}

#[test]
fn a_database_from_every_earlier_version_upgrades_to_the_fresh_schema() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = db::open(&dir.path().join("fresh.db")).unwrap();
    let want = db::schema_dump(&fresh).unwrap();
    assert!(want.len() > 10, "the fresh schema has tables, indexes and triggers");
    for old in 0..db::latest_version() {
        let path = dir.path().join(format!("v{old}.db"));
        {
            // The database exactly as version `old` left it.
            let conn = Connection::open(&path).unwrap();
            db::migrate_to(&conn, old).unwrap();
            assert_eq!(db::version(&conn).unwrap(), old);
            if old >= 1 {
                conn.execute(
                    "INSERT INTO audit_log (id, at, action, entity_type, details, prev_hash, hash)
                     VALUES ('a1', '2026-01-01T00:00:00.000Z', 'test', 'test', '{}', 'x', 'y')",
                    [],
                )
                .unwrap();
            }
        }
        let upgraded = db::open(&path).unwrap();
        assert_eq!(db::schema_dump(&upgraded).unwrap(), want, "schema after upgrading from version {old}");
        assert_eq!(identity(&upgraded), identity(&fresh), "identity after upgrading from version {old}");
        if old >= 1 {
            let kept: i64 =
                upgraded.query_row("SELECT count(*) FROM audit_log WHERE id = 'a1'", [], |r| r.get(0)).unwrap();
            assert_eq!(kept, 1, "data written by version {old} survives the upgrade");
        }
    }
}

fn bytes_of(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn a_database_from_a_newer_version_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newer.db");
    {
        let conn = db::open(&path).unwrap();
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;").unwrap();
        conn.pragma_update(None, "user_version", db::latest_version() + 1).unwrap();
    }
    let before = bytes_of(&path);
    let err = db::open(&path).expect_err("refused");
    assert!(matches!(err, pitlane_core::Error::DatabaseTooNew { .. }), "{err}");
    assert!(err.to_string().contains("newer"), "the message says why: {err}");
    assert_eq!(bytes_of(&path), before, "the file is untouched");
    assert!(!path.with_extension("db-wal").exists(), "no WAL was created");
}

#[test]
fn a_sqlite_file_of_another_program_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hello');").unwrap();
    }
    let before = bytes_of(&path);
    let err = db::open(&path).expect_err("refused");
    assert!(matches!(err, pitlane_core::Error::NotPitlaneDatabase(_)), "{err}");
    assert_eq!(bytes_of(&path), before, "the file is untouched");

    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![0x42u8; 8192]).unwrap();
    let err = db::open(&junk).expect_err("refused");
    assert!(matches!(err, pitlane_core::Error::NotPitlaneDatabase(_)), "a file that is not SQLite at all: {err}");
    assert_eq!(bytes_of(&junk), vec![0x42u8; 8192], "and it is untouched");
}

#[test]
fn backup_then_restore_round_trips() {
    let s = shop();
    let c = s.ok(&s.owner, "customers.create", json!({ "name": "Ann Lee", "email": "ann@example.com" }));
    s.ok(
        &s.owner,
        "vehicles.register",
        json!({ "customer_id": c["id"], "license_plate": "ABC-1", "make": "Kia", "model": "Rio" }),
    );
    s.item("OF-1", "Oil Filter", 5000, 1000);
    let file = s.dir.path().join("backup.db");
    let info = s.ok(&s.owner, "backup.create", json!({ "path": file }));
    assert!(info["bytes"].as_u64().unwrap() > 0);
    let at_backup = s.dump();

    s.ok(&s.owner, "customers.create", json!({ "name": "Bob After" }));
    assert_ne!(s.dump(), at_backup);

    s.ok(&s.owner, "backup.restore", json!({ "path": file }));
    let mut restored = s.dump();
    let mut expected = at_backup.clone();
    // The restore itself is audited after it: the audit log gains that one entry.
    let audit = |d: &mut Vec<(String, Vec<String>)>| {
        d.iter_mut().find(|(t, _)| t == "audit_log").map(|(_, rows)| std::mem::take(rows)).unwrap()
    };
    let restored_audit = audit(&mut restored);
    let expected_audit = audit(&mut expected);
    // The restored device is in doubt until the owner gives it a new
    // identity (tests/core/identity.rs): its row says so.
    let device = |d: &mut Vec<(String, Vec<String>)>| {
        d.iter_mut().find(|(t, _)| t == "device").map(|(_, rows)| std::mem::take(rows)).unwrap()
    };
    let (_, _) = (device(&mut restored), device(&mut expected));
    assert_eq!(s.ok(&s.owner, "device.identity", json!({}))["state"], "restored");
    assert_eq!(restored, expected, "every table is as it was at the backup");
    // The backup was taken before its own audit entry was written; the
    // restore then adds its entry and the identity's: one more than before.
    assert_eq!(restored_audit.len(), expected_audit.len() + 1, "backup's entry is not in the file, the restore's are");
    assert_eq!(s.ok(&s.owner, "audit.verify", json!({}))["ok"], true, "the chain holds across a restore");

    let found = s.ok(&s.owner, "customers.search", json!({ "query": "bob" }));
    assert!(found["customers"].as_array().unwrap().is_empty(), "work after the backup is gone");
}

#[test]
fn restore_refuses_a_file_that_is_not_a_pitlane_database() {
    let s = shop();
    let junk = s.dir.path().join("junk.db");
    std::fs::write(&junk, b"this is not a database at all, just some bytes in a file").unwrap();
    let other = s.dir.path().join("other.db");
    Connection::open(&other).unwrap().execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);").unwrap();
    let before = s.file_bytes();
    for (what, path) in [("random bytes", junk.clone()), ("another program's SQLite", other.clone())] {
        let env = s.call(&s.owner, "backup.restore", json!({ "path": path }));
        assert_eq!(failure(&env), (400, "not_a_pitlane_database".into()), "{what}");
    }
    let env = s.call(&s.owner, "backup.restore", json!({ "path": s.dir.path().join("missing.db") }));
    assert_eq!(failure(&env), (422, "validation_failed".into()), "a missing file");
    assert!(s.file_bytes() == before, "the live database is untouched");
}

#[test]
fn a_backup_onto_the_live_database_is_refused() {
    let s = shop();
    let live = crate::support::db_path(s.dir.path());
    for path in [live.clone(), live.with_extension("db-wal")] {
        let env = s.call(&s.owner, "backup.create", json!({ "path": path }));
        assert_eq!(failure(&env), (422, "validation_failed".into()), "{}", path.display());
    }
    assert!(s.ok(&s.owner, "audit.verify", json!({}))["ok"] == true, "the live database is intact");
}

#[test]
fn jobs_queued_before_the_job_order_migration_keep_their_customer_channel_and_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v8.db");
    {
        // As version 8 (0008_jobs) left it: two events with their jobs.
        let conn = Connection::open(&path).unwrap();
        db::migrate_to(&conn, 8).unwrap();
        for (seq, id, kind, payload, listener) in [
            (
                1,
                "e1",
                "AppointmentBooked",
                r#"{"appointment_id":"a1","customer_id":"c1"}"#,
                "appointment_confirmation_sms",
            ),
            (2, "e2", "LowStockReached", r#"{"item_id":"i1","name":"Oil"}"#, "low_stock_email"),
        ] {
            conn.execute(
                "INSERT INTO outbox (seq, id, device_seq, type, schema_version, aggregate_type, aggregate_id, occurred_at,
                                     tenant_id, branch_id, device_id, payload)
                 VALUES (?1, ?2, ?1, ?3, 1, 'x', 'x', '2026-01-01T00:00:00.000Z', 't', 'b', 'd', ?4)",
                rusqlite::params![seq, id, kind, payload],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO jobs (id, event_id, event_type, listener, state, max_attempts, run_at, created_at, updated_at)
                 VALUES (?1 || ':' || ?3, ?1, ?2, ?3, 'queued', 3, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z',
                         '2026-01-01T00:00:00.000Z')",
                rusqlite::params![id, kind, listener],
            )
            .unwrap();
        }
    }
    let upgraded = db::open(&path).unwrap();
    type Row = (String, Option<i64>, Option<String>, Option<String>);
    let rows: Vec<Row> = upgraded
        .prepare("SELECT listener, event_seq, customer_id, channel FROM jobs ORDER BY event_seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        rows,
        [
            ("appointment_confirmation_sms".into(), Some(1), Some("c1".into()), Some("sms".into())),
            ("low_stock_email".into(), Some(2), None, None),
        ],
        "a queued customer message keeps its place in line; a managers' alert has no customer or channel"
    );
}

#[test]
fn restore_refuses_a_backup_with_a_damaged_schema_and_leaves_the_live_database_untouched() {
    let s = shop();
    s.ok(&s.owner, "customers.create", json!({ "name": "Ann Lee", "email": "ann@example.com" }));
    let good = s.dir.path().join("good.db");
    s.ok(&s.owner, "backup.create", json!({ "path": good }));
    // Each damage made on a copy of a good backup, which keeps Pitlane's
    // application id and version.
    let damages: &[(&str, &str)] = &[
        ("a table dropped", "DROP TABLE bay_reservations;"),
        ("an index dropped", "DROP INDEX vehicles_customer;"),
        ("a trigger dropped", "DROP TRIGGER audit_log_no_update;"),
        ("a column added", "ALTER TABLE customers ADD COLUMN nickname TEXT;"),
        ("a column dropped", "ALTER TABLE customers DROP COLUMN notes;"),
        ("a table of another program added", "CREATE TABLE notes (body TEXT);"),
        (
            "a table's columns replaced",
            "DROP TABLE bay_reservations; CREATE TABLE bay_reservations (id TEXT PRIMARY KEY, what TEXT);",
        ),
        (
            "sqlite_master edited into SQL that does not parse",
            "PRAGMA writable_schema = ON;
             UPDATE sqlite_master SET sql = 'CREATE TABLE customers (id TEXT PRIMARY KEY, name' WHERE name = 'customers';
             PRAGMA writable_schema = OFF;",
        ),
        (
            "sqlite_master edited to another column set",
            "PRAGMA writable_schema = ON;
             UPDATE sqlite_master SET sql = 'CREATE TABLE customers (id TEXT PRIMARY KEY, name TEXT NOT NULL)' WHERE name = 'customers';
             PRAGMA writable_schema = OFF;",
        ),
        ("a version older than its tables", "PRAGMA user_version = 5;"),
        ("version zero", "PRAGMA user_version = 0;"),
    ];
    let before = s.file_bytes();
    for (what, sql) in damages {
        let damaged = s.dir.path().join("damaged.db");
        std::fs::copy(&good, &damaged).unwrap();
        {
            let conn = Connection::open(&damaged).unwrap();
            conn.execute_batch(sql).unwrap_or_else(|e| panic!("{what}: {e}"));
            conn.execute_batch("PRAGMA journal_mode = DELETE;").ok();
        }
        let env = s.call(&s.owner, "backup.restore", json!({ "path": damaged }));
        assert_eq!(failure(&env), (400, "not_a_pitlane_database".into()), "{what}: {}", env.to_json());
        assert!(s.file_bytes() == before, "{what}: the live database is byte-for-byte untouched");
        std::fs::remove_file(&damaged).unwrap();
    }
    let env = s.call(&s.owner, "backup.restore", json!({ "path": good }));
    assert!(env.is_success(), "the undamaged backup still restores: {}", env.to_json());
}

#[test]
fn a_branch_from_before_the_idle_lock_gets_five_minutes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v12.db");
    {
        let conn = Connection::open(&path).unwrap();
        db::migrate_to(&conn, 12).unwrap();
        conn.execute(
            "INSERT INTO branches (id, code, name, country, time_zone, currency, default_tax_rate_bp,
                                   payment_terms_days, created_at, updated_at)
             VALUES ('b1', 'MAIN', 'Old Garage', 'US', 'America/New_York', 'USD', 825, 30,
                     '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')",
            [],
        )
        .unwrap();
    }
    let upgraded = db::open(&path).unwrap();
    let minutes: i64 =
        upgraded.query_row("SELECT idle_lock_minutes FROM branches WHERE id = 'b1'", [], |r| r.get(0)).unwrap();
    assert_eq!(minutes, 5);
    let refused = upgraded.execute("UPDATE branches SET idle_lock_minutes = 0 WHERE id = 'b1'", []);
    assert!(refused.is_err(), "the database itself refuses 0 minutes");
}
