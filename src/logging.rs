//! The terminal log: env_logger's lines, written to standard error by a thread of their own.
//!
//! Every request logs a line. Written where it is logged, each line was a `write` on the request's
//! thread (and a stall of that request whenever the terminal or the pipe behind it is slow).
//! Here a line is appended to a buffer, and the writer thread takes whatever has gathered: when
//! lines come one at a time each is written at once, under load a few milliseconds' worth share
//! one `write`. `flush` (at exit, and from the panic hook) writes what is left.

use std::io::{IsTerminal, Write};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// How long the writer gathers lines after a write, before it takes the next ones: under load
/// that many lines share a write; alone, a line waits no longer than this.
const GATHER: Duration = Duration::from_millis(2);
/// Lines held at most: past it, whoever logs waits for the writer, as a blocked terminal made
/// every line's writer wait before.
const MAX_PENDING: usize = 4 * 1024 * 1024;

#[derive(Default)]
struct Pending {
    lines: Vec<u8>,
    /// Whether the writer sleeps until told there are lines (rather than gathering them).
    idle: bool,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
    /// Held while lines are taken and written: `flush` returns once they are out, in order.
    writing: Mutex<()>,
}

static SHARED: OnceLock<Shared> = OnceLock::new();

fn shared() -> &'static Shared {
    SHARED.get_or_init(Shared::default)
}

fn pending() -> MutexGuard<'static, Pending> {
    shared().pending.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sets up env_logger (`RUST_LOG`, default `twirl=info`; `RUST_LOG_STYLE`) to write through the
/// writer thread, in colour when standard error is a terminal.
pub fn init() {
    let env = env_logger::Env::new().default_filter_or("twirl=info");
    let mut builder = env_logger::Builder::from_env(env);
    if std::env::var_os("RUST_LOG_STYLE").is_none() {
        // A pipe target is never coloured by itself: decide as for standard error.
        let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        builder.write_style(if colour {
            env_logger::WriteStyle::Always
        } else {
            env_logger::WriteStyle::Never
        });
    }
    builder.target(env_logger::Target::Pipe(Box::new(Deferred)));
    let started = std::thread::Builder::new().name("twirl-log".into()).spawn(write_lines);
    if started.is_err() {
        // Without the thread, lines go out where they are logged.
        builder.target(env_logger::Target::Stderr);
    }
    builder.init();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        flush();
        previous(info);
    }));
}

/// Writes what is pending to standard error. Lines are taken while `writing` is held, so they
/// go out in the order they were logged whoever writes them.
pub fn flush() {
    let _writing = shared().writing.lock().unwrap_or_else(|e| e.into_inner());
    let lines = std::mem::take(&mut pending().lines);
    let _ = std::io::stderr().write_all(&lines);
}

/// The writer thread: waits for lines, then writes what has gathered, as `flush` does.
fn write_lines() {
    let shared = shared();
    loop {
        {
            let mut pending = pending();
            while pending.lines.is_empty() {
                pending.idle = true;
                pending = shared.wake.wait(pending).unwrap_or_else(|e| e.into_inner());
            }
            pending.idle = false;
        }
        flush();
        std::thread::sleep(GATHER);
    }
}

/// env_logger's target: appends to the pending lines.
struct Deferred;

impl Write for Deferred {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut pending = pending();
        while pending.lines.len() > MAX_PENDING {
            drop(pending);
            std::thread::sleep(GATHER);
            pending = self::pending();
        }
        pending.lines.extend_from_slice(buf);
        if pending.idle {
            pending.idle = false;
            shared().wake.notify_one();
        }
        Ok(buf.len())
    }

    /// The writer thread writes the lines; env_logger calls this after each one.
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
