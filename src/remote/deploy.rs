//! `twirl deploy [DIR]`: deploys a Serverless Toolkit project into a running twirl through its
//! API, step for step as `twilio-run deploy` does: find or create the service (by
//! `--service-name`, else the project's name), find or create the environment (domain suffix
//! `dev` unless told otherwise; `--production` has none), create the functions and assets and
//! upload a version of each, build with `package.json`'s dependencies, wait for the build, set
//! `.env`'s variables, deploy. Progress goes to stdout, then the deployed URLs.
//!
//! Like twilio-run, it refuses a service of that name that already exists unless this project
//! deployed it before (remembered in `DIR/.twirl/deploys.json`, by account) or
//! `--override-existing-project` is given. Unlike twilio-run it never writes
//! `.twiliodeployinfo`, which twilio-run would later read against real Twilio.

use super::{Body, Client};
use crate::cli::DeployArgs;
use crate::error::StartupError;
use crate::project::{self, Project, ProjectFile};
use crate::store::resources::Kind;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use ureq::unversioned::multipart::{Form, Part};

/// How often the build's status is asked for, and for how long (twilio-run waits 5 minutes).
const BUILD_POLL: Duration = Duration::from_millis(250);
const BUILD_TIMEOUT: Duration = Duration::from_secs(300);

fn failed(message: impl Into<String>) -> StartupError {
    StartupError::Remote(message.into())
}

/// Runs `twirl deploy`.
pub fn run(args: &DeployArgs) -> Result<(), StartupError> {
    let dir = args
        .dir
        .canonicalize()
        .map_err(|e| failed(format!("{}: {e}", args.dir.display())))?;
    if !project::detect(&dir) {
        return Err(failed(format!(
            "{} is not a Serverless Toolkit project (no functions/, assets/, package.json or .env)",
            dir.display()
        )));
    }
    let project = project::scan(&dir);
    if !project.problems.is_empty() {
        return Err(failed(format!(
            "{} cannot be deployed:\n  {}",
            dir.display(),
            project.problems.join("\n  ")
        )));
    }
    let (client, account) = Client::reach(&args.control)?;
    let account = account.sid;
    let name = args.service_name.clone().unwrap_or_else(|| project.name.clone());
    println!("Deploying {} to {} as {account}", dir.display(), client.url());

    let memory = Memory::at(&dir);
    let service = find_or_create_service(&client, args, &name, memory.service_of(&account))?;
    let service_sid = text(&service, "sid");
    let suffix = if args.production { "" } else { args.environment.as_str() };
    let environment = find_or_create_environment(&client, &service_sid, suffix)?;
    let environment_sid = text(&environment, "sid");
    let domain = text(&environment, "domain_name");

    let files: Vec<&ProjectFile> = project
        .files
        .iter()
        .filter(|f| match f.kind {
            Kind::Function => !args.no_functions,
            Kind::Asset => !args.no_assets,
        })
        .collect();
    let of_kind = |kind| -> Vec<&ProjectFile> { files.iter().copied().filter(|f| f.kind == kind).collect() };
    let versions = [
        upload(
            &client,
            &service_sid,
            &project,
            Kind::Function,
            &of_kind(Kind::Function),
        )?,
        upload(&client, &service_sid, &project, Kind::Asset, &of_kind(Kind::Asset))?,
    ];
    let build_sid = build(&client, &service_sid, &project, &versions, args.runtime.as_deref())?;
    // Empty values are kept by `twilio-run start` but not sent by `twilio-run deploy`.
    let variables: Vec<(String, String)> = project
        .variables
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .cloned()
        .collect();
    set_variables(&client, &service_sid, &environment_sid, &variables)?;
    let deployment = client.expect(
        "POST",
        &format!("/v1/Services/{service_sid}/Environments/{environment_sid}/Deployments"),
        Body::Form(vec![("BuildSid", build_sid.clone())]),
    )?;
    println!("  deployment   {}", text(&deployment, "sid"));
    if let Err(e) = memory.remember(&account, &service_sid, &build_sid) {
        log::warn!("cannot remember the deployment in {}: {e}", memory.path.display());
    }
    print_urls(client.url(), &name, &environment, &domain, &files);
    Ok(())
}

fn text(resource: &Value, field: &str) -> String {
    resource[field].as_str().unwrap_or_default().to_string()
}

/// The service to deploy into, as twilio-run finds it: the one this project deployed before,
/// else a new one, else (with `--override-existing-project`) the existing one of that name.
/// Never the live project's own service, whose live environment follows its files on disk.
fn find_or_create_service(
    client: &Client,
    args: &DeployArgs,
    name: &str,
    remembered: Option<String>,
) -> Result<Value, StartupError> {
    let existing = client
        .list("/v1/Services")?
        .into_iter()
        .find(|s| s["unique_name"].as_str().is_some_and(|u| u.eq_ignore_ascii_case(name)));
    let Some(service) = existing else {
        let created = client.expect(
            "POST",
            "/v1/Services",
            Body::Form(vec![
                ("UniqueName", name.to_string()),
                ("FriendlyName", name.to_string()),
                ("IncludeCredentials", "true".into()),
                ("UiEditable", "false".into()),
            ]),
        )?;
        println!("  service      {name} {} (created)", text(&created, "sid"));
        return Ok(created);
    };
    let sid = text(&service, "sid");
    let live = client.expect("GET", "/_twirl/live", Body::Empty)?;
    if live["service_sid"].as_str() == Some(sid.as_str()) {
        return Err(failed(format!(
            "\"{name}\" ({sid}) is the live project's own service: twirl serves {} there and \
             records every change to it. Deploy under another name (--service-name NAME), or \
             promote its live build to another environment.",
            live["dir"].as_str().unwrap_or("its directory")
        )));
    }
    if remembered.as_deref() != Some(sid.as_str()) && !args.override_existing_project && !args.force {
        return Err(failed(format!(
            "Service with name \"{name}\" already exists with SID \"{sid}\". Deploy into it with \
             --override-existing-project, or choose another name with --service-name NAME."
        )));
    }
    println!("  service      {name} {sid}");
    Ok(service)
}

/// The environment with domain suffix `suffix` (or the ZE SID), created when missing with the
/// unique name twilio-run gives it (`{suffix}-environment`, or `production` with no suffix).
fn find_or_create_environment(client: &Client, service_sid: &str, suffix: &str) -> Result<Value, StartupError> {
    let base = format!("/v1/Services/{service_sid}/Environments");
    if crate::sid::is_sid(suffix, crate::sid::prefix::ENVIRONMENT) {
        let environment = client.expect("GET", &format!("{base}/{suffix}"), Body::Empty)?;
        println!(
            "  environment  {} {}",
            text(&environment, "unique_name"),
            text(&environment, "domain_name")
        );
        return Ok(environment);
    }
    let unique_name = if suffix.is_empty() {
        "production".to_string()
    } else {
        format!("{suffix}-environment")
    };
    let matching: Vec<Value> = client
        .list(&base)?
        .into_iter()
        .filter(|e| e["domain_suffix"].as_str().unwrap_or_default() == suffix)
        .collect();
    // Several environments may share a suffix; twilio-run picks the one named its way.
    let found = matching
        .iter()
        .find(|e| e["unique_name"].as_str() == Some(unique_name.as_str()))
        .or(matching.first())
        .cloned();
    if let Some(environment) = found {
        println!(
            "  environment  {} {}",
            text(&environment, "unique_name"),
            text(&environment, "domain_name")
        );
        return Ok(environment);
    }
    let mut form = vec![("UniqueName", unique_name.clone())];
    if !suffix.is_empty() {
        form.push(("DomainSuffix", suffix.to_string()));
    }
    let created = client.expect("POST", &base, Body::Form(form))?;
    println!(
        "  environment  {unique_name} {} (created)",
        text(&created, "domain_name")
    );
    Ok(created)
}

/// Finds or creates each function (or asset) by its path, as twilio-run names them, and uploads
/// a version of each; returns the version SIDs.
fn upload(
    client: &Client,
    service_sid: &str,
    project: &Project,
    kind: Kind,
    files: &[&ProjectFile],
) -> Result<Vec<String>, StartupError> {
    let (collection, word) = match kind {
        Kind::Function => ("Functions", "functions"),
        Kind::Asset => ("Assets", "assets"),
    };
    let base = format!("/v1/Services/{service_sid}/{collection}");
    let mut by_name: HashMap<String, String> = HashMap::new();
    if !files.is_empty() {
        for resource in client.list(&base)? {
            by_name.insert(text(&resource, "friendly_name"), text(&resource, "sid"));
        }
    }
    let mut versions = Vec::with_capacity(files.len());
    for file in files {
        let sid = match by_name.get(&file.path) {
            Some(sid) => sid.clone(),
            None => text(
                &client.expect("POST", &base, Body::Form(vec![("FriendlyName", file.path.clone())]))?,
                "sid",
            ),
        };
        let content = std::fs::read(project.root.join(&file.rel)).map_err(|e| failed(format!("{}: {e}", file.rel)))?;
        let content_type = match kind {
            Kind::Function => "application/javascript".to_string(),
            Kind::Asset => mime_guess::from_path(&file.path).first_or_octet_stream().to_string(),
        };
        let part = Part::bytes(&content)
            .file_name(&file.path)
            .mime_str(&content_type)
            .map_err(|e| failed(format!("{}: {e}", file.rel)))?;
        let form = Form::new()
            .text("Path", &file.path)
            .text("Visibility", file.visibility)
            .part("Content", part);
        let version = client.expect("POST", &format!("{base}/{sid}/Versions"), Body::Multipart(form))?;
        versions.push(text(&version, "sid"));
    }
    println!("  {word:<12} {} uploaded", files.len());
    Ok(versions)
}

/// Creates the build of `[function versions, asset versions]` and waits until it has
/// completed; a failed build is reported with npm's reason, which twirl keeps with the build.
fn build(
    client: &Client,
    service_sid: &str,
    project: &Project,
    versions: &[Vec<String>; 2],
    runtime: Option<&str>,
) -> Result<String, StartupError> {
    let [functions, assets] = versions;
    let mut form: Vec<(&str, String)> = Vec::new();
    form.extend(functions.iter().map(|sid| ("FunctionVersions", sid.clone())));
    form.extend(assets.iter().map(|sid| ("AssetVersions", sid.clone())));
    if !project.dependencies.is_empty() {
        // Wrapped in one extra pair of quotes, as @twilio-labs/serverless-api sends it.
        let json = crate::build::Dependency::to_json(&project.dependencies);
        form.push(("Dependencies", format!("\"{json}\"")));
    }
    if let Some(runtime) = runtime {
        form.push(("Runtime", runtime.to_string()));
    }
    let builds = format!("/v1/Services/{service_sid}/Builds");
    let build = client.expect("POST", &builds, Body::Form(form))?;
    let sid = text(&build, "sid");
    let started = Instant::now();
    loop {
        let status = client.expect("GET", &format!("{builds}/{sid}/Status"), Body::Empty)?;
        match status["status"].as_str() {
            Some("completed") => break,
            Some("failed") => {
                let detail = client.expect("GET", &format!("/_twirl/builds/{sid}"), Body::Empty)?;
                let reason = detail["failure_reason"].as_str().unwrap_or("no reason was recorded");
                return Err(failed(format!("the build {sid} failed: {reason}")));
            }
            _ if started.elapsed() > BUILD_TIMEOUT => {
                return Err(failed(format!(
                    "the build {sid} did not finish in {} s",
                    BUILD_TIMEOUT.as_secs()
                )));
            }
            _ => std::thread::sleep(BUILD_POLL),
        }
    }
    println!(
        "  build        {sid} completed in {:.1} s ({})",
        started.elapsed().as_secs_f64(),
        build["runtime"].as_str().unwrap_or_default()
    );
    Ok(sid)
}

/// Sets `.env`'s variables on the environment: new keys are created, changed values updated;
/// variables `.env` does not name are left alone, as twilio-run leaves them.
fn set_variables(
    client: &Client,
    service_sid: &str,
    environment_sid: &str,
    variables: &[(String, String)],
) -> Result<(), StartupError> {
    let base = format!("/v1/Services/{service_sid}/Environments/{environment_sid}/Variables");
    let existing: HashMap<String, (String, String)> = client
        .list(&base)?
        .into_iter()
        .map(|v| (text(&v, "key"), (text(&v, "sid"), text(&v, "value"))))
        .collect();
    for (key, value) in variables {
        match existing.get(key) {
            Some((_, current)) if current == value => {}
            Some((sid, _)) => {
                client.expect(
                    "POST",
                    &format!("{base}/{sid}"),
                    Body::Form(vec![("Value", value.clone())]),
                )?;
            }
            None => {
                client.expect(
                    "POST",
                    &base,
                    Body::Form(vec![("Key", key.clone()), ("Value", value.clone())]),
                )?;
            }
        }
    }
    let keys: Vec<&str> = variables.iter().map(|(k, _)| k.as_str()).collect();
    println!(
        "  variables    {}",
        if keys.is_empty() {
            "none".to_string()
        } else {
            keys.join(", ")
        }
    );
    Ok(())
}

/// Where each deployed function and asset is reachable: at the environment's domain under
/// twirl's URL, or, for private ones, only from other functions.
fn print_urls(url: &str, name: &str, environment: &Value, domain: &str, files: &[&ProjectFile]) {
    println!(
        "\nDeployed {name} to {} at {url}/{domain}/",
        text(environment, "unique_name")
    );
    for (kind, title, private_hint) in [
        (Kind::Function, "Functions", "Runtime.getFunctions()"),
        (Kind::Asset, "Assets", "Runtime.getAssets()"),
    ] {
        let mut of_kind: Vec<&&ProjectFile> = files.iter().filter(|f| f.kind == kind).collect();
        if of_kind.is_empty() {
            continue;
        }
        of_kind.sort_by(|a, b| (a.visibility, &a.path).cmp(&(b.visibility, &b.path)));
        println!("  {title}");
        for file in of_kind {
            let place = if file.visibility == "private" {
                format!("{} (private: {private_hint} only)", file.path)
            } else {
                format!("{url}/{domain}{}", file.path)
            };
            println!("    {:<10} {place}", file.visibility);
        }
    }
}

/// What this project deployed before, by account: the service it created, so deploying again
/// goes there without `--override-existing-project`.
struct Memory {
    path: PathBuf,
}

impl Memory {
    fn at(dir: &Path) -> Memory {
        Memory {
            path: dir.join(".twirl").join("deploys.json"),
        }
    }

    fn read(&self) -> serde_json::Map<String, Value> {
        std::fs::read(&self.path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    fn service_of(&self, account: &str) -> Option<String> {
        self.read().get(account)?["service_sid"].as_str().map(str::to_string)
    }

    fn remember(&self, account: &str, service_sid: &str, build_sid: &str) -> std::io::Result<()> {
        let mut all = self.read();
        all.insert(
            account.to_string(),
            serde_json::json!({ "service_sid": service_sid, "build_sid": build_sid }),
        );
        if let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let staging = self.path.with_extension("json.tmp");
        std::fs::write(&staging, serde_json::to_vec_pretty(&all)?)?;
        std::fs::rename(&staging, &self.path)
    }
}
