//! The application state shared by every handler: cheap-clone handles, built once before the
//! HTTP server starts.

use crate::clock::Clock;
use crate::config::Credentials;
use crate::store::Store;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub clock: Clock,
    pub credentials: Arc<Credentials>,
    /// Whether `/_twirl/` is open without credentials (the server is bound to loopback only).
    pub control_open: bool,
}
