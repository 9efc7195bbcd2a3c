//! Starts the real `twirl` binary on a free port and talks to it over HTTP.

use reqwest::blocking::{multipart, Client, RequestBuilder, Response};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const ACCOUNT_SID: &str = "AC11111111111111111111111111111111";
pub const AUTH_TOKEN: &str = "test-auth-token";

/// A running `twirl serve`, killed and reaped on drop.
pub struct TestServer {
    child: Child,
    pub url: String,
    /// Every stdout line after the first, as it arrives.
    pub stdout: mpsc::Receiver<String>,
    pub client: Client,
    _dir: Option<tempfile::TempDir>,
}

/// The binary under test.
pub fn twirl_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_twirl"))
}

impl TestServer {
    /// `twirl serve --port 0 --ephemeral --no-demo` (an empty store) in a fresh empty directory,
    /// with the test credentials.
    pub fn start() -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut server = Self::start_in(dir.path(), &["--ephemeral", "--no-demo"]);
        server._dir = Some(dir);
        server
    }

    /// `twirl serve --port 0` in `dir` with the test credentials and `extra` arguments.
    pub fn start_in(dir: &Path, extra: &[&str]) -> TestServer {
        let mut cmd = Command::new(twirl_bin());
        cmd.arg("serve")
            .arg(dir)
            .args(["--port", "0", "--account-sid", ACCOUNT_SID, "--auth-token", AUTH_TOKEN])
            .args(extra);
        Self::spawn(cmd)
    }

    /// Spawns `cmd` (a `twirl serve` invocation) without the caller's Twilio variables, and
    /// waits for its listening line.
    pub fn spawn(cmd: Command) -> TestServer {
        Self::spawn_with_env(cmd, &[])
    }

    /// Like `spawn`, with `env` set after the Twilio variables are cleared.
    pub fn spawn_with_env(mut cmd: Command, env: &[(&str, &str)]) -> TestServer {
        for name in [
            "TWILIO_ACCOUNT_SID",
            "TWILIO_AUTH_TOKEN",
            "TWILIO_API_KEY",
            "TWILIO_API_SECRET",
        ] {
            cmd.env_remove(name);
        }
        cmd.envs(env.iter().copied());
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn twirl");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[twirl stderr] {line}");
            }
        });
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                println!("[twirl stdout] {line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("twirl printed no listening line");
        let url = first
            .strip_prefix("twirl listening on ")
            .unwrap_or_else(|| panic!("first stdout line is not the listening line: {first:?}"))
            .to_string();
        TestServer {
            child,
            url,
            stdout: rx,
            client: Client::new(),
            _dir: None,
        }
    }

    /// Lines printed after the listening line, up to the first blank one or a short quiet spell.
    pub fn banner(&self) -> Vec<String> {
        let mut lines = Vec::new();
        while let Ok(line) = self.stdout.recv_timeout(Duration::from_millis(500)) {
            lines.push(line);
        }
        lines
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.client
            .get(format!("{}{path}", self.url))
            .basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN))
    }

    pub fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(format!("{}{path}", self.url))
            .basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN))
            .form(form)
            .send()
            .expect("POST")
    }

    pub fn delete(&self, path: &str) -> Response {
        self.client
            .delete(format!("{}{path}", self.url))
            .basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN))
            .send()
            .expect("DELETE")
    }

    /// GET that must answer 200; returns the JSON body.
    pub fn fetch(&self, path: &str) -> Value {
        let resp = self.get(path).send().expect("GET");
        assert_eq!(resp.status(), 200, "GET {path}");
        resp.json().expect("json")
    }

    /// POST that must answer 201; returns the JSON body.
    pub fn create(&self, path: &str, form: &[(&str, &str)]) -> Value {
        let resp = self.post(path, form);
        let status = resp.status();
        let body: Value = resp.json().expect("json");
        assert_eq!(status, 201, "POST {path}: {body}");
        body
    }

    /// Uploads a version the way `@twilio-labs/serverless-api` does: Path, Visibility, Content.
    pub fn upload(&self, collection_path: &str, path: &str, visibility: &str, content: Vec<u8>) -> Response {
        let filename = path.rsplit('/').next().unwrap_or("file").to_string();
        let form = multipart::Form::new()
            .text("Path", path.to_string())
            .text("Visibility", visibility.to_string())
            .part(
                "Content",
                multipart::Part::bytes(content)
                    .file_name(filename)
                    .mime_str("application/javascript")
                    .expect("mime"),
            );
        self.client
            .post(format!("{}{collection_path}/Versions", self.url))
            .basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN))
            .multipart(form)
            .send()
            .expect("upload")
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn stop_gracefully(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().expect("kill -TERM");
        self.child.wait().expect("wait")
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn crash(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A service, an environment, a function with one uploaded version: the common starting point.
pub struct Deployable {
    pub service: String,
    pub environment: String,
    pub function: String,
    pub version: String,
}

pub fn deployable(server: &TestServer, name: &str) -> Deployable {
    let service = server.create("/v1/Services", &[("UniqueName", name), ("FriendlyName", name)])["sid"]
        .as_str()
        .expect("sid")
        .to_string();
    let environment = server.create(
        &format!("/v1/Services/{service}/Environments"),
        &[("UniqueName", "dev-environment"), ("DomainSuffix", "dev")],
    )["sid"]
        .as_str()
        .expect("sid")
        .to_string();
    let function = server.create(
        &format!("/v1/Services/{service}/Functions"),
        &[("FriendlyName", "/hello")],
    )["sid"]
        .as_str()
        .expect("sid")
        .to_string();
    let resp = server.upload(
        &format!("/v1/Services/{service}/Functions/{function}"),
        "/hello",
        "public",
        b"exports.handler = (c, e, cb) => cb(null, 'hi');".to_vec(),
    );
    assert_eq!(resp.status(), 201);
    let version = resp.json::<Value>().expect("json")["sid"]
        .as_str()
        .expect("sid")
        .to_string();
    Deployable {
        service,
        environment,
        function,
        version,
    }
}

/// Polls the build's status until it leaves `building`; returns the final status.
pub fn wait_for_build(server: &TestServer, service: &str, build: &str) -> String {
    // The first build on a machine installs the default dependency set with npm.
    for _ in 0..3600 {
        let status = server.fetch(&format!("/v1/Services/{service}/Builds/{build}/Status"))["status"]
            .as_str()
            .expect("status")
            .to_string();
        if status != "building" {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("build {build} still building after 180 s");
}
