//! Quick search: folded terms for each customer (name words, email, phone
//! digits international and national) and vehicle (plate, VIN). A prefix
//! search is one index range scan on `search_terms.term`.

use rusqlite::{params, Connection, Transaction};

use crate::error::Result;
use crate::validate::{national_digits, plate_key};

/// Letters and digits only, lower case: "John-Paul O'Neil" → "johnpauloneil".
pub fn fold(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// What a search box's text is matched as: its folded letters and digits,
/// like every term ("john.doe@ex" → "johndoeex").
pub fn query_key(q: &str) -> String {
    fold(q)
}

/// The exclusive upper bound of a prefix range: every string that starts
/// with `prefix` sorts below `prefix + U+10FFFF`.
pub fn prefix_end(prefix: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + 4);
    s.push_str(prefix);
    s.push(char::MAX);
    s
}

/// Terms for a customer's own fields.
pub fn customer_terms(name: &str, email: Option<&str>, phone: Option<&str>) -> Vec<String> {
    let mut terms = Vec::new();
    let whole = fold(name);
    if !whole.is_empty() {
        terms.push(whole);
    }
    // Each later word, so "Doe" finds "John Doe".
    for word in name.split_whitespace().skip(1) {
        let w = fold(word);
        if !w.is_empty() {
            terms.push(w);
        }
    }
    if let Some(e) = email {
        terms.push(fold(e));
    }
    if let Some(p) = phone {
        terms.push(p.trim_start_matches('+').to_string());
        if let Some(n) = national_digits(p) {
            terms.push(n);
        }
    }
    terms.sort();
    terms.dedup();
    terms
}

pub fn vehicle_terms(plate: &str, vin: Option<&str>) -> Vec<String> {
    let mut terms = vec![plate_key(plate).to_lowercase()];
    if let Some(v) = vin {
        terms.push(v.to_lowercase());
    }
    terms.retain(|t| !t.is_empty());
    terms.dedup();
    terms
}

/// Replaces a customer's own terms and refreshes their card.
pub fn replace_customer_terms_tx(tx: &Transaction, customer_id: &str, terms: &[String]) -> Result<()> {
    tx.prepare_cached("DELETE FROM search_terms WHERE customer_id = ?1 AND vehicle_id = ''")?.execute([customer_id])?;
    let mut ins =
        tx.prepare_cached("INSERT OR IGNORE INTO search_terms (term, customer_id, vehicle_id) VALUES (?1, ?2, '')")?;
    for t in terms {
        ins.execute(params![t, customer_id])?;
    }
    refresh_card_tx(tx, customer_id)
}

/// Replaces a vehicle's terms (under its owner) and refreshes the owner's card.
pub fn replace_vehicle_terms_tx(tx: &Transaction, customer_id: &str, vehicle_id: &str, terms: &[String]) -> Result<()> {
    // `vehicle_id <> ''` lets SQLite use the partial index on vehicle terms.
    tx.prepare_cached("DELETE FROM search_terms WHERE vehicle_id = ?1 AND vehicle_id <> ''")?.execute([vehicle_id])?;
    let mut ins =
        tx.prepare_cached("INSERT OR IGNORE INTO search_terms (term, customer_id, vehicle_id) VALUES (?1, ?2, ?3)")?;
    for t in terms {
        ins.execute(params![t, customer_id, vehicle_id])?;
    }
    refresh_card_tx(tx, customer_id)
}

/// Rebuilds a customer's result card from their row and vehicles and
/// stores it on every one of their terms. Call after any change to the
/// customer or their vehicles, in the same transaction.
pub fn refresh_card_tx(tx: &Transaction, customer_id: &str) -> Result<()> {
    let card = tx
        .prepare_cached(
            "SELECT json_object('id', c.id, 'name', c.name, 'email', c.email, 'phone', c.phone,
                    'vehicles', (SELECT json_group_array(json_object('id', v.id, 'license_plate', v.license_plate,
                                        'make', v.make, 'model', v.model, 'year', v.year))
                                 FROM (SELECT * FROM vehicles WHERE customer_id = c.id ORDER BY created_at, id) v))
             FROM customers c WHERE c.id = ?1",
        )?
        .query_row([customer_id], |r| r.get::<_, String>(0))?;
    tx.prepare_cached("UPDATE search_terms SET card = ?2 WHERE customer_id = ?1")?
        .execute(params![customer_id, card])?;
    Ok(())
}

/// One search hit: the customer and, for a plate or VIN match, the vehicle.
pub struct Hit {
    pub customer_id: String,
    pub vehicle_id: String,
    pub card: String,
}

/// Terms that start with the query, in index order, read one by one until
/// `limit` distinct customers are found: one range scan answers the search.
pub fn hits(conn: &Connection, query: &str, limit: i64) -> Result<Vec<Hit>> {
    let key = query_key(query);
    if key.is_empty() {
        return Ok(Vec::new());
    }
    let limit = usize::try_from(limit).unwrap_or(0);
    let mut stmt =
        conn.prepare_cached("SELECT customer_id, vehicle_id, card FROM search_terms WHERE term >= ?1 AND term < ?2")?;
    let mut rows = stmt.query(params![key, prefix_end(&key)])?;
    let mut hits: Vec<Hit> = Vec::new();
    let mut customers = 0;
    while let Some(r) = rows.next()? {
        let customer_id: String = r.get(0)?;
        let vehicle_id: String = r.get(1)?;
        if hits.iter().any(|h| h.customer_id == customer_id && h.vehicle_id == vehicle_id) {
            continue;
        }
        if !hits.iter().any(|h| h.customer_id == customer_id) {
            if customers == limit {
                break;
            }
            customers += 1;
        }
        hits.push(Hit { customer_id, vehicle_id, card: r.get(2)? });
    }
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_of_a_customer() {
        let t = customer_terms("John Doe", Some("John@Example.com"), Some("+14155552671"));
        for want in ["johndoe", "doe", "johnexamplecom", "14155552671", "4155552671"] {
            assert!(t.contains(&want.to_string()), "{want} in {t:?}");
        }
    }

    #[test]
    fn queries_fold_like_terms() {
        assert_eq!(query_key("John D"), "johnd");
        assert_eq!(query_key("abc 1"), "abc1");
        assert_eq!(query_key("+1 (415) 555"), "1415555");
        assert_eq!(query_key(" John@Ex "), "johnex");
        assert_eq!(query_key("Ærø Østergård"), "ærøøstergård");
    }
}
