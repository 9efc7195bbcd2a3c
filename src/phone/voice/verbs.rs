//! The TwiML voice verbs, carried out on one leg: what the caller hears goes to the transcript,
//! what the verb waits for is shown to the driver, and `action` URLs get Twilio's parameters.

use super::params::{self, Params};
use super::session::{Document, Heard, Session};
use super::{Action, Input, Source};
use crate::error::StoreError;
use crate::phone::magic::{self, Answering};
use crate::phone::twiml::Element;
use crate::phone::webhook;
use crate::store::calls::{self, Call, NewCall};
use crate::store::numbers;
use serde_json::{json, Value};

/// Documents fetched in a row without the caller being waited for: a `<Redirect>` loop that
/// never lets the caller act (Twilio's document retrieval limit, 14106).
const MAX_DOCUMENTS: usize = 100;
/// How deep `<Dial>`s between owned numbers nest before a dial fails (a number dialing itself).
const MAX_DIAL_DEPTH: usize = 5;
/// What Twilio says when it has no TwiML to carry out.
const APPLICATION_ERROR: &str = "We are sorry, an application error has occurred. Goodbye.";
/// Verbs Twilio carries out that twirl does not simulate: logged, then the next verb runs.
const NOT_SIMULATED: &[&str] = &["Connect", "Start", "Stop", "Pay", "Refer", "Echo", "Sms", "Prompt"];

/// One leg as a session carries it out.
pub(super) struct Leg {
    pub call: Call,
    /// The dialed leg this call is the far end of (the `outbound-dial` leg for a call `<Dial>`
    /// placed to an owned number): it is answered and hung up with this one.
    pub bridge: Option<Call>,
    /// The URL (and method) tried when the first TwiML request fails.
    pub fallback: Option<(String, String)>,
    pub depth: usize,
}

impl Leg {
    pub fn new(call: Call, fallback: Option<(String, String)>, depth: usize) -> Leg {
        Leg {
            call,
            bridge: None,
            fallback,
            depth,
        }
    }

    /// Whether an action on `sid` is about this leg (or the dialed leg it answers for).
    fn owns(&self, sid: &str) -> bool {
        self.call.sid == sid || self.bridge.as_ref().is_some_and(|b| b.sid == sid)
    }
}

/// How a verb leaves the document.
pub(super) enum Flow {
    Next,
    Goto(Source),
    End(&'static str),
    Interrupted(String, Action),
}

/// How a leg ended: by itself, or because something happened to a leg it belongs to (which it
/// passes up, having ended itself).
pub(super) enum LegEnd {
    Ended,
    Interrupted(String, Action),
}

/// An attribute as a number, or its default.
fn number<T: std::str::FromStr>(verb: &Element, name: &str, default: T) -> T {
    verb.attribute(name)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn flag(verb: &Element, name: &str) -> bool {
    verb.attribute(name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// All of an element's text, its children's included (SSML inside `<Say>`).
fn all_text(element: &Element) -> String {
    let mut parts = vec![element.text.clone()];
    parts.extend(element.children.iter().map(all_text));
    parts.retain(|p| !p.is_empty());
    parts.join(" ")
}

/// How long a phrase takes to say, in whole seconds (about 150 words a minute).
fn spoken_seconds(text: &str) -> i64 {
    let words = text.split_whitespace().count() as i64;
    ((words * 2 + 4) / 5).max(1)
}

impl Session {
    /// Carries out `leg` from `first` until it ends.
    pub async fn run_leg(&mut self, leg: &mut Leg, first: Source) -> Result<LegEnd, StoreError> {
        let mut source = first;
        let mut fallback = leg.fallback.clone();
        let (mut fetched, mut waits) = (0, self.waits);
        loop {
            fetched = if self.waits == waits { fetched + 1 } else { 1 };
            waits = self.waits;
            if fetched > MAX_DOCUMENTS {
                let text = format!("Document retrieval limit reached: {MAX_DOCUMENTS} documents without the caller being asked for anything");
                self.raise(&leg.call, 14106, text, None).await?;
                self.finish(leg, "completed").await?;
                return Ok(LegEnd::Ended);
            }
            let Some(document) = self.document(leg, &source, fallback.take()).await? else {
                self.application_error(leg).await?;
                return Ok(LegEnd::Ended);
            };
            match self.execute(leg, &document).await? {
                Flow::Next => {
                    self.answer(leg).await?;
                    self.finish(leg, "completed").await?;
                    return Ok(LegEnd::Ended);
                }
                Flow::End(status) => {
                    self.finish(leg, status).await?;
                    return Ok(LegEnd::Ended);
                }
                Flow::Goto(next) => source = next,
                Flow::Interrupted(sid, action) if leg.owns(&sid) => match action {
                    Action::Redirect(next) => {
                        self.note(&leg.call, json!({"verb": "redirect", "by": "api"})).await?;
                        source = next;
                    }
                    Action::Hangup => {
                        self.note(&leg.call, json!({"verb": "hangup", "by": "caller"})).await?;
                        self.finish(leg, "completed").await?;
                        return Ok(LegEnd::Ended);
                    }
                    _ => {
                        self.note(&leg.call, json!({"verb": "hangup", "by": "api"})).await?;
                        self.finish(leg, "completed").await?;
                        return Ok(LegEnd::Ended);
                    }
                },
                Flow::Interrupted(sid, action) => {
                    self.finish(leg, "completed").await?;
                    return Ok(LegEnd::Interrupted(sid, action));
                }
            }
        }
    }

    /// Ends the leg (and the dialed leg it answers for) with `status`, unless it ended already.
    async fn finish(&mut self, leg: &mut Leg, status: &str) -> Result<(), StoreError> {
        if !leg.call.ended() {
            let status = if leg.call.answer_time.is_some() {
                "completed"
            } else {
                status
            };
            self.advance(&mut leg.call, status).await?;
        }
        Ok(())
    }

    /// Answers a ringing leg (any verb but `<Reject>` does), with the dialed leg it answers for;
    /// a first leg's time limit starts.
    async fn answer(&mut self, leg: &mut Leg) -> Result<(), StoreError> {
        if leg.call.status != "ringing" {
            return Ok(());
        }
        self.advance(&mut leg.call, "in-progress").await?;
        if let Some(mut bridge) = leg.bridge.take() {
            self.advance(&mut bridge, "in-progress").await?;
            leg.bridge = Some(bridge);
        }
        if leg.call.sid == self.root && self.deadline.is_none() {
            self.deadline = Some(self.state.clock.now() + super::MAX_CALL_SECONDS);
        }
        Ok(())
    }

    /// What the caller hears when the TwiML cannot be had: Twilio's apology, then the end.
    async fn application_error(&mut self, leg: &mut Leg) -> Result<(), StoreError> {
        self.answer(leg).await?;
        self.note(
            &leg.call,
            json!({"verb": "say", "text": APPLICATION_ERROR, "by": "twilio"}),
        )
        .await?;
        self.finish(leg, "completed").await
    }

    async fn execute(&mut self, leg: &mut Leg, document: &Document) -> Result<Flow, StoreError> {
        let url = document.url.as_deref();
        for verb in &document.root.children {
            if verb.name != "Reject" {
                self.answer(leg).await?;
            }
            let flow = match verb.name.as_str() {
                "Say" | "Play" | "Pause" => {
                    self.prompt(&leg.call, verb, url).await?;
                    Flow::Next
                }
                "Gather" => self.gather(leg, verb, url).await?,
                "Record" => self.record(leg, verb, url).await?,
                "Dial" => self.dial(leg, verb, url).await?,
                "Redirect" => self.redirect(&leg.call, verb, url).await?,
                "Hangup" => {
                    self.note(&leg.call, json!({"verb": "hangup"})).await?;
                    Flow::End("completed")
                }
                "Reject" => {
                    let reason = verb.attribute("reason").unwrap_or("rejected");
                    self.note(&leg.call, json!({"verb": "reject", "reason": reason}))
                        .await?;
                    Flow::End(if reason == "busy" { "busy" } else { "no-answer" })
                }
                "Enqueue" => self.enqueue(leg, verb).await?,
                "Leave" => {
                    self.note(&leg.call, json!({"verb": "leave"})).await?;
                    Flow::Next
                }
                name if NOT_SIMULATED.contains(&name) => {
                    let entry =
                        json!({"verb": name.to_ascii_lowercase(), "simulated": false, "attributes": attributes(verb)});
                    self.note(&leg.call, entry).await?;
                    Flow::Next
                }
                other => {
                    let text = format!("<{other}> is not a TwiML voice verb");
                    self.raise(&leg.call, 12200, text, None).await?;
                    self.application_error(leg).await?;
                    Flow::End("completed")
                }
            };
            if !matches!(flow, Flow::Next) {
                return Ok(flow);
            }
        }
        Ok(Flow::Next)
    }

    /// `<Say>`, `<Play>` and `<Pause>`: heard by the caller, so written down.
    async fn prompt(&self, call: &Call, verb: &Element, url: Option<&str>) -> Result<(), StoreError> {
        let entry = match verb.name.as_str() {
            "Say" => json!({
                "verb": "say",
                "text": all_text(verb),
                "voice": verb.attribute("voice").unwrap_or("man"),
                "language": verb.attribute("language").unwrap_or("en-US"),
                "loop": number(verb, "loop", 1u32),
            }),
            "Play" => match verb.attribute("digits") {
                Some(digits) => json!({"verb": "play", "digits": digits}),
                None => json!({
                    "verb": "play",
                    "url": resolve(url, &verb.text),
                    "loop": number(verb, "loop", 1u32),
                }),
            },
            _ => json!({"verb": "pause", "length": number(verb, "length", 1u32)}),
        };
        self.note(call, entry).await
    }

    async fn redirect(&self, call: &Call, verb: &Element, url: Option<&str>) -> Result<Flow, StoreError> {
        let method = verb.attribute("method").unwrap_or("POST").to_string();
        let Some(target) = webhook_target(url, &verb.text) else {
            let text = format!("<Redirect> to an invalid URL {:?}", verb.text);
            self.raise(call, 12100, text, None).await?;
            return Ok(Flow::End("completed"));
        };
        self.note(call, json!({"verb": "redirect", "url": target, "method": method}))
            .await?;
        Ok(Flow::Goto(Source::Url {
            url: target,
            method,
            extra: Vec::new(),
        }))
    }

    /// `<Gather>`: its prompts, then the caller's keys or words go to `action`; nothing (or only
    /// the finishing key) falls through to the next verb, unless `actionOnEmptyResult`.
    async fn gather(&mut self, leg: &mut Leg, verb: &Element, url: Option<&str>) -> Result<Flow, StoreError> {
        let kinds: Vec<String> = verb
            .attribute("input")
            .unwrap_or("dtmf")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let num_digits: Option<usize> = verb
            .attribute("numDigits")
            .and_then(|n| n.parse().ok())
            .filter(|n| *n > 0);
        let finish_on_key = verb.attribute("finishOnKey").unwrap_or("#").chars().next();
        let timeout: u32 = number(verb, "timeout", 5);
        let action = action_of(verb, url);
        let method = verb.attribute("method").unwrap_or("POST").to_string();
        self.note(
            &leg.call,
            json!({
                "verb": "gather",
                "input": kinds,
                "num_digits": num_digits,
                "finish_on_key": finish_on_key.map(String::from).unwrap_or_default(),
                "timeout": timeout,
                "action": action,
            }),
        )
        .await?;
        for child in &verb.children {
            match child.name.as_str() {
                "Say" | "Play" | "Pause" => self.prompt(&leg.call, child, url).await?,
                other => {
                    let text = format!("<{other}> cannot be nested in <Gather>; it was skipped");
                    self.raise(&leg.call, 12200, text, None).await?;
                }
            }
        }
        let awaiting = json!({
            "verb": "gather",
            "call_sid": leg.call.sid,
            "input": kinds,
            "num_digits": num_digits,
            "finish_on_key": finish_on_key.map(String::from).unwrap_or_default(),
            "timeout": timeout,
            "speech_timeout": verb.attribute("speechTimeout"),
        });
        let (dtmf, speech) = (kinds.iter().any(|k| k == "dtmf"), kinds.iter().any(|k| k == "speech"));
        let result = loop {
            let input = match self.wait(awaiting.clone(), None).await {
                Heard::Input(input) => input,
                Heard::Interrupt(sid, action) => return Ok(Flow::Interrupted(sid, action)),
                Heard::Timeout => Input::default(),
            };
            self.note_input(&leg.call, &input).await?;
            match (&input.digits, &input.speech) {
                (_, Some(words)) if speech => break params::gathered("", None, Some(words)),
                (Some(keys), _) if dtmf => {
                    let (digits, finished) = collect_digits(keys, num_digits, finish_on_key);
                    if digits.is_empty() && !flag(verb, "actionOnEmptyResult") {
                        return Ok(Flow::Next);
                    }
                    break params::gathered(&digits, finished, None);
                }
                (None, None) if flag(verb, "actionOnEmptyResult") => break params::gathered("", None, None),
                (None, None) => return Ok(Flow::Next),
                _ => {
                    let note =
                        json!({"verb": "ignored", "reason": format!("this <Gather> listens for {}", kinds.join(" "))});
                    self.note(&leg.call, note).await?;
                }
            }
        };
        self.act_on(&leg.call, action, method, result).await
    }

    /// Goes to a verb's `action` with `extra`, or on with the next verb when it has none (inline
    /// TwiML with no `action`).
    async fn act_on(
        &self,
        call: &Call,
        action: Option<String>,
        method: String,
        extra: Params,
    ) -> Result<Flow, StoreError> {
        match action {
            Some(url) => Ok(Flow::Goto(Source::Url { url, method, extra })),
            None => {
                let note =
                    json!({"verb": "ignored", "reason": "no action URL and no document URL to post the result to"});
                self.note(call, note).await?;
                Ok(Flow::Next)
            }
        }
    }

    async fn note_input(&self, call: &Call, input: &Input) -> Result<(), StoreError> {
        let mut entry = json!({"verb": "input", "by": "caller"});
        match (&input.digits, &input.speech) {
            (None, None) => entry["timeout"] = json!(true),
            (digits, speech) => {
                if let Some(d) = digits {
                    entry["digits"] = json!(d);
                }
                if let Some(s) = speech {
                    entry["speech"] = json!(s);
                }
            }
        }
        self.note(call, entry).await
    }

    /// `<Record>`: what the caller says (or a key) makes a silent recording posted to `action`;
    /// an empty recording (silence until the timeout) falls through, as on Twilio.
    async fn record(&mut self, leg: &mut Leg, verb: &Element, url: Option<&str>) -> Result<Flow, StoreError> {
        let finish_on_key = verb.attribute("finishOnKey").unwrap_or("1234567890*#").to_string();
        let max_length: i64 = number(verb, "maxLength", 3600);
        let timeout: u32 = number(verb, "timeout", 5);
        let action = action_of(verb, url);
        let method = verb.attribute("method").unwrap_or("POST").to_string();
        let play_beep = verb
            .attribute("playBeep")
            .is_none_or(|v| !v.eq_ignore_ascii_case("false"));
        self.note(
            &leg.call,
            json!({
                "verb": "record",
                "finish_on_key": finish_on_key,
                "max_length": max_length,
                "timeout": timeout,
                "play_beep": play_beep,
                "transcribe": flag(verb, "transcribe") || verb.attribute("transcribeCallback").is_some(),
                "action": action,
            }),
        )
        .await?;
        let awaiting = json!({
            "verb": "record",
            "call_sid": leg.call.sid,
            "input": ["speech", "dtmf"],
            "finish_on_key": finish_on_key,
            "timeout": timeout,
            "max_length": max_length,
        });
        let input = match self.wait(awaiting, None).await {
            Heard::Input(input) => input,
            Heard::Interrupt(sid, action) => return Ok(Flow::Interrupted(sid, action)),
            Heard::Timeout => Input::default(),
        };
        self.note_input(&leg.call, &input).await?;
        let key = input
            .digits
            .as_deref()
            .and_then(|d| d.chars().find(|c| finish_on_key.contains(*c)));
        let speech = input.speech.clone().unwrap_or_default();
        if speech.is_empty() && key.is_none() {
            self.note(&leg.call, json!({"verb": "recording", "empty": true}))
                .await?;
            return Ok(Flow::Next);
        }
        let now = self.state.clock.now();
        let duration = if speech.is_empty() { 1 } else { spoken_seconds(&speech) }.min(max_length);
        let recording = calls::Recording {
            sid: String::new(),
            call_sid: leg.call.sid.clone(),
            duration,
            source: "RecordVerb".into(),
            speech: speech.clone(),
            date_created: now,
            start_time: now,
        };
        let recording = self
            .state
            .store
            .call(move |c| calls::add_recording(c, &recording))
            .await?;
        let recording_url = self.recording_url(&recording.sid);
        self.note(
            &leg.call,
            json!({
                "verb": "recording",
                "recording_sid": recording.sid,
                "duration": duration,
                "url": recording_url,
                "speech": speech,
            }),
        )
        .await?;
        let recorded = params::recorded(&recording_url, &recording.sid, duration);
        if let Some(callback) = verb
            .attribute("recordingStatusCallback")
            .and_then(|u| webhook_target(url, u))
        {
            let method = verb.attribute("recordingStatusCallbackMethod").unwrap_or("POST");
            let mut extra = recorded.clone();
            extra.extend([
                ("RecordingStatus".to_string(), "completed".to_string()),
                ("RecordingChannels".to_string(), "1".to_string()),
                ("RecordingSource".to_string(), "RecordVerb".to_string()),
                ("RecordingStartTime".to_string(), crate::api::wire::v2010::date(now)),
            ]);
            self.notify(&leg.call, &callback, method, extra).await?;
        }
        if let Some(callback) = verb
            .attribute("transcribeCallback")
            .and_then(|u| webhook_target(url, u))
        {
            let sid = crate::sid::generate(crate::sid::prefix::TRANSCRIPTION);
            let mut extra = recorded.clone();
            extra.extend([
                ("TranscriptionSid".to_string(), sid.clone()),
                ("TranscriptionText".to_string(), speech.clone()),
                (
                    "TranscriptionStatus".to_string(),
                    if speech.is_empty() { "failed" } else { "completed" }.to_string(),
                ),
                (
                    "TranscriptionUrl".to_string(),
                    format!(
                        "{}/Transcriptions/{sid}",
                        recording_url.rsplit_once("/Recordings").map_or("", |(a, _)| a)
                    ),
                ),
                ("TranscriptionType".to_string(), "fast".to_string()),
            ]);
            self.notify(&leg.call, &callback, "POST", extra).await?;
        }
        let mut extra = recorded;
        if let Some(key) = key {
            extra.push(("Digits".to_string(), key.to_string()));
        }
        self.act_on(&leg.call, action, method, extra).await
    }

    /// `<Enqueue>`: the caller waits in the queue (logged; no agent dequeues here) until they hang
    /// up or the API moves the call on.
    async fn enqueue(&mut self, leg: &mut Leg, verb: &Element) -> Result<Flow, StoreError> {
        let queue = verb.text.clone();
        self.note(
            &leg.call,
            json!({"verb": "enqueue", "queue": queue, "attributes": attributes(verb)}),
        )
        .await?;
        let awaiting = json!({"verb": "enqueue", "call_sid": leg.call.sid, "queue": queue, "input": []});
        loop {
            match self.wait(awaiting.clone(), None).await {
                Heard::Interrupt(sid, action) => return Ok(Flow::Interrupted(sid, action)),
                Heard::Input(input) => self.note_input(&leg.call, &input).await?,
                Heard::Timeout => {}
            }
        }
    }

    /// `<Dial>`: rings its numbers (or clients, SIP addresses) one after the other until one
    /// answers, or joins a conference or queue; when the dialed leg ends, posts `DialCallStatus`
    /// to `action`, or goes on with the next verb.
    async fn dial(&mut self, leg: &mut Leg, verb: &Element, url: Option<&str>) -> Result<Flow, StoreError> {
        let targets = dial_targets(verb);
        let action = verb.attribute("action").and_then(|a| webhook_target(url, a));
        let method = verb.attribute("method").unwrap_or("POST").to_string();
        let dial = Dial {
            caller_id: verb.attribute("callerId").unwrap_or(&leg.call.from).to_string(),
            timeout: number(verb, "timeout", 30),
            time_limit: number(verb, "timeLimit", super::MAX_CALL_SECONDS),
            hangup_on_star: flag(verb, "hangupOnStar"),
        };
        let shown: Vec<Value> = targets.iter().map(Target::describe).collect();
        self.note(&leg.call, json!({"verb": "dial", "targets": shown, "caller_id": dial.caller_id, "timeout": dial.timeout, "action": action}))
            .await?;
        if targets.is_empty() {
            self.raise(&leg.call, 12200, "<Dial> names nothing to dial".into(), None)
                .await?;
            return Ok(Flow::Next);
        }
        let mut outcome = ("failed".to_string(), None);
        for target in &targets {
            match self.ring(leg, target, &dial).await? {
                Rung::Interrupted(sid, action) => return Ok(Flow::Interrupted(sid, action)),
                Rung::Done(status, dialed) => {
                    let answered = status == "completed";
                    outcome = (status, dialed);
                    if answered {
                        break;
                    }
                }
            }
        }
        let (status, dialed) = outcome;
        self.note(
            &leg.call,
            json!({
                "verb": "dial-ended",
                "dial_call_status": status,
                "dial_call_sid": dialed.as_ref().map(|c| c.sid.clone()),
                "dial_call_duration": dialed.as_ref().and_then(|c| c.duration()),
            }),
        )
        .await?;
        match action {
            Some(url) => Ok(Flow::Goto(Source::Url {
                url,
                method,
                extra: params::dialed(&status, dialed.as_deref()),
            })),
            None => Ok(Flow::Next),
        }
    }

    /// Rings one target and stays connected until the dialed leg ends.
    async fn ring(&mut self, leg: &mut Leg, target: &Target, dial: &Dial) -> Result<Rung, StoreError> {
        let to = match target {
            Target::Room { kind, name } => return self.join_room(leg, kind, name, dial).await,
            Target::Party { to, .. } => to.clone(),
        };
        let (callback, events, callback_method) = target.status_callback();
        let new = NewCall {
            root_sid: Some(self.root.clone()),
            parent_call_sid: Some(leg.call.sid.clone()),
            direction: "outbound-dial".into(),
            from: dial.caller_id.clone(),
            to: to.clone(),
            status: "queued".into(),
            status_callback: callback,
            status_callback_method: callback_method,
            status_callback_events: events,
            ..NewCall::default()
        };
        let now = self.state.clock.now();
        let mut dialed = self.state.store.call(move |c| calls::create(c, &new, now)).await?;
        self.adopt(&dialed);
        super::session::announce(&self.state, &dialed, None);
        self.advance(&mut dialed, "initiated").await?;
        let wanted = to.clone();
        let owned = self.state.store.call(move |c| numbers::by_number(c, &wanted)).await?;
        if owned.is_some() && leg.depth + 1 >= MAX_DIAL_DEPTH {
            let text =
                format!("<Dial> nested {MAX_DIAL_DEPTH} calls deep between the account's numbers; {to} was not rung");
            self.raise(&leg.call, 12200, text, None).await?;
            self.advance(&mut dialed, "failed").await?;
            return Ok(Rung::Done("failed".into(), Some(Box::new(dialed))));
        }
        let answering = if owned.is_some() {
            Answering::Answers
        } else {
            magic::answering(&to)
        };
        if answering == Answering::Fails {
            self.advance(&mut dialed, "failed").await?;
            return Ok(Rung::Done("failed".into(), Some(Box::new(dialed))));
        }
        self.advance(&mut dialed, "ringing").await?;
        if let Some(number) = owned {
            return self.ring_number(leg, dialed, number).await;
        }
        match answering {
            Answering::Busy => {
                self.advance(&mut dialed, "busy").await?;
                return Ok(Rung::Done("busy".into(), Some(Box::new(dialed))));
            }
            Answering::NoAnswer => {
                let until = self.state.clock.now() + dial.timeout;
                let ringing = json!({"verb": "dial", "call_sid": leg.call.sid, "dial_call_sid": dialed.sid, "ringing": true, "input": []});
                loop {
                    match self.wait(ringing.clone(), Some(until)).await {
                        Heard::Timeout => {
                            self.advance(&mut dialed, "no-answer").await?;
                            return Ok(Rung::Done("no-answer".into(), Some(Box::new(dialed))));
                        }
                        Heard::Interrupt(sid, _) if sid == dialed.sid => {
                            self.advance(&mut dialed, "busy").await?;
                            return Ok(Rung::Done("busy".into(), Some(Box::new(dialed))));
                        }
                        Heard::Interrupt(sid, action) => {
                            self.advance(&mut dialed, "canceled").await?;
                            return Ok(Rung::Interrupted(sid, action));
                        }
                        Heard::Input(input) => self.note_input(&leg.call, &input).await?,
                    }
                }
            }
            Answering::Answers | Answering::Fails => {}
        }
        self.advance(&mut dialed, "in-progress").await?;
        self.note(
            &leg.call,
            json!({"verb": "connected", "dial_call_sid": dialed.sid, "to": to}),
        )
        .await?;
        let until = self.state.clock.now() + dial.time_limit;
        let input = if dial.hangup_on_star { vec!["dtmf"] } else { vec![] };
        let connected =
            json!({"verb": "dial", "call_sid": leg.call.sid, "dial_call_sid": dialed.sid, "to": to, "input": input});
        loop {
            match self.wait(connected.clone(), Some(until)).await {
                Heard::Timeout => break,
                Heard::Interrupt(sid, _) if sid == dialed.sid => {
                    self.note(&dialed, json!({"verb": "hangup", "by": "callee"})).await?;
                    break;
                }
                Heard::Interrupt(sid, action) => {
                    self.advance(&mut dialed, "completed").await?;
                    return Ok(Rung::Interrupted(sid, action));
                }
                Heard::Input(input) => {
                    self.note_input(&leg.call, &input).await?;
                    if dial.hangup_on_star && input.digits.is_some_and(|d| d.contains('*')) {
                        break;
                    }
                }
            }
        }
        self.advance(&mut dialed, "completed").await?;
        Ok(Rung::Done("completed".into(), Some(Box::new(dialed))))
    }

    /// Dialing one of the account's numbers: the number gets a call of its own, answered by its
    /// `voice_url` with the caller on the line, and the dialed leg lasts as long as that call.
    async fn ring_number(&mut self, leg: &mut Leg, dialed: Call, number: numbers::Number) -> Result<Rung, StoreError> {
        let config = &number.config;
        let new = NewCall {
            root_sid: Some(self.root.clone()),
            direction: "inbound".into(),
            from: dialed.from.clone(),
            to: number.phone_number.clone(),
            phone_number_sid: Some(number.sid.clone()),
            status: "ringing".into(),
            status_callback: Some(config.status_callback.clone()).filter(|u| !u.is_empty()),
            status_callback_method: config.status_callback_method.clone(),
            status_callback_events: vec!["completed".into()],
            ..NewCall::default()
        };
        let now = self.state.clock.now();
        let far = self.state.store.call(move |c| calls::create(c, &new, now)).await?;
        self.adopt(&far);
        super::session::announce(&self.state, &far, None);
        let fallback = Some((config.voice_fallback_url.clone(), config.voice_fallback_method.clone()))
            .filter(|(url, _)| !url.is_empty());
        let mut far_leg = Leg::new(far, fallback, leg.depth + 1);
        far_leg.bridge = Some(dialed);
        let ended = if config.voice_url.is_empty() {
            self.note(
                &far_leg.call,
                json!({"verb": "hangup", "reason": "the number has no voice_url"}),
            )
            .await?;
            self.advance(&mut far_leg.call, "no-answer").await?;
            LegEnd::Ended
        } else {
            let source = Source::Url {
                url: config.voice_url.clone(),
                method: config.voice_method.clone(),
                extra: Vec::new(),
            };
            Box::pin(self.run_leg(&mut far_leg, source)).await?
        };
        let mut dialed = far_leg.bridge.take().unwrap_or_else(|| far_leg.call.clone());
        let sid = dialed.sid.clone();
        dialed = self.state.store.call(move |c| calls::get(c, &sid)).await?;
        if !dialed.ended() {
            let status = if dialed.answer_time.is_some() {
                "completed"
            } else {
                far_leg.call.status.as_str()
            };
            let status = status.to_string();
            self.advance(&mut dialed, &status).await?;
        }
        Ok(match ended {
            LegEnd::Interrupted(sid, action) => Rung::Interrupted(sid, action),
            LegEnd::Ended => Rung::Done(dialed.status.clone(), Some(Box::new(dialed))),
        })
    }

    /// A `<Conference>` or `<Queue>` noun: the caller is in the room (logged; nobody else joins)
    /// until they hang up, press `*` with `hangupOnStar`, or the API moves the call on.
    async fn join_room(&mut self, leg: &mut Leg, kind: &str, name: &str, dial: &Dial) -> Result<Rung, StoreError> {
        self.note(&leg.call, json!({"verb": "joined", "kind": kind, "name": name}))
            .await?;
        let input = if dial.hangup_on_star { vec!["dtmf"] } else { vec![] };
        let awaiting = json!({"verb": "dial", "call_sid": leg.call.sid, kind: name, "input": input});
        let until = self.state.clock.now() + dial.time_limit;
        loop {
            match self.wait(awaiting.clone(), Some(until)).await {
                Heard::Timeout => return Ok(Rung::Done("completed".into(), None)),
                Heard::Interrupt(sid, action) => return Ok(Rung::Interrupted(sid, action)),
                Heard::Input(input) => {
                    self.note_input(&leg.call, &input).await?;
                    if dial.hangup_on_star && input.digits.is_some_and(|d| d.contains('*')) {
                        return Ok(Rung::Done("completed".into(), None));
                    }
                }
            }
        }
    }
}

/// What a `<Dial>`'s attributes ask for.
struct Dial {
    caller_id: String,
    timeout: i64,
    time_limit: i64,
    hangup_on_star: bool,
}

/// How ringing one target ended.
enum Rung {
    /// The dialed leg ended with this `DialCallStatus`.
    Done(String, Option<Box<Call>>),
    Interrupted(String, Action),
}

/// What a `<Dial>` can ring.
enum Target {
    /// A number, a client or a SIP address, with the noun's attributes.
    Party {
        kind: &'static str,
        to: String,
        noun: Element,
    },
    /// A conference or a queue.
    Room { kind: &'static str, name: String },
}

impl Target {
    fn describe(&self) -> Value {
        match self {
            Target::Party { kind, to, .. } => json!({"kind": kind, "to": to}),
            Target::Room { kind, name } => json!({"kind": kind, "name": name}),
        }
    }

    /// The noun's status callback, events (Twilio's default: `completed`) and method.
    fn status_callback(&self) -> (Option<String>, Vec<String>, String) {
        let Target::Party { noun, .. } = self else {
            return (None, Vec::new(), "POST".into());
        };
        let events = noun
            .attribute("statusCallbackEvent")
            .map(|e| {
                e.split([' ', ','])
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_else(|| vec!["completed".to_string()]);
        (
            noun.attribute("statusCallback").map(str::to_string),
            events,
            noun.attribute("statusCallbackMethod").unwrap_or("POST").to_string(),
        )
    }
}

/// The nouns of a `<Dial>`: its text is a number; nested nouns otherwise.
fn dial_targets(verb: &Element) -> Vec<Target> {
    if verb.children.is_empty() {
        return Some(verb.text.trim())
            .filter(|t| !t.is_empty())
            .map(|to| Target::Party {
                kind: "number",
                to: to.to_string(),
                noun: verb.clone(),
            })
            .into_iter()
            .collect();
    }
    verb.children
        .iter()
        .filter_map(|noun| {
            let text = noun.text.trim().to_string();
            Some(match noun.name.as_str() {
                "Number" => Target::Party {
                    kind: "number",
                    to: text,
                    noun: noun.clone(),
                },
                "Client" => {
                    let identity = noun.children_named("Identity").next().map_or(text, |i| i.text.clone());
                    Target::Party {
                        kind: "client",
                        to: format!("client:{identity}"),
                        noun: noun.clone(),
                    }
                }
                "Sip" => Target::Party {
                    kind: "sip",
                    to: text,
                    noun: noun.clone(),
                },
                "Conference" => Target::Room {
                    kind: "conference",
                    name: text,
                },
                "Queue" => Target::Room {
                    kind: "queue",
                    name: text,
                },
                _ => return None,
            })
        })
        .collect()
}

/// The keys a `<Gather>` keeps: up to `num_digits`, stopping at the finishing key (returned).
fn collect_digits(keys: &str, num_digits: Option<usize>, finish_on_key: Option<char>) -> (String, Option<char>) {
    let mut digits = String::new();
    for key in keys.chars() {
        if Some(key) == finish_on_key {
            return (digits, Some(key));
        }
        digits.push(key);
        if num_digits.is_some_and(|n| digits.len() >= n) {
            break;
        }
    }
    (digits, None)
}

/// A verb's `action`, absolute, defaulting to the document's own URL.
fn action_of(verb: &Element, url: Option<&str>) -> Option<String> {
    match verb.attribute("action") {
        Some(action) => webhook_target(url, action),
        None => url.map(str::to_string),
    }
}

/// `reference` resolved against the document's URL (a bare path stays one for the live project
/// when there is no document URL).
fn webhook_target(url: Option<&str>, reference: &str) -> Option<String> {
    let reference = reference.trim();
    if reference.is_empty() {
        return None;
    }
    match url {
        Some(base) => webhook::resolve(base, reference),
        None if reference.starts_with('/') || reference.starts_with("http") => Some(reference.to_string()),
        None => None,
    }
}

fn resolve(url: Option<&str>, reference: &str) -> String {
    webhook_target(url, reference).unwrap_or_else(|| reference.trim().to_string())
}

fn attributes(verb: &Element) -> Value {
    Value::Object(
        verb.attributes
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone::twiml;

    #[test]
    fn gathered_digits_stop_at_the_count_or_the_finishing_key() {
        assert_eq!(collect_digits("123#", None, Some('#')), ("123".into(), Some('#')));
        assert_eq!(collect_digits("12345", Some(2), Some('#')), ("12".into(), None));
        assert_eq!(collect_digits("#", None, Some('#')), (String::new(), Some('#')));
        assert_eq!(collect_digits("1#2", None, None), ("1#2".into(), None));
    }

    #[test]
    fn dial_nouns_and_bare_numbers_are_targets() {
        let doc = twiml::parse(
            "<Response><Dial>+14155550100</Dial><Dial><Number>+1</Number><Client><Identity>ada</Identity></Client><Conference>room</Conference></Dial></Response>",
        )
        .expect("twiml");
        let bare: Vec<Value> = dial_targets(&doc.children[0]).iter().map(Target::describe).collect();
        assert_eq!(bare, vec![json!({"kind": "number", "to": "+14155550100"})]);
        let nouns: Vec<Value> = dial_targets(&doc.children[1]).iter().map(Target::describe).collect();
        assert_eq!(
            nouns,
            vec![
                json!({"kind": "number", "to": "+1"}),
                json!({"kind": "client", "to": "client:ada"}),
                json!({"kind": "conference", "name": "room"}),
            ]
        );
    }

    #[test]
    fn actions_resolve_against_the_document() {
        let doc = twiml::parse(r#"<Response><Gather action="next"/><Gather/></Response>"#).expect("twiml");
        let url = Some("https://a-1234.twil.io/menu/start");
        assert_eq!(
            action_of(&doc.children[0], url).as_deref(),
            Some("https://a-1234.twil.io/menu/next")
        );
        assert_eq!(action_of(&doc.children[1], url).as_deref(), url);
        assert_eq!(action_of(&doc.children[1], None), None);
        assert_eq!(webhook_target(None, "/voice").as_deref(), Some("/voice"));
    }

    #[test]
    fn speech_takes_time_to_say() {
        assert_eq!(spoken_seconds("hi"), 1);
        assert_eq!(spoken_seconds(&"word ".repeat(25)), 10);
    }
}
