//! The live project's dependencies. A project with a `node_modules` of its own uses it; one
//! without (the demo, a fresh checkout) gets its `package.json` set, plus what Twilio always adds,
//! installed into the dependency cache and handed to its workers as `NODE_PATH`. A new set is
//! installed while the previous one goes on serving, then the workers switch to it; until the
//! first set is installed, function requests wait for it (within `HOLD`).

use crate::build::Dependency;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

/// Longest a request to a function waits for the first dependency set (Twilio gives up on a
/// webhook after 15 s).
pub const HOLD: Duration = Duration::from_secs(15);

/// What the live project's workers run with, and what is under way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// The project has a `node_modules` of its own, and uses nothing else.
    pub own: bool,
    /// The cached set the workers use: its `node_modules`, and what it holds.
    pub serving: Option<(PathBuf, Vec<Dependency>)>,
    /// The set being installed.
    pub installing: Option<Install>,
    /// The last set that could not be installed, until a later one is.
    pub failed: Option<Failure>,
}

/// A set being installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    /// Its key in the dependency cache.
    pub key: String,
    /// What it adds or changes, in words (`is-odd@^3, twilio@^5.0.0`).
    pub what: String,
}

/// A set that could not be installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub key: String,
    pub what: String,
    /// npm's reason, whole.
    pub reason: String,
}

impl Status {
    /// Where modules the project has not installed come from (`NODE_PATH`).
    pub fn node_path(&self) -> Option<PathBuf> {
        self.serving.as_ref().map(|(dir, _)| dir.clone())
    }

    /// Whether function requests must wait: nothing to run them with yet, but a set on its way.
    pub fn holds(&self) -> bool {
        !self.own && self.serving.is_none() && self.installing.is_some()
    }

    /// Why a module may be missing, added to the errors its absence causes.
    pub fn note(&self) -> Option<String> {
        if let Some(failure) = &self.failed {
            return Some(format!(
                "the project's dependencies could not be installed: {}: {}",
                failure.what,
                crate::build::deps::one_line(&failure.reason)
            ));
        }
        self.installing.as_ref().map(|install| {
            format!(
                "{} is being installed; until then the project runs with its previous dependencies",
                install.what
            )
        })
    }

    /// The problem shown until a set installs.
    pub fn problem(&self) -> Option<String> {
        self.failed.as_ref().map(|failure| {
            format!(
                "package.json: cannot install {}: {}",
                failure.what,
                crate::build::deps::one_line(&failure.reason)
            )
        })
    }

    /// For the console: what is being installed, if anything.
    pub fn to_json(&self) -> Value {
        json!({ "installing": self.installing.as_ref().map(|i| i.what.clone()) })
    }
}

/// What `wanted` adds or changes over `serving` (everything, when nothing serves yet), as
/// `name@version` joined by commas.
pub fn describe(wanted: &[Dependency], serving: Option<&[Dependency]>) -> String {
    let changed: Vec<String> = wanted
        .iter()
        .filter(|d| !serving.is_some_and(|s| s.contains(d)))
        .map(|d| format!("{}@{}", d.name, d.version))
        .collect();
    if changed.is_empty() {
        // Only removals: the new set is smaller.
        "the project's dependencies".to_string()
    } else {
        changed.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(name: &str, version: &str) -> Dependency {
        Dependency {
            name: name.into(),
            version: version.into(),
        }
    }

    #[test]
    fn what_is_installed_is_what_changes() {
        let before = [dep("twilio", "^5.0.0"), dep("lodash", "4")];
        let after = [dep("twilio", "^5.0.0"), dep("lodash", "4"), dep("is-odd", "^3")];
        assert_eq!(describe(&after, Some(&before)), "is-odd@^3");
        assert_eq!(describe(&after, None), "twilio@^5.0.0, lodash@4, is-odd@^3");
        assert_eq!(describe(&before[..1], Some(&before)), "the project's dependencies");
    }

    #[test]
    fn requests_wait_only_for_a_first_set() {
        let installing = Some(Install {
            key: "k".into(),
            what: "is-odd@^3".into(),
        });
        let first = Status {
            installing: installing.clone(),
            ..Status::default()
        };
        assert!(first.holds());
        assert!(first
            .note()
            .is_some_and(|n| n.starts_with("is-odd@^3 is being installed")));
        let next = Status {
            serving: Some((PathBuf::from("/m"), vec![])),
            installing,
            ..Status::default()
        };
        assert!(!next.holds());
        let failed = Status {
            failed: Some(Failure {
                key: "k".into(),
                what: "is-odd@^99".into(),
                reason: "82003: npm install failed: npm error code ETARGET\nnpm error notarget No matching version found for is-odd@^99.".into(),
            }),
            ..Status::default()
        };
        assert_eq!(
            failed.problem().as_deref(),
            Some("package.json: cannot install is-odd@^99: No matching version found for is-odd@^99.")
        );
    }
}
