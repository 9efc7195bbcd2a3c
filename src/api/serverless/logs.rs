//! `/v1/Services/{S}/Environments/{ZE}/Logs` and `…/{NO}`: read-only, newest first.

use super::in_service;
use crate::api::wire::{list_response, ok, Ctx, Paging, Params};
use crate::clock::{format_timestamp, parse_timestamp};
use crate::error::ApiError;
use crate::sid;
use crate::state::AppState;
use crate::store::logs::{self, Log, LogFilter};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

/// How far back a list looks when `StartDate` is not given ([OAI]: one day).
const DEFAULT_WINDOW: i64 = 86_400;

pub fn render(ctx: &Ctx, l: &Log) -> Value {
    json!({
        "sid": l.sid,
        "account_sid": ctx.account_sid,
        "service_sid": l.service_sid,
        "environment_sid": l.environment_sid,
        "build_sid": l.build_sid,
        "deployment_sid": l.deployment_sid,
        "function_sid": l.function_sid,
        "request_sid": l.request_sid,
        "level": l.level,
        "message": l.message,
        "date_created": format_timestamp(l.date_created),
        "url": ctx.url(&format!(
            "/Services/{}/Environments/{}/Logs/{}",
            l.service_sid, l.environment_sid, l.sid
        )),
    })
}

fn date(query: &Params, name: &str) -> Result<Option<i64>, ApiError> {
    query
        .get(name)
        .filter(|v| !v.is_empty())
        .map(|v| {
            parse_timestamp(v).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "Invalid {name} {v:?}: expected an ISO 8601 date-time such as 2024-01-01T00:00:00Z"
                ))
            })
        })
        .transpose()
}

pub async fn list(
    state: web::Data<AppState>,
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let query = Params::from_query(&req)?;
    let paging = Paging::from_query(&query, &["StartDate", "EndDate", "FunctionSid"])?;
    let now = state.clock.now();
    let filter = LogFilter {
        function_sid: query.sid("FunctionSid", sid::prefix::RESOURCE)?.map(str::to_string),
        start: date(&query, "StartDate")?.unwrap_or(now - DEFAULT_WINDOW),
        end: date(&query, "EndDate")?.unwrap_or(now),
    };
    let ((key, environment_sid), window) = (path.into_inner(), paging.window());
    let page = in_service(&state, key, move |c, service_sid| {
        logs::list(c, service_sid, &environment_sid, &filter, window)
    })
    .await?;
    Ok(list_response(&req, "logs", &paging, page, |l| render(&ctx, l)))
}

pub async fn fetch(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (key, environment_sid, sid) = path.into_inner();
    let log = in_service(&state, key, move |c, service_sid| {
        logs::get(c, service_sid, &environment_sid, &sid)
    })
    .await?;
    Ok(ok(render(&ctx, &log)))
}
