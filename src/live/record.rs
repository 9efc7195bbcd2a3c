//! Recording the live project in the store: every sync becomes an ordinary build of the live
//! service, deployed to its live environment, with the `.env` variables as that environment's
//! variables — so the API and console show it like any deployment, and it can be promoted.
//!
//! The service and environment get SIDs and digits derived from the project's name, so its URLs
//! stay the same across `twirl reset`, restarts and throwaway state. A variable edited through
//! the API keeps its value until `.env` changes that key.

use crate::build::DEFAULT_RUNTIME;
use crate::deploy::{self, Bundle};
use crate::error::StoreError;
use crate::project::Project;
use crate::store::builds::Origin;
use crate::store::variables::EditedOverDotenv;
use crate::store::{deployments, environments, services, variables};
use rusqlite::Connection;

/// The unique name, environment and suffix the live project uses.
pub const ENVIRONMENT: &str = "live-environment";
pub const SUFFIX: &str = "live";

/// Where a project's live build went.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub service_sid: String,
    pub environment_sid: String,
    pub domain_name: String,
    /// `None` while the project has no function and no asset (nothing is deployed then).
    pub build_sid: Option<String>,
    pub deployment_sid: Option<String>,
    /// Variables that keep an API edit over `.env`'s value.
    pub edited: Vec<EditedOverDotenv>,
}

/// A unique name a service can have (letters, digits, dashes; at most 50) from a package name.
pub fn unique_name(package_name: &str) -> String {
    let base = package_name.rsplit('/').next().unwrap_or(package_name);
    let mut name: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    name.truncate(50);
    let name = name.trim_matches('-').to_string();
    if name.is_empty() {
        "project".into()
    } else {
        name
    }
}

/// The live service and environment, created on first use.
fn service_and_environment(
    conn: &Connection,
    project: &Project,
    now: i64,
) -> Result<(services::Service, environments::Environment), StoreError> {
    let name = unique_name(&project.name);
    let seed = |what: &str| format!("the live project {name}: {what}");
    let service = match services::get(conn, &name) {
        Ok(service) => service,
        Err(StoreError::NotFound(_)) => crate::sid::deterministic(seed("service").as_bytes(), || {
            services::create(
                conn,
                &services::NewService {
                    unique_name: name.clone(),
                    friendly_name: project.name.clone(),
                    include_credentials: true,
                    ui_editable: false,
                },
                now,
            )
        })?,
        Err(e) => return Err(e),
    };
    let existing = environments::list(conn, &service.sid, crate::store::Window { offset: 0, limit: 1000 })?
        .items
        .into_iter()
        .find(|e| e.unique_name == ENVIRONMENT);
    let environment = match existing {
        Some(env) => env,
        None => crate::sid::deterministic(seed("environment").as_bytes(), || {
            environments::create(conn, &service.sid, &service.domain_base, ENVIRONMENT, Some(SUFFIX), now)
        })?,
    };
    Ok((service, environment))
}

/// Records `project` (whose file contents are `contents`, in the order of `project.files`) as a
/// new build, ended with `outcome` (`None`: still `building`, its dependencies being installed),
/// deploys it to the live environment, and applies `.env` to its variables.
pub fn record(
    conn: &Connection,
    project: &Project,
    contents: &[Vec<u8>],
    outcome: Option<Result<(), String>>,
    now: i64,
) -> Result<Recorded, StoreError> {
    let (service, environment) = service_and_environment(conn, project, now)?;
    let bundle = Bundle {
        files: &project.files,
        contents,
        dependencies: project.dependencies.clone(),
        runtime: DEFAULT_RUNTIME.to_string(),
        origin: Origin::Live,
        outcome,
    };
    let deployed = if project.files.is_empty() {
        // A build needs at least one version: an empty project is served as nothing deployed.
        if environment.build_sid.is_some() {
            deployments::create(conn, &service.sid, &environment.sid, None, now)?;
        }
        None
    } else {
        Some(deploy::deploy(conn, &service.sid, &environment.sid, bundle, now)?)
    };
    let edited = variables::apply_dotenv(conn, &service.sid, &environment.sid, &project.variables, now)?;
    Ok(Recorded {
        service_sid: service.sid,
        environment_sid: environment.sid,
        domain_name: environment.domain_name,
        build_sid: deployed.as_ref().map(|d| d.build_sid.clone()),
        deployment_sid: deployed.map(|d| d.deployment_sid),
        edited,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_become_unique_names() {
        assert_eq!(unique_name("my-app"), "my-app");
        assert_eq!(unique_name("@acme/Voice_Bot"), "voice-bot");
        assert_eq!(unique_name("___"), "project");
    }
}
