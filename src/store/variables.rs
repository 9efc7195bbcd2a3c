//! Environment variables, unique by key within an environment.

use super::CachedSql;
use super::{found, Page, Window};
use crate::error::StoreError;
use crate::sid;
use rusqlite::{Connection, Row};

#[derive(Debug, Clone)]
pub struct Variable {
    pub sid: String,
    pub service_sid: String,
    pub environment_sid: String,
    pub key: String,
    pub value: String,
    pub date_created: i64,
    pub date_updated: i64,
}

const COLUMNS: &str = "sid, service_sid, environment_sid, key, value, date_created, date_updated";

fn from_row(r: &Row) -> rusqlite::Result<Variable> {
    Ok(Variable {
        sid: r.get(0)?,
        service_sid: r.get(1)?,
        environment_sid: r.get(2)?,
        key: r.get(3)?,
        value: r.get(4)?,
        date_created: r.get(5)?,
        date_updated: r.get(6)?,
    })
}

fn ensure_key_free(conn: &Connection, environment_sid: &str, key: &str, except: &str) -> Result<(), StoreError> {
    let taken: bool = conn.query_row_cached(
        "SELECT EXISTS (SELECT 1 FROM variables WHERE environment_sid = ?1 AND key = ?2 AND sid != ?3)",
        (environment_sid, key, except),
        |r| r.get(0),
    )?;
    if taken {
        return Err(StoreError::Conflict(format!(
            "Variable with Key {key} already exists in this Environment"
        )));
    }
    Ok(())
}

pub fn create(
    conn: &Connection,
    service_sid: &str,
    environment_sid: &str,
    key: &str,
    value: &str,
    now: i64,
) -> Result<Variable, StoreError> {
    super::environments::get(conn, service_sid, environment_sid)?;
    ensure_key_free(conn, environment_sid, key, "")?;
    let sid = sid::generate(sid::prefix::VARIABLE);
    conn.execute_cached(
        &format!("INSERT INTO variables ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)"),
        (&sid, service_sid, environment_sid, key, value, now),
    )?;
    get(conn, service_sid, environment_sid, &sid)
}

pub fn get(conn: &Connection, service_sid: &str, environment_sid: &str, sid: &str) -> Result<Variable, StoreError> {
    found(
        conn.query_row_cached(
            &format!("SELECT {COLUMNS} FROM variables WHERE service_sid = ?1 AND environment_sid = ?2 AND sid = ?3"),
            (service_sid, environment_sid, sid),
            from_row,
        ),
        || format!("/Services/{service_sid}/Environments/{environment_sid}/Variables/{sid}"),
    )
}

pub fn list(
    conn: &Connection,
    service_sid: &str,
    environment_sid: &str,
    window: Window,
) -> Result<Page<Variable>, StoreError> {
    super::environments::get(conn, service_sid, environment_sid)?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM variables WHERE environment_sid = ?1 ORDER BY seq LIMIT ?2 OFFSET ?3"
    ))?;
    let rows = stmt
        .query_map((environment_sid, window.limit + 1, window.offset), from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page::from_overfetch(rows, window))
}

/// All variables of an environment as key/value pairs, for the runtime's `context`.
pub fn all(conn: &Connection, environment_sid: &str) -> Result<Vec<(String, String)>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT key, value FROM variables WHERE environment_sid = ?1 ORDER BY seq")?;
    let rows = stmt
        .query_map([environment_sid], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// A variable whose value differs from what `.env` last gave it: edited (or deleted, `value`
/// `None`) through the API since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditedOverDotenv {
    pub key: String,
    pub value: Option<String>,
    pub dotenv: String,
}

/// The live project's `.env` applied to its environment: a key whose `.env` value changed since
/// the last time (or that is new) is set, a key `.env` no longer has is deleted, and every other
/// variable keeps its value, so an edit made through the API sticks until `.env` changes that
/// key. Returns the variables that differ from `.env` afterwards.
pub fn apply_dotenv(
    conn: &Connection,
    service_sid: &str,
    environment_sid: &str,
    dotenv: &[(String, String)],
    now: i64,
) -> Result<Vec<EditedOverDotenv>, StoreError> {
    let applied = dotenv_applied(conn, environment_sid)?;
    let current = all(conn, environment_sid)?;
    for (key, _) in applied.iter().filter(|(k, _)| !dotenv.iter().any(|(d, _)| d == k)) {
        conn.execute_cached(
            "DELETE FROM variables WHERE environment_sid = ?1 AND key = ?2",
            (environment_sid, key),
        )?;
    }
    for (key, value) in dotenv {
        if applied.iter().any(|(k, v)| k == key && v == value) {
            continue;
        }
        match current.iter().find(|(k, _)| k == key) {
            Some((_, old)) if old == value => {}
            Some(_) => {
                conn.execute_cached(
                    "UPDATE variables SET value = ?3, date_updated = ?4 WHERE environment_sid = ?1 AND key = ?2",
                    (environment_sid, key, value, now),
                )?;
            }
            None => {
                create(conn, service_sid, environment_sid, key, value, now)?;
            }
        }
    }
    conn.execute_cached("DELETE FROM live_dotenv WHERE environment_sid = ?1", [environment_sid])?;
    let mut insert =
        conn.prepare_cached("INSERT INTO live_dotenv (environment_sid, key, value) VALUES (?1, ?2, ?3)")?;
    for (key, value) in dotenv {
        insert.execute((environment_sid, key, value))?;
    }
    edited_over_dotenv(conn, environment_sid)
}

fn dotenv_applied(conn: &Connection, environment_sid: &str) -> Result<Vec<(String, String)>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT key, value FROM live_dotenv WHERE environment_sid = ?1")?;
    let rows = stmt
        .query_map([environment_sid], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The variables whose value is not the one `.env` last gave them.
pub fn edited_over_dotenv(conn: &Connection, environment_sid: &str) -> Result<Vec<EditedOverDotenv>, StoreError> {
    let current = all(conn, environment_sid)?;
    let edited = dotenv_applied(conn, environment_sid)?
        .into_iter()
        .filter_map(|(key, dotenv)| {
            let value = current.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone());
            (value.as_deref() != Some(dotenv.as_str())).then_some(EditedOverDotenv { key, value, dotenv })
        })
        .collect();
    Ok(edited)
}

#[allow(clippy::too_many_arguments)]
pub fn update(
    conn: &Connection,
    service_sid: &str,
    environment_sid: &str,
    sid: &str,
    key: Option<&str>,
    value: Option<&str>,
    now: i64,
) -> Result<Variable, StoreError> {
    let current = get(conn, service_sid, environment_sid, sid)?;
    let key = key.unwrap_or(&current.key);
    ensure_key_free(conn, environment_sid, key, sid)?;
    conn.execute_cached(
        "UPDATE variables SET key = ?2, value = ?3, date_updated = ?4 WHERE sid = ?1",
        (sid, key, value.unwrap_or(&current.value), now),
    )?;
    get(conn, service_sid, environment_sid, sid)
}

pub fn delete(conn: &Connection, service_sid: &str, environment_sid: &str, sid: &str) -> Result<(), StoreError> {
    get(conn, service_sid, environment_sid, sid)?;
    conn.execute_cached("DELETE FROM variables WHERE sid = ?1", [sid])?;
    Ok(())
}
