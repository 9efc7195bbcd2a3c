//! The function runtime: warm Node.js worker pools, one per active build, supervised by twirl.
//! Each invocation takes one of the account's concurrency permits and one idle worker; a worker
//! that crashes, exits or overruns the execution limit is killed and replaced.

mod logs;
mod pool;
mod protocol;
mod scope;
mod worker;

pub use logs::LogSink;
pub use pool::Pool;
pub use protocol::{Done, LogTag};
pub use scope::{Scope, ScopeSids};
pub use worker::InvokeError;

use protocol::{CallContext, ToWorker};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use worker::{Worker, WorkerSpec};

/// The embedded worker harness, written to disk at start-up.
pub const HARNESS: &str = include_str!("harness.js");
/// Execution limit per invocation (DESIGN §7).
pub const EXECUTION_LIMIT: Duration = Duration::from_secs(10);
/// Memory cap of each worker's JavaScript heap.
const WORKER_MEMORY_MB: u32 = 256;
/// How many workers an invocation tries when each turns out to be ending before it begins.
const START_ATTEMPTS: u32 = 3;
/// Idle workers beyond the first are stopped after this long.
const IDLE_FOR: Duration = Duration::from_secs(60);

/// What to run for one request.
pub struct Invocation<'a> {
    pub path: &'a str,
    pub file: &'a str,
    /// The live project's file generation (0 for builds).
    pub generation: u64,
    /// What every invocation of the site shares: `process.env`, most of `context`, the SIDs.
    pub scope: Arc<Scope>,
    /// `context.PATH` and `context.DOMAIN_NAME`.
    pub context_path: &'a str,
    pub domain_name: &'a str,
    pub event: Value,
    pub function_sid: &'a str,
    pub request_sid: String,
    /// Why modules may be missing (the live project's dependencies), for the errors it causes.
    pub dependencies: Option<String>,
}

/// Runtime settings.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    pub node: PathBuf,
    pub harness: PathBuf,
    /// Where twirl listens: workers send the requests their Twilio clients make there.
    pub twirl_url: String,
    /// Concurrent executions per account; beyond it callers get 429.
    pub max_concurrency: usize,
}

/// A cheap-clone handle on the runtime.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    config: RuntimeConfig,
    logs: LogSink,
    permits: Arc<Semaphore>,
    /// Pools of deployed builds, by environment and build.
    pools: Mutex<HashMap<PoolKey, Arc<Pool>>>,
}

/// (environment SID, build SID). Each environment has workers of its own, as in production: a
/// build promoted to several environments never shares a process (nor its `process.env` and
/// module state) between them.
pub type PoolKey = (String, String);

/// How the live project's workers run.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// The project directory (its files and its own `node_modules`).
    pub dir: PathBuf,
    pub manifest: PathBuf,
    /// Node's inspector address; with it, one worker and no execution limit.
    pub inspect: Option<String>,
    /// Where modules the project has not installed come from.
    pub node_path: Option<PathBuf>,
    /// Start a worker before the first request: for a project being edited, whose next request
    /// should not wait for one; not for the embedded demo, which most runs never call and whose
    /// idle worker would hold 40–55 MiB for nothing.
    pub warm: bool,
}

impl Runtime {
    pub fn new(config: RuntimeConfig, logs: LogSink) -> Runtime {
        let permits = Arc::new(Semaphore::new(config.max_concurrency));
        Runtime {
            inner: Arc::new(Inner {
                config,
                logs,
                permits,
                pools: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The Node.js binary workers run on.
    pub fn node(&self) -> &Path {
        &self.inner.config.node
    }

    /// The harness script workers run, whose frames error pages leave out.
    pub fn harness(&self) -> &Path {
        &self.inner.config.harness
    }

    fn spec(&self, build_dir: &Path) -> WorkerSpec {
        WorkerSpec {
            node: self.inner.config.node.clone(),
            harness: self.inner.config.harness.clone(),
            twirl_url: self.inner.config.twirl_url.clone(),
            build_dir: build_dir.to_path_buf(),
            manifest: None,
            memory_mb: WORKER_MEMORY_MB,
            inspect: None,
            node_path: None,
            preload_twilio: true,
        }
    }

    /// A new pool for the live project, with one worker warming up if `options.warm`. Not
    /// tracked here: the live project owns it and replaces it when the project's dependencies
    /// change.
    pub fn live_pool(&self, options: &LiveOptions) -> Arc<Pool> {
        let debugging = options.inspect.is_some();
        let spec = WorkerSpec {
            manifest: Some(options.manifest.clone()),
            inspect: options.inspect.clone(),
            node_path: options.node_path.clone(),
            // The live project's first request should not wait for a module it may not use.
            preload_twilio: false,
            ..self.spec(&options.dir)
        };
        let max = if debugging {
            1
        } else {
            self.inner.config.max_concurrency
        };
        let pool = Pool::new(
            spec,
            self.inner.logs.clone(),
            max,
            (!debugging).then_some(EXECUTION_LIMIT),
        );
        if options.warm {
            pool.warm();
        }
        pool
    }

    fn pools(&self) -> std::sync::MutexGuard<'_, HashMap<PoolKey, Arc<Pool>>> {
        self.inner.pools.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The pool serving `key`, created (with one worker warming up) on first use.
    pub fn pool(&self, key: PoolKey, build_dir: &Path) -> Arc<Pool> {
        let mut pools = self.pools();
        if let Some(pool) = pools.get(&key) {
            return pool.clone();
        }
        let spec = self.spec(build_dir);
        let pool = Pool::new(
            spec,
            self.inner.logs.clone(),
            self.inner.config.max_concurrency,
            Some(EXECUTION_LIMIT),
        );
        pool.warm();
        pools.insert(key, pool.clone());
        pool
    }

    /// Runs one invocation on `pool`.
    pub async fn invoke(&self, pool: &Arc<Pool>, request: Invocation<'_>) -> Result<Done, InvokeError> {
        let _permit = self
            .inner
            .permits
            .clone()
            .try_acquire_owned()
            .map_err(|_| InvokeError::Busy)?;
        // A worker can end while idle, or between being handed this invocation and reading it (a
        // function that exits some time after answering): the invocation never began, so it goes
        // to another worker.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let worker = pool.checkout().await?;
            match Self::invoke_on(pool, worker, &request).await {
                Err(InvokeError::NotStarted) if attempts < START_ATTEMPTS => continue,
                Err(InvokeError::NotStarted) => return Err(InvokeError::Exited),
                result => return result,
            }
        }
    }

    async fn invoke_on(pool: &Arc<Pool>, mut worker: Worker, request: &Invocation<'_>) -> Result<Done, InvokeError> {
        let frame = |id, scope| ToWorker::Invoke {
            id,
            path: request.path,
            file: request.file,
            generation: request.generation,
            scope,
            context: CallContext {
                path: request.context_path,
                domain_name: request.domain_name,
            },
            event: &request.event,
            function_sid: request.function_sid,
            request_sid: &request.request_sid,
            dependencies: request.dependencies.as_deref(),
        };
        match worker.invoke(&request.scope, frame, pool.limit).await {
            Ok(done) if done.fatal => {
                pool.discard(worker);
                Ok(done)
            }
            Ok(done) => {
                pool.checkin(worker);
                Ok(done)
            }
            Err(InvokeError::NotStarted) => {
                pool.discard(worker);
                Err(InvokeError::NotStarted)
            }
            Err(e) => {
                log::warn!(target: "twirl::functions", "{} {}: {e}; replacing its worker", request.request_sid, request.path);
                pool.discard(worker);
                Err(e)
            }
        }
    }

    /// Stops the pools of builds their environment no longer serves, and idle workers.
    pub async fn retain(&self, active: &HashSet<PoolKey>) {
        let stopped: Vec<Arc<Pool>> = {
            let mut pools = self.pools();
            let gone: Vec<PoolKey> = pools.keys().filter(|key| !active.contains(*key)).cloned().collect();
            gone.iter().filter_map(|key| pools.remove(key)).collect()
        };
        for pool in stopped {
            pool.shutdown().await;
        }
        for pool in self.pools().values() {
            pool.reap(IDLE_FOR, 1);
        }
    }

    /// Stops every worker.
    pub async fn shutdown(&self) {
        let pools: Vec<Arc<Pool>> = self.pools().drain().map(|(_, p)| p).collect();
        for pool in pools {
            pool.shutdown().await;
        }
    }

    /// Workers alive or starting, across all pools.
    pub fn workers(&self) -> usize {
        self.pools().values().map(|p| p.size()).sum()
    }
}
