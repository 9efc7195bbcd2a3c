//! Twilio SIDs: two uppercase letters and 32 lowercase hex digits.
//!
//! Lowercase hex matters: `@twilio-labs/serverless-api` recognises SIDs with `/^[A-Z]{2}[a-f0-9]{32}$/`.

use rand::Rng;

/// The prefixes of the resources twirl stores.
pub mod prefix {
    pub const ACCOUNT: &str = "AC";
    pub const SERVICE: &str = "ZS";
    pub const ENVIRONMENT: &str = "ZE";
    /// Functions and assets share one prefix.
    pub const RESOURCE: &str = "ZH";
    /// Function versions and asset versions share one prefix.
    pub const VERSION: &str = "ZN";
    pub const BUILD: &str = "ZB";
    pub const DEPLOYMENT: &str = "ZD";
    pub const VARIABLE: &str = "ZV";
    pub const LOG: &str = "NO";
    pub const REQUEST: &str = "RQ";
    pub const API_KEY: &str = "SK";
}

/// A fresh random SID with the given prefix.
pub fn generate(prefix: &str) -> String {
    let bytes: [u8; 16] = rand::rng().random();
    let mut sid = String::with_capacity(34);
    sid.push_str(prefix);
    for b in bytes {
        sid.push_str(&format!("{b:02x}"));
    }
    sid
}

/// Whether `value` is a well-formed SID with `prefix` (hex of either case, as Twilio's patterns allow).
pub fn is_sid(value: &str, prefix: &str) -> bool {
    value.len() == 34 && value.starts_with(prefix) && value[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The SID with its hex digits lowercased, as twirl emits them (callers check `is_sid` first).
pub fn normalize(value: &str) -> String {
    let (prefix, digits) = value.split_at(2.min(value.len()));
    format!("{prefix}{}", digits.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_sids_are_lowercase_hex_with_prefix() {
        let sid = generate(prefix::SERVICE);
        assert!(is_sid(&sid, "ZS"));
        assert!(sid[2..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_ne!(sid, generate(prefix::SERVICE));
    }

    #[test]
    fn is_sid_checks_prefix_length_and_digits() {
        assert!(!is_sid("ZE0123456789abcdef0123456789abcdef", "ZS"));
        assert!(!is_sid("ZS0123", "ZS"));
        assert!(!is_sid("ZS0123456789abcdef0123456789abcdeg", "ZS"));
        assert!(is_sid("ZS0123456789ABCDEF0123456789abcdef", "ZS"));
    }
}
