//! Sync resources as Twilio renders them: the spec's field sets, ISO dates, hex revisions (also
//! sent as the `ETag` header of documents and items), absolute URLs and links.

use crate::api::wire::Ctx;
use crate::clock::format_timestamp;
use crate::store::sync_items::{Item, ItemKey};
use crate::store::sync_objects::{revision_text, Kind, SyncObject};
use crate::store::sync_permissions::Permission;
use crate::store::sync_services::SyncService;
use actix_web::http::header::ETAG;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde_json::{json, Value};

/// What a path segment must escape (RFC 3986 `pchar` keeps the rest).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// A map key or identity as a URL path segment.
fn segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

fn date(seconds: Option<i64>) -> Value {
    seconds.map_or(Value::Null, |s| Value::String(format_timestamp(s)))
}

/// Stored JSON text back as a value (it was checked on the way in).
fn data(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

pub fn service(ctx: &Ctx, s: &SyncService) -> Value {
    let url = ctx.url(&format!("/Services/{}", s.sid));
    let settings = &s.settings;
    json!({
        "sid": s.sid,
        "unique_name": s.unique_name,
        "account_sid": ctx.account_sid,
        "friendly_name": settings.friendly_name,
        "date_created": format_timestamp(s.date_created),
        "date_updated": format_timestamp(s.date_updated),
        "url": url,
        "webhook_url": settings.webhook_url,
        "webhooks_from_rest_enabled": settings.webhooks_from_rest_enabled,
        "reachability_webhooks_enabled": settings.reachability_webhooks_enabled,
        "acl_enabled": settings.acl_enabled,
        "reachability_debouncing_enabled": settings.reachability_debouncing_enabled,
        "reachability_debouncing_window": settings.reachability_debouncing_window,
        "links": {
            "documents": format!("{url}/Documents"),
            "lists": format!("{url}/Lists"),
            "maps": format!("{url}/Maps"),
            "streams": format!("{url}/Streams"),
        },
    })
}

/// The API path of an object.
fn object_path(o: &SyncObject) -> String {
    format!("/Services/{}/{}/{}", o.service_sid, o.kind.collection(), o.sid)
}

pub fn object(ctx: &Ctx, o: &SyncObject) -> Value {
    let url = ctx.url(&object_path(o));
    let mut body = json!({
        "sid": o.sid,
        "unique_name": o.unique_name,
        "account_sid": ctx.account_sid,
        "service_sid": o.service_sid,
        "url": url,
    });
    let fields = body.as_object_mut().expect("a JSON object literal");
    let links = match o.kind {
        Kind::Document => json!({ "permissions": format!("{url}/Permissions") }),
        Kind::List | Kind::Map => json!({
            "items": format!("{url}/Items"),
            "permissions": format!("{url}/Permissions"),
        }),
        Kind::Stream => json!({ "messages": format!("{url}/Messages") }),
    };
    fields.insert("links".into(), links);
    if o.kind != Kind::Stream {
        fields.insert("revision".into(), revision_text(o.revision).into());
    }
    if o.kind == Kind::Document {
        fields.insert("data".into(), data(o.data.as_deref().unwrap_or("{}")));
    }
    fields.insert("date_expires".into(), date(o.date_expires));
    fields.insert("date_created".into(), format_timestamp(o.date_created).into());
    fields.insert("date_updated".into(), format_timestamp(o.date_updated).into());
    fields.insert("created_by".into(), o.created_by.clone().into());
    body
}

pub fn item(ctx: &Ctx, collection: &SyncObject, i: &Item) -> Value {
    let (key_field, key, parent_field) = match &i.key {
        ItemKey::Index(index) => ("index", json!(index), "list_sid"),
        ItemKey::Key(key) => ("key", json!(key), "map_sid"),
    };
    json!({
        key_field: key,
        "account_sid": ctx.account_sid,
        "service_sid": collection.service_sid,
        parent_field: collection.sid,
        "url": ctx.url(&format!("{}/Items/{}", object_path(collection), segment(&i.key.to_string()))),
        "revision": revision_text(i.revision),
        "data": data(&i.data),
        "date_expires": date(i.date_expires),
        "date_created": format_timestamp(i.date_created),
        "date_updated": format_timestamp(i.date_updated),
        "created_by": i.created_by,
    })
}

pub fn permission(ctx: &Ctx, object: &SyncObject, p: &Permission) -> Value {
    let parent_field = match object.kind {
        Kind::Document => "document_sid",
        Kind::List => "list_sid",
        _ => "map_sid",
    };
    json!({
        "account_sid": ctx.account_sid,
        "service_sid": object.service_sid,
        parent_field: object.sid,
        "identity": p.identity,
        "read": p.read,
        "write": p.write,
        "manage": p.manage,
        "url": ctx.url(&format!("{}/Permissions/{}", object_path(object), segment(&p.identity))),
    })
}

/// A document or item with its revision as the `ETag` header, as Twilio sends it.
pub fn tagged(status: StatusCode, body: Value, revision: i64) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((ETAG, revision_text(revision)))
        .json(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_escaped_as_path_segments() {
        assert_eq!(segment("plain-key_1.x~"), "plain-key_1.x~");
        assert_eq!(segment("a b/c?d#e%"), "a%20b%2Fc%3Fd%23e%25");
        assert_eq!(segment("café"), "caf%C3%A9");
    }
}
