//! Editing any audit row by hand makes `audit.verify` fail and name the row.

use serde_json::json;

use crate::support::shop;

#[test]
fn editing_any_audit_row_breaks_verification_at_that_row() {
    let s = shop();
    let c = s.ok(&s.owner, "customers.create", json!({ "name": "Ann Lee", "email": "ann@example.com" }));
    s.ok(&s.owner, "customers.update", json!({ "id": c["id"], "notes": "prefers mornings" }));
    s.item("OF-1", "Oil Filter", 5000, 1000);
    let good = s.ok(&s.owner, "audit.verify", json!({}));
    assert_eq!(good["ok"], true, "an untouched chain verifies");
    let n = good["entries_checked"].as_i64().unwrap();
    assert!(n >= 5, "setup, login and the changes are audited ({n})");

    let seqs: Vec<i64> = {
        let conn = s.api.lock_conn();
        let mut stmt = conn.prepare("SELECT seq FROM audit_log ORDER BY seq").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    };
    let edits = [
        ("action", "UPDATE audit_log SET action = 'customers.delete' WHERE seq = ?1"),
        ("details", "UPDATE audit_log SET details = '{}' || details WHERE seq = ?1"),
        ("actor", "UPDATE audit_log SET actor_id = 'someone-else' WHERE seq = ?1"),
        ("time", "UPDATE audit_log SET at = '2020-01-01T00:00:00.000Z' WHERE seq = ?1"),
    ];
    for seq in &seqs {
        for (what, sql) in edits {
            let mut conn = s.api.lock_conn();
            let tx = conn.transaction().unwrap();
            let blocked = tx.execute(sql, [seq]);
            assert!(blocked.is_err(), "the append-only trigger refuses an UPDATE");
            tx.execute_batch("DROP TRIGGER audit_log_no_update").unwrap();
            tx.execute(sql, [seq]).unwrap();
            let v = pitlane_core::audit::verify(&tx).unwrap();
            assert!(!v.ok, "editing {what} of row {seq} is detected");
            assert_eq!(v.broken_at_seq, Some(*seq), "editing {what} names row {seq}");
            tx.rollback().unwrap();
        }
    }

    // Removing a row in the middle names the row after the gap.
    let mut conn = s.api.lock_conn();
    let tx = conn.transaction().unwrap();
    tx.execute_batch("DROP TRIGGER audit_log_no_delete").unwrap();
    tx.execute("DELETE FROM audit_log WHERE seq = ?1", [seqs[2]]).unwrap();
    let v = pitlane_core::audit::verify(&tx).unwrap();
    assert_eq!(v.broken_at_seq, Some(seqs[3]), "a removed row is detected at the next one");
    tx.rollback().unwrap();
    drop(conn);

    let again = s.ok(&s.owner, "audit.verify", json!({}));
    assert_eq!(again["ok"], true, "rolled-back edits leave the chain whole");
}

#[test]
fn every_change_writes_an_audit_entry() {
    let s = shop();
    let count = |s: &crate::support::Shop| -> i64 {
        s.api.lock_conn().query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0)).unwrap()
    };
    let c = s.ok(&s.owner, "customers.create", json!({ "name": "Ann Lee" }));
    let changes = [
        ("customers.update", json!({ "id": c["id"], "notes": "x" })),
        ("vehicles.register", json!({ "customer_id": c["id"], "license_plate": "Z-1", "make": "Kia", "model": "Rio" })),
        ("inventory.create_item", json!({ "sku": "A", "name": "Air Filter" })),
        ("staff.create", json!({ "code": "t1", "name": "Tech", "role": "technician", "pin": "1111" })),
        ("settings.update", json!({ "branch": { "phone": "+1 215 555 0100" } })),
    ];
    for (command, input) in changes {
        let before = count(&s);
        s.ok(&s.owner, command, input);
        assert_eq!(count(&s), before + 1, "{command} writes exactly one audit entry");
    }
    let before = count(&s);
    s.ok(&s.owner, "customers.search", json!({ "query": "ann" }));
    assert_eq!(count(&s), before, "a read writes none");
}
