//! `invoices.pdf` through the command table: a completed job card's
//! invoice becomes a file beside the database, read back by pdftotext.

#[path = "../../core/tests/core/support.rs"]
#[allow(dead_code)]
mod support;

use std::sync::Arc;

use serde_json::{json, Value};
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
    assert!(out.get("content_base64").is_none(), "the PDF itself only when asked for");
    let inline = s.ok(&desk, "invoices.pdf", json!({ "invoice_id": invoice, "inline": true }));
    assert_eq!(inline["path"], out["path"], "the file is written as before");
    assert_eq!(
        inline["content_base64"].as_str().expect("inline: the PDF comes along"),
        base64(&std::fs::read(&path).unwrap()),
        "the answer carries the very bytes of the file"
    );
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

/// A real PNG logo, `w`×`h`, with transparent corners.
fn png_logo(w: u32, h: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, w, h);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    let pixels: Vec<u8> = (0..w * h)
        .flat_map(|i| {
            let (x, y) = (i % w, i / w);
            let corner = (x < 4 || x >= w - 4) && (y < 4 || y >= h - 4);
            [20, 60 + (x * 150 / w) as u8, 140, if corner { 0 } else { 255 }]
        })
        .collect();
    writer.write_image_data(&pixels).unwrap();
    writer.finish().unwrap();
    bytes
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn squeezed_text(path: &std::path::Path) -> String {
    // `$PITLANE_KEEP_PDFS`: a folder to keep a copy in, to look at.
    if let Some(keep) = std::env::var_os("PITLANE_KEEP_PDFS") {
        std::fs::copy(path, std::path::Path::new(&keep).join(path.file_name().unwrap())).unwrap();
    }
    let out = std::process::Command::new("pdftotext").args(["-enc", "UTF-8"]).arg(path).arg("-").output().unwrap();
    String::from_utf8(out.stdout).unwrap().split_whitespace().collect()
}

fn tool(name: &str, args: &[&str], path: &std::path::Path) -> String {
    let out = std::process::Command::new(name).args(args).arg(path).output().unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_workshop_invoice_carries_units_part_numbers_groups_odometer_story_phones_payment_logo_and_info() {
    let s = shop();
    s.api.set_printer(Arc::new(pitlane_pdf::PdfPrinter));
    let tech = s.staff("tech", "technician");
    let tech_id = s.ok(&tech, "auth.whoami", json!({}))["staff_id"].clone();
    let settings = s.ok(
        &s.owner,
        "settings.update",
        json!({ "branch": { "phone": "212-555-0123", "logo": base64(&png_logo(240, 80)),
            "payment_instructions": "Pay by bank transfer to Test Bank, account 12345678, routing 021000021.\nQuote the invoice number." } }),
    );
    assert_eq!(settings["branch"]["odometer_unit"], "mi", "a US branch reads miles unless told otherwise");
    assert_eq!(
        settings["logo"],
        json!({ "media_type": "image/png", "width": 240, "height": 80, "bytes": png_logo(240, 80).len() })
    );

    let c = s.ok(&s.owner, "customers.create", json!({ "name": "Dana Driver", "phone": "+1 212 555 0199" }));
    let abroad = s.ok(&s.owner, "customers.create", json!({ "name": "Liz London", "phone": "+44 20 7946 0958" }));
    let oil = s.ok(
        &s.owner,
        "inventory.create_item",
        json!({ "sku": "OIL-5W30", "name": "Engine oil 5W-30", "unit": "L", "price": 900, "opening_stock": 20000 }),
    );
    let filter = s.ok(
        &s.owner,
        "inventory.create_item",
        json!({ "sku": "FLT-0042", "name": "Oil filter", "price": 1250, "opening_stock": 5000 }),
    );
    let mut numbers = Vec::new();
    for customer in [&c, &abroad] {
        let v = s.ok(&s.owner, "vehicles.register", json!({ "customer_id": customer["id"], "license_plate": format!("P{}", numbers.len()), "make": "Ford", "model": "Focus" }));
        let card = s.ok(&s.owner, "job_cards.create", json!({ "customer_id": customer["id"], "vehicle_id": v["id"], "odometer_in": 45000, "complaint": "Squeal from the front when braking" }));
        s.ok(&tech, "job_cards.start", json!({ "job_card_id": card["id"], "technician_id": tech_id, "notes": "Front pads worn to 2 mm; pads replaced, oil and filter changed" }));
        for line in [
            json!({ "kind": "part", "item_id": oil["id"], "quantity": 4500 }),
            json!({ "kind": "labour", "description": "Brake service", "quantity": 500, "unit_price": 11000 }),
            json!({ "kind": "part", "item_id": filter["id"], "quantity": 2000 }),
        ] {
            let mut line = line;
            line["job_card_id"] = card["id"].clone();
            s.ok(&tech, "job_cards.add_line", line);
        }
        let done = s.ok(&tech, "job_cards.complete", json!({ "job_card_id": card["id"] }));
        numbers.push((done["invoice"]["id"].clone(), done["invoice"]["number"].as_str().unwrap().to_string()));
    }

    let out = s.ok(&s.owner, "invoices.pdf", json!({ "invoice_id": numbers[0].0 }));
    let path = std::path::PathBuf::from(out["path"].as_str().unwrap());
    let text = squeezed_text(&path);
    let has = |want: &str| text.contains(&want.split_whitespace().collect::<String>());
    for want in [
        "0.5 h",
        "4.5 L",
        "2 pcs",
        "OIL-5W30",
        "FLT-0042",
        "Odometer 45,000 mi",
        "Customer's complaint",
        "Squeal from the front when braking",
        "Work performed",
        "Front pads worn to 2 mm",
        "How to pay",
        "routing 021000021",
        "Quote the invoice number.",
        "(212) 555-0123",
        "(212) 555-0199",
    ] {
        assert!(has(want), "the invoice shows {want:?}");
    }
    let at = |want: &str| text.find(want).unwrap_or_else(|| panic!("{want} is printed"));
    assert!(
        at("Labour") < at("Brakeservice") && at("Brakeservice") < at("Parts") && at("Parts") < at("Engineoil"),
        "labour, then parts"
    );
    // 0.5 h × 110.00 + 4.5 L × 9.00 + 2 × 12.50: the amounts before tax.
    for want in ["55.00", "40.50", "25.00", "120.50"] {
        assert!(has(want), "the amount {want} before tax is printed");
    }

    let images = tool("pdfimages", &["-list"], &path);
    let rows: Vec<&str> = images.lines().skip(2).collect();
    assert_eq!(rows.len(), 2, "the logo and its transparency mask:\n{images}");
    assert!(rows[0].contains("image") && rows[0].contains("240") && rows[0].contains(" 80 "), "{images}");
    assert!(rows[1].contains("smask"), "{images}");

    let info = tool("pdfinfo", &["-isodates"], &path);
    for want in [
        format!("Title:           Invoice {}", numbers[0].1),
        "Author:          Test Garage".to_string(),
        format!("Producer:        Pitlane {}", env!("CARGO_PKG_VERSION")),
        "CreationDate:    2026-11-24T14:00:00Z".to_string(),
    ] {
        assert!(info.contains(&want), "pdfinfo shows {want:?}:\n{info}");
    }

    // A number from abroad is written internationally; km when the branch says so.
    s.ok(&s.owner, "settings.update", json!({ "branch": { "odometer_unit": "km" } }));
    let out = s.ok(&s.owner, "invoices.pdf", json!({ "invoice_id": numbers[1].0 }));
    let text = squeezed_text(std::path::Path::new(out["path"].as_str().unwrap()));
    assert!(text.contains("+442079460958"), "the foreign number in international format: {text}");
    assert!(text.contains("Odometer45,000km"), "the branch's unit");

    // A JPEG logo (a real one: poppler renders a page to JPEG).
    let jpeg_base = s.dir.path().join("logo");
    std::process::Command::new("pdftoppm")
        .args(["-jpeg", "-scale-to", "120", "-singlefile"])
        .arg(&path)
        .arg(&jpeg_base)
        .status()
        .unwrap();
    let jpeg = std::fs::read(jpeg_base.with_extension("jpg")).unwrap();
    s.ok(
        &s.owner,
        "settings.update",
        json!({ "branch": { "logo": format!("data:image/jpeg;base64,{}", base64(&jpeg)) } }),
    );
    let out = s.ok(&s.owner, "invoices.pdf", json!({ "invoice_id": numbers[0].0 }));
    let path = std::path::PathBuf::from(out["path"].as_str().unwrap());
    let images = tool("pdfimages", &["-list"], &path);
    assert!(images.lines().nth(2).is_some_and(|r| r.contains("jpeg")), "the JPEG goes in as it is:\n{images}");
    tool("qpdf", &["--check"], &path);

    // A logo damaged after it was checked (kept by an older version) is
    // left out: the invoice still prints.
    s.ok(&s.owner, "settings.update", json!({ "branch": { "logo": base64(&png_logo(240, 80)) } }));
    s.api.lock_conn().execute("UPDATE branch_logos SET bytes = substr(bytes, 1, 40)", []).unwrap();
    let out = s.ok(&s.owner, "invoices.pdf", json!({ "invoice_id": numbers[0].0 }));
    let path = std::path::PathBuf::from(out["path"].as_str().unwrap());
    assert_eq!(tool("pdfimages", &["-list"], &path).lines().count(), 2, "no image, only the list's header");
    tool("qpdf", &["--check"], &path);

    // And removed.
    s.ok(&s.owner, "settings.update", json!({ "branch": { "logo": null } }));
    assert_eq!(s.ok(&s.owner, "settings.get", json!({}))["logo"], Value::Null);
}

#[test]
fn logos_and_branch_settings_that_cannot_print_are_refused() {
    let s = shop();
    let cases = [
        ("a GIF", json!({ "logo": base64(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;") }), "branch.logo"),
        (
            "a PNG over 256 KB",
            json!({ "logo": base64(&[png_logo(8, 8), vec![0; 256 * 1024]].concat()) }),
            "branch.logo",
        ),
        ("a PNG 5000 pixels wide", json!({ "logo": base64(&png_logo(5000, 2)) }), "branch.logo"),
        ("a PNG cut after its header", json!({ "logo": base64(&png_logo(50, 50)[..33]) }), "branch.logo"),
        (
            "a PNG cut in its image data",
            json!({ "logo": base64(&{
            let whole = png_logo(50, 50);
            whole[..whole.len() - 16].to_vec()
        }) }),
            "branch.logo",
        ),
        ("not base64", json!({ "logo": "not a picture!" }), "branch.logo"),
        ("furlongs", json!({ "odometer_unit": "furlong" }), "branch.odometer_unit"),
        (
            "a novel for payment instructions",
            json!({ "payment_instructions": "x".repeat(1001) }),
            "branch.payment_instructions",
        ),
    ];
    for (name, branch, field) in cases {
        let before = s.dump();
        let env = s.call(&s.owner, "settings.update", json!({ "branch": branch }));
        let v = env.to_value();
        assert_eq!(
            (v["status_code"].as_u64(), &v["details"]["fields"][0]["field"]),
            (Some(422), &json!(field)),
            "{name}: {v}"
        );
        assert_eq!(s.dump(), before, "{name}: nothing changes");
    }
}
