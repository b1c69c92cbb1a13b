//! The cloud side of sync: `pitlane-cloud` (the release binary, over a PostgreSQL started
//! here) ingesting events from concurrent devices over HTTP, beside a multi-row INSERT of the
//! same rows into the same table (`event_bodies`, where pitlane-cloud stores the events) through
//! the same driver (sqlx), with as many connections as clients and the same batch size, in the
//! same run on the same server. The baseline writes only the events; pitlane-cloud also numbers
//! them (`event_order`), checks and updates the device, and answers over HTTP.

use std::time::{Duration, Instant};

use pitlane_cloud::batch::Envelope;
use pitlane_testkit::cloud::Cloud;
use pitlane_testkit::postgres::Postgres;
use serde_json::{json, Value};

struct Device {
    id: String,
    token: String,
    /// The batch bodies as the device sends them (JSON, and gzip as it does above 8 KiB).
    plain: Vec<Vec<u8>>,
    gzipped: Vec<Vec<u8>>,
    /// The same events checked, for the baseline.
    rows: Vec<Vec<Envelope>>,
}

/// A realistic envelope: a job card update with its lines, about 500 bytes of payload.
fn envelope(device: &str, seq: i64) -> Value {
    let card = format!("0193a1b2-0000-7000-8000-{:012}", seq % 5000);
    json!({
        "id": uuid::Uuid::now_v7().to_string(),
        "type": "JobCardUpdated",
        "schema_version": 1,
        "aggregate_type": "job_card",
        "aggregate_id": card,
        "occurred_at": "2026-12-02T06:30:00.250Z",
        "tenant_id": "tenant-bench",
        "branch_id": "branch-1",
        "device_id": device,
        "device_seq": seq,
        "actor_id": "0193a1b2-0000-7000-8000-00000000a001",
        "payload": {
            "job_card_id": card,
            "number": format!("A-{seq:06}"),
            "status": "in_progress",
            "technician_id": "0193a1b2-0000-7000-8000-00000000a002",
            "odometer_km": 84211 + seq,
            "notes": "Customer reports squeal when braking; replaced front pads and skimmed discs.",
            "lines": [
                {"kind": "labour", "description": "Front brake pads and discs", "quantity": 1500, "unit_price": 9000, "tax_rate": 2000},
                {"kind": "part", "description": "Brake pad set, front", "part_number": "BP-4471", "quantity": 1000, "unit_price": 4250, "tax_rate": 2000}
            ]
        }
    })
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

/// Runs the comparison and prints both rates and their ratio.
pub fn compare(devices: usize, per_device: usize, batch: usize) {
    let pg = Postgres::start();
    let total = devices * per_device;
    println!();
    println!("cloud ingest: {devices} devices x {per_device} events, batches of {batch}, {devices} concurrent clients");

    // Devices registered in each database the run uses.
    let dbs = ["raw", "cloud_plain", "cloud_gzip"];
    let urls: Vec<String> = dbs.iter().map(|d| pg.create_database(d)).collect();
    let mut clouds: Vec<Cloud> = urls.iter().map(|u| Cloud::start(u)).collect();
    let mut devs: Vec<Device> = Vec::new();
    let mut tokens: Vec<Vec<String>> = vec![Vec::new(); dbs.len()];
    let mut payload_bytes = 0usize;
    for d in 0..devices {
        let id = format!("0193a1b2-0000-7000-8000-0000000000{d:02}");
        for (i, cloud) in clouds.iter().enumerate() {
            tokens[i].push(cloud.add_device(&id, "tenant-bench", "branch-1"));
        }
        let events: Vec<Value> = (1..=per_device as i64).map(|s| envelope(&id, s)).collect();
        payload_bytes += events.iter().map(|e| e["payload"].to_string().len()).sum::<usize>();
        let mut plain = Vec::new();
        let mut gzipped = Vec::new();
        let mut rows = Vec::new();
        for chunk in events.chunks(batch) {
            let body = serde_json::to_vec(&json!({"device_id": id, "events": chunk, "holes": []})).expect("json");
            gzipped.push(gzip(&body));
            plain.push(body);
            rows.push(
                chunk
                    .iter()
                    .map(|e| {
                        pitlane_cloud::batch::envelope(&serde_json::value::to_raw_value(e).expect("json"))
                            .expect("a valid envelope")
                    })
                    .collect(),
            );
        }
        devs.push(Device { id, token: String::new(), plain, gzipped, rows });
    }
    println!(
        "  payload {} bytes on average; a batch is {} KiB of JSON, {} KiB gzipped",
        payload_bytes / total,
        devs[0].plain[0].len() / 1024,
        devs[0].gzipped[0].len() / 1024
    );
    // The baseline writes into its own database; the clouds there are only for registering.
    clouds.remove(0).kill();

    let raw = baseline(&urls[0], &devs, devices as u32);
    let raw_rate = total as f64 / raw.as_secs_f64();
    println!(
        "  multi-row INSERT via sqlx ({devices} connections)   {raw_rate:>10.0} events/s  ({:.2} s)",
        raw.as_secs_f64()
    );

    let mut rates = Vec::new();
    for (i, gz) in [(1usize, false), (2, true)] {
        let cloud = &clouds[i - 1];
        for (d, dev) in devs.iter_mut().enumerate() {
            dev.token = tokens[i][d].clone();
        }
        let cpu_before = cloud.cpu_seconds();
        let took = post_all(&cloud.url(), &devs, gz);
        let cpu = cloud.cpu_seconds().zip(cpu_before).map(|(after, before)| after - before);
        let stored = pg.psql(dbs[i], "SELECT count(*) || ' ' || max(cloud_seq) FROM events");
        assert_eq!(stored, format!("{total} {total}"), "every event stored once, cloud_seq gapless");
        let rate = total as f64 / took.as_secs_f64();
        let what = if gz { "gzip" } else { "JSON" };
        println!(
            "  pitlane-cloud, POST /v1/events ({what})       {rate:>10.0} events/s  ({:.2} s; the cloud process used {} of CPU)",
            took.as_secs_f64(),
            cpu.map(|c| format!("{c:.2} s")).unwrap_or_else(|| "? s".into())
        );
        rates.push(rate);
    }
    println!("  ratio cloud / raw, plain JSON                {:>10.2}   goal: >= 0.5", rates[0] / raw_rate);
    println!("  ratio cloud / raw, gzip (as devices send)    {:>10.2}   goal: >= 0.5", rates[1] / raw_rate);
}

/// Each device's batches posted in order by its own client, all devices at once.
fn post_all(base: &str, devs: &[Device], gz: bool) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for dev in devs {
            s.spawn(move || {
                let http =
                    reqwest::blocking::Client::builder().timeout(Duration::from_secs(300)).build().expect("client");
                let bodies = if gz { &dev.gzipped } else { &dev.plain };
                for body in bodies {
                    let mut req = http
                        .post(format!("{base}/v1/events"))
                        .header("Authorization", format!("Bearer {}", dev.token))
                        .header("Content-Type", "application/json");
                    if gz {
                        req = req.header("Content-Encoding", "gzip");
                    }
                    let res = req.body(body.clone()).send().expect("POST /v1/events");
                    assert_eq!(res.status().as_u16(), 200, "{}: {}", dev.id, res.text().unwrap_or_default());
                }
            });
        }
    });
    start.elapsed()
}

/// The same rows, the same batches, one multi-row INSERT each, `connections` at once.
fn baseline(url: &str, devs: &[Device], connections: u32) -> Duration {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio");
    rt.block_on(async {
        let pool =
            sqlx::postgres::PgPoolOptions::new().max_connections(connections).connect(url).await.expect("connect");
        let start = Instant::now();
        let mut tasks = Vec::new();
        for dev in devs {
            let pool = pool.clone();
            let rows = dev.rows.clone();
            tasks.push(tokio::spawn(async move {
                for batch in rows {
                    insert(&pool, &batch).await;
                }
            }));
        }
        for t in tasks {
            t.await.expect("an insert task");
        }
        start.elapsed()
    })
}

async fn insert(pool: &sqlx::PgPool, rows: &[Envelope]) {
    sqlx::query(
        "INSERT INTO event_bodies (id, device_id, device_seq, type, schema_version, aggregate_type,
                                   aggregate_id, occurred_at, tenant_id, branch_id, actor_id, payload)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::int[], $6::text[],
                              $7::text[], $8::timestamptz[], $9::text[], $10::text[], $11::text[],
                              $12::text[]::jsonb[])",
    )
    .bind(rows.iter().map(|e| e.id.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|e| e.device_id.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|e| e.device_seq).collect::<Vec<_>>())
    .bind(rows.iter().map(|e| e.event_type.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|e| e.schema_version).collect::<Vec<_>>())
    .bind(rows.iter().map(|e| e.aggregate_type.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|e| e.aggregate_id.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|e| e.occurred_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|e| e.tenant_id.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|e| e.branch_id.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|e| e.actor_id.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|e| e.payload.get()).collect::<Vec<_>>())
    .execute(pool)
    .await
    .expect("multi-row INSERT");
}
