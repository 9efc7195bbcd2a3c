//! Retention (DESIGN §7): after 7 days, builds no environment serves, versions in no build, and
//! functions/assets with no versions are deleted; logs after 30 days. Nothing an environment
//! serves is ever deleted. Sync objects and items go once their TTL has run out.

use super::CachedSql;
use crate::error::StoreError;
use rusqlite::Connection;

const DAY: i64 = 86_400;
/// Age after which unused builds, versions and resources go.
pub const UNUSED_AFTER: i64 = 7 * DAY;
/// Age after which logs go.
pub const LOGS_AFTER: i64 = 30 * DAY;

/// What one pass deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Swept {
    pub builds: usize,
    pub versions: usize,
    pub resources: usize,
    pub logs: usize,
    pub blobs: usize,
    /// Expired Sync objects and items.
    pub sync: usize,
}

/// Runs one retention pass at emulator time `now`. Order matters: builds first, so versions that
/// only they held become unused in the same pass.
pub fn sweep(conn: &Connection, now: i64) -> Result<Swept, StoreError> {
    let cutoff = now - UNUSED_AFTER;
    let builds = conn.execute_cached(
        "DELETE FROM builds WHERE date_created <= ?1
           AND sid NOT IN (SELECT build_sid FROM environments WHERE build_sid IS NOT NULL)",
        [cutoff],
    )?;
    let versions = conn.execute_cached(
        "DELETE FROM versions WHERE date_created <= ?1
           AND sid NOT IN (SELECT version_sid FROM build_versions)",
        [cutoff],
    )?;
    let resources = conn.execute_cached(
        "DELETE FROM resources WHERE date_created <= ?1
           AND sid NOT IN (SELECT resource_sid FROM versions)
           AND sid NOT IN (SELECT bv.resource_sid FROM build_versions bv
                           JOIN environments e ON e.build_sid = bv.build_sid)",
        [cutoff],
    )?;
    let logs = conn.execute_cached("DELETE FROM logs WHERE date_created <= ?1", [now - LOGS_AFTER])?;
    let blobs = super::blobs::collect_garbage(conn)?;
    let sync = super::sync_objects::purge_expired(conn, now)?;
    Ok(Swept {
        builds,
        versions,
        resources,
        logs,
        blobs,
        sync,
    })
}
