//! Recording the live project in the store: every sync becomes an ordinary build of the live
//! service, deployed to its live environment, with the `.env` variables as that environment's
//! variables — so the API and console show it like any deployment, and it can be promoted.
//!
//! The service and environment get SIDs and digits derived from the project's name, so its URLs
//! stay the same across `twirl reset`, restarts and throwaway state. A variable edited through
//! the API keeps its value until `.env` changes that key.

use crate::build::DEFAULT_RUNTIME;
use crate::deploy::{self, Bundle, Contents, Deployed};
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
/// deploys it to the live environment, and applies `.env` to its variables. The build and its
/// deployment get the SIDs `planned` for them, if any.
pub fn record(
    conn: &Connection,
    project: &Project,
    contents: &[Contents],
    outcome: Option<Result<(), String>>,
    planned: Option<Deployed>,
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
        planned,
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

    fn project(dotenv: &[(&str, &str)]) -> Project {
        Project {
            name: "demo-app".into(),
            variables: dotenv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Project::default()
        }
    }

    async fn recorded(store: &crate::store::Store, dotenv: &[(&str, &str)]) -> Recorded {
        let project = project(dotenv);
        store
            .call(move |c| record(c, &project, &[], Some(Ok(())), None, 0))
            .await
            .expect("record")
    }

    async fn variables_of(store: &crate::store::Store, environment_sid: &str) -> Vec<(String, String)> {
        let sid = environment_sid.to_string();
        store.call(move |c| variables::all(c, &sid)).await.expect("variables")
    }

    #[tokio::test]
    async fn an_api_edit_sticks_until_dotenv_changes_that_key() {
        let store = crate::store::Store::open_in_memory().expect("store");
        let first = recorded(&store, &[("GREETING", "hi"), ("OTHER", "x")]).await;
        let (service, environment) = (first.service_sid.clone(), first.environment_sid.clone());
        store
            .call(move |c| {
                let sid: String = c.query_row("SELECT sid FROM variables WHERE key = 'GREETING'", [], |r| r.get(0))?;
                variables::update(c, &service, &environment, &sid, None, Some("edited"), 1)?;
                variables::create(c, &service, &environment, "API_ONLY", "kept", 1)
            })
            .await
            .expect("edit");

        let again = recorded(&store, &[("GREETING", "hi"), ("OTHER", "changed")]).await;
        let expected = |greeting: &str, other: &str| {
            [("GREETING", greeting), ("OTHER", other), ("API_ONLY", "kept")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
        };
        assert_eq!(
            variables_of(&store, &again.environment_sid).await,
            expected("edited", "changed")
        );
        assert_eq!(
            again.edited,
            [EditedOverDotenv {
                key: "GREETING".into(),
                value: Some("edited".into()),
                dotenv: "hi".into()
            }]
        );

        let changed = recorded(&store, &[("GREETING", "hello"), ("OTHER", "changed")]).await;
        assert_eq!(
            variables_of(&store, &changed.environment_sid).await,
            expected("hello", "changed")
        );
        assert!(changed.edited.is_empty());
    }

    /// The versions of the build `recorded` deployed, with the bytes of each.
    fn deployed(conn: &Connection, recorded: &Recorded) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let build_sid = recorded.build_sid.as_deref().expect("a build");
        let build = crate::store::builds::get(conn, &recorded.service_sid, build_sid)?;
        build
            .versions
            .iter()
            .map(|v| Ok((v.sid.clone(), crate::store::blobs::get(conn, &v.blob_hash)?)))
            .collect()
    }

    #[tokio::test]
    async fn a_file_left_alone_is_read_again_only_for_a_version_the_store_lacks() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::create_dir(dir.path().join("functions")).expect("mkdir");
        let file = dir.path().join("functions/hi.js");
        std::fs::write(&file, "exports.handler = () => {};").expect("write");
        let project = Project {
            name: "demo-app".into(),
            root: dir.path().to_path_buf(),
            files: vec![crate::project::ProjectFile {
                kind: crate::store::resources::Kind::Function,
                path: "/hi".into(),
                visibility: "public",
                rel: "functions/hi.js".into(),
            }],
            ..Project::default()
        };
        let store = crate::store::Store::open_in_memory().expect("store");
        let hashes = super::super::hashes::Hashes::default();
        let deploy = |contents: Contents, now: i64| {
            let project = project.clone();
            store.call(move |c| {
                let recorded = record(c, &project, &[contents], Some(Ok(())), None, now)?;
                deployed(c, &recorded)
            })
        };

        let first = hashes.contents(&file).expect("contents");
        assert!(matches!(first, Contents::Hashed(..)), "a new file is read");
        let before = deploy(first, 0).await.expect("record");

        let again = hashes.contents(&file).expect("contents");
        assert!(matches!(again, Contents::OnDisk(..)), "an unchanged file is not read");
        assert_eq!(deploy(again, 1).await.expect("record"), before, "its version is reused");

        // The store no longer has it (deleted through the API): the file is read for a new version.
        store
            .call(|c| Ok(c.execute("DELETE FROM services", [])?))
            .await
            .expect("delete");
        let after = deploy(hashes.contents(&file).expect("contents"), 2)
            .await
            .expect("record");
        assert_ne!(after[0].0, before[0].0);
        assert_eq!(after[0].1, b"exports.handler = () => {};");
    }

    #[tokio::test]
    async fn the_live_service_is_the_same_after_everything_is_deleted() {
        let store = crate::store::Store::open_in_memory().expect("store");
        let first = recorded(&store, &[("GREETING", "hi")]).await;
        store
            .call(|c| Ok(c.execute("DELETE FROM services", [])?))
            .await
            .expect("reset");
        let again = recorded(&store, &[("GREETING", "hi")]).await;
        assert_eq!(
            (&again.service_sid, &again.environment_sid, &again.domain_name),
            (&first.service_sid, &first.environment_sid, &first.domain_name)
        );
        assert!(again.domain_name.starts_with("demo-app-") && again.domain_name.ends_with("-live.twil.io"));
        assert_eq!(
            variables_of(&store, &again.environment_sid).await,
            [("GREETING".to_string(), "hi".to_string())]
        );
    }

    #[test]
    fn package_names_become_unique_names() {
        assert_eq!(unique_name("my-app"), "my-app");
        assert_eq!(unique_name("@acme/Voice_Bot"), "voice-bot");
        assert_eq!(unique_name("___"), "project");
    }
}
