//! Product routing: which Twilio product a request is for. A request for
//! `https://{product}[.edge][.region].twilio.com/{path}` arrives either with that Host (clients
//! redirected to twirl keep it) or at `/{product}/{path}` on twirl's own address; the 2010 API is
//! also at `/2010-04-01/…` and the Serverless API at `/v1/…`, where clients given a base URL send
//! them. The middleware moves the request to its product's mount (`/{product}{path}`) and records
//! where the client believes it is ([`Routed`]), so responses carry URLs the client can follow.
//! A path prefix the live project really serves (`functions/api/x.js` at `/api/x`) is left to it.

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Uri;
use actix_web::middleware::Next;
use actix_web::{guard, web, HttpMessage, HttpRequest};

/// The products twirl serves: a host label and the mount its routes live under. Several labels
/// may share a mount (the upload host is the Serverless API).
const PRODUCTS: &[(&str, &str)] = &[
    ("api", "/api"),
    ("serverless", "/serverless"),
    ("serverless-upload", "/serverless"),
    ("monitor", "/monitor"),
    ("verify", "/verify"),
    ("lookups", "/lookups"),
    ("sync", "/sync"),
];

/// Path prefixes that stand for a product's whole host: `/2010-04-01/…` is `api.twilio.com`'s,
/// `/v1/…` is `serverless.twilio.com`'s.
const BARE_PREFIXES: &[(&str, &str)] = &[("2010-04-01", "/api"), ("v1", "/serverless")];

/// Where a product request came from, as the client sees it.
#[derive(Debug, Clone)]
pub struct Routed {
    /// The mount the request was moved under (`/sync`).
    pub mount: &'static str,
    /// What the client puts before the product's own paths: `https://sync.twilio.com`, or
    /// `http://localhost:3000/sync` for a request made to twirl's path prefix.
    pub origin: String,
}

impl Routed {
    /// The request's path as the product knows it (`/v1/Services`), without the mount.
    pub fn path<'a>(&self, req: &'a HttpRequest) -> &'a str {
        req.path().strip_prefix(self.mount).unwrap_or(req.path())
    }
}

/// The mount of a product host label.
fn mount_of(label: &str) -> Option<&'static str> {
    PRODUCTS.iter().find(|(l, _)| *l == label).map(|(_, m)| *m)
}

/// The product label of a `{product}[.edge][.region].twilio.com` host name.
fn twilio_product(hostname: &str) -> Option<&str> {
    let name = hostname.strip_suffix(".twilio.com")?;
    let labels: Vec<&str> = name.split('.').collect();
    let valid = (1..=3).contains(&labels.len())
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    valid.then_some(labels[0])
}

/// The host without its port.
fn hostname(host: &str) -> &str {
    if let Some(end) = host.strip_prefix('[').and_then(|_| host.find(']')) {
        return &host[..=end];
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// What to do with a request: move it to a product, refuse it, or leave it to the gateway.
enum Decision {
    Product { routed: Routed, path: String },
    Unknown(String),
    Gateway,
}

fn decide(req: &ServiceRequest, state: Option<&AppState>) -> Decision {
    let info = req.connection_info().clone();
    let host = info.host().to_ascii_lowercase();
    let name = hostname(&host);
    let path = req.path();
    if let Some(label) = twilio_product(name) {
        return match mount_of(label) {
            Some(mount) => Decision::Product {
                routed: Routed {
                    mount,
                    origin: format!("https://{name}"),
                },
                path: format!("{mount}{path}"),
            },
            None => Decision::Unknown(name.to_string()),
        };
    }
    if name.ends_with(".twil.io") || name.ends_with(".localhost") {
        return Decision::Gateway;
    }
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    let here = format!("{}://{}", info.scheme(), info.host());
    let decision = if let Some((_, mount)) = BARE_PREFIXES.iter().find(|(p, _)| *p == first) {
        Decision::Product {
            routed: Routed { mount, origin: here },
            path: format!("{mount}{path}"),
        }
    } else if let Some(mount) = mount_of(first) {
        Decision::Product {
            routed: Routed {
                mount,
                origin: format!("{here}/{first}"),
            },
            path: format!("{mount}{}", &path[first.len() + 1..]),
        }
    } else {
        return Decision::Gateway;
    };
    let live_serves = state
        .and_then(|s| s.live.as_ref())
        .is_some_and(|live| live.serves(path));
    if live_serves {
        Decision::Gateway
    } else {
        decision
    }
}

/// Middleware for the whole app: moves product requests under their mount.
pub async fn route(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    match decide(&req, state.as_ref().map(|s| s.get_ref())) {
        Decision::Gateway => Ok(next.call(req).await?.map_into_boxed_body()),
        Decision::Unknown(host) => {
            let error = ApiError::not_found(&format!("https://{host}{}", req.path()));
            let error = ApiError {
                message: format!("{} (twirl does not emulate {host})", error.message),
                ..error
            };
            Ok(req.error_response(error))
        }
        Decision::Product { routed, path } => {
            let uri = match req.uri().query() {
                Some(query) => format!("{path}?{query}"),
                None => path,
            };
            if let Ok(uri) = uri.parse::<Uri>() {
                req.match_info_mut().get_mut().update(&uri);
                req.head_mut().uri = uri;
            }
            req.extensions_mut().insert(routed);
            Ok(next.call(req).await?.map_into_boxed_body())
        }
    }
}

/// Whether the live project's `path` shadows a product prefix (`/api/x`, `/v1/x`): requests for
/// it go to the project, not the product, so twirl warns.
pub fn shadows_a_product(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    mount_of(first).is_some() || BARE_PREFIXES.iter().any(|(p, _)| *p == first)
}

/// A guard matching the requests routed to `mount`, so a product's scope never takes a request
/// left to the gateway that merely starts with the same prefix.
pub fn routed_to(mount: &'static str) -> impl guard::Guard {
    guard::fn_guard(move |ctx| ctx.req_data().get::<Routed>().is_some_and(|r| r.mount == mount))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_hosts_in_every_edge_and_region_form() {
        assert_eq!(twilio_product("api.twilio.com"), Some("api"));
        assert_eq!(twilio_product("api.ie1.twilio.com"), Some("api"));
        assert_eq!(twilio_product("api.dublin.ie1.twilio.com"), Some("api"));
        assert_eq!(
            twilio_product("serverless-upload.sydney.au1.twilio.com"),
            Some("serverless-upload")
        );
        assert_eq!(twilio_product("twilio.com"), None);
        assert_eq!(twilio_product("a.b.c.d.twilio.com"), None);
        assert_eq!(twilio_product("api.twilio.com.evil"), None);
    }

    #[test]
    fn live_routes_under_product_prefixes_shadow_them() {
        assert!(shadows_a_product("/api/x"));
        assert!(shadows_a_product("/v1/Services"));
        assert!(shadows_a_product("/2010-04-01/x"));
        assert!(!shadows_a_product("/apis/x"));
        assert!(!shadows_a_product("/sms"));
    }

    #[test]
    fn ports_are_removed_from_hosts() {
        assert_eq!(hostname("api.twilio.com:443"), "api.twilio.com");
        assert_eq!(hostname("localhost"), "localhost");
        assert_eq!(hostname("[::1]:3000"), "[::1]");
    }
}
