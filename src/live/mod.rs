//! The live project: the Serverless Toolkit project `twirl serve` runs in, served at the root
//! of the port like `twilio-run start`, and recorded as an ordinary service whose live
//! environment gets a new build on every change. Its workers run the project's files in place
//! with its own `node_modules` (or its dependencies from the cache, see `deps`); an edit bumps a
//! generation number, and each worker re-reads the routes and drops the project's modules from
//! its require cache on its next invocation, so edits apply within milliseconds and no worker is
//! restarted unless the dependencies change. When an edit keeps the routes, idle workers reload
//! the modules while the store records the edit, before any invocation asks for it; when it
//! changes file contents alone, it is served while the store records it.

pub mod deps;
mod hashes;
pub mod record;

use crate::build::materialize::{Manifest, Route};
use crate::build::Dependency;
use crate::deploy::Deployed;
use crate::events::Event;
use crate::project::{self, Project};
use crate::runtime::{LiveOptions, Pool};
use crate::state::AppState;
use crate::store::builds::BuildVersion;
use crate::store::resources::Kind;
use hashes::Hashes;
use record::Recorded;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;
use tokio::sync::{watch, OwnedMutexGuard};

/// What the live project serves right now.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub recorded: Recorded,
    pub manifest: Manifest,
    pub generation: u64,
    /// The `.env` variables it was scanned with.
    pub variables: Vec<(String, String)>,
}

pub struct Live {
    pub dir: PathBuf,
    manifest_path: PathBuf,
    inspect: Option<String>,
    /// Whether a worker starts ahead of the first request (see `LiveOptions::warm`).
    warm: bool,
    generation: AtomicU64,
    snapshot: RwLock<Arc<Snapshot>>,
    pool: RwLock<Arc<Pool>>,
    /// The dependencies the workers run with, and any install under way; held requests watch it.
    deps: watch::Sender<deps::Status>,
    /// Shown until fixed.
    problems: RwLock<Problems>,
    /// Syntax check results by file, keyed with the content hash they were made for.
    checked: Mutex<HashMap<String, (String, Option<String>)>>,
    /// Variables kept over `.env` that the terminal has been told about.
    told_edited: Mutex<HashSet<(String, Option<String>)>>,
    /// Changes seen on disk and not served yet: the next request syncs them before it is served,
    /// so an edit already saved never waits for the watcher's quiet time.
    pending: Mutex<Pending>,
    /// One sync at a time; a change served before it is recorded holds it until it is.
    syncing: Arc<tokio::sync::Mutex<()>>,
    hashes: Hashes,
}

/// How long after a sync its syntax check starts.
const CHECK_AFTER: std::time::Duration = std::time::Duration::from_millis(100);

/// A change noticed on disk, and whether one is being synced: either way a request waits.
#[derive(Debug, Default)]
struct Pending {
    change: Option<Change>,
    syncing: bool,
}

/// The live project's problems, by where they come from.
#[derive(Debug, Default)]
struct Problems {
    /// From the last scan: invalid or colliding paths, `.env` lines, `package.json`.
    scan: Vec<String>,
    /// Syntax errors of function files, with the generation they were checked for.
    syntax: (u64, Vec<String>),
    /// A dependency set that cannot be installed.
    dependencies: Option<String>,
}

impl Problems {
    fn all(&self) -> Vec<String> {
        let mut all = self.scan.clone();
        all.extend(self.syntax.1.iter().cloned());
        all.extend(self.dependencies.iter().cloned());
        all
    }
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

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Live {
    /// Records the project at `dir`, starts its workers (and the install of its dependencies if
    /// they are not in the cache yet), and returns it. With `warm`, a worker starts at once;
    /// without, at the first request.
    pub async fn start(state: &AppState, dir: &Path, inspect: Option<String>, warm: bool) -> Result<Arc<Live>, String> {
        let dir = dir.canonicalize().map_err(|e| format!("{}: {e}", dir.display()))?;
        let manifest_path = state.paths.live.join("manifest.json");
        std::fs::create_dir_all(&state.paths.live).map_err(|e| e.to_string())?;
        let now = state.clock.now();
        state
            .store
            .call(move |c| {
                let abandoned = Err("twirl stopped before the dependencies of this build were installed".into());
                crate::store::builds::finish_live(c, None, abandoned, now)
            })
            .await
            .map_err(|e| e.to_string())?;
        let project = project::scan(&dir);
        let status = installed_status(state, &dir, &project);
        let outcome = build_outcome(&status);
        let hashes = Hashes::default();
        let first = Recording { outcome, planned: None };
        let queued = queue_recording(state, &hashes, &project, first);
        let snapshot = snapshot_of(queued, &manifest_path, None, 1).await?;
        let options = LiveOptions {
            dir: dir.clone(),
            manifest: manifest_path.clone(),
            inspect: inspect.clone(),
            node_path: status.node_path(),
            warm,
        };
        let live = Arc::new(Live {
            pool: RwLock::new(state.runtime.live_pool(&options)),
            dir,
            manifest_path,
            inspect,
            warm,
            generation: AtomicU64::new(1),
            snapshot: RwLock::new(Arc::new(snapshot)),
            deps: watch::Sender::new(status),
            problems: RwLock::new(Problems::default()),
            checked: Mutex::new(HashMap::new()),
            told_edited: Mutex::new(HashSet::new()),
            pending: Mutex::new(Pending::default()),
            syncing: Arc::new(tokio::sync::Mutex::new(())),
            hashes,
        });
        live.tell_edited_variables();
        live.update_problems(&state.events, |p| p.scan = project.problems.clone());
        live.clone().check_syntax(state.clone(), project.clone(), 1);
        live.provide_dependencies(state, &project, false);
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

    /// Problems shown until fixed: invalid or colliding paths, `.env` lines, a broken
    /// `package.json`, syntax errors, dependencies that cannot be installed.
    pub fn problems(&self) -> Vec<String> {
        lock(&self.problems).all()
    }

    /// The dependencies' state, for the console.
    pub fn dependencies(&self) -> serde_json::Value {
        self.deps.borrow().to_json()
    }

    /// Waits while the first dependency set is being installed, up to `deps::HOLD`; past it,
    /// says what is still being installed.
    pub async fn ready(&self) -> Result<(), String> {
        let mut status = self.deps.subscribe();
        let waited = tokio::time::timeout(deps::HOLD, status.wait_for(|s| !s.holds())).await;
        match waited {
            Ok(_) => Ok(()),
            Err(_) => {
                let what = self.deps.borrow().installing.as_ref().map(|i| i.what.clone());
                Err(format!(
                    "The project's dependencies are still being installed ({}); try again in a moment",
                    what.unwrap_or_default()
                ))
            }
        }
    }

    /// Why a module may be missing right now, for the errors its absence causes.
    pub fn missing_modules_note(&self) -> Option<String> {
        self.deps.borrow().note()
    }

    /// Notes a change on disk, to be synced by `catch_up`; a dependency change outweighs others.
    pub fn noticed(&self, change: Change) {
        let mut pending = locked(&self.pending);
        if pending.change != Some(Change::Dependencies) {
            pending.change = Some(change);
        }
    }

    /// Syncs the changes noticed on disk, if any, or waits for the sync under way: what a request
    /// is served after this includes every change noticed before it.
    pub async fn catch_up(self: &Arc<Self>, state: &AppState) {
        {
            let pending = locked(&self.pending);
            if pending.change.is_none() && !pending.syncing {
                return;
            }
        }
        let one_at_a_time = self.syncing.clone().lock_owned().await;
        let change = {
            let mut pending = locked(&self.pending);
            pending.syncing = pending.change.is_some();
            pending.change.take()
        };
        if let Some(change) = change {
            self.sync_now(state, change, Some(one_at_a_time)).await;
            locked(&self.pending).syncing = false;
        }
    }

    /// Re-reads the project after a change and serves the result from the next request on, once
    /// the store has recorded it.
    pub async fn sync(self: &Arc<Self>, state: &AppState, change: Change) {
        let _one_at_a_time = self.syncing.lock().await;
        self.sync_now(state, change, None).await;
    }

    /// `sync`, with the sync lock held. Given the lock (`early`), an edit of file contents alone
    /// is served as soon as the project is scanned, and the lock is released once the store has
    /// recorded it.
    async fn sync_now(self: &Arc<Self>, state: &AppState, change: Change, early: Option<OwnedMutexGuard<()>>) {
        let started = Instant::now();
        let project = project::scan(&self.dir);
        // A number is never used twice, even when its sync fails: a worker told to prepare it
        // must not take a later change for one it has already taken up.
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let outcome = match change {
            Change::Dependencies => build_outcome(&installed_status(state, &self.dir, &project)),
            Change::Files => build_outcome(&self.deps.borrow()),
        };
        let previous = self.snapshot();
        // Idle workers reload the project's modules while the store records the change (the
        // reload was a third of a save's time to be served, and waited for the store).
        let prepared = change == Change::Files && same_routes(&previous.manifest, &project);
        if prepared {
            self.pool().prepare_idle(generation).await;
        }
        // With the same routes and variables, nothing the gateway reads changed but the build's
        // SIDs: chosen now, the edit is served while the store records it (most of the sync).
        let early = early
            .filter(|_| prepared && !project.files.is_empty() && project.variables == previous.variables)
            .map(|one_at_a_time| (one_at_a_time, Deployed::planned()));
        let recording = Recording {
            outcome,
            planned: early.as_ref().map(|(_, planned)| planned.clone()),
        };
        // Queued before the edit is served: what the API answers after that includes it.
        let queued = queue_recording(state, &self.hashes, &project, recording);
        let scanned = Scanned {
            change,
            project,
            previous,
            generation,
            prepared,
            started,
        };
        match early {
            Some((one_at_a_time, planned)) => {
                self.serve_early(state, &scanned.previous, generation, &planned);
                let (live, state) = (self.clone(), state.clone());
                tokio::spawn(async move {
                    live.record(&state, scanned, queued, true).await;
                    drop(one_at_a_time);
                });
            }
            None => self.record(state, scanned, queued, false).await,
        }
    }

    /// Serves `generation` from the next request on with the routes and variables of `previous`,
    /// tagged with the SIDs `planned` for the build that records it.
    fn serve_early(&self, state: &AppState, previous: &Snapshot, generation: u64, planned: &Deployed) {
        let recorded = Recorded {
            build_sid: Some(planned.build_sid.clone()),
            deployment_sid: Some(planned.deployment_sid.clone()),
            ..previous.recorded.clone()
        };
        let domain = recorded.domain_name.clone();
        *lock_mut(&self.snapshot) = Arc::new(Snapshot {
            recorded,
            generation,
            ..previous.clone()
        });
        state.gateway.edited_live(&domain, generation, planned);
    }

    /// Serves what the store recorded of a scanned change from the next request on (`served_early`:
    /// it is served already, with the SIDs chosen for its build).
    async fn record(self: &Arc<Self>, state: &AppState, scanned: Scanned, queued: Queued, served_early: bool) {
        let Scanned {
            change,
            project,
            previous,
            mut generation,
            prepared,
            started,
        } = scanned;
        let written = Some(&previous.manifest);
        match snapshot_of(queued, &self.manifest_path, written, generation).await {
            Ok(mut snapshot) => {
                // The workers that prepared the generation did not re-read routes that turned
                // out to differ (the store's resources changed under the project, say): a
                // newer generation has them re-read.
                if prepared && !alike_for_workers(&previous.manifest, &snapshot.manifest) {
                    generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
                    snapshot.generation = generation;
                }
                let (functions, assets) = (snapshot.manifest.functions.len(), snapshot.manifest.assets.len());
                *lock_mut(&self.snapshot) = Arc::new(snapshot);
                state.gateway.invalidate();
                log::info!(
                    target: "twirl::live",
                    "reloaded: {functions} functions, {assets} assets ({:.1} ms)",
                    started.elapsed().as_secs_f64() * 1000.0
                );
                self.tell_edited_variables();
            }
            Err(e) => {
                log::error!(target: "twirl::live", "cannot reload the project: {e}");
                if served_early {
                    // Served already, under a build the store does not have: the files on disk
                    // stay served, as the build recorded before.
                    *lock_mut(&self.snapshot) = Arc::new(Snapshot {
                        generation,
                        ..(*previous).clone()
                    });
                    state.gateway.invalidate();
                }
            }
        }
        self.update_problems(&state.events, |p| p.scan = project.problems.clone());
        if change == Change::Dependencies {
            self.provide_dependencies(state, &project, true);
        }
        state.events.send(Event::Changed);
        self.clone().check_syntax(state.clone(), project, generation);
    }

    /// Starts a new pool of workers taking missing modules from `node_path`, and stops the old one.
    fn restart_workers(&self, state: &AppState, node_path: Option<PathBuf>) {
        let options = LiveOptions {
            dir: self.dir.clone(),
            manifest: self.manifest_path.clone(),
            inspect: self.inspect.clone(),
            node_path,
            warm: self.warm,
        };
        let fresh = state.runtime.live_pool(&options);
        let old = std::mem::replace(&mut *lock_mut(&self.pool), fresh);
        tokio::spawn(async move { old.shutdown().await });
        state.gateway.invalidate();
    }

    /// Gives the workers the project's dependencies after a start or a `package.json` change
    /// (`restart`: the workers restart even if the set is the same): its own `node_modules`, or
    /// its set from the cache, installed first if needed while the previous set goes on serving.
    fn provide_dependencies(self: &Arc<Self>, state: &AppState, project: &Project, restart: bool) {
        let status = installed_status(state, &self.dir, project);
        if status.own || status.serving.is_some() {
            let (changed, pending) = {
                let current = self.deps.borrow();
                (
                    (current.own, current.node_path()) != (status.own, status.node_path()),
                    current.installing.is_some() || current.failed.is_some(),
                )
            };
            if changed {
                let source = if status.own {
                    "its own node_modules"
                } else {
                    "the dependency cache"
                };
                log::info!(target: "twirl::live", "the project's dependencies come from {source}");
            }
            if changed || pending || restart {
                self.set_dependencies(state, status, true);
            }
            return;
        }
        let wanted = Dependency::with_defaults(project.dependencies.clone());
        let key = state.paths.deps.key(&wanted);
        let what = {
            let current = self.deps.borrow();
            if current.installing.as_ref().is_some_and(|i| i.key == key) {
                return;
            }
            deps::describe(&wanted, current.serving.as_ref().map(|(_, set)| set.as_slice()))
        };
        log::info!(target: "twirl::live", "installing {what}…");
        // The set in force goes on serving; an earlier failure is superseded by this attempt.
        let serving = self.deps.borrow().serving.clone();
        self.set_dependencies(
            state,
            deps::Status {
                serving,
                installing: Some(deps::Install {
                    key: key.clone(),
                    what: what.clone(),
                }),
                ..deps::Status::default()
            },
            false,
        );
        let (live, state) = (self.clone(), state.clone());
        tokio::spawn(async move { live.install(&state, wanted, key, what).await });
    }

    async fn install(self: Arc<Self>, state: &AppState, wanted: Vec<Dependency>, key: String, what: String) {
        let started = Instant::now();
        let result = state.paths.deps.ensure(&wanted).await;
        let (json, ended, now) = (
            Dependency::to_json(&wanted),
            result.as_ref().map(|_| ()).map_err(Clone::clone),
            state.clock.now(),
        );
        if let Err(e) = state
            .store
            .call(move |c| crate::store::builds::finish_live(c, Some(&json), ended, now))
            .await
        {
            log::error!(target: "twirl::live", "cannot record the end of the live build: {e}");
        }
        let superseded = self.deps.borrow().installing.as_ref().is_none_or(|i| i.key != key);
        if superseded {
            log::info!(target: "twirl::live", "{what}: no longer wanted, as package.json changed again");
        } else {
            match result {
                Ok(modules) => {
                    log::info!(target: "twirl::live", "installed {what} in {:.1} s", started.elapsed().as_secs_f64());
                    self.set_dependencies(
                        state,
                        deps::Status {
                            serving: Some((modules, wanted)),
                            ..deps::Status::default()
                        },
                        true,
                    );
                }
                Err(reason) => {
                    // The problem says it in one line; the build keeps npm's whole reason.
                    let failure = deps::Failure { key, what, reason };
                    let serving = self.deps.borrow().serving.clone();
                    self.set_dependencies(
                        state,
                        deps::Status {
                            serving,
                            failed: Some(failure),
                            ..deps::Status::default()
                        },
                        false,
                    );
                }
            }
        }
        state.events.send(Event::Changed);
    }

    /// Records a new dependency state and tells the console (and the problems) about it. With
    /// `restart`, the workers restart on it first, so the requests it releases run on them.
    fn set_dependencies(&self, state: &AppState, status: deps::Status, restart: bool) {
        if restart {
            self.restart_workers(state, status.node_path());
        }
        let problem = status.problem();
        let installing = status.installing.as_ref().map(|i| i.what.clone());
        self.deps.send_replace(status);
        state.events.send(Event::Dependencies { installing });
        self.update_problems(&state.events, |p| p.dependencies = problem);
    }

    /// Says once in the terminal which variables keep an API edit over `.env`.
    fn tell_edited_variables(&self) {
        let edited = self.snapshot().recorded.edited.clone();
        let mut told = locked(&self.told_edited);
        for variable in edited {
            if !told.insert((variable.key.clone(), variable.value.clone())) {
                continue;
            }
            let now = match &variable.value {
                Some(value) => format!("keeps {value:?}"),
                None => "stays deleted".to_string(),
            };
            log::info!(
                target: "twirl::live",
                "{} was changed through the API and {now} over .env's {:?} until .env changes {}",
                variable.key, variable.dotenv, variable.key
            );
        }
    }

    /// Runs `node --check` on changed function files, off the request path; syntax errors are
    /// shown until fixed. The source goes through stdin, so Node.js judges the file alone (and
    /// not, say, a broken package.json beside it).
    fn check_syntax(self: Arc<Self>, state: AppState, project: Project, generation: u64) {
        tokio::spawn(async move {
            // Starting Node.js takes a CPU for tens of milliseconds: the request that made (or
            // follows) the sync is served first.
            tokio::time::sleep(CHECK_AFTER).await;
            let mut errors = Vec::new();
            for file in project.files.iter().filter(|f| f.kind == Kind::Function) {
                let Some((bytes, hash)) = self.hashes.read(&self.dir.join(&file.rel)) else {
                    continue;
                };
                let cached = locked(&self.checked).get(&file.rel).cloned();
                let result = match cached {
                    Some((h, result)) if h == hash => result,
                    _ => {
                        let result = syntax_error(&state, bytes).await;
                        locked(&self.checked).insert(file.rel.clone(), (hash, result.clone()));
                        result
                    }
                };
                errors.extend(result.map(|e| format!("{}: {e}", file.rel)));
            }
            self.update_problems(&state.events, |p| {
                // A check made for an older generation must not undo a newer one's result.
                if p.syntax.0 <= generation {
                    p.syntax = (generation, errors);
                }
            });
        });
    }

    /// Changes the problems with `change`, prints those that are new, says so when all are
    /// fixed, and tells the console.
    fn update_problems(&self, events: &crate::events::Events, change: impl FnOnce(&mut Problems)) {
        let (previous, now) = {
            let mut problems = lock_mut(&self.problems);
            let previous = problems.all();
            change(&mut problems);
            (previous, problems.all())
        };
        if now == previous {
            return;
        }
        events.send(Event::Problems { problems: now.clone() });
        for problem in now.iter().filter(|p| !previous.contains(p)) {
            log::error!(target: "twirl::live", "{problem}");
        }
        if now.is_empty() {
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

/// The dependency state `project` can have without installing anything: its own
/// `node_modules`, or its set if the cache has it (else nothing to serve with).
fn installed_status(state: &AppState, dir: &Path, project: &Project) -> deps::Status {
    if dir.join("node_modules").is_dir() {
        return deps::Status {
            own: true,
            ..deps::Status::default()
        };
    }
    let wanted = Dependency::with_defaults(project.dependencies.clone());
    deps::Status {
        serving: state.paths.deps.installed(&wanted).map(|modules| (modules, wanted)),
        ..deps::Status::default()
    }
}

/// How a build of the project's current dependencies ends, given their state: completed when
/// they are there, failed when they cannot be installed, else `building` until their install ends
/// (which ends it).
fn build_outcome(status: &deps::Status) -> Option<Result<(), String>> {
    if let Some(failure) = &status.failed {
        return Some(Err(failure.reason.clone()));
    }
    if status.installing.is_some() {
        return None;
    }
    (status.own || status.serving.is_some()).then_some(Ok(()))
}

/// A sync under way: what it scanned and what it follows.
struct Scanned {
    change: Change,
    project: Project,
    previous: Arc<Snapshot>,
    generation: u64,
    /// Whether idle workers were told to reload for `generation`.
    prepared: bool,
    started: Instant,
}

/// What a sync records: how its build ends (`None`: its dependencies are being installed), and
/// the SIDs chosen for it when it is served before it is recorded.
struct Recording {
    outcome: Option<Result<(), String>>,
    planned: Option<Deployed>,
}

/// What the store answers for a recording: where it went and the versions of its build.
type Stored = Result<(Recorded, Vec<BuildVersion>), String>;

/// A recording queued in the store: the project as recorded (without the files deleted since the
/// scan) and the store's answer.
struct Queued {
    project: Project,
    stored: Pin<Box<dyn Future<Output = Stored> + Send>>,
}

/// Reads the contents of `project`'s files and queues their recording in the store: any store
/// job queued after this returns (an API request's, say) sees it.
fn queue_recording(state: &AppState, hashes: &Hashes, project: &Project, recording: Recording) -> Queued {
    let mut contents = Vec::with_capacity(project.files.len());
    let mut files = Vec::with_capacity(project.files.len());
    for file in &project.files {
        // A file deleted between the scan and now is simply not part of this generation.
        if let Some(content) = hashes.contents(&project.root.join(&file.rel)) {
            contents.push(content);
            files.push(file.clone());
        }
    }
    let project = Project {
        files,
        ..project.clone()
    };
    let now = state.clock.now();
    let recorded = project.clone();
    let stored = state.store.submit(move |tx| {
        let Recording { outcome, planned } = recording;
        let recorded = record::record(tx, &recorded, &contents, outcome, planned, now)?;
        // Read back in the same job: a second round trip cost 0.1 ms of a 1.5 ms sync.
        let versions = match &recorded.build_sid {
            Some(sid) => crate::store::builds::get(tx, &recorded.service_sid, sid)?.versions,
            None => Vec::new(),
        };
        Ok((recorded, versions))
    });
    Queued {
        project,
        stored: Box::pin(async move { stored.await.map_err(|e| e.to_string()) }),
    }
}

/// The snapshot that serves a recording at `generation`, once its manifest is written for the
/// workers to `manifest_path` (unless they would read it as they read `written`, the one before).
async fn snapshot_of(
    queued: Queued,
    manifest_path: &Path,
    written: Option<&Manifest>,
    generation: u64,
) -> Result<Snapshot, String> {
    let (recorded, versions) = queued.stored.await?;
    let manifest = manifest_of(&queued.project, &versions);
    if !written.is_some_and(|w| alike_for_workers(w, &manifest)) {
        let json = serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?;
        let staging = manifest_path.with_extension("json.tmp");
        std::fs::write(&staging, json)
            .and_then(|_| std::fs::rename(&staging, manifest_path))
            .map_err(|e| e.to_string())?;
    }
    Ok(Snapshot {
        recorded,
        manifest,
        generation,
        variables: queued.project.variables,
    })
}

/// Whether the workers read `a` and `b` alike: at most their version SIDs differ, which the
/// harness does not read. An edit to a file's contents gives it a new version and nothing else,
/// and writing the manifest again (a temporary file renamed over it, so a starting worker never
/// reads half of one) was a third of such a save's sync.
fn alike_for_workers(a: &Manifest, b: &Manifest) -> bool {
    let alike = |x: &[Route], y: &[Route]| {
        x.len() == y.len()
            && x.iter().zip(y).all(|(x, y)| {
                (&x.path, &x.resource_sid, &x.visibility, &x.file, &x.content_type)
                    == (&y.path, &y.resource_sid, &y.visibility, &y.file, &y.content_type)
            })
    };
    alike(&a.functions, &b.functions) && alike(&a.assets, &b.assets)
}

/// Whether the project's files are the routes of `manifest` (same paths, visibility and files),
/// whatever their contents.
fn same_routes(manifest: &Manifest, project: &Project) -> bool {
    let routes = |kind| match kind {
        Kind::Function => &manifest.functions,
        Kind::Asset => &manifest.assets,
    };
    manifest.functions.len() + manifest.assets.len() == project.files.len()
        && project.files.iter().all(|file| {
            routes(file.kind)
                .iter()
                .any(|r| r.path == file.path && r.visibility == file.visibility && r.file == file.rel)
        })
}

/// The routes of the recorded build (its `versions`, none when nothing is deployed), pointing at
/// the project's own files.
fn manifest_of(project: &Project, versions: &[BuildVersion]) -> Manifest {
    let mut manifest = Manifest::default();
    for (version, file) in versions.iter().zip(&project.files) {
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
    manifest
}

/// Node's own syntax check of a function's source; `None` when it parses.
async fn syntax_error(state: &AppState, source: Vec<u8>) -> Option<String> {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(state.runtime.node())
        .arg("--check")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    // Node reads stdin to its end before it checks; a write error means it has already failed.
    let _ = stdin.write_all(&source).await;
    drop(stdin);
    let output = child.wait_with_output().await.ok()?;
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
    // The first line says where: `[stdin]:LINE`.
    let location = stderr
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("[stdin]:"))
        .filter(|line| !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()));
    Some(match location {
        Some(line) => format!("line {line}: {message}"),
        None => message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(path: &str, version: &str) -> Route {
        Route {
            path: path.into(),
            sid: version.into(),
            resource_sid: "ZH1".into(),
            visibility: "public".into(),
            file: format!("functions{path}.js"),
            content_type: "application/javascript".into(),
        }
    }

    #[test]
    fn only_new_versions_leave_the_manifest_as_the_workers_read_it() {
        let before = Manifest {
            functions: vec![route("/hello", "ZN1")],
            assets: Vec::new(),
        };
        let edited = Manifest {
            functions: vec![route("/hello", "ZN2")],
            assets: Vec::new(),
        };
        assert!(alike_for_workers(&before, &edited));
        let renamed = Manifest {
            functions: vec![route("/hi", "ZN2")],
            assets: Vec::new(),
        };
        assert!(!alike_for_workers(&before, &renamed));
        let private = Manifest {
            functions: vec![Route {
                visibility: "private".into(),
                ..route("/hello", "ZN2")
            }],
            assets: Vec::new(),
        };
        assert!(!alike_for_workers(&before, &private));
        assert!(!alike_for_workers(&before, &Manifest::default()));
    }

    #[test]
    fn workers_prepare_only_for_files_that_keep_their_routes() {
        let manifest = Manifest {
            functions: vec![route("/hello", "ZN1")],
            assets: Vec::new(),
        };
        let file = |kind, path: &str, visibility, rel: &str| crate::project::ProjectFile {
            kind,
            path: path.into(),
            visibility,
            rel: rel.into(),
        };
        let project = |files| Project {
            files,
            ..Project::default()
        };
        let hello = file(Kind::Function, "/hello", "public", "functions/hello.js");
        assert!(same_routes(&manifest, &project(vec![hello.clone()])));
        let hidden = file(Kind::Function, "/hello", "protected", "functions/hello.protected.js");
        assert!(!same_routes(&manifest, &project(vec![hidden])));
        let as_asset = file(Kind::Asset, "/hello", "public", "functions/hello.js");
        assert!(!same_routes(&manifest, &project(vec![as_asset])));
        let added = file(Kind::Asset, "/a.txt", "public", "assets/a.txt");
        assert!(!same_routes(&manifest, &project(vec![hello, added])));
        assert!(!same_routes(&manifest, &project(Vec::new())));
    }
}
