//! `invoices.pdf` through the command table: a completed job card's
//! invoice becomes a file beside the database, read back by pdftotext.

#[path = "../../core/tests/core/support.rs"]
#[allow(dead_code)]
mod support;

use std::sync::Arc;

use serde_json::json;
use support::{failure, shop};

#[test]
fn invoices_pdf_writes_the_invoice_beside_the_database() {
    let s = shop();
    let desk = s.staff("desk", "front_desk");
    let tech = s.staff("tech", "technician");
    let tech_id = s.ok(&tech, "auth.whoami", json!({}))["staff_id"].clone();
    let c = s.ok(&s.owner, "customers.create", json!({ "name": "Γιώργος Παπαδόπουλος", "email": "g@example.gr" }));
    let v = s.ok(&s.owner, "vehicles.register", json!({ "customer_id": c["id"], "license_plate": "ΙΚΥ-1234", "make": "Škoda", "model": "Octavia", "year": 2019 }));
    let card = s.ok(
        &s.owner,
        "job_cards.create",
        json!({ "customer_id": c["id"], "vehicle_id": v["id"], "odometer_in": 88000 }),
    );
    s.ok(&tech, "job_cards.start", json!({ "job_card_id": card["id"], "technician_id": tech_id }));
    s.ok(&tech, "job_cards.add_line", json!({ "job_card_id": card["id"], "kind": "labour", "description": "Timing belt replacement", "quantity": 2500, "unit_price": 9000 }));
    let done = s.ok(&tech, "job_cards.complete", json!({ "job_card_id": card["id"] }));
    let invoice = done["invoice"]["id"].clone();
    let number = done["invoice"]["number"].as_str().unwrap().to_string();

    assert_eq!(
        failure(&s.call(&desk, "invoices.pdf", json!({ "invoice_id": invoice }))),
        (400, "pdf_unavailable".into())
    );
    s.api.set_printer(Arc::new(pitlane_pdf::PdfPrinter));
    assert_eq!(
        failure(&s.call(&tech, "invoices.pdf", json!({ "invoice_id": invoice }))).0,
        403,
        "technicians do not print invoices"
    );
    assert_eq!(failure(&s.call(&desk, "invoices.pdf", json!({ "invoice_id": "nope" }))).0, 404);

    let out = s.ok(&desk, "invoices.pdf", json!({ "invoice_id": invoice }));
    let path = std::path::PathBuf::from(out["path"].as_str().unwrap());
    assert_eq!(path, s.dir.path().join("invoices").join(format!("{number}.pdf")));
    assert_eq!(out["pages"], 1);
    assert_eq!(out["bytes"].as_u64().unwrap(), std::fs::metadata(&path).unwrap().len());
    let text = std::process::Command::new("pdftotext").arg(&path).arg("-").output().unwrap();
    let text: String = String::from_utf8(text.stdout).unwrap().split_whitespace().collect();
    for want in [
        "Γιώργος Παπαδόπουλος",
        "ΙΚΥ-1234",
        "Timing belt replacement",
        &number,
        "Odometer 88,000",
        "Škoda Octavia (2019)",
    ] {
        let want: String = want.split_whitespace().collect();
        assert!(text.contains(&want), "the PDF shows {want}");
    }
    let total = done["invoice"]["total"].as_i64().unwrap();
    assert!(text.contains(&pitlane_core::printing::amount(total)), "the PDF shows the total");
}
