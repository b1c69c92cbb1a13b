//! Money is an integer count of minor units; tax rates are basis points
//! (1 bp = 0.01 %); quantities are thousandths of the item's unit.
//! Every operation is checked: overflow is a typed error, never a wrap.

use crate::error::{Error, Result};

/// Thousandths in one unit: a quantity of 2500 is 2.5 units.
pub const QTY_SCALE: i64 = 1000;
/// Basis points in 100 %.
pub const BP_SCALE: i64 = 10_000;

/// The largest amount Pitlane takes or prints, in minor units: 9,999,999.99.
/// A price, a line's amount and a job card's or invoice's total above it
/// are refused at input (422), so every amount fits the invoice's columns
/// and sums of many invoices stay far from `i64`'s end.
pub const MAX_AMOUNT: i64 = 999_999_999;

/// A refusal of `amount` above [`MAX_AMOUNT`], naming `field`.
pub fn check_amount(field: &str, what: &str, amount: i64) -> Result<()> {
    if amount > MAX_AMOUNT {
        return Err(Error::field(
            field,
            format!(
                "makes {what} of {}, more than the most Pitlane prints ({})",
                self::amount(amount),
                self::amount(MAX_AMOUNT)
            ),
        ));
    }
    Ok(())
}

/// `numerator / denominator`, rounded half away from zero.
/// `denominator` must be positive.
pub fn div_round_half_away(numerator: i128, denominator: i128) -> i128 {
    debug_assert!(denominator > 0);
    let q = numerator / denominator;
    let r = numerator % denominator;
    if r.abs() * 2 >= denominator {
        q + numerator.signum()
    } else {
        q
    }
}

fn to_i64(v: i128, field: &str) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::Overflow { field: field.to_string() })
}

/// Net amount of a line: `unit_price × quantity / 1000`, rounded half away from zero.
pub fn line_net(unit_price: i64, quantity: i64) -> Result<i64> {
    let v = div_round_half_away(i128::from(unit_price) * i128::from(quantity), i128::from(QTY_SCALE));
    to_i64(v, "line_total")
}

/// Tax on one line, rounded half away from zero to the minor unit.
pub fn line_tax(net: i64, rate_bp: i64) -> Result<i64> {
    let v = div_round_half_away(i128::from(net) * i128::from(rate_bp), i128::from(BP_SCALE));
    to_i64(v, "tax")
}

/// Checked sum of amounts.
pub fn sum(amounts: impl IntoIterator<Item = i64>, field: &str) -> Result<i64> {
    amounts
        .into_iter()
        .try_fold(0i64, |acc, a| acc.checked_add(a).ok_or_else(|| Error::Overflow { field: field.to_string() }))
}

pub fn add(a: i64, b: i64, field: &str) -> Result<i64> {
    a.checked_add(b).ok_or_else(|| Error::Overflow { field: field.to_string() })
}

/// A quantity for people: in the unit, without trailing zeros ("5", "2.5", "0.125").
pub fn format_quantity(thousandths: i64) -> String {
    let sign = if thousandths < 0 { "-" } else { "" };
    let abs = thousandths.unsigned_abs();
    let whole = abs / QTY_SCALE as u64;
    let frac = abs % QTY_SCALE as u64;
    if frac == 0 {
        format!("{sign}{whole}")
    } else {
        let f = format!("{frac:03}");
        format!("{sign}{whole}.{}", f.trim_end_matches('0'))
    }
}

/// Minor units for people, with two decimals ("12.50"); the currency code is
/// shown beside it by the caller.
pub fn format_minor(amount: i64) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// 1234567 → "12,345.67".
pub fn amount(minor: i64) -> String {
    let plain = format_minor(minor);
    let (sign, rest) = plain.strip_prefix('-').map(|r| ("-", r)).unwrap_or(("", plain.as_str()));
    let (whole, cents) = rest.split_once('.').unwrap_or((rest, "00"));
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}.{cents}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_half_away_from_zero() {
        let cases = [
            ("exact", 1000, 1000, 1),
            ("half up", 1500, 1000, 2),
            ("just under half", 1499, 1000, 1),
            ("negative half goes away from zero", -1500, 1000, -2),
            ("negative under half", -1499, 1000, -1),
            ("zero", 0, 1000, 0),
        ];
        for (name, n, d, want) in cases {
            assert_eq!(div_round_half_away(n, d), want, "{name}");
        }
    }

    #[test]
    fn line_tax_rounds_per_line() {
        // 19.99 at 8.25 % = 1.649175 -> 1.65
        assert_eq!(line_tax(1999, 825).unwrap(), 165);
        // 0.05 at 10 % = 0.005 -> 0.01 (half away from zero)
        assert_eq!(line_tax(5, 1000).unwrap(), 1);
        assert_eq!(line_tax(-5, 1000).unwrap(), -1, "credit lines round away from zero too");
    }

    #[test]
    fn line_net_of_fractional_quantities() {
        assert_eq!(line_net(1250, 2500).unwrap(), 3125, "2.5 litres at 12.50");
        assert_eq!(line_net(333, 1500).unwrap(), 500, "499.5 rounds to 500");
    }

    #[test]
    fn overflow_is_an_error() {
        assert!(matches!(line_net(i64::MAX, 2000), Err(Error::Overflow { .. })));
        assert!(matches!(sum([i64::MAX, 1], "total"), Err(Error::Overflow { .. })));
    }

    #[test]
    fn quantities_without_trailing_zeros() {
        for (q, want) in [(5000, "5"), (2500, "2.5"), (125, "0.125"), (0, "0"), (-1500, "-1.5"), (1010, "1.01")] {
            assert_eq!(format_quantity(q), want);
        }
        assert_eq!(format_minor(1250), "12.50");
        assert_eq!(format_minor(-5), "-0.05");
    }
}
