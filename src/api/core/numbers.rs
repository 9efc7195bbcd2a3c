//! `/2010-04-01/Accounts/{AC}/IncomingPhoneNumbers.json` and `…/{PN}.json`: the account's numbers.
//! Buying one takes `PhoneNumber` (any E.164 number the account does not have yet) or
//! `AreaCode` (the first free `+1{area}555…` number, never the default handset); Twilio's magic numbers refuse as documented.
//! Every change is announced to the console, whose Phone page shows the numbers' webhooks.

use super::{render, store, store_transaction};
use crate::api::wire::v2010::list_response;
use crate::api::wire::{created, deleted, ok, Ctx, Paging, Params};
use crate::error::ApiError;
use crate::events::Event;
use crate::phone::{address, magic};
use crate::state::AppState;
use crate::store::numbers::{self, Config, Filter};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

/// Longest friendly name (Twilio's).
const MAX_FRIENDLY_NAME: usize = 64;

#[derive(Deserialize)]
pub struct NumberPath {
    sid: String,
}

/// Whether `value` can be a webhook URL: absolute http(s), or a path on twirl's live project.
pub fn is_webhook_url(value: &str) -> bool {
    value.starts_with('/')
        || reqwest::Url::parse(value).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

/// `GET` or `POST`, in any case; returned upper-case.
pub fn method(value: &str) -> Option<String> {
    let upper = value.to_ascii_uppercase();
    matches!(upper.as_str(), "GET" | "POST").then_some(upper)
}

/// Applies the settable parameters present in `params` to `config`, then checks the result.
fn configure(config: &mut Config, params: &Params) -> Result<(), ApiError> {
    let text = |name: &str, target: &mut String| {
        if let Some(value) = params.get(name) {
            *target = value.to_string();
        }
    };
    text("SmsUrl", &mut config.sms_url);
    text("SmsMethod", &mut config.sms_method);
    text("SmsFallbackUrl", &mut config.sms_fallback_url);
    text("SmsFallbackMethod", &mut config.sms_fallback_method);
    text("VoiceUrl", &mut config.voice_url);
    text("VoiceMethod", &mut config.voice_method);
    text("VoiceFallbackUrl", &mut config.voice_fallback_url);
    text("VoiceFallbackMethod", &mut config.voice_fallback_method);
    text("StatusCallback", &mut config.status_callback);
    text("StatusCallbackMethod", &mut config.status_callback_method);
    text("VoiceReceiveMode", &mut config.voice_receive_mode);
    text("EmergencyStatus", &mut config.emergency_status);
    let sid = |name: &str, target: &mut Option<String>| {
        if let Some(value) = params.get(name) {
            *target = Some(value.to_string()).filter(|v| !v.is_empty());
        }
    };
    sid("SmsApplicationSid", &mut config.sms_application_sid);
    sid("VoiceApplicationSid", &mut config.voice_application_sid);
    sid("TrunkSid", &mut config.trunk_sid);
    sid("IdentitySid", &mut config.identity_sid);
    sid("AddressSid", &mut config.address_sid);
    sid("BundleSid", &mut config.bundle_sid);
    sid("EmergencyAddressSid", &mut config.emergency_address_sid);
    if let Some(lookup) = params.bool("VoiceCallerIdLookup")? {
        config.voice_caller_id_lookup = lookup;
    }
    for method in [
        &mut config.sms_method,
        &mut config.sms_fallback_method,
        &mut config.voice_method,
        &mut config.voice_fallback_method,
        &mut config.status_callback_method,
    ] {
        *method = method.to_ascii_uppercase();
    }
    check_number_config(config)
}

/// Checks a number's configuration as the API does: URLs (21402), methods (21403), SIDs, enums.
pub fn check_number_config(config: &Config) -> Result<(), ApiError> {
    let urls = [
        ("SmsUrl", &config.sms_url),
        ("SmsFallbackUrl", &config.sms_fallback_url),
        ("VoiceUrl", &config.voice_url),
        ("VoiceFallbackUrl", &config.voice_fallback_url),
        ("StatusCallback", &config.status_callback),
    ];
    if let Some((name, value)) = urls.iter().find(|(_, v)| !v.is_empty() && !is_webhook_url(v)) {
        return Err(ApiError::coded(
            400,
            21402,
            format!("{name} is not a valid URL: {value}"),
        ));
    }
    let methods = [
        ("SmsMethod", &config.sms_method),
        ("SmsFallbackMethod", &config.sms_fallback_method),
        ("VoiceMethod", &config.voice_method),
        ("VoiceFallbackMethod", &config.voice_fallback_method),
        ("StatusCallbackMethod", &config.status_callback_method),
    ];
    if let Some((name, value)) = methods.iter().find(|(_, v)| method(v).is_none()) {
        return Err(ApiError::coded(
            400,
            21403,
            format!("{name} must be GET or POST, not {value:?}"),
        ));
    }
    let sids = [
        ("SmsApplicationSid", &config.sms_application_sid, "AP"),
        ("VoiceApplicationSid", &config.voice_application_sid, "AP"),
        ("TrunkSid", &config.trunk_sid, "TK"),
        ("IdentitySid", &config.identity_sid, "RI"),
        ("AddressSid", &config.address_sid, "AD"),
        ("BundleSid", &config.bundle_sid, "BU"),
        ("EmergencyAddressSid", &config.emergency_address_sid, "AD"),
    ];
    for (name, value, prefix) in sids {
        if let Some(v) = value.as_deref().filter(|v| !crate::sid::is_sid(v, prefix)) {
            return Err(ApiError::bad_request(format!(
                "Invalid {name} {v:?}: expected a {prefix} SID"
            )));
        }
    }
    let enums = [
        ("VoiceReceiveMode", &config.voice_receive_mode, &["voice", "fax"][..]),
        ("EmergencyStatus", &config.emergency_status, &["Active", "Inactive"][..]),
    ];
    for (name, value, allowed) in enums {
        if !allowed.contains(&value.as_str()) {
            return Err(ApiError::bad_request(format!(
                "{name} must be one of {}",
                allowed.join(", ")
            )));
        }
    }
    Ok(())
}

/// The number to buy: `PhoneNumber` as given, or the first free one in `AreaCode`.
fn wanted_number(conn: &rusqlite::Connection, params: &Params) -> Result<String, crate::error::StoreError> {
    let refused = |(code, message): magic::Refusal| crate::error::StoreError::Coded {
        status: 400,
        code,
        message: message.to_string(),
    };
    if let Some(number) = params.get("PhoneNumber").filter(|n| !n.is_empty()) {
        if let Some(refusal) = magic::buy_number(number) {
            return Err(refused(refusal));
        }
        if !address::is_e164(number) {
            return Err(refused((
                21421,
                "PhoneNumber is invalid: expected E.164, such as +14155550100",
            )));
        }
        return Ok(number.to_string());
    }
    let Some(area) = params.get("AreaCode").filter(|a| !a.is_empty()) else {
        return Err(refused((21421, "A PhoneNumber or an AreaCode is required")));
    };
    if let Some(refusal) = magic::buy_area_code(area) {
        return Err(refused(refusal));
    }
    if area.len() != 3 || !area.bytes().all(|b| b.is_ascii_digit()) || area.starts_with(['0', '1']) {
        return Err(refused((
            21451,
            "AreaCode must be three digits, not starting with 0 or 1",
        )));
    }
    (100..10_000)
        .map(|n| format!("+1{area}555{n:04}"))
        .filter(|candidate| candidate != magic::DEFAULT_HANDSET)
        .find(|candidate| numbers::by_number(conn, candidate).is_ok_and(|owned| owned.is_none()))
        .ok_or_else(|| refused((21452, "No phone numbers are left in this area code")))
}

pub async fn create(state: web::Data<AppState>, ctx: Ctx, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let params = Params::from_body(&body)?;
    let mut config = Config::default();
    configure(&mut config, &params)?;
    let friendly_name = params.text("FriendlyName", MAX_FRIENDLY_NAME)?.map(str::to_string);
    let now = state.clock.now();
    let number = store_transaction(&state, move |tx| {
        let phone_number = wanted_number(tx, &params)?;
        let name = friendly_name.unwrap_or_else(|| address::friendly(&phone_number));
        numbers::create(tx, &phone_number, &name, &config, now)
    })
    .await?;
    state.events.send(Event::Changed);
    Ok(created(render::number(&ctx.account_sid, &number)))
}

pub async fn list(state: web::Data<AppState>, ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let query = Params::from_query(&req)?;
    let paging = Paging::from_query(&query, &["PhoneNumber", "FriendlyName", "Beta", "Origin"])?;
    let filter = Filter {
        phone_number: query.get("PhoneNumber").map(str::to_string),
        friendly_name: query.get("FriendlyName").map(str::to_string),
    };
    // Every number here is Twilio's own (`origin` twilio) and none is beta.
    let window = paging.window();
    let page = if query.get("Origin").is_some_and(|o| o != "twilio") || query.bool("Beta")? == Some(true) {
        crate::store::Page::from_overfetch(Vec::new(), window)
    } else {
        store(&state, move |c| numbers::list(c, &filter, window)).await?
    };
    Ok(list_response(&req, "incoming_phone_numbers", &paging, &page, |n| {
        render::number(&ctx.account_sid, n)
    }))
}

pub async fn fetch(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<NumberPath>,
) -> Result<HttpResponse, ApiError> {
    let sid = path.into_inner().sid;
    let number = store(&state, move |c| numbers::get(c, &sid)).await?;
    Ok(ok(render::number(&ctx.account_sid, &number)))
}

pub async fn update(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<NumberPath>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_body(&body)?;
    let friendly_name = params.text("FriendlyName", MAX_FRIENDLY_NAME)?.map(str::to_string);
    let (sid, now) = (path.into_inner().sid, state.clock.now());
    let number = store_transaction(&state, move |tx| {
        let mut config = numbers::get(tx, &sid)?.config;
        configure(&mut config, &params)?;
        numbers::update(tx, &sid, friendly_name.as_deref(), &config, now)
    })
    .await?;
    state.events.send(Event::Changed);
    Ok(ok(render::number(&ctx.account_sid, &number)))
}

pub async fn delete(state: web::Data<AppState>, path: web::Path<NumberPath>) -> Result<HttpResponse, ApiError> {
    let sid = path.into_inner().sid;
    store_transaction(&state, move |tx| numbers::delete(tx, &sid)).await?;
    state.events.send(Event::Changed);
    Ok(deleted())
}
