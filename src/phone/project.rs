//! The number `twirl serve` gives the account for the live project: when the account has no
//! number yet and it is obvious which functions answer texts and calls (they build a
//! `MessagingResponse` / `VoiceResponse`, or are named for it), a number is wired to them at the
//! live environment's domain, so a newcomer can text the project straight away.

use crate::build::materialize::Route;
use crate::error::StoreError;
use crate::live::Live;
use crate::phone::address;
use crate::state::AppState;
use crate::store::numbers::{self, Config, Number};
use std::path::Path;

/// Where the given number's search starts: a fictional Seattle range (555-01xx).
const FIRST_NUMBER: u32 = 2_065_550_100;

/// The function that obviously answers one kind of webhook: the only one whose code builds the
/// TwiML for it, else the only one whose path names it.
fn obvious<'a>(dir: &Path, functions: &'a [Route], twiml: &str, names: &[&str]) -> Option<&'a Route> {
    let reachable: Vec<&Route> = functions.iter().filter(|r| r.visibility != "private").collect();
    let building: Vec<&Route> = reachable
        .iter()
        .copied()
        .filter(|r| std::fs::read_to_string(dir.join(&r.file)).is_ok_and(|code| code.contains(twiml)))
        .collect();
    let named = |routes: &[&'a Route]| -> Vec<&'a Route> {
        routes
            .iter()
            .copied()
            .filter(|r| names.iter().any(|n| r.path.to_ascii_lowercase().contains(n)))
            .collect()
    };
    match building.as_slice() {
        [one] => Some(one),
        [] => match named(&reachable).as_slice() {
            [one] => Some(one),
            _ => None,
        },
        many => match named(many).as_slice() {
            [one] => Some(one),
            _ => None,
        },
    }
}

/// Gives the account a number wired to the live project, unless it has numbers already or
/// nothing obviously answers texts or calls. Returns the number given.
pub async fn wire_live_number(state: &AppState, live: &Live) -> Result<Option<Number>, StoreError> {
    let snapshot = live.snapshot();
    let functions = &snapshot.manifest.functions;
    let sms = obvious(&live.dir, functions, "MessagingResponse", &["sms", "message", "text"]);
    let voice = obvious(&live.dir, functions, "VoiceResponse", &["voice", "call"]);
    if sms.is_none() && voice.is_none() {
        return Ok(None);
    }
    let at = |route: Option<&Route>| {
        route.map_or(String::new(), |r| {
            format!("https://{}{}", snapshot.recorded.domain_name, r.path)
        })
    };
    let config = Config {
        sms_url: at(sms),
        voice_url: at(voice),
        ..Config::default()
    };
    let now = state.clock.now();
    state
        .store
        .transaction(move |tx| {
            if !numbers::all(tx)?.is_empty() {
                return Ok(None);
            }
            let number = (FIRST_NUMBER..FIRST_NUMBER + 100)
                .map(|n| format!("+1{n}"))
                .find(|n| numbers::by_number(tx, n).is_ok_and(|owned| owned.is_none()))
                .unwrap_or_else(|| format!("+1{FIRST_NUMBER}"));
            numbers::create(tx, &number, &address::friendly(&number), &config, now).map(Some)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(path: &str, file: &str) -> Route {
        Route {
            path: path.into(),
            sid: String::new(),
            resource_sid: String::new(),
            visibility: "public".into(),
            file: file.into(),
            content_type: String::new(),
        }
    }

    #[test]
    fn the_function_building_the_twiml_or_named_for_it_is_obvious() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join("a.js"), "new Twilio.twiml.MessagingResponse()").expect("a");
        std::fs::write(dir.path().join("b.js"), "callback(null, 'hi')").expect("b");
        std::fs::write(dir.path().join("c.js"), "new Twilio.twiml.MessagingResponse()").expect("c");
        let one = [route("/reply", "a.js"), route("/hello", "b.js")];
        let found = obvious(dir.path(), &one, "MessagingResponse", &["sms"]).map(|r| r.path.as_str());
        assert_eq!(found, Some("/reply"));
        let two = [route("/reply", "a.js"), route("/sms", "c.js")];
        let found = obvious(dir.path(), &two, "MessagingResponse", &["sms"]).map(|r| r.path.as_str());
        assert_eq!(found, Some("/sms"));
        let none = [route("/hello", "b.js")];
        assert!(obvious(dir.path(), &none, "VoiceResponse", &["voice"]).is_none());
        let named = [route("/voice", "b.js")];
        assert!(obvious(dir.path(), &named, "VoiceResponse", &["voice"]).is_some());
    }
}
