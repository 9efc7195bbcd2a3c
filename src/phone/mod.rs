//! The phone network twirl simulates: the account's numbers, handsets (every number the account
//! does not own), message delivery on the emulator's clock, the webhooks Twilio makes (signed, with
//! Twilio's parameters), the TwiML interpreters that carry out their answers, and the alerts raised
//! when something fails. Driven by the APIs, the control endpoints and the clock, never by the
//! HTTP layer directly.

pub mod address;
pub mod alerts;
pub mod lookup;
pub mod magic;
pub mod messaging;
pub mod project;
pub mod twiml;
pub mod voice;
pub mod webhook;

use std::collections::HashSet;
use std::sync::Mutex;

/// The phone network's own state, shared by every handler.
pub struct Phone {
    pub webhooks: webhook::Deliverer,
    /// The calls running now.
    pub calls: voice::Calls,
    /// Messages whose delivery runs now, so each has exactly one.
    delivering: Mutex<HashSet<String>>,
}

impl Phone {
    pub fn new(twirl_url: &str, auth_token: &str) -> Phone {
        Phone {
            webhooks: webhook::Deliverer::new(twirl_url, auth_token),
            calls: voice::Calls::default(),
            delivering: Mutex::default(),
        }
    }

    /// Claims the delivery of `sid`; false when it already runs.
    fn claim(&self, sid: &str) -> bool {
        self.delivering
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(sid.to_string())
    }

    fn release(&self, sid: &str) {
        self.delivering.lock().unwrap_or_else(|e| e.into_inner()).remove(sid);
    }
}
