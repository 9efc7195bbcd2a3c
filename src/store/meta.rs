//! Small key/value settings that must survive a restart, such as the clock's offset.

use super::CachedSql;
use crate::error::StoreError;
use rusqlite::{Connection, OptionalExtension};

const CLOCK_OFFSET: &str = "clock_offset";

/// The persisted clock offset in seconds (0 when never moved).
pub fn clock_offset(conn: &Connection) -> Result<i64, StoreError> {
    let value: Option<String> = conn
        .query_row_cached("SELECT value FROM meta WHERE key = ?1", [CLOCK_OFFSET], |r| r.get(0))
        .optional()?;
    Ok(value.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// Persists the clock offset.
pub fn set_clock_offset(conn: &Connection, offset: i64) -> Result<(), StoreError> {
    conn.execute_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (CLOCK_OFFSET, offset.to_string()),
    )?;
    Ok(())
}
