//! The store: one SQLite connection (bundled, WAL) owned by a dedicated thread. Handlers send it
//! closures and await the answer, so writes are serialised and no `rusqlite` type crosses an
//! `.await`. One module per table holds the queries.

pub mod alerts;
pub mod blobs;
pub mod builds;
pub mod deployments;
pub mod environments;
pub mod logs;
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
pub mod versions;

use crate::error::StoreError;
use rusqlite::Connection;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;
use tokio::sync::oneshot;

/// How a job's caller is answered once the batch it ran in is committed (or failed to be).
type Answer = Box<dyn FnOnce(Result<(), String>) + Send>;

/// Work for the store thread: it runs on the connection, says whether it succeeded (its writes
/// are kept, or undone), and leaves its answer for after the commit. Given no connection (the
/// store cannot take work safely), it does nothing and only answers.
type Job = Box<dyn FnOnce(Option<&mut Connection>) -> (bool, Answer) + Send>;

/// Most jobs committed together. Jobs queued while a commit is being made durable join the
/// next one, so concurrent writers share one sync to disk instead of each waiting for their own.
const MAX_BATCH: usize = 64;

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
    include_str!("migrations/0004_sync.sql"),
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

    /// Runs `f` on the store thread, all of it or none of it, and returns its result once what
    /// it wrote is committed.
    pub async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = match conn {
                Some(conn) => f(conn),
                None => Err(StoreError::Uncommitted(
                    "the store could not start a transaction".into(),
                )),
            };
            let ok = result.is_ok();
            let answer: Answer = Box::new(move |committed| {
                let _ = reply.send(match (result, committed) {
                    (Ok(_), Err(e)) => Err(StoreError::Uncommitted(e)),
                    (result, _) => result,
                });
            });
            (ok, answer)
        });
        self.jobs.send(job).map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// [`Store::call`] for writes, named for what callers rely on: `f`'s writes land together or
    /// not at all.
    pub async fn transaction<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.call(move |conn| f(conn)).await
    }
}

/// The store thread: takes the next job, then every job already queued behind it (up to
/// `MAX_BATCH`), runs each in a savepoint of one transaction, commits that transaction once,
/// and only then answers them all, so nothing is acknowledged before it is durable.
fn serve(conn: &mut Connection, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            log::error!("store cannot begin a transaction: {e}");
            let (_, answer) = first(None);
            answer(Err(e.to_string()));
            continue;
        }
        let mut answers = Vec::new();
        let mut sound = true;
        let mut next = Some(first);
        while let Some(job) = next {
            let (answer, ran_sound) = run(conn, job);
            answers.push(answer);
            sound &= ran_sound;
            next = if sound && answers.len() < MAX_BATCH {
                queue.try_recv().ok()
            } else {
                None
            };
        }
        let committed = match sound {
            true => conn.execute_batch("COMMIT").map_err(|e| e.to_string()),
            false => Err("a savepoint could not be set or undone".to_string()),
        };
        if let Err(e) = &committed {
            log::error!("store commit failed, nothing of {} jobs kept: {e}", answers.len());
            let _ = conn.execute_batch("ROLLBACK");
        }
        for answer in answers {
            answer(committed.clone());
        }
    }
}

/// Runs one job in its own savepoint, undone if the job failed. Returns its answer, and whether
/// the transaction is still sound (a savepoint that cannot be set or undone means it is not: the
/// whole batch is then rolled back and every job in it answered with the failure).
fn run(conn: &mut Connection, job: Job) -> (Answer, bool) {
    if conn.execute_batch("SAVEPOINT job").is_err() {
        let (_, answer) = job(None);
        return (answer, false);
    }
    let (ok, answer) = job(Some(&mut *conn));
    let undone = if ok {
        Ok(())
    } else {
        conn.execute_batch("ROLLBACK TO job")
    };
    let sound = undone.and_then(|()| conn.execute_batch("RELEASE job")).is_ok();
    (answer, sound)
}

/// Per-connection settings, applied outside migrations. `synchronous=FULL` because an
/// acknowledged write must survive a crash of the machine too, not just of twirl.
fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
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
    async fn concurrent_writes_commit_together_and_a_failing_one_leaves_nothing() {
        let store = Store::open_in_memory().expect("store");
        let writes = (0..50).map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .transaction(move |tx| {
                        tx.execute("INSERT INTO meta (key, value) VALUES (?1, 'x')", [format!("k{n}")])?;
                        if n % 7 == 0 {
                            return Err(StoreError::Invalid(format!("job {n} refuses")));
                        }
                        Ok(n)
                    })
                    .await
            })
        });
        let results = futures_util::future::join_all(writes).await;
        let failed = results.iter().filter(|r| matches!(r, Ok(Err(_)))).count();
        assert_eq!(failed, 8);
        let kept: Vec<String> = store
            .call(|c| {
                let mut stmt = c.prepare("SELECT key FROM meta ORDER BY key")?;
                let keys = stmt
                    .query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(keys)
            })
            .await
            .expect("read");
        assert_eq!(kept.len(), 42);
        assert!(!kept.contains(&"k7".to_string()) && kept.contains(&"k8".to_string()));
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
