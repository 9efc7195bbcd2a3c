//! The phone network's control endpoints (`/_twirl/phone/…`): a handset texts an owned number and
//! gets back what happened in that turn; a handset's inbox; a message's status history. Test
//! suites, `twirl sms` and the console use exactly these.

use crate::api::core::render;
use crate::api::monitor;
use crate::api::wire::Params;
use crate::error::ApiError;
use crate::phone::address;
use crate::phone::messaging::{self, Incoming, Turn, MAX_MEDIA};
use crate::state::AppState;
use crate::store::{alerts, messages};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/phone/messages", web::post().to(text))
        .route("/phone/messages/{sid}", web::get().to(message))
        .route("/phone/handsets/{number}/messages", web::get().to(inbox));
}

/// Where alerts are rendered as Monitor renders them, on this request's host.
pub(super) fn monitor_base(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}/monitor/v1", info.scheme(), info.host())
}

/// A handset's number as given: E.164, or a channel address.
fn handset_number(from: Option<&str>) -> Result<String, ApiError> {
    let from = from
        .filter(|f| !f.is_empty())
        .ok_or_else(|| ApiError::bad_request("From (the handset's number) is required"))?;
    if address::parse(from).is_none() {
        return Err(ApiError::coded(
            400,
            21212,
            format!("From {from:?} is not an E.164 number such as +14155550100"),
        ));
    }
    Ok(from.to_string())
}

/// A handset's number: well-formed, and not one of the account's.
pub(super) async fn handset(state: &AppState, from: Option<&str>) -> Result<String, ApiError> {
    let from = handset_number(from)?;
    let owned = from.clone();
    state
        .store
        .call(move |c| crate::phone::messaging::ensure_handset(c, &owned))
        .await?;
    Ok(from)
}

/// `POST /_twirl/phone/messages`: `From` (a handset) texts `To` (an owned number) `Body` and
/// `MediaUrl`s. Answers once the turn is done: the webhook, its replies, its alerts.
async fn text(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let params = Params::from_request_body(&req, &body)?;
    let from = handset_number(params.get("From"))?;
    let to = params
        .get("To")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::coded(400, 21604, "To (the number texted) is required"))?;
    let body = params.text("Body", 1600)?.unwrap_or("").to_string();
    let media: Vec<String> = params.list("MediaUrl").into_iter().map(str::to_string).collect();
    if body.is_empty() && media.is_empty() {
        return Err(ApiError::coded(400, 21602, "A Body or a MediaUrl is required"));
    }
    if media.len() > MAX_MEDIA {
        return Err(ApiError::coded(400, 21623, format!("At most {MAX_MEDIA} MediaUrl")));
    }
    let incoming = Incoming {
        from,
        to: to.to_string(),
        body,
        media,
    };
    let turn = messaging::receive(&state, incoming).await?;
    Ok(HttpResponse::Created().json(render_turn(&state, &req, &turn)))
}

fn render_turn(state: &AppState, req: &HttpRequest, turn: &Turn) -> Value {
    let account = &state.credentials.account_sid;
    let base = monitor_base(req);
    json!({
        "message": render::message(account, &turn.message),
        "webhook": turn.webhook,
        "replies": turn.replies.iter().map(|m| render::message(account, m)).collect::<Vec<_>>(),
        "alerts": turn.alerts.iter().map(|a| monitor::render(&base, account, a, true)).collect::<Vec<_>>(),
    })
}

/// `GET /_twirl/phone/handsets/{number}/messages`: what the handset received, oldest first.
async fn inbox(state: web::Data<AppState>, number: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let number = number.into_inner();
    let received = state.store.call(move |c| messages::inbox(c, &number)).await?;
    let account = &state.credentials.account_sid;
    Ok(HttpResponse::Ok().json(json!({
        "messages": received.iter().map(|m| render::message(account, m)).collect::<Vec<_>>(),
    })))
}

/// `GET /_twirl/phone/messages/{sid}`: a message, every status it went through with the status
/// callback each caused, and the alerts about it.
async fn message(
    state: web::Data<AppState>,
    req: HttpRequest,
    sid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let sid = sid.into_inner();
    let (message, events, raised) = state
        .store
        .call(move |c| {
            Ok((
                messages::get(c, &sid)?,
                messages::events(c, &sid)?,
                alerts::about(c, &sid)?,
            ))
        })
        .await?;
    let account = &state.credentials.account_sid;
    let base = monitor_base(&req);
    Ok(HttpResponse::Ok().json(json!({
        "message": render::message(account, &message),
        "events": events,
        "alerts": raised.iter().map(|a| monitor::render(&base, account, a, true)).collect::<Vec<_>>(),
    })))
}
