//! Input checks shared by the commands: every bad field is collected, so a
//! 422 lists them all at once. Normalizers for the matching rules of SPEC 3
//! (email ignoring case, phone as E.164, plate ignoring case/spaces/hyphens,
//! VIN with its check digit) live here as pure functions.

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer};

use crate::error::{Error, FieldError, Result};

/// Longest free text accepted anywhere (notes, findings).
pub const MAX_TEXT: usize = 4000;
/// Longest short text (names, descriptions).
pub const MAX_NAME: usize = 200;

#[derive(Default, Debug)]
pub struct Violations(Vec<FieldError>);

impl Violations {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError { field: field.into(), message: message.into() });
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn into_result(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self.0))
        }
    }

    /// A required text: trimmed, not empty, at most `max` characters.
    pub fn required(&mut self, field: &str, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.add(field, "is required");
        } else {
            self.max_len(field, value, max);
        }
    }

    pub fn max_len(&mut self, field: &str, value: &str, max: usize) {
        if value.chars().count() > max {
            self.add(
                field,
                format!("must be at most {}", crate::wording::plural(max as i64, "character", "characters")),
            );
        }
    }

    pub fn optional(&mut self, field: &str, value: Option<&str>, max: usize) {
        if let Some(v) = value {
            self.max_len(field, v, max);
        }
    }

    pub fn range(&mut self, field: &str, value: i64, min: i64, max: i64) {
        if value < min || value > max {
            self.add(field, format!("must be between {min} and {max}"));
        }
    }

    /// A price or rate in minor units: 0 up to [`crate::money::MAX_AMOUNT`],
    /// worded as money ("from 0.00 to 9,999,999.99").
    pub fn amount(&mut self, field: &str, value: i64) {
        let max = crate::money::MAX_AMOUNT;
        if !(0..=max).contains(&value) {
            self.add(field, format!("must be from 0.00 to {}", crate::money::amount(max)));
        }
    }

    /// A date written exactly `YYYY-MM-DD` within [`MIN_YEAR`]..=[`MAX_YEAR`].
    pub fn date(&mut self, field: &str, value: &str) {
        if parse_date(value).is_none() {
            self.add(field, DATE_MESSAGE);
        }
    }
}

/// The first and last year a date input may name. Beyond them a date is a
/// typo or an attack, and a visit near the end of the calendar could not be
/// represented; inside them every date also sorts correctly as text.
pub const MIN_YEAR: i32 = 2000;
pub const MAX_YEAR: i32 = 2100;

/// What a bad date input is told.
pub const DATE_MESSAGE: &str = "must be a date YYYY-MM-DD between 2000-01-01 and 2100-12-31";

/// The one reading of a date input: exactly `YYYY-MM-DD` (four-digit year,
/// two-digit month and day, no sign, spaces or time), a real calendar day,
/// the year within [`MIN_YEAR`]..=[`MAX_YEAR`]. chrono's own parsers accept
/// `+12026-01-01` and `2026-1-5`, which would break the text ordering that
/// stored dates rely on.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !digits(0..4) || !digits(5..7) || !digits(8..10) {
        return None;
    }
    let year: i32 = s[0..4].parse().ok()?;
    if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
        return None;
    }
    NaiveDate::from_ymd_opt(year, s[5..7].parse().ok()?, s[8..10].parse().ok()?)
}

/// [`parse_date`], or a 422 naming `field`.
pub fn date_field(field: &str, s: &str) -> Result<NaiveDate> {
    parse_date(s).ok_or_else(|| Error::field(field, DATE_MESSAGE))
}

/// Implemented by every command input: adds each bad field to `v`.
pub trait Validate {
    fn validate(&self, _v: &mut Violations) {}
}

impl Validate for serde_json::Value {}

/// An email address as typed, checked for shape; its match key is the
/// lower-cased form.
pub fn check_email(raw: &str) -> std::result::Result<String, &'static str> {
    let email = raw.trim();
    if email.len() > 254 {
        return Err("is too long");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err("must be an email address like name@example.com");
    };
    let ok = !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(email.to_string())
    } else {
        Err("must be an email address like name@example.com")
    }
}

pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A phone number in E.164 ("+12345678900"), read with `default_country`
/// (ISO 3166 alpha-2) for numbers written without a country code.
pub fn normalize_phone(raw: &str, default_country: &str) -> std::result::Result<String, &'static str> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("is empty");
    }
    if raw.len() > 40 || raw.chars().any(|c| c.is_control()) {
        return Err("is not a phone number");
    }
    let digits = raw.chars().filter(char::is_ascii_digit).count();
    if !(5..=15).contains(&digits) {
        return Err("must have between 5 and 15 digits");
    }
    let country: Option<phonenumber::country::Id> = default_country.parse().ok();
    let number = phonenumber::parse(country, raw).map_err(|_| "is not a phone number")?;
    Ok(number.format().mode(phonenumber::Mode::E164).to_string())
}

/// The shape checks of a phone that need no country: used while validating
/// input, before the number is read with the branch's country.
pub fn check_phone_shape(raw: &str) -> std::result::Result<(), &'static str> {
    let raw = raw.trim();
    if raw.len() > 40 || raw.chars().any(|c| !(c.is_ascii_digit() || " +-().".contains(c))) {
        return Err("may hold only digits, spaces, +, -, ( and )");
    }
    let digits = raw.chars().filter(char::is_ascii_digit).count();
    if !(5..=15).contains(&digits) {
        return Err("must have between 5 and 15 digits");
    }
    Ok(())
}

/// The national significant number of an E.164 phone (for search by the
/// number as people say it locally).
pub fn national_digits(e164: &str) -> Option<String> {
    let number = phonenumber::parse(None, e164).ok()?;
    Some(number.national().value().to_string())
}

/// The matching key of a licence plate: upper case, letters and digits only,
/// so "abc 123", "ABC-123" and "Abc123" are one plate.
pub fn plate_key(plate: &str) -> String {
    plate.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_uppercase).collect()
}

/// Checks a VIN: 17 characters from A-Z and 0-9 without I, O, Q. The check
/// digit (position 9) applies to North American VINs (first character 1-5)
/// and is validated for them.
pub fn check_vin(raw: &str) -> std::result::Result<String, &'static str> {
    let vin: String = raw.trim().to_uppercase();
    if vin.chars().count() != 17 {
        return Err("must be 17 characters");
    }
    if !vin.chars().all(|c| c.is_ascii_alphanumeric() && !matches!(c, 'I' | 'O' | 'Q')) {
        return Err("may hold only letters and digits, without I, O or Q");
    }
    let bytes = vin.as_bytes();
    if matches!(bytes[0], b'1'..=b'5') {
        const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
        let value = |c: u8| -> u32 {
            match c {
                b'0'..=b'9' => u32::from(c - b'0'),
                b'A' | b'J' => 1,
                b'B' | b'K' | b'S' => 2,
                b'C' | b'L' | b'T' => 3,
                b'D' | b'M' | b'U' => 4,
                b'E' | b'N' | b'V' => 5,
                b'F' | b'W' => 6,
                b'G' | b'P' | b'X' => 7,
                b'H' | b'Y' => 8,
                b'R' | b'Z' => 9,
                _ => 0,
            }
        };
        let sum: u32 = bytes.iter().zip(WEIGHTS).map(|(&c, w)| value(c) * w).sum();
        let expected = match sum % 11 {
            10 => b'X',
            d => b'0' + d as u8,
        };
        if bytes[8] != expected {
            return Err("check digit (9th character) does not match");
        }
    }
    Ok(vin)
}

/// An `HH:MM` time of day, as minutes after midnight (24:00 allowed as an end).
pub fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let h: u32 = h.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    if (h < 24 && m < 60) || (h == 24 && m == 0) {
        Some(h * 60 + m)
    } else {
        None
    }
}

// ---- shared input shapes -----------------------------------------------------

/// `Some(None)` when the field is sent as null (clear it), `None` when left out.
pub fn double_option<'de, T, D>(de: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

#[derive(Debug, Deserialize, ts_rs::TS)]
#[ts(optional_fields = nullable)]
#[serde(deny_unknown_fields)]
pub struct IdInput {
    pub id: String,
}

impl Validate for IdInput {
    fn validate(&self, v: &mut Violations) {
        v.required("id", &self.id, 100);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_written_differently_are_one_number() {
        let cases = [
            ("spaces, brackets and hyphens", "+1 (234) 567-890", "US", "+1234567890"),
            ("already E.164", "+1234567890", "US", "+1234567890"),
            ("national with branch country", "(415) 555-2671", "US", "+14155552671"),
            ("UK national with trunk zero", "020 7946 0018", "GB", "+442079460018"),
            ("international prefix 00", "0044 20 7946 0018", "GB", "+442079460018"),
        ];
        for (name, raw, country, want) in cases {
            assert_eq!(normalize_phone(raw, country).as_deref(), Ok(want), "{name}");
        }
        assert!(normalize_phone("call me", "US").is_err());
        assert!(normalize_phone("12", "US").is_err());
    }

    #[test]
    fn plates_match_ignoring_case_spaces_and_hyphens() {
        assert_eq!(plate_key("abc 123"), plate_key("ABC-123"));
        assert_eq!(plate_key(" Ab-C 12 3 "), "ABC123");
        assert_ne!(plate_key("ABC-124"), plate_key("ABC-123"));
    }

    #[test]
    fn vins() {
        assert_eq!(check_vin("1M8GDM9AXKP042788"), Ok("1M8GDM9AXKP042788".into()), "valid check digit X");
        assert_eq!(check_vin("1m8gdm9axkp042788"), Ok("1M8GDM9AXKP042788".into()), "lower case accepted");
        assert!(check_vin("1M8GDM9A1KP042788").is_err(), "wrong check digit");
        assert!(check_vin("WVWZZZ1JZXW000001").is_ok(), "European VINs carry no check digit");
        assert!(check_vin("1M8GDM9AXKP04278").is_err(), "16 characters");
        assert!(check_vin("1M8GDM9AXKP04278O").is_err(), "letter O");
    }

    #[test]
    fn emails() {
        assert_eq!(email_key(" John@Example.com "), "john@example.com");
        assert!(check_email("john@example.com").is_ok());
        for bad in ["john", "john@", "@example.com", "jo hn@example.com", "john@example", "a@b@c.com"] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_are_exactly_yyyy_mm_dd_within_the_years_allowed() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        let cases = [
            ("a plain date", "2026-11-24", d(2026, 11, 24)),
            ("the first day allowed", "2000-01-01", d(2000, 1, 1)),
            ("the last day allowed", "2100-12-31", d(2100, 12, 31)),
            ("a leap day", "2028-02-29", d(2028, 2, 29)),
            ("a sign and five digits", "+12026-01-01", None),
            ("a plus sign", "+2026-01-01", None),
            ("a minus sign", "-2026-01-01", None),
            ("the end of the calendar", "9999-12-31", None),
            ("before the first year", "1999-12-31", None),
            ("after the last year", "2101-01-01", None),
            ("one-digit month and day", "2026-1-5", None),
            ("leading space", " 2026-01-05", None),
            ("trailing space", "2026-01-05 ", None),
            ("with a time", "2026-01-05T00:00", None),
            ("no hyphens", "20260105", None),
            ("slashes", "2026/01/05", None),
            ("not a real day", "2026-02-30", None),
            ("month 13", "2026-13-01", None),
            ("day zero", "2026-01-00", None),
            ("non-ASCII digits", "２０２６-01-05", None),
            ("empty", "", None),
        ];
        for (name, input, want) in cases {
            assert_eq!(parse_date(input), want, "{name}: {input:?}");
        }
    }

    #[test]
    fn times_of_day() {
        assert_eq!(parse_hhmm("08:30"), Some(510));
        assert_eq!(parse_hhmm("24:00"), Some(1440));
        assert_eq!(parse_hhmm("24:01"), None);
        assert_eq!(parse_hhmm("8:30"), None);
        assert_eq!(parse_hhmm("12:60"), None);
    }
}
