//! The per-build and per-hour limits of DESIGN §7 (the per-account ones and upload sizes are
//! covered through the Python client in `tests/py`).

use crate::harness::{deployable, TestServer};
use serde_json::Value;

fn assert_refused(resp: reqwest::blocking::Response, status: u16, message_part: &str) {
    assert_eq!(resp.status().as_u16(), status);
    let body: Value = resp.json().expect("json");
    assert!(
        body["message"].as_str().expect("message").contains(message_part),
        "{body}"
    );
}

#[test]
fn one_hundred_function_versions_per_build() {
    let server = TestServer::start();
    let d = deployable(&server, "many");
    let function_path = format!("/v1/Services/{}/Functions/{}", d.service, d.function);
    let mut form = vec![("FunctionVersions".to_string(), d.version.clone())];
    for i in 0..100 {
        let resp = server.upload(
            &function_path,
            &format!("/f{i}"),
            "public",
            format!("// {i}").into_bytes(),
        );
        form.push((
            "FunctionVersions".into(),
            resp.json::<Value>().expect("json")["sid"].as_str().expect("sid").into(),
        ));
    }
    let refs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let builds = format!("/v1/Services/{}/Builds", d.service);
    assert_refused(server.post(&builds, &refs), 400, "100 Function Versions");
    assert_eq!(server.fetch(&builds)["builds"].as_array().expect("array").len(), 0);
    server.create(&builds, &refs[..100]);
}

#[test]
fn fifty_private_asset_versions_per_build() {
    let server = TestServer::start();
    let d = deployable(&server, "private-assets");
    let asset = server.create(
        &format!("/v1/Services/{}/Assets", d.service),
        &[("FriendlyName", "/data")],
    );
    let asset_path = format!(
        "/v1/Services/{}/Assets/{}",
        d.service,
        asset["sid"].as_str().expect("sid")
    );
    let mut sids = Vec::new();
    for i in 0..51 {
        let resp = server.upload(
            &asset_path,
            &format!("/p{i}.json"),
            "private",
            format!("{i}").into_bytes(),
        );
        sids.push(
            resp.json::<Value>().expect("json")["sid"]
                .as_str()
                .expect("sid")
                .to_string(),
        );
    }
    let form: Vec<(&str, &str)> = sids.iter().map(|s| ("AssetVersions", s.as_str())).collect();
    let builds = format!("/v1/Services/{}/Builds", d.service);
    assert_refused(server.post(&builds, &form), 400, "50 private Asset Versions");
    server.create(&builds, &form[..50]);
}

#[test]
fn one_hundred_builds_per_hour() {
    let server = TestServer::start();
    let d = deployable(&server, "hourly");
    let builds = format!("/v1/Services/{}/Builds", d.service);
    for _ in 0..100 {
        server.create(&builds, &[("FunctionVersions", &d.version)]);
    }
    assert_refused(
        server.post(&builds, &[("FunctionVersions", &d.version)]),
        400,
        "100 per hour",
    );
    let resp = server
        .client
        .post(format!("{}/_twirl/clock", server.url))
        .json(&serde_json::json!({"advance_seconds": 3601}))
        .send()
        .expect("clock");
    assert_eq!(resp.status(), 200);
    server.create(&builds, &[("FunctionVersions", &d.version)]);
}
