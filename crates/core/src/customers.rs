//! Customers: one per person or company. Email is unique ignoring case,
//! phone unique as E.164 (read with the branch's country as default).

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit;
use crate::clock::Stamp;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::events::{self, kind};
use crate::search;
use crate::validate::{
    check_email, check_phone_shape, email_key, normalize_phone, Validate, Violations, MAX_NAME, MAX_TEXT,
};

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct Customer {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: String,
    pub notes: String,
    pub marketing_consent: bool,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "id, name, email, phone, address, notes, marketing_consent, created_at, updated_at";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<Customer> {
    Ok(Customer {
        id: r.get(0)?,
        name: r.get(1)?,
        email: r.get(2)?,
        phone: r.get(3)?,
        address: r.get(4)?,
        notes: r.get(5)?,
        marketing_consent: r.get(6)?,
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
    })
}

pub fn find(conn: &Connection, id: &str) -> Result<Option<Customer>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM customers WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

pub fn get(conn: &Connection, id: &str) -> Result<Customer> {
    find(conn, id)?.ok_or_else(|| Error::not_found("customer", id))
}

/// The customer with this email, ignoring case.
pub fn find_by_email(conn: &Connection, email: &str) -> Result<Option<Customer>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM customers WHERE email_key = ?1"))?
        .query_row([email_key(email)], from_row)
        .optional()?)
}

/// The customer with this phone, already normalized to E.164.
pub fn find_by_phone(conn: &Connection, e164: &str) -> Result<Option<Customer>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM customers WHERE phone = ?1"))?
        .query_row([e164], from_row)
        .optional()?)
}

/// A new customer's fields, checked and normalized.
#[derive(Debug, Clone)]
pub struct CustomerFields {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: String,
    pub notes: String,
    pub marketing_consent: bool,
}

fn ensure_unique(conn: &Connection, f: &CustomerFields, except: Option<&str>) -> Result<()> {
    if let Some(e) = &f.email {
        if let Some(c) = find_by_email(conn, e)?.filter(|c| Some(c.id.as_str()) != except) {
            return Err(Error::conflict(
                "duplicate_email",
                "Another customer already has this email address.",
                json!({ "field": "email", "customer_id": c.id }),
            ));
        }
    }
    if let Some(p) = &f.phone {
        if let Some(c) = find_by_phone(conn, p)?.filter(|c| Some(c.id.as_str()) != except) {
            return Err(Error::conflict(
                "duplicate_phone",
                "Another customer already has this phone number.",
                json!({ "field": "phone", "customer_id": c.id }),
            ));
        }
    }
    Ok(())
}

fn event_payload(c: &Customer) -> events::Customer {
    events::Customer {
        customer_id: c.id.clone(),
        name: c.name.clone(),
        email: c.email.clone(),
        phone: c.phone.clone(),
        address: c.address.clone(),
        notes: c.notes.clone(),
        marketing_consent: c.marketing_consent,
    }
}

/// Creates a customer with its search terms, audit entry and `CustomerCreated` event.
pub fn create_tx(tx: &Transaction, stamp: &Stamp, f: &CustomerFields) -> Result<Customer> {
    ensure_unique(tx, f, None)?;
    let id = stamp.new_id();
    tx.prepare_cached(
        "INSERT INTO customers (id, name, email, email_key, phone, address, notes, marketing_consent, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
    )?
    .execute(params![
        id,
        f.name,
        f.email,
        f.email.as_deref().map(email_key),
        f.phone,
        f.address,
        f.notes,
        f.marketing_consent,
        stamp.at()
    ])?;
    search::replace_customer_terms_tx(
        tx,
        &id,
        &search::customer_terms(&f.name, f.email.as_deref(), f.phone.as_deref()),
    )?;
    audit::record_tx(tx, stamp, "customers.create", "customer", Some(&id), json!({}))?;
    let c = get(tx, &id)?;
    events::append_tx(tx, stamp, kind::CustomerCreated, &id, &event_payload(&c))?;
    Ok(c)
}

// ---- inputs -----------------------------------------------------------------

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    pub name: String,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub email: Option<String>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub phone: Option<String>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub address: String,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub notes: String,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub marketing_consent: bool,
}

impl Validate for NewCustomer {
    fn validate(&self, v: &mut Violations) {
        v.required("name", &self.name, MAX_NAME);
        if let Some(e) = self.email.as_deref().filter(|e| !e.trim().is_empty()) {
            if let Err(m) = check_email(e) {
                v.add("email", m);
            }
        }
        if let Some(p) = self.phone.as_deref().filter(|p| !p.trim().is_empty()) {
            if let Err(m) = check_phone_shape(p) {
                v.add("phone", m);
            }
        }
        v.max_len("address", &self.address, MAX_TEXT);
        v.max_len("notes", &self.notes, MAX_TEXT);
    }
}

fn blank_to_none(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// Normalizes the phone with the branch's country; a bad phone is a 422.
pub fn phone_field(field: &str, raw: Option<&str>, country: &str) -> Result<Option<String>> {
    match blank_to_none(raw) {
        None => Ok(None),
        Some(p) => normalize_phone(p, country).map(Some).map_err(|m| Error::field(field, m)),
    }
}

impl NewCustomer {
    pub fn fields(&self, country: &str) -> Result<CustomerFields> {
        Ok(CustomerFields {
            name: self.name.trim().to_string(),
            email: blank_to_none(self.email.as_deref()).map(str::to_string),
            phone: phone_field("phone", self.phone.as_deref(), country)?,
            address: self.address.trim().to_string(),
            notes: self.notes.trim().to_string(),
            marketing_consent: self.marketing_consent,
        })
    }
}

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    pub id: String,
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::validate::double_option")]
    #[ts(optional = nullable)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::validate::double_option")]
    #[ts(optional = nullable)]
    pub phone: Option<Option<String>>,
    pub address: Option<String>,
    pub notes: Option<String>,
    pub marketing_consent: Option<bool>,
}

impl CustomerPatch {
    /// The new phone in E.164 (`Some(None)`: cleared; `None`: unchanged), or
    /// a 422 when it is not a number in `country`.
    pub fn phone(&self, country: &str) -> Result<Option<Option<String>>> {
        self.phone.as_ref().map(|ph| phone_field("phone", ph.as_deref(), country)).transpose()
    }
}

impl Validate for CustomerPatch {
    fn validate(&self, v: &mut Violations) {
        v.required("id", &self.id, 100);
        if let Some(n) = &self.name {
            v.required("name", n, MAX_NAME);
        }
        if let Some(Some(e)) = &self.email {
            if !e.trim().is_empty() {
                if let Err(m) = check_email(e) {
                    v.add("email", m);
                }
            }
        }
        if let Some(Some(p)) = &self.phone {
            if !p.trim().is_empty() {
                if let Err(m) = check_phone_shape(p) {
                    v.add("phone", m);
                }
            }
        }
        v.optional("address", self.address.as_deref(), MAX_TEXT);
        v.optional("notes", self.notes.as_deref(), MAX_TEXT);
    }
}

/// Applies `p`; `phone` is `p.phone` already read with the branch's country
/// (by [`CustomerPatch::phone`], outside the transaction).
pub fn update_tx(
    tx: &Transaction,
    stamp: &Stamp,
    p: &CustomerPatch,
    phone: Option<Option<String>>,
) -> Result<Customer> {
    let before = get(tx, &p.id)?;
    let f = CustomerFields {
        name: p.name.as_deref().map(str::trim).unwrap_or(&before.name).to_string(),
        email: match &p.email {
            Some(e) => blank_to_none(e.as_deref()).map(str::to_string),
            None => before.email.clone(),
        },
        phone: phone.unwrap_or_else(|| before.phone.clone()),
        address: p.address.as_deref().map(str::trim).unwrap_or(&before.address).to_string(),
        notes: p.notes.as_deref().map(str::trim).unwrap_or(&before.notes).to_string(),
        marketing_consent: p.marketing_consent.unwrap_or(before.marketing_consent),
    };
    ensure_unique(tx, &f, Some(&p.id))?;
    tx.prepare_cached(
        "UPDATE customers SET name = ?2, email = ?3, email_key = ?4, phone = ?5, address = ?6, notes = ?7,
             marketing_consent = ?8, updated_at = ?9 WHERE id = ?1",
    )?
    .execute(params![
        p.id,
        f.name,
        f.email,
        f.email.as_deref().map(email_key),
        f.phone,
        f.address,
        f.notes,
        f.marketing_consent,
        stamp.at()
    ])?;
    search::replace_customer_terms_tx(
        tx,
        &p.id,
        &search::customer_terms(&f.name, f.email.as_deref(), f.phone.as_deref()),
    )?;
    let after = get(tx, &p.id)?;
    let changed: Vec<&str> = [
        ("name", before.name != after.name),
        ("email", before.email != after.email),
        ("phone", before.phone != after.phone),
        ("address", before.address != after.address),
        ("notes", before.notes != after.notes),
        ("marketing_consent", before.marketing_consent != after.marketing_consent),
    ]
    .into_iter()
    .filter_map(|(n, c)| c.then_some(n))
    .collect();
    audit::record_tx(tx, stamp, "customers.update", "customer", Some(&p.id), json!({ "changed": changed }))?;
    events::append_tx(tx, stamp, kind::CustomerUpdated, &p.id, &event_payload(&after))?;
    Ok(after)
}

// ---- commands ----------------------------------------------------------------

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct SearchInput {
    pub query: String,
    #[serde(default = "twenty")]
    #[ts(optional = nullable)]
    pub limit: i64,
}

fn twenty() -> i64 {
    20
}

impl Validate for SearchInput {
    fn validate(&self, v: &mut Violations) {
        v.max_len("query", &self.query, MAX_NAME);
        v.range("limit", self.limit, 1, 100);
    }
}

/// Search results are the customers' cards: id, name, email, phone and
/// vehicles (id, license_plate, make, model, year). `customers.get` gives the rest.
#[derive(Debug, Serialize, ts_rs::TS)]
pub struct SearchOutput {
    pub customers: Vec<serde_json::Value>,
}

/// Customers whose name, email, phone, plate or VIN starts with the query,
/// answered by one index range scan (see [`search::hits`]).
pub fn search(conn: &Connection, query: &str, limit: i64) -> Result<Vec<serde_json::Value>> {
    // A customer matches through several terms (name, surname, email,
    // plates) that sort apart: one card each, where their first term sorts.
    let mut cards = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for h in search::hits(conn, query, limit)? {
        if seen.insert(h.customer_id) {
            cards.push(serde_json::from_str(&h.card)?);
        }
    }
    Ok(cards)
}

pub fn search_cmd(ctx: &mut Ctx, input: SearchInput) -> Result<SearchOutput> {
    Ok(SearchOutput { customers: search(ctx.conn(), &input.query, input.limit)? })
}

// Phones are read before the write lock is taken: the phone-number metadata
// loads on first use, and that has no place inside a transaction.

pub fn create_cmd(ctx: &mut Ctx, input: NewCustomer) -> Result<Customer> {
    let country = crate::settings::branch(ctx.conn())?.country;
    let fields = input.fields(&country)?;
    ctx.write(|tx, stamp| create_tx(tx, stamp, &fields))
}

pub fn update_cmd(ctx: &mut Ctx, input: CustomerPatch) -> Result<Customer> {
    let country = crate::settings::branch(ctx.conn())?.country;
    let phone = input.phone(&country)?;
    if phone.is_none() {
        // The search terms are remade from the phone kept: read it now too.
        if let Some(kept) = find(ctx.conn(), &input.id)?.and_then(|c| c.phone) {
            let _ = crate::validate::national_digits(&kept);
        }
    }
    ctx.write(|tx, stamp| update_tx(tx, stamp, &input, phone.clone()))
}
