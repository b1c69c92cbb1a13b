//! Invoice PDFs (SPEC 10) with printpdf: A4 or Letter, DejaVu Sans embedded
//! and subset (Latin, Greek and Cyrillic names print as they are), real
//! selectable text, long invoices broken across pages with the table header
//! repeated and "Page 2 of 3" on every page.
//!
//! This crate only lays out what the core hands it
//! ([`pitlane_core::printing::PrintableInvoice`]); it never touches the
//! database.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use allsorts::binary::read::ReadScope;
use allsorts::font_data::FontData;
use allsorts::subset::{CmapTarget, SubsetProfile};
use allsorts::tag;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use std::io::Write;

use pitlane_core::printing::{InvoicePrinter, Paper, Party, PrintLine, PrintableInvoice, Printed};
use printpdf::{
    Color, FontId, Greyscale, Line, LinePoint, Mm, Op, ParsedFont, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions,
    Point, Pt, TextItem, TextMatrix,
};

const REGULAR_TTF: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
const BOLD_TTF: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// The two faces' metrics (ttf-parser reads them in place, lazily).
fn faces() -> &'static (ttf_parser::Face<'static>, ttf_parser::Face<'static>) {
    static FACES: OnceLock<(ttf_parser::Face<'static>, ttf_parser::Face<'static>)> = OnceLock::new();
    FACES.get_or_init(|| {
        let parse = |bytes: &'static [u8]| ttf_parser::Face::parse(bytes, 0);
        match (parse(REGULAR_TTF), parse(BOLD_TTF)) {
            (Ok(r), Ok(b)) => (r, b),
            // The fonts are part of the binary; a failure here is a build fault.
            _ => panic!("the embedded DejaVu Sans fonts do not parse"),
        }
    })
}

/// Every character the layout itself writes, besides the invoice's own text.
const LAYOUT_TEXT: &str = "DescriptionQtyUnit priceTaxTotalBill toVehicleNotesPage of (continued)0123456789";

/// Every character the document will show.
fn characters(inv: &PrintableInvoice) -> BTreeSet<char> {
    let mut texts: Vec<&str> = vec![LAYOUT_TEXT, &inv.title, &inv.number, &inv.currency, &inv.notes, &inv.footer];
    for party in [&inv.branch, &inv.customer, &inv.vehicle] {
        texts.push(&party.name);
        texts.extend(party.lines.iter().map(String::as_str));
    }
    for (a, b) in inv.facts.iter().chain(&inv.totals).chain(&inv.payments).chain([&inv.balance_due]) {
        texts.extend([a.as_str(), b.as_str()]);
    }
    for l in &inv.lines {
        texts.extend([l.description.as_str(), &l.quantity, &l.unit_price, &l.tax_rate, &l.total]);
    }
    texts.iter().flat_map(|t| t.chars()).filter(|c| !c.is_control()).collect()
}

/// The font cut down to the glyphs for `chars` (what keeps a one-page
/// invoice at a few kilobytes instead of the font's 750).
fn subset(ttf: &[u8], full: &ttf_parser::Face, chars: &BTreeSet<char>) -> Result<ParsedFont, String> {
    let mut glyphs: BTreeSet<u16> = chars.iter().filter_map(|c| full.glyph_index(*c)).map(|g| g.0).collect();
    glyphs.remove(&0);
    let ids: Vec<u16> = std::iter::once(0).chain(glyphs).collect();
    let scope = ReadScope::new(ttf);
    let data = scope.read::<FontData<'_>>().map_err(|e| format!("font: {e}"))?;
    let provider = data.table_provider(0).map_err(|e| format!("font: {e}"))?;
    // The PDF profile less the `name` table (15 KB of DejaVu's copyright
    // text per face; the PDF names the font in its own dictionary).
    let tables =
        [tag::CMAP, tag::HEAD, tag::CVT, tag::FPGM, tag::HHEA, tag::HMTX, tag::MAXP, tag::OS_2, tag::POST, tag::PREP];
    let bytes = allsorts::subset::subset(&provider, &ids, &SubsetProfile::Custom(tables.to_vec()), CmapTarget::Unicode)
        .map_err(|e| format!("subset: {e}"))?;
    ParsedFont::from_bytes(&bytes, 0, &mut Vec::new()).ok_or_else(|| "the subset font does not parse".to_string())
}

/// The invoice printer the app uses.
#[derive(Debug, Default, Clone, Copy)]
pub struct PdfPrinter;

impl InvoicePrinter for PdfPrinter {
    fn print(&self, invoice: &PrintableInvoice) -> Result<Printed, String> {
        render(invoice)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Face {
    Regular,
    Bold,
}

#[derive(Clone, Copy, PartialEq)]
enum Align {
    Left,
    Right,
}

const MARGIN: f32 = 15.0; // mm
const BODY: f32 = 9.0; // pt
const SMALL: f32 = 8.0;
const ROW: f32 = 5.0; // mm per table text line
const FOOTER_SPACE: f32 = 16.0; // mm kept free at the bottom

fn pt(mm: f32) -> Pt {
    Pt(mm * 72.0 / 25.4)
}

const CACHED: usize = 2048;

thread_local! {
    /// Advances (in em) of the first 2048 code points — Latin, Greek and
    /// Cyrillic — per face, filled as characters are first measured (NaN:
    /// not yet); others are looked up each time.
    static ADVANCES: std::cell::RefCell<[[f32; CACHED]; 2]> = const { std::cell::RefCell::new([[f32::NAN; CACHED]; 2]) };
}

/// One character's advance in em.
fn advance(font: &ttf_parser::Face, c: char) -> f32 {
    let units = f32::from(font.units_per_em().max(1));
    font.glyph_index(c).and_then(|g| font.glyph_hor_advance(g)).map(f32::from).unwrap_or(units / 2.0) / units
}

/// Width of `text` in mm at `size` points.
fn width(face: Face, size: f32, text: &str) -> f32 {
    let (regular, bold) = faces();
    let (font, row) = if face == Face::Bold { (bold, 1) } else { (regular, 0) };
    let em: f32 = ADVANCES.with(|cache| {
        let mut cache = cache.borrow_mut();
        text.chars()
            .map(|c| match cache[row].get_mut(c as usize) {
                Some(slot) if !slot.is_nan() => *slot,
                Some(slot) => {
                    *slot = advance(font, c);
                    *slot
                }
                None => advance(font, c),
            })
            .sum()
    });
    em * size * 25.4 / 72.0
}

/// Breaks `text` into lines no wider than `max` mm (words longer than a
/// line are cut by character).
fn wrap(face: Face, size: f32, text: &str, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
            if width(face, size, &candidate) <= max {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let mut piece = String::new();
            for c in word.chars() {
                piece.push(c);
                if width(face, size, &piece) > max && piece.chars().count() > 1 {
                    piece.pop();
                    lines.push(std::mem::take(&mut piece));
                    piece.push(c);
                }
            }
            line = piece;
        }
        lines.push(line);
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

/// One page being filled, top to bottom; `y` is mm from the top. Lines go
/// in `graphics`; all text goes in one text object (`text`), placed with
/// absolute text matrices and the font set only when it changes: far fewer
/// operators than a text object per string.
#[derive(Default)]
struct Sheet {
    graphics: Vec<Op>,
    text: Vec<Op>,
    font: Option<(bool, u32)>,
    y: f32,
}

impl Sheet {
    fn at(y: f32) -> Sheet {
        Sheet { y, ..Sheet::default() }
    }

    fn into_ops(self) -> Vec<Op> {
        let mut ops = self.graphics;
        if !self.text.is_empty() {
            ops.push(Op::StartTextSection);
            ops.extend(self.text);
            ops.push(Op::EndTextSection);
        }
        ops
    }
}

struct Layout {
    width: f32,
    height: f32,
    regular: FontId,
    bold: FontId,
    pages: Vec<Sheet>,
    sheet: Sheet,
}

impl Layout {
    fn text(&mut self, face: Face, size: f32, x: f32, y_top: f32, align: Align, text: &str) {
        if text.is_empty() {
            return;
        }
        let x = match align {
            Align::Left => x,
            Align::Right => x - width(face, size, text),
        };
        let baseline = self.height - y_top - size * 25.4 / 72.0 * 0.8;
        let key = (face == Face::Bold, (size * 100.0) as u32);
        if self.sheet.font != Some(key) {
            let font = if face == Face::Bold { self.bold.clone() } else { self.regular.clone() };
            self.sheet.text.push(Op::SetFont { font: PdfFontHandle::External(font), size: Pt(size) });
            self.sheet.font = Some(key);
        }
        self.sheet.text.extend([
            Op::SetTextMatrix { matrix: TextMatrix::Translate(pt(x), pt(baseline)) },
            Op::ShowText { items: vec![TextItem::Text(text.to_string())] },
        ]);
    }

    fn rule(&mut self, y_top: f32, thickness: f32) {
        let y = pt(self.height - y_top);
        self.sheet.graphics.extend([
            Op::SetOutlineColor { col: Color::Greyscale(Greyscale { percent: 0.35, icc_profile: None }) },
            Op::SetOutlineThickness { pt: Pt(thickness) },
            Op::DrawLine {
                line: Line {
                    points: vec![
                        LinePoint { p: Point { x: pt(MARGIN), y }, bezier: false },
                        LinePoint { p: Point { x: pt(self.width - MARGIN), y }, bezier: false },
                    ],
                    is_closed: false,
                },
            },
        ]);
    }

    fn room(&self) -> f32 {
        self.height - FOOTER_SPACE - self.sheet.y
    }

    fn new_page(&mut self) {
        let done = std::mem::replace(&mut self.sheet, Sheet::at(MARGIN));
        self.pages.push(done);
    }
}

/// Column right edges (mm from the left margin's x) for the lines table.
struct Columns {
    description: f32,
    description_width: f32,
    quantity: f32,
    unit_price: f32,
    tax: f32,
    total: f32,
}

fn columns(page_width: f32) -> Columns {
    let right = page_width - MARGIN;
    Columns {
        description: MARGIN,
        description_width: right - 80.0 - MARGIN,
        quantity: right - 62.0,
        unit_price: right - 36.0,
        tax: right - 22.0,
        total: right,
    }
}

fn table_header(l: &mut Layout, c: &Columns) {
    let y = l.sheet.y;
    l.text(Face::Bold, SMALL, c.description, y, Align::Left, "Description");
    l.text(Face::Bold, SMALL, c.quantity, y, Align::Right, "Qty");
    l.text(Face::Bold, SMALL, c.unit_price, y, Align::Right, "Unit price");
    l.text(Face::Bold, SMALL, c.tax, y, Align::Right, "Tax");
    l.text(Face::Bold, SMALL, c.total, y, Align::Right, "Total");
    l.rule(y + 4.5, 0.6);
    l.sheet.y += 6.5;
}

/// Lays out the invoice and returns the PDF.
pub fn render(inv: &PrintableInvoice) -> Result<Printed, String> {
    let (width, height) = match inv.paper {
        Paper::A4 => (210.0, 297.0),
        Paper::Letter => (215.9, 279.4),
    };
    let (regular, bold) = faces();
    let chars = characters(inv);
    let mut doc = PdfDocument::new(&format!("Invoice {}", inv.number));
    let regular_id = doc.add_font(&subset(REGULAR_TTF, regular, &chars)?);
    let bold_id = doc.add_font(&subset(BOLD_TTF, bold, &chars)?);
    let mut l =
        Layout { width, height, regular: regular_id, bold: bold_id, pages: Vec::new(), sheet: Sheet::at(MARGIN) };
    let right = width - MARGIN;

    // Header: the branch on the left, the title and facts on the right.
    l.text(Face::Bold, 15.0, MARGIN, MARGIN, Align::Left, &inv.branch.name);
    let mut y = MARGIN + 8.0;
    for line in &inv.branch.lines {
        l.text(Face::Regular, SMALL, MARGIN, y, Align::Left, line);
        y += 4.0;
    }
    l.text(Face::Bold, 18.0, right, MARGIN, Align::Right, &inv.title);
    let mut fy = MARGIN + 9.0;
    for (label, value) in &inv.facts {
        l.text(Face::Regular, SMALL, right - 32.0, fy, Align::Right, label);
        l.text(Face::Bold, SMALL, right, fy, Align::Right, value);
        fy += 4.2;
    }
    l.sheet.y = y.max(fy) + 6.0;

    // Bill to and vehicle.
    let top = l.sheet.y;
    let mid = MARGIN + (right - MARGIN) / 2.0;
    l.text(Face::Regular, SMALL, MARGIN, top, Align::Left, "Bill to");
    l.text(Face::Regular, SMALL, mid, top, Align::Left, "Vehicle");
    l.text(Face::Bold, 11.0, MARGIN, top + 4.5, Align::Left, &inv.customer.name);
    l.text(Face::Bold, 11.0, mid, top + 4.5, Align::Left, &inv.vehicle.name);
    let mut cy = top + 10.5;
    for line in &inv.customer.lines {
        l.text(Face::Regular, BODY, MARGIN, cy, Align::Left, line);
        cy += 4.3;
    }
    let mut vy = top + 10.5;
    for line in &inv.vehicle.lines {
        l.text(Face::Regular, BODY, mid, vy, Align::Left, line);
        vy += 4.3;
    }
    l.sheet.y = cy.max(vy) + 6.0;

    // The lines, page by page, the header repeated on each.
    let c = columns(width);
    table_header(&mut l, &c);
    for line in &inv.lines {
        let wrapped = wrap(Face::Regular, BODY, &line.description, c.description_width);
        let need = wrapped.len() as f32 * ROW + 1.5;
        if l.room() < need {
            l.new_page();
            let continued = format!("{} {} (continued)", inv.title, inv.number);
            l.text(Face::Bold, BODY, MARGIN, l.sheet.y, Align::Left, &continued);
            l.sheet.y += 8.0;
            table_header(&mut l, &c);
        }
        let y = l.sheet.y;
        for (i, text) in wrapped.iter().enumerate() {
            l.text(Face::Regular, BODY, c.description, y + i as f32 * ROW, Align::Left, text);
        }
        l.text(Face::Regular, BODY, c.quantity, y, Align::Right, &line.quantity);
        l.text(Face::Regular, BODY, c.unit_price, y, Align::Right, &line.unit_price);
        l.text(Face::Regular, BODY, c.tax, y, Align::Right, &line.tax_rate);
        l.text(Face::Regular, BODY, c.total, y, Align::Right, &line.total);
        l.sheet.y += need;
    }
    l.rule(l.sheet.y, 0.4);
    l.sheet.y += 3.0;

    // Totals, payments and the balance, kept together.
    let rows = inv.totals.len() + inv.payments.len() + 2;
    if l.room() < rows as f32 * ROW + 4.0 {
        l.new_page();
    }
    for (label, amount) in &inv.totals {
        let face = if label.starts_with("Total") { Face::Bold } else { Face::Regular };
        l.text(face, BODY, right - 36.0, l.sheet.y, Align::Right, label);
        l.text(face, BODY, right, l.sheet.y, Align::Right, amount);
        l.sheet.y += ROW;
    }
    for (label, amount) in &inv.payments {
        l.text(Face::Regular, BODY, right - 36.0, l.sheet.y, Align::Right, label);
        l.text(Face::Regular, BODY, right, l.sheet.y, Align::Right, amount);
        l.sheet.y += ROW;
    }
    l.sheet.y += 1.0;
    let (label, amount) = &inv.balance_due;
    l.text(Face::Bold, 11.0, right - 36.0, l.sheet.y, Align::Right, label);
    l.text(Face::Bold, 11.0, right, l.sheet.y, Align::Right, amount);
    l.sheet.y += 9.0;

    // Notes.
    if !inv.notes.trim().is_empty() {
        let lines = wrap(Face::Regular, BODY, &inv.notes, right - MARGIN);
        if l.room() < (lines.len() + 1) as f32 * ROW {
            l.new_page();
        }
        l.text(Face::Bold, BODY, MARGIN, l.sheet.y, Align::Left, "Notes");
        l.sheet.y += ROW;
        for line in lines {
            l.text(Face::Regular, BODY, MARGIN, l.sheet.y, Align::Left, &line);
            l.sheet.y += ROW;
        }
    }
    l.new_page();

    // Footer and page numbers, now that the count is known.
    let count = l.pages.len();
    let footer = wrap(Face::Regular, SMALL, &inv.footer, right - MARGIN - 30.0);
    let pages: Vec<PdfPage> = std::mem::take(&mut l.pages)
        .into_iter()
        .enumerate()
        .map(|(i, sheet)| {
            l.sheet = sheet;
            let base = height - MARGIN + 2.0;
            for (n, line) in footer.iter().enumerate().take(2) {
                l.text(Face::Regular, SMALL, MARGIN, base - 4.0 + n as f32 * 3.6, Align::Left, line);
            }
            l.text(Face::Regular, SMALL, right, base, Align::Right, &format!("Page {} of {count}", i + 1));
            PdfPage::new(Mm(width), Mm(height), std::mem::take(&mut l.sheet).into_ops())
        })
        .collect();
    // Subset above: printpdf 0.9 embeds fonts whole and writes streams
    // uncompressed, so the streams are deflated here, at zlib's fastest
    // level: the higher ones cost several times the time for a few per cent.
    let mut pdf = doc
        .with_pages(pages)
        .to_lopdf_document(&PdfSaveOptions { subset_fonts: false, ..Default::default() }, &mut Vec::new());
    for object in pdf.objects.values_mut() {
        if let lopdf::Object::Stream(stream) = object {
            if stream.dict.get(b"Filter").is_err() {
                let mut zip = ZlibEncoder::new(Vec::with_capacity(stream.content.len() / 2), Compression::fast());
                zip.write_all(&stream.content).map_err(|e| format!("deflate: {e}"))?;
                let packed = zip.finish().map_err(|e| format!("deflate: {e}"))?;
                if packed.len() < stream.content.len() {
                    stream.dict.set("Filter", "FlateDecode");
                    stream.set_content(packed);
                }
            }
        }
    }
    let mut bytes = Vec::new();
    pdf.save_to(&mut bytes).map_err(|e| format!("pdf: {e}"))?;
    Ok(Printed { bytes, pages: count as u32 })
}

/// A sample invoice for benchmarks and demos: a Greek customer at a German
/// garage, `lines` lines.
pub fn sample(lines: usize) -> PrintableInvoice {
    PrintableInvoice {
        paper: Paper::A4,
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
            name: "Werkstatt Müller & Söhne".into(),
            lines: vec![
                "Hauptstraße 5, 10115 Berlin".into(),
                "+49 30 1234567".into(),
                "Tax number: DE123456789".into(),
            ],
        },
        customer: Party {
            name: "Γιώργος Παπαδόπουλος".into(),
            lines: vec!["+30 21 0123 4567".into(), "giorgos@example.gr".into()],
        },
        vehicle: Party { name: "B-MW 1234".into(), lines: vec!["BMW 320d (2019)".into(), "Odometer 88,000".into()] },
        currency: "EUR".into(),
        lines: (1..=lines)
            .map(|i| PrintLine {
                description: format!("Part {i}: brake pad set, front axle (Bremsbeläge vorne)"),
                quantity: "1".into(),
                unit_price: format!("{}.00", 20 + i % 50),
                tax_rate: "19%".into(),
                total: format!("{}.00", 20 + i % 50),
            })
            .collect(),
        totals: vec![
            ("Subtotal".into(), "1,234.56".into()),
            ("Tax 19% on 1,234.56".into(), "234.57".into()),
            ("Total EUR".into(), "1,469.13".into()),
        ],
        payments: vec![("24 Nov 2026 Card".into(), "-500.00".into())],
        balance_due: ("Balance due".into(), "EUR 969.13".into()),
        notes: "Customer declined the wiper blade replacement.".into(),
        footer: "Thank you for your custom. Payment within 14 days to IBAN DE00 1234 5678 9012.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_word_and_respects_the_width() {
        let text = "Replace front brake pads and discs, bleed the brake system and road test";
        let lines = wrap(Face::Regular, BODY, text, 40.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.join(" "), text);
        assert!(lines.iter().all(|l| width(Face::Regular, BODY, l) <= 40.0));
        let long = "Ä".repeat(200);
        assert!(wrap(Face::Regular, BODY, &long, 30.0).iter().all(|l| width(Face::Regular, BODY, l) <= 30.0));
    }

    #[test]
    fn wider_text_measures_wider() {
        assert!(width(Face::Regular, BODY, "WWW") > width(Face::Regular, BODY, "iii"));
        assert!(width(Face::Bold, BODY, "Total") > width(Face::Regular, BODY, "Total"));
    }
}
