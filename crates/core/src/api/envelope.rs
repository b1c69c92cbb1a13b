//! The one place where core errors become the wire envelope (SPEC 7):
//! `{ "success": true, "data": … }` or
//! `{ "success": false, "code", "message", "status_code", "details" }`.
//! Callers branch on `code`, never on `message`.

use serde::Serialize;
use serde_json::{json, Value};

use crate::error::Error;
use crate::wording;

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
#[serde(untagged)]
pub enum Envelope {
    Success {
        #[ts(type = "true")]
        success: bool,
        data: Value,
    },
    Failure {
        #[ts(type = "false")]
        success: bool,
        code: String,
        message: String,
        status_code: u16,
        details: Value,
    },
}

impl Envelope {
    pub fn ok(data: Value) -> Self {
        Envelope::Success { success: true, data }
    }

    pub fn is_success(&self) -> bool {
        matches!(self, Envelope::Success { .. })
    }

    pub fn data(&self) -> Option<&Value> {
        match self {
            Envelope::Success { data, .. } => Some(data),
            Envelope::Failure { .. } => None,
        }
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            Envelope::Failure { code, .. } => Some(code),
            Envelope::Success { .. } => None,
        }
    }

    pub fn message(&self) -> Option<&str> {
        match self {
            Envelope::Failure { message, .. } => Some(message),
            Envelope::Success { .. } => None,
        }
    }

    pub fn status_code(&self) -> u16 {
        match self {
            Envelope::Failure { status_code, .. } => *status_code,
            Envelope::Success { .. } => 200,
        }
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{\"success\":false}"))
    }
}

/// Codes the transports answer before a command reaches the core (browser
/// mode: a missing or wrong serve token, a foreign Host or Origin). With
/// [`crate::error::CODES`] they make the UI's `ErrorCode`.
pub const TRANSPORT_CODES: &[&str] = &["not_authorized", "forbidden_origin"];

/// The machine-readable code of an error.
pub fn code_of(e: &Error) -> &'static str {
    match e {
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

/// Maps an error to its envelope. Unexpected errors are logged with a
/// correlation id that the envelope carries; their text never leaves.
pub fn failure(e: &Error, correlation_id: impl FnOnce() -> String) -> Envelope {
    let (status, message, details): (u16, String, Value) = match e {
        Error::BadRequest(m) => (400, m.clone(), json!({})),
        Error::Validation(fields) => {
            let mut labels: Vec<String> = Vec::new();
            for f in fields {
                let label = wording::field_label(&f.field);
                if !labels.contains(&label) {
                    labels.push(label);
                }
            }
            let count = wording::plural(labels.len() as i64, "field", "fields");
            (422, format!("Please check {count}: {}.", wording::and_list(&labels)), json!({ "fields": fields }))
        }
        Error::NotLoggedIn => (401, "Please log in.".into(), json!({})),
        Error::WrongCredentials { attempts_left } => {
            (401, "Wrong staff code or PIN.".into(), json!({ "attempts_left": attempts_left }))
        }
        Error::AccountLocked { until } => (
            401,
            "Too many wrong PINs: this account is locked for a few minutes.".into(),
            json!({ "locked_until": until }),
        ),
        Error::Forbidden { command } => {
            // A command name, or what a command refused ("work on another technician's job card").
            let message = if super::table::find(command).is_some() {
                "Your role does not allow this.".to_string()
            } else {
                format!("You cannot {command}.")
            };
            (403, message, json!({ "command": command }))
        }
        Error::NotFound { entity, id } => {
            (404, format!("That {entity} could not be found."), json!({ "entity": entity, "id": id }))
        }
        Error::Conflict { message, details, .. } => (409, message.clone(), details.clone()),
        Error::Rule { message, details, .. } => (400, message.clone(), details.clone()),
        Error::Overflow { field } => (
            422,
            format!("The amount for {} is too large.", wording::field_label(field)),
            json!({ "fields": [{ "field": field, "message": "is too large" }] }),
        ),
        Error::DatabaseTooNew { found, known } => (
            400,
            "This database was made by a newer version of Pitlane: update Pitlane to open it. The file was not changed."
                .into(),
            json!({ "found": found, "known": known }),
        ),
        Error::NotPitlaneDatabase(_) => (400, "That file is not a Pitlane database.".into(), json!({})),
        Error::Db(_) | Error::Internal(_) => {
            let id = correlation_id();
            tracing::error!(correlation_id = %id, error = %e, "unexpected error");
            (
                500,
                "Something unexpected went wrong. Nothing was saved; the log has the details.".into(),
                json!({ "correlation_id": id }),
            )
        }
    };
    Envelope::Failure { success: false, code: code_of(e).to_string(), message, status_code: status, details }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CODES;

    /// Every variant's code is in the list the UI's `ErrorCode` is made of.
    #[test]
    fn every_variant_code_is_listed() {
        let errors = [
            Error::BadRequest(String::new()),
            Error::Validation(Vec::new()),
            Error::NotLoggedIn,
            Error::WrongCredentials { attempts_left: 1 },
            Error::AccountLocked { until: String::new() },
            Error::Forbidden { command: String::new() },
            Error::NotFound { entity: "x", id: String::new() },
            Error::Overflow { field: String::new() },
            Error::DatabaseTooNew { found: 2, known: 1 },
            Error::NotPitlaneDatabase(String::new()),
            Error::Internal(String::new()),
            Error::conflict("wrong_status", "", json!({})),
            Error::rule("no_lines", "", json!({})),
        ];
        for e in &errors {
            assert!(CODES.contains(&code_of(e)), "{} is not in error::CODES", code_of(e));
        }
        for c in TRANSPORT_CODES {
            assert!(!CODES.contains(c), "{c} is listed twice");
        }
    }
}
