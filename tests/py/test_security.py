"""Security: credentials on every /v1 route, the control endpoints and console when bound beyond
loopback, private functions and assets never reachable, path traversal, the auth token kept out of
logs, and a scrubbed worker environment."""

import base64
import http.client
import json
import os
import re
import secrets
import subprocess
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests

from conftest import (SPEC_PATH, running_project_server, running_twirl_with_environment, twirl_binary)
from support import (assert_status, assert_twilio_error, deploy_project, new_sid, worker_pids,
                     write_function_project)

PRIVATE_FN_MARKER = "PRIVATE-FUNCTION-" + secrets.token_hex(6)
PRIVATE_ASSET_MARKER = "PRIVATE-ASSET-" + secrets.token_hex(6)
DOTENV_MARKER = "DOTENV-SECRET-" + secrets.token_hex(6)
ALLOWED_WORKER_ENV = {"PATH", "HOME", "NODE_ENV", "NODE_PATH"}

FUNCTIONS = {
    "hello": "exports.handler = (context, event, callback) => callback(null, 'hello');",
    "env": "exports.handler = (context, event, callback) => callback(null, { env: process.env, pid: process.pid });",
    "context-keys": """exports.handler = (context, event, callback) => {
  console.log('context keys', Object.keys(context).sort().join(','));
  callback(null, {
    keys: Object.keys(context).sort(),
    hasToken: typeof context.AUTH_TOKEN === 'string' && context.AUTH_TOKEN.length > 0,
    token: context.AUTH_TOKEN || null,
  });
};""",
    "secret-fn.private": f"exports.handler = (c, e, callback) => callback(null, '{PRIVATE_FN_MARKER}');",
    "lib/helper.private": f"exports.handler = (c, e, callback) => callback(null, '{PRIVATE_FN_MARKER}');",
    "uses-private": """exports.handler = (context, event, callback) => {
  const asset = Runtime.getAssets()['/secret.txt'];
  callback(null, asset ? 'private asset readable by functions' : 'missing');
};""",
}
ASSETS = {
    "index.html": "<!doctype html><title>public</title>",
    "public.txt": "public text",
    "secret.private.txt": PRIVATE_ASSET_MARKER,
    "nested/deep.private.txt": PRIVATE_ASSET_MARKER,
}


@pytest.fixture(scope="module")
def twirl(tmp_path_factory):
    """This module's server runs with twirl-looking secrets in its own environment, to show they
    never reach a worker."""
    yield from running_twirl_with_environment(
        tmp_path_factory.mktemp("twirl"),
        TWILIO_ACCOUNT_SID="AC" + "e" * 32, TWILIO_AUTH_TOKEN="env-token-" + secrets.token_hex(8),
        TWILIO_API_SECRET="env-api-secret", TWIRL_CACHE_PROBE="should-not-leak")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return write_function_project(tmp_path_factory.mktemp("projects") / "security", FUNCTIONS, ASSETS)


@pytest.fixture(scope="module")
def deployed(api, project):
    return deploy_project(api, project, "security-project", include_credentials=True)


@pytest.fixture(scope="module")
def deployed_without_credentials(api, project):
    return deploy_project(api, project, "security-no-credentials", include_credentials=False)


def banner_data_dir(stdout_text):
    match = re.search(r"^\s*Data\s+(\S.*)$", stdout_text, re.MULTILINE)
    return match.group(1).strip() if match else None


# --- /v1 needs credentials everywhere ---------------------------------------------------------------

def spec_operations():
    if not SPEC_PATH.is_file():
        return [pytest.param(None, None, marks=pytest.mark.skip(
            reason=f"the official OpenAPI spec is absent ({SPEC_PATH.name} beside the repository)"))]
    spec = json.loads(SPEC_PATH.read_text())
    operations = []
    for path, item in spec["paths"].items():
        concrete = re.sub(r"\{(\w+)\}", lambda m: new_sid("ZX"), path)
        for method in ("get", "post", "delete"):
            if method in item:
                operations.append(pytest.param(method.upper(), concrete, id=f"{method.upper()} {path}"))
    # The upload host's multipart creates, served on the same port.
    for kind in ("Functions", "Assets"):
        operations.append(pytest.param("POST", f"/v1/Services/{new_sid('ZS')}/{kind}/{new_sid('ZH')}/Versions",
                                       id=f"POST upload {kind} version"))
    return operations


def bad_authorizations(twirl):
    def basic(user, password):
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    return {
        "none": None,
        "wrong-token": basic(twirl.account_sid, twirl.auth_token + "x"),
        "token-prefix": basic(twirl.account_sid, twirl.auth_token[:-1]),
        "wrong-account": basic("AC" + "0" * 32, twirl.auth_token),
        "api-key-with-account-token": basic(twirl.api_key_sid, twirl.auth_token),
        "empty-password": basic(twirl.account_sid, ""),
        "no-colon": "Basic " + base64.b64encode(twirl.account_sid.encode()).decode(),
        "not-base64": "Basic %%%not-base64%%%",
        "bearer": f"Bearer {twirl.auth_token}",
        "token-as-user": basic(twirl.auth_token, twirl.account_sid),
    }


@pytest.mark.parametrize("method, path", spec_operations())
def test_every_v1_route_requires_credentials(twirl, method, path):
    before = requests.get(f"{twirl.url}/v1/Services", auth=(twirl.account_sid, twirl.auth_token), timeout=30)
    for name, authorization in bad_authorizations(twirl).items():
        headers = {"Authorization": authorization} if authorization else {}
        kwargs = {}
        if method == "POST":
            kwargs["data"] = {"UniqueName": "sneaky", "FriendlyName": "sneaky", "Key": "K", "Value": "V"}
        response = requests.request(method, f"{twirl.url}{path}", headers=headers, timeout=30, **kwargs)
        body = assert_twilio_error(response, 401, 20003)
        assert twirl.auth_token not in response.text, name
    after = requests.get(f"{twirl.url}/v1/Services", auth=(twirl.account_sid, twirl.auth_token), timeout=30)
    assert before.json()["services"] == after.json()["services"], "an unauthenticated write changed the state"


def test_unknown_v1_routes_need_credentials_too(twirl):
    for path in ("/v1/Nope", "/v1/Services/ZS0/Unknown", "/v1/"):
        assert_twilio_error(requests.get(f"{twirl.url}{path}", timeout=30), 401, 20003)


# --- the control endpoints and console beyond loopback ----------------------------------------------

CONTROL_GETS = ["/_twirl/", "/_twirl/health", "/_twirl/session", "/_twirl/export", "/_twirl/clock",
                "/_twirl/live", "/_twirl/console/index.html", "/_twirl/builds/ZB00000000000000000000000000000000",
                "/_twirl/no-such-thing"]
CONTROL_POSTS = ["/_twirl/reset", "/_twirl/clock", "/_twirl/fixtures"]


@pytest.fixture(scope="module")
def exposed(tmp_path_factory):
    """twirl bound to 0.0.0.0 (reached through 127.0.0.1 only)."""
    workdir = tmp_path_factory.mktemp("exposed")
    account_sid, auth_token = "AC" + secrets.token_hex(16), secrets.token_hex(16)
    command = [str(twirl_binary()), "serve", "--host", "0.0.0.0", "--port", "0", "--ephemeral", "--no-demo",
               "--account-sid", account_sid, "--auth-token", auth_token]
    process = subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    try:
        line = process.stdout.readline().strip()
        match = re.match(r"^twirl listening on http://0\.0\.0\.0:(\d+)$", line)
        assert match, f"unexpected first line {line!r}"
        threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
        yield {"url": f"http://127.0.0.1:{match.group(1)}", "auth": (account_sid, auth_token)}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.parametrize("path", CONTROL_GETS)
def test_control_gets_need_credentials_beyond_loopback(exposed, path):
    url = exposed["url"] + path
    assert_twilio_error(requests.get(url, timeout=30), 401, 20003)
    account_sid, auth_token = exposed["auth"]
    assert_twilio_error(requests.get(url, auth=(account_sid, auth_token + "x"), timeout=30), 401, 20003)
    authorized = requests.get(url, auth=exposed["auth"], timeout=30)
    expected = 404 if "no-such" in path or "/builds/" in path else 200
    assert_status(authorized, expected)


@pytest.mark.parametrize("path", CONTROL_POSTS)
def test_control_posts_need_credentials_beyond_loopback(exposed, path):
    response = requests.post(exposed["url"] + path, json={"advance_seconds": 1}, timeout=30)
    assert_twilio_error(response, 401, 20003)


def test_control_endpoints_answer_with_credentials_beyond_loopback(exposed):
    assert_status(requests.post(exposed["url"] + "/_twirl/clock", json={"advance_seconds": 1},
                                auth=exposed["auth"], timeout=30), 200)
    session = requests.get(exposed["url"] + "/_twirl/session", auth=exposed["auth"], timeout=30)
    assert_status(session, 200)
    assert session.json()["account_sid"] == exposed["auth"][0]


def test_event_stream_needs_credentials_beyond_loopback(exposed):
    response = requests.get(exposed["url"] + "/_twirl/events", timeout=30, stream=True)
    try:
        assert_twilio_error(response, 401, 20003)
    finally:
        response.close()


def test_control_endpoints_are_open_on_loopback(twirl):
    assert_status(requests.get(f"{twirl.url}/_twirl/health", timeout=30), 200)


def test_cross_site_post_to_the_control_endpoints_is_refused(fresh_twirl):
    api = fresh_twirl.api
    api.create("/v1/Services", {"UniqueName": "keep-me", "FriendlyName": "keep me"})
    response = requests.post(f"{fresh_twirl.url}/_twirl/reset", data="x", timeout=30, headers={
        "Origin": "http://evil.example", "Content-Type": "text/plain", "Sec-Fetch-Site": "cross-site"})
    remaining = [s["unique_name"] for s in api.list_all("/v1/Services")]
    assert response.status_code in (401, 403), f"cross-site reset answered {response.status_code}"
    assert remaining == ["keep-me"]


def test_session_is_not_served_to_a_foreign_host(twirl):
    response = requests.get(f"{twirl.url}/_twirl/session", headers={"Host": "evil.example"}, timeout=30)
    assert twirl.auth_token not in response.text


# --- private functions and assets ----------------------------------------------------------------

def raw_request(base_url, raw_path, method="GET", host=None, headers=None):
    """Sends `raw_path` exactly as given (no client normalisation of dots or escapes)."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest(method, raw_path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", host or parts.netloc)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


PRIVATE_SPELLINGS = [
    "/secret.txt", "/secret.txt/", "//secret.txt", "/./secret.txt", "/x/../secret.txt", "/%73ecret.txt",
    "/secret%2etxt", "/secret%2Etxt", "/SECRET.TXT", "/secret.txt%00", "/secret.txt;", "/secret.txt%20",
    "/secret.private.txt", "/assets/secret.txt", "/assets/secret.private.txt", "/nested/deep.txt",
    "/nested//deep.txt", "/nested/%2e/deep.txt", "/nested%2fdeep.txt", "/nested%2Fdeep.txt",
    "/nested/deep.private.txt", "/secret-fn", "/secret-fn/", "//secret-fn", "/secret-fn.js", "/secret-fn.private",
    "/secret-fn.private.js", "/functions/secret-fn.js", "/%73ecret-fn", "/secret%2Dfn", "/SECRET-FN",
    "/lib/helper", "/lib//helper", "/lib%2fhelper", "/lib%2Fhelper", "/lib/./helper", "/lib/x/../helper",
    "/lib\\helper", "/lib%5chelper", "/lib/helper.js", "/functions/lib/helper.js", "/lib/helper%00",
    "/hello/../secret-fn", "/hello/%2e%2e/secret-fn", "/hello%2f..%2fsecret-fn", "/manifest.json",
    "/%2e%2e/manifest.json", "/../manifest.json",
]


def assert_no_private_content(status, body, where):
    assert status < 500, f"{where} answered {status}"
    assert PRIVATE_FN_MARKER.encode() not in body, f"{where} served a private function ({status})"
    assert PRIVATE_ASSET_MARKER.encode() not in body, f"{where} served a private asset ({status})"
    assert b'"visibility"' not in body, f"{where} served a build manifest ({status})"


def test_private_resources_work_for_functions(deployed):
    assert requests.get(f"{deployed.site_url}/uses-private", timeout=30).text == "private asset readable by functions"
    assert requests.get(f"{deployed.site_url}/public.txt", timeout=30).text == "public text"


@pytest.mark.parametrize("spelling", PRIVATE_SPELLINGS)
def test_private_resources_are_unreachable_under_the_domain_path(twirl, deployed, spelling):
    for method in ("GET", "POST", "HEAD"):
        status, body = raw_request(twirl.url, f"/{deployed.domain_name}{spelling}", method)
        assert_no_private_content(status, body, f"{method} /{deployed.domain_name}{spelling}")
        if method == "GET":
            assert status in (400, 403, 404, 405), f"GET {spelling} answered {status}"


@pytest.mark.parametrize("spelling", PRIVATE_SPELLINGS)
def test_private_resources_are_unreachable_through_the_host_header(twirl, deployed, spelling):
    port = urlsplit(twirl.url).port
    local = f"{deployed.service['domain_base']}-dev.localhost"
    for host in (deployed.domain_name, local, f"{local}:{port}", deployed.domain_name.upper()):
        status, body = raw_request(twirl.url, spelling, host=host)
        assert_no_private_content(status, body, f"GET {spelling} (Host {host})")


# --- path traversal -------------------------------------------------------------------------------

TRAVERSALS = ["../", "%2e%2e/", "%2E%2E%2F", "..%2f", "..%2F", ".%2e/", "%2e./", "..\\", "..%5c", "..%5C",
              "%252e%252e%252f", "%c0%ae%c0%ae/", "....//", "..;/", "%2e%2e%5c", "..%255c", ".../"]
DEPTH = 10


def traversal_paths(prefix, targets):
    paths = []
    for step in TRAVERSALS:
        for target in targets:
            paths.append(prefix + "/" + step * DEPTH + target)
            paths.append(prefix + "//" + step * DEPTH + target)
    for target in targets:
        paths.append(prefix + "/" + target.replace("/", "%2f"))
        paths.append(prefix + "//" + target)
        paths.append(prefix + "/%2f" + target.replace("/", "%2f"))
    return paths


def forbidden_markers(data_dir=None):
    markers = [b"root:x:0:0", b"SQLite format 3", b"The worker harness", PRIVATE_FN_MARKER.encode(),
               PRIVATE_ASSET_MARKER.encode(), DOTENV_MARKER.encode(), b'"visibility"']
    return markers


def assert_traversal_refused(base_url, paths, host=None):
    served = []
    for path in paths:
        status, body = raw_request(base_url, path, host=host)
        assert status < 500, f"GET {path} answered {status}"
        leaked = [marker for marker in forbidden_markers() if marker in body]
        if leaked:
            served.append((path, status, leaked))
    assert not served, f"files outside the site were served: {served[:5]}"


def traversal_targets(twirl):
    data_dir = banner_data_dir(twirl.stdout_path.read_text()) or "/tmp/twirl"
    return ["etc/passwd", data_dir.lstrip("/") + "/twirl.db", data_dir.lstrip("/") + "/harness.js",
            "twirl.db", "harness.js", "builds", "manifest.json", "functions/secret-fn.js", "package.json",
            "proc/self/environ"]


def test_traversal_under_the_domain_path(twirl, deployed):
    assert_traversal_refused(twirl.url, traversal_paths(f"/{deployed.domain_name}", traversal_targets(twirl)))


def test_traversal_through_the_host_header(twirl, deployed):
    assert_traversal_refused(twirl.url, traversal_paths("", traversal_targets(twirl)), host=deployed.domain_name)


def test_traversal_at_the_root_and_the_console(twirl):
    targets = traversal_targets(twirl)
    assert_traversal_refused(twirl.url, traversal_paths("", targets))
    assert_traversal_refused(twirl.url, traversal_paths("/_twirl/console", targets))
    assert_traversal_refused(twirl.url, traversal_paths("/_twirl", targets))


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A live project with private files and a .env beside them."""
    directory = write_function_project(tmp_path_factory.mktemp("live") / "project", FUNCTIONS, ASSETS)
    (directory / ".env").write_text(f"SECRET_VALUE={DOTENV_MARKER}\n")
    yield from running_project_server(tmp_path_factory.mktemp("live-work"), directory)


def test_live_project_private_resources_are_unreachable(live):
    assert requests.get(f"{live.url}/hello", timeout=30).text == "hello"
    for spelling in PRIVATE_SPELLINGS + ["/.env", "/%2eenv", "/package.json", "/functions/hello.js",
                                         "/assets/public.txt", "/node_modules/twilio/package.json"]:
        status, body = raw_request(live.url, spelling)
        assert_no_private_content(status, body, f"live GET {spelling}")
        assert DOTENV_MARKER.encode() not in body, f"live GET {spelling} served the .env"


def test_live_project_traversal(live):
    data_dir = banner_data_dir(live.stdout()) or "/tmp/twirl"
    targets = ["etc/passwd", ".env", "functions/secret-fn.private.js", "assets/secret.private.txt",
               data_dir.lstrip("/") + "/twirl.db", "package.json"]
    assert_traversal_refused(live.url, traversal_paths("", targets))


# --- the auth token stays out of logs -----------------------------------------------------------

def test_banner_shows_only_a_hint_of_the_token(twirl):
    stdout = twirl.stdout_path.read_text()
    line = next(line for line in stdout.splitlines() if "Auth Token" in line)
    assert twirl.auth_token not in stdout
    assert twirl.auth_token[:4] in line and "hidden" in line, line
    assert twirl.auth_token[4:12] not in line


def test_token_never_appears_in_twirl_output_or_function_logs(twirl, api, deployed):
    token = twirl.auth_token
    # Requests that carry it: Basic auth, a failed login, the token in a query and a form body,
    # and functions whose context holds it.
    for _ in range(3):
        api.fetch("/v1/Services")
    requests.get(f"{twirl.url}/v1/Services", auth=(twirl.account_sid, token + "x"), timeout=30)
    requests.get(f"{twirl.url}/v1/Services", auth=(token, token), timeout=30)
    answer = requests.get(f"{deployed.site_url}/context-keys", timeout=30).json()
    assert answer["hasToken"] and answer["token"] == token
    requests.post(f"{deployed.site_url}/hello", data={"Unrelated": "x"}, timeout=30)
    time.sleep(1.5)  # terminal lines and logs are written in batches
    outputs = {"stdout": twirl.stdout_path.read_text(errors="replace"),
               "stderr": twirl.stderr_path.read_text(errors="replace")}
    for name, text in outputs.items():
        assert token not in text, f"the auth token appears in twirl's {name}"
        assert base64.b64encode(f"{twirl.account_sid}:{token}".encode()).decode() not in text, name
    logs = api.list_all(f"{deployed.environment_path}/Logs")
    assert any("context keys" in entry["message"] for entry in logs)
    assert not [entry for entry in logs if token in entry["message"]]


# --- the worker environment ----------------------------------------------------------------------

def test_process_env_holds_only_the_allowed_keys(twirl, deployed, deployed_without_credentials):
    """The worker's own keys, the environment's variables (this project has none) and, when the
    service includes them, the account's credentials, as `context` has them; nothing of twirl's own
    environment, where secrets were put on purpose."""
    for site, credentials in ((deployed, {"ACCOUNT_SID": twirl.account_sid, "AUTH_TOKEN": twirl.auth_token}),
                              (deployed_without_credentials, {})):
        env = requests.get(f"{site.site_url}/env", timeout=30).json()["env"]
        assert set(env) <= ALLOWED_WORKER_ENV | set(credentials), sorted(env)
        assert {key: env.get(key) for key in credentials} == credentials
        text = json.dumps({key: value for key, value in env.items() if key not in credentials})
        for secret in (twirl.auth_token, twirl.account_sid, twirl.api_key_secret, "env-api-secret", "should-not-leak"):
            assert secret not in text
        assert not [key for key in env if key.startswith(("TWILIO", "TWIRL"))]


def test_worker_process_environment_and_command_line_are_clean(twirl, deployed):
    requests.get(f"{deployed.site_url}/hello", timeout=30)
    pids = worker_pids(twirl.process.pid)
    assert pids, "no worker found under twirl"
    for pid in pids:
        with open(f"/proc/{pid}/environ", "rb") as environ:
            entries = [item for item in environ.read().split(b"\0") if item]
        keys = {entry.split(b"=", 1)[0].decode() for entry in entries}
        assert keys <= ALLOWED_WORKER_ENV, (pid, sorted(keys))
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            command = cmdline.read()
        assert twirl.auth_token.encode() not in command
        assert twirl.auth_token.encode() not in b"\0".join(entries)


def test_context_credentials_only_when_the_service_includes_them(twirl, deployed, deployed_without_credentials):
    with_credentials = requests.get(f"{deployed.site_url}/context-keys", timeout=30).json()
    assert {"ACCOUNT_SID", "AUTH_TOKEN"} <= set(with_credentials["keys"])
    assert with_credentials["token"] == twirl.auth_token
    without = requests.get(f"{deployed_without_credentials.site_url}/context-keys", timeout=30).json()
    assert not {"ACCOUNT_SID", "AUTH_TOKEN"} & set(without["keys"]), without["keys"]
    assert without["token"] is None
