//! twirl: a local emulator of Twilio Serverless — the Serverless API, a SQLite store, builds,
//! the function runtime, the environments' domains and the control endpoints — in one binary.

pub mod api;
pub mod build;
pub mod cli;
pub mod clock;
pub mod config;
pub mod console;
pub mod control;
pub mod deploy;
pub mod error;
pub mod events;
pub mod exec;
pub mod fixtures;
pub mod gateway;
pub mod live;
pub mod logging;
pub mod phone;
pub mod project;
pub mod redirect;
pub mod remote;
pub mod runtime;
pub mod server;
pub mod sid;
pub mod state;
pub mod store;
pub mod verify;
pub mod watch;

use cli::{Cli, Command};
use error::StartupError;

/// Runs the parsed command line; returns the process's exit status.
pub async fn run(cli: Cli) -> Result<u8, StartupError> {
    match cli.command {
        Command::Serve(args) => server::serve(config::Config::from_serve_args(&args)?).await.map(|_| 0),
        Command::Exec(args) => exec::run(args).await,
        Command::Deploy(args) => blocking(move || remote::deploy::run(&args)).await,
        Command::Env(args) => blocking(move || exec::print_env(&args)).await,
        Command::Reset(args) => blocking(move || remote::reset(&args)).await,
        Command::Export(args) => blocking(move || remote::export(&args)).await,
        Command::Clock(args) => blocking(move || remote::clock(&args)).await,
        Command::Health(args) => blocking(move || remote::health(&args)).await,
        Command::Sms(args) => blocking(move || remote::sms(&args)).await,
        Command::Call(args) => blocking(move || remote::dial(&args)).await,
    }
}

/// The control clients block; they run off the async threads.
async fn blocking(f: impl FnOnce() -> Result<(), StartupError> + Send + 'static) -> Result<u8, StartupError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StartupError::Config(e.to_string()))?
        .map(|_| 0)
}
