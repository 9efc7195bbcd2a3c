//! Log entries written by functions' `console.*` calls, listed newest first so that a client
//! polling the first page (as `twilio-run logs --tail` does) always sees the latest.

use super::CachedSql;
use super::{found, Page, Window};
use crate::error::StoreError;
use crate::sid;
use rusqlite::{Connection, Row};

#[derive(Debug, Clone)]
pub struct Log {
    pub sid: String,
    pub service_sid: String,
    pub environment_sid: String,
    pub build_sid: String,
    pub deployment_sid: String,
    pub function_sid: String,
    pub request_sid: String,
    pub level: String,
    pub message: String,
    pub date_created: i64,
}

/// Which entries a list returns; times are inclusive Unix seconds.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    pub function_sid: Option<String>,
    pub start: i64,
    pub end: i64,
}

const COLUMNS: &str = "sid, service_sid, environment_sid, build_sid, deployment_sid, function_sid, request_sid, \
                       level, message, date_created";

fn from_row(r: &Row) -> rusqlite::Result<Log> {
    Ok(Log {
        sid: r.get(0)?,
        service_sid: r.get(1)?,
        environment_sid: r.get(2)?,
        build_sid: r.get(3)?,
        deployment_sid: r.get(4)?,
        function_sid: r.get(5)?,
        request_sid: r.get(6)?,
        level: r.get(7)?,
        message: r.get(8)?,
        date_created: r.get(9)?,
    })
}

/// Appends one entry; the SID is assigned here.
pub fn insert(conn: &Connection, mut log: Log) -> Result<Log, StoreError> {
    log.sid = sid::generate(sid::prefix::LOG);
    conn.execute_cached(
        &format!("INSERT INTO logs ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
        (
            &log.sid,
            &log.service_sid,
            &log.environment_sid,
            &log.build_sid,
            &log.deployment_sid,
            &log.function_sid,
            &log.request_sid,
            &log.level,
            &log.message,
            log.date_created,
        ),
    )?;
    Ok(log)
}

pub fn get(conn: &Connection, service_sid: &str, environment_sid: &str, sid: &str) -> Result<Log, StoreError> {
    found(
        conn.query_row_cached(
            &format!("SELECT {COLUMNS} FROM logs WHERE service_sid = ?1 AND environment_sid = ?2 AND sid = ?3"),
            (service_sid, environment_sid, sid),
            from_row,
        ),
        || format!("/Services/{service_sid}/Environments/{environment_sid}/Logs/{sid}"),
    )
}

pub fn list(
    conn: &Connection,
    service_sid: &str,
    environment_sid: &str,
    filter: &LogFilter,
    window: Window,
) -> Result<Page<Log>, StoreError> {
    super::environments::get(conn, service_sid, environment_sid)?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM logs
         WHERE environment_sid = ?1 AND date_created BETWEEN ?2 AND ?3 AND (?4 IS NULL OR function_sid = ?4)
         ORDER BY seq DESC LIMIT ?5 OFFSET ?6"
    ))?;
    let rows = stmt
        .query_map(
            (
                environment_sid,
                filter.start,
                filter.end,
                &filter.function_sid,
                window.limit + 1,
                window.offset,
            ),
            from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page::from_overfetch(rows, window))
}
