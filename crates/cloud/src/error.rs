//! The cloud's one error type and its one mapping to Pitlane's envelope
//! (`{"success": false, "code", "message", "status_code", "details"}`, docs/SYNC.md section 3).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// Everything a request can fail with. Messages carry no token and no payload.
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    #[error("the body is not a batch of this protocol: {message}")]
    BadRequest { message: String, field: Option<String> },
    #[error("no token, an unknown one, or a revoked one")]
    Unauthorized,
    #[error("the body's device_id is not the token's device")]
    WrongDevice,
    #[error("event {event_id} claims another {field} than the token's device")]
    WrongIdentity { event_id: String, field: &'static str },
    #[error("event {event_id:?} is malformed: {field} {problem}")]
    InvalidEvent { event_id: Option<String>, field: String, problem: String },
    #[error("a predecessor is missing: the next number expected is {expected_seq}")]
    SequenceGap { expected_seq: i64 },
    #[error("device_seq {device_seq} is already held by another event")]
    SequenceReused { device_seq: i64, held_event_id: Option<String> },
    #[error("the batch is over the limits ({limit})")]
    BatchTooLarge { limit: String },
    #[error("{field}: {problem}")]
    InvalidQuery { field: &'static str, problem: String },
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    #[error("database error")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for CloudError {
    fn from(e: sqlx::Error) -> Self {
        // Connection lost, server shutting down, or a transaction the server gave up on
        // (serialization failure, deadlock): the device may retry, so 503.
        let transient_code = e
            .as_database_error()
            .and_then(|d| d.code())
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || c == "40001" || c == "40P01");
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Protocol(_) => {
                CloudError::Unavailable(e)
            }
            e if transient_code => CloudError::Unavailable(e),
            other => CloudError::Database(other),
        }
    }
}

impl CloudError {
    /// Status, code and details: the one place where errors meet the wire.
    pub fn parts(&self) -> (StatusCode, &'static str, Value) {
        match self {
            CloudError::BadRequest { field, .. } => (StatusCode::BAD_REQUEST, "bad_request", json!({ "field": field })),
            CloudError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", json!({})),
            CloudError::WrongDevice => (StatusCode::FORBIDDEN, "wrong_device", json!({})),
            CloudError::WrongIdentity { event_id, field } => {
                (StatusCode::FORBIDDEN, "wrong_identity", json!({ "event_id": event_id, "field": field }))
            }
            CloudError::InvalidEvent { event_id, field, .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_event", json!({ "event_id": event_id, "field": field }))
            }
            CloudError::SequenceGap { expected_seq } => {
                (StatusCode::CONFLICT, "sequence_gap", json!({ "expected_seq": expected_seq }))
            }
            CloudError::SequenceReused { device_seq, held_event_id } => (
                StatusCode::CONFLICT,
                "sequence_reused",
                json!({ "device_seq": device_seq, "held_event_id": held_event_id }),
            ),
            CloudError::BatchTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "batch_too_large", json!({})),
            CloudError::InvalidQuery { field, .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", json!({ "field": field }))
            }
            CloudError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", json!({})),
            CloudError::Database(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error", json!({})),
        }
    }
}

impl IntoResponse for CloudError {
    fn into_response(self) -> Response {
        let (status, code, details) = self.parts();
        match &self {
            CloudError::Unavailable(e) | CloudError::Database(e) => tracing::error!(code, error = %e, "request failed"),
            _ => tracing::info!(code, "request refused"),
        }
        let body = json!({
            "success": false,
            "code": code,
            "message": self.to_string(),
            "status_code": status.as_u16(),
            "details": details,
        });
        (status, axum::Json(body)).into_response()
    }
}

/// The success envelope: `{"success": true, "data": ...}`.
pub fn ok(data: Value) -> Response {
    (StatusCode::OK, axum::Json(json!({ "success": true, "data": data }))).into_response()
}
