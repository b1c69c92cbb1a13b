//! Invoice PDFs read back by real PDF tools: poppler's `pdftotext` for the
//! text, `qpdf --check` for the structure (both installed by scripts/setup.sh).

use std::path::Path;
use std::process::Command;

use pitlane_core::printing::{Paper, PrintableInvoice};
use pitlane_pdf::render;

/// The crate's sample invoice with the names and the paper under test, and
/// a first line long enough to wrap.
fn invoice(lines: usize, customer: &str, paper: Paper) -> PrintableInvoice {
    let mut doc = pitlane_pdf::sample(lines);
    doc.paper = paper;
    doc.customer.name = customer.into();
    doc.branch.name = "Ærø Bilværksted & Straße Łódź".into();
    doc.lines[0].description = "Replace front brake pads and discs, bleed the brake system with fresh DOT 4 fluid and road test the car afterwards".into();
    doc
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
        expected.extend(["Bremsbeläge".into(), "Page 1 of 1".into(), doc.notes.clone(), doc.vehicle.name.clone()]);
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
            if flat.contains("brakepadset") {
                assert!(flat.contains("DescriptionQtyUnitpriceTaxTotal"), "page {} repeats the table header", i + 1);
            }
        }
        let all = squeeze(&pages.concat());
        for i in 1..=200 {
            let want =
                if i == 1 { squeeze(&doc.lines[0].description) } else { squeeze(&format!("Part {i}: brake pad set")) };
            assert!(all.contains(&want), "line {i} is printed");
        }
        assert!(all.contains("EUR969.13"));
        let with_lines = pages.iter().filter(|p| squeeze(p).contains("brakepadset")).count();
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
