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
    /// Start twirl with throwaway state on a free port (or use a running one, with --url), run a
    /// command against it, and exit with the command's status.
    Exec(ExecArgs),
    /// Deploy a Serverless Toolkit project into a running twirl, as `twilio-run deploy` does.
    Deploy(DeployArgs),
    /// Print the variables that point commands at a running twirl, for `eval "$(twirl env)"`.
    Env(ControlArgs),
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
    #[arg(long, default_value = crate::phone::magic::DEFAULT_HANDSET)]
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
    #[arg(long, default_value = crate::phone::magic::DEFAULT_HANDSET)]
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
    /// Run the command against the twirl already running at URL (its state and account) instead
    /// of starting one.
    #[arg(long, value_name = "URL", conflicts_with_all = ["port", "host", "data", "fixtures", "api_keys", "node", "cache", "allow_unsigned"])]
    pub url: Option<String>,
    #[command(flatten)]
    pub run: RunArgs,
    /// The command to run, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// How to reach a running twirl, and as which account.
#[derive(Debug, Clone, Args)]
pub struct ControlArgs {
    /// twirl's address.
    #[arg(long, env = "TWIRL_URL", default_value = "http://127.0.0.1:3000")]
    pub url: String,
    /// The account to authenticate as [default: the one twirl reports on loopback, else
    /// TWILIO_ACCOUNT_SID].
    #[arg(long, env = "TWIRL_ACCOUNT_SID", requires = "auth_token")]
    pub account_sid: Option<String>,
    /// That account's auth token [default: as the account].
    #[arg(long, env = "TWIRL_AUTH_TOKEN", requires = "account_sid")]
    pub auth_token: Option<String>,
}

/// Options of `twirl deploy`, named as `twilio-run deploy` names them.
#[derive(Debug, Clone, Args)]
pub struct DeployArgs {
    /// The project directory.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub control: ControlArgs,
    /// The service's unique name [default: package.json's name].
    #[arg(long, short = 'n')]
    pub service_name: Option<String>,
    /// The environment: its domain suffix (created when missing), or its ZE SID.
    #[arg(long, default_value = "dev")]
    pub environment: String,
    /// Deploy to the production environment, the one without a domain suffix.
    #[arg(long, conflicts_with = "environment")]
    pub production: bool,
    /// Deploy into an existing service of that name even if this project did not create it.
    #[arg(long)]
    pub override_existing_project: bool,
    /// The same as --override-existing-project.
    #[arg(long)]
    pub force: bool,
    /// The build's runtime, e.g. node22 [default: the service's last build's].
    #[arg(long)]
    pub runtime: Option<String>,
    /// Deploy no functions.
    #[arg(long)]
    pub no_functions: bool,
    /// Deploy no assets.
    #[arg(long)]
    pub no_assets: bool,
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

/// Options of every command that starts a twirl (`serve`, `exec`).
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Port to listen on; 0 picks any free port [default: 3000 for serve, 0 for exec].
    #[arg(long, env = "TWIRL_PORT")]
    pub port: Option<u16>,

    /// Address to listen on.
    #[arg(long, env = "TWIRL_HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// Where state is kept [default: DIR/.twirl for serve, a temporary directory for exec].
    #[arg(long, env = "TWIRL_DATA")]
    pub data: Option<PathBuf>,

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

    /// Serve protected functions and assets without checking X-Twilio-Signature (for trying
    /// them by hand; never what Twilio does).
    #[arg(long, env = "TWIRL_ALLOW_UNSIGNED")]
    pub allow_unsigned: bool,

    /// Concurrent function executions per account; beyond it callers get 429.
    #[arg(long, env = "TWIRL_MAX_CONCURRENCY", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_concurrency: u32,
}

/// Options of `twirl serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The project directory.
    #[arg(default_value = ".", env = "TWIRL_DIR")]
    pub dir: PathBuf,

    #[command(flatten)]
    pub run: RunArgs,

    /// Keep state in a temporary directory, removed at exit.
    #[arg(long, env = "TWIRL_EPHEMERAL", conflicts_with = "data")]
    pub ephemeral: bool,

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
