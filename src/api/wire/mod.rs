//! Twilio's wire conventions shared by every product: form and query parameters, URLs built from
//! where the client believes it is, paging, and the list envelope of the v1-style APIs
//! (Serverless, Sync, …: absolute URLs, a `meta` object, ISO dates). The 2010 API's family
//! differs (relative URIs, top-level paging keys, RFC 2822 dates): `v2010`.

pub mod v2010;

use super::products::Routed;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{Page, Window};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use std::future::{ready, Ready};

/// Form-encoded (or query-string) parameters in arrival order. Lists are repeated keys.
#[derive(Debug, Default, Clone)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses an `application/x-www-form-urlencoded` body; invalid UTF-8, raw or percent-encoded,
    /// is refused rather than stored with replacement characters.
    pub fn from_body(body: &[u8]) -> Result<Params, ApiError> {
        let text =
            std::str::from_utf8(body).map_err(|_| ApiError::bad_request("The request body is not valid UTF-8"))?;
        let decode = |part: &str| {
            let spaced = part.replace('+', " ");
            percent_encoding::percent_decode_str(&spaced)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| ApiError::bad_request(format!("Parameter {part:?} is not valid UTF-8 once decoded")))
        };
        let pairs = text
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                Ok((decode(key)?, decode(value)?))
            })
            .collect::<Result<_, ApiError>>()?;
        Ok(Params { pairs })
    }

    /// Parameters from a JSON object (Twilio's parameter names as keys; an array value is a list,
    /// other values are taken as their text), as the control endpoints accept them.
    pub fn from_json(body: &[u8]) -> Result<Params, ApiError> {
        let object: serde_json::Map<String, Value> = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("The request body is not a JSON object: {e}")))?;
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let mut pairs = Vec::new();
        for (key, value) in &object {
            match value {
                Value::Array(items) => pairs.extend(items.iter().map(|v| (key.clone(), text(v)))),
                Value::Null => {}
                other => pairs.push((key.clone(), text(other))),
            }
        }
        Ok(Params { pairs })
    }

    /// The body's parameters, form-encoded or JSON by its `Content-Type`.
    pub fn from_request_body(req: &HttpRequest, body: &[u8]) -> Result<Params, ApiError> {
        let json = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if json {
            Self::from_json(body)
        } else {
            Self::from_body(body)
        }
    }

    /// Parses the request's query string.
    pub fn from_query(req: &HttpRequest) -> Result<Params, ApiError> {
        Self::from_body(req.query_string().as_bytes())
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every value of a list parameter, sent as repeated `name` (or `name[]`) keys.
    pub fn list(&self, name: &str) -> Vec<&str> {
        let bracketed = format!("{name}[]");
        self.pairs
            .iter()
            .filter(|(k, _)| k == name || *k == bracketed)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// An optional text parameter of at most `max` characters.
    pub fn text(&self, name: &str, max: usize) -> Result<Option<&str>, ApiError> {
        match self.get(name) {
            Some(v) if v.chars().count() > max => Err(ApiError::bad_request(format!(
                "{name} must be at most {max} characters long"
            ))),
            other => Ok(other),
        }
    }

    /// A required, non-empty text parameter of at most `max` characters.
    pub fn required(&self, name: &str, max: usize) -> Result<&str, ApiError> {
        match self.text(name, max)? {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(missing(name)),
        }
    }

    /// An optional boolean, written `true` or `false` (any case).
    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(ApiError::bad_request(format!(
                "Invalid value {v:?} for {name}: expected true or false"
            ))),
        }
    }

    /// An optional integer parameter within `range` (empty counts as absent).
    pub fn integer(&self, name: &str, range: std::ops::RangeInclusive<i64>) -> Result<Option<i64>, ApiError> {
        match self.get(name).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| range.contains(n))
                .map(Some)
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "{name} must be an integer from {} to {}",
                        range.start(),
                        range.end()
                    ))
                }),
        }
    }

    /// An optional SID parameter with the given prefix.
    pub fn sid(&self, name: &str, prefix: &str) -> Result<Option<&str>, ApiError> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some(v) if crate::sid::is_sid(v, prefix) => Ok(Some(v)),
            Some(v) => Err(ApiError::bad_request(format!(
                "Invalid {name} {v:?}: expected a {prefix} SID"
            ))),
        }
    }
}

/// A date a list is filtered by: a day (`2024-01-31`) or an instant (`2024-01-31T10:00:00Z`, which the
/// helper libraries send even for a day).
struct DateFilter {
    day_start: i64,
    instant: Option<i64>,
}

impl DateFilter {
    fn parse(name: &str, value: &str) -> Result<DateFilter, ApiError> {
        let invalid = || ApiError::bad_request(format!("{name} must be YYYY-MM-DD or an ISO 8601 time, not {value:?}"));
        let (day, instant) = match crate::clock::parse_timestamp(value) {
            Some(at) => (at - at.rem_euclid(86_400), Some(at)),
            None => {
                let day = time::Date::parse(value, time::macros::format_description!("[year]-[month]-[day]"))
                    .map_err(|_| invalid())?;
                (day.midnight().assume_utc().unix_timestamp(), None)
            }
        };
        Ok(DateFilter {
            day_start: day,
            instant,
        })
    }

    /// From: the instant, or the day's start.
    fn lower(&self) -> i64 {
        self.instant.unwrap_or(self.day_start)
    }

    /// Up to and including: the instant, or the whole day.
    fn upper(&self) -> i64 {
        self.instant.map_or(self.day_start + 86_400, |at| at + 1)
    }
}

/// The `[from, until)` a date filter asks for: `Name` is a whole (UTC) day, `Name>` and `Name<` bound
/// it on or after and on or before.
pub fn date_range(query: &Params, name: &str) -> Result<(Option<i64>, Option<i64>), ApiError> {
    let mut range = (None, None);
    if let Some(v) = query.get(name) {
        let day = DateFilter::parse(name, v)?.day_start;
        range = (Some(day), Some(day + 86_400));
    }
    if let Some(v) = query.get(&format!("{name}<")) {
        range.1 = Some(DateFilter::parse(name, v)?.upper());
    }
    if let Some(v) = query.get(&format!("{name}>")) {
        range.0 = Some(DateFilter::parse(name, v)?.lower());
    }
    Ok(range)
}

/// A date bound given by its own parameter (Monitor's `StartDate`, `EndDate`): from it, or up to and
/// including it.
pub fn date_bound(query: &Params, name: &str, upper: bool) -> Result<Option<i64>, ApiError> {
    match query.get(name).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => {
            let date = DateFilter::parse(name, v)?;
            Ok(Some(if upper { date.upper() } else { date.lower() }))
        }
    }
}

/// Twilio's wording for a missing parameter.
pub fn missing(name: &str) -> ApiError {
    ApiError::bad_request(format!("Missing required parameter {name} in the post body"))
}

/// Unique names and domain suffixes become parts of host names (`{unique_name}-1234-{suffix}.twil.io`):
/// letters, digits and dashes, not starting or ending with a dash.
pub fn check_host_label(name: &str, value: &str) -> Result<(), ApiError> {
    let valid = !value.is_empty()
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if valid {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "Invalid {name} {value:?}: use letters, digits and dashes, not starting or ending with a dash"
        )))
    }
}

/// Per-request facts every rendered resource needs: the absolute API base and the account.
pub struct Ctx {
    /// `scheme://host/v1`, from the request the client really sent.
    pub base: String,
    pub account_sid: String,
}

impl Ctx {
    /// The absolute URL of an API path such as `/Services/ZS…`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl FromRequest for Ctx {
    type Error = ApiError;
    type Future = Ready<Result<Ctx, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>();
        ready(match state {
            Some(state) => Ok(Ctx {
                base: format!("{}{}", product_origin(req), version_prefix(&product_path(req))),
                account_sid: state.credentials.account_sid.clone(),
            }),
            None => Err(ApiError::internal()),
        })
    }
}

/// What the client puts before the product's paths (`https://sync.twilio.com`, or
/// `http://localhost:3000/sync`), as product routing recorded it.
pub fn product_origin(req: &HttpRequest) -> String {
    match req.extensions().get::<Routed>() {
        Some(routed) => routed.origin.clone(),
        None => {
            let info = req.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        }
    }
}

/// The request's path as its product knows it (`/v1/Services`).
pub fn product_path(req: &HttpRequest) -> String {
    match req.extensions().get::<Routed>() {
        Some(routed) => routed.path(req).to_string(),
        None => req.path().to_string(),
    }
}

/// The version segment a product path starts with (`/v1`).
fn version_prefix(path: &str) -> &str {
    let end = path[1.min(path.len())..].find('/').map_or(path.len(), |i| i + 1);
    &path[..end]
}

/// Default and bounds of `PageSize` (Twilio's documented range).
const DEFAULT_PAGE_SIZE: i64 = 50;
const MAX_PAGE_SIZE: i64 = 1000;

/// The page a list request asks for: `PageSize`, `Page`, and the opaque `PageToken` we issued.
#[derive(Debug, Clone)]
pub struct Paging {
    pub page: i64,
    pub page_size: i64,
    token: Option<String>,
    /// Filters to repeat in every page URL, in order.
    filters: Vec<(String, String)>,
}

impl Paging {
    /// Reads paging parameters from the query; `filters` are the list's own query parameters.
    pub fn from_query(query: &Params, filters: &[&str]) -> Result<Paging, ApiError> {
        Self::at_most(query, filters, MAX_PAGE_SIZE)
    }

    /// [`Paging::from_query`] for products whose pages hold at most `max` rows (Sync's hold 100).
    pub fn at_most(query: &Params, filters: &[&str], max: i64) -> Result<Paging, ApiError> {
        let page_size = match query.get("PageSize") {
            None => DEFAULT_PAGE_SIZE.min(max),
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| ApiError::bad_request(format!("PageSize must be an integer from 1 to {max}")))?,
        };
        let page = match query.get("Page") {
            None => 0,
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| ApiError::bad_request("Page must be a non-negative integer"))?,
        };
        let token = query.get("PageToken").filter(|t| !t.is_empty()).map(str::to_string);
        if let Some(t) = &token {
            decode_token(t)?;
        }
        let filters = filters
            .iter()
            .filter_map(|name| query.get(name).map(|v| (name.to_string(), v.to_string())))
            .collect();
        Ok(Paging {
            page,
            page_size,
            token,
            filters,
        })
    }

    /// The rows this page covers: the token's offset when given, else `Page × PageSize`.
    pub fn window(&self) -> Window {
        let offset = match &self.token {
            Some(t) => decode_token(t).unwrap_or(0),
            None => self.page.saturating_mul(self.page_size),
        };
        Window {
            offset,
            limit: self.page_size,
        }
    }

    pub(super) fn page_url(&self, path_url: &str, page: i64, offset: Option<i64>) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.filters {
            query.append_pair(k, v);
        }
        query.append_pair("PageSize", &self.page_size.to_string());
        query.append_pair("Page", &page.to_string());
        if let Some(offset) = offset {
            query.append_pair("PageToken", &encode_token(offset));
        }
        format!("{path_url}?{}", query.finish())
    }
}

fn encode_token(offset: i64) -> String {
    format!("PT{offset}")
}

fn decode_token(token: &str) -> Result<i64, ApiError> {
    token
        .strip_prefix("PT")
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n >= 0)
        .ok_or_else(|| ApiError::bad_request(format!("Invalid PageToken {token:?}")))
}

/// The list envelope: `{key: [...], meta: {seven keys}}` with absolute page URLs.
pub fn list_response<T>(
    req: &HttpRequest,
    key: &str,
    paging: &Paging,
    page: Page<T>,
    render: impl Fn(&T) -> Value,
) -> HttpResponse {
    let path_url = format!("{}{}", product_origin(req), product_path(req));
    let window = paging.window();
    let current = paging.page_url(&path_url, paging.page, paging.token.as_ref().map(|_| window.offset));
    let next = page
        .has_more
        .then(|| paging.page_url(&path_url, paging.page + 1, Some(window.offset + window.limit)));
    let previous = (window.offset > 0).then(|| {
        paging.page_url(
            &path_url,
            (paging.page - 1).max(0),
            Some((window.offset - window.limit).max(0)),
        )
    });
    let items: Vec<Value> = page.items.iter().map(render).collect();
    HttpResponse::Ok().json(json!({
        key: items,
        "meta": {
            "page": paging.page,
            "page_size": paging.page_size,
            "first_page_url": paging.page_url(&path_url, 0, None),
            "previous_page_url": previous,
            "url": current,
            "next_page_url": next,
            "key": key,
        }
    }))
}

/// `201 Created` with the rendered resource.
pub fn created(body: impl serde::Serialize) -> HttpResponse {
    HttpResponse::Created().json(body)
}

/// `200 OK` with the rendered resource.
pub fn ok(body: impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok().json(body)
}

/// `204 No Content`, as deletes answer.
pub fn deleted() -> HttpResponse {
    HttpResponse::NoContent().finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_and_bracketed_keys_form_lists() {
        let p = Params::from_body(b"A=1&A=2&A%5B%5D=3&B=x").expect("parse");
        assert_eq!(p.list("A"), ["1", "2", "3"]);
        assert_eq!(p.get("B"), Some("x"));
    }

    #[test]
    fn invalid_utf8_and_bad_booleans_are_refused() {
        assert!(Params::from_body(b"A=\xff").is_err());
        assert!(Params::from_body(b"A=x%FF").is_err());
        assert_eq!(Params::from_body(b"A=a+b%20c").expect("parse").get("A"), Some("a b c"));
        let p = Params::from_body(b"Flag=maybe&Other=TRUE").expect("parse");
        assert!(p.bool("Flag").is_err());
        assert_eq!(p.bool("Other").expect("bool"), Some(true));
        assert_eq!(p.bool("Absent").expect("bool"), None);
    }

    #[test]
    fn required_text_checks_presence_and_length() {
        let p = Params::from_body(b"Name=abcdef&Empty=").expect("parse");
        assert_eq!(p.required("Name", 6).expect("ok"), "abcdef");
        assert!(p.required("Name", 5).is_err());
        assert_eq!(
            p.required("Empty", 5).expect_err("empty").message,
            "Missing required parameter Empty in the post body"
        );
    }

    #[test]
    fn host_labels_are_letters_digits_and_inner_dashes() {
        assert!(check_host_label("UniqueName", "thanos-2").is_ok());
        for bad in ["-x", "x-", "with space", "under_score", "dot.name", ""] {
            assert!(check_host_label("UniqueName", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn date_filters_are_days_or_bounds() {
        let q = Params::from_body(b"DateSent=1970-01-02").expect("day");
        assert_eq!(date_range(&q, "DateSent").expect("day"), (Some(86_400), Some(172_800)));
        let q = Params::from_body(b"DateSent=1970-01-02T00:00:00Z").expect("day as an instant");
        assert_eq!(date_range(&q, "DateSent").expect("day"), (Some(86_400), Some(172_800)));
        let q = Params::from_body(b"DateSent%3E=1970-01-02&DateSent%3C=1970-01-03").expect("bounds");
        assert_eq!(
            date_range(&q, "DateSent").expect("bounds"),
            (Some(86_400), Some(259_200))
        );
        let q = Params::from_body(b"EndDate=1970-01-02T00:00:10Z").expect("instant");
        assert_eq!(date_bound(&q, "EndDate", true).expect("bound"), Some(86_411));
        assert!(date_range(&Params::from_body(b"DateSent=soon").expect("q"), "DateSent").is_err());
    }

    #[test]
    fn version_prefixes_are_the_first_segment() {
        assert_eq!(version_prefix("/v1/Services/ZS1"), "/v1");
        assert_eq!(version_prefix("/v1"), "/v1");
        assert_eq!(version_prefix("/2010-04-01/Accounts"), "/2010-04-01");
    }

    #[test]
    fn paging_reads_size_page_and_token() {
        let q = Params::from_body(b"PageSize=3&Page=2&PageToken=PT6").expect("parse");
        let paging = Paging::from_query(&q, &[]).expect("paging");
        assert_eq!(paging.window(), Window { offset: 6, limit: 3 });
        let q = Params::from_body(b"PageSize=3&Page=2").expect("parse");
        assert_eq!(Paging::from_query(&q, &[]).expect("paging").window().offset, 6);
        for bad in [&b"PageSize=0"[..], b"PageSize=1001", b"Page=-1", b"PageToken=zz"] {
            let q = Params::from_body(bad).expect("parse");
            assert!(Paging::from_query(&q, &[]).is_err(), "{bad:?}");
        }
        let q = Params::from_body(b"PageSize=101").expect("parse");
        assert!(Paging::at_most(&q, &[], 100).is_err());
        let q = Params::from_body(b"PageSize=100").expect("parse");
        assert_eq!(Paging::at_most(&q, &[], 100).expect("paging").page_size, 100);
    }
}
