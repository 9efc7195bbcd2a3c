//! `/v2/Services` and `/v2/Services/{Sid}`: verification services and their settings.

use super::render;
use super::{flag, integer, sid, text};
use crate::api::wire::{created, deleted, list_response, ok, Ctx, Paging, Params};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::verify::{self as rows, Config};
use crate::verify::{invalid, MAX_FRIENDLY_NAME, SERVICE_CODE_LENGTHS, TOTP_CODE_LENGTHS, TOTP_SKEWS, TOTP_TIME_STEPS};
use actix_web::{web, HttpRequest, HttpResponse};

/// Settings a passkeys choice can take (empty clears it).
const ATTACHMENTS: &[&str] = &["", "platform", "cross-platform", "any"];
const REQUIREMENTS: &[&str] = &["", "required", "preferred", "discouraged"];

/// One of `allowed`, or 60200; an empty value clears the setting.
fn choice(params: &Params, name: &str, allowed: &[&str]) -> Result<Option<Option<String>>, ApiError> {
    match params.get(name) {
        None => Ok(None),
        Some(v) if allowed.contains(&v) => Ok(Some(Some(v.to_string()).filter(|v| !v.is_empty()))),
        Some(_) => Err(invalid(name)),
    }
}

/// Sets every field the request names on `config`, checking each as Twilio does.
fn apply(params: &Params, config: &mut Config) -> Result<(), ApiError> {
    if let Some(name) = params.get("FriendlyName") {
        if name.is_empty() || name.chars().count() > MAX_FRIENDLY_NAME {
            return Err(invalid("FriendlyName"));
        }
        config.friendly_name = name.to_string();
    }
    if let Some(length) = integer(params, "CodeLength", SERVICE_CODE_LENGTHS)? {
        config.code_length = length;
    }
    let flags: [(&str, &mut bool); 7] = [
        ("LookupEnabled", &mut config.lookup_enabled),
        ("SkipSmsToLandlines", &mut config.skip_sms_to_landlines),
        ("DtmfInputRequired", &mut config.dtmf_input_required),
        ("Psd2Enabled", &mut config.psd2_enabled),
        ("DoNotShareWarningEnabled", &mut config.do_not_share_warning_enabled),
        ("CustomCodeEnabled", &mut config.custom_code_enabled),
        (
            "VerifyEventSubscriptionEnabled",
            &mut config.verify_event_subscription_enabled,
        ),
    ];
    for (name, field) in flags {
        if let Some(value) = flag(params, name)? {
            *field = value;
        }
    }
    if params.get("TtsName").is_some() {
        config.tts_name = text(params, "TtsName", 255)?;
    }
    if let Some(value) = flag(params, "Push.IncludeDate")? {
        config.push.include_date = value;
    }
    for (name, field) in [
        ("Push.ApnCredentialSid", &mut config.push.apn_credential_sid),
        ("Push.FcmCredentialSid", &mut config.push.fcm_credential_sid),
    ] {
        if params.get(name).is_some() {
            *field = sid(params, name, "CR")?;
        }
    }
    if params.get("Totp.Issuer").is_some() {
        config.totp.issuer = text(params, "Totp.Issuer", 255)?;
    }
    for (name, range, field) in [
        ("Totp.TimeStep", TOTP_TIME_STEPS, &mut config.totp.time_step),
        ("Totp.CodeLength", TOTP_CODE_LENGTHS, &mut config.totp.code_length),
        ("Totp.Skew", TOTP_SKEWS, &mut config.totp.skew),
    ] {
        if let Some(value) = integer(params, name, range)? {
            *field = value;
        }
    }
    if params.get("DefaultTemplateSid").is_some() {
        config.default_template_sid = sid(params, "DefaultTemplateSid", "HJ")?;
    }
    if params.get("Whatsapp.MsgServiceSid").is_some() {
        config.whatsapp.msg_service_sid = sid(params, "Whatsapp.MsgServiceSid", "MG")?;
    }
    if let Some(from) = params.get("Whatsapp.From") {
        let number = from.strip_prefix("whatsapp:").unwrap_or(from);
        if !from.is_empty() && !crate::phone::address::is_e164(number) {
            return Err(invalid("Whatsapp.From"));
        }
        config.whatsapp.from = Some(from)
            .filter(|f| !f.is_empty())
            .map(|_| format!("whatsapp:{number}"));
    }
    apply_passkeys(params, config)
}

fn apply_passkeys(params: &Params, config: &mut Config) -> Result<(), ApiError> {
    let passkeys = &mut config.passkeys;
    if params.get("Passkeys.RelyingParty.Id").is_some() {
        passkeys.relying_party.id = text(params, "Passkeys.RelyingParty.Id", 255)?;
    }
    if params.get("Passkeys.RelyingParty.Name").is_some() {
        passkeys.relying_party.name = text(params, "Passkeys.RelyingParty.Name", 255)?;
    }
    if let Some(origins) = params.get("Passkeys.RelyingParty.Origins") {
        passkeys.relying_party.origins = origins
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_string)
            .collect();
    }
    if let Some(value) = choice(params, "Passkeys.AuthenticatorAttachment", ATTACHMENTS)? {
        passkeys.authenticator_attachment = value;
    }
    if let Some(value) = choice(params, "Passkeys.DiscoverableCredentials", REQUIREMENTS)? {
        passkeys.discoverable_credentials = value;
    }
    if let Some(value) = choice(params, "Passkeys.UserVerification", REQUIREMENTS)? {
        passkeys.user_verification = value;
    }
    Ok(())
}

pub async fn create(state: web::Data<AppState>, ctx: Ctx, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let params = Params::from_body(&body)?;
    if params.get("FriendlyName").is_none_or(str::is_empty) {
        return Err(invalid("FriendlyName"));
    }
    let mut config = Config::default();
    apply(&params, &mut config)?;
    let now = state.clock.now();
    let service = state
        .store
        .transaction(move |tx| rows::create_service(tx, &config, None, &[], now))
        .await?;
    Ok(created(render::service(&ctx, &service)))
}

pub async fn list(state: web::Data<AppState>, ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let paging = Paging::from_query(&Params::from_query(&req)?, &[])?;
    let window = paging.window();
    let page = state.store.call(move |c| rows::services(c, window)).await?;
    Ok(list_response(&req, "services", &paging, page, |s| {
        render::service(&ctx, s)
    }))
}

pub async fn fetch(state: web::Data<AppState>, ctx: Ctx, sid: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let sid = sid.into_inner();
    let service = state.store.call(move |c| rows::service(c, &sid)).await?;
    Ok(ok(render::service(&ctx, &service)))
}

pub async fn update(
    state: web::Data<AppState>,
    ctx: Ctx,
    sid: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let params = Params::from_body(&body)?;
    let (sid, now) = (sid.into_inner(), state.clock.now());
    let service = state
        .store
        .transaction(move |tx| {
            let mut config = rows::service(tx, &sid)?.config;
            apply(&params, &mut config)?;
            rows::update_service(tx, &sid, &config, now)
        })
        .await?;
    Ok(ok(render::service(&ctx, &service)))
}

pub async fn delete(state: web::Data<AppState>, sid: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let sid = sid.into_inner();
    state
        .store
        .transaction(move |tx| rows::delete_service(tx, &sid))
        .await?;
    Ok(deleted())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(body: &str) -> Result<Config, u32> {
        let mut config = Config::default();
        apply(&Params::from_body(body.as_bytes()).expect("params"), &mut config).map_err(|e| e.code())?;
        Ok(config)
    }

    #[test]
    fn settings_are_checked_with_twilios_60200() {
        let config =
            applied("FriendlyName=Acme&CodeLength=4&CustomCodeEnabled=true&Totp.Skew=2&Whatsapp.From=%2B14155550100")
                .expect("valid");
        assert_eq!(
            (config.code_length, config.custom_code_enabled, config.totp.skew),
            (4, true, 2)
        );
        assert_eq!(config.whatsapp.from.as_deref(), Some("whatsapp:+14155550100"));
        for bad in [
            "CodeLength=3",
            "CodeLength=11",
            "FriendlyName=This+name+is+far+too+long+for+Verify",
            "LookupEnabled=maybe",
            "Totp.TimeStep=90",
            "Push.FcmCredentialSid=XX123",
            "Passkeys.UserVerification=always",
        ] {
            assert_eq!(applied(bad).err(), Some(60200), "{bad}");
        }
    }
}
