//! How a verification's code reaches its recipient on the simulated network: a text (SMS or
//! WhatsApp) to the handset, a call whose voice says the code, or a mail recorded for the
//! recipient. Twilio sends them from its own senders, not the account's numbers; twirl's is
//! [`SENDER`].

use crate::error::ApiError;
use crate::phone::messaging::{self, Progress};
use crate::phone::voice::{self, Action, Placed, Source, DEFAULT_RING_SECONDS, MAX_CALL_SECONDS};
use crate::state::AppState;
use crate::store::messages::NewMessage;
use crate::store::verify::{Mail, Service, Verification};
use serde_json::{Map, Value};
use std::time::Duration;

/// The number Verify's texts and calls come from (a fictional toll-free number: Twilio's own
/// senders are not the account's).
pub const SENDER: &str = "+18005550199";
/// Where Verify's mails come from when the request names no sender.
pub const MAIL_FROM: &str = "verify@example.com";
/// How long a start waits for its text to be delivered or its call to be said.
const DELIVERY_WAIT: Duration = Duration::from_secs(5);

/// What a start asks of the delivery beyond the code.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Appended to a text for Android's SMS Retriever (`<#> … hash`).
    pub app_hash: Option<String>,
    /// Keys a call presses once answered (an extension).
    pub send_digits: Option<String>,
    /// The email channel's `from`, `from_name`, `template_id` and `substitutions`.
    pub channel_configuration: Map<String, Value>,
}

/// The name a message says the code is for.
fn name<'a>(service: &'a Service, v: &'a Verification) -> &'a str {
    v.custom_friendly_name
        .as_deref()
        .unwrap_or(&service.config.friendly_name)
}

/// Twilio's default text: `Your {name} verification code is: {code}`, with the do-not-share
/// warning when the service adds it, behind `<#>` and before the app hash when one is given.
pub fn sms_body(service: &Service, v: &Verification, options: &Options) -> String {
    let mut body = format!("Your {} verification code is: {}", name(service, v), v.code);
    if service.config.do_not_share_warning_enabled {
        body.push_str(". Don\u{2019}t share this code with anyone; our employees will never ask for the code");
    }
    match options.app_hash.as_deref().filter(|h| !h.is_empty()) {
        Some(hash) => format!("<#> {body} {hash}"),
        None => body,
    }
}

/// WhatsApp's authentication template.
fn whatsapp_body(v: &Verification) -> String {
    format!(
        "*{}* is your verification code. For your security, do not share this code.",
        v.code
    )
}

/// What the call says: the code digit by digit, twice.
fn call_twiml(service: &Service, v: &Verification) -> String {
    let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let digits: Vec<String> = v.code.chars().map(|c| c.to_string()).collect();
    let spoken = escape(&digits.join(", "));
    format!(
        "<Response><Say>Your {} verification code is: {spoken}.</Say><Pause length=\"1\"/>\
         <Say>Once again, your code is: {spoken}.</Say></Response>",
        escape(name(service, v))
    )
}

/// The mail an email verification sends.
pub fn mail(service: &Service, v: &Verification, options: &Options) -> Mail {
    let config = &options.channel_configuration;
    let text = |key: &str| config.get(key).and_then(Value::as_str).map(str::to_string);
    let name = name(service, v);
    Mail {
        from: text("from").unwrap_or_else(|| MAIL_FROM.to_string()),
        from_name: text("from_name").unwrap_or_else(|| name.to_string()),
        subject: format!("Your {name} verification code"),
        text: format!("Your {name} verification code is: {}", v.code),
        template_id: text("template_id"),
        substitutions: config
            .get("substitutions")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
    }
}

/// Sends the code of the attempt just planned; the SID of the Message or Call that carries it
/// (none for an email, whose mail is stored with the attempt).
pub async fn send(
    state: &AppState,
    service: &Service,
    v: &Verification,
    channel: &str,
    options: &Options,
) -> Result<Option<String>, ApiError> {
    match channel {
        "sms" => text(state, SENDER.to_string(), v.to.clone(), sms_body(service, v, options)).await,
        "whatsapp" => {
            let from = service
                .config
                .whatsapp
                .from
                .clone()
                .unwrap_or_else(|| format!("whatsapp:{SENDER}"));
            text(state, from, format!("whatsapp:{}", v.to), whatsapp_body(v)).await
        }
        "call" => call(state, &v.to, call_twiml(service, v), options.send_digits.clone()).await,
        _ => Ok(None),
    }
}

/// A text to the handset, answered once it was delivered (or its delivery ended badly).
async fn text(state: &AppState, from: String, to: String, body: String) -> Result<Option<String>, ApiError> {
    let new = NewMessage {
        direction: "outbound-api".into(),
        from,
        to,
        num_segments: messaging::segments(&body),
        body,
        status: "queued".into(),
        status_callback_method: "POST".into(),
        ..NewMessage::default()
    };
    let (message, progress) = messaging::send(state, new).await?;
    if let Progress::Running(delivery) = progress {
        let _ = tokio::time::timeout(DELIVERY_WAIT, delivery).await;
    }
    Ok(Some(message.sid))
}

/// A call to the handset that says the code, answered once it has been said (or the call ended).
async fn call(
    state: &AppState,
    to: &str,
    twiml: String,
    send_digits: Option<String>,
) -> Result<Option<String>, ApiError> {
    let placed = Placed {
        from: SENDER.to_string(),
        to: to.to_string(),
        phone_number_sid: None,
        source: Source::Twiml(twiml),
        fallback: None,
        status_callback: None,
        status_callback_method: "POST".into(),
        status_callback_events: vec!["completed".into()],
        send_digits,
        ring_seconds: DEFAULT_RING_SECONDS,
        time_limit: MAX_CALL_SECONDS,
        record: false,
        machine_detection: false,
    };
    let call = voice::place(state, placed).await?;
    let _ = tokio::time::timeout(DELIVERY_WAIT, voice::act(state, &call.sid, Action::Settle)).await;
    Ok(Some(call.sid))
}
