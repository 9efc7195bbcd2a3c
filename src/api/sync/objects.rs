//! `/v1/Services/{S}/{Documents|Lists|Maps|Streams}` and `…/{Sid}` (SID or unique name): one set
//! of handlers, told apart by the `Kind` each route carries.

use super::{if_match, input, read, read_in, render, write, InObject, MAX_PAGE_SIZE};
use crate::api::wire::{deleted, list_response, Ctx, Paging, Params};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::sync_objects::{self, Changes, Kind, NewObject, SyncObject};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

/// The TTL parameters of a kind, the precise one first (it wins over its alias).
fn ttl_names(kind: Kind) -> &'static [&'static str] {
    if kind.is_collection() {
        &["CollectionTtl", "Ttl"]
    } else {
        &["Ttl"]
    }
}

/// A document answers with its revision as `ETag`; the other kinds with the body alone.
fn respond(status: StatusCode, ctx: &Ctx, o: &SyncObject) -> HttpResponse {
    let body = render::object(ctx, o);
    match o.kind {
        Kind::Document => render::tagged(status, body, o.revision),
        _ => HttpResponse::build(status).json(body),
    }
}

pub async fn create(
    state: web::Data<AppState>,
    ctx: Ctx,
    kind: web::Data<Kind>,
    service: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (kind, params) = (**kind, Params::from_body(&body)?);
    let new = NewObject {
        unique_name: input::unique_name(&params)?,
        data: match kind {
            Kind::Document => Some(input::data(&params, 54101, input::MAX_DATA_BYTES)?.unwrap_or_else(|| "{}".into())),
            _ => None,
        },
        ttl: input::first_ttl(&params, ttl_names(kind))?,
    };
    let object = write(&state, service.into_inner(), move |tx, service, now| {
        sync_objects::create(tx, &service.sid, kind, &new, now)
    })
    .await?;
    Ok(respond(StatusCode::CREATED, &ctx, &object))
}

pub async fn list(
    state: web::Data<AppState>,
    ctx: Ctx,
    kind: web::Data<Kind>,
    req: HttpRequest,
    service: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let kind = **kind;
    let paging = Paging::at_most(&Params::from_query(&req)?, &[], MAX_PAGE_SIZE)?;
    let window = paging.window();
    let page = read(&state, service.into_inner(), move |c, service, now| {
        sync_objects::list(c, &service.sid, kind, window, now)
    })
    .await?;
    let key = kind.collection().to_ascii_lowercase();
    Ok(list_response(&req, &key, &paging, page, |o| render::object(&ctx, o)))
}

pub async fn fetch(
    state: web::Data<AppState>,
    ctx: Ctx,
    kind: web::Data<Kind>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let at = InObject::new(**kind, path.into_inner());
    let (o, ()) = read_in(&state, at, |_, _, _| Ok(())).await?;
    Ok(respond(StatusCode::OK, &ctx, &o))
}

pub async fn update(
    state: web::Data<AppState>,
    ctx: Ctx,
    kind: web::Data<Kind>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (kind, params, (service, key)) = (**kind, Params::from_body(&body)?, path.into_inner());
    let changes = Changes {
        data: match kind {
            Kind::Document => input::data(&params, 54101, input::MAX_DATA_BYTES)?,
            _ => None,
        },
        ttl: input::first_ttl(&params, ttl_names(kind))?,
    };
    if changes.data.is_none() && changes.ttl.is_none() {
        let expected = match kind {
            Kind::Document => "Data, Ttl".to_string(),
            _ => ttl_names(kind).join(", "),
        };
        return Err(input::nothing_to_change(&expected));
    }
    // Only documents are written conditionally (the spec gives lists and maps no If-Match).
    let expected = (kind == Kind::Document).then(|| if_match(&req)).flatten();
    let o = write(&state, service, move |tx, service, now| {
        sync_objects::update(tx, &service.sid, kind, &key, &changes, expected.as_deref(), now)
    })
    .await?;
    Ok(respond(StatusCode::OK, &ctx, &o))
}

pub async fn delete(
    state: web::Data<AppState>,
    kind: web::Data<Kind>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (kind, (service, key)) = (**kind, path.into_inner());
    let expected = (kind == Kind::Document).then(|| if_match(&req)).flatten();
    write(&state, service, move |tx, service, now| {
        sync_objects::delete(tx, &service.sid, kind, &key, expected.as_deref(), now)
    })
    .await?;
    Ok(deleted())
}
