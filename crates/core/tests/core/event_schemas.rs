//! docs/SYNC.md section 7 and docs/sync-schemas/ are what the event
//! registry makes (`pitlane_core::events::REGISTRY`, schemars). Regenerate
//! after changing a payload type or registering an event type:
//! `PITLANE_WRITE_DOCS=1 cargo test -p pitlane-core --test core event_schemas`.

use std::path::{Path, PathBuf};

use pitlane_core::events::REGISTRY;
use serde_json::{json, Value};

const HEADING: &str = "## 7. Event types and their JSON Schemas";
const REGENERATE: &str = "PITLANE_WRITE_DOCS=1 cargo test -p pitlane-core --test core event_schemas";

fn docs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

/// One event type's schema file: the payload type's JSON Schema, titled
/// with the event type, its description first, and the type, version and
/// aggregate under `x-pitlane-event`.
fn schema_file(t: &pitlane_core::events::EventType) -> String {
    let mut schema = serde_json::to_value((t.schema)()).expect("a schema is JSON");
    let obj = schema.as_object_mut().expect("a schema is an object");
    let own = obj.get("description").and_then(Value::as_str).map(str::to_string);
    let description = match own {
        Some(d) => format!("{} {d}", t.description.trim()),
        None => t.description.trim().to_string(),
    };
    obj.insert("title".into(), json!(t.name));
    obj.insert("description".into(), json!(description));
    obj.insert(
        "x-pitlane-event".into(),
        json!({ "type": t.name, "schema_version": t.schema_version, "aggregate_type": t.aggregate_type }),
    );
    format!("{}\n", serde_json::to_string_pretty(&schema).expect("serializes"))
}

/// Section 7 of docs/SYNC.md, from its heading to the end of the section.
fn section() -> String {
    let mut s = format!(
        "{HEADING}\n\n\
         Generated from the Rust payload types (`crates/core/src/events.rs`, schemars) by `{REGENERATE}`;\n\
         a test fails when this section or `docs/sync-schemas/` and the code differ. Each schema file\n\
         (JSON Schema draft 2020-12) describes the envelope's `payload` for that `type` and\n\
         `schema_version` (its `x-pitlane-event` names both and the `aggregate_type`); `required` lists\n\
         the fields always present, null where the schema allows it. A field is only ever added at the\n\
         same `schema_version`; a field changed or removed raises it, so a reader keeps every version it\n\
         has seen. Receivers should ignore fields they do not know. No payload carries a PIN, its hash,\n\
         a session, token, key or password. Times inside payloads are UTC RFC 3339 unless marked\n\
         branch local; the envelope's `occurred_at` is the moment of the change (`created_at`,\n\
         `started_at` … of the record).\n\n\
         | type | schema_version | aggregate_type | payload schema | what it says |\n\
         |---|---|---|---|---|\n"
    );
    for t in REGISTRY {
        s.push_str(&format!(
            "| `{}` | {} | `{}` | [{}.json](sync-schemas/{}.json) | {} |\n",
            t.name,
            t.schema_version,
            t.aggregate_type,
            t.name,
            t.name,
            t.description.trim().replace('|', "\\|")
        ));
    }
    s
}

/// `text` with section 7 replaced by `new` (up to the next `## ` heading).
fn with_section(text: &str, new: &str) -> String {
    let start = text.find(HEADING).expect("docs/SYNC.md has section 7");
    let rest = &text[start + HEADING.len()..];
    let end = rest.find("\n## ").map_or(text.len(), |i| start + HEADING.len() + i + 1);
    let tail = &text[end..];
    if tail.is_empty() {
        format!("{}{new}", &text[..start])
    } else {
        format!("{}{new}\n{tail}", &text[..start])
    }
}

#[test]
fn event_schemas_in_the_docs_match_the_code() {
    let write = std::env::var("PITLANE_WRITE_DOCS").is_ok_and(|v| v == "1");
    let dir = docs().join("sync-schemas");
    let sync_md = docs().join("SYNC.md");
    let text = std::fs::read_to_string(&sync_md).expect("docs/SYNC.md");
    let expected = with_section(&text, &section());
    let mut stale = Vec::new();
    if write {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(&sync_md, &expected).unwrap();
    } else if text != expected {
        stale.push("SYNC.md section 7".to_string());
    }
    let mut names = Vec::new();
    for t in REGISTRY {
        let name = format!("{}.json", t.name);
        let path = dir.join(&name);
        let body = schema_file(t);
        if write {
            std::fs::write(&path, &body).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(body.as_str()) {
            stale.push(format!("sync-schemas/{name}"));
        }
        names.push(name);
    }
    for e in std::fs::read_dir(&dir).into_iter().flatten() {
        let file = e.unwrap().file_name().to_string_lossy().to_string();
        if !names.contains(&file) {
            if write {
                std::fs::remove_file(dir.join(&file)).unwrap();
            } else {
                stale.push(format!("sync-schemas/{file} (no such event type)"));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "docs/{{{}}} differ from the event registry; regenerate with `{REGENERATE}`",
        stale.join(", ")
    );
}

#[test]
fn event_schemas_name_every_payload_field_and_what_is_always_there() {
    // One hand-written expectation per kind of field, so a schemars setting
    // that changes the contract (required vs optional, null allowed) fails here.
    let t = pitlane_core::events::registered("JobCardUpdated").unwrap();
    let s = serde_json::to_value((t.schema)()).unwrap();
    let required: Vec<&str> = s["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(required, ["job_card_id", "number"], "fields left out when unchanged are not required");
    let t = pitlane_core::events::registered("CustomerCreated").unwrap();
    let s = serde_json::to_value((t.schema)()).unwrap();
    assert!(s["required"].as_array().unwrap().contains(&json!("email")), "a nullable field is always present");
    assert_eq!(s["properties"]["email"]["type"], json!(["string", "null"]));
    assert_eq!(s["properties"]["marketing_consent"]["type"], json!("boolean"));
    let t = pitlane_core::events::registered("InventoryAdjusted").unwrap();
    let s = serde_json::to_value((t.schema)()).unwrap();
    assert!(s["properties"].get("type").is_some(), "serde renames show in the schema");
    assert!(s["properties"].get("movement").is_none());
}
