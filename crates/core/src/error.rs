//! The core's one error type. It is mapped to the wire envelope in one place:
//! [`crate::api::envelope`].

use serde_json::Value;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every `code` the envelope can carry: first those of the variants
/// ([`Error::code`]), then those of [`Error::Conflict`] and
/// [`Error::Rule`]. The UI's `ErrorCode` type is generated from this list;
/// [`Error::conflict`] and [`Error::rule`] refuse (in debug builds) a code
/// missing from it, and a test checks every code written in the sources.
pub const CODES: &[&str] = &[
    "bad_request",
    "validation_failed",
    "not_logged_in",
    "wrong_credentials",
    "account_locked",
    "forbidden",
    "not_found",
    "amount_out_of_range",
    "database_too_new",
    "not_a_pitlane_database",
    "internal_error",
    "already_completed",
    "already_set_up",
    "attempt_already_settled",
    "bay_unavailable",
    "branch_closed",
    "card_declined",
    "card_gateway_key_missing",
    "card_gateway_not_configured",
    "card_not_charged",
    "customer_conflict",
    "device_identity_unconfirmed",
    "discount_too_large",
    "dst_change",
    "duplicate_barcode",
    "duplicate_bay",
    "duplicate_email",
    "duplicate_phone",
    "duplicate_plate",
    "duplicate_sku",
    "duplicate_staff_code",
    "duplicate_vin",
    "gateway_mismatch",
    "gateway_refused",
    "gateway_unavailable",
    "idempotency_key_reused",
    "in_the_past",
    "insufficient_stock",
    "invoice_has_payments",
    "invoice_void",
    "job_not_failed",
    "keyring_failed",
    "keyring_locked",
    "keyring_unavailable",
    "last_owner",
    "late_charge",
    "no_folder",
    "no_lines",
    "no_technician",
    "not_quarantined",
    "not_set_up",
    "outside_opening_hours",
    "overpayment",
    "payment_compensated",
    "payment_in_progress",
    "payment_outcome_unknown",
    "payment_refund_pending",
    "pdf_unavailable",
    "refund_not_made",
    "refund_outcome_unknown",
    "refund_too_large",
    "sync_unavailable",
    "unpriced_lines",
    "wrong_status",
];

/// One bad input field: the field's path (`customer.email`, `adjustments[2].quantity`)
/// and a sentence a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is not JSON, or not an object, or names no known command.
    #[error("{0}")]
    BadRequest(String),
    /// One or more fields are missing, of the wrong type or out of range (422).
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("not logged in")]
    NotLoggedIn,
    #[error("wrong staff code or PIN")]
    WrongCredentials { attempts_left: u32 },
    #[error("account locked until {until}")]
    AccountLocked { until: String },
    #[error("not allowed")]
    Forbidden { command: String },
    #[error("{entity} not found")]
    NotFound { entity: &'static str, id: String },
    /// Would break a uniqueness or state rule (409).
    #[error("{message}")]
    Conflict { code: &'static str, message: String, details: Value },
    /// A business rule says no (400).
    #[error("{message}")]
    Rule { code: &'static str, message: String, details: Value },
    /// Arithmetic on money or quantities would overflow.
    #[error("amount out of range: {field}")]
    Overflow { field: String },
    #[error("this database was written by a newer Pitlane (schema {found}, this build knows {known}); it was left untouched")]
    DatabaseTooNew { found: i64, known: i64 },
    #[error("not a Pitlane database: {0}")]
    NotPitlaneDatabase(String),
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation(vec![FieldError { field: field.into(), message: message.into() }])
    }

    pub fn not_found(entity: &'static str, id: impl Into<String>) -> Self {
        Error::NotFound { entity, id: id.into() }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>, details: Value) -> Self {
        debug_assert!(CODES.contains(&code), "error code {code} is missing from error::CODES");
        Error::Conflict { code, message: message.into(), details }
    }

    pub fn rule(code: &'static str, message: impl Into<String>, details: Value) -> Self {
        debug_assert!(CODES.contains(&code), "error code {code} is missing from error::CODES");
        Error::Rule { code, message: message.into(), details }
    }

    /// The machine-readable code the envelope carries (one of [`CODES`]).
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadRequest(_) => "bad_request",
            Error::Validation(_) => "validation_failed",
            Error::NotLoggedIn => "not_logged_in",
            Error::WrongCredentials { .. } => "wrong_credentials",
            Error::AccountLocked { .. } => "account_locked",
            Error::Forbidden { .. } => "forbidden",
            Error::NotFound { .. } => "not_found",
            Error::Conflict { code, .. } | Error::Rule { code, .. } => code,
            Error::Overflow { .. } => "amount_out_of_range",
            Error::DatabaseTooNew { .. } => "database_too_new",
            Error::NotPitlaneDatabase(_) => "not_a_pitlane_database",
            Error::Db(_) | Error::Internal(_) => "internal_error",
        }
    }

    /// SQLITE_BUSY / SQLITE_LOCKED: worth retrying the whole transaction.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::Db(rusqlite::Error::SqliteFailure(e, _))
                if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Internal(format!("json: {e}"))
    }
}
