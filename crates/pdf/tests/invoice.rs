//! Invoice PDFs read back by real PDF tools: poppler's `pdftotext` for the
//! text, `qpdf --check` for the structure (both installed by scripts/setup.sh).

use std::path::Path;
use std::process::Command;

use pitlane_core::printing::{Paper, PrintLine, PrintableInvoice};
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

/// Writes a PDF under test (also into `$PITLANE_KEEP_PDFS`, when set, to
/// look at).
fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    if let Some(keep) = std::env::var_os("PITLANE_KEEP_PDFS") {
        std::fs::write(Path::new(&keep).join(name), bytes).unwrap();
    }
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
            expected.extend([l.description.clone(), l.unit_price.clone(), l.amount.clone(), l.tax_rate.clone()]);
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
                assert!(
                    flat.contains("DescriptionPartno.QtyUnitpriceTaxAmount"),
                    "page {} repeats the table header",
                    i + 1
                );
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

/// One word as `pdftotext -bbox` places it: the page (from 1), its text and
/// its box in points from the top-left corner.
#[derive(Debug, Clone)]
struct Word {
    page: usize,
    text: String,
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

fn attr(tag: &str, name: &str) -> f64 {
    let at = tag.find(&format!("{name}=\"")).unwrap_or_else(|| panic!("{name} in {tag}")) + name.len() + 2;
    tag[at..].split('"').next().unwrap().parse().unwrap()
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

/// Every word of the PDF with its box, and each page's size.
fn word_boxes(path: &Path) -> (Vec<Word>, Vec<(f64, f64)>) {
    let out =
        Command::new("pdftotext").args(["-bbox", "-enc", "UTF-8"]).arg(path).arg("-").output().expect("pdftotext");
    assert!(out.status.success(), "pdftotext -bbox: {}", String::from_utf8_lossy(&out.stderr));
    let html = String::from_utf8(out.stdout).unwrap();
    let (mut words, mut pages) = (Vec::new(), Vec::new());
    for piece in html.split('<').skip(1) {
        if piece.starts_with("page ") {
            pages.push((attr(piece, "width"), attr(piece, "height")));
        } else if piece.starts_with("word ") {
            let (tag, text) = piece.split_once('>').unwrap();
            words.push(Word {
                page: pages.len(),
                text: unescape(text),
                x0: attr(tag, "xMin"),
                y0: attr(tag, "yMin"),
                x1: attr(tag, "xMax"),
                y1: attr(tag, "yMax"),
            });
        }
    }
    (words, pages)
}

/// What overprints or runs off the page: pairs of words whose boxes
/// intersect (by more than a hair), and words not wholly on their page.
fn collisions(path: &Path) -> Vec<String> {
    let (words, pages) = word_boxes(path);
    let hair = 0.3;
    let mut found = Vec::new();
    for w in &words {
        let (pw, ph) = pages[w.page - 1];
        if w.x0 < 0.0 || w.y0 < 0.0 || w.x1 > pw || w.y1 > ph {
            found.push(format!("page {}: {:?} runs off the page", w.page, w.text));
        }
    }
    for (i, a) in words.iter().enumerate() {
        for b in &words[i + 1..] {
            let apart = a.page != b.page
                || a.x1 - hair <= b.x0
                || b.x1 - hair <= a.x0
                || a.y1 - hair <= b.y0
                || b.y1 - hair <= a.y0;
            if !apart {
                found.push(format!("page {}: {:?} overprints {:?}", a.page, a.text, b.text));
            }
        }
    }
    found
}

/// The text as laid out (`pdftotext -layout`), every run of whitespace
/// removed: a string wrapped over lines of its own cell is still whole.
fn raw_text(path: &Path) -> String {
    squeeze(&pages_text(path).concat())
}

const NAME_60: &str = "Maximiliane-Alexander Konstantinopoulos-Vandermeulen-Oberhof";
const MODEL: &str = "Mercedes-Benz Sprinter 519 CDI Maxi Hochdach Kastenwagen Extralang";
const TOP: &str = "9,999,999.99";

/// The worst an invoice can be within the input limits: the longest names,
/// the largest amounts in every column, long descriptions and part numbers.
fn worst(lines: usize) -> PrintableInvoice {
    let mut doc = pitlane_pdf::sample(lines);
    doc.customer.name = NAME_60.into();
    assert_eq!(NAME_60.chars().count(), 60);
    doc.customer.lines = vec![
        "Schlossallee 1234, Hinterhaus, 3. Obergeschoss links, 80331 München-Altstadt-Lehel".into(),
        "+49 89 12345678".into(),
        "maximilian-alexander.konstantinopoulos@very-long-domain-name.example.com".into(),
    ];
    doc.vehicle.name = "M-KV 9999E".into();
    doc.vehicle.lines = vec![format!("{MODEL} (2024)"), "VIN WDB9066331S123456".into(), "Odometer 9,999,999 km".into()];
    doc.branch.name = "Kraftfahrzeugmeisterbetrieb Müller-Lüdenscheidt & Söhne GmbH & Co. KG".into();
    for (i, l) in doc.lines.iter_mut().enumerate() {
        l.description = format!(
            "Line {i}: Bremsscheibe belüftet Vorderachse links und rechts inkl. Verschleißanzeiger und Befestigungsmaterial"
        );
        if l.group == "Parts" {
            l.sku = format!("A-000-421-12-12-{i:04}-ZUBEHÖR");
        }
        l.quantity = "1000000 pcs".into();
        l.unit_price = TOP.into();
        l.tax_rate = "19.25%".into();
        l.amount = TOP.into();
    }
    doc.totals = vec![
        ("Subtotal".into(), TOP.into()),
        ("Discount".into(), "-9,999,999.99".into()),
        (format!("Tax 19.25% on {TOP}"), TOP.into()),
        ("Total EUR".into(), TOP.into()),
    ];
    doc.payments = vec![("24 Nov 2026 Bank transfer".into(), "-9,999,999.99".into())];
    doc.balance_due = ("Balance due".into(), format!("EUR {TOP}"));
    doc.complaint = "Knocking from the front axle over bumps; ".repeat(12);
    doc.work_performed = "Replaced both front control arms and the anti-roll bar links; ".repeat(10);
    doc
}

#[test]
fn nothing_overprints_or_runs_off_the_page_whatever_the_lengths_and_amounts() {
    let dir = tempfile::tempdir().unwrap();
    let ordinary = pitlane_pdf::sample(6);
    let mut big_balance = pitlane_pdf::sample(6);
    big_balance.customer.name = NAME_60[..48].into();
    big_balance.balance_due.1 = "EUR 1,000,000.00".into();
    let cases = [
        ("an ordinary invoice", ordinary, Paper::A4),
        ("a 48-character name and a balance of a million", big_balance, Paper::A4),
        ("the worst on A4", worst(8), Paper::A4),
        ("the worst on Letter", worst(8), Paper::Letter),
        ("the worst over several pages", worst(60), Paper::A4),
    ];
    for (name, mut doc, paper) in cases {
        doc.paper = paper;
        let file = format!("{}.pdf", name.replace(' ', "-"));
        let path = write(dir.path(), &file, &render(&doc).unwrap().bytes);
        qpdf_check(&path);
        let found = collisions(&path);
        assert!(found.is_empty(), "{name}: nothing overprints or runs off, yet:\n{}", found.join("\n"));
        let text = raw_text(&path);
        let mut wanted = vec![doc.customer.name.clone(), doc.branch.name.clone(), doc.balance_due.1.clone()];
        wanted.extend(doc.customer.lines.iter().chain(&doc.vehicle.lines).cloned());
        wanted.extend([doc.complaint.clone(), doc.work_performed.clone(), doc.payment_instructions.clone()]);
        for l in &doc.lines {
            wanted.extend([l.description.clone(), l.sku.clone(), l.quantity.clone(), l.amount.clone()]);
        }
        for (label, amount) in doc.totals.iter().chain(&doc.payments) {
            wanted.extend([label.clone(), amount.clone()]);
        }
        for want in wanted {
            assert!(text.contains(&squeeze(&want)), "{name}: every character of {want:?} is in the text");
        }
    }
}

#[test]
fn the_lines_add_up_to_the_subtotal_on_paper() {
    // pdftotext's reading of a real invoice's amounts: the lines' amounts
    // are before tax, so they sum to the subtotal.
    let mut doc = pitlane_pdf::sample(0);
    let line = |group: &str, d: &str, q: &str, p: &str, a: &str| PrintLine {
        group: group.into(),
        description: d.into(),
        sku: String::new(),
        quantity: q.into(),
        unit_price: p.into(),
        tax_rate: "8.25%".into(),
        amount: a.into(),
    };
    doc.lines = vec![
        line("Labour", "Brake job", "1.5 h", "110.00", "165.00"),
        line("Parts", "Brake pads", "1 pc", "84.73", "84.73"),
        line("Parts", "Engine oil 5W-30", "4.5 L", "9.00", "40.50"),
        line("Fees", "Disposal", "1", "1.00", "1.00"),
    ];
    doc.totals = vec![
        ("Subtotal".into(), "291.23".into()),
        ("Tax 8.25% on 291.23".into(), "24.02".into()),
        ("Total USD".into(), "315.25".into()),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "sum.pdf", &render(&doc).unwrap().bytes);
    let (words, _) = word_boxes(&path);
    let header = words.iter().find(|w| w.text == "Amount").expect("an Amount column");
    let subtotal_y = words.iter().find(|w| w.text == "Subtotal").unwrap().y0;
    let cents: i64 = words
        .iter()
        .filter(|w| (w.x1 - header.x1).abs() < 0.5 && w.y0 > header.y1 && w.y0 < subtotal_y)
        .map(|w| (w.text.replace([',', '.'], "")).parse::<i64>().unwrap())
        .sum();
    assert_eq!(cents, 29123, "the Amount column sums to the subtotal (291.23)");
    let text = raw_text(&path);
    for want in ["Labour", "Parts", "Fees", "1.5 h", "4.5 L", "1 pc"] {
        assert!(text.contains(&squeeze(want)), "{want} is printed");
    }
}

fn pdfinfo(path: &Path) -> String {
    let out = Command::new("pdfinfo").args(["-isodates"]).arg(path).output().expect("pdfinfo");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_document_says_what_it_is_who_made_it_and_when() {
    let doc = pitlane_pdf::sample(3);
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "meta.pdf", &render(&doc).unwrap().bytes);
    let info = pdfinfo(&path);
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| panic!("pdfinfo shows {name}:\n{info}"))
    };
    assert_eq!(field("Title"), "Invoice INV-2026-A000042");
    assert_eq!(field("Author"), "Werkstatt Müller & Söhne", "the branch, in any script");
    assert_eq!(field("Producer"), format!("Pitlane {}", env!("CARGO_PKG_VERSION")));
    assert_eq!(field("CreationDate"), doc.printed_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(), "when it was printed");
}
