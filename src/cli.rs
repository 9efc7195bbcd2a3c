//! The command line, parsed with clap. Every flag can also come from a `TWIRL_*` variable.
//! Parsed arguments stay separate from the resolved `Config` (see `config.rs`).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// A local emulator of Twilio Serverless: the API, functions and assets, and their domains.
#[derive(Debug, Parser)]
#[command(name = "twirl", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the Serverless API, the environments' domains and the project in DIR.
    Serve(ServeArgs),
    /// Start twirl with throwaway state on a free port, run a command against it, stop, and exit
    /// with the command's status.
    Exec(ExecArgs),
    /// Reset a running twirl to the fixtures it was started with.
    Reset(ControlArgs),
    /// Print a running twirl's whole state as a fixture.
    Export(ControlArgs),
    /// Show a running twirl's clock, or move it forward (e.g. `--advance 7d`).
    Clock(ClockArgs),
    /// Check that a twirl is up.
    Health(ControlArgs),
    /// Text one of the account's numbers from a simulated handset, and show what happened: the
    /// webhook, the replies, any alert.
    Sms(SmsArgs),
    /// Call one of the account's numbers from a simulated handset: prints what the call says
    /// and reads the keys you press (or takes them from --digits and --say).
    Call(CallArgs),
}

/// Options of `twirl sms`.
#[derive(Debug, Clone, Args)]
pub struct SmsArgs {
    #[command(flatten)]
    pub control: ControlArgs,
    /// The handset the text comes from.
    #[arg(long, default_value = "+14155550100")]
    pub from: String,
    /// The account's number to text.
    #[arg(long)]
    pub to: String,
    /// A media URL to attach (repeatable).
    #[arg(long = "media")]
    pub media: Vec<String>,
    /// Print the turn as JSON, as the control endpoint answers it.
    #[arg(long)]
    pub json: bool,
    /// The text.
    #[arg(default_value = "")]
    pub body: String,
}

/// Options of `twirl call`.
#[derive(Debug, Clone, Args)]
pub struct CallArgs {
    #[command(flatten)]
    pub control: ControlArgs,
    /// The handset the call comes from.
    #[arg(long, default_value = "+14155550100")]
    pub from: String,
    /// The account's number to call.
    #[arg(long)]
    pub to: String,
    /// Keys to press when the call waits, in order with --say (repeatable; "" stays silent).
    #[arg(long, value_name = "KEYS")]
    pub digits: Vec<String>,
    /// A phrase to say when the call waits, in order with --digits (repeatable).
    #[arg(long, value_name = "PHRASE")]
    pub say: Vec<String>,
    /// Print the call's final state as JSON, as the control endpoints answer it.
    #[arg(long)]
    pub json: bool,
}

/// Options of `twirl exec`.
#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// The command to run, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// How to reach a running twirl.
#[derive(Debug, Clone, Args)]
pub struct ControlArgs {
    /// twirl's address.
    #[arg(long, env = "TWIRL_URL", default_value = "http://127.0.0.1:3000")]
    pub url: String,
}

/// Options of `twirl clock`.
#[derive(Debug, Clone, Args)]
pub struct ClockArgs {
    #[command(flatten)]
    pub control: ControlArgs,
    /// How far to move the clock: seconds, or a number with s, m, h or d.
    #[arg(long, value_name = "DURATION")]
    pub advance: Option<String>,
}

/// Options of `twirl serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The project directory.
    #[arg(default_value = ".", env = "TWIRL_DIR")]
    pub dir: PathBuf,

    /// Port to listen on; 0 picks any free port [default: 3000, or 0 for exec].
    #[arg(long, env = "TWIRL_PORT")]
    pub port: Option<u16>,

    /// Address to listen on.
    #[arg(long, env = "TWIRL_HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// Where state is kept [default: DIR/.twirl].
    #[arg(long, env = "TWIRL_DATA", conflicts_with = "ephemeral")]
    pub data: Option<PathBuf>,

    /// Keep state in a temporary directory, removed at exit.
    #[arg(long, env = "TWIRL_EPHEMERAL")]
    pub ephemeral: bool,

    /// Account SID clients authenticate with.
    #[arg(long, env = "TWIRL_ACCOUNT_SID")]
    pub account_sid: Option<String>,

    /// Auth token clients authenticate with.
    #[arg(long, env = "TWIRL_AUTH_TOKEN")]
    pub auth_token: Option<String>,

    /// A fixture to load at start-up and on reset (repeatable).
    #[arg(long = "fixture", env = "TWIRL_FIXTURES", value_delimiter = ',', value_name = "FILE")]
    pub fixtures: Vec<PathBuf>,

    /// An API key accepted for the account, as SK…:SECRET (repeatable).
    #[arg(long = "api-key", env = "TWIRL_API_KEYS", value_delimiter = ',')]
    pub api_keys: Vec<String>,

    /// The Node.js binary that runs functions [default: node on PATH].
    #[arg(long, env = "TWIRL_NODE")]
    pub node: Option<PathBuf>,

    /// Where installed dependency sets are cached, shared by every run [default: ~/.cache/twirl].
    #[arg(long, env = "TWIRL_CACHE")]
    pub cache: Option<PathBuf>,

    /// Open the console in the browser once listening.
    #[arg(long, env = "TWIRL_OPEN")]
    pub open: bool,

    /// Serve nothing at the root when DIR holds no project (instead of the embedded demo), so
    /// the store starts empty.
    #[arg(long, env = "TWIRL_NO_DEMO")]
    pub no_demo: bool,

    /// Do not reload the project when its files change.
    #[arg(long, env = "TWIRL_NO_WATCH")]
    pub no_watch: bool,

    /// Watch by polling, for file systems without change events.
    #[arg(long, env = "TWIRL_POLL", conflicts_with = "no_watch")]
    pub poll: bool,

    /// Run the project's functions under Node's inspector, at HOST:PORT (default 127.0.0.1:9229);
    /// the 10 s execution limit is suspended meanwhile.
    #[arg(long, env = "TWIRL_INSPECT", num_args = 0..=1, default_missing_value = "127.0.0.1:9229", value_name = "HOST:PORT")]
    pub inspect: Option<String>,

    /// Serve protected functions and assets without checking X-Twilio-Signature (for trying
    /// them by hand; never what Twilio does).
    #[arg(long, env = "TWIRL_ALLOW_UNSIGNED")]
    pub allow_unsigned: bool,

    /// Concurrent function executions per account; beyond it callers get 429.
    #[arg(long, env = "TWIRL_MAX_CONCURRENCY", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_concurrency: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }
}
