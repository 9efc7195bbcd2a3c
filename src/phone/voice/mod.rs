//! Voice: calls run by twirl itself. Each call (with every leg `<Dial>` adds to it) is one task, a
//! session, that moves its legs through Twilio's statuses on the emulator's clock, posts the
//! status callbacks asked for, fetches TwiML with Twilio's requests and carries it out verb by
//! verb, writing a transcript of what the caller hears and does. Where the call waits for the
//! caller (a `<Gather>`, a `<Record>`, a bridged `<Dial>`), the session waits for the handset's
//! driver: a test, `twirl call` or the console, through the control endpoints. A driver's action
//! is answered once the session has run to its next wait or to the end, so what it reads next is
//! settled.

mod params;
mod session;
mod verbs;

pub use session::line_json;

use crate::error::{ApiError, StoreError};
use crate::state::AppState;
use crate::store::calls::{self, Call, NewCall};
use crate::store::numbers;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// The longest a call lasts (Twilio's default `TimeLimit`, 4 hours), on the emulator's clock.
pub const MAX_CALL_SECONDS: i64 = 14_400;
/// How long a call placed by the API rings before it is `no-answer` (Twilio's `Timeout`).
pub const DEFAULT_RING_SECONDS: i64 = 60;

/// Where a leg's TwiML comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Fetched with a webhook; `extra` are the verb's parameters added to the call's own.
    Url {
        url: String,
        method: String,
        extra: Vec<(String, String)>,
    },
    /// Given inline (`Twiml` on create or update).
    Twiml(String),
}

/// What the caller does while the call waits: keys, words, or nothing at all (a timeout).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Input {
    pub digits: Option<String>,
    pub speech: Option<String>,
}

/// What a driver or the API asks of a live call.
#[derive(Debug, Clone)]
pub enum Action {
    Input(Input),
    /// The handset on `leg` hangs up.
    Hangup,
    /// New TwiML for the leg (an API update with `Url` or `Twiml`).
    Redirect(Source),
    /// An API update's `Status`: `completed` or `canceled`.
    End(String),
    /// Nothing: answered once the call is waiting or over.
    Settle,
}

struct Command {
    leg: String,
    action: Action,
    done: oneshot::Sender<()>,
}

/// A running session, as the handlers reach it.
#[derive(Clone)]
struct Live {
    commands: mpsc::UnboundedSender<Command>,
    /// What the call waits for now, if it waits.
    awaiting: Arc<Mutex<Option<Value>>>,
    task: Arc<Mutex<Option<tokio::task::AbortHandle>>>,
}

/// The calls running now, by the SID of each of their legs.
#[derive(Default)]
pub struct Calls {
    live: Mutex<HashMap<String, Live>>,
}

impl Calls {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Live>> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, sid: &str) -> Option<Live> {
        self.lock().get(sid).cloned()
    }

    fn add(&self, sid: &str, live: &Live) {
        self.lock().insert(sid.to_string(), live.clone());
    }

    fn remove(&self, sids: &[String]) {
        let mut map = self.lock();
        for sid in sids {
            map.remove(sid);
        }
    }

    /// Whether `sid` is a leg of a running call.
    pub fn is_live(&self, sid: &str) -> bool {
        self.lock().contains_key(sid)
    }

    /// Stops every session at once (a reset, which deletes the calls under them).
    pub fn abort_all(&self) {
        for (_, live) in self.lock().drain() {
            if let Some(task) = live.task.lock().unwrap_or_else(|e| e.into_inner()).take() {
                task.abort();
            }
        }
    }
}

/// A call placed through the API, as its create request asked for it.
#[derive(Debug, Clone)]
pub struct Placed {
    pub from: String,
    pub to: String,
    pub phone_number_sid: Option<String>,
    pub source: Source,
    pub fallback: Option<(String, String)>,
    pub status_callback: Option<String>,
    pub status_callback_method: String,
    pub status_callback_events: Vec<String>,
    pub send_digits: Option<String>,
    pub ring_seconds: i64,
    pub time_limit: i64,
    pub record: bool,
    pub machine_detection: bool,
}

/// How a session starts: answering a handset's call to an owned number, or placing one.
enum Start {
    Inbound(Box<numbers::Number>),
    Placed(Box<Placed>),
}

fn spawn(state: &AppState, call: &Call, start: Start) {
    let (commands, receiver) = mpsc::unbounded_channel();
    let live = Live {
        commands,
        awaiting: Arc::default(),
        task: Arc::default(),
    };
    state.phone.calls.add(&call.sid, &live);
    let session = session::Session::new(state.clone(), call.sid.clone(), receiver, live.clone());
    let call = call.clone();
    let task = tokio::spawn(session.run(call, start));
    *live.task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task.abort_handle());
}

/// A handset calls one of the account's numbers; answers once the call waits or has ended.
pub async fn dial_in(state: &AppState, from: &str, to: &str) -> Result<Call, ApiError> {
    let wanted = to.to_string();
    let number = state
        .store
        .call(move |c| numbers::by_number(c, &wanted))
        .await?
        .ok_or_else(|| ApiError::coded(404, 20404, format!("{to} is not a phone number of this account")))?;
    let new = NewCall {
        direction: "inbound".into(),
        from: from.to_string(),
        to: number.phone_number.clone(),
        phone_number_sid: Some(number.sid.clone()),
        status: "ringing".into(),
        status_callback: Some(number.config.status_callback.clone()).filter(|u| !u.is_empty()),
        status_callback_method: number.config.status_callback_method.clone(),
        status_callback_events: vec!["completed".into()],
        ..NewCall::default()
    };
    let now = state.clock.now();
    let call = state.store.call(move |c| calls::create(c, &new, now)).await?;
    session::announce(state, &call, None);
    spawn(state, &call, Start::Inbound(Box::new(number)));
    act(state, &call.sid, Action::Settle).await?;
    Ok(call)
}

/// Places a call from the API: stored `queued`, then dialed in the background.
pub async fn place(state: &AppState, placed: Placed) -> Result<Call, StoreError> {
    let new = NewCall {
        direction: "outbound-api".into(),
        from: placed.from.clone(),
        to: placed.to.clone(),
        phone_number_sid: placed.phone_number_sid.clone(),
        status: "queued".into(),
        status_callback: placed.status_callback.clone(),
        status_callback_method: placed.status_callback_method.clone(),
        status_callback_events: placed.status_callback_events.clone(),
        ..NewCall::default()
    };
    let now = state.clock.now();
    let call = state.store.call(move |c| calls::create(c, &new, now)).await?;
    session::announce(state, &call, None);
    spawn(state, &call, Start::Placed(Box::new(placed)));
    Ok(call)
}

/// Sends `action` to the live call `sid` and waits until the call waits again or has ended.
/// Returns false when the call is not running (it had ended already).
pub async fn act(state: &AppState, sid: &str, action: Action) -> Result<bool, ApiError> {
    let Some(live) = state.phone.calls.get(sid) else {
        return Ok(false);
    };
    let (done, answered) = oneshot::channel();
    let command = Command {
        leg: sid.to_string(),
        action,
        done,
    };
    if live.commands.send(command).is_err() {
        return Ok(false);
    }
    // A session that ends drops the command's sender: the call is over, which is settled too.
    let _ = answered.await;
    Ok(true)
}

/// What the call waits for now, if it runs and waits.
pub fn awaiting(state: &AppState, sid: &str) -> Option<Value> {
    let live = state.phone.calls.get(sid)?;
    let value = live.awaiting.lock().unwrap_or_else(|e| e.into_inner()).clone();
    value
}

/// Ends the calls a previous run of twirl left unfinished: their sessions are gone. A call
/// running now (a fixture loaded into a running twirl) is left alone.
pub async fn end_unfinished(state: &AppState) -> Result<(), StoreError> {
    let now = state.clock.now();
    let running: Vec<String> = state.phone.calls.lock().keys().cloned().collect();
    state
        .store
        .transaction(move |tx| {
            for call in calls::unfinished(tx)? {
                if running.contains(&call.sid) {
                    continue;
                }
                let status = if call.status == "in-progress" {
                    "completed"
                } else {
                    "failed"
                };
                calls::set_status(tx, &call.sid, status, now)?;
                let entry =
                    serde_json::json!({"verb": "hangup", "by": "twirl", "reason": "twirl stopped during the call"});
                calls::append(tx, &call, now, &entry)?;
            }
            Ok(())
        })
        .await
}
