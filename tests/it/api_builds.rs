//! Builds, deployments and retention through the real binary.

use crate::harness::{deployable, wait_for_build, TestServer};
use serde_json::Value;

fn build(server: &TestServer, service: &str, form: &[(&str, &str)]) -> Value {
    server.create(&format!("/v1/Services/{service}/Builds"), form)
}

#[test]
fn a_build_completes_asynchronously_and_deploys() {
    let server = TestServer::start();
    let d = deployable(&server, "lifecycle");
    let deps = r#""[{"name":"lodash","version":"*"}]""#;
    let created = build(
        &server,
        &d.service,
        &[
            ("Dependencies", deps),
            ("FunctionVersions", &d.version),
            ("Runtime", "node22"),
        ],
    );
    assert_eq!(created["status"], "building");
    assert_eq!(created["function_versions"][0]["sid"], d.version.as_str());
    assert_eq!(created["function_versions"][0]["path"], "/hello");
    assert_eq!(created["function_versions"][0]["function_sid"], d.function.as_str());
    let names: Vec<&str> = created["dependencies"]
        .as_array()
        .expect("array")
        .iter()
        .map(|x| x["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["lodash", "twilio", "@twilio/runtime-handler"]);
    let sid = created["sid"].as_str().expect("sid");
    assert_eq!(wait_for_build(&server, &d.service, sid), "completed");

    let env_path = format!("/v1/Services/{}/Environments/{}", d.service, d.environment);
    let deployment = server.create(&format!("{env_path}/Deployments"), &[("BuildSid", sid)]);
    assert_eq!(deployment["build_sid"], sid);
    assert_eq!(server.fetch(&env_path)["build_sid"], sid);
    let again = server.post(&format!("{env_path}/Deployments"), &[("BuildSid", sid)]);
    assert_eq!(again.status(), 409);

    let refused = server.delete(&format!("/v1/Services/{}/Builds/{sid}", d.service));
    assert_eq!(refused.status(), 409);
    let undeploy = server.create(&format!("{env_path}/Deployments"), &[]);
    assert!(undeploy["build_sid"].is_null());
    assert_eq!(
        server
            .delete(&format!("/v1/Services/{}/Builds/{sid}", d.service))
            .status(),
        204
    );
}

#[test]
fn an_unsupported_runtime_fails_the_build_with_its_reason() {
    let server = TestServer::start();
    let d = deployable(&server, "oldnode");
    let created = build(
        &server,
        &d.service,
        &[("FunctionVersions", &d.version), ("Runtime", "node14")],
    );
    let sid = created["sid"].as_str().expect("sid");
    assert_eq!(wait_for_build(&server, &d.service, sid), "failed");
    let detail: Value = server
        .client
        .get(format!("{}/_twirl/builds/{sid}", server.url))
        .send()
        .expect("GET")
        .json()
        .expect("json");
    assert!(
        detail["failure_reason"].as_str().expect("reason").contains("node14"),
        "{detail}"
    );
    let env_path = format!("/v1/Services/{}/Environments/{}", d.service, d.environment);
    assert_eq!(
        server
            .post(&format!("{env_path}/Deployments"), &[("BuildSid", sid)])
            .status(),
        400
    );
}

#[test]
fn an_omitted_runtime_inherits_the_last_completed_one() {
    let server = TestServer::start();
    let d = deployable(&server, "inherit");
    let first = build(&server, &d.service, &[("FunctionVersions", &d.version)]);
    assert_eq!(first["runtime"], "node22");
    wait_for_build(&server, &d.service, first["sid"].as_str().expect("sid"));
    let second = build(
        &server,
        &d.service,
        &[("FunctionVersions", &d.version), ("Runtime", "node24")],
    );
    wait_for_build(&server, &d.service, second["sid"].as_str().expect("sid"));
    let third = build(&server, &d.service, &[("FunctionVersions", &d.version)]);
    assert_eq!(third["runtime"], "node24");
}

#[test]
fn reuploading_the_same_bytes_stores_one_blob() {
    let dir = tempfile::tempdir().expect("dir");
    let server = TestServer::start_in(dir.path(), &["--no-demo"]);
    let d = deployable(&server, "dedup");
    let function_path = format!("/v1/Services/{}/Functions/{}", d.service, d.function);
    let again = server.upload(
        &function_path,
        "/hello",
        "public",
        b"exports.handler = (c, e, cb) => cb(null, 'hi');".to_vec(),
    );
    assert_eq!(again.status(), 201);
    let other = server.upload(&function_path, "/hello", "public", b"different".to_vec());
    assert_eq!(other.status(), 201);
    let db = rusqlite::Connection::open(dir.path().join(".twirl/twirl.db")).expect("open db");
    let (blobs, versions): (i64, i64) = db
        .query_row(
            "SELECT (SELECT count(*) FROM blobs), (SELECT count(*) FROM versions)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("count");
    assert_eq!((blobs, versions), (2, 3));
}

#[test]
fn retention_follows_the_clock_and_spares_the_active_deployment() {
    let server = TestServer::start();
    let d = deployable(&server, "retention");
    let svc = format!("/v1/Services/{}", d.service);
    let deployed = build(&server, &d.service, &[("FunctionVersions", &d.version)]);
    let deployed_sid = deployed["sid"].as_str().expect("sid");
    wait_for_build(&server, &d.service, deployed_sid);
    server.create(
        &format!("{svc}/Environments/{}/Deployments", d.environment),
        &[("BuildSid", deployed_sid)],
    );
    let idle = build(&server, &d.service, &[("FunctionVersions", &d.version)]);
    let idle_sid = idle["sid"].as_str().expect("sid");
    wait_for_build(&server, &d.service, idle_sid);
    let orphan_fn = server.create(&format!("{svc}/Functions"), &[("FriendlyName", "/orphan")]);
    let orphan_path = format!("{svc}/Functions/{}", orphan_fn["sid"].as_str().expect("sid"));
    let orphan_version = server
        .upload(&orphan_path, "/orphan", "public", b"x".to_vec())
        .json::<Value>()
        .expect("json");
    let empty_fn = server.create(&format!("{svc}/Functions"), &[("FriendlyName", "/empty")]);

    let advance = |secs: i64| {
        let resp = server
            .client
            .post(format!("{}/_twirl/clock", server.url))
            .json(&serde_json::json!({"advance_seconds": secs}))
            .send()
            .expect("clock");
        assert_eq!(resp.status(), 200);
    };
    advance(6 * 86_400);
    assert_eq!(
        server
            .get(&format!("{svc}/Builds/{idle_sid}"))
            .send()
            .expect("GET")
            .status(),
        200
    );
    advance(2 * 86_400);
    let status = |path: String| server.get(&path).send().expect("GET").status().as_u16();
    assert_eq!(status(format!("{svc}/Builds/{idle_sid}")), 404);
    assert_eq!(status(format!("{svc}/Builds/{deployed_sid}")), 200);
    assert_eq!(
        status(format!("{svc}/Functions/{}/Versions/{}", d.function, d.version)),
        200
    );
    assert_eq!(
        status(format!(
            "{orphan_path}/Versions/{}",
            orphan_version["sid"].as_str().expect("sid")
        )),
        404
    );
    assert_eq!(
        status(format!("{svc}/Functions/{}", empty_fn["sid"].as_str().expect("sid"))),
        404
    );
    // The orphan function lost its only version in this pass, so it went too.
    assert_eq!(status(orphan_path), 404);
    assert_eq!(status(format!("{svc}/Functions/{}", d.function)), 200);
}

#[test]
fn deleting_a_service_removes_everything_under_it() {
    let server = TestServer::start();
    let d = deployable(&server, "cascade");
    let svc = format!("/v1/Services/{}", d.service);
    server.create(
        &format!("{svc}/Environments/{}/Variables", d.environment),
        &[("Key", "A"), ("Value", "1")],
    );
    assert_eq!(server.delete(&svc).status(), 204);
    assert_eq!(server.get(&svc).send().expect("GET").status(), 404);
    assert_eq!(
        server
            .get(&format!("{svc}/Environments/{}", d.environment))
            .send()
            .expect("GET")
            .status(),
        404
    );
    let list = server.fetch("/v1/Services");
    assert_eq!(list["services"].as_array().expect("array").len(), 0);
}
