"""The function runtime through real HTTP: fixtures/runtime-project is deployed once through the API,
then every point of the runtime contract is checked on the environment's site (path form
`{twirl}/{domain_name}/…` and Host-header form), plus logs, limits and deployment switching."""

import hashlib
import json
import secrets
import shutil
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests
from twilio.request_validator import RequestValidator

from conftest import REPO_ROOT, running_twirl_with_environment
from support import HttpSession, assert_status, deploy_project, wait_for_build_status

FIXTURE = REPO_ROOT / "fixtures" / "runtime-project"
SERVICE_NAME = "runtime-project"
BIG_ASSET = bytes(range(256)) * 4096  # 1 MiB, made on the fly rather than committed
MAX_CONCURRENCY = 2
EXECUTION_LIMIT = 10.0
LOG_WAIT = 5.0
RESTRICTED_HEADERS = {"host", "connection", "x-forwarded-for", "x-real-ip", "referer"}


# --- fixtures ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def twirl(tmp_path_factory):
    """This module's server allows only two concurrent executions, so the limit is cheap to reach."""
    yield from running_twirl_with_environment(tmp_path_factory.mktemp("twirl"),
                                              TWIRL_MAX_CONCURRENCY=str(MAX_CONCURRENCY))


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory):
    """A copy of the fixture project with a 1 MiB binary asset added."""
    directory = tmp_path_factory.mktemp("projects") / "runtime-project"
    shutil.copytree(FIXTURE, directory)
    (directory / "assets" / "big.bin").write_bytes(BIG_ASSET)
    return directory


@pytest.fixture(scope="module")
def deployed(api, project_dir):
    return deploy_project(api, project_dir, SERVICE_NAME)


@pytest.fixture(scope="module")
def site(deployed):
    return Site(deployed.site_url)


@pytest.fixture(scope="module")
def host_port(twirl):
    return urlsplit(twirl.url).netloc


# --- helpers ----------------------------------------------------------------------------------------

class Site(HttpSession):
    """Plain, unauthenticated HTTP to one environment's site: Site(site_url)."""

    def ok(self, path, method="GET", **kwargs):
        """A request that must answer 200."""
        response = self.request(method, path, **kwargs)
        assert_status(response, 200)
        return response

    def echo(self, path="/echo", method="GET", **kwargs):
        """What echo.js reports about the invocation."""
        return self.ok(path, method, **kwargs).json()


def content_type(response):
    return response.headers.get("Content-Type", "")


def header_values(response, name):
    """Every value of a header as it arrived on the wire (repeated headers stay separate)."""
    return response.raw.headers.getlist(name)


def sign(auth_token, url, params=None):
    """X-Twilio-Signature as the official helper library computes it."""
    return RequestValidator(auth_token).compute_signature(url, params or {})


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def fixture_bytes(relative):
    return (FIXTURE / relative).read_bytes()


def write_project(directory, files):
    """A minimal project: the fixture's package.json plus the given {relative path: text} files."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURE / "package.json", directory / "package.json")
    for relative, text in files.items():
        (directory / relative).parent.mkdir(parents=True, exist_ok=True)
        (directory / relative).write_text(text)
    return directory


def text_function(text):
    return f"exports.handler = (context, event, callback) => callback(null, {json.dumps(text)});\n"


def assert_healthy(site):
    """A healthy function still answers after another one failed."""
    response = site.ok("/text")
    assert response.text == "hello from text"


# --- routing ----------------------------------------------------------------------------------------

def test_site_is_served_under_the_domain_path(site, deployed, twirl):
    response = site.ok("/text")
    assert response.text == "hello from text"
    assert deployed.site_url == f"{twirl.url}/{deployed.domain_name}"
    assert deployed.domain_name == f"{deployed.service['domain_base']}-dev.twil.io"


def host_forms(deployed, host_port):
    port = host_port.rsplit(":", 1)[1]
    local = f"{deployed.service['domain_base']}-dev.localhost"
    return [deployed.domain_name, local, f"{local}:{port}"]


@pytest.mark.parametrize("form", [0, 1, 2], ids=["domain_name", "localhost", "localhost-with-port"])
def test_host_header_routes_to_the_environment_root(twirl, deployed, host_port, form):
    host = host_forms(deployed, host_port)[form]
    response = requests.get(f"{twirl.url}/text", headers={"Host": host}, timeout=30)
    assert_status(response, 200)
    assert response.text == "hello from text"

    echoed = requests.get(f"{twirl.url}/echo", headers={"Host": host}, timeout=30)
    assert_status(echoed, 200)
    assert echoed.json()["context"]["DOMAIN_NAME"] == host
    assert echoed.json()["context"]["PATH"] == "/echo"


# --- callback payloads ------------------------------------------------------------------------------

def test_string_payload_is_plain_text(site):
    response = site.ok("/text")
    assert content_type(response).startswith("text/plain")
    assert response.text == "hello from text"


@pytest.mark.parametrize("kind, expected", [
    ("object", {"answer": 42, "nested": {"list": [1, "two"]}}),
    ("number", 42),
    ("boolean", True),
])
def test_json_payloads(site, kind, expected):
    response = site.ok(f"/json?kind={kind}")
    assert content_type(response).startswith("application/json")
    assert response.json() == expected


def test_empty_callback_is_an_empty_200(site):
    response = site.ok("/empty")
    assert response.content == b""


def test_an_async_handler_is_answered_by_its_later_callback(site):
    """The invocation ends at the callback, not when the handler's promise resolves."""
    assert site.echo("/late-callback") == {"via": "late callback"}


def test_a_promise_resolved_without_the_callback_runs_to_the_limit(api, site, deployed):
    """Production: "If your Function does not call the callback() method … your Function will
    continue executing until it reaches the time limit" (Functions FAQ); a warning says why."""
    response = site.get("/promise", timeout=60)
    assert_status(response, 504)
    assert response.json()["code"] == 82002
    warnings = wait_for_logs(api, f"{deployed.environment_path}/Logs", "/promise: the handler's promise resolved", 1)
    assert warnings and warnings[0]["level"] == "warn", warnings
    assert_healthy(site)


def test_a_rejection_after_the_callback_is_logged_and_the_answer_stands(api, site, deployed):
    tag = secrets.token_hex(4)
    response = site.ok(f"/rejects-after-callback?tag={tag}")
    assert response.text == "answered first"
    errors = wait_for_logs(api, f"{deployed.environment_path}/Logs", f"rejected after the callback {tag}", 1)
    assert errors and errors[0]["level"] == "error", errors
    assert errors[0]["message"].startswith("after the callback: Error: rejected after the callback"), errors
    assert_healthy(site)


@pytest.mark.parametrize("query, shown", [("", "undefined"), ("?code=abc", "'abc'"), ("?code=99", "'99'")])
def test_an_invalid_status_code_is_named(site, query, shown):
    response = site.get(f"/bad-status{query}")
    assert_status(response, 500)
    error = response.json()
    assert error["name"] == "RangeError"
    assert error["message"].startswith(f"Invalid status code: {shown} (Twilio.Response's statusCode")
    assert_healthy(site)


def test_a_numeric_string_status_code_is_taken_as_node_takes_it(site):
    assert_status(site.get("/bad-status?code=418"), 418)


@pytest.mark.parametrize("path, element", [
    ("/twiml", "<Say>Hello from twirl</Say>"),
    ("/messaging", "<Message>Ahoy from twirl</Message>"),
])
def test_twiml_payload_is_xml(site, path, element):
    response = site.ok(path)
    assert content_type(response).startswith("text/xml")
    assert response.text.startswith('<?xml version="1.0" encoding="UTF-8"?><Response>')
    assert element in response.text
    assert response.text.endswith("</Response>")


def test_twilio_response_status_headers_cookies_and_body(site):
    response = site.get("/response")
    assert_status(response, 201)
    assert content_type(response).startswith("application/json")
    assert response.json() == {"created": True, "items": [1, 2]}
    assert header_values(response, "X-Multi") == ["one", "two"]
    assert header_values(response, "Set-Cookie") == ["flavour=oatmeal;Path=/", "stale=;Max-Age=0"]


@pytest.mark.parametrize("path", ["/error", "/throws", "/rejects"])
def test_failures_answer_500(site, path):
    assert_status(site.get(path), 500)
    assert_healthy(site)


@pytest.mark.parametrize("path", ["/error", "/throws", "/rejects"])
def test_error_stacks_end_at_the_functions_own_frames(site, path):
    """The JSON body and the browser's error page show the function's frames, then one line for
    twirl's own (as twilio-run shows one for its own), never the worker harness's frames."""
    error = site.get(path).json()
    lines = error["stack"].splitlines()
    assert lines[0] == f"{error['name']}: {error['message']}", error
    assert f"functions{path}.js:" in lines[1], error["stack"]
    assert lines[-1] == "    at [twirl internals]", error["stack"]
    page = site.get(path, headers={"Accept": "text/html"})
    assert page.headers["Content-Type"].startswith("text/html")
    assert f"functions{path}.js:" in page.text and "at [twirl internals]" in page.text, page.text
    for shown in (error["stack"], page.text):
        assert "harness.js" not in shown and "node:internal" not in shown, shown


def test_process_exit_answers_500_and_the_worker_is_replaced(site):
    started = time.monotonic()
    assert_status(site.get("/exit"), 500)
    assert time.monotonic() - started < 5, "a dead worker must be noticed at once, not at the time limit"
    assert_healthy(site)
    assert_status(site.get("/exit"), 500)
    assert_healthy(site)


def test_module_load_error_only_breaks_that_function(site):
    assert_status(site.get("/broken"), 500)
    assert_healthy(site)
    assert_status(site.get("/broken"), 500)
    assert_healthy(site)


def test_workers_stay_warm_between_invocations(site):
    counts_by_worker = {}
    for _ in range(8):
        answer = site.ok("/state").json()
        counts_by_worker.setdefault(answer["pid"], []).append(answer["invocations"])
    for pid, counts in counts_by_worker.items():
        assert counts == sorted(set(counts)), f"worker {pid} lost its module state: {counts}"
    assert max(len(counts) for counts in counts_by_worker.values()) >= 2, \
        f"no worker served two invocations: {counts_by_worker}"
    assert max(max(counts) for counts in counts_by_worker.values()) >= 2, counts_by_worker


# --- context ----------------------------------------------------------------------------------------

def test_context_builtins_and_variables(site, deployed, host_port):
    context = site.echo()["context"]
    assert context["PATH"] == "/echo"
    assert context["DOMAIN_NAME"] == f"{host_port}/{deployed.domain_name}"
    assert context["SERVICE_SID"] == deployed.service_sid
    assert context["ENVIRONMENT_SID"] == deployed.environment_sid
    assert context["GREETING"] == "hello"
    assert context["FAVOURITE_NUMBER"] == "42"


def test_context_has_credentials_when_the_service_includes_them(site, twirl):
    answer = site.echo()
    assert answer["context"]["ACCOUNT_SID"] == twirl.account_sid
    assert answer["authTokenSha256"] == sha256_hex(twirl.auth_token.encode())
    assert answer["twilioClient"] == {"type": "object", "accountSid": twirl.account_sid}
    assert "getTwilioClient" in answer["contextKeys"]


def test_context_has_no_credentials_when_the_service_excludes_them(api, tmp_path):
    project = write_project(tmp_path / "no-credentials",
                            {"functions/echo.js": (FIXTURE / "functions" / "echo.js").read_text()})
    without = deploy_project(api, project, "runtime-no-credentials", include_credentials=False)
    answer = Site(without.site_url).echo()
    assert "ACCOUNT_SID" not in answer["contextKeys"]
    assert "AUTH_TOKEN" not in answer["contextKeys"]
    assert answer["authTokenSha256"] is None
    assert "error" in answer["twilioClient"], answer["twilioClient"]
    assert answer["context"]["SERVICE_SID"] == without.service_sid


def test_variable_changes_apply_to_the_next_invocation(api, site, deployed):
    variables = f"{deployed.environment_path}/Variables"
    assert "MOOD" not in site.echo()["context"]

    variable = api.create(variables, {"Key": "MOOD", "Value": "calm"})
    assert site.echo()["context"]["MOOD"] == "calm"

    assert_status(api.post(f"{variables}/{variable['sid']}", data={"Value": "excited"}), 200)
    assert site.echo()["context"]["MOOD"] == "excited"

    assert_status(api.delete(f"{variables}/{variable['sid']}"), 204)
    assert "MOOD" not in site.echo()["context"]


# --- process.env ------------------------------------------------------------------------------------

def test_process_env_holds_the_variables_and_the_workers_own_environment(site, twirl):
    answer = site.echo("/env")
    assert answer["env"] == {"GREETING": "hello", "FAVOURITE_NUMBER": "42", "MOOD": None,
                             "ACCOUNT_SID": twirl.account_sid, "NODE_ENV": "production",
                             "HOME": answer["env"]["HOME"]}
    assert answer["env"]["HOME"], answer
    assert answer["hasPath"] and answer["authTokenMatches"], answer
    assert answer["atLoad"] == "hello"


def test_variable_changes_reach_process_env_and_module_load(api, site, deployed):
    variables = f"{deployed.environment_path}/Variables"
    greeting = next(v for v in api.list_all(variables) if v["key"] == "GREETING")
    mood = api.create(variables, {"Key": "MOOD", "Value": "calm"})
    try:
        assert_status(api.post(f"{variables}/{greeting['sid']}", data={"Value": "bonjour"}), 200)
        answer = site.echo("/env")
        assert (answer["env"]["GREETING"], answer["env"]["MOOD"], answer["atLoad"]) == ("bonjour", "calm", "bonjour")
    finally:
        assert_status(api.post(f"{variables}/{greeting['sid']}", data={"Value": "hello"}), 200)
        assert_status(api.delete(f"{variables}/{mood['sid']}"), 204)
    answer = site.echo("/env")
    assert (answer["env"]["GREETING"], answer["env"]["MOOD"], answer["atLoad"]) == ("hello", None, "hello")


def test_each_environment_has_its_own_workers_and_values(api, site, deployed):
    """A build promoted to a second environment runs in workers of its own, with that
    environment's variables; neither environment sees the other's."""
    stage = api.create(f"/v1/Services/{deployed.service_sid}/Environments",
                       {"UniqueName": f"stage-{secrets.token_hex(3)}", "DomainSuffix": f"s{secrets.token_hex(3)}"})
    stage_path = f"/v1/Services/{deployed.service_sid}/Environments/{stage['sid']}"
    api.create(f"{stage_path}/Variables", {"Key": "GREETING", "Value": "from stage"})
    api.create(f"{stage_path}/Deployments", {"BuildSid": deployed.build_sid})
    stage_site = Site(deployed.site_url.replace(deployed.domain_name, stage["domain_name"]))
    for _ in range(3):
        ours, theirs = site.echo("/env"), stage_site.echo("/env")
        assert (ours["env"]["GREETING"], ours["atLoad"]) == ("hello", "hello")
        assert (theirs["env"]["GREETING"], theirs["atLoad"]) == ("from stage", "from stage")
        assert theirs["env"]["FAVOURITE_NUMBER"] is None
        assert ours["pid"] != theirs["pid"]


# --- event ------------------------------------------------------------------------------------------

def test_event_holds_the_query(site):
    event = site.echo("/echo?a=1&b=two")["event"]
    assert (event["a"], event["b"]) == ("1", "two")


def test_event_form_body_wins_over_the_query(site):
    event = site.echo("/echo?source=query&shared=query", "POST",
                      data={"shared": "body", "Body": "hi there"})["event"]
    assert (event["source"], event["shared"], event["Body"]) == ("query", "body", "hi there")


def test_event_json_body_wins_over_the_query(site):
    event = site.echo("/echo?source=query&shared=query", "POST",
                      json={"shared": "json", "count": 5, "nested": {"list": [1, 2]}})["event"]
    assert (event["source"], event["shared"]) == ("query", "json")
    assert (event["count"], event["nested"]) == (5, {"list": [1, 2]})


def test_event_json_array_body_is_spread_by_index(site):
    """As the Toolkit spreads `req.body`: webhooks such as e-mail event feeds post arrays."""
    event = site.echo("/echo?x=query&0=query", method="POST",
                      json=[{"event": "delivered"}, "two", 3])["event"]
    assert {key: event[key] for key in ("0", "1", "2", "x")} == {
        "0": {"event": "delivered"}, "1": "two", "2": 3, "x": "query"}


def test_event_repeated_form_keys_become_arrays(site):
    event = site.echo("/echo", "POST", data=[("color", "red"), ("color", "blue"), ("single", "x")])["event"]
    assert event["color"] == ["red", "blue"]
    assert event["single"] == "x"


def test_event_request_headers_are_lower_cased_without_restricted_ones(site):
    headers = site.echo(headers={
        "X-Custom": "custom value",
        "X-Forwarded-For": "203.0.113.7",
        "X-Real-IP": "203.0.113.8",
        "Referer": "http://example.com/",
    })["event"]["request"]["headers"]
    assert headers["x-custom"] == "custom value"
    assert all(name == name.lower() for name in headers), sorted(headers)
    assert not RESTRICTED_HEADERS & set(headers), sorted(headers)


def test_event_request_cookies_are_parsed(site):
    request = site.echo(headers={"Cookie": "flavour=oatmeal; visits=3"})["event"]["request"]
    assert request["cookies"] == {"flavour": "oatmeal", "visits": "3"}


# --- globals ----------------------------------------------------------------------------------------

def test_runtime_functions_and_private_assets(site):
    answer = site.ok("/runtime").json()
    assert answer["shout"] == "PRIVATE HELPER!"
    assert {"lib/util", "text", "protected", "runtime"} <= set(answer["functionKeys"])
    assert not any(key.startswith("/") for key in answer["functionKeys"]), answer["functionKeys"]
    assert answer["utilHasPath"] is True
    assert answer["assetKeys"] == ["/secret.json"]
    assert answer["secret"] == {"secret": "only for functions"}


def test_globals_are_usable_at_module_load(site):
    answer = site.ok("/module-load").json()
    assert "<Say>loaded</Say>" in answer["twiml"]
    assert "lib/util" in answer["functionKeys"]
    assert answer["assetKeys"] == ["/secret.json"]
    assert answer["responseType"] == "function"


# --- visibility -------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/lib/util", "/secret.json"])
def test_private_resources_are_not_served(site, path):
    assert_status(site.get(path), 404)


@pytest.mark.parametrize("path", ["/protected", "/guarded.txt"])
def test_protected_resources_need_a_signature(site, path):
    assert_status(site.get(path), 400)
    wrong = sign("not-the-auth-token", site.url(path))
    assert_status(site.get(path, headers={"X-Twilio-Signature": wrong}), 400)


def test_protected_function_accepts_a_signed_form_post(site, twirl):
    url = site.url("/protected")
    params = {"Body": "signed body", "From": "+15550001111"}
    signature = sign(twirl.auth_token, url, params)
    response = site.post("/protected", data=params, headers={"X-Twilio-Signature": signature})
    assert_status(response, 200)
    assert response.json() == {"protected": True, "body": "signed body"}

    tampered = {**params, "Body": "tampered"}
    assert_status(site.post("/protected", data=tampered, headers={"X-Twilio-Signature": signature}), 400)


def test_protected_function_accepts_a_signed_get_with_query(site, twirl):
    path = "/protected?Body=from-query&n=1"
    response = site.get(path, headers={"X-Twilio-Signature": sign(twirl.auth_token, site.url(path))})
    assert_status(response, 200)
    assert response.json()["body"] == "from-query"

    signed_without_query = sign(twirl.auth_token, site.url("/protected"))
    assert_status(site.get(path, headers={"X-Twilio-Signature": signed_without_query}), 400)


def test_protected_function_accepts_a_signed_json_body(site, twirl):
    body = json.dumps({"Body": "json body"}).encode()
    path = f"/protected?bodySHA256={sha256_hex(body)}"
    headers = {"Content-Type": "application/json",
               "X-Twilio-Signature": sign(twirl.auth_token, site.url(path))}
    response = site.post(path, data=body, headers=headers)
    assert_status(response, 200)
    assert response.json()["body"] == "json body"

    other_body = json.dumps({"Body": "swapped"}).encode()
    assert_status(site.post(path, data=other_body, headers=headers), 400)


def test_protected_signature_over_the_url_without_the_port_is_accepted(site, twirl, host_port):
    url = site.url("/protected")
    without_port = url.replace(host_port, host_port.rsplit(":", 1)[0], 1)
    assert without_port != url
    response = site.get("/protected", headers={"X-Twilio-Signature": sign(twirl.auth_token, without_port)})
    assert_status(response, 200)


def test_protected_asset_with_a_signature(site, twirl):
    response = site.get("/guarded.txt",
                        headers={"X-Twilio-Signature": sign(twirl.auth_token, site.url("/guarded.txt"))})
    assert_status(response, 200)
    assert response.content == fixture_bytes("assets/guarded.protected.txt")


def test_protected_function_through_the_host_header_signs_the_url_the_client_used(twirl, deployed):
    params = {"Body": "via host"}
    signature = sign(twirl.auth_token, f"http://{deployed.domain_name}/protected", params)
    response = requests.post(f"{twirl.url}/protected", data=params, timeout=30,
                             headers={"Host": deployed.domain_name, "X-Twilio-Signature": signature})
    assert_status(response, 200)
    assert response.json()["body"] == "via host"


# --- assets -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("path, file, expected_type", [
    ("/index.html", "assets/index.html", "text/html"),
    ("/style.css", "assets/style.css", "text/css"),
    ("/data.json", "assets/data.json", "application/json"),
    ("/assets/index.html", "assets/assets/index.html", "text/html"),
])
def test_public_assets_are_served_by_extension(site, path, file, expected_type):
    response = site.ok(path)
    assert content_type(response).startswith(expected_type)
    assert response.content == fixture_bytes(file)


def test_binary_asset_is_served_whole(site):
    response = site.ok("/big.bin")
    assert content_type(response).startswith("application/octet-stream")
    assert response.content == BIG_ASSET


def test_asset_etag_and_if_none_match(site):
    response = site.ok("/style.css")
    etag = response.headers.get("ETag")
    assert etag, dict(response.headers)
    again = site.get("/style.css", headers={"If-None-Match": etag})
    assert_status(again, 304)
    assert again.content == b""
    changed = site.get("/style.css", headers={"If-None-Match": '"some-other-etag"'})
    assert_status(changed, 200)


def test_asset_range_request(site):
    response = site.get("/big.bin", headers={"Range": "bytes=0-9"})
    assert_status(response, 206)
    assert response.content == BIG_ASSET[:10]
    assert response.headers.get("Content-Range") == f"bytes 0-9/{len(BIG_ASSET)}"


def test_asset_validators_give_304_412_and_full_answers(site):
    first = site.ok("/style.css")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers.get("Accept-Ranges") == "bytes"
    assert_status(site.get("/style.css", headers={"If-Modified-Since": modified}), 304)
    assert_status(site.get("/style.css", headers={"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"}), 200)
    assert_status(site.get("/style.css", headers={"If-Match": '"another"'}), 412)
    assert_status(site.get("/style.css", headers={"If-Match": etag}), 200)
    assert_status(site.get("/style.css", headers={"If-Unmodified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"}), 412)


def test_asset_ranges_beyond_the_end_and_for_another_version(site):
    beyond = site.get("/big.bin", headers={"Range": f"bytes={len(BIG_ASSET)}-"})
    assert_status(beyond, 416)
    assert beyond.headers.get("Content-Range") == f"bytes */{len(BIG_ASSET)}"
    tail = site.get("/big.bin", headers={"Range": "bytes=-5"})
    assert_status(tail, 206)
    assert tail.content == BIG_ASSET[-5:]
    # A range for another version of the file gets the whole of this one.
    other = site.get("/big.bin", headers={"Range": "bytes=0-9", "If-Range": '"another"'})
    assert_status(other, 200)
    assert other.content == BIG_ASSET
    etag = site.ok("/big.bin").headers["ETag"]
    same = site.get("/big.bin", headers={"Range": "bytes=0-9", "If-Range": etag})
    assert_status(same, 206)
    assert same.content == BIG_ASSET[:10]


def test_asset_head_has_headers_only(site):
    response = site.request("HEAD", "/data.json")
    assert_status(response, 200)
    assert response.content == b""
    assert content_type(response).startswith("application/json")
    assert response.headers.get("Content-Length") == str(len(fixture_bytes("assets/data.json")))


def test_root_serves_the_assets_index_html_asset(site):
    response = site.ok("/")
    assert content_type(response).startswith("text/html")
    assert response.content == fixture_bytes("assets/assets/index.html")


def test_unknown_path_is_404(site):
    assert_status(site.get("/no-such-function"), 404)
    assert_status(site.get("/no/such/asset.txt"), 404)


# --- HTTP methods -----------------------------------------------------------------------------------

def test_options_preflight_is_answered(site):
    response = site.request("OPTIONS", "/text", headers={
        "Origin": "http://example.com",
        "Access-Control-Request-Method": "POST",
    })
    assert_status(response, 204)
    assert response.headers.get("Access-Control-Allow-Origin") == "*"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods_are_405(site, method):
    assert_status(site.request(method, "/text"), 405)


def test_get_with_a_body_is_403(site):
    assert_status(site.get("/text", data="unexpected body"), 403)


# --- limits -----------------------------------------------------------------------------------------

def test_execution_time_limit(site):
    started = time.monotonic()
    response = site.get("/loop", timeout=60)
    elapsed = time.monotonic() - started
    assert_status(response, 504)
    assert EXECUTION_LIMIT - 0.5 <= elapsed < EXECUTION_LIMIT + 5, f"answered after {elapsed:.1f} s"
    assert_healthy(site)


def concurrent_statuses(url, count):
    """Start `count` GETs at the same moment; their statuses."""
    barrier = threading.Barrier(count)
    statuses = [None] * count

    def call(index):
        barrier.wait()
        statuses[index] = requests.get(url, timeout=30).status_code

    threads = [threading.Thread(target=call, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_concurrency_limit(site):
    statuses = concurrent_statuses(site.url("/slow?ms=1500"), MAX_CONCURRENCY + 1)
    assert set(statuses) <= {200, 429}, statuses
    assert 429 in statuses and 200 in statuses, statuses

    assert concurrent_statuses(site.url("/slow?ms=100"), MAX_CONCURRENCY) == [200] * MAX_CONCURRENCY


# --- deployments ------------------------------------------------------------------------------------

def test_new_deployment_switches_traffic_atomically(api, tmp_path):
    project = write_project(tmp_path / "switch", {"functions/which.js": text_function("A")})
    first = deploy_project(api, project, "runtime-switch")
    url = first.site_url + "/which"
    assert requests.get(url, timeout=30).text == "A"

    results = []  # (started, status, text)
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            started = time.monotonic()
            response = requests.get(url, timeout=30)
            results.append((started, response.status_code, response.text))

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        (project / "functions" / "which.js").write_text(text_function("B"))
        second = deploy_project(api, project, "runtime-switch")
        switched_at = time.monotonic()
        deadline = switched_at + 3
        while time.monotonic() < deadline and sum(started > switched_at for started, _, _ in results) < 20:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join()

    assert second.site_url == first.site_url and second.build_sid != first.build_sid
    assert [(status, text) for _, status, text in results if (status, text) not in {(200, "A"), (200, "B")}] == []
    texts = [text for _, _, text in results]
    assert "A" in texts, "no request was served while the new build was deployed"
    assert texts == sorted(texts), "the old build answered again after the new one had"
    after = [text for started, _, text in results if started > switched_at]
    assert after and set(after) == {"B"}, after


# --- logs -------------------------------------------------------------------------------------------

def wait_for_logs(api, logs_path, tag, count):
    """The environment's log entries whose message mentions `tag`, in the order listed, once there
    are `count` of them (or LOG_WAIT seconds passed)."""
    deadline = time.monotonic() + LOG_WAIT
    while True:
        entries = [entry for entry in api.fetch(f"{logs_path}?PageSize=50")["logs"] if tag in entry["message"]]
        if len(entries) >= count or time.monotonic() > deadline:
            return entries
        time.sleep(0.1)


def test_console_output_becomes_log_resources(api, site, deployed):
    tag = secrets.token_hex(4)
    assert site.ok(f"/logs?tag={tag}").text == "logged"
    logs_path = f"{deployed.environment_path}/Logs"

    entries = wait_for_logs(api, logs_path, tag, 4)
    assert [(entry["level"], entry["message"]) for entry in entries] == [
        ("error", f"error line {tag}"),
        ("warn", f"warn line {tag}"),
        ("info", f"info line {tag}"),
        ("info", f"log line {tag}"),
    ], "expected the four lines, newest first"

    function_sid = deployed.resource_sids["/logs"]
    for entry in entries:
        assert entry["sid"].startswith("NO"), entry
        assert entry["function_sid"] == function_sid, entry
        assert (entry["service_sid"], entry["environment_sid"]) == (deployed.service_sid, deployed.environment_sid)
        assert (entry["build_sid"], entry["deployment_sid"]) == (deployed.build_sid, deployed.deployment_sid)
        assert entry["request_sid"].startswith("RQ"), entry
    assert len({entry["request_sid"] for entry in entries}) == 1, "one request, one request_sid"

    assert api.fetch(f"{logs_path}/{entries[0]['sid']}") == entries[0]

    filtered = api.fetch(f"{logs_path}?PageSize=50&FunctionSid={function_sid}")["logs"]
    assert {entry["function_sid"] for entry in filtered} == {function_sid}
    assert [entry for entry in filtered if tag in entry["message"]] == entries
    other = api.fetch(f"{logs_path}?PageSize=50&FunctionSid={deployed.resource_sids['/text']}")["logs"]
    assert not [entry for entry in other if tag in entry["message"]]


# --- builds -----------------------------------------------------------------------------------------

def test_uninstallable_dependency_fails_the_build(api, deployed, project_dir):
    missing = "twirl-no-such-package-xyz"
    dependencies = json.loads((project_dir / "package.json").read_text())["dependencies"]
    build = api.create(f"{deployed.service_path}/Builds", {
        "Dependencies": json.dumps([{"name": name, "version": version} for name, version in dependencies.items()]
                                   + [{"name": missing, "version": "1.0.0"}]),
        "FunctionVersions": [deployed.version_sids["/text"]],
    })
    status = wait_for_build_status(api, deployed.service_sid, build["sid"])
    assert status["status"] == "failed", status

    detail = api.fetch(f"/_twirl/builds/{build['sid']}")
    assert missing in (detail.get("failure_reason") or ""), detail
    assert_healthy(Site(deployed.site_url))
