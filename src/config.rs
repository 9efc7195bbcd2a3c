//! The resolved configuration of a run: where to listen, where state lives, which credentials
//! authenticate. Precedence for credentials (DESIGN §2): flags (and `TWIRL_*`), then
//! `TWILIO_ACCOUNT_SID`/`TWILIO_AUTH_TOKEN`, then the project's `.env`, then a well-known local pair.

use crate::cli::{ExecArgs, RunArgs, ServeArgs};
use crate::error::StartupError;
use crate::fixtures::Source;
use crate::sid;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The account SID used when no credentials are configured anywhere.
pub const LOCAL_ACCOUNT_SID: &str = "AC00000000000000000000000000000000";
/// The auth token used when no credentials are configured anywhere.
pub const LOCAL_AUTH_TOKEN: &str = "00000000000000000000000000000000";

/// Where the credentials came from, printed at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSource {
    Flags,
    Environment,
    DotEnv,
    Fixture,
    LocalDefault,
}

/// The account and the API keys that authenticate as it.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub account_sid: String,
    pub auth_token: String,
    /// `(SK…, secret)` pairs.
    pub api_keys: Vec<(String, String)>,
    pub source: CredentialSource,
}

/// Where the store lives.
#[derive(Debug)]
pub enum DataDir {
    Persistent(PathBuf),
    /// Removed when dropped.
    Ephemeral(tempfile::TempDir),
}

impl DataDir {
    pub fn path(&self) -> &Path {
        match self {
            DataDir::Persistent(p) => p,
            DataDir::Ephemeral(t) => t.path(),
        }
    }
}

/// Everything a run needs, validated.
#[derive(Debug)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub project_dir: PathBuf,
    /// Fixtures loaded at start-up and on reset.
    pub fixtures: Vec<Source>,
    pub data_dir: DataDir,
    pub credentials: Credentials,
    /// The Node.js binary; `npm` is looked up beside it, then on `PATH`.
    pub node: PathBuf,
    pub npm: PathBuf,
    pub cache_dir: PathBuf,
    pub max_concurrency: usize,
    pub watch: Watch,
    /// Node's inspector address for the live project's worker.
    pub inspect: Option<String>,
    pub allow_unsigned: bool,
    /// Open the console in the browser once listening.
    pub open: bool,
    /// Serve the directory's project (or the demo) at the root; `exec` does not.
    pub live_project: bool,
    /// Never serve the embedded demo.
    pub no_demo: bool,
}

/// How the live project's files are watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watch {
    Off,
    Events,
    Poll,
}

impl Config {
    /// Resolves `serve` arguments against the process environment and the project's `.env`.
    pub fn from_serve_args(args: &ServeArgs) -> Result<Config, StartupError> {
        let config = Self::resolve(&args.run, &args.dir, 3000, args.ephemeral)?;
        Ok(Config {
            live_project: true,
            open: args.open,
            no_demo: args.no_demo,
            watch: match (args.no_watch, args.poll) {
                (true, _) => Watch::Off,
                (false, true) => Watch::Poll,
                (false, false) => Watch::Events,
            },
            inspect: args.inspect.clone(),
            ..config
        })
    }

    /// `exec` runs on a free port with throwaway state unless told otherwise, and serves only
    /// what its fixtures declare; credentials may come from the current directory's `.env`.
    pub fn from_exec_args(args: &ExecArgs) -> Result<Config, StartupError> {
        Self::resolve(&args.run, Path::new("."), 0, args.run.data.is_none())
    }

    /// What `serve` and `exec` share; the rest is `exec`'s: no live project, nothing watched.
    fn resolve(args: &RunArgs, dir: &Path, default_port: u16, ephemeral: bool) -> Result<Config, StartupError> {
        let env: HashMap<String, String> = std::env::vars().collect();
        let dotenv = read_dotenv(&dir.join(".env"));
        let fixtures = args
            .fixtures
            .iter()
            .map(|path| Source::read(path).map_err(|e| StartupError::Config(format!("fixture {}", e))))
            .collect::<Result<Vec<_>, _>>()?;
        let mut credentials = resolve_credentials(args, &env, &dotenv)?;
        apply_fixture_credentials(&mut credentials, &fixtures)?;
        let data_dir = if ephemeral {
            DataDir::Ephemeral(throwaway_dir("twirl-")?)
        } else {
            let dir = args.data.clone().unwrap_or_else(|| dir.join(".twirl"));
            // Absolute, because workers run in other directories and are handed paths inside it.
            DataDir::Persistent(std::path::absolute(&dir).unwrap_or(dir))
        };
        let node = args
            .node
            .clone()
            .or_else(|| find_on_path("node", &env))
            .unwrap_or_else(|| "node".into());
        let npm = node
            .parent()
            .map(|dir| dir.join("npm"))
            .filter(|p| p.is_file())
            .or_else(|| find_on_path("npm", &env))
            .unwrap_or_else(|| "npm".into());
        Ok(Config {
            host: args.host.clone(),
            port: args.port.unwrap_or(default_port),
            project_dir: dir.to_path_buf(),
            fixtures,
            data_dir,
            credentials,
            node,
            npm,
            cache_dir: args.cache.clone().unwrap_or_else(|| default_cache_dir(&env)),
            max_concurrency: args.max_concurrency as usize,
            watch: Watch::Off,
            inspect: None,
            allow_unsigned: args.allow_unsigned,
            open: false,
            live_project: false,
            no_demo: false,
        })
    }
}

/// A new directory under the system's temporary directory, removed when dropped.
pub fn throwaway_dir(prefix: &str) -> Result<tempfile::TempDir, StartupError> {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(|source| StartupError::DataDir {
            path: std::env::temp_dir().display().to_string(),
            source,
        })
}

/// Fixtures may declare the account and API keys: they win over everything but the flags.
fn apply_fixture_credentials(credentials: &mut Credentials, fixtures: &[Source]) -> Result<(), StartupError> {
    for source in fixtures {
        let invalid = |e: &dyn std::fmt::Display| StartupError::Config(source.explain(e));
        let fixture = crate::fixtures::parse(source).map_err(|e| invalid(&e))?;
        if let Some(c) = fixture.credentials {
            if !sid::is_sid(&c.account_sid, sid::prefix::ACCOUNT) {
                return Err(invalid(&"credentials.account_sid: not an AC SID"));
            }
            if credentials.source != CredentialSource::Flags {
                credentials.account_sid = sid::normalize(&c.account_sid);
                credentials.auth_token = c.auth_token;
                credentials.source = CredentialSource::Fixture;
            }
        }
        for (i, key) in fixture.api_keys.into_iter().enumerate() {
            if !sid::is_sid(&key.sid, sid::prefix::API_KEY) || key.secret.is_empty() {
                return Err(invalid(&format!("api_keys[{i}]: needs an SK SID and a secret")));
            }
            credentials.api_keys.push((key.sid, key.secret));
        }
    }
    Ok(())
}

/// The first executable called `name` in `PATH`.
fn find_on_path(name: &str, env: &HashMap<String, String>) -> Option<PathBuf> {
    let path = env.get("PATH")?;
    std::env::split_paths(path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// `$XDG_CACHE_HOME/twirl`, else `~/.cache/twirl`, else a directory under the system temp dir.
pub fn default_cache_dir(env: &HashMap<String, String>) -> PathBuf {
    if let Some(xdg) = env.get("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("twirl");
    }
    match env.get("HOME").filter(|v| !v.is_empty()) {
        Some(home) => PathBuf::from(home).join(".cache").join("twirl"),
        None => std::env::temp_dir().join("twirl-cache"),
    }
}

/// The `KEY=VALUE` pairs of a `.env` file, read as the project reads it; none when missing.
fn read_dotenv(path: &Path) -> HashMap<String, String> {
    crate::project::read_env_file(path)
        .map(|parsed| parsed.pairs.into_iter().collect())
        .unwrap_or_default()
}

fn resolve_credentials(
    args: &RunArgs,
    env: &HashMap<String, String>,
    dotenv: &HashMap<String, String>,
) -> Result<Credentials, StartupError> {
    let pair = |sid: Option<&String>, token: Option<&String>| match (sid, token) {
        (Some(s), Some(t)) if !s.is_empty() && !t.is_empty() => Some((s.clone(), t.clone())),
        _ => None,
    };
    let (account_sid, auth_token, source) =
        if let Some((s, t)) = pair(args.account_sid.as_ref(), args.auth_token.as_ref()) {
            (s, t, CredentialSource::Flags)
        } else if args.account_sid.is_some() || args.auth_token.is_some() {
            return Err(StartupError::Config(
                "--account-sid and --auth-token must be given together".into(),
            ));
        } else if let Some((s, t)) = pair(env.get("TWILIO_ACCOUNT_SID"), env.get("TWILIO_AUTH_TOKEN")) {
            (s, t, CredentialSource::Environment)
        } else if let Some((s, t)) = pair(dotenv.get("ACCOUNT_SID"), dotenv.get("AUTH_TOKEN")) {
            (s, t, CredentialSource::DotEnv)
        } else {
            (
                LOCAL_ACCOUNT_SID.into(),
                LOCAL_AUTH_TOKEN.into(),
                CredentialSource::LocalDefault,
            )
        };
    if !sid::is_sid(&account_sid, sid::prefix::ACCOUNT) {
        return Err(StartupError::Config(format!(
            "account SID {account_sid:?} is not AC followed by 32 hex digits"
        )));
    }
    let mut api_keys = args
        .api_keys
        .iter()
        .map(|k| parse_api_key(k))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(pair) = pair(env.get("TWILIO_API_KEY"), env.get("TWILIO_API_SECRET")) {
        api_keys.push(pair);
    }
    Ok(Credentials {
        account_sid: sid::normalize(&account_sid),
        auth_token,
        api_keys,
        source,
    })
}

fn parse_api_key(value: &str) -> Result<(String, String), StartupError> {
    match value.split_once(':') {
        Some((key, secret)) if sid::is_sid(key, sid::prefix::API_KEY) && !secret.is_empty() => {
            Ok((key.to_string(), secret.to_string()))
        }
        _ => Err(StartupError::Config(format!(
            "API key {value:?} must be SK followed by 32 hex digits, a colon and the secret"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> RunArgs {
        let mut argv = vec!["twirl", "serve", "/nonexistent-project"];
        argv.extend_from_slice(extra);
        match crate::cli::Cli::parse_from(argv).command {
            crate::cli::Command::Serve(a) => a.run,
            other => panic!("not serve: {other:?}"),
        }
    }

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    const SID: &str = "AC0123456789abcdef0123456789abcdef";

    #[test]
    fn flags_win_over_environment_and_dotenv() {
        let a = args(&["--account-sid", SID, "--auth-token", "flag"]);
        let env = map(&[("TWILIO_ACCOUNT_SID", LOCAL_ACCOUNT_SID), ("TWILIO_AUTH_TOKEN", "env")]);
        let c = resolve_credentials(&a, &env, &HashMap::new()).expect("valid");
        assert_eq!((c.auth_token.as_str(), c.source), ("flag", CredentialSource::Flags));
    }

    #[test]
    fn environment_then_dotenv_then_local_pair() {
        let a = args(&[]);
        let env = map(&[("TWILIO_ACCOUNT_SID", SID), ("TWILIO_AUTH_TOKEN", "env")]);
        let dotenv = map(&[("ACCOUNT_SID", SID), ("AUTH_TOKEN", "dot")]);
        assert_eq!(resolve_credentials(&a, &env, &dotenv).expect("ok").auth_token, "env");
        assert_eq!(
            resolve_credentials(&a, &HashMap::new(), &dotenv)
                .expect("ok")
                .auth_token,
            "dot"
        );
        let local = resolve_credentials(&a, &HashMap::new(), &HashMap::new()).expect("ok");
        assert_eq!(local.account_sid, LOCAL_ACCOUNT_SID);
        assert_eq!(local.source, CredentialSource::LocalDefault);
    }

    #[test]
    fn api_keys_need_sk_sid_and_secret() {
        let ok = args(&["--api-key", "SK0123456789abcdef0123456789abcdef:s3cret"]);
        let c = resolve_credentials(&ok, &HashMap::new(), &HashMap::new()).expect("ok");
        assert_eq!(c.api_keys[0].1, "s3cret");
        let bad = args(&["--api-key", "SK12:s3cret"]);
        assert!(resolve_credentials(&bad, &HashMap::new(), &HashMap::new()).is_err());
    }

    #[test]
    fn malformed_account_sid_is_refused() {
        let a = args(&["--account-sid", "ACnope", "--auth-token", "t"]);
        assert!(resolve_credentials(&a, &HashMap::new(), &HashMap::new()).is_err());
    }
}
