//! Invoice PDFs read back by real PDF tools: poppler's `pdftotext` for the
//! text, `qpdf --check` for the structure (both installed by scripts/setup.sh).

use std::path::Path;
use std::process::Command;

use pitlane_core::printing::{Paper, Party, PrintLine, PrintableInvoice};
use pitlane_pdf::render;

fn invoice(lines: usize, customer: &str, paper: Paper) -> PrintableInvoice {
    PrintableInvoice {
        paper,
        title: "Invoice".into(),
        number: "INV-2026-A000042".into(),
        facts: vec![
            ("Invoice".into(), "INV-2026-A000042".into()),
            ("Date".into(), "24 Nov 2026".into()),
            ("Due".into(), "8 Dec 2026".into()),
            ("Job card".into(), "JC-2026-A000042".into()),
            ("Status".into(), "Partly paid".into()),
        ],
        branch: Party {
            name: "Ærø Bilværksted & Straße Łódź".into(),
            lines: vec!["Hauptstraße 5, 10115 Berlin".into(), "+49 30 1234567".into(), "Tax number: DE123456789".into()],
        },
        customer: Party { name: customer.into(), lines: vec!["+30 21 0123 4567".into(), "client@example.gr".into()] },
        vehicle: Party { name: "ABC-123".into(), lines: vec!["Toyota Camry (2020)".into(), "Odometer 42,000".into()] },
        currency: "EUR".into(),
        lines: (1..=lines)
            .map(|i| PrintLine {
                description: if i == 1 {
                    "Replace front brake pads and discs, bleed the brake system with fresh DOT 4 fluid and road test the car afterwards".into()
                } else {
                    format!("Line item number {i} – Ölfilter")
                },
                quantity: "1.5".into(),
                unit_price: format!("{i}.00"),
                tax_rate: "19%".into(),
                total: format!("{}.50", i * 3),
            })
            .collect(),
        totals: vec![
            ("Subtotal".into(), "1,234.56".into()),
            ("Tax 19% on 1,234.56".into(), "234.57".into()),
            ("Total EUR".into(), "1,469.13".into()),
        ],
        payments: vec![("24 Nov 2026 Card".into(), "-500.00".into())],
        balance_due: ("Balance due".into(), "EUR 969.13".into()),
        notes: "Customer declined the wiper blade replacement; recommend it at the next visit.".into(),
        footer: "Thank you for your custom. Payment within 14 days to IBAN DE00 1234 5678 9012.".into(),
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The text of each page, as a PDF reader extracts it.
fn pages_text(path: &Path) -> Vec<String> {
    let out = Command::new("pdftotext")
        .args(["-raw", "-enc", "UTF-8"])
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed by scripts/setup.sh");
    assert!(out.status.success(), "pdftotext: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_string).collect();
    if pages.last().is_some_and(|p| p.trim().is_empty()) {
        pages.pop();
    }
    pages
}

fn qpdf_check(path: &Path) {
    let out = Command::new("qpdf").arg("--check").arg(path).output().expect("qpdf is installed by scripts/setup.sh");
    assert!(
        out.status.success(),
        "qpdf --check: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// pdftotext may add or drop spaces inside runs of text; compare without them.
fn squeeze(s: &str) -> String {
    s.split_whitespace().collect()
}

#[test]
fn every_line_total_and_name_is_real_text() {
    let dir = tempfile::tempdir().unwrap();
    for (customer, file) in [("Анна Иванова", "cyrillic.pdf"), ("Γιώργος Παπαδόπουλος", "greek.pdf")]
    {
        let doc = invoice(12, customer, Paper::A4);
        let printed = render(&doc).unwrap();
        assert_eq!(printed.pages, 1);
        let path = write(dir.path(), file, &printed.bytes);
        qpdf_check(&path);
        let text = squeeze(&pages_text(&path).concat());
        let mut expected: Vec<String> = vec![customer.into(), doc.branch.name.clone(), doc.number.clone()];
        for l in &doc.lines {
            expected.extend([l.description.clone(), l.unit_price.clone(), l.total.clone(), l.tax_rate.clone()]);
        }
        for (label, amount) in doc.totals.iter().chain(&doc.payments).chain([&doc.balance_due]) {
            expected.extend([label.clone(), amount.clone()]);
        }
        expected.extend(["Ölfilter".into(), "Page 1 of 1".into(), doc.notes.clone(), "ABC-123".into()]);
        for want in expected {
            assert!(text.contains(&squeeze(&want)), "{file}: the text holds {want:?}");
        }
    }
}

#[test]
fn a_long_invoice_breaks_across_pages_with_headers_and_page_numbers() {
    let dir = tempfile::tempdir().unwrap();
    for paper in [Paper::A4, Paper::Letter] {
        let doc = invoice(200, "Łukasz Żółć", paper);
        let printed = render(&doc).unwrap();
        let path = write(dir.path(), "long.pdf", &printed.bytes);
        qpdf_check(&path);
        let pages = pages_text(&path);
        assert_eq!(pages.len() as u32, printed.pages);
        assert!(printed.pages >= 4, "200 lines take several pages, not {}", printed.pages);
        let n = pages.len();
        for (i, page) in pages.iter().enumerate() {
            let flat = squeeze(page);
            assert!(flat.contains(&squeeze(&format!("Page {} of {n}", i + 1))), "page {} is numbered", i + 1);
            if flat.contains("Lineitemnumber") {
                assert!(flat.contains("DescriptionQtyUnitpriceTaxTotal"), "page {} repeats the table header", i + 1);
            }
        }
        let all = squeeze(&pages.concat());
        for i in 1..=200 {
            let want =
                if i == 1 { squeeze(&doc.lines[0].description) } else { squeeze(&format!("Line item number {i} –")) };
            assert!(all.contains(&want), "line {i} is printed");
        }
        assert!(all.contains("EUR969.13"));
        let with_lines = pages.iter().filter(|p| squeeze(p).contains("Lineitemnumber")).count();
        assert!(with_lines >= 4, "the lines run over {with_lines} pages");
        let info = Command::new("pdfinfo").arg(&path).output().expect("pdfinfo (poppler-utils)");
        let size =
            String::from_utf8_lossy(&info.stdout).lines().find(|l| l.starts_with("Page size:")).unwrap().to_string();
        let want = if paper == Paper::A4 { "(A4)" } else { "(letter)" };
        assert!(size.contains(want), "{size}");
    }
}

#[test]
fn a_one_page_invoice_is_small_because_the_font_is_subset() {
    let printed = render(&invoice(8, "Анна Иванова", Paper::A4)).unwrap();
    assert!(printed.bytes.len() < 40 * 1024, "1-page invoice is {} bytes", printed.bytes.len());
}
