//! Start-up and wiring: open the store, prepare the runtime, bind the listener, print the
//! banner, serve until stopped, then stop every worker.

use crate::build::deps::DepsCache;
use crate::build::materialize;
use crate::config::{Config, CredentialSource, Watch};
use crate::error::StartupError;
use crate::events::Events;
use crate::live::Live;
use crate::runtime::{LogSink, Runtime, RuntimeConfig, HARNESS};
use crate::state::{AppState, Paths};
use crate::store::lock::DataLock;
use crate::store::{meta, retention, Store};
use crate::{api, build, clock::Clock, control, fixtures, gateway, project, watch};
use actix_web::{web, App, HttpServer};
use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The data directory's own package.json (see `prepare`).
const DATA_PACKAGE_JSON: &str = r#"{
  "name": "twirl-data",
  "private": true,
  "description": "twirl's state. This file keeps Node.js from reading the project's package.json for twirl's own files."
}
"#;

/// How often idle workers and pools of builds no longer served are stopped.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(10);
/// Retention runs every this many housekeeping rounds (the clock control also runs it at once).
const RETENTION_ROUNDS: u32 = 6;

/// A started twirl: listening, its live project and fixtures loaded.
pub struct Running {
    pub url: String,
    pub state: AppState,
    handle: actix_web::dev::ServerHandle,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Keeps other twirls off the data directory until this one has stopped.
    _lock: DataLock,
}

impl Running {
    /// Serves until the process is told to stop (Ctrl-C, SIGTERM), then stops every worker.
    pub async fn wait(self) -> Result<(), StartupError> {
        let result = self.server.await;
        self.state.runtime.shutdown().await;
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(source)) => Err(StartupError::Bind { addr: self.url, source }),
            Err(e) => Err(StartupError::Config(format!("the server stopped unexpectedly: {e}"))),
        }
    }

    /// Stops serving now, and every worker.
    pub async fn stop(self) -> Result<(), StartupError> {
        self.handle.stop(true).await;
        self.wait().await
    }
}

/// Runs `twirl serve` until the process is told to stop.
pub async fn serve(config: Config) -> Result<(), StartupError> {
    start(&config).await?.wait().await
}

/// Opens the store, loads the fixtures, binds, prints the banner, starts the live project, and
/// serves in the background.
pub async fn start(config: &Config) -> Result<Running, StartupError> {
    let data = config.data_dir.path();
    std::fs::create_dir_all(data).map_err(|source| StartupError::DataDir {
        path: data.display().to_string(),
        source,
    })?;
    let lock = DataLock::acquire(data)?;
    // Bound first, so workers (which fixtures may start) know where twirl is; connections wait in
    // the listener's backlog until the server runs.
    let (listener, twin) = bind(config)?;
    let addr = listener.local_addr().map_err(|source| StartupError::Bind {
        addr: config.host.clone(),
        source,
    })?;
    let url = format!("http://{addr}");
    let shown_url = people_url(addr);
    let state = AppState {
        control_open: addr.ip().is_loopback(),
        ..prepare(config, &url).await?
    };
    lock.announce(&url);
    for source in state.fixtures.iter() {
        fixtures::load(&state, source)
            .await
            .map_err(|e| StartupError::Config(source.explain(e)))?;
    }
    // The listening line means ready: the live project is loaded and watched before it is printed
    // (connections wait in the listener's backlog meanwhile).
    let (state, shown) = start_live_project(state, config).await?;
    if let Some(live) = &state.live {
        for route in live
            .routes()
            .iter()
            .filter(|r| api::products::shadows_a_product(&r.path))
        {
            log::warn!(
                "{} is served by the project, so the Twilio API under that prefix is not reachable there (use the API's Host, e.g. api.twilio.com, instead)",
                route.path
            );
        }
        crate::phone::project::wire_live_number(&state, live).await?;
    }
    print_banner(&url, &shown_url, config);
    if let Some(shown) = shown {
        print_project(&shown_url, config, &shown);
    }
    print_numbers(&state.store.call(|c| crate::store::numbers::all(c)).await?);
    build::resume_unfinished(&state).await?;
    crate::phone::messaging::resume(&state).await?;
    crate::phone::voice::end_unfinished(&state).await?;
    tokio::spawn(housekeeping(state.clone()));
    if config.open {
        // Never fatal: a machine without a browser still serves.
        if let Err(e) = open::that_detached(format!("{shown_url}/_twirl/")) {
            log::warn!("cannot open the console in a browser: {e}");
        }
    }
    let data = web::Data::new(state.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap(actix_web::middleware::from_fn(api::products::route))
            .configure(api::configure)
            .configure(control::configure)
            .default_service(web::to(gateway::handle))
    })
    // Responses written in pieces (headers, then a file) must not wait on Nagle's algorithm
    // for the client's delayed acknowledgement.
    .on_connect(|connection, _| {
        if let Some(tcp) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
            let _ = tcp.set_nodelay(true);
        }
    })
    // Idle keep-alive connections must not hold an exit for long.
    .shutdown_timeout(2);
    let bind_error = |source| StartupError::Bind {
        addr: addr.to_string(),
        source,
    };
    let server = server.listen(listener).map_err(bind_error)?;
    let server = match twin {
        Some(twin) => server.listen(twin).map_err(bind_error)?,
        None => server,
    }
    .run();
    let handle = server.handle();
    Ok(Running {
        url,
        state,
        handle,
        server: tokio::spawn(server),
        _lock: lock,
    })
}

/// Opens the store and sets up the runtime for a twirl reachable at `url`; nothing is served yet.
async fn prepare(config: &Config, url: &str) -> Result<AppState, StartupError> {
    let data = config.data_dir.path().to_path_buf();
    let data_error = |source| StartupError::DataDir {
        path: data.display().to_string(),
        source,
    };
    let store = Store::open(&data.join("twirl.db"))?;
    let clock = Clock::with_offset(store.call(|c| meta::clock_offset(c)).await?);
    // Node.js reads the nearest package.json of every module it loads (for its module type, and to
    // resolve a package's own name). The data directory is inside the project by default: this
    // one stops that search for twirl's own files and the builds, so a broken project
    // package.json never stops a worker from starting.
    std::fs::write(data.join("package.json"), DATA_PACKAGE_JSON).map_err(data_error)?;
    let harness = data.join("harness.js");
    std::fs::write(&harness, HARNESS).map_err(data_error)?;
    let redirect = crate::redirect::write(&data).map_err(data_error)?;
    let node_version = node_version(&config.node).await;
    let events = Events::default();
    let logs = LogSink::start(store.clone(), clock.clone(), events.clone());
    let runtime = Runtime::new(
        RuntimeConfig {
            node: config.node.clone(),
            harness,
            twirl_url: url.to_string(),
            max_concurrency: config.max_concurrency,
        },
        logs,
    );
    let paths = Paths {
        builds: data.join("builds"),
        live: data.join("live"),
        redirect,
        deps: DepsCache::new(config.cache_dir.join("deps"), config.npm.clone(), node_version),
    };
    let known = store.call(|c| crate::store::builds::all_sids(c)).await?;
    materialize::remove_unknown(&paths.builds, &known, true);
    Ok(AppState {
        store,
        clock,
        credentials: Arc::new(config.credentials.clone()),
        control_open: false,
        runtime,
        gateway: Arc::default(),
        paths: Arc::new(paths),
        live: None,
        allow_unsigned: config.allow_unsigned,
        events,
        fixtures: Arc::new(config.fixtures.clone()),
        phone: Arc::new(crate::phone::Phone::new(url, &config.credentials.auth_token)),
    })
}

/// The embedded demo project, served when `twirl serve` runs outside any project.
static DEMO: include_dir::Dir<'_> = include_dir::include_dir!("$CARGO_MANIFEST_DIR/fixtures/demo");

/// Starts the live project (the directory's own, or the demo when there is neither a project nor
/// a fixture), its watcher, and prints its routes.
/// How the live project is served, for the terminal.
struct Shown {
    live: Arc<Live>,
    is_project: bool,
    watching: bool,
}

async fn start_live_project(state: AppState, config: &Config) -> Result<(AppState, Option<Shown>), StartupError> {
    let data = config.data_dir.path();
    let is_project = project::detect(&config.project_dir);
    // Under `exec`, the state is exactly what the fixtures declare; with fixtures and no
    // project, the demo would only add an unexpected service.
    if !config.live_project || (!is_project && (config.no_demo || !config.fixtures.is_empty())) {
        return Ok((state, None));
    }
    let dir = if is_project {
        config.project_dir.clone()
    } else {
        let demo = data.join("demo");
        let _ = std::fs::remove_dir_all(&demo);
        std::fs::create_dir_all(&demo)
            .and_then(|_| DEMO.extract(&demo))
            .map_err(|source| StartupError::DataDir {
                path: demo.display().to_string(),
                source,
            })?;
        demo
    };
    // The demo's worker starts at its first request: most runs never call it.
    let live = Live::start(&state, &dir, config.inspect.clone(), is_project)
        .await
        .map_err(StartupError::Config)?;
    let state = AppState {
        live: Some(live.clone()),
        ..state
    };
    let watching = is_project && config.watch != Watch::Off;
    if watching {
        if let Err(e) = watch::spawn(
            state.clone(),
            live.clone(),
            data.to_path_buf(),
            config.watch == Watch::Poll,
        ) {
            log::warn!("cannot watch {}: {e}; changes need a restart", dir.display());
        }
    }
    Ok((
        state,
        Some(Shown {
            live,
            is_project,
            watching,
        }),
    ))
}

/// `node --version`, which keys the dependency cache; functions cannot run without Node.js.
async fn node_version(node: &Path) -> String {
    let output = tokio::process::Command::new(node).arg("--version").output().await;
    match output {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_string(),
        _ => {
            log::warn!(
                "cannot run {}: functions will fail until Node.js is installed (or --node is given)",
                node.display()
            );
            "unknown".into()
        }
    }
}

/// The listener on `--host`, and with a loopback address (or IPv4's every-interface address), the
/// other loopback address on the same port when it is free: `localhost`, which the banner
/// prints, may resolve to either (and Node.js 18 tries only the first).
fn bind(config: &Config) -> Result<(TcpListener, Option<TcpListener>), StartupError> {
    let addr = format!("{}:{}", config.host, config.port);
    let listener = TcpListener::bind(&addr).map_err(|source| StartupError::Bind { addr, source })?;
    let twin = listener.local_addr().ok().and_then(|bound| {
        let other: std::net::IpAddr = match bound.ip() {
            std::net::IpAddr::V4(ip) if ip.is_loopback() || ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
            std::net::IpAddr::V6(ip) if ip.is_loopback() => std::net::Ipv4Addr::LOCALHOST.into(),
            _ => return None,
        };
        TcpListener::bind((other, bound.port()))
            .inspect_err(|e| log::debug!("not listening on {other} too: {e}"))
            .ok()
    });
    Ok((listener, twin))
}

/// The address people follow: `localhost` for a loopback or every-interface address, as
/// `twilio-run start` prints it; the first stdout line keeps the exact address bound, for tools.
fn people_url(addr: std::net::SocketAddr) -> String {
    if addr.ip().is_loopback() || addr.ip().is_unspecified() {
        format!("http://localhost:{}", addr.port())
    } else {
        format!("http://{addr}")
    }
}

/// The first stdout line is the contract tools wait for (the exact address bound); the rest,
/// for people, uses `shown_url`.
fn print_banner(url: &str, shown_url: &str, config: &Config) {
    let c = &config.credentials;
    let source = match c.source {
        CredentialSource::Flags => "from the command line",
        CredentialSource::Environment => "from TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN",
        CredentialSource::DotEnv => "from the project's .env",
        CredentialSource::Fixture => "from the fixture",
        CredentialSource::LocalDefault => "the local default pair",
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "twirl listening on {url}");
    let _ = writeln!(out, "  Account SID  {} ({source})", c.account_sid);
    // The well-known local token is printed so it can be copied; a real one is only hinted at.
    let token = if c.source == CredentialSource::LocalDefault {
        c.auth_token.clone()
    } else {
        mask(&c.auth_token)
    };
    let _ = writeln!(out, "  Auth Token   {token}");
    for (key, _) in &c.api_keys {
        let _ = writeln!(out, "  API Key      {key}");
    }
    let _ = writeln!(out, "  API          {shown_url}/v1");
    let _ = writeln!(out, "  Domains      {shown_url}/{{domain_name}}/…");
    let _ = writeln!(out, "  Console      {shown_url}/_twirl/");
    let _ = writeln!(out, "  Data         {}", config.data_dir.path().display());
    let _ = out.flush();
}

/// The first four characters of a secret, then an ellipsis.
fn mask(secret: &str) -> String {
    let shown: String = secret.chars().take(4).collect();
    format!("{shown}… (hidden)")
}

/// The route table, like `twilio-run start` prints it, and how the project is served.
fn print_project(url: &str, config: &Config, shown: &Shown) {
    let Shown {
        live,
        is_project,
        watching,
    } = shown;
    let snapshot = live.snapshot();
    let mut out = std::io::stdout().lock();
    if *is_project {
        let how = if *watching { "reloads on change" } else { "not watched" };
        let _ = writeln!(out, "  Project      {} ({how})", live.dir.display());
    } else {
        let _ = writeln!(out, "  Project      none here: serving the embedded demo project");
    }
    let _ = writeln!(out, "  Environment  {url}/{}/", snapshot.recorded.domain_name);
    for (title, routes) in [
        ("Functions", &snapshot.manifest.functions),
        ("Assets", &snapshot.manifest.assets),
    ] {
        let _ = writeln!(out, "\n  {title}");
        if routes.is_empty() {
            let _ = writeln!(out, "    (none)");
        }
        for route in routes {
            let place = if route.visibility == "private" {
                route.path.clone()
            } else {
                format!("{url}{}", route.path)
            };
            let _ = writeln!(out, "    {:<10} {place}", route.visibility);
        }
    }
    let _ = writeln!(out);
    if let Some(address) = &config.inspect {
        let _ = writeln!(
            out,
            "  Inspector    {address}: attach a debugger (chrome://inspect); the 10 s execution limit is suspended"
        );
    }
    if config.allow_unsigned {
        let _ = writeln!(
            out,
            "  WARNING      --allow-unsigned: protected functions and assets are served WITHOUT a signature check"
        );
    }
    let _ = out.flush();
}

/// The account's numbers and what they answer with, so a newcomer knows what to text.
fn print_numbers(numbers: &[crate::store::numbers::Number]) {
    const SHOWN: usize = 5;
    if numbers.is_empty() {
        return;
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "  Phone numbers (text one from the console's phone, or `twirl sms --to NUMBER \"hi\"`)"
    );
    for n in numbers.iter().take(SHOWN) {
        let or_none = |url: &str| {
            if url.is_empty() {
                "-".to_string()
            } else {
                url.to_string()
            }
        };
        let _ = writeln!(
            out,
            "    {:<14} texts → {}   calls → {}",
            n.phone_number,
            or_none(&n.config.sms_url),
            or_none(&n.config.voice_url)
        );
    }
    if numbers.len() > SHOWN {
        let _ = writeln!(out, "    … and {} more", numbers.len() - SHOWN);
    }
    let _ = writeln!(out);
    let _ = out.flush();
}

/// Stops workers nobody needs; now and then, applies retention and removes deleted builds' files.
async fn housekeeping(state: AppState) {
    let mut tick = tokio::time::interval(HOUSEKEEPING_EVERY);
    let mut round = 0u32;
    loop {
        tick.tick().await;
        round += 1;
        state.stop_unused_workers().await;
        if round.is_multiple_of(RETENTION_ROUNDS) {
            match build::apply_retention(&state).await {
                Ok(swept) if swept != retention::Swept::default() => log::info!("retention removed {swept:?}"),
                Ok(_) => {}
                Err(e) => log::error!("retention failed: {e}"),
            }
        }
    }
}
