//! The core's one error type. It is mapped to the wire envelope in one place:
//! [`crate::api::envelope`].

use serde_json::Value;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One bad input field: the field's path (`customer.email`, `adjustments[2].quantity`)
/// and a sentence a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
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
        Error::Conflict { code, message: message.into(), details }
    }

    pub fn rule(code: &'static str, message: impl Into<String>, details: Value) -> Self {
        Error::Rule { code, message: message.into(), details }
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
