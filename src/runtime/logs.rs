//! Function output: every `console.*` line of an invocation becomes a Log resource (levels
//! `info`, `warn`, `error`) and a terminal line. Lines are written in batches, one transaction
//! per batch, so a chatty function costs one fsync per batch rather than per line.

use super::protocol::LogTag;
use crate::clock::Clock;
use crate::events::{Event, Events};
use crate::store::logs::{self, Log};
use crate::store::Store;
use tokio::sync::mpsc;

/// Lines waiting to be written; beyond this a flood is dropped (and counted) rather than
/// growing memory without bound.
const QUEUE: usize = 10_000;
/// Most lines written in one transaction.
const BATCH: usize = 500;

/// One line of function output.
#[derive(Debug)]
pub struct LogLine {
    /// The invocation it belongs to; `None` for output outside any invocation.
    pub tag: Option<LogTag>,
    pub level: String,
    pub msg: String,
}

/// A cheap-clone handle on the log writer task.
#[derive(Clone)]
pub struct LogSink {
    tx: mpsc::Sender<LogLine>,
}

impl LogSink {
    /// Starts the writer task.
    pub fn start(store: Store, clock: Clock, events: Events) -> LogSink {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(rx, store, clock, events));
        LogSink { tx }
    }

    /// Queues a line; never waits.
    pub fn send(&self, line: LogLine) {
        if self.tx.try_send(line).is_err() {
            log::warn!(target: "twirl::functions", "function output is arriving faster than it can be stored; lines dropped");
        }
    }
}

/// `info`, `warn` or `error`, from the harness's level names.
fn level(name: &str) -> &'static str {
    match name {
        "warn" | "warning" => "warn",
        "error" => "error",
        _ => "info",
    }
}

async fn write_batches(mut rx: mpsc::Receiver<LogLine>, store: Store, clock: Clock, events: Events) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let now = clock.now();
        let mut rows = Vec::with_capacity(batch.len());
        for line in batch.drain(..) {
            let level = level(&line.level);
            print_line(&line, level);
            if let Some(tag) = line.tag {
                rows.push(Log {
                    sid: String::new(),
                    service_sid: tag.service_sid,
                    environment_sid: tag.environment_sid,
                    build_sid: tag.build_sid,
                    deployment_sid: tag.deployment_sid,
                    function_sid: tag.function_sid,
                    request_sid: tag.request_sid,
                    level: level.to_string(),
                    message: line.msg,
                    date_created: now,
                });
            }
        }
        if rows.is_empty() {
            continue;
        }
        let result = store
            .transaction(move |tx| {
                let mut stored = Vec::with_capacity(rows.len());
                for row in rows {
                    // A log of an environment deleted meanwhile has nowhere to go.
                    match logs::insert(tx, row) {
                        Err(crate::error::StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)))
                            if e.code == rusqlite::ErrorCode::ConstraintViolation => {}
                        other => stored.push(other?),
                    }
                }
                Ok(stored)
            })
            .await;
        match result {
            Ok(stored) => stored.into_iter().for_each(|log| events.send(log_event(log))),
            Err(e) => log::error!("cannot store function logs: {e}"),
        }
    }
}

fn log_event(l: Log) -> Event {
    Event::Log {
        sid: l.sid,
        service_sid: l.service_sid,
        environment_sid: l.environment_sid,
        build_sid: l.build_sid,
        deployment_sid: l.deployment_sid,
        function_sid: l.function_sid,
        request_sid: l.request_sid,
        level: l.level,
        message: l.message,
        date_created: crate::clock::format_timestamp(l.date_created),
    }
}

fn print_line(line: &LogLine, level: &str) {
    let request = line.tag.as_ref().map(|t| t.request_sid.as_str()).unwrap_or("-");
    match level {
        "error" => log::error!(target: "twirl::functions", "{request} {}", line.msg),
        "warn" => log::warn!(target: "twirl::functions", "{request} {}", line.msg),
        _ => log::info!(target: "twirl::functions", "{request} {}", line.msg),
    }
}
