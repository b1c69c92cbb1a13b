//! A fault proxy: a real HTTP/1.1 server on a loopback port in front of an
//! upstream URL (the cloud), so a test can make the network between a device
//! and the cloud fail in the ways a real one does.
//!
//! The proxy runs on its own tokio runtime, so blocking tests use it as they
//! would any server. Each `POST /v1/events` (a *batch*) takes the next fault
//! from the script the test set ([`Proxy::script`]); when the script is empty,
//! batches pass through. Other requests (`/health`, `GET /v1/events`, …)
//! always pass. Everything the proxy saw is counted ([`Proxy::stats`]) and
//! each batch is logged with the ids it carried ([`Proxy::batches`]).
//!
//! A forward is never cancelled by the device hanging up: it runs in its own
//! task, as a request already on the wire keeps going to the cloud.

use std::collections::{BTreeSet, VecDeque};
use std::fmt;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

/// Picks the event that a [`Fault::RejectEvent422`] rejects, among the
/// batch's `events` (never its `holes`).
#[derive(Clone)]
pub enum Pick {
    /// The n-th event of the batch (0-based); the last one when the batch is
    /// shorter.
    Nth(usize),
    /// The event with this id; batches without it pass and the fault waits.
    Id(String),
    /// The first event (the whole envelope) for which the function is true;
    /// batches without one pass and the fault waits.
    Matching(Arc<dyn Fn(&Value) -> bool + Send + Sync>),
}

impl fmt::Debug for Pick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pick::Nth(n) => write!(f, "Nth({n})"),
            Pick::Id(id) => write!(f, "Id({id})"),
            Pick::Matching(_) => write!(f, "Matching(..)"),
        }
    }
}

/// What happens after a [`Fault::Stall`]'s hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterStall {
    /// Forward the request late, when the device has given up on it: the
    /// cloud stores a batch whose answer nobody reads.
    Forward,
    /// Close the connection without forwarding.
    Drop,
}

/// One batch's fate.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Forward it and answer with the cloud's answer.
    Pass,
    /// Close the connection without forwarding: nothing reaches the cloud.
    DropRequest,
    /// Forward it, wait for the cloud's whole answer (so the cloud has
    /// committed), then close the connection without answering.
    CommitThenDrop,
    /// Forward it, wait for the cloud's whole answer (so the cloud has
    /// committed), then hold that answer for `hold` before passing it on:
    /// the window in which the cloud has stored the batch and the device
    /// does not know yet. [`BatchSeen::answer_held`] says when.
    HoldAnswer { hold: Duration },
    /// Forward the same request twice, one after the other, and answer with
    /// the second answer.
    Duplicate,
    /// Hold the request for `hold` (longer than the client's timeout), then
    /// forward it (its answer goes nowhere) or drop it.
    Stall { hold: Duration, then: AfterStall },
    /// Answer 500 without forwarding.
    Status500,
    /// Answer 429 with `Retry-After: retry_after` (seconds) without forwarding.
    Status429 { retry_after: u64 },
    /// Answer 422 `invalid_event` naming the picked event (`field`
    /// `payload`) without forwarding, and go on rejecting every later batch
    /// that carries that event id until [`Proxy::stop_rejecting`].
    RejectEvent422(Pick),
    /// Forward it and, while it is in flight, run the restart callback
    /// ([`Proxy::on_restart`]: kill the cloud and start it again). The
    /// device gets the cloud's answer if one came back before the kill,
    /// else its connection is closed.
    RestartUpstreamMidBatch,
}

impl Fault {
    fn name(&self) -> &'static str {
        match self {
            Fault::Pass => "pass",
            Fault::DropRequest => "drop_request",
            Fault::CommitThenDrop => "commit_then_drop",
            Fault::HoldAnswer { .. } => "hold_answer",
            Fault::Duplicate => "duplicate",
            Fault::Stall { .. } => "stall",
            Fault::Status500 => "status_500",
            Fault::Status429 { .. } => "status_429",
            Fault::RejectEvent422(_) => "reject_event_422",
            Fault::RestartUpstreamMidBatch => "restart_upstream",
        }
    }
}

/// What the proxy saw and did, counted since it started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Every request received.
    pub requests: u64,
    /// `POST /v1/events` requests received.
    pub batches: u64,
    /// Requests sent upstream (a duplicated batch counts twice).
    pub forwarded: u64,
    /// Forwards that got no answer (the cloud was down or died): the
    /// device's connection was closed.
    pub upstream_failures: u64,
    pub passed: u64,
    pub dropped: u64,
    pub committed_then_dropped: u64,
    pub answers_held: u64,
    pub duplicated: u64,
    pub stalled: u64,
    pub status_500: u64,
    pub status_429: u64,
    pub rejected_422: u64,
    pub restarts: u64,
}

/// One batch as the proxy saw it.
#[derive(Debug, Clone)]
pub struct BatchSeen {
    /// When it arrived.
    pub at: Instant,
    /// The fault applied (`"pass"` when the script was empty).
    pub fault: &'static str,
    /// The ids of its `events`, in order.
    pub event_ids: Vec<String>,
    /// The `device_seq` of its `holes`.
    pub holes: Vec<i64>,
    /// The upstream's status, when it was forwarded and answered (the last
    /// one for a duplicate).
    pub upstream_status: Option<u16>,
    /// [`Fault::HoldAnswer`]: from when the cloud's whole answer was in
    /// hand (the cloud had committed) to when it was passed on to the device
    /// (`None` while still held).
    pub answer_held: Option<Held>,
    /// [`Fault::Stall`]: from when the request arrived to when the hold
    /// ended and it was forwarded or dropped (`None` while still held);
    /// until then nothing of it has reached the cloud.
    pub request_held: Option<Held>,
}

/// A span of time the proxy held a batch's request or answer back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    pub from: Instant,
    /// When the hold ended; `None` while it lasts.
    pub until: Option<Instant>,
}

impl Held {
    /// Whether the hold covered the whole of `from..=until`: it began no
    /// later than `from` and had not ended by `until`.
    pub fn covers(&self, from: Instant, until: Instant) -> bool {
        self.from <= from && self.until.is_none_or(|end| end > until)
    }
}

type Restart = Arc<dyn Fn() + Send + Sync>;

struct State {
    upstream: String,
    script: VecDeque<Fault>,
    rejecting: BTreeSet<String>,
    stats: Stats,
    batches: Vec<BatchSeen>,
    restart: Option<Restart>,
    in_flight: usize,
}

struct Shared {
    state: Mutex<State>,
    client: reqwest::Client,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The running proxy; stops when dropped.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Proxy {
    /// Starts a proxy on a free loopback port in front of `upstream`
    /// (`http://127.0.0.1:PORT`, no trailing slash needed).
    pub fn start(upstream: &str) -> std::io::Result<Proxy> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fault-proxy")
            .enable_all()
            .build()?;
        let client = reqwest::Client::builder()
            // A new connection per forward: a restarted cloud never meets a
            // pooled connection to its dead predecessor.
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                upstream: upstream.trim_end_matches('/').to_string(),
                script: VecDeque::new(),
                rejecting: BTreeSet::new(),
                stats: Stats::default(),
                batches: Vec::new(),
                restart: None,
                in_flight: 0,
            }),
            client,
        });
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        runtime.spawn(accept_loop(listener, shared.clone()));
        Ok(Proxy { addr, shared, runtime: Some(runtime) })
    }

    /// The URL a device uses instead of the upstream's: `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Points the proxy at another upstream (a cloud restarted elsewhere).
    pub fn set_upstream(&self, upstream: &str) {
        self.shared.lock().upstream = upstream.trim_end_matches('/').to_string();
    }

    /// Appends faults to the script: the next batches get them in order,
    /// then batches pass.
    pub fn script(&self, faults: impl IntoIterator<Item = Fault>) {
        self.shared.lock().script.extend(faults);
    }

    /// Faults of the script not used yet.
    pub fn pending(&self) -> usize {
        self.shared.lock().script.len()
    }

    /// Drops the faults of the script not used yet: batches pass again.
    pub fn clear_script(&self) {
        self.shared.lock().script.clear();
    }

    /// Batches whose answer the proxy is holding back right now
    /// ([`Fault::HoldAnswer`]): the cloud has committed them.
    pub fn answers_held_now(&self) -> usize {
        self.shared.lock().batches.iter().filter(|b| b.answer_held.is_some_and(|h| h.until.is_none())).count()
    }

    /// Batches whose request the proxy is holding back right now
    /// ([`Fault::Stall`]): nothing of them has reached the cloud yet.
    pub fn requests_held_now(&self) -> usize {
        self.shared.lock().batches.iter().filter(|b| b.request_held.is_some_and(|h| h.until.is_none())).count()
    }

    /// Batches being handled right now (received, their handling not over).
    pub fn in_flight(&self) -> usize {
        self.shared.lock().in_flight
    }

    /// The callback [`Fault::RestartUpstreamMidBatch`] runs (on a blocking
    /// thread) while the batch is in flight.
    pub fn on_restart(&self, restart: impl Fn() + Send + Sync + 'static) {
        self.shared.lock().restart = Some(Arc::new(restart));
    }

    /// Stops rejecting the event ids a [`Fault::RejectEvent422`] picked.
    pub fn stop_rejecting(&self) {
        self.shared.lock().rejecting.clear();
    }

    /// The event ids being rejected now.
    pub fn rejecting(&self) -> Vec<String> {
        self.shared.lock().rejecting.iter().cloned().collect()
    }

    pub fn stats(&self) -> Stats {
        self.shared.lock().stats.clone()
    }

    /// Every batch seen, in arrival order.
    pub fn batches(&self) -> Vec<BatchSeen> {
        self.shared.lock().batches.clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn accept_loop(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(shared.clone(), req));
            // A service error closes the connection without an answer: that
            // is how the proxy drops a request.
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

/// The service's error: close the device's connection without answering.
#[derive(Debug)]
struct CloseConnection;

impl fmt::Display for CloseConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection closed by the fault proxy")
    }
}

impl std::error::Error for CloseConnection {}

type Answer = Result<Response<Full<Bytes>>, CloseConnection>;

/// A request read whole, so it can be forwarded (twice) from its own task.
#[derive(Clone)]
struct Captured {
    method: reqwest::Method,
    path_and_query: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
}

/// An upstream answer read whole.
struct Upstream {
    status: u16,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Answer {
    let (parts, body) = req.into_parts();
    let Ok(body) = body.collect().await else { return Err(CloseConnection) };
    let captured = Captured {
        method: parts.method.clone(),
        path_and_query: parts.uri.path_and_query().map(|p| p.to_string()).unwrap_or_default(),
        headers: parts
            .headers
            .iter()
            .filter(|(name, _)| !is_hop_header(name))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect(),
        body: body.to_bytes(),
    };
    let is_batch = parts.method == hyper::Method::POST && parts.uri.path() == "/v1/events";
    // The whole handling runs in its own task: the device hanging up never
    // cancels a forward already started.
    let task = tokio::spawn(async move {
        if is_batch {
            handle_batch(&shared, captured).await
        } else {
            shared.lock().stats.requests += 1;
            forward_answer(&shared, &captured).await
        }
    });
    task.await.unwrap_or(Err(CloseConnection))
}

async fn handle_batch(shared: &Arc<Shared>, captured: Captured) -> Answer {
    let batch = decode_batch(&captured);
    let event_ids: Vec<String> = batch.as_ref().map(event_ids).unwrap_or_default();
    let holes: Vec<i64> = batch
        .as_ref()
        .and_then(|b| b.get("holes")?.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|h| h.get("device_seq")?.as_i64())
        .collect();

    // Decide under the lock: a sticky rejection first, then the script.
    let (fault, reject) = {
        let mut state = shared.lock();
        state.stats.requests += 1;
        state.stats.batches += 1;
        if let Some(id) = event_ids.iter().find(|id| state.rejecting.contains(*id)) {
            (Fault::RejectEvent422(Pick::Id(id.clone())), Some(id.clone()))
        } else {
            match state.script.front().cloned() {
                None => (Fault::Pass, None),
                Some(Fault::RejectEvent422(pick)) => {
                    match batch.as_ref().and_then(|b| pick_event(b, &pick)) {
                        Some(id) => {
                            state.script.pop_front();
                            state.rejecting.insert(id.clone());
                            (Fault::RejectEvent422(pick), Some(id))
                        }
                        // Nothing to reject in this batch: it passes, the fault waits.
                        None => (Fault::Pass, None),
                    }
                }
                Some(_) => (state.script.pop_front().unwrap_or(Fault::Pass), None),
            }
        }
    };
    let index = {
        let mut state = shared.lock();
        state.batches.push(BatchSeen {
            at: Instant::now(),
            fault: fault.name(),
            event_ids,
            holes,
            upstream_status: None,
            answer_held: None,
            request_held: None,
        });
        state.in_flight += 1;
        state.batches.len() - 1
    };
    let answer = apply(shared, index, fault, reject, captured).await;
    shared.lock().in_flight -= 1;
    answer
}

async fn apply(shared: &Arc<Shared>, index: usize, fault: Fault, reject: Option<String>, captured: Captured) -> Answer {
    let note_upstream = |status: u16| shared.lock().batches[index].upstream_status = Some(status);

    match fault {
        Fault::Pass => {
            shared.lock().stats.passed += 1;
            let answer = forward(shared, &captured).await?;
            note_upstream(answer.status);
            Ok(respond(answer))
        }
        Fault::DropRequest => {
            shared.lock().stats.dropped += 1;
            Err(CloseConnection)
        }
        Fault::CommitThenDrop => {
            shared.lock().stats.committed_then_dropped += 1;
            let answer = forward(shared, &captured).await?;
            note_upstream(answer.status);
            Err(CloseConnection)
        }
        Fault::HoldAnswer { hold } => {
            shared.lock().stats.answers_held += 1;
            let answer = forward(shared, &captured).await?;
            note_upstream(answer.status);
            shared.lock().batches[index].answer_held = Some(Held { from: Instant::now(), until: None });
            tokio::time::sleep(hold).await;
            // Passed on now; a device that died meanwhile gets nothing.
            if let Some(held) = shared.lock().batches[index].answer_held.as_mut() {
                held.until = Some(Instant::now());
            }
            Ok(respond(answer))
        }
        Fault::Duplicate => {
            shared.lock().stats.duplicated += 1;
            let _first = forward(shared, &captured).await?;
            let second = forward(shared, &captured).await?;
            note_upstream(second.status);
            Ok(respond(second))
        }
        Fault::Stall { hold, then } => {
            shared.lock().stats.stalled += 1;
            shared.lock().batches[index].request_held = Some(Held { from: Instant::now(), until: None });
            tokio::time::sleep(hold).await;
            if let Some(held) = shared.lock().batches[index].request_held.as_mut() {
                held.until = Some(Instant::now());
            }
            match then {
                AfterStall::Drop => Err(CloseConnection),
                AfterStall::Forward => {
                    let answer = forward(shared, &captured).await?;
                    note_upstream(answer.status);
                    Ok(respond(answer))
                }
            }
        }
        Fault::Status500 => {
            shared.lock().stats.status_500 += 1;
            Ok(envelope(
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                json!({"success": false, "code": "internal", "message": "fault proxy: 500",
                       "status_code": 500, "details": {}}),
            ))
        }
        Fault::Status429 { retry_after } => {
            shared.lock().stats.status_429 += 1;
            Ok(envelope(
                StatusCode::TOO_MANY_REQUESTS,
                Some(retry_after),
                json!({"success": false, "code": "rate_limited", "message": "fault proxy: slow down",
                       "status_code": 429, "details": {"retry_after": retry_after}}),
            ))
        }
        Fault::RejectEvent422(_) => {
            shared.lock().stats.rejected_422 += 1;
            let id = reject.unwrap_or_default();
            Ok(envelope(
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                json!({"success": false, "code": "invalid_event",
                       "message": "fault proxy: the event's payload is refused",
                       "status_code": 422, "details": {"event_id": id, "field": "payload"}}),
            ))
        }
        Fault::RestartUpstreamMidBatch => {
            let restart = {
                let mut state = shared.lock();
                state.stats.restarts += 1;
                state.restart.clone()
            };
            let in_flight = {
                let shared = shared.clone();
                let captured = captured.clone();
                tokio::spawn(async move { forward(&shared, &captured).await })
            };
            if let Some(restart) = restart {
                let _ = tokio::task::spawn_blocking(move || restart()).await;
            }
            let answer = in_flight.await.unwrap_or(Err(CloseConnection))?;
            note_upstream(answer.status);
            Ok(respond(answer))
        }
    }
}

async fn forward_answer(shared: &Arc<Shared>, captured: &Captured) -> Answer {
    forward(shared, captured).await.map(respond)
}

/// Sends the request upstream and reads the whole answer; no answer closes
/// the device's connection.
async fn forward(shared: &Arc<Shared>, captured: &Captured) -> Result<Upstream, CloseConnection> {
    let url = {
        let mut state = shared.lock();
        state.stats.forwarded += 1;
        format!("{}{}", state.upstream, captured.path_and_query)
    };
    let mut request = shared.client.request(captured.method.clone(), url);
    for (name, value) in &captured.headers {
        request = request.header(name, value);
    }
    let answer = async {
        let response = request.body(captured.body.clone()).send().await?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter(|(name, _)| !is_hop_header(name))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        let body = response.bytes().await?;
        Ok::<_, reqwest::Error>(Upstream { status, headers, body })
    }
    .await;
    answer.map_err(|_| {
        shared.lock().stats.upstream_failures += 1;
        CloseConnection
    })
}

fn respond(answer: Upstream) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(answer.body));
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
    for (name, value) in answer.headers {
        response.headers_mut().append(name, value);
    }
    response
}

fn envelope(status: StatusCode, retry_after: Option<u64>, body: Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(hyper::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(seconds) = retry_after {
        headers.insert(hyper::header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

fn is_hop_header(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "host" | "connection" | "keep-alive" | "transfer-encoding" | "content-length" | "te" | "upgrade"
    )
}

/// The batch's JSON, gunzipped when `Content-Encoding: gzip` says so; `None`
/// when it is not JSON (the proxy then only counts it).
fn decode_batch(captured: &Captured) -> Option<Value> {
    let gzip = captured.headers.iter().any(|(name, value)| {
        name == hyper::header::CONTENT_ENCODING && value.to_str().is_ok_and(|v| v.trim().eq_ignore_ascii_case("gzip"))
    });
    if gzip {
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(&captured.body[..]).read_to_end(&mut json).ok()?;
        serde_json::from_slice(&json).ok()
    } else {
        serde_json::from_slice(&captured.body).ok()
    }
}

fn event_ids(batch: &Value) -> Vec<String> {
    batch
        .get("events")
        .and_then(Value::as_array)
        .map(|events| events.iter().filter_map(|e| e.get("id")?.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn pick_event(batch: &Value, pick: &Pick) -> Option<String> {
    let events = batch.get("events")?.as_array()?;
    let id_of = |e: &Value| e.get("id")?.as_str().map(str::to_string);
    match pick {
        Pick::Nth(n) => events.get((*n).min(events.len().checked_sub(1)?)).and_then(id_of),
        Pick::Id(id) => events.iter().filter_map(id_of).find(|e| e == id),
        Pick::Matching(f) => events.iter().find(|e| f(e)).and_then(id_of),
    }
}

#[cfg(test)]
mod tests;
