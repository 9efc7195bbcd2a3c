//! `/2010-04-01/Accounts/{AC}/Messages.json`, `…/Messages/{SM}.json` and their Media. Creating a
//! message validates it as Twilio does (with its error codes and magic numbers), then hands it to
//! the phone network, which delivers it on the emulator's clock.

use super::numbers::is_webhook_url;
use super::{render, store, store_transaction};
use crate::api::wire::v2010::list_response;
use crate::api::wire::{created, date_range, deleted, ok, Ctx, Paging, Params};
use crate::clock::parse_timestamp;
use crate::error::{ApiError, StoreError};
use crate::phone::messaging::{self, MAX_MEDIA};
use crate::phone::{address, magic};
use crate::state::AppState;
use crate::store::messages::{self as rows, Filter, NewMessage, FINAL};
use crate::store::numbers;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

/// Longest body: ten segments' worth (Twilio's 21617).
const MAX_BODY: usize = 1600;
/// A scheduled message's send time: more than 5 minutes and at most 35 days ahead (35115).
const SCHEDULE_MIN: i64 = 300;
const SCHEDULE_MAX: i64 = 35 * 86_400;

#[derive(Deserialize)]
pub struct MessagePath {
    sid: String,
}

#[derive(Deserialize)]
pub struct MediaPath {
    message: String,
    sid: String,
}

fn refused(code: u32, message: impl Into<String>) -> ApiError {
    ApiError::coded(400, code, message)
}

/// What a create request asks for, before the store has its say.
struct Request {
    to: String,
    from: Option<String>,
    service: Option<String>,
    body: String,
    media: Vec<String>,
    status_callback: Option<String>,
    send_at: Option<i64>,
}

/// Checks a create request in Twilio's order: `To`, a sender, a body, the magic numbers, media,
/// the status callback, scheduling.
fn read_request(params: &Params, now: i64) -> Result<Request, ApiError> {
    let to = params
        .get("To")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| refused(21604, "A 'To' phone number is required."))?;
    if address::parse(to).is_none() {
        return Err(refused(21211, format!("Invalid 'To' Phone Number: {to}")));
    }
    let from = params.get("From").filter(|f| !f.is_empty());
    let service = params.sid("MessagingServiceSid", "MG")?.map(crate::sid::normalize);
    if from.is_none() && service.is_none() {
        return Err(refused(21603, "A 'From' phone number is required."));
    }
    let body = params.get("Body").unwrap_or("");
    let media: Vec<String> = params.list("MediaUrl").into_iter().map(str::to_string).collect();
    if body.is_empty() && media.is_empty() {
        return Err(refused(21602, "Message body is required."));
    }
    if body.chars().count() > MAX_BODY {
        return Err(refused(
            21617,
            "The concatenated message body exceeds the 1600 character limit.",
        ));
    }
    if let Some(Err((code, message))) = from.and_then(magic::message_from) {
        return Err(refused(code, message));
    }
    if let Some((code, message)) = magic::message_to(to) {
        return Err(refused(code, message));
    }
    if media.len() > MAX_MEDIA {
        return Err(refused(21623, format!("Too many media URLs: at most {MAX_MEDIA}")));
    }
    if let Some(url) = media.iter().find(|u| !is_webhook_url(u) || u.starts_with('/')) {
        return Err(refused(21620, format!("Invalid media URL: {url}")));
    }
    let status_callback = params.get("StatusCallback").filter(|u| !u.is_empty());
    if let Some(url) = status_callback.filter(|u| !is_webhook_url(u)) {
        return Err(refused(21609, format!("Invalid StatusCallback url: {url}")));
    }
    Ok(Request {
        to: to.to_string(),
        from: from.map(str::to_string),
        send_at: schedule(params, service.is_some(), now)?,
        service,
        body: body.to_string(),
        media,
        status_callback: status_callback.map(str::to_string),
    })
}

/// `ScheduleType=fixed` with `SendAt`: only with a Messaging Service, within Twilio's window.
fn schedule(params: &Params, has_service: bool, now: i64) -> Result<Option<i64>, ApiError> {
    match params.get("ScheduleType") {
        None | Some("") => return Ok(None),
        Some("fixed") => {}
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "ScheduleType must be fixed, not {other:?}"
            )))
        }
    }
    let send_at = params
        .get("SendAt")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| refused(35111, "SendAt is required when ScheduleType is fixed"))?;
    if !has_service {
        return Err(refused(35118, "MessagingServiceSid is required to schedule a message"));
    }
    let at = parse_timestamp(send_at)
        .filter(|at| (now + SCHEDULE_MIN..=now + SCHEDULE_MAX).contains(at))
        .ok_or_else(|| {
            refused(
                35115,
                format!("Scheduling does not support this timestamp: {send_at} (it must be 5 minutes to 35 days ahead, in UTC ISO 8601)"),
            )
        })?;
    Ok(Some(at))
}

/// The sender: `From` when the account may send from it (an owned number, a magic valid one, an
/// alphanumeric sender ID), else the first number of the account for a Messaging Service.
fn sender(conn: &rusqlite::Connection, from: Option<&str>) -> Result<String, StoreError> {
    let Some(from) = from else {
        return numbers::all(conn)?
            .into_iter()
            .next()
            .map(|n| n.phone_number)
            .ok_or_else(|| ApiError::coded(400, 21704, "The Messaging Service contains no phone numbers").into());
    };
    let number = address::parse(from).map(|a| a.number);
    let allowed = match number {
        Some(n) => n == magic::VALID_FROM || numbers::by_number(conn, n)?.is_some(),
        None => address::is_sender_id(from),
    };
    if !allowed {
        return Err(refused(
            21606,
            format!("The From phone number {from} is not a valid, SMS-capable inbound phone number or short code for your account."),
        )
        .into());
    }
    Ok(from.to_string())
}

pub async fn create(state: web::Data<AppState>, ctx: Ctx, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let params = Params::from_body(&body)?;
    let request = read_request(&params, state.clock.now())?;
    let status = match (&request.service, request.send_at) {
        (Some(_), Some(_)) => "scheduled",
        (Some(_), None) => "accepted",
        (None, _) => "queued",
    };
    let wanted = request.from.clone();
    let from = store(&state, move |c| sender(c, wanted.as_deref())).await?;
    let new = NewMessage {
        direction: "outbound-api".into(),
        from,
        to: request.to,
        num_segments: messaging::segments(&request.body),
        body: request.body,
        status: status.into(),
        messaging_service_sid: request.service,
        status_callback: request.status_callback,
        status_callback_method: "POST".into(),
        send_at: request.send_at,
        media: request
            .media
            .iter()
            .map(|url| (messaging::media_type_of(url), url.clone()))
            .collect(),
    };
    let (message, _delivery) = messaging::send(&state, new).await.map_err(ApiError::from)?;
    Ok(created(render::message(&ctx.account_sid, &message)))
}

pub async fn list(state: web::Data<AppState>, ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let query = Params::from_query(&req)?;
    let paging = Paging::from_query(&query, &["To", "From", "DateSent", "DateSent<", "DateSent>"])?;
    let (sent_from, sent_until) = date_range(&query, "DateSent")?;
    let filter = Filter {
        to: query.get("To").map(str::to_string),
        from: query.get("From").map(str::to_string),
        sent_from,
        sent_until,
    };
    let window = paging.window();
    let page = store(&state, move |c| rows::list(c, &filter, window)).await?;
    Ok(list_response(&req, "messages", &paging, &page, |m| {
        render::message(&ctx.account_sid, m)
    }))
}

pub async fn fetch(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<MessagePath>,
) -> Result<HttpResponse, ApiError> {
    let sid = path.into_inner().sid;
    let message = store(&state, move |c| rows::get(c, &sid)).await?;
    Ok(ok(render::message(&ctx.account_sid, &message)))
}

/// Redacts the body (`Body=""`) of a finished message, or cancels a scheduled one
/// (`Status=canceled`).
pub async fn update(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<MessagePath>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_body(&body)?;
    let redact = match params.get("Body") {
        Some("") => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "Body can only be set to an empty string, to redact the message",
            ))
        }
        None => false,
    };
    let cancel = match params.get("Status") {
        Some("canceled") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Status can only be canceled, not {other:?}"
            )))
        }
        None => false,
    };
    let (sid, now) = (path.into_inner().sid, state.clock.now());
    let message = store_transaction(&state, move |tx| {
        let mut message = rows::get(tx, &sid)?;
        if cancel {
            if message.status != "scheduled" {
                return Err(refused(30409, "This message cannot be canceled: it is no longer scheduled").into());
            }
            message = rows::advance(tx, &message, &[("canceled", None)], now)?.0;
        }
        if redact {
            if !FINAL.contains(&message.status.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "Cannot redact a message in status {}: wait until it is finished",
                    message.status
                ))
                .into());
            }
            message = rows::redact(tx, &sid, now)?;
        }
        Ok(message)
    })
    .await?;
    Ok(ok(render::message(&ctx.account_sid, &message)))
}

/// Deletes a finished message (one on its way cannot be, as on Twilio).
pub async fn delete(state: web::Data<AppState>, path: web::Path<MessagePath>) -> Result<HttpResponse, ApiError> {
    let sid = path.into_inner().sid;
    store_transaction(&state, move |tx| {
        let message = rows::get(tx, &sid)?;
        if !FINAL.contains(&message.status.as_str()) && message.status != "scheduled" {
            return Err(ApiError::bad_request(format!("Cannot delete message in state {}", message.status)).into());
        }
        rows::delete(tx, &sid)
    })
    .await?;
    Ok(deleted())
}

pub async fn media_list(
    state: web::Data<AppState>,
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let query = Params::from_query(&req)?;
    let paging = Paging::from_query(&query, &["DateCreated", "DateCreated<", "DateCreated>"])?;
    let created_range = date_range(&query, "DateCreated")?;
    let (message_sid, window) = (path.into_inner().1, paging.window());
    let page = store(&state, move |c| rows::media(c, &message_sid, created_range, window)).await?;
    Ok(list_response(&req, "media_list", &paging, &page, |m| {
        render::media(&ctx.account_sid, m)
    }))
}

pub async fn media_fetch(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<MediaPath>,
) -> Result<HttpResponse, ApiError> {
    let MediaPath { message, sid } = path.into_inner();
    let media = store(&state, move |c| rows::media_item(c, &message, &sid)).await?;
    Ok(ok(render::media(&ctx.account_sid, &media)))
}

pub async fn media_delete(state: web::Data<AppState>, path: web::Path<MediaPath>) -> Result<HttpResponse, ApiError> {
    let MediaPath { message, sid } = path.into_inner();
    store_transaction(&state, move |tx| rows::delete_media(tx, &message, &sid)).await?;
    Ok(deleted())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(body: &str) -> Params {
        Params::from_body(body.as_bytes()).expect("params")
    }

    fn code(body: &str) -> u32 {
        read_request(&params(body), 0).err().map_or(0, |e| e.code())
    }

    #[test]
    fn create_is_checked_in_twilios_order_with_its_codes() {
        assert_eq!(code("Body=hi"), 21604);
        assert_eq!(code("To=12345&Body=hi"), 21211);
        assert_eq!(code("To=%2B14155550100&Body=hi"), 21603);
        assert_eq!(code("To=%2B14155550100&From=%2B15005550006"), 21602);
        let long = format!("To=%2B14155550100&From=%2B15005550006&Body={}", "a".repeat(1601));
        assert_eq!(code(&long), 21617);
        assert_eq!(code("To=%2B14155550100&From=%2B15005550001&Body=hi"), 21212);
        assert_eq!(code("To=%2B14155550100&From=%2B15005550007&Body=hi"), 21606);
        assert_eq!(code("To=%2B14155550100&From=%2B15005550008&Body=hi"), 21611);
        for (to, expected) in [("1", 21211), ("2", 21612), ("3", 21408), ("4", 21610), ("9", 21614)] {
            assert_eq!(
                code(&format!("To=%2B1500555000{to}&From=%2B15005550006&Body=hi")),
                expected
            );
        }
        assert_eq!(
            code("To=%2B14155550100&From=%2B15005550006&Body=hi&StatusCallback=nope"),
            21609
        );
        assert_eq!(code("To=%2B14155550100&From=%2B15005550006&Body=hi"), 0);
    }

    #[test]
    fn scheduling_needs_a_service_and_a_time_in_the_window() {
        let base = "To=%2B14155550100&Body=hi&ScheduleType=fixed";
        assert_eq!(code(&format!("{base}&From=%2B15005550006")), 35111);
        assert_eq!(
            code(&format!("{base}&From=%2B15005550006&SendAt=1970-01-01T01:00:00Z")),
            35118
        );
        let service = "MessagingServiceSid=MG0123456789abcdef0123456789abcdef";
        assert_eq!(code(&format!("{base}&{service}&SendAt=1970-01-01T00:01:00Z")), 35115);
        assert_eq!(code(&format!("{base}&{service}&SendAt=1970-03-01T00:00:00Z")), 35115);
        assert_eq!(code(&format!("{base}&{service}&SendAt=1970-01-01T01:00:00Z")), 0);
    }
}
