//! The body of `POST /v1/events` read and checked (docs/SYNC.md section 2): shape first (400),
//! then each event's fields (422 naming the event and the field), then its identity against
//! the token's device (403). Pure: no database.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::error::CloudError;

/// The most events one batch may hold (the device sends at most 500).
pub const MAX_EVENTS: usize = 5_000;
/// The most bytes of JSON one batch may hold once decompressed.
pub const MAX_BYTES: usize = 16 * 1024 * 1024;

/// One event as the device sent it, checked. Changing these fields breaks the sync protocol.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub id: String,
    pub event_type: String,
    pub schema_version: i32,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub occurred_at: DateTime<Utc>,
    pub tenant_id: String,
    pub branch_id: String,
    pub device_id: String,
    pub device_seq: i64,
    pub actor_id: Option<String>,
    /// The payload's JSON text as sent (an object): stored as JSONB without being parsed here.
    pub payload: Box<RawValue>,
}

/// A number of the device's sequence that it does not send now.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hole {
    pub device_seq: i64,
    pub event_id: String,
    pub reason: String,
}

/// A whole batch, checked.
#[derive(Debug)]
pub struct Batch {
    pub device_id: String,
    pub events: Vec<Envelope>,
    pub holes: Vec<Hole>,
}

/// Who the token speaks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub device_id: String,
    pub tenant_id: String,
    pub branch_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBatch<'a> {
    device_id: String,
    #[serde(default, borrow)]
    events: Vec<&'a RawValue>,
    #[serde(default)]
    holes: Vec<Hole>,
}

/// Reads a decompressed body and checks it against the token's identity.
pub fn read(body: &[u8], who: &Identity) -> Result<Batch, CloudError> {
    if body.len() > MAX_BYTES {
        return Err(CloudError::BatchTooLarge { limit: format!("{MAX_BYTES} bytes") });
    }
    let raw: RawBatch =
        serde_json::from_slice(body).map_err(|e| CloudError::BadRequest { message: e.to_string(), field: None })?;
    if raw.events.len() > MAX_EVENTS {
        return Err(CloudError::BatchTooLarge { limit: format!("{MAX_EVENTS} events") });
    }
    if raw.device_id != who.device_id {
        return Err(CloudError::WrongDevice);
    }
    for (i, hole) in raw.holes.iter().enumerate() {
        let bad = |what: &str, problem: &str| CloudError::BadRequest {
            message: format!("holes[{i}].{what} {problem}"),
            field: Some(format!("holes[{i}].{what}")),
        };
        if hole.device_seq < 1 {
            return Err(bad("device_seq", "must be 1 or more"));
        }
        if !matches!(hole.reason.as_str(), "quarantined" | "held") {
            return Err(bad("reason", "must be quarantined or held"));
        }
        if uuid::Uuid::parse_str(&hole.event_id).is_err() {
            return Err(bad("event_id", "must be a UUID"));
        }
    }
    let mut events = Vec::with_capacity(raw.events.len());
    for text in raw.events {
        let event = envelope(text)?;
        let claim = if event.device_id != who.device_id {
            Some("device_id")
        } else if event.tenant_id != who.tenant_id {
            Some("tenant_id")
        } else if event.branch_id != who.branch_id {
            Some("branch_id")
        } else {
            None
        };
        if let Some(field) = claim {
            return Err(CloudError::WrongIdentity { event_id: event.id, field });
        }
        events.push(event);
    }
    Ok(Batch { device_id: raw.device_id, events, holes: raw.holes })
}

/// One envelope checked field by field; the first bad field is named. The payload is only
/// checked to be an object: its text goes to the database as it came.
pub fn envelope(text: &RawValue) -> Result<Envelope, CloudError> {
    match well_formed(text) {
        Some(event) => Ok(event),
        None => field_by_field(text),
    }
}

/// The envelope as a device writes it, read in one pass (the usual case, and the fast one).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Typed<'a> {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    schema_version: i64,
    aggregate_type: String,
    aggregate_id: String,
    occurred_at: String,
    tenant_id: String,
    branch_id: String,
    device_id: String,
    device_seq: i64,
    #[serde(default)]
    actor_id: Option<String>,
    #[serde(borrow)]
    payload: &'a RawValue,
}

/// The envelope when every field is present, of its type and valid; None for anything else (a
/// field missing, of another type, out of range, unknown or given twice), which
/// `field_by_field` then reads to name the first bad field. It accepts only what
/// `field_by_field` accepts, with the same values.
fn well_formed(text: &RawValue) -> Option<Envelope> {
    let t: Typed = serde_json::from_str(text.get()).ok()?;
    let name = |s: &str| !s.trim().is_empty() && s.len() <= 200;
    let ok = uuid::Uuid::parse_str(&t.id).is_ok()
        && [&t.event_type, &t.aggregate_type, &t.aggregate_id, &t.tenant_id, &t.branch_id, &t.device_id]
            .iter()
            .all(|s| name(s))
        && (1..=i32::MAX as i64).contains(&t.schema_version)
        && t.device_seq >= 1
        && t.actor_id.as_deref().is_none_or(name)
        && t.payload.get().trim_start().starts_with('{');
    if !ok {
        return None;
    }
    let occurred_at = DateTime::parse_from_rfc3339(&t.occurred_at).ok()?.with_timezone(&Utc);
    Some(Envelope {
        id: t.id,
        event_type: t.event_type,
        schema_version: t.schema_version as i32,
        aggregate_type: t.aggregate_type,
        aggregate_id: t.aggregate_id,
        occurred_at,
        tenant_id: t.tenant_id,
        branch_id: t.branch_id,
        device_id: t.device_id,
        device_seq: t.device_seq,
        actor_id: t.actor_id,
        payload: t.payload.to_owned(),
    })
}

fn field_by_field(text: &RawValue) -> Result<Envelope, CloudError> {
    let Ok(fields) = serde_json::from_str::<HashMap<String, &RawValue>>(text.get()) else {
        return Err(invalid(None, "event", "must be an object"));
    };
    let value =
        |field: &str| -> Option<Value> { fields.get(field).and_then(|raw| serde_json::from_str(raw.get()).ok()) };
    let id = match value("id") {
        Some(Value::String(s)) if uuid::Uuid::parse_str(&s).is_ok() => s,
        _ => return Err(invalid(None, "id", "must be a UUID")),
    };
    const KNOWN: [&str; 12] = [
        "id",
        "type",
        "schema_version",
        "aggregate_type",
        "aggregate_id",
        "occurred_at",
        "tenant_id",
        "branch_id",
        "device_id",
        "device_seq",
        "actor_id",
        "payload",
    ];
    if let Some(extra) = fields.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(invalid(Some(&id), extra, "is not a field of the envelope"));
    }
    let text = |field: &str| -> Result<String, CloudError> {
        match value(field) {
            Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 200 => Ok(s),
            _ => Err(invalid(Some(&id), field, "must be a non-empty string of at most 200 characters")),
        }
    };
    let event_type = text("type")?;
    let schema_version = match value("schema_version").as_ref().and_then(Value::as_i64) {
        Some(v) if (1..=i32::MAX as i64).contains(&v) => v as i32,
        _ => return Err(invalid(Some(&id), "schema_version", "must be a whole number of 1 or more")),
    };
    let aggregate_type = text("aggregate_type")?;
    let aggregate_id = text("aggregate_id")?;
    let occurred_at = match value("occurred_at").as_ref().and_then(Value::as_str).map(DateTime::parse_from_rfc3339) {
        Some(Ok(t)) => t.with_timezone(&Utc),
        _ => return Err(invalid(Some(&id), "occurred_at", "must be an RFC 3339 time")),
    };
    let tenant_id = text("tenant_id")?;
    let branch_id = text("branch_id")?;
    let device_id = text("device_id")?;
    let device_seq = match value("device_seq").as_ref().and_then(Value::as_i64) {
        Some(v) if v >= 1 => v,
        _ => return Err(invalid(Some(&id), "device_seq", "must be a whole number of 1 or more")),
    };
    let actor_id = match value("actor_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 200 => Some(s),
        _ => return Err(invalid(Some(&id), "actor_id", "must be null or a non-empty string")),
    };
    let payload = match fields.get("payload") {
        Some(raw) if raw.get().trim_start().starts_with('{') => (*raw).to_owned(),
        _ => return Err(invalid(Some(&id), "payload", "must be an object")),
    };
    Ok(Envelope {
        id,
        event_type,
        schema_version,
        aggregate_type,
        aggregate_id,
        occurred_at,
        tenant_id,
        branch_id,
        device_id,
        device_seq,
        actor_id,
        payload,
    })
}

fn invalid(event_id: Option<&str>, field: &str, problem: &str) -> CloudError {
    CloudError::InvalidEvent {
        event_id: event_id.map(str::to_owned),
        field: field.to_owned(),
        problem: problem.to_owned(),
    }
}

impl Envelope {
    /// The envelope as docs/EVENTS.md section 1 writes it (`occurred_at` with milliseconds).
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "id": self.id,
            "type": self.event_type,
            "schema_version": self.schema_version,
            "aggregate_type": self.aggregate_type,
            "aggregate_id": self.aggregate_id,
            "occurred_at": self.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "tenant_id": self.tenant_id,
            "branch_id": self.branch_id,
            "device_id": self.device_id,
            "device_seq": self.device_seq,
            "actor_id": self.actor_id,
            "payload": self.payload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn who() -> Identity {
        Identity { device_id: "dev-a".into(), tenant_id: "t1".into(), branch_id: "b1".into() }
    }

    fn event(seq: i64) -> Value {
        json!({
            "id": uuid::Uuid::now_v7().to_string(), "type": "CustomerCreated", "schema_version": 1,
            "aggregate_type": "customer", "aggregate_id": "c1", "occurred_at": "2026-12-02T06:00:00.123Z",
            "tenant_id": "t1", "branch_id": "b1", "device_id": "dev-a", "device_seq": seq,
            "actor_id": null, "payload": {"name": "x"},
        })
    }

    fn body(events: Vec<Value>) -> Vec<u8> {
        serde_json::to_vec(&json!({"device_id": "dev-a", "events": events, "holes": []})).unwrap()
    }

    fn code(r: Result<Batch, CloudError>) -> (&'static str, Value) {
        let e = r.expect_err("refused");
        let (_, code, details) = e.parts();
        (code, details)
    }

    #[test]
    fn a_well_formed_batch_reads_back_as_sent() {
        let sent = event(1);
        let batch = read(&body(vec![sent.clone()]), &who()).unwrap();
        assert_eq!(batch.events[0].to_json(), sent, "the envelope round-trips exactly");
    }

    #[test]
    fn each_malformed_field_is_named() {
        let cases: &[(&str, Value)] = &[
            ("type", json!("")),
            ("schema_version", json!(0)),
            ("schema_version", json!("1")),
            ("aggregate_id", json!(null)),
            ("occurred_at", json!("yesterday")),
            ("device_seq", json!(0)),
            ("device_seq", json!(1.5)),
            ("actor_id", json!(7)),
            ("payload", json!([1])),
            ("id", json!("not-a-uuid")),
        ];
        for (field, bad) in cases {
            let mut e = event(1);
            e[*field] = bad.clone();
            let (code, details) = code(read(&body(vec![e]), &who()));
            assert_eq!(code, "invalid_event", "{field} = {bad}");
            assert_eq!(details["field"], *field, "{field} = {bad} names the field");
        }
    }

    #[test]
    fn the_one_pass_reading_agrees_with_the_field_by_field_one() {
        let mut cases: Vec<(&str, Value)> = vec![("as a device writes it", event(1))];
        let mut with = |name: &'static str, field: &str, value: Value| {
            let mut e = event(1);
            e[field] = value;
            cases.push((name, e));
        };
        with("an actor", "actor_id", json!("0193a1b2-0000-7000-8000-00000000a001"));
        with("an escaped string", "aggregate_id", json!("c\"1\u{e9}\\n"));
        with("an empty type", "type", json!(""));
        with("a blank aggregate id", "aggregate_id", json!("   "));
        with("a type too long", "type", json!("x".repeat(201)));
        with("schema_version 0", "schema_version", json!(0));
        with("schema_version past i32", "schema_version", json!(i64::from(i32::MAX) + 1));
        with("schema_version as text", "schema_version", json!("1"));
        with("device_seq 0", "device_seq", json!(0));
        with("device_seq a fraction", "device_seq", json!(1.5));
        with("device_seq 1.0", "device_seq", json!(1.0));
        with("an empty actor", "actor_id", json!(""));
        with("an actor number", "actor_id", json!(7));
        with("a payload array", "payload", json!([1]));
        with("a bad time", "occurred_at", json!("yesterday"));
        with("an id not a UUID", "id", json!("nope"));
        with("an unknown field", "colour", json!("red"));
        let mut no_actor = event(1);
        no_actor.as_object_mut().unwrap().remove("actor_id");
        cases.push(("no actor_id at all", no_actor));
        let mut no_type = event(1);
        no_type.as_object_mut().unwrap().remove("type");
        cases.push(("no type", no_type));
        cases.push(("not an object", json!([1, 2])));
        for (name, e) in &cases {
            let text = serde_json::value::to_raw_value(e).unwrap();
            let fast = envelope(&text).map(|e| e.to_json());
            let slow = field_by_field(&text).map(|e| e.to_json());
            match (fast, slow) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{name}"),
                (Err(a), Err(b)) => assert_eq!((a.parts(), a.to_string()), (b.parts(), b.to_string()), "{name}"),
                (a, b) => panic!("{name}: {a:?} against {b:?}"),
            }
        }
        let plain = serde_json::value::to_raw_value(&event(1)).unwrap();
        assert!(well_formed(&plain).is_some(), "an envelope as a device writes it takes the one-pass way");
        // A duplicated key: the one-pass reading declines, the field-by-field one keeps the last.
        let twice =
            RawValue::from_string(event(1).to_string().replacen("\"type\":", "\"type\":\"First\",\"type\":", 1))
                .unwrap();
        assert!(well_formed(&twice).is_none(), "a key given twice");
        assert_eq!(envelope(&twice).unwrap().event_type, "CustomerCreated");
    }

    #[test]
    fn an_event_claiming_another_identity_is_wrong_identity() {
        for field in ["device_id", "tenant_id", "branch_id"] {
            let mut e = event(1);
            e[field] = json!("someone-else");
            let id = e["id"].clone();
            let (code, details) = code(read(&body(vec![event(1), e]), &who()));
            assert_eq!(code, "wrong_identity", "{field}");
            assert_eq!(details["event_id"], id, "{field}: the offending event is named");
        }
    }

    #[test]
    fn a_body_for_another_device_or_of_another_shape_is_refused() {
        let other = serde_json::to_vec(&json!({"device_id": "dev-b", "events": []})).unwrap();
        assert_eq!(code(read(&other, &who())).0, "wrong_device");
        assert_eq!(code(read(b"[1,2]", &who())).0, "bad_request");
        assert_eq!(code(read(b"{\"device_id\": \"dev-a\", \"extra\": 1}", &who())).0, "bad_request");
        let hole = json!({"device_id": "dev-a", "holes": [{"device_seq": 1, "event_id": uuid::Uuid::now_v7(), "reason": "lost"}]});
        assert_eq!(code(read(&serde_json::to_vec(&hole).unwrap(), &who())).0, "bad_request");
    }

    #[test]
    fn more_than_five_thousand_events_is_too_large() {
        let many: Vec<Value> = (1..=5001).map(event).collect();
        assert_eq!(code(read(&body(many), &who())).0, "batch_too_large");
    }
}
