//! The parameters of Twilio's voice requests (reference 4.3): what every TwiML request and status
//! callback about a leg carries, and what each verb adds to its `action` request.

use crate::phone::messaging::country;
use crate::store::calls::Call;

/// Form parameters, in the order they are sent.
pub type Params = Vec<(String, String)>;

fn pairs(list: Vec<(&str, String)>) -> Params {
    list.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The parameters of every request about `call`, reporting `status` as its `CallStatus`. Twilio
/// sends the geographic fields empty when it cannot place a number, as here for cities; `Caller`
/// and `Called` repeat `From` and `To` (the 2008 API's names).
pub fn base(account_sid: &str, call: &Call, status: &str) -> Params {
    let (from_country, to_country) = (country(&call.from), country(&call.to));
    let mut params = pairs(vec![
        ("AccountSid", account_sid.to_string()),
        ("ApiVersion", "2010-04-01".to_string()),
        ("CallSid", call.sid.clone()),
        ("CallStatus", status.to_string()),
        ("Direction", call.direction.clone()),
        ("From", call.from.clone()),
        ("To", call.to.clone()),
        ("Caller", call.from.clone()),
        ("Called", call.to.clone()),
        ("FromCity", String::new()),
        ("FromState", String::new()),
        ("FromZip", String::new()),
        ("FromCountry", from_country.clone()),
        ("ToCity", String::new()),
        ("ToState", String::new()),
        ("ToZip", String::new()),
        ("ToCountry", to_country.clone()),
        ("CallerCity", String::new()),
        ("CallerState", String::new()),
        ("CallerZip", String::new()),
        ("CallerCountry", from_country),
        ("CalledCity", String::new()),
        ("CalledState", String::new()),
        ("CalledZip", String::new()),
        ("CalledCountry", to_country),
    ]);
    if let Some(parent) = &call.parent_call_sid {
        params.push(("ParentCallSid".into(), parent.clone()));
    }
    if let Some(answered_by) = &call.answered_by {
        params.push(("AnsweredBy".into(), answered_by.clone()));
    }
    params
}

/// What a status callback adds: the callback's place in the leg's sequence, when, where from,
/// and the call's length once it ended.
pub fn status_callback(call: &Call, sequence: usize, now: i64) -> Params {
    let mut params = pairs(vec![
        ("SequenceNumber", sequence.to_string()),
        ("Timestamp", crate::api::wire::v2010::date(now)),
        ("CallbackSource", "call-progress-events".to_string()),
    ]);
    if let Some(duration) = call.duration() {
        params.push(("CallDuration".into(), duration.to_string()));
    }
    params
}

/// What a `<Gather>` posts to its `action`: the digits, or the speech and its confidence.
pub fn gathered(digits: &str, finished_on_key: Option<char>, speech: Option<&str>) -> Params {
    let mut params = Vec::new();
    match speech {
        Some(speech) => {
            params.push(("SpeechResult".to_string(), speech.to_string()));
            params.push(("Confidence".to_string(), SPEECH_CONFIDENCE.to_string()));
        }
        None => {
            params.push(("Digits".to_string(), digits.to_string()));
            if let Some(key) = finished_on_key {
                params.push(("FinishedOnKey".to_string(), key.to_string()));
            }
        }
    }
    params
}

/// The confidence reported for every phrase: a handset's words are known exactly, but Twilio's
/// recognizer never reports certainty.
pub const SPEECH_CONFIDENCE: &str = "0.9";

/// What a `<Dial>` posts to its `action` about the dialed leg.
pub fn dialed(status: &str, leg: Option<&Call>) -> Params {
    let mut params = vec![("DialCallStatus".to_string(), status.to_string())];
    if let Some(leg) = leg {
        params.push(("DialCallSid".to_string(), leg.sid.clone()));
        params.push(("DialCallDuration".to_string(), leg.duration().unwrap_or(0).to_string()));
    }
    params
}

/// What a `<Record>` posts to its `action` and `recordingStatusCallback`.
pub fn recorded(url: &str, sid: &str, duration: i64) -> Params {
    pairs(vec![
        ("RecordingUrl", url.to_string()),
        ("RecordingSid", sid.to_string()),
        ("RecordingDuration", duration.to_string()),
    ])
}
