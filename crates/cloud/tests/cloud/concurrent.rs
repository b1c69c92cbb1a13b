//! Several pitlane-cloud processes over one database, several posters each, a reader paging
//! all along: every event is stored once, and the reader sees each once, in cloud_seq order,
//! with no gap (docs/SYNC.md sections 1 and 4).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use pitlane_testkit::cloud::Cloud;
use serde_json::Value;

use crate::{client, get, post_bytes, Device, Site};

/// A poster: walks its device's events in overlapping batches to the clouds in turn, resuming
/// where each answer says, until the cloud covers them all.
fn poster(clouds: Vec<String>, dev: Device, events: Arc<Vec<Value>>, seed: u64) {
    let http = client();
    let total = events.len() as i64;
    let mut rng = seed | 1;
    let mut next = |m: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % m
    };
    let mut from: i64 = 1;
    let mut turn = seed as usize;
    loop {
        let size = 20 + next(80) as i64;
        let to = (from + size - 1).min(total);
        let body = serde_json::to_vec(&dev.batch(&events[(from - 1) as usize..to as usize])).unwrap();
        turn += 1;
        let answer = post_bytes(&http, &clouds[turn % clouds.len()], Some(&dev.token), body, false);
        match (answer.status, answer.code()) {
            (200, _) => {
                let last = answer.body["data"]["device_last_seq"].as_i64().unwrap();
                if last >= total {
                    return;
                }
                // Step back a little so the next batch overlaps what is stored.
                from = (last + 1 - next(15) as i64).max(1);
            }
            (409, "sequence_gap") => from = answer.body["details"]["expected_seq"].as_i64().unwrap(),
            other => panic!("unexpected answer {other:?}: {}", answer.body),
        }
    }
}

/// Pages `GET /v1/events` until told to stop and then once more to the end; checks each event
/// follows the one before it.
fn reader(base: String, token: String, done: Arc<AtomicBool>) -> Vec<String> {
    let http = client();
    let (mut after, mut seen) = (0i64, Vec::new());
    loop {
        let finished = done.load(Ordering::SeqCst);
        let page = get(&http, &base, &token, &format!("/v1/events?after={after}&limit=37"));
        let events = page.data()["events"].as_array().unwrap().clone();
        for e in &events {
            assert_eq!(e["cloud_seq"], after + 1, "the reader sees cloud_seq without a gap, in order");
            after += 1;
            seen.push(e["event"]["id"].as_str().unwrap().to_owned());
        }
        if events.is_empty() && finished {
            return seen;
        }
    }
}

fn run(devices: usize, events_per_device: i64, posters_per_device: usize) {
    let site = Site::start();
    let second = Cloud::start(&site.url);
    let clouds = vec![site.cloud.url(), second.url()];
    let devs: Vec<Device> =
        (0..devices).map(|i| site.device(&format!("dev-{i}"), "t1", &format!("b{}", i % 2))).collect();
    let all: Vec<Arc<Vec<Value>>> = devs.iter().map(|d| Arc::new(d.events(1..=events_per_device))).collect();

    let done = Arc::new(AtomicBool::new(false));
    let reading = {
        let (base, token, done) = (clouds[1].clone(), devs[0].token.clone(), done.clone());
        thread::spawn(move || reader(base, token, done))
    };
    let mut posters = Vec::new();
    for (i, dev) in devs.iter().enumerate() {
        for p in 0..posters_per_device {
            let (clouds, dev, events) = (clouds.clone(), dev.clone(), all[i].clone());
            posters.push(thread::spawn(move || poster(clouds, dev, events, (i * 31 + p * 7 + 1) as u64)));
        }
    }
    for p in posters {
        p.join().expect("a poster failed");
    }
    done.store(true, Ordering::SeqCst);
    let seen = reading.join().expect("the reader failed");

    let total = devices as i64 * events_per_device;
    assert_eq!(site.count("events"), total, "each event stored once");
    assert_eq!(site.sql("SELECT count(DISTINCT id) FROM events"), total.to_string());
    assert_eq!(
        site.sql("SELECT min(cloud_seq) || ' ' || max(cloud_seq) FROM events"),
        format!("1 {total}"),
        "gapless cloud_seq"
    );
    for dev in &devs {
        assert_eq!(
            site.sql(&format!(
                "SELECT count(*) || ' ' || min(device_seq) || ' ' || max(device_seq) FROM events WHERE device_id = '{}'",
                dev.id
            )),
            format!("{events_per_device} 1 {events_per_device}"),
            "{}: its whole sequence, once",
            dev.id
        );
    }
    let mut expected: Vec<String> =
        all.iter().flat_map(|evs| evs.iter().map(|e| e["id"].as_str().unwrap().to_owned())).collect();
    let mut got = seen.clone();
    assert_eq!(got.len(), expected.len(), "the reader saw every event exactly once");
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "the reader saw exactly the events sent");
    // Per device, the reader saw each device's events in device_seq order.
    let order = site.sql("SELECT count(*) FROM (SELECT device_seq < lag(device_seq) OVER (PARTITION BY device_id ORDER BY cloud_seq) AS back FROM events) t WHERE back");
    assert_eq!(order, "0", "a device's events take cloud_seq in its own order");
}

#[test]
fn two_clouds_receiving_one_devices_overlapping_batches_store_each_event_once() {
    run(1, 1500, 4);
}

#[test]
fn several_devices_posting_to_two_clouds_at_once_interleave_without_gap_or_duplicate() {
    run(4, 600, 2);
}
