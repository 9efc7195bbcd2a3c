//! The 2010 API (`api.twilio.com/2010-04-01`): the account's phone numbers
//! (IncomingPhoneNumbers), Messages and their Media. Every path is under
//! `/2010-04-01/Accounts/{AccountSid}` and ends in `.json`; the account must be the one the
//! credentials name.

mod messages;
mod numbers;
pub mod render;

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
            ),
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
