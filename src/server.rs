//! Start-up and wiring: open the store, bind the listener, print the banner, serve until stopped.

use crate::config::{Config, CredentialSource};
use crate::error::{ApiError, StartupError};
use crate::state::AppState;
use crate::store::{meta, retention, Store};
use crate::{api, build, clock::Clock, control};
use actix_web::{web, App, HttpRequest, HttpServer};
use std::io::Write;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

/// How often retention runs on its own (the clock control also runs it at once).
const RETENTION_EVERY: Duration = Duration::from_secs(60);

/// Runs `twirl serve` until the process is told to stop.
pub async fn serve(config: Config) -> Result<(), StartupError> {
    let data = config.data_dir.path().to_path_buf();
    std::fs::create_dir_all(&data).map_err(|source| StartupError::DataDir {
        path: data.display().to_string(),
        source,
    })?;
    let store = Store::open(&data.join("twirl.db"))?;
    let clock = Clock::with_offset(store.call(|c| meta::clock_offset(c)).await?);
    let listener = bind(&config)?;
    let addr = listener.local_addr().map_err(|source| StartupError::Bind {
        addr: config.host.clone(),
        source,
    })?;
    let state = AppState {
        store,
        clock,
        credentials: Arc::new(config.credentials.clone()),
        control_open: addr.ip().is_loopback(),
    };
    print_banner(&format!("http://{addr}"), &config);
    build::resume_unfinished(&state).await?;
    tokio::spawn(run_retention(state.clone()));

    let data = web::Data::new(state);
    HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .configure(api::configure)
            .configure(control::configure)
            .default_service(web::to(not_found))
    })
    // Idle keep-alive connections must not hold an exit for long.
    .shutdown_timeout(2)
    .listen(listener)
    .map_err(|source| StartupError::Bind {
        addr: addr.to_string(),
        source,
    })?
    .run()
    .await
    .map_err(|source| StartupError::Bind {
        addr: addr.to_string(),
        source,
    })?;
    Ok(())
}

fn bind(config: &Config) -> Result<TcpListener, StartupError> {
    let addr = format!("{}:{}", config.host, config.port);
    TcpListener::bind(&addr).map_err(|source| StartupError::Bind { addr, source })
}

/// The first stdout line is the contract tools wait for; the rest is for people.
fn print_banner(url: &str, config: &Config) {
    let c = &config.credentials;
    let source = match c.source {
        CredentialSource::Flags => "from the command line",
        CredentialSource::Environment => "from TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN",
        CredentialSource::DotEnv => "from the project's .env",
        CredentialSource::LocalDefault => "the local default pair",
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "twirl listening on {url}");
    let _ = writeln!(out, "  Account SID  {} ({source})", c.account_sid);
    let _ = writeln!(out, "  Auth Token   {}", c.auth_token);
    for (key, _) in &c.api_keys {
        let _ = writeln!(out, "  API Key      {key}");
    }
    let _ = writeln!(out, "  API          {url}/v1");
    let _ = writeln!(out, "  Data         {}", config.data_dir.path().display());
    let _ = out.flush();
}

async fn run_retention(state: AppState) {
    let mut tick = tokio::time::interval(RETENTION_EVERY);
    loop {
        tick.tick().await;
        let now = state.clock.now();
        match state
            .store
            .transaction(move |tx| retention::sweep(tx, now))
            .await
        {
            Ok(swept) if swept != retention::Swept::default() => {
                log::info!("retention removed {swept:?}")
            }
            Ok(_) => {}
            Err(e) => log::error!("retention failed: {e}"),
        }
    }
}

async fn not_found(req: HttpRequest) -> ApiError {
    ApiError::not_found(req.path())
}
