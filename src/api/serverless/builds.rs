//! `/v1/Services/{S}/Builds`, `…/{ZB}` and `…/{ZB}/Status`. A create records the build as
//! `building` and hands it to the build pipeline, which finishes it asynchronously.

use super::{in_service, in_service_transaction};
use crate::api::wire::{created, deleted, list_response, ok, Ctx, Paging, Params};
use crate::build::{self, Dependency};
use crate::clock::format_timestamp;
use crate::error::ApiError;
use crate::sid;
use crate::state::AppState;
use crate::store::builds::{self, Build, BuildVersion, NewBuild};
use crate::store::resources::Kind;
use crate::store::versions;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

fn build_url(ctx: &Ctx, b: &Build) -> String {
    ctx.url(&format!("/Services/{}/Builds/{}", b.service_sid, b.sid))
}

fn render_version(ctx: &Ctx, service_sid: &str, v: &BuildVersion) -> Value {
    let owner = match v.kind {
        Kind::Function => "function_sid",
        Kind::Asset => "asset_sid",
    };
    json!({
        "sid": v.sid,
        "account_sid": ctx.account_sid,
        "service_sid": service_sid,
        owner: v.resource_sid,
        "date_created": format_timestamp(v.date_created),
        "path": v.path,
        "visibility": v.visibility,
    })
}

pub fn render(ctx: &Ctx, b: &Build) -> Value {
    let url = build_url(ctx, b);
    let versions = |kind| -> Vec<Value> {
        b.versions_of(kind)
            .map(|v| render_version(ctx, &b.service_sid, v))
            .collect()
    };
    let dependencies: Value = serde_json::from_str(&b.dependencies).unwrap_or_else(|_| json!([]));
    json!({
        "sid": b.sid,
        "account_sid": ctx.account_sid,
        "service_sid": b.service_sid,
        "status": b.status.as_str(),
        "asset_versions": versions(Kind::Asset),
        "function_versions": versions(Kind::Function),
        "dependencies": dependencies,
        "runtime": b.runtime,
        "date_created": format_timestamp(b.date_created),
        "date_updated": format_timestamp(b.date_updated),
        "url": url,
        "links": { "build_status": format!("{url}/Status") },
    })
}

/// The SIDs of a list parameter, each checked to be a version SID.
fn version_sids(params: &Params, name: &str) -> Result<Vec<String>, ApiError> {
    params
        .list(name)
        .into_iter()
        .map(|v| {
            if sid::is_sid(v, sid::prefix::VERSION) {
                Ok(v.to_string())
            } else {
                Err(ApiError::bad_request(format!(
                    "Invalid {name} {v:?}: expected a ZN SID"
                )))
            }
        })
        .collect()
}

pub async fn create(
    state: web::Data<AppState>,
    ctx: Ctx,
    service: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_body(&body)?;
    let function_sids = version_sids(&params, "FunctionVersions")?;
    let asset_sids = version_sids(&params, "AssetVersions")?;
    let dependencies = Dependency::parse_param(params.get("Dependencies"))?;
    let runtime = params
        .get("Runtime")
        .filter(|r| !r.is_empty())
        .map(build::check_runtime)
        .transpose()?;
    let (key, now) = (service.into_inner(), state.clock.now());
    let build = in_service_transaction(&state, key, move |tx, service_sid| {
        let mut resolved = Vec::new();
        for (kind, sids) in [(Kind::Function, &function_sids), (Kind::Asset, &asset_sids)] {
            for sid in sids {
                let version = versions::in_service(tx, kind, service_sid, sid)?.ok_or_else(|| {
                    crate::error::StoreError::Invalid(format!(
                        "{} Version {sid} was not found in this Service",
                        if kind == Kind::Function { "Function" } else { "Asset" }
                    ))
                })?;
                resolved.push(version);
            }
        }
        let runtime = match runtime {
            Some(r) => r,
            None => {
                builds::last_completed_runtime(tx, service_sid)?.unwrap_or_else(|| build::DEFAULT_RUNTIME.to_string())
            }
        };
        let new = NewBuild {
            service_sid: service_sid.to_string(),
            versions: resolved,
            dependencies: Dependency::to_json(&dependencies),
            runtime,
            origin: builds::Origin::Api,
            sid: None,
        };
        builds::create(tx, &new, now)
    })
    .await?;
    build::start(state.get_ref().clone(), build.service_sid.clone(), build.sid.clone());
    Ok(created(render(&ctx, &build)))
}

pub async fn list(
    state: web::Data<AppState>,
    ctx: Ctx,
    req: HttpRequest,
    service: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let paging = Paging::from_query(&Params::from_query(&req)?, &[])?;
    let (key, window) = (service.into_inner(), paging.window());
    let page = in_service(&state, key, move |c, service_sid| builds::list(c, service_sid, window)).await?;
    Ok(list_response(&req, "builds", &paging, page, |b| render(&ctx, b)))
}

async fn load(state: &AppState, path: web::Path<(String, String)>) -> Result<Build, ApiError> {
    let (key, sid) = path.into_inner();
    in_service(state, key, move |c, service_sid| builds::get(c, service_sid, &sid)).await
}

pub async fn fetch(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let build = load(&state, path).await?;
    Ok(ok(render(&ctx, &build)))
}

pub async fn status(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let build = load(&state, path).await?;
    Ok(ok(json!({
        "sid": build.sid,
        "account_sid": ctx.account_sid,
        "service_sid": build.service_sid,
        "status": build.status.as_str(),
        "url": format!("{}/Status", build_url(&ctx, &build)),
    })))
}

pub async fn delete(state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
    let (key, sid) = path.into_inner();
    in_service_transaction(&state, key, move |tx, service_sid| {
        builds::delete(tx, service_sid, &sid)
    })
    .await?;
    Ok(deleted())
}
