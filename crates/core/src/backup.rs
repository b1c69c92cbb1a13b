//! Backups through SQLite's online backup API: a consistent copy of a live
//! database. Restore checks the file first and refuses one that is not a
//! Pitlane database (or one from a newer version, or one whose schema is
//! not exactly its version's) before the live database is touched.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, MAIN_DB};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::validate::{Validate, Violations};

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct PathInput {
    pub path: String,
}

impl Validate for PathInput {
    fn validate(&self, v: &mut Violations) {
        v.required("path", &self.path, 4096);
    }
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct BackupInfo {
    pub path: String,
    pub bytes: u64,
    pub schema_version: i64,
}

/// Whether `dest` is the live database or one of its side files.
fn is_live_file(conn: &Connection, dest: &Path) -> bool {
    let Some(live) = conn.path().filter(|p| !p.is_empty()) else { return false };
    let live = std::fs::canonicalize(live).unwrap_or_else(|_| PathBuf::from(live));
    let dest_dir = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let dest = std::fs::canonicalize(dest_dir)
        .map(|d| d.join(dest.file_name().unwrap_or_default()))
        .unwrap_or(dest.to_path_buf());
    let side = |ext: &str| {
        let mut s = live.clone().into_os_string();
        s.push(ext);
        PathBuf::from(s)
    };
    dest == live || dest == side("-wal") || dest == side("-shm") || dest == side("-journal")
}

/// Copies the open database to `dest`. The copy is written beside it under a
/// temporary name and renamed into place, so a failed backup leaves an
/// earlier file at `dest` as it was.
pub fn create(conn: &Connection, dest: &Path) -> Result<BackupInfo> {
    if is_live_file(conn, dest) {
        return Err(Error::field("path", "is the live database itself: choose another file"));
    }
    if dest.is_dir() {
        return Err(Error::field("path", "is a folder: give a file name"));
    }
    let mut partial = dest.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let _ = std::fs::remove_file(&partial);
    conn.backup(MAIN_DB, &partial, None).map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        match e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::CannotOpen => {
                Error::field("path", "cannot write there")
            }
            e => e.into(),
        }
    })?;
    std::fs::rename(&partial, dest).map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        Error::field("path", format!("cannot write there ({})", e.kind()))
    })?;
    let bytes = std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0);
    Ok(BackupInfo { path: dest.display().to_string(), bytes, schema_version: crate::db::version(conn)? })
}

/// Checks that `src` is a healthy Pitlane database this build can read.
pub fn check_backup_file(src: &Path) -> Result<i64> {
    if !src.is_file() {
        return Err(Error::field("path", "no such file"));
    }
    let probe = Connection::open_with_flags(src, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|_| Error::NotPitlaneDatabase("cannot be opened".into()))?;
    // Whatever the file holds, reading it fails as "not ours", never as a 500.
    let unreadable = |what: &str| {
        let what = what.to_string();
        move |_: rusqlite::Error| Error::NotPitlaneDatabase(format!("{what} cannot be read"))
    };
    probe.busy_timeout(Duration::from_secs(5)).map_err(unreadable("the file"))?;
    let app_id: i64 = probe
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|_| Error::NotPitlaneDatabase("not a SQLite file".into()))?;
    if app_id != crate::db::APPLICATION_ID {
        return Err(Error::NotPitlaneDatabase(format!("application id {app_id:#x}")));
    }
    let version = crate::db::version(&probe).map_err(|_| Error::NotPitlaneDatabase("no readable version".into()))?;
    if version > crate::db::latest_version() {
        return Err(Error::DatabaseTooNew { found: version, known: crate::db::latest_version() });
    }
    let check: String =
        probe.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(unreadable("the integrity check"))?;
    if check != "ok" {
        return Err(Error::NotPitlaneDatabase(format!("integrity check failed: {check}")));
    }
    crate::db::check_schema(&probe)?;
    Ok(version)
}

/// Replaces the open database's content with the backup at `src`, then
/// brings its schema up to date.
pub fn restore(conn: &mut Connection, src: &Path) -> Result<i64> {
    check_backup_file(src)?;
    conn.restore(MAIN_DB, src, None::<fn(rusqlite::backup::Progress)>)?;
    crate::db::apply_pragmas(conn)?;
    crate::db::migrate(conn)?;
    crate::db::version(conn)
}

pub fn create_cmd(ctx: &mut Ctx, input: PathInput) -> Result<BackupInfo> {
    let dest = PathBuf::from(&input.path);
    let info = create(ctx.conn(), &dest)?;
    ctx.write(|tx, stamp| {
        audit::record_tx(tx, stamp, "backup.create", "database", None, json!({ "bytes": info.bytes }))
    })?;
    Ok(info)
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct Restored {
    pub restored_from: String,
    pub schema_version: i64,
}

pub fn restore_cmd(ctx: &mut Ctx, input: PathInput) -> Result<Restored> {
    let src = PathBuf::from(&input.path);
    let version = restore(ctx.conn_mut(), &src)?;
    // The restored device's numbers after the backup may be in use (by the
    // database it replaced, and at the cloud): it issues none and syncs
    // nothing until the owner gives it a new identity (docs/SYNC.md 6).
    let host = ctx.host.clone();
    ctx.write(|tx, stamp| {
        audit::record_tx(tx, stamp, "backup.restore", "database", None, json!({}))?;
        if crate::settings::device(tx)?.is_some() {
            crate::device::record_host_tx(tx, host.as_ref())?;
            crate::device::doubt_tx(tx, stamp, crate::device::Doubt::Restored, "restored from a backup")?;
        }
        Ok(())
    })?;
    Ok(Restored { restored_from: src.display().to_string(), schema_version: version })
}
