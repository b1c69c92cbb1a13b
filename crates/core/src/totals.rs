//! Totals of a job card or invoice: per-line tax rounded half away from
//! zero to the minor unit, invoice tax = the sum of line taxes, a summary
//! per rate, and a discount taken off the total. Pure and checked.

use serde::Serialize;
use serde_json::json;

use crate::error::{Error, Result};
use crate::money::{add, line_net, line_tax, sum};

/// What a line contributes: price × quantity, at a tax rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineInput {
    pub unit_price: i64,
    /// Thousandths.
    pub quantity: i64,
    pub tax_rate_bp: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct LineTotal {
    pub net: i64,
    pub tax: i64,
    pub total: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ts_rs::TS)]
pub struct RateTotal {
    pub rate_bp: i64,
    pub net: i64,
    pub tax: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Totals {
    pub lines: Vec<LineTotal>,
    pub subtotal: i64,
    pub tax_total: i64,
    pub tax_summary: Vec<RateTotal>,
    pub discount: i64,
    pub total: i64,
}

pub fn line_total(l: LineInput) -> Result<LineTotal> {
    let net = line_net(l.unit_price, l.quantity)?;
    let tax = line_tax(net, l.tax_rate_bp)?;
    Ok(LineTotal { net, tax, total: add(net, tax, "line_total")? })
}

/// The totals of `lines` less `discount` (minor units, taken off the total
/// after tax; it may not exceed it).
pub fn totals(lines: &[LineInput], discount: i64) -> Result<Totals> {
    let per_line = lines.iter().map(|l| line_total(*l)).collect::<Result<Vec<_>>>()?;
    let subtotal = sum(per_line.iter().map(|l| l.net), "subtotal")?;
    let tax_total = sum(per_line.iter().map(|l| l.tax), "tax_total")?;
    let mut tax_summary: Vec<RateTotal> = Vec::new();
    for (l, t) in lines.iter().zip(&per_line) {
        match tax_summary.iter_mut().find(|r| r.rate_bp == l.tax_rate_bp) {
            Some(r) => {
                r.net = add(r.net, t.net, "tax_summary")?;
                r.tax = add(r.tax, t.tax, "tax_summary")?;
            }
            None => tax_summary.push(RateTotal { rate_bp: l.tax_rate_bp, net: t.net, tax: t.tax }),
        }
    }
    tax_summary.sort_by_key(|r| r.rate_bp);
    let gross = add(subtotal, tax_total, "total")?;
    if discount < 0 || discount > gross {
        return Err(Error::rule(
            "discount_too_large",
            "The discount is larger than the total.",
            json!({ "discount": discount, "total": gross }),
        ));
    }
    Ok(Totals { lines: per_line, subtotal, tax_total, tax_summary, discount, total: gross - discount })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(unit_price: i64, quantity: i64, tax_rate_bp: i64) -> LineInput {
        LineInput { unit_price, quantity, tax_rate_bp }
    }

    #[test]
    fn scenarios() {
        // (scenario, lines, discount, subtotal, tax, total)
        type Case = (&'static str, Vec<LineInput>, i64, i64, i64, i64);
        let cases: &[Case] = &[
            ("one labour hour at 8.25 %", vec![l(11000, 1000, 825)], 0, 11000, 908, 11908),
            ("half an hour", vec![l(11000, 500, 825)], 0, 5500, 454, 5954),
            ("4.5 litres of oil", vec![l(1150, 4500, 825)], 0, 5175, 427, 5602),
            ("tax rounded per line, not on the sum", vec![l(5, 1000, 1000), l(5, 1000, 1000)], 0, 10, 2, 12),
            ("discount off the total", vec![l(10000, 1000, 2000)], 1500, 10000, 2000, 10500),
            ("zero-rated line", vec![l(8900, 1000, 0)], 0, 8900, 0, 8900),
        ];
        for (name, lines, discount, subtotal, tax, total) in cases {
            let t = totals(lines, *discount).unwrap();
            assert_eq!((t.subtotal, t.tax_total, t.total), (*subtotal, *tax, *total), "{name}");
        }
    }

    #[test]
    fn summary_per_rate() {
        // 82.5 -> 83 and 247.5 -> 248: the per-line rounding makes 331, not 330 on the rate total.
        let t = totals(&[l(1000, 1000, 825), l(2000, 1000, 0), l(3000, 1000, 825)], 0).unwrap();
        assert_eq!(
            t.tax_summary,
            vec![RateTotal { rate_bp: 0, net: 2000, tax: 0 }, RateTotal { rate_bp: 825, net: 4000, tax: 331 }]
        );
    }

    #[test]
    fn a_discount_above_the_total_is_refused() {
        assert!(matches!(totals(&[l(1000, 1000, 0)], 1001), Err(Error::Rule { code: "discount_too_large", .. })));
    }

    proptest::proptest! {
        #[test]
        fn totals_add_up(lines in proptest::collection::vec((0i64..10_000_000, 1i64..100_000, 0i64..3000), 0..30), pct in 0i64..100) {
            let lines: Vec<LineInput> = lines.into_iter().map(|(p, q, r)| l(p, q, r)).collect();
            let undiscounted = totals(&lines, 0).unwrap();
            let discount = (undiscounted.subtotal + undiscounted.tax_total) * pct / 100;
            let t = totals(&lines, discount).unwrap();
            proptest::prop_assert_eq!(t.subtotal, t.lines.iter().map(|x| x.net).sum::<i64>());
            proptest::prop_assert_eq!(t.tax_total, t.lines.iter().map(|x| x.tax).sum::<i64>(), "invoice tax is the sum of line taxes");
            proptest::prop_assert_eq!(t.tax_total, t.tax_summary.iter().map(|r| r.tax).sum::<i64>());
            proptest::prop_assert_eq!(t.total, t.subtotal + t.tax_total - discount);
            for (x, li) in t.lines.iter().zip(&lines) {
                // |tax - exact| <= 0.5 minor unit
                let exact2 = 2 * (x.net as i128) * (li.tax_rate_bp as i128);
                proptest::prop_assert!((2 * 10_000 * x.tax as i128 - exact2).abs() <= 10_000, "tax rounded to the nearest unit");
            }
        }
    }
}
