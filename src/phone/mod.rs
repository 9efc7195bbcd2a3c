//! The phone network twirl simulates: the account's numbers, handsets (every number the account
//! does not own), message delivery on the emulator's clock, the webhooks Twilio makes (signed, with
//! Twilio's parameters), the TwiML interpreters that carry out their answers, and the alerts raised
//! when something fails. Driven by the APIs, the control endpoints and the clock, never by the
//! HTTP layer directly.

pub mod address;
pub mod alerts;
pub mod magic;
pub mod messaging;
pub mod twiml;
pub mod webhook;

/// The phone network's own state, shared by every handler.
pub struct Phone {
    pub webhooks: webhook::Deliverer,
}

impl Phone {
    pub fn new(twirl_url: &str, auth_token: &str) -> Phone {
        Phone {
            webhooks: webhook::Deliverer::new(twirl_url, auth_token),
        }
    }
}
