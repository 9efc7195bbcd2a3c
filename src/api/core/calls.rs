//! `/2010-04-01/Accounts/{AC}/Calls.json` and `…/Calls/{CA}.json`. Creating a call validates it
//! as Twilio does (its error codes and magic numbers) and hands it to the phone network, which
//! dials it; updating a live call redirects it to new TwiML or ends it.

use super::numbers::{is_webhook_url, method};
use super::{render, store, store_transaction};
use crate::api::wire::v2010::list_response;
use crate::api::wire::{created, date_range, deleted, ok, Ctx, Paging, Params};
use crate::error::{ApiError, StoreError};
use crate::phone::voice::{self, Action, Placed, Source, DEFAULT_RING_SECONDS, MAX_CALL_SECONDS};
use crate::phone::{address, magic};
use crate::state::AppState;
use crate::store::calls::{self as rows, Filter};
use crate::store::numbers;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

/// Longest inline TwiML (Twilio's).
const MAX_TWIML: usize = 4000;
/// Longest `SendDigits`.
const MAX_SEND_DIGITS: usize = 32;
/// Longest ring: `Timeout` above it is cut to it, as Twilio does.
const MAX_RING_SECONDS: i64 = 600;
/// The status callback events a call can ask for.
const EVENTS: &[&str] = &["initiated", "ringing", "answered", "completed"];

#[derive(Deserialize)]
pub struct CallPath {
    sid: String,
}

fn refused(code: u32, message: impl Into<String>) -> ApiError {
    ApiError::coded(400, code, message)
}

/// A method parameter (default POST), upper-cased; Twilio's 21403 otherwise.
fn method_param(params: &Params, name: &str) -> Result<String, ApiError> {
    match params.get(name).filter(|m| !m.is_empty()) {
        None => Ok("POST".into()),
        Some(value) => {
            method(value).ok_or_else(|| refused(21403, format!("{name} must be GET or POST, not {value:?}")))
        }
    }
}

/// An optional URL parameter: absolute http(s), or a path of the live project.
fn url_param<'a>(params: &'a Params, name: &str, code: u32) -> Result<Option<&'a str>, ApiError> {
    match params.get(name).filter(|u| !u.is_empty()) {
        Some(url) if !is_webhook_url(url) => Err(refused(code, format!("{name} is not a valid URL: {url}"))),
        other => Ok(other),
    }
}

/// The TwiML a create or update names: `Twiml` wins over `Url` when both are given, as the API
/// documents.
fn source(params: &Params) -> Result<Option<Source>, ApiError> {
    if let Some(twiml) = params.get("Twiml").filter(|t| !t.is_empty()) {
        if twiml.chars().count() > MAX_TWIML {
            return Err(ApiError::bad_request(format!(
                "Twiml must be at most {MAX_TWIML} characters long"
            )));
        }
        return Ok(Some(Source::Twiml(twiml.to_string())));
    }
    let method = method_param(params, "Method")?;
    Ok(url_param(params, "Url", 21205)?.map(|url| Source::Url {
        url: url.to_string(),
        method,
        extra: Vec::new(),
    }))
}

/// Whether `to` can be called: a number, a client or a SIP address.
fn callable(to: &str) -> bool {
    address::parse(to).is_some_and(|a| a.channel.is_none())
        || to.strip_prefix("client:").is_some_and(|c| !c.is_empty())
        || to.starts_with("sip:")
}

/// Checks a create request in Twilio's order: `To`, `From`, the TwiML, the magic numbers, then
/// the rest; the caller ID is checked against the account's numbers afterwards.
fn read_request(params: &Params) -> Result<Placed, ApiError> {
    let to = params
        .get("To")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| refused(21201, "No 'To' number is specified"))?;
    let from = params
        .get("From")
        .filter(|f| !f.is_empty())
        .ok_or_else(|| refused(21213, "No 'From' number is specified"))?;
    let source = match source(params)? {
        Some(source) => source,
        None if params.get("ApplicationSid").is_some_and(|a| !a.is_empty()) => {
            return Err(refused(
                21207,
                "ApplicationSid is not served offline: give the call a Url or Twiml",
            ))
        }
        None => {
            return Err(refused(
                21200,
                "A Url, Twiml or ApplicationSid is required to create a call",
            ))
        }
    };
    if let Some(Err((code, message))) = magic::call_from(from) {
        return Err(refused(code, message));
    }
    if let Some((code, message)) = magic::call_to(to) {
        return Err(refused(code, message));
    }
    if !callable(to) {
        return Err(refused(21211, format!("Invalid 'To' Phone Number: {to}")));
    }
    let fallback = url_param(params, "FallbackUrl", 21205)?
        .map(|url| Ok::<_, ApiError>((url.to_string(), method_param(params, "FallbackMethod")?)))
        .transpose()?;
    let status_callback = url_param(params, "StatusCallback", 21609)?.map(str::to_string);
    let mut events = Vec::new();
    for value in params.list("StatusCallbackEvent") {
        for event in value.split([' ', ',']).filter(|e| !e.is_empty()) {
            if !EVENTS.contains(&event) {
                return Err(ApiError::bad_request(format!(
                    "StatusCallbackEvent {event:?} must be one of {}",
                    EVENTS.join(", ")
                )));
            }
            events.push(event.to_string());
        }
    }
    if events.is_empty() {
        events.push("completed".into());
    }
    let send_digits = params.get("SendDigits").filter(|d| !d.is_empty());
    if let Some(digits) = send_digits {
        if digits.len() > MAX_SEND_DIGITS || !digits.chars().all(|c| c.is_ascii_digit() || "#*wW".contains(c)) {
            return Err(ApiError::bad_request(format!(
                "SendDigits must be at most {MAX_SEND_DIGITS} of 0-9, #, * and w (a pause)"
            )));
        }
    }
    let machine_detection = match params.get("MachineDetection").filter(|m| !m.is_empty()) {
        None => false,
        Some("Enable" | "DetectMessageEnd") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "MachineDetection must be Enable or DetectMessageEnd, not {other:?}"
            )))
        }
    };
    Ok(Placed {
        from: from.to_string(),
        to: to.to_string(),
        phone_number_sid: None,
        source,
        fallback,
        status_callback,
        status_callback_method: method_param(params, "StatusCallbackMethod")?,
        status_callback_events: events,
        send_digits: send_digits.map(str::to_string),
        ring_seconds: params
            .integer("Timeout", 1..=i64::MAX)?
            .map_or(DEFAULT_RING_SECONDS, |t| t.min(MAX_RING_SECONDS)),
        time_limit: params.integer("TimeLimit", 1..=86_400)?.unwrap_or(MAX_CALL_SECONDS),
        record: params.bool("Record")?.unwrap_or(false),
        machine_detection,
    })
}

/// The number a call is placed from, when it is the account's (its SID goes on the call); a
/// caller ID that is neither the account's nor Twilio's magic valid one is Twilio's 21210.
fn caller_id(conn: &rusqlite::Connection, from: &str) -> Result<Option<String>, StoreError> {
    if let Some(number) = numbers::by_number(conn, from)? {
        return Ok(Some(number.sid));
    }
    if from == magic::VALID_FROM || from.starts_with("client:") {
        return Ok(None);
    }
    Err(refused(
        21210,
        format!("The source phone number provided, {from}, is not yet verified for your account. You may only make calls from phone numbers that you've verified or purchased from Twilio."),
    )
    .into())
}

pub async fn create(state: web::Data<AppState>, ctx: Ctx, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let params = Params::from_body(&body)?;
    let mut placed = read_request(&params)?;
    let from = placed.from.clone();
    placed.phone_number_sid = store(&state, move |c| caller_id(c, &from)).await?;
    let call = voice::place(&state, placed).await.map_err(ApiError::from)?;
    Ok(created(render::call(&ctx.account_sid, &call)))
}

pub async fn list(state: web::Data<AppState>, ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let query = Params::from_query(&req)?;
    let names = [
        "To",
        "From",
        "ParentCallSid",
        "Status",
        "StartTime",
        "StartTime<",
        "StartTime>",
        "EndTime",
        "EndTime<",
        "EndTime>",
    ];
    let paging = Paging::from_query(&query, &names)?;
    let text = |name: &str| query.get(name).filter(|v| !v.is_empty()).map(str::to_string);
    let filter = Filter {
        to: text("To"),
        from: text("From"),
        parent_call_sid: text("ParentCallSid"),
        status: text("Status"),
        started: date_range(&query, "StartTime")?,
        ended: date_range(&query, "EndTime")?,
    };
    let window = paging.window();
    let page = store(&state, move |c| rows::list(c, &filter, window)).await?;
    Ok(list_response(&req, "calls", &paging, &page, |c| {
        render::call(&ctx.account_sid, c)
    }))
}

pub async fn fetch(state: web::Data<AppState>, ctx: Ctx, path: web::Path<CallPath>) -> Result<HttpResponse, ApiError> {
    let sid = path.into_inner().sid;
    let call = store(&state, move |c| rows::get(c, &sid)).await?;
    Ok(ok(render::call(&ctx.account_sid, &call)))
}

/// Redirects a live call (`Url`/`Twiml`), ends it (`Status=completed`), cancels it while it
/// rings (`Status=canceled`, which leaves an answered call alone), or moves its status callback.
pub async fn update(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<CallPath>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_body(&body)?;
    let status = match params.get("Status").filter(|s| !s.is_empty()) {
        None => None,
        Some(s @ ("completed" | "canceled")) => Some(s.to_string()),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Status must be canceled or completed, not {other:?}"
            )))
        }
    };
    let redirect = source(&params)?;
    let callback = url_param(&params, "StatusCallback", 21609)?.map(str::to_string);
    let callback_method = method_param(&params, "StatusCallbackMethod")?;
    let sid = path.into_inner().sid;
    let wanted = sid.clone();
    let call = store(&state, move |c| rows::get(c, &wanted)).await?;
    if call.ended() && status.is_none() && redirect.is_some() {
        return Err(refused(21220, "Call is not in-progress. Cannot redirect."));
    }
    if let Some(url) = callback {
        let sid = sid.clone();
        store(&state, move |c| {
            rows::set_status_callback(c, &sid, &url, &callback_method)
        })
        .await?;
    }
    let ringing = matches!(call.status.as_str(), "queued" | "ringing");
    match (status.as_deref(), redirect) {
        (Some("completed"), _) => {
            voice::act(&state, &sid, Action::End("completed".into())).await?;
        }
        (Some(_), _) if ringing => {
            voice::act(&state, &sid, Action::End("canceled".into())).await?;
        }
        (Some(_), _) => {}
        (None, Some(source)) => {
            if !voice::act(&state, &sid, Action::Redirect(source)).await? {
                return Err(refused(21220, "Call is not in-progress. Cannot redirect."));
            }
        }
        (None, None) => {}
    }
    let call = store(&state, move |c| rows::get(c, &sid)).await?;
    Ok(ok(render::call(&ctx.account_sid, &call)))
}

/// Deletes an ended call's record (a live call must be ended first).
pub async fn delete(state: web::Data<AppState>, path: web::Path<CallPath>) -> Result<HttpResponse, ApiError> {
    let sid = path.into_inner().sid;
    store_transaction(&state, move |tx| {
        let call = rows::get(tx, &sid)?;
        if !call.ended() {
            return Err(ApiError::bad_request(format!(
                "Cannot delete call {sid} in status {}: end it first (Status=completed)",
                call.status
            ))
            .into());
        }
        rows::delete(tx, &sid)
    })
    .await?;
    Ok(deleted())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(body: &str) -> u32 {
        let params = Params::from_body(body.as_bytes()).expect("params");
        read_request(&params).err().map_or(0, |e| e.code())
    }

    #[test]
    fn create_is_checked_in_twilios_order_with_its_codes() {
        let url = "Url=https%3A%2F%2Fa-1234.twil.io%2Fvoice";
        assert_eq!(code(&format!("From=%2B15005550006&{url}")), 21201);
        assert_eq!(code(&format!("To=%2B14155550100&{url}")), 21213);
        assert_eq!(code("To=%2B14155550100&From=%2B15005550006"), 21200);
        assert_eq!(code("To=%2B14155550100&From=%2B15005550006&Url=nope"), 21205);
        assert_eq!(code(&format!("To=%2B14155550100&From=%2B15005550001&{url}")), 21212);
        for (to, expected) in [("1", 21217), ("2", 21214), ("3", 21215), ("4", 21216)] {
            assert_eq!(
                code(&format!("To=%2B1500555000{to}&From=%2B15005550006&{url}")),
                expected
            );
        }
        assert_eq!(code(&format!("To=12345&From=%2B15005550006&{url}")), 21211);
        assert_eq!(
            code(&format!("To=%2B14155550100&From=%2B15005550006&{url}&Method=PUT")),
            21403
        );
        assert_eq!(
            code(&format!("To=%2B14155550100&From=%2B15005550006&{url}&StatusCallback=x")),
            21609
        );
        assert_eq!(
            code(&format!(
                "To=%2B14155550100&From=%2B15005550006&{url}&StatusCallbackEvent=rung"
            )),
            20001
        );
        assert_eq!(
            code(&format!("To=%2B14155550100&From=%2B15005550006&{url}&SendDigits=12a")),
            20001
        );
        assert_eq!(code(&format!("To=client%3Aada&From=%2B15005550006&{url}")), 0);
        assert_eq!(code("To=%2B14155550100&From=%2B15005550006&Twiml=%3CResponse%2F%3E"), 0);
    }

    #[test]
    fn events_are_repeated_or_space_separated_and_timeouts_are_capped() {
        let body = "To=%2B14155550100&From=%2B15005550006&Url=%2Fv&StatusCallbackEvent=initiated+ringing&StatusCallbackEvent=completed&Timeout=900";
        let placed = read_request(&Params::from_body(body.as_bytes()).expect("params")).expect("valid");
        assert_eq!(placed.status_callback_events, ["initiated", "ringing", "completed"]);
        assert_eq!(placed.ring_seconds, MAX_RING_SECONDS);
    }
}
