//! Twilio SIDs: two uppercase letters and 32 lowercase hex digits.
//!
//! Lowercase hex matters: `@twilio-labs/serverless-api` recognises SIDs with `/^[A-Z]{2}[a-f0-9]{32}$/`.

use rand::Rng;
use sha2::{Digest, Sha256};
use std::cell::RefCell;

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
    pub const PHONE_NUMBER: &str = "PN";
    pub const MESSAGE: &str = "SM";
    /// Messages with media.
    pub const MMS: &str = "MM";
    pub const MEDIA: &str = "ME";
    pub const ALERT: &str = "NO";
    pub const CALL: &str = "CA";
    pub const RECORDING: &str = "RE";
    pub const TRANSCRIPTION: &str = "TR";
    pub const VERIFY_SERVICE: &str = "VA";
    pub const VERIFICATION: &str = "VE";
    /// A code sent for a verification (Verify's send attempts).
    pub const VERIFICATION_ATTEMPT: &str = "VL";
    pub const SYNC_SERVICE: &str = "IS";
    pub const SYNC_DOCUMENT: &str = "ET";
    pub const SYNC_LIST: &str = "ES";
    pub const SYNC_MAP: &str = "MP";
    pub const SYNC_STREAM: &str = "TO";
    pub const SYNC_STREAM_MESSAGE: &str = "TZ";
}

/// While a fixture loads, SIDs (and the digits of domain bases) come from its content rather
/// than from chance, so loading the same fixture always gives the same SIDs; a SID the fixture
/// pins is used as is.
struct Plan {
    seed: [u8; 32],
    counter: u64,
    pinned: Option<String>,
}

thread_local! {
    static PLAN: RefCell<Option<Plan>> = const { RefCell::new(None) };
}

/// Runs `f` with SIDs derived from `seed`. Fixtures load on the store's thread, inside one call,
/// so the plan covers exactly their writes.
pub fn deterministic<T>(seed: &[u8], f: impl FnOnce() -> T) -> T {
    let seed: [u8; 32] = Sha256::digest(seed).into();
    PLAN.with(|p| {
        *p.borrow_mut() = Some(Plan {
            seed,
            counter: 0,
            pinned: None,
        })
    });
    let result = f();
    PLAN.with(|p| *p.borrow_mut() = None);
    result
}

/// Makes the next SID generated (inside `deterministic`) be `sid`.
pub fn pin_next(sid: Option<&str>) {
    PLAN.with(|p| {
        if let Some(plan) = p.borrow_mut().as_mut() {
            plan.pinned = sid.map(normalize);
        }
    });
}

/// 16 bytes from the plan when one is active (and `true`), else random (and `false`).
fn next_bytes() -> ([u8; 16], bool) {
    let planned = PLAN.with(|p| {
        p.borrow_mut().as_mut().map(|plan| {
            plan.counter += 1;
            let digest = Sha256::new()
                .chain_update(plan.seed)
                .chain_update(plan.counter.to_be_bytes())
                .finalize();
            let mut bytes = [0u8; 16];
            bytes.copy_from_slice(&digest[..16]);
            bytes
        })
    });
    match planned {
        Some(bytes) => (bytes, true),
        None => (rand::rng().random(), false),
    }
}

/// A fresh SID with the given prefix: planned while a fixture loads, else in time order — the
/// milliseconds since 1970 in its first 48 bits (UUIDv7's layout), then 80 random bits. SIDs
/// made one after another then sort one after another, so each table's index of SIDs grows at
/// its end: with random SIDs every insert landed on a random page of that index, and a stream
/// of messages split pages all over it, rewriting several pages per insert.
pub fn generate(prefix: &str) -> String {
    if let Some(pinned) = PLAN.with(|p| p.borrow_mut().as_mut().and_then(|plan| plan.pinned.take())) {
        return pinned;
    }
    let (mut bytes, planned) = next_bytes();
    if !planned {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut sid = String::with_capacity(34);
    sid.push_str(prefix);
    for b in bytes {
        sid.push(HEX[usize::from(b >> 4)] as char);
        sid.push(HEX[usize::from(b & 0xf)] as char);
    }
    sid
}

/// A number in `1000..=9999` for a domain base: random, or planned while a fixture loads.
pub fn four_digits() -> u16 {
    let (bytes, _) = next_bytes();
    1000 + u16::from_be_bytes([bytes[0], bytes[1]]) % 9000
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
    fn sids_made_later_sort_later() {
        let first = generate(prefix::MESSAGE);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = generate(prefix::MESSAGE);
        assert!(first < second, "{first} then {second}");
        assert_ne!(first[14..], second[14..], "the last 80 bits are random");
    }

    #[test]
    fn planned_sids_repeat_for_the_same_seed_and_honour_pins() {
        let run = || deterministic(b"fixture", || (generate("ZS"), generate("ZE"), four_digits()));
        assert_eq!(run(), run());
        let pinned = deterministic(b"fixture", || {
            pin_next(Some("ZS0123456789ABCDEF0123456789abcdef"));
            (generate("ZS"), generate("ZS"))
        });
        assert_eq!(pinned.0, "ZS0123456789abcdef0123456789abcdef");
        assert_ne!(pinned.1, pinned.0);
        assert_ne!(generate("ZS"), generate("ZS"));
    }

    #[test]
    fn is_sid_checks_prefix_length_and_digits() {
        assert!(!is_sid("ZE0123456789abcdef0123456789abcdef", "ZS"));
        assert!(!is_sid("ZS0123", "ZS"));
        assert!(!is_sid("ZS0123456789abcdef0123456789abcdeg", "ZS"));
        assert!(is_sid("ZS0123456789ABCDEF0123456789abcdef", "ZS"));
    }
}
