//! How the 2010 API renders its resources: relative `uri`s under the account, RFC 2822 dates,
//! counts as strings. Used by the API, the control endpoints and the console's events alike.

use crate::api::wire::v2010::{date, optional_date};
use crate::phone::address::friendly;
use crate::store::calls::{Call, Recording};
use crate::store::messages::{Media, Message};
use crate::store::numbers::Number;
use serde::Serialize;
use serde_json::{json, Value};

/// `/2010-04-01/Accounts/{AC}` — where every resource's `uri` starts.
pub fn account_uri(account_sid: &str) -> String {
    format!("/2010-04-01/Accounts/{account_sid}")
}

/// A message as the API renders it (the turn's answer and every list render many: a typed
/// struct serializes straight to the body, with no `Value` tree in between).
#[derive(Debug, Serialize)]
pub struct MessageResource<'a> {
    account_sid: &'a str,
    api_version: &'static str,
    body: &'a str,
    date_created: String,
    date_sent: Option<String>,
    date_updated: String,
    direction: &'a str,
    error_code: Option<i64>,
    error_message: Option<&'a str>,
    from: &'a str,
    messaging_service_sid: Option<&'a str>,
    num_media: String,
    num_segments: String,
    /// Always `null`: nothing is billed.
    price: Option<&'static str>,
    price_unit: &'static str,
    sid: &'a str,
    status: &'a str,
    subresource_uris: MessageSubresources,
    to: &'a str,
    uri: String,
}

#[derive(Debug, Serialize)]
struct MessageSubresources {
    media: String,
}

pub fn message<'a>(account_sid: &'a str, m: &'a Message) -> MessageResource<'a> {
    let uri = format!("{}/Messages/{}", account_uri(account_sid), m.sid);
    MessageResource {
        account_sid,
        api_version: "2010-04-01",
        body: &m.body,
        date_created: date(m.date_created),
        date_sent: m.date_sent.map(date),
        date_updated: date(m.date_updated),
        direction: &m.direction,
        error_code: m.error_code,
        error_message: m.error_message.as_deref(),
        from: &m.from,
        messaging_service_sid: m.messaging_service_sid.as_deref(),
        num_media: m.num_media.to_string(),
        num_segments: m.num_segments.to_string(),
        price: None,
        price_unit: "USD",
        sid: &m.sid,
        status: &m.status,
        subresource_uris: MessageSubresources {
            media: format!("{uri}/Media.json"),
        },
        to: &m.to,
        uri: format!("{uri}.json"),
    }
}

pub fn media(account_sid: &str, m: &Media) -> Value {
    json!({
        "account_sid": account_sid,
        "content_type": m.content_type,
        "date_created": date(m.date_created),
        "date_updated": date(m.date_created),
        "parent_sid": m.message_sid,
        "sid": m.sid,
        "uri": format!("{}/Messages/{}/Media/{}.json", account_uri(account_sid), m.message_sid, m.sid),
    })
}

pub fn number(account_sid: &str, n: &Number) -> Value {
    let c = &n.config;
    json!({
        "account_sid": account_sid,
        "address_requirements": "none",
        "address_sid": c.address_sid,
        "api_version": "2010-04-01",
        "beta": false,
        "bundle_sid": c.bundle_sid,
        "capabilities": { "voice": true, "sms": true, "mms": true, "fax": false },
        "date_created": date(n.date_created),
        "date_updated": date(n.date_updated),
        "emergency_address_sid": c.emergency_address_sid,
        "emergency_address_status": "unregistered",
        "emergency_status": c.emergency_status,
        "friendly_name": n.friendly_name,
        "identity_sid": c.identity_sid,
        "origin": "twilio",
        "phone_number": n.phone_number,
        "sid": n.sid,
        "sms_application_sid": c.sms_application_sid,
        "sms_fallback_method": c.sms_fallback_method,
        "sms_fallback_url": c.sms_fallback_url,
        "sms_method": c.sms_method,
        "sms_url": c.sms_url,
        "status": "in-use",
        "status_callback": c.status_callback,
        "status_callback_method": c.status_callback_method,
        "trunk_sid": c.trunk_sid,
        "type": number_type(&n.phone_number),
        "uri": format!("{}/IncomingPhoneNumbers/{}.json", account_uri(account_sid), n.sid),
        "voice_application_sid": c.voice_application_sid,
        "voice_caller_id_lookup": c.voice_caller_id_lookup,
        "voice_fallback_method": c.voice_fallback_method,
        "voice_fallback_url": c.voice_fallback_url,
        "voice_method": c.voice_method,
        "voice_receive_mode": c.voice_receive_mode,
        "voice_url": c.voice_url,
    })
}

/// `toll-free` for North American toll-free area codes, else `local`.
fn number_type(number: &str) -> &'static str {
    const TOLL_FREE: &[&str] = &["800", "833", "844", "855", "866", "877", "888"];
    match number.strip_prefix("+1") {
        Some(n) if TOLL_FREE.iter().any(|code| n.starts_with(code)) => "toll-free",
        _ => "local",
    }
}

/// The sub-resources every call lists.
const CALL_SUBRESOURCES: &[(&str, &str)] = &[
    ("notifications", "Notifications"),
    ("recordings", "Recordings"),
    ("payments", "Payments"),
    ("events", "Events"),
    ("siprec", "Siprec"),
    ("streams", "Streams"),
    ("transcriptions", "Transcriptions"),
    ("user_defined_message_subscriptions", "UserDefinedMessageSubscriptions"),
    ("user_defined_messages", "UserDefinedMessages"),
];

pub fn call(account_sid: &str, c: &Call) -> Value {
    let uri = format!("{}/Calls/{}", account_uri(account_sid), c.sid);
    let subresources: serde_json::Map<String, Value> = CALL_SUBRESOURCES
        .iter()
        .map(|(key, name)| (key.to_string(), Value::String(format!("{uri}/{name}.json"))))
        .collect();
    json!({
        "account_sid": account_sid,
        "answered_by": c.answered_by,
        "api_version": "2010-04-01",
        "caller_name": null,
        "date_created": date(c.date_created),
        "date_updated": date(c.date_updated),
        "direction": c.direction,
        "duration": c.duration().map(|d| d.to_string()),
        "end_time": optional_date(c.end_time),
        "forwarded_from": null,
        "from": c.from,
        "from_formatted": friendly(&c.from),
        "group_sid": null,
        "parent_call_sid": c.parent_call_sid,
        "phone_number_sid": c.phone_number_sid,
        "price": null,
        "price_unit": "USD",
        "queue_time": "0",
        "sid": c.sid,
        "start_time": optional_date(c.start_time),
        "status": c.status,
        "subresource_uris": subresources,
        "to": c.to,
        "to_formatted": friendly(&c.to),
        "trunk_sid": null,
        "uri": format!("{uri}.json"),
    })
}

pub fn recording(account_sid: &str, r: &Recording) -> Value {
    let uri = format!("{}/Recordings/{}", account_uri(account_sid), r.sid);
    json!({
        "account_sid": account_sid,
        "api_version": "2010-04-01",
        "call_sid": r.call_sid,
        "channels": 1,
        "conference_sid": null,
        "date_created": date(r.date_created),
        "date_updated": date(r.date_created),
        "duration": r.duration.to_string(),
        "encryption_details": null,
        "error_code": null,
        "media_url": format!("https://api.twilio.com{uri}"),
        "price": null,
        "price_unit": "USD",
        "sid": r.sid,
        "source": r.source,
        "start_time": date(r.start_time),
        "status": "completed",
        "subresource_uris": {
            "add_on_results": format!("{uri}/AddOnResults.json"),
            "transcriptions": format!("{uri}/Transcriptions.json"),
        },
        "uri": format!("{uri}.json"),
    })
}
