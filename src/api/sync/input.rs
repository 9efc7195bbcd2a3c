//! What Sync clients send, checked as Twilio checks it: `Data` (a JSON object of at most 16 KiB),
//! TTLs (0 to a year), unique names and map keys, with Twilio's Sync error codes.

use crate::api::wire::Params;
use crate::error::ApiError;

/// Largest `Data` of a document or item, serialized (https://www.twilio.com/docs/sync/limits).
pub const MAX_DATA_BYTES: usize = 16 * 1024;
/// Largest `Data` of a stream message.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024;
/// Longest TTL: one year, in seconds.
const MAX_TTL: i64 = 31_536_000;
/// Longest unique name and map item key, in characters.
const MAX_NAME: usize = 320;

/// `Data`: `None` when absent. `null_code` is the code for an explicit `null` (each object kind
/// has its own).
pub fn data(params: &Params, null_code: u32, max_bytes: usize) -> Result<Option<String>, ApiError> {
    let Some(text) = params.get("Data") else {
        return Ok(None);
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        ApiError::coded(
            400,
            54008,
            format!("Invalid JSON: the Data parameter does not parse ({e})"),
        )
    })?;
    check_data(value, null_code, max_bytes).map(Some)
}

/// Data to store: a JSON object of at most `max_bytes` serialized, kept with its keys in the
/// client's order and without extra spaces.
pub fn check_data(value: serde_json::Value, null_code: u32, max_bytes: usize) -> Result<String, ApiError> {
    match value {
        serde_json::Value::Null => Err(ApiError::coded(400, null_code, "The 'Data' parameter cannot be null")),
        serde_json::Value::Object(_) => {
            let compact = value.to_string();
            if compact.len() > max_bytes {
                return Err(ApiError::coded(
                    413,
                    54006,
                    format!(
                        "Request entity too large: Data is {} bytes serialized, the limit is {max_bytes}",
                        compact.len()
                    ),
                ));
            }
            Ok(compact)
        }
        _ => Err(ApiError::coded(400, 54008, "Invalid JSON: Data must be a JSON object")),
    }
}

/// A required `Data`: absent is refused like `null`.
pub fn required_data(params: &Params, null_code: u32, max_bytes: usize) -> Result<String, ApiError> {
    data(params, null_code, max_bytes)?
        .ok_or_else(|| ApiError::coded(400, null_code, "The 'Data' parameter cannot be null"))
}

/// A TTL in seconds, 0 (never expires) to one year.
pub fn ttl(params: &Params, name: &str) -> Result<Option<i64>, ApiError> {
    match params.get(name) {
        None => Ok(None),
        Some(v) => check_ttl(name, v.trim().parse::<i64>().unwrap_or(-1)).map(Some),
    }
}

/// A TTL's value: 0 to one year.
pub fn check_ttl(name: &str, seconds: i64) -> Result<i64, ApiError> {
    if (0..=MAX_TTL).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(ApiError::coded(
            400,
            54011,
            format!("Invalid TTL: {name} must be a whole number of seconds from 0 to {MAX_TTL}"),
        ))
    }
}

/// The first of several TTL parameters that is given: the precise one wins over its alias
/// (`CollectionTtl` over `Ttl` for lists and maps, `ItemTtl` over `Ttl` for items).
pub fn first_ttl(params: &Params, names: &[&str]) -> Result<Option<i64>, ApiError> {
    let mut found = None;
    for name in names {
        let value = ttl(params, name)?;
        found = found.or(value);
    }
    Ok(found)
}

/// An optional `UniqueName`.
pub fn unique_name(params: &Params) -> Result<Option<String>, ApiError> {
    params
        .get("UniqueName")
        .map(|name| check_unique_name(name).map(|()| name.to_string()))
        .transpose()
}

/// A unique name: 1 to 320 characters, not shaped like a SID (it shares the path segment SIDs
/// use).
pub fn check_unique_name(name: &str) -> Result<(), ApiError> {
    let sid_like = name.len() == 34
        && name.is_char_boundary(2)
        && name[..2].bytes().all(|b| b.is_ascii_uppercase())
        && name[2..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if name.is_empty() || name.chars().count() > MAX_NAME || sid_like {
        return Err(ApiError::coded(
            400,
            54302,
            format!("Invalid unique name {name:?}: use 1 to {MAX_NAME} characters that do not form a SID"),
        ));
    }
    Ok(())
}

/// A map item's `Key`.
pub fn map_key(params: &Params) -> Result<String, ApiError> {
    let key = params
        .get("Key")
        .ok_or_else(|| ApiError::coded(400, 54209, "Invalid Map Item key: Key is required"))?;
    check_map_key(key)?;
    Ok(key.to_string())
}

/// A map item key: 1 to 320 characters.
pub fn check_map_key(key: &str) -> Result<(), ApiError> {
    if key.is_empty() || key.chars().count() > MAX_NAME {
        return Err(ApiError::coded(
            400,
            54209,
            format!("Invalid Map Item key {key:?}: use 1 to {MAX_NAME} characters"),
        ));
    }
    Ok(())
}

/// An update that changes nothing is refused, as Twilio refuses it.
pub fn nothing_to_change(expected: &str) -> ApiError {
    ApiError::coded(
        400,
        54010,
        format!("No parameters specified: expected at least one of {expected}"),
    )
}

/// `WebhookUrl`.
pub fn webhook_url(params: &Params) -> Result<Option<String>, ApiError> {
    params
        .get("WebhookUrl")
        .map(|url| check_webhook_url(url).map(|()| url.to_string()))
        .transpose()
}

/// A webhook URL: absolute http or https.
pub fn check_webhook_url(url: &str) -> Result<(), ApiError> {
    let valid = url
        .parse::<actix_web::http::Uri>()
        .ok()
        .is_some_and(|u| matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some_and(|h| !h.is_empty()));
    if valid {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "Invalid WebhookUrl {url:?}: expected an http or https URL"
        )))
    }
}

/// `ReachabilityDebouncingWindow`.
pub fn debouncing_window(params: &Params) -> Result<Option<i64>, ApiError> {
    params
        .get("ReachabilityDebouncingWindow")
        .map(|v| check_debouncing_window(v.parse().unwrap_or(0)))
        .transpose()
}

/// A reachability debouncing window: 1,000 to 30,000 milliseconds.
pub fn check_debouncing_window(milliseconds: i64) -> Result<i64, ApiError> {
    if (1000..=30_000).contains(&milliseconds) {
        Ok(milliseconds)
    } else {
        Err(ApiError::bad_request(
            "ReachabilityDebouncingWindow must be from 1000 to 30000 milliseconds",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn params(body: &str) -> Params {
        Params::from_body(body.as_bytes()).expect("parse")
    }

    fn code(err: ApiError) -> u32 {
        match err.kind {
            ErrorKind::Coded { code, .. } => code,
            other => panic!("not a coded error: {other:?}"),
        }
    }

    #[test]
    fn data_is_a_json_object_kept_in_order_and_compact() {
        let p = params("Data=%7B%22b%22%3A+1%2C+%22a%22%3A+%5B1%2C+2%5D%7D");
        assert_eq!(
            data(&p, 54101, MAX_DATA_BYTES).expect("ok").as_deref(),
            Some(r#"{"b":1,"a":[1,2]}"#)
        );
        assert_eq!(data(&params(""), 54101, MAX_DATA_BYTES).expect("ok"), None);
        assert_eq!(
            code(data(&params("Data=null"), 54156, MAX_DATA_BYTES).expect_err("null")),
            54156
        );
        assert_eq!(
            code(data(&params("Data=%7B"), 54101, MAX_DATA_BYTES).expect_err("bad")),
            54008
        );
        assert_eq!(
            code(data(&params("Data=%5B1%5D"), 54101, MAX_DATA_BYTES).expect_err("array")),
            54008
        );
        assert_eq!(
            code(required_data(&params(""), 54206, MAX_DATA_BYTES).expect_err("missing")),
            54206
        );
    }

    #[test]
    fn data_over_16_kib_is_refused_with_413() {
        let exactly = format!("{{\"x\":\"{}\"}}", "a".repeat(MAX_DATA_BYTES - 8));
        let over = format!("{{\"x\":\"{}\"}}", "a".repeat(MAX_DATA_BYTES - 7));
        let body = |d: &str| Params::from_body(format!("Data={}", urlencode(d)).as_bytes()).expect("parse");
        assert!(data(&body(&exactly), 54101, MAX_DATA_BYTES).is_ok());
        let err = data(&body(&over), 54101, MAX_DATA_BYTES).expect_err("too large");
        assert!(matches!(
            err.kind,
            ErrorKind::Coded {
                status: 413,
                code: 54006
            }
        ));
    }

    fn urlencode(text: &str) -> String {
        form_urlencoded::byte_serialize(text.as_bytes()).collect()
    }

    #[test]
    fn ttls_run_from_zero_to_a_year_and_precise_names_win() {
        assert_eq!(ttl(&params("Ttl=0"), "Ttl").expect("ok"), Some(0));
        assert_eq!(ttl(&params("Ttl=31536000"), "Ttl").expect("ok"), Some(31_536_000));
        for bad in ["Ttl=-1", "Ttl=31536001", "Ttl=soon", "Ttl="] {
            assert_eq!(code(ttl(&params(bad), "Ttl").expect_err(bad)), 54011, "{bad}");
        }
        let p = params("Ttl=5&CollectionTtl=9");
        assert_eq!(first_ttl(&p, &["CollectionTtl", "Ttl"]).expect("ok"), Some(9));
        assert_eq!(
            first_ttl(&params("Ttl=5"), &["CollectionTtl", "Ttl"]).expect("ok"),
            Some(5)
        );
    }

    #[test]
    fn unique_names_and_keys_have_twilios_rules() {
        assert_eq!(
            unique_name(&params("UniqueName=visits")).expect("ok").as_deref(),
            Some("visits")
        );
        let long = format!("UniqueName={}", "n".repeat(321));
        for bad in [
            "UniqueName=",
            "UniqueName=ET0123456789abcdef0123456789abcdef",
            long.as_str(),
        ] {
            assert_eq!(code(unique_name(&params(bad)).expect_err(bad)), 54302);
        }
        assert_eq!(map_key(&params("Key=a+b")).expect("ok"), "a b");
        assert_eq!(code(map_key(&params("")).expect_err("missing")), 54209);
        assert_eq!(code(map_key(&params("Key=")).expect_err("empty")), 54209);
    }
}
