//! The domain events' payloads, typed: one Rust type per payload shape, and
//! [`REGISTRY`], every event type with its `schema_version`, aggregate and
//! payload type. Every event is written through [`append_tx`] with its
//! [`Kind`] (`kind::CustomerCreated` …), so a payload is always its type's.
//!
//! The payloads are a wire format (docs/EVENTS.md, docs/SYNC.md section 7):
//! serialized through `serde_json::Value`, so their keys come out sorted, as
//! the `json!` payloads written before these types did. Adding a field keeps
//! the `schema_version`; changing or removing one raises it. The JSON
//! Schemas in docs/sync-schemas/ and the table in docs/SYNC.md are generated
//! from here (`PITLANE_WRITE_DOCS=1 cargo test -p pitlane-core --test core event_schemas`).
//!
//! No payload carries a secret: no PIN or PIN hash, session, token, key or
//! password (staff events carry the person, never the PIN).

use std::marker::PhantomData;

use rusqlite::Transaction;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::Stamp;
use crate::error::Result;
use crate::outbox::{self, EventEnvelope, NewEvent};

/// An event type whose payload is a `T`: its name, version and aggregate.
pub struct Kind<T> {
    pub name: &'static str,
    pub schema_version: i64,
    pub aggregate_type: &'static str,
    payload: PhantomData<fn() -> T>,
}

impl<T> Clone for Kind<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Kind<T> {}

/// Appends an event of `kind` about `aggregate_id` to the outbox, in `tx`.
pub fn append_tx<T: Serialize>(
    tx: &Transaction,
    stamp: &Stamp,
    kind: Kind<T>,
    aggregate_id: &str,
    payload: &T,
) -> Result<EventEnvelope> {
    outbox::append_tx(
        tx,
        stamp,
        NewEvent {
            event_type: kind.name,
            schema_version: kind.schema_version,
            aggregate_type: kind.aggregate_type,
            aggregate_id,
            payload: serde_json::to_value(payload)?,
        },
    )
}

/// One registered event type.
pub struct EventType {
    pub name: &'static str,
    pub schema_version: i64,
    pub aggregate_type: &'static str,
    /// What the event says, in one line (the registry entry's doc comment).
    pub description: &'static str,
    /// The Rust payload type's name.
    pub payload_type: &'static str,
    /// The payload's JSON Schema (draft 2020-12, as serialized).
    pub schema: fn() -> schemars::Schema,
    /// Reads a payload into its type and writes it back: `Err` when it does
    /// not fit; a result unequal to the input means it held fields the type
    /// does not have.
    pub reencode: fn(&Value) -> std::result::Result<Value, String>,
}

/// The registered type called `name`.
pub fn registered(name: &str) -> Option<&'static EventType> {
    REGISTRY.iter().find(|t| t.name == name)
}

fn schema_of<T: JsonSchema>() -> schemars::Schema {
    schemars::generate::SchemaSettings::draft2020_12().for_serialize().into_generator().into_root_schema_for::<T>()
}

fn reencode<T: Serialize + DeserializeOwned>(v: &Value) -> std::result::Result<Value, String> {
    let typed: T = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(&typed).map_err(|e| e.to_string())
}

macro_rules! registry {
    ($( $(#[doc = $doc:literal])+ $name:ident => $ty:ty, $agg:literal, $ver:literal; )*) => {
        /// The event kinds, by type name: pass one to [`append_tx`].
        #[allow(non_upper_case_globals)]
        pub mod kind {
            use super::*;
            $( $(#[doc = $doc])+ pub const $name: Kind<$ty> =
                Kind { name: stringify!($name), schema_version: $ver, aggregate_type: $agg, payload: PhantomData }; )*
        }

        /// Every event type a device writes.
        pub const REGISTRY: &[EventType] = &[
            $( EventType {
                name: stringify!($name),
                schema_version: $ver,
                aggregate_type: $agg,
                description: concat!($($doc),+),
                payload_type: stringify!($ty),
                schema: schema_of::<$ty>,
                reencode: reencode::<$ty>,
            }, )*
        ];
    };
}

registry! {
    /// The device was set up (`setup.init`): its id, company, branch and series letter.
    DeviceRegistered => Device, "device", 1;
    /// The database became a new device (`device.new_identity`): number 1 of the new device, linking it to the one it was.
    DeviceIdentityChanged => DeviceIdentityChanged, "device", 1;
    /// The branch was created at set-up (`setup.init`): all its settings.
    BranchCreated => BranchSettings, "branch", 1;
    /// The branch's settings changed (`settings.update`): all of them, as they are after the write.
    BranchSettingsUpdated => BranchSettings, "branch", 1;
    /// A staff member was added (`staff.create`; the owner at `setup.init`). No PIN.
    StaffCreated => StaffMember, "staff", 1;
    /// A staff member changed (`staff.update`): the person as they are after the write. No PIN.
    StaffUpdated => StaffMember, "staff", 1;
    /// A customer was created (`customers.create`; `appointments.book` for a new customer).
    CustomerCreated => Customer, "customer", 1;
    /// A customer changed (`customers.update`): the customer as they are after the write.
    CustomerUpdated => Customer, "customer", 1;
    /// A vehicle was registered (`vehicles.register`; `appointments.book` for a new vehicle).
    VehicleRegistered => Vehicle, "vehicle", 1;
    /// A vehicle changed (`vehicles.update`; its odometer raised by `job_cards.complete`): the whole vehicle.
    VehicleUpdated => Vehicle, "vehicle", 1;
    /// An inventory item was added (`inventory.create_item`), with no stock: opening stock follows as `InventoryAdjusted`.
    InventoryItemCreated => InventoryItem, "inventory_item", 1;
    /// An inventory item's details changed (`inventory.update_item`); stock changes only by `InventoryAdjusted`.
    InventoryItemUpdated => InventoryItem, "inventory_item", 1;
    /// One row of the stock ledger: an item's stock moved.
    InventoryAdjusted => InventoryAdjusted, "inventory_item", 1;
    /// An item's stock fell to or below its reorder level.
    LowStockReached => LowStockReached, "inventory_item", 1;
    /// A job card was opened (`job_cards.create`; `appointments.check_in`).
    JobCardCreated => JobCardCreated, "job_card", 1;
    /// A line was added to a job card (`job_cards.add_line`; the canned lines at `appointments.check_in`).
    JobCardLineAdded => JobCardLineAdded, "job_card", 1;
    /// A line was removed from a job card (`job_cards.remove_line`).
    JobCardLineRemoved => JobCardLineRemoved, "job_card", 1;
    /// Work on a job card started (`job_cards.start`).
    JobCardStarted => JobCardStarted, "job_card", 1;
    /// A job card's odometer, complaint or findings changed (`job_cards.update`): only what changed.
    JobCardUpdated => JobCardUpdated, "job_card", 1;
    /// A job card was cancelled (`job_cards.cancel`).
    JobCardCancelled => JobCardCancelled, "job_card", 1;
    /// A job card was completed (`job_cards.complete`): its totals and the vehicle's service record.
    JobCardCompleted => JobCardCompleted, "job_card", 1;
    /// An invoice was issued (`job_cards.complete`): the whole invoice, lines as billed.
    InvoiceGenerated => InvoiceGenerated, "invoice", 1;
    /// Staff asked for an invoice to be emailed (`invoices.email`).
    InvoiceEmailRequested => InvoiceEmailRequested, "invoice", 1;
    /// An invoice was voided (`invoices.void`).
    InvoiceVoided => InvoiceVoided, "invoice", 1;
    /// A payment was recorded on an invoice (`payments.process`, every method; card payments when settled).
    PaymentCaptured => PaymentCaptured, "invoice", 1;
    /// A payment was refunded, in part or whole (`payments.refund`; card refunds when settled).
    PaymentRefunded => PaymentRefunded, "invoice", 1;
    /// A card charge that could not be recorded was refunded at the gateway; the invoice is unchanged.
    PaymentCompensated => PaymentCompensated, "invoice", 1;
    /// An appointment was booked (`appointments.book`).
    AppointmentBooked => AppointmentBooked, "appointment", 1;
    /// An appointment was confirmed (`appointments.confirm`).
    AppointmentConfirmed => AppointmentStatusChanged, "appointment", 1;
    /// An appointment was cancelled (`appointments.cancel`); its bay is free again.
    AppointmentCancelled => AppointmentStatusChanged, "appointment", 1;
    /// A car was checked in for its appointment (`appointments.check_in`); its job card is `JobCardCreated`.
    AppointmentCheckedIn => AppointmentCheckedIn, "appointment", 1;
}

// ---- the device, the branch and its staff -------------------------------------

/// This device: the envelope's `device_id`, `tenant_id` and `branch_id`,
/// and the letter of its number series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Device {
    pub device_id: String,
    pub tenant_id: String,
    pub branch_id: String,
    /// The device's letter in every number series (`INV-2026-A000001`).
    pub series_letter: String,
}

/// A database's new identity (docs/SYNC.md section 6): the envelope's
/// `device_id` is the new device; the events it had not yet sent follow it,
/// renumbered under the new id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeviceIdentityChanged {
    /// The device id this database had before.
    pub previous_device_id: String,
    pub previous_series_letter: String,
    /// The new device's letter in every number series.
    pub series_letter: String,
    /// Why: `moved`, `restored`, `conflict` (the state it left), or `owner`.
    pub reason: String,
}

/// The branch's settings as they are after the write: the branch, its
/// opening hours, closures, bays and service types (with their canned
/// lines), and its invoice logo's type, size and hash (not the image). Not
/// in it: this device's integration addresses (SMTP, SMS, payment gateway;
/// their keys are secrets in the keyring).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BranchSettings {
    pub branch: Branch,
    /// The whole week; several intervals a day allowed.
    pub opening_hours: Vec<OpeningInterval>,
    pub closures: Vec<Closure>,
    pub bays: Vec<Bay>,
    pub service_types: Vec<ServiceType>,
    pub logo: Option<Logo>,
    /// The parts the write set: `branch`, `opening_hours`, `closures`,
    /// `bays`, `service_types`, `integrations` (not in the event).
    pub changed: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Branch {
    pub branch_id: String,
    pub code: String,
    pub name: String,
    pub address: String,
    pub phone: String,
    pub email: String,
    pub tax_number: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// IANA time zone.
    pub time_zone: String,
    /// ISO 4217.
    pub currency: String,
    pub default_tax_rate_bp: i64,
    pub payment_terms_days: i64,
    /// Minor units per hour.
    pub labour_rate: i64,
    pub invoice_footer: String,
    /// `A4` or `Letter`.
    pub paper_size: String,
    /// `km`, `mi`, or null: the country's (mi in the US and GB, else km).
    pub odometer_unit: Option<String>,
    pub payment_instructions: String,
    pub idle_lock_minutes: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OpeningInterval {
    /// ISO weekday: 1 = Monday … 7 = Sunday.
    pub weekday: i64,
    /// `HH:MM`, branch local.
    pub opens: String,
    pub closes: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Closure {
    /// `YYYY-MM-DD`, branch local.
    pub date: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Bay {
    pub bay_id: String,
    pub name: String,
    pub capabilities: Vec<String>,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceType {
    pub service_type_id: String,
    pub code: String,
    pub name: String,
    pub duration_minutes: i64,
    pub required_capability: Option<String>,
    pub active: bool,
    /// The canned job: copied onto the job card at check-in, in order.
    pub lines: Vec<CannedLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CannedLine {
    /// `labour`, `part` or `fee`.
    pub kind: String,
    pub description: String,
    /// Thousandths (hours for labour).
    pub quantity: i64,
    pub item_id: Option<String>,
    /// Minor units; null: the item's price or the labour rate.
    pub unit_price: Option<i64>,
}

/// The invoice logo, without the image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Logo {
    /// `image/png` or `image/jpeg`.
    pub media_type: String,
    pub width: u32,
    pub height: u32,
    /// The file's size in bytes.
    pub bytes: u64,
    /// SHA-256 of the file, lower-case hex.
    pub sha256: String,
}

/// A staff member as they are after the write. Never the PIN or its hash,
/// nor the lockout state (failed PIN count, locked until): those stay on
/// the device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StaffMember {
    pub staff_id: String,
    pub branch_id: String,
    /// The login code.
    pub code: String,
    pub name: String,
    /// `front_desk`, `technician`, `manager` or `owner`.
    pub role: String,
    pub active: bool,
    /// Minor units per hour.
    pub hourly_rate: i64,
}

// ---- customers and vehicles ----------------------------------------------------

/// The customer as they are after the write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Customer {
    pub customer_id: String,
    pub name: String,
    pub email: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    pub address: String,
    /// Staff's notes on the customer.
    pub notes: String,
    pub marketing_consent: bool,
}

/// The vehicle as it is after the write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Vehicle {
    pub vehicle_id: String,
    /// The owner.
    pub customer_id: String,
    /// As entered.
    pub license_plate: String,
    pub vin: Option<String>,
    pub make: String,
    pub model: String,
    pub year: Option<i64>,
    pub odometer: Option<i64>,
}

// ---- inventory ------------------------------------------------------------------

/// The item's details as they are after the write. Its stock is not here:
/// it starts at 0 and moves only by `InventoryAdjusted` (`balance_after`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InventoryItem {
    pub item_id: String,
    pub sku: String,
    pub barcode: Option<String>,
    pub name: String,
    pub unit: String,
    /// Thousandths of the unit.
    pub reorder_level: i64,
    /// Minor units.
    pub cost: i64,
    pub price: i64,
    pub tax_rate_bp: i64,
    pub active: bool,
}

/// One stock movement (a row of the append-only ledger).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InventoryAdjusted {
    pub item_id: String,
    /// The ledger row's id.
    pub transaction_id: String,
    /// Signed, thousandths of the unit.
    pub delta: i64,
    /// `purchase`, `job_card`, `adjustment`, `return` or `stocktake`.
    #[serde(rename = "type")]
    pub movement: String,
    pub reference: Option<StockReference>,
    pub reason: String,
    pub balance_before: i64,
    pub balance_after: i64,
}

/// What a stock movement refers to (a job card …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StockReference {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

/// The item's stock crossed its reorder level downwards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LowStockReached {
    pub item_id: String,
    pub name: String,
    /// The stock now (the change's `balance_after`).
    pub on_hand: i64,
    pub reorder_level: i64,
}

// ---- job cards ------------------------------------------------------------------

/// A new job card, `open`, with no lines yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JobCardCreated {
    pub job_card_id: String,
    /// `JC-2026-A000123`.
    pub number: String,
    pub customer_id: String,
    pub vehicle_id: String,
    /// Null for a walk-in (`job_cards.create`).
    pub appointment_id: Option<String>,
    pub technician_id: Option<String>,
    pub complaint: String,
    pub odometer_in: Option<i64>,
}

/// A line as added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JobCardLineAdded {
    pub job_card_id: String,
    pub line_id: String,
    /// The line's place on the card, from 1.
    pub position: i64,
    /// `labour`, `part` or `fee`.
    pub kind: String,
    pub description: String,
    /// Part lines only.
    pub item_id: Option<String>,
    /// Thousandths (hours for labour).
    pub quantity: i64,
    /// Minor units; null: not priced yet.
    pub unit_price: Option<i64>,
    pub tax_rate_bp: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JobCardLineRemoved {
    pub job_card_id: String,
    pub line_id: String,
}

/// The card is `in_progress`; `started_at` is the envelope's `occurred_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JobCardStarted {
    pub job_card_id: String,
    pub number: String,
    pub technician_id: String,
    /// The reading sent, or null.
    pub odometer: Option<i64>,
    /// The card's odometer reading after the start.
    pub odometer_in: Option<i64>,
    /// The card's findings after the start (the start's notes, when sent).
    pub findings: String,
}

/// Only the fields that changed, with their new values (never null).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JobCardUpdated {
    pub job_card_id: String,
    pub number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "i64")]
    pub odometer_in: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub complaint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub findings: Option<String>,
}

/// The card is `cancelled`; `cancelled_at` is the envelope's `occurred_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JobCardCancelled {
    pub job_card_id: String,
    pub number: String,
    /// Trimmed; `""` when none was given.
    pub reason: String,
}

/// The card is `completed` with its final totals; `completed_at` is the
/// envelope's `occurred_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JobCardCompleted {
    pub job_card_id: String,
    pub number: String,
    pub customer_id: String,
    pub vehicle_id: String,
    pub technician_id: Option<String>,
    pub subtotal: i64,
    pub discount: i64,
    pub tax_total: i64,
    pub total: i64,
    /// Null with `skip_invoice`.
    pub invoice_id: Option<String>,
    pub service_record_id: String,
    pub service_record: ServiceRecord,
}

/// The vehicle's service history entry written by the completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceRecord {
    /// `YYYY-MM-DD`, branch local.
    pub date: String,
    pub odometer: Option<i64>,
    /// The lines' descriptions, joined by `; `.
    pub summary: String,
    pub parts_used: Vec<PartUsed>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PartUsed {
    pub item_id: Option<String>,
    pub description: String,
    pub quantity: i64,
}

// ---- invoices and payments -----------------------------------------------------------

/// The invoice as issued; `issued_at` is also the envelope's `occurred_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InvoiceGenerated {
    pub invoice_id: String,
    /// `INV-2026-A000456`.
    pub number: String,
    pub job_card_id: String,
    pub customer_id: String,
    pub vehicle_id: String,
    pub currency: String,
    /// The lines as billed.
    pub lines: Vec<BilledLine>,
    pub subtotal: i64,
    pub discount: i64,
    pub tax_summary: Vec<RateTotal>,
    pub tax_total: i64,
    pub total: i64,
    pub amount_paid: i64,
    pub balance_due: i64,
    /// `pending`, or `paid` for a total of 0.
    pub status: String,
    pub issued_at: String,
    /// `YYYY-MM-DD`, branch local.
    pub due_date: String,
    pub notes: String,
}

/// A line as billed, with the part number and unit as they were then.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BilledLine {
    pub kind: String,
    pub description: String,
    pub item_id: Option<String>,
    pub sku: String,
    pub unit: String,
    pub quantity: i64,
    pub quantity_display: String,
    pub unit_price: Option<i64>,
    pub tax_rate_bp: i64,
    pub net: i64,
    pub tax: i64,
    pub total: i64,
}

/// Net and tax at one rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RateTotal {
    pub rate_bp: i64,
    pub net: i64,
    pub tax: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InvoiceEmailRequested {
    pub invoice_id: String,
    pub number: String,
    /// The address to send to.
    pub to: String,
}

/// The invoice is `void`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InvoiceVoided {
    pub invoice_id: String,
    pub number: String,
    /// Trimmed.
    pub reason: String,
    /// The invoice's notes after the void (`[void: reason]` appended).
    pub notes: String,
}

/// A payment, `captured`; `created_at` is the envelope's `occurred_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentCaptured {
    pub payment_id: String,
    pub invoice_id: String,
    pub amount: i64,
    /// `cash`, `card`, `bank_transfer` or `other`.
    pub method: String,
    /// A bank reference, cheque number; the gateway's charge id for a card.
    pub reference: String,
    /// The invoice's, after the payment.
    pub amount_paid: i64,
    pub balance_due: i64,
    pub status: String,
}

/// A refund off one payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentRefunded {
    pub refund_id: String,
    pub payment_id: String,
    pub invoice_id: String,
    /// This refund.
    pub amount: i64,
    pub reason: String,
    /// The gateway's refund id (card payments), else null.
    pub gateway_refund_id: Option<String>,
    /// The invoice's, after the refund.
    pub amount_paid: i64,
    pub balance_due: i64,
    pub status: String,
}

/// Nothing was recorded on the invoice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentCompensated {
    /// The card payment attempt.
    pub attempt_id: String,
    pub invoice_id: String,
    pub amount: i64,
    pub currency: String,
    /// The gateway's.
    pub charge_id: String,
    pub refund_id: String,
    /// What stopped the recording (`invoice_void`).
    pub reason_code: String,
    pub reason: String,
}

// ---- appointments ---------------------------------------------------------------------

/// A new appointment, `scheduled`, holding its bay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AppointmentBooked {
    pub appointment_id: String,
    pub customer_id: String,
    pub vehicle_id: String,
    /// The service type's code.
    pub service_type: String,
    pub service_type_id: String,
    pub bay_id: String,
    /// `YYYY-MM-DD` and `HH:MM`, branch local.
    pub scheduled_date: String,
    pub scheduled_time: String,
    pub duration_minutes: i64,
    /// The same visit in UTC.
    pub starts_at: String,
    pub ends_at: String,
    pub notes: String,
    pub vehicle_owner_mismatch: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AppointmentStatusChanged {
    pub appointment_id: String,
    pub customer_id: String,
    /// Trimmed; `""` when none was given.
    pub reason: String,
}

/// The appointment is `checked_in`, with its job card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AppointmentCheckedIn {
    pub appointment_id: String,
    pub job_card_id: String,
    pub customer_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_is_registered_once_with_a_description_and_a_schema() {
        let mut names: Vec<&str> = REGISTRY.iter().map(|t| t.name).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "a type registered twice");
        for t in REGISTRY {
            assert!(!t.description.trim().is_empty(), "{} has no description", t.name);
            assert!(t.schema_version >= 1);
            let schema = (t.schema)();
            assert_eq!(schema.get("type"), Some(&serde_json::json!("object")), "{}", t.name);
        }
        for (_, listeners) in crate::outbox::ROUTES {
            assert!(!listeners.is_empty());
        }
        for (name, _) in crate::outbox::ROUTES {
            assert!(registered(name).is_some(), "the route {name} names no registered event type");
        }
    }

    /// Every event goes through [`append_tx`] with a registered kind: no
    /// other module calls `outbox::append_tx` (or builds a `NewEvent`).
    #[test]
    fn only_this_module_writes_to_the_outbox() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut stack = vec![src];
        let mut offenders = Vec::new();
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|x| x == "rs")
                    && !path.ends_with("events.rs")
                    && !path.ends_with("outbox.rs")
                {
                    let text = std::fs::read_to_string(&path).unwrap();
                    if text.contains("outbox::append_tx") || text.contains("NewEvent") {
                        offenders.push(path.display().to_string());
                    }
                }
            }
        }
        assert!(offenders.is_empty(), "write events with events::append_tx and a kind::…: {offenders:?}");
    }

    #[test]
    fn a_payload_with_a_field_its_type_lacks_or_a_wrong_type_does_not_reencode() {
        let t = registered("JobCardLineRemoved").unwrap();
        let good = serde_json::json!({ "job_card_id": "j", "line_id": "l" });
        assert_eq!((t.reencode)(&good).unwrap(), good);
        let extra = serde_json::json!({ "job_card_id": "j", "line_id": "l", "pin": "1234" });
        assert_ne!((t.reencode)(&extra).unwrap(), extra);
        assert!((t.reencode)(&serde_json::json!({ "job_card_id": 1, "line_id": "l" })).is_err());
    }
}
