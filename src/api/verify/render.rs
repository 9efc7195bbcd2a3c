//! Verify's resources as Twilio renders them: absolute URLs under `…/v2`, ISO dates.

use crate::api::wire::Ctx;
use crate::clock::format_timestamp;
use crate::store::verify::{Service, Verification};
use serde_json::{json, Map, Value};

/// The links of a service, as Twilio lists them (only some are emulated).
const SERVICE_LINKS: &[(&str, &str)] = &[
    ("verification_checks", "/VerificationCheck"),
    ("verifications", "/Verifications"),
    ("rate_limits", "/RateLimits"),
    ("messaging_configurations", "/MessagingConfigurations"),
    ("entities", "/Entities"),
    ("webhooks", "/Webhooks"),
    ("access_tokens", "/AccessTokens"),
];

pub fn service(ctx: &Ctx, s: &Service) -> Value {
    let url = ctx.url(&format!("/Services/{}", s.sid));
    let c = &s.config;
    let links: serde_json::Map<String, Value> = SERVICE_LINKS
        .iter()
        .map(|(name, suffix)| (name.to_string(), json!(format!("{url}{suffix}"))))
        .collect();
    json!({
        "sid": s.sid,
        "account_sid": ctx.account_sid,
        "friendly_name": c.friendly_name,
        "code_length": c.code_length,
        "lookup_enabled": c.lookup_enabled,
        "psd2_enabled": c.psd2_enabled,
        "skip_sms_to_landlines": c.skip_sms_to_landlines,
        "dtmf_input_required": c.dtmf_input_required,
        "tts_name": c.tts_name,
        "do_not_share_warning_enabled": c.do_not_share_warning_enabled,
        "custom_code_enabled": c.custom_code_enabled,
        "push": c.push,
        "totp": {
            "issuer": c.totp.issuer.as_deref().unwrap_or(&c.friendly_name),
            "time_step": c.totp.time_step,
            "code_length": c.totp.code_length,
            "skew": c.totp.skew,
        },
        "whatsapp": c.whatsapp,
        "passkeys": c.passkeys,
        "default_template_sid": c.default_template_sid,
        "verify_event_subscription_enabled": c.verify_event_subscription_enabled,
        "date_created": format_timestamp(s.date_created),
        "date_updated": format_timestamp(s.date_updated),
        "url": url,
        "links": links,
    })
}

/// How `send_code_attempts` names a channel (Twilio's spelling in its examples).
fn attempt_channel(channel: &str) -> String {
    match channel {
        "whatsapp" => channel.to_string(),
        other => other.to_ascii_uppercase(),
    }
}

/// The fields a verification and a check's answer share.
fn common(ctx: &Ctx, v: &Verification) -> Map<String, Value> {
    let value = json!({
        "sid": v.sid,
        "service_sid": v.service_sid,
        "account_sid": ctx.account_sid,
        "to": v.to,
        "channel": v.channel,
        "status": v.status,
        "valid": v.status == "approved",
        "amount": v.amount,
        "payee": v.payee,
        "date_created": format_timestamp(v.date_created),
        "date_updated": format_timestamp(v.date_updated),
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

pub fn verification(ctx: &Ctx, v: &Verification) -> Value {
    let mut value = common(ctx, v);
    value.insert("lookup".into(), v.lookup.clone());
    let attempts = v.attempts.iter().map(|a| {
        json!({
            "time": format_timestamp(a.at),
            "channel": attempt_channel(&a.channel),
            "attempt_sid": a.sid,
        })
    });
    value.insert("send_code_attempts".into(), Value::Array(attempts.collect()));
    value.insert("sna".into(), Value::Null);
    let url = ctx.url(&format!("/Services/{}/Verifications/{}", v.service_sid, v.sid));
    value.insert("url".into(), Value::String(url));
    Value::Object(value)
}

/// A check's answer: the verification as the check left it.
pub fn check(ctx: &Ctx, v: &Verification) -> Value {
    let mut value = common(ctx, v);
    value.insert("sna_attempts_error_codes".into(), Value::Null);
    Value::Object(value)
}
