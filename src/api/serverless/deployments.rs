//! `/v1/Services/{S}/Environments/{ZE}/Deployments` and `…/{ZD}`: create (which switches the
//! environment's build), list, fetch.

use super::{in_service, in_service_transaction};
use crate::api::wire::{created, list_response, ok, Ctx, Paging, Params};
use crate::clock::format_timestamp;
use crate::error::ApiError;
use crate::gateway::Gateway;
use crate::sid;
use crate::state::AppState;
use crate::store::deployments::{self, Deployment};
use crate::store::environments;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

pub fn render(ctx: &Ctx, d: &Deployment) -> Value {
    json!({
        "sid": d.sid,
        "account_sid": ctx.account_sid,
        "service_sid": d.service_sid,
        "environment_sid": d.environment_sid,
        "build_sid": d.build_sid,
        "date_created": format_timestamp(d.date_created),
        "date_updated": format_timestamp(d.date_updated),
        "url": ctx.url(&format!(
            "/Services/{}/Environments/{}/Deployments/{}",
            d.service_sid, d.environment_sid, d.sid
        )),
    })
}

pub async fn create(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_body(&body)?;
    let build_sid = params.sid("BuildSid", sid::prefix::BUILD)?.map(str::to_string);
    // `IsPlugin` is accepted (Flex plugins send it) but changes nothing locally.
    params.bool("IsPlugin")?;
    let ((key, environment_sid), now) = (path.into_inner(), state.clock.now());
    refuse_live_environment(&state, &environment_sid)?;
    let (deployment, domain) = in_service_transaction(&state, key, move |tx, service_sid| {
        let deployment = deployments::create(tx, service_sid, &environment_sid, build_sid.as_deref(), now)?;
        let domain = environments::get(tx, service_sid, &environment_sid)?.domain_name;
        Ok((deployment, domain))
    })
    .await?;
    // Start the new build's workers now, so the first request after the switch finds them warm.
    state.gateway.invalidate();
    Gateway::warm(state.get_ref().clone(), domain);
    // The build switched away from keeps its workers only until its last requests end.
    let retiring = state.get_ref().clone();
    tokio::spawn(async move { retiring.stop_unused_workers().await });
    Ok(created(render(&ctx, &deployment)))
}

/// The live project's environment serves the project's files as they are saved, so no other
/// build can be deployed there: the API would report it active while the files went on being
/// served. Its builds can be deployed anywhere else.
fn refuse_live_environment(state: &AppState, environment_sid: &str) -> Result<(), ApiError> {
    let Some(live) = &state.live else { return Ok(()) };
    if live.snapshot().recorded.environment_sid != environment_sid {
        return Ok(());
    }
    Err(ApiError::conflict(format!(
        "Environment {environment_sid} is the live project's: it serves the files in {} as they are \
         saved, and every save deploys a new build to it. Deploy the build to another environment.",
        live.dir.display()
    )))
}

pub async fn list(
    state: web::Data<AppState>,
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let paging = Paging::from_query(&Params::from_query(&req)?, &[])?;
    let ((key, environment_sid), window) = (path.into_inner(), paging.window());
    let page = in_service(&state, key, move |c, service_sid| {
        deployments::list(c, service_sid, &environment_sid, window)
    })
    .await?;
    Ok(list_response(&req, "deployments", &paging, page, |d| render(&ctx, d)))
}

pub async fn fetch(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (key, environment_sid, sid) = path.into_inner();
    let deployment = in_service(&state, key, move |c, service_sid| {
        deployments::get(c, service_sid, &environment_sid, &sid)
    })
    .await?;
    Ok(ok(render(&ctx, &deployment)))
}
