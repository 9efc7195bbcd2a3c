//! The webhook deliverer: the HTTP requests twirl makes as Twilio (an incoming text or call, a
//! status callback, a TwiML `action`), with Twilio's parameters, headers and `X-Twilio-Signature`.
//!
//! A webhook URL names an environment's domain (`https://thanos-1234-dev.twil.io/sms`), the live
//! project (`/sms`, a path on twirl's own address) — both served by twirl itself, handed to the
//! gateway as the request it would receive — or a loopback address (a local web app, over HTTP). Nothing else is reachable offline, and nothing reaches the
//! network: other hosts fail as an unreachable server would. The signature is over the URL as
//! Twilio would have called it, so protected functions and official validators accept it.

use crate::gateway::{self, signature};
use crate::state::AppState;
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::Method;
use std::time::{Duration, Instant};

/// Twilio waits 15 s in all for a webhook's answer (error 11205), and follows redirects.
pub const TIMEOUT: Duration = Duration::from_secs(15);
const MAX_REDIRECTS: usize = 10;
/// Answers past this size are cut, as no TwiML document is this large.
const MAX_BODY: usize = 1024 * 1024;

/// One webhook to make.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub url: String,
    /// `GET` or `POST` (anything else is sent as `POST`, as Twilio does).
    pub method: String,
    pub params: Vec<(String, String)>,
}

/// What the server answered.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    /// The media type, lowercased, without parameters.
    pub fn media_type(&self) -> String {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
            .unwrap_or_default()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Why a webhook got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No connection could be made, or the answer did not come within the time allowed (11205).
    Connection(String),
    /// The server answered with an error status (11200; 82002 when it is a function).
    Status(u16),
    /// More redirects than Twilio follows (11215).
    TooManyRedirects,
}

impl Failure {
    /// Twilio's error code for this failure; `function` when the URL is served by a function.
    pub fn code(&self, function: bool) -> u32 {
        match self {
            Failure::Connection(_) => 11205,
            Failure::Status(status) if function && *status >= 500 => 82002,
            Failure::Status(_) => 11200,
            Failure::TooManyRedirects => 11215,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Failure::Connection(why) => format!("HTTP connection failure: {why}"),
            Failure::Status(status) => format!("HTTP retrieval failure: the server answered {status}"),
            Failure::TooManyRedirects => format!("more than {MAX_REDIRECTS} redirects"),
        }
    }
}

/// A webhook made: where it went (after redirects), how long it took, and how it ended.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub url: String,
    pub method: String,
    pub params: Vec<(String, String)>,
    /// The headers sent (the signature among them).
    pub request_headers: Vec<(String, String)>,
    pub duration_ms: f64,
    /// The answer, also when its status is an error.
    pub answer: Option<Answer>,
    pub failure: Option<Failure>,
}

impl Delivery {
    pub fn succeeded(&self) -> bool {
        self.failure.is_none()
    }

    pub fn status(&self) -> Option<u16> {
        self.answer.as_ref().map(|a| a.status)
    }
}

/// Where a webhook URL is really sent.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    /// Served by twirl itself (an environment's domain, the live project): handed to the gateway
    /// as the request Twilio would make, with no trip through the network.
    Local { scheme: String, host: String, uri: String },
    /// A local web app, reached over HTTP.
    Remote(String),
}

/// Makes webhooks for one twirl: knows its address, the account's auth token, and an HTTP client.
pub struct Deliverer {
    client: reqwest::Client,
    twirl_url: String,
    auth_token: String,
}

impl Deliverer {
    pub fn new(twirl_url: &str, auth_token: &str) -> Deliverer {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap_or_default();
        Deliverer {
            client,
            twirl_url: twirl_url.trim_end_matches('/').to_string(),
            auth_token: auth_token.to_string(),
        }
    }

    /// The absolute URL Twilio would call for `url`: a bare path is the live project's, on
    /// twirl's own address.
    pub fn absolute(&self, url: &str) -> String {
        if url.starts_with('/') {
            format!("{}{url}", self.twirl_url)
        } else {
            url.to_string()
        }
    }

    /// Whether `url` is served by a function here (an environment's domain or the live project).
    pub fn is_function_url(&self, url: &str) -> bool {
        let absolute = self.absolute(url);
        host_of(&absolute).is_some_and(|h| h.ends_with(".twil.io")) || absolute.starts_with(&self.twirl_url)
    }

    fn route(&self, url: &str) -> Result<Route, Failure> {
        let parsed = reqwest::Url::parse(url).map_err(|e| Failure::Connection(format!("invalid URL {url:?}: {e}")))?;
        let host = parsed.host_str().unwrap_or("").to_ascii_lowercase();
        let uri = match parsed.query() {
            Some(query) => format!("{}?{query}", parsed.path()),
            None => parsed.path().to_string(),
        };
        if host.ends_with(".twil.io") {
            return Ok(Route::Local {
                scheme: parsed.scheme().to_string(),
                host,
                uri,
            });
        }
        let loopback = host == "localhost"
            || host.ends_with(".localhost")
            || host
                .trim_matches(|c| c == '[' || c == ']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if !loopback {
            return Err(Failure::Connection(format!(
                "{host} is not reachable offline: webhooks go to environments' domains (*.twil.io), the live project (/path) or loopback addresses"
            )));
        }
        let own = url.starts_with(&self.twirl_url);
        if own && parsed.path().starts_with("/_twirl") {
            return Err(Failure::Connection(format!(
                "{url} is one of twirl's own control endpoints, not a webhook"
            )));
        }
        if parsed.scheme() != "http" {
            return Err(Failure::Connection(format!(
                "{url}: only http is served on loopback addresses"
            )));
        }
        if own {
            let host = self.twirl_url.trim_start_matches("http://").to_string();
            return Ok(Route::Local {
                scheme: "http".into(),
                host,
                uri,
            });
        }
        Ok(Route::Remote(url.to_string()))
    }

    /// Makes the webhook request, following redirects, within Twilio's 15 s.
    pub async fn send(&self, state: &AppState, webhook: &Webhook) -> Delivery {
        let started = Instant::now();
        let get = webhook.method.eq_ignore_ascii_case("GET");
        let method = if get { "GET" } else { "POST" };
        let mut url = self.absolute(&webhook.url);
        let mut last = None;
        for _ in 0..=MAX_REDIRECTS {
            let (target, headers) = self.signed(&url, get, &webhook.params);
            let outcome = match tokio::time::timeout(
                TIMEOUT.saturating_sub(started.elapsed()),
                self.request(state, &target, get, &webhook.params, &headers),
            )
            .await
            {
                Ok(outcome) => outcome,
                Err(_) => Err(Failure::Connection(format!("no answer within {} s", TIMEOUT.as_secs()))),
            };
            let delivery = |answer: Option<Answer>, failure: Option<Failure>| Delivery {
                url: target.clone(),
                method: method.to_string(),
                params: webhook.params.clone(),
                request_headers: headers.clone(),
                duration_ms: started.elapsed().as_secs_f64() * 1000.0,
                answer,
                failure,
            };
            match outcome {
                Err(failure) => return delivery(None, Some(failure)),
                Ok(answer) => match redirect_target(&url, &answer) {
                    Some(next) => {
                        url = next;
                        last = Some(delivery(Some(answer), Some(Failure::TooManyRedirects)));
                    }
                    None if answer.status >= 400 => {
                        let status = answer.status;
                        return delivery(Some(answer), Some(Failure::Status(status)));
                    }
                    None => return delivery(Some(answer), None),
                },
            }
        }
        last.unwrap_or_else(|| Delivery {
            url,
            method: method.to_string(),
            params: webhook.params.clone(),
            request_headers: Vec::new(),
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            answer: None,
            failure: Some(Failure::TooManyRedirects),
        })
    }

    /// The URL to request (with the parameters in its query for GET) and Twilio's headers for it.
    fn signed(&self, url: &str, get: bool, params: &[(String, String)]) -> (String, Vec<(String, String)>) {
        let target = if get && !params.is_empty() {
            let query = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params)
                .finish();
            let separator = if url.contains('?') { '&' } else { '?' };
            format!("{url}{separator}{query}")
        } else {
            url.to_string()
        };
        let signed_data = if get {
            target.clone()
        } else {
            let mut sorted: Vec<&(String, String)> = params.iter().collect();
            sorted.sort();
            let joined: String = sorted.iter().map(|(k, v)| format!("{k}{v}")).collect();
            format!("{target}{joined}")
        };
        let mut headers = vec![
            ("User-Agent".to_string(), "TwilioProxy/1.1".to_string()),
            ("Accept".to_string(), "*/*".to_string()),
            (
                "X-Twilio-Signature".to_string(),
                signature::sign(&self.auth_token, &signed_data),
            ),
            (
                "I-Twilio-Idempotency-Token".to_string(),
                uuid::Uuid::new_v4().to_string(),
            ),
            ("X-Home-Region".to_string(), "us1".to_string()),
        ];
        if !get {
            headers.push((
                "Content-Type".to_string(),
                "application/x-www-form-urlencoded".to_string(),
            ));
        }
        (target, headers)
    }

    async fn request(
        &self,
        state: &AppState,
        url: &str,
        get: bool,
        params: &[(String, String)],
        headers: &[(String, String)],
    ) -> Result<Answer, Failure> {
        let body = if get {
            String::new()
        } else {
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params)
                .finish()
        };
        match self.route(url)? {
            Route::Local { scheme, host, uri } => Ok(local(state, get, (&scheme, &host, &uri), headers, body).await),
            Route::Remote(url) => self.remote(&url, get, headers, body).await,
        }
    }

    async fn remote(&self, url: &str, get: bool, headers: &[(String, String)], body: String) -> Result<Answer, Failure> {
        let mut request = if get {
            self.client.get(url)
        } else {
            self.client.post(url).body(body)
        };
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| Failure::Connection(connection_error(&e)))?;
        let status = response.status().as_u16();
        let answer_headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| Failure::Connection(connection_error(&e)))?
        {
            if body.len() < MAX_BODY {
                body.extend_from_slice(&chunk);
            }
        }
        Ok(Answer {
            status,
            headers: answer_headers,
            body,
        })
    }
}

/// A webhook twirl serves itself, through the gateway, as an HTTP server would receive it.
async fn local(
    state: &AppState,
    get: bool,
    target: (&str, &str, &str),
    headers: &[(String, String)],
    body: String,
) -> Answer {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            map.append(name, value);
        }
    }
    if !get {
        map.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    let method = if get { Method::GET } else { Method::POST };
    let answer = gateway::handle_webhook(state, &method, target, &map, body.as_bytes()).await;
    let mut body = answer.body;
    body.truncate(MAX_BODY);
    Answer {
        status: answer.status,
        headers: answer.headers,
        body,
    }
}

/// The next URL when `answer` is a redirect: its `Location`, resolved against `url`.
fn redirect_target(url: &str, answer: &Answer) -> Option<String> {
    if !(300..400).contains(&answer.status) {
        return None;
    }
    let location = answer
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("location"))?
        .1
        .clone();
    resolve(url, &location)
}

/// `reference` (absolute, or relative to `base`) as an absolute URL.
pub fn resolve(base: &str, reference: &str) -> Option<String> {
    reqwest::Url::parse(base)
        .ok()?
        .join(reference)
        .ok()
        .map(|u| u.to_string())
}

fn host_of(url: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .ok()?
        .host_str()
        .map(|h| h.to_ascii_lowercase())
}

/// The innermost cause of a client error, which says what really happened (refused, reset).
fn connection_error(error: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = error;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deliverer() -> Deliverer {
        Deliverer::new("http://127.0.0.1:3000", "token")
    }

    #[test]
    fn domains_and_paths_are_served_by_twirl_loopback_directly_others_not_at_all() {
        let d = deliverer();
        let local = |scheme: &str, host: &str, uri: &str| Route::Local {
            scheme: scheme.into(),
            host: host.into(),
            uri: uri.into(),
        };
        assert_eq!(
            d.route("https://x-1234-dev.twil.io/sms?a=1").expect("site"),
            local("https", "x-1234-dev.twil.io", "/sms?a=1")
        );
        assert_eq!(d.absolute("/sms"), "http://127.0.0.1:3000/sms");
        assert_eq!(
            d.route(&d.absolute("/sms")).expect("live"),
            local("http", "127.0.0.1:3000", "/sms")
        );
        assert_eq!(
            d.route("http://localhost:8080/hook").expect("loopback"),
            Route::Remote("http://localhost:8080/hook".into())
        );
        assert!(d.route("http://[::1]:8080/hook").is_ok());
        assert!(d.route("http://127.0.0.1:3000/_twirl/phone/messages").is_err());
        assert!(matches!(d.route("https://example.com/sms"), Err(Failure::Connection(_))));
        assert!(d.is_function_url("/sms") && d.is_function_url("https://a-1234.twil.io/x"));
        assert!(!d.is_function_url("http://localhost:8080/hook"));
    }

    #[test]
    fn post_signatures_cover_the_sorted_parameters_and_get_ones_the_query() {
        let d = deliverer();
        let params = vec![
            ("To".to_string(), "+1".to_string()),
            ("Body".to_string(), "hi".to_string()),
        ];
        let (url, headers) = d.signed("https://a-1234.twil.io/sms", false, &params);
        let sig = &headers.iter().find(|(k, _)| k == "X-Twilio-Signature").expect("sig").1;
        assert_eq!(url, "https://a-1234.twil.io/sms");
        assert_eq!(sig, &signature::sign("token", "https://a-1234.twil.io/smsBodyhiTo+1"));
        let (url, headers) = d.signed("https://a-1234.twil.io/sms", true, &params);
        assert_eq!(url, "https://a-1234.twil.io/sms?To=%2B1&Body=hi");
        let sig = &headers.iter().find(|(k, _)| k == "X-Twilio-Signature").expect("sig").1;
        assert_eq!(sig, &signature::sign("token", &url));
    }

    #[test]
    fn failures_map_to_twilio_codes() {
        assert_eq!(Failure::Connection("x".into()).code(true), 11205);
        assert_eq!(Failure::Status(500).code(true), 82002);
        assert_eq!(Failure::Status(500).code(false), 11200);
        assert_eq!(Failure::Status(404).code(true), 11200);
        assert_eq!(Failure::TooManyRedirects.code(false), 11215);
    }
}
