//! `twirl serve`: the banner, credential resolution, persistent and ephemeral state.

use crate::harness::{TestServer, ACCOUNT_SID, AUTH_TOKEN};
use std::process::Command;

#[test]
fn prints_listening_line_then_credentials() {
    let server = TestServer::start();
    assert!(server.url.starts_with("http://127.0.0.1:"), "{}", server.url);
    let banner = server.banner().join("\n");
    assert!(banner.contains(ACCOUNT_SID), "{banner}");
    // A real auth token is only hinted at, never printed whole.
    assert!(!banner.contains(AUTH_TOKEN), "{banner}");
    assert!(
        banner.contains(&format!("Auth Token   {}…", &AUTH_TOKEN[..4])),
        "{banner}"
    );
    let health = server
        .client
        .get(format!("{}/_twirl/health", server.url))
        .send()
        .expect("health");
    assert_eq!(health.status(), 200);
}

#[test]
fn credentials_come_from_the_project_dotenv() {
    let dir = tempfile::tempdir().expect("dir");
    let sid = "AC22222222222222222222222222222222";
    std::fs::write(
        dir.path().join(".env"),
        format!("ACCOUNT_SID={sid}\nAUTH_TOKEN=from-dotenv\n"),
    )
    .expect("write");
    let mut cmd = Command::new(crate::harness::twirl_bin());
    cmd.arg("serve").arg(dir.path()).args(["--port", "0", "--ephemeral"]);
    let server = TestServer::spawn(cmd);
    let ok = server
        .client
        .get(format!("{}/v1/Services", server.url))
        .basic_auth(sid, Some("from-dotenv"))
        .send();
    assert_eq!(ok.expect("GET").status(), 200);
    let wrong = server
        .client
        .get(format!("{}/v1/Services", server.url))
        .basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN))
        .send();
    assert_eq!(wrong.expect("GET").status(), 401);
}

#[test]
fn environment_credentials_and_api_keys_authenticate() {
    let dir = tempfile::tempdir().expect("dir");
    let sid = "AC33333333333333333333333333333333";
    let key = "SK44444444444444444444444444444444";
    let mut cmd = Command::new(crate::harness::twirl_bin());
    cmd.arg("serve")
        .arg(dir.path())
        .args(["--port", "0", "--ephemeral", "--api-key", &format!("{key}:key-secret")]);
    let server = TestServer::spawn_with_env(cmd, &[("TWILIO_ACCOUNT_SID", sid), ("TWILIO_AUTH_TOKEN", "from-env")]);
    let get = |user: &str, pass: &str| {
        server
            .client
            .get(format!("{}/v1/Services", server.url))
            .basic_auth(user, Some(pass))
            .send()
            .expect("GET")
            .status()
    };
    assert_eq!(get(sid, "from-env"), 200);
    assert_eq!(get(key, "key-secret"), 200);
    assert_eq!(get(key, "from-env"), 401);
}

#[test]
fn state_persists_in_the_data_directory_across_restarts() {
    let dir = tempfile::tempdir().expect("dir");
    let server = TestServer::start_in(dir.path(), &[]);
    let created = server.create("/v1/Services", &[("UniqueName", "persisted"), ("FriendlyName", "P")]);
    server.crash();
    assert!(dir.path().join(".twirl/twirl.db").exists());
    let server = TestServer::start_in(dir.path(), &[]);
    let fetched = server.fetch("/v1/Services/persisted");
    assert_eq!(fetched["sid"], created["sid"]);
    assert_eq!(fetched["domain_base"], created["domain_base"]);
}

#[test]
fn data_flag_chooses_the_directory() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("elsewhere");
    let server = TestServer::start_in(dir.path(), &["--data", data.to_str().expect("utf-8")]);
    server.create("/v1/Services", &[("UniqueName", "where"), ("FriendlyName", "W")]);
    assert!(data.join("twirl.db").exists());
    assert!(!dir.path().join(".twirl").exists());
}

#[test]
fn ephemeral_state_is_removed_at_exit() {
    let dir = tempfile::tempdir().expect("dir");
    let server = TestServer::start_in(dir.path(), &["--ephemeral"]);
    let data_line = server
        .banner()
        .into_iter()
        .find(|l| l.trim_start().starts_with("Data"))
        .expect("Data line");
    let data = std::path::PathBuf::from(data_line.trim_start().trim_start_matches("Data").trim());
    assert!(data.join("twirl.db").exists(), "{}", data.display());
    let status = server.stop_gracefully();
    assert!(status.success(), "{status:?}");
    assert!(!data.exists(), "{} still exists", data.display());
    assert!(!dir.path().join(".twirl").exists());
}

#[test]
fn a_taken_port_is_a_clear_startup_error() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = holder.local_addr().expect("addr").port().to_string();
    let out = Command::new(crate::harness::twirl_bin())
        .args(["serve", "--ephemeral", "--port", &port])
        .current_dir(tempfile::tempdir().expect("dir").path())
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot listen on"), "{stderr}");
}
