//! The phone network's call endpoints (`/_twirl/phone/calls…`): a handset calls an owned number,
//! presses keys, says something, stays silent or hangs up, and reads the call's state: the Call,
//! its transcript, what it waits for, its status history and alerts. Each answers once the call
//! waits for the caller again or has ended. Test suites, `twirl call` and the console use these.

use super::phone::{handset, render_alerts};
use crate::api::core::render;
use crate::api::wire::Params;
use crate::error::{ApiError, ErrorKind};
use crate::phone::voice::{self, Action, Input};
use crate::state::AppState;
use crate::store::{alerts, calls, Window};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

/// Calls listed for the console.
const LISTED: i64 = 100;
/// Longest phrase a handset says at once.
const MAX_SPEECH: usize = 1000;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/phone/calls", web::post().to(dial))
        .route("/phone/calls", web::get().to(list))
        .route("/phone/calls/{sid}", web::get().to(show))
        .route("/phone/calls/{sid}/input", web::post().to(input))
        .route("/phone/calls/{sid}/hangup", web::post().to(hangup));
}

/// A call's state: the Call resource, what was said and done on it (on every leg, for a first
/// leg), what it waits for, the statuses it went through with their callbacks, its other legs,
/// and the alerts raised about it.
async fn call_state(state: &AppState, req: &HttpRequest, sid: &str) -> Result<Value, ApiError> {
    let wanted = sid.to_string();
    let (call, lines, legs, events, raised) = state
        .store
        .call(move |c| {
            let call = calls::get(c, &wanted)?;
            let legs = if call.root_sid == call.sid {
                calls::legs(c, &call.sid)?
            } else {
                vec![call.clone()]
            };
            let mut raised = Vec::new();
            for leg in &legs {
                raised.extend(alerts::about(c, &leg.sid)?);
            }
            Ok((
                calls::transcript(c, &call)?,
                legs,
                calls::events(c, &wanted)?,
                raised,
                call,
            ))
        })
        .await
        .map(|(lines, legs, events, raised, call)| (call, lines, legs, events, raised))
        .map_err(|e| match e {
            crate::error::StoreError::NotFound(_) => ApiError::not_found(&format!("/_twirl/phone/calls/{sid}")),
            other => other.into(),
        })?;
    let account = &state.credentials.account_sid;
    Ok(json!({
        "call": render::call(account, &call),
        "transcript": lines
            .into_iter()
            .map(|l| voice::line_json(&l.call_sid, l.at, l.entry))
            .collect::<Vec<_>>(),
        "awaiting": voice::awaiting(state, sid),
        "events": events,
        "legs": legs
            .iter()
            .filter(|l| l.sid != call.sid)
            .map(|l| render::call(account, l))
            .collect::<Vec<_>>(),
        "alerts": render_alerts(state, req, &raised, true),
    }))
}

/// `POST /_twirl/phone/calls`: `From` (a handset) calls `To` (an owned number).
async fn dial(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let params = Params::from_request_body(&req, &body)?;
    let from = handset(&state, params.get("From")).await?;
    let to = params
        .get("To")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::coded(400, 21201, "To (the number called) is required"))?;
    let call = voice::dial_in(&state, &from, to).await?;
    Ok(HttpResponse::Created().json(call_state(&state, &req, &call.sid).await?))
}

/// `GET /_twirl/phone/calls`: the latest calls, newest first, every leg.
async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let window = Window {
        offset: 0,
        limit: LISTED,
    };
    let page = state
        .store
        .call(move |c| calls::list(c, &calls::Filter::default(), window))
        .await?;
    let account = &state.credentials.account_sid;
    Ok(HttpResponse::Ok().json(json!({
        "calls": page.items.iter().map(|c| render::call(account, c)).collect::<Vec<_>>(),
    })))
}

/// `GET /_twirl/phone/calls/{CA}`: the call's state, once it waits or has ended.
async fn show(state: web::Data<AppState>, req: HttpRequest, sid: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let sid = sid.into_inner();
    voice::act(&state, &sid, Action::Settle).await?;
    Ok(HttpResponse::Ok().json(call_state(&state, &req, &sid).await?))
}

/// Keys (`Digits`: 0-9, `*`, `#`, `w` for a pause) and words (`SpeechResult`) as the caller
/// gives them; neither is silence until the timeout.
fn read_input(params: &Params) -> Result<Input, ApiError> {
    let digits = params.get("Digits").filter(|d| !d.is_empty());
    if let Some(d) = digits.filter(|d| !d.chars().all(|c| c.is_ascii_digit() || "*#wW".contains(c))) {
        return Err(ApiError::bad_request(format!(
            "Digits {d:?} must be keys of a phone: 0-9, * and #"
        )));
    }
    let speech = params
        .text("SpeechResult", MAX_SPEECH)?
        .filter(|s| !s.trim().is_empty());
    Ok(Input {
        digits: digits.map(|d| d.replace(['w', 'W'], "")),
        speech: speech.map(|s| s.trim().to_string()),
    })
}

/// `POST /_twirl/phone/calls/{CA}/input`: the caller presses keys, speaks, or stays silent.
async fn input(
    state: web::Data<AppState>,
    req: HttpRequest,
    sid: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let sid = sid.into_inner();
    let input = read_input(&Params::from_request_body(&req, &body)?)?;
    let exists = sid.clone();
    state
        .store
        .call(move |c| calls::get(c, &exists))
        .await
        .map_err(|_| ApiError::not_found(&format!("/_twirl/phone/calls/{sid}")))?;
    if !voice::act(&state, &sid, Action::Input(input)).await? {
        return Err(ApiError::new(
            ErrorKind::Conflict,
            format!("Call {sid} has ended: it takes no input"),
        ));
    }
    Ok(HttpResponse::Ok().json(call_state(&state, &req, &sid).await?))
}

/// `POST /_twirl/phone/calls/{CA}/hangup`: the handset on that leg hangs up.
async fn hangup(
    state: web::Data<AppState>,
    req: HttpRequest,
    sid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let sid = sid.into_inner();
    voice::act(&state, &sid, Action::Hangup).await?;
    Ok(HttpResponse::Ok().json(call_state(&state, &req, &sid).await?))
}
