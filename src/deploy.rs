//! Deploying a set of files to an environment in one step — what `twilio-run deploy` does
//! through the API, done inside one store transaction: the live project records each change
//! this way (each save superseding the last), and fixtures deploy their projects and inline
//! files this way.

use crate::build::Dependency;
use crate::error::StoreError;
use crate::project::ProjectFile;
use crate::store::builds::{self, NewBuild, Origin};
use crate::store::resources::{self, Kind};
use crate::store::versions::{self, NewVersion};
use crate::store::{blobs, deployments};
use rusqlite::Connection;
use std::path::PathBuf;

/// What to deploy: files with their contents (in the same order), dependencies and runtime.
pub struct Bundle<'a> {
    pub files: &'a [ProjectFile],
    pub contents: &'a [Contents],
    pub dependencies: Vec<Dependency>,
    pub runtime: String,
    pub origin: Origin,
    /// How the build ends: `None` leaves it `building`, for whoever installs its dependencies.
    pub outcome: Option<Result<(), String>>,
    /// The SIDs the build and deployment get when they were chosen beforehand (the live project
    /// serves an edit while it is being recorded); else new ones.
    pub planned: Option<Deployed>,
}

/// A file's contents. The live project knows the hashes of the files a save left alone, and
/// reads such a file again only if no stored version has its hash (a megabyte asset read at
/// every save took longer than the rest of the sync's reading).
pub enum Contents {
    /// In memory, hashed here.
    Bytes(Vec<u8>),
    /// In memory, with their hash.
    Hashed(Vec<u8>, String),
    /// On disk, with their hash.
    OnDisk(PathBuf, String),
}

impl Contents {
    fn hash(&self) -> String {
        match self {
            Contents::Bytes(bytes) => blobs::hash(bytes),
            Contents::Hashed(_, hash) | Contents::OnDisk(_, hash) => hash.clone(),
        }
    }

    /// The bytes, for a new version. A file read now may have changed since it was hashed; the
    /// version is stored under the hash of what it holds, so it is consistent either way.
    fn bytes(&self) -> Result<Vec<u8>, StoreError> {
        match self {
            Contents::Bytes(bytes) | Contents::Hashed(bytes, _) => Ok(bytes.clone()),
            Contents::OnDisk(path, _) => {
                std::fs::read(path).map_err(|e| StoreError::Invalid(format!("cannot read {}: {e}", path.display())))
            }
        }
    }
}

/// The build and deployment a bundle became.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub build_sid: String,
    pub deployment_sid: String,
}

impl Deployed {
    /// SIDs for a build and its deployment, chosen before they are recorded.
    pub fn planned() -> Deployed {
        Deployed {
            build_sid: crate::sid::generate(crate::sid::prefix::BUILD),
            deployment_sid: crate::sid::generate(crate::sid::prefix::DEPLOYMENT),
        }
    }
}

/// Finds or creates each function and asset (named by path, as the Toolkit names them), stores
/// a version for each file unless its latest version is identical, then builds (ended as the
/// bundle says: fixtures' builds complete at once, their dependencies installed when first
/// served) and deploys.
pub fn deploy(
    conn: &Connection,
    service_sid: &str,
    environment_sid: &str,
    bundle: Bundle,
    now: i64,
) -> Result<Deployed, StoreError> {
    let mut versions_in_build = Vec::with_capacity(bundle.files.len());
    for (file, content) in bundle.files.iter().zip(bundle.contents) {
        let resource = match resources::find_by_name(conn, file.kind, service_sid, &file.path)? {
            Some(r) => r,
            None => resources::create(conn, file.kind, service_sid, &file.path, now)?,
        };
        let hash = content.hash();
        let version = match versions::latest_if_same(conn, &resource.sid, &file.path, file.visibility, &hash)? {
            Some(v) => v,
            None => versions::create(
                conn,
                &NewVersion {
                    kind: file.kind,
                    service_sid: service_sid.to_string(),
                    resource_sid: resource.sid.clone(),
                    path: file.path.clone(),
                    visibility: file.visibility.to_string(),
                    content_type: content_type(file.kind, &file.path),
                    content: content.bytes()?,
                },
                now,
            )?,
        };
        versions_in_build.push(version);
    }
    let build = builds::create(
        conn,
        &NewBuild {
            service_sid: service_sid.to_string(),
            versions: versions_in_build,
            dependencies: Dependency::to_json(&Dependency::with_defaults(bundle.dependencies)),
            runtime: bundle.runtime,
            origin: bundle.origin,
            sid: bundle.planned.as_ref().map(|p| p.build_sid.clone()),
        },
        now,
    )?;
    if let Some(outcome) = bundle.outcome {
        builds::finish(conn, &build.sid, outcome, now)?;
    }
    let deployment = match bundle.origin {
        Origin::Live => {
            let sid = bundle.planned.map(|p| p.deployment_sid);
            deployments::record(conn, service_sid, environment_sid, Some(&build.sid), sid, now)?
        }
        _ => deployments::create(conn, service_sid, environment_sid, Some(&build.sid), now)?,
    };
    if bundle.origin == Origin::Live {
        builds::prune_live(conn, service_sid, environment_sid, &build.sid, &deployment.sid)?;
    }
    Ok(Deployed {
        build_sid: build.sid,
        deployment_sid: deployment.sid,
    })
}

fn content_type(kind: Kind, path: &str) -> String {
    match kind {
        Kind::Function => "application/javascript".into(),
        Kind::Asset => mime_guess::from_path(path).first_or_octet_stream().to_string(),
    }
}
