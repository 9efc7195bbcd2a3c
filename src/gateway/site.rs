//! A site: what one environment's domain serves right now — its active build's routes, the
//! environment's variables, and the build's worker pool.

use crate::build::materialize::{Manifest, Route};
use crate::deploy::Deployed;
use crate::error::ApiError;
use crate::live::Live;
use crate::runtime::{Pool, Scope, ScopeSids};
use crate::state::AppState;
use crate::store::services::Service;
use crate::store::{builds, deployments, environments, services, variables};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

pub struct Site {
    /// What its invocations share: `process.env`, the site's part of `context`, its SIDs.
    pub scope: Arc<Scope>,
    pub dir: PathBuf,
    pub pool: Arc<Pool>,
    /// The live project's file generation (0 for builds).
    pub generation: u64,
    /// The live project, when this is its environment: its workers change as its dependencies do.
    pub live: Option<Arc<Live>>,
    functions: HashMap<String, Route>,
    assets: HashMap<String, Route>,
    /// A build's assets, kept in memory once read (a live project's files change: never kept).
    pub kept: Option<super::asset::Kept>,
}

/// What a request path resolves to.
pub enum Target<'a> {
    Function(&'a Route),
    Asset(&'a Route),
}

impl Target<'_> {
    pub fn route(&self) -> &Route {
        match self {
            Target::Function(r) | Target::Asset(r) => r,
        }
    }
}

/// Where `/` falls back to when nothing is deployed at `/` (as production does).
const ROOT_FALLBACK: &str = "/assets/index.html";

impl Site {
    /// The public or protected function or asset at `path`; private ones are not reachable.
    pub fn resolve(&self, path: &str) -> Option<Target<'_>> {
        let reachable = |r: &&Route| r.visibility != "private";
        let at = |p: &str| {
            self.functions
                .get(p)
                .filter(reachable)
                .map(Target::Function)
                .or_else(|| self.assets.get(p).filter(reachable).map(Target::Asset))
        };
        at(path).or_else(|| if path == "/" { at(ROOT_FALLBACK) } else { None })
    }

    /// The live project's site after an edit that changed file contents only: the same routes,
    /// variables and workers, the workers told of `generation`, and log lines tagged with the
    /// build and deployment `planned` to record the edit. `None` for a build's site.
    pub fn edited(&self, generation: u64, planned: &Deployed) -> Option<Site> {
        let live = self.live.clone()?;
        Some(Site {
            scope: self.scope.for_build(&planned.build_sid, &planned.deployment_sid),
            dir: self.dir.clone(),
            pool: self.pool.clone(),
            generation,
            live: Some(live),
            functions: self.functions.clone(),
            assets: self.assets.clone(),
            kept: None,
        })
    }
}

/// What `process.env` holds beside the worker's own environment: the variables, after the
/// credentials when the service includes them (variables win, as in the `context`).
fn process_env(state: &AppState, include_credentials: bool, variables: &[(String, String)]) -> Value {
    let mut env = Map::new();
    if include_credentials {
        env.insert("ACCOUNT_SID".into(), state.credentials.account_sid.clone().into());
        env.insert("AUTH_TOKEN".into(), state.credentials.auth_token.clone().into());
    }
    for (key, value) in variables {
        env.insert(key.clone(), value.clone().into());
    }
    Value::Object(env)
}

/// The site's part of the function's `context`, laid over the request's `PATH` and
/// `DOMAIN_NAME`: its SIDs, then what `process.env` gets (credentials when the service includes
/// them, then the environment's variables, which win, as in the Toolkit's runtime).
fn context(service_sid: &str, environment_sid: &str, process_env: &Value) -> Value {
    let mut ctx = Map::new();
    ctx.insert("SERVICE_SID".into(), service_sid.into());
    ctx.insert("ENVIRONMENT_SID".into(), environment_sid.into());
    if let Value::Object(env) = process_env {
        ctx.extend(env.clone());
    }
    Value::Object(ctx)
}

fn scope(
    state: &AppState,
    service: &Service,
    environment_sid: &str,
    build_sid: &str,
    deployment_sid: &str,
    variables: &[(String, String)],
) -> Arc<Scope> {
    let env = process_env(state, service.include_credentials, variables);
    let context = context(&service.sid, environment_sid, &env);
    Scope::new(
        env,
        context,
        ScopeSids {
            service_sid: service.sid.clone(),
            environment_sid: environment_sid.to_string(),
            build_sid: build_sid.to_string(),
            deployment_sid: deployment_sid.to_string(),
        },
    )
}

fn by_path(routes: Vec<Route>) -> HashMap<String, Route> {
    routes.into_iter().map(|r| (r.path.clone(), r)).collect()
}

/// Loads the site of `domain_name`: `None` when no environment has that domain or it has no
/// build deployed. The live project's environment serves the project's files in place.
pub async fn load(state: &AppState, domain_name: &str) -> Result<Option<Site>, ApiError> {
    let domain = domain_name.to_string();
    let found = state
        .store
        .call(move |c| {
            let Some(env) = environments::by_domain(c, &domain)? else {
                return Ok(None);
            };
            let Some(build_sid) = env.build_sid.clone() else {
                return Ok(None);
            };
            let service = services::get(c, &env.service_sid)?;
            let build = builds::get(c, &service.sid, &build_sid)?;
            let deployment = deployments::latest(c, &env.sid)?.map(|d| d.sid).unwrap_or_default();
            let vars = variables::all(c, &env.sid)?;
            Ok(Some((env, service, build, deployment, vars)))
        })
        .await?;
    let Some((env, service, build, deployment_sid, vars)) = found else {
        return Ok(None);
    };
    let live = state.live.as_ref().map(|l| (l, l.snapshot()));
    if let Some((live, snapshot)) = live.filter(|(_, s)| s.recorded.environment_sid == env.sid) {
        let build_sid = snapshot.recorded.build_sid.as_deref().unwrap_or_default();
        let deployment_sid = snapshot.recorded.deployment_sid.as_deref().unwrap_or_default();
        return Ok(Some(Site {
            scope: scope(state, &service, &env.sid, build_sid, deployment_sid, &vars),
            dir: live.dir.clone(),
            pool: live.pool(),
            generation: snapshot.generation,
            live: Some(live.clone()),
            functions: by_path(snapshot.manifest.functions.clone()),
            assets: by_path(snapshot.manifest.assets.clone()),
            kept: None,
        }));
    }
    let dir = crate::build::materialized(state, &build).await.map_err(|e| {
        log::error!("cannot prepare build {}: {e}", build.sid);
        ApiError::internal()
    })?;
    let manifest = Manifest::read(&dir).map_err(|e| {
        log::error!("cannot read the manifest of build {}: {e}", build.sid);
        ApiError::internal()
    })?;
    Ok(Some(Site {
        scope: scope(state, &service, &env.sid, &build.sid, &deployment_sid, &vars),
        pool: state.runtime.pool((env.sid, build.sid), &dir),
        generation: 0,
        live: None,
        dir,
        functions: by_path(manifest.functions),
        assets: by_path(manifest.assets),
        kept: Some(Default::default()),
    }))
}
