//! `/v1/Services/{S}/Lists/{L}/Items[/{Index}]` and `/v1/Services/{S}/Maps/{M}/Items[/{Key}]`:
//! one set of handlers for both, told apart by the collection's `Kind`.

use super::{if_match, input, read_in, render, write_in, InObject, MAX_PAGE_SIZE};
use crate::api::wire::{deleted, list_response, Ctx, Paging, Params};
use crate::error::{ApiError, StoreError};
use crate::state::AppState;
use crate::store::sync_items::{self, Item, ItemKey, ItemWrite, Query};
use crate::store::sync_objects::{Kind, SyncObject};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

/// Twilio's code for a `null` or missing item `Data`.
fn null_data_code(kind: Kind) -> u32 {
    if kind == Kind::Map {
        54206
    } else {
        54156
    }
}

/// The item a path segment names: an index in a list, a key in a map. An index that is not a
/// number names no item.
fn item_key(collection: &SyncObject, segment: &str) -> Result<ItemKey, StoreError> {
    match collection.kind {
        Kind::Map => Ok(ItemKey::Key(segment.to_string())),
        _ => segment
            .parse()
            .map(ItemKey::Index)
            .map_err(|_| sync_items::not_found(collection, &segment)),
    }
}

/// `ItemTtl` (or its alias `Ttl`) and `CollectionTtl`, with `Data` when given.
fn item_write(kind: Kind, params: &Params, data_required: bool) -> Result<ItemWrite, ApiError> {
    let code = null_data_code(kind);
    let data = if data_required {
        Some(input::required_data(params, code, input::MAX_DATA_BYTES)?)
    } else {
        input::data(params, code, input::MAX_DATA_BYTES)?
    };
    Ok(ItemWrite {
        data,
        item_ttl: input::first_ttl(params, &["ItemTtl", "Ttl"])?,
        collection_ttl: input::ttl(params, "CollectionTtl")?,
    })
}

/// An item, with its revision as the `ETag` header.
fn tagged_item(status: StatusCode, ctx: &Ctx, collection: &SyncObject, item: &Item) -> HttpResponse {
    render::tagged(status, render::item(ctx, collection, item), item.revision)
}

/// `Order`, `From` and `Bounds`, as the items list takes them.
fn query(kind: Kind, params: &Params) -> Result<Query, ApiError> {
    let descending = match params.get("Order") {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Order must be asc or desc, not {other:?}"
            )))
        }
    };
    let inclusive = match params.get("Bounds") {
        None | Some("inclusive") => true,
        Some("exclusive") => false,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Bounds must be inclusive or exclusive, not {other:?}"
            )))
        }
    };
    let from = match params.get("From") {
        None => None,
        Some(from) if kind == Kind::Map => Some(ItemKey::Key(from.to_string())),
        Some(from) => Some(ItemKey::Index(from.parse().map_err(|_| {
            ApiError::bad_request(format!("From must be the index of a List Item, not {from:?}"))
        })?)),
    };
    Ok(Query {
        descending,
        from,
        inclusive,
    })
}

pub async fn create(
    state: web::Data<AppState>,
    ctx: Ctx,
    kind: web::Data<Kind>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (kind, params, (service, key)) = (**kind, Params::from_body(&body)?, path.into_inner());
    let map_key = match kind {
        Kind::Map => Some(input::map_key(&params)?),
        _ => None,
    };
    let change = item_write(kind, &params, true)?;
    let at = InObject::new(kind, (service, key));
    let (collection, item) = write_in(&state, at, move |tx, collection, now| {
        sync_items::create(tx, collection, map_key.as_deref(), &change, now)
    })
    .await?;
    Ok(tagged_item(StatusCode::CREATED, &ctx, &collection, &item))
}

pub async fn list(
    state: web::Data<AppState>,
    ctx: Ctx,
    kind: web::Data<Kind>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_query(&req)?;
    let query = query(**kind, &params)?;
    let paging = Paging::at_most(&params, &["Order", "From", "Bounds"], MAX_PAGE_SIZE)?;
    let window = paging.window();
    let at = InObject::new(**kind, path.into_inner());
    let (collection, page) = read_in(&state, at, move |c, collection, now| {
        sync_items::list(c, collection, &query, window, now)
    })
    .await?;
    Ok(list_response(&req, "items", &paging, page, |i| {
        render::item(&ctx, &collection, i)
    }))
}

pub async fn fetch(
    state: web::Data<AppState>,
    ctx: Ctx,
    kind: web::Data<Kind>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (kind, (service, key, item)) = (**kind, path.into_inner());
    let at = InObject::new(kind, (service, key));
    let (collection, item) = read_in(&state, at, move |c, collection, now| {
        sync_items::get(c, collection, &item_key(collection, &item)?, now)
    })
    .await?;
    Ok(tagged_item(StatusCode::OK, &ctx, &collection, &item))
}

pub async fn update(
    state: web::Data<AppState>,
    ctx: Ctx,
    kind: web::Data<Kind>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (kind, params, (service, key, item)) = (**kind, Params::from_body(&body)?, path.into_inner());
    let change = item_write(kind, &params, false)?;
    if change.data.is_none() && change.item_ttl.is_none() {
        // A CollectionTtl only goes along with a change of the item itself.
        return Err(input::nothing_to_change("Data, Ttl, ItemTtl"));
    }
    let expected = if_match(&req);
    let at = InObject::new(kind, (service, key));
    let (collection, item) = write_in(&state, at, move |tx, collection, now| {
        let key = item_key(collection, &item)?;
        sync_items::update(tx, collection, &key, &change, expected.as_deref(), now)
    })
    .await?;
    Ok(tagged_item(StatusCode::OK, &ctx, &collection, &item))
}

pub async fn delete(
    state: web::Data<AppState>,
    kind: web::Data<Kind>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (kind, (service, key, item)) = (**kind, path.into_inner());
    let expected = if_match(&req);
    let at = InObject::new(kind, (service, key));
    write_in(&state, at, move |tx, collection, now| {
        let key = item_key(collection, &item)?;
        sync_items::delete(tx, collection, &key, expected.as_deref(), now)
    })
    .await?;
    Ok(deleted())
}
