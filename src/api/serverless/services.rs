//! `/v1/Services` and `/v1/Services/{Sid}` (SID or unique name).

use crate::api::wire::{check_host_label, created, deleted, list_response, ok, Ctx, Paging, Params};
use crate::clock::format_timestamp;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::services::{self, NewService, Service, ServiceChanges};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

/// Renders a service as Twilio does.
pub fn render(ctx: &Ctx, s: &Service) -> Value {
    let url = ctx.url(&format!("/Services/{}", s.sid));
    json!({
        "sid": s.sid,
        "account_sid": ctx.account_sid,
        "friendly_name": s.friendly_name,
        "unique_name": s.unique_name,
        "include_credentials": s.include_credentials,
        "ui_editable": s.ui_editable,
        "domain_base": s.domain_base,
        "date_created": format_timestamp(s.date_created),
        "date_updated": format_timestamp(s.date_updated),
        "links": {
            "environments": format!("{url}/Environments"),
            "functions": format!("{url}/Functions"),
            "assets": format!("{url}/Assets"),
            "builds": format!("{url}/Builds"),
        },
        "url": url,
    })
}

pub async fn create(state: web::Data<AppState>, ctx: Ctx, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let params = Params::from_body(&body)?;
    let unique_name = params.required("UniqueName", 50)?;
    check_host_label("UniqueName", unique_name)?;
    let new = NewService {
        unique_name: unique_name.to_string(),
        friendly_name: params.required("FriendlyName", 255)?.to_string(),
        include_credentials: params.bool("IncludeCredentials")?.unwrap_or(true),
        ui_editable: params.bool("UiEditable")?.unwrap_or(false),
    };
    let now = state.clock.now();
    let service = state
        .store
        .transaction(move |tx| services::create(tx, &new, now))
        .await?;
    Ok(created(render(&ctx, &service)))
}

pub async fn list(state: web::Data<AppState>, ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let paging = Paging::from_query(&Params::from_query(&req)?, &[])?;
    let window = paging.window();
    let page = state.store.call(move |c| services::list(c, window)).await?;
    Ok(list_response(&req, "services", &paging, page, |s| render(&ctx, s)))
}

pub async fn fetch(state: web::Data<AppState>, ctx: Ctx, key: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let key = key.into_inner();
    let service = state.store.call(move |c| services::get(c, &key)).await?;
    Ok(ok(render(&ctx, &service)))
}

pub async fn update(
    state: web::Data<AppState>,
    ctx: Ctx,
    key: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_body(&body)?;
    let changes = ServiceChanges {
        friendly_name: params.text("FriendlyName", 255)?.map(str::to_string),
        include_credentials: params.bool("IncludeCredentials")?,
        ui_editable: params.bool("UiEditable")?,
    };
    let (key, now) = (key.into_inner(), state.clock.now());
    let service = state
        .store
        .transaction(move |tx| services::update(tx, &key, &changes, now))
        .await?;
    Ok(ok(render(&ctx, &service)))
}

pub async fn delete(state: web::Data<AppState>, key: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let key = key.into_inner();
    state.store.transaction(move |tx| services::delete(tx, &key)).await?;
    Ok(deleted())
}
