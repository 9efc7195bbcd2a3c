//! The build pipeline: a build is recorded `building` by the API, then finished here, off the
//! request path: its dependency set is installed (or found in the cache), its files are
//! materialized on disk, and it ends `completed`, or `failed` with its reason (shown in the
//! terminal and kept with the build).

pub mod deps;
pub mod materialize;

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{builds, retention};
use serde::{Deserialize, Serialize};

/// The runtime of a service's first build when none is given (Twilio's current default).
pub const DEFAULT_RUNTIME: &str = "node22";
/// Every runtime name the API accepts ([OAI] `build_enum_runtime`, plus `node24`).
const KNOWN_RUNTIMES: &[&str] = &[
    "node8", "node10", "node12", "node14", "node16", "node18", "node20", "node22", "node24",
];
/// The runtimes a build can still be made for; older ones fail the build with error 82007.
const SUPPORTED_RUNTIMES: &[&str] = &["node18", "node20", "node22", "node24"];

/// Dependencies Twilio always includes in a build, with the versions used when not given.
const DEFAULT_DEPENDENCIES: &[(&str, &str)] = &[("twilio", "^5.0.0"), ("@twilio/runtime-handler", "2.1.0")];

/// One `{"name","version"}` entry of a build's dependencies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    pub name: String,
    pub version: String,
}

impl Dependency {
    /// Parses the `Dependencies` parameter: a JSON array of `{name, version}`, either bare or
    /// wrapped in one extra pair of double quotes as `@twilio-labs/serverless-api` sends it.
    /// The defaults Twilio always adds are appended when missing.
    pub fn parse_param(value: Option<&str>) -> Result<Vec<Dependency>, ApiError> {
        let deps = match value.map(str::trim).filter(|v| !v.is_empty()) {
            None => Vec::new(),
            Some(raw) => {
                parse_list(raw).map_err(|why| ApiError::bad_request(format!("Invalid Dependencies: {why}")))?
            }
        };
        Ok(Self::with_defaults(deps))
    }

    /// `deps` plus the dependencies Twilio always includes, where missing.
    pub fn with_defaults(mut deps: Vec<Dependency>) -> Vec<Dependency> {
        for (name, version) in DEFAULT_DEPENDENCIES {
            if !deps.iter().any(|d| d.name == *name) {
                deps.push(Dependency {
                    name: name.to_string(),
                    version: version.to_string(),
                });
            }
        }
        deps
    }

    /// The stored (and rendered) JSON form.
    pub fn to_json(deps: &[Dependency]) -> String {
        serde_json::to_string(deps).unwrap_or_else(|_| "[]".into())
    }
}

fn parse_list(raw: &str) -> Result<Vec<Dependency>, String> {
    let unwrapped = match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(inner) if inner.trim_start().starts_with('[') => inner,
        _ => raw,
    };
    let deps: Vec<Dependency> = serde_json::from_str(unwrapped)
        .map_err(|e| format!("expected a JSON array of {{\"name\",\"version\"}}: {e}"))?;
    let mut seen = std::collections::HashSet::new();
    for d in &deps {
        if d.name.trim().is_empty() {
            return Err("a dependency has an empty name".into());
        }
        if !seen.insert(d.name.as_str()) {
            return Err(format!("{} is listed twice", d.name));
        }
    }
    Ok(deps)
}

/// Checks a `Runtime` parameter against the names Twilio knows.
pub fn check_runtime(value: &str) -> Result<String, ApiError> {
    if KNOWN_RUNTIMES.contains(&value) {
        Ok(value.to_string())
    } else {
        Err(ApiError::bad_request(format!(
            "Invalid Runtime {value:?}: expected one of {}",
            KNOWN_RUNTIMES.join(", ")
        )))
    }
}

/// Finishes the build in the background.
pub fn start(state: AppState, service_sid: String, build_sid: String) {
    tokio::spawn(async move {
        let outcome = run(&state, &service_sid, &build_sid).await;
        if let Err(reason) = &outcome {
            log::warn!("build {build_sid} failed: {reason}");
        } else {
            log::info!("build {build_sid} completed");
        }
        let now = state.clock.now();
        let sid = build_sid.clone();
        if let Err(e) = state.store.call(move |c| builds::finish(c, &sid, outcome, now)).await {
            log::error!("cannot record the end of build {build_sid}: {e}");
        }
    });
}

/// One retention pass at the emulator's current time, then the removal of the files of the
/// builds it deleted.
pub async fn apply_retention(state: &AppState) -> Result<retention::Swept, crate::error::StoreError> {
    let now = state.clock.now();
    let swept = state.store.transaction(move |tx| retention::sweep(tx, now)).await?;
    let known = state.store.call(|c| builds::all_sids(c)).await?;
    materialize::remove_unknown(&state.paths.builds, &known, false);
    Ok(swept)
}

/// Restarts the builds a previous run left `building` (it stopped before finishing them).
pub async fn resume_unfinished(state: &AppState) -> Result<(), crate::error::StoreError> {
    for (service_sid, build_sid) in state.store.call(|c| builds::unfinished(c)).await? {
        log::info!("resuming build {build_sid}");
        start(state.clone(), service_sid, build_sid);
    }
    Ok(())
}

async fn run(state: &AppState, service_sid: &str, build_sid: &str) -> Result<(), String> {
    let (service_sid, build_sid) = (service_sid.to_string(), build_sid.to_string());
    let build = state
        .store
        .call(move |c| builds::get(c, &service_sid, &build_sid))
        .await
        .map_err(|e| e.to_string())?;
    if !SUPPORTED_RUNTIMES.contains(&build.runtime.as_str()) {
        return Err(format!(
            "82007: runtime {} is no longer supported; use one of {}",
            build.runtime,
            SUPPORTED_RUNTIMES.join(", ")
        ));
    }
    materialized(state, &build).await.map(|_| ())
}

/// The build's directory, written now if it is not on disk yet (a completed build whose
/// directory was removed, or one loaded from elsewhere, is rebuilt from the store).
pub async fn materialized(state: &AppState, build: &builds::Build) -> Result<std::path::PathBuf, String> {
    let dir = materialize::build_dir(&state.paths.builds, &build.sid);
    if dir.join("manifest.json").exists() {
        return Ok(dir);
    }
    let deps: Vec<Dependency> = serde_json::from_str(&build.dependencies).map_err(|e| e.to_string())?;
    let node_modules = state.paths.deps.ensure(&deps).await?;
    materialize::materialize(&state.store, &state.paths.builds, build, &node_modules).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENT: &str = r#"[{"name":"twilio","version":"^5.0.0"},{"name":"lodash","version":"*"}]"#;

    #[test]
    fn dependencies_are_read_bare_and_quote_wrapped() {
        let bare = Dependency::parse_param(Some(SENT)).expect("bare");
        let wrapped = Dependency::parse_param(Some(&format!("\"{SENT}\""))).expect("wrapped");
        assert_eq!(bare, wrapped);
        let names: Vec<_> = bare.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["twilio", "lodash", "@twilio/runtime-handler"]);
    }

    #[test]
    fn defaults_are_added_to_an_empty_list() {
        let deps = Dependency::parse_param(None).expect("none");
        assert_eq!(deps.len(), DEFAULT_DEPENDENCIES.len());
    }

    #[test]
    fn bad_dependencies_are_refused() {
        for bad in [
            "{",
            "[1]",
            r#"[{"name":"a"}]"#,
            r#"[{"name":"a","version":"1"},{"name":"a","version":"2"}]"#,
        ] {
            assert!(Dependency::parse_param(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn runtimes_are_checked_by_name() {
        assert!(check_runtime("node22").is_ok());
        assert!(check_runtime("node24").is_ok());
        assert!(check_runtime("python3").is_err());
    }
}
