//! The 2010 API (`api.twilio.com/2010-04-01`): the account's phone numbers
//! (IncomingPhoneNumbers), Messages and their Media, Calls and their Recordings. Every path is under
//! `/2010-04-01/Accounts/{AccountSid}` and ends in `.json`; the account must be the one the
//! credentials name.

mod calls;
mod messages;
mod numbers;
mod recordings;
pub mod render;

pub use numbers::{check_number_config, is_webhook_url};

use super::resource;
use crate::error::{ApiError, StoreError};
use crate::state::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, Next};
use actix_web::web;
use rusqlite::Connection;

/// Registers the 2010 routes (under the product's mount).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/2010-04-01/Accounts/{account}")
            .wrap(from_fn(own_account))
            .service(
                resource("/IncomingPhoneNumbers.json")
                    .get(numbers::list)
                    .post(numbers::create),
            )
            .service(
                resource("/IncomingPhoneNumbers/{sid}.json")
                    .get(numbers::fetch)
                    .post(numbers::update)
                    .delete(numbers::delete),
            )
            .service(resource("/Messages.json").get(messages::list).post(messages::create))
            .service(
                resource("/Messages/{sid}.json")
                    .get(messages::fetch)
                    .post(messages::update)
                    .delete(messages::delete),
            )
            .service(resource("/Messages/{message}/Media.json").get(messages::media_list))
            .service(
                resource("/Messages/{message}/Media/{sid}.json")
                    .get(messages::media_fetch)
                    .delete(messages::media_delete),
            )
            .service(resource("/Calls.json").get(calls::list).post(calls::create))
            .service(
                resource("/Calls/{sid}.json")
                    .get(calls::fetch)
                    .post(calls::update)
                    .delete(calls::delete),
            )
            .service(resource("/Calls/{call}/Recordings.json").get(recordings::list_of_call))
            .service(
                resource("/Calls/{call}/Recordings/{sid}.json")
                    .get(recordings::fetch_of_call)
                    .delete(recordings::delete_of_call),
            )
            .service(resource("/Recordings.json").get(recordings::list))
            .service(
                resource("/Recordings/{sid}.json")
                    .get(recordings::fetch)
                    .delete(recordings::delete),
            )
            .service(resource("/Recordings/{file}").get(recordings::audio)),
    );
}

/// The account in the path must be the account the credentials name; any other is unknown here.
async fn own_account(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let account = req.match_info().get("account").unwrap_or("").to_string();
    let own = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.credentials.account_sid.eq_ignore_ascii_case(&account));
    if !own {
        return Err(ApiError::not_found(&crate::api::wire::product_path(req.request())).into());
    }
    next.call(req).await
}

/// Store errors as the 2010 API words them: a missing resource with its full path.
fn in_account(state: &AppState) -> impl FnOnce(StoreError) -> ApiError {
    let account = render::account_uri(&state.credentials.account_sid);
    move |e| match e {
        StoreError::NotFound(path) => ApiError::not_found(&format!("{account}{path}")),
        other => other.into(),
    }
}

/// Runs `f` on the store thread.
async fn store<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
{
    state.store.call(move |c| f(c)).await.map_err(in_account(state))
}

/// Runs `f` in one transaction on the store thread.
async fn store_transaction<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
{
    state
        .store
        .transaction(move |tx| f(tx))
        .await
        .map_err(in_account(state))
}
