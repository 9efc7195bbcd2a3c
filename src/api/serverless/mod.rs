//! The Serverless API (`serverless.twilio.com/v1`, and the upload host's multipart version
//! creates): services, environments, functions and assets with their versions, builds,
//! deployments, variables and logs. One module per resource.

mod builds;
mod deployments;
mod environments;
mod logs;
mod resources;
mod services;
mod variables;
mod versions;

pub use versions::{check_path, check_size, check_visibility};

use super::resource;
use crate::error::{ApiError, StoreError};
use crate::state::AppState;
use crate::store::resources::Kind;
use crate::store::services as service_rows;
use actix_web::middleware::from_fn;
use actix_web::web;
use rusqlite::Connection;

/// Registers every `/v1` route (under the product's mount).
pub fn configure(cfg: &mut web::ServiceConfig) {
    const SERVICE: &str = "/Services/{service}";
    const ENVIRONMENT: &str = "/Services/{service}/Environments/{environment}";
    let mut scope = web::scope("/v1")
        .wrap(from_fn(invalidate_sites))
        .service(resource("/Services").get(services::list).post(services::create))
        .service(
            resource(SERVICE)
                .get(services::fetch)
                .post(services::update)
                .delete(services::delete),
        )
        .service(
            resource(&format!("{SERVICE}/Environments"))
                .get(environments::list)
                .post(environments::create),
        )
        .service(
            resource(ENVIRONMENT)
                .get(environments::fetch)
                .delete(environments::delete),
        )
        .service(
            resource(&format!("{ENVIRONMENT}/Variables"))
                .get(variables::list)
                .post(variables::create),
        )
        .service(
            resource(&format!("{ENVIRONMENT}/Variables/{{sid}}"))
                .get(variables::fetch)
                .post(variables::update)
                .delete(variables::delete),
        )
        .service(
            resource(&format!("{ENVIRONMENT}/Deployments"))
                .get(deployments::list)
                .post(deployments::create),
        )
        .service(resource(&format!("{ENVIRONMENT}/Deployments/{{sid}}")).get(deployments::fetch))
        .service(resource(&format!("{ENVIRONMENT}/Logs")).get(logs::list))
        .service(resource(&format!("{ENVIRONMENT}/Logs/{{sid}}")).get(logs::fetch))
        .service(
            resource(&format!("{SERVICE}/Builds"))
                .get(builds::list)
                .post(builds::create),
        )
        .service(
            resource(&format!("{SERVICE}/Builds/{{sid}}"))
                .get(builds::fetch)
                .delete(builds::delete),
        )
        .service(resource(&format!("{SERVICE}/Builds/{{sid}}/Status")).get(builds::status))
        .service(
            resource(&format!("{SERVICE}/Functions/{{function}}/Versions/{{sid}}/Content")).get(versions::content),
        );
    for kind in [Kind::Function, Kind::Asset] {
        let base = format!("{SERVICE}/{}", kind.collection());
        let data = web::Data::new(kind);
        scope = scope
            .service(
                resource(&base)
                    .app_data(data.clone())
                    .get(resources::list)
                    .post(resources::create),
            )
            .service(
                resource(&format!("{base}/{{sid}}"))
                    .app_data(data.clone())
                    .get(resources::fetch)
                    .post(resources::update)
                    .delete(resources::delete),
            )
            .service(
                resource(&format!("{base}/{{resource}}/Versions"))
                    .app_data(data.clone())
                    .get(versions::list)
                    .post(versions::upload),
            )
            .service(
                resource(&format!("{base}/{{resource}}/Versions/{{sid}}"))
                    .app_data(data)
                    .get(versions::fetch),
            );
    }
    cfg.service(scope);
}

/// After any successful write, the gateway forgets what it loaded, so the next request to a
/// domain sees the new deployment, variables or service settings; the console is told too.
async fn invalidate_sites(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let writes = req.method() != actix_web::http::Method::GET;
    let state = req.app_data::<web::Data<crate::state::AppState>>().cloned();
    let response = next.call(req).await?;
    if let (true, Some(state)) = (writes && response.status().is_success(), state) {
        state.gateway.invalidate();
        state.events.send(crate::events::Event::Changed);
    }
    Ok(response)
}

/// Runs `f` on the store thread with the SID of the service that `key`, the `{service}` path
/// segment, names by SID or unique name. The service is looked up first, so an unknown one is
/// reported as such rather than as a missing child.
pub async fn in_service<T, F>(state: &AppState, key: String, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Connection, &str) -> Result<T, StoreError> + Send + 'static,
{
    Ok(state
        .store
        .call(move |c| f(c, &service_rows::get(c, &key)?.sid))
        .await?)
}

/// [`in_service`] for writes: `f` runs in one transaction, so its writes land together or not at all.
pub async fn in_service_transaction<T, F>(state: &AppState, key: String, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Connection, &str) -> Result<T, StoreError> + Send + 'static,
{
    Ok(state
        .store
        .transaction(move |tx| f(tx, &service_rows::get(tx, &key)?.sid))
        .await?)
}
