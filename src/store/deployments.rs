//! Deployments: the history of which build each environment served.

use super::builds::Status;
use super::CachedSql;
use super::{found, Page, Window};
use crate::error::StoreError;
use crate::sid;
use rusqlite::{Connection, Row};

#[derive(Debug, Clone)]
pub struct Deployment {
    pub sid: String,
    pub service_sid: String,
    pub environment_sid: String,
    pub build_sid: Option<String>,
    pub date_created: i64,
    pub date_updated: i64,
}

const COLUMNS: &str = "sid, service_sid, environment_sid, build_sid, date_created, date_updated";

fn from_row(r: &Row) -> rusqlite::Result<Deployment> {
    Ok(Deployment {
        sid: r.get(0)?,
        service_sid: r.get(1)?,
        environment_sid: r.get(2)?,
        build_sid: r.get(3)?,
        date_created: r.get(4)?,
        date_updated: r.get(5)?,
    })
}

/// Deploys `build_sid` (or nothing, which un-deploys) to the environment and records it.
/// Deploying what the environment already serves is a conflict, as on Twilio.
pub fn create(
    conn: &Connection,
    service_sid: &str,
    environment_sid: &str,
    build_sid: Option<&str>,
    now: i64,
) -> Result<Deployment, StoreError> {
    if let Some(build_sid) = build_sid {
        let build = super::builds::get(conn, service_sid, build_sid)
            .map_err(|_| StoreError::Invalid(format!("Build {build_sid} was not found in this Service")))?;
        if build.status != Status::Completed {
            return Err(StoreError::Invalid(format!(
                "Build {build_sid} is {} and cannot be deployed",
                build.status.as_str()
            )));
        }
    }
    record(conn, service_sid, environment_sid, build_sid, None, now)
}

/// Deploys without looking at the build's state. The live project's build is deployed so: the
/// live environment serves the project's files in place from the first moment, with the
/// dependencies it has (its functions wait for a first set being installed), so its build is
/// deployed while `building`, and even `failed` when a dependency set cannot be installed.
/// `sid`: the deployment's SID when it was chosen beforehand.
pub fn record(
    conn: &Connection,
    service_sid: &str,
    environment_sid: &str,
    build_sid: Option<&str>,
    sid: Option<String>,
    now: i64,
) -> Result<Deployment, StoreError> {
    let environment = super::environments::get(conn, service_sid, environment_sid)?;
    if environment.build_sid.as_deref() == build_sid {
        return Err(StoreError::Conflict(
            "Environment already has requested deployment.".into(),
        ));
    }
    let sid = sid.unwrap_or_else(|| sid::generate(sid::prefix::DEPLOYMENT));
    conn.execute_cached(
        &format!("INSERT INTO deployments ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?5)"),
        (&sid, service_sid, environment_sid, build_sid, now),
    )?;
    super::environments::set_build(conn, environment_sid, build_sid, now)?;
    get(conn, service_sid, environment_sid, &sid)
}

pub fn get(conn: &Connection, service_sid: &str, environment_sid: &str, sid: &str) -> Result<Deployment, StoreError> {
    found(
        conn.query_row_cached(
            &format!("SELECT {COLUMNS} FROM deployments WHERE service_sid = ?1 AND environment_sid = ?2 AND sid = ?3"),
            (service_sid, environment_sid, sid),
            from_row,
        ),
        || format!("/Services/{service_sid}/Environments/{environment_sid}/Deployments/{sid}"),
    )
}

/// The environment's newest deployment, if any.
pub fn latest(conn: &Connection, environment_sid: &str) -> Result<Option<Deployment>, StoreError> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .query_row_cached(
            &format!("SELECT {COLUMNS} FROM deployments WHERE environment_sid = ?1 ORDER BY seq DESC LIMIT 1"),
            [environment_sid],
            from_row,
        )
        .optional()?)
}

pub fn list(
    conn: &Connection,
    service_sid: &str,
    environment_sid: &str,
    window: Window,
) -> Result<Page<Deployment>, StoreError> {
    super::environments::get(conn, service_sid, environment_sid)?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM deployments WHERE environment_sid = ?1 ORDER BY seq LIMIT ?2 OFFSET ?3"
    ))?;
    let rows = stmt
        .query_map((environment_sid, window.limit + 1, window.offset), from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page::from_overfetch(rows, window))
}
