//! A call's session: the task that owns a call and its legs, waits for the caller, moves legs
//! through their statuses (posting the status callbacks asked for) and fetches their TwiML.

use super::params::{self, Params};
use super::{verbs::Leg, Action, Command, Input, Live, Placed, Source, Start};
use crate::api::core::render;
use crate::error::StoreError;
use crate::events::Event;
use crate::phone::alerts;
use crate::phone::magic::{self, Answering};
use crate::phone::twiml::{self, Element};
use crate::phone::webhook::{Delivery, Webhook};
use crate::state::AppState;
use crate::store::calls::{self, Call};
use crate::store::history::{self, Owner};
use crate::store::numbers::Number;
use serde_json::{json, Value};
use std::collections::HashMap;
use tokio::sync::{mpsc, oneshot};

/// What a wait for the caller ended with.
pub(super) enum Heard {
    Input(Input),
    /// Something happened to `leg` (the one waiting, or one it is part of).
    Interrupt(String, Action),
    /// The wait's own deadline passed (a phone that rang out, a `<Dial timeLimit>`).
    Timeout,
}

/// A TwiML document and the URL it came from (none for inline TwiML).
pub(super) struct Document {
    pub root: Element,
    pub url: Option<String>,
}

pub(super) struct Session {
    pub state: AppState,
    /// The call's first leg.
    pub root: String,
    commands: mpsc::UnboundedReceiver<Command>,
    live: Live,
    /// Drivers waiting for the call to settle.
    pending: Vec<oneshot::Sender<()>>,
    /// When the call reaches its time limit (set once answered).
    pub deadline: Option<i64>,
    /// Status callbacks sent per leg, for `SequenceNumber`.
    sequences: HashMap<String, usize>,
    /// How many times the call waited for the caller, to tell a loop that never does.
    pub waits: usize,
    /// Transcript lines not stored yet: they are written together, in one transaction, before
    /// the call settles (so all a driver is answered about is stored).
    lines: std::sync::Mutex<Vec<(Call, i64, Value)>>,
}

impl Session {
    pub fn new(state: AppState, root: String, commands: mpsc::UnboundedReceiver<Command>, live: Live) -> Session {
        Session {
            state,
            root,
            commands,
            live,
            pending: Vec::new(),
            deadline: None,
            sequences: HashMap::new(),
            waits: 0,
            lines: std::sync::Mutex::default(),
        }
    }

    pub async fn run(mut self, call: Call, start: Start) {
        let result = match start {
            Start::Inbound(number) => self.inbound(call, *number).await,
            Start::Placed(placed) => self.placed(call, *placed).await,
        };
        if let Err(e) = result.and(self.flush().await) {
            log::error!(target: "twirl::phone", "call {}: {e}", self.root);
        }
        let root = self.root.clone();
        let mut sids: Vec<String> = match self.state.store.call(move |c| calls::legs(c, &root)).await {
            Ok(legs) => legs.into_iter().map(|l| l.sid).collect(),
            Err(_) => Vec::new(),
        };
        sids.push(self.root.clone());
        self.state.phone.calls.remove(&sids);
        self.set_awaiting(None);
        for done in self.pending.drain(..) {
            let _ = done.send(());
        }
    }

    /// A handset called `number`: its `voice_url` answers.
    async fn inbound(&mut self, call: Call, number: Number) -> Result<(), StoreError> {
        let config = &number.config;
        let fallback = Some((config.voice_fallback_url.clone(), config.voice_fallback_method.clone()))
            .filter(|(url, _)| !url.is_empty());
        let mut leg = Leg::new(call, fallback, 0);
        if config.voice_url.is_empty() {
            self.note(
                &leg.call,
                json!({"verb": "hangup", "reason": "the number has no voice_url"}),
            )
            .await?;
            return self.advance(&mut leg.call, "no-answer").await;
        }
        let source = Source::Url {
            url: config.voice_url.clone(),
            method: config.voice_method.clone(),
            extra: Vec::new(),
        };
        self.run_leg(&mut leg, source).await.map(|_| ())
    }

    /// A call the API placed: dialed, rung, answered by the handset (unless it is one of the
    /// magic ones), then its TwiML runs.
    async fn placed(&mut self, mut call: Call, placed: Placed) -> Result<(), StoreError> {
        self.advance(&mut call, "initiated").await?;
        let answering = magic::answering(&call.to);
        if answering == Answering::Fails {
            return self.advance(&mut call, "failed").await;
        }
        self.advance(&mut call, "ringing").await?;
        match answering {
            Answering::Busy => return self.advance(&mut call, "busy").await,
            Answering::NoAnswer => {
                let until = self.state.clock.now() + placed.ring_seconds;
                loop {
                    let ringing =
                        json!({"verb": "ringing", "call_sid": call.sid, "input": [], "timeout": placed.ring_seconds});
                    match self.wait(ringing, Some(until)).await {
                        Heard::Timeout => return self.advance(&mut call, "no-answer").await,
                        Heard::Interrupt(_, Action::Hangup) => return self.advance(&mut call, "busy").await,
                        Heard::Interrupt(_, Action::End(_)) => return self.advance(&mut call, "canceled").await,
                        Heard::Interrupt(..) | Heard::Input(_) => {}
                    }
                }
            }
            Answering::Answers | Answering::Fails => {}
        }
        if placed.machine_detection {
            let sid = call.sid.clone();
            self.state
                .store
                .call(move |c| calls::set_answered_by(c, &sid, "human"))
                .await?;
            call.answered_by = Some("human".into());
        }
        self.advance(&mut call, "in-progress").await?;
        self.deadline = Some(self.state.clock.now() + placed.time_limit);
        if let Some(digits) = &placed.send_digits {
            self.note(&call, json!({"verb": "send-digits", "digits": digits}))
                .await?;
        }
        let mut leg = Leg::new(call, placed.fallback.clone(), 0);
        self.run_leg(&mut leg, placed.source.clone()).await?;
        if placed.record {
            self.record_call(&leg.call).await?;
        }
        Ok(())
    }

    /// The whole call's recording, for `Record=true`.
    async fn record_call(&mut self, call: &Call) -> Result<(), StoreError> {
        let sid = call.sid.clone();
        let ended = self.state.store.call(move |c| calls::get(c, &sid)).await?;
        let recording = calls::Recording {
            sid: String::new(),
            call_sid: ended.sid.clone(),
            duration: ended.duration().unwrap_or(0),
            source: "OutboundAPI".into(),
            speech: String::new(),
            date_created: self.state.clock.now(),
            start_time: ended.answer_time.unwrap_or(ended.date_created),
        };
        let recording = self
            .state
            .store
            .call(move |c| calls::add_recording(c, &recording))
            .await?;
        let url = self.recording_url(&recording.sid);
        self.note(
            &ended,
            json!({"verb": "recording", "recording_sid": recording.sid, "duration": recording.duration, "url": url}),
        )
        .await
    }

    /// Where a recording's audio is, as Twilio gives it.
    pub fn recording_url(&self, sid: &str) -> String {
        format!(
            "https://api.twilio.com{}/Recordings/{sid}",
            render::account_uri(&self.state.credentials.account_sid)
        )
    }

    /// Registers a new leg of this call, so drivers reach it here.
    pub fn adopt(&self, call: &Call) {
        self.state.phone.calls.add(&call.sid, &self.live);
    }

    fn set_awaiting(&self, awaiting: Option<Value>) {
        *self.live.awaiting.lock().unwrap_or_else(|e| e.into_inner()) = awaiting;
    }

    /// Waits for the caller (or the API) with `awaiting` on show; drivers waiting for the call to
    /// settle are answered now. `until` is this wait's own deadline on the emulator's clock; the
    /// call's time limit ends it too.
    pub async fn wait(&mut self, awaiting: Value, until: Option<i64>) -> Heard {
        self.waits += 1;
        if let Err(e) = self.flush().await {
            log::error!(target: "twirl::phone", "call {}: {e}", self.root);
        }
        self.set_awaiting(Some(awaiting));
        for done in self.pending.drain(..) {
            let _ = done.send(());
        }
        let deadline = match (until, self.deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let heard = loop {
            let clock = self.state.clock.clone();
            let expiry = async move {
                match deadline {
                    Some(at) => clock.sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                command = self.commands.recv() => match command {
                    None => break Heard::Interrupt(self.root.clone(), Action::Hangup),
                    Some(Command { action: Action::Settle, done, .. }) => {
                        let _ = done.send(());
                    }
                    Some(Command { leg, action, done }) => {
                        self.pending.push(done);
                        break match action {
                            Action::Input(input) => Heard::Input(input),
                            other => Heard::Interrupt(leg, other),
                        };
                    }
                },
                _ = expiry => {
                    let over = self.deadline.is_some_and(|at| self.state.clock.now() >= at);
                    break if over {
                        Heard::Interrupt(self.root.clone(), Action::End("completed".into()))
                    } else {
                        Heard::Timeout
                    };
                }
            }
        };
        self.set_awaiting(None);
        heard
    }

    /// Moves `call` to `status`, tells the console, and posts the status callback if its event
    /// was asked for.
    pub async fn advance(&mut self, call: &mut Call, status: &str) -> Result<(), StoreError> {
        let (sid, now, wanted) = (call.sid.clone(), self.state.clock.now(), status.to_string());
        let (event, updated) = self
            .state
            .store
            .transaction(move |tx| {
                let event = calls::set_status(tx, &sid, &wanted, now)?;
                Ok((event, calls::get(tx, &sid)?))
            })
            .await?;
        *call = updated;
        announce(&self.state, call, None);
        let name = match status {
            "initiated" => "initiated",
            "ringing" => "ringing",
            "in-progress" => "answered",
            _ => "completed",
        };
        let Some(url) = call.status_callback.clone().filter(|u| !u.is_empty()) else {
            return Ok(());
        };
        if !call.status_callback_events.iter().any(|e| e == name) {
            return Ok(());
        }
        let sequence = self.sequences.entry(call.sid.clone()).or_default();
        let mut params = params::base(&self.state.credentials.account_sid, call, status);
        params.extend(params::status_callback(call, *sequence, now));
        *sequence += 1;
        let webhook = Webhook {
            url,
            method: call.status_callback_method.clone(),
            params,
        };
        let delivery = self.state.phone.webhooks.send(&self.state, &webhook).await;
        let (sid, url, code, failure) = (
            call.sid.clone(),
            delivery.url.clone(),
            delivery.status(),
            delivery.failure.clone(),
        );
        self.state
            .store
            .call(move |c| {
                history::record_callback(
                    c,
                    Owner::Call,
                    &sid,
                    event,
                    &url,
                    code,
                    failure.map(|f| f.describe()).as_deref(),
                )
            })
            .await?;
        if let Some(failure) = &delivery.failure {
            let function = self.state.phone.webhooks.is_function_url(&webhook.url);
            let text = format!("status callback for {} failed: {}", call.sid, failure.describe());
            self.raise(call, failure.code(function), text, Some(&delivery)).await?;
        }
        Ok(())
    }

    /// Adds a line to the leg's transcript and shows it in the console.
    pub async fn note(&self, call: &Call, entry: Value) -> Result<(), StoreError> {
        let now = self.state.clock.now();
        announce(&self.state, call, Some(line_json(&call.sid, now, entry.clone())));
        self.lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((call.clone(), now, entry));
        Ok(())
    }

    /// Stores the transcript lines noted since the last time.
    async fn flush(&self) -> Result<(), StoreError> {
        let lines = std::mem::take(&mut *self.lines.lock().unwrap_or_else(|e| e.into_inner()));
        if lines.is_empty() {
            return Ok(());
        }
        self.state
            .store
            .transaction(move |tx| {
                for (call, at, entry) in &lines {
                    calls::append(tx, call, *at, entry)?;
                }
                Ok(())
            })
            .await
    }

    /// Raises an alert about the leg.
    pub async fn raise(
        &self,
        call: &Call,
        code: u32,
        text: String,
        delivery: Option<&Delivery>,
    ) -> Result<(), StoreError> {
        alerts::raise(&self.state, alerts::new(code, text, Some(&call.sid), delivery)).await?;
        Ok(())
    }

    /// Posts `params` (added to the leg's own) to a URL a verb names, signed, and raises an
    /// alert if it fails; the answer is not TwiML to carry out (recording and transcription
    /// callbacks).
    pub async fn notify(&self, call: &Call, url: &str, method: &str, extra: Params) -> Result<(), StoreError> {
        let mut params = params::base(&self.state.credentials.account_sid, call, &call.status);
        params.extend(extra);
        let webhook = Webhook {
            url: url.to_string(),
            method: method.to_string(),
            params,
        };
        let delivery = self.state.phone.webhooks.send(&self.state, &webhook).await;
        self.note(call, webhook_line(&delivery, "callback")).await?;
        if let Some(failure) = &delivery.failure {
            let function = self.state.phone.webhooks.is_function_url(url);
            let text = format!("{url}: {}", failure.describe());
            self.raise(call, failure.code(function), text, Some(&delivery)).await?;
        }
        Ok(())
    }

    /// The TwiML to carry out next on `leg`: fetched (trying `fallback` if that fails) or
    /// inline. `None` when there is none to carry out; the alerts are raised.
    pub async fn document(
        &mut self,
        leg: &Leg,
        source: &Source,
        fallback: Option<(String, String)>,
    ) -> Result<Option<Document>, StoreError> {
        let (url, method, extra) = match source {
            Source::Twiml(text) => return self.parse(&leg.call, text, None, None).await,
            Source::Url { url, method, extra } => (url, method, extra),
        };
        let mut params = params::base(&self.state.credentials.account_sid, &leg.call, &leg.call.status);
        params.extend(extra.iter().cloned());
        let webhook = Webhook {
            url: url.clone(),
            method: method.clone(),
            params: params.clone(),
        };
        let mut delivery = self.state.phone.webhooks.send(&self.state, &webhook).await;
        self.note(&leg.call, webhook_line(&delivery, "twiml")).await?;
        let mut fetched = webhook.url.clone();
        if let Some(failure) = delivery.failure.clone() {
            let function = self.state.phone.webhooks.is_function_url(url);
            let code = failure.code(function);
            let text = format!("{url}: {}", failure.describe());
            self.raise(&leg.call, code, text, Some(&delivery)).await?;
            let Some((fallback_url, fallback_method)) = fallback else {
                return Ok(None);
            };
            params.push(("ErrorCode".into(), code.to_string()));
            params.push(("ErrorUrl".into(), self.state.phone.webhooks.absolute(url)));
            let webhook = Webhook {
                url: fallback_url.clone(),
                method: fallback_method,
                params,
            };
            delivery = self.state.phone.webhooks.send(&self.state, &webhook).await;
            self.note(&leg.call, webhook_line(&delivery, "fallback")).await?;
            if let Some(failure) = delivery.failure.clone() {
                let function = self.state.phone.webhooks.is_function_url(&fallback_url);
                let text = format!("{fallback_url}: {}", failure.describe());
                self.raise(&leg.call, failure.code(function), text, Some(&delivery))
                    .await?;
                return Ok(None);
            }
            fetched = fallback_url;
        }
        let Some(answer) = delivery.answer.as_ref() else {
            return Ok(None);
        };
        let media_type = answer.media_type();
        if !matches!(media_type.as_str(), "text/xml" | "application/xml" | "text/html") {
            let text = format!("Invalid Content-Type {media_type:?}: a voice answer must be TwiML (text/xml)");
            self.raise(&leg.call, 12300, text, Some(&delivery)).await?;
            return Ok(None);
        }
        let absolute = self.state.phone.webhooks.absolute(&fetched);
        self.parse(&leg.call, &answer.text(), Some(absolute), Some(&delivery))
            .await
    }

    async fn parse(
        &self,
        call: &Call,
        text: &str,
        url: Option<String>,
        delivery: Option<&Delivery>,
    ) -> Result<Option<Document>, StoreError> {
        match twiml::parse(text) {
            Ok(root) => Ok(Some(Document { root, url })),
            Err(e) => {
                self.raise(call, 12100, format!("Document parse failure: {e}"), delivery)
                    .await?;
                Ok(None)
            }
        }
    }
}

/// A transcript line as the control endpoints and the console show it.
pub fn line_json(call_sid: &str, at: i64, entry: Value) -> Value {
    let mut line = match entry {
        Value::Object(map) => map,
        other => {
            let mut map = serde_json::Map::new();
            map.insert("value".into(), other);
            map
        }
    };
    line.insert("call_sid".into(), json!(call_sid));
    line.insert("at".into(), json!(crate::clock::format_timestamp(at)));
    Value::Object(line)
}

/// A webhook made, as a transcript line.
fn webhook_line(delivery: &Delivery, purpose: &str) -> Value {
    json!({
        "verb": "webhook",
        "purpose": purpose,
        "url": delivery.url,
        "method": delivery.method,
        "status": delivery.status(),
        "duration_ms": (delivery.duration_ms * 10.0).round() / 10.0,
        "error": delivery.failure.as_ref().map(|f| f.describe()),
    })
}

/// Tells the console about a leg that changed, with the transcript line that changed it.
pub fn announce(state: &AppState, call: &Call, line: Option<Value>) {
    if state.events.listened() {
        state.events.send(Event::Call {
            call: render::call(&state.credentials.account_sid, call),
            line,
        });
    }
}
