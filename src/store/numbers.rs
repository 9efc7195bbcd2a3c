//! The account's phone numbers (IncomingPhoneNumbers), unique by number. What a number does with
//! texts and calls lives in its `Config`, stored as JSON.

use super::CachedSql;
use super::{found, Page, Window};
use crate::error::StoreError;
use crate::sid;
use rusqlite::{Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

/// A number's settable fields, named as the API names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub sms_url: String,
    pub sms_method: String,
    pub sms_fallback_url: String,
    pub sms_fallback_method: String,
    pub sms_application_sid: Option<String>,
    pub voice_url: String,
    pub voice_method: String,
    pub voice_fallback_url: String,
    pub voice_fallback_method: String,
    pub voice_application_sid: Option<String>,
    pub voice_caller_id_lookup: bool,
    pub voice_receive_mode: String,
    pub status_callback: String,
    pub status_callback_method: String,
    pub trunk_sid: Option<String>,
    pub identity_sid: Option<String>,
    pub address_sid: Option<String>,
    pub bundle_sid: Option<String>,
    pub emergency_status: String,
    pub emergency_address_sid: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        let post = || "POST".to_string();
        Config {
            sms_url: String::new(),
            sms_method: post(),
            sms_fallback_url: String::new(),
            sms_fallback_method: post(),
            sms_application_sid: None,
            voice_url: String::new(),
            voice_method: post(),
            voice_fallback_url: String::new(),
            voice_fallback_method: post(),
            voice_application_sid: None,
            voice_caller_id_lookup: false,
            voice_receive_mode: "voice".into(),
            status_callback: String::new(),
            status_callback_method: post(),
            trunk_sid: None,
            identity_sid: None,
            address_sid: None,
            bundle_sid: None,
            emergency_status: "Inactive".into(),
            emergency_address_sid: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Number {
    pub sid: String,
    pub phone_number: String,
    pub friendly_name: String,
    pub config: Config,
    pub date_created: i64,
    pub date_updated: i64,
}

const COLUMNS: &str = "sid, phone_number, friendly_name, config, date_created, date_updated";

fn from_row(r: &Row) -> rusqlite::Result<Number> {
    let config: String = r.get(3)?;
    Ok(Number {
        sid: r.get(0)?,
        phone_number: r.get(1)?,
        friendly_name: r.get(2)?,
        config: serde_json::from_str(&config).unwrap_or_default(),
        date_created: r.get(4)?,
        date_updated: r.get(5)?,
    })
}

fn config_json(config: &Config) -> String {
    serde_json::to_string(config).unwrap_or_else(|_| "{}".into())
}

/// Adds `phone_number` to the account; 21422 when the account has it already.
pub fn create(
    conn: &Connection,
    phone_number: &str,
    friendly_name: &str,
    config: &Config,
    now: i64,
) -> Result<Number, StoreError> {
    if by_number(conn, phone_number)?.is_some() {
        return Err(StoreError::Coded {
            status: 400,
            code: 21422,
            message: format!("PhoneNumber {phone_number} is not available"),
        });
    }
    let sid = sid::generate(sid::prefix::PHONE_NUMBER);
    conn.execute_cached(
        &format!("INSERT INTO phone_numbers ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?5)"),
        (&sid, phone_number, friendly_name, config_json(config), now),
    )?;
    get(conn, &sid)
}

pub fn get(conn: &Connection, sid: &str) -> Result<Number, StoreError> {
    found(
        conn.query_row_cached(
            &format!("SELECT {COLUMNS} FROM phone_numbers WHERE sid = ?1"),
            [sid],
            from_row,
        ),
        || format!("/IncomingPhoneNumbers/{sid}.json"),
    )
}

/// The owned number `phone_number`, if the account has it.
pub fn by_number(conn: &Connection, phone_number: &str) -> Result<Option<Number>, StoreError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM phone_numbers WHERE phone_number = ?1"))?
        .query_row([phone_number], from_row)
        .optional()?)
}

/// List filters: `PhoneNumber` matches anywhere in the number (`*` for any digits), `FriendlyName`
/// exactly.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub phone_number: Option<String>,
    pub friendly_name: Option<String>,
}

pub fn list(conn: &Connection, filter: &Filter, window: Window) -> Result<Page<Number>, StoreError> {
    let pattern = filter
        .phone_number
        .as_ref()
        .map(|p| format!("%{}%", p.replace('*', "_")));
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM phone_numbers
         WHERE (?1 IS NULL OR phone_number LIKE ?1) AND (?2 IS NULL OR friendly_name = ?2)
         ORDER BY seq LIMIT ?3 OFFSET ?4"
    ))?;
    let rows = stmt
        .query_map(
            (&pattern, &filter.friendly_name, window.limit + 1, window.offset),
            from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page::from_overfetch(rows, window))
}

/// Every number, oldest first.
pub fn all(conn: &Connection) -> Result<Vec<Number>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM phone_numbers ORDER BY seq"))?;
    let rows = stmt.query_map([], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn update(
    conn: &Connection,
    sid: &str,
    friendly_name: Option<&str>,
    config: &Config,
    now: i64,
) -> Result<Number, StoreError> {
    let current = get(conn, sid)?;
    conn.execute_cached(
        "UPDATE phone_numbers SET friendly_name = ?2, config = ?3, date_updated = ?4 WHERE sid = ?1",
        (
            sid,
            friendly_name.unwrap_or(&current.friendly_name),
            config_json(config),
            now,
        ),
    )?;
    get(conn, sid)
}

pub fn delete(conn: &Connection, sid: &str) -> Result<(), StoreError> {
    get(conn, sid)?;
    conn.execute_cached("DELETE FROM phone_numbers WHERE sid = ?1", [sid])?;
    Ok(())
}
