//! The gateway: serves each environment's active build at its domain, mirrored locally as
//! `/{domain_name}/…` or reached through the Host header (`{domain_name}` or
//! `{domain_base}[-{suffix}].localhost`). It enforces visibility, signatures, methods and header
//! limits, serves assets (a build's from memory), and hands function requests to the runtime.

mod asset;
mod event;
pub mod signature;
mod site;

use crate::error::{ApiError, ErrorKind};
use crate::events::Event;
use crate::runtime::{Done, Invocation, InvokeError};
use crate::sid;
use crate::state::AppState;
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use base64::Engine;
use serde_json::{json, Value};
use site::{Site, Target};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

/// Twilio's header limits, for requests and responses alike: 90 headers, 15 kB in all.
const MAX_HEADERS: usize = 90;
const MAX_HEADER_BYTES: usize = 15 * 1024;

/// Whether a block of headers, given as (name, value) pairs, is over those limits.
fn over_header_limits<'a>(headers: impl ExactSizeIterator<Item = (&'a str, &'a [u8])>) -> bool {
    let count = headers.len();
    let bytes: usize = headers.map(|(k, v)| k.len() + v.len()).sum();
    count > MAX_HEADERS || bytes > MAX_HEADER_BYTES
}

/// The cache of loaded sites, by domain name. Any write to the API empties it, so the next
/// request sees the new deployment, variables or service settings.
#[derive(Default)]
pub struct Gateway {
    sites: RwLock<HashMap<String, Arc<Site>>>,
    generation: AtomicU64,
}

impl Gateway {
    /// Forgets every loaded site.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.sites.write().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Serves the live project at `domain` as edited (`Site::edited`) from the next request on,
    /// without loading its site from the store, which is still recording the edit. A site not
    /// loaded yet, or loading now, is loaded from the store (after the recording) instead.
    pub fn edited_live(&self, domain: &str, generation: u64, planned: &crate::deploy::Deployed) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let mut sites = self.sites.write().unwrap_or_else(|e| e.into_inner());
        match sites.get(domain).and_then(|s| s.edited(generation, planned)) {
            Some(site) => sites.insert(domain.to_string(), Arc::new(site)),
            None => sites.remove(domain),
        };
    }

    async fn site(&self, state: &AppState, domain: &str) -> Result<Option<Arc<Site>>, ApiError> {
        if let Some(site) = self.sites.read().unwrap_or_else(|e| e.into_inner()).get(domain) {
            return Ok(Some(site.clone()));
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let Some(site) = site::load(state, domain).await?.map(Arc::new) else {
            return Ok(None);
        };
        // A write that landed while this site was loading may have made it stale: cache it only
        // if none did (this request still gets it; the next one reloads).
        let mut sites = self.sites.write().unwrap_or_else(|e| e.into_inner());
        if self.generation.load(Ordering::SeqCst) == generation {
            sites.insert(domain.to_string(), site.clone());
        }
        Ok(Some(site))
    }

    /// Loads a domain's site ahead of its first request, so its workers are warm.
    pub fn warm(state: AppState, domain: String) {
        tokio::spawn(async move {
            if let Err(e) = state.gateway.site(&state, &domain).await {
                log::warn!("cannot prepare {domain}: {e}");
            }
        });
    }
}

/// Where a request is going: an environment's domain and the path within it.
/// A request the gateway serves: one that came over HTTP, or one of twirl's own webhooks, which
/// reach an environment's domain or the live project without a trip through the network. Both go
/// through the same checks and the same invocation.
pub struct Request<'a> {
    pub method: &'a Method,
    /// The scheme and host the client addressed (`https`, `thanos-1234-dev.twil.io`).
    pub scheme: String,
    pub host: String,
    /// The path and query, as sent.
    pub uri: &'a str,
    pub headers: &'a HeaderMap,
}

impl<'a> Request<'a> {
    pub fn from_http(req: &'a HttpRequest) -> Request<'a> {
        let info = req.connection_info();
        Request {
            method: req.method(),
            scheme: info.scheme().to_string(),
            host: info.host().to_string(),
            uri: req.uri().path_and_query().map_or(req.path(), |p| p.as_str()),
            headers: req.headers(),
        }
    }

    fn path(&self) -> &str {
        self.uri.split_once('?').map_or(self.uri, |(path, _)| path)
    }

    fn query(&self) -> &str {
        self.uri.split_once('?').map_or("", |(_, query)| query)
    }
}

struct Destination {
    domain: String,
    path: String,
    /// What `context.DOMAIN_NAME` is: the host (and prefix) the site is reachable at here.
    reachable_at: String,
}

fn destination(req: &Request, state: &AppState) -> Option<Destination> {
    let host = req.host.clone();
    let hostname = host.rsplit_once(':').map_or(host.as_str(), |(h, p)| {
        if p.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host.as_str()
        }
    });
    let path = decode_path(req.path());
    if hostname.ends_with(".twil.io") {
        return Some(Destination {
            domain: hostname.to_string(),
            path,
            reachable_at: host,
        });
    }
    if let Some(label) = hostname.strip_suffix(".localhost") {
        return Some(Destination {
            domain: format!("{label}.twil.io"),
            path,
            reachable_at: host,
        });
    }
    let rest = path.strip_prefix('/').unwrap_or(&path);
    let (domain, inner) = rest.split_once('/').map_or((rest, ""), |(d, i)| (d, i));
    if domain.ends_with(".twil.io") {
        return Some(Destination {
            domain: domain.to_string(),
            path: format!("/{inner}"),
            reachable_at: format!("{host}/{domain}"),
        });
    }
    // Anything else is the live project's, at the root, as with `twilio-run start`.
    let live = state.live.as_ref()?;
    Some(Destination {
        domain: live.snapshot().recorded.domain_name.clone(),
        path,
        reachable_at: live_domain_name(&host),
    })
}

/// The live project's `DOMAIN_NAME`: `localhost:PORT` for any loopback name of this machine, as
/// `twilio-run start` says whatever the Host (code written for it tests
/// `DOMAIN_NAME.startsWith('localhost')`); any other host as it was given.
fn live_domain_name(host: &str) -> String {
    if !crate::control::is_loopback_name(host) {
        return host.to_string();
    }
    let after_address = host.rsplit_once(']').map_or(host, |(_, rest)| rest);
    match after_address.rsplit_once(':') {
        Some((_, port)) if !port.is_empty() => format!("localhost:{port}"),
        _ => "localhost".to_string(),
    }
}

fn decode_path(raw: &str) -> String {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned()
}

/// Largest request body a function accepts (the Toolkit's parser limit).
const MAX_BODY: usize = 6 * 1024 * 1024;

async fn read_body(mut payload: web::Payload) -> Result<web::BytesMut, ApiError> {
    use futures_util::StreamExt;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("Cannot read the request body: {e}")))?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(ApiError::new(
                ErrorKind::PayloadTooLarge,
                "The request body is larger than 6 MB",
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// What a request is answered with: a response, or an asset (kept in memory, or its file),
/// which the HTTP server answers with ranges and validators and a webhook gets whole.
enum Served {
    Response(HttpResponse),
    Asset { path: PathBuf, mime: mime_guess::Mime },
    Kept(Arc<asset::Asset>),
}

/// A response as one of twirl's own webhooks receives it.
pub struct WebhookAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Serves one request that came over HTTP.
pub async fn handle(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> HttpResponse {
    let started = Instant::now();
    let request = Request::from_http(&req);
    let response = match read_body(payload).await {
        Ok(body) => match serve(&request, &body, &state).await {
            Ok(Served::Response(response)) => response,
            Ok(Served::Asset { path, mime }) => asset_over_http(&req, &path, mime),
            Ok(Served::Kept(asset)) => asset::respond(&req, &asset),
            Err(e) => e.error_response(),
        },
        Err(e) => e.error_response(),
    };
    record(&state, &request, response.status().as_u16(), started);
    response
}

/// Serves one of twirl's own webhooks (to an environment's domain or the live project) without a
/// trip through the network: `target` is the scheme, host and path-and-query it is meant for.
pub async fn handle_webhook(
    state: &AppState,
    method: &Method,
    (scheme, host, uri): (&str, &str, &str),
    headers: &HeaderMap,
    body: &[u8],
) -> WebhookAnswer {
    let started = Instant::now();
    let request = Request {
        method,
        scheme: scheme.to_string(),
        host: host.to_string(),
        uri,
        headers,
    };
    let response = match serve(&request, body, state).await {
        Ok(Served::Response(response)) => response,
        Ok(Served::Asset { path, mime }) => match std::fs::read(&path) {
            Ok(bytes) => HttpResponse::Ok().content_type(mime).body(bytes),
            Err(e) => missing_asset(&path, e).error_response(),
        },
        Ok(Served::Kept(asset)) => HttpResponse::Ok()
            .content_type(asset.mime.clone())
            .body(asset.bytes.clone()),
        Err(e) => e.error_response(),
    };
    let status = response.status().as_u16();
    record(state, &request, status, started);
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    // Every response but an asset's file is in memory already.
    let body = actix_web::body::MessageBody::try_into_bytes(response.into_body())
        .map(|b| b.to_vec())
        .unwrap_or_default();
    WebhookAnswer { status, headers, body }
}

/// Prints the request line, and tells the console, however the request came.
fn record(state: &AppState, req: &Request, status: u16, started: Instant) {
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    log::info!(target: "twirl::requests", "{} {} {status} {duration_ms:.1}ms", req.method, req.uri);
    if !state.events.listened() {
        return;
    }
    state.events.send(Event::Request {
        method: req.method.to_string(),
        path: req.uri.to_string(),
        domain: destination(req, state).map(|d| d.domain).unwrap_or_default(),
        status,
        duration_ms,
        date: crate::clock::format_timestamp(state.clock.now()),
    });
}

async fn serve(req: &Request<'_>, body: &[u8], state: &AppState) -> Result<Served, ApiError> {
    let dest = destination(req, state).ok_or_else(|| ApiError::not_found(req.path()))?;
    check_header_limits(req)?;
    if let Some(live) = state
        .live
        .as_ref()
        .filter(|l| l.snapshot().recorded.domain_name == dest.domain)
    {
        // An edit already saved is served now, not after the watcher's quiet time.
        live.catch_up(state).await;
    }
    let not_found = || ApiError::not_found(&dest.path);
    let site = state.gateway.site(state, &dest.domain).await?.ok_or_else(not_found)?;
    let target = site.resolve(&dest.path);
    let method = req.method;
    if method == Method::OPTIONS {
        return target.map(|_| Served::Response(preflight())).ok_or_else(not_found);
    }
    if ![Method::GET, Method::HEAD, Method::POST].contains(method) {
        return Err(ApiError::new(
            ErrorKind::MethodNotAllowed,
            format!("Method {method} is not allowed"),
        ));
    }
    let target = target.ok_or_else(not_found)?;
    if target.route().visibility == "protected" && !state.allow_unsigned {
        check_signature(req, body, state)?;
    }
    match target {
        Target::Asset(route) => {
            let path = site.dir.join(&route.file);
            let mime = route
                .content_type
                .parse()
                .unwrap_or(mime_guess::mime::APPLICATION_OCTET_STREAM);
            let kept = match &site.kept {
                Some(kept) => kept.get(&path, &mime).map_err(|e| missing_asset(&path, e))?,
                None => None,
            };
            Ok(kept.map_or(Served::Asset { path, mime }, Served::Kept))
        }
        Target::Function(route) => {
            if method != Method::POST && !body.is_empty() {
                return Err(ApiError::new(
                    ErrorKind::Forbidden,
                    "A GET request must not have a body",
                ));
            }
            invoke(req, body, state, &site, &dest, route)
                .await
                .map(Served::Response)
        }
    }
}

fn check_header_limits(req: &Request) -> Result<(), ApiError> {
    if over_header_limits(req.headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes()))) {
        return Err(ApiError::new(
            ErrorKind::HeadersTooLarge,
            "Request headers or cookies too long",
        ));
    }
    Ok(())
}

/// Production answers preflights itself; functions never see OPTIONS.
fn preflight() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, "*"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, OPTIONS"))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"))
        .finish()
}

fn check_signature(req: &Request, body: &[u8], state: &AppState) -> Result<(), ApiError> {
    let invalid = || ApiError::bad_request("The X-Twilio-Signature header is missing or invalid");
    let signature = req
        .headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(invalid)?;
    let url = format!("{}://{}{}", req.scheme, req.host, req.uri);
    let params = event::form_params(req.headers, body);
    if signature::is_valid(&state.credentials.auth_token, &url, &params, body, signature) {
        Ok(())
    } else {
        Err(invalid())
    }
}

fn missing_asset(path: &std::path::Path, e: std::io::Error) -> ApiError {
    log::error!("asset file {} is missing: {e}", path.display());
    ApiError::internal()
}

fn asset_over_http(req: &HttpRequest, path: &std::path::Path, mime: mime_guess::Mime) -> HttpResponse {
    // Opened and read on the request's own thread, not handed to the blocking pool: build files
    // sit on a local disk, mostly in the page cache, where an open or a 64 KiB read takes
    // microseconds, less than the hop to another thread and back.
    match actix_files::NamedFile::open(path) {
        Ok(file) => file
            .set_content_type(mime)
            .disable_content_disposition()
            .read_mode_threshold(u64::MAX)
            .into_response(req),
        Err(e) => missing_asset(path, e).error_response(),
    }
}

async fn invoke(
    req: &Request<'_>,
    body: &[u8],
    state: &AppState,
    site: &Site,
    dest: &Destination,
    route: &crate::build::materialize::Route,
) -> Result<HttpResponse, ApiError> {
    let event = event::build(req.query(), req.headers, body)?;
    // The live project's workers change when its dependencies do: until they are installed the
    // first time, its functions wait (within a bound) rather than run without them.
    let (pool, dependencies) = match &site.live {
        Some(live) => {
            live.ready().await.map_err(|why| {
                ApiError::new(
                    ErrorKind::Coded {
                        status: 503,
                        code: 20503,
                    },
                    why,
                )
            })?;
            (live.pool(), live.missing_modules_note())
        }
        None => (site.pool.clone(), None),
    };
    let invocation = Invocation {
        path: &route.path,
        file: &route.file,
        generation: site.generation,
        scope: site.scope.clone(),
        context_path: &dest.path,
        domain_name: &dest.reachable_at,
        event,
        function_sid: &route.resource_sid,
        request_sid: sid::generate(sid::prefix::REQUEST),
        dependencies,
    };
    match state.runtime.invoke(&pool, invocation).await {
        Ok(mut done) if done.error.is_some() => {
            hide_internals(&mut done, &state.runtime.harness().display().to_string());
            if wants_html(req) {
                Ok(error_page(&route.path, &done))
            } else {
                to_http(done)
            }
        }
        Ok(done) => to_http(done),
        Err(InvokeError::Busy) => Err(ApiError::new(ErrorKind::TooManyRequests, "Too many requests")),
        Err(InvokeError::Timeout) => Err(ApiError::new(
            ErrorKind::FunctionTimeout,
            "runtime application timed out",
        )),
        Err(e) => Err(ApiError::new(ErrorKind::FunctionCrashed, e.to_string())),
    }
}

/// Browsers get an error page rather than the error's JSON.
fn wants_html(req: &Request) -> bool {
    req.headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// What replaces the frames of twirl's own harness in a stack, as twilio-run replaces its own.
const INTERNALS: &str = "    at [twirl internals]";

/// Cuts a failed invocation's stack at the first frame of the harness that called the handler:
/// what follows is twirl's plumbing, never the function's. The JSON body carries the same stack.
fn hide_internals(done: &mut Done, harness: &str) {
    let Some(error) = done.error.as_mut() else { return };
    let Some(stack) = error.get("stack").and_then(Value::as_str).map(str::to_string) else {
        return;
    };
    error["stack"] = json!(trim_stack(&stack, harness));
    let body_is_this_error = serde_json::from_str::<Value>(&done.body)
        .is_ok_and(|b| b.get("stack").and_then(Value::as_str) == Some(stack.as_str()));
    if body_is_this_error && !done.b64 {
        done.body = error.to_string();
    }
}

fn trim_stack(stack: &str, harness: &str) -> String {
    let mut lines: Vec<&str> = Vec::new();
    for line in stack.lines() {
        if line.trim_start().starts_with("at ") && line.contains(harness) {
            lines.push(INTERNALS);
            break;
        }
        lines.push(line);
    }
    lines.join("\n")
}

fn error_page(path: &str, done: &Done) -> HttpResponse {
    let error = done.error.as_ref();
    let field = |name: &str| error.and_then(|e| e.get(name)).and_then(|v| v.as_str()).unwrap_or("");
    let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Runtime Error</title><style>\
         body{{font-family:system-ui,sans-serif;margin:3rem auto;max-width:60rem;padding:0 1rem;color:#1f2330}}\
         h1{{color:#f22f46}}pre{{background:#f4f4f6;padding:1rem;overflow:auto}}</style></head><body>\
         <h1>Runtime Error</h1><p>The function <code>{}</code> failed: <strong>{}: {}</strong></p><pre>{}</pre>\
         </body></html>",
        escape(path),
        escape(field("name")),
        escape(field("message")),
        escape(field("stack"))
    );
    HttpResponse::InternalServerError()
        .content_type("text/html; charset=utf-8")
        .body(html)
}

/// The function's response as HTTP; headers a client could not accept are dropped.
fn to_http(done: Done) -> Result<HttpResponse, ApiError> {
    if over_header_limits(done.headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes()))) {
        log::warn!(target: "twirl::functions", "a response with {} headers is over the limits", done.headers.len());
        return Err(ApiError::new(
            ErrorKind::HeadersTooLarge,
            "Response headers or cookies too long",
        ));
    }
    let status = StatusCode::from_u16(done.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    for (name, value) in &done.headers {
        match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            (Ok(name), Ok(value)) => {
                response.append_header((name, value));
            }
            _ => log::warn!(target: "twirl::functions", "dropped an invalid response header {name:?}"),
        }
    }
    let body = if done.b64 {
        base64::engine::general_purpose::STANDARD
            .decode(done.body.as_bytes())
            .unwrap_or_default()
    } else {
        done.body.into_bytes()
    };
    Ok(response.body(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacks_stop_at_the_harness() {
        let stack = "Error: bad thing\n    at helper (/p/functions/a.js:1:27)\n    at exports.handler (/p/functions/a.js:2:5)\n    at /d/harness.js:345:40\n    at AsyncLocalStorage.run (node:async_hooks:346:14)\n    at invoke (/d/harness.js:343:14)";
        assert_eq!(
            trim_stack(stack, "/d/harness.js"),
            "Error: bad thing\n    at helper (/p/functions/a.js:1:27)\n    at exports.handler (/p/functions/a.js:2:5)\n    at [twirl internals]"
        );
        let elsewhere = "Error: late\n    at Timeout._onTimeout (/p/functions/a.js:3:9)\n    at listOnTimeout (node:internal/timers:581:17)";
        assert_eq!(trim_stack(elsewhere, "/d/harness.js"), elsewhere);
    }

    #[test]
    fn the_live_project_is_at_localhost_for_every_loopback_name() {
        for (host, expected) in [
            ("127.0.0.1:3000", "localhost:3000"),
            ("localhost:3000", "localhost:3000"),
            ("[::1]:3000", "localhost:3000"),
            ("127.0.0.1", "localhost"),
            ("[::1]", "localhost"),
            ("192.168.1.5:3000", "192.168.1.5:3000"),
            ("example.com", "example.com"),
        ] {
            assert_eq!(live_domain_name(host), expected, "{host}");
        }
    }
}
