//! `/v1/Services/{S}/Environments/{ZE}/Variables` and `…/{ZV}`.

use super::{in_service, in_service_transaction};
use crate::api::wire::{created, deleted, list_response, ok, Ctx, Paging, Params};
use crate::clock::format_timestamp;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::variables::{self, Variable};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

/// Longest key, in characters, and value, in bytes ([OAI]).
const MAX_KEY: usize = 128;
const MAX_VALUE_BYTES: usize = 450;

pub fn render(ctx: &Ctx, v: &Variable) -> Value {
    json!({
        "sid": v.sid,
        "account_sid": ctx.account_sid,
        "service_sid": v.service_sid,
        "environment_sid": v.environment_sid,
        "key": v.key,
        "value": v.value,
        "date_created": format_timestamp(v.date_created),
        "date_updated": format_timestamp(v.date_updated),
        "url": ctx.url(&format!(
            "/Services/{}/Environments/{}/Variables/{}",
            v.service_sid, v.environment_sid, v.sid
        )),
    })
}

fn check_value(value: Option<&str>) -> Result<Option<String>, ApiError> {
    match value {
        Some(v) if v.len() > MAX_VALUE_BYTES => Err(ApiError::bad_request(format!(
            "Value must be at most {MAX_VALUE_BYTES} bytes long"
        ))),
        other => Ok(other.map(str::to_string)),
    }
}

pub async fn create(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_body(&body)?;
    let key = params.required("Key", MAX_KEY)?.to_string();
    let value = check_value(params.get("Value"))?.ok_or_else(|| crate::api::wire::missing("Value"))?;
    let ((service, environment_sid), now) = (path.into_inner(), state.clock.now());
    let variable = in_service_transaction(&state, service, move |tx, service_sid| {
        variables::create(tx, service_sid, &environment_sid, &key, &value, now)
    })
    .await?;
    Ok(created(render(&ctx, &variable)))
}

pub async fn list(
    state: web::Data<AppState>,
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let paging = Paging::from_query(&Params::from_query(&req)?, &[])?;
    let ((service, environment_sid), window) = (path.into_inner(), paging.window());
    let page = in_service(&state, service, move |c, service_sid| {
        variables::list(c, service_sid, &environment_sid, window)
    })
    .await?;
    Ok(list_response(&req, "variables", &paging, page, |v| render(&ctx, v)))
}

pub async fn fetch(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (service, environment_sid, sid) = path.into_inner();
    let variable = in_service(&state, service, move |c, service_sid| {
        variables::get(c, service_sid, &environment_sid, &sid)
    })
    .await?;
    Ok(ok(render(&ctx, &variable)))
}

pub async fn update(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_body(&body)?;
    let key = params
        .text("Key", MAX_KEY)?
        .filter(|k| !k.is_empty())
        .map(str::to_string);
    let value = check_value(params.get("Value"))?;
    let ((service, environment_sid, sid), now) = (path.into_inner(), state.clock.now());
    let variable = in_service_transaction(&state, service, move |tx, service_sid| {
        variables::update(
            tx,
            service_sid,
            &environment_sid,
            &sid,
            key.as_deref(),
            value.as_deref(),
            now,
        )
    })
    .await?;
    Ok(ok(render(&ctx, &variable)))
}

pub async fn delete(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (service, environment_sid, sid) = path.into_inner();
    in_service_transaction(&state, service, move |tx, service_sid| {
        variables::delete(tx, service_sid, &environment_sid, &sid)
    })
    .await?;
    Ok(deleted())
}
