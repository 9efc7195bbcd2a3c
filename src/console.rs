//! The web console: static files embedded in the binary (`static/`), served at `/_twirl/`, plus
//! the endpoints it needs beyond the API: its session (the credentials it calls `/v1` with, so
//! it can also sign requests to protected functions), the live project's state, and a stream of
//! server-sent events.

use crate::error::ApiError;
use crate::events::Event;
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use futures_util::stream::{self, StreamExt};
use serde_json::json;
use std::time::Duration;
use tokio_stream::wrappers::{errors::BroadcastStreamRecvError, BroadcastStream, IntervalStream};

static CONSOLE: include_dir::Dir<'_> = include_dir::include_dir!("$CARGO_MANIFEST_DIR/static");

/// Keeps idle event streams (and the proxies between) from timing out, and finds dead clients.
const PING_EVERY: Duration = Duration::from_secs(15);

/// Routes inside the `/_twirl` scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/console/{file:.*}", web::get().to(file))
        .route("/session", web::get().to(session))
        .route("/live", web::get().to(live))
        .route("/events", web::get().to(events));
}

async fn index() -> Result<HttpResponse, ApiError> {
    serve("index.html")
}

async fn file(path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    serve(&path.into_inner())
}

fn serve(rel: &str) -> Result<HttpResponse, ApiError> {
    let file = CONSOLE
        .get_file(rel)
        .ok_or_else(|| ApiError::not_found(&format!("/_twirl/console/{rel}")))?;
    Ok(HttpResponse::Ok()
        .content_type(mime_guess::from_path(rel).first_or_octet_stream().essence_str())
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(file.contents()))
}

/// What the console needs to call the API and sign requests as the account.
async fn session(state: web::Data<AppState>) -> HttpResponse {
    let live = state.live.as_ref().map(|l| l.snapshot());
    HttpResponse::Ok().json(json!({
        "account_sid": state.credentials.account_sid,
        "auth_token": state.credentials.auth_token,
        "live": live.map(|s| json!({
            "service_sid": s.recorded.service_sid,
            "environment_sid": s.recorded.environment_sid,
            "domain_name": s.recorded.domain_name,
        })),
    }))
}

/// The live project: where it is served, its current problems, the dependencies being
/// installed, and the variables that keep an API edit over `.env`.
async fn live(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let Some(live) = &state.live else {
        return Ok(HttpResponse::Ok().json(json!(null)));
    };
    let s = live.snapshot();
    let environment_sid = s.recorded.environment_sid.clone();
    let edited = state
        .store
        .call(move |c| crate::store::variables::edited_over_dotenv(c, &environment_sid))
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "dir": live.dir,
        "service_sid": s.recorded.service_sid,
        "environment_sid": s.recorded.environment_sid,
        "domain_name": s.recorded.domain_name,
        "build_sid": s.recorded.build_sid,
        "problems": live.problems(),
        "dependencies": live.dependencies(),
        "edited_variables": edited.iter().map(|v| json!({"key": v.key, "value": v.value, "dotenv": v.dotenv})).collect::<Vec<_>>(),
    })))
}

/// `text/event-stream` of `Event`s as JSON, with a comment line as a ping.
async fn events(state: web::Data<AppState>) -> HttpResponse {
    let live_events = BroadcastStream::new(state.events.subscribe()).filter_map(|item| async move {
        match item {
            Ok(event) => Some(frame(&event)),
            // A slow client missed some events: tell it to reload what it shows.
            Err(BroadcastStreamRecvError::Lagged(_)) => Some(frame(&Event::Changed)),
        }
    });
    let pings = IntervalStream::new(tokio::time::interval(PING_EVERY)).map(|_| web::Bytes::from_static(b": ping\n\n"));
    let body = stream::select(live_events, pings).map(Ok::<_, actix_web::Error>);
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .streaming(body)
}

fn frame(event: &Event) -> web::Bytes {
    web::Bytes::from(format!(
        "data: {}\n\n",
        serde_json::to_string(event).unwrap_or_else(|_| "{}".into())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_has_an_index_and_typed_files() {
        assert!(CONSOLE.get_file("index.html").is_some());
        for file in CONSOLE.files() {
            let mime = mime_guess::from_path(file.path()).first_or_octet_stream();
            assert_ne!(
                mime.essence_str(),
                "application/octet-stream",
                "{}",
                file.path().display()
            );
        }
    }
}
