//! `twirl exec` and `twirl env`: point a command at twirl. `exec` starts twirl with throwaway
//! state on a free port (or uses the one at `--url`), runs the command with `TWIRL_URL`, the
//! account (as `TWILIO_ACCOUNT_SID`/`TWILIO_AUTH_TOKEN` and as Functions name it,
//! `ACCOUNT_SID`/`AUTH_TOKEN`) and the preloads, then exits with the command's status. `env`
//! prints the same variables for a running twirl, for `eval "$(twirl env)"`.
//!
//! The preloads are the client redirection (`crate::redirect`), which makes Node.js and Python
//! send requests for `*.twilio.com` and `*.twil.io` to twirl so official clients need no code
//! change, and a shim that gives twilio-run's API commands the account, which they would
//! otherwise only read from flags or `.env`.

use crate::cli::{ControlArgs, ExecArgs};
use crate::config::Config;
use crate::error::StartupError;
use crate::remote::{Account, Client};
use crate::server;
use std::path::{Path, PathBuf};

const TWILIO_RUN_PRELOAD: &str = include_str!("twilio-run.js");

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
    let preload = write_preloads(&config.data_dir.path().join("preload"))?;
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
    let dir = crate::config::throwaway_dir("twirl-preload-")?;
    let preload = write_preloads(dir.path())?;
    run_command(&args.command, &variables(client.url(), &account, &preload)).await
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

/// What commands preload: the client redirection and the twilio-run shim.
struct Preloads {
    redirect: crate::redirect::Files,
    twilio_run: PathBuf,
}

fn write_preloads(dir: &Path) -> Result<Preloads, StartupError> {
    let write = || -> std::io::Result<Preloads> {
        let redirect = crate::redirect::write(dir)?;
        let twilio_run = dir.join("twirl-twilio-run.js");
        std::fs::write(&twilio_run, TWILIO_RUN_PRELOAD)?;
        Ok(Preloads { redirect, twilio_run })
    };
    write().map_err(|source| StartupError::DataDir {
        path: dir.display().to_string(),
        source,
    })
}

impl Preloads {
    /// The same files, in `to` instead of `from`.
    fn moved(self, from: &Path, to: &Path) -> Preloads {
        let rebase = |path: PathBuf| path.strip_prefix(from).map(|rel| to.join(rel)).unwrap_or(path);
        Preloads {
            redirect: crate::redirect::Files {
                node: rebase(self.redirect.node),
                python_path: rebase(self.redirect.python_path),
            },
            twilio_run: rebase(self.twilio_run),
        }
    }
}

/// The preloads under `cache/preload-{hash of their contents}`, so they outlive `twirl env` and
/// a newer twirl's never mix with an older one's.
fn lasting_preloads(cache: &Path) -> Result<Preloads, StartupError> {
    use sha2::Digest;
    // Written aside first, then named by what was written: a concurrent `twirl env` never sees
    // half the files.
    let staging = cache.join(format!("preload-staging-{}", std::process::id()));
    let written = write_preloads(&staging)?;
    let mut hash = sha2::Sha256::new();
    for file in [
        &written.redirect.node,
        &written.twilio_run,
        &written.redirect.python_path.join("sitecustomize.py"),
    ] {
        hash.update(std::fs::read(file).unwrap_or_default());
    }
    let name: String = hash.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect();
    let dir = cache.join(format!("preload-{name}"));
    if dir.is_dir() || std::fs::rename(&staging, &dir).is_err() {
        // There already (from an earlier run, or another one that got there first): the same files.
        let _ = std::fs::remove_dir_all(&staging);
    }
    Ok(written.moved(&staging, &dir))
}

/// What a command pointed at the twirl at `url` gets in its environment.
fn variables(url: &str, account: &Account, preloads: &Preloads) -> Vec<(&'static str, String)> {
    let node_preload = format!(
        "--require {} --require {}",
        preloads.redirect.node.display(),
        preloads.twilio_run.display()
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
            prepend("PYTHONPATH", &preloads.redirect.python_path.display().to_string(), ":"),
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
