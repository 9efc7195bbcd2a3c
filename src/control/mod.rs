//! Control endpoints under `/_twirl/` for tests and tools: health, the clock, build details,
//! reset, export, fixture loading, the phone network (`phone`), Verify's mails and codes
//! (`verify`), and the console.
//! Open on loopback; on any other address they need the account's Basic credentials.

mod calls;
mod phone;
mod verify;

use crate::api::{self, wire::Params};
use crate::clock::format_timestamp;
use crate::error::{ApiError, ErrorKind};
use crate::fixtures;
use crate::state::AppState;
use crate::store::{builds, meta};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/_twirl")
            .wrap(from_fn(guard))
            .route("/health", web::get().to(health))
            .route("/clock", web::get().to(clock))
            .route("/clock", web::post().to(advance_clock))
            .route("/builds/{sid}", web::get().to(build_detail))
            .route("/reset", web::post().to(reset))
            .route("/export", web::get().to(export))
            .route("/fixtures", web::post().to(load_fixture))
            .configure(phone::configure)
            .configure(calls::configure)
            .configure(verify::configure)
            .configure(crate::console::configure)
            .default_service(web::to(|req: actix_web::HttpRequest| async move {
                ApiError::not_found(req.path())
            })),
    );
}

async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return Err(ApiError::internal().into());
    };
    if api::is_authorized(req.headers(), &state.credentials) {
        return next.call(req).await;
    }
    if !state.control_open {
        return Err(ApiError::unauthorized().into());
    }
    // Open on loopback, but only to this machine's own pages and tools: a page elsewhere must not
    // reset the store (a cross-site POST) or read the session through a rebound DNS name.
    if !is_loopback_name(req.connection_info().host()) || !same_origin(&req) {
        return Err(ApiError::new(ErrorKind::Forbidden, "Cross-site requests to /_twirl/ are refused").into());
    }
    next.call(req).await
}

/// `localhost`, `*.localhost`, `127.x.y.z` or `[::1]`, with or without a port.
pub fn is_loopback_name(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    name == "localhost"
        || name.ends_with(".localhost")
        || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A request without `Origin` (tools, same-origin GETs) or whose `Origin` is this very host.
fn same_origin(req: &ServiceRequest) -> bool {
    match req
        .headers()
        .get(actix_web::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    {
        None => true,
        Some(origin) => origin
            .split_once("://")
            .is_some_and(|(_, host)| host == req.connection_info().host()),
    }
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

fn clock_body(state: &AppState) -> serde_json::Value {
    json!({ "now": format_timestamp(state.clock.now()), "offset_seconds": state.clock.offset() })
}

async fn clock(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(clock_body(&state))
}

#[derive(Deserialize)]
struct Advance {
    advance_seconds: i64,
}

/// Moves the clock forward by `advance_seconds` (JSON body, or form field) and runs retention at
/// the new time at once, so a test sees its effect in the response.
async fn advance_clock(state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let seconds = match serde_json::from_slice::<Advance>(&body) {
        Ok(a) => a.advance_seconds,
        Err(_) => Params::from_body(&body)?
            .get("advance_seconds")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| ApiError::bad_request("Expected advance_seconds, an integer number of seconds"))?,
    };
    if seconds < 0 {
        return Err(ApiError::bad_request("The clock only moves forward"));
    }
    let offset = state.clock.advance(seconds);
    state.store.call(move |c| meta::set_clock_offset(c, offset)).await?;
    let swept = crate::build::apply_retention(&state).await?;
    if swept != crate::store::retention::Swept::default() {
        // Expired Sync data (or retired builds) went: open consoles show the store as it is now.
        state.events.send(crate::events::Event::Changed);
    }
    let mut body = clock_body(&state);
    body["swept"] = json!(swept);
    Ok(HttpResponse::Ok().json(body))
}

/// Back to the state the fixtures given at start-up describe: everything else is deleted, the
/// clock is reset, the fixtures are loaded again, and the live project is recorded anew.
async fn reset(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.phone.calls.abort_all();
    state
        .store
        .transaction(|tx| {
            for table in [
                "services",
                "blobs",
                "phone_numbers",
                "messages",
                "alerts",
                "calls",
                "recordings",
                "verify_services",
                "lookup_numbers",
                "sync_services",
            ] {
                tx.execute(&format!("DELETE FROM {table}"), [])?;
            }
            meta::set_clock_offset(tx, 0)
        })
        .await?;
    state.clock.set_offset(0);
    state.gateway.invalidate();
    for source in state.fixtures.iter() {
        fixtures::load(&state, source)
            .await
            .map_err(|e| ApiError::bad_request(source.explain(e)))?;
    }
    if let Some(live) = &state.live {
        live.sync(&state, crate::live::Change::Files).await;
        crate::phone::project::wire_live_number(&state, live).await?;
    }
    state.events.send(crate::events::Event::Changed);
    Ok(HttpResponse::Ok().json(json!({ "status": "reset", "fixtures": state.fixtures.len() })))
}

/// The whole state as a fixture.
async fn export(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(fixtures::export(&state).await?))
}

/// Loads the fixture in the body; its project paths are relative to twirl's working directory.
/// The account cannot change while running: credentials in it must be the ones in force.
async fn load_fixture(state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let source = fixtures::Source {
        text: body.to_vec(),
        name: String::new(),
        base_dir: std::env::current_dir().unwrap_or_default(),
    };
    let fixture = fixtures::parse(&source).map_err(|e| ApiError::bad_request(e.to_string()))?;
    if let Some(c) = &fixture.credentials {
        let running = &state.credentials;
        if crate::sid::normalize(&c.account_sid) != running.account_sid || c.auth_token != running.auth_token {
            return Err(ApiError::bad_request(
                "credentials: only a fixture given at start-up can set them",
            ));
        }
    }
    fixtures::load(&state, &source)
        .await
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    state.events.send(crate::events::Event::Changed);
    Ok(HttpResponse::Created().json(json!({ "status": "loaded" })))
}

/// A build's status with the reason it failed, which no API resource field carries.
async fn build_detail(state: web::Data<AppState>, sid: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let sid = sid.into_inner();
    let build = state
        .store
        .call(move |c| {
            let service: String = crate::store::found(
                c.query_row("SELECT service_sid FROM builds WHERE sid = ?1", [&sid], |r| r.get(0)),
                || format!("/_twirl/builds/{sid}"),
            )?;
            builds::get(c, &service, &sid)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "sid": build.sid,
        "service_sid": build.service_sid,
        "status": build.status.as_str(),
        "failure_reason": build.failure_reason,
    })))
}
