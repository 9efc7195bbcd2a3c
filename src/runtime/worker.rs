//! One Node.js worker process running the embedded harness for one build. It serves one
//! invocation at a time; its stdout carries protocol frames, its stderr is drained as log lines.
//!
//! The frames are read on the thread that uses the worker: an invocation reads its own answer,
//! and while the worker is idle a watcher on that thread reads late log lines and notices the
//! process ending. A worker taken up on another thread moves its pipe to that thread's runtime.
//! (When one task on the thread that started the worker read every frame, each answer crossed
//! threads twice, that thread waking to read it and then waking the invocation's: hello-world
//! served 13.2k requests a second that way, against 19.0k with every frame read where it is
//! awaited.)

use super::logs::{LogLine, LogSink};
use super::protocol::{Done, FromWorker, ToWorker};
use super::scope::Scope;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use serde_json::value::RawValue;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::thread::ThreadId;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::pipe;
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long a new worker may take to load the harness and the `twilio` module.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything needed to start workers for one build.
#[derive(Debug, Clone)]
pub struct WorkerSpec {
    pub node: PathBuf,
    pub harness: PathBuf,
    /// Where the worker's Twilio clients are redirected to.
    pub twirl_url: String,
    pub build_dir: PathBuf,
    /// The manifest, when it is not `manifest.json` in `build_dir` (the live project's).
    pub manifest: Option<PathBuf>,
    /// V8 old-space cap, so a memory bomb ends the worker rather than the machine.
    pub memory_mb: u32,
    /// `host:port` for Node's inspector, so a debugger can attach.
    pub inspect: Option<String>,
    /// `NODE_PATH`: where modules not installed beside the code are found.
    pub node_path: Option<PathBuf>,
    /// Load the `twilio` module as soon as ready (workers started ahead of their traffic).
    pub preload_twilio: bool,
}

/// Why an invocation produced no response from the function.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// The execution limit passed; the worker was killed.
    #[error("runtime application timed out")]
    Timeout,
    /// The worker exited or broke the protocol before answering.
    #[error("the function's process exited before responding")]
    Exited,
    /// The worker was ending before the invocation began, so it can go to another one.
    #[error("the function's process exited before starting the invocation")]
    NotStarted,
    /// No worker could be started.
    #[error("cannot start a worker: {0}")]
    Spawn(String),
    /// The account's concurrency limit is reached.
    #[error("Too many requests")]
    Busy,
}

pub struct Worker {
    child: Child,
    stdin: ChildStdin,
    /// `None` only for the moment it moves between its two states.
    reader: Option<Reader>,
    logs: LogSink,
    next_id: u64,
    /// The id of the scope it was last sent (0: none yet).
    scope: u64,
    pub last_used: Instant,
}

/// Where a worker's frames are.
enum Reader {
    /// With the worker: starting, invoking, or handed from one invocation to the next.
    Held(Frames),
    /// With the watcher of an idle worker, which gives them back when told to stop, or `None`
    /// if the process ended meanwhile.
    Watched {
        stop: oneshot::Sender<()>,
        watcher: JoinHandle<Option<Frames>>,
        home: ThreadId,
    },
}

impl Reader {
    /// The frames, read from now on by this thread; `None` if the process has ended.
    async fn take_up(slot: &mut Option<Reader>) -> Option<&mut Frames> {
        let frames = match slot.take()? {
            Reader::Held(frames) => frames,
            Reader::Watched { stop, watcher, .. } => {
                let _ = stop.send(());
                watcher.await.ok()??
            }
        };
        match slot.insert(Reader::Held(frames.here().ok()?)) {
            Reader::Held(frames) => Some(frames),
            Reader::Watched { .. } => None,
        }
    }
}

impl Worker {
    /// Starts a worker and waits until its harness is ready.
    pub async fn spawn(spec: &WorkerSpec, logs: LogSink) -> Result<Worker, InvokeError> {
        let mut command = confined(&spec.node);
        command.arg(format!("--max-old-space-size={}", spec.memory_mb));
        if let Some(address) = &spec.inspect {
            command.arg(format!("--inspect={address}"));
        }
        command
            .arg(&spec.harness)
            .arg(&spec.build_dir)
            .args(spec.manifest.iter())
            .arg(format!("--twirl={}", spec.twirl_url))
            .args(spec.preload_twilio.then_some("--preload-twilio"));
        let mut child = command
            .current_dir(&spec.build_dir)
            // A scrubbed environment: twirl's own secrets and settings never reach user code.
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", std::env::temp_dir())
            .env("NODE_ENV", "production")
            .envs(spec.node_path.iter().map(|p| ("NODE_PATH", p)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // Its own process group, so whatever it starts is killed with it.
            .process_group(0)
            .spawn()
            .map_err(|e| InvokeError::Spawn(format!("{}: {e}", spec.node.display())))?;
        let stdin = child.stdin.take().ok_or(InvokeError::Exited)?;
        let stdout = child.stdout.take().ok_or(InvokeError::Exited)?;
        let stderr = child.stderr.take().ok_or(InvokeError::Exited)?;
        tokio::spawn(drain_stderr(stderr, logs.clone()));
        let frames = stdout
            .into_owned_fd()
            .and_then(Frames::new)
            .map_err(|e| InvokeError::Spawn(format!("cannot read the worker's output: {e}")))?;
        let mut worker = Worker {
            child,
            stdin,
            reader: Some(Reader::Held(frames)),
            logs,
            next_id: 0,
            scope: 0,
            last_used: Instant::now(),
        };
        match tokio::time::timeout(READY_TIMEOUT, worker.until_ready()).await {
            Ok(true) => Ok(worker),
            _ => {
                worker.kill().await;
                Err(InvokeError::Spawn("the worker did not become ready".into()))
            }
        }
    }

    async fn until_ready(&mut self) -> bool {
        let Some(Reader::Held(frames)) = &mut self.reader else {
            return false;
        };
        loop {
            match frames.next().await {
                Some(FromWorker::Ready) => return true,
                Some(FromWorker::Log { tag, level, msg }) => self.logs.send(LogLine { tag, level, msg }),
                _ => return false,
            }
        }
    }

    /// The thread whose runtime reads this worker's frames: an invocation there reads its
    /// answer without waking another thread.
    pub fn home(&self) -> Option<ThreadId> {
        match &self.reader {
            Some(Reader::Held(frames)) => Some(frames.home),
            Some(Reader::Watched { home, .. }) => Some(*home),
            None => None,
        }
    }

    /// Hands the frames of a worker going idle to a watcher on their thread, unless a watcher
    /// has them already.
    pub fn watch(&mut self) {
        match self.reader.take() {
            Some(Reader::Held(frames)) => {
                let (stop, stopped) = oneshot::channel();
                let home = frames.home;
                let watcher = tokio::spawn(watch_idle(frames, self.logs.clone(), stopped));
                self.reader = Some(Reader::Watched { stop, watcher, home });
            }
            other => self.reader = other,
        }
    }

    /// Runs one invocation of `scope`; `frame` makes its frame from its id and the scope when the
    /// worker does not hold it yet. `limit` is the execution limit (`None` while a debugger is
    /// attached).
    pub async fn invoke<'a>(
        &mut self,
        scope: &'a Scope,
        frame: impl FnOnce(u64, Option<&'a RawValue>) -> ToWorker<'a>,
        limit: Option<Duration>,
    ) -> Result<Done, InvokeError> {
        self.next_id += 1;
        let id = self.next_id;
        let unknown = (self.scope != scope.id).then_some(&*scope.json);
        let mut line = serde_json::to_vec(&frame(id, unknown)).map_err(|_| InvokeError::Exited)?;
        line.push(b'\n');
        let logs = &self.logs;
        // A worker that ended while idle never saw this invocation.
        let frames = Reader::take_up(&mut self.reader).await.ok_or(InvokeError::NotStarted)?;
        // A frame that could not be written never reached the function.
        self.stdin.write_all(&line).await.map_err(|_| InvokeError::NotStarted)?;
        self.stdin.flush().await.map_err(|_| InvokeError::NotStarted)?;
        self.scope = scope.id;
        let answer = async {
            loop {
                match frames.next().await {
                    Some(FromWorker::Done(done)) if done.id == id => return Ok(done),
                    Some(FromWorker::Log { tag, level, msg }) => logs.send(LogLine { tag, level, msg }),
                    Some(FromWorker::Exit { running }) if running != Some(id) => return Err(InvokeError::NotStarted),
                    Some(FromWorker::Exit { .. }) | None => return Err(InvokeError::Exited),
                    Some(_) => continue,
                }
            }
        };
        let result = match limit {
            Some(limit) => tokio::time::timeout(limit, answer)
                .await
                .unwrap_or(Err(InvokeError::Timeout)),
            None => answer.await,
        };
        self.last_used = Instant::now();
        result
    }

    /// Tells an idle worker the live project's generation it will be asked for next; `false` if
    /// the frame could not be written (the next invocation finds out why).
    pub async fn prepare(&mut self, generation: u64) -> bool {
        let Ok(mut line) = serde_json::to_vec(&ToWorker::Prepare { generation }) else {
            return false;
        };
        line.push(b'\n');
        self.stdin.write_all(&line).await.is_ok() && self.stdin.flush().await.is_ok()
    }

    /// Kills the worker's whole process group and reaps it.
    pub async fn kill(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = killpg(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
        let _ = self.child.kill().await;
    }
}

/// Reads an idle worker's frames until told to stop (giving them back) or the process ends.
async fn watch_idle(mut frames: Frames, logs: LogSink, mut stop: oneshot::Receiver<()>) -> Option<Frames> {
    loop {
        tokio::select! {
            biased;
            _ = &mut stop => return Some(frames),
            frame = frames.next() => match frame {
                Some(FromWorker::Log { tag, level, msg }) => logs.send(LogLine { tag, level, msg }),
                Some(FromWorker::Exit { .. }) | None => return None,
                Some(_) => {}
            },
        }
    }
}

/// A worker's stdout, split into frames.
struct Frames {
    pipe: pipe::Receiver,
    buf: Vec<u8>,
    /// How much of `buf` is known to hold no newline.
    scanned: usize,
    /// The thread whose runtime the pipe is registered with.
    home: ThreadId,
}

/// How much one read of frames asks for at least.
const FRAME_READ: usize = 8192;

impl Frames {
    fn new(fd: OwnedFd) -> std::io::Result<Frames> {
        Ok(Frames {
            pipe: pipe::Receiver::from_owned_fd_unchecked(fd)?,
            buf: Vec::with_capacity(FRAME_READ),
            scanned: 0,
            home: std::thread::current().id(),
        })
    }

    /// The same frames, registered with the calling thread's runtime.
    fn here(self) -> std::io::Result<Frames> {
        let current = std::thread::current().id();
        if self.home == current {
            return Ok(self);
        }
        Ok(Frames {
            pipe: pipe::Receiver::from_owned_fd_unchecked(self.pipe.into_nonblocking_fd()?)?,
            home: current,
            ..self
        })
    }

    /// The next frame; `None` at the end of the pipe or at a malformed frame. Cancel-safe: what
    /// was read of a frame stays in the buffer.
    async fn next(&mut self) -> Option<FromWorker> {
        loop {
            if let Some(at) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
                let end = self.scanned + at;
                let frame = serde_json::from_slice::<FromWorker>(&self.buf[..end]);
                self.buf.drain(..=end);
                self.scanned = 0;
                return frame
                    .map_err(|e| log::warn!("a worker sent a malformed frame ({e}); stopping it"))
                    .ok();
            }
            self.scanned = self.buf.len();
            self.buf.reserve(FRAME_READ);
            match self.pipe.read_buf(&mut self.buf).await {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }
}

/// Runs `program` confined by util-linux's tools where they exist (each execs the next, so the
/// worker keeps one PID): `prlimit --data` caps all of its memory, Buffers included, which
/// V8's heap limit does not; `setpriv --pdeathsig KILL` has the kernel kill it if twirl dies
/// without stopping it (kill -9, a crash), even while it is stuck in a loop and would never
/// notice its closed stdin.
fn confined(program: &Path) -> Command {
    let mut chain: Vec<std::ffi::OsString> = Vec::new();
    if let Some(prlimit) = find_tool("prlimit") {
        chain.extend([
            prlimit.into(),
            format!("--data={WORKER_DATA_LIMIT}").into(),
            "--".into(),
        ]);
    }
    if let Some(setpriv) = find_tool("setpriv") {
        chain.extend([setpriv.into(), "--pdeathsig".into(), "KILL".into(), "--".into()]);
    }
    chain.push(program.into());
    let mut command = Command::new(&chain[0]);
    command.args(&chain[1..]);
    command
}

/// Memory a worker may have written to (heap, Buffers, stacks), in bytes.
const WORKER_DATA_LIMIT: u64 = 1024 * 1024 * 1024;

fn find_tool(name: &str) -> Option<PathBuf> {
    ["/usr/bin", "/bin"]
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file())
}

/// Drains stderr from the moment of spawn (an undrained pipe would block the worker); what
/// arrives here comes from Node itself (fatal errors, out-of-memory reports), not from user code.
async fn drain_stderr(stderr: tokio::process::ChildStderr, logs: LogSink) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        logs.send(LogLine {
            tag: None,
            level: "error".into(),
            msg: line,
        });
    }
}
