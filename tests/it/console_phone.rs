//! What the console's Phone page reads beyond the APIs: a handset's conversation, the webhook an
//! inbound text caused (kept with its `received` status), the Monitor alerts, and the event
//! telling the console a number changed.

use crate::harness::{TestServer, ACCOUNT_SID};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::Duration;

const HANDSET: &str = "+14155550100";

/// `twirl serve` with the demo: the account has one number, wired to the demo's `/sms`.
fn demo() -> (TestServer, Value, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("dir");
    let server = TestServer::start_in(dir.path(), &["--ephemeral"]);
    let numbers = server.fetch(&format!("/2010-04-01/Accounts/{ACCOUNT_SID}/IncomingPhoneNumbers.json"));
    let number = numbers["incoming_phone_numbers"][0].clone();
    assert!(
        number["sms_url"].as_str().is_some_and(|u| u.ends_with("/sms")),
        "{number}"
    );
    (server, number, dir)
}

fn text(server: &TestServer, from: &str, to: &str, body: &str) -> Value {
    let resp = server
        .client
        .post(format!("{}/_twirl/phone/messages", server.url))
        .form(&[("From", from), ("To", to), ("Body", body)])
        .send()
        .expect("text");
    assert_eq!(resp.status(), 201);
    resp.json().expect("turn")
}

fn control(server: &TestServer, path: &str) -> Value {
    let resp = server.client.get(format!("{}{path}", server.url)).send().expect("GET");
    assert_eq!(resp.status(), 200, "{path}");
    resp.json().expect("json")
}

fn bodies(list: &Value) -> Vec<String> {
    list["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["body"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn a_handsets_conversation_is_what_it_sent_and_was_sent_oldest_first() {
    let (server, number, _dir) = demo();
    let owned = number["phone_number"].as_str().expect("number");
    text(&server, HANDSET, owned, "one");
    text(&server, "+14155550199", owned, "from another phone");
    text(&server, HANDSET, owned, "two");
    let sent = server.create(
        &format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"),
        &[("To", HANDSET), ("From", owned), ("Body", "from the API")],
    );

    let path = format!("/_twirl/phone/handsets/{}/conversation", urlencoding(HANDSET));
    let all = control(&server, &path);
    assert_eq!(
        bodies(&all),
        ["one", "You said: one", "two", "You said: two", "from the API"]
    );
    let last = &all["messages"][4];
    assert_eq!(last["sid"], sent["sid"]);
    assert_eq!(last["direction"], "outbound-api");
    assert_eq!(all["alerts"], serde_json::json!([]));

    let with = control(&server, &format!("{path}?With={}", urlencoding(owned)));
    assert_eq!(bodies(&with), bodies(&all));
    let none = control(&server, &format!("{path}?With={}", urlencoding("+19995550100")));
    assert_eq!(bodies(&none), Vec::<String>::new());
    let other = control(
        &server,
        &format!("/_twirl/phone/handsets/{}/conversation", urlencoding("+14155550199")),
    );
    assert_eq!(bodies(&other), ["from another phone", "You said: from another phone"]);
}

#[test]
fn an_inbound_texts_webhook_is_kept_with_its_received_status_and_failures_are_alerts() {
    let (server, number, _dir) = demo();
    let owned = number["phone_number"].as_str().expect("number");
    let sms_url = number["sms_url"].as_str().expect("sms_url");

    let turn = text(&server, HANDSET, owned, "hello");
    let sid = turn["message"]["sid"].as_str().expect("sid");
    let detail = control(&server, &format!("/_twirl/phone/messages/{sid}"));
    let events = detail["events"].as_array().expect("events");
    assert_eq!(events.len(), 1, "{detail}");
    assert_eq!(events[0]["status"], "received");
    assert_eq!(events[0]["callback_url"], sms_url);
    assert_eq!(events[0]["callback_status"], 200);

    // A webhook nobody answers: its failure is kept the same way, and raises an alert.
    let pn = number["sid"].as_str().expect("PN");
    let closed = closed_port_url();
    let resp = server.post(
        &format!("/2010-04-01/Accounts/{ACCOUNT_SID}/IncomingPhoneNumbers/{pn}.json"),
        &[("SmsUrl", &closed)],
    );
    assert_eq!(resp.status(), 200);
    let turn = text(&server, HANDSET, owned, "anyone?");
    let failed = turn["message"]["sid"].as_str().expect("sid").to_string();
    let detail = control(&server, &format!("/_twirl/phone/messages/{failed}"));
    let received = &detail["events"][0];
    assert_eq!(received["callback_url"], closed.as_str());
    assert!(received.get("callback_status").is_none(), "{received}");
    assert!(
        received["callback_error"]
            .as_str()
            .is_some_and(|e| e.contains("connection")),
        "{received}"
    );

    // The conversation carries the alert about that text, and Monitor lists it.
    let conversation = control(
        &server,
        &format!("/_twirl/phone/handsets/{}/conversation", urlencoding(HANDSET)),
    );
    let alerts = conversation["alerts"].as_array().expect("alerts");
    assert_eq!(alerts.len(), 1, "{conversation}");
    assert_eq!(alerts[0]["error_code"], "11205");
    assert_eq!(alerts[0]["resource_sid"], failed.as_str());
    let listed = server.fetch("/monitor/v1/Alerts");
    assert_eq!(listed["alerts"][0]["sid"], alerts[0]["sid"]);
    assert_eq!(listed["meta"]["key"], "alerts");
}

#[test]
fn number_changes_are_announced_to_the_console() {
    let (server, number, _dir) = demo();
    let events = server
        .client
        .get(format!("{}/_twirl/events", server.url))
        .timeout(Duration::from_secs(60))
        .send()
        .expect("events");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(events).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let pn = number["sid"].as_str().expect("PN");
    let path = format!("/2010-04-01/Accounts/{ACCOUNT_SID}/IncomingPhoneNumbers/{pn}.json");
    assert_eq!(server.post(&path, &[("VoiceUrl", "/voice")]).status(), 200);
    let changed = rx.iter().find(|line| line == r#"data: {"type":"changed"}"#);
    assert!(changed.is_some(), "the event stream ended without the change");
}

/// A loopback URL where nothing listens.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/sms")
}

fn urlencoding(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
