//! Per-identity permissions on Sync documents, lists and maps: what a client SDK token with that
//! identity may do when the service has ACLs enabled. Setting one creates or replaces it.

use super::sync_objects::SyncObject;
use super::CachedSql;
use super::{Page, Window};
use crate::error::StoreError;
use rusqlite::{Connection, OptionalExtension, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    pub object_sid: String,
    pub identity: String,
    pub read: bool,
    pub write: bool,
    pub manage: bool,
}

const COLUMNS: &str = "object_sid, identity, read, write, manage";

fn from_row(r: &Row) -> rusqlite::Result<Permission> {
    Ok(Permission {
        object_sid: r.get(0)?,
        identity: r.get(1)?,
        read: r.get(2)?,
        write: r.get(3)?,
        manage: r.get(4)?,
    })
}

fn path(object: &SyncObject, identity: &str) -> String {
    format!(
        "/Services/{}/{}/{}/Permissions/{identity}",
        object.service_sid,
        object.kind.collection(),
        object.sid
    )
}

/// Creates or replaces `identity`'s permission on `object`.
pub fn set(conn: &Connection, object: &SyncObject, p: &Permission) -> Result<Permission, StoreError> {
    conn.execute_cached(
        "INSERT INTO sync_permissions (object_sid, identity, read, write, manage) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (object_sid, identity) DO UPDATE SET read = excluded.read, write = excluded.write,
           manage = excluded.manage",
        (&object.sid, &p.identity, p.read, p.write, p.manage),
    )?;
    get(conn, object, &p.identity)
}

/// `identity`'s permission on `object`.
pub fn get(conn: &Connection, object: &SyncObject, identity: &str) -> Result<Permission, StoreError> {
    conn.query_row_cached(
        &format!("SELECT {COLUMNS} FROM sync_permissions WHERE object_sid = ?1 AND identity = ?2"),
        (&object.sid, identity),
        from_row,
    )
    .optional()?
    .ok_or_else(|| StoreError::NotFound(path(object, identity)))
}

/// The object's permissions in the order they were first set.
pub fn list(conn: &Connection, object: &SyncObject, window: Window) -> Result<Page<Permission>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM sync_permissions WHERE object_sid = ?1 ORDER BY seq LIMIT ?2 OFFSET ?3"
    ))?;
    let rows = stmt
        .query_map((&object.sid, window.limit + 1, window.offset), from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page::from_overfetch(rows, window))
}

pub fn delete(conn: &Connection, object: &SyncObject, identity: &str) -> Result<(), StoreError> {
    get(conn, object, identity)?;
    conn.execute_cached(
        "DELETE FROM sync_permissions WHERE object_sid = ?1 AND identity = ?2",
        (&object.sid, identity),
    )?;
    Ok(())
}
