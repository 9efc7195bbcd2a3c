//! Sync objects: documents (`ET`), lists (`ES`), maps (`MP`) and message streams (`TO`). They
//! share their addressing (SID or unique name within a service and kind), their TTL and their
//! revisions, so one table and one set of queries serve all four, told apart by `Kind`.
//!
//! An object past its `date_expires` is never read back: every query asks for the live ones at
//! the emulator's `now`, and `purge_expired` deletes the rest when the clock moves.

use super::CachedSql;
use super::{Page, Window};
use crate::error::StoreError;
use crate::sid;
use rusqlite::{Connection, OptionalExtension, Row};

/// Who created objects and items written through the REST API, as Twilio reports it.
pub const CREATED_BY_REST: &str = "system";

/// The four kinds of Sync object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Document,
    List,
    Map,
    Stream,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Document, Kind::List, Kind::Map, Kind::Stream];

    /// The value stored in the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Document => "document",
            Kind::List => "list",
            Kind::Map => "map",
            Kind::Stream => "stream",
        }
    }

    fn parse(value: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == value)
    }

    /// The collection's name in API paths.
    pub fn collection(self) -> &'static str {
        match self {
            Kind::Document => "Documents",
            Kind::List => "Lists",
            Kind::Map => "Maps",
            Kind::Stream => "Streams",
        }
    }

    /// The SID prefix of objects of this kind.
    pub fn sid_prefix(self) -> &'static str {
        match self {
            Kind::Document => sid::prefix::SYNC_DOCUMENT,
            Kind::List => sid::prefix::SYNC_LIST,
            Kind::Map => sid::prefix::SYNC_MAP,
            Kind::Stream => sid::prefix::SYNC_STREAM,
        }
    }

    /// How Twilio names this kind in its error messages.
    pub fn title(self) -> &'static str {
        match self {
            Kind::Document => "Document",
            Kind::List => "List",
            Kind::Map => "Map",
            Kind::Stream => "Message Stream",
        }
    }

    /// Twilio's code for an object of this kind that does not exist.
    fn not_found_code(self) -> u32 {
        match self {
            Kind::Document => 54100,
            Kind::List => 54150,
            Kind::Map => 54200,
            Kind::Stream => 54250,
        }
    }

    /// Whether the kind holds items (lists and maps).
    pub fn is_collection(self) -> bool {
        matches!(self, Kind::List | Kind::Map)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncObject {
    pub sid: String,
    pub service_sid: String,
    pub kind: Kind,
    pub unique_name: Option<String>,
    /// How many writes the object has seen since it was created.
    pub revision: i64,
    /// A document's JSON text.
    pub data: Option<String>,
    /// The index a list's next item gets.
    pub next_index: i64,
    pub date_expires: Option<i64>,
    pub created_by: String,
    pub date_created: i64,
    pub date_updated: i64,
}

/// A revision as the API shows it: lowercase hex, the form Twilio's revisions take.
pub fn revision_text(revision: i64) -> String {
    format!("{revision:x}")
}

/// When something with `ttl` seconds to live, set at `now`, expires: `0` means never.
pub fn expiry(ttl: i64, now: i64) -> Option<i64> {
    (ttl > 0).then(|| now + ttl)
}

/// Checks an `If-Match` precondition: absent, `*`, or the current revision passes; anything else
/// is refused with `code` (412), and nothing is written.
pub fn check_revision(expected: Option<&str>, revision: i64, code: u32, what: &str) -> Result<(), StoreError> {
    match expected {
        None | Some("*") => Ok(()),
        Some(e) if e == revision_text(revision) => Ok(()),
        Some(e) => Err(StoreError::Coded {
            status: 412,
            code,
            message: format!(
                "The revision of the {what} does not match the expected revision: it is {}, If-Match asked for {e}",
                revision_text(revision)
            ),
        }),
    }
}

/// What a create carries, already validated by the API layer.
#[derive(Debug, Clone, Default)]
pub struct NewObject {
    pub unique_name: Option<String>,
    pub data: Option<String>,
    /// Seconds to live; `None` or `0` for no expiry.
    pub ttl: Option<i64>,
}

/// What an update changes; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub data: Option<String>,
    pub ttl: Option<i64>,
}

const COLUMNS: &str = "sid, service_sid, kind, unique_name, revision, data, next_index, date_expires, \
     created_by, date_created, date_updated";

/// The condition for rows still alive at `?NOW`.
const LIVE: &str = "(date_expires IS NULL OR date_expires > :now)";

fn from_row(r: &Row) -> rusqlite::Result<SyncObject> {
    let kind: String = r.get(2)?;
    Ok(SyncObject {
        sid: r.get(0)?,
        service_sid: r.get(1)?,
        kind: Kind::parse(&kind)
            .ok_or_else(|| rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, kind.into()))?,
        unique_name: r.get(3)?,
        revision: r.get(4)?,
        data: r.get(5)?,
        next_index: r.get(6)?,
        date_expires: r.get(7)?,
        created_by: r.get(8)?,
        date_created: r.get(9)?,
        date_updated: r.get(10)?,
    })
}

fn not_found(kind: Kind, key: &str) -> StoreError {
    StoreError::Coded {
        status: 404,
        code: kind.not_found_code(),
        message: format!("{} not found: {key}", kind.title()),
    }
}

/// Creates an object. A unique name already used by a live object of the same kind in the
/// service is refused with 54301; one held by an expired object is freed first.
pub fn create(
    conn: &Connection,
    service_sid: &str,
    kind: Kind,
    new: &NewObject,
    now: i64,
) -> Result<SyncObject, StoreError> {
    if let Some(name) = &new.unique_name {
        conn.execute_cached(
            "DELETE FROM sync_objects WHERE service_sid = ?1 AND kind = ?2 AND unique_name = ?3 AND date_expires <= ?4",
            (service_sid, kind.as_str(), name, now),
        )?;
        let taken: bool = conn.query_row_cached(
            "SELECT EXISTS (SELECT 1 FROM sync_objects WHERE service_sid = ?1 AND kind = ?2 AND unique_name = ?3)",
            (service_sid, kind.as_str(), name),
            |r| r.get(0),
        )?;
        if taken {
            return Err(StoreError::Coded {
                status: 409,
                code: 54301,
                message: format!("Unique name already exists: a {} named {name} exists", kind.title()),
            });
        }
    }
    let sid = sid::generate(kind.sid_prefix());
    conn.execute_cached(
        &format!("INSERT INTO sync_objects ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, 0, ?5, 0, ?6, ?7, ?8, ?8)"),
        rusqlite::params![
            sid,
            service_sid,
            kind.as_str(),
            new.unique_name,
            new.data,
            new.ttl.and_then(|t| expiry(t, now)),
            CREATED_BY_REST,
            now,
        ],
    )?;
    get(conn, service_sid, kind, &sid, now)
}

/// The live object of `kind` whose SID or unique name is `key`.
pub fn get(conn: &Connection, service_sid: &str, kind: Kind, key: &str, now: i64) -> Result<SyncObject, StoreError> {
    conn.query_row_cached(
        &format!(
            "SELECT {COLUMNS} FROM sync_objects
             WHERE service_sid = :service AND kind = :kind AND (sid = :key OR unique_name = :key) AND {LIVE}"
        ),
        rusqlite::named_params! {":service": service_sid, ":kind": kind.as_str(), ":key": key, ":now": now},
        from_row,
    )
    .optional()?
    .ok_or_else(|| not_found(kind, key))
}

/// Live objects of `kind` in creation order.
pub fn list(
    conn: &Connection,
    service_sid: &str,
    kind: Kind,
    window: Window,
    now: i64,
) -> Result<Page<SyncObject>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM sync_objects WHERE service_sid = :service AND kind = :kind AND {LIVE}
         ORDER BY seq LIMIT :limit OFFSET :offset"
    ))?;
    let rows = stmt
        .query_map(
            rusqlite::named_params! {
                ":service": service_sid, ":kind": kind.as_str(), ":now": now,
                ":limit": window.limit + 1, ":offset": window.offset,
            },
            from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page::from_overfetch(rows, window))
}

/// Applies `changes` if the object's revision is `if_match` (when given), counting a new
/// revision. A document refuses a stale revision with 54103.
pub fn update(
    conn: &Connection,
    service_sid: &str,
    kind: Kind,
    key: &str,
    changes: &Changes,
    if_match: Option<&str>,
    now: i64,
) -> Result<SyncObject, StoreError> {
    let current = get(conn, service_sid, kind, key, now)?;
    check_revision(if_match, current.revision, 54103, kind.title())?;
    let date_expires = match changes.ttl {
        Some(ttl) => expiry(ttl, now),
        None => current.date_expires,
    };
    conn.execute_cached(
        "UPDATE sync_objects SET data = ?2, date_expires = ?3, revision = revision + 1, date_updated = ?4
         WHERE sid = ?1",
        rusqlite::params![
            current.sid,
            changes.data.as_ref().or(current.data.as_ref()),
            date_expires,
            now
        ],
    )?;
    get(conn, service_sid, kind, &current.sid, now)
}

/// Deletes the object (and, through the schema's cascades, its items and permissions).
pub fn delete(
    conn: &Connection,
    service_sid: &str,
    kind: Kind,
    key: &str,
    if_match: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    let current = get(conn, service_sid, kind, key, now)?;
    check_revision(if_match, current.revision, 54103, kind.title())?;
    conn.execute_cached("DELETE FROM sync_objects WHERE sid = ?1", [&current.sid])?;
    Ok(())
}

/// Records a write to one of a collection's items: a new revision, and the collection's new
/// expiry when the write carried a `CollectionTtl`.
pub fn touch(
    conn: &Connection,
    collection: &SyncObject,
    collection_ttl: Option<i64>,
    now: i64,
) -> Result<(), StoreError> {
    let date_expires = match collection_ttl {
        Some(ttl) => expiry(ttl, now),
        None => collection.date_expires,
    };
    conn.execute_cached(
        "UPDATE sync_objects SET revision = revision + 1, date_expires = ?2, date_updated = ?3 WHERE sid = ?1",
        rusqlite::params![collection.sid, date_expires, now],
    )?;
    Ok(())
}

/// Hands out a list's next item index; indexes only grow.
pub fn take_index(conn: &Connection, list_sid: &str) -> Result<i64, StoreError> {
    Ok(conn.query_row_cached(
        "UPDATE sync_objects SET next_index = next_index + 1 WHERE sid = ?1 RETURNING next_index - 1",
        [list_sid],
        |r| r.get(0),
    )?)
}

/// What an exported object carries beyond what a create sets.
#[derive(Debug, Clone, Copy)]
pub struct Exact {
    pub revision: i64,
    pub next_index: i64,
    pub date_expires: Option<i64>,
    pub date_created: i64,
    pub date_updated: i64,
}

/// Sets an object's exact state, as fixtures and exports carry it. The next list index never
/// goes below what the object's items already hold.
pub fn restore(conn: &Connection, sid: &str, exact: Exact) -> Result<(), StoreError> {
    conn.execute_cached(
        "UPDATE sync_objects SET revision = ?2, next_index = MAX(next_index, ?3), date_expires = ?4,
           date_created = ?5, date_updated = ?6
         WHERE sid = ?1",
        rusqlite::params![
            sid,
            exact.revision,
            exact.next_index,
            exact.date_expires,
            exact.date_created,
            exact.date_updated
        ],
    )?;
    Ok(())
}

/// Deletes every object and item whose time has passed at `now`; returns how many went.
pub fn purge_expired(conn: &Connection, now: i64) -> Result<usize, StoreError> {
    let objects = conn.execute_cached("DELETE FROM sync_objects WHERE date_expires <= ?1", [now])?;
    let items = conn.execute_cached("DELETE FROM sync_items WHERE date_expires <= ?1", [now])?;
    Ok(objects + items)
}
