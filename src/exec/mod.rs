//! `twirl exec`: start twirl with throwaway state on a free port, run a command against it with
//! `TWIRL_URL`, `TWILIO_ACCOUNT_SID` and `TWILIO_AUTH_TOKEN` set, then stop everything and exit
//! with the command's status. Node.js and Python children get the client redirection
//! (`crate::redirect`) preloaded, so official clients reach twirl with no code change.

use crate::cli::ExecArgs;
use crate::config::Config;
use crate::error::StartupError;
use crate::server;

/// The exit status when twirl itself failed, as opposed to the command.
pub const TWIRL_FAILED: u8 = 125;

/// Runs the command against a fresh twirl; returns the exit status to leave with.
pub async fn run(args: ExecArgs) -> Result<u8, StartupError> {
    let config = Config::from_exec_args(&args.serve)?;
    let running = server::start(&config).await?;
    let preload = running.state.paths.redirect.clone();
    let status = run_command(&args.command, &running.url, &config, &preload).await;
    running.stop().await?;
    // `config` owns the throwaway data directory: dropping it removes it.
    drop(config);
    match status {
        Ok(code) => Ok(code),
        Err(e) => Err(StartupError::Config(format!("cannot run {}: {e}", args.command[0]))),
    }
}

/// Prepends `value` to a search-path-like variable.
fn prepend(name: &str, value: &str, separator: &str) -> String {
    match std::env::var(name) {
        Ok(existing) if !existing.is_empty() => format!("{value}{separator}{existing}"),
        _ => value.to_string(),
    }
}

async fn run_command(
    command: &[String],
    url: &str,
    config: &Config,
    preload: &crate::redirect::Files,
) -> std::io::Result<u8> {
    let node_preload = format!("--require {}", preload.node.display());
    let status = tokio::process::Command::new(&command[0])
        .args(&command[1..])
        .env("TWIRL_URL", url)
        .env("TWILIO_ACCOUNT_SID", &config.credentials.account_sid)
        .env("TWILIO_AUTH_TOKEN", &config.credentials.auth_token)
        .env("NODE_OPTIONS", prepend("NODE_OPTIONS", &node_preload, " "))
        .env(
            "PYTHONPATH",
            prepend("PYTHONPATH", &preload.python_path.display().to_string(), ":"),
        )
        .kill_on_drop(true)
        .status()
        .await?;
    // A command ended by a signal leaves with 128 + the signal, as shells report it.
    use std::os::unix::process::ExitStatusExt;
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => code as u8,
        (None, Some(signal)) => 128 + signal as u8,
        _ => 1,
    })
}
