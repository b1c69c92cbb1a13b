//! A real database in a temporary directory, a fixed clock and predictable ids.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use chrono::{TimeZone, Utc};
use pitlane_core::{Api, Envelope, FixedClock, SequentialIds};
use serde_json::{json, Value};

pub const PIN: &str = "2468";

pub struct Shop {
    pub api: Api,
    pub clock: Arc<FixedClock>,
    pub dir: tempfile::TempDir,
    pub owner: String,
}

pub fn db_path(dir: &Path) -> PathBuf {
    dir.join("pitlane.db")
}

/// Opens (or reopens) the database in `dir` with a fixed clock.
pub fn open_at(dir: &Path, clock: Arc<FixedClock>) -> Api {
    let conn = pitlane_core::db::open(&db_path(dir)).expect("open database");
    Api::with_parts(conn, clock, Arc::new(SequentialIds::default()), Some(db_path(dir)))
}

/// Like [`open_at`] with real UUIDv7 ids: for several cores on one file at
/// once (two processes), whose ids must not collide.
pub fn open_with_real_ids(dir: &Path, clock: Arc<FixedClock>) -> Api {
    let conn = pitlane_core::db::open(&db_path(dir)).expect("open database");
    Api::with_parts(conn, clock, Arc::new(pitlane_core::UuidV7Ids), Some(db_path(dir)))
}

pub fn start_clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(Utc.with_ymd_and_hms(2026, 11, 24, 14, 0, 0).single().expect("valid time")))
}

/// A set-up shop: branch in the US, owner `owner` with PIN [`PIN`], logged in.
pub fn shop() -> Shop {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = start_clock();
    let api = open_at(dir.path(), clock.clone());
    ok(
        &api,
        None,
        "setup.init",
        json!({
            "branch_name": "Test Garage", "owner_name": "Olga Owner", "owner_code": "owner", "owner_pin": PIN,
            "time_zone": "America/New_York", "currency": "USD", "country": "US", "default_tax_rate_bp": 825,
        }),
    );
    let owner = api.login("owner", PIN).expect("owner logs in");
    Shop { api, clock, dir, owner }
}

impl Shop {
    pub fn call(&self, token: &str, command: &str, input: Value) -> Envelope {
        self.api.call_value(Some(token), command, &input)
    }

    pub fn ok(&self, token: &str, command: &str, input: Value) -> Value {
        ok(&self.api, Some(token), command, input)
    }

    /// Adds a staff member with `role` and logs them in.
    pub fn staff(&self, code: &str, role: &str) -> String {
        self.ok(
            &self.owner,
            "staff.create",
            json!({ "code": code, "name": format!("{code} person"), "role": role, "pin": PIN }),
        );
        self.api.login(code, PIN).expect("staff logs in")
    }

    pub fn item(&self, sku: &str, name: &str, on_hand: i64, reorder: i64) -> String {
        let v = self.ok(&self.owner, "inventory.create_item", json!({
            "sku": sku, "name": name, "opening_stock": on_hand, "reorder_level": reorder, "price": 1299, "cost": 500,
        }));
        v["id"].as_str().expect("item id").to_string()
    }

    /// Every row of every table, in a stable order: "nothing changed" is
    /// this dump being equal before and after.
    pub fn dump(&self) -> Vec<(String, Vec<String>)> {
        dump(&self.api.lock_conn())
    }

    /// The database file's bytes after a full checkpoint (WAL emptied).
    pub fn file_bytes(&self) -> Vec<u8> {
        let conn = self.api.lock_conn();
        let (busy, _, _): (i64, i64, i64) = conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("checkpoint");
        assert_eq!(busy, 0, "checkpoint completed");
        let path = db_path(self.dir.path());
        let wal = std::fs::metadata(path.with_extension("db-wal")).map(|m| m.len()).unwrap_or(0);
        assert_eq!(wal, 0, "WAL is empty after a TRUNCATE checkpoint");
        std::fs::read(path).expect("read db")
    }
}

pub fn ok(api: &Api, token: Option<&str>, command: &str, input: Value) -> Value {
    let env = api.call_value(token, command, &input);
    match env.data() {
        Some(d) => d.clone(),
        None => panic!("{command} failed: {}", env.to_json()),
    }
}

pub fn dump(conn: &rusqlite::Connection) -> Vec<(String, Vec<String>)> {
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("tables")
        .collect::<Result<_, _>>()
        .expect("names");
    tables
        .into_iter()
        .map(|t| {
            let mut stmt = conn.prepare(&format!("SELECT * FROM \"{t}\"")).expect("select");
            let n = stmt.column_count();
            let mut rows: Vec<String> = stmt
                .query_map([], |r| {
                    let cols: Vec<String> =
                        (0..n).map(|i| format!("{:?}", r.get_ref(i).map(|v| v.to_owned()))).collect();
                    Ok(cols.join("|"))
                })
                .expect("rows")
                .collect::<Result<_, _>>()
                .expect("collect");
            rows.sort();
            (t, rows)
        })
        .collect()
}

/// A PIN hash made once: argon2 is slow by design.
pub fn owner_pin_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| pitlane_core::staff::hash_pin(&pitlane_core::staff::Pin::new(PIN)).expect("hash"))
}

pub fn failure(env: &Envelope) -> (u16, String) {
    match env {
        Envelope::Failure { status_code, code, .. } => (*status_code, code.clone()),
        Envelope::Success { .. } => panic!("expected a failure, got {}", env.to_json()),
    }
}

/// A small deterministic generator for the crash and racing tests (each
/// child gets its own seed).
pub struct Dice(pub u64);

impl Dice {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}
