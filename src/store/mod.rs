//! The store: one SQLite connection (bundled, WAL) owned by a dedicated thread. Handlers send it
//! closures and await the answer, so writes are serialised and no `rusqlite` type crosses an
//! `.await`. One module per table holds the queries.

pub mod alerts;
pub mod blobs;
pub mod builds;
pub mod calls;
pub mod deployments;
pub mod environments;
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
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;
use tokio::sync::oneshot;

/// What a job tells its caller once the batch it ran in is committed (or failed to be).
type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;
type Job = Box<dyn FnOnce(&mut Connection) -> Reply + Send>;

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
];

impl Store {
    /// Opens (creating if needed) the database at `path` and migrates it to the latest schema.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Self::start(Connection::open(path)?)
    }

    /// A store that lives in memory, for unit tests.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Self::start(Connection::open_in_memory()?)
    }

    fn start(mut conn: Connection) -> Result<Store, StoreError> {
        configure(&conn)?;
        migrate(&mut conn)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("twirl-store".into())
            .spawn(move || serve(&mut conn, &queue))
            .map_err(|_| StoreError::Closed)?;
        Ok(Store { jobs })
    }

    /// Runs `f` on the store thread and returns its result once it is durable. Its writes land
    /// together or not at all: a failing `f` leaves nothing behind.
    pub async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let outcome = in_savepoint(conn, f);
            Box::new(move |committed: Result<(), String>| {
                let _ = reply.send(committed.map_err(StoreError::Commit).and(outcome));
            })
        });
        self.jobs.send(job).map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
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

/// The store thread: takes the jobs waiting (up to `MAX_BATCH`), runs them in one SQLite
/// transaction, each in a savepoint of its own, commits once, then answers them all. Under load
/// many writes share one fsync; alone, a job costs what it did on its own, and no answer is given
/// before its writes are durable.
fn serve(conn: &mut Connection, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        // Without an outer transaction (it could not begin), each savepoint commits by itself.
        let began = conn.execute_batch("BEGIN IMMEDIATE").is_ok();
        let replies: Vec<Reply> = jobs.into_iter().map(|job| job(conn)).collect();
        let committed = if began {
            conn.execute_batch("COMMIT").map_err(|e| {
                let _ = conn.execute_batch("ROLLBACK");
                e.to_string()
            })
        } else {
            Ok(())
        };
        for reply in replies {
            reply(committed.clone());
        }
    }
}

/// Runs `f` in a savepoint: released when it succeeds, rolled back when it fails.
fn in_savepoint<T>(
    conn: &mut Connection,
    f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.execute_batch("SAVEPOINT job")?;
    let result = f(conn);
    let end = if result.is_ok() {
        "RELEASE job"
    } else {
        "ROLLBACK TO job; RELEASE job"
    };
    conn.execute_batch(end)?;
    result
}

/// Per-connection settings, applied outside migrations. With WAL, `synchronous=NORMAL` writes each
/// commit to the log before it is answered, so an acknowledged write survives twirl being killed
/// or crashing at any moment; the log reaches the disk at checkpoints, so only a crash of the
/// machine itself may lose the last writes. Waiting for the disk on every commit (`FULL`, 4 ms
/// here) would make every message, call step and Sync write wait for it.
fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(Duration::from_secs(5))?;
    // The hot statements (a message's insert and status changes, a number's lookup) are parsed
    // once, not on every request.
    conn.set_prepared_statement_cache_capacity(64);
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

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

    #[tokio::test]
    async fn a_failing_job_leaves_nothing_and_its_batch_neighbours_commit() {
        let store = Store::open_in_memory().expect("store");
        let write = |key: &'static str, fail: bool| {
            let store = store.clone();
            async move {
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
        };
        let (a, b, c) = tokio::join!(write("a", false), write("b", true), write("c", false));
        assert!(a.is_ok() && b.is_err() && c.is_ok());
        let keys: Vec<String> = store
            .call(|c| {
                let mut stmt = c.prepare("SELECT key FROM meta ORDER BY key")?;
                let rows = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
                Ok(rows)
            })
            .await
            .expect("keys");
        assert_eq!(keys, ["a", "c"]);
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
