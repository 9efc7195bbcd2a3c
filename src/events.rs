//! Live events for the console: function log lines, request lines, live-project problems and
//! dependency installs, messages, calls and alerts of the phone network, verifications, and
//! "something changed" notices, fanned out to every open event stream.

use serde::Serialize;
use tokio::sync::broadcast;

/// Events a slow console may fall behind by before it misses some.
const BACKLOG: usize = 1024;

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A stored log line (its fields as the Log resource has them).
    Log {
        sid: String,
        service_sid: String,
        environment_sid: String,
        build_sid: String,
        deployment_sid: String,
        function_sid: String,
        request_sid: String,
        level: String,
        message: String,
        date_created: String,
    },
    /// A request served at an environment's domain or the live project.
    Request {
        method: String,
        path: String,
        domain: String,
        status: u16,
        duration_ms: f64,
        date: String,
    },
    /// The live project's current problems (empty when all are fixed).
    Problems { problems: Vec<String> },
    /// The live project's dependency set being installed (`is-odd@^3, …`), or `None` once done.
    Dependencies { installing: Option<String> },
    /// A message was created or changed status (the Message resource as the 2010 API renders it).
    Message { message: serde_json::Value },
    /// A call leg was created or changed status, or its transcript grew by `line`.
    Call {
        call: serde_json::Value,
        line: Option<serde_json::Value>,
    },
    /// An alert was raised.
    Alert {
        sid: String,
        error_code: String,
        log_level: String,
        alert_text: String,
        resource_sid: Option<String>,
        request_url: Option<String>,
    },
    /// A verification was started, sent again, checked or ended.
    Verification {
        service_sid: String,
        sid: String,
        status: String,
    },
    /// Stored state changed (an API write, a live reload): lists may be stale.
    Changed,
    /// A Sync service's objects or items changed: views of that service may be stale.
    SyncChanged { service_sid: String },
    /// A message published to a Sync message stream (Twilio keeps none, so this is where it shows).
    SyncStreamMessage {
        service_sid: String,
        stream_sid: String,
        sid: String,
        data: serde_json::Value,
    },
}

/// A cheap-clone handle on the fan-out.
#[derive(Clone)]
pub struct Events {
    tx: broadcast::Sender<Event>,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            tx: broadcast::channel(BACKLOG).0,
        }
    }
}

impl Events {
    /// Sends to whoever listens; with nobody listening the event is simply dropped.
    pub fn send(&self, event: Event) {
        let _ = self.tx.send(event);
    }

    /// Whether any console listens, so events costly to build can be skipped when none does.
    pub fn listened(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}
