//! Device tokens: `plc_` and the base64url of 32 random bytes. Shown once by `device add`,
//! stored only as SHA-256 (`store::token_hash`), compared by looking the hash up.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;

/// A new random token.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("plc_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The token of an `Authorization: Bearer …` header value.
pub fn bearer(header: Option<&str>) -> Option<&str> {
    let token = header?.strip_prefix("Bearer ")?.trim();
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_prefixed() {
        let (a, b) = (new_token(), new_token());
        assert!(a.starts_with("plc_") && a.len() == 4 + 43, "{} chars", a.len());
        assert_ne!(a, b, "two tokens differ");
    }

    #[test]
    fn only_a_bearer_header_carries_a_token() {
        assert_eq!(bearer(Some("Bearer plc_x")), Some("plc_x"));
        assert_eq!(bearer(Some("Basic plc_x")), None);
        assert_eq!(bearer(Some("Bearer ")), None);
        assert_eq!(bearer(None), None);
    }
}
