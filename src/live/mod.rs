//! The live project: the Serverless Toolkit project `twirl serve` runs in, served at the root
//! of the port like `twilio-run start`, and recorded as an ordinary service whose live
//! environment gets a new build on every change. Its workers run the project's files in place
//! with its own `node_modules`; an edit bumps a generation number, and each worker re-reads the
//! routes and drops the project's modules from its require cache on its next invocation, so
//! edits apply within milliseconds and no worker is restarted unless `package.json` changes.

pub mod record;

use crate::build::materialize::{Manifest, Route};
use crate::build::Dependency;
use crate::project::{self, Project};
use crate::runtime::{LiveOptions, Pool};
use crate::state::AppState;
use crate::store::resources::Kind;
use record::Recorded;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// What the live project serves right now.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub recorded: Recorded,
    pub manifest: Manifest,
    pub generation: u64,
}

pub struct Live {
    pub dir: PathBuf,
    manifest_path: PathBuf,
    inspect: Option<String>,
    generation: AtomicU64,
    snapshot: RwLock<Arc<Snapshot>>,
    pool: RwLock<Arc<Pool>>,
    /// Where to find modules the project has not installed itself (`NODE_PATH`).
    fallback_modules: RwLock<Option<PathBuf>>,
    /// Problems from the last scan and from syntax checks, shown until fixed.
    problems: RwLock<Vec<String>>,
    /// Syntax check results by file, keyed with the content hash they were made for.
    checked: Mutex<HashMap<String, (String, Option<String>)>>,
    /// One sync at a time.
    syncing: tokio::sync::Mutex<()>,
}

/// What changed on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Functions, assets, `.env` or `.twilioserverlessrc`.
    Files,
    /// `package.json`: the project's dependencies may differ, so workers restart.
    Dependencies,
}

fn lock<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn lock_mut<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

impl Live {
    /// Records the project at `dir`, starts its workers, and returns it.
    pub async fn start(state: &AppState, dir: &Path, inspect: Option<String>) -> Result<Arc<Live>, String> {
        let dir = dir.canonicalize().map_err(|e| format!("{}: {e}", dir.display()))?;
        let manifest_path = state.paths.live.join("manifest.json");
        std::fs::create_dir_all(&state.paths.live).map_err(|e| e.to_string())?;
        let project = project::scan(&dir);
        let snapshot = capture(state, &project, &manifest_path, 1).await?;
        let fallback = missing_modules(&dir).and_then(|deps| state.paths.deps.installed(&deps));
        let options = LiveOptions {
            dir: dir.clone(),
            manifest: manifest_path.clone(),
            inspect: inspect.clone(),
            node_path: fallback.clone(),
        };
        let live = Arc::new(Live {
            pool: RwLock::new(state.runtime.live_pool(&options)),
            dir,
            manifest_path,
            inspect,
            generation: AtomicU64::new(1),
            snapshot: RwLock::new(Arc::new(snapshot)),
            fallback_modules: RwLock::new(fallback),
            problems: RwLock::new(project.problems.clone()),
            checked: Mutex::new(HashMap::new()),
            syncing: tokio::sync::Mutex::new(()),
        });
        live.report_problems(&state.events, &[]);
        live.clone().check_syntax(state.clone(), project);
        live.clone().provide_missing_modules(state.clone());
        Ok(live)
    }

    /// What is served now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        lock(&self.snapshot).clone()
    }

    /// The workers of the live project.
    pub fn pool(&self) -> Arc<Pool> {
        lock(&self.pool).clone()
    }

    /// Problems shown until fixed: invalid or colliding paths, unreadable `.env`, syntax errors.
    pub fn problems(&self) -> Vec<String> {
        lock(&self.problems).clone()
    }

    /// Re-reads the project after a change and serves the result from the next request on.
    pub async fn sync(self: &Arc<Self>, state: &AppState, change: Change) {
        let _one_at_a_time = self.syncing.lock().await;
        let project = project::scan(&self.dir);
        let generation = self.generation.load(Ordering::SeqCst) + 1;
        match capture(state, &project, &self.manifest_path, generation).await {
            Ok(snapshot) => {
                self.generation.store(generation, Ordering::SeqCst);
                let (functions, assets) = (snapshot.manifest.functions.len(), snapshot.manifest.assets.len());
                *lock_mut(&self.snapshot) = Arc::new(snapshot);
                if change == Change::Dependencies {
                    self.restart_workers(state);
                }
                state.gateway.invalidate();
                log::info!(target: "twirl::live", "reloaded: {functions} functions, {assets} assets");
            }
            Err(e) => log::error!(target: "twirl::live", "cannot reload the project: {e}"),
        }
        let previous = std::mem::replace(&mut *lock_mut(&self.problems), project.problems.clone());
        self.report_problems(&state.events, &previous);
        state.events.send(crate::events::Event::Changed);
        self.clone().check_syntax(state.clone(), project);
    }

    fn options(&self) -> LiveOptions {
        LiveOptions {
            dir: self.dir.clone(),
            manifest: self.manifest_path.clone(),
            inspect: self.inspect.clone(),
            node_path: lock(&self.fallback_modules).clone(),
        }
    }

    fn restart_workers(&self, state: &AppState) {
        let fresh = state.runtime.live_pool(&self.options());
        let old = std::mem::replace(&mut *lock_mut(&self.pool), fresh);
        tokio::spawn(async move { old.shutdown().await });
        state.gateway.invalidate();
    }

    /// A project without its own `node_modules` (the embedded demo, a fresh checkout) still
    /// gets the `twilio` module and its `package.json` dependencies, from the dependency cache.
    fn provide_missing_modules(self: Arc<Self>, state: AppState) {
        let Some(deps) = missing_modules(&self.dir) else { return };
        if lock(&self.fallback_modules).is_some() {
            return;
        }
        tokio::spawn(async move {
            match state.paths.deps.ensure(&deps).await {
                Ok(modules) => {
                    *lock_mut(&self.fallback_modules) = Some(modules);
                    self.restart_workers(&state);
                    log::info!(target: "twirl::live", "the project has no node_modules: using its dependencies from the cache");
                }
                Err(e) => {
                    log::warn!(target: "twirl::live", "the project has no node_modules and its dependencies cannot be installed: {e}")
                }
            }
        });
    }

    /// Runs `node --check` on changed function files, off the request path; syntax errors join
    /// the problems until fixed.
    fn check_syntax(self: Arc<Self>, state: AppState, project: Project) {
        tokio::spawn(async move {
            let mut errors = Vec::new();
            for file in project.files.iter().filter(|f| f.kind == Kind::Function) {
                let Ok(bytes) = std::fs::read(self.dir.join(&file.rel)) else {
                    continue;
                };
                let hash = crate::store::blobs::hash(&bytes);
                let cached = self
                    .checked
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&file.rel)
                    .cloned();
                let result = match cached {
                    Some((h, result)) if h == hash => result,
                    _ => {
                        let result = syntax_error(&state, &self.dir.join(&file.rel)).await;
                        self.checked
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(file.rel.clone(), (hash, result.clone()));
                        result
                    }
                };
                errors.extend(result.map(|e| format!("{}: {e}", file.rel)));
            }
            if errors.is_empty() {
                return;
            }
            let previous = {
                let mut problems = lock_mut(&self.problems);
                let previous = problems.clone();
                problems.extend(errors);
                previous
            };
            self.report_problems(&state.events, &previous);
        });
    }

    /// Prints problems that are new since `previous`, says so when all are fixed, and tells the
    /// console.
    fn report_problems(&self, events: &crate::events::Events, previous: &[String]) {
        let now = self.problems();
        if now != previous {
            events.send(crate::events::Event::Problems { problems: now.clone() });
        }
        for problem in now.iter().filter(|p| !previous.contains(p)) {
            log::error!(target: "twirl::live", "{problem}");
        }
        if now.is_empty() && !previous.is_empty() {
            log::info!(target: "twirl::live", "all problems fixed");
        }
    }

    /// Whether the project serves `path` over HTTP (a public or protected function or asset).
    pub fn serves(&self, path: &str) -> bool {
        let snapshot = self.snapshot();
        let manifest = &snapshot.manifest;
        manifest
            .functions
            .iter()
            .chain(&manifest.assets)
            .any(|r| r.path == path && r.visibility != "private")
    }

    /// Every route of the live project, for the terminal's route table.
    pub fn routes(&self) -> Vec<Route> {
        let snapshot = self.snapshot();
        snapshot
            .manifest
            .functions
            .iter()
            .chain(&snapshot.manifest.assets)
            .cloned()
            .collect()
    }
}

/// The dependency set to take from the cache when the project has no `node_modules` of its own.
fn missing_modules(dir: &Path) -> Option<Vec<Dependency>> {
    (!dir.join("node_modules").is_dir()).then(|| Dependency::with_defaults(project::scan(dir).dependencies))
}

/// Scans, stores and writes the manifest of `project` as generation `generation`.
async fn capture(
    state: &AppState,
    project: &Project,
    manifest_path: &Path,
    generation: u64,
) -> Result<Snapshot, String> {
    let mut contents = Vec::with_capacity(project.files.len());
    let mut files = Vec::with_capacity(project.files.len());
    for file in &project.files {
        // A file deleted between the scan and now is simply not part of this generation.
        if let Ok(bytes) = std::fs::read(project.root.join(&file.rel)) {
            contents.push(bytes);
            files.push(file.clone());
        }
    }
    let project = Project {
        files,
        ..project.clone()
    };
    let now = state.clock.now();
    let recorded = {
        let project = project.clone();
        state
            .store
            .transaction(move |tx| record::record(tx, &project, &contents, now))
            .await
            .map_err(|e| e.to_string())?
    };
    let manifest = manifest_of(state, &project, &recorded).await?;
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?;
    let staging = manifest_path.with_extension("json.tmp");
    std::fs::write(&staging, json)
        .and_then(|_| std::fs::rename(&staging, manifest_path))
        .map_err(|e| e.to_string())?;
    Ok(Snapshot {
        recorded,
        manifest,
        generation,
    })
}

/// The routes of the recorded build, pointing at the project's own files.
async fn manifest_of(state: &AppState, project: &Project, recorded: &Recorded) -> Result<Manifest, String> {
    let Some(sid) = recorded.build_sid.clone() else {
        return Ok(Manifest::default());
    };
    let service = recorded.service_sid.clone();
    let build = state
        .store
        .call(move |c| crate::store::builds::get(c, &service, &sid))
        .await
        .map_err(|e| e.to_string())?;
    let mut manifest = Manifest::default();
    for (version, file) in build.versions.iter().zip(&project.files) {
        let route = Route {
            path: version.path.clone(),
            sid: version.sid.clone(),
            resource_sid: version.resource_sid.clone(),
            visibility: version.visibility.clone(),
            file: file.rel.clone(),
            content_type: crate::build::materialize::content_type_of(&file.path, &version.content_type),
        };
        match version.kind {
            Kind::Function => manifest.functions.push(route),
            Kind::Asset => manifest.assets.push(route),
        }
    }
    Ok(manifest)
}

/// Node's own syntax check of one file; `None` when it parses.
async fn syntax_error(state: &AppState, file: &Path) -> Option<String> {
    let output = tokio::process::Command::new(state.runtime.node())
        .arg("--check")
        .arg(file)
        .output()
        .await
        .ok()?;
    if output.status.success() {
        return None;
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let message = stderr
        .lines()
        .find(|l| l.contains("Error"))
        .unwrap_or("syntax error")
        .trim()
        .to_string();
    let location = stderr
        .lines()
        .next()
        .and_then(|l| l.rsplit(':').next())
        .unwrap_or("")
        .trim()
        .to_string();
    Some(if location.is_empty() {
        message
    } else {
        format!("line {location}: {message}")
    })
}
