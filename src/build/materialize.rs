//! Materialized builds: a build's files laid out on disk for the runtime and the gateway.
//!
//! ```text
//! builds/ZB…/manifest.json     routes: path → file, visibility, content type
//! builds/ZB…/functions/a/b.js  function /a/b (laid out by path, so relative requires work)
//! builds/ZB…/assets/ZN…        one file per asset version
//! builds/ZB…/node_modules      → the build's installed dependency set
//! ```
//! A build directory is written under a temporary name and renamed into place, so a crash never
//! leaves a half-written build where the gateway would serve it.

use crate::error::StoreError;
use crate::store::builds::{Build, BuildVersion};
use crate::store::resources::Kind;
use crate::store::{blobs, Store};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One routable file of a build.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Route {
    pub path: String,
    /// The version's SID.
    pub sid: String,
    /// The function's or asset's SID.
    pub resource_sid: String,
    pub visibility: String,
    /// Relative to the build directory.
    pub file: String,
    pub content_type: String,
}

/// What a materialized build holds; read by the gateway and by the worker harness.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub functions: Vec<Route>,
    pub assets: Vec<Route>,
}

impl Manifest {
    pub fn read(build_dir: &Path) -> std::io::Result<Manifest> {
        let text = std::fs::read(build_dir.join("manifest.json"))?;
        serde_json::from_slice(&text).map_err(std::io::Error::other)
    }
}

/// The directory of build `sid` under `builds_dir`.
pub fn build_dir(builds_dir: &Path, sid: &str) -> PathBuf {
    builds_dir.join(sid)
}

/// Where a function's module goes: its path plus `.js`. The root path gets a name no valid
/// path can produce (`%` is refused in paths).
fn function_file(path: &str) -> String {
    match path.trim_start_matches('/') {
        "" => "functions/%root.js".to_string(),
        rest => format!("functions/{rest}.js"),
    }
}

fn route(v: &BuildVersion, file: String) -> Route {
    Route {
        path: v.path.clone(),
        sid: v.sid.clone(),
        resource_sid: v.resource_sid.clone(),
        visibility: v.visibility.clone(),
        file,
        content_type: content_type_of(&v.path, &v.content_type),
    }
}

/// Assets are served with the type their extension names; the uploaded part's type is the
/// fallback for names without a known extension.
pub fn content_type_of(path: &str, uploaded: &str) -> String {
    match mime_guess::from_path(path).first() {
        Some(mime) => mime.to_string(),
        None => uploaded.to_string(),
    }
}

/// Writes `build` under `builds_dir`, linking `node_modules` to `deps`. Does nothing if the
/// build is already there.
pub async fn materialize(store: &Store, builds_dir: &Path, build: &Build, deps: &Path) -> Result<PathBuf, String> {
    let target = build_dir(builds_dir, &build.sid);
    if target.join("manifest.json").exists() {
        return Ok(target);
    }
    std::fs::create_dir_all(builds_dir).map_err(|e| format!("cannot create {}: {e}", builds_dir.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".staging-")
        .tempdir_in(builds_dir)
        .map_err(|e| format!("cannot create a staging directory: {e}"))?;
    let mut manifest = Manifest::default();
    for v in &build.versions {
        let file = match v.kind {
            Kind::Function => function_file(&v.path),
            Kind::Asset => format!("assets/{}", v.sid),
        };
        let hash = v.blob_hash.clone();
        let bytes = store
            .call(move |c| blobs::get(c, &hash))
            .await
            .map_err(|e: StoreError| format!("cannot read the content of {}: {e}", v.sid))?;
        write_file(&staging.path().join(&file), &bytes)?;
        match v.kind {
            Kind::Function => manifest.functions.push(route(v, file)),
            Kind::Asset => manifest.assets.push(route(v, file)),
        }
    }
    std::os::unix::fs::symlink(deps, staging.path().join("node_modules"))
        .map_err(|e| format!("cannot link the dependencies: {e}"))?;
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?;
    write_file(&staging.path().join("manifest.json"), &json)?;
    let staged = staging.keep();
    if std::fs::rename(&staged, &target).is_err() {
        let _ = std::fs::remove_dir_all(&staged);
        if !target.join("manifest.json").exists() {
            return Err(format!("cannot move the build into {}", target.display()));
        }
    }
    Ok(target)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Removes build directories whose build no longer exists; at start-up, when nothing is being
/// written, also the staging directories a crash left behind.
pub fn remove_unknown(builds_dir: &Path, known: &std::collections::HashSet<String>, at_startup: bool) {
    let Ok(entries) = std::fs::read_dir(builds_dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().to_string();
        let stale = if name.starts_with('.') {
            at_startup
        } else {
            !known.contains(&name)
        };
        if stale {
            if let Err(e) = std::fs::remove_dir_all(entry.path()) {
                log::warn!("cannot remove {}: {e}", entry.path().display());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_files_follow_their_paths() {
        assert_eq!(function_file("/hello"), "functions/hello.js");
        assert_eq!(function_file("/lib/util"), "functions/lib/util.js");
        assert_eq!(function_file("/"), "functions/%root.js");
    }
}
