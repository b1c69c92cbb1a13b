//! The proxy against a tiny upstream started here: it answers every batch
//! with 200 and all its ids accepted, and counts what reached it.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

/// A tiny upstream on its own runtime; stops (and drops its connections)
/// when dropped.
struct Tiny {
    url: String,
    received: Arc<AtomicUsize>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Tiny {
    /// `delay`: how long it takes to answer a batch.
    fn start(delay: Duration) -> Tiny {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(AtomicUsize::new(0));
        let counter = received.clone();
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let counter = counter.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let counter = counter.clone();
                        async move {
                            let gzip = req.headers().get("content-encoding").is_some();
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            tokio::time::sleep(delay).await;
                            counter.fetch_add(1, Ordering::SeqCst);
                            let captured = Captured {
                                method: reqwest::Method::POST,
                                path_and_query: String::new(),
                                headers: if gzip {
                                    vec![(hyper::header::CONTENT_ENCODING, HeaderValue::from_static("gzip"))]
                                } else {
                                    Vec::new()
                                },
                                body,
                            };
                            let ids = decode_batch(&captured).map(|b| event_ids(&b)).unwrap_or_default();
                            let answer = json!({"success": true, "data": {"accepted": ids,
                                "duplicates": [], "holes": [], "device_last_seq": 0}});
                            Ok::<_, Infallible>(
                                Response::builder()
                                    .header("content-type", "application/json")
                                    .header("x-upstream", "tiny")
                                    .body(Full::new(Bytes::from(answer.to_string())))
                                    .unwrap(),
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Tiny { url, received, runtime: Some(runtime) }
    }

    fn received(&self) -> usize {
        self.received.load(Ordering::SeqCst)
    }
}

impl Drop for Tiny {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

use std::convert::Infallible;

fn batch(ids: &[&str]) -> Value {
    let events: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            json!({"id": id, "type": "customer.created", "aggregate_type": "customer",
                   "aggregate_id": format!("c{i}"), "device_seq": i + 1, "payload": {}})
        })
        .collect();
    json!({"device_id": "d1", "events": events, "holes": [{"device_seq": 99, "event_id": "h", "reason": "held"}]})
}

fn client(timeout: Duration) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().timeout(timeout).build().unwrap()
}

fn post(proxy: &Proxy, body: &Value) -> reqwest::Result<reqwest::blocking::Response> {
    client(Duration::from_secs(30))
        .post(format!("{}/v1/events", proxy.url()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
}

fn json_of(response: reqwest::blocking::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, serde_json::from_str(&response.text().unwrap()).unwrap())
}

/// Waits (without a deadline that could fail a slow machine's run) until
/// `done` holds, up to a minute.
fn eventually(done: impl Fn() -> bool) -> bool {
    let until = Instant::now() + Duration::from_secs(60);
    while Instant::now() < until {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

#[test]
fn an_empty_script_passes_batches_and_other_requests_with_the_upstreams_answer() {
    let tiny = Tiny::start(Duration::ZERO);
    let proxy = Proxy::start(&tiny.url).unwrap();
    let response = post(&proxy, &batch(&["e1", "e2"])).unwrap();
    assert_eq!(response.headers()["x-upstream"], "tiny", "the upstream's headers come back");
    let (status, body) = json_of(response);
    assert_eq!(status, 200);
    assert_eq!(body["data"]["accepted"], json!(["e1", "e2"]));
    let health = client(Duration::from_secs(30)).get(format!("{}/health", proxy.url())).send().unwrap();
    assert_eq!(health.status().as_u16(), 200, "a non-batch request passes");
    assert_eq!(tiny.received(), 2);
    let stats = proxy.stats();
    assert_eq!((stats.requests, stats.batches, stats.forwarded, stats.passed), (2, 1, 2, 1));
    let seen = proxy.batches();
    assert_eq!(seen.len(), 1, "only the batch is logged");
    assert_eq!(seen[0].event_ids, vec!["e1", "e2"]);
    assert_eq!(seen[0].holes, vec![99]);
    assert_eq!(seen[0].upstream_status, Some(200));
}

#[test]
fn a_dropped_request_never_reaches_the_upstream_and_the_next_one_passes() {
    let tiny = Tiny::start(Duration::ZERO);
    let proxy = Proxy::start(&tiny.url).unwrap();
    proxy.script([Fault::DropRequest]);
    assert!(post(&proxy, &batch(&["e1"])).is_err(), "the connection closes without an answer");
    assert_eq!(tiny.received(), 0, "nothing was forwarded");
    assert_eq!(json_of(post(&proxy, &batch(&["e1"])).unwrap()).0, 200, "then the script is empty");
    assert_eq!(tiny.received(), 1);
    let stats = proxy.stats();
    assert_eq!((stats.dropped, stats.passed, stats.forwarded), (1, 1, 1));
    assert_eq!(proxy.pending(), 0);
}

#[test]
fn commit_then_drop_reaches_the_upstream_but_the_answer_is_lost() {
    let tiny = Tiny::start(Duration::ZERO);
    let proxy = Proxy::start(&tiny.url).unwrap();
    proxy.script([Fault::CommitThenDrop]);
    assert!(post(&proxy, &batch(&["e1"])).is_err(), "no answer reaches the device");
    assert_eq!(tiny.received(), 1, "the upstream answered (committed) before the drop");
    assert_eq!(proxy.stats().committed_then_dropped, 1);
    assert_eq!(proxy.batches()[0].upstream_status, Some(200));
}

#[test]
fn a_held_answer_is_committed_upstream_before_the_device_gets_it() {
    let tiny = Tiny::start(Duration::ZERO);
    let proxy = Proxy::start(&tiny.url).unwrap();
    let hold = Duration::from_millis(700);
    proxy.script([Fault::HoldAnswer { hold }, Fault::HoldAnswer { hold }]);
    let sent = Instant::now();
    let waiting = {
        let url = proxy.url();
        std::thread::spawn(move || {
            let response = client(Duration::from_secs(30))
                .post(format!("{url}/v1/events"))
                .body(batch(&["e1"]).to_string())
                .send()
                .unwrap();
            (json_of(response), Instant::now())
        })
    };
    assert!(eventually(|| proxy.answers_held_now() == 1), "the answer is held");
    assert_eq!(tiny.received(), 1, "the upstream answered (committed) before the hold");
    let ((status, body), got) = waiting.join().unwrap();
    assert_eq!((status, body["data"]["accepted"].clone()), (200, json!(["e1"])), "then the answer passes");
    assert!(got - sent >= hold, "the device waited out the hold");
    assert_eq!(proxy.answers_held_now(), 0);
    let held = proxy.batches()[0].answer_held.expect("the hold is logged");
    let until = held.until.expect("and its end");
    assert!(until >= held.from + hold && until <= got, "the hold ended before the device got the answer");
    assert!(held.covers(held.from, until - Duration::from_millis(1)) && !held.covers(held.from, until));

    // A device that gives up (or dies) during the hold never gets the answer; the cloud keeps
    // the batch.
    let impatient = client(Duration::from_millis(200));
    let lost = impatient.post(format!("{}/v1/events", proxy.url())).body(batch(&["e2"]).to_string()).send();
    assert!(lost.unwrap_err().is_timeout());
    assert_eq!(tiny.received(), 2);
    assert!(eventually(|| proxy.in_flight() == 0), "the hold ends on its own");
    assert_eq!(proxy.stats().answers_held, 2);
}

#[test]
fn a_duplicated_batch_reaches_the_upstream_twice_and_the_second_answer_returns() {
    let tiny = Tiny::start(Duration::ZERO);
    let proxy = Proxy::start(&tiny.url).unwrap();
    proxy.script([Fault::Duplicate]);
    let (status, body) = json_of(post(&proxy, &batch(&["e1", "e2"])).unwrap());
    assert_eq!((status, body["data"]["accepted"].clone()), (200, json!(["e1", "e2"])));
    assert_eq!(tiny.received(), 2, "the same request went upstream twice");
    let stats = proxy.stats();
    assert_eq!((stats.duplicated, stats.forwarded), (1, 2));
}

#[test]
fn a_stall_outlasts_the_clients_timeout_then_forwards_late_or_drops() {
    let tiny = Tiny::start(Duration::ZERO);
    let proxy = Proxy::start(&tiny.url).unwrap();
    let hold = Duration::from_millis(800);
    proxy.script([Fault::Stall { hold, then: AfterStall::Forward }, Fault::Stall { hold, then: AfterStall::Drop }]);
    let impatient = client(Duration::from_millis(200));
    let late = impatient.post(format!("{}/v1/events", proxy.url())).body(batch(&["e1"]).to_string()).send();
    assert!(late.unwrap_err().is_timeout(), "the client gives up first");
    assert!(eventually(|| tiny.received() == 1), "the stalled batch still reaches the upstream");
    let dropped = impatient.post(format!("{}/v1/events", proxy.url())).body(batch(&["e2"]).to_string()).send();
    assert!(dropped.unwrap_err().is_timeout());
    std::thread::sleep(hold * 2);
    assert_eq!(tiny.received(), 1, "a stall that drops never forwards");
    assert_eq!(proxy.stats().stalled, 2);
    for seen in proxy.batches() {
        let held = seen.request_held.expect("the stall is logged");
        assert!(held.until.is_some_and(|until| until >= held.from + hold), "held for the whole stall");
    }
    assert_eq!(proxy.requests_held_now(), 0);
}

#[test]
fn errors_500_and_429_answer_without_forwarding_and_429_says_when_to_retry() {
    let tiny = Tiny::start(Duration::ZERO);
    let proxy = Proxy::start(&tiny.url).unwrap();
    proxy.script([Fault::Status500, Fault::Status429 { retry_after: 7 }]);
    let (status, body) = json_of(post(&proxy, &batch(&["e1"])).unwrap());
    assert_eq!((status, body["success"].clone(), body["status_code"].clone()), (500, json!(false), json!(500)));
    let response = post(&proxy, &batch(&["e1"])).unwrap();
    assert_eq!(response.headers()["retry-after"], "7");
    let (status, body) = json_of(response);
    assert_eq!((status, body["code"].as_str()), (429, Some("rate_limited")));
    assert_eq!(tiny.received(), 0, "neither reached the upstream");
    let stats = proxy.stats();
    assert_eq!((stats.status_500, stats.status_429, stats.forwarded), (1, 1, 0));
}

fn gzipped(body: &Value) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(body.to_string().as_bytes()).unwrap();
    encoder.finish().unwrap()
}

fn post_gzip(proxy: &Proxy, body: &Value) -> (u16, Value) {
    json_of(
        client(Duration::from_secs(30))
            .post(format!("{}/v1/events", proxy.url()))
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(gzipped(body))
            .send()
            .unwrap(),
    )
}

#[test]
fn a_rejected_event_is_named_in_a_422_and_stays_rejected_until_told_to_stop() {
    let tiny = Tiny::start(Duration::ZERO);
    let proxy = Proxy::start(&tiny.url).unwrap();
    proxy.script([Fault::RejectEvent422(Pick::Nth(1))]);
    let (status, body) = post_gzip(&proxy, &batch(&["e1", "e2", "e3"]));
    assert_eq!(status, 422, "a gzipped batch is read too");
    assert_eq!(
        body,
        json!({"success": false, "code": "invalid_event",
               "message": "fault proxy: the event's payload is refused", "status_code": 422,
               "details": {"event_id": "e2", "field": "payload"}})
    );
    assert_eq!(proxy.rejecting(), vec!["e2"]);
    let (status, body) = json_of(post(&proxy, &batch(&["e2", "e3"])).unwrap());
    assert_eq!((status, body["details"]["event_id"].as_str()), (422, Some("e2")), "sticky");
    let (status, body) = post_gzip(&proxy, &batch(&["e1", "e3"]));
    assert_eq!((status, body["data"]["accepted"].clone()), (200, json!(["e1", "e3"])));
    proxy.stop_rejecting();
    assert_eq!(json_of(post(&proxy, &batch(&["e2"])).unwrap()).0, 200, "the cause is fixed");
    assert_eq!(tiny.received(), 2, "no rejected batch reached the upstream");
    assert_eq!(proxy.stats().rejected_422, 2);
}

#[test]
fn a_rejection_by_id_or_predicate_waits_for_a_batch_that_carries_its_event() {
    let tiny = Tiny::start(Duration::ZERO);
    let proxy = Proxy::start(&tiny.url).unwrap();
    let third = Pick::Matching(Arc::new(|event: &Value| event["device_seq"] == json!(3)));
    proxy.script([Fault::RejectEvent422(Pick::Id("e9".into())), Fault::RejectEvent422(third)]);
    assert_eq!(json_of(post(&proxy, &batch(&["e1"])).unwrap()).0, 200, "no e9: it passes");
    assert_eq!(proxy.pending(), 2, "and the fault waits");
    let (status, body) = json_of(post(&proxy, &batch(&["e8", "e9"])).unwrap());
    assert_eq!((status, body["details"]["event_id"].as_str()), (422, Some("e9")));
    proxy.stop_rejecting();
    let (status, body) = json_of(post(&proxy, &batch(&["a", "b", "c"])).unwrap());
    assert_eq!((status, body["details"]["event_id"].as_str()), (422, Some("c")), "the third event");
    assert_eq!(proxy.pending(), 0);
}

#[test]
fn a_restart_mid_batch_runs_while_the_batch_is_in_flight() {
    // The upstream answers slowly; the callback runs meanwhile and the
    // answer still comes back.
    let tiny = Tiny::start(Duration::from_secs(2));
    let proxy = Proxy::start(&tiny.url).unwrap();
    let restarts = Arc::new(AtomicUsize::new(0));
    let seen_in_flight = Arc::new(AtomicUsize::new(0));
    {
        let (restarts, seen_in_flight, received) = (restarts.clone(), seen_in_flight.clone(), tiny.received.clone());
        proxy.on_restart(move || {
            restarts.fetch_add(1, Ordering::SeqCst);
            seen_in_flight.store(received.load(Ordering::SeqCst), Ordering::SeqCst);
        });
    }
    proxy.script([Fault::RestartUpstreamMidBatch]);
    assert_eq!(json_of(post(&proxy, &batch(&["e1"])).unwrap()).0, 200);
    assert_eq!(restarts.load(Ordering::SeqCst), 1);
    assert_eq!(seen_in_flight.load(Ordering::SeqCst), 0, "the callback ran before the upstream answered");
    assert_eq!(proxy.stats().restarts, 1);
}

#[test]
fn a_restart_that_kills_the_upstream_mid_batch_closes_the_devices_connection() {
    let tiny = Arc::new(Mutex::new(Some(Tiny::start(Duration::from_secs(5)))));
    let url = tiny.lock().unwrap().as_ref().unwrap().url.clone();
    let proxy = Proxy::start(&url).unwrap();
    {
        let tiny = tiny.clone();
        proxy.on_restart(move || {
            // Give the forward time to connect, then kill the upstream with
            // its connections.
            std::thread::sleep(Duration::from_millis(300));
            drop(tiny.lock().unwrap().take());
        });
    }
    proxy.script([Fault::RestartUpstreamMidBatch]);
    assert!(post(&proxy, &batch(&["e1"])).is_err(), "the dying upstream never answered");
    let stats = proxy.stats();
    assert_eq!((stats.restarts, stats.upstream_failures), (1, 1));
    assert!(post(&proxy, &batch(&["e1"])).is_err(), "nothing listens upstream any more");
    assert_eq!(proxy.stats().upstream_failures, 2);
}
