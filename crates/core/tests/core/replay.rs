//! The events are complete (issue 10 item 5): a device's business records
//! can be rebuilt from its outbox alone.
//!
//! A realistic workload runs through the command table (the demo branch,
//! then staff, settings, customers, vehicles, inventory, appointments, job
//! cards, invoices, payments, refunds and voids). Then the device's events,
//! in `device_seq` order, are folded into an empty projection (maps built
//! from the typed payloads and the envelopes, nothing else), and the same
//! shape is read from the device's tables with SQL: they must be equal,
//! table by table. Every table and column of the database is either
//! compared or listed below as the device's own, with the reason; a new
//! table or column fails the test until it is classified.
//!
//! Card payments are not driven here (they need the gateway double, in
//! crates/gateway/tests/saga.rs): the card saga records its payment and
//! refund with the same functions as cash (`payments::process_tx`,
//! `record_refund_tx`), so it writes the same `PaymentCaptured` and
//! `PaymentRefunded` shapes (with the charge id as `reference` and the
//! gateway's refund id as `gateway_refund_id`). `PaymentCompensated` is
//! card-only and changes no record.

use std::collections::BTreeMap;
use std::sync::Arc;

use pitlane_core::demo::{self, DEMO_PIN};
use pitlane_core::events::{self as ev, REGISTRY};
use pitlane_core::outbox::EventEnvelope;
use pitlane_core::{Api, FixedClock};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

use crate::support::{ok, open_at, start_clock};

type Row = Map<String, Value>;
type Table = BTreeMap<String, Row>;

#[derive(Clone, Copy, PartialEq)]
enum Conv {
    /// As stored: integer, text or null.
    Plain,
    /// 0/1 as false/true.
    Bool,
    /// Text holding JSON, parsed.
    Json,
    /// A file: its size and SHA-256.
    Digest,
}
use Conv::*;

/// A compared table: its key, the columns rebuilt from events, and the
/// columns that are the device's own, with why.
struct Spec {
    table: &'static str,
    key: &'static [&'static str],
    columns: &'static [(&'static str, Conv)],
    local: &'static [(&'static str, &'static str)],
}

const SPECS: &[Spec] = &[
    Spec {
        table: "device",
        key: &["id"],
        columns: &[
            ("id", Plain),
            ("tenant_id", Plain),
            ("branch_id", Plain),
            ("series_letter", Plain),
            ("created_at", Plain),
        ],
        local: &[
            ("next_event_seq", "the outbox counter itself: the envelopes' device_seq"),
            ("host_fingerprint", "which computer this file belongs to (docs/SYNC.md section 6)"),
            ("identity_state", "whether this file may speak as the device: a local check"),
            ("identity_note", "what put the identity in doubt"),
            ("identity_changed_at", "when the identity state last changed"),
        ],
    },
    Spec {
        table: "branches",
        key: &["id"],
        columns: &[
            ("id", Plain),
            ("code", Plain),
            ("name", Plain),
            ("address", Plain),
            ("phone", Plain),
            ("email", Plain),
            ("tax_number", Plain),
            ("country", Plain),
            ("time_zone", Plain),
            ("currency", Plain),
            ("default_tax_rate_bp", Plain),
            ("payment_terms_days", Plain),
            ("labour_rate", Plain),
            ("invoice_footer", Plain),
            ("paper_size", Plain),
            ("created_at", Plain),
            ("updated_at", Plain),
            ("odometer_unit", Plain),
            ("payment_instructions", Plain),
            ("idle_lock_minutes", Plain),
        ],
        local: &[],
    },
    Spec {
        table: "opening_hours",
        key: &["weekday", "opens"],
        columns: &[("branch_id", Plain), ("weekday", Plain), ("opens", Plain), ("closes", Plain)],
        local: &[],
    },
    Spec {
        table: "closures",
        key: &["date"],
        columns: &[("branch_id", Plain), ("date", Plain), ("reason", Plain)],
        local: &[],
    },
    Spec {
        table: "bays",
        key: &["id"],
        columns: &[("id", Plain), ("branch_id", Plain), ("name", Plain), ("capabilities", Json), ("active", Bool)],
        local: &[],
    },
    Spec {
        table: "service_types",
        key: &["id"],
        columns: &[
            ("id", Plain),
            ("code", Plain),
            ("name", Plain),
            ("duration_minutes", Plain),
            ("required_capability", Plain),
            ("active", Bool),
        ],
        local: &[],
    },
    Spec {
        table: "service_type_lines",
        key: &["service_type_id", "position"],
        columns: &[
            ("service_type_id", Plain),
            ("position", Plain),
            ("kind", Plain),
            ("description", Plain),
            ("quantity", Plain),
            ("item_id", Plain),
            ("unit_price", Plain),
        ],
        local: &[],
    },
    Spec {
        table: "branch_logos",
        key: &["branch_id"],
        columns: &[("branch_id", Plain), ("media_type", Plain), ("width", Plain), ("height", Plain), ("bytes", Digest)],
        local: &[("updated_at", "when the file was last set: the event carries the file's hash, not when it was sent")],
    },
    Spec {
        table: "staff",
        key: &["id"],
        columns: &[
            ("id", Plain),
            ("branch_id", Plain),
            ("code", Plain),
            ("name", Plain),
            ("role", Plain),
            ("active", Bool),
            ("hourly_rate", Plain),
            ("created_at", Plain),
            ("updated_at", Plain),
        ],
        local: &[
            ("pin_hash", "a secret: never in an event"),
            ("failed_pin_count", "this device's login lockout"),
            ("locked_until", "this device's login lockout"),
        ],
    },
    Spec {
        table: "customers",
        key: &["id"],
        columns: &[
            ("id", Plain),
            ("name", Plain),
            ("email", Plain),
            ("phone", Plain),
            ("address", Plain),
            ("notes", Plain),
            ("marketing_consent", Bool),
            ("created_at", Plain),
            ("updated_at", Plain),
        ],
        local: &[("email_key", "derived: the email lower-cased, for uniqueness")],
    },
    Spec {
        table: "vehicles",
        key: &["id"],
        columns: &[
            ("id", Plain),
            ("customer_id", Plain),
            ("license_plate", Plain),
            ("vin", Plain),
            ("make", Plain),
            ("model", Plain),
            ("year", Plain),
            ("odometer", Plain),
            ("created_at", Plain),
            ("updated_at", Plain),
        ],
        local: &[("plate_key", "derived: the plate folded for matching")],
    },
    Spec {
        table: "service_records",
        key: &["id"],
        columns: &[
            ("id", Plain),
            ("vehicle_id", Plain),
            ("job_card_id", Plain),
            ("date", Plain),
            ("odometer", Plain),
            ("summary", Plain),
            ("parts_used", Json),
            ("created_at", Plain),
        ],
        local: &[],
    },
    Spec {
        table: "inventory_items",
        key: &["id"],
        columns: &[
            ("id", Plain),
            ("sku", Plain),
            ("barcode", Plain),
            ("name", Plain),
            ("unit", Plain),
            ("on_hand", Plain),
            ("reorder_level", Plain),
            ("cost", Plain),
            ("price", Plain),
            ("tax_rate_bp", Plain),
            ("active", Bool),
            ("created_at", Plain),
            ("updated_at", Plain),
        ],
        local: &[],
    },
    Spec {
        table: "inventory_transactions",
        key: &["id"],
        columns: &[
            ("id", Plain),
            ("item_id", Plain),
            ("delta", Plain),
            ("type", Plain),
            ("reference_type", Plain),
            ("reference_id", Plain),
            ("reason", Plain),
            ("balance_before", Plain),
            ("balance_after", Plain),
            ("actor_id", Plain),
            ("at", Plain),
        ],
        local: &[("seq", "the local row order: the events' device_seq gives the same order")],
    },
    Spec {
        table: "appointments",
        key: &["id"],
        columns: &[
            ("id", Plain),
            ("branch_id", Plain),
            ("customer_id", Plain),
            ("vehicle_id", Plain),
            ("service_type_id", Plain),
            ("bay_id", Plain),
            ("scheduled_date", Plain),
            ("scheduled_time", Plain),
            ("duration_minutes", Plain),
            ("starts_at", Plain),
            ("ends_at", Plain),
            ("status", Plain),
            ("notes", Plain),
            ("vehicle_owner_mismatch", Bool),
            ("job_card_id", Plain),
            ("created_at", Plain),
            ("updated_at", Plain),
        ],
        local: &[],
    },
    Spec {
        table: "bay_reservations",
        key: &["appointment_id"],
        columns: &[
            ("bay_id", Plain),
            ("appointment_id", Plain),
            ("starts_at", Plain),
            ("ends_at", Plain),
            ("active", Bool),
        ],
        local: &[("id", "a local row id: one reservation per appointment, compared by the appointment")],
    },
    Spec {
        table: "job_cards",
        key: &["id"],
        columns: &[
            ("id", Plain),
            ("number", Plain),
            ("branch_id", Plain),
            ("customer_id", Plain),
            ("vehicle_id", Plain),
            ("appointment_id", Plain),
            ("technician_id", Plain),
            ("status", Plain),
            ("odometer_in", Plain),
            ("complaint", Plain),
            ("findings", Plain),
            ("discount", Plain),
            ("subtotal", Plain),
            ("tax_total", Plain),
            ("total", Plain),
            ("started_at", Plain),
            ("completed_at", Plain),
            ("cancelled_at", Plain),
            ("created_at", Plain),
            ("updated_at", Plain),
        ],
        local: &[],
    },
    Spec {
        table: "job_card_lines",
        key: &["id"],
        columns: &[
            ("id", Plain),
            ("job_card_id", Plain),
            ("position", Plain),
            ("kind", Plain),
            ("description", Plain),
            ("item_id", Plain),
            ("quantity", Plain),
            ("unit_price", Plain),
            ("tax_rate_bp", Plain),
            ("created_at", Plain),
        ],
        local: &[],
    },
    Spec {
        table: "invoices",
        key: &["id"],
        columns: &[
            ("id", Plain),
            ("number", Plain),
            ("job_card_id", Plain),
            ("customer_id", Plain),
            ("vehicle_id", Plain),
            ("currency", Plain),
            ("lines", Json),
            ("subtotal", Plain),
            ("discount", Plain),
            ("tax_summary", Json),
            ("tax_total", Plain),
            ("total", Plain),
            ("amount_paid", Plain),
            ("balance_due", Plain),
            ("status", Plain),
            ("issued_at", Plain),
            ("due_date", Plain),
            ("notes", Plain),
        ],
        local: &[],
    },
    Spec {
        table: "payments",
        key: &["id"],
        columns: &[
            ("id", Plain),
            ("invoice_id", Plain),
            ("amount", Plain),
            ("refunded_amount", Plain),
            ("method", Plain),
            ("reference", Plain),
            ("status", Plain),
            ("actor_id", Plain),
            ("created_at", Plain),
            ("updated_at", Plain),
        ],
        local: &[("idempotency_key", "the caller's retry key, meaningful only to this device's requests")],
    },
    Spec {
        table: "refunds",
        key: &["id"],
        columns: &[
            ("id", Plain),
            ("payment_id", Plain),
            ("amount", Plain),
            ("reason", Plain),
            ("actor_id", Plain),
            ("created_at", Plain),
            ("gateway_refund_id", Plain),
        ],
        local: &[("idempotency_key", "the caller's retry key, meaningful only to this device's requests")],
    },
];

/// Tables that are the device's own, not business records, and why.
const LOCAL_TABLES: &[(&str, &str)] = &[
    ("audit_log", "this device's tamper-evident log of who did what (its hash chain is local)"),
    ("outbox", "the events themselves"),
    ("jobs", "this device's queue of listener work (emails, texts, alerts)"),
    ("alerts", "in-app notes to this device's managers, raised by listeners"),
    ("orchestration_runs", "diagnostics of this device's orchestrators"),
    ("search_terms", "a derived index for quick search"),
    ("number_series", "derived: the last number of each series is in JobCardCreated / InvoiceGenerated"),
    ("login_failures", "this device's login lockout"),
    ("integration_settings", "where this device reaches outside services (addresses; their keys are secrets)"),
    (
        "payment_attempts",
        "the card saga's state on this device; its outcomes are PaymentCaptured or PaymentCompensated",
    ),
    ("refund_attempts", "the card refund saga's state on this device; its outcome is PaymentRefunded"),
    ("device_identities", "this file's earlier identities; each change is a DeviceIdentityChanged event"),
    ("sync_state", "where this device's sync with the cloud stands"),
];

// ---- the projection: built from events only ------------------------------------------

#[derive(Default)]
struct Projection {
    tables: BTreeMap<&'static str, Table>,
}

fn obj(v: Value) -> Row {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn payload<T: DeserializeOwned>(e: &EventEnvelope) -> T {
    serde_json::from_value(e.payload.clone())
        .unwrap_or_else(|err| panic!("{} #{}: payload does not fit its type: {err}", e.event_type, e.device_seq))
}

impl Projection {
    fn table(&mut self, t: &'static str) -> &mut Table {
        self.tables.entry(t).or_default()
    }

    fn put(&mut self, t: &'static str, key: &str, row: Value) {
        self.table(t).insert(key.to_string(), obj(row));
    }

    /// Sets `fields` on an existing row.
    fn set(&mut self, t: &'static str, key: &str, fields: Value) {
        let row = self.table(t).get_mut(key).unwrap_or_else(|| panic!("an event about {t} {key}, never created"));
        row.extend(obj(fields));
    }

    fn get(&mut self, t: &'static str, key: &str, field: &str) -> Value {
        self.table(t).get(key).and_then(|r| r.get(field)).cloned().unwrap_or(Value::Null)
    }

    fn branch_settings(&mut self, e: &EventEnvelope, created: bool) {
        let at = json!(e.occurred_at);
        let s: ev::BranchSettings = payload(e);
        let b = &s.branch;
        let id = b.branch_id.as_str();
        let (created_at, updated_at) = if created {
            (at.clone(), at.clone())
        } else {
            let before = self.get("branches", id, "updated_at");
            let updated = if s.changed.iter().any(|c| c == "branch") { at.clone() } else { before };
            (self.get("branches", id, "created_at"), updated)
        };
        self.put(
            "branches",
            id,
            json!({
                "id": id, "code": b.code, "name": b.name, "address": b.address, "phone": b.phone, "email": b.email,
                "tax_number": b.tax_number, "country": b.country, "time_zone": b.time_zone, "currency": b.currency,
                "default_tax_rate_bp": b.default_tax_rate_bp, "payment_terms_days": b.payment_terms_days,
                "labour_rate": b.labour_rate, "invoice_footer": b.invoice_footer, "paper_size": b.paper_size,
                "created_at": created_at, "updated_at": updated_at, "odometer_unit": b.odometer_unit,
                "payment_instructions": b.payment_instructions, "idle_lock_minutes": b.idle_lock_minutes,
            }),
        );
        self.table("opening_hours").clear();
        for h in &s.opening_hours {
            self.put(
                "opening_hours",
                &format!("{}|{}", h.weekday, h.opens),
                json!({ "branch_id": id, "weekday": h.weekday, "opens": h.opens, "closes": h.closes }),
            );
        }
        self.table("closures").clear();
        for c in &s.closures {
            self.put("closures", &c.date, json!({ "branch_id": id, "date": c.date, "reason": c.reason }));
        }
        for bay in &s.bays {
            self.put(
                "bays",
                &bay.bay_id,
                json!({ "id": bay.bay_id, "branch_id": id, "name": bay.name, "capabilities": bay.capabilities,
                        "active": bay.active }),
            );
        }
        for t in &s.service_types {
            self.put(
                "service_types",
                &t.service_type_id,
                json!({ "id": t.service_type_id, "code": t.code, "name": t.name, "duration_minutes": t.duration_minutes,
                        "required_capability": t.required_capability, "active": t.active }),
            );
            let prefix = format!("{}|", t.service_type_id);
            self.table("service_type_lines").retain(|k, _| !k.starts_with(&prefix));
            for (position, l) in t.lines.iter().enumerate() {
                self.put(
                    "service_type_lines",
                    &format!("{prefix}{position}"),
                    json!({ "service_type_id": t.service_type_id, "position": position, "kind": l.kind,
                            "description": l.description, "quantity": l.quantity, "item_id": l.item_id,
                            "unit_price": l.unit_price }),
                );
            }
        }
        match &s.logo {
            Some(l) => self.put(
                "branch_logos",
                id,
                json!({ "branch_id": id, "media_type": l.media_type, "width": l.width, "height": l.height,
                        "bytes": { "size": l.bytes, "sha256": l.sha256 } }),
            ),
            None => {
                self.table("branch_logos").remove(id);
            }
        }
    }

    /// The created_at a row keeps, or `at` for a new one.
    fn created(&mut self, t: &'static str, key: &str, at: &Value) -> Value {
        match self.get(t, key, "created_at") {
            Value::Null => at.clone(),
            v => v,
        }
    }

    fn fold(&mut self, e: &EventEnvelope) {
        let at = json!(e.occurred_at);
        match e.event_type.as_str() {
            "DeviceRegistered" => {
                let d: ev::Device = payload(e);
                self.put(
                    "device",
                    &d.device_id,
                    json!({ "id": d.device_id, "tenant_id": d.tenant_id, "branch_id": d.branch_id,
                            "series_letter": d.series_letter, "created_at": at }),
                );
            }
            "DeviceIdentityChanged" => {
                let d: ev::DeviceIdentityChanged = payload(e);
                let mut row = self
                    .table("device")
                    .remove(&d.previous_device_id)
                    .unwrap_or_else(|| panic!("a new identity of device {}, never registered", d.previous_device_id));
                row.insert("id".into(), json!(e.device_id));
                row.insert("series_letter".into(), json!(d.series_letter));
                self.table("device").insert(e.device_id.clone(), row);
            }
            "BranchCreated" => self.branch_settings(e, true),
            "BranchSettingsUpdated" => self.branch_settings(e, false),
            "StaffCreated" | "StaffUpdated" => {
                let s: ev::StaffMember = payload(e);
                let created_at = self.created("staff", &s.staff_id, &at);
                self.put(
                    "staff",
                    &s.staff_id,
                    json!({ "id": s.staff_id, "branch_id": s.branch_id, "code": s.code, "name": s.name, "role": s.role,
                            "active": s.active, "hourly_rate": s.hourly_rate, "created_at": created_at, "updated_at": at }),
                );
            }
            "CustomerCreated" | "CustomerUpdated" => {
                let c: ev::Customer = payload(e);
                let created_at = self.created("customers", &c.customer_id, &at);
                self.put(
                    "customers",
                    &c.customer_id,
                    json!({ "id": c.customer_id, "name": c.name, "email": c.email, "phone": c.phone,
                            "address": c.address, "notes": c.notes, "marketing_consent": c.marketing_consent,
                            "created_at": created_at, "updated_at": at }),
                );
            }
            "VehicleRegistered" | "VehicleUpdated" => {
                let v: ev::Vehicle = payload(e);
                let created_at = self.created("vehicles", &v.vehicle_id, &at);
                self.put(
                    "vehicles",
                    &v.vehicle_id,
                    json!({ "id": v.vehicle_id, "customer_id": v.customer_id, "license_plate": v.license_plate,
                            "vin": v.vin, "make": v.make, "model": v.model, "year": v.year, "odometer": v.odometer,
                            "created_at": created_at, "updated_at": at }),
                );
            }
            "InventoryItemCreated" | "InventoryItemUpdated" => {
                let i: ev::InventoryItem = payload(e);
                let created_at = self.created("inventory_items", &i.item_id, &at);
                let on_hand = match self.get("inventory_items", &i.item_id, "on_hand") {
                    Value::Null => json!(0),
                    v => v,
                };
                self.put(
                    "inventory_items",
                    &i.item_id,
                    json!({ "id": i.item_id, "sku": i.sku, "barcode": i.barcode, "name": i.name, "unit": i.unit,
                            "on_hand": on_hand, "reorder_level": i.reorder_level, "cost": i.cost, "price": i.price,
                            "tax_rate_bp": i.tax_rate_bp, "active": i.active, "created_at": created_at,
                            "updated_at": at }),
                );
            }
            "InventoryAdjusted" => {
                let a: ev::InventoryAdjusted = payload(e);
                self.set("inventory_items", &a.item_id, json!({ "on_hand": a.balance_after, "updated_at": at }));
                self.put(
                    "inventory_transactions",
                    &a.transaction_id,
                    json!({ "id": a.transaction_id, "item_id": a.item_id, "delta": a.delta, "type": a.movement,
                            "reference_type": a.reference.as_ref().map(|r| &r.kind),
                            "reference_id": a.reference.as_ref().map(|r| &r.id), "reason": a.reason,
                            "balance_before": a.balance_before, "balance_after": a.balance_after,
                            "actor_id": e.actor_id, "at": at }),
                );
            }
            "LowStockReached" => {
                let l: ev::LowStockReached = payload(e);
                assert_eq!(
                    self.get("inventory_items", &l.item_id, "on_hand"),
                    json!(l.on_hand),
                    "low stock at the stock"
                );
            }
            "JobCardCreated" => {
                let c: ev::JobCardCreated = payload(e);
                self.put(
                    "job_cards",
                    &c.job_card_id,
                    json!({ "id": c.job_card_id, "number": c.number, "branch_id": e.branch_id,
                            "customer_id": c.customer_id, "vehicle_id": c.vehicle_id, "appointment_id": c.appointment_id,
                            "technician_id": c.technician_id, "status": "open", "odometer_in": c.odometer_in,
                            "complaint": c.complaint, "findings": "", "discount": 0, "subtotal": 0, "tax_total": 0,
                            "total": 0, "started_at": null, "completed_at": null, "cancelled_at": null,
                            "created_at": at, "updated_at": at }),
                );
            }
            "JobCardLineAdded" => {
                let l: ev::JobCardLineAdded = payload(e);
                self.set("job_cards", &l.job_card_id, json!({ "updated_at": at }));
                self.put(
                    "job_card_lines",
                    &l.line_id,
                    json!({ "id": l.line_id, "job_card_id": l.job_card_id, "position": l.position, "kind": l.kind,
                            "description": l.description, "item_id": l.item_id, "quantity": l.quantity,
                            "unit_price": l.unit_price, "tax_rate_bp": l.tax_rate_bp, "created_at": at }),
                );
            }
            "JobCardLineRemoved" => {
                let l: ev::JobCardLineRemoved = payload(e);
                self.set("job_cards", &l.job_card_id, json!({ "updated_at": at }));
                assert!(self.table("job_card_lines").remove(&l.line_id).is_some(), "removed a line never added");
            }
            "JobCardStarted" => {
                let s: ev::JobCardStarted = payload(e);
                self.set(
                    "job_cards",
                    &s.job_card_id,
                    json!({ "status": "in_progress", "technician_id": s.technician_id, "started_at": at,
                            "odometer_in": s.odometer_in, "findings": s.findings, "updated_at": at }),
                );
            }
            "JobCardUpdated" => {
                let u: ev::JobCardUpdated = payload(e);
                let mut fields = json!({ "updated_at": at });
                if let Some(o) = u.odometer_in {
                    fields["odometer_in"] = json!(o);
                }
                if let Some(c) = u.complaint {
                    fields["complaint"] = json!(c);
                }
                if let Some(f) = u.findings {
                    fields["findings"] = json!(f);
                }
                self.set("job_cards", &u.job_card_id, fields);
            }
            "JobCardCancelled" => {
                let c: ev::JobCardCancelled = payload(e);
                self.set(
                    "job_cards",
                    &c.job_card_id,
                    json!({ "status": "cancelled", "cancelled_at": at, "updated_at": at }),
                );
            }
            "JobCardCompleted" => {
                let c: ev::JobCardCompleted = payload(e);
                self.set(
                    "job_cards",
                    &c.job_card_id,
                    json!({ "status": "completed", "subtotal": c.subtotal, "discount": c.discount,
                            "tax_total": c.tax_total, "total": c.total, "completed_at": at, "updated_at": at }),
                );
                let r = &c.service_record;
                self.put(
                    "service_records",
                    &c.service_record_id,
                    json!({ "id": c.service_record_id, "vehicle_id": c.vehicle_id, "job_card_id": c.job_card_id,
                            "date": r.date, "odometer": r.odometer, "summary": r.summary,
                            "parts_used": r.parts_used, "created_at": at }),
                );
            }
            "InvoiceGenerated" => {
                let i: ev::InvoiceGenerated = payload(e);
                self.put(
                    "invoices",
                    &i.invoice_id,
                    json!({ "id": i.invoice_id, "number": i.number, "job_card_id": i.job_card_id,
                            "customer_id": i.customer_id, "vehicle_id": i.vehicle_id, "currency": i.currency,
                            "lines": i.lines, "subtotal": i.subtotal, "discount": i.discount,
                            "tax_summary": i.tax_summary, "tax_total": i.tax_total, "total": i.total,
                            "amount_paid": i.amount_paid, "balance_due": i.balance_due, "status": i.status,
                            "issued_at": i.issued_at, "due_date": i.due_date, "notes": i.notes }),
                );
            }
            "InvoiceEmailRequested" | "PaymentCompensated" => {}
            "InvoiceVoided" => {
                let v: ev::InvoiceVoided = payload(e);
                self.set("invoices", &v.invoice_id, json!({ "status": "void", "notes": v.notes }));
            }
            "PaymentCaptured" => {
                let p: ev::PaymentCaptured = payload(e);
                self.put(
                    "payments",
                    &p.payment_id,
                    json!({ "id": p.payment_id, "invoice_id": p.invoice_id, "amount": p.amount, "refunded_amount": 0,
                            "method": p.method, "reference": p.reference, "status": "captured",
                            "actor_id": e.actor_id, "created_at": at, "updated_at": at }),
                );
                self.set(
                    "invoices",
                    &p.invoice_id,
                    json!({ "amount_paid": p.amount_paid, "balance_due": p.balance_due, "status": p.status }),
                );
            }
            "PaymentRefunded" => {
                let r: ev::PaymentRefunded = payload(e);
                self.put(
                    "refunds",
                    &r.refund_id,
                    json!({ "id": r.refund_id, "payment_id": r.payment_id, "amount": r.amount, "reason": r.reason,
                            "actor_id": e.actor_id, "created_at": at, "gateway_refund_id": r.gateway_refund_id }),
                );
                let refunded = self.get("payments", &r.payment_id, "refunded_amount").as_i64().unwrap() + r.amount;
                let amount = self.get("payments", &r.payment_id, "amount").as_i64().unwrap();
                let status = if refunded == amount { "refunded" } else { "partially_refunded" };
                self.set(
                    "payments",
                    &r.payment_id,
                    json!({ "refunded_amount": refunded, "status": status, "updated_at": at }),
                );
                self.set(
                    "invoices",
                    &r.invoice_id,
                    json!({ "amount_paid": r.amount_paid, "balance_due": r.balance_due, "status": r.status }),
                );
            }
            "AppointmentBooked" => {
                let a: ev::AppointmentBooked = payload(e);
                self.put(
                    "appointments",
                    &a.appointment_id,
                    json!({ "id": a.appointment_id, "branch_id": e.branch_id, "customer_id": a.customer_id,
                            "vehicle_id": a.vehicle_id, "service_type_id": a.service_type_id, "bay_id": a.bay_id,
                            "scheduled_date": a.scheduled_date, "scheduled_time": a.scheduled_time,
                            "duration_minutes": a.duration_minutes, "starts_at": a.starts_at, "ends_at": a.ends_at,
                            "status": "scheduled", "notes": a.notes, "vehicle_owner_mismatch": a.vehicle_owner_mismatch,
                            "job_card_id": null, "created_at": at, "updated_at": at }),
                );
                self.put(
                    "bay_reservations",
                    &a.appointment_id,
                    json!({ "bay_id": a.bay_id, "appointment_id": a.appointment_id, "starts_at": a.starts_at,
                            "ends_at": a.ends_at, "active": true }),
                );
            }
            "AppointmentConfirmed" => {
                let a: ev::AppointmentStatusChanged = payload(e);
                self.set("appointments", &a.appointment_id, json!({ "status": "confirmed", "updated_at": at }));
            }
            "AppointmentCancelled" => {
                let a: ev::AppointmentStatusChanged = payload(e);
                self.set("appointments", &a.appointment_id, json!({ "status": "cancelled", "updated_at": at }));
                self.set("bay_reservations", &a.appointment_id, json!({ "active": false }));
            }
            "AppointmentCheckedIn" => {
                let a: ev::AppointmentCheckedIn = payload(e);
                self.set(
                    "appointments",
                    &a.appointment_id,
                    json!({ "status": "checked_in", "job_card_id": a.job_card_id, "updated_at": at }),
                );
            }
            other => panic!("no fold for event type {other}: every registered type needs one here"),
        }
    }
}

// ---- the device's own tables ------------------------------------------------------------

fn read_table(conn: &rusqlite::Connection, spec: &Spec) -> Table {
    use sha2::{Digest, Sha256};
    let cols: Vec<String> = spec.columns.iter().map(|(c, _)| format!("\"{c}\"")).collect();
    let mut stmt = conn.prepare(&format!("SELECT {} FROM \"{}\"", cols.join(", "), spec.table)).expect("select");
    let rows = stmt
        .query_map([], |r| {
            let mut row = Row::new();
            for (i, (name, conv)) in spec.columns.iter().enumerate() {
                use rusqlite::types::ValueRef;
                let v = match (r.get_ref(i)?, conv) {
                    (ValueRef::Null, _) => Value::Null,
                    (ValueRef::Integer(n), Bool) => json!(n != 0),
                    (ValueRef::Integer(n), _) => json!(n),
                    (ValueRef::Real(f), _) => json!(f),
                    (ValueRef::Text(t), Json) => serde_json::from_slice(t).expect("JSON column"),
                    (ValueRef::Text(t), _) => json!(String::from_utf8_lossy(t)),
                    (ValueRef::Blob(b), Digest) => {
                        let hex: String = Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect();
                        json!({ "size": b.len(), "sha256": hex })
                    }
                    (ValueRef::Blob(_), _) => panic!("{}.{name} is a blob", spec.table),
                };
                row.insert(name.to_string(), v);
            }
            Ok(row)
        })
        .expect("rows")
        .collect::<Result<Vec<_>, _>>()
        .expect("read");
    rows.into_iter().map(|row| (key_of(spec, &row), row)).collect()
}

fn key_of(spec: &Spec, row: &Row) -> String {
    spec.key
        .iter()
        .map(|k| match &row[*k] {
            Value::String(s) => s.clone(),
            v => v.to_string(),
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// What differs between the projection and the device, per row, readably.
fn diff(spec: &Spec, projected: &Table, device: &Table) -> Vec<String> {
    let mut out = Vec::new();
    for (k, row) in device {
        match projected.get(k) {
            None => out.push(format!(
                "{}[{k}]: on the device, missing from the events: {}",
                spec.table,
                Value::Object(row.clone())
            )),
            Some(p) => {
                for (col, v) in row {
                    let got = p.get(col).unwrap_or(&Value::Null);
                    if got != v {
                        out.push(format!("{}[{k}].{col}: device {v}, events {got}", spec.table));
                    }
                }
                for col in p.keys().filter(|c| !row.contains_key(*c)) {
                    out.push(format!(
                        "{}[{k}].{col}: the projection has a column the spec does not compare",
                        spec.table
                    ));
                }
            }
        }
    }
    for (k, row) in projected {
        if !device.contains_key(k) {
            out.push(format!("{}[{k}]: in the events, not on the device: {}", spec.table, Value::Object(row.clone())));
        }
    }
    out
}

/// Every table and column of the database is compared or classified.
fn unclassified(conn: &rusqlite::Connection) -> Vec<String> {
    let mut out = Vec::new();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for t in &tables {
        let spec = SPECS.iter().find(|s| s.table == t);
        let local = LOCAL_TABLES.iter().any(|(l, _)| l == t);
        match (spec, local) {
            (None, false) => out.push(format!(
                "table {t}: neither rebuilt from events (SPECS) nor the device's own (LOCAL_TABLES, with why)"
            )),
            (Some(_), true) => out.push(format!("table {t}: both compared and local")),
            (None, true) => {}
            (Some(spec), false) => {
                let cols: Vec<String> = conn
                    .prepare(&format!("SELECT name FROM pragma_table_info('{t}')"))
                    .unwrap()
                    .query_map([], |r| r.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                for c in &cols {
                    let compared = spec.columns.iter().any(|(n, _)| n == c);
                    let own = spec.local.iter().any(|(n, _)| n == c);
                    if compared == own {
                        out.push(format!("column {t}.{c}: compare it, or list it as local with why"));
                    }
                }
                let listed = spec.columns.iter().map(|(c, _)| *c).chain(spec.local.iter().map(|(c, _)| *c));
                for c in listed {
                    if !cols.iter().any(|x| x == c) {
                        out.push(format!("column {t}.{c}: listed, but the table has no such column"));
                    }
                }
            }
        }
    }
    for (t, _) in LOCAL_TABLES {
        if !tables.iter().any(|x| x == t) {
            out.push(format!("table {t}: listed as local, but there is no such table"));
        }
    }
    out
}

// ---- the workload -------------------------------------------------------------------------

struct Device {
    api: Api,
    clock: Arc<FixedClock>,
}

impl Device {
    /// One command, a minute after the last, so times tell events apart.
    fn ok(&self, token: &str, command: &str, input: Value) -> Value {
        self.clock.advance(chrono::Duration::minutes(1));
        ok(&self.api, Some(token), command, input)
    }
}

/// A 30×20 PNG, base64-encoded for settings.update.
fn logo() -> String {
    use base64::Engine;
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, 30, 20);
    encoder.set_color(png::ColorType::Rgb);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&[90u8; 30 * 20 * 3]).unwrap();
    writer.finish().unwrap();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn workload(d: &Device) {
    let api = &d.api;
    let owner = api.login("owner", DEMO_PIN).unwrap();
    let manager = api.login("manager", DEMO_PIN).unwrap();
    let desk = api.login("desk", DEMO_PIN).unwrap();
    let tech = api.login("tech1", DEMO_PIN).unwrap();
    let tech2_id = ok(api, Some(&api.login("tech2", DEMO_PIN).unwrap()), "auth.whoami", json!({}))["staff_id"].clone();

    // Staff: a new technician, renamed, re-priced and given a new PIN.
    let tess = d.ok(
        &owner,
        "staff.create",
        json!({ "code": "tech3", "name": "Tess Third", "role": "technician",
                                                  "pin": "5678", "hourly_rate": 9000 }),
    );
    d.ok(
        &owner,
        "staff.update",
        json!({ "id": tess["id"], "name": "Tess Thirdly", "hourly_rate": 9100, "pin": "8765" }),
    );

    // Settings: the branch, its logo, hours, closures, bays and service types; then integrations only.
    let settings = d.ok(&owner, "settings.get", json!({}));
    let bay =
        |name: &str| settings["bays"].as_array().unwrap().iter().find(|b| b["name"] == name).unwrap()["id"].clone();
    d.ok(
        &owner,
        "settings.update",
        json!({
            "branch": { "name": "Pitlane Motors Downtown & Co", "odometer_unit": "km",
                        "payment_instructions": "IBAN DE00 1234 5678 9012 3456 78\nRef: the invoice number",
                        "idle_lock_minutes": 15, "logo": logo() },
            "opening_hours": [
                { "weekday": 1, "opens": "07:30", "closes": "12:00" }, { "weekday": 1, "opens": "13:00", "closes": "18:00" },
                { "weekday": 2, "opens": "07:30", "closes": "18:00" }, { "weekday": 3, "opens": "07:30", "closes": "18:00" },
                { "weekday": 4, "opens": "07:30", "closes": "18:00" }, { "weekday": 5, "opens": "07:30", "closes": "16:00" },
            ],
            "closures": [ { "date": "2026-12-24", "reason": "Christmas Eve" }, { "date": "2026-12-25" } ],
            "bays": [
                { "name": "Bay 4", "capabilities": ["lift"] },
                { "id": bay("Bay 1"), "name": "Bay One", "capabilities": ["lift", "diagnostics"] },
                { "id": bay("Express Lane"), "name": "Express Lane", "capabilities": [], "active": false },
            ],
            "service_types": [
                { "code": "oil_change", "name": "Oil Change", "duration_minutes": 60, "required_capability": "lift",
                  "lines": [ { "kind": "labour", "description": "Oil and filter change", "quantity": 600 },
                             { "kind": "fee", "description": "Oil disposal", "quantity": 1000, "unit_price": 350 } ] },
                { "code": "ac_service", "name": "A/C Service", "duration_minutes": 90,
                  "lines": [ { "kind": "labour", "description": "A/C check and refill", "quantity": 1000, "unit_price": 9900 } ] },
            ],
        }),
    );
    d.ok(&owner, "settings.update", json!({ "integrations": { "smtp_host": "127.0.0.1", "smtp_port": 2525 } }));

    // Customers and vehicles: created, changed, a vehicle handed over and back.
    let zoe = d.ok(
        &desk,
        "customers.create",
        json!({ "name": "Zoë Replay", "email": "zoe.replay@example.com",
        "phone": "+1 215 555 0199", "address": "1 Test Rd", "notes": "Prefers mornings", "marketing_consent": true }),
    );
    d.ok(&desk, "customers.update", json!({ "id": zoe["id"], "notes": "Prefers afternoons", "address": "2 Test Rd" }));
    let carl = d.ok(&desk, "customers.create", json!({ "name": "Carl Second" }));
    d.ok(
        &desk,
        "customers.update",
        json!({ "id": carl["id"], "email": "carl@example.com", "marketing_consent": true }),
    );
    let mazda = d.ok(
        &desk,
        "vehicles.register",
        json!({ "customer_id": zoe["id"], "license_plate": "rpl 001",
        "make": "Mazda", "model": "3", "year": 2019, "odometer": 41000, "vin": "JM1BPACL0K1234567" }),
    );
    d.ok(&desk, "vehicles.update", json!({ "id": mazda["id"], "license_plate": "RPL-002", "customer_id": carl["id"] }));
    d.ok(
        &desk,
        "vehicles.update",
        json!({ "id": mazda["id"], "customer_id": zoe["id"], "odometer": 41500, "vin": null }),
    );

    // Inventory: items with and without opening stock, changed, adjusted, counted, bulk-adjusted.
    let widget = d.ok(
        &owner,
        "inventory.create_item",
        json!({ "sku": "RPL-1", "name": "Replay Widget",
        "price": 1500, "cost": 700, "reorder_level": 2000 }),
    );
    let fluid = d.ok(
        &owner,
        "inventory.create_item",
        json!({ "sku": "RPL-2", "name": "Replay Fluid", "unit": "l",
        "opening_stock": 10000, "reorder_level": 3000, "price": 900, "tax_rate_bp": 500, "barcode": "0999000111" }),
    );
    let old =
        d.ok(&owner, "inventory.create_item", json!({ "sku": "RPL-3", "name": "Old Part", "opening_stock": 1000 }));
    d.ok(
        &owner,
        "inventory.update_item",
        json!({ "id": widget["id"], "price": 1600, "barcode": "0999000222",
                                               "name": "Replay Widget XL" }),
    );
    d.ok(&owner, "inventory.update_item", json!({ "id": old["id"], "active": false, "barcode": null }));
    d.ok(
        &manager,
        "inventory.adjust",
        json!({ "item_id": widget["id"], "quantity": 5000, "type": "purchase",
                                             "reason": "delivery 42" }),
    );
    d.ok(&manager, "inventory.adjust", json!({ "item_id": fluid["id"], "counted": 9500, "type": "stocktake" }));
    d.ok(
        &manager,
        "inventory.bulk_adjust",
        json!({ "adjustments": [
        { "item_id": widget["id"], "quantity": -1000 }, { "item_id": fluid["id"], "quantity": -7000 },
        { "item_id": widget["id"], "quantity": -1500 } ], "type": "adjustment", "reason": "breakage" }),
    );

    // Appointments: booked (one with a new customer and vehicle), confirmed, cancelled, checked in.
    let a1 = d.ok(&desk, "appointments.book", json!({ "customer_id": zoe["id"], "vehicle_id": mazda["id"],
        "scheduled_date": "2026-11-26", "scheduled_time": "10:00", "service_type": "oil_change", "notes": "Rattle at idle" }));
    let a2 = d.ok(&desk, "appointments.book", json!({ "customer_name": "Nina New", "customer_email": "nina.new@example.com",
        "customer_phone": "+1 215 555 0177", "license_plate": "NEW 777", "vehicle_make": "Kia", "vehicle_model": "Rio",
        "vehicle_year": 2021, "scheduled_date": "2026-11-26", "scheduled_time": "13:30", "service_type": "tire_rotation" }));
    let a3 = d.ok(&desk, "appointments.book", json!({ "customer_id": a2["customer"]["id"], "vehicle_id": a2["vehicle"]["id"],
        "scheduled_date": "2026-11-27", "scheduled_time": "09:00", "service_type": "diagnostics", "estimated_duration": 75 }));
    d.ok(&desk, "appointments.confirm", json!({ "appointment_id": a1["appointment"]["id"] }));
    d.ok(&desk, "appointments.confirm", json!({ "appointment_id": a2["appointment"]["id"] }));
    d.ok(
        &desk,
        "appointments.cancel",
        json!({ "appointment_id": a3["appointment"]["id"], "reason": "Customer called" }),
    );
    let checked_in = d.ok(&desk, "appointments.check_in", json!({ "appointment_id": a1["appointment"]["id"] }));
    let card1 = checked_in["job_card"]["id"].clone();

    // The checked-in card: started, lines added and removed, updated, completed with an invoice and stock.
    d.ok(&tech, "job_cards.start", json!({ "job_card_id": card1, "odometer": 41600, "notes": "Oil dark" }));
    d.ok(
        &tech,
        "job_cards.add_line",
        json!({ "job_card_id": card1, "kind": "part", "item_id": widget["id"], "quantity": 1000 }),
    );
    let fee = d.ok(
        &tech,
        "job_cards.add_line",
        json!({ "job_card_id": card1, "kind": "fee", "description": "Shop supplies",
                                                     "quantity": 1000, "unit_price": 500 }),
    );
    let fee_line = fee["lines"].as_array().unwrap().last().unwrap()["id"].clone();
    d.ok(&tech, "job_cards.remove_line", json!({ "job_card_id": card1, "line_id": fee_line }));
    d.ok(
        &tech,
        "job_cards.update",
        json!({ "job_card_id": card1, "complaint": "Rattle at idle; oil change",
                                          "findings": "Replaced oil and filter", "odometer_in": 41610 }),
    );
    let done =
        d.ok(&tech, "job_cards.complete", json!({ "job_card_id": card1, "invoice_data": { "notes": "Thanks" } }));
    let inv1 = done["invoice"].clone();
    let total = inv1["total"].as_i64().unwrap();
    let cash = d.ok(
        &desk,
        "payments.process",
        json!({ "invoice_id": inv1["id"], "amount": total / 2, "method": "cash",
                                                    "idempotency_key": "replay-1" }),
    );
    d.ok(
        &desk,
        "payments.process",
        json!({ "invoice_id": inv1["id"], "amount": total - total / 2,
        "method": "bank_transfer", "reference": "TRX-9", "idempotency_key": "replay-2" }),
    );
    d.ok(
        &manager,
        "payments.refund",
        json!({ "payment_id": cash["payment"]["id"], "amount": 1000, "reason": "goodwill",
                                            "idempotency_key": "replay-r1" }),
    );
    d.ok(&desk, "invoices.email", json!({ "invoice_id": inv1["id"], "to": "zoe.replay@example.com" }));

    // A walk-in for the new technician, completed without invoice or stock.
    let card2 = d.ok(
        &desk,
        "job_cards.create",
        json!({ "customer_id": zoe["id"], "vehicle_id": mazda["id"],
        "technician_id": tess["id"], "complaint": "Brakes squeal", "odometer_in": 41700 }),
    )["id"]
        .clone();
    d.ok(&owner, "job_cards.start", json!({ "job_card_id": card2 }));
    d.ok(
        &owner,
        "job_cards.add_line",
        json!({ "job_card_id": card2, "kind": "labour", "description": "Inspect brakes",
                                            "quantity": 500 }),
    );
    d.ok(&owner, "job_cards.complete", json!({ "job_card_id": card2, "skip_invoice": true, "skip_inventory": true }));

    // Cancelled cards: one started, one still open.
    let nina_car = a2["vehicle"]["id"].clone();
    let nina = a2["customer"]["id"].clone();
    let card3 = d.ok(&desk, "job_cards.create", json!({ "customer_id": nina, "vehicle_id": nina_car }))["id"].clone();
    d.ok(&tech, "job_cards.start", json!({ "job_card_id": card3 }));
    d.ok(
        &tech,
        "job_cards.add_line",
        json!({ "job_card_id": card3, "kind": "labour", "description": "Diagnose", "quantity": 250 }),
    );
    d.ok(&desk, "job_cards.cancel", json!({ "job_card_id": card3, "reason": "Customer declined" }));
    let card4 = d.ok(&desk, "job_cards.create", json!({ "customer_id": nina, "vehicle_id": nina_car }))["id"].clone();
    d.ok(&desk, "job_cards.cancel", json!({ "job_card_id": card4 }));

    // Paid in full, refunded in full, then voided.
    let card5 = d.ok(&desk, "job_cards.create", json!({ "customer_id": nina, "vehicle_id": nina_car }))["id"].clone();
    d.ok(&tech, "job_cards.start", json!({ "job_card_id": card5, "odometer": 12000 }));
    d.ok(
        &tech,
        "job_cards.add_line",
        json!({ "job_card_id": card5, "kind": "part", "item_id": fluid["id"], "quantity": 500 }),
    );
    let inv5 = d.ok(&tech, "job_cards.complete", json!({ "job_card_id": card5 }))["invoice"].clone();
    let paid = d.ok(
        &desk,
        "payments.process",
        json!({ "invoice_id": inv5["id"], "amount": inv5["total"], "method": "other",
                                                    "reference": "voucher 7", "idempotency_key": "replay-3" }),
    );
    d.ok(&manager, "payments.refund", json!({ "payment_id": paid["payment"]["id"], "idempotency_key": "replay-r2" }));
    d.ok(&manager, "invoices.void", json!({ "invoice_id": inv5["id"], "reason": "Raised in error" }));

    // The database becomes a new device (docs/SYNC.md section 6): later events carry the new id.
    d.ok(&owner, "device.new_identity", json!({ "series_letter": "R" }));

    // Someone leaves.
    d.ok(&owner, "staff.update", json!({ "id": tech2_id, "active": false }));
}

#[test]
fn a_devices_records_are_rebuilt_from_its_events_alone() {
    let dir = tempfile::tempdir().unwrap();
    let clock = start_clock();
    let api = open_at(dir.path(), clock.clone());
    demo::seed(&api).expect("the demo branch");
    let d = Device { api, clock };
    workload(&d);

    let conn = d.api.lock_conn();
    let problems = unclassified(&conn);
    assert!(problems.is_empty(), "tables and columns not classified:\n{}", problems.join("\n"));

    // The events, in device order: every one registered, its payload its type's.
    let events: Vec<EventEnvelope> =
        pitlane_core::outbox::list(&conn, 0, i64::MAX).unwrap().into_iter().map(|(_, e)| e).collect();
    // After `device.new_identity` every pending event is the new device's, numbered behind its
    // DeviceIdentityChanged (number 1, written last): compare the numbers as a set.
    let mut seqs: Vec<i64> = events.iter().map(|e| e.device_seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=events.len() as i64).collect::<Vec<_>>(), "device_seq runs 1, 2, 3 … without gaps");
    let mut seen = std::collections::BTreeSet::new();
    for e in &events {
        let t = ev::registered(&e.event_type)
            .unwrap_or_else(|| panic!("{} (#{}) is written but not registered", e.event_type, e.device_seq));
        assert_eq!((e.schema_version, e.aggregate_type.as_str()), (t.schema_version, t.aggregate_type), "{}", t.name);
        let again = (t.reencode)(&e.payload).unwrap_or_else(|err| panic!("{} #{}: {err}", t.name, e.device_seq));
        assert_eq!(again, e.payload, "{} #{}: the payload has fields its type lacks", t.name, e.device_seq);
        let text = pitlane_core::outbox::by_id(&conn, &e.id).unwrap().payload.to_string();
        assert_eq!(text, serde_json::to_string(&again).unwrap(), "{}: written as the type serializes", t.name);
        seen.insert(t.name);
    }
    let unseen: Vec<&str> =
        REGISTRY.iter().map(|t| t.name).filter(|n| !seen.contains(n) && *n != "PaymentCompensated").collect();
    assert!(unseen.is_empty(), "the workload writes no {unseen:?}: cover it");

    // Fold them into an empty projection and compare with the tables.
    let mut p = Projection::default();
    for e in &events {
        p.fold(e);
    }
    let mut problems = Vec::new();
    for spec in SPECS {
        let device = read_table(&conn, spec);
        assert!(!device.is_empty(), "the workload leaves no {} rows to compare", spec.table);
        let projected = p.tables.remove(spec.table).unwrap_or_default();
        problems.extend(diff(spec, &projected, &device).into_iter().take(20));
    }
    assert!(p.tables.is_empty(), "the projection has tables the spec does not compare: {:?}", p.tables.keys());
    assert!(problems.is_empty(), "the events do not rebuild the device:\n{}", problems.join("\n"));
}
