//! The Serverless REST API under `/v1`, wire-compatible with `serverless.twilio.com/v1` and with
//! the upload host's multipart version creates. One module per resource; `wire` holds the
//! conventions they share.

mod auth;
mod builds;
mod deployments;
mod environments;
mod logs;
mod resources;
mod services;
mod variables;
mod versions;
pub mod wire;

pub use auth::is_authorized;
pub use versions::{check_path, check_size, check_visibility};

use crate::error::{ApiError, ErrorKind};
use crate::store::resources::Kind;
use actix_web::middleware::from_fn;
use actix_web::{web, HttpRequest, Resource};

/// Registers every `/v1` route, behind Basic authentication.
pub fn configure(cfg: &mut web::ServiceConfig) {
    const SERVICE: &str = "/Services/{service}";
    const ENVIRONMENT: &str = "/Services/{service}/Environments/{environment}";
    let mut scope = web::scope("/v1")
        .wrap(from_fn(twilio_shaped_errors))
        .wrap(from_fn(invalidate_sites))
        .wrap(from_fn(auth::require_credentials))
        .default_service(web::to(not_found))
        .service(resource("/Services").get(services::list).post(services::create))
        .service(
            resource(SERVICE)
                .get(services::fetch)
                .post(services::update)
                .delete(services::delete),
        )
        .service(
            resource(&format!("{SERVICE}/Environments"))
                .get(environments::list)
                .post(environments::create),
        )
        .service(
            resource(ENVIRONMENT)
                .get(environments::fetch)
                .delete(environments::delete),
        )
        .service(
            resource(&format!("{ENVIRONMENT}/Variables"))
                .get(variables::list)
                .post(variables::create),
        )
        .service(
            resource(&format!("{ENVIRONMENT}/Variables/{{sid}}"))
                .get(variables::fetch)
                .post(variables::update)
                .delete(variables::delete),
        )
        .service(
            resource(&format!("{ENVIRONMENT}/Deployments"))
                .get(deployments::list)
                .post(deployments::create),
        )
        .service(resource(&format!("{ENVIRONMENT}/Deployments/{{sid}}")).get(deployments::fetch))
        .service(resource(&format!("{ENVIRONMENT}/Logs")).get(logs::list))
        .service(resource(&format!("{ENVIRONMENT}/Logs/{{sid}}")).get(logs::fetch))
        .service(
            resource(&format!("{SERVICE}/Builds"))
                .get(builds::list)
                .post(builds::create),
        )
        .service(
            resource(&format!("{SERVICE}/Builds/{{sid}}"))
                .get(builds::fetch)
                .delete(builds::delete),
        )
        .service(resource(&format!("{SERVICE}/Builds/{{sid}}/Status")).get(builds::status))
        .service(
            resource(&format!("{SERVICE}/Functions/{{function}}/Versions/{{sid}}/Content")).get(versions::content),
        );
    for kind in [Kind::Function, Kind::Asset] {
        let base = format!("{SERVICE}/{}", kind.collection());
        let data = web::Data::new(kind);
        scope = scope
            .service(
                resource(&base)
                    .app_data(data.clone())
                    .get(resources::list)
                    .post(resources::create),
            )
            .service(
                resource(&format!("{base}/{{sid}}"))
                    .app_data(data.clone())
                    .get(resources::fetch)
                    .post(resources::update)
                    .delete(resources::delete),
            )
            .service(
                resource(&format!("{base}/{{resource}}/Versions"))
                    .app_data(data.clone())
                    .get(versions::list)
                    .post(versions::upload),
            )
            .service(
                resource(&format!("{base}/{{resource}}/Versions/{{sid}}"))
                    .app_data(data)
                    .get(versions::fetch),
            );
    }
    cfg.service(scope);
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

/// After any successful write, the gateway forgets what it loaded, so the next request to a
/// domain sees the new deployment, variables or service settings; the console is told too.
async fn invalidate_sites(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let writes = req.method() != actix_web::http::Method::GET;
    let state = req.app_data::<web::Data<crate::state::AppState>>().cloned();
    let response = next.call(req).await?;
    if let (true, Some(state)) = (writes && response.status().is_success(), state) {
        state.gateway.invalidate();
        state.events.send(crate::events::Event::Changed);
    }
    Ok(response)
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

/// The API path of a request, as Twilio quotes it in errors (without `/v1`).
fn api_path(req: &HttpRequest) -> &str {
    req.path().strip_prefix("/v1").unwrap_or(req.path())
}

async fn not_found(req: HttpRequest) -> ApiError {
    ApiError::not_found(api_path(&req))
}

async fn method_not_allowed(req: HttpRequest) -> ApiError {
    ApiError::new(
        ErrorKind::MethodNotAllowed,
        format!("Method {} is not allowed on {}", req.method(), api_path(&req)),
    )
}
