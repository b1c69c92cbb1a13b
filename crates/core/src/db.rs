//! Opening the database: pragmas, the version check and migrations.
//!
//! Migrations are the numbered files in `migrations/`, embedded at build time
//! and applied in order in one transaction. `PRAGMA user_version` holds the
//! number of migrations applied; `PRAGMA application_id` marks the file as
//! Pitlane's.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::{Error, Result};

/// 'PTLN' in ASCII: set by the first migration.
pub const APPLICATION_ID: i64 = 0x5054_4C4E;

/// The migrations, in order. Append only: never edit or reorder a released one.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("../../../migrations/0001_init.sql")),
    ("0002_customers_vehicles", include_str!("../../../migrations/0002_customers_vehicles.sql")),
    ("0003_inventory_services", include_str!("../../../migrations/0003_inventory_services.sql")),
    ("0004_job_cards_invoices", include_str!("../../../migrations/0004_job_cards_invoices.sql")),
    ("0005_appointments", include_str!("../../../migrations/0005_appointments.sql")),
    ("0006_payments", include_str!("../../../migrations/0006_payments.sql")),
    ("0007_card_payments", include_str!("../../../migrations/0007_card_payments.sql")),
    ("0008_jobs", include_str!("../../../migrations/0008_jobs.sql")),
    ("0009_invoice_settings", include_str!("../../../migrations/0009_invoice_settings.sql")),
    ("0010_refund_attempts", include_str!("../../../migrations/0010_refund_attempts.sql")),
    ("0011_job_order", include_str!("../../../migrations/0011_job_order.sql")),
    ("0012_login_failures", include_str!("../../../migrations/0012_login_failures.sql")),
    ("0013_idle_lock", include_str!("../../../migrations/0013_idle_lock.sql")),
    ("0014_sync", include_str!("../../../migrations/0014_sync.sql")),
    ("0015_device_identity", include_str!("../../../migrations/0015_device_identity.sql")),
];

/// The schema version this build writes.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Opens (creating if needed) a Pitlane database and brings its schema up to date.
///
/// A file written by a newer version, or a SQLite file that is not Pitlane's,
/// is refused before anything is written to it.
pub fn open(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(5))?;
    check_identity(&conn)?;
    apply_pragmas(&conn)?;
    migrate(&conn)?;
    Ok(conn)
}

/// An in-memory database with the full schema: for tests and benchmarks.
pub fn open_in_memory() -> Result<Connection> {
    let conn = Connection::open_in_memory()?;
    apply_pragmas(&conn)?;
    migrate(&conn)?;
    Ok(conn)
}

/// What a file holds, read without writing to it.
pub fn check_identity(conn: &Connection) -> Result<()> {
    let app_id: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0)).map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => {
            Error::NotPitlaneDatabase("not a SQLite file".into())
        }
        e => e.into(),
    })?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    if app_id == 0 && version == 0 && tables == 0 {
        return Ok(()); // a new, empty file
    }
    if app_id != APPLICATION_ID {
        return Err(Error::NotPitlaneDatabase(format!("application id {app_id:#x} with {tables} schema objects")));
    }
    if version > latest_version() {
        return Err(Error::DatabaseTooNew { found: version, known: latest_version() });
    }
    Ok(())
}

/// Checks that `conn`'s schema is exactly what the migrations make at its
/// `user_version`: no table, column, index or trigger missing, added or
/// changed. A file with Pitlane's application id but a damaged schema (a
/// table dropped, a column set changed, `sqlite_master` edited by hand, a
/// version that does not match its tables) is `NotPitlaneDatabase`, as is a
/// schema SQLite itself cannot read. Reads only.
pub fn check_schema(conn: &Connection) -> Result<()> {
    let damaged = |why: &str| Error::NotPitlaneDatabase(format!("damaged schema: {why}"));
    let version = version(conn).map_err(|_| damaged("unreadable"))?;
    if !(1..=latest_version()).contains(&version) {
        return Err(damaged("no known version"));
    }
    let found = schema_dump(conn).map_err(|_| damaged("unreadable"))?;
    let reference = Connection::open_in_memory()?;
    migrate_to(&reference, version)?;
    if found != schema_dump(&reference)? {
        return Err(damaged(&format!("differs from version {version}'s")));
    }
    Ok(())
}

pub fn apply_pragmas(conn: &Connection) -> Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    // Room for every statement of a busy orchestrator: a miss re-prepares.
    conn.set_prepared_statement_cache_capacity(128);
    // journal_mode answers with a row; in memory it stays "memory".
    let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;")?;
    Ok(())
}

/// Applies every pending migration in one IMMEDIATE transaction.
pub fn migrate(conn: &Connection) -> Result<()> {
    migrate_to(conn, latest_version())
}

/// Applies the migrations up to `target` (a count). Used by `migrate` and by
/// the upgrade tests that build a database as an older version left it.
pub fn migrate_to(conn: &Connection, target: i64) -> Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > latest_version() {
        return Err(Error::DatabaseTooNew { found: version, known: latest_version() });
    }
    if version >= target {
        return Ok(());
    }
    // `Connection::transaction_with_behavior` needs `&mut`; do it by hand.
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| -> Result<()> {
        for (i, (name, sql)) in MIGRATIONS.iter().enumerate().take(target as usize).skip(version as usize) {
            conn.execute_batch(sql).map_err(|e| Error::Internal(format!("migration {name} failed: {e}")))?;
            conn.pragma_update(None, "user_version", (i + 1) as i64)?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => {
            conn.execute_batch("COMMIT")?;
            tracing::info!(from = version, to = target, "database migrated");
            Ok(())
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Current schema version of an open database.
pub fn version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Begins an IMMEDIATE transaction (the write lock is taken at once, so a
/// busy database is reported at the start, not half-way).
pub fn immediate(conn: &mut Connection) -> Result<rusqlite::Transaction<'_>> {
    Ok(conn.transaction_with_behavior(TransactionBehavior::Immediate)?)
}

/// A normalized dump of the schema (type, name, SQL), for comparing databases.
pub fn schema_dump(conn: &Connection) -> Result<Vec<(String, String, String)>> {
    let mut stmt = conn.prepare(
        "SELECT type, name, coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
    )?;
    let rows =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, String>(2)?)))?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .map(|(t, n, s): (String, String, String)| (t, n, s.split_whitespace().collect::<Vec<_>>().join(" ")))
        .collect())
}
