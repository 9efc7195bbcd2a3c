//! `twirl exec` and `twirl env`: point a command at twirl. `exec` starts twirl with throwaway
//! state on a free port (or uses the one at `--url`), runs the command with `TWIRL_URL`, the
//! account (as `TWILIO_ACCOUNT_SID`/`TWILIO_AUTH_TOKEN` and as Functions name it,
//! `ACCOUNT_SID`/`AUTH_TOKEN`) and the preloads, then exits with the command's status. `env`
//! prints the same variables for a running twirl, for `eval "$(twirl env)"`.
//!
//! The preloads make Node.js and Python send requests for Twilio's hosts and `*.twil.io` to
//! twirl, so official clients need no code change; a third gives twilio-run's API commands the
//! account, which they would otherwise only read from flags or `.env`.

use crate::cli::{ControlArgs, ExecArgs};
use crate::config::Config;
use crate::error::StartupError;
use crate::remote::{Account, Client};
use crate::server;
use std::path::{Path, PathBuf};

const NODE_PRELOAD: &str = include_str!("preload.js");
const TWILIO_RUN_PRELOAD: &str = include_str!("twilio-run.js");
const PYTHON_PRELOAD: &str = include_str!("python/sitecustomize.py");

/// The exit status when twirl itself failed, as opposed to the command.
pub const TWIRL_FAILED: u8 = 125;

/// Runs the command against a fresh twirl, or the one at `--url`; returns the exit status to
/// leave with.
pub async fn run(args: ExecArgs) -> Result<u8, StartupError> {
    if let Some(url) = args.url.clone() {
        return run_attached(url, args).await;
    }
    let config = Config::from_exec_args(&args)?;
    let running = server::start(&config).await?;
    let preload = config.data_dir.path().join("preload");
    write_preloads(&preload)?;
    let account = Account {
        sid: config.credentials.account_sid.clone(),
        token: config.credentials.auth_token.clone(),
    };
    let status = run_command(&args.command, &variables(&running.url, &account, &preload)).await;
    running.stop().await?;
    // `config` owns the throwaway data directory: dropping it removes it.
    drop(config);
    status
}

/// `exec --url`: the twirl is already running; the preloads live in a temporary directory.
async fn run_attached(url: String, args: ExecArgs) -> Result<u8, StartupError> {
    let control = ControlArgs {
        url,
        account_sid: args.run.account_sid.clone(),
        auth_token: args.run.auth_token.clone(),
    };
    let (client, account) = tokio::task::spawn_blocking(move || Client::reach(&control))
        .await
        .map_err(|e| StartupError::Remote(e.to_string()))??;
    let preload = crate::config::throwaway_dir("twirl-preload-")?;
    write_preloads(preload.path())?;
    run_command(&args.command, &variables(client.url(), &account, preload.path())).await
}

/// `twirl env`: the variables for a running twirl as shell `export` lines. The preloads are kept
/// in the dependency cache's directory, under a name that changes with their contents.
pub fn print_env(args: &ControlArgs) -> Result<(), StartupError> {
    let (client, account) = Client::reach(args)?;
    let env: std::collections::HashMap<String, String> = std::env::vars().collect();
    let cache = env
        .get("TWIRL_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::config::default_cache_dir(&env));
    let preload = lasting_preloads(&cache)?;
    for (name, value) in variables(client.url(), &account, &preload) {
        println!("export {name}={}", shell_quote(&value));
    }
    Ok(())
}

/// The preloads under `cache/preload-{hash of their contents}`, written once.
fn lasting_preloads(cache: &Path) -> Result<PathBuf, StartupError> {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    for text in [NODE_PRELOAD, TWILIO_RUN_PRELOAD, PYTHON_PRELOAD] {
        hash.update(text.as_bytes());
    }
    let digest = hash.finalize();
    let name: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    let dir = cache.join(format!("preload-{name}"));
    if !dir.join("python").join("sitecustomize.py").is_file() {
        // Written aside and renamed, so a concurrent `twirl env` never sees half the files.
        let staging = cache.join(format!("preload-{name}.{}", std::process::id()));
        write_preloads(&staging)?;
        if std::fs::rename(&staging, &dir).is_err() {
            // Another one got there first: its copy is the same.
            let _ = std::fs::remove_dir_all(&staging);
        }
    }
    Ok(dir)
}

fn write_preloads(dir: &Path) -> Result<(), StartupError> {
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(dir.join("python"))?;
        std::fs::write(dir.join("twirl-preload.js"), NODE_PRELOAD)?;
        std::fs::write(dir.join("twirl-twilio-run.js"), TWILIO_RUN_PRELOAD)?;
        std::fs::write(dir.join("python").join("sitecustomize.py"), PYTHON_PRELOAD)
    };
    write().map_err(|source| StartupError::DataDir {
        path: dir.display().to_string(),
        source,
    })
}

/// What a command pointed at the twirl at `url` gets in its environment.
fn variables(url: &str, account: &Account, preload: &Path) -> Vec<(&'static str, String)> {
    let node_preload = format!(
        "--require {} --require {}",
        preload.join("twirl-preload.js").display(),
        preload.join("twirl-twilio-run.js").display()
    );
    vec![
        ("TWIRL_URL", url.to_string()),
        ("TWILIO_ACCOUNT_SID", account.sid.clone()),
        ("TWILIO_AUTH_TOKEN", account.token.clone()),
        ("ACCOUNT_SID", account.sid.clone()),
        ("AUTH_TOKEN", account.token.clone()),
        ("NODE_OPTIONS", prepend("NODE_OPTIONS", &node_preload, " ")),
        (
            "PYTHONPATH",
            prepend("PYTHONPATH", &preload.join("python").display().to_string(), ":"),
        ),
    ]
}

/// Prepends `value` to a search-path-like variable, unless it is there already (an
/// `eval "$(twirl env)"` run twice).
fn prepend(name: &str, value: &str, separator: &str) -> String {
    match std::env::var(name) {
        Ok(existing) if existing.contains(value) => existing,
        Ok(existing) if !existing.is_empty() => format!("{value}{separator}{existing}"),
        _ => value.to_string(),
    }
}

/// `value` in single quotes for a POSIX shell.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

async fn run_command(command: &[String], variables: &[(&str, String)]) -> Result<u8, StartupError> {
    let status = tokio::process::Command::new(&command[0])
        .args(&command[1..])
        .envs(variables.iter().map(|(k, v)| (k, v)))
        .kill_on_drop(true)
        .status()
        .await
        .map_err(|e| StartupError::Config(format!("cannot run {}: {e}", command[0])))?;
    // A command ended by a signal leaves with 128 + the signal, as shells report it.
    use std::os::unix::process::ExitStatusExt;
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => code as u8,
        (None, Some(signal)) => 128 + signal as u8,
        _ => 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_for_the_shell() {
        assert_eq!(shell_quote("plain"), "'plain'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
