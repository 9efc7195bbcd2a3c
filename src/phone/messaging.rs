//! Messaging: outbound texts move through Twilio's statuses on the emulator's clock, each later
//! status posted (signed) to the message's status callback; an inbound text from a handset makes
//! the webhook request Twilio makes to the number's `sms_url` and carries out the TwiML answer
//! (`<Message>` replies, `<Redirect>`, plain text), raising alerts where Twilio would.

use super::alerts;
use super::magic::{self, Delivery as Outcome};
use super::twiml::{self, Element};
use super::webhook::{self, Delivery, Webhook};
use crate::error::{ApiError, StoreError};
use crate::events::Event;
use crate::state::AppState;
use crate::store::alerts::Alert;
use crate::store::history::{self, Owner};
use crate::store::messages::{self, Message, NewMessage};
use crate::store::numbers::{self, Number};
use std::time::Duration;
use tokio::task::JoinHandle;

/// How long an inbound turn waits for its replies to reach the handset before answering.
const REPLY_WAIT: Duration = Duration::from_secs(5);
/// `<Redirect>`s followed in one turn before giving up (Twilio's 14106, document retrieval limit).
const MAX_REDIRECTS: usize = 10;
/// `<Media>` per `<Message>`, as for the API.
pub const MAX_MEDIA: usize = 10;

/// Characters of the GSM 7-bit alphabet, one septet each; the extension table's take two.
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM_EXTENDED: &str = "^{}\\[~]|€\x0c";

/// How many segments `body` is sent in: 160 GSM-7 septets (153 per part when split), or 70
/// UCS-2 characters (67 per part).
pub fn segments(body: &str) -> i64 {
    let septets: Option<usize> = body
        .chars()
        .map(|c| {
            if GSM_BASIC.contains(c) {
                Some(1)
            } else if GSM_EXTENDED.contains(c) {
                Some(2)
            } else {
                None
            }
        })
        .sum();
    let (length, single, part) = match septets {
        Some(n) => (n, 160, 153),
        None => (body.encode_utf16().count(), 70, 67),
    };
    if length <= single {
        1
    } else {
        length.div_ceil(part) as i64
    }
}

/// How a message sent goes on: already at its final status, or on its way in the background.
pub enum Progress {
    Done(Box<Message>),
    Running(JoinHandle<()>),
}

/// Stores `new` and sends it on its way; returns it as created (its first status) and its
/// delivery. A message nobody is to be told about and that is not scheduled goes through all its
/// statuses in the same write.
pub async fn send(state: &AppState, new: NewMessage) -> Result<(Message, Progress), StoreError> {
    send_with(state, new, None).await
}

/// Store work of a turn not worth a write of its own: it goes with the turn's next write.
type Bookkeeping = Box<dyn FnOnce(&rusqlite::Connection) -> Result<(), StoreError> + Send>;

/// `send`, with `also` done in the same write.
async fn send_with(
    state: &AppState,
    new: NewMessage,
    also: Option<Bookkeeping>,
) -> Result<(Message, Progress), StoreError> {
    let now = state.clock.now();
    let also = move |c: &rusqlite::Connection| also.map_or(Ok(()), |f| f(c));
    if new.status_callback.is_none() && new.send_at.is_none() {
        let steps = steps_from(&new.status, magic::delivery_to(&new.to));
        let (created, delivered) = state
            .store
            .transaction(move |tx| {
                also(tx)?;
                messages::create(tx, &new, &steps, now)
            })
            .await?;
        announce(state, &delivered);
        return Ok((created, Progress::Done(Box::new(delivered))));
    }
    let message = state
        .store
        .call(move |c| {
            also(c)?;
            Ok(messages::create(c, &new, &[], now)?.0)
        })
        .await?;
    announce(state, &message);
    let handle = dispatch(state, message.sid.clone());
    Ok((message, Progress::Running(handle)))
}

/// Every status left to a message in `status` whose recipient gives `outcome`, in order.
fn steps_from(mut status: &str, outcome: Outcome) -> Vec<messages::Step<'static>> {
    let mut steps = Vec::new();
    while let Some((next, error)) = next_status(status, outcome) {
        steps.push((next, error.map(|(c, t)| (c as i64, t))));
        status = next;
    }
    steps
}

/// Moves a stored outbound message through its remaining statuses, in the background (unless
/// that already runs).
pub fn dispatch(state: &AppState, sid: String) -> JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        if !state.phone.claim(&sid) {
            return;
        }
        if let Err(e) = deliver(&state, &sid).await {
            log::error!(target: "twirl::phone", "delivering {sid}: {e}");
        }
        state.phone.release(&sid);
    })
}

/// Resumes the messages left on their way (by a previous run, or a fixture).
pub async fn resume(state: &AppState) -> Result<(), StoreError> {
    for sid in state.store.call(|c| messages::in_flight(c)).await? {
        dispatch(state, sid);
    }
    Ok(())
}

/// The status after `status` for a message whose recipient gives `outcome`, with its error.
fn next_status(status: &str, outcome: Outcome) -> Option<(&'static str, Option<(u32, &'static str)>)> {
    Some(match (status, outcome) {
        ("scheduled" | "accepted", _) => ("queued", None),
        ("queued", Outcome::Failed(code, text)) => ("failed", Some((code, text))),
        ("queued", _) => ("sending", None),
        ("sending", _) => ("sent", None),
        ("sent", Outcome::Undelivered(code, text)) => ("undelivered", Some((code, text))),
        ("sent", _) => ("delivered", None),
        _ => return None,
    })
}

async fn deliver(state: &AppState, sid: &str) -> Result<(), StoreError> {
    loop {
        let message = {
            let sid = sid.to_string();
            state.store.call(move |c| messages::get(c, &sid)).await?
        };
        if message.status == "scheduled" {
            if let Some(at) = message.send_at {
                state.clock.sleep_until(at).await;
            }
            // It may have been canceled meanwhile.
            let sid = sid.to_string();
            let current = state.store.call(move |c| messages::get(c, &sid)).await?;
            if current.status != "scheduled" {
                continue;
            }
        }
        let outcome = magic::delivery_to(&message.to);
        if message.status_callback.as_deref().unwrap_or("").is_empty() {
            return advance_at_once(state, &message, outcome).await;
        }
        let Some((status, error)) = next_status(&message.status, outcome) else {
            return Ok(());
        };
        advance(state, &message, status, error).await?;
    }
}

/// With nobody to tell of each status, a message goes through all of them in one write.
async fn advance_at_once(state: &AppState, message: &Message, outcome: Outcome) -> Result<(), StoreError> {
    let steps = steps_from(&message.status, outcome);
    if steps.is_empty() {
        return Ok(());
    }
    let (message, now) = (message.clone(), state.clock.now());
    let updated = state
        .store
        .transaction(move |tx| Ok(messages::advance(tx, &message, &steps, now)?.0))
        .await?;
    announce(state, &updated);
    Ok(())
}

/// Records `status` and posts it to the message's status callback.
async fn advance(
    state: &AppState,
    message: &Message,
    status: &'static str,
    error: Option<(u32, &'static str)>,
) -> Result<(), StoreError> {
    let (sid, now) = (message.sid.clone(), state.clock.now());
    let (event, updated) = state
        .store
        .transaction(move |tx| {
            let current = messages::get(tx, &sid)?;
            let step = (status, error.map(|(c, t)| (c as i64, t)));
            let (updated, event) = messages::advance(tx, &current, &[step], now)?;
            Ok((event, updated))
        })
        .await?;
    announce(state, &updated);
    let Some(url) = updated.status_callback.clone().filter(|u| !u.is_empty()) else {
        return Ok(());
    };
    let webhook = Webhook {
        url,
        method: updated.status_callback_method.clone(),
        params: status_params(state, &updated),
    };
    let delivery = state.phone.webhooks.send(state, &webhook).await;
    let failure = delivery.failure.clone();
    let (sid, url, code) = (updated.sid.clone(), delivery.url.clone(), delivery.status());
    state
        .store
        .call(move |c| {
            history::record_callback(
                c,
                Owner::Message,
                &sid,
                event,
                &url,
                code,
                failure.map(|f| f.describe()).as_deref(),
            )
        })
        .await?;
    if let Some(failure) = &delivery.failure {
        let function = state.phone.webhooks.is_function_url(&webhook.url);
        let text = format!("status callback for {} failed: {}", updated.sid, failure.describe());
        alerts::raise(
            state,
            alerts::new(failure.code(function), text, Some(&updated.sid), Some(&delivery)),
        )
        .await?;
    }
    Ok(())
}

/// The parameters of a message's status callback.
fn status_params(state: &AppState, message: &Message) -> Vec<(String, String)> {
    let mut params = vec![
        ("MessageSid", message.sid.clone()),
        ("SmsSid", message.sid.clone()),
        ("AccountSid", state.credentials.account_sid.clone()),
        ("From", message.from.clone()),
        ("To", message.to.clone()),
        ("MessageStatus", message.status.clone()),
        ("SmsStatus", message.status.clone()),
        ("ApiVersion", "2010-04-01".to_string()),
    ];
    if let Some(service) = &message.messaging_service_sid {
        params.push(("MessagingServiceSid", service.clone()));
    }
    if let Some(code) = message.error_code {
        params.push(("ErrorCode", code.to_string()));
    }
    params.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Tells the console about a new or changed message.
fn announce(state: &AppState, message: &Message) {
    if !state.events.listened() {
        return;
    }
    let rendered = crate::api::core::render::message(&state.credentials.account_sid, message);
    state.events.send(Event::Message {
        message: serde_json::to_value(rendered).unwrap_or_default(),
    });
}

/// A text from a handset, as the control endpoints and the console send one.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub from: String,
    pub to: String,
    pub body: String,
    pub media: Vec<String>,
}

/// The webhook request of a turn, as reported.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WebhookSummary {
    pub url: String,
    pub method: String,
    pub status: Option<u16>,
    pub duration_ms: f64,
    /// Why it got no usable answer (kept with the message; the turn's alerts tell it too).
    #[serde(skip)]
    pub error: Option<String>,
}

/// What happened in one inbound turn.
#[derive(Debug, Clone)]
pub struct Turn {
    pub message: Message,
    pub webhook: Option<WebhookSummary>,
    pub replies: Vec<Message>,
    pub alerts: Vec<Alert>,
}

/// Refuses `number` as a handset when it is one of the account's own.
pub fn ensure_handset(conn: &rusqlite::Connection, number: &str) -> Result<(), StoreError> {
    if numbers::by_number(conn, number)?.is_some() {
        return Err(ApiError::bad_request(format!(
            "{number} is a number of this account; handsets are the numbers it does not own"
        ))
        .into());
    }
    Ok(())
}

/// A handset texts an owned number: the received message, the webhook, and its answer carried
/// out. Answers once the replies have reached their handsets.
pub async fn receive(state: &AppState, incoming: Incoming) -> Result<Turn, ApiError> {
    let media: Vec<(String, String)> = incoming
        .media
        .iter()
        .map(|url| (media_type_of(url), url.clone()))
        .collect();
    let new = NewMessage {
        direction: "inbound".into(),
        from: incoming.from.clone(),
        to: incoming.to.clone(),
        body: incoming.body.clone(),
        status: "received".into(),
        num_segments: segments(&incoming.body),
        status_callback_method: "POST".into(),
        media: media.clone(),
        ..NewMessage::default()
    };
    let now = state.clock.now();
    let (number, message) = state
        .store
        .transaction(move |tx| {
            let number = numbers::by_number(tx, &new.to)?.ok_or_else(|| {
                ApiError::coded(404, 20404, format!("{} is not a phone number of this account", new.to))
            })?;
            ensure_handset(tx, &new.from)?;
            Ok((number, messages::create(tx, &new, &[], now)?.0))
        })
        .await?;
    announce(state, &message);
    let mut turn = Turn {
        message: message.clone(),
        webhook: None,
        replies: Vec::new(),
        alerts: Vec::new(),
    };
    if number.config.sms_url.is_empty() {
        return Ok(turn);
    }
    let params = webhook_params(state, &message, &number, &media);
    let mut deliveries = Vec::new();
    let answer = fetch(state, &number, &params, &mut turn).await?;
    let mut bookkeeping = turn.webhook.as_ref().map(|w| record_webhook(&message.sid, w));
    if let Some((delivery, url)) = answer {
        let mut interpreter = Interpreter {
            state,
            inbound: &message,
            document_url: String::new(),
            params: &params,
            turn: &mut turn,
            deliveries: &mut deliveries,
            bookkeeping: bookkeeping.take(),
        };
        interpreter.run(delivery, url).await?;
        bookkeeping = interpreter.bookkeeping.take();
    }
    // A turn that sent no reply writes its bookkeeping by itself.
    if let Some(record) = bookkeeping {
        state.store.call(move |c| record(c)).await?;
    }
    if deliveries.is_empty() {
        return Ok(turn);
    }
    for handle in deliveries {
        let _ = tokio::time::timeout(REPLY_WAIT, handle).await;
    }
    let sids: Vec<String> = turn.replies.iter().map(|m| m.sid.clone()).collect();
    turn.replies = state
        .store
        .call(move |c| sids.iter().map(|sid| messages::get(c, sid)).collect())
        .await?;
    Ok(turn)
}

/// Keeps the webhook with the inbound text's `received` status (its counterpart of a status
/// callback), so the message's history shows where the text went and how that ended.
fn record_webhook(sid: &str, webhook: &WebhookSummary) -> Bookkeeping {
    let (sid, w) = (sid.to_string(), webhook.clone());
    Box::new(move |c| history::record_callback(c, Owner::Message, &sid, 0, &w.url, w.status, w.error.as_deref()))
}

/// Calls the number's `sms_url`, then its fallback URL if that failed; the answer to carry out
/// and the URL it came from, if any succeeded.
async fn fetch(
    state: &AppState,
    number: &Number,
    params: &[(String, String)],
    turn: &mut Turn,
) -> Result<Option<(Delivery, String)>, StoreError> {
    let config = &number.config;
    let primary = Webhook {
        url: config.sms_url.clone(),
        method: config.sms_method.clone(),
        params: params.to_vec(),
    };
    let delivery = state.phone.webhooks.send(state, &primary).await;
    turn.webhook = Some(WebhookSummary {
        url: delivery.url.clone(),
        method: delivery.method.clone(),
        status: delivery.status(),
        duration_ms: delivery.duration_ms,
        error: delivery.failure.as_ref().map(|f| f.describe()),
    });
    let Some(failure) = delivery.failure.clone() else {
        return Ok(Some((delivery, primary.url)));
    };
    let function = state.phone.webhooks.is_function_url(&primary.url);
    let code = failure.code(function);
    raise(
        state,
        turn,
        code,
        format!("{}: {}", primary.url, failure.describe()),
        Some(&delivery),
    )
    .await?;
    if config.sms_fallback_url.is_empty() {
        return Ok(None);
    }
    let mut fallback_params = params.to_vec();
    fallback_params.push(("ErrorCode".into(), code.to_string()));
    fallback_params.push(("ErrorUrl".into(), state.phone.webhooks.absolute(&primary.url)));
    let fallback = Webhook {
        url: config.sms_fallback_url.clone(),
        method: config.sms_fallback_method.clone(),
        params: fallback_params,
    };
    let delivery = state.phone.webhooks.send(state, &fallback).await;
    match delivery.failure.clone() {
        None => Ok(Some((delivery, fallback.url))),
        Some(failure) => {
            let function = state.phone.webhooks.is_function_url(&fallback.url);
            let text = format!("{}: {}", fallback.url, failure.describe());
            raise(state, turn, failure.code(function), text, Some(&delivery)).await?;
            Ok(None)
        }
    }
}

async fn raise(
    state: &AppState,
    turn: &mut Turn,
    code: u32,
    text: String,
    delivery: Option<&Delivery>,
) -> Result<(), StoreError> {
    let alert = alerts::raise(state, alerts::new(code, text, Some(&turn.message.sid), delivery)).await?;
    turn.alerts.push(alert);
    Ok(())
}

/// The parameters of the webhook for an incoming text (reference 3.1); `media` is its media
/// as (content type, URL).
fn webhook_params(
    state: &AppState,
    message: &Message,
    number: &Number,
    media: &[(String, String)],
) -> Vec<(String, String)> {
    let mut params = vec![
        ("ToCountry", country(&message.to)),
        ("ToState", String::new()),
        ("SmsMessageSid", message.sid.clone()),
        ("NumMedia", media.len().to_string()),
        ("ToCity", String::new()),
        ("FromZip", String::new()),
        ("SmsSid", message.sid.clone()),
        ("FromState", String::new()),
        ("SmsStatus", "received".to_string()),
        ("FromCity", String::new()),
        ("Body", message.body.clone()),
        ("FromCountry", country(&message.from)),
        ("To", number.phone_number.clone()),
        ("ToZip", String::new()),
        ("NumSegments", message.num_segments.to_string()),
        ("ReferralNumMedia", "0".to_string()),
        ("MessageSid", message.sid.clone()),
        ("AccountSid", state.credentials.account_sid.clone()),
        ("From", message.from.clone()),
        ("ApiVersion", "2010-04-01".to_string()),
    ];
    let mut params: Vec<(String, String)> = params.drain(..).map(|(k, v)| (k.to_string(), v)).collect();
    for (i, (content_type, url)) in media.iter().enumerate() {
        params.push((format!("MediaContentType{i}"), content_type.clone()));
        params.push((format!("MediaUrl{i}"), url.clone()));
    }
    params
}

/// The ISO country of a number, from its calling code, as far as twirl knows it.
pub(crate) fn country(address: &str) -> String {
    let number = super::address::parse(address).map_or(address, |a| a.number);
    const CODES: &[(&str, &str)] = &[
        ("+1", "US"),
        ("+44", "GB"),
        ("+49", "DE"),
        ("+33", "FR"),
        ("+34", "ES"),
        ("+39", "IT"),
        ("+31", "NL"),
        ("+61", "AU"),
        ("+81", "JP"),
        ("+91", "IN"),
        ("+55", "BR"),
        ("+52", "MX"),
    ];
    CODES
        .iter()
        .find(|(code, _)| number.starts_with(code))
        .map_or(String::new(), |(_, iso)| iso.to_string())
}

/// The media type of a media URL, from its extension.
pub fn media_type_of(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    mime_guess::from_path(path).first().map_or_else(
        || "application/octet-stream".to_string(),
        |m| m.essence_str().to_string(),
    )
}

/// Carries out an answer to an incoming text.
struct Interpreter<'a> {
    state: &'a AppState,
    inbound: &'a Message,
    /// The absolute URL of the document being carried out, which relative URLs in it are resolved against.
    document_url: String,
    params: &'a [(String, String)],
    turn: &'a mut Turn,
    deliveries: &'a mut Vec<JoinHandle<()>>,
    /// What the turn still has to write; the first reply's write takes it along.
    bookkeeping: Option<Bookkeeping>,
}

impl Interpreter<'_> {
    /// Follows the answer of `delivery` (fetched from `url`) and its redirects.
    async fn run(&mut self, mut delivery: Delivery, mut url: String) -> Result<(), StoreError> {
        for _ in 0..=MAX_REDIRECTS {
            self.document_url = self.state.phone.webhooks.absolute(&url);
            let Some(document) = self.document(&delivery).await? else {
                return Ok(());
            };
            match self.execute(&document).await? {
                None => return Ok(()),
                Some((target, method)) => {
                    let Some(next) = webhook::resolve(&self.document_url, &target) else {
                        let text = format!("<Redirect> to an invalid URL {target:?}");
                        return raise(self.state, self.turn, 12100, text, None).await;
                    };
                    let redirect = Webhook {
                        url: next.clone(),
                        method,
                        params: self.params.to_vec(),
                    };
                    delivery = self.state.phone.webhooks.send(self.state, &redirect).await;
                    if let Some(failure) = delivery.failure.clone() {
                        let function = self.state.phone.webhooks.is_function_url(&next);
                        let text = format!("{next}: {}", failure.describe());
                        return raise(self.state, self.turn, failure.code(function), text, Some(&delivery)).await;
                    }
                    url = next;
                }
            }
        }
        let text = format!("Document retrieval limit reached: more than {MAX_REDIRECTS} <Redirect>s in one reply");
        raise(self.state, self.turn, 14106, text, None).await
    }

    /// The TwiML of an answer, by its content type: XML is parsed, plain text becomes one reply,
    /// an empty body means no reply; anything else is Twilio's 12300.
    async fn document(&mut self, delivery: &Delivery) -> Result<Option<Element>, StoreError> {
        let Some(answer) = &delivery.answer else {
            return Ok(None);
        };
        let text = answer.text();
        if text.trim().is_empty() {
            return Ok(None);
        }
        match answer.media_type().as_str() {
            "text/xml" | "application/xml" | "text/html" => match twiml::parse(&text) {
                Ok(document) => Ok(Some(document)),
                Err(e) => {
                    let text = format!("Document parse failure: {e}");
                    raise(self.state, self.turn, 12100, text, Some(delivery)).await?;
                    Ok(None)
                }
            },
            "text/plain" => {
                self.reply(None, None, text.trim().to_string(), Vec::new(), None, "POST".into())
                    .await?;
                Ok(None)
            }
            other => {
                let text = format!("Invalid Content-Type {other:?}: a reply must be TwiML (text/xml) or text/plain");
                raise(self.state, self.turn, 12300, text, Some(delivery)).await?;
                Ok(None)
            }
        }
    }

    /// Runs the verbs of `document`; returns where a `<Redirect>` goes, if one is reached.
    async fn execute(&mut self, document: &Element) -> Result<Option<(String, String)>, StoreError> {
        for verb in &document.children {
            match verb.name.as_str() {
                "Message" => self.message(verb).await?,
                "Redirect" => {
                    let method = verb.attribute("method").unwrap_or("POST").to_string();
                    return Ok(Some((verb.text.clone(), method)));
                }
                other => {
                    let text = format!("<{other}> is not a messaging TwiML verb; it was skipped");
                    raise(self.state, self.turn, 12200, text, None).await?;
                }
            }
        }
        Ok(None)
    }

    /// A `<Message>`: its body (text or `<Body>`), `<Media>`, `to`, `from` and `action`.
    async fn message(&mut self, verb: &Element) -> Result<(), StoreError> {
        let body = match verb.children_named("Body").next() {
            Some(body) => body.text.clone(),
            None => verb.text.clone(),
        };
        let media: Vec<String> = verb.children_named("Media").map(|m| m.text.clone()).collect();
        if body.is_empty() && media.is_empty() {
            let text = "Invalid Body: a <Message> has neither a body nor media; nothing was sent".to_string();
            return raise(self.state, self.turn, 14103, text, None).await;
        }
        if let Some(to) = verb.attribute("to").filter(|to| super::address::parse(to).is_none()) {
            let text = format!("'To' Attribute is Invalid: {to:?}");
            return raise(self.state, self.turn, 14101, text, None).await;
        }
        if media.len() > MAX_MEDIA {
            let text = format!("A <Message> has {} <Media>; at most {MAX_MEDIA} are sent", media.len());
            return raise(self.state, self.turn, 12200, text, None).await;
        }
        let callback = verb.attribute("action").or_else(|| verb.attribute("statusCallback"));
        let method = verb.attribute("method").unwrap_or("POST").to_string();
        self.reply(
            verb.attribute("to"),
            verb.attribute("from"),
            body,
            media,
            callback,
            method,
        )
        .await
    }

    /// Sends a reply: to the sender and from the number texted, unless told otherwise.
    async fn reply(
        &mut self,
        to: Option<&str>,
        from: Option<&str>,
        body: String,
        media: Vec<String>,
        status_callback: Option<&str>,
        status_callback_method: String,
    ) -> Result<(), StoreError> {
        let new = NewMessage {
            direction: "outbound-reply".into(),
            from: from.unwrap_or(&self.inbound.to).to_string(),
            to: to.unwrap_or(&self.inbound.from).to_string(),
            num_segments: segments(&body),
            body,
            status: "queued".into(),
            status_callback: status_callback.and_then(|u| webhook::resolve(&self.document_url, u)),
            status_callback_method,
            media: media.iter().map(|url| (media_type_of(url), url.clone())).collect(),
            ..NewMessage::default()
        };
        match send_with(self.state, new, self.bookkeeping.take()).await? {
            (_, Progress::Done(delivered)) => self.turn.replies.push(*delivered),
            (created, Progress::Running(handle)) => {
                self.turn.replies.push(created);
                self.deliveries.push(handle);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_follow_gsm7_and_ucs2_lengths() {
        assert_eq!(segments(""), 1);
        assert_eq!(segments(&"a".repeat(160)), 1);
        assert_eq!(segments(&"a".repeat(161)), 2);
        assert_eq!(segments(&"a".repeat(306)), 2);
        assert_eq!(segments(&"a".repeat(307)), 3);
        assert_eq!(segments(&"€".repeat(80)), 1);
        assert_eq!(segments(&"€".repeat(81)), 2);
        assert_eq!(segments(&"😀".repeat(35)), 1);
        assert_eq!(segments(&"é".repeat(70)), 1);
        assert_eq!(segments(&"ł".repeat(71)), 2);
    }

    #[test]
    fn statuses_advance_to_the_recipients_outcome() {
        let ok = Outcome::Delivered;
        assert_eq!(next_status("accepted", ok), Some(("queued", None)));
        assert_eq!(next_status("queued", ok), Some(("sending", None)));
        assert_eq!(next_status("sending", ok), Some(("sent", None)));
        assert_eq!(next_status("sent", ok), Some(("delivered", None)));
        assert_eq!(next_status("delivered", ok), None);
        let lost = Outcome::Undelivered(30003, "x");
        assert_eq!(next_status("sent", lost), Some(("undelivered", Some((30003, "x")))));
        assert_eq!(
            next_status("queued", Outcome::Failed(30008, "y")),
            Some(("failed", Some((30008, "y"))))
        );
    }

    #[test]
    fn media_types_come_from_extensions() {
        assert_eq!(media_type_of("https://x/cat.png?s=1"), "image/png");
        assert_eq!(media_type_of("https://x/clip"), "application/octet-stream");
    }
}
