//! Words for people: a count with its noun in the right number ("1 page",
//! "2 pages"), lists joined with "and", and input field paths named as a
//! person would say them ("integrations.smtp_port" is "SMTP port").

/// `n` and the noun that agrees with it: `plural(1, "page", "pages")` is
/// "1 page", `plural(0, "page", "pages")` is "0 pages".
pub fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A line's quantity with its unit, as the card and the invoice print it:
/// "0.5 h", "4.5 L", "2 pcs", and "1 pc" (the count's unit in the singular);
/// no unit (fees) leaves the number alone.
pub fn quantity(display: &str, unit: &str) -> String {
    match (display, unit) {
        (_, "") => display.to_string(),
        ("1", "pcs") => "1 pc".to_string(),
        _ => format!("{display} {unit}"),
    }
}

/// "a", "a and b", "a, b and c".
pub fn and_list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [only] => only.as_ref().to_string(),
        [init @ .., last] => {
            let init: Vec<&str> = init.iter().map(AsRef::as_ref).collect();
            format!("{} and {}", init.join(", "), last.as_ref())
        }
    }
}

/// An input field's path as people say it: its last name in words, what
/// an `_id` points at, abbreviations in capitals, and the line for fields
/// inside a list: `adjustments[2].quantity` is "quantity on line 3".
pub fn field_label(path: &str) -> String {
    let mut line = None;
    let mut last = path;
    for segment in path.split('.') {
        let name = segment.split('[').next().unwrap_or(segment);
        if let Some(index) = segment.rsplit('[').next().filter(|_| segment.contains('[')) {
            line = index.trim_end_matches(']').parse::<u64>().ok().map(|i| i + 1);
        }
        last = name;
    }
    let name = last.strip_suffix("_id").unwrap_or(last);
    let name = name.strip_suffix("_bp").unwrap_or(name);
    let words: Vec<String> = name
        .split('_')
        .filter(|w| !w.is_empty())
        .map(|w| match w {
            "smtp" | "sms" | "vin" | "pin" | "sku" | "pdf" | "url" => w.to_uppercase(),
            _ => w.to_string(),
        })
        .collect();
    let words = if words.is_empty() { "input".to_string() } else { words.join(" ") };
    match line {
        Some(n) => format!("{words} on line {n}"),
        None => words,
    }
}

/// A date as the invoice writes it, in `tz`: "25 Nov 2026" (from RFC 3339 or `YYYY-MM-DD`).
pub fn day(at: &str, tz: chrono_tz::Tz) -> String {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(at) {
        return t.with_timezone(&chrono::Utc).with_timezone(&tz).format("%-d %b %Y").to_string();
    }
    chrono::NaiveDate::parse_from_str(at, "%Y-%m-%d")
        .map(|d| d.format("%-d %b %Y").to_string())
        .unwrap_or_else(|_| at.into())
}

/// A phone as the branch writes it: the national format for numbers of the
/// branch's country, the international one for others; as stored when it
/// does not read as a number.
pub fn phone(raw: &str, country: &str) -> String {
    let home: Option<phonenumber::country::Id> = country.parse().ok();
    match phonenumber::parse(home, raw.trim()) {
        Ok(n) => {
            let mode = if home.is_some() && n.country().id() == home {
                phonenumber::Mode::National
            } else {
                phonenumber::Mode::International
            };
            n.format().mode(mode).to_string()
        }
        _ => raw.trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quantity_reads_with_its_unit() {
        let cases = [
            ("half an hour of labour", "0.5", "h", "0.5 h"),
            ("litres of oil", "4.5", "L", "4.5 L"),
            ("two parts", "2", "pcs", "2 pcs"),
            ("one part is a piece", "1", "pcs", "1 pc"),
            ("a fraction of a piece stays plural", "0.5", "pcs", "0.5 pcs"),
            ("a fee has no unit", "1", "", "1"),
        ];
        for (scenario, display, unit, want) in cases {
            assert_eq!(quantity(display, unit), want, "{scenario}");
        }
    }

    #[test]
    fn a_count_agrees_with_its_noun() {
        let cases = [
            ("none", 0, "0 pages"),
            ("one", 1, "1 page"),
            ("two", 2, "2 pages"),
            ("eleven", 11, "11 pages"),
            ("twenty-one is still many in English", 21, "21 pages"),
            ("minus one", -1, "-1 pages"),
        ];
        for (scenario, n, expected) in cases {
            assert_eq!(plural(n, "page", "pages"), expected, "{scenario}");
        }
        assert_eq!(plural(1, "service type", "service types"), "1 service type", "an irregular many is given");
        assert_eq!(plural(3, "person", "people"), "3 people", "an irregular many is given");
    }

    #[test]
    fn lists_are_joined_with_and() {
        let cases: [(&str, &[&str], &str); 4] = [
            ("nothing", &[], ""),
            ("one", &["name"], "name"),
            ("two", &["name", "email"], "name and email"),
            ("three", &["name", "email", "phone"], "name, email and phone"),
        ];
        for (scenario, items, expected) in cases {
            assert_eq!(and_list(items), expected, "{scenario}");
        }
    }

    #[test]
    fn fields_are_named_as_people_say_them() {
        let cases = [
            ("a plain field", "name", "name"),
            ("words", "customer_email", "customer email"),
            ("an id names what it points at", "job_card_id", "job card"),
            ("a section's field", "branch.time_zone", "time zone"),
            ("an abbreviation", "integrations.smtp_port", "SMTP port"),
            ("an address", "integrations.payment_gateway_url", "payment gateway URL"),
            ("basis points are a rate", "branch.default_tax_rate_bp", "default tax rate"),
            ("a field on a list's line", "adjustments[2].quantity", "quantity on line 3"),
            ("the innermost line", "service_types[0].lines[1].unit_price", "unit price on line 2"),
            ("a list element itself", "bays[0].capabilities[3]", "capabilities on line 4"),
            ("the whole input", "input", "input"),
        ];
        for (scenario, path, expected) in cases {
            assert_eq!(field_label(path), expected, "{scenario}");
        }
    }
}
