//! Lookup v2 (`lookups.twilio.com/v2`): `GET /v2/PhoneNumbers/{PhoneNumber}` validates and
//! formats a number (E.164 or national with `CountryCode`), and adds the data packages `Fields`
//! asks for, answered by the simulated network (`phone::lookup`). Every lookup shows in the
//! console's request log, as requests to the functions do.

use super::resource;
use crate::api::wire::{ok, product_path, Ctx, Params};
use crate::error::ApiError;
use crate::events::Event;
use crate::phone::lookup::{self, Inputs, BASIC_FIELDS, PACKAGES};
use crate::state::AppState;
use crate::store::lookups;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};
use std::time::Instant;

/// The host the request log names for lookups.
const HOST: &str = "lookups.twilio.com";

/// Registers the `/v2` routes (under the product's mount).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/v2")
            .wrap(from_fn(request_log))
            .service(resource("/PhoneNumbers/{number}").get(fetch)),
    );
}

/// Prints each lookup's request line and sends it to the console's request log.
async fn request_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let (method, path) = (req.method().to_string(), product_path(req.request()));
    let query = req.query_string().to_string();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let response = next.call(req).await?;
    let status = response.status().as_u16();
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    let path = if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    };
    log::info!(target: "twirl::requests", "{method} https://{HOST}{path} {status} {duration_ms:.1}ms");
    if let Some(state) = state.filter(|s| s.events.listened()) {
        state.events.send(Event::Request {
            method,
            path,
            domain: HOST.to_string(),
            status,
            duration_ms,
            date: crate::clock::format_timestamp(state.clock.now()),
        });
    }
    Ok(response)
}

/// The packages `Fields` names, in the document's order; an unknown field is refused.
fn fields(query: &Params) -> Result<Vec<&'static str>, ApiError> {
    let mut wanted = Vec::new();
    for field in query
        .list("Fields")
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|f| !f.is_empty())
    {
        match PACKAGES.iter().find(|p| **p == field) {
            Some(package) => wanted.push(*package),
            None if BASIC_FIELDS.contains(&field) => {}
            None => {
                return Err(ApiError::bad_request(format!(
                    "Invalid Fields value {field:?}: one of {}",
                    PACKAGES.join(", ")
                )))
            }
        }
    }
    Ok(wanted)
}

pub async fn fetch(
    state: web::Data<AppState>,
    ctx: Ctx,
    req: HttpRequest,
    number: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let query = Params::from_query(&req)?;
    let wanted = fields(&query)?;
    let parsed = lookup::parse(&number.into_inner(), query.get("CountryCode"));
    let key = parsed.phone_number.clone();
    let declared = if parsed.valid {
        state.store.call(move |c| lookups::get(c, &key)).await?
    } else {
        None
    };
    let inputs = Inputs {
        last_verified_date: query.get("LastVerifiedDate").map(str::to_string),
    };
    let mut body = json!({
        "calling_country_code": parsed.country.as_ref().map(|(_, code)| code),
        "country_code": parsed.country_code(),
        "phone_number": parsed.phone_number,
        "national_format": parsed.national_format,
        "valid": parsed.valid,
        "validation_errors": parsed.validation_errors,
        "url": ctx.url(&format!("/PhoneNumbers/{}", parsed.phone_number)),
    });
    let packages: Map<String, Value> = PACKAGES
        .iter()
        .map(|name| {
            let answer = if parsed.valid && wanted.contains(name) {
                lookup::package(name, &parsed, declared.as_ref(), &inputs)
            } else {
                Value::Null
            };
            (name.to_string(), answer)
        })
        .collect();
    if let Some(object) = body.as_object_mut() {
        object.extend(packages);
    }
    Ok(ok(body))
}
