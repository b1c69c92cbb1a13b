//! pitlane-cloud end to end: the real binary on a real PostgreSQL started by each test
//! (crates/testkit), spoken to over HTTP as a device would.

mod concurrent;
mod protocol;

use std::io::Write;

use pitlane_testkit::cloud::Cloud;
use pitlane_testkit::postgres::Postgres;
use serde_json::{json, Value};

/// A PostgreSQL server, a database `cloud` on it, and one pitlane-cloud process.
pub struct Site {
    pub pg: Postgres,
    pub url: String,
    pub cloud: Cloud,
}

impl Site {
    pub fn start() -> Site {
        let pg = Postgres::start();
        let url = pg.create_database("cloud");
        let cloud = Cloud::start(&url);
        Site { pg, url, cloud }
    }

    /// Registers a device and returns it, ready to make events.
    pub fn device(&self, id: &str, tenant: &str, branch: &str) -> Device {
        let token = self.cloud.add_device(id, tenant, branch);
        Device { id: id.into(), tenant: tenant.into(), branch: branch.into(), token }
    }

    /// One SQL answer (tuples only) from the cloud's database.
    pub fn sql(&self, sql: &str) -> String {
        self.pg.psql("cloud", sql)
    }

    /// Every stored event and hole, for "nothing changed" comparisons.
    pub fn snapshot(&self) -> String {
        self.sql(
            "SELECT coalesce(string_agg(cloud_seq || ' ' || id || ' ' || device_id || ' ' || device_seq, ',' ORDER BY cloud_seq), '')
               || '|' || (SELECT coalesce(string_agg(device_id || ' ' || device_seq, ',' ORDER BY device_id, device_seq), '') FROM device_holes)
               || '|' || (SELECT string_agg(id || ' ' || last_seq, ',' ORDER BY id) FROM devices)
             FROM events",
        )
    }

    pub fn count(&self, table: &str) -> i64 {
        self.sql(&format!("SELECT count(*) FROM {table}")).parse().expect("a count")
    }
}

/// A registered device: its identity and token.
#[derive(Clone)]
pub struct Device {
    pub id: String,
    pub tenant: String,
    pub branch: String,
    pub token: String,
}

impl Device {
    /// A realistic envelope of this device at `seq`.
    pub fn event(&self, seq: i64) -> Value {
        json!({
            "id": uuid::Uuid::now_v7().to_string(),
            "type": "JobCardUpdated",
            "schema_version": 1,
            "aggregate_type": "job_card",
            "aggregate_id": format!("jc-{}", seq % 7),
            "occurred_at": "2026-12-02T06:30:00.250Z",
            "tenant_id": self.tenant,
            "branch_id": self.branch,
            "device_id": self.id,
            "device_seq": seq,
            "actor_id": "staff-1",
            "payload": {"job_card_id": format!("jc-{}", seq % 7), "notes": "replaced front pads", "odometer_km": 84_211},
        })
    }

    pub fn events(&self, seqs: std::ops::RangeInclusive<i64>) -> Vec<Value> {
        seqs.map(|s| self.event(s)).collect()
    }

    pub fn batch(&self, events: &[Value]) -> Value {
        json!({ "device_id": self.id, "events": events, "holes": [] })
    }
}

/// One HTTP answer: status and envelope.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
    pub fn data(&self) -> &Value {
        assert_eq!(self.status, 200, "expected success, got {}", self.body);
        &self.body["data"]
    }
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().timeout(std::time::Duration::from_secs(120)).build().expect("http client")
}

/// POSTs a batch body (JSON), with `token` when given.
pub fn post(base: &str, token: Option<&str>, body: &Value) -> Answer {
    post_bytes(&client(), base, token, serde_json::to_vec(body).unwrap(), false)
}

pub fn post_bytes(
    client: &reqwest::blocking::Client,
    base: &str,
    token: Option<&str>,
    body: Vec<u8>,
    gzip: bool,
) -> Answer {
    let mut req = client.post(format!("{base}/v1/events")).header("Content-Type", "application/json");
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    if gzip {
        req = req.header("Content-Encoding", "gzip");
    }
    let res = req.body(body).send().expect("POST /v1/events");
    let status = res.status().as_u16();
    let body = res.json().unwrap_or(Value::Null);
    Answer { status, body }
}

pub fn get(client: &reqwest::blocking::Client, base: &str, token: &str, path: &str) -> Answer {
    let res =
        client.get(format!("{base}{path}")).header("Authorization", format!("Bearer {token}")).send().expect("GET");
    let status = res.status().as_u16();
    let body = res.json().unwrap_or(Value::Null);
    Answer { status, body }
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

pub fn ids(events: &[Value]) -> Vec<Value> {
    events.iter().map(|e| e["id"].clone()).collect()
}
