//! Builds: immutable snapshots of function and asset versions plus dependencies and a runtime,
//! which go `building` → `completed` | `failed`.

use super::resources::{kind_column, Kind};
use super::versions::Version;
use super::CachedSql;
use super::{found, Page, Window};
use crate::error::StoreError;
use crate::sid;
use rusqlite::{Connection, Row};

/// Function versions per build (DESIGN §7).
pub const MAX_FUNCTION_VERSIONS: usize = 100;
/// Public and protected asset versions per build.
pub const MAX_PUBLIC_ASSET_VERSIONS: usize = 1000;
/// Private asset versions per build.
pub const MAX_PRIVATE_ASSET_VERSIONS: usize = 50;
/// Builds per account per hour.
pub const MAX_BUILDS_PER_HOUR: i64 = 100;

/// A build's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Building,
    Completed,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Building => "building",
            Status::Completed => "completed",
            Status::Failed => "failed",
        }
    }

    fn parse(value: &str) -> Status {
        match value {
            "completed" => Status::Completed,
            "failed" => Status::Failed,
            _ => Status::Building,
        }
    }
}

/// One version as the build captured it.
#[derive(Debug, Clone)]
pub struct BuildVersion {
    pub sid: String,
    pub resource_sid: String,
    pub kind: Kind,
    pub path: String,
    pub visibility: String,
    pub blob_hash: String,
    pub content_type: String,
    pub date_created: i64,
}

#[derive(Debug, Clone)]
pub struct Build {
    pub sid: String,
    pub service_sid: String,
    pub status: Status,
    /// JSON array of `{"name","version"}`.
    pub dependencies: String,
    pub runtime: String,
    pub failure_reason: Option<String>,
    pub date_created: i64,
    pub date_updated: i64,
    pub versions: Vec<BuildVersion>,
}

impl Build {
    /// The captured versions of one kind, in the order they were given.
    pub fn versions_of(&self, kind: Kind) -> impl Iterator<Item = &BuildVersion> {
        self.versions.iter().filter(move |v| v.kind == kind)
    }
}

/// A build request with its versions already resolved and checked by `create`'s caller.
#[derive(Debug, Clone)]
pub struct NewBuild {
    pub service_sid: String,
    pub versions: Vec<Version>,
    pub dependencies: String,
    pub runtime: String,
    pub origin: Origin,
    /// Its SID when chosen beforehand (`deploy::Bundle::planned`); else a new one.
    pub sid: Option<String>,
}

/// Who made a build: only API builds are rate-limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Api,
    /// Recorded by the live project on a change.
    Live,
    /// Loaded from a fixture.
    Fixture,
}

impl Origin {
    fn as_str(self) -> &'static str {
        match self {
            Origin::Api => "api",
            Origin::Live => "live",
            Origin::Fixture => "fixture",
        }
    }
}

const COLUMNS: &str = "sid, service_sid, status, dependencies, runtime, failure_reason, date_created, date_updated";

fn from_row(r: &Row) -> rusqlite::Result<Build> {
    Ok(Build {
        sid: r.get(0)?,
        service_sid: r.get(1)?,
        status: Status::parse(&r.get::<_, String>(2)?),
        dependencies: r.get(3)?,
        runtime: r.get(4)?,
        failure_reason: r.get(5)?,
        date_created: r.get(6)?,
        date_updated: r.get(7)?,
        versions: Vec::new(),
    })
}

fn load_versions(conn: &Connection, build: &mut Build) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT version_sid, resource_sid, kind, path, visibility, blob_hash, content_type, date_created
         FROM build_versions WHERE build_sid = ?1 ORDER BY position",
    )?;
    build.versions = stmt
        .query_map([&build.sid], |r| {
            Ok(BuildVersion {
                sid: r.get(0)?,
                resource_sid: r.get(1)?,
                kind: kind_column(r, 2)?,
                path: r.get(3)?,
                visibility: r.get(4)?,
                blob_hash: r.get(5)?,
                content_type: r.get(6)?,
                date_created: r.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(())
}

/// Checks the per-build limits and that no two versions of one kind claim the same path.
fn check_versions(versions: &[Version]) -> Result<(), StoreError> {
    if versions.is_empty() {
        return Err(StoreError::Invalid(
            "At least one Function Version or Asset Version is required for Build.".into(),
        ));
    }
    let count = |pred: &dyn Fn(&Version) -> bool| versions.iter().filter(|v| pred(v)).count();
    let limits = [
        (
            count(&|v| v.kind == Kind::Function),
            MAX_FUNCTION_VERSIONS,
            "Function Versions",
        ),
        (
            count(&|v| v.kind == Kind::Asset && v.visibility != "private"),
            MAX_PUBLIC_ASSET_VERSIONS,
            "public and protected Asset Versions",
        ),
        (
            count(&|v| v.kind == Kind::Asset && v.visibility == "private"),
            MAX_PRIVATE_ASSET_VERSIONS,
            "private Asset Versions",
        ),
    ];
    for (n, max, what) in limits {
        if n > max {
            return Err(StoreError::Invalid(format!(
                "A Build is limited to less than or equal to {max} {what}"
            )));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for v in versions {
        if !seen.insert((v.kind, v.path.as_str())) {
            return Err(StoreError::Invalid(format!(
                "Two {} Versions in the Build have the same Path {}",
                match v.kind {
                    Kind::Function => "Function",
                    Kind::Asset => "Asset",
                },
                v.path
            )));
        }
    }
    Ok(())
}

/// Records a new build in `building` state.
pub fn create(conn: &Connection, new: &NewBuild, now: i64) -> Result<Build, StoreError> {
    check_versions(&new.versions)?;
    let recent: i64 = conn.query_row_cached(
        "SELECT count(*) FROM builds WHERE date_created > ?1 AND origin = 'api'",
        [now - 3600],
        |r| r.get(0),
    )?;
    if new.origin == Origin::Api && recent >= MAX_BUILDS_PER_HOUR {
        return Err(StoreError::Invalid(format!(
            "Builds are limited to less than or equal to {MAX_BUILDS_PER_HOUR} per hour"
        )));
    }
    let sid = new.sid.clone().unwrap_or_else(|| sid::generate(sid::prefix::BUILD));
    conn.execute_cached(
        &format!("INSERT INTO builds ({COLUMNS}, origin) VALUES (?1, ?2, 'building', ?3, ?4, NULL, ?5, ?5, ?6)"),
        (
            &sid,
            &new.service_sid,
            &new.dependencies,
            &new.runtime,
            now,
            new.origin.as_str(),
        ),
    )?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO build_versions
           (build_sid, position, version_sid, resource_sid, kind, path, visibility, blob_hash, content_type, date_created)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for (position, v) in new.versions.iter().enumerate() {
        insert.execute((
            &sid,
            position as i64,
            &v.sid,
            &v.resource_sid,
            v.kind.as_str(),
            &v.path,
            &v.visibility,
            &v.blob_hash,
            &v.content_type,
            v.date_created,
        ))?;
    }
    get(conn, &new.service_sid, &sid)
}

pub fn get(conn: &Connection, service_sid: &str, sid: &str) -> Result<Build, StoreError> {
    let mut build = found(
        conn.query_row_cached(
            &format!("SELECT {COLUMNS} FROM builds WHERE service_sid = ?1 AND sid = ?2"),
            (service_sid, sid),
            from_row,
        ),
        || format!("/Services/{service_sid}/Builds/{sid}"),
    )?;
    load_versions(conn, &mut build)?;
    Ok(build)
}

/// The runtime of the service's newest completed build, which an omitted `Runtime` inherits.
pub fn last_completed_runtime(conn: &Connection, service_sid: &str) -> Result<Option<String>, StoreError> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .query_row_cached(
            "SELECT runtime FROM builds WHERE service_sid = ?1 AND status = 'completed'
             ORDER BY seq DESC LIMIT 1",
            [service_sid],
            |r| r.get(0),
        )
        .optional()?)
}

pub fn list(conn: &Connection, service_sid: &str, window: Window) -> Result<Page<Build>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM builds WHERE service_sid = ?1 ORDER BY seq LIMIT ?2 OFFSET ?3"
    ))?;
    let mut rows = stmt
        .query_map((service_sid, window.limit + 1, window.offset), from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for build in &mut rows {
        load_versions(conn, build)?;
    }
    Ok(Page::from_overfetch(rows, window))
}

/// A build's end: `completed`, or `failed` with the reason.
fn ending(result: Result<(), String>) -> (&'static str, Option<String>) {
    match result {
        Ok(()) => (Status::Completed.as_str(), None),
        Err(reason) => (Status::Failed.as_str(), Some(reason)),
    }
}

/// Ends a build: `completed`, or `failed` with the reason.
pub fn finish(conn: &Connection, sid: &str, result: Result<(), String>, now: i64) -> Result<(), StoreError> {
    let (status, reason) = ending(result);
    conn.execute_cached(
        "UPDATE builds SET status = ?2, failure_reason = ?3, date_updated = ?4 WHERE sid = ?1",
        (sid, status, reason, now),
    )?;
    Ok(())
}

/// Ends every live-project build still `building` with `dependencies` (they waited for that
/// dependency set to be installed), or with any when `None`: `completed`, or `failed` with the
/// reason.
pub fn finish_live(
    conn: &Connection,
    dependencies: Option<&str>,
    result: Result<(), String>,
    now: i64,
) -> Result<(), StoreError> {
    let (status, reason) = ending(result);
    conn.execute_cached(
        "UPDATE builds SET status = ?2, failure_reason = ?3, date_updated = ?4
         WHERE origin = 'live' AND status = 'building' AND (?1 IS NULL OR dependencies = ?1)",
        (dependencies, status, reason, now),
    )?;
    Ok(())
}

/// Whether any environment serves the build.
pub fn is_active(conn: &Connection, sid: &str) -> Result<bool, StoreError> {
    Ok(conn.query_row_cached(
        "SELECT EXISTS (SELECT 1 FROM environments WHERE build_sid = ?1)",
        [sid],
        |r| r.get(0),
    )?)
}

/// Deletes a build unless an environment serves it.
pub fn delete(conn: &Connection, service_sid: &str, sid: &str) -> Result<(), StoreError> {
    get(conn, service_sid, sid)?;
    if is_active(conn, sid)? {
        return Err(StoreError::Conflict(
            "Cannot delete Build because it's part of an active Deployment.".into(),
        ));
    }
    conn.execute_cached("DELETE FROM builds WHERE sid = ?1", [sid])?;
    super::blobs::collect_garbage(conn)?;
    Ok(())
}

/// After a live save deployed `keep` (by deployment `keep_deployment`) to the live environment
/// `environment_sid`: removes the live builds it supersedes, unless an environment serves them
/// or another environment's history has them (its Roll back needs them), and the live
/// environment's history of those saves. The files on disk are the live project's history; a
/// build per save, each with its deployment, would bury the builds someone deployed elsewhere.
pub fn prune_live(
    conn: &Connection,
    service_sid: &str,
    environment_sid: &str,
    keep: &str,
    keep_deployment: &str,
) -> Result<usize, StoreError> {
    let builds = conn.execute_cached(
        "DELETE FROM builds WHERE service_sid = ?1 AND origin = 'live' AND sid != ?3
           AND sid NOT IN (SELECT build_sid FROM environments WHERE build_sid IS NOT NULL)
           AND sid NOT IN (SELECT build_sid FROM deployments
                           WHERE build_sid IS NOT NULL AND environment_sid != ?2)",
        (service_sid, environment_sid, keep),
    )?;
    conn.execute_cached(
        "DELETE FROM deployments WHERE environment_sid = ?1 AND sid != ?2",
        (environment_sid, keep_deployment),
    )?;
    Ok(builds)
}

/// Builds left `building` by a previous run that stopped mid-way; the caller restarts them. The
/// live project's are not among them: the live project ends its own.
pub fn unfinished(conn: &Connection) -> Result<Vec<(String, String)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT service_sid, sid FROM builds WHERE status = 'building' AND origin != 'live' ORDER BY seq",
    )?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Every build's SID.
pub fn all_sids(conn: &Connection) -> Result<std::collections::HashSet<String>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT sid FROM builds")?;
    let sids = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    Ok(sids)
}

/// What each environment serves: (environment SID, build SID) for every environment with a build.
pub fn served(conn: &Connection) -> Result<std::collections::HashSet<(String, String)>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT sid, build_sid FROM environments WHERE build_sid IS NOT NULL")?;
    let pairs = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(pairs)
}
