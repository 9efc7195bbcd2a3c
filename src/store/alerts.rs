//! Alerts (Monitor's debugger entries): what went wrong when twirl made a webhook request, or
//! carried out its answer.

use super::CachedSql;
use super::{found, Page, Window};
use crate::error::StoreError;
use crate::sid;
use rusqlite::{Connection, Row};

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alert {
    pub sid: String,
    pub error_code: String,
    /// `error` or `warning`.
    pub log_level: String,
    pub alert_text: String,
    /// The message or call the alert is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_variables: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_headers: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_headers: Option<String>,
    #[serde(with = "crate::clock::iso")]
    pub date_created: i64,
}

const COLUMNS: &str = "sid, error_code, log_level, alert_text, resource_sid, service_sid, request_method,
    request_url, request_variables, request_headers, response_body, response_headers, date_created";

fn from_row(r: &Row) -> rusqlite::Result<Alert> {
    Ok(Alert {
        sid: r.get(0)?,
        error_code: r.get(1)?,
        log_level: r.get(2)?,
        alert_text: r.get(3)?,
        resource_sid: r.get(4)?,
        service_sid: r.get(5)?,
        request_method: r.get(6)?,
        request_url: r.get(7)?,
        request_variables: r.get(8)?,
        request_headers: r.get(9)?,
        response_body: r.get(10)?,
        response_headers: r.get(11)?,
        date_created: r.get(12)?,
    })
}

/// Stores `alert` with a new SID (or the one it has, as fixtures and exports give).
pub fn create(conn: &Connection, alert: &Alert) -> Result<Alert, StoreError> {
    let sid = if alert.sid.is_empty() {
        sid::generate(sid::prefix::ALERT)
    } else {
        alert.sid.clone()
    };
    conn.execute_cached(
        &format!("INSERT INTO alerts ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"),
        rusqlite::params![
            sid,
            alert.error_code,
            alert.log_level,
            alert.alert_text,
            alert.resource_sid,
            alert.service_sid,
            alert.request_method,
            alert.request_url,
            alert.request_variables,
            alert.request_headers,
            alert.response_body,
            alert.response_headers,
            alert.date_created
        ],
    )?;
    get(conn, &sid)
}

pub fn get(conn: &Connection, sid: &str) -> Result<Alert, StoreError> {
    found(
        conn.query_row_cached(&format!("SELECT {COLUMNS} FROM alerts WHERE sid = ?1"), [sid], from_row),
        || format!("/Alerts/{sid}"),
    )
}

/// List filters: `LogLevel`, and the creation time within `[from, until)`.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub log_level: Option<String>,
    pub from: Option<i64>,
    pub until: Option<i64>,
}

/// Alerts newest first.
pub fn list(conn: &Connection, filter: &Filter, window: Window) -> Result<Page<Alert>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM alerts
         WHERE (?1 IS NULL OR log_level = ?1) AND (?2 IS NULL OR date_created >= ?2) AND (?3 IS NULL OR date_created < ?3)
         ORDER BY seq DESC LIMIT ?4 OFFSET ?5"
    ))?;
    let rows = stmt
        .query_map(
            rusqlite::params![
                filter.log_level,
                filter.from,
                filter.until,
                window.limit + 1,
                window.offset
            ],
            from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page::from_overfetch(rows, window))
}

/// The alerts about one message or call, oldest first.
pub fn about(conn: &Connection, resource_sid: &str) -> Result<Vec<Alert>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM alerts WHERE resource_sid = ?1 ORDER BY seq"
    ))?;
    let rows = stmt
        .query_map([resource_sid], from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Every alert, oldest first, for export.
pub fn all(conn: &Connection) -> Result<Vec<Alert>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM alerts ORDER BY seq"))?;
    let rows = stmt.query_map([], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
