//! Functions and assets. Twilio gives both the `ZH` prefix and the same fields, so one table and
//! one set of queries serve both, told apart by `Kind`.

use super::CachedSql;
use super::{found, Page, Window};
use crate::error::StoreError;
use crate::sid;
use rusqlite::{Connection, Row};

/// Whether a resource is a function or an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Function,
    Asset,
}

impl Kind {
    /// The value stored in the `kind` columns.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Function => "function",
            Kind::Asset => "asset",
        }
    }

    /// The collection's name in API paths.
    pub fn collection(self) -> &'static str {
        match self {
            Kind::Function => "Functions",
            Kind::Asset => "Assets",
        }
    }

    pub fn parse(value: &str) -> Option<Kind> {
        match value {
            "function" => Some(Kind::Function),
            "asset" => Some(Kind::Asset),
            _ => None,
        }
    }
}

/// Reads a `kind` column.
pub(crate) fn kind_column(r: &Row, index: usize) -> rusqlite::Result<Kind> {
    let text: String = r.get(index)?;
    Kind::parse(&text)
        .ok_or_else(|| rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, text.into()))
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub sid: String,
    pub service_sid: String,
    pub kind: Kind,
    pub friendly_name: String,
    pub date_created: i64,
    pub date_updated: i64,
}

const COLUMNS: &str = "sid, service_sid, kind, friendly_name, date_created, date_updated";

fn from_row(r: &Row) -> rusqlite::Result<Resource> {
    Ok(Resource {
        sid: r.get(0)?,
        service_sid: r.get(1)?,
        kind: kind_column(r, 2)?,
        friendly_name: r.get(3)?,
        date_created: r.get(4)?,
        date_updated: r.get(5)?,
    })
}

fn path(kind: Kind, service_sid: &str, sid: &str) -> String {
    format!("/Services/{service_sid}/{}/{sid}", kind.collection())
}

pub fn create(
    conn: &Connection,
    kind: Kind,
    service_sid: &str,
    friendly_name: &str,
    now: i64,
) -> Result<Resource, StoreError> {
    let sid = sid::generate(sid::prefix::RESOURCE);
    conn.execute_cached(
        &format!("INSERT INTO resources ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?5)"),
        (&sid, service_sid, kind.as_str(), friendly_name, now),
    )?;
    get(conn, kind, service_sid, &sid)
}

pub fn get(conn: &Connection, kind: Kind, service_sid: &str, sid: &str) -> Result<Resource, StoreError> {
    found(
        conn.query_row_cached(
            &format!("SELECT {COLUMNS} FROM resources WHERE service_sid = ?1 AND kind = ?2 AND sid = ?3"),
            (service_sid, kind.as_str(), sid),
            from_row,
        ),
        || path(kind, service_sid, sid),
    )
}

/// The first resource of `kind` named `friendly_name` (clients name them by path).
pub fn find_by_name(
    conn: &Connection,
    kind: Kind,
    service_sid: &str,
    friendly_name: &str,
) -> Result<Option<Resource>, StoreError> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .query_row_cached(
            &format!(
                "SELECT {COLUMNS} FROM resources WHERE service_sid = ?1 AND kind = ?2 AND friendly_name = ?3
                 ORDER BY seq LIMIT 1"
            ),
            (service_sid, kind.as_str(), friendly_name),
            from_row,
        )
        .optional()?)
}

pub fn list(conn: &Connection, kind: Kind, service_sid: &str, window: Window) -> Result<Page<Resource>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM resources WHERE service_sid = ?1 AND kind = ?2 ORDER BY seq LIMIT ?3 OFFSET ?4"
    ))?;
    let rows = stmt
        .query_map((service_sid, kind.as_str(), window.limit + 1, window.offset), from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page::from_overfetch(rows, window))
}

pub fn rename(
    conn: &Connection,
    kind: Kind,
    service_sid: &str,
    sid: &str,
    friendly_name: &str,
    now: i64,
) -> Result<Resource, StoreError> {
    get(conn, kind, service_sid, sid)?;
    conn.execute_cached(
        "UPDATE resources SET friendly_name = ?2, date_updated = ?3 WHERE sid = ?1",
        (sid, friendly_name, now),
    )?;
    get(conn, kind, service_sid, sid)
}

/// Deletes the resource and its versions, unless one of its versions is in a build that an
/// environment is serving ("You can only delete a Function resource if there is no Function
/// Version that's currently active").
pub fn delete(conn: &Connection, kind: Kind, service_sid: &str, sid: &str) -> Result<(), StoreError> {
    get(conn, kind, service_sid, sid)?;
    let active: bool = conn.query_row_cached(
        "SELECT EXISTS (SELECT 1 FROM build_versions bv JOIN environments e ON e.build_sid = bv.build_sid
                        WHERE bv.resource_sid = ?1)",
        [sid],
        |r| r.get(0),
    )?;
    if active {
        return Err(StoreError::Conflict(format!(
            "Cannot delete {} because one of its Versions is part of an active Deployment.",
            match kind {
                Kind::Function => "Function",
                Kind::Asset => "Asset",
            }
        )));
    }
    conn.execute_cached("DELETE FROM resources WHERE sid = ?1", [sid])?;
    super::blobs::collect_garbage(conn)?;
    Ok(())
}
