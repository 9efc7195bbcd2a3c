"""Parity with `twilio-run start`: the same requests to twilio-run and to twirl, each serving its own copy
of fixtures/live-project, must get the same status, media type and body.

twilio-run (pinned below, with the runtime handler it loads from the project and `twilio`) is installed
with npm into target/parity/ on first use; the copy it serves links that node_modules. twirl's copy has
no node_modules (twirl provides `twilio` from its dependency cache). Both copies get an
`assets/assets/index.html`, the asset both servers answer `GET /` with.

Deliberate differences, each asserted explicitly by a test below:

| Request | twilio-run start | twirl | Why |
|---|---|---|---|
| protected function, no `X-Twilio-Signature` | 200, runs it | 400 | Twilio rejects unsigned requests to protected functions; twilio-run does not check (serverless-toolkit#31). With a valid signature both answer the same. |
| private function (`/lib/util`) | 200, runs it | 404 | Private functions are not reachable over HTTP on Twilio; twilio-run serves them (serverless-toolkit#194). |
| private asset (`/notes.txt`) | 403, text "This asset has been marked as private" | 404 | Private assets are not reachable over HTTP on Twilio. |
| function running 11 s | 200 after 11 s | 504 after 10 s | Twilio's 10 s execution limit; twilio-run has none. |
| module state between requests (`/counter` twice) | count 1, 1 (a process per request) | count 1, 2 (warm worker) | Twilio keeps warm containers; twilio-run forks a process per request by default. |
| unknown path | 404, text/html "Could not find requested resource" | 404, JSON Twilio error 20404 | twirl answers every gateway error (400, 404, 405, 504) in Twilio's error shape. |
| other methods (`PUT`) | runs the function | 405 | Functions accept GET and POST only in production. |
| error page for browsers | HTML chosen by a browser `User-Agent` | HTML chosen by `Accept: text/html` | twirl negotiates on what the client accepts; a real browser sends both, and then both answer HTML. |
| error stack | the function's frames, then twilio-run's runner's | the function's frames, then `at [twirl internals]` | Neither runner is the user's code; the message line and the function's own frame are compared. |

The runtime behaviours real Functions rely on are compared on fixtures/parity-project (a second pair of
servers): `.env` values in `context` and `process.env`, `DOMAIN_NAME`, late callbacks, promises and their
rejections, JSON array bodies. Deliberate differences there:

| Request | twilio-run start | twirl | Why |
|---|---|---|---|
| `process.env.PATH` (and HOME, NODE_ENV) | absent: `process.env` is replaced by the `.env` map | the worker's own | Production keeps the process's environment and adds the variables. |
| handler whose promise resolves without a callback | never answers | 504 at the 10 s limit | Production: a function that does not call `callback()` "will continue executing until it reaches the time limit" (Functions FAQ); twilio-run has no limit. |
| rejection right after the callback, in the same tick | answers, then its server crashes (`ERR_HTTP_HEADERS_SENT`) | answers, logs the rejection | A broken function never takes the server down. (With the rejection a moment later, both answer and go on; compared below.) |
| `Twilio.Response` with `setStatusCode(undefined)` | its server crashes (`ERR_HTTP_INVALID_STATUS_CODE`) | 500, `RangeError: Invalid status code: undefined (…)` | Same; not compared here, as it would stop the twilio-run these tests share (tests/py/test_runtime.py). |
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest
import requests
from twilio.request_validator import RequestValidator

from conftest import REPO_ROOT, running, running_project_server
from support import assert_status, eventually

FIXTURE = REPO_ROOT / "fixtures" / "live-project"
RUNTIME_FIXTURE = REPO_ROOT / "fixtures" / "parity-project"
PARITY_DIR = REPO_ROOT / "target" / "parity"
TWILIO_RUN_VERSION = "4.2.0"
PACKAGES = [f"twilio-run@{TWILIO_RUN_VERSION}", "@twilio/runtime-handler@2.1.0", "twilio@5"]
INSTALL_TIMEOUT = 600
STARTUP_TIMEOUT = 60.0
SHUTDOWN_TIMEOUT = 10
SLOW_MS = 11000
EXECUTION_LIMIT = 10.0
ROOT_INDEX = "<!doctype html><title>root</title><p>served at /</p>\n"
BROWSER_USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                      "Chrome/120.0.0.0 Safari/537.36")
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


# --- twilio-run -------------------------------------------------------------------------------------

def install_twilio_run():
    """node_modules with twilio-run and what it loads, installed once into target/parity/."""
    modules = PARITY_DIR / "node_modules"
    stamp = PARITY_DIR / ".installed"
    wanted = json.dumps(PACKAGES)
    binary = modules / ".bin" / "twilio-run"
    if binary.exists() and stamp.is_file() and stamp.read_text() == wanted:
        return modules
    if shutil.which("npm") is None:
        pytest.fail("npm is needed to install twilio-run for the parity tests", pytrace=False)
    PARITY_DIR.mkdir(parents=True, exist_ok=True)
    package = PARITY_DIR / "package.json"
    if not package.is_file():
        package.write_text(json.dumps({"name": "twirl-parity", "private": True}, indent=2) + "\n")
    try:
        result = subprocess.run(["npm", "install", "--no-audit", "--no-fund", *PACKAGES], cwd=PARITY_DIR,
                                capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"npm install {' '.join(PACKAGES)} took over {INSTALL_TIMEOUT} s", pytrace=False)
    if result.returncode != 0 or not binary.exists():
        pytest.fail(f"npm install {' '.join(PACKAGES)} failed ({result.returncode}):\n"
                    f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}", pytrace=False)
    stamp.write_text(wanted)
    return modules


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TwilioRun:
    """`twilio-run start --port P` in a project directory (which has a /hello function), in a process
    group of its own (it forks a process per request)."""

    def __init__(self, project_dir, modules, logdir):
        self.project_dir = project_dir
        self.modules = modules
        self.log_path = logdir / "twilio-run.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self):
        environment = dict(os.environ, NO_UPDATE_NOTIFIER="1", CI="true", FORCE_COLOR="0")
        for key in ("ACCOUNT_SID", "AUTH_TOKEN", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "PORT"):
            environment.pop(key, None)
        with open(self.log_path, "w", encoding="utf-8") as log:
            self.process = subprocess.Popen(
                [str(self.modules / ".bin" / "twilio-run"), "start", "--port", str(self.port)],
                cwd=self.project_dir, env=environment, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if requests.get(self.url + "/hello", timeout=5).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"twilio-run did not serve /hello within {STARTUP_TIMEOUT:.0f} s:\n"
                    f"{self.log_path.read_text()[-3000:]}", pytrace=False)

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=SHUTDOWN_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def project_copy(directory):
    shutil.copytree(FIXTURE, directory)
    (directory / "assets" / "assets").mkdir()
    (directory / "assets" / "assets" / "index.html").write_text(ROOT_INDEX)
    return directory


def twilio_run_in(tmp_path_factory, project_dir):
    """twilio-run serving a copy of `project_dir` whose node_modules links the installed one."""
    modules = install_twilio_run()
    base = tmp_path_factory.mktemp("twilio-run")
    (project_dir / "node_modules").symlink_to(modules, target_is_directory=True)
    yield from running(TwilioRun(project_dir, modules, base))


def twirl_in(tmp_path_factory, project_dir, ready_path):
    """twirl serving `project_dir` (without node_modules: twirl provides its dependencies)."""
    workdir = tmp_path_factory.mktemp("twirl-parity")
    running = running_project_server(workdir, project_dir)
    server = next(running)
    try:
        # The route table is printed once the project is loaded; functions wait (within a bound)
        # while the first run on a machine installs the dependencies into twirl's cache.
        eventually(lambda: "\n  Assets\n" in server.stdout(), bool, timeout=10)
        ready = eventually(lambda: requests.get(server.url + ready_path, timeout=30),
                           lambda r: r.status_code == 200, timeout=180, interval=0.5)
        assert_status(ready, 200)
        yield server
    finally:
        running.close()


@pytest.fixture(scope="module")
def twilio_run(tmp_path_factory):
    yield from twilio_run_in(tmp_path_factory, project_copy(tmp_path_factory.mktemp("theirs") / "live-project"))


@pytest.fixture(scope="module")
def twirl(tmp_path_factory):
    yield from twirl_in(tmp_path_factory, project_copy(tmp_path_factory.mktemp("ours") / "live-project"), "/voice")


@pytest.fixture(scope="module")
def twilio_run_runtime(tmp_path_factory):
    project = tmp_path_factory.mktemp("theirs-runtime") / "parity-project"
    shutil.copytree(RUNTIME_FIXTURE, project)
    yield from twilio_run_in(tmp_path_factory, project)


@pytest.fixture(scope="module")
def twirl_runtime(tmp_path_factory):
    project = tmp_path_factory.mktemp("ours-runtime") / "parity-project"
    shutil.copytree(RUNTIME_FIXTURE, project)
    yield from twirl_in(tmp_path_factory, project, "/hello")


# --- comparing ----------------------------------------------------------------------------------------

def media_type(response):
    return response.headers.get("Content-Type", "").split(";")[0].strip().lower()


def body_of(response):
    if media_type(response) == "application/json" and response.content:
        return response.json()
    return response.text


def send(base_url, method, path, **kwargs):
    kwargs.setdefault("timeout", 60)
    return requests.request(method, base_url + path, **kwargs)


def both(twilio_run, twirl, method, path, **kwargs):
    """The same request to each server: (twilio-run's response, twirl's)."""
    return send(twilio_run.url, method, path, **kwargs), send(twirl.url, method, path, **kwargs)


def summary(response):
    return (response.status_code, media_type(response), body_of(response))


SAME = [
    ("text", "GET", "/hello", {}),
    ("json", "GET", "/data", {}),
    ("twiml", "GET", "/voice", {}),
    ("twilio-response", "GET", "/custom", {}),
    ("twilio-response-text-body", "GET", "/created", {}),
    ("private-helper-via-runtime", "GET", "/helper?text=psst", {}),
    ("query-echo", "GET", "/echo?a=1&b=two%20words", {}),
    ("form-echo", "POST", "/echo?from=query&shared=query", {"data": {"shared": "form", "Body": "hi"}}),
    ("repeated-form-keys", "POST", "/echo", {"data": [("color", "red"), ("color", "blue")]}),
    ("json-echo", "POST", "/echo?from=query", {"json": {"shared": "json", "n": 5, "nested": {"x": [1]}}}),
    ("asset-html", "GET", "/index.html", {}),
    ("asset-css", "GET", "/style.css", {}),
    ("root", "GET", "/", {}),
]


@pytest.mark.parametrize("method, path, kwargs", [case[1:] for case in SAME], ids=[case[0] for case in SAME])
def test_same_answer(twilio_run, twirl, method, path, kwargs):
    theirs, ours = both(twilio_run, twirl, method, path, **kwargs)
    assert summary(ours) == summary(theirs), f"{method} {path}"


def test_twilio_response_headers(twilio_run, twirl):
    theirs, ours = both(twilio_run, twirl, "GET", "/custom")
    assert ours.status_code == theirs.status_code == 202
    assert ours.headers.get("X-Live-Project") == theirs.headers.get("X-Live-Project") == "yes"


def test_root_serves_the_assets_index_html_asset(twilio_run, twirl):
    theirs, ours = both(twilio_run, twirl, "GET", "/")
    assert theirs.text == ours.text == ROOT_INDEX


def test_failing_function(twilio_run, twirl):
    theirs, ours = both(twilio_run, twirl, "GET", "/fails")
    assert (ours.status_code, media_type(ours)) == (theirs.status_code, media_type(theirs)) \
        == (500, "application/json")
    assert set(ours.json()) == set(theirs.json()) == {"message", "name", "stack"}
    expected = {"name": "Error", "message": "deliberate failure"}
    assert {key: ours.json()[key] for key in expected} == {key: theirs.json()[key] for key in expected} == expected
    # Each serves its own copy of the project: its frames are compared relative to the project.
    frames = [[re.sub(r"\(.*/functions/", "(functions/", line) for line in answer.json()["stack"].splitlines()]
              for answer in (ours, theirs)]
    assert frames[0][:2] == frames[1][:2] == ["Error: deliberate failure",
                                              "    at exports.handler (functions/fails.js:3:12)"]
    assert frames[0][2:] == ["    at [twirl internals]"], frames[0]


def test_failing_function_for_a_browser(twilio_run, twirl):
    headers = {"User-Agent": BROWSER_USER_AGENT, "Accept": BROWSER_ACCEPT}
    theirs, ours = both(twilio_run, twirl, "GET", "/fails", headers=headers)
    assert (ours.status_code, media_type(ours)) == (theirs.status_code, media_type(theirs)) \
        == (500, "text/html")
    assert "deliberate failure" in theirs.text and "deliberate failure" in ours.text


def test_options_preflight(twilio_run, twirl):
    headers = {"Origin": "http://example.com", "Access-Control-Request-Method": "POST"}
    theirs, ours = both(twilio_run, twirl, "OPTIONS", "/hello", headers=headers)
    assert ours.status_code == theirs.status_code == 204
    for name in ("Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Max-Age"):
        assert ours.headers.get(name) == theirs.headers.get(name), name


# --- deliberate differences -----------------------------------------------------------------------------

def test_protected_function_without_a_signature(twilio_run, twirl):
    theirs, ours = both(twilio_run, twirl, "GET", "/secure")
    assert summary(theirs) == (200, "application/json", {"secure": True, "body": None})
    assert_status(ours, 400)


def test_protected_function_with_a_valid_signature(twilio_run, twirl):
    params = {"Body": "signed", "From": "+15550001111"}
    theirs = send(twilio_run.url, "POST", "/secure", data=params)
    signature = RequestValidator(twirl.auth_token).compute_signature(twirl.url + "/secure", params)
    ours = send(twirl.url, "POST", "/secure", data=params, headers={"X-Twilio-Signature": signature})
    assert summary(ours) == summary(theirs) == (200, "application/json", {"secure": True, "body": "signed"})


def test_private_function(twilio_run, twirl):
    theirs, ours = both(twilio_run, twirl, "GET", "/lib/util")
    assert summary(theirs) == (200, "text/plain", "private helper")
    assert_status(ours, 404)


def test_private_asset(twilio_run, twirl):
    theirs, ours = both(twilio_run, twirl, "GET", "/notes.txt")
    assert_status(theirs, 403)
    assert theirs.text == "This asset has been marked as private"
    assert_status(ours, 404)


def test_module_state(twilio_run, twirl):
    theirs = [send(twilio_run.url, "GET", "/counter").json()["count"] for _ in range(2)]
    ours = [send(twirl.url, "GET", "/counter").json() for _ in range(2)]
    assert theirs == [1, 1]
    assert ours[0]["pid"] == ours[1]["pid"] and ours[1]["count"] == ours[0]["count"] + 1, ours


def test_unknown_path(twilio_run, twirl):
    theirs, ours = both(twilio_run, twirl, "GET", "/no-such-thing")
    assert summary(theirs) == (404, "text/html", "Could not find requested resource")
    assert (ours.status_code, media_type(ours)) == (404, "application/json")
    assert ours.json()["code"] == 20404


def test_other_methods(twilio_run, twirl):
    theirs, ours = both(twilio_run, twirl, "PUT", "/hello")
    assert summary(theirs) == (200, "text/plain", "Ahoy from the live project")
    assert_status(ours, 405)


def test_error_page_negotiation(twilio_run, twirl):
    by_agent = {"User-Agent": BROWSER_USER_AGENT, "Accept": "*/*"}
    theirs, ours = both(twilio_run, twirl, "GET", "/fails", headers=by_agent)
    assert (theirs.status_code, media_type(theirs)) == (500, "text/html")
    assert (ours.status_code, media_type(ours)) == (500, "application/json")

    by_accept = {"User-Agent": "curl/8.0", "Accept": BROWSER_ACCEPT}
    theirs, ours = both(twilio_run, twirl, "GET", "/fails", headers=by_accept)
    assert (theirs.status_code, media_type(theirs)) == (500, "application/json")
    assert (ours.status_code, media_type(ours)) == (500, "text/html")


def test_execution_limit(twilio_run, twirl):
    results = {}

    def call(name, base_url):
        started = time.monotonic()
        response = send(base_url, "GET", f"/sleep?ms={SLOW_MS}", timeout=60)
        results[name] = (response, time.monotonic() - started)

    threads = [threading.Thread(target=call, args=("twilio-run", twilio_run.url)),
               threading.Thread(target=call, args=("twirl", twirl.url))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    theirs, _ = results["twilio-run"]
    assert summary(theirs) == (200, "application/json", {"slept": SLOW_MS})
    ours, elapsed = results["twirl"]
    assert_status(ours, 504)
    assert elapsed < SLOW_MS / 1000, f"twirl answered after {elapsed:.1f} s"


# --- the runtime behaviours real Functions rely on (fixtures/parity-project) ---------------------------

# What dotenv 6.2 (twilio-run 4.x's) makes of fixtures/parity-project/.env, line by line.
DOTENV_VALUES = {
    "GREETING": "Hi there",
    "SINGLE": "single quoted",
    "DOUBLE": "double quoted",
    "NEWLINE": "first\nsecond",
    "LITERAL": "first\\nsecond",
    "INLINE": "value # not a comment",
    "EMPTY": "",
    "JSON": '{"a":1,"b":[true,null]}',
    "QUOTED_JSON": '{"a":1}',
    "SPACED": "padded value",
    "TRAILING": 'x"',
    "MIXED": "abc",
    "URL": "https://example.com/?a=1&b=2",
    "EQUALS": "a=b=c",
    "dotted.key": "dot",
    "dashed-key": "dash",
    "DUPLICATE": "last",
    "MULTI": "line one",
}


def test_dotenv_values_reach_context_and_process_env(twilio_run_runtime, twirl_runtime):
    theirs, ours = both(twilio_run_runtime, twirl_runtime, "GET", "/env")
    assert_status(theirs, 200)
    assert_status(ours, 200)
    assert theirs.json()["context"] == DOTENV_VALUES
    assert ours.json()["context"] == theirs.json()["context"]
    assert ours.json()["processEnv"] == theirs.json()["processEnv"] == DOTENV_VALUES


def test_dotenv_lines_that_dotenv_skips_are_reported_with_their_line_numbers(twirl_runtime):
    problems = requests.get(twirl_runtime.url + "/_twirl/live", timeout=30).json()["problems"]
    lines = [int(p.split()[2].rstrip(":")) for p in problems if p.startswith(".env line ")]
    assert lines == [20, 21, 23], problems
    assert '"export EXPORTED=ignored by dotenv"' in problems[0], problems


def test_the_workers_own_environment_stays(twilio_run_runtime, twirl_runtime):
    theirs, ours = both(twilio_run_runtime, twirl_runtime, "GET", "/env")
    assert theirs.json()["processPath"] is None
    assert ours.json()["processPath"] == "set"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_domain_name_is_localhost(twilio_run_runtime, twirl_runtime, host):
    answers = {}
    for name, server in (("twilio-run", twilio_run_runtime), ("twirl", twirl_runtime)):
        port = server.url.rsplit(":", 1)[1]
        response = requests.get(f"http://{host}:{port}/domain", timeout=30)
        assert_status(response, 200)
        answers[name] = response.json()
        assert answers[name] == {"DOMAIN_NAME": f"localhost:{port}", "local": True}, (name, answers)


@pytest.mark.parametrize("path, expected", [
    ("/late", (200, "text/plain", "late")),
    ("/callback-after-resolve", (200, "application/json", {"from": "callback"})),
    ("/rejected-after", (200, "text/plain", "answered first")),
])
def test_the_callback_answers(twilio_run_runtime, twirl_runtime, path, expected):
    theirs, ours = both(twilio_run_runtime, twirl_runtime, "GET", path)
    assert summary(ours) == summary(theirs) == expected


def test_a_rejection_before_the_callback_is_the_error(twilio_run_runtime, twirl_runtime):
    theirs, ours = both(twilio_run_runtime, twirl_runtime, "GET", "/rejected")
    assert (ours.status_code, media_type(ours)) == (theirs.status_code, media_type(theirs)) \
        == (500, "application/json")
    expected = {"name": "Error", "message": "rejected before the callback"}
    assert {key: ours.json()[key] for key in expected} == {key: theirs.json()[key] for key in expected} == expected


def test_a_promise_resolved_without_the_callback(twilio_run_runtime, twirl_runtime):
    """twirl ends it at the execution limit, as production does; twilio-run never answers (it has no
    limit), so its request is given up on some time after twirl's limit."""
    results = {}

    def call(name, base_url, timeout):
        try:
            results[name] = send(base_url, "GET", "/resolved", timeout=timeout)
        except requests.exceptions.ReadTimeout as gave_up:
            results[name] = gave_up

    threads = [threading.Thread(target=call, args=("twilio-run", twilio_run_runtime.url, EXECUTION_LIMIT + 3)),
               threading.Thread(target=call, args=("twirl", twirl_runtime.url, 60))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert isinstance(results["twilio-run"], requests.exceptions.ReadTimeout), results["twilio-run"]
    assert_status(results["twirl"], 504)
    assert results["twirl"].json()["code"] == 82002


def test_a_json_array_body_is_spread_into_the_event(twilio_run_runtime, twirl_runtime):
    body = [{"event": "delivered", "email": "ada@example.com"}, "two", 3]
    theirs, ours = both(twilio_run_runtime, twirl_runtime, "POST", "/echo?x=query&0=query", json=body)
    assert summary(ours) == summary(theirs) == (200, "application/json", {
        "0": body[0], "1": "two", "2": 3, "x": "query"})
