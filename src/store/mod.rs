//! The store: one SQLite connection (bundled, WAL) owned by a dedicated thread. Handlers send it
//! closures and await the answer, so writes are serialised and no `rusqlite` type crosses an
//! `.await`. One module per table holds the queries.

pub mod alerts;
pub mod blobs;
pub mod builds;
pub mod calls;
pub mod deployments;
pub mod environments;
pub mod history;
pub mod lock;
pub mod logs;
pub mod lookups;
pub mod messages;
pub mod meta;
pub mod numbers;
pub mod resources;
pub mod retention;
pub mod services;
pub mod sync_items;
pub mod sync_objects;
pub mod sync_permissions;
pub mod sync_services;
pub mod variables;
pub mod verify;
pub mod versions;

use crate::error::StoreError;
use rusqlite::Connection;
use std::future::Future;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;
use tokio::sync::oneshot;

/// What a job tells its caller once the batch it ran in is committed (or failed to be).
type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;
/// A job run on the store thread: whether it succeeded, and its reply.
type Job = Box<dyn FnOnce(&mut Connection, Nesting) -> (bool, Reply) + Send>;

/// Where a job's writes are undone if it fails.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Nesting {
    /// First in its transaction: the transaction itself, rolled back whole (there is nothing else
    /// in it yet). A savepoint would copy every page the job changes into its sub-journal, for a
    /// rollback that a lone job, the usual case, never needs.
    First,
    /// After other jobs: a savepoint of its own, so its failure leaves theirs.
    Later,
}

/// Jobs committed together at most: enough to share one fsync among every request in flight.
const MAX_BATCH: usize = 128;

/// A cheap-clone handle on the store thread.
#[derive(Clone)]
pub struct Store {
    jobs: mpsc::Sender<Job>,
}

/// Ordered migrations; only ever append.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_build_origin.sql"),
    include_str!("migrations/0003_phone.sql"),
    include_str!("migrations/0004_calls.sql"),
    include_str!("migrations/0005_verify.sql"),
    include_str!("migrations/0006_live_dotenv.sql"),
    include_str!("migrations/0007_sync.sql"),
    include_str!("migrations/0008_status_history.sql"),
];

impl Store {
    /// Opens (creating if needed) the database at `path` and migrates it to the latest schema.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "wal_autocheckpoint", WAL_RESTART_PAGES)?;
        let checkpoints = Connection::open(path)?;
        Self::start(conn, Some(checkpoints))
    }

    /// A store that lives in memory, for unit tests.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Self::start(Connection::open_in_memory()?, None)
    }

    fn start(mut conn: Connection, checkpoints: Option<Connection>) -> Result<Store, StoreError> {
        configure(&conn)?;
        migrate(&mut conn)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let (running, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("twirl-store".into())
            .spawn(move || {
                // The checkpointer ends when this thread does (`running` dropped).
                let _running = running;
                serve(&mut conn, &queue)
            })
            .map_err(|_| StoreError::Closed)?;
        if let Some(checkpoints) = checkpoints {
            checkpoints.busy_timeout(Duration::from_secs(5))?;
            std::thread::Builder::new()
                .name("twirl-checkpoint".into())
                .spawn(move || checkpoint(&checkpoints, &stopped))
                .map_err(|_| StoreError::Closed)?;
        }
        Ok(Store { jobs })
    }

    /// Runs `f` on the store thread and returns its result once it is durable. Its writes land
    /// together or not at all: a failing `f` leaves nothing behind.
    pub async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.submit(f).await
    }

    /// `call`, with `f` queued now rather than when its answer is first awaited: the store runs
    /// jobs in the order they are queued, so every job queued after this returns sees its writes.
    pub fn submit<T, F>(&self, f: F) -> impl Future<Output = Result<T, StoreError>> + Send + 'static
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |conn, nesting| {
            let outcome = match nesting {
                Nesting::First => f(conn),
                Nesting::Later => in_savepoint(conn, f),
            };
            let succeeded = outcome.is_ok();
            let reply: Reply = Box::new(move |committed: Result<(), String>| {
                let _ = reply.send(committed.map_err(StoreError::Commit).and(outcome));
            });
            (succeeded, reply)
        });
        let queued = self.jobs.send(job).map_err(|_| StoreError::Closed);
        async move {
            queued?;
            answer.await.map_err(|_| StoreError::Closed)?
        }
    }

    /// Runs `f` on the store thread as one unit: all of it is written, or none.
    pub async fn transaction<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.call(move |conn| f(conn)).await
    }
}

/// The store thread: takes the jobs waiting, runs them in one SQLite transaction, the first on
/// its own and each later one in a savepoint of its own, takes in the jobs that arrived
/// meanwhile too (up to `MAX_BATCH` in all), commits once, then answers them all. Under load many
/// writes share one commit, and a job that arrives while a batch runs joins it rather than
/// waiting for a commit of its own; alone, a job costs what it did on its own, and no answer is
/// given before its writes are durable.
fn serve(conn: &mut Connection, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut jobs = vec![first];
        let mut replies: Vec<Reply> = Vec::with_capacity(MAX_BATCH);
        // Without an outer transaction (it could not begin), each savepoint commits by itself.
        let mut began = begin(conn);
        loop {
            let room = MAX_BATCH - replies.len() - jobs.len();
            jobs.extend(queue.try_iter().take(room));
            if jobs.is_empty() {
                break;
            }
            for job in jobs.drain(..) {
                let nesting = if began && replies.is_empty() {
                    Nesting::First
                } else {
                    Nesting::Later
                };
                let (succeeded, reply) = job(conn, nesting);
                replies.push(reply);
                if nesting == Nesting::First && !succeeded {
                    // The transaction held that job's writes alone: undone, the job answered with
                    // its failure, and the next job first in a transaction of its own.
                    let _ = run(conn, "ROLLBACK");
                    answer(conn, false, replies.drain(..));
                    began = begin(conn);
                }
            }
            if replies.len() >= MAX_BATCH {
                break;
            }
        }
        answer(conn, began, replies.drain(..));
    }
}

/// Begins the transaction a batch's jobs run in.
fn begin(conn: &Connection) -> bool {
    run(conn, "BEGIN IMMEDIATE").is_ok()
}

/// Commits the transaction (if one `began`) and gives `replies` its outcome.
fn answer(conn: &Connection, began: bool, replies: impl Iterator<Item = Reply>) {
    let committed = if began {
        run(conn, "COMMIT").map_err(|e| {
            let _ = run(conn, "ROLLBACK");
            e.to_string()
        })
    } else {
        Ok(())
    };
    for reply in replies {
        reply(committed.clone());
    }
}

/// How often the write-ahead log is copied into the database. SQLite does it every 1000 pages
/// on the connection that commits, with an fsync: under a stream of writes (an SMS turn writes
/// about 14 pages) that was a quarter of the store thread's time, which every write waits for.
/// Here a thread of its own does it, on a connection of its own, never blocking a write
/// (`PASSIVE`).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);
/// Past this many pages the store thread checkpoints too, as SQLite does by itself. Only it can
/// start the log over (a writer does that after a checkpoint that left nothing behind), which
/// the checkpointer's passes, always a few commits behind, would never allow under a steady
/// stream of writes: the log grew to 850 MB in ten seconds. By then those passes have copied
/// nearly everything, so this one costs little.
const WAL_RESTART_PAGES: i64 = 4000;

/// Checkpoints the log every `CHECKPOINT_EVERY` until the store thread ends, then once more.
fn checkpoint(conn: &Connection, stopped: &mpsc::Receiver<()>) {
    loop {
        let ended = matches!(
            stopped.recv_timeout(CHECKPOINT_EVERY),
            Err(mpsc::RecvTimeoutError::Disconnected)
        );
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            log::warn!("checkpoint of the store's log failed: {e}");
        }
        if ended {
            return;
        }
    }
}

/// Runs one of the statements that begin and end transactions and savepoints, parsed once.
fn run(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Runs `f` in a savepoint: released when it succeeds, rolled back when it fails.
fn in_savepoint<T>(
    conn: &mut Connection,
    f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    run(conn, "SAVEPOINT job")?;
    let result = f(conn);
    if result.is_err() {
        run(conn, "ROLLBACK TO job")?;
    }
    run(conn, "RELEASE job")?;
    result
}

/// Per-connection settings, applied outside migrations. With WAL, `synchronous=NORMAL` writes each
/// commit to the log before it is answered, so an acknowledged write survives twirl being killed
/// or crashing at any moment; the log reaches the disk at checkpoints, so only a crash of the
/// machine itself may lose the last writes. Waiting for the disk on every commit (`FULL`, 4 ms
/// here) would make every message, call step and Sync write wait for it.
fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(Duration::from_secs(5))?;
    // Every statement is parsed once (`CachedSql`), not each time it runs.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // Pages kept in memory, in KiB (2 MiB by default). Rows keyed by random SIDs land on any
    // page of their index, so a small cache reads most of them back from the log or the file
    // before each change: with 100,000 messages, reads were a seventh of the store thread's time.
    conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// Parsed statements kept: every statement the store runs, each list filter's variants included.
const STATEMENT_CACHE: usize = 512;

/// The page cache's size, in KiB; memory is taken only as pages are read.
const CACHE_KIB: i64 = 16 * 1024;

/// Applies the migrations newer than `PRAGMA user_version`, in one transaction.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current: usize = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if current >= MIGRATIONS.len() {
        return Ok(());
    }
    let tx = conn.transaction()?;
    for sql in &MIGRATIONS[current..] {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len())?;
    tx.commit()?;
    Ok(())
}

/// Statements run through the connection's cache of parsed statements, as `prepare_cached` is to
/// `prepare`. The store runs the same few hundred statements over and over, and parsing one
/// costs more than running most of them: a live project's save runs about forty.
pub(crate) trait CachedSql {
    fn execute_cached<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
    fn query_row_cached<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>;
}

impl CachedSql for Connection {
    fn execute_cached<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn query_row_cached<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    {
        self.prepare_cached(sql)?.query_row(params, f)
    }
}

/// A window of a list: rows `offset..offset+limit` in the list's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub offset: i64,
    pub limit: i64,
}

/// One page of rows, and whether rows follow it.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_more: bool,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` fetched rows: the extra row only says that more follow.
    pub fn from_overfetch(mut items: Vec<T>, window: Window) -> Page<T> {
        let has_more = items.len() as i64 > window.limit;
        items.truncate(window.limit as usize);
        Page { items, has_more }
    }
}

/// Maps "no row" to `StoreError::NotFound` naming the API path.
pub(crate) fn found<T>(result: rusqlite::Result<T>, path: impl FnOnce() -> String) -> Result<T, StoreError> {
    match result {
        Ok(v) => Ok(v),
        Err(rusqlite::Error::QueryReturnedNoRows) => Err(StoreError::NotFound(path())),
        Err(e) => Err(e.into()),
    }
}

/// A column holding JSON, decoded.
pub(crate) fn json_column<T: serde::de::DeserializeOwned>(r: &rusqlite::Row, index: usize) -> rusqlite::Result<T> {
    let text: String = r.get(index)?;
    serde_json::from_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e)))
}

/// A value as a JSON column holds it (the store's own types always serialize).
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

/// A migrated in-memory database with the store's settings, for the tables' unit tests.
#[cfg(test)]
pub(crate) fn test_connection() -> Connection {
    let mut conn = Connection::open_in_memory().expect("memory db");
    configure(&conn).expect("configure");
    migrate(&mut conn).expect("migrate");
    conn
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_from_zero_and_are_idempotent() {
        let mut conn = Connection::open_in_memory().expect("memory db");
        migrate(&mut conn).expect("first");
        migrate(&mut conn).expect("second");
        let v: usize = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(v, MIGRATIONS.len());
    }

    #[test]
    fn status_histories_move_into_their_rows() {
        let mut conn = Connection::open_in_memory().expect("memory db");
        configure(&conn).expect("configure");
        let before = MIGRATIONS.len() - 1;
        for sql in &MIGRATIONS[..before] {
            conn.execute_batch(sql).expect("older migration");
        }
        conn.pragma_update(None, "user_version", before).expect("version");
        conn.execute_batch(
            "INSERT INTO messages (sid, direction, from_address, to_address, body, status, num_segments,
                 date_created, date_updated) VALUES ('SM1', 'outbound-api', '+1', '+2', 'hi', 'sent', 1, 60, 61);
             INSERT INTO messages (sid, direction, from_address, to_address, body, status, num_segments,
                 date_created, date_updated) VALUES ('SM2', 'inbound', '+2', '+1', 'yo', 'received', 1, 60, 60);
             INSERT INTO message_media (sid, message_sid, content_type, url, date_created)
                 VALUES ('ME1', 'SM2', 'image/png', 'https://x/cat.png', 60);
             INSERT INTO message_events (message_sid, status, at) VALUES ('SM1', 'queued', 60);
             INSERT INTO message_events (message_sid, status, at, callback_url, callback_status)
                 VALUES ('SM1', 'sent', 61, 'http://x/cb', 500);
             INSERT INTO calls (sid, root_sid, direction, from_address, to_address, status, status_callback_method,
                 status_callback_events, date_created, date_updated)
                 VALUES ('CA1', 'CA1', 'inbound', '+2', '+1', 'ringing', 'POST', '', 60, 60);
             INSERT INTO call_events (call_sid, status, at, callback_error) VALUES ('CA1', 'ringing', 60, 'refused');",
        )
        .expect("old rows");
        migrate(&mut conn).expect("migrate");
        let sent = history::StatusEvent {
            callback_url: Some("http://x/cb".into()),
            callback_status: Some(500),
            ..history::StatusEvent::new("sent", 61)
        };
        let read = |owner, sid| history::read(&conn, owner, sid).expect("history");
        assert_eq!(
            read(history::Owner::Message, "SM1"),
            [history::StatusEvent::new("queued", 60), sent]
        );
        assert_eq!(read(history::Owner::Message, "SM2"), []);
        let media = messages::all_media(&conn, "SM2").expect("media");
        assert_eq!((media.len(), media[0].sid.as_str()), (1, "ME1"));
        let seq: i64 = conn
            .query_row("SELECT seq FROM messages WHERE sid = 'SM2'", [], |r| r.get(0))
            .expect("seq");
        assert_eq!(seq, 2);
        let ringing = history::StatusEvent {
            callback_error: Some("refused".into()),
            ..history::StatusEvent::new("ringing", 60)
        };
        assert_eq!(read(history::Owner::Call, "CA1"), [ringing]);
    }

    /// Writes `key` into `meta` as a job of its own, which then fails if `fail`.
    async fn write_key(store: &Store, key: &'static str, fail: bool) -> Result<(), StoreError> {
        store
            .call(move |c| {
                c.execute("INSERT INTO meta (key, value) VALUES (?1, 'v')", [key])?;
                if fail {
                    return Err(StoreError::Invalid("refused".into()));
                }
                Ok(())
            })
            .await
    }

    /// The keys in `meta`, in order.
    async fn meta_keys(store: &Store) -> Vec<String> {
        store
            .call(|c| {
                let mut stmt = c.prepare("SELECT key FROM meta ORDER BY key")?;
                let rows = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
                Ok(rows)
            })
            .await
            .expect("keys")
    }

    #[tokio::test]
    async fn a_failing_job_leaves_nothing_and_its_batch_neighbours_commit() {
        let store = Store::open_in_memory().expect("store");
        let write = |key, fail| write_key(&store, key, fail);
        let (a, b, c) = tokio::join!(write("a", false), write("b", true), write("c", false));
        assert!(a.is_ok() && b.is_err() && c.is_ok());
        let keys = meta_keys(&store).await;
        assert_eq!(keys, ["a", "c"]);
    }

    #[tokio::test]
    async fn a_failing_first_job_is_undone_alone_and_the_jobs_after_it_commit() {
        let store = Store::open_in_memory().expect("store");
        let write = |key, fail| write_key(&store, key, fail);
        // The store thread waits in a job of its own while the four are queued, so they make
        // one batch whose first job fails.
        let (release, held) = mpsc::channel::<()>();
        let hold = store.call(move |_| {
            let _ = held.recv();
            Ok(())
        });
        let go = async move {
            let _ = release.send(());
        };
        let (held, b, c, d, e, ()) = tokio::join!(
            hold,
            write("b", true),
            write("c", false),
            write("d", true),
            write("e", false),
            go
        );
        assert!(held.is_ok() && b.is_err() && c.is_ok() && d.is_err() && e.is_ok());
        let keys = meta_keys(&store).await;
        assert_eq!(keys, ["c", "e"]);
    }

    #[tokio::test]
    async fn a_submitted_job_is_seen_by_the_jobs_queued_after_it_before_its_answer_is_awaited() {
        let store = Store::open_in_memory().expect("store");
        let submitted = store.submit(|c| Ok(c.execute("INSERT INTO meta (key, value) VALUES ('submitted', 'v')", [])?));
        assert_eq!(meta_keys(&store).await, ["submitted"]);
        submitted.await.expect("its answer");
    }

    #[tokio::test]
    async fn calls_run_on_the_store_thread() {
        let store = Store::open_in_memory().expect("store");
        let n: i64 = store
            .call(|c| Ok(c.query_row("SELECT count(*) FROM services", [], |r| r.get(0))?))
            .await
            .expect("query");
        assert_eq!(n, 0);
    }
}
