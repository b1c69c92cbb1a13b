//! docs/SYNC.md sections 2-4, one scenario per test.

use serde_json::{json, Value};

use crate::{client, get, gzip, ids, post, post_bytes, Site};

#[test]
fn a_batch_sent_twice_is_stored_once() {
    let site = Site::start();
    let dev = site.device("dev-a", "t1", "b1");
    let events = dev.events(1..=3);
    let first = post(&site.cloud.url(), Some(&dev.token), &dev.batch(&events));
    assert_eq!(first.data()["accepted"], json!(ids(&events)));
    assert_eq!(first.data()["device_last_seq"], 3);
    let again = post(&site.cloud.url(), Some(&dev.token), &dev.batch(&events));
    assert_eq!(again.data()["accepted"], json!([]), "nothing is stored twice");
    assert_eq!(again.data()["duplicates"], json!(ids(&events)), "a repeat is answered as duplicates");
    assert_eq!(again.data()["device_last_seq"], 3);
    assert_eq!(site.count("events"), 3);
    // Overlapping: 2..4 stores only 4.
    let mut overlap = events[1..].to_vec();
    overlap.push(dev.event(4));
    let answer = post(&site.cloud.url(), Some(&dev.token), &dev.batch(&overlap));
    assert_eq!(answer.data()["accepted"], json!([overlap[2]["id"]]));
    assert_eq!(answer.data()["duplicates"], json!(ids(&overlap[..2])));
    assert_eq!(site.sql("SELECT string_agg(device_seq::text, ',' ORDER BY cloud_seq) FROM events"), "1,2,3,4");
}

#[test]
fn a_gap_is_refused_naming_where_to_resume_and_nothing_is_stored() {
    let site = Site::start();
    let dev = site.device("dev-a", "t1", "b1");
    post(&site.cloud.url(), Some(&dev.token), &dev.batch(&dev.events(1..=2))).data();
    let before = site.snapshot();
    let answer = post(&site.cloud.url(), Some(&dev.token), &dev.batch(&dev.events(4..=6)));
    assert_eq!((answer.status, answer.code()), (409, "sequence_gap"));
    assert_eq!(answer.body["details"]["expected_seq"], 3, "the device resends from 3");
    assert_eq!(site.snapshot(), before, "nothing of a refused batch is stored");
    // A gap inside one batch refuses all of it, even the part that would fit.
    let answer = post(&site.cloud.url(), Some(&dev.token), &dev.batch(&[dev.event(3), dev.event(5)]));
    assert_eq!((answer.status, answer.body["details"]["expected_seq"].clone()), (409, json!(3)));
    assert_eq!(site.snapshot(), before);
    post(&site.cloud.url(), Some(&dev.token), &dev.batch(&dev.events(3..=6))).data();
    assert_eq!(site.count("events"), 6, "resuming where the cloud said fills the sequence");
}

#[test]
fn holes_declared_now_are_filled_by_their_events_later() {
    let site = Site::start();
    let dev = site.device("dev-a", "t1", "b1");
    let held_back = dev.event(2);
    let body = json!({
        "device_id": dev.id,
        "events": [dev.event(1), dev.event(3)],
        "holes": [{"device_seq": 2, "event_id": held_back["id"], "reason": "quarantined"}],
    });
    let answer = post(&site.cloud.url(), Some(&dev.token), &body);
    assert_eq!(answer.data()["holes"], json!([2]));
    assert_eq!(answer.data()["device_last_seq"], 3, "a hole covers its number");
    let devices = get(&client(), &site.cloud.url(), &dev.token, "/v1/devices");
    assert_eq!(devices.data()["devices"][0]["open_holes"], 1);
    // Later numbers go on while the hole is open.
    post(&site.cloud.url(), Some(&dev.token), &dev.batch(&[dev.event(4)])).data();
    // The held event arrives and fills its hole.
    let answer = post(&site.cloud.url(), Some(&dev.token), &dev.batch(std::slice::from_ref(&held_back)));
    assert_eq!(answer.data()["accepted"], json!([held_back["id"]]));
    assert_eq!(site.count("device_holes"), 0, "the hole is filled");
    assert_eq!(
        site.sql("SELECT string_agg(device_seq::text, ',' ORDER BY cloud_seq) FROM events"),
        "1,3,4,2",
        "the late event gets the next cloud_seq"
    );
    // Sent again, it is a duplicate like any other.
    let again = post(&site.cloud.url(), Some(&dev.token), &dev.batch(std::slice::from_ref(&held_back)));
    assert_eq!(again.data()["duplicates"], json!([held_back["id"]]));
}

#[test]
fn a_number_reused_with_another_event_is_refused_and_nothing_changes() {
    let site = Site::start();
    let dev = site.device("dev-a", "t1", "b1");
    let stored = dev.events(1..=3);
    post(&site.cloud.url(), Some(&dev.token), &dev.batch(&stored)).data();
    let before = site.snapshot();
    // A restored backup numbers new work 3, 4 again.
    let answer = post(&site.cloud.url(), Some(&dev.token), &dev.batch(&dev.events(3..=4)));
    assert_eq!((answer.status, answer.code()), (409, "sequence_reused"));
    assert_eq!(answer.body["details"]["device_seq"], 3);
    assert_eq!(answer.body["details"]["held_event_id"], stored[2]["id"]);
    assert_eq!(site.snapshot(), before, "nothing at the cloud is overwritten");
    // Also when the batch starts with a genuine duplicate.
    let answer = post(&site.cloud.url(), Some(&dev.token), &dev.batch(&[stored[1].clone(), dev.event(3)]));
    assert_eq!(answer.code(), "sequence_reused");
    assert_eq!(site.snapshot(), before);
}

#[test]
fn a_missing_wrong_or_revoked_token_is_401_and_nothing_is_stored() {
    let site = Site::start();
    let dev = site.device("dev-a", "t1", "b1");
    let other = site.device("dev-b", "t1", "b1");
    site.cloud.revoke("dev-b");
    let body = dev.batch(&dev.events(1..=2));
    let revoked_body = other.batch(&other.events(1..=2));
    let cases: &[(&str, Option<&str>, &Value)] = &[
        ("no token", None, &body),
        ("an unknown token", Some("plc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), &body),
        ("a token of another form", Some("not-a-token"), &body),
        ("a revoked token", Some(&other.token), &revoked_body),
    ];
    for (name, token, body) in cases {
        let answer = post(&site.cloud.url(), *token, body);
        assert_eq!((answer.status, answer.code()), (401, "unauthorized"), "{name}");
        assert_eq!(answer.body["success"], false, "{name}: the envelope");
    }
    let answer = get(&client(), &site.cloud.url(), &other.token, "/v1/events");
    assert_eq!(answer.status, 401, "a revoked token reads nothing either");
    assert_eq!(site.count("events"), 0, "nothing stored");
}

#[test]
fn a_token_speaks_only_for_its_own_device_branch_and_tenant() {
    let site = Site::start();
    let dev = site.device("dev-a", "t1", "b1");
    let _neighbour = site.device("dev-b", "t1", "b2");
    for (field, value) in [("device_id", "dev-b"), ("branch_id", "b2"), ("tenant_id", "t2")] {
        let mut foreign = dev.event(2);
        foreign[field] = json!(value);
        let answer =
            post(&site.cloud.url(), Some(&dev.token), &dev.batch(&[dev.event(1), foreign.clone(), dev.event(3)]));
        assert_eq!((answer.status, answer.code()), (403, "wrong_identity"), "{field}");
        assert_eq!(answer.body["details"]["event_id"], foreign["id"], "{field}: the event is named");
        assert_eq!(site.count("events"), 0, "{field}: nothing of the batch is stored");
    }
    // A body for another device, with this device's token.
    let answer = post(&site.cloud.url(), Some(&dev.token), &json!({"device_id": "dev-b", "events": [], "holes": []}));
    assert_eq!((answer.status, answer.code()), (403, "wrong_device"));
    assert_eq!(site.count("events"), 0);
}

#[test]
fn a_malformed_event_is_422_naming_the_event_and_the_field() {
    let site = Site::start();
    let dev = site.device("dev-a", "t1", "b1");
    let mut bad = dev.event(2);
    bad["occurred_at"] = json!("last tuesday");
    let answer = post(&site.cloud.url(), Some(&dev.token), &dev.batch(&[dev.event(1), bad.clone()]));
    assert_eq!((answer.status, answer.code()), (422, "invalid_event"));
    assert_eq!(answer.body["details"], json!({"event_id": bad["id"], "field": "occurred_at"}));
    let answer = post(&site.cloud.url(), Some(&dev.token), &json!({"events": "nope"}));
    assert_eq!((answer.status, answer.code()), (400, "bad_request"));
    assert_eq!(site.count("events"), 0);
}

#[test]
fn a_gzip_body_is_stored_like_a_plain_one() {
    let site = Site::start();
    let dev = site.device("dev-a", "t1", "b1");
    let events = dev.events(1..=200);
    let body = gzip(&serde_json::to_vec(&dev.batch(&events)).unwrap());
    let answer = post_bytes(&client(), &site.cloud.url(), Some(&dev.token), body, true);
    assert_eq!(answer.data()["accepted"].as_array().unwrap().len(), 200);
    assert_eq!(
        site.sql(&format!("SELECT payload->>'notes' FROM events WHERE id = '{}'", events[7]["id"].as_str().unwrap())),
        "replaced front pads"
    );
    let answer = post_bytes(&client(), &site.cloud.url(), Some(&dev.token), b"not gzip".to_vec(), true);
    assert_eq!(answer.code(), "bad_request");
}

#[test]
fn a_batch_over_the_limits_is_413() {
    let site = Site::start();
    let dev = site.device("dev-a", "t1", "b1");
    let many = dev.batch(&dev.events(1..=5001));
    let answer = post(&site.cloud.url(), Some(&dev.token), &many);
    assert_eq!((answer.status, answer.code()), (413, "batch_too_large"), "5,001 events");
    let mut big = dev.event(1);
    big["payload"]["notes"] = json!("x".repeat(17 * 1024 * 1024));
    let body = serde_json::to_vec(&dev.batch(&[big])).unwrap();
    let answer = post_bytes(&client(), &site.cloud.url(), Some(&dev.token), body.clone(), false);
    assert_eq!((answer.status, answer.code()), (413, "batch_too_large"), "17 MiB plain");
    let answer = post_bytes(&client(), &site.cloud.url(), Some(&dev.token), gzip(&body), true);
    assert_eq!((answer.status, answer.code()), (413, "batch_too_large"), "17 MiB once decompressed");
    assert_eq!(site.count("events"), 0);
}

#[test]
fn reading_events_back_pages_in_cloud_seq_order_within_the_limits() {
    let site = Site::start();
    let a = site.device("dev-a", "t1", "b1");
    let b = site.device("dev-b", "t1", "b2");
    let stranger = site.device("dev-x", "t2", "b9");
    let mut sent = Vec::new();
    for chunk in 0..5 {
        for dev in [&a, &b] {
            let events = dev.events(chunk * 50 + 1..=chunk * 50 + 50);
            post(&site.cloud.url(), Some(&dev.token), &dev.batch(&events)).data();
            sent.extend(ids(&events));
        }
    }
    post(&site.cloud.url(), Some(&stranger.token), &stranger.batch(&stranger.events(1..=3))).data();
    let http = client();
    let (mut after, mut seen) = (0i64, Vec::new());
    loop {
        let page = get(&http, &site.cloud.url(), &a.token, &format!("/v1/events?after={after}&limit=70"));
        let events = page.data()["events"].as_array().unwrap().clone();
        assert!(events.len() <= 70);
        if events.is_empty() {
            assert_eq!(page.data()["last_cloud_seq"], after, "an empty page keeps the reader's place");
            break;
        }
        for e in &events {
            assert_eq!(e["cloud_seq"], after + 1, "gapless, in order");
            after += 1;
            seen.push(e["event"]["id"].clone());
        }
        assert_eq!(page.data()["last_cloud_seq"], after);
    }
    assert_eq!(seen, sent, "every event of the tenant once, in the order stored; none of another tenant");
    let first = get(&http, &site.cloud.url(), &a.token, "/v1/events");
    assert_eq!(first.data()["events"].as_array().unwrap().len(), 100, "limit defaults to 100");
    assert_eq!(first.data()["events"][0]["event"]["id"], sent[0]);
    let all = get(&http, &site.cloud.url(), &a.token, "/v1/events?limit=1000");
    assert_eq!(all.data()["events"].as_array().unwrap().len(), 500);
    let theirs = get(&http, &site.cloud.url(), &stranger.token, "/v1/events");
    assert_eq!(theirs.data()["events"].as_array().unwrap().len(), 3, "a tenant reads only its own events");
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("after=-1", "after"),
        ("after=x", "after"),
    ] {
        let answer = get(&http, &site.cloud.url(), &a.token, &format!("/v1/events?{query}"));
        assert_eq!((answer.status, answer.code()), (422, "validation_failed"), "{query}");
        assert_eq!(answer.body["details"]["field"], field, "{query}");
    }
}

#[test]
fn an_event_reads_back_as_the_device_sent_it() {
    let site = Site::start();
    let dev = site.device("dev-a", "t1", "b1");
    let mut event = dev.event(1);
    event["actor_id"] = Value::Null;
    post(&site.cloud.url(), Some(&dev.token), &dev.batch(std::slice::from_ref(&event))).data();
    let page = get(&client(), &site.cloud.url(), &dev.token, "/v1/events");
    assert_eq!(page.data()["events"][0]["event"], event, "the envelope round-trips field by field");
    assert_eq!(page.data()["events"][0]["cloud_seq"], 1);
}

#[test]
fn devices_lists_the_tenants_devices_with_their_last_seq_and_last_contact() {
    let site = Site::start();
    let a = site.device("dev-a", "t1", "b1");
    let _b = site.device("dev-b", "t1", "b2");
    let _c = site.device("dev-c", "t2", "b3");
    post(&site.cloud.url(), Some(&a.token), &a.batch(&a.events(1..=5))).data();
    site.cloud.revoke("dev-b");
    let answer = get(&client(), &site.cloud.url(), &a.token, "/v1/devices");
    let devices = answer.data()["devices"].as_array().unwrap().clone();
    assert_eq!(devices.len(), 2, "only the token's tenant: {devices:?}");
    let find = |id: &str| devices.iter().find(|d| d["device_id"] == id).cloned().unwrap();
    let (da, db) = (find("dev-a"), find("dev-b"));
    assert_eq!(
        (da["last_seq"].clone(), da["open_holes"].clone(), da["revoked"].clone()),
        (json!(5), json!(0), json!(false))
    );
    assert!(da["last_contact_at"].is_string(), "a device that posted has a last contact");
    assert_eq!(
        (db["last_seq"].clone(), db["last_contact_at"].clone(), db["revoked"].clone()),
        (json!(0), Value::Null, json!(true))
    );
    assert_eq!((da["tenant_id"].clone(), da["branch_id"].clone()), (json!("t1"), json!("b1")));
}

#[test]
fn health_is_503_while_the_database_is_down() {
    let mut site = Site::start();
    let dev = site.device("dev-a", "t1", "b1");
    let http = client();
    assert_eq!(http.get(format!("{}/health", site.cloud.url())).send().unwrap().status().as_u16(), 200);
    site.pg.stop();
    let res = http.get(format!("{}/health", site.cloud.url())).send().unwrap();
    assert_eq!(res.status().as_u16(), 503);
    let answer = post(&site.cloud.url(), Some(&dev.token), &dev.batch(&dev.events(1..=1)));
    assert_eq!((answer.status, answer.code()), (503, "unavailable"), "a batch is answered 503, to be retried");
}
