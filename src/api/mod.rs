//! The Twilio REST APIs functions and clients call, one folder per product, each mounted under
//! `/{product}` and reached through product routing (`products`): the Serverless API
//! (`serverless`), the 2010 API's messaging and numbers (`core`), Monitor's alerts
//! (`monitor`), Verify (`verify`), Lookup (`lookups`) and Sync (`sync`). `wire` holds the
//! conventions they share, per wire family; `auth` the credentials every product takes.

mod auth;
pub mod core;
pub mod lookups;
pub mod monitor;
pub mod products;
pub mod serverless;
pub mod sync;
pub mod verify;
pub mod wire;

pub use auth::is_authorized;
pub use serverless::{check_path, check_size, check_visibility};

use crate::error::{ApiError, ErrorKind};
use actix_web::middleware::from_fn;
use actix_web::{web, HttpRequest, Resource};

/// Registers every product under its mount, behind Basic authentication; only requests the
/// product routing sent there reach them.
pub fn configure(cfg: &mut web::ServiceConfig) {
    type Configure = fn(&mut web::ServiceConfig);
    let products: [(&'static str, Configure); 6] = [
        ("/serverless", serverless::configure),
        ("/api", core::configure),
        ("/monitor", monitor::configure),
        ("/verify", verify::configure),
        ("/lookups", lookups::configure),
        ("/sync", sync::configure),
    ];
    for (mount, configure) in products {
        cfg.service(
            web::scope(mount)
                .guard(products::routed_to(mount))
                .wrap(from_fn(twilio_shaped_errors))
                .wrap(from_fn(auth::require_credentials))
                .configure(configure)
                .default_service(web::to(not_found)),
        );
    }
}

/// Errors actix-web answers by itself (an oversized body, an unsupported media type) come as plain
/// text; clients expect Twilio's `{code, message, more_info, status}` for every failure.
async fn twilio_shaped_errors(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let response = next.call(req).await?;
    let status = response.status();
    let is_json = response
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return Ok(response.map_into_boxed_body());
    }
    let (req, res) = response.into_parts();
    let body = actix_web::body::to_bytes(res.into_body()).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&body).trim().to_string();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("Error").to_string()
    } else {
        text
    };
    let error = ApiError::new(ErrorKind::from_status(status), message);
    Ok(actix_web::dev::ServiceResponse::new(
        req,
        actix_web::ResponseError::error_response(&error),
    ))
}

/// A route whose other methods answer 405 in Twilio's shape.
fn resource(path: &str) -> Routes {
    Routes(web::resource(path).default_service(web::to(method_not_allowed)))
}

/// A thin builder so the route table above reads as `path → get/post/delete`.
struct Routes(Resource);

macro_rules! method {
    ($name:ident, $method:ident) => {
        fn $name<F, Args>(self, handler: F) -> Routes
        where
            F: actix_web::Handler<Args>,
            Args: actix_web::FromRequest + 'static,
            F::Output: actix_web::Responder + 'static,
        {
            Routes(self.0.route(web::$method().to(handler)))
        }
    };
}

impl Routes {
    method!(get, get);
    method!(post, post);
    method!(delete, delete);

    fn app_data<U: 'static>(self, data: U) -> Routes {
        Routes(self.0.app_data(data))
    }
}

impl actix_web::dev::HttpServiceFactory for Routes {
    fn register(self, config: &mut actix_web::dev::AppService) {
        self.0.register(config)
    }
}

/// The API path of a request as Twilio quotes it in errors: the product's path without its
/// version (`/Services/ZS…` for `/v1/Services/ZS…`).
fn api_path(req: &HttpRequest) -> String {
    let path = wire::product_path(req);
    let without_version = path
        .strip_prefix('/')
        .and_then(|p| p.split_once('/'))
        .map_or(path.as_str(), |(_, rest)| &path[path.len() - rest.len() - 1..]);
    without_version.to_string()
}

async fn not_found(req: HttpRequest) -> ApiError {
    ApiError::not_found(&api_path(&req))
}

async fn method_not_allowed(req: HttpRequest) -> ApiError {
    ApiError::new(
        ErrorKind::MethodNotAllowed,
        format!("Method {} is not allowed on {}", req.method(), api_path(&req)),
    )
}
