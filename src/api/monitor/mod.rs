//! Monitor (`monitor.twilio.com/v1`): the Alerts twirl raised, as Twilio's debugger lists them.
//! A list shows each alert's summary; fetching one adds the request and response behind it.

use super::resource;
use crate::api::wire::{date_bound, list_response, ok, Ctx, Paging, Params};
use crate::clock::format_timestamp;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::alerts::{self, Alert, Filter};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/v1/Alerts").get(list))
        .service(resource("/v1/Alerts/{sid}").get(fetch));
}

/// An alert as Monitor renders it under `base` (`…/v1`); `full` adds the request and response.
pub fn render(base: &str, account_sid: &str, a: &Alert, full: bool) -> Value {
    let mut value = json!({
        "account_sid": account_sid,
        "alert_text": a.alert_text,
        "api_version": "2010-04-01",
        "date_created": format_timestamp(a.date_created),
        "date_generated": format_timestamp(a.date_created),
        "date_updated": format_timestamp(a.date_created),
        "error_code": a.error_code,
        "log_level": a.log_level,
        "more_info": format!("https://www.twilio.com/docs/errors/{}", a.error_code),
        "request_method": a.request_method,
        "request_url": a.request_url,
        "resource_sid": a.resource_sid,
        "service_sid": a.service_sid,
        "sid": a.sid,
        "url": format!("{base}/Alerts/{}", a.sid),
    });
    if full {
        value["request_variables"] = json!(a.request_variables);
        value["request_headers"] = json!(a.request_headers);
        value["response_body"] = json!(a.response_body);
        value["response_headers"] = json!(a.response_headers);
    }
    value
}

async fn list(state: web::Data<AppState>, ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let query = Params::from_query(&req)?;
    let paging = Paging::from_query(&query, &["LogLevel", "StartDate", "EndDate"])?;
    let filter = Filter {
        log_level: query.get("LogLevel").map(str::to_string),
        from: date_bound(&query, "StartDate", false)?,
        until: date_bound(&query, "EndDate", true)?,
    };
    let window = paging.window();
    let page = state.store.call(move |c| alerts::list(c, &filter, window)).await?;
    Ok(list_response(&req, "alerts", &paging, page, |a| {
        render(&ctx.base, &ctx.account_sid, a, false)
    }))
}

async fn fetch(state: web::Data<AppState>, ctx: Ctx, sid: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let sid = sid.into_inner();
    let alert = state.store.call(move |c| alerts::get(c, &sid)).await?;
    Ok(ok(render(&ctx.base, &ctx.account_sid, &alert, true)))
}
