//! The `event` a function receives: query and body parameters merged (body wins; a JSON array's
//! elements under their indexes), plus
//! `event.request.headers` (lower-cased, restricted ones removed, repeated ones as arrays) and
//! `event.request.cookies`.

use crate::error::ApiError;
use actix_web::http::header::{HeaderMap, CONTENT_TYPE, COOKIE};
use serde_json::{Map, Value};

/// Headers a function never sees (Twilio's restricted list, plus the prefixes the Toolkit strips).
const RESTRICTED: &[&str] = &[
    "connection",
    "proxy-connection",
    "expect",
    "host",
    "proxy-authorization",
    "proxy-authenticate",
    "referer",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "via",
    "x-real-ip",
    "te",
    "keep-alive",
];
const RESTRICTED_PREFIXES: &[&str] = &["x-accel-", "x-forwarded-", "i-twilio-", "i-t-", "ot-", "x-amz"];

fn is_restricted(name: &str) -> bool {
    RESTRICTED.contains(&name) || RESTRICTED_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Adds `value` under `key`, turning a repeated key into an array (Express's flat parsing).
fn add(map: &mut Map<String, Value>, key: String, value: Value) {
    match map.get_mut(&key) {
        Some(Value::Array(values)) => values.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
        None => {
            map.insert(key, value);
        }
    }
}

fn pairs(map: &mut Map<String, Value>, encoded: &[u8]) {
    for (k, v) in form_urlencoded::parse(encoded) {
        add(map, k.into_owned(), Value::String(v.into_owned()));
    }
}

/// The form parameters of a form-encoded body, for signature checks.
pub fn form_params(headers: &HeaderMap, body: &[u8]) -> Vec<(String, String)> {
    if is_form(headers) {
        form_urlencoded::parse(body).into_owned().collect()
    } else {
        Vec::new()
    }
}

fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .unwrap_or_default()
}

fn is_form(headers: &HeaderMap) -> bool {
    media_type(headers) == "application/x-www-form-urlencoded"
}

/// Builds the event from the query string, the headers and the body.
pub fn build(query: &str, headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    let mut event = Map::new();
    pairs(&mut event, query.as_bytes());
    let media = media_type(headers);
    if media == "application/x-www-form-urlencoded" {
        let mut body_params = Map::new();
        pairs(&mut body_params, body);
        event.extend(body_params);
    } else if media == "application/json" && !body.is_empty() {
        let parsed: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("The request body is not valid JSON: {e}")))?;
        match parsed {
            Value::Object(fields) => event.extend(fields),
            // Spread into the event as the Toolkit spreads `req.body`: an array's elements land
            // under "0", "1", … (webhooks such as e-mail event feeds post arrays).
            Value::Array(items) => event.extend(items.into_iter().enumerate().map(|(i, v)| (i.to_string(), v))),
            _ => {}
        }
    }
    event.insert(
        "request".into(),
        serde_json::json!({ "headers": headers_of(headers), "cookies": cookies_of(headers) }),
    );
    Ok(Value::Object(event))
}

fn headers_of(headers: &HeaderMap) -> Value {
    let mut out = Map::new();
    for (name, value) in headers {
        let name = name.as_str().to_ascii_lowercase();
        if is_restricted(&name) {
            continue;
        }
        add(
            &mut out,
            name,
            Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned()),
        );
    }
    Value::Object(out)
}

fn cookies_of(headers: &HeaderMap) -> Value {
    let mut out = Map::new();
    for value in headers.get_all(COOKIE) {
        let text = String::from_utf8_lossy(value.as_bytes());
        for pair in text.split(';') {
            if let Some((name, value)) = pair.split_once('=') {
                let value = value.trim().trim_matches('"');
                let decoded = percent_encoding::percent_decode_str(value)
                    .decode_utf8_lossy()
                    .into_owned();
                out.insert(name.trim().to_string(), Value::String(decoded));
            }
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("value"),
            );
        }
        h
    }

    #[test]
    fn body_overrides_query_and_repeats_become_arrays() {
        let h = headers(&[("content-type", "application/x-www-form-urlencoded")]);
        let e = build("a=1&b=q", &h, b"b=body&c=1&c=2").expect("event");
        assert_eq!(e["a"], "1");
        assert_eq!(e["b"], "body");
        assert_eq!(e["c"], serde_json::json!(["1", "2"]));
    }

    #[test]
    fn json_bodies_merge_and_bad_json_is_refused() {
        let h = headers(&[("content-type", "application/json; charset=utf-8")]);
        let e = build("", &h, br#"{"x":{"y":1}}"#).expect("event");
        assert_eq!(e["x"]["y"], 1);
        assert!(build("", &h, b"{").is_err());
    }

    #[test]
    fn json_arrays_are_spread_by_index() {
        let h = headers(&[("content-type", "application/json")]);
        let e = build("0=query&x=q", &h, br#"[{"a":1},"two",3]"#).expect("event");
        assert_eq!(e["0"], serde_json::json!({"a": 1}));
        assert_eq!(
            (e["1"].as_str(), e["2"].as_i64(), e["x"].as_str()),
            (Some("two"), Some(3), Some("q"))
        );
        assert!(e["request"]["headers"].is_object());
    }

    #[test]
    fn restricted_headers_are_removed_and_cookies_parsed() {
        let h = headers(&[
            ("host", "x"),
            ("x-forwarded-for", "1.2.3.4"),
            ("x-custom", "a"),
            ("x-custom", "b"),
            ("cookie", "session=abc; theme=dark%20blue"),
        ]);
        let e = build("", &h, b"").expect("event");
        let seen = &e["request"]["headers"];
        assert!(seen.get("host").is_none() && seen.get("x-forwarded-for").is_none());
        assert_eq!(seen["x-custom"], serde_json::json!(["a", "b"]));
        assert_eq!(e["request"]["cookies"]["theme"], "dark blue");
    }
}
