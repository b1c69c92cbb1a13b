//! How to read the cloud's answer to a batch (docs/SYNC.md section 3): a
//! pure function of the status, the envelope and the batch it answers.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::Value;

/// What the device does after an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The cloud holds these events of the batch (accepted or duplicate).
    Delivered(Vec<String>),
    /// The cloud refused this event: quarantine it and go on.
    Quarantine { event_id: String, reason: String },
    /// Try the same events again later (no answer, 5xx, 429): at least `after`.
    Retry { after: Option<Duration>, reason: String, reached: bool },
    /// The cloud refused the batch for a reason no event carries (401, 403
    /// wrong_device, another 4xx naming no event): recorded as the last
    /// error, retried with backoff.
    Refused(String),
    /// `sequence_gap`: send again from this number.
    ResumeFrom(i64),
    /// `sequence_reused`: stop syncing; the owner must act.
    Halt(String),
    /// 413: send smaller batches.
    Smaller,
}

/// The batch an answer is about.
pub struct Sent<'a> {
    /// The ids of the events sent, in order.
    pub event_ids: &'a [&'a str],
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// `status code: message` with the field when the cloud named one.
fn reason_of(status: u16, envelope: &Value) -> String {
    let code = text(envelope, "code");
    let message = text(envelope, "message");
    let field = envelope.get("details").map(|d| text(d, "field")).unwrap_or("");
    let mut reason = format!("{status} {}", if code.is_empty() { "error" } else { code });
    if !message.is_empty() {
        reason.push_str(": ");
        reason.push_str(message);
    }
    if !field.is_empty() {
        reason.push_str(&format!(" (field {field})"));
    }
    reason
}

/// Reads an HTTP answer. `retry_after` is the parsed `Retry-After` header.
pub fn read(status: u16, body: &[u8], retry_after: Option<Duration>, sent: &Sent) -> Verdict {
    let envelope: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let code = text(&envelope, "code");
    let details = envelope.get("details").cloned().unwrap_or(Value::Null);
    // A set: a 200 lists up to 500 ids, each looked up among the batch's 500.
    let in_batch: HashSet<&str> = sent.event_ids.iter().copied().collect();
    let named = details.get("event_id").and_then(Value::as_str).filter(|id| in_batch.contains(id)).map(str::to_string);
    let reason = reason_of(status, &envelope);
    match status {
        200..=299 => {
            let Some(data) = envelope.get("data").filter(|_| envelope["success"] == true) else {
                return Verdict::Retry {
                    after: None,
                    reason: format!("{status}: an answer that is not the envelope"),
                    reached: true,
                };
            };
            let ids = ["accepted", "duplicates"]
                .iter()
                .flat_map(|k| data.get(*k).and_then(Value::as_array).into_iter().flatten())
                .filter_map(Value::as_str)
                .filter(|id| in_batch.contains(id))
                .map(str::to_string)
                .collect();
            Verdict::Delivered(ids)
        }
        429 => Verdict::Retry { after: retry_after, reason, reached: true },
        500..=599 => Verdict::Retry { after: retry_after, reason, reached: true },
        413 => Verdict::Smaller,
        409 if code == "sequence_gap" => match details.get("expected_seq").and_then(Value::as_i64) {
            Some(seq) if seq >= 1 => Verdict::ResumeFrom(seq),
            _ => Verdict::Refused(format!("{reason} (no expected_seq)")),
        },
        409 if code == "sequence_reused" => {
            let seq = details.get("device_seq").and_then(Value::as_i64);
            let held = text(&details, "held_event_id");
            Verdict::Halt(format!(
                "The cloud already holds number {} of this device with another event ({}): this database \
                 may be a copy or an older backup of another device. Sync stopped until the owner gives \
                 this database a new identity.",
                seq.map_or("?".to_string(), |s| s.to_string()),
                if held.is_empty() { "unknown" } else { held }
            ))
        }
        401 => Verdict::Refused(reason),
        403 if code == "wrong_device" => Verdict::Refused(reason),
        400 => match named.or_else(|| sent.event_ids.first().map(|s| s.to_string())) {
            Some(event_id) => Verdict::Quarantine { event_id, reason },
            None => Verdict::Refused(reason),
        },
        _ if (400..500).contains(&status) => match named {
            Some(event_id) => Verdict::Quarantine { event_id, reason },
            None => Verdict::Refused(reason),
        },
        _ => Verdict::Retry { after: retry_after, reason, reached: true },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn failure(code: &str, status: u16, details: Value) -> Vec<u8> {
        json!({ "success": false, "code": code, "message": "m", "status_code": status, "details": details })
            .to_string()
            .into_bytes()
    }

    #[test]
    fn how_to_read_an_answer() {
        let ids = ["e1", "e2", "e3"];
        let sent = Sent { event_ids: &ids };
        let ok = |data: Value| json!({ "success": true, "data": data }).to_string().into_bytes();
        let secs = |s| Some(Duration::from_secs(s));
        /// (scenario, status, body, Retry-After, verdict)
        type Case = (&'static str, u16, Vec<u8>, Option<Duration>, Verdict);
        let cases: Vec<Case> = vec![
            (
                "accepted and duplicates are both delivered",
                200,
                ok(json!({ "accepted": ["e1", "e3"], "duplicates": ["e2"], "holes": [], "device_last_seq": 3 })),
                None,
                Verdict::Delivered(vec!["e1".into(), "e3".into(), "e2".into()]),
            ),
            (
                "an id the batch did not hold is not marked",
                200,
                ok(json!({ "accepted": ["e1", "zz"], "duplicates": [] })),
                None,
                Verdict::Delivered(vec!["e1".into()]),
            ),
            (
                "a 200 that is not the envelope is retried",
                200,
                b"<html>proxy</html>".to_vec(),
                None,
                Verdict::Retry { after: None, reason: "200: an answer that is not the envelope".into(), reached: true },
            ),
            (
                "a malformed event is quarantined with the field",
                422,
                failure("invalid_event", 422, json!({ "event_id": "e2", "field": "payload.name" })),
                None,
                Verdict::Quarantine {
                    event_id: "e2".into(),
                    reason: "422 invalid_event: m (field payload.name)".into(),
                },
            ),
            (
                "an event claiming another identity is quarantined",
                403,
                failure("wrong_identity", 403, json!({ "event_id": "e3" })),
                None,
                Verdict::Quarantine { event_id: "e3".into(), reason: "403 wrong_identity: m".into() },
            ),
            (
                "a bad request naming no event quarantines the first",
                400,
                failure("bad_request", 400, json!({})),
                None,
                Verdict::Quarantine { event_id: "e1".into(), reason: "400 bad_request: m".into() },
            ),
            (
                "an unknown token keeps everything and is retried",
                401,
                failure("unauthorized", 401, json!({})),
                None,
                Verdict::Refused("401 unauthorized: m".into()),
            ),
            (
                "a token of another device is as 401",
                403,
                failure("wrong_device", 403, json!({})),
                None,
                Verdict::Refused("403 wrong_device: m".into()),
            ),
            (
                "another 4xx naming an event quarantines it",
                418,
                failure("teapot", 418, json!({ "event_id": "e1" })),
                None,
                Verdict::Quarantine { event_id: "e1".into(), reason: "418 teapot: m".into() },
            ),
            (
                "another 4xx naming no event is an error retried",
                404,
                failure("not_found", 404, json!({})),
                None,
                Verdict::Refused("404 not_found: m".into()),
            ),
            (
                "a 4xx naming an event the batch did not hold quarantines nothing",
                422,
                failure("invalid_event", 422, json!({ "event_id": "other" })),
                None,
                Verdict::Refused("422 invalid_event: m".into()),
            ),
            (
                "a sequence gap resumes from the expected number",
                409,
                failure("sequence_gap", 409, json!({ "expected_seq": 41 })),
                None,
                Verdict::ResumeFrom(41),
            ),
            ("too large: smaller batches", 413, failure("batch_too_large", 413, json!({})), None, Verdict::Smaller),
            (
                "rate limited waits the Retry-After",
                429,
                failure("rate_limited", 429, json!({})),
                secs(30),
                Verdict::Retry { after: secs(30), reason: "429 rate_limited: m".into(), reached: true },
            ),
            (
                "a 5xx is retried",
                503,
                b"".to_vec(),
                None,
                Verdict::Retry { after: None, reason: "503 error".into(), reached: true },
            ),
        ];
        for (scenario, status, body, retry_after, want) in cases {
            assert_eq!(read(status, &body, retry_after, &sent), want, "{scenario}");
        }
    }

    #[test]
    fn a_reused_number_halts_and_says_which() {
        let ids = ["e1"];
        let body = failure("sequence_reused", 409, json!({ "device_seq": 7, "held_event_id": "other-7" }));
        match read(409, &body, None, &Sent { event_ids: &ids }) {
            Verdict::Halt(reason) => {
                assert!(reason.contains("number 7") && reason.contains("other-7"), "{reason}");
            }
            other => panic!("expected a halt, got {other:?}"),
        }
    }
}
