//! What Lookup answers about particular numbers beyond their numbering plan (a line type, a
//! caller name, …), as fixtures declare it: each package a JSON object merged over the defaults.

use super::CachedSql;
use crate::error::StoreError;
use rusqlite::{Connection, OptionalExtension};
use serde_json::{Map, Value};

/// A number's declared packages, keyed by package name (`line_type_intelligence`, …).
pub type Packages = Map<String, Value>;

pub fn get(conn: &Connection, phone_number: &str) -> Result<Option<Packages>, StoreError> {
    let text: Option<String> = conn
        .query_row_cached(
            "SELECT packages FROM lookup_numbers WHERE phone_number = ?1",
            [phone_number],
            |r| r.get(0),
        )
        .optional()?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

/// Declares (or replaces) what Lookup says about `phone_number`.
pub fn put(conn: &Connection, phone_number: &str, packages: &Packages) -> Result<(), StoreError> {
    conn.execute_cached(
        "INSERT INTO lookup_numbers (phone_number, packages) VALUES (?1, ?2)
         ON CONFLICT (phone_number) DO UPDATE SET packages = excluded.packages",
        (phone_number, Value::Object(packages.clone()).to_string()),
    )?;
    Ok(())
}

/// Every declared number, in number order.
pub fn all(conn: &Connection) -> Result<Vec<(String, Packages)>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT phone_number, packages FROM lookup_numbers ORDER BY phone_number")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows
        .into_iter()
        .map(|(number, text)| (number, serde_json::from_str(&text).unwrap_or_default()))
        .collect())
}
