//! `/v1/Services/{S}/{Documents|Lists|Maps}/{Sid}/Permissions[/{Identity}]`: what a client SDK
//! identity may do with an object when the service has ACLs enabled.

use super::{read_in, render, write_in, InObject, MAX_PAGE_SIZE};
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
    let at = InObject::new(kind, (service, key));
    let (o, page) = read_in(&state, at, move |c, o, _| sync_permissions::list(c, o, window)).await?;
    Ok(list_response(&req, "permissions", &paging, page, |p| {
        render::permission(&ctx, &o, p)
    }))
}

pub async fn fetch(
    state: web::Data<AppState>,
    ctx: Ctx,
    kind: web::Data<Kind>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (kind, (service, key, identity)) = (**kind, path.into_inner());
    let at = InObject::new(kind, (service, key));
    let (o, p) = read_in(&state, at, move |c, o, _| sync_permissions::get(c, o, &identity)).await?;
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
    let (read_, write_, manage) = (
        flag(&params, "Read")?,
        flag(&params, "Write")?,
        flag(&params, "Manage")?,
    );
    let at = InObject::new(kind, (service, key));
    let (o, p) = write_in(&state, at, move |tx, o, _| {
        let wanted = Permission {
            object_sid: o.sid.clone(),
            identity,
            read: read_,
            write: write_,
            manage,
        };
        sync_permissions::set(tx, o, &wanted)
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
    let at = InObject::new(kind, (service, key));
    write_in(&state, at, move |tx, o, _| sync_permissions::delete(tx, o, &identity)).await?;
    Ok(deleted())
}
