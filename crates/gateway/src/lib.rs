//! The card payment gateway over HTTP: the implementation of
//! [`pitlane_core::gateway::PaymentGateway`] the app uses, speaking the JSON
//! contract in docs/GATEWAY.md with reqwest over rustls.
//!
//! With the `double` feature, [`double::GatewayDouble`] is a real server on
//! loopback that speaks the same contract and can decline, fail, stall and
//! answer twice: what the tests charge cards against.

#[cfg(feature = "double")]
pub mod double;

use std::time::Duration;

use pitlane_core::gateway::{Charge, ChargeRequest, GatewayError, PaymentGateway, Refund, RefundRequest};
use reqwest::blocking::{Client, Response};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

/// Wire bodies (docs/GATEWAY.md).
#[derive(Debug, Serialize, Deserialize)]
pub struct ChargeBody {
    pub amount: i64,
    pub currency: String,
    pub description: String,
    pub invoice_id: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct RefundBody {
    pub charge_id: String,
    pub amount: i64,
    pub reason: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ChargeAnswer {
    pub charge: Charge,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct RefundAnswer {
    pub refund: Refund,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ErrorAnswer {
    pub error: ErrorBody,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    #[serde(default)]
    pub message: String,
}

/// Time allowed for one request, connection included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The gateway at `base_url`, authenticated with its API key (from the
/// keyring; never logged: this type has no `Debug` that would print it).
pub struct HttpGateway {
    client: Client,
    base: String,
    key: String,
    timeout: Duration,
}

impl HttpGateway {
    pub fn new(base_url: &str, api_key: &str, timeout: Duration) -> Result<Self, GatewayError> {
        let base = base_url.trim_end_matches('/').to_string();
        if !pitlane_core::settings::is_allowed_service_url(&base) {
            return Err(GatewayError::Refused {
                status: 0,
                code: "insecure_url".into(),
                message: "the gateway address must use https (plain http only on this machine)".into(),
            });
        }
        let client = Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("pitlane/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| GatewayError::Unreachable(format!("cannot build the HTTP client: {e}")))?;
        Ok(HttpGateway { client, base, key: api_key.to_string(), timeout })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }
}

/// How the core reaches the gateway from the settings' address and the
/// keyring's key: an [`HttpGateway`] with the default timeout.
pub fn connector() -> std::sync::Arc<pitlane_core::gateway::GatewayConnector> {
    std::sync::Arc::new(|url: &str, key: &str| {
        let gateway: std::sync::Arc<dyn PaymentGateway> =
            std::sync::Arc::new(HttpGateway::new(url, key, DEFAULT_TIMEOUT)?);
        Ok(gateway)
    })
}

/// Network trouble of any kind: the request may or may not have arrived.
fn unreachable(e: reqwest::Error) -> GatewayError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "connection failed"
    };
    GatewayError::Unreachable(what.to_string())
}

/// Maps an answer that is not the expected success to the core's error.
fn refusal(response: Response) -> GatewayError {
    let status = response.status();
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        return GatewayError::Unreachable(format!("answered {}", status.as_u16()));
    }
    match response.json::<ErrorAnswer>() {
        Ok(a) => GatewayError::Refused { status: status.as_u16(), code: a.error.code, message: a.error.message },
        Err(_) => GatewayError::Refused {
            status: status.as_u16(),
            code: format!("http_{}", status.as_u16()),
            message: "the gateway refused the request".into(),
        },
    }
}

/// A success whose body cannot be read is treated as no answer: the
/// operation may have happened, so the caller asks again by key.
fn read<T: for<'de> Deserialize<'de>>(response: Response) -> Result<T, GatewayError> {
    response.json::<T>().map_err(|_| GatewayError::Unreachable("unreadable answer".into()))
}

impl HttpGateway {
    /// POSTs `body` to `path` with the key and the idempotency key.
    fn post(
        &self,
        path: &str,
        idempotency_key: &str,
        body: &impl Serialize,
        limit: Option<Duration>,
    ) -> Result<Response, GatewayError> {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .header("Idempotency-Key", idempotency_key)
            .json(body);
        if let Some(limit) = limit {
            // Clipped, never lengthened: the client's own timeout still holds.
            request = request.timeout(limit.min(self.timeout));
        }
        request.send().map_err(unreachable)
    }

    /// GETs `{path}{key}` (the key as one percent-encoded segment): the
    /// lookups by idempotency key. `Ok(None)` only for a 404 carrying the
    /// contract's `not_found` code.
    fn lookup<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        idempotency_key: &str,
        not_found: &str,
        limit: Option<Duration>,
    ) -> Result<Option<T>, GatewayError> {
        let bad_url =
            || GatewayError::Refused { status: 0, code: "bad_url".into(), message: "bad gateway address".into() };
        let mut url = reqwest::Url::parse(&format!("{}{path}", self.base)).map_err(|_| bad_url())?;
        url.path_segments_mut().map_err(|_| bad_url())?.pop_if_empty().push(idempotency_key);
        let mut request = self.client.get(url).bearer_auth(&self.key);
        if let Some(limit) = limit {
            // Clipped, never lengthened: the client's own timeout still holds.
            request = request.timeout(limit.min(self.timeout));
        }
        let response = request.send().map_err(unreachable)?;
        if response.status() == StatusCode::NOT_FOUND {
            // Only the contract's own "no such charge/refund" means none: a
            // 404 from a wrong address or a proxy says nothing about the money.
            return match response.json::<ErrorAnswer>() {
                Ok(a) if a.error.code == not_found => Ok(None),
                _ => Err(GatewayError::Unreachable("the lookup answered 404 without the contract's body".into())),
            };
        }
        // A charge lookup also takes a 402 (a declined charge).
        if response.status().is_success()
            || (response.status() == StatusCode::PAYMENT_REQUIRED && path.starts_with("/v1/charges"))
        {
            return read::<T>(response).map(Some);
        }
        Err(refusal(response))
    }
}

impl PaymentGateway for HttpGateway {
    fn charge(&self, request: &ChargeRequest, limit: Option<Duration>) -> Result<Charge, GatewayError> {
        let body = ChargeBody {
            amount: request.amount,
            currency: request.currency.clone(),
            description: request.description.clone(),
            invoice_id: request.invoice_id.clone(),
        };
        let response = self.post("/v1/charges", &request.idempotency_key, &body, limit)?;
        // 402: the charge exists and was declined.
        if response.status().is_success() || response.status() == StatusCode::PAYMENT_REQUIRED {
            return read::<ChargeAnswer>(response).map(|a| a.charge);
        }
        Err(refusal(response))
    }

    fn refund(&self, request: &RefundRequest, limit: Option<Duration>) -> Result<Refund, GatewayError> {
        let body =
            RefundBody { charge_id: request.charge_id.clone(), amount: request.amount, reason: request.reason.clone() };
        let response = self.post("/v1/refunds", &request.idempotency_key, &body, limit)?;
        if response.status().is_success() {
            return read::<RefundAnswer>(response).map(|a| a.refund);
        }
        Err(refusal(response))
    }

    fn find_charge(&self, idempotency_key: &str, limit: Option<Duration>) -> Result<Option<Charge>, GatewayError> {
        Ok(self
            .lookup::<ChargeAnswer>("/v1/charges/by-key/", idempotency_key, "charge_not_found", limit)?
            .map(|a| a.charge))
    }

    fn find_refund(&self, idempotency_key: &str, limit: Option<Duration>) -> Result<Option<Refund>, GatewayError> {
        Ok(self
            .lookup::<RefundAnswer>("/v1/refunds/by-key/", idempotency_key, "refund_not_found", limit)?
            .map(|a| a.refund))
    }
}
