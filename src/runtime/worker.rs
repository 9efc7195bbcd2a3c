//! One Node.js worker process running the embedded harness for one build. It serves one
//! invocation at a time; its stdout carries protocol frames, its stderr is drained as log lines.

use super::logs::{LogLine, LogSink};
use super::protocol::{Done, FromWorker, ToWorker};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{mpsc, oneshot};

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

/// What the frame reader passes on to the invocation waiting on a worker.
enum Outcome {
    Done(Done),
    /// The process announced its end while running this invocation, if any.
    Exiting {
        running: Option<u64>,
    },
}

pub struct Worker {
    child: Child,
    stdin: ChildStdin,
    outcomes: mpsc::UnboundedReceiver<Outcome>,
    next_id: u64,
    pub last_used: Instant,
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
        let (ready_tx, ready_rx) = oneshot::channel();
        let (outcomes_tx, outcomes) = mpsc::unbounded_channel();
        tokio::spawn(read_frames(stdout, ready_tx, outcomes_tx, logs.clone()));
        tokio::spawn(drain_stderr(stderr, logs));
        let worker = Worker {
            child,
            stdin,
            outcomes,
            next_id: 0,
            last_used: Instant::now(),
        };
        match tokio::time::timeout(READY_TIMEOUT, ready_rx).await {
            Ok(Ok(())) => Ok(worker),
            _ => {
                worker.kill().await;
                Err(InvokeError::Spawn("the worker did not become ready".into()))
            }
        }
    }

    /// Runs one invocation; `limit` is the execution limit (`None` while a debugger is attached).
    pub async fn invoke<'a>(
        &mut self,
        frame: impl FnOnce(u64) -> ToWorker<'a>,
        limit: Option<Duration>,
    ) -> Result<Done, InvokeError> {
        self.next_id += 1;
        let id = self.next_id;
        let mut line = serde_json::to_vec(&frame(id)).map_err(|_| InvokeError::Exited)?;
        line.push(b'\n');
        // A frame that could not be written never reached the function.
        self.stdin.write_all(&line).await.map_err(|_| InvokeError::NotStarted)?;
        self.stdin.flush().await.map_err(|_| InvokeError::NotStarted)?;
        let answer = async {
            loop {
                match self.outcomes.recv().await {
                    Some(Outcome::Done(done)) if done.id == id => return Ok(done),
                    Some(Outcome::Exiting { running }) if running != Some(id) => return Err(InvokeError::NotStarted),
                    Some(_) => continue,
                    None => return Err(InvokeError::Exited),
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

    /// Whether the process is still running (a function may have ended it after answering).
    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the worker's whole process group and reaps it.
    pub async fn kill(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = killpg(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
        let _ = self.child.kill().await;
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

async fn read_frames(
    stdout: tokio::process::ChildStdout,
    ready: oneshot::Sender<()>,
    outcomes: mpsc::UnboundedSender<Outcome>,
    logs: LogSink,
) {
    let mut ready = Some(ready);
    let mut lines = BufReader::new(stdout).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        match serde_json::from_str::<FromWorker>(&line) {
            Ok(FromWorker::Ready) => {
                if let Some(tx) = ready.take() {
                    let _ = tx.send(());
                }
            }
            Ok(FromWorker::Log { tag, level, msg }) => logs.send(LogLine { tag, level, msg }),
            Ok(FromWorker::Done(d)) => {
                if outcomes.send(Outcome::Done(d)).is_err() {
                    break;
                }
            }
            Ok(FromWorker::Exit { running }) => {
                let _ = outcomes.send(Outcome::Exiting { running });
                break;
            }
            Err(e) => {
                log::warn!("a worker sent a malformed frame ({e}); stopping it");
                break;
            }
        }
    }
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
