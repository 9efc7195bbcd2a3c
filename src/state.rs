//! The application state shared by every handler: cheap-clone handles, built once before the
//! HTTP server starts.

use crate::build::deps::DepsCache;
use crate::clock::Clock;
use crate::config::Credentials;
use crate::events::Events;
use crate::fixtures::Source;
use crate::gateway::Gateway;
use crate::live::Live;
use crate::runtime::Runtime;
use crate::store::Store;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub clock: Clock,
    pub credentials: Arc<Credentials>,
    /// Whether `/_twirl/` is open without credentials (the server is bound to loopback only).
    pub control_open: bool,
    pub runtime: Runtime,
    pub gateway: Arc<Gateway>,
    pub paths: Arc<Paths>,
    /// The project `twirl serve` runs in, served at the root.
    pub live: Option<Arc<Live>>,
    /// Protected functions and assets are served without a signature check (local testing by hand).
    pub allow_unsigned: bool,
    /// Live events for the console.
    pub events: Events,
    /// The fixtures loaded at start-up, loaded again on reset.
    pub fixtures: Arc<Vec<Source>>,
    /// The phone network: webhooks, handsets, deliveries.
    pub phone: Arc<crate::phone::Phone>,
}

/// Where builds and dependency sets live on disk.
#[derive(Debug)]
pub struct Paths {
    /// Materialized builds, one directory each.
    pub builds: PathBuf,
    /// The live project's manifest.
    pub live: PathBuf,
    pub deps: DepsCache,
    /// The client redirection files, for workers and the commands `twirl exec` runs.
    pub redirect: crate::redirect::Files,
}

impl AppState {
    /// Stops the worker pools of builds their environment no longer serves (after a deployment
    /// switched away from them), and workers idle too long.
    pub async fn stop_unused_workers(&self) {
        match self.store.call(|c| crate::store::builds::served(c)).await {
            Ok(active) => self.runtime.retain(&active).await,
            Err(e) => log::error!("cannot list active builds: {e}"),
        }
    }
}
