//! `/v1/Services/{S}/{Documents|Lists|Maps}/{Sid}/Permissions[/{Identity}]`: what a client SDK
//! identity may do with an object when the service has ACLs enabled.

use super::{object, read, render, write, MAX_PAGE_SIZE};
use crate::api::wire::{deleted, list_response, missing, ok, Ctx, Paging, Params};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::sync_objects::Kind;
use crate::store::sync_permissions::{self, Permission};
use actix_web::{web, HttpRequest, HttpResponse};

/// A required boolean of the update (`Read`, `Write`, `Manage`).
fn flag(params: &Params, name: &str) -> Result<bool, ApiError> {
    params.bool(name)?.ok_or_else(|| missing(name))
}

pub async fn list(
    state: web::Data<AppState>,
    ctx: Ctx,
    kind: web::Data<Kind>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (kind, (service, key)) = (**kind, path.into_inner());
    let paging = Paging::at_most(&Params::from_query(&req)?, &[], MAX_PAGE_SIZE)?;
    let window = paging.window();
    let (o, page) = read(&state, service, move |c, service, now| {
        let o = object(c, service, kind, &key, now)?;
        let page = sync_permissions::list(c, &o, window)?;
        Ok((o, page))
    })
    .await?;
    Ok(list_response(&req, "permissions", &paging, page, |p| render::permission(&ctx, &o, p)))
}

pub async fn fetch(
    state: web::Data<AppState>,
    ctx: Ctx,
    kind: web::Data<Kind>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (kind, (service, key, identity)) = (**kind, path.into_inner());
    let (o, p) = read(&state, service, move |c, service, now| {
        let o = object(c, service, kind, &key, now)?;
        let p = sync_permissions::get(c, &o, &identity)?;
        Ok((o, p))
    })
    .await?;
    Ok(ok(render::permission(&ctx, &o, &p)))
}

/// Sets (creating or replacing) the identity's permission.
pub async fn update(
    state: web::Data<AppState>,
    ctx: Ctx,
    kind: web::Data<Kind>,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (kind, params, (service, key, identity)) = (**kind, Params::from_body(&body)?, path.into_inner());
    let (read_, write_, manage) = (flag(&params, "Read")?, flag(&params, "Write")?, flag(&params, "Manage")?);
    let (o, p) = write(&state, service, move |tx, service, now| {
        let o = object(tx, service, kind, &key, now)?;
        let wanted = Permission {
            object_sid: o.sid.clone(),
            identity,
            read: read_,
            write: write_,
            manage,
        };
        let p = sync_permissions::set(tx, &o, &wanted)?;
        Ok((o, p))
    })
    .await?;
    Ok(ok(render::permission(&ctx, &o, &p)))
}

pub async fn delete(
    state: web::Data<AppState>,
    kind: web::Data<Kind>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (kind, (service, key, identity)) = (**kind, path.into_inner());
    write(&state, service, move |tx, service, now| {
        let o = object(tx, service, kind, &key, now)?;
        sync_permissions::delete(tx, &o, &identity)
    })
    .await?;
    Ok(deleted())
}
