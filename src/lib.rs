//! twirl: a local emulator of Twilio Serverless — the Serverless API, a SQLite store, builds,
//! the function runtime, the environments' domains and the control endpoints — in one binary.

pub mod api;
pub mod build;
pub mod cli;
pub mod clock;
pub mod config;
pub mod console;
pub mod control;
pub mod error;
pub mod events;
pub mod gateway;
pub mod live;
pub mod project;
pub mod runtime;
pub mod server;
pub mod sid;
pub mod state;
pub mod store;
pub mod watch;

use cli::{Cli, Command};
use error::StartupError;

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<(), StartupError> {
    match cli.command {
        Command::Serve(args) => server::serve(config::Config::from_serve_args(&args)?).await,
    }
}
