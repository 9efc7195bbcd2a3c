//! Phone numbers and channel addresses as Twilio reads them: E.164 (`+14155550100`), optionally
//! behind a channel prefix (`whatsapp:+14155550100`), and the national format Twilio shows for
//! North American numbers (`(415) 555-0100`).

/// A parsed address: its channel (`None` for SMS and voice) and its E.164 number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address<'a> {
    pub channel: Option<&'a str>,
    pub number: &'a str,
}

/// Channels whose addresses carry a prefix.
const CHANNELS: &[&str] = &["whatsapp", "messenger", "rcs"];

/// Whether `number` is E.164: `+`, a non-zero digit, up to 15 digits in all.
pub fn is_e164(number: &str) -> bool {
    let Some(digits) = number.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len()) && !digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Parses `value` as an E.164 number or a channel address; `None` when it is neither.
pub fn parse(value: &str) -> Option<Address<'_>> {
    let (channel, number) = match value.split_once(':') {
        Some((channel, number)) if CHANNELS.contains(&channel) => (Some(channel), number),
        Some(_) => return None,
        None => (None, value),
    };
    is_e164(number).then_some(Address { channel, number })
}

/// The number as Twilio formats it for people: `(415) 555-0100` for +1 numbers, else unchanged.
pub fn friendly(number: &str) -> String {
    match number.strip_prefix("+1") {
        Some(n) if n.len() == 10 && n.bytes().all(|b| b.is_ascii_digit()) => {
            format!("({}) {}-{}", &n[..3], &n[3..6], &n[6..])
        }
        _ => number.to_string(),
    }
}

/// An alphanumeric sender ID (`ACME`): up to 11 letters, digits and spaces, with a letter.
pub fn is_sender_id(value: &str) -> bool {
    (1..=11).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ')
        && value.bytes().any(|b| b.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_and_channel_addresses() {
        assert!(is_e164("+14155550100"));
        assert!(!is_e164("14155550100"));
        assert!(!is_e164("+04155550100"));
        assert!(!is_e164("+1415555010012345"));
        assert_eq!(
            parse("whatsapp:+14155550100"),
            Some(Address {
                channel: Some("whatsapp"),
                number: "+14155550100"
            })
        );
        assert_eq!(parse("fax:+14155550100"), None);
        assert_eq!(
            parse("+1415"),
            Some(Address {
                channel: None,
                number: "+1415"
            })
        );
    }

    #[test]
    fn friendly_formats_and_sender_ids() {
        assert_eq!(friendly("+14155550100"), "(415) 555-0100");
        assert_eq!(friendly("+447700900123"), "+447700900123");
        assert!(is_sender_id("ACME 2"));
        assert!(!is_sender_id("12345"));
        assert!(!is_sender_id("A-CME"));
    }
}
