//! The dependency cache: each distinct dependency set is installed once with npm into a
//! directory named by its hash, and shared by every build (and every twirl on the machine) that
//! asks for the same set. npm answers from its own cache when it can, so this works offline once
//! a set has been fetched.

use super::Dependency;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::process::Command;

/// Largest installed dependency set (DESIGN §7).
pub const MAX_BYTES: u64 = 512 * 1024 * 1024;
/// How long one `npm install` may take.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);
/// Marks a finished install; a directory without it is not used.
const COMPLETE: &str = ".twirl-complete";

/// Where installs go and what runs them.
#[derive(Debug, Clone)]
pub struct DepsCache {
    pub dir: PathBuf,
    pub npm: PathBuf,
    /// Part of the key: installed native modules belong to one Node.js major version.
    pub node_version: String,
    /// One install per set at a time: whoever asks for a set being installed waits for it.
    installs: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl DepsCache {
    pub fn new(dir: PathBuf, npm: PathBuf, node_version: String) -> DepsCache {
        DepsCache {
            dir,
            npm,
            node_version,
            installs: Arc::default(),
        }
    }

    /// The key of a dependency set: order-independent, tied to the Node.js version.
    pub fn key(&self, deps: &[Dependency]) -> String {
        let mut sorted: Vec<_> = deps.iter().map(|d| (d.name.as_str(), d.version.as_str())).collect();
        sorted.sort();
        let mut hasher = Sha256::new();
        hasher.update(self.node_version.as_bytes());
        for (name, version) in sorted {
            hasher.update(b"\0");
            hasher.update(name.as_bytes());
            hasher.update(b"@");
            hasher.update(version.as_bytes());
        }
        hasher.finalize()[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The `node_modules` directory of `deps` if that set is already installed.
    pub fn installed(&self, deps: &[Dependency]) -> Option<PathBuf> {
        let target = self.dir.join(self.key(deps));
        target.join(COMPLETE).exists().then(|| target.join("node_modules"))
    }

    /// The `node_modules` directory of `deps`, installing the set first if needed.
    /// On failure, returns npm's explanation.
    pub async fn ensure(&self, deps: &[Dependency]) -> Result<PathBuf, String> {
        if let Some(modules) = self.installed(deps) {
            return Ok(modules);
        }
        let key = self.key(deps);
        let one_at_a_time = self
            .installs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.clone())
            .or_default()
            .clone();
        let _installing = one_at_a_time.lock().await;
        if let Some(modules) = self.installed(deps) {
            return Ok(modules);
        }
        let target = self.dir.join(key);
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| format!("cannot create {}: {e}", self.dir.display()))?;
        let staging = tempfile::Builder::new()
            .prefix(".install-")
            .tempdir_in(&self.dir)
            .map_err(|e| format!("cannot create a staging directory: {e}"))?;
        self.install(staging.path(), deps).await?;
        let size = dir_size(&staging.path().join("node_modules"));
        if size > MAX_BYTES {
            return Err(format!(
                "82003: the dependencies take {} MB, over the limit of {} MB",
                size / 1024 / 1024,
                MAX_BYTES / 1024 / 1024
            ));
        }
        std::fs::write(staging.path().join(COMPLETE), b"").map_err(|e| e.to_string())?;
        // Rename is atomic: a concurrent install of the same set either wins or finds ours.
        let staged = staging.keep();
        if std::fs::rename(&staged, &target).is_err() {
            let _ = std::fs::remove_dir_all(&staged);
            if !target.join(COMPLETE).exists() {
                return Err(format!(
                    "cannot move the installed dependencies to {}",
                    target.display()
                ));
            }
        }
        Ok(target.join("node_modules"))
    }

    async fn install(&self, dir: &Path, deps: &[Dependency]) -> Result<(), String> {
        let manifest = serde_json::json!({
            "name": "twirl-dependency-set",
            "private": true,
            "dependencies": deps.iter().map(|d| (d.name.clone(), serde_json::Value::String(d.version.clone())))
                .collect::<serde_json::Map<_, _>>(),
        });
        std::fs::write(dir.join("package.json"), manifest.to_string()).map_err(|e| e.to_string())?;
        let run = Command::new(&self.npm)
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--prefer-offline",
                "--no-package-lock",
                "--loglevel=error",
            ])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .output();
        let output = match tokio::time::timeout(INSTALL_TIMEOUT, run).await {
            Ok(Ok(output)) => output,
            Ok(Err(e)) => return Err(format!("82003: cannot run {}: {e}", self.npm.display())),
            Err(_) => return Err("82003: npm install did not finish within 10 minutes".into()),
        };
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(format!("82003: npm install failed: {}", tail(&stderr, 2000)))
    }
}

/// The gist of an install failure on one line, for the terminal and the console's banner:
/// npm's first line that says what went wrong (`No matching version found for is-odd@^99.0.0.`,
/// `404 Not Found - GET …`), without npm's prefixes, its error code line or its log's path.
pub fn one_line(reason: &str) -> String {
    let output = reason.strip_prefix("82003: ").unwrap_or(reason);
    let output = output.strip_prefix("npm install failed: ").unwrap_or(output);
    let gist = output
        .lines()
        .map(without_npm_prefix)
        .filter(|line| !line.is_empty() && !line.starts_with("code ") && !line.starts_with("A complete log"))
        .map(without_topic)
        .next();
    gist.unwrap_or(output.trim()).to_string()
}

fn without_npm_prefix(line: &str) -> &str {
    let line = line.trim();
    ["npm error", "npm ERR!"]
        .iter()
        .find_map(|p| line.strip_prefix(p))
        .unwrap_or(line)
        .trim()
}

/// npm heads each line of a message with its topic (`notarget No matching version…`).
fn without_topic(line: &str) -> &str {
    match line.split_once(' ') {
        Some((topic, rest))
            if topic.bytes().all(|b| b.is_ascii_lowercase()) && rest.starts_with(char::is_uppercase) =>
        {
            rest
        }
        _ => line,
    }
}

/// The last `max` characters of npm's output, where its reason is.
fn tail(text: &str, max: usize) -> String {
    let text = text.trim();
    let skip = text.chars().count().saturating_sub(max);
    text.chars().skip(skip).collect()
}

fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> DepsCache {
        DepsCache::new(PathBuf::from("/unused"), PathBuf::from("npm"), "v20".into())
    }

    fn dep(name: &str, version: &str) -> Dependency {
        Dependency {
            name: name.into(),
            version: version.into(),
        }
    }

    #[test]
    fn keys_ignore_order_but_not_versions() {
        let c = cache();
        let a = c.key(&[dep("a", "1"), dep("b", "2")]);
        assert_eq!(a, c.key(&[dep("b", "2"), dep("a", "1")]));
        assert_ne!(a, c.key(&[dep("a", "1"), dep("b", "3")]));
        let other_node = DepsCache {
            node_version: "v22".into(),
            ..cache()
        };
        assert_ne!(c.key(&[dep("a", "1")]), other_node.key(&[dep("a", "1")]));
        assert_ne!(a, other_node.key(&[dep("a", "1"), dep("b", "2")]));
    }

    #[test]
    fn install_failures_are_told_in_one_line() {
        let etarget = "82003: npm install failed: npm error code ETARGET\nnpm error notarget No matching version found for is-odd@^99.0.0.\nnpm error notarget In most cases you or one of your dependencies are requesting a package version that doesn't exist.\nnpm error A complete log of this run can be found in: /root/.npm/_logs/x-debug-0.log";
        assert_eq!(one_line(etarget), "No matching version found for is-odd@^99.0.0.");
        let e404 = "82003: npm install failed: npm error code E404\nnpm error 404 Not Found - GET https://registry.npmjs.org/nope\nnpm error 404";
        assert_eq!(one_line(e404), "404 Not Found - GET https://registry.npmjs.org/nope");
        assert_eq!(
            one_line("82003: npm install did not finish within 10 minutes"),
            "npm install did not finish within 10 minutes"
        );
    }

    #[test]
    fn tail_keeps_the_end() {
        assert_eq!(tail("  abcdef \n", 3), "def");
        assert_eq!(tail("ab", 10), "ab");
    }
}
