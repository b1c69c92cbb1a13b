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

mod image;

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
const LAYOUT_TEXT: &str =
    "DescriptionPart no.QtyUnit priceTaxAmountBill toVehicleCustomer's complaintWork performedHow to payNotes\
     LabourPartsFeesPage of (continued)0123456789";

/// Every character the document will show.
fn characters(inv: &PrintableInvoice) -> BTreeSet<char> {
    let mut texts: Vec<&str> = vec![
        LAYOUT_TEXT,
        &inv.title,
        &inv.number,
        &inv.currency,
        &inv.complaint,
        &inv.work_performed,
        &inv.notes,
        &inv.payment_instructions,
        &inv.footer,
    ];
    for party in [&inv.branch, &inv.customer, &inv.vehicle] {
        texts.push(&party.name);
        texts.extend(party.lines.iter().map(String::as_str));
    }
    for (a, b) in inv.facts.iter().chain(&inv.totals).chain(&inv.payments).chain([&inv.balance_due]) {
        texts.extend([a.as_str(), b.as_str()]);
    }
    for l in &inv.lines {
        texts.extend([l.group.as_str(), &l.description, &l.sku, &l.quantity, &l.unit_price, &l.tax_rate, &l.amount]);
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

/// Breaks `text` into lines no wider than `max` mm: between words, else
/// after a hyphen or slash inside one, else (a word longer than a line)
/// between characters. Nothing is dropped.
fn wrap(face: Face, size: f32, text: &str, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            for (i, piece) in word.split_inclusive(['-', '/']).enumerate() {
                let space = if i == 0 && !line.is_empty() { " " } else { "" };
                let candidate = format!("{line}{space}{piece}");
                if width(face, size, &candidate) <= max {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                for c in piece.chars() {
                    line.push(c);
                    if width(face, size, &line) > max && line.chars().count() > 1 {
                        line.pop();
                        lines.push(std::mem::take(&mut line));
                        line.push(c);
                    }
                }
            }
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

/// The distance between the tops of two lines of text at `size` points, in
/// mm: more than the font's height (ascent + descent, 1.164 em), so no two
/// lines' glyphs ever touch.
fn pitch(size: f32) -> f32 {
    size * 25.4 / 72.0 * 1.35
}

struct Layout {
    width: f32,
    height: f32,
    regular: FontId,
    bold: FontId,
    pages: Vec<Sheet>,
    sheet: Sheet,
    /// mm from the top where the body stops (the footer is below).
    bottom: f32,
    /// Written at the top of every page after the first.
    continued: String,
}

impl Layout {
    fn content_width(&self) -> f32 {
        self.width - 2.0 * MARGIN
    }

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

    /// Lines of text one under the other from `y_top`; returns the y under them.
    fn lines(&mut self, face: Face, size: f32, x: f32, y_top: f32, align: Align, lines: &[String]) -> f32 {
        let mut y = y_top;
        for line in lines {
            self.text(face, size, x, y, align, line);
            y += pitch(size);
        }
        y
    }

    fn rule(&mut self, x0: f32, x1: f32, y_top: f32, thickness: f32) {
        let y = pt(self.height - y_top);
        self.sheet.graphics.extend([
            Op::SetOutlineColor { col: Color::Greyscale(Greyscale { percent: 0.35, icc_profile: None }) },
            Op::SetOutlineThickness { pt: Pt(thickness) },
            Op::DrawLine {
                line: Line {
                    points: vec![
                        LinePoint { p: Point { x: pt(x0), y }, bezier: false },
                        LinePoint { p: Point { x: pt(x1), y }, bezier: false },
                    ],
                    is_closed: false,
                },
            },
        ]);
    }

    fn room(&self) -> f32 {
        self.bottom - self.sheet.y
    }

    fn new_page(&mut self) {
        let done = std::mem::replace(&mut self.sheet, Sheet::at(MARGIN));
        self.pages.push(done);
        let continued = self.continued.clone();
        self.text(Face::Bold, BODY, MARGIN, MARGIN, Align::Left, &continued);
        self.sheet.y += pitch(BODY) + 4.0;
    }

    /// Starts a new page unless `need` mm are left on this one; true if it did.
    fn ensure(&mut self, need: f32) -> bool {
        if self.room() < need {
            self.new_page();
            return true;
        }
        false
    }

    /// A headed block of wrapped text across the page, broken across pages
    /// line by line (the heading kept with its first lines).
    fn paragraph(&mut self, heading: &str, text: &str) {
        if text.trim().is_empty() {
            return;
        }
        let lines = wrap(Face::Regular, BODY, text.trim_end(), self.content_width());
        self.ensure(pitch(BODY) * (1 + lines.len().min(2)) as f32);
        let y = self.sheet.y;
        self.text(Face::Bold, BODY, MARGIN, y, Align::Left, heading);
        self.sheet.y += pitch(BODY);
        for line in lines {
            self.ensure(pitch(BODY));
            let y = self.sheet.y;
            self.text(Face::Regular, BODY, MARGIN, y, Align::Left, &line);
            self.sheet.y += pitch(BODY);
        }
        self.sheet.y += 3.0;
    }
}

/// Space between table columns, mm.
const GAP: f32 = 4.0;

/// The lines table's columns, each as wide as its widest content (capped;
/// a cell wider than its column wraps).
struct Columns {
    description: f32,
    sku: Option<(f32, f32)>,
    /// (right edge, width) of the right-aligned columns.
    quantity: (f32, f32),
    unit_price: (f32, f32),
    tax: (f32, f32),
    amount: (f32, f32),
}

fn columns(l: &Layout, lines: &[pitlane_core::printing::PrintLine]) -> Columns {
    let widest = |header: &str, cells: &mut dyn Iterator<Item = &str>, cap: f32| {
        cells.map(|c| width(Face::Regular, BODY, c)).fold(width(Face::Bold, SMALL, header), f32::max).min(cap)
    };
    let amount = widest("Amount", &mut lines.iter().map(|x| x.amount.as_str()), 40.0);
    let tax = widest("Tax", &mut lines.iter().map(|x| x.tax_rate.as_str()), 20.0);
    let unit_price = widest("Unit price", &mut lines.iter().map(|x| x.unit_price.as_str()), 40.0);
    let quantity = widest("Qty", &mut lines.iter().map(|x| x.quantity.as_str()), 30.0);
    let sku = lines
        .iter()
        .any(|x| !x.sku.is_empty())
        .then(|| widest("Part no.", &mut lines.iter().map(|x| x.sku.as_str()), 35.0));
    let right = l.width - MARGIN;
    let amount_r = right;
    let tax_r = amount_r - amount - GAP;
    let price_r = tax_r - tax - GAP;
    let qty_r = price_r - unit_price - GAP;
    let numbers_left = qty_r - quantity - GAP;
    let (sku, description) = match sku {
        Some(w) => (Some((numbers_left - w, w)), numbers_left - w - GAP - MARGIN),
        None => (None, numbers_left - MARGIN),
    };
    Columns {
        description,
        sku,
        quantity: (qty_r, quantity),
        unit_price: (price_r, unit_price),
        tax: (tax_r, tax),
        amount: (amount_r, amount),
    }
}

fn table_header(l: &mut Layout, c: &Columns) {
    let y = l.sheet.y;
    l.text(Face::Bold, SMALL, MARGIN, y, Align::Left, "Description");
    if let Some((x, _)) = c.sku {
        l.text(Face::Bold, SMALL, x, y, Align::Left, "Part no.");
    }
    l.text(Face::Bold, SMALL, c.quantity.0, y, Align::Right, "Qty");
    l.text(Face::Bold, SMALL, c.unit_price.0, y, Align::Right, "Unit price");
    l.text(Face::Bold, SMALL, c.tax.0, y, Align::Right, "Tax");
    l.text(Face::Bold, SMALL, c.amount.0, y, Align::Right, "Amount");
    let rule_y = y + pitch(SMALL) + 0.3;
    l.rule(MARGIN, l.width - MARGIN, rule_y, 0.6);
    l.sheet.y = rule_y + 2.0;
}

/// The header: the logo and the branch on the left, the title and the
/// facts on the right, each side as wide as the other leaves.
fn header(l: &mut Layout, inv: &PrintableInvoice) -> Option<(f32, f32, f32, f32)> {
    let right = l.width - MARGIN;
    let labels = inv.facts.iter().map(|(k, _)| width(Face::Regular, SMALL, k)).fold(0.0, f32::max);
    let values = inv.facts.iter().map(|(_, v)| width(Face::Bold, SMALL, v)).fold(0.0, f32::max).min(60.0);
    let title = width(Face::Bold, 18.0, &inv.title).min(90.0);
    let right_block = (labels + 3.0 + values).max(title);
    let left_width = l.content_width() - right_block - 8.0;

    let titles = wrap(Face::Bold, 18.0, &inv.title, 90.0);
    let mut fy = l.lines(Face::Bold, 18.0, right, MARGIN, Align::Right, &titles) + 1.5;
    for (label, value) in &inv.facts {
        l.text(Face::Regular, SMALL, right - values - 3.0, fy, Align::Right, label);
        fy = l.lines(Face::Bold, SMALL, right, fy, Align::Right, &wrap(Face::Bold, SMALL, value, values));
    }

    let mut y = MARGIN;
    let mut logo_box = None;
    if let Some(logo) = &inv.logo {
        // At most 22 mm high and half the left side wide, its shape kept.
        let (w, h) = (logo.width as f32, logo.height as f32);
        let scale = (22.0 / h).min(left_width.min(70.0) / w);
        let (bw, bh) = (w * scale, h * scale);
        logo_box = Some((pt(MARGIN).0, pt(l.height - y - bh).0, pt(bw).0, pt(bh).0));
        y += bh + 4.0;
    }
    y = l.lines(Face::Bold, 14.0, MARGIN, y, Align::Left, &wrap(Face::Bold, 14.0, &inv.branch.name, left_width));
    y += 0.5;
    for line in &inv.branch.lines {
        y = l.lines(Face::Regular, SMALL, MARGIN, y, Align::Left, &wrap(Face::Regular, SMALL, line, left_width));
    }
    l.sheet.y = y.max(fy) + 6.0;
    logo_box
}

/// "Bill to" and "Vehicle" side by side, names and lines wrapped.
fn parties(l: &mut Layout, inv: &PrintableInvoice) {
    let column = (l.content_width() - 8.0) / 2.0;
    let top = l.sheet.y;
    let mut bottom = top;
    for (i, (heading, party)) in [("Bill to", &inv.customer), ("Vehicle", &inv.vehicle)].into_iter().enumerate() {
        let x = MARGIN + i as f32 * (column + 8.0);
        l.text(Face::Regular, SMALL, x, top, Align::Left, heading);
        let mut y =
            l.lines(Face::Bold, 11.0, x, top + pitch(SMALL), Align::Left, &wrap(Face::Bold, 11.0, &party.name, column));
        for line in &party.lines {
            y = l.lines(Face::Regular, BODY, x, y, Align::Left, &wrap(Face::Regular, BODY, line, column));
        }
        bottom = bottom.max(y);
    }
    l.sheet.y = bottom + 5.0;
}

/// The lines, grouped, page by page with the header repeated on each.
fn lines_table(l: &mut Layout, inv: &PrintableInvoice) {
    let c = columns(l, &inv.lines);
    l.ensure(pitch(SMALL) + 2.5 + pitch(BODY) * 2.0);
    table_header(l, &c);
    let mut group = "";
    for line in &inv.lines {
        let cells: Vec<(Vec<String>, f32, Align)> = [
            Some((&line.description, MARGIN, c.description, Align::Left)),
            c.sku.map(|(x, w)| (&line.sku, x, w, Align::Left)),
            Some((&line.quantity, c.quantity.0, c.quantity.1, Align::Right)),
            Some((&line.unit_price, c.unit_price.0, c.unit_price.1, Align::Right)),
            Some((&line.tax_rate, c.tax.0, c.tax.1, Align::Right)),
            Some((&line.amount, c.amount.0, c.amount.1, Align::Right)),
        ]
        .into_iter()
        .flatten()
        .map(|(text, x, w, align)| (wrap(Face::Regular, BODY, text, w), x, align))
        .collect();
        let rows = cells.iter().map(|(t, _, _)| t.len()).max().unwrap_or(1);
        let heading = line.group != group;
        let need = rows as f32 * pitch(BODY) + 1.0 + if heading { pitch(BODY) + 1.0 } else { 0.0 };
        if l.ensure(need) {
            table_header(l, &c);
        }
        if heading {
            group = &line.group;
            let y = l.sheet.y;
            l.text(Face::Bold, BODY, MARGIN, y, Align::Left, group);
            l.sheet.y += pitch(BODY) + 1.0;
        }
        let y = l.sheet.y;
        for (text, x, align) in &cells {
            l.lines(Face::Regular, BODY, *x, y, *align, text);
        }
        l.sheet.y += rows as f32 * pitch(BODY) + 1.0;
    }
    let y = l.sheet.y;
    l.rule(MARGIN, l.width - MARGIN, y, 0.4);
    l.sheet.y += 3.0;
}

/// Subtotal, tax per rate, total, payments and the balance: amounts in a
/// column as wide as the widest, labels right-aligned before it; kept
/// together on one page.
fn totals(l: &mut Layout, inv: &PrintableInvoice) {
    let right = l.width - MARGIN;
    let mut rows: Vec<(Face, f32, &str, &str)> = Vec::new();
    for (label, amount) in &inv.totals {
        let face = if label.starts_with("Total") { Face::Bold } else { Face::Regular };
        rows.push((face, BODY, label, amount));
    }
    for (label, amount) in &inv.payments {
        rows.push((Face::Regular, BODY, label, amount));
    }
    let balance = rows.len();
    rows.push((Face::Bold, 11.0, &inv.balance_due.0, &inv.balance_due.1));
    let amounts = rows.iter().map(|(f, s, _, a)| width(*f, *s, a)).fold(0.0, f32::max);
    let label_right = right - amounts - 5.0;
    let label_width = label_right - MARGIN;
    let wrapped: Vec<Vec<String>> = rows.iter().map(|(f, s, label, _)| wrap(*f, *s, label, label_width)).collect();
    let need = rows.iter().zip(&wrapped).map(|((_, s, _, _), w)| pitch(*s) * w.len() as f32).sum::<f32>() + 3.0;
    l.ensure(need);
    for (i, ((face, size, _, amount), label)) in rows.iter().zip(&wrapped).enumerate() {
        if i == balance {
            let y = l.sheet.y + 0.6;
            l.rule(label_right - 30.0_f32.min(label_width), right, y, 0.4);
            l.sheet.y += 2.0;
        }
        let y = l.sheet.y;
        l.text(*face, *size, right, y, Align::Right, amount);
        l.sheet.y = l.lines(*face, *size, label_right, y, Align::Right, label);
    }
    l.sheet.y += 6.0;
}

/// Lays out the invoice and returns the PDF.
pub fn render(inv: &PrintableInvoice) -> Result<Printed, String> {
    let (width, height) = match inv.paper {
        Paper::A4 => (210.0, 297.0),
        Paper::Letter => (215.9, 279.4),
    };
    let (regular, bold) = faces();
    let chars = characters(inv);
    let mut doc = PdfDocument::new(&format!("{} {}", inv.title, inv.number));
    let regular_id = doc.add_font(&subset(REGULAR_TTF, regular, &chars)?);
    let bold_id = doc.add_font(&subset(BOLD_TTF, bold, &chars)?);
    let right = width - MARGIN;

    // A short footer is repeated at the foot of every page; a long one is
    // printed once, after the notes.
    let footer = wrap(Face::Regular, SMALL, inv.footer.trim(), right - MARGIN - 30.0);
    let repeated = footer.len() <= 3;
    let foot_lines = if repeated { footer.len().max(1) } else { 1 };
    let bottom = height - MARGIN - foot_lines as f32 * pitch(SMALL) - 4.0;
    let mut l = Layout {
        width,
        height,
        regular: regular_id,
        bold: bold_id,
        pages: Vec::new(),
        sheet: Sheet::at(MARGIN),
        bottom,
        continued: format!("{} {} (continued)", inv.title, inv.number),
    };

    let logo_box = header(&mut l, inv);
    parties(&mut l, inv);
    l.paragraph("Customer's complaint", &inv.complaint);
    l.paragraph("Work performed", &inv.work_performed);
    lines_table(&mut l, inv);
    totals(&mut l, inv);
    l.paragraph("How to pay", &inv.payment_instructions);
    l.paragraph("Notes", &inv.notes);
    if !repeated {
        l.paragraph("", &inv.footer);
    }
    let done = std::mem::take(&mut l.sheet);
    l.pages.push(done);

    // Footer and page numbers, now that the count is known.
    let count = l.pages.len();
    let pages: Vec<PdfPage> = std::mem::take(&mut l.pages)
        .into_iter()
        .enumerate()
        .map(|(i, sheet)| {
            l.sheet = sheet;
            let last = height - MARGIN - pitch(SMALL) + 2.0;
            if repeated {
                let first = last - (footer.len().max(1) - 1) as f32 * pitch(SMALL);
                l.lines(Face::Regular, SMALL, MARGIN, first, Align::Left, &footer);
            }
            l.text(Face::Regular, SMALL, right, last, Align::Right, &format!("Page {} of {count}", i + 1));
            PdfPage::new(Mm(width), Mm(height), std::mem::take(&mut l.sheet).into_ops())
        })
        .collect();
    // Subset above: printpdf 0.9 embeds fonts whole and writes streams
    // uncompressed, so the streams are deflated here, at zlib's fastest
    // level: the higher ones cost several times the time for a few per cent.
    let mut pdf = doc
        .with_pages(pages)
        .to_lopdf_document(&PdfSaveOptions { subset_fonts: false, ..Default::default() }, &mut Vec::new());
    if let (Some(logo), Some(at)) = (&inv.logo, logo_box) {
        image::place(&mut pdf, logo, at)?;
    }
    describe(&mut pdf, inv)?;
    font_descriptors_in_glyph_space(&mut pdf);
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

/// printpdf 0.9 writes the fonts' Ascent, Descent, CapHeight and FontBBox
/// in the font's own units (2048 an em for DejaVu) where PDF wants
/// thousandths of an em: readers then take every line for twice its height
/// (text selection and extraction overlap). Scaled here.
fn font_descriptors_in_glyph_space(pdf: &mut lopdf::Document) {
    use lopdf::Object;
    let scale = 1000.0 / f32::from(faces().0.units_per_em().max(1));
    let scaled = |o: &Object| match o {
        Object::Integer(i) => Object::Integer((*i as f32 * scale).round() as i64),
        Object::Real(r) => Object::Real(r * scale),
        other => other.clone(),
    };
    for object in pdf.objects.values_mut() {
        let Object::Dictionary(d) = object else { continue };
        if !matches!(d.get(b"Type"), Ok(Object::Name(n)) if n == b"FontDescriptor") {
            continue;
        }
        for key in [&b"Ascent"[..], b"Descent", b"CapHeight"] {
            if let Ok(v) = d.get(key) {
                let v = scaled(v);
                d.set(key, v);
            }
        }
        if let Ok(Object::Array(bbox)) = d.get(b"FontBBox") {
            let bbox = bbox.iter().map(scaled).collect::<Vec<_>>();
            d.set("FontBBox", Object::Array(bbox));
        }
    }
}

/// A PDF text string: ASCII as it is, anything else UTF-16BE with its mark.
fn pdf_text(s: &str) -> lopdf::Object {
    let bytes = if s.is_ascii() {
        s.as_bytes().to_vec()
    } else {
        [0xFE, 0xFF].into_iter().chain(s.encode_utf16().flat_map(u16::to_be_bytes)).collect()
    };
    lopdf::Object::String(bytes, lopdf::StringFormat::Literal)
}

/// The document information: Title, Author (the branch), Producer and the
/// creation date (when it was printed, not printpdf's 1970).
fn describe(pdf: &mut lopdf::Document, inv: &PrintableInvoice) -> Result<(), String> {
    let info = match pdf.trailer.get(b"Info") {
        Ok(lopdf::Object::Reference(id)) => *id,
        _ => {
            let id = pdf.add_object(lopdf::Dictionary::new());
            pdf.trailer.set("Info", lopdf::Object::Reference(id));
            id
        }
    };
    let date = inv.printed_at.format("D:%Y%m%d%H%M%SZ").to_string();
    let dict = pdf.get_dictionary_mut(info).map_err(|e| format!("pdf info: {e}"))?;
    dict.set("Title", pdf_text(&format!("{} {}", inv.title, inv.number)));
    dict.set("Author", pdf_text(&inv.author));
    dict.set("Creator", pdf_text(&format!("Pitlane {}", env!("CARGO_PKG_VERSION"))));
    dict.set("Producer", pdf_text(&format!("Pitlane {}", env!("CARGO_PKG_VERSION"))));
    dict.set("CreationDate", lopdf::Object::string_literal(date.clone()));
    dict.set("ModDate", lopdf::Object::string_literal(date));
    for unused in [&b"GTS_PDFXVersion"[..], b"Identifier", b"Keywords", b"Subject"] {
        dict.remove(unused);
    }
    Ok(())
}

/// A sample invoice for benchmarks and demos: a Greek customer at a German
/// garage, `lines` lines (labour first, then parts).
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
            lines: vec!["Hauptstraße 5, 10115 Berlin".into(), "030 1234567".into(), "Tax number: DE123456789".into()],
        },
        customer: Party {
            name: "Γιώργος Παπαδόπουλος".into(),
            lines: vec!["+30 21 0123 4567".into(), "giorgos@example.gr".into()],
        },
        vehicle: Party { name: "B-MW 1234".into(), lines: vec!["BMW 320d (2019)".into(), "Odometer 88,000 km".into()] },
        complaint: "Grinding noise when braking.".into(),
        work_performed: "Front pads worn to the backing plate; pads and discs replaced.".into(),
        currency: "EUR".into(),
        lines: (1..=lines)
            .map(|i| {
                let labour = i == 1;
                PrintLine {
                    group: if labour { "Labour" } else { "Parts" }.into(),
                    description: format!("Part {i}: brake pad set, front axle (Bremsbeläge vorne)"),
                    sku: if labour { String::new() } else { format!("BP-{:04}", 1000 + i) },
                    quantity: if labour { "1.5 h".into() } else { "1 pcs".into() },
                    unit_price: format!("{}.00", 20 + i % 50),
                    tax_rate: "19%".into(),
                    amount: format!("{}.00", 20 + i % 50),
                }
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
        payment_instructions: "Bank transfer to IBAN DE00 1234 5678 9012, quoting the invoice number.".into(),
        footer: "Thank you for your custom.".into(),
        logo: None,
        author: "Werkstatt Müller & Söhne".into(),
        printed_at: chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default(),
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
    fn long_names_break_after_their_hyphens() {
        let name = "Maximiliane-Alexander Konstantinopoulos-Vandermeulen-Oberhof";
        let lines = wrap(Face::Bold, 11.0, name, 60.0);
        assert_eq!(lines, ["Maximiliane-Alexander", "Konstantinopoulos-", "Vandermeulen-Oberhof"]);
    }

    #[test]
    fn wider_text_measures_wider() {
        assert!(width(Face::Regular, BODY, "WWW") > width(Face::Regular, BODY, "iii"));
        assert!(width(Face::Bold, BODY, "Total") > width(Face::Regular, BODY, "Total"));
    }
}
