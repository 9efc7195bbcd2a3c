//! `/v1/Services/{S}/Functions[/{ZH}]` and `/v1/Services/{S}/Assets[/{ZH}]`. Both collections have
//! the same shape, so one set of handlers serves both; the route supplies the `Kind`.

use super::{in_service, in_service_transaction};
use crate::api::wire::{created, deleted, list_response, ok, Ctx, Paging, Params};
use crate::clock::format_timestamp;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::resources::{self, Kind, Resource};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

/// The list key, and the name of the `links` entry pointing at the versions.
fn names(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Function => ("functions", "function_versions"),
        Kind::Asset => ("assets", "asset_versions"),
    }
}

pub fn render(ctx: &Ctx, r: &Resource) -> Value {
    let url = ctx.url(&format!(
        "/Services/{}/{}/{}",
        r.service_sid,
        r.kind.collection(),
        r.sid
    ));
    json!({
        "sid": r.sid,
        "account_sid": ctx.account_sid,
        "service_sid": r.service_sid,
        "friendly_name": r.friendly_name,
        "date_created": format_timestamp(r.date_created),
        "date_updated": format_timestamp(r.date_updated),
        "url": url,
        "links": { names(r.kind).1: format!("{url}/Versions") },
    })
}

pub async fn create(
    state: web::Data<AppState>,
    kind: web::Data<Kind>,
    ctx: Ctx,
    service: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_body(&body)?;
    let friendly_name = params.required("FriendlyName", 255)?.to_string();
    let (kind, key, now) = (**kind, service.into_inner(), state.clock.now());
    let resource = in_service_transaction(&state, key, move |tx, service_sid| {
        resources::create(tx, kind, service_sid, &friendly_name, now)
    })
    .await?;
    Ok(created(render(&ctx, &resource)))
}

pub async fn list(
    state: web::Data<AppState>,
    kind: web::Data<Kind>,
    ctx: Ctx,
    req: HttpRequest,
    service: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let paging = Paging::from_query(&Params::from_query(&req)?, &[])?;
    let (kind, key, window) = (**kind, service.into_inner(), paging.window());
    let page = in_service(&state, key, move |c, service_sid| {
        resources::list(c, kind, service_sid, window)
    })
    .await?;
    Ok(list_response(&req, names(kind).0, &paging, page, |r| render(&ctx, r)))
}

pub async fn fetch(
    state: web::Data<AppState>,
    kind: web::Data<Kind>,
    ctx: Ctx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let ((key, sid), kind) = (path.into_inner(), **kind);
    let resource = in_service(&state, key, move |c, service_sid| {
        resources::get(c, kind, service_sid, &sid)
    })
    .await?;
    Ok(ok(render(&ctx, &resource)))
}

pub async fn update(
    state: web::Data<AppState>,
    kind: web::Data<Kind>,
    ctx: Ctx,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_body(&body)?;
    let friendly_name = params.required("FriendlyName", 255)?.to_string();
    let ((key, sid), kind, now) = (path.into_inner(), **kind, state.clock.now());
    let resource = in_service_transaction(&state, key, move |tx, service_sid| {
        resources::rename(tx, kind, service_sid, &sid, &friendly_name, now)
    })
    .await?;
    Ok(ok(render(&ctx, &resource)))
}

pub async fn delete(
    state: web::Data<AppState>,
    kind: web::Data<Kind>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let ((key, sid), kind) = (path.into_inner(), **kind);
    in_service_transaction(&state, key, move |tx, service_sid| {
        resources::delete(tx, kind, service_sid, &sid)
    })
    .await?;
    Ok(deleted())
}
