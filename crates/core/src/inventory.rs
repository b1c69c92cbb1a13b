//! Inventory items and the stock ledger (SPEC 4.5).
//!
//! Invariants: stock never goes below zero; an item's `on_hand` always
//! equals the sum of its ledger rows; the ledger is append-only; a bulk
//! adjustment is all or nothing. Every change emits `InventoryAdjusted`, and
//! `LowStockReached` when it crosses the reorder level.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit;
use crate::clock::Stamp;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::events::{self, kind};
use crate::money::format_quantity;
use crate::validate::{Validate, Violations, MAX_NAME, MAX_TEXT};

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct Item {
    pub id: String,
    pub sku: String,
    pub barcode: Option<String>,
    pub name: String,
    pub unit: String,
    /// Thousandths of the unit.
    pub on_hand: i64,
    /// For people: "5", "2.5".
    pub on_hand_display: String,
    pub reorder_level: i64,
    pub cost: i64,
    pub price: i64,
    pub tax_rate_bp: i64,
    pub active: bool,
    pub low_stock: bool,
}

const COLUMNS: &str = "id, sku, barcode, name, unit, on_hand, reorder_level, cost, price, tax_rate_bp, active";

fn item_from_row(r: &rusqlite::Row) -> rusqlite::Result<Item> {
    let on_hand: i64 = r.get(5)?;
    let reorder_level: i64 = r.get(6)?;
    Ok(Item {
        id: r.get(0)?,
        sku: r.get(1)?,
        barcode: r.get(2)?,
        name: r.get(3)?,
        unit: r.get(4)?,
        on_hand,
        on_hand_display: format_quantity(on_hand),
        reorder_level,
        cost: r.get(7)?,
        price: r.get(8)?,
        tax_rate_bp: r.get(9)?,
        active: r.get(10)?,
        low_stock: on_hand <= reorder_level,
    })
}

pub fn find(conn: &Connection, id: &str) -> Result<Option<Item>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM inventory_items WHERE id = ?1"))?
        .query_row([id], item_from_row)
        .optional()?)
}

pub fn get(conn: &Connection, id: &str) -> Result<Item> {
    find(conn, id)?.ok_or_else(|| Error::not_found("inventory item", id))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Movement {
    Purchase,
    JobCard,
    Adjustment,
    Return,
    Stocktake,
}

impl Movement {
    pub fn as_str(self) -> &'static str {
        match self {
            Movement::Purchase => "purchase",
            Movement::JobCard => "job_card",
            Movement::Adjustment => "adjustment",
            Movement::Return => "return",
            Movement::Stocktake => "stocktake",
        }
    }
}

/// What a stock movement refers to (a job card, a supplier delivery…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct LedgerEntry {
    pub seq: i64,
    pub id: String,
    pub item_id: String,
    pub delta: i64,
    #[serde(rename = "type")]
    pub movement: String,
    pub reference: Option<Reference>,
    pub reason: String,
    pub balance_before: i64,
    pub balance_after: i64,
    pub actor_id: Option<String>,
    pub at: String,
}

fn ledger_from_row(r: &rusqlite::Row) -> rusqlite::Result<LedgerEntry> {
    let rt: Option<String> = r.get(5)?;
    let rid: Option<String> = r.get(6)?;
    Ok(LedgerEntry {
        seq: r.get(0)?,
        id: r.get(1)?,
        item_id: r.get(2)?,
        delta: r.get(3)?,
        movement: r.get(4)?,
        reference: rt.zip(rid).map(|(kind, id)| Reference { kind, id }),
        reason: r.get(7)?,
        balance_before: r.get(8)?,
        balance_after: r.get(9)?,
        actor_id: r.get(10)?,
        at: r.get(11)?,
    })
}

const LEDGER_COLUMNS: &str =
    "seq, id, item_id, delta, type, reference_type, reference_id, reason, balance_before, balance_after, actor_id, at";

/// The message of SPEC 4.1, with quantities in the item's unit.
pub fn insufficient_stock(name: &str, item_id: &str, current: i64, requested: i64) -> Error {
    Error::rule(
        "insufficient_stock",
        format!(
            "Insufficient stock for item '{name}'. Current: {}, Requested: {}",
            format_quantity(current),
            format_quantity(requested)
        ),
        json!({ "item_id": item_id, "current": current, "requested": requested }),
    )
}

/// One line of a (bulk) adjustment: a signed change in thousandths.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct Change {
    pub item_id: String,
    pub quantity: i64,
}

/// Lines of the same item add up, in the order first seen; a net zero is dropped.
pub fn merge_changes(changes: &[Change]) -> Result<Vec<Change>> {
    let mut merged: Vec<Change> = Vec::new();
    for c in changes {
        match merged.iter_mut().find(|m| m.item_id == c.item_id) {
            Some(m) => {
                m.quantity =
                    m.quantity.checked_add(c.quantity).ok_or_else(|| Error::Overflow { field: "quantity".into() })?
            }
            None => merged.push(c.clone()),
        }
    }
    merged.retain(|m| m.quantity != 0);
    Ok(merged)
}

/// Applies several changes as one: all or nothing. Checks every item before
/// writing anything; the first item short of stock fails the whole batch.
pub fn bulk_adjust_tx(
    tx: &Transaction,
    stamp: &Stamp,
    changes: &[Change],
    movement: Movement,
    reference: Option<&Reference>,
    reason: &str,
) -> Result<Vec<LedgerEntry>> {
    let merged = merge_changes(changes)?;
    let mut plan = Vec::with_capacity(merged.len());
    for c in &merged {
        let (name, on_hand, reorder): (String, i64, i64) = tx
            .prepare_cached("SELECT name, on_hand, reorder_level FROM inventory_items WHERE id = ?1")?
            .query_row([&c.item_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?
            .ok_or_else(|| Error::not_found("inventory item", &c.item_id))?;
        let after = on_hand.checked_add(c.quantity).ok_or_else(|| Error::Overflow { field: "quantity".into() })?;
        if after < 0 {
            return Err(insufficient_stock(&name, &c.item_id, on_hand, -c.quantity));
        }
        plan.push((c, name, on_hand, after, reorder));
    }
    let mut entries = Vec::with_capacity(plan.len());
    for (c, name, before, after, reorder) in plan {
        tx.prepare_cached("UPDATE inventory_items SET on_hand = ?2, updated_at = ?3 WHERE id = ?1")?
            .execute(params![c.item_id, after, stamp.at()])?;
        let id = stamp.new_id();
        tx.prepare_cached(
            "INSERT INTO inventory_transactions (id, item_id, delta, type, reference_type, reference_id, reason,
                                                 balance_before, balance_after, actor_id, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?
        .execute(params![
            id,
            c.item_id,
            c.quantity,
            movement.as_str(),
            reference.map(|r| r.kind.as_str()),
            reference.map(|r| r.id.as_str()),
            reason,
            before,
            after,
            stamp.actor_id,
            stamp.at()
        ])?;
        let seq = tx.last_insert_rowid();
        events::append_tx(
            tx,
            stamp,
            kind::InventoryAdjusted,
            &c.item_id,
            &events::InventoryAdjusted {
                item_id: c.item_id.clone(),
                transaction_id: id.clone(),
                delta: c.quantity,
                movement: movement.as_str().into(),
                reference: reference.map(|r| events::StockReference { kind: r.kind.clone(), id: r.id.clone() }),
                reason: reason.into(),
                balance_before: before,
                balance_after: after,
            },
        )?;
        if before > reorder && after <= reorder {
            events::append_tx(
                tx,
                stamp,
                kind::LowStockReached,
                &c.item_id,
                &events::LowStockReached {
                    item_id: c.item_id.clone(),
                    name: name.clone(),
                    on_hand: after,
                    reorder_level: reorder,
                },
            )?;
        }
        entries.push(LedgerEntry {
            seq,
            id,
            item_id: c.item_id.clone(),
            delta: c.quantity,
            movement: movement.as_str().into(),
            reference: reference.cloned(),
            reason: reason.into(),
            balance_before: before,
            balance_after: after,
            actor_id: stamp.actor_id.map(str::to_string),
            at: stamp.at(),
        });
    }
    Ok(entries)
}

/// One change to one item: see [`bulk_adjust_tx`].
pub fn adjust_tx(
    tx: &Transaction,
    stamp: &Stamp,
    change: &Change,
    movement: Movement,
    reference: Option<&Reference>,
    reason: &str,
) -> Result<Option<LedgerEntry>> {
    Ok(bulk_adjust_tx(tx, stamp, std::slice::from_ref(change), movement, reference, reason)?.pop())
}

// ---- item list ---------------------------------------------------------------

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    pub sku: String,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub barcode: Option<String>,
    pub name: String,
    #[serde(default = "pcs")]
    #[ts(optional = nullable)]
    pub unit: String,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub reorder_level: i64,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub cost: i64,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub price: i64,
    /// Basis points; the branch's default rate when left out.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub tax_rate_bp: Option<i64>,
    /// Stock on the shelf when the item is added, in thousandths.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub opening_stock: i64,
}

fn pcs() -> String {
    "pcs".into()
}

const MAX_QTY: i64 = 1_000_000_000_000;

fn check_sku(v: &mut Violations, field: &str, sku: &str) {
    v.required(field, sku, 64);
}

impl Validate for NewItem {
    fn validate(&self, v: &mut Violations) {
        check_sku(v, "sku", &self.sku);
        v.optional("barcode", self.barcode.as_deref(), 64);
        v.required("name", &self.name, MAX_NAME);
        v.required("unit", &self.unit, 20);
        v.range("reorder_level", self.reorder_level, 0, MAX_QTY);
        v.amount("cost", self.cost);
        v.amount("price", self.price);
        if let Some(t) = self.tax_rate_bp {
            v.range("tax_rate_bp", t, 0, 100_000);
        }
        v.range("opening_stock", self.opening_stock, 0, MAX_QTY);
    }
}

fn unique_violation(e: rusqlite::Error, sku: &str) -> Error {
    match e {
        rusqlite::Error::SqliteFailure(f, Some(m)) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            if m.contains("barcode") {
                Error::conflict("duplicate_barcode", "Another item has this barcode.", json!({ "field": "barcode" }))
            } else {
                Error::conflict("duplicate_sku", format!("The SKU '{sku}' is taken."), json!({ "field": "sku" }))
            }
        }
        e => e.into(),
    }
}

/// The item's details for `InventoryItemCreated` and `InventoryItemUpdated`
/// (its stock travels in `InventoryAdjusted`).
fn event_payload(i: &Item) -> events::InventoryItem {
    events::InventoryItem {
        item_id: i.id.clone(),
        sku: i.sku.clone(),
        barcode: i.barcode.clone(),
        name: i.name.clone(),
        unit: i.unit.clone(),
        reorder_level: i.reorder_level,
        cost: i.cost,
        price: i.price,
        tax_rate_bp: i.tax_rate_bp,
        active: i.active,
    }
}

pub fn create_item_tx(tx: &Transaction, stamp: &Stamp, n: &NewItem, default_tax_bp: i64) -> Result<Item> {
    let id = stamp.new_id();
    let barcode = n.barcode.as_deref().map(str::trim).filter(|b| !b.is_empty());
    tx.prepare_cached(
        "INSERT INTO inventory_items (id, sku, barcode, name, unit, reorder_level, cost, price, tax_rate_bp,
                                      created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
    )?
    .execute(params![
        id,
        n.sku.trim(),
        barcode,
        n.name.trim(),
        n.unit.trim(),
        n.reorder_level,
        n.cost,
        n.price,
        n.tax_rate_bp.unwrap_or(default_tax_bp),
        stamp.at()
    ])
    .map_err(|e| unique_violation(e, n.sku.trim()))?;
    audit::record_tx(tx, stamp, "inventory.create_item", "inventory_item", Some(&id), json!({ "sku": n.sku.trim() }))?;
    events::append_tx(tx, stamp, kind::InventoryItemCreated, &id, &event_payload(&get(tx, &id)?))?;
    if n.opening_stock > 0 {
        adjust_tx(
            tx,
            stamp,
            &Change { item_id: id.clone(), quantity: n.opening_stock },
            Movement::Purchase,
            None,
            "opening stock",
        )?;
    }
    get(tx, &id)
}

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct ItemPatch {
    pub id: String,
    pub sku: Option<String>,
    #[serde(default, deserialize_with = "crate::validate::double_option")]
    #[ts(optional = nullable)]
    pub barcode: Option<Option<String>>,
    pub name: Option<String>,
    pub unit: Option<String>,
    pub reorder_level: Option<i64>,
    pub cost: Option<i64>,
    pub price: Option<i64>,
    pub tax_rate_bp: Option<i64>,
    pub active: Option<bool>,
}

impl Validate for ItemPatch {
    fn validate(&self, v: &mut Violations) {
        v.required("id", &self.id, 100);
        if let Some(s) = &self.sku {
            check_sku(v, "sku", s);
        }
        if let Some(Some(b)) = &self.barcode {
            v.max_len("barcode", b, 64);
        }
        if let Some(n) = &self.name {
            v.required("name", n, MAX_NAME);
        }
        if let Some(u) = &self.unit {
            v.required("unit", u, 20);
        }
        if let Some(r) = self.reorder_level {
            v.range("reorder_level", r, 0, MAX_QTY);
        }
        if let Some(c) = self.cost {
            v.amount("cost", c);
        }
        if let Some(p) = self.price {
            v.amount("price", p);
        }
        if let Some(t) = self.tax_rate_bp {
            v.range("tax_rate_bp", t, 0, 100_000);
        }
    }
}

pub fn update_item_tx(tx: &Transaction, stamp: &Stamp, p: &ItemPatch) -> Result<Item> {
    let b = get(tx, &p.id)?;
    let sku = p.sku.as_deref().map(str::trim).unwrap_or(&b.sku).to_string();
    let barcode = match &p.barcode {
        Some(v) => v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string),
        None => b.barcode.clone(),
    };
    tx.prepare_cached(
        "UPDATE inventory_items SET sku = ?2, barcode = ?3, name = ?4, unit = ?5, reorder_level = ?6, cost = ?7,
             price = ?8, tax_rate_bp = ?9, active = ?10, updated_at = ?11 WHERE id = ?1",
    )?
    .execute(params![
        p.id,
        sku,
        barcode,
        p.name.as_deref().map(str::trim).unwrap_or(&b.name),
        p.unit.as_deref().map(str::trim).unwrap_or(&b.unit),
        p.reorder_level.unwrap_or(b.reorder_level),
        p.cost.unwrap_or(b.cost),
        p.price.unwrap_or(b.price),
        p.tax_rate_bp.unwrap_or(b.tax_rate_bp),
        p.active.unwrap_or(b.active),
        stamp.at()
    ])
    .map_err(|e| unique_violation(e, &sku))?;
    let a = get(tx, &p.id)?;
    let changed: Vec<&str> = [
        ("sku", a.sku != b.sku),
        ("barcode", a.barcode != b.barcode),
        ("name", a.name != b.name),
        ("unit", a.unit != b.unit),
        ("reorder_level", a.reorder_level != b.reorder_level),
        ("cost", a.cost != b.cost),
        ("price", a.price != b.price),
        ("tax_rate_bp", a.tax_rate_bp != b.tax_rate_bp),
        ("active", a.active != b.active),
    ]
    .into_iter()
    .filter_map(|(n, c)| c.then_some(n))
    .collect();
    audit::record_tx(tx, stamp, "inventory.update_item", "inventory_item", Some(&p.id), json!({ "changed": changed }))?;
    events::append_tx(tx, stamp, kind::InventoryItemUpdated, &p.id, &event_payload(&a))?;
    Ok(a)
}

// ---- commands ----------------------------------------------------------------

#[derive(Debug, Default, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct ItemsInput {
    /// Part of the name, or the start of the SKU or barcode.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub query: Option<String>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub low_stock_only: bool,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub include_inactive: bool,
    #[serde(default = "hundred")]
    #[ts(optional = nullable)]
    pub limit: i64,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub offset: i64,
}

fn hundred() -> i64 {
    100
}

impl Validate for ItemsInput {
    fn validate(&self, v: &mut Violations) {
        v.optional("query", self.query.as_deref(), MAX_NAME);
        v.range("limit", self.limit, 1, 500);
        v.range("offset", self.offset, 0, i64::from(i32::MAX));
    }
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct ItemList {
    pub items: Vec<Item>,
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

pub fn list_items(conn: &Connection, input: &ItemsInput) -> Result<Vec<Item>> {
    let q = input.query.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let contains = q.map(|q| format!("%{}%", like_escape(q)));
    let starts = q.map(|q| format!("{}%", like_escape(q)));
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM inventory_items
         WHERE (active = 1 OR ?1)
           AND (NOT ?2 OR on_hand <= reorder_level)
           AND (?3 IS NULL OR name LIKE ?3 ESCAPE '\\' OR sku LIKE ?4 ESCAPE '\\' OR barcode LIKE ?4 ESCAPE '\\')
         ORDER BY name, sku LIMIT ?5 OFFSET ?6"
    ))?;
    let rows = stmt
        .query_map(
            params![input.include_inactive, input.low_stock_only, contains, starts, input.limit, input.offset],
            item_from_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn items_cmd(ctx: &mut Ctx, input: ItemsInput) -> Result<ItemList> {
    Ok(ItemList { items: list_items(ctx.conn(), &input)? })
}

pub fn create_item_cmd(ctx: &mut Ctx, input: NewItem) -> Result<Item> {
    let tax = crate::settings::branch(ctx.conn())?.default_tax_rate_bp;
    ctx.write(|tx, stamp| create_item_tx(tx, stamp, &input, tax))
}

pub fn update_item_cmd(ctx: &mut Ctx, input: ItemPatch) -> Result<Item> {
    ctx.write(|tx, stamp| update_item_tx(tx, stamp, &input))
}

fn check_manual_movement(v: &mut Violations, field: &str, m: Movement) {
    if m == Movement::JobCard {
        v.add(field, "cannot be set by hand: stock used on a job card is taken off when the job card is completed");
    }
}

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct AdjustInput {
    pub item_id: String,
    /// Signed change in thousandths (give this or `counted`).
    #[serde(default)]
    #[ts(optional = nullable)]
    pub quantity: Option<i64>,
    /// For a stocktake: the quantity counted on the shelf, in thousandths.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub counted: Option<i64>,
    #[serde(rename = "type")]
    pub movement: Movement,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub reference: Option<Reference>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub reason: String,
}

fn check_reference(v: &mut Violations, field: &str, r: &Option<Reference>) {
    if let Some(r) = r {
        v.required(&format!("{field}.type"), &r.kind, 50);
        v.required(&format!("{field}.id"), &r.id, 100);
    }
}

impl Validate for AdjustInput {
    fn validate(&self, v: &mut Violations) {
        v.required("item_id", &self.item_id, 100);
        match (self.quantity, self.counted) {
            (Some(q), None) => {
                if q == 0 {
                    v.add("quantity", "must not be zero");
                }
                v.range("quantity", q, -MAX_QTY, MAX_QTY);
            }
            (None, Some(c)) => v.range("counted", c, 0, MAX_QTY),
            _ => v.add("quantity", "give either quantity (a change) or counted (a stocktake count)"),
        }
        check_manual_movement(v, "type", self.movement);
        check_reference(v, "reference", &self.reference);
        v.max_len("reason", &self.reason, MAX_TEXT);
    }
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct Adjusted {
    pub transaction: Option<LedgerEntry>,
    pub item: Item,
}

pub fn adjust_cmd(ctx: &mut Ctx, input: AdjustInput) -> Result<Adjusted> {
    ctx.write(|tx, stamp| {
        let item = get(tx, &input.item_id)?;
        let quantity = match (input.quantity, input.counted) {
            (Some(q), _) => q,
            (None, Some(c)) => c - item.on_hand,
            (None, None) => 0,
        };
        let entry = if quantity == 0 {
            None
        } else {
            adjust_tx(
                tx,
                stamp,
                &Change { item_id: input.item_id.clone(), quantity },
                input.movement,
                input.reference.as_ref(),
                input.reason.trim(),
            )?
        };
        audit::record_tx(
            tx,
            stamp,
            "inventory.adjust",
            "inventory_item",
            Some(&input.item_id),
            json!({ "delta": quantity, "type": input.movement.as_str() }),
        )?;
        Ok(Adjusted { transaction: entry, item: get(tx, &input.item_id)? })
    })
}

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct BulkAdjustInput {
    pub adjustments: Vec<Change>,
    #[serde(rename = "type")]
    pub movement: Movement,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub reference: Option<Reference>,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub reason: String,
}

impl Validate for BulkAdjustInput {
    fn validate(&self, v: &mut Violations) {
        if self.adjustments.is_empty() {
            v.add("adjustments", "must list at least one item");
        }
        if self.adjustments.len() > 1000 {
            v.add("adjustments", "at most 1000 lines at once");
        }
        for (i, a) in self.adjustments.iter().enumerate() {
            v.required(&format!("adjustments[{i}].item_id"), &a.item_id, 100);
            if a.quantity == 0 {
                v.add(format!("adjustments[{i}].quantity"), "must not be zero");
            }
            v.range(&format!("adjustments[{i}].quantity"), a.quantity, -MAX_QTY, MAX_QTY);
        }
        check_manual_movement(v, "type", self.movement);
        check_reference(v, "reference", &self.reference);
        v.max_len("reason", &self.reason, MAX_TEXT);
    }
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct BulkAdjusted {
    pub transactions: Vec<LedgerEntry>,
}

pub fn bulk_adjust_cmd(ctx: &mut Ctx, input: BulkAdjustInput) -> Result<BulkAdjusted> {
    ctx.write(|tx, stamp| {
        let transactions =
            bulk_adjust_tx(tx, stamp, &input.adjustments, input.movement, input.reference.as_ref(), input.reason.trim())?;
        audit::record_tx(
            tx,
            stamp,
            "inventory.bulk_adjust",
            "inventory",
            input.reference.as_ref().map(|r| r.id.as_str()),
            json!({ "items": transactions.iter().map(|t| &t.item_id).collect::<Vec<_>>(), "type": input.movement.as_str() }),
        )?;
        Ok(BulkAdjusted { transactions })
    })
}

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct LedgerInput {
    pub item_id: String,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub before_seq: Option<i64>,
    #[serde(default = "hundred")]
    #[ts(optional = nullable)]
    pub limit: i64,
}

impl Validate for LedgerInput {
    fn validate(&self, v: &mut Violations) {
        v.required("item_id", &self.item_id, 100);
        v.range("limit", self.limit, 1, 500);
        if let Some(s) = self.before_seq {
            v.range("before_seq", s, 1, i64::MAX);
        }
    }
}

#[derive(Debug, Serialize, ts_rs::TS)]
pub struct Ledger {
    pub item: Item,
    pub transactions: Vec<LedgerEntry>,
}

pub fn ledger(conn: &Connection, item_id: &str, before_seq: Option<i64>, limit: i64) -> Result<Vec<LedgerEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {LEDGER_COLUMNS} FROM inventory_transactions
         WHERE item_id = ?1 AND (?2 IS NULL OR seq < ?2) ORDER BY seq DESC LIMIT ?3"
    ))?;
    let rows = stmt.query_map(params![item_id, before_seq, limit], ledger_from_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn ledger_cmd(ctx: &mut Ctx, input: LedgerInput) -> Result<Ledger> {
    let item = get(ctx.conn(), &input.item_id)?;
    Ok(Ledger { transactions: ledger(ctx.conn(), &item.id, input.before_seq, input.limit)?, item })
}

pub fn low_stock_cmd(ctx: &mut Ctx, _input: crate::ctx::NoInput) -> Result<ItemList> {
    let input = ItemsInput { low_stock_only: true, limit: 500, ..Default::default() };
    Ok(ItemList { items: list_items(ctx.conn(), &input)? })
}

/// Sum of an item's ledger: always equal to its on-hand figure.
pub fn ledger_sum(conn: &Connection, item_id: &str) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT coalesce(sum(delta), 0) FROM inventory_transactions WHERE item_id = ?1",
        [item_id],
        |r| r.get(0),
    )?)
}
