//! Raising alerts: stored for the Monitor Alerts API, printed in the terminal and sent to the
//! console, as Twilio's debugger shows them.

use super::webhook::Delivery;
use crate::error::StoreError;
use crate::events::Event;
use crate::state::AppState;
use crate::store::alerts::{self, Alert};

/// Warnings (12200) let the call or message go on; errors end what they are about.
pub fn level_of(code: u32) -> &'static str {
    match code {
        12200 | 13227 | 13228 => "warning",
        _ => "error",
    }
}

/// An alert about `resource_sid`, with the webhook request and answer behind it when there is one.
pub fn new(code: u32, text: impl Into<String>, resource_sid: Option<&str>, delivery: Option<&Delivery>) -> Alert {
    let pairs = |pairs: &[(String, String)]| {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    };
    let answer = delivery.and_then(|d| d.answer.as_ref());
    Alert {
        error_code: code.to_string(),
        log_level: level_of(code).to_string(),
        alert_text: text.into(),
        resource_sid: resource_sid.map(str::to_string),
        request_method: delivery.map(|d| d.method.clone()),
        request_url: delivery.map(|d| d.url.clone()),
        request_variables: delivery.map(|d| pairs(&d.params)),
        request_headers: delivery.map(|d| pairs(&d.request_headers)),
        response_body: answer.map(|a| a.text()),
        response_headers: answer.map(|a| pairs(&a.headers)),
        ..Alert::default()
    }
}

/// Stores `alert` (dated now), prints it and tells the console.
pub async fn raise(state: &AppState, alert: Alert) -> Result<Alert, StoreError> {
    let alert = Alert {
        date_created: state.clock.now(),
        ..alert
    };
    let alert = state.store.call(move |c| alerts::create(c, &alert)).await?;
    let about = alert.resource_sid.as_deref().unwrap_or("-");
    match alert.log_level.as_str() {
        "warning" => {
            log::warn!(target: "twirl::phone", "warning {} on {about}: {}", alert.error_code, alert.alert_text)
        }
        _ => log::error!(target: "twirl::phone", "alert {} on {about}: {}", alert.error_code, alert.alert_text),
    }
    state.events.send(Event::Alert {
        sid: alert.sid.clone(),
        error_code: alert.error_code.clone(),
        log_level: alert.log_level.clone(),
        alert_text: alert.alert_text.clone(),
        resource_sid: alert.resource_sid.clone(),
        request_url: alert.request_url.clone(),
    });
    Ok(alert)
}
