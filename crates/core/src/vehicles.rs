//! Vehicles: licence plate unique (matched ignoring case, spaces and
//! hyphens; shown as entered), VIN validated, and the service history.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit;
use crate::clock::Stamp;
use crate::ctx::Ctx;
use crate::customers::{self, Customer, SearchInput};
use crate::error::{Error, Result};
use crate::events::{self, kind};
use crate::search;
use crate::validate::{check_vin, double_option, plate_key, IdInput, Validate, Violations, MAX_NAME};

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct Vehicle {
    pub id: String,
    pub customer_id: String,
    pub license_plate: String,
    pub vin: Option<String>,
    pub make: String,
    pub model: String,
    pub year: Option<i64>,
    pub odometer: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ts_rs::TS)]
pub struct VehicleSummary {
    pub id: String,
    pub license_plate: String,
    pub make: String,
    pub model: String,
    pub year: Option<i64>,
}

const COLUMNS: &str = "id, customer_id, license_plate, vin, make, model, year, odometer, created_at, updated_at";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<Vehicle> {
    Ok(Vehicle {
        id: r.get(0)?,
        customer_id: r.get(1)?,
        license_plate: r.get(2)?,
        vin: r.get(3)?,
        make: r.get(4)?,
        model: r.get(5)?,
        year: r.get(6)?,
        odometer: r.get(7)?,
        created_at: r.get(8)?,
        updated_at: r.get(9)?,
    })
}

pub fn find(conn: &Connection, id: &str) -> Result<Option<Vehicle>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM vehicles WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

pub fn get(conn: &Connection, id: &str) -> Result<Vehicle> {
    find(conn, id)?.ok_or_else(|| Error::not_found("vehicle", id))
}

/// The vehicle with this plate, however it is written.
pub fn find_by_plate(conn: &Connection, plate: &str) -> Result<Option<Vehicle>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM vehicles WHERE plate_key = ?1"))?
        .query_row([plate_key(plate)], from_row)
        .optional()?)
}

pub fn of_customer(conn: &Connection, customer_id: &str) -> Result<Vec<Vehicle>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM vehicles WHERE customer_id = ?1 ORDER BY created_at"))?;
    let rows = stmt.query_map([customer_id], from_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn summaries_of(conn: &Connection, customer_id: &str) -> Result<Vec<VehicleSummary>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, license_plate, make, model, year FROM vehicles WHERE customer_id = ?1 ORDER BY created_at",
    )?;
    let rows = stmt
        .query_map([customer_id], |r| {
            Ok(VehicleSummary {
                id: r.get(0)?,
                license_plate: r.get(1)?,
                make: r.get(2)?,
                model: r.get(3)?,
                year: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct NewVehicle {
    pub customer_id: String,
    pub license_plate: String,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub vin: Option<String>,
    pub make: String,
    pub model: String,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub year: Option<i64>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub odometer: Option<i64>,
}

/// Latest model year accepted: next year's models are sold this year.
fn max_year() -> i64 {
    i64::from(chrono::Datelike::year(&chrono::Utc::now())) + 1
}

pub fn check_plate(v: &mut Violations, field: &str, plate: &str) {
    if plate_key(plate).is_empty() {
        v.add(field, "is required (letters and digits)");
    } else {
        v.max_len(field, plate, 20);
    }
}

impl Validate for NewVehicle {
    fn validate(&self, v: &mut Violations) {
        v.required("customer_id", &self.customer_id, 100);
        check_plate(v, "license_plate", &self.license_plate);
        if let Some(vin) = self.vin.as_deref().filter(|s| !s.trim().is_empty()) {
            if let Err(m) = check_vin(vin) {
                v.add("vin", m);
            }
        }
        v.required("make", &self.make, MAX_NAME);
        v.required("model", &self.model, MAX_NAME);
        if let Some(y) = self.year {
            v.range("year", y, 1886, max_year());
        }
        if let Some(o) = self.odometer {
            v.range("odometer", o, 0, 10_000_000);
        }
    }
}

fn ensure_unique(conn: &Connection, plate: &str, vin: Option<&str>, except: Option<&str>) -> Result<()> {
    if let Some(other) = find_by_plate(conn, plate)?.filter(|o| Some(o.id.as_str()) != except) {
        return Err(Error::conflict(
            "duplicate_plate",
            format!("The plate {} is already registered.", other.license_plate),
            json!({ "field": "license_plate", "vehicle_id": other.id, "customer_id": other.customer_id }),
        ));
    }
    if let Some(vin) = vin {
        let other: Option<String> =
            conn.prepare_cached("SELECT id FROM vehicles WHERE vin = ?1")?.query_row([vin], |r| r.get(0)).optional()?;
        if let Some(id) = other.filter(|o| Some(o.as_str()) != except) {
            return Err(Error::conflict(
                "duplicate_vin",
                "Another vehicle already has this VIN.",
                json!({ "field": "vin", "vehicle_id": id }),
            ));
        }
    }
    Ok(())
}

fn event_payload(v: &Vehicle) -> events::Vehicle {
    events::Vehicle {
        vehicle_id: v.id.clone(),
        customer_id: v.customer_id.clone(),
        license_plate: v.license_plate.clone(),
        vin: v.vin.clone(),
        make: v.make.clone(),
        model: v.model.clone(),
        year: v.year,
        odometer: v.odometer,
    }
}

/// Registers a vehicle to a customer, with its search terms, audit entry and
/// `VehicleRegistered` event.
pub fn register_tx(tx: &Transaction, stamp: &Stamp, n: &NewVehicle) -> Result<Vehicle> {
    customers::get(tx, &n.customer_id)?;
    let vin = n
        .vin
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(check_vin)
        .transpose()
        .map_err(|m| Error::field("vin", m))?;
    let plate = n.license_plate.trim();
    ensure_unique(tx, plate, vin.as_deref(), None)?;
    let id = stamp.new_id();
    tx.prepare_cached(
        "INSERT INTO vehicles (id, customer_id, license_plate, plate_key, vin, make, model, year, odometer, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
    )?
    .execute(params![
        id,
        n.customer_id,
        plate,
        plate_key(plate),
        vin,
        n.make.trim(),
        n.model.trim(),
        n.year,
        n.odometer,
        stamp.at()
    ])?;
    search::replace_vehicle_terms_tx(tx, &n.customer_id, &id, &search::vehicle_terms(plate, vin.as_deref()))?;
    audit::record_tx(tx, stamp, "vehicles.register", "vehicle", Some(&id), json!({ "customer_id": n.customer_id }))?;
    let v = get(tx, &id)?;
    events::append_tx(tx, stamp, kind::VehicleRegistered, &id, &event_payload(&v))?;
    Ok(v)
}

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct VehiclePatch {
    pub id: String,
    /// Hands the vehicle to another customer.
    pub customer_id: Option<String>,
    pub license_plate: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[ts(optional = nullable)]
    pub vin: Option<Option<String>>,
    pub make: Option<String>,
    pub model: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[ts(optional = nullable)]
    pub year: Option<Option<i64>>,
    pub odometer: Option<i64>,
}

impl Validate for VehiclePatch {
    fn validate(&self, v: &mut Violations) {
        v.required("id", &self.id, 100);
        if let Some(c) = &self.customer_id {
            v.required("customer_id", c, 100);
        }
        if let Some(p) = &self.license_plate {
            check_plate(v, "license_plate", p);
        }
        if let Some(Some(vin)) = &self.vin {
            if !vin.trim().is_empty() {
                if let Err(m) = check_vin(vin) {
                    v.add("vin", m);
                }
            }
        }
        if let Some(m) = &self.make {
            v.required("make", m, MAX_NAME);
        }
        if let Some(m) = &self.model {
            v.required("model", m, MAX_NAME);
        }
        if let Some(Some(y)) = self.year {
            v.range("year", y, 1886, max_year());
        }
        if let Some(o) = self.odometer {
            v.range("odometer", o, 0, 10_000_000);
        }
    }
}

pub fn update_tx(tx: &Transaction, stamp: &Stamp, p: &VehiclePatch) -> Result<Vehicle> {
    let before = get(tx, &p.id)?;
    let customer_id = p.customer_id.clone().unwrap_or(before.customer_id.clone());
    if customer_id != before.customer_id {
        customers::get(tx, &customer_id)?;
    }
    let plate = p.license_plate.as_deref().map(str::trim).unwrap_or(&before.license_plate).to_string();
    let vin = match &p.vin {
        Some(v) => v
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(check_vin)
            .transpose()
            .map_err(|m| Error::field("vin", m))?,
        None => before.vin.clone(),
    };
    ensure_unique(tx, &plate, vin.as_deref(), Some(&p.id))?;
    tx.prepare_cached(
        "UPDATE vehicles SET customer_id = ?2, license_plate = ?3, plate_key = ?4, vin = ?5, make = ?6, model = ?7,
             year = ?8, odometer = ?9, updated_at = ?10 WHERE id = ?1",
    )?
    .execute(params![
        p.id,
        customer_id,
        plate,
        plate_key(&plate),
        vin,
        p.make.as_deref().map(str::trim).unwrap_or(&before.make),
        p.model.as_deref().map(str::trim).unwrap_or(&before.model),
        match p.year {
            Some(y) => y,
            None => before.year,
        },
        p.odometer.or(before.odometer),
        stamp.at()
    ])?;
    search::replace_vehicle_terms_tx(tx, &customer_id, &p.id, &search::vehicle_terms(&plate, vin.as_deref()))?;
    if customer_id != before.customer_id {
        search::refresh_card_tx(tx, &before.customer_id)?;
    }
    let after = get(tx, &p.id)?;
    let changed: Vec<&str> = [
        ("customer_id", before.customer_id != after.customer_id),
        ("license_plate", before.license_plate != after.license_plate),
        ("vin", before.vin != after.vin),
        ("make", before.make != after.make),
        ("model", before.model != after.model),
        ("year", before.year != after.year),
        ("odometer", before.odometer != after.odometer),
    ]
    .into_iter()
    .filter_map(|(n, c)| c.then_some(n))
    .collect();
    audit::record_tx(tx, stamp, "vehicles.update", "vehicle", Some(&p.id), json!({ "changed": changed }))?;
    events::append_tx(tx, stamp, kind::VehicleUpdated, &p.id, &event_payload(&after))?;
    Ok(after)
}

/// Raises the vehicle's odometer to `reading` (never lowers it); when it
/// moved, emits `VehicleUpdated` with the whole vehicle, the same payload
/// `vehicles.update` sends.
pub fn raise_odometer_tx(tx: &Transaction, stamp: &Stamp, vehicle_id: &str, reading: i64) -> Result<bool> {
    let raised = tx
        .prepare_cached(
            "UPDATE vehicles SET odometer = ?2, updated_at = ?3 WHERE id = ?1 AND (odometer IS NULL OR odometer < ?2)",
        )?
        .execute(params![vehicle_id, reading, stamp.at()])?;
    if raised == 0 {
        return Ok(false);
    }
    let v = get(tx, vehicle_id)?;
    events::append_tx(tx, stamp, kind::VehicleUpdated, vehicle_id, &event_payload(&v))?;
    Ok(true)
}

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct ServiceRecord {
    pub id: String,
    pub vehicle_id: String,
    pub job_card_id: Option<String>,
    pub date: String,
    pub odometer: Option<i64>,
    pub summary: String,
    pub parts_used: serde_json::Value,
}

pub fn history(conn: &Connection, vehicle_id: &str) -> Result<Vec<ServiceRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, vehicle_id, job_card_id, date, odometer, summary, parts_used FROM service_records
         WHERE vehicle_id = ?1 ORDER BY date DESC, created_at DESC",
    )?;
    let rows = stmt
        .query_map([vehicle_id], |r| {
            let parts: String = r.get(6)?;
            Ok(ServiceRecord {
                id: r.get(0)?,
                vehicle_id: r.get(1)?,
                job_card_id: r.get(2)?,
                date: r.get(3)?,
                odometer: r.get(4)?,
                summary: r.get(5)?,
                parts_used: serde_json::from_str(&parts).unwrap_or(serde_json::Value::Null),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

// ---- commands ----------------------------------------------------------------

/// A vehicle in search results, with its owner's name.
#[derive(Debug, Serialize, ts_rs::TS)]
pub struct VehicleHit {
    pub id: String,
    pub customer_id: String,
    pub customer_name: String,
    pub license_plate: String,
    pub make: String,
    pub model: String,
    pub year: Option<i64>,
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct VehicleSearch {
    pub vehicles: Vec<VehicleHit>,
}

#[derive(Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
struct Card {
    id: String,
    name: String,
    vehicles: Vec<VehicleSummary>,
}

/// Vehicles whose plate or VIN starts with the query, and all vehicles of
/// customers whose name, email or phone does; at most `limit`, from one
/// index range scan (see [`search::hits`]).
pub fn search(conn: &Connection, query: &str, limit: i64) -> Result<Vec<VehicleHit>> {
    let limit = usize::try_from(limit).unwrap_or(0);
    let mut out: Vec<VehicleHit> = Vec::new();
    for h in search::hits(conn, query, limit as i64)? {
        let card: Card = serde_json::from_str(&h.card)?;
        for v in card.vehicles {
            if out.len() < limit
                && (h.vehicle_id.is_empty() || h.vehicle_id == v.id)
                && !out.iter().any(|o| o.id == v.id)
            {
                out.push(VehicleHit {
                    id: v.id,
                    customer_id: card.id.clone(),
                    customer_name: card.name.clone(),
                    license_plate: v.license_plate,
                    make: v.make,
                    model: v.model,
                    year: v.year,
                });
            }
        }
    }
    Ok(out)
}

pub fn search_cmd(ctx: &mut Ctx, input: SearchInput) -> Result<VehicleSearch> {
    Ok(VehicleSearch { vehicles: search(ctx.conn(), &input.query, input.limit)? })
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct VehicleDetail {
    pub vehicle: Vehicle,
    pub owner: customers::Customer,
}

pub fn get_cmd(ctx: &mut Ctx, input: IdInput) -> Result<VehicleDetail> {
    let vehicle = get(ctx.conn(), &input.id)?;
    let owner = customers::get(ctx.conn(), &vehicle.customer_id)?;
    Ok(VehicleDetail { vehicle, owner })
}

pub fn register_cmd(ctx: &mut Ctx, input: NewVehicle) -> Result<Vehicle> {
    ctx.write(|tx, stamp| register_tx(tx, stamp, &input))
}

pub fn update_cmd(ctx: &mut Ctx, input: VehiclePatch) -> Result<Vehicle> {
    ctx.write(|tx, stamp| update_tx(tx, stamp, &input))
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct History {
    pub vehicle: Vehicle,
    pub records: Vec<ServiceRecord>,
}

pub fn history_cmd(ctx: &mut Ctx, input: IdInput) -> Result<History> {
    let vehicle = get(ctx.conn(), &input.id)?;
    let records = history(ctx.conn(), &vehicle.id)?;
    Ok(History { vehicle, records })
}
#[derive(Debug, Serialize, ts_rs::TS)]
pub struct CustomerDetail {
    pub customer: Customer,
    pub vehicles: Vec<Vehicle>,
}

/// `customers.get`: a customer with their vehicles (here, as vehicles sit
/// above customers).
pub fn customer_detail_cmd(ctx: &mut Ctx, input: IdInput) -> Result<CustomerDetail> {
    let customer = customers::get(ctx.conn(), &input.id)?;
    let vehicles = of_customer(ctx.conn(), &customer.id)?;
    Ok(CustomerDetail { customer, vehicles })
}
