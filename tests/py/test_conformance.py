"""Every operation of Twilio's Serverless OpenAPI document, driven with raw HTTP, and every successful
response checked against the schema the document gives for that path, method and status."""

import json
import time
import re

import pytest
import requests
from twilio.request_validator import RequestValidator

from conftest import SPEC_PATH
from spec_check import Run, Spec, items, sids
from support import (
    DEPENDENCIES,
    Project,
    assert_build_contents,
    assert_status,
    assert_twilio_error,
    new_sid,
    poll_build,
    unique_name,
)

# Version uploads are not in the spec; their bodies are checked against the version fetch schema.
VERSION_SCHEMAS = {"Functions": "FetchFunctionVersion", "Assets": "FetchAssetVersion"}
FUNCTION_SOURCE = "exports.handler = (context, event, callback) => { console.warn('conformance'); callback(null, 'hello'); };\n"


@pytest.fixture(scope="module")
def spec():
    if not SPEC_PATH.is_file():
        pytest.skip(f"the Serverless OpenAPI document is not at {SPEC_PATH}")
    return Spec(SPEC_PATH)


@pytest.fixture
def run(spec, twirl):
    return ServerlessRun(spec, twirl)


class ServerlessRun(Run):
    """`Run` with the Serverless API's version uploads, which are not spec operations."""

    def upload(self, kind, resource, path, visibility, content, filename, content_type):
        """Create a version and check it against the version's fetch schema."""
        response = self.api.upload_version(resource["service_sid"], kind, resource["sid"], path, visibility,
                                           content, filename, content_type)
        assert_status(response, 201)
        body = response.json()
        self.checker.check(self.spec.operations[VERSION_SCHEMAS[kind]].schema, body, f"upload {kind} {path}")
        return body


def test_every_spec_operation_conforms(run, spec):
    service = exercise_services(run)
    sid = service["sid"]
    environment, spare_environment = exercise_environments(run, service)
    function_version = exercise_functions(run, sid)
    asset_version = exercise_assets(run, sid)
    build = exercise_builds(run, sid, function_version, asset_version)
    exercise_deployments(run, sid, environment, build)
    exercise_variables(run, sid, environment["sid"])
    exercise_logs(run, sid, environment, function_version["function_sid"])
    exercise_deletes(run, service, spare_environment, function_version)

    run.assert_covered()


def exercise_services(run):
    name = unique_name("conformance")
    service = run.call("CreateService", data={"UniqueName": name, "FriendlyName": "Conformance",
                                              "IncludeCredentials": "false", "UiEditable": "true"})
    assert (service["unique_name"], service["friendly_name"]) == (name, "Conformance")
    assert (service["include_credentials"], service["ui_editable"]) == (False, True)
    assert re.fullmatch(re.escape(name) + r"-\d{4}", service["domain_base"]), service["domain_base"]
    assert run.call("FetchService", Sid=service["sid"]) == service
    assert run.call("FetchService", Sid=name) == service
    updated = run.call("UpdateService", Sid=service["sid"], data={
        "FriendlyName": "Renamed", "IncludeCredentials": "true", "UiEditable": "false"})
    assert (updated["friendly_name"], updated["include_credentials"]) == ("Renamed", True)
    assert updated["ui_editable"] is False
    assert {k: updated[k] for k in ("sid", "unique_name", "domain_base", "date_created")} == \
        {k: service[k] for k in ("sid", "unique_name", "domain_base", "date_created")}
    assert run.call("UpdateService", Sid=name, data={"FriendlyName": "By name"})["friendly_name"] == "By name"
    assert service["sid"] in sids(run.call("ListService"))
    return run.call("FetchService", Sid=service["sid"])


def exercise_environments(run, service):
    sid = service["sid"]
    staging = run.call("CreateEnvironment", ServiceSid=sid, data={"UniqueName": "staging", "DomainSuffix": "stage"})
    assert (staging["unique_name"], staging["domain_suffix"], staging["build_sid"]) == ("staging", "stage", None)
    assert staging["domain_name"] == f"{service['domain_base']}-stage.twil.io"
    production = run.call("CreateEnvironment", ServiceSid=sid, data={"UniqueName": "production"})
    assert production["domain_suffix"] is None
    assert production["domain_name"] == f"{service['domain_base']}.twil.io"
    assert run.call("FetchEnvironment", ServiceSid=sid, Sid=staging["sid"]) == staging
    listed = run.call("ListEnvironment", ServiceSid=sid)
    assert sorted(sids(listed)) == sorted([staging["sid"], production["sid"]])
    return staging, production


def exercise_functions(run, service_sid):
    function = run.call("CreateFunction", ServiceSid=service_sid, data={"FriendlyName": "/hello"})
    assert function["friendly_name"] == "/hello"
    assert run.call("FetchFunction", ServiceSid=service_sid, Sid=function["sid"]) == function
    renamed = run.call("UpdateFunction", ServiceSid=service_sid, Sid=function["sid"], data={"FriendlyName": "/hi"})
    assert renamed["friendly_name"] == "/hi" and renamed["date_created"] == function["date_created"]
    assert function["sid"] in sids(run.call("ListFunction", ServiceSid=service_sid))

    ids = {"ServiceSid": service_sid, "FunctionSid": function["sid"]}
    version = run.upload("Functions", function, "/hello", "protected", FUNCTION_SOURCE, "hello",
                         "application/javascript")
    assert (version["path"], version["visibility"], version["function_sid"]) == ("/hello", "protected", function["sid"])
    assert sids(run.call("ListFunctionVersion", **ids)) == [version["sid"]]
    assert run.call("FetchFunctionVersion", Sid=version["sid"], **ids) == version
    content = run.call("FetchFunctionVersionContent", Sid=version["sid"], **ids)
    assert content["content"] == FUNCTION_SOURCE
    assert (content["sid"], content["function_sid"]) == (version["sid"], function["sid"])
    return version


def exercise_assets(run, service_sid):
    asset = run.call("CreateAsset", ServiceSid=service_sid, data={"FriendlyName": "/style.css"})
    assert run.call("FetchAsset", ServiceSid=service_sid, Sid=asset["sid"]) == asset
    renamed = run.call("UpdateAsset", ServiceSid=service_sid, Sid=asset["sid"], data={"FriendlyName": "/main.css"})
    assert renamed["friendly_name"] == "/main.css"
    assert asset["sid"] in sids(run.call("ListAsset", ServiceSid=service_sid))

    ids = {"ServiceSid": service_sid, "AssetSid": asset["sid"]}
    version = run.upload("Assets", asset, "/style.css", "public", "body { color: red }", "style.css", "text/css")
    assert (version["path"], version["visibility"], version["asset_sid"]) == ("/style.css", "public", asset["sid"])
    assert sids(run.call("ListAssetVersion", **ids)) == [version["sid"]]
    assert run.call("FetchAssetVersion", Sid=version["sid"], **ids) == version
    return version


def exercise_builds(run, service_sid, function_version, asset_version):
    build = run.call("CreateBuild", ServiceSid=service_sid, data={
        "FunctionVersions": [function_version["sid"]], "AssetVersions": [asset_version["sid"]],
        "Dependencies": json.dumps(DEPENDENCIES), "Runtime": "node22"})
    assert (build["status"], build["runtime"]) == ("building", "node22")
    assert_build_contents(build["function_versions"], build["asset_versions"], build["dependencies"],
                          function_version, asset_version)

    status = wait_for_build(run, service_sid, build["sid"])
    assert status["status"] == "completed", status
    fetched = run.call("FetchBuild", ServiceSid=service_sid, Sid=build["sid"])
    assert fetched["status"] == "completed"
    assert {k: fetched[k] for k in ("function_versions", "asset_versions", "dependencies", "runtime", "date_created")} \
        == {k: build[k] for k in ("function_versions", "asset_versions", "dependencies", "runtime", "date_created")}
    assert build["sid"] in sids(run.call("ListBuild", ServiceSid=service_sid))
    return fetched


def wait_for_build(run, service_sid, build_sid):
    """FetchBuildStatus (each response schema-checked) until the build leaves `building`."""
    return poll_build(lambda: run.call("FetchBuildStatus", ServiceSid=service_sid, Sid=build_sid))


def exercise_deployments(run, service_sid, environment, build):
    ids = {"ServiceSid": service_sid, "EnvironmentSid": environment["sid"]}
    deployment = run.call("CreateDeployment", data={"BuildSid": build["sid"]}, **ids)
    assert (deployment["build_sid"], deployment["environment_sid"]) == (build["sid"], environment["sid"])
    assert run.call("FetchDeployment", Sid=deployment["sid"], **ids) == deployment
    assert sids(run.call("ListDeployment", **ids)) == [deployment["sid"]]
    assert run.call("FetchEnvironment", ServiceSid=service_sid, Sid=environment["sid"])["build_sid"] == build["sid"]
    run.call("CreateDeployment", data={"BuildSid": build["sid"]}, expect_error=(409,), **ids)
    run.call("DeleteBuild", ServiceSid=service_sid, Sid=build["sid"], expect_error=(409,))


def exercise_variables(run, service_sid, environment_sid):
    ids = {"ServiceSid": service_sid, "EnvironmentSid": environment_sid}
    variable = run.call("CreateVariable", data={"Key": "GREETING", "Value": "hello"}, **ids)
    assert (variable["key"], variable["value"], variable["environment_sid"]) == ("GREETING", "hello", environment_sid)
    assert run.call("FetchVariable", Sid=variable["sid"], **ids) == variable
    updated = run.call("UpdateVariable", Sid=variable["sid"], data={"Value": "bonjour"}, **ids)
    assert (updated["key"], updated["value"]) == ("GREETING", "bonjour")
    assert items(run.call("ListVariable", **ids)) == [updated]
    run.call("DeleteVariable", Sid=variable["sid"], **ids)
    run.call("FetchVariable", Sid=variable["sid"], expect_error=(404, 20404), **ids)


def invoke_signed(run, domain_name, path):
    """Calls the deployed (protected) function with a signature from the official validator."""
    url = f"{run.server.url}/{domain_name}{path}"
    signature = RequestValidator(run.server.auth_token).compute_signature(url, {})
    response = requests.get(url, headers={"X-Twilio-Signature": signature}, timeout=60)
    assert_status(response, 200)


def logs_after(run, ids, count):
    """ListLog until at least `count` entries are there (logs are written in batches)."""
    for _ in range(100):
        found = items(run.call("ListLog", **ids))
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} log entries after 5 s")


def exercise_logs(run, service_sid, environment, function_sid):
    ids = {"ServiceSid": service_sid, "EnvironmentSid": environment["sid"]}
    assert items(run.call("ListLog", **ids)) == []
    invoke_signed(run, environment["domain_name"], "/hello")
    [log] = logs_after(run, ids, 1)
    assert (log["level"], log["message"], log["function_sid"]) == ("warn", "conformance", function_sid)
    assert run.call("FetchLog", Sid=log["sid"], **ids) == log
    assert items(run.call("ListLog", params={"FunctionSid": function_sid}, **ids)) == [log]
    filters = {"FunctionSid": function_sid, "StartDate": "2024-01-01T00:00:00Z", "EndDate": "2024-01-02T00:00:00Z"}
    assert items(run.call("ListLog", params=filters, **ids)) == []
    # serverless-api sends milliseconds and puts the dates into the query string unescaped.
    url = (f"{run.api.base_url}/v1/Services/{service_sid}/Environments/{environment['sid']}/Logs"
           f"?StartDate=2024-01-01T00:00:00.000Z&EndDate=2024-01-02T00:00:00.000Z&PageSize=50")
    assert items(run.follow("ListLog", url)) == []
    run.call("FetchLog", Sid=new_sid("NO"), expect_error=(404, 20404), **ids)


def exercise_deletes(run, service, spare_environment, function_version):
    sid = service["sid"]
    spare_build = run.call("CreateBuild", ServiceSid=sid, data={"FunctionVersions": [function_version["sid"]]})
    assert wait_for_build(run, sid, spare_build["sid"])["status"] == "completed"
    run.call("DeleteBuild", ServiceSid=sid, Sid=spare_build["sid"])
    run.call("FetchBuild", ServiceSid=sid, Sid=spare_build["sid"], expect_error=(404, 20404))

    for kind in ("Function", "Asset"):
        resource = run.call(f"Create{kind}", ServiceSid=sid, data={"FriendlyName": f"/unused-{kind.lower()}"})
        run.call(f"Delete{kind}", ServiceSid=sid, Sid=resource["sid"])
        run.call(f"Fetch{kind}", ServiceSid=sid, Sid=resource["sid"], expect_error=(404, 20404))

    run.call("DeleteEnvironment", ServiceSid=sid, Sid=spare_environment["sid"])
    run.call("FetchEnvironment", ServiceSid=sid, Sid=spare_environment["sid"], expect_error=(404, 20404))

    run.call("DeleteService", Sid=sid)
    run.call("FetchService", Sid=sid, expect_error=(404, 20404))
    run.call("FetchService", Sid=service["unique_name"], expect_error=(404, 20404))


@pytest.mark.parametrize("runtime", [f"node{major}" for major in range(8, 25, 2)])
def test_every_runtime_is_accepted(run, routes_project, runtime):
    project, build = routes_project
    created = run.call("CreateBuild", ServiceSid=project.sid, data={
        "FunctionVersions": [entry["sid"] for entry in build["function_versions"]], "Runtime": runtime})
    assert created["runtime"] == runtime


def test_paging_links_are_absolute_and_consistent(run):
    created = [run.call("CreateService", data={"UniqueName": unique_name("page"), "FriendlyName": "Paged"})
               for _ in range(5)]
    for service in created:
        assert (service["include_credentials"], service["ui_editable"]) == (True, False), "defaults"
    everything = sids(run.call("ListService", params={"PageSize": 1000}))
    pages = run.walk("ListService", page_size=2)

    assert [sid for page in pages for sid in sids(page)] == everything
    assert {service["sid"] for service in created} <= set(everything)
    for index, page in enumerate(pages):
        meta = page["meta"]
        assert (meta["page"], meta["page_size"]) == (index, 2), meta
        assert len(items(page)) == (2 if index < len(pages) - 1 else len(everything) - 2 * index), meta
        assert (meta["previous_page_url"] is None) == (index == 0), meta
        assert (meta["next_page_url"] is None) == (index == len(pages) - 1), meta
    back = run.follow("ListService", pages[2]["meta"]["previous_page_url"])
    assert sids(back) == sids(pages[1])
    assert sids(run.follow("ListService", pages[1]["meta"]["first_page_url"])) == sids(pages[0])


def test_urls_follow_the_host_the_client_used(run, twirl):
    """Resource and paging URLs are built from the request's Host, so clients come back to twirl."""
    other_origin = twirl.url.replace("127.0.0.1", "localhost")
    response = requests.get(f"{other_origin}/v1/Services", params={"PageSize": 1}, timeout=30,
                            auth=(twirl.account_sid, twirl.auth_token))
    assert_status(response, 200)
    meta = response.json()["meta"]
    for key in ("url", "first_page_url"):
        assert meta[key].startswith(other_origin + "/v1/Services"), meta


def test_health_needs_no_credentials(twirl):
    response = requests.get(f"{twirl.url}/_twirl/health", timeout=30)
    assert_status(response, 200)
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("method, path, status, code", [
    ("GET", "/v1/Nowhere", 404, 20404),
    ("GET", "/v1/Services/{sid}/Nowhere", 404, 20404),
    ("PUT", "/v1/Services", 405, 20004),
    ("DELETE", "/v1/Services", 405, 20004),
    ("PUT", "/v1/Services/{sid}", 405, 20004),
    ("POST", "/v1/Services/{sid}/Environments/{env}", 405, 20004),
    ("POST", "/v1/Services/{sid}/Builds/{build}", 405, 20004),
    ("DELETE", "/v1/Services/{sid}/Builds/{build}/Status", 405, 20004),
    ("DELETE", "/v1/Services/{sid}/Environments/{env}/Logs", 405, 20004),
])
def test_unknown_routes_and_methods_are_twilio_errors(routes_project, method, path, status, code):
    project, build = routes_project
    path = path.format(sid=project.sid, env=project.environment["sid"], build=build["sid"])
    assert_twilio_error(project.api.request(method, path), status, code)


@pytest.fixture(scope="module")
def routes_project(api):
    project = Project(api)
    _, version = project.function_version()
    return project, project.build([version["sid"]])
