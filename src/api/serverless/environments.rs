//! `/v1/Services/{S}/Environments` and `…/{ZE}`: create, list, fetch, delete (no update).

use super::{in_service, in_service_transaction};
use crate::api::wire::{check_host_label, created, deleted, list_response, ok, Ctx, Paging, Params};
use crate::clock::format_timestamp;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::environments::{self, Environment};
use crate::store::services;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

pub fn render(ctx: &Ctx, e: &Environment) -> Value {
    let url = ctx.url(&format!("/Services/{}/Environments/{}", e.service_sid, e.sid));
    json!({
        "sid": e.sid,
        "account_sid": ctx.account_sid,
        "service_sid": e.service_sid,
        "build_sid": e.build_sid,
        "unique_name": e.unique_name,
        "domain_suffix": e.domain_suffix,
        "domain_name": e.domain_name,
        "date_created": format_timestamp(e.date_created),
        "date_updated": format_timestamp(e.date_updated),
        "links": {
            "variables": format!("{url}/Variables"),
            "deployments": format!("{url}/Deployments"),
            "logs": format!("{url}/Logs"),
        },
        "url": url,
    })
}

pub async fn create(
    state: web::Data<AppState>,
    ctx: Ctx,
    service: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_body(&body)?;
    let unique_name = params.required("UniqueName", 100)?.to_string();
    let suffix = params
        .text("DomainSuffix", 16)?
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    if let Some(s) = &suffix {
        check_host_label("DomainSuffix", s)?;
    }
    let (key, now) = (service.into_inner(), state.clock.now());
    let env = state
        .store
        .transaction(move |tx| {
            let service = services::get(tx, &key)?;
            environments::create(
                tx,
                &service.sid,
                &service.domain_base,
                &unique_name,
                suffix.as_deref(),
                now,
            )
        })
        .await?;
    Ok(created(render(&ctx, &env)))
}

pub async fn list(
    state: web::Data<AppState>,
    ctx: Ctx,
    req: HttpRequest,
    service: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let paging = Paging::from_query(&Params::from_query(&req)?, &[])?;
    let (key, window) = (service.into_inner(), paging.window());
    let page = in_service(&state, key, move |c, service_sid| {
        environments::list(c, service_sid, window)
    })
    .await?;
    Ok(list_response(&req, "environments", &paging, page, |e| render(&ctx, e)))
}

pub async fn fetch(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (key, sid) = path.into_inner();
    let env = in_service(&state, key, move |c, service_sid| {
        environments::get(c, service_sid, &sid)
    })
    .await?;
    Ok(ok(render(&ctx, &env)))
}

pub async fn delete(state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
    let (key, sid) = path.into_inner();
    in_service_transaction(&state, key, move |tx, service_sid| {
        environments::delete(tx, service_sid, &sid)
    })
    .await?;
    Ok(deleted())
}
