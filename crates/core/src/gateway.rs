//! The card payment gateway as the core sees it (SPEC 4.6). The core only
//! knows this trait; the HTTP implementation lives in `crates/gateway` and
//! its JSON contract in docs/GATEWAY.md.
//!
//! Every call is idempotent at the gateway by its key: sending the same
//! charge or refund again returns the first result instead of moving money
//! twice. The saga relies on that to retry safely.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What to charge. `idempotency_key` is the attempt's id.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ts_rs::TS)]
pub struct ChargeRequest {
    pub idempotency_key: String,
    /// Minor units.
    pub amount: i64,
    pub currency: String,
    pub description: String,
    pub invoice_id: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ChargeStatus {
    Succeeded,
    Declined,
}

/// A charge as the gateway reports it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ts_rs::TS)]
pub struct Charge {
    pub id: String,
    pub idempotency_key: String,
    pub amount: i64,
    pub currency: String,
    pub status: ChargeStatus,
    /// Why the card was declined (`insufficient_funds`, `expired_card`...).
    #[serde(default)]
    #[ts(optional = nullable)]
    pub decline_code: Option<String>,
    /// How much of it has been refunded so far.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub refunded_amount: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ts_rs::TS)]
pub struct RefundRequest {
    pub idempotency_key: String,
    pub charge_id: String,
    pub amount: i64,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ts_rs::TS)]
pub struct Refund {
    pub id: String,
    pub charge_id: String,
    pub idempotency_key: String,
    pub amount: i64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GatewayError {
    /// No usable answer: a timeout, a dropped connection, a 5xx or 429. The
    /// request may or may not have taken effect; ask again with the same key.
    #[error("the payment gateway did not answer: {0}")]
    Unreachable(String),
    /// A definite refusal (a 4xx other than 429): nothing happened.
    #[error("the payment gateway refused the request ({code}): {message}")]
    Refused { status: u16, code: String, message: String },
}

/// A card payment gateway. Implementations block; the core calls them
/// with the database released. `limit` bounds one call (a settlement pass
/// with a total budget clips it to what is left); `None`: the client's own
/// timeout. A call that runs out of time is `Unreachable`.
pub trait PaymentGateway: Send + Sync {
    /// Charges the card; a decline is `Ok` with status `Declined`.
    fn charge(&self, request: &ChargeRequest, limit: Option<Duration>) -> Result<Charge, GatewayError>;
    /// Refunds (part of) a charge.
    fn refund(&self, request: &RefundRequest, limit: Option<Duration>) -> Result<Refund, GatewayError>;
    /// The charge made with this idempotency key, if the gateway has one.
    fn find_charge(&self, idempotency_key: &str, limit: Option<Duration>) -> Result<Option<Charge>, GatewayError>;
    /// The refund made with this idempotency key, if the gateway has one.
    fn find_refund(&self, idempotency_key: &str, limit: Option<Duration>) -> Result<Option<Refund>, GatewayError>;
}

/// Builds a gateway from its address and key (the HTTP one lives in
/// `crates/gateway`).
pub type GatewayConnector =
    dyn Fn(&str, &str) -> Result<std::sync::Arc<dyn PaymentGateway>, GatewayError> + Send + Sync;

/// How hard the saga tries before it gives up on a step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CardPolicy {
    /// Charge (and refund) requests sent per step when the gateway does not answer.
    pub gateway_tries: u32,
    /// Transactions tried to record a charge before it is refunded.
    pub record_tries: u32,
    /// First pause between tries; doubled each time.
    pub retry_delay: Duration,
    /// An unfinished attempt younger than this may still be in flight in
    /// another window or process: a repeated request waits for it rather
    /// than resolving it.
    pub in_flight_grace: chrono::Duration,
}

impl Default for CardPolicy {
    fn default() -> Self {
        CardPolicy {
            gateway_tries: 3,
            record_tries: 4,
            retry_delay: Duration::from_millis(250),
            in_flight_grace: chrono::Duration::minutes(2),
        }
    }
}
