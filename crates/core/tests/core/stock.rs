//! The stock ledger under random sequences of adjustments (property test):
//! stock never negative, on hand equals the ledger sum, and a failed bulk
//! adjustment changes nothing.

use std::sync::Arc;

use pitlane_core::{Api, SequentialIds};
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::support::{failure, owner_pin_hash, start_clock, PIN};

/// A fast shop for property cases: in memory, the PIN hash made once.
fn memory_shop() -> (Api, String) {
    let conn = pitlane_core::db::open_in_memory().unwrap();
    let api = Api::with_parts(conn, start_clock(), Arc::new(SequentialIds::default()), None);
    {
        let mut conn = api.lock_conn();
        let tx = conn.transaction().unwrap();
        let stamp = pitlane_core::Stamp { now: api.clock().now(), ids: api.ids(), actor_id: None };
        let input: pitlane_core::setup::InitInput = serde_json::from_value(json!({
            "branch_name": "Prop", "owner_name": "O", "owner_code": "owner", "owner_pin": PIN,
        }))
        .unwrap();
        pitlane_core::setup::init_tx(&tx, &stamp, &input, owner_pin_hash()).unwrap();
        tx.commit().unwrap();
    }
    let token = api.login("owner", PIN).unwrap();
    (api, token)
}

#[derive(Debug, Clone)]
enum Op {
    Adjust { item: usize, quantity: i64 },
    Bulk { lines: Vec<(usize, i64)> },
    Count { item: usize, counted: i64 },
}

fn op() -> impl Strategy<Value = Op> {
    let qty = prop_oneof![(-20_000i64..20_000), Just(-1_000i64), Just(1_000i64), (-500i64..500)];
    prop_oneof![
        (0usize..4, qty.clone()).prop_map(|(item, quantity)| Op::Adjust { item, quantity }),
        prop::collection::vec((0usize..4, qty), 1..6).prop_map(|lines| Op::Bulk { lines }),
        (0usize..4, 0i64..15_000).prop_map(|(item, counted)| Op::Count { item, counted }),
    ]
}

fn stock_tables(api: &Api) -> Vec<(String, Vec<String>)> {
    crate::support::dump(&api.lock_conn())
        .into_iter()
        .filter(|(t, _)| ["inventory_items", "inventory_transactions", "outbox", "audit_log"].contains(&t.as_str()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_adjustments_keep_the_ledger_true(ops in prop::collection::vec(op(), 1..30)) {
        let (api, t) = memory_shop();
        let items: Vec<String> = (0..4).map(|i| {
            let env = api.call_value(Some(&t), "inventory.create_item", &json!({
                "sku": format!("P{i}"), "name": format!("Part {i}"), "opening_stock": i * 3000, "reorder_level": 2000,
            }));
            env.data().unwrap()["id"].as_str().unwrap().to_string()
        }).collect();

        for op in ops {
            let before = stock_tables(&api);
            let on_hand = |api: &Api, i: usize| -> i64 {
                api.lock_conn().query_row("SELECT on_hand FROM inventory_items WHERE id = ?1", [&items[i]], |r| r.get(0)).unwrap()
            };
            let (env, expect_ok) = match &op {
                Op::Adjust { item, quantity } => {
                    let expect = *quantity != 0 && on_hand(&api, *item) + quantity >= 0;
                    (api.call_value(Some(&t), "inventory.adjust", &json!({ "item_id": items[*item], "quantity": quantity, "type": "adjustment" })), expect)
                }
                Op::Bulk { lines } => {
                    let mut net = [0i64; 4];
                    for (i, q) in lines { net[*i] += q; }
                    let expect = lines.iter().all(|(_, q)| *q != 0) && (0..4).all(|i| on_hand(&api, i) + net[i] >= 0);
                    let adjustments: Vec<Value> = lines.iter().map(|(i, q)| json!({ "item_id": items[*i], "quantity": q })).collect();
                    (api.call_value(Some(&t), "inventory.bulk_adjust", &json!({ "adjustments": adjustments, "type": "stocktake" })), expect)
                }
                Op::Count { item, counted } => {
                    (api.call_value(Some(&t), "inventory.adjust", &json!({ "item_id": items[*item], "counted": counted, "type": "stocktake" })), true)
                }
            };
            prop_assert_eq!(env.is_success(), expect_ok, "{:?} answered {}", op, env.to_json());
            if !env.is_success() {
                let (status, code) = failure(&env);
                prop_assert!(status == 400 || status == 422, "{}", code);
                prop_assert_eq!(stock_tables(&api), before, "a failed adjustment changes nothing");
            }
            let conn = api.lock_conn();
            for id in &items {
                let on_hand: i64 = conn.query_row("SELECT on_hand FROM inventory_items WHERE id = ?1", [id], |r| r.get(0)).unwrap();
                prop_assert!(on_hand >= 0, "stock never negative");
                prop_assert_eq!(on_hand, pitlane_core::inventory::ledger_sum(&conn, id).unwrap(), "on hand equals the ledger sum");
            }
            let broken: i64 = conn.query_row(
                "SELECT count(*) FROM inventory_transactions WHERE balance_after <> balance_before + delta OR balance_after < 0",
                [], |r| r.get(0)).unwrap();
            prop_assert_eq!(broken, 0, "every ledger row's balances add up");
        }
    }
}

#[test]
fn insufficient_stock_names_the_item_with_the_exact_message() {
    let (api, t) = memory_shop();
    let filter = api.call_value(
        Some(&t),
        "inventory.create_item",
        &json!({ "sku": "OF", "name": "Oil Filter", "opening_stock": 5000 }),
    );
    let oil = api.call_value(
        Some(&t),
        "inventory.create_item",
        &json!({ "sku": "OIL", "name": "Engine Oil", "unit": "l", "opening_stock": 20000 }),
    );
    let before = stock_tables(&api);
    let env = api.call_value(
        Some(&t),
        "inventory.bulk_adjust",
        &json!({
            "adjustments": [
                { "item_id": oil.data().unwrap()["id"], "quantity": -4500 },
                { "item_id": filter.data().unwrap()["id"], "quantity": -6000 },
                { "item_id": filter.data().unwrap()["id"], "quantity": -4000 },
            ],
            "type": "adjustment",
        }),
    );
    let v = env.to_value();
    assert_eq!(v["code"], "insufficient_stock");
    assert_eq!(v["status_code"], 400);
    assert_eq!(
        v["message"], "Insufficient stock for item 'Oil Filter'. Current: 5, Requested: 10",
        "lines of one item add up"
    );
    assert_eq!(stock_tables(&api), before, "the oil line was not applied either");
}

#[test]
fn crossing_the_reorder_level_raises_low_stock_once() {
    let (api, t) = memory_shop();
    let item = api.call_value(
        Some(&t),
        "inventory.create_item",
        &json!({ "sku": "AF", "name": "Air Filter", "opening_stock": 5000, "reorder_level": 2000 }),
    );
    let id = item.data().unwrap()["id"].as_str().unwrap().to_string();
    for q in [-2000, -1000, -1000, 3000, -1500] {
        assert!(api
            .call_value(Some(&t), "inventory.adjust", &json!({ "item_id": id, "quantity": q, "type": "adjustment" }))
            .is_success());
    }
    // 5 -> 3 -> 2 (crosses) -> 1 -> 4 -> 2.5: one crossing... then 4 -> 2.5 does not cross.
    let events = pitlane_core::outbox::list(&api.lock_conn(), 0, 100).unwrap();
    let low: Vec<_> = events.iter().filter(|(_, e)| e.event_type == "LowStockReached").collect();
    assert_eq!(low.len(), 1, "one LowStockReached for one crossing");
    let adjusted = events.iter().filter(|(_, e)| e.event_type == "InventoryAdjusted").count();
    assert_eq!(adjusted, 6, "one InventoryAdjusted per change, the opening stock included");
    let seqs: Vec<i64> = events.iter().map(|(_, e)| e.device_seq).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "per-device sequence numbers have no gaps");
}
