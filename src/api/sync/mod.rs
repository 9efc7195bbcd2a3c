//! The Sync API (`sync.twilio.com/v1`): services; documents, lists, maps and message streams
//! (one set of handlers, told apart by `Kind`); list and map items; per-identity permissions;
//! stream messages. `input` checks what clients send; rendering builds Twilio's field sets.

pub mod input;
mod items;
mod objects;
mod permissions;
mod render;
mod services;
mod streams;

use super::resource;
use crate::error::{ApiError, StoreError};
use crate::events::Event;
use crate::state::AppState;
use crate::store::sync_objects::{self, Kind, SyncObject};
use crate::store::sync_services::{self, SyncService};
use actix_web::{web, HttpRequest};
use rusqlite::Connection;

/// Largest page of a Sync list.
const MAX_PAGE_SIZE: i64 = 100;

/// Registers every Sync `/v1` route (under the product's mount).
pub fn configure(cfg: &mut web::ServiceConfig) {
    const SERVICE: &str = "/Services/{service}";
    let mut scope = web::scope("/v1")
        .service(resource("/Services").get(services::list).post(services::create))
        .service(
            resource(SERVICE)
                .get(services::fetch)
                .post(services::update)
                .delete(services::delete),
        )
        .service(resource(&format!("{SERVICE}/Streams/{{object}}/Messages")).post(streams::publish));
    for kind in Kind::ALL {
        let base = format!("{SERVICE}/{}", kind.collection());
        let object = format!("{base}/{{object}}");
        let data = web::Data::new(kind);
        scope = scope
            .service(
                resource(&base)
                    .app_data(data.clone())
                    .get(objects::list)
                    .post(objects::create),
            )
            .service(
                resource(&object)
                    .app_data(data.clone())
                    .get(objects::fetch)
                    .post(objects::update)
                    .delete(objects::delete),
            );
        if kind != Kind::Stream {
            scope = scope
                .service(
                    resource(&format!("{object}/Permissions"))
                        .app_data(data.clone())
                        .get(permissions::list),
                )
                .service(
                    resource(&format!("{object}/Permissions/{{identity}}"))
                        .app_data(data.clone())
                        .get(permissions::fetch)
                        .post(permissions::update)
                        .delete(permissions::delete),
                );
        }
        if kind.is_collection() {
            scope = scope
                .service(
                    resource(&format!("{object}/Items"))
                        .app_data(data.clone())
                        .get(items::list)
                        .post(items::create),
                )
                .service(
                    resource(&format!("{object}/Items/{{item}}"))
                        .app_data(data)
                        .get(items::fetch)
                        .post(items::update)
                        .delete(items::delete),
                );
        }
    }
    cfg.service(scope);
}

/// Whether a request only reads, or writes in one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

/// Runs `f` on the store thread with the service `key` names and the emulator's time; the
/// default service is created on first use, whatever the request. Writes run in one transaction,
/// so they land together or not at all; consoles are told when the service changed.
async fn in_service<T, F>(state: &AppState, key: String, access: Access, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Connection, &SyncService, i64) -> Result<T, StoreError> + Send + 'static,
{
    let now = state.clock.now();
    let job = move |c: &Connection| {
        let (service, created) = sync_services::resolve(c, &key, now)?;
        Ok((f(c, &service, now)?, service.sid, created))
    };
    let (value, service_sid, created) = match access {
        Access::Read => state.store.call(move |c| job(c)).await?,
        Access::Write => state.store.transaction(job).await?,
    };
    if access == Access::Write || created {
        state.events.send(Event::SyncChanged { service_sid });
    }
    Ok(value)
}

/// Reads in the service `key` names.
pub async fn read<T, F>(state: &AppState, key: String, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Connection, &SyncService, i64) -> Result<T, StoreError> + Send + 'static,
{
    in_service(state, key, Access::Read, f).await
}

/// Writes in the service `key` names.
pub async fn write<T, F>(state: &AppState, key: String, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Connection, &SyncService, i64) -> Result<T, StoreError> + Send + 'static,
{
    in_service(state, key, Access::Write, f).await
}

/// What a path names inside an object: the service, and the object of `kind` by SID or unique name.
pub struct InObject {
    pub service: String,
    pub kind: Kind,
    pub object: String,
}

impl InObject {
    pub fn new(kind: Kind, (service, object): (String, String)) -> InObject {
        InObject { service, kind, object }
    }
}

/// Runs `f` on the live object `at` names (reading, or writing in one transaction); returns the
/// object with what `f` returned.
async fn on_object<T, F>(state: &AppState, at: InObject, access: Access, f: F) -> Result<(SyncObject, T), ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Connection, &SyncObject, i64) -> Result<T, StoreError> + Send + 'static,
{
    let InObject { service, kind, object } = at;
    in_service(state, service, access, move |c, service, now| {
        let o = sync_objects::get(c, &service.sid, kind, &object, now)?;
        let value = f(c, &o, now)?;
        Ok((o, value))
    })
    .await
}

/// Reads inside the object `at` names.
pub async fn read_in<T, F>(state: &AppState, at: InObject, f: F) -> Result<(SyncObject, T), ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Connection, &SyncObject, i64) -> Result<T, StoreError> + Send + 'static,
{
    on_object(state, at, Access::Read, f).await
}

/// Writes inside the object `at` names.
pub async fn write_in<T, F>(state: &AppState, at: InObject, f: F) -> Result<(SyncObject, T), ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Connection, &SyncObject, i64) -> Result<T, StoreError> + Send + 'static,
{
    on_object(state, at, Access::Write, f).await
}

/// The `If-Match` header: the revision a write expects, without the quotes or weak marker an
/// HTTP client may put around it.
fn if_match(req: &HttpRequest) -> Option<String> {
    let value = req
        .headers()
        .get(actix_web::http::header::IF_MATCH)?
        .to_str()
        .ok()?
        .trim();
    let value = value.strip_prefix("W/").unwrap_or(value);
    Some(value.trim_matches('"').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn if_match_drops_quotes_and_weak_markers() {
        let value = |v: &str| if_match(&TestRequest::default().insert_header(("If-Match", v)).to_http_request());
        assert_eq!(value("3").as_deref(), Some("3"));
        assert_eq!(value("\"1a\"").as_deref(), Some("1a"));
        assert_eq!(value("W/\"2\"").as_deref(), Some("2"));
        assert_eq!(if_match(&TestRequest::default().to_http_request()), None);
    }
}
