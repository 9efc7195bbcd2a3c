//! `/v1/Services` and `/v1/Services/{Sid}` (a SID, or `default` for the account's default
//! service).

use super::{input, read, render, write, MAX_PAGE_SIZE};
use crate::api::wire::{created, deleted, list_response, ok, Ctx, Paging, Params};
use crate::error::ApiError;
use crate::events::Event;
use crate::state::AppState;
use crate::store::sync_services::{self, Changes, Settings};
use actix_web::{web, HttpRequest, HttpResponse};

/// The settings a create or update carries.
fn changes(params: &Params) -> Result<Changes, ApiError> {
    Ok(Changes {
        friendly_name: params.get("FriendlyName").map(str::to_string),
        webhook_url: input::webhook_url(params)?,
        webhooks_from_rest_enabled: params.bool("WebhooksFromRestEnabled")?,
        reachability_webhooks_enabled: params.bool("ReachabilityWebhooksEnabled")?,
        acl_enabled: params.bool("AclEnabled")?,
        reachability_debouncing_enabled: params.bool("ReachabilityDebouncingEnabled")?,
        reachability_debouncing_window: input::debouncing_window(params)?,
    })
}

pub async fn create(state: web::Data<AppState>, ctx: Ctx, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let changes = changes(&Params::from_body(&body)?)?;
    let now = state.clock.now();
    let settings = changes.apply(&Settings::default());
    let service = state
        .store
        .transaction(move |tx| sync_services::create(tx, None, &settings, now))
        .await?;
    state.events.send(Event::SyncChanged {
        service_sid: service.sid.clone(),
    });
    Ok(created(render::service(&ctx, &service)))
}

pub async fn list(state: web::Data<AppState>, ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let paging = Paging::at_most(&Params::from_query(&req)?, &[], MAX_PAGE_SIZE)?;
    let window = paging.window();
    let page = state.store.call(move |c| sync_services::list(c, window)).await?;
    Ok(list_response(&req, "services", &paging, page, |s| {
        render::service(&ctx, s)
    }))
}

pub async fn fetch(state: web::Data<AppState>, ctx: Ctx, key: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let service = read(&state, key.into_inner(), |_, service, _| Ok(service.clone())).await?;
    Ok(ok(render::service(&ctx, &service)))
}

pub async fn update(
    state: web::Data<AppState>,
    ctx: Ctx,
    key: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let changes = changes(&Params::from_body(&body)?)?;
    let service = write(&state, key.into_inner(), move |tx, service, now| {
        sync_services::update(tx, &service.sid, changes, now)
    })
    .await?;
    Ok(ok(render::service(&ctx, &service)))
}

pub async fn delete(state: web::Data<AppState>, key: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let key = key.into_inner();
    let service_sid = state
        .store
        .transaction(move |tx| {
            let service = sync_services::get(tx, &key)?;
            sync_services::delete(tx, &service.sid)?;
            Ok(service.sid)
        })
        .await?;
    state.events.send(Event::SyncChanged { service_sid });
    Ok(deleted())
}
