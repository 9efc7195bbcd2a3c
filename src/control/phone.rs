//! The phone network's control endpoints (`/_twirl/phone/…`): a handset texts an owned number and
//! gets back what happened in that turn; a handset's inbox and its whole conversation; a
//! message's status history. Test suites, `twirl sms` and the console use exactly these.

use crate::api::core::render::{self, MessageResource};
use crate::api::monitor;
use crate::api::wire::Params;
use crate::error::ApiError;
use crate::phone::address;
use crate::phone::messaging::{self, Incoming, Turn, WebhookSummary, MAX_MEDIA};
use crate::state::AppState;
use crate::store::alerts::{self, Alert};
use crate::store::messages;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::{json, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/phone/messages", web::post().to(text))
        .route("/phone/messages/{sid}", web::get().to(message))
        .route("/phone/handsets/{number}/messages", web::get().to(inbox))
        .route("/phone/handsets/{number}/conversation", web::get().to(conversation));
}

/// Alerts as Monitor renders them (`full`: with the request and answer behind each), at this
/// request's host.
pub(super) fn render_alerts(state: &AppState, req: &HttpRequest, alerts: &[Alert], full: bool) -> Vec<Value> {
    let info = req.connection_info();
    let base = format!("{}://{}/monitor/v1", info.scheme(), info.host());
    alerts
        .iter()
        .map(|a| monitor::render(&base, &state.credentials.account_sid, a, full))
        .collect()
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

/// A turn as its caller gets it.
#[derive(Serialize)]
struct TurnView<'a> {
    message: MessageResource<'a>,
    webhook: &'a Option<WebhookSummary>,
    replies: Vec<MessageResource<'a>>,
    alerts: Vec<Value>,
}

fn render_turn<'a>(state: &'a AppState, req: &HttpRequest, turn: &'a Turn) -> TurnView<'a> {
    let account = &state.credentials.account_sid;
    TurnView {
        message: render::message(account, &turn.message),
        webhook: &turn.webhook,
        replies: turn.replies.iter().map(|m| render::message(account, m)).collect(),
        alerts: render_alerts(state, req, &turn.alerts, true),
    }
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

/// Messages a conversation shows at most: the newest, as a phone's thread starts at the latest.
const CONVERSATION_LIMIT: i64 = 200;

/// `GET /_twirl/phone/handsets/{number}/conversation[?With=+1…]`: what the handset sent and was
/// sent, in every status (a reply still on its way, one that failed), oldest first, with the
/// alerts about those messages; with `With`, only what it exchanged with that number. The
/// console's phone shows its thread from this.
async fn conversation(
    state: web::Data<AppState>,
    req: HttpRequest,
    number: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let number = number.into_inner();
    let with = Params::from_query(&req)?
        .get("With")
        .filter(|w| !w.is_empty())
        .map(str::to_string);
    let (thread, raised) = state
        .store
        .call(move |c| {
            let thread = messages::conversation(c, &number, with.as_deref(), CONVERSATION_LIMIT)?;
            let mut raised = Vec::new();
            for m in &thread {
                raised.extend(alerts::about(c, &m.sid)?);
            }
            Ok((thread, raised))
        })
        .await?;
    let account = &state.credentials.account_sid;
    Ok(HttpResponse::Ok().json(json!({
        "messages": thread.iter().map(|m| render::message(account, m)).collect::<Vec<_>>(),
        "alerts": render_alerts(&state, &req, &raised, false),
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
    Ok(HttpResponse::Ok().json(json!({
        "message": render::message(account, &message),
        "events": events,
        "alerts": render_alerts(&state, &req, &raised, true),
    })))
}
