//! `X-Twilio-Signature` validation for protected functions and assets, accepting exactly what
//! the official validators accept: HMAC-SHA1 keyed with the auth token over the URL the client
//! used plus the sorted form parameters, or over the URL alone with a `bodySHA256` parameter for
//! other bodies; the URL with its port removed or the default port added.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Whether `signature` is valid for a request to `url` with `body`, whose form parameters (for a
/// form-encoded body) are `params`.
pub fn is_valid(auth_token: &str, url: &str, params: &[(String, String)], body: &[u8], signature: &str) -> bool {
    let body_hash = query_value(url, "bodySHA256");
    if let Some(expected) = &body_hash {
        let actual: String = Sha256::digest(body).iter().map(|b| format!("{b:02x}")).collect();
        if !actual.eq_ignore_ascii_case(expected) {
            return false;
        }
    }
    let mut valid = false;
    for candidate in url_variants(url) {
        let payloads = match body_hash {
            Some(_) => vec![candidate.clone()],
            None => param_strings(params)
                .into_iter()
                .map(|p| format!("{candidate}{p}"))
                .collect(),
        };
        for payload in payloads {
            // Check every variant so the time taken does not depend on which one matched.
            valid |= bool::from(sign(auth_token, &payload).as_bytes().ct_eq(signature.as_bytes()));
        }
    }
    valid
}

/// Base64 HMAC-SHA1 of `data` keyed with `auth_token`.
pub fn sign(auth_token: &str, data: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The URL as given, without its port, and with the scheme's default port.
fn url_variants(url: &str) -> Vec<String> {
    let mut variants = vec![url.to_string()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return variants;
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let default_port = if scheme.eq_ignore_ascii_case("https") {
        "443"
    } else {
        "80"
    };
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => {
            variants.push(format!("{scheme}://{host}{tail}"));
        }
        _ => variants.push(format!("{scheme}://{authority}:{default_port}{tail}")),
    }
    variants
}

/// The parameter part of the signed string: each name in sorted order followed by its value,
/// repeated values sorted. twilio-node keeps duplicate values, twilio-python drops them; a
/// signature from either is accepted.
fn param_strings(params: &[(String, String)]) -> Vec<String> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let with_duplicates: String = sorted.iter().map(|(k, v)| format!("{k}{v}")).collect();
    let mut unique = sorted.clone();
    unique.dedup();
    let without: String = unique.iter().map(|(k, v)| format!("{k}{v}")).collect();
    if with_duplicates == without {
        vec![with_duplicates]
    } else {
        vec![with_duplicates, without]
    }
}

fn query_value(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The parameters of Twilio's security documentation example; the signature is what the
    // official twilio-python RequestValidator computes for them.
    const TOKEN: &str = "12345";
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    fn params() -> Vec<(String, String)> {
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn accepts_the_documented_example_and_rejects_changes() {
        let signature = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";
        assert!(is_valid(TOKEN, URL, &params(), b"", signature));
        assert!(!is_valid("other", URL, &params(), b"", signature));
        let mut changed = params();
        changed[2].1 = "4321".into();
        assert!(!is_valid(TOKEN, URL, &changed, b"", signature));
    }

    #[test]
    fn port_variants_are_tolerated() {
        let with_port = "http://localhost:3000/x";
        let sig = sign(TOKEN, "http://localhost/x");
        assert!(is_valid(TOKEN, with_port, &[], b"", &sig));
        let sig = sign(TOKEN, "https://example.com:443/x");
        assert!(is_valid(TOKEN, "https://example.com/x", &[], b"", &sig));
    }

    #[test]
    fn json_bodies_are_checked_through_body_sha256() {
        let body = br#"{"a":1}"#;
        let hash: String = Sha256::digest(body).iter().map(|b| format!("{b:02x}")).collect();
        let url = format!("http://localhost:3000/x?bodySHA256={hash}");
        let sig = sign(TOKEN, &url);
        assert!(is_valid(TOKEN, &url, &[], body, &sig));
        assert!(!is_valid(TOKEN, &url, &[], br#"{"a":2}"#, &sig));
    }
}
