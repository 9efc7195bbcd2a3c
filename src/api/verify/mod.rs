//! Verify v2 (`verify.twilio.com/v2`): verification Services, the Verifications started under
//! them (create, fetch, update to `canceled`/`approved`) and VerificationCheck. The rules live in
//! `crate::verify`; this module reads parameters (Twilio's 60200 for a bad one) and renders.

mod render;
mod services;
mod verifications;

use super::resource;
use crate::api::wire::Params;
use crate::error::ApiError;
use crate::verify::invalid;
use actix_web::web;

/// Registers the `/v2` routes (under the product's mount).
pub fn configure(cfg: &mut web::ServiceConfig) {
    const SERVICE: &str = "/Services/{service}";
    cfg.service(
        web::scope("/v2")
            .service(resource("/Services").get(services::list).post(services::create))
            .service(
                resource(SERVICE)
                    .get(services::fetch)
                    .post(services::update)
                    .delete(services::delete),
            )
            .service(resource(&format!("{SERVICE}/Verifications")).post(verifications::create))
            .service(
                resource(&format!("{SERVICE}/Verifications/{{sid}}"))
                    .get(verifications::fetch)
                    .post(verifications::update),
            )
            .service(resource(&format!("{SERVICE}/VerificationCheck")).post(verifications::check)),
    );
}

/// An optional boolean; anything but true or false is 60200.
fn flag(params: &Params, name: &str) -> Result<Option<bool>, ApiError> {
    params.bool(name).map_err(|_| invalid(name))
}

/// An optional integer within `range`; anything else is 60200.
fn integer(params: &Params, name: &str, range: std::ops::RangeInclusive<i64>) -> Result<Option<i64>, ApiError> {
    params.integer(name, range).map_err(|_| invalid(name))
}

/// An optional text of at most `max` characters; longer is 60200.
fn text(params: &Params, name: &str, max: usize) -> Result<Option<String>, ApiError> {
    match params.get(name) {
        Some(v) if v.chars().count() > max => Err(invalid(name)),
        Some(v) if !v.is_empty() => Ok(Some(v.to_string())),
        _ => Ok(None),
    }
}

/// An optional SID with `prefix`; a malformed one is 60200.
fn sid(params: &Params, name: &str, prefix: &str) -> Result<Option<String>, ApiError> {
    params
        .sid(name, prefix)
        .map(|s| s.map(crate::sid::normalize))
        .map_err(|_| invalid(name))
}
