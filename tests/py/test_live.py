"""The live project through the real binary: `twirl serve DIR` on a copy of fixtures/live-project
(or on small projects written by the tests), served at the root of the port like `twilio-run start`,
recorded as a service with a `live` environment, with production semantics (signatures, private
resources, the execution limit) and hot reload.

Tests that only read share one server; every test that edits files gets its own server on its own
copy of the fixture. Reload waits poll the URL for up to a few seconds and never assert timings."""

import http.client
import json
import os
import re
import secrets
import shutil
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests
from twilio.request_validator import RequestValidator

from conftest import REPO_ROOT, running_project_server
from support import assert_status, eventually

FIXTURE = REPO_ROOT / "fixtures" / "live-project"
SERVICE_NAME = "live-project"
LIVE_ENVIRONMENT = "live-environment"
DEPENDENCY_TIMEOUT = 180.0  # a machine's first run installs the project's dependencies with npm
PROMOTE_TIMEOUT = 180.0
OUTPUT_TIMEOUT = 10.0
QUIET_PERIOD = 0.75  # several times the watcher's debounce: long enough for a reload to have happened
EXECUTION_LIMIT = 10.0
SLOW_MS = 11000
BROWSER_HEADERS = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
BROKEN_FUNCTION = "exports.handler = (context, event, callback) => {\n  callback(null, {;\n"
DOMAIN_RE = re.compile(r"^live-project-\d{4}-live\.twil\.io$")


# --- helpers ----------------------------------------------------------------------------------------

def copy_fixture(directory):
    shutil.copytree(FIXTURE, directory)
    return directory


def get(server, path, **kwargs):
    return get_url(server.url + path, **kwargs)


def get_url(url, **kwargs):
    kwargs.setdefault("timeout", 30)
    return requests.get(url, **kwargs)


def text_of(server, path, **kwargs):
    """(status, body text) of a GET, for polling until a reload shows."""
    response = get(server, path, **kwargs)
    return response.status_code, response.text


def wait_for_text(server, path, expected, timeout=5.0):
    result = eventually(lambda: text_of(server, path), lambda r: r == (200, expected), timeout=timeout)
    assert result == (200, expected), f"GET {path}: expected 200 {expected!r}, last seen {result!r}"


def wait_for_status(server, path, status, timeout=5.0):
    result = eventually(lambda: get(server, path), lambda r: r.status_code == status, timeout=timeout)
    assert_status(result, status)
    return result


def wait_for_output(server, pattern, stream="stdout", timeout=OUTPUT_TIMEOUT):
    """The first match of `pattern` (a regex, multiline) in the server's stdout or stderr."""
    read = server.stdout if stream == "stdout" else server.stderr
    regex = re.compile(pattern, re.MULTILINE)
    match = eventually(lambda: regex.search(read()), lambda m: m is not None, timeout=timeout)
    assert match, f"nothing matching {pattern!r} on {stream}:\n{read()}"
    return match


def route_table(server):
    """{section: [(visibility, place)]} from the route table on stdout (once it is complete)."""
    wait_for_output(server, r"^  Assets\n(?:    .*\n)+\n")
    sections, current = {}, None
    for line in server.stdout().splitlines():
        if line in ("  Functions", "  Assets"):
            current = sections.setdefault(line.strip(), [])
        elif current is not None and line.startswith("    "):
            visibility, place = line.split()
            current.append((visibility, place))
        elif not line.strip():
            current = None
    return sections


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def text_function(text):
    return f"exports.handler = (context, event, callback) => callback(null, {json.dumps(text)});\n"


def sign(auth_token, url, params=None):
    return RequestValidator(auth_token).compute_signature(url, params or {})


def live_service(api, unique_name=SERVICE_NAME):
    services = [s for s in api.list_all("/v1/Services") if s["unique_name"] == unique_name]
    assert len(services) == 1, [s["unique_name"] for s in api.list_all("/v1/Services")]
    return services[0]


def live_environment(api, service_sid):
    environments = [e for e in api.list_all(f"/v1/Services/{service_sid}/Environments")
                    if e["unique_name"] == LIVE_ENVIRONMENT]
    assert len(environments) == 1, environments
    return environments[0]


def live_build_sid(api):
    return live_environment(api, live_service(api)["sid"])["build_sid"]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_health(server):
    response = get(server, "/_twirl/health")
    assert_status(response, 200)


def wait_until_dependencies_are_ready(server):
    """TwiML needs the `twilio` module, which twirl provides from its dependency cache; the first run
    on a machine installs it in the background."""
    response = eventually(lambda: get(server, "/voice"), lambda r: r.status_code == 200,
                          timeout=DEPENDENCY_TIMEOUT, interval=0.5)
    assert_status(response, 200)


# --- fixtures ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """One server on an unedited copy of the fixture, for the tests that only read."""
    project = copy_fixture(tmp_path_factory.mktemp("shared") / "live-project")
    running = running_project_server(tmp_path_factory.mktemp("twirl"), project)
    server = next(running)
    try:
        route_table(server)
        wait_until_dependencies_are_ready(server)
        yield server
    finally:
        running.close()


@pytest.fixture
def project(tmp_path):
    """A fresh copy of the fixture for a test that edits files."""
    return copy_fixture(tmp_path / "project")


@pytest.fixture
def serve(tmp_path):
    """serve(project_dir, *extra_args, data=None) starts a server of the test's own (state in `data`,
    else thrown away); stopped after the test."""
    generators = []

    def start(project_dir, *extra_args, data=None):
        workdir = tmp_path / f"twirl-{len(generators)}"
        workdir.mkdir()
        generator = running_project_server(workdir, project_dir, *extra_args, data=data)
        generators.append(generator)
        server = next(generator)
        route_table(server)  # printed once the project is loaded and watched
        return server

    yield start
    for generator in reversed(generators):
        generator.close()


# --- start-up output --------------------------------------------------------------------------------

def test_banner_credentials_and_route_table(live):
    """The first line names the exact address bound, for tools; the rest, for people, says
    `localhost` (as twilio-run start does), which reaches twirl over IPv4 and IPv6 alike."""
    stdout = live.stdout()
    assert stdout.splitlines()[0] == f"twirl listening on {live.url}"
    assert live.url.startswith("http://127.0.0.1:")
    for line in ("API          {}/v1", "Console      {}/_twirl/"):
        assert re.search(rf"^  {re.escape(line.format(live.local_url))}$", stdout, re.MULTILINE), stdout
    port = live.url.rsplit(":", 1)[1]
    for host in ("localhost", "[::1]"):
        assert get_url(f"http://{host}:{port}/hello").text == "Ahoy from the live project"
    assert re.search(rf"^  Account SID  {live.account_sid}\b", stdout, re.MULTILINE), stdout
    # The auth token is printed, or (when it is not the well-known local one) hinted at.
    assert re.search(rf"^  Auth Token   {live.auth_token[:4]}", stdout, re.MULTILINE), stdout
    project_line = wait_for_output(live, r"^  Project      (.+) \(reloads on change\)$")
    assert project_line.group(1) == str(live.project_dir.resolve())
    environment = wait_for_output(live, r"^  Environment  (http://\S+?)/([^/\s]+)/$")
    assert environment.group(1) == live.local_url
    assert DOMAIN_RE.match(environment.group(2)), environment.group(0)

    table = route_table(live)
    functions = table["Functions"]
    assert ("public", f"{live.local_url}/hello") in functions
    assert ("public", f"{live.local_url}/counter") in functions
    assert ("protected", f"{live.local_url}/secure") in functions
    assert ("private", "/lib/util") in functions
    assert len(functions) == len(list((FIXTURE / "functions").rglob("*.js")))
    assert sorted(table["Assets"]) == sorted([
        ("public", f"{live.local_url}/index.html"),
        ("public", f"{live.local_url}/style.css"),
        ("private", "/notes.txt"),
    ])


def test_embedded_demo_without_a_project(serve, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    demo = serve(empty)
    wait_for_output(demo, r"^  Project      none here: serving the embedded demo project$")
    wait_until_dependencies_are_ready(demo)

    hello = get(demo, "/hello")
    assert_status(hello, 200)
    assert hello.headers["Content-Type"].startswith("text/plain")
    assert hello.text == "Ahoy, world!"

    time_answer = get(demo, "/time")
    assert_status(time_answer, 200)
    assert time_answer.headers["Content-Type"].startswith("application/json")
    assert isinstance(time_answer.json(), dict)

    voice = get(demo, "/voice")
    assert voice.headers["Content-Type"].startswith("text/xml")
    assert voice.text.startswith('<?xml version="1.0" encoding="UTF-8"?><Response>')

    assert_status(get(demo, "/sms"), 400)
    signed = requests.post(demo.url + "/sms", data={"Body": "hi", "From": "+15550001111"}, timeout=30,
                           headers={"X-Twilio-Signature": sign(demo.auth_token, demo.url + "/sms",
                                                               {"Body": "hi", "From": "+15550001111"})})
    assert_status(signed, 200)
    assert "You said: hi" in signed.text

    root = get(demo, "/")
    assert_status(root, 200)
    assert root.headers["Content-Type"].startswith("text/html")
    assert root.content == (REPO_ROOT / "fixtures" / "demo" / "assets" / "assets" / "index.html").read_bytes()


# --- serving at the root ----------------------------------------------------------------------------

def test_text_function_with_a_dotenv_variable(live):
    response = get(live, "/hello")
    assert_status(response, 200)
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text == "Ahoy from the live project"


def test_json_twiml_and_twilio_response(live):
    assert not (live.project_dir / "node_modules").exists(), "twirl provides the twilio module itself"
    data = get(live, "/data")
    assert data.headers["Content-Type"].startswith("application/json")
    assert data.json() == {"kind": "json", "items": [1, "two", {"three": 3}], "ok": True}

    voice = get(live, "/voice")
    assert voice.headers["Content-Type"].startswith("text/xml")
    assert voice.text == ('<?xml version="1.0" encoding="UTF-8"?>'
                          "<Response><Say>Hello from the live project</Say></Response>")

    custom = get(live, "/custom")
    assert_status(custom, 202)
    assert custom.headers["X-Live-Project"] == "yes"
    assert custom.json() == {"accepted": True}


def test_event_and_context(live):
    answer = requests.post(live.url + "/echo?from=query&shared=query", data={"shared": "form", "Body": "hi"},
                           timeout=30).json()
    assert answer == {"params": {"from": "query", "shared": "form", "Body": "hi"},
                      "greeting": "Ahoy", "path": "/echo"}


def test_private_helper_through_runtime_get_functions(live):
    response = get(live, "/helper?text=psst")
    assert_status(response, 200)
    assert response.text == "PSST!"


def test_assets_are_served_at_the_root(live):
    for path, media_type in (("/index.html", "text/html"), ("/style.css", "text/css")):
        response = get(live, path)
        assert_status(response, 200)
        assert response.headers["Content-Type"].startswith(media_type)
        assert response.content == (FIXTURE / "assets" / path.lstrip("/")).read_bytes()


@pytest.mark.parametrize("path", ["/lib/util", "/notes.txt", "/notes.private.txt", "/no-such-thing"])
def test_private_resources_and_unknown_paths_are_404(live, path):
    assert_status(get(live, path), 404)


def test_protected_function_needs_a_valid_signature(live):
    url = live.url + "/secure"
    assert_status(get(live, "/secure"), 400)
    assert_status(get(live, "/secure", headers={"X-Twilio-Signature": sign("wrong-token", url)}), 400)

    signed_get = get(live, "/secure", headers={"X-Twilio-Signature": sign(live.auth_token, url)})
    assert_status(signed_get, 200)
    assert signed_get.json() == {"secure": True, "body": None}

    params = {"Body": "signed", "From": "+15550001111"}
    signature = sign(live.auth_token, url, params)
    posted = requests.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=30)
    assert_status(posted, 200)
    assert posted.json() == {"secure": True, "body": "signed"}
    tampered = requests.post(url, data={**params, "Body": "tampered"}, timeout=30,
                             headers={"X-Twilio-Signature": signature})
    assert_status(tampered, 400)


def test_module_state_persists_between_requests(live):
    answers = [get(live, "/counter").json() for _ in range(6)]
    by_worker = {}
    for answer in answers:
        by_worker.setdefault(answer["pid"], []).append(answer["count"])
    assert any(len(counts) >= 2 for counts in by_worker.values()), by_worker
    for pid, counts in by_worker.items():
        assert counts == sorted(set(counts)), f"worker {pid} lost its module state: {by_worker}"


def test_health(live):
    assert_health(live)


# --- the live project in the API ----------------------------------------------------------------------

def test_live_project_is_a_service_with_a_live_environment(live):
    service = live_service(live.api)
    assert service["friendly_name"] == "live-project"
    environment = live_environment(live.api, service["sid"])
    assert environment["domain_suffix"] == "live"
    assert DOMAIN_RE.match(environment["domain_name"]), environment["domain_name"]
    assert environment["build_sid"].startswith("ZB"), environment

    build = live.api.fetch(f"/v1/Services/{service['sid']}/Builds/{environment['build_sid']}")
    assert build["status"] == "completed"
    paths = {version["path"] for version in build["function_versions"]}
    assert {"/hello", "/secure", "/lib/util"} <= paths

    stdout_domain = wait_for_output(live, r"^  Environment  http://\S+?/([^/\s]+)/$").group(1)
    assert stdout_domain == environment["domain_name"]
    response = get(live, f"/{environment['domain_name']}/hello")
    assert_status(response, 200)
    assert response.text == "Ahoy from the live project"
    context_answer = get(live, f"/{environment['domain_name']}/echo").json()
    assert context_answer["greeting"] == "Ahoy"


def test_dotenv_variables_are_the_live_environments_variables(live):
    service = live_service(live.api)
    environment = live_environment(live.api, service["sid"])
    variables = live.api.list_all(f"/v1/Services/{service['sid']}/Environments/{environment['sid']}/Variables")
    assert {v["key"]: v["value"] for v in variables} == {"GREETING": "Ahoy"}


def test_logs_of_live_invocations_are_listed(live):
    tag = secrets.token_hex(4)
    assert get(live, f"/log?tag={tag}").text == "logged"
    service = live_service(live.api)
    environment = live_environment(live.api, service["sid"])
    logs_path = f"/v1/Services/{service['sid']}/Environments/{environment['sid']}/Logs?PageSize=50"

    def tagged():
        return [entry for entry in live.api.fetch(logs_path)["logs"] if tag in entry["message"]]

    entries = eventually(tagged, bool)
    assert [(entry["level"], entry["message"]) for entry in entries] == [("info", f"live log {tag}")]
    assert entries[0]["build_sid"] == environment["build_sid"]
    assert entries[0]["environment_sid"] == environment["sid"]


# --- visibility options -----------------------------------------------------------------------------

def test_allow_unsigned_serves_protected_functions_without_a_signature(serve, project):
    server = serve(project, "--allow-unsigned")
    warning = wait_for_output(server, r"^.*WARNING.*$")
    assert "--allow-unsigned" in warning.group(0)
    response = get(server, "/secure")
    assert_status(response, 200)
    assert response.json() == {"secure": True, "body": None}
    assert_status(get(server, "/lib/util"), 404)
    assert_status(get(server, "/notes.txt"), 404)


def test_without_allow_unsigned_there_is_no_warning(live):
    route_table(live)
    assert "WARNING" not in live.stdout()


# --- project layouts --------------------------------------------------------------------------------

def test_src_and_static_folders_whitespace_package_name_and_own_node_modules(serve, tmp_path):
    root = tmp_path / "layout"
    write(root / "package.json", json.dumps({"name": "@acme/Layout App_2", "dependencies": {}}))
    write(root / "node_modules" / "greeter" / "index.js",
          "exports.greet = (name) => `Greetings, ${name}`;\n")
    write(root / "src" / "my greeting.js",
          "const { greet } = require('greeter');\n"
          "exports.handler = (context, event, callback) => callback(null, greet(event.name || 'you'));\n")
    write(root / "src" / "notes.txt", "not a function\n")
    write(root / "src" / "nested" / "deep.js", text_function("deep"))
    write(root / "static" / "my page.html", "<p>page</p>\n")
    server = serve(root)

    greeting = get(server, "/my-greeting?name=Ada")
    assert_status(greeting, 200)
    assert greeting.text == "Greetings, Ada"
    assert get(server, "/nested/deep").text == "deep"
    page = get(server, "/my-page.html")
    assert_status(page, 200)
    assert page.text == "<p>page</p>\n"
    assert_status(get(server, "/notes.txt"), 404)
    assert_status(get(server, "/notes"), 404)

    service = live_service(server.api, "layout-app-2")
    assert live_environment(server.api, service["sid"])["domain_name"].startswith("layout-app-2-")


def test_twilioserverlessrc_folders(serve, tmp_path):
    root = tmp_path / "rc"
    write(root / "package.json", json.dumps({"name": "rc-project"}))
    write(root / ".twilioserverlessrc", json.dumps({"functionsFolder": "fns", "assetsFolder": "public"}))
    write(root / "fns" / "from-rc.js", text_function("from the configured folder"))
    write(root / "functions" / "ignored.js", text_function("the default folder is not read"))
    write(root / "public" / "file.txt", "configured assets\n")
    server = serve(root)

    assert get(server, "/from-rc").text == "from the configured folder"
    assert get(server, "/file.txt").text == "configured assets\n"
    assert_status(get(server, "/ignored"), 404)


# --- hot reload -------------------------------------------------------------------------------------

def test_content_edit_is_live(serve, project):
    server = serve(project)
    assert get(server, "/hello").text == "Ahoy from the live project"
    write(project / "functions" / "hello.js", text_function("edited"))
    wait_for_text(server, "/hello", "edited")
    write(project / "assets" / "style.css", "body { color: red; }\n")
    wait_for_text(server, "/style.css", "body { color: red; }\n")


def test_new_files_are_live(serve, project):
    server = serve(project)
    assert_status(get(server, "/added"), 404)
    write(project / "functions" / "added.js", text_function("new function"))
    write(project / "functions" / "deep" / "er" / "nested.js", text_function("nested new function"))
    write(project / "assets" / "added.txt", "new asset\n")
    wait_for_text(server, "/added", "new function")
    wait_for_text(server, "/deep/er/nested", "nested new function")
    wait_for_text(server, "/added.txt", "new asset\n")
    write(project / "functions" / "guarded.protected.js", text_function("guarded"))
    wait_for_status(server, "/guarded", 400)


def test_deleted_files_are_gone(serve, project):
    server = serve(project)
    assert_status(get(server, "/data"), 200)
    (project / "functions" / "data.js").unlink()
    (project / "assets" / "style.css").unlink()
    wait_for_status(server, "/data", 404)
    wait_for_status(server, "/style.css", 404)
    assert get(server, "/hello").text == "Ahoy from the live project"


def test_renamed_file_moves(serve, project):
    server = serve(project)
    (project / "functions" / "hello.js").rename(project / "functions" / "greet.js")
    wait_for_text(server, "/greet", "Ahoy from the live project")
    wait_for_status(server, "/hello", 404)
    (project / "assets" / "index.html").rename(project / "assets" / "home.html")
    wait_for_status(server, "/home.html", 200)
    wait_for_status(server, "/index.html", 404)


def test_dotenv_changes_reach_the_context(serve, project):
    server = serve(project)
    write(project / ".env", "GREETING=Hej\nEXTRA=yes\n")
    wait_for_text(server, "/hello", "Hej from the live project")
    service = live_service(server.api)
    environment = live_environment(server.api, service["sid"])
    variables = server.api.list_all(
        f"/v1/Services/{service['sid']}/Environments/{environment['sid']}/Variables")
    assert {v["key"]: v["value"] for v in variables} == {"GREETING": "Hej", "EXTRA": "yes"}


def test_package_json_changes_are_live(serve, project):
    server = serve(project)
    assert live_service(server.api)["unique_name"] == SERVICE_NAME
    package = json.loads((project / "package.json").read_text())
    package["name"] = "renamed-project"
    write(project / "package.json", json.dumps(package, indent=2))

    def renamed():
        return [s for s in server.api.list_all("/v1/Services") if s["unique_name"] == "renamed-project"]

    services = eventually(renamed, bool)
    assert services, [s["unique_name"] for s in server.api.list_all("/v1/Services")]
    environment = live_environment(server.api, services[0]["sid"])
    assert environment["domain_name"].startswith("renamed-project-")
    assert get(server, "/hello").text == "Ahoy from the live project"
    response = get(server, f"/{environment['domain_name']}/hello")
    assert_status(response, 200)


def test_every_change_is_a_new_live_build(serve, project):
    server = serve(project)
    first = live_build_sid(server.api)
    write(project / "functions" / "hello.js", text_function("second"))
    second = eventually(lambda: live_build_sid(server.api), lambda sid: sid != first)
    assert second != first
    write(project / "functions" / "hello.js", text_function("third"))
    third = eventually(lambda: live_build_sid(server.api), lambda sid: sid not in (first, second))
    assert third not in (first, second)
    wait_for_text(server, "/hello", "third")
    # Each save supersedes the last: only the build served is kept (tests/py/test_live_history.py).
    service = live_service(server.api)
    builds = {b["sid"] for b in server.api.list_all(f"/v1/Services/{service['sid']}/Builds")}
    assert builds == {third}


def test_editor_temporaries_node_modules_and_git_are_ignored(serve, project):
    server = serve(project)
    route_table(server)
    before = live_build_sid(server.api)
    write(project / "functions" / ".hello.js.swp", "swap file")
    write(project / "functions" / "hello.js~", "backup")
    write(project / "assets" / ".style.css.swp", "swap file")
    write(project / "assets" / "style.css~", "backup")
    write(project / "functions" / "node_modules" / "dep" / "index.js", text_function("dependency"))
    write(project / "node_modules" / "dep" / "index.js", "module.exports = 1;\n")
    write(project / ".git" / "HEAD", "ref: refs/heads/main\n")
    time.sleep(QUIET_PERIOD)
    assert live_build_sid(server.api) == before, "an ignored file caused a reload"
    for path in ("/style.css~", "/.style.css.swp", "/node_modules/dep/index", "/node_modules/dep"):
        assert_status(get(server, path), 404)

    write(project / "functions" / "hello.js", text_function("still watching"))
    wait_for_text(server, "/hello", "still watching")
    service = live_service(server.api)
    build = server.api.fetch(f"/v1/Services/{service['sid']}/Builds/{live_build_sid(server.api)}")
    paths = {v["path"] for v in build["function_versions"] + build["asset_versions"]}
    assert not {p for p in paths if "node_modules" in p or p.endswith("~") or ".swp" in p}, paths


def test_syntax_error_answers_500_until_fixed(serve, project):
    server = serve(project)
    original = (project / "functions" / "data.js").read_text()
    write(project / "functions" / "data.js", BROKEN_FUNCTION)

    failed = wait_for_status(server, "/data", 500)
    assert failed.headers["Content-Type"].startswith("application/json")
    error = failed.json()
    assert set(error) == {"message", "name", "stack"}, error
    assert error["name"] == "SyntaxError", error

    page = get(server, "/data", headers=BROWSER_HEADERS)
    assert_status(page, 500)
    assert page.headers["Content-Type"].startswith("text/html")
    assert "<title>Runtime Error</title>" in page.text

    assert get(server, "/hello").text == "Ahoy from the live project"
    assert_health(server)

    write(project / "functions" / "data.js", original)
    fixed = wait_for_status(server, "/data", 200)
    assert fixed.json()["kind"] == "json"
    assert server.process.poll() is None


def test_syntax_error_is_reported_on_save(serve, project):
    server = serve(project)
    write(project / "functions" / "data.js", BROKEN_FUNCTION)
    wait_for_output(server, r"^.*functions/data\.js: .*SyntaxError.*$", stream="stderr")
    assert_status(get(server, "/hello"), 200)
    write(project / "functions" / "data.js", (FIXTURE / "functions" / "data.js").read_text())
    wait_for_output(server, r"^.*all problems fixed.*$", stream="stderr")
    assert_status(get(server, "/data"), 200)


def test_path_collision_is_reported_and_the_server_keeps_serving(serve, project):
    server = serve(project)
    write(project / "functions" / "hello.protected.js", text_function("the protected twin"))
    line = wait_for_output(server, r"^.*hello\.protected\.js.*$", stream="stderr").group(0)
    assert "functions/hello.js" in line or "hello.js " in line, line
    assert "/hello" in line, line
    assert_status(get(server, "/data"), 200)
    assert_health(server)
    assert server.process.poll() is None

    (project / "functions" / "hello.protected.js").unlink()
    write(project / "functions" / "hello.js", text_function("collision resolved"))
    wait_for_text(server, "/hello", "collision resolved")


def test_an_edit_reloads_the_module_of_a_warm_worker(serve, project):
    server = serve(project)
    counts = [get(server, "/counter").json()["count"] for _ in range(3)]
    assert max(counts) >= 2, counts
    source = (project / "functions" / "counter.js").read_text()
    write(project / "functions" / "counter.js", source.replace("let count = 0;", "let count = 100;"))
    answer = eventually(lambda: get(server, "/counter").json(), lambda a: a["count"] > 100)
    assert answer["count"] == 101, answer
    assert get(server, "/counter").json()["count"] == 102


def test_an_edit_served_while_it_is_recorded_logs_under_the_build_that_records_it(serve, project):
    """An edit of a file's contents alone is served while the store records it: the log lines of
    the requests it serves name the build and the deployment that record it."""
    server = serve(project)
    service = live_service(server.api)
    environment = live_environment(server.api, service["sid"])
    environment_path = f"/v1/Services/{service['sid']}/Environments/{environment['sid']}"
    source = (project / "functions" / "log.js").read_text()
    assert get(server, "/log").text == "logged"  # its site is loaded and a worker is warm
    build = environment["build_sid"]
    for edit in range(3):
        tag = secrets.token_hex(4)
        edited = source.replace("live log", f"edit {edit}").replace("'logged'", f"'edit {edit}'")
        write(project / "functions" / "log.js", edited)
        wait_for_text(server, f"/log?tag={tag}", f"edit {edit}")

        def logged():
            logs = server.api.fetch(f"{environment_path}/Logs?PageSize=50")["logs"]
            return [entry for entry in logs if entry["message"] == f"edit {edit} {tag}"]

        entries = eventually(logged, bool)
        assert len(entries) == 1, entries
        recorded = live_environment(server.api, service["sid"])["build_sid"]
        assert recorded != build, "the edit is a new build"
        build = recorded
        assert entries[0]["build_sid"] == build
        deployment = server.api.fetch(f"{environment_path}/Deployments/{entries[0]['deployment_sid']}")
        assert deployment["build_sid"] == build


def test_polling_watcher(serve, project):
    server = serve(project, "--poll")
    write(project / "functions" / "hello.js", text_function("seen by polling"))
    wait_for_text(server, "/hello", "seen by polling")
    write(project / "functions" / "polled.js", text_function("new by polling"))
    wait_for_text(server, "/polled", "new by polling")


def test_no_watch(serve, project):
    server = serve(project, "--no-watch")
    wait_for_output(server, r"^  Project      .+ \(not watched\)$")
    before = live_build_sid(server.api)
    write(project / "functions" / "unseen.js", text_function("unseen"))
    write(project / ".env", "GREETING=Unseen\n")
    (project / "functions" / "data.js").unlink()
    time.sleep(QUIET_PERIOD)
    assert_status(get(server, "/unseen"), 404)
    assert get(server, "/hello").text == "Ahoy from the live project"
    assert live_build_sid(server.api) == before


# --- promotion ----------------------------------------------------------------------------------------

def test_live_build_can_be_promoted_to_another_environment(serve, project):
    server = serve(project)
    api = server.api
    service = live_service(api)
    build_sid = live_environment(api, service["sid"])["build_sid"]
    stage = api.create(f"/v1/Services/{service['sid']}/Environments",
                       {"UniqueName": "stage-environment", "DomainSuffix": "stage"})
    deployment = api.create(f"/v1/Services/{service['sid']}/Environments/{stage['sid']}/Deployments",
                            {"BuildSid": build_sid})
    assert deployment["build_sid"] == build_sid
    # Variables belong to an environment: the promoted build reads the stage environment's own.
    api.create(f"/v1/Services/{service['sid']}/Environments/{stage['sid']}/Variables",
               {"Key": "GREETING", "Value": "Hallo"})

    promoted = eventually(lambda: get(server, f"/{stage['domain_name']}/hello"),
                          lambda r: r.status_code == 200, timeout=PROMOTE_TIMEOUT, interval=0.5)
    assert_status(promoted, 200)
    assert promoted.text == "Hallo from the live project"
    voice = get(server, f"/{stage['domain_name']}/voice")
    assert_status(voice, 200)
    assert "<Say>Hello from the live project</Say>" in voice.text

    # The promoted build is a snapshot: later edits only change the live environment.
    write(project / "functions" / "hello.js", text_function("edited after promotion"))
    wait_for_text(server, "/hello", "edited after promotion")
    assert get(server, f"/{stage['domain_name']}/hello").text == "Hallo from the live project"


# --- the execution limit and the inspector ------------------------------------------------------------

def test_execution_limit_and_inspector(live, serve, project):
    """A function that sleeps 11 s: cut off at 10 s normally; allowed to finish under --inspect,
    where Node's inspector is open on the live project's worker. Both requests run at once."""
    inspector = f"127.0.0.1:{free_port()}"
    debugged = serve(project, f"--inspect={inspector}")
    line = wait_for_output(debugged, r"^  Inspector.*$").group(0)
    assert inspector in line and "10 s" in line, line
    assert get(debugged, "/hello").text == "Ahoy from the live project"

    def inspector_targets():
        try:
            return requests.get(f"http://{inspector}/json/list", timeout=5).json()
        except requests.RequestException:
            return []

    targets = eventually(inspector_targets, bool)
    assert targets and all("webSocketDebuggerUrl" in target for target in targets), targets

    results = {}

    def call(name, server):
        started = time.monotonic()
        response = get(server, f"/sleep?ms={SLOW_MS}", timeout=60)
        results[name] = (response, time.monotonic() - started)

    threads = [threading.Thread(target=call, args=("limited", live)),
               threading.Thread(target=call, args=("debugged", debugged))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    limited, limited_elapsed = results["limited"]
    assert_status(limited, 504)
    assert limited_elapsed < SLOW_MS / 1000, f"the limit did not cut it off ({limited_elapsed:.1f} s)"
    debugged_answer, _ = results["debugged"]
    assert_status(debugged_answer, 200)
    assert debugged_answer.json() == {"slept": SLOW_MS}
    assert get(live, "/hello").text == "Ahoy from the live project"


# --- .env as twilio-run reads it, and the live service's identity --------------------------------------

def test_duplicate_dotenv_keys_serve_the_last_and_reset_keeps_the_live_project(serve, project):
    """dotenv keeps the last of duplicate keys; neither start-up nor `twirl reset` trips on them, and
    the live service keeps its SIDs and domain across a reset and a restart (they derive from the
    project's name), so the URLs printed stay right."""
    write(project / ".env", "GREETING=first\nGREETING=Hej\n")
    server = serve(project)
    assert get(server, "/hello").text == "Hej from the live project"
    service = live_service(server.api)
    environment = live_environment(server.api, service["sid"])

    assert_status(requests.post(server.url + "/_twirl/reset", timeout=30), 200)
    after_reset = live_environment(server.api, live_service(server.api)["sid"])
    assert (after_reset["service_sid"], after_reset["sid"], after_reset["domain_name"]) == \
        (service["sid"], environment["sid"], environment["domain_name"])
    assert get(server, "/hello").text == "Hej from the live project"
    assert get(server, f"/{environment['domain_name']}/hello").text == "Hej from the live project"

    server.stop()
    again = serve(project)
    restarted = live_environment(again.api, live_service(again.api)["sid"])
    assert (restarted["service_sid"], restarted["sid"], restarted["domain_name"]) == \
        (service["sid"], environment["sid"], environment["domain_name"])


def test_api_edits_of_live_variables_stick_until_dotenv_changes_that_key(serve, project):
    server = serve(project)
    service = live_service(server.api)
    variables = f"/v1/Services/{service['sid']}/Environments/{live_environment(server.api, service['sid'])['sid']}/Variables"
    greeting = next(v for v in server.api.list_all(variables) if v["key"] == "GREETING")
    assert_status(server.api.post(f"{variables}/{greeting['sid']}", data={"Value": "Hallo"}), 200)
    server.api.create(variables, {"Key": "EXTRA", "Value": "from the API"})
    assert get(server, "/hello").text == "Hallo from the live project"

    # A save that does not touch GREETING in .env keeps the edit, and says so.
    before = live_build_sid(server.api)
    write(project / "functions" / "added.js", text_function("added"))
    eventually(lambda: live_build_sid(server.api), lambda sid: sid != before)
    assert get(server, "/hello").text == "Hallo from the live project"
    wait_for_output(server, r'GREETING was changed through the API and keeps "Hallo" over \.env\'s "Ahoy" '
                            r"until \.env changes GREETING", stream="stderr")
    live_state = get(server, "/_twirl/live").json()
    assert live_state["edited_variables"] == [{"key": "GREETING", "value": "Hallo", "dotenv": "Ahoy"}]

    # .env changing the key wins; a variable .env never had stays.
    write(project / ".env", "GREETING=Hej\n")
    wait_for_text(server, "/hello", "Hej from the live project")
    assert {v["key"]: v["value"] for v in server.api.list_all(variables)} == {"GREETING": "Hej", "EXTRA": "from the API"}
    assert get(server, "/_twirl/live").json()["edited_variables"] == []


# --- dependencies ---------------------------------------------------------------------------------------

class GatedNpm:
    """A `node` (the one on PATH, which twirl would use) with an `npm` beside it that waits, before
    running the real npm, until `release()` is called — for installs whose package.json mentions
    `gate` (every install when `None`) — so a test sees what twirl does while an install runs."""

    def __init__(self, directory, gate=None):
        directory.mkdir(parents=True)
        node, npm = shutil.which("node"), shutil.which("npm")
        if not node or not npm:
            pytest.fail("node and npm are needed on PATH", pytrace=False)
        self.node = directory / "node"
        self.node.symlink_to(node)
        self.released = directory / "released"
        wrapper = directory / "npm"
        condition = f"grep -q '{gate}' package.json" if gate else "true"
        wrapper.write_text("#!/bin/sh\n"
                           f"if {condition}; then\n"
                           f"  while [ ! -e '{self.released}' ]; do sleep 0.05; done\n"
                           "fi\n"
                           f"exec '{npm}' \"$@\"\n")
        wrapper.chmod(0o755)

    def release(self):
        self.released.touch()


def build_status(server, build_sid):
    service = live_service(server.api)
    return server.api.fetch(f"/v1/Services/{service['sid']}/Builds/{build_sid}")["status"]


def live_state(server):
    return get(server, "/_twirl/live").json()


def test_a_first_install_holds_function_requests_within_a_bound(serve, project, tmp_path):
    """With a cold dependency cache, functions wait while the first set installs (assets do not): past
    the bound a 503 says why; a request made during the install is answered once it is done. The
    live build is `building` until then."""
    npm = GatedNpm(tmp_path / "tools")
    server = serve(project, "--cache", tmp_path / "cache", "--node", npm.node)
    assert live_state(server)["dependencies"] == {"installing": "@twilio/runtime-handler@2.1.0, twilio@^5.0.0"}
    build = live_build_sid(server.api)
    assert build_status(server, build) == "building"
    assert_status(get(server, "/style.css"), 200)

    held_too_long = get(server, "/voice", timeout=60)
    assert_status(held_too_long, 503)
    assert held_too_long.json()["code"] == 20503
    assert "still being installed (@twilio/runtime-handler@2.1.0, twilio@^5.0.0)" in held_too_long.json()["message"]

    # Sent while the install is blocked (a function not held would be answered 500 at once).
    address = urlsplit(server.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=120)
    connection.request("GET", "/voice")
    npm.release()
    answer = connection.getresponse()
    assert (answer.status, answer.read().decode()) == (200, '<?xml version="1.0" encoding="UTF-8"?>'
                                                            "<Response><Say>Hello from the live project</Say></Response>")
    connection.close()
    assert build_status(server, build) == "completed"
    assert live_state(server)["dependencies"] == {"installing": None}
    wait_for_output(server, r"installing @twilio/runtime-handler@2\.1\.0, twilio@\^5\.0\.0…$", stream="stderr")
    wait_for_output(server, r"installed @twilio/runtime-handler@2\.1\.0, twilio@\^5\.0\.0 in [\d.]+ s$", stream="stderr")


ODD_FUNCTION = "exports.handler = (context, event, callback) => callback(null, { odd: require('is-odd')(3) });\n"


def with_dependency(project, name, version):
    package = json.loads((FIXTURE / "package.json").read_text())
    package["dependencies"][name] = version
    write(project / "package.json", json.dumps(package, indent=2))


def require_is_odd(project, version):
    """Adds /odd, which requires is-odd, and is-odd@`version` to package.json."""
    write(project / "functions" / "odd.js", ODD_FUNCTION)
    with_dependency(project, "is-odd", version)


def assert_only_is_odd_is_missing(server, why, build_status_now):
    """/odd fails on the missing module, saying `why`; the functions of the previous set still work;
    the live build is `build_status_now`. Returns the live build's SID."""
    missing = wait_for_status(server, "/odd", 500)
    assert missing.json()["message"].startswith(f"Cannot find module 'is-odd' ({why})"), missing.json()
    assert_status(get(server, "/voice"), 200)
    build = live_build_sid(server.api)
    assert build_status(server, build) == build_status_now
    return build


def test_a_package_json_change_installs_while_the_previous_set_serves(serve, project, tmp_path):
    npm = GatedNpm(tmp_path / "tools", gate="is-odd")
    server = serve(project, "--cache", tmp_path / "cache", "--node", npm.node)
    wait_until_dependencies_are_ready(server)
    require_is_odd(project, "^3")

    wait_for_output(server, r"installing is-odd@\^3…$", stream="stderr")
    assert live_state(server)["dependencies"] == {"installing": "is-odd@^3"}
    build = assert_only_is_odd_is_missing(
        server, "is-odd@^3 is being installed; until then the project runs with its previous dependencies", "building")

    npm.release()
    answer = eventually(lambda: get(server, "/odd"), lambda r: r.status_code == 200, timeout=DEPENDENCY_TIMEOUT)
    assert answer.json() == {"odd": True}
    wait_for_output(server, r"installed is-odd@\^3 in [\d.]+ s$", stream="stderr")
    assert build_status(server, build) == "completed"
    assert live_state(server)["dependencies"] == {"installing": None}


def test_a_dependency_that_cannot_be_installed_is_reported_until_fixed(serve, project):
    server = serve(project)
    wait_until_dependencies_are_ready(server)
    require_is_odd(project, "^99")
    problem = "package.json: cannot install is-odd@^99: No matching version found for is-odd@^99."
    wait_for_output(server, re.escape(problem), stream="stderr", timeout=DEPENDENCY_TIMEOUT)
    assert live_state(server)["problems"] == [problem]

    build = assert_only_is_odd_is_missing(
        server, "the project's dependencies could not be installed: is-odd@^99: No matching version found for "
                "is-odd@^99.", "failed")
    reason = get(server, f"/_twirl/builds/{build}").json()["failure_reason"]
    assert "ETARGET" in reason and "is-odd@^99" in reason, reason

    with_dependency(project, "is-odd", "^3")
    answer = eventually(lambda: get(server, "/odd"), lambda r: r.status_code == 200, timeout=DEPENDENCY_TIMEOUT)
    assert answer.json() == {"odd": True}
    assert live_state(server)["problems"] == []
    wait_for_output(server, r"all problems fixed", stream="stderr")


def test_a_broken_package_json_is_reported_precisely_and_cleared_when_fixed(serve, project):
    """With state inside the project (the default), a broken package.json must not stop the workers:
    it is the one problem shown, functions answer Node's error naming it, and fixing it clears it."""
    good = (project / "package.json").read_text()
    write(project / "package.json", good.replace('"private": true,', '"private": true,,'))
    server = serve(project, data=project / ".twirl")
    problems = eventually(lambda: live_state(server)["problems"], bool)
    assert len(problems) == 1 and problems[0].startswith("package.json: "), problems
    failed = get(server, "/hello")
    assert_status(failed, 500)
    assert "package.json" in failed.json()["message"], failed.json()
    assert "did not become ready" not in failed.text

    write(project / "package.json", good)
    wait_for_text(server, "/hello", "Ahoy from the live project")
    assert eventually(lambda: live_state(server)["problems"], lambda p: p == []) == []
    wait_for_output(server, r"all problems fixed", stream="stderr")
