//! An invoice as a printer gets it: every text worded and every amount
//! formatted by the core (`printing::printable`), laid out outside the core
//! (`crates/pdf`) through [`InvoicePrinter`].

use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, ts_rs::TS)]
pub enum Paper {
    A4,
    Letter,
}

/// A name and the lines under it (address, phone, tax number…).
#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct Party {
    pub name: String,
    pub lines: Vec<String>,
}

/// One line as printed. Lines come grouped (labour, then parts, then
/// fees), each group under its `group` heading.
#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct PrintLine {
    /// "Labour", "Parts" or "Fees".
    pub group: String,
    pub description: String,
    /// The part number of a part line; empty for labour and fees.
    pub sku: String,
    /// With its unit: "0.5 h", "4.5 L", "2 pcs".
    pub quantity: String,
    pub unit_price: String,
    pub tax_rate: String,
    /// Before tax: the lines add up to the subtotal; tax is in the summary.
    pub amount: String,
}

/// Everything an invoice shows, already worded and formatted.
#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct PrintableInvoice {
    pub paper: Paper,
    pub title: String,
    pub number: String,
    /// (label, value): issue date, due date, job card, status.
    pub facts: Vec<(String, String)>,
    pub branch: Party,
    pub customer: Party,
    pub vehicle: Party,
    /// What the customer reported, and what the technician found and did.
    pub complaint: String,
    pub work_performed: String,
    pub currency: String,
    pub lines: Vec<PrintLine>,
    /// (label, amount): subtotal, discount, tax per rate, total.
    pub totals: Vec<(String, String)>,
    /// (label, amount) per payment and refund.
    pub payments: Vec<(String, String)>,
    pub balance_due: (String, String),
    pub notes: String,
    /// Bank details, how to pay (the branch's setting).
    pub payment_instructions: String,
    pub footer: String,
    #[serde(skip)]
    pub logo: Option<crate::logo::Logo>,
    /// The PDF's Author (the branch) and creation date (when printed).
    pub author: String,
    pub printed_at: DateTime<Utc>,
}

/// A finished document.
#[derive(Debug, Clone, PartialEq)]
pub struct Printed {
    pub bytes: Vec<u8>,
    pub pages: u32,
}

/// Lays out an invoice as a PDF.
pub trait InvoicePrinter: Send + Sync {
    fn print(&self, invoice: &PrintableInvoice) -> std::result::Result<Printed, String>;
}
