//! Function and asset versions: immutable uploads of one file at one path and visibility.

use super::resources::{kind_column, Kind};
use super::CachedSql;
use super::{found, Page, Window};
use crate::error::StoreError;
use crate::sid;
use rusqlite::{Connection, Row};

#[derive(Debug, Clone)]
pub struct Version {
    pub sid: String,
    pub service_sid: String,
    pub resource_sid: String,
    pub kind: Kind,
    pub path: String,
    pub visibility: String,
    pub blob_hash: String,
    pub content_type: String,
    pub size: i64,
    pub date_created: i64,
}

/// An upload, validated by the API layer.
#[derive(Debug, Clone)]
pub struct NewVersion {
    pub kind: Kind,
    pub service_sid: String,
    pub resource_sid: String,
    pub path: String,
    pub visibility: String,
    pub content_type: String,
    pub content: Vec<u8>,
}

const COLUMNS: &str =
    "sid, service_sid, resource_sid, kind, path, visibility, blob_hash, content_type, size, date_created";

fn from_row(r: &Row) -> rusqlite::Result<Version> {
    Ok(Version {
        sid: r.get(0)?,
        service_sid: r.get(1)?,
        resource_sid: r.get(2)?,
        kind: kind_column(r, 3)?,
        path: r.get(4)?,
        visibility: r.get(5)?,
        blob_hash: r.get(6)?,
        content_type: r.get(7)?,
        size: r.get(8)?,
        date_created: r.get(9)?,
    })
}

/// Stores the content (once per distinct bytes) and the version row.
pub fn create(conn: &Connection, new: &NewVersion, now: i64) -> Result<Version, StoreError> {
    super::resources::get(conn, new.kind, &new.service_sid, &new.resource_sid)?;
    let hash = super::blobs::put(conn, &new.content)?;
    let sid = sid::generate(sid::prefix::VERSION);
    conn.execute_cached(
        &format!("INSERT INTO versions ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
        (
            &sid,
            &new.service_sid,
            &new.resource_sid,
            new.kind.as_str(),
            &new.path,
            &new.visibility,
            &hash,
            &new.content_type,
            new.content.len() as i64,
            now,
        ),
    )?;
    get(conn, new.kind, &new.service_sid, &new.resource_sid, &sid)
}

pub fn get(
    conn: &Connection,
    kind: Kind,
    service_sid: &str,
    resource_sid: &str,
    sid: &str,
) -> Result<Version, StoreError> {
    found(
        conn.query_row_cached(
            &format!(
                "SELECT {COLUMNS} FROM versions
                 WHERE service_sid = ?1 AND kind = ?2 AND resource_sid = ?3 AND sid = ?4"
            ),
            (service_sid, kind.as_str(), resource_sid, sid),
            from_row,
        ),
        || {
            format!(
                "/Services/{service_sid}/{}/{resource_sid}/Versions/{sid}",
                kind.collection()
            )
        },
    )
}

/// A version of `kind` anywhere in the service, for builds that name versions by SID alone.
pub fn in_service(conn: &Connection, kind: Kind, service_sid: &str, sid: &str) -> Result<Option<Version>, StoreError> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .query_row_cached(
            &format!("SELECT {COLUMNS} FROM versions WHERE service_sid = ?1 AND kind = ?2 AND sid = ?3"),
            (service_sid, kind.as_str(), sid),
            from_row,
        )
        .optional()?)
}

/// The newest version of a resource if it has exactly this path, visibility and content, so an
/// unchanged file is not stored again.
pub fn latest_if_same(
    conn: &Connection,
    resource_sid: &str,
    path: &str,
    visibility: &str,
    blob_hash: &str,
) -> Result<Option<Version>, StoreError> {
    use rusqlite::OptionalExtension;
    let latest = conn
        .query_row_cached(
            &format!("SELECT {COLUMNS} FROM versions WHERE resource_sid = ?1 ORDER BY seq DESC LIMIT 1"),
            [resource_sid],
            from_row,
        )
        .optional()?;
    Ok(latest.filter(|v| v.path == path && v.visibility == visibility && v.blob_hash == blob_hash))
}

/// Versions of one resource in creation order.
pub fn list(
    conn: &Connection,
    kind: Kind,
    service_sid: &str,
    resource_sid: &str,
    window: Window,
) -> Result<Page<Version>, StoreError> {
    super::resources::get(conn, kind, service_sid, resource_sid)?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM versions WHERE resource_sid = ?1 ORDER BY seq LIMIT ?2 OFFSET ?3"
    ))?;
    let rows = stmt
        .query_map((resource_sid, window.limit + 1, window.offset), from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page::from_overfetch(rows, window))
}
