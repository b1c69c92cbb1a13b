//! A payment gateway double: a real HTTP server on loopback speaking the
//! contract of docs/GATEWAY.md, with a ledger the tests can read and modes
//! that make it misbehave the ways real gateways do.
//!
//! It keeps charges and refunds idempotent by key exactly as the contract
//! says, so "every charge recorded or refunded exactly once" can be checked
//! against what it actually holds.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use pitlane_core::gateway::{Charge, ChargeStatus, Refund};
use serde_json::json;

use crate::{ChargeAnswer, ChargeBody, RefundAnswer, RefundBody};

/// How the double behaves from now on.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// Charges and refunds succeed.
    Approve,
    /// Every new charge is declined (recorded as declined, 402).
    Decline(String),
    /// A new charge is made, then the answer is held back this long (longer
    /// than the client's timeout); asking again with the key answers at once.
    ChargeThenStall(Duration),
    /// The first `n` requests for each charge key answer 500 without charging.
    FailFirst(u32),
    /// A new charge is made, then answered with a 500: the customer paid but
    /// the client was told otherwise; asking again gives the same charge.
    ChargeThenFail,
    /// Charges pause this long before they are made and answered.
    Slow(Duration),
    /// Everything answers 503.
    Unavailable,
    /// Charges and lookups work; refunds answer 503.
    RefundsUnavailable,
    /// A new charge is made, then answered with 409 as if another request
    /// with the key were still running.
    ChargeThenConflict,
    /// Answers every charge with a made-up charge for another amount (a
    /// gateway bug); nothing is charged.
    WrongCharge,
    /// Accepts every connection and never answers anything (charges,
    /// refunds, lookups): a gateway that hangs.
    Stall,
}

#[derive(Default)]
struct Ledger {
    charges: Vec<Charge>,
    refunds: Vec<Refund>,
    /// Requests seen per charge key.
    charge_requests: HashMap<String, u32>,
    requests: u32,
    next: u64,
}

struct Shared {
    key: String,
    mode: Mutex<Mode>,
    ledger: Mutex<Ledger>,
}

impl Shared {
    fn mode(&self) -> Mode {
        self.mode.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The running double. Dropping it stops the server.
pub struct GatewayDouble {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "error": { "code": code, "message": message } }))).into_response()
}

fn charge_reply(charge: &Charge) -> Response {
    let status = if charge.status == ChargeStatus::Succeeded { StatusCode::OK } else { StatusCode::PAYMENT_REQUIRED };
    (status, Json(ChargeAnswer { charge: charge.clone() })).into_response()
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {}", shared.key))
}

fn idempotency_key(headers: &HeaderMap) -> Option<String> {
    headers.get("idempotency-key").and_then(|v| v.to_str().ok()).filter(|k| !k.is_empty()).map(str::to_string)
}

/// Never returns while the double runs in `Stall` mode (dropped with the server).
async fn stall_if_asked(shared: &Shared) {
    if shared.mode() == Mode::Stall {
        std::future::pending::<()>().await;
    }
}

async fn charge(State(shared): State<Arc<Shared>>, headers: HeaderMap, Json(body): Json<ChargeBody>) -> Response {
    stall_if_asked(&shared).await;
    if !authorized(&shared, &headers) {
        return error(StatusCode::UNAUTHORIZED, "unauthorized", "wrong or missing API key");
    }
    let Some(key) = idempotency_key(&headers) else {
        return error(StatusCode::BAD_REQUEST, "idempotency_key_required", "send an Idempotency-Key header");
    };
    if body.amount <= 0 {
        return error(StatusCode::BAD_REQUEST, "invalid_amount", "amount must be positive");
    }
    let mode = shared.mode();
    if mode == Mode::Unavailable {
        return error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "try again later");
    }
    if let Mode::Slow(pause) = mode {
        tokio::time::sleep(pause).await;
    }
    if mode == Mode::WrongCharge {
        let wrong = Charge {
            id: "ch_someone_else".into(),
            idempotency_key: key,
            amount: body.amount + 1,
            currency: body.currency,
            status: ChargeStatus::Succeeded,
            decline_code: None,
            refunded_amount: 0,
        };
        return charge_reply(&wrong);
    }
    let (charge, first, seen) = {
        let mut ledger = shared.ledger();
        ledger.requests += 1;
        let seen = {
            let n = ledger.charge_requests.entry(key.clone()).or_default();
            *n += 1;
            *n
        };
        if let Mode::FailFirst(n) = mode {
            if seen <= n {
                return error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "a hiccup at the gateway");
            }
        }
        if let Some(existing) = ledger.charges.iter().find(|c| c.idempotency_key == key) {
            if existing.amount != body.amount || existing.currency != body.currency {
                return error(StatusCode::CONFLICT, "idempotency_key_in_use", "this key was used for another charge");
            }
            (existing.clone(), false, seen)
        } else {
            ledger.next += 1;
            let declined = matches!(mode, Mode::Decline(_));
            let charge = Charge {
                id: format!("ch_{:06}", ledger.next),
                idempotency_key: key.clone(),
                amount: body.amount,
                currency: body.currency.clone(),
                status: if declined { ChargeStatus::Declined } else { ChargeStatus::Succeeded },
                decline_code: match &mode {
                    Mode::Decline(code) => Some(code.clone()),
                    _ => None,
                },
                refunded_amount: 0,
            };
            ledger.charges.push(charge.clone());
            (charge, true, seen)
        }
    };
    match mode {
        Mode::ChargeThenStall(pause) if first => tokio::time::sleep(pause).await,
        Mode::ChargeThenConflict if first => {
            return error(StatusCode::CONFLICT, "idempotency_key_in_use", "a request with this key is in progress")
        }
        Mode::ChargeThenFail if first => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the charge went through but the answer did not",
            )
        }
        _ => {}
    }
    let _ = seen;
    charge_reply(&charge)
}

async fn refund(State(shared): State<Arc<Shared>>, headers: HeaderMap, Json(body): Json<RefundBody>) -> Response {
    stall_if_asked(&shared).await;
    if !authorized(&shared, &headers) {
        return error(StatusCode::UNAUTHORIZED, "unauthorized", "wrong or missing API key");
    }
    let Some(key) = idempotency_key(&headers) else {
        return error(StatusCode::BAD_REQUEST, "idempotency_key_required", "send an Idempotency-Key header");
    };
    if matches!(shared.mode(), Mode::Unavailable | Mode::RefundsUnavailable) {
        return error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "try again later");
    }
    let mut ledger = shared.ledger();
    ledger.requests += 1;
    if let Some(existing) = ledger.refunds.iter().find(|r| r.idempotency_key == key) {
        if existing.charge_id != body.charge_id || existing.amount != body.amount {
            return error(StatusCode::CONFLICT, "idempotency_key_in_use", "this key was used for another refund");
        }
        return (StatusCode::OK, Json(RefundAnswer { refund: existing.clone() })).into_response();
    }
    let Some(index) = ledger.charges.iter().position(|c| c.id == body.charge_id) else {
        return error(StatusCode::NOT_FOUND, "charge_not_found", "no such charge");
    };
    let charge = &ledger.charges[index];
    if charge.status != ChargeStatus::Succeeded {
        return error(StatusCode::BAD_REQUEST, "charge_not_refundable", "the charge did not succeed");
    }
    if body.amount <= 0 || body.amount > charge.amount - charge.refunded_amount {
        return error(StatusCode::BAD_REQUEST, "amount_exceeds_refundable", "more than is left on the charge");
    }
    ledger.next += 1;
    let refund = Refund {
        id: format!("re_{:06}", ledger.next),
        charge_id: body.charge_id.clone(),
        idempotency_key: key,
        amount: body.amount,
    };
    ledger.charges[index].refunded_amount += body.amount;
    ledger.refunds.push(refund.clone());
    (StatusCode::OK, Json(RefundAnswer { refund })).into_response()
}

async fn lookup(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(key): Path<String>) -> Response {
    stall_if_asked(&shared).await;
    if !authorized(&shared, &headers) {
        return error(StatusCode::UNAUTHORIZED, "unauthorized", "wrong or missing API key");
    }
    if shared.mode() == Mode::Unavailable {
        return error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "try again later");
    }
    let mut ledger = shared.ledger();
    ledger.requests += 1;
    match ledger.charges.iter().find(|c| c.idempotency_key == key) {
        Some(c) => (StatusCode::OK, Json(ChargeAnswer { charge: c.clone() })).into_response(),
        None => error(StatusCode::NOT_FOUND, "charge_not_found", "no charge with this key"),
    }
}

async fn refund_lookup(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(key): Path<String>) -> Response {
    stall_if_asked(&shared).await;
    if !authorized(&shared, &headers) {
        return error(StatusCode::UNAUTHORIZED, "unauthorized", "wrong or missing API key");
    }
    if matches!(shared.mode(), Mode::Unavailable | Mode::RefundsUnavailable) {
        return error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "try again later");
    }
    let mut ledger = shared.ledger();
    ledger.requests += 1;
    match ledger.refunds.iter().find(|r| r.idempotency_key == key) {
        Some(r) => (StatusCode::OK, Json(RefundAnswer { refund: r.clone() })).into_response(),
        None => error(StatusCode::NOT_FOUND, "refund_not_found", "no refund with this key"),
    }
}

impl GatewayDouble {
    /// Starts the double on a free loopback port, accepting `api_key`.
    pub fn start(api_key: &str) -> std::io::Result<GatewayDouble> {
        Self::start_on(api_key, 0)
    }

    /// Starts the double on loopback `port` (0: a free one), accepting `api_key`.
    pub fn start_on(api_key: &str, port: u16) -> std::io::Result<GatewayDouble> {
        let shared = Arc::new(Shared {
            key: api_key.to_string(),
            mode: Mutex::new(Mode::Approve),
            ledger: Mutex::new(Ledger::default()),
        });
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = Router::new()
            .route("/v1/charges", post(charge))
            .route("/v1/charges/by-key/{key}", get(lookup))
            .route("/v1/refunds", post(refund))
            .route("/v1/refunds/by-key/{key}", get(refund_lookup))
            .with_state(shared.clone());
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        let thread = std::thread::Builder::new().name("gateway-double".into()).spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                tokio::select! {
                    _ = axum::serve(listener, app) => {}
                    _ = stopped => {}
                }
            });
            // Stalled answers still sleeping are dropped with the runtime.
            runtime.shutdown_background();
        })?;
        Ok(GatewayDouble { addr, shared, stop: Some(stop), thread: Some(thread) })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap_or_else(|e| e.into_inner()) = mode;
    }

    /// Every charge made, in order, with what has been refunded on it.
    pub fn charges(&self) -> Vec<Charge> {
        self.shared.ledger().charges.clone()
    }

    pub fn refunds(&self) -> Vec<Refund> {
        self.shared.ledger().refunds.clone()
    }

    /// Requests answered so far (charges, refunds, lookups).
    pub fn requests(&self) -> u32 {
        self.shared.ledger().requests
    }

    /// Makes a charge as if a request with `key` had been stuck in the
    /// gateway's queue and went through late (after a lookup said "none").
    pub fn charge_late(&self, key: &str, amount: i64, currency: &str) -> Charge {
        let mut ledger = self.shared.ledger();
        ledger.next += 1;
        let charge = Charge {
            id: format!("ch_{:06}", ledger.next),
            idempotency_key: key.to_string(),
            amount,
            currency: currency.to_string(),
            status: ChargeStatus::Succeeded,
            decline_code: None,
            refunded_amount: 0,
        };
        ledger.charges.push(charge.clone());
        charge
    }

    /// Requests seen for one charge key.
    pub fn charge_requests(&self, key: &str) -> u32 {
        self.shared.ledger().charge_requests.get(key).copied().unwrap_or(0)
    }
}

impl Drop for GatewayDouble {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
