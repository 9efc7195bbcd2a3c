//! Sync services (`IS`), addressed by SID or, for the account's default service, by the unique
//! name `default`. Twilio gives every account that service, and `Runtime.getSync()` uses it, so
//! it is created the first time anything addresses it.

use super::CachedSql;
use super::{Page, Window};
use crate::error::StoreError;
use crate::sid;
use rusqlite::{Connection, OptionalExtension, Row};

/// The unique name of the account's default service.
pub const DEFAULT: &str = "default";
/// The default service's friendly name.
const DEFAULT_FRIENDLY_NAME: &str = "Default Service";
/// `reachability_debouncing_window` when none is given, in milliseconds.
pub const DEFAULT_DEBOUNCING_WINDOW: i64 = 5000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncService {
    pub sid: String,
    pub unique_name: Option<String>,
    pub settings: Settings,
    pub date_created: i64,
    pub date_updated: i64,
}

/// What a client may set on a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub friendly_name: Option<String>,
    pub webhook_url: Option<String>,
    pub webhooks_from_rest_enabled: bool,
    pub reachability_webhooks_enabled: bool,
    pub acl_enabled: bool,
    pub reachability_debouncing_enabled: bool,
    pub reachability_debouncing_window: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            friendly_name: None,
            webhook_url: None,
            webhooks_from_rest_enabled: false,
            reachability_webhooks_enabled: false,
            acl_enabled: false,
            reachability_debouncing_enabled: false,
            reachability_debouncing_window: DEFAULT_DEBOUNCING_WINDOW,
        }
    }
}

/// The settings an update changes; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub friendly_name: Option<String>,
    pub webhook_url: Option<String>,
    pub webhooks_from_rest_enabled: Option<bool>,
    pub reachability_webhooks_enabled: Option<bool>,
    pub acl_enabled: Option<bool>,
    pub reachability_debouncing_enabled: Option<bool>,
    pub reachability_debouncing_window: Option<i64>,
}

impl Changes {
    /// The settings `s` becomes with these changes.
    pub fn apply(self, s: &Settings) -> Settings {
        Settings {
            friendly_name: self.friendly_name.or_else(|| s.friendly_name.clone()),
            webhook_url: self.webhook_url.or_else(|| s.webhook_url.clone()),
            webhooks_from_rest_enabled: self.webhooks_from_rest_enabled.unwrap_or(s.webhooks_from_rest_enabled),
            reachability_webhooks_enabled: self
                .reachability_webhooks_enabled
                .unwrap_or(s.reachability_webhooks_enabled),
            acl_enabled: self.acl_enabled.unwrap_or(s.acl_enabled),
            reachability_debouncing_enabled: self
                .reachability_debouncing_enabled
                .unwrap_or(s.reachability_debouncing_enabled),
            reachability_debouncing_window: self
                .reachability_debouncing_window
                .unwrap_or(s.reachability_debouncing_window),
        }
    }
}

const COLUMNS: &str = "sid, unique_name, friendly_name, webhook_url, webhooks_from_rest_enabled, \
     reachability_webhooks_enabled, acl_enabled, reachability_debouncing_enabled, \
     reachability_debouncing_window, date_created, date_updated";

fn from_row(r: &Row) -> rusqlite::Result<SyncService> {
    Ok(SyncService {
        sid: r.get(0)?,
        unique_name: r.get(1)?,
        settings: Settings {
            friendly_name: r.get(2)?,
            webhook_url: r.get(3)?,
            webhooks_from_rest_enabled: r.get(4)?,
            reachability_webhooks_enabled: r.get(5)?,
            acl_enabled: r.get(6)?,
            reachability_debouncing_enabled: r.get(7)?,
            reachability_debouncing_window: r.get(8)?,
        },
        date_created: r.get(9)?,
        date_updated: r.get(10)?,
    })
}

/// Twilio's answer for a service that does not exist.
fn not_found(key: &str) -> StoreError {
    StoreError::Coded {
        status: 404,
        code: 54050,
        message: format!("Service Instance not found: {key}"),
    }
}

/// Creates a service with a fresh SID; `unique_name` is only ever `default`.
pub fn create(
    conn: &Connection,
    unique_name: Option<&str>,
    settings: &Settings,
    now: i64,
) -> Result<SyncService, StoreError> {
    let sid = sid::generate(sid::prefix::SYNC_SERVICE);
    conn.execute_cached(
        &format!("INSERT INTO sync_services ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)"),
        rusqlite::params![
            sid,
            unique_name,
            settings.friendly_name,
            settings.webhook_url,
            settings.webhooks_from_rest_enabled,
            settings.reachability_webhooks_enabled,
            settings.acl_enabled,
            settings.reachability_debouncing_enabled,
            settings.reachability_debouncing_window,
            now,
        ],
    )?;
    get(conn, &sid)
}

/// The service whose SID or unique name is `key`.
pub fn get(conn: &Connection, key: &str) -> Result<SyncService, StoreError> {
    conn.query_row_cached(
        &format!("SELECT {COLUMNS} FROM sync_services WHERE sid = ?1 OR unique_name = ?1"),
        [key],
        from_row,
    )
    .optional()?
    .ok_or_else(|| not_found(key))
}

/// The service `key` names, creating the default service when `key` is `default` and it does
/// not exist yet. Returns whether it was created.
pub fn resolve(conn: &Connection, key: &str, now: i64) -> Result<(SyncService, bool), StoreError> {
    match get(conn, key) {
        Err(StoreError::Coded { code: 54050, .. }) if key == DEFAULT => {
            let settings = Settings {
                friendly_name: Some(DEFAULT_FRIENDLY_NAME.to_string()),
                ..Settings::default()
            };
            Ok((create(conn, Some(DEFAULT), &settings, now)?, true))
        }
        other => other.map(|s| (s, false)),
    }
}

/// Services in creation order.
pub fn list(conn: &Connection, window: Window) -> Result<Page<SyncService>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM sync_services ORDER BY seq LIMIT ?1 OFFSET ?2"
    ))?;
    let rows = stmt
        .query_map((window.limit + 1, window.offset), from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page::from_overfetch(rows, window))
}

/// Applies `changes` to the service `key`.
pub fn update(conn: &Connection, key: &str, changes: Changes, now: i64) -> Result<SyncService, StoreError> {
    let (current, _) = resolve(conn, key, now)?;
    let s = changes.apply(&current.settings);
    conn.execute_cached(
        "UPDATE sync_services SET friendly_name = ?2, webhook_url = ?3, webhooks_from_rest_enabled = ?4,
           reachability_webhooks_enabled = ?5, acl_enabled = ?6, reachability_debouncing_enabled = ?7,
           reachability_debouncing_window = ?8, date_updated = ?9
         WHERE sid = ?1",
        rusqlite::params![
            current.sid,
            s.friendly_name,
            s.webhook_url,
            s.webhooks_from_rest_enabled,
            s.reachability_webhooks_enabled,
            s.acl_enabled,
            s.reachability_debouncing_enabled,
            s.reachability_debouncing_window,
            now,
        ],
    )?;
    get(conn, &current.sid)
}

/// Deletes the service and, through the schema's cascades, every object and item in it.
pub fn delete(conn: &Connection, key: &str) -> Result<(), StoreError> {
    let service = get(conn, key)?;
    conn.execute_cached("DELETE FROM sync_services WHERE sid = ?1", [&service.sid])?;
    Ok(())
}

/// Sets a service's dates, for fixtures that carry them.
pub fn set_dates(conn: &Connection, sid: &str, created: i64, updated: i64) -> Result<(), StoreError> {
    conn.execute_cached(
        "UPDATE sync_services SET date_created = ?2, date_updated = ?3 WHERE sid = ?1",
        (sid, created, updated),
    )?;
    Ok(())
}
