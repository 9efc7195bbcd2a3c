//! Verify: one-time codes sent to a phone number or an email address and checked back, with
//! Twilio's rules. A verification is `pending` for ten minutes on the emulator's clock; starting
//! one again for the same recipient meanwhile sends the same code again (at most five sends, then
//! 60203); five wrong codes end it `max_attempts_reached` (60202 until it expires); the right code
//! approves it. Once it is no longer pending, Twilio deletes it: checks, fetches and updates answer
//! 404. The code is delivered on the simulated network (`delivery`).

pub mod delivery;

use crate::error::{ApiError, StoreError};
use crate::events::Event;
use crate::phone::{lookup, magic};
use crate::sid;
use crate::state::AppState;
use crate::store::lookups;
use crate::store::verify::{self as rows, Attempt, Check, Config, NewVerification, Service, Verification};
use rand::Rng;
use rusqlite::Connection;

/// How long a code is valid (Twilio's default, 10 minutes).
pub const LIFETIME_SECONDS: i64 = 600;
/// Wrong codes a verification takes before it is `max_attempts_reached`.
pub const MAX_CHECKS: usize = 5;
/// Codes sent for one verification before Twilio refuses to send more (60203).
pub const MAX_SENDS: usize = 5;
/// The delivery channels twirl simulates.
pub const CHANNELS: &[&str] = &["sms", "call", "email", "whatsapp"];
/// The length of a custom code and of a code checked.
pub const CODE_LENGTHS: std::ops::RangeInclusive<usize> = 4..=10;
/// The longest friendly name of a service, or of a verification's custom one.
pub const MAX_FRIENDLY_NAME: usize = 30;
/// The lengths a service's generated codes can have.
pub const SERVICE_CODE_LENGTHS: std::ops::RangeInclusive<i64> = 4..=10;
/// TOTP factors' settings: seconds per code, digits, steps of skew.
pub const TOTP_TIME_STEPS: std::ops::RangeInclusive<i64> = 20..=60;
pub const TOTP_CODE_LENGTHS: std::ops::RangeInclusive<i64> = 3..=8;
pub const TOTP_SKEWS: std::ops::RangeInclusive<i64> = 0..=2;

/// Checks settings that come from elsewhere than the API (a fixture) as the API checks its
/// parameters.
pub fn check_config(c: &Config) -> Result<(), ApiError> {
    let checks = [
        (
            "FriendlyName",
            !c.friendly_name.is_empty() && c.friendly_name.chars().count() <= MAX_FRIENDLY_NAME,
        ),
        ("CodeLength", SERVICE_CODE_LENGTHS.contains(&c.code_length)),
        ("Totp.TimeStep", TOTP_TIME_STEPS.contains(&c.totp.time_step)),
        ("Totp.CodeLength", TOTP_CODE_LENGTHS.contains(&c.totp.code_length)),
        ("Totp.Skew", TOTP_SKEWS.contains(&c.totp.skew)),
    ];
    match checks.iter().find(|(_, ok)| !ok) {
        Some((name, _)) => Err(invalid(name)),
        None => Ok(()),
    }
}

/// Twilio's 60200, naming the parameter.
pub fn invalid(param: &str) -> ApiError {
    ApiError::coded(400, 60200, format!("Invalid parameter: {param}"))
}

/// A start request, read and checked by the API.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// An E.164 number, or an email address for `email`.
    pub to: String,
    pub channel: String,
    pub custom_code: Option<String>,
    pub custom_friendly_name: Option<String>,
    pub amount: Option<String>,
    pub payee: Option<String>,
    pub options: delivery::Options,
}

/// How a check names its verification.
#[derive(Debug, Clone)]
pub enum Target {
    To(String),
    Sid(String),
}

/// Starts (or sends again) a verification of `request.to` and delivers its code; answers once
/// the code has reached the handset, the call has said it, or the mail is recorded.
pub async fn start(state: &AppState, service_sid: &str, request: Request) -> Result<Verification, ApiError> {
    let now = state.clock.now();
    let (sid, planned) = (service_sid.to_string(), request.clone());
    let (service, verification, attempt) = state.store.transaction(move |tx| plan(tx, &sid, &planned, now)).await?;
    if let Some(delivery_sid) =
        delivery::send(state, &service, &verification, &attempt.channel, &request.options).await?
    {
        let attempt_sid = attempt.sid.clone();
        state
            .store
            .call(move |c| rows::set_delivery(c, &attempt_sid, &delivery_sid))
            .await?;
    }
    let (service_sid, sid) = (verification.service_sid.clone(), verification.sid.clone());
    let verification = state.store.call(move |c| rows::get(c, &service_sid, &sid)).await?;
    announce(state, &verification);
    Ok(verification)
}

/// Decides, in one transaction, what a start does: refuse it, send the pending verification's
/// code again, or create a verification; and records the send attempt.
fn plan(
    tx: &Connection,
    service_sid: &str,
    request: &Request,
    now: i64,
) -> Result<(Service, Verification, Attempt), StoreError> {
    rows::expire(tx, now)?;
    let service = rows::service(tx, service_sid)?;
    let channel = request.channel.as_str();
    if service.disabled_channels.iter().any(|c| c == channel) {
        return Err(ApiError::coded(
            400,
            60223,
            format!("Delivery channel disabled: {channel} is turned off for this service"),
        )
        .into());
    }
    if let Some((code, message)) = magic::verification_to(&request.to) {
        return Err(ApiError::coded(429, code, message).into());
    }
    if request.custom_code.is_some() && !service.config.custom_code_enabled {
        return Err(ApiError::coded(
            400,
            60200,
            "Invalid parameter: CustomCode (custom codes are not enabled for this service)",
        )
        .into());
    }
    let lookup = recipient_lookup(tx, &service, request)?;
    let verification = match rows::latest(tx, service_sid, &request.to)? {
        Some(v) if v.status == "pending" => {
            if v.attempts.len() >= MAX_SENDS {
                return Err(ApiError::coded(429, 60203, "Max send attempts reached").into());
            }
            rows::resend(tx, &v.sid, channel, now)?;
            v
        }
        Some(v) if v.status == "max_attempts_reached" && v.expires_at > now => {
            return Err(ApiError::coded(429, 60202, "Max check attempts reached").into());
        }
        _ => {
            let code = match (&request.custom_code, &service.pinned_code) {
                (Some(code), _) | (None, Some(code)) => code.clone(),
                (None, None) => random_code(service.config.code_length),
            };
            let psd2 = service.config.psd2_enabled;
            let new = NewVerification {
                service_sid: service_sid.to_string(),
                to: request.to.clone(),
                channel: channel.to_string(),
                code,
                custom_friendly_name: request.custom_friendly_name.clone(),
                amount: request.amount.clone().filter(|_| psd2),
                payee: request.payee.clone().filter(|_| psd2),
                lookup,
                expires_at: now + LIFETIME_SECONDS,
            };
            rows::create(tx, &new, now)?
        }
    };
    let attempt = Attempt {
        sid: sid::generate(sid::prefix::VERIFICATION_ATTEMPT),
        channel: channel.to_string(),
        to: request.to.clone(),
        delivery_sid: None,
        mail: (channel == "email").then(|| delivery::mail(&service, &verification, &request.options)),
        at: now,
    };
    rows::add_attempt(tx, &verification.sid, &attempt)?;
    Ok((service, rows::get(tx, service_sid, &verification.sid)?, attempt))
}

/// What Lookup says about a phone recipient, as the verification reports it (`{}` unless the
/// service looks numbers up); a landline the service does not text is refused (60205).
fn recipient_lookup(tx: &Connection, service: &Service, request: &Request) -> Result<serde_json::Value, StoreError> {
    if request.channel == "email" {
        return Ok(serde_json::json!({}));
    }
    let parsed = lookup::parse(&request.to, None);
    let declared = lookups::get(tx, &parsed.phone_number)?;
    if request.channel == "sms"
        && service.config.skip_sms_to_landlines
        && lookup::line_type(&parsed, declared.as_ref()) == "landline"
    {
        return Err(ApiError::coded(403, 60205, "SMS is not supported by landline phone number").into());
    }
    Ok(if service.config.lookup_enabled {
        lookup::verify_carrier(&parsed, declared.as_ref())
    } else {
        serde_json::json!({})
    })
}

/// `length` random digits.
fn random_code(length: i64) -> String {
    let mut rng = rand::rng();
    (0..length.max(1))
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

/// The 404 of a verification Twilio no longer has.
fn gone(path: String) -> StoreError {
    StoreError::NotFound(path)
}

/// Checks `code` against the verification `target` names: `approved` when it is right; a wrong
/// code counts, and the fifth ends it `max_attempts_reached`.
pub async fn check(
    state: &AppState,
    service_sid: &str,
    target: Target,
    code: String,
) -> Result<Verification, ApiError> {
    let now = state.clock.now();
    let sid = service_sid.to_string();
    let verification = state
        .store
        .transaction(move |tx| {
            rows::expire(tx, now)?;
            rows::service(tx, &sid)?;
            let path = format!("/Services/{sid}/VerificationCheck");
            let found = match &target {
                Target::Sid(v) => match rows::get(tx, &sid, v) {
                    Ok(found) => Some(found),
                    Err(StoreError::NotFound(_)) => None,
                    Err(e) => return Err(e),
                },
                Target::To(to) => rows::latest(tx, &sid, to)?,
            };
            let v = found.ok_or_else(|| gone(path.clone()))?;
            match v.status.as_str() {
                "pending" => {}
                "max_attempts_reached" if v.expires_at > now => {
                    return Err(ApiError::coded(429, 60202, "Max check attempts reached").into())
                }
                _ => return Err(gone(path)),
            }
            let correct = v.code == code;
            let status = if correct {
                "approved"
            } else if v.checks.len() + 1 >= MAX_CHECKS {
                "max_attempts_reached"
            } else {
                "pending"
            };
            rows::add_check(tx, &v, Check { at: now, code, correct }, status)?;
            rows::get(tx, &sid, &v.sid)
        })
        .await?;
    announce(state, &verification);
    Ok(verification)
}

/// A pending verification of the service (one Twilio has not deleted yet).
pub async fn fetch(state: &AppState, service_sid: &str, sid: &str) -> Result<Verification, ApiError> {
    let now = state.clock.now();
    let (service_sid, sid) = (service_sid.to_string(), sid.to_string());
    Ok(state
        .store
        .transaction(move |tx| {
            rows::expire(tx, now)?;
            rows::service(tx, &service_sid)?;
            pending(tx, &service_sid, &sid)
        })
        .await?)
}

fn pending(tx: &Connection, service_sid: &str, sid: &str) -> Result<Verification, StoreError> {
    let v = rows::get(tx, service_sid, sid)?;
    if v.status != "pending" {
        return Err(gone(format!("/Services/{service_sid}/Verifications/{sid}")));
    }
    Ok(v)
}

/// Ends a pending verification `canceled`, or `approved` (the application checked the code).
pub async fn update(state: &AppState, service_sid: &str, sid: &str, status: &str) -> Result<Verification, ApiError> {
    let now = state.clock.now();
    let (service_sid, sid, status) = (service_sid.to_string(), sid.to_string(), status.to_string());
    let verification = state
        .store
        .transaction(move |tx| {
            rows::expire(tx, now)?;
            rows::service(tx, &service_sid)?;
            let v = pending(tx, &service_sid, &sid)?;
            rows::set_status(tx, &v.sid, &status, now)?;
            rows::get(tx, &service_sid, &sid)
        })
        .await?;
    announce(state, &verification);
    Ok(verification)
}

/// Tells the console a verification changed.
fn announce(state: &AppState, v: &Verification) {
    state.events.send(Event::Verification {
        service_sid: v.service_sid.clone(),
        sid: v.sid.clone(),
        status: v.status.clone(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_the_services_length_in_digits() {
        for length in [4, 6, 10] {
            let code = random_code(length);
            assert_eq!(code.len(), length as usize);
            assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
        }
    }
}
