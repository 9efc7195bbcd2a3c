//! `/v2/Services/{VA}/Verifications`, `…/Verifications/{VE}` and `…/VerificationCheck`:
//! starting a verification, reading and ending it, checking a code.

use super::{render, sid, text};
use crate::api::wire::{created, ok, Ctx, Params};
use crate::error::ApiError;
use crate::phone::address;
use crate::state::AppState;
use crate::verify::{self, delivery, invalid, Request, Target, CODE_LENGTHS, MAX_FRIENDLY_NAME};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{Map, Value};

/// What `RiskCheck` may say.
const RISK_CHECKS: &[&str] = &["enable", "disable"];

#[derive(Deserialize)]
pub struct VerificationPath {
    service: String,
    sid: String,
}

/// An email address as Verify accepts one: one `@` between a local part and a dotted domain.
fn is_email(value: &str) -> bool {
    match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

/// The channel a start names: one twirl delivers on (`auto` is a text, as it is wherever silent
/// network authentication is not available); `sna` is not simulated, like a channel the account
/// has no access to (60200).
fn channel(params: &Params) -> Result<String, ApiError> {
    match params.get("Channel").filter(|c| !c.is_empty()) {
        Some("auto") => Ok("sms".into()),
        Some(c) if verify::CHANNELS.contains(&c) => Ok(c.to_string()),
        _ => Err(invalid("Channel")),
    }
}

/// A code of 4 to 10 characters, or 60200.
fn code(params: &Params, name: &str) -> Result<Option<String>, ApiError> {
    match params.get(name).filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) if CODE_LENGTHS.contains(&c.chars().count()) => Ok(Some(c.to_string())),
        Some(_) => Err(invalid(name)),
    }
}

/// A JSON object parameter (the helper libraries send objects as JSON text).
fn object(params: &Params, name: &str) -> Result<Map<String, Value>, ApiError> {
    match params.get(name).filter(|v| !v.is_empty()) {
        None => Ok(Map::new()),
        Some(v) => match serde_json::from_str(v) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(invalid(name)),
        },
    }
}

/// Reads a start request as Twilio checks it: the channel, the recipient for that channel, then
/// the options.
fn read_request(params: &Params) -> Result<Request, ApiError> {
    let to = params
        .get("To")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| invalid("To"))?;
    let channel = channel(params)?;
    let valid_to = if channel == "email" {
        is_email(to)
    } else {
        address::is_e164(to)
    };
    if !valid_to {
        return Err(invalid("To"));
    }
    if let Some(risk) = params.get("RiskCheck").filter(|r| !r.is_empty()) {
        if !RISK_CHECKS.contains(&risk) {
            return Err(invalid("RiskCheck"));
        }
    }
    sid(params, "TemplateSid", "HJ")?;
    let send_digits = params.get("SendDigits").filter(|d| !d.is_empty());
    if send_digits.is_some_and(|d| !d.chars().all(|c| c.is_ascii_digit() || "#*wW".contains(c))) {
        return Err(invalid("SendDigits"));
    }
    Ok(Request {
        to: if channel == "email" {
            to.to_ascii_lowercase()
        } else {
            to.to_string()
        },
        channel,
        custom_code: code(params, "CustomCode")?,
        custom_friendly_name: text(params, "CustomFriendlyName", MAX_FRIENDLY_NAME)?,
        amount: text(params, "Amount", 255)?,
        payee: text(params, "Payee", 255)?,
        options: delivery::Options {
            app_hash: text(params, "AppHash", 255)?,
            send_digits: send_digits.map(str::to_string),
            channel_configuration: object(params, "ChannelConfiguration")?,
        },
    })
}

pub async fn create(
    state: web::Data<AppState>,
    ctx: Ctx,
    service: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_body(&body)?;
    let request = read_request(&params)?;
    let verification = verify::start(&state, &service.into_inner(), request).await?;
    Ok(created(render::verification(&ctx, &verification)))
}

pub async fn fetch(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<VerificationPath>,
) -> Result<HttpResponse, ApiError> {
    let path = path.into_inner();
    let verification = verify::fetch(&state, &path.service, &path.sid).await?;
    Ok(ok(render::verification(&ctx, &verification)))
}

pub async fn update(
    state: web::Data<AppState>,
    ctx: Ctx,
    path: web::Path<VerificationPath>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_body(&body)?;
    let status = match params.get("Status") {
        Some(s @ ("canceled" | "approved")) => s.to_string(),
        _ => return Err(invalid("Status")),
    };
    let path = path.into_inner();
    let verification = verify::update(&state, &path.service, &path.sid, &status).await?;
    Ok(ok(render::verification(&ctx, &verification)))
}

/// Checks a code; answers 200 whether it was right (`approved`) or not (`pending`).
pub async fn check(
    state: web::Data<AppState>,
    ctx: Ctx,
    service: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_body(&body)?;
    let code = code(&params, "Code")?.ok_or_else(|| invalid("Code"))?;
    let target = match (
        sid(&params, "VerificationSid", "VE")?,
        params.get("To").filter(|t| !t.is_empty()),
    ) {
        (Some(sid), _) => Target::Sid(sid),
        (None, Some(to)) if is_email(to) => Target::To(to.to_ascii_lowercase()),
        (None, Some(to)) if address::is_e164(to) => Target::To(to.to_string()),
        _ => return Err(invalid("To")),
    };
    let verification = verify::check(&state, &service.into_inner(), target, code).await?;
    Ok(ok(render::check(&ctx, &verification)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(body: &str) -> u32 {
        read_request(&Params::from_body(body.as_bytes()).expect("params"))
            .err()
            .map_or(0, |e| e.code())
    }

    #[test]
    fn starts_are_checked_with_60200() {
        assert_eq!(code_of("To=%2B14155550100&Channel=sms"), 0);
        assert_eq!(code_of("To=ada%40example.com&Channel=email"), 0);
        assert_eq!(code_of("To=%2B14155550100&Channel=auto"), 0);
        for bad in [
            "Channel=sms",
            "To=%2B14155550100",
            "To=4155550100&Channel=sms",
            "To=%2B14155550100&Channel=sna",
            "To=%2B14155550100&Channel=fax",
            "To=ada%40example.com&Channel=sms",
            "To=%2B14155550100&Channel=email",
            "To=%2B14155550100&Channel=sms&CustomCode=123",
            "To=%2B14155550100&Channel=sms&CustomCode=12345678901",
            "To=%2B14155550100&Channel=email&ChannelConfiguration=nope",
            "To=%2B14155550100&Channel=sms&RiskCheck=maybe",
        ] {
            assert_eq!(code_of(bad), 60200, "{bad}");
        }
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert!(is_email("ada@example.com"));
        for bad in [
            "ada",
            "@example.com",
            "ada@localhost",
            "ada@.com",
            "a da@example.com",
            "a@b@c.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
