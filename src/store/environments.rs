//! Environments of a service, each with its domain and the build it serves.

use super::CachedSql;
use super::{found, Page, Window};
use crate::error::StoreError;
use crate::sid;
use rusqlite::{Connection, OptionalExtension, Row};

/// Environments per service (DESIGN §7).
pub const MAX_ENVIRONMENTS: i64 = 25;

#[derive(Debug, Clone)]
pub struct Environment {
    pub sid: String,
    pub service_sid: String,
    pub unique_name: String,
    pub domain_suffix: Option<String>,
    pub domain_name: String,
    pub build_sid: Option<String>,
    pub date_created: i64,
    pub date_updated: i64,
}

const COLUMNS: &str =
    "sid, service_sid, unique_name, domain_suffix, domain_name, build_sid, date_created, date_updated";

fn from_row(r: &Row) -> rusqlite::Result<Environment> {
    Ok(Environment {
        sid: r.get(0)?,
        service_sid: r.get(1)?,
        unique_name: r.get(2)?,
        domain_suffix: r.get(3)?,
        domain_name: r.get(4)?,
        build_sid: r.get(5)?,
        date_created: r.get(6)?,
        date_updated: r.get(7)?,
    })
}

/// `{domain_base}[-{suffix}].twil.io`, as Twilio names an environment's domain.
pub fn domain_name(domain_base: &str, suffix: Option<&str>) -> String {
    match suffix {
        Some(s) if !s.is_empty() => format!("{domain_base}-{}.twil.io", s.to_ascii_lowercase()),
        _ => format!("{domain_base}.twil.io"),
    }
}

/// Creates an environment in `service_sid`, whose domain base is `domain_base`.
pub fn create(
    conn: &Connection,
    service_sid: &str,
    domain_base: &str,
    unique_name: &str,
    domain_suffix: Option<&str>,
    now: i64,
) -> Result<Environment, StoreError> {
    let count: i64 = conn.query_row_cached(
        "SELECT count(*) FROM environments WHERE service_sid = ?1",
        [service_sid],
        |r| r.get(0),
    )?;
    if count >= MAX_ENVIRONMENTS {
        return Err(StoreError::Invalid(format!(
            "Environments are limited to less than or equal to {MAX_ENVIRONMENTS} per Service"
        )));
    }
    let domain = domain_name(domain_base, domain_suffix);
    let clash: bool = conn.query_row_cached(
        "SELECT EXISTS (SELECT 1 FROM environments
                        WHERE service_sid = ?1 AND (unique_name = ?2 OR domain_name = ?3))",
        (service_sid, unique_name, &domain),
        |r| r.get(0),
    )?;
    if clash {
        return Err(StoreError::Conflict(
            "Environment with this UniqueName or DomainSuffix already exists.".into(),
        ));
    }
    let sid = sid::generate(sid::prefix::ENVIRONMENT);
    conn.execute_cached(
        &format!("INSERT INTO environments ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6, ?6)"),
        (&sid, service_sid, unique_name, domain_suffix, &domain, now),
    )?;
    get(conn, service_sid, &sid)
}

/// The environment `sid` of `service_sid`.
pub fn get(conn: &Connection, service_sid: &str, sid: &str) -> Result<Environment, StoreError> {
    found(
        conn.query_row_cached(
            &format!("SELECT {COLUMNS} FROM environments WHERE service_sid = ?1 AND sid = ?2"),
            (service_sid, sid),
            from_row,
        ),
        || format!("/Services/{service_sid}/Environments/{sid}"),
    )
}

/// The environment serving `domain_name`, if any.
pub fn by_domain(conn: &Connection, domain_name: &str) -> Result<Option<Environment>, StoreError> {
    Ok(conn
        .query_row_cached(
            &format!("SELECT {COLUMNS} FROM environments WHERE domain_name = ?1"),
            [domain_name],
            from_row,
        )
        .optional()?)
}

/// Environments of a service in creation order.
pub fn list(conn: &Connection, service_sid: &str, window: Window) -> Result<Page<Environment>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM environments WHERE service_sid = ?1 ORDER BY seq LIMIT ?2 OFFSET ?3"
    ))?;
    let rows = stmt
        .query_map((service_sid, window.limit + 1, window.offset), from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page::from_overfetch(rows, window))
}

/// Points the environment at `build_sid` (or at nothing).
pub fn set_build(conn: &Connection, sid: &str, build_sid: Option<&str>, now: i64) -> Result<(), StoreError> {
    conn.execute_cached(
        "UPDATE environments SET build_sid = ?2, date_updated = ?3 WHERE sid = ?1",
        (sid, build_sid, now),
    )?;
    Ok(())
}

/// Deletes the environment with its variables, deployments and logs.
pub fn delete(conn: &Connection, service_sid: &str, sid: &str) -> Result<(), StoreError> {
    get(conn, service_sid, sid)?;
    conn.execute_cached("DELETE FROM environments WHERE sid = ?1", [sid])?;
    Ok(())
}
