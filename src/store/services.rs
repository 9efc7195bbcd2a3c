//! Services: the top of the resource tree, addressable by SID or unique name.

use super::CachedSql;
use super::{found, Page, Window};
use crate::error::StoreError;
use crate::sid;
use rusqlite::{Connection, OptionalExtension, Row};

/// Services per account (DESIGN §7).
pub const MAX_SERVICES: i64 = 50;

#[derive(Debug, Clone)]
pub struct Service {
    pub sid: String,
    pub unique_name: String,
    pub friendly_name: String,
    pub include_credentials: bool,
    pub ui_editable: bool,
    pub domain_base: String,
    pub date_created: i64,
    pub date_updated: i64,
}

/// What a create carries, already validated by the API layer.
#[derive(Debug, Clone)]
pub struct NewService {
    pub unique_name: String,
    pub friendly_name: String,
    pub include_credentials: bool,
    pub ui_editable: bool,
}

/// The fields an update may change; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct ServiceChanges {
    pub friendly_name: Option<String>,
    pub include_credentials: Option<bool>,
    pub ui_editable: Option<bool>,
}

const COLUMNS: &str =
    "sid, unique_name, friendly_name, include_credentials, ui_editable, domain_base, date_created, date_updated";

fn from_row(r: &Row) -> rusqlite::Result<Service> {
    Ok(Service {
        sid: r.get(0)?,
        unique_name: r.get(1)?,
        friendly_name: r.get(2)?,
        include_credentials: r.get(3)?,
        ui_editable: r.get(4)?,
        domain_base: r.get(5)?,
        date_created: r.get(6)?,
        date_updated: r.get(7)?,
    })
}

/// Creates a service with a fresh SID and `domain_base` (`unique_name` + 4 digits).
pub fn create(conn: &Connection, new: &NewService, now: i64) -> Result<Service, StoreError> {
    let count: i64 = conn.query_row_cached("SELECT count(*) FROM services", [], |r| r.get(0))?;
    if count >= MAX_SERVICES {
        return Err(StoreError::Invalid(format!(
            "Services are limited to less than or equal to {MAX_SERVICES}"
        )));
    }
    let taken: bool = conn.query_row_cached(
        "SELECT EXISTS (SELECT 1 FROM services WHERE unique_name = ?1)",
        [&new.unique_name],
        |r| r.get(0),
    )?;
    if taken {
        return Err(StoreError::Conflict(format!(
            "Service with UniqueName {} already exists",
            new.unique_name
        )));
    }
    let sid = sid::generate(sid::prefix::SERVICE);
    let domain_base = free_domain_base(conn, &new.unique_name)?;
    conn.execute_cached(
        &format!("INSERT INTO services ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)"),
        (
            &sid,
            &new.unique_name,
            &new.friendly_name,
            new.include_credentials,
            new.ui_editable,
            &domain_base,
            now,
        ),
    )?;
    get(conn, &sid)
}

/// `unique_name` lower-cased plus four digits, retried until unused.
fn free_domain_base(conn: &Connection, unique_name: &str) -> Result<String, StoreError> {
    loop {
        let candidate = format!("{}-{}", unique_name.to_ascii_lowercase(), sid::four_digits());
        let taken: bool = conn.query_row_cached(
            "SELECT EXISTS (SELECT 1 FROM services WHERE domain_base = ?1)",
            [&candidate],
            |r| r.get(0),
        )?;
        if !taken {
            return Ok(candidate);
        }
    }
}

/// The service whose SID or unique name is `key`.
pub fn get(conn: &Connection, key: &str) -> Result<Service, StoreError> {
    found(
        conn.query_row_cached(
            &format!("SELECT {COLUMNS} FROM services WHERE sid = ?1 OR unique_name = ?1"),
            [key],
            from_row,
        ),
        || format!("/Services/{key}"),
    )
}

/// The service owning `domain_base`, if any.
pub fn by_domain_base(conn: &Connection, domain_base: &str) -> Result<Option<Service>, StoreError> {
    Ok(conn
        .query_row_cached(
            &format!("SELECT {COLUMNS} FROM services WHERE domain_base = ?1"),
            [domain_base],
            from_row,
        )
        .optional()?)
}

/// Services in creation order.
pub fn list(conn: &Connection, window: Window) -> Result<Page<Service>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM services ORDER BY seq LIMIT ?1 OFFSET ?2"
    ))?;
    let rows = stmt
        .query_map((window.limit + 1, window.offset), from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page::from_overfetch(rows, window))
}

/// Applies `changes` to the service `key`.
pub fn update(conn: &Connection, key: &str, changes: &ServiceChanges, now: i64) -> Result<Service, StoreError> {
    let current = get(conn, key)?;
    conn.execute_cached(
        "UPDATE services SET friendly_name = ?2, include_credentials = ?3, ui_editable = ?4, date_updated = ?5
         WHERE sid = ?1",
        (
            &current.sid,
            changes.friendly_name.as_ref().unwrap_or(&current.friendly_name),
            changes.include_credentials.unwrap_or(current.include_credentials),
            changes.ui_editable.unwrap_or(current.ui_editable),
            now,
        ),
    )?;
    get(conn, &current.sid)
}

/// Deletes the service and, through the schema's cascades, everything under it.
pub fn delete(conn: &Connection, key: &str) -> Result<(), StoreError> {
    let service = get(conn, key)?;
    conn.execute_cached("DELETE FROM services WHERE sid = ?1", [&service.sid])?;
    super::blobs::collect_garbage(conn)?;
    Ok(())
}
