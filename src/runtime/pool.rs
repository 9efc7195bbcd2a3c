//! A pool of warm workers for one build. Each worker serves one invocation at a time; the pool
//! grows on demand up to its cap, hands freed workers to waiting callers first, and reaps
//! workers that sat idle too long.

use super::logs::LogSink;
use super::worker::{InvokeError, Worker, WorkerSpec};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::ThreadId;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// A caller waiting for a worker.
struct Waiter {
    tx: oneshot::Sender<Result<Worker, InvokeError>>,
    thread: ThreadId,
    since: Instant,
}

pub struct Pool {
    spec: WorkerSpec,
    logs: LogSink,
    max: usize,
    /// Up to this many workers the pool grows after a short wait (see `GROW_AFTER_QUICK`).
    quick_size: usize,
    /// The execution limit of an invocation; `None` while a debugger may be paused in one.
    pub limit: Option<Duration>,
    state: Mutex<PoolState>,
}

#[derive(Default)]
struct PoolState {
    idle: Vec<Worker>,
    /// Workers alive or starting, idle or busy.
    total: usize,
    /// Workers starting.
    starting: usize,
    waiters: VecDeque<Waiter>,
}

impl PoolState {
    /// Who gets a worker freed on this thread: the first caller waiting on this thread, so the
    /// worker's frames stay where they are read, unless a caller on another thread has waited
    /// longer than `PATIENCE`. (A thread that never gets a worker this way grows one of its own:
    /// its callers' waits run out.)
    fn next_waiter(&mut self) -> Option<Waiter> {
        let first = self.waiters.front()?;
        let here = std::thread::current().id();
        if first.thread != here && first.since.elapsed() < PATIENCE {
            if let Some(at) = self.waiters.iter().position(|w| w.thread == here) {
                return self.waiters.remove(at);
            }
        }
        self.waiters.pop_front()
    }

    /// The idle worker used last, preferring one whose frames this thread reads already.
    fn take_idle(&mut self) -> Option<Worker> {
        let here = Some(std::thread::current().id());
        let at = self
            .idle
            .iter()
            .rposition(|w| w.home() == here)
            .or(self.idle.len().checked_sub(1))?;
        Some(self.idle.remove(at))
    }
}

/// How long a caller waits for a busy worker before the pool starts another: an invocation
/// usually ends within milliseconds, far sooner than a new Node.js process is ready, so the pool
/// only grows for work that really runs in parallel. Up to `WORKERS_PER_CPU` workers per CPU it
/// grows after a short wait: one per CPU keeps the CPUs busy, twirl relaying answers between
/// invocations. Beyond, only after a long one: more workers then only help functions that wait
/// on I/O (their callers wait long), and for quick ones would just share the same CPUs, each
/// start taking a CPU from them for a third of a second, and each worker holding 60–80 MiB.
/// (Three per CPU served hello-world 10% faster on 2 CPUs, in twice the memory: 516 MiB against
/// 256 MiB at the peak.)
const GROW_AFTER_QUICK: Duration = Duration::from_millis(2);
const GROW_AFTER_SLOW: Duration = Duration::from_millis(50);
const WORKERS_PER_CPU: usize = 1;
/// How long a caller may be passed over for one on the thread where a worker was freed.
const PATIENCE: Duration = Duration::from_millis(1);

impl Pool {
    pub fn new(spec: WorkerSpec, logs: LogSink, max: usize, limit: Option<Duration>) -> Arc<Pool> {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Arc::new(Pool {
            spec,
            logs,
            max: max.max(1),
            quick_size: cpus * WORKERS_PER_CPU,
            limit,
            state: Mutex::new(PoolState::default()),
        })
    }

    fn state(&self) -> MutexGuard<'_, PoolState> {
        // A panic while holding this lock cannot leave the state half-changed (every critical
        // section is a few pushes and pops), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts one worker now if none exists, so the first request finds it warm.
    pub fn warm(self: &Arc<Self>) {
        let mut state = self.state();
        if state.total == 0 {
            state.total += 1;
            state.starting += 1;
            drop(state);
            self.clone().spawn_worker();
        }
    }

    /// An idle worker, or the first one freed or started for us.
    pub async fn checkout(self: &Arc<Self>) -> Result<Worker, InvokeError> {
        let (mut rx, total) = {
            let mut state = self.state();
            if let Some(worker) = state.take_idle() {
                return Ok(worker);
            }
            let (tx, rx) = oneshot::channel();
            state.waiters.push_back(Waiter {
                tx,
                thread: std::thread::current().id(),
                since: Instant::now(),
            });
            (rx, state.total)
        };
        if total > 0 {
            let grow_after = if total < self.quick_size {
                GROW_AFTER_QUICK
            } else {
                GROW_AFTER_SLOW
            };
            if let Ok(result) = tokio::time::timeout(grow_after, &mut rx).await {
                return result.unwrap_or(Err(InvokeError::Exited));
            }
        }
        self.grow();
        rx.await.unwrap_or(Err(InvokeError::Exited))
    }

    /// Starts a worker if callers wait and none is starting already, within the cap. One start
    /// at a time: a start costs a core for a while, and on a small machine starting many at once
    /// would slow the very invocations they are meant to relieve.
    fn grow(self: &Arc<Self>) {
        let mut state = self.state();
        if state.total < self.max && state.starting == 0 && !state.waiters.is_empty() {
            state.total += 1;
            state.starting += 1;
            drop(state);
            self.clone().spawn_worker();
        }
    }

    /// Returns a healthy worker after an invocation.
    pub fn checkin(&self, worker: Worker) {
        let mut worker = worker;
        let mut state = self.state();
        while let Some(waiter) = state.next_waiter() {
            match waiter.tx.send(Ok(worker)) {
                Ok(()) => return,
                // That caller went away; try the next one.
                Err(Ok(back)) => worker = back,
                Err(Err(_)) => return,
            }
        }
        worker.watch();
        state.idle.push(worker);
    }

    /// Tells every idle worker to take up the live project's `generation` now (see
    /// `Worker::prepare`); busy ones take it up at their next invocation.
    pub async fn prepare_idle(&self, generation: u64) {
        let idle: Vec<Worker> = std::mem::take(&mut self.state().idle);
        for mut worker in idle {
            worker.prepare(generation).await;
            self.checkin(worker);
        }
    }

    /// Forgets a worker that died or was killed, and kills it for good.
    pub fn discard(self: &Arc<Self>, worker: Worker) {
        self.state().total -= 1;
        tokio::spawn(worker.kill());
        // Someone may be waiting for a worker that will now never be freed.
        self.grow();
    }

    fn spawn_worker(self: Arc<Self>) {
        tokio::spawn(async move {
            let started = Worker::spawn(&self.spec, self.logs.clone()).await;
            self.state().starting -= 1;
            match started {
                Ok(worker) => self.checkin(worker),
                Err(e) => {
                    log::error!("{e}");
                    let mut state = self.state();
                    state.total -= 1;
                    if let Some(waiter) = state.waiters.pop_front() {
                        let _ = waiter.tx.send(Err(e));
                    }
                }
            }
        });
    }

    /// Kills workers idle for longer than `idle_for`, keeping `keep` warm.
    pub fn reap(&self, idle_for: Duration, keep: usize) {
        let now = Instant::now();
        let mut state = self.state();
        let mut reaped = Vec::new();
        let mut kept = Vec::new();
        for worker in state.idle.drain(..) {
            if now.duration_since(worker.last_used) > idle_for && kept.len() >= keep {
                reaped.push(worker);
            } else {
                kept.push(worker);
            }
        }
        state.idle = kept;
        state.total -= reaped.len();
        drop(state);
        for worker in reaped {
            tokio::spawn(worker.kill());
        }
    }

    /// Kills every idle worker; busy ones are killed when they come back.
    pub async fn shutdown(&self) {
        let idle: Vec<Worker> = {
            let mut state = self.state();
            state.total -= state.idle.len();
            state.idle.drain(..).collect()
        };
        for worker in idle {
            worker.kill().await;
        }
    }

    /// Workers alive or starting.
    pub fn size(&self) -> usize {
        self.state().total
    }
}
