//! The dependency cache: each distinct dependency set is installed once with npm into a
//! directory named by its hash, and shared by every build (and every twirl on the machine) that
//! asks for the same set. npm answers from its own cache when it can, so this works offline once
//! a set has been fetched.

use super::Dependency;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Stdio;
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
}

impl DepsCache {
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
        let target = self.dir.join(self.key(deps));
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
        DepsCache {
            dir: PathBuf::from("/unused"),
            npm: PathBuf::from("npm"),
            node_version: "v20".into(),
        }
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
        assert_ne!(a, other_node.key(&[dep("a", "1"), dep("b", "2")]));
    }

    #[test]
    fn tail_keeps_the_end() {
        assert_eq!(tail("  abcdef \n", 3), "def");
        assert_eq!(tail("ab", 10), "ab");
    }
}
