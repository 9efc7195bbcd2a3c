"""Starts the twirl binary for the integration tests.

The binary is TWIRL_BIN, or debug/twirl in Cargo's target directory (CARGO_TARGET_DIR, else target/
under the repository root; build it with `cargo build`).
Each test module gets its own server with fresh ephemeral state; `fresh_twirl` gives a test its own.

    pip install -r tests/py/requirements.txt
    python -m pytest tests/py -q"""

import fcntl
import os
import queue
import re
import secrets
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from support import TwirlApi

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = REPO_ROOT.parent / "shared" / "spec"
SPEC_PATH = SPEC_DIR / "twilio_serverless_v1.json"
SYNC_SPEC_PATH = SPEC_DIR / "twilio_sync_v1.json"
READY_RE = re.compile(r"^twirl listening on (http://127\.0\.0\.1:\d+)$")
STARTUP_TIMEOUT = 30
SHUTDOWN_TIMEOUT = 10


def cargo_target_dir():
    """Where `cargo build` in the repository root puts the binary: CARGO_TARGET_DIR (relative to the
    repository root when relative, as Cargo reads it there), else target/."""
    configured = os.environ.get("CARGO_TARGET_DIR")
    return REPO_ROOT / configured if configured else REPO_ROOT / "target"


def twirl_binary():
    path = Path(os.environ.get("TWIRL_BIN") or cargo_target_dir() / "debug" / "twirl")
    if not path.is_file():
        pytest.fail(f"twirl binary not found at {path}: run `cargo build` in the repository root "
                    "or point TWIRL_BIN at the binary", pytrace=False)
    return path


class TwirlServer:
    """One `twirl serve --port 0 --ephemeral --no-demo` process (an empty store) with its own
    random credentials. The servers below differ only in `arguments` (and what they learn once
    started), so starting, waiting for the address and stopping stay the same for all."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.account_sid = "AC" + secrets.token_hex(16)
        self.auth_token = secrets.token_hex(16)
        self.api_key_sid = "SK" + secrets.token_hex(16)
        self.api_key_secret = secrets.token_urlsafe(24)
        self.stdout_path = workdir / "twirl.stdout.log"
        self.stderr_path = workdir / "twirl.stderr.log"
        self.url = None
        self.process = None

    def arguments(self):
        """The command line after the binary."""
        return [
            "serve", "--port", "0", "--ephemeral", "--no-demo",
            "--account-sid", self.account_sid, "--auth-token", self.auth_token,
            "--api-key", f"{self.api_key_sid}:{self.api_key_secret}",
        ]

    def start(self):
        command = [str(twirl_binary()), *self.arguments()]
        self.stdout_log = open(self.stdout_path, "w", encoding="utf-8")
        with open(self.stderr_path, "w", encoding="utf-8") as stderr_log:
            self.process = subprocess.Popen(command, cwd=self.workdir, stdout=subprocess.PIPE,
                                            stderr=stderr_log, text=True, errors="replace")
        first_line = queue.Queue()
        self.drainer = threading.Thread(target=self._drain_stdout, args=(first_line,), daemon=True)
        self.drainer.start()
        try:
            line = first_line.get(timeout=STARTUP_TIMEOUT)
        except queue.Empty:
            line = None
        match = READY_RE.match(line or "")
        if not match:
            self.stop()
            pytest.fail(f"twirl did not announce its address; first stdout line {line!r}; "
                        f"exit code {self.process.returncode}; stderr:\n{self.stderr_path.read_text()}",
                        pytrace=False)
        self.url = match.group(1)
        # The rest of the banner, for people, says `localhost` for the loopback address bound.
        self.local_url = self.url.replace("://127.0.0.1:", "://localhost:")
        self.api = TwirlApi(self.url, (self.account_sid, self.auth_token))
        return self

    def _drain_stdout(self, first_line):
        """Hand the first line to `start`, then keep the pipe empty so the server never blocks."""
        for index, line in enumerate(self.process.stdout):
            if index == 0:
                first_line.put(line.rstrip("\r\n"))
            self.stdout_log.write(line)
            self.stdout_log.flush()
        first_line.put(None)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=SHUTDOWN_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.drainer.join(timeout=SHUTDOWN_TIMEOUT)
        self.stdout_log.close()

    def stdout(self):
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def stderr(self):
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def client(self, username=None, password=None, account_sid=None):
        """A twilio-python Client whose Serverless and Sync domains point at this server.

        With an API key: client(api_key_sid, api_key_secret, account_sid)."""
        client = Client(username or self.account_sid, password or self.auth_token, account_sid,
                        http_client=RecordingHttpClient(), environment={})
        client.serverless.base_url = self.url
        client.api.base_url = self.url
        client.sync.base_url = self.url + "/sync"
        return client

    def upload_version(self, *args, **kwargs):
        return self.api.upload_version(*args, **kwargs)


class RecordingHttpClient(TwilioHttpClient):
    """Keeps the last raw response, so tests can check error bodies the library does not expose."""

    def __init__(self):
        super().__init__(request_hooks={"response": [self._record]})
        self.last_response = None

    def _record(self, response, *args, **kwargs):
        self.last_response = response


def running(server):
    """Starts `server` (anything with start() and stop()) and stops it when the generator is closed,
    so a fixture that does `yield from running(...)` stops it whether or not its tests passed."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


def running_twirl(workdir):
    yield from running(TwirlServer(workdir))


@pytest.fixture(scope="module")
def twirl(tmp_path_factory):
    """A server shared by the tests of one module (fresh state per module)."""
    yield from running_twirl(tmp_path_factory.mktemp("twirl"))


@pytest.fixture
def fresh_twirl(tmp_path):
    """A server of the test's own, for tests that move the clock or fill quotas."""
    yield from running_twirl(tmp_path)


@pytest.fixture(scope="module")
def api(twirl):
    return twirl.api


@pytest.fixture(scope="module")
def client(twirl):
    return twirl.client()


class TwirlServerWithEnvironment(TwirlServer):
    """A server started with extra `TWIRL_*` environment variables (every serve option has one),
    e.g. {"TWIRL_MAX_CONCURRENCY": "2"}."""

    def __init__(self, workdir, environment):
        super().__init__(workdir)
        self.environment = environment

    def start(self):
        saved = {key: os.environ.get(key) for key in self.environment}
        os.environ.update(self.environment)
        try:
            return super().start()
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def running_twirl_with_environment(workdir, **environment):
    yield from running(TwirlServerWithEnvironment(workdir, environment))


class ProjectServer(TwirlServer):
    """`twirl serve PROJECT_DIR --port 0 --ephemeral [extra arguments]`: a server whose live project
    is `project_dir` (a directory without a project gives the embedded demo). With `data`, state is
    kept there (`--data DATA`) rather than thrown away."""

    def __init__(self, workdir, project_dir, *extra_args, data=None):
        super().__init__(workdir)
        self.project_dir = project_dir
        self.extra_args = [str(arg) for arg in extra_args]
        self.state = ["--data", str(data)] if data else ["--ephemeral"]

    def arguments(self):
        return [
            "serve", str(self.project_dir), "--port", "0", *self.state,
            "--account-sid", self.account_sid, "--auth-token", self.auth_token, *self.extra_args,
        ]


def running_project_server(workdir, project_dir, *extra_args, data=None):
    yield from running(ProjectServer(workdir, project_dir, *extra_args, data=data))


class FixtureServer(TwirlServer):
    """`twirl serve --port 0 --ephemeral --fixture FILE… [extra arguments]`, run in `workdir` (no
    project there, so nothing but the fixtures is served). The account is the fixtures' own
    (`credentials`) unless `account_sid`/`auth_token` are given, which are then passed as flags."""

    def __init__(self, workdir, fixtures, *extra_args, account_sid=None, auth_token=None):
        super().__init__(workdir)
        self.fixtures = [str(fixture) for fixture in fixtures]
        self.extra_args = [str(arg) for arg in extra_args]
        self.flags = []
        if account_sid and auth_token:
            self.account_sid, self.auth_token = account_sid, auth_token
            self.flags = ["--account-sid", account_sid, "--auth-token", auth_token]
        else:
            self.account_sid = self.auth_token = None

    def arguments(self):
        arguments = ["serve", "--port", "0", "--ephemeral", *self.flags]
        for fixture in self.fixtures:
            arguments += ["--fixture", fixture]
        return arguments + self.extra_args

    def start(self):
        super().start()
        if self.account_sid is None:
            # Without credential flags the account is the fixtures' own, which only the banner names.
            self.authenticate(self._banner_account_sid(), self.auth_token)
        return self

    def _banner_account_sid(self, timeout=5.0):
        """The account SID the banner prints (the banner's lines follow the first one shortly)."""
        deadline = time.monotonic() + timeout
        while True:
            account = re.search(r"Account SID\s+(AC[0-9a-f]{32})", self.stdout_path.read_text())
            if account or time.monotonic() > deadline:
                return account.group(1) if account else None
            time.sleep(0.02)

    def authenticate(self, account_sid, auth_token):
        """Use these credentials for `api` (the fixture's, which the banner does not print in full)."""
        self.account_sid, self.auth_token = account_sid, auth_token
        self.api = TwirlApi(self.url, (account_sid, auth_token))
        return self


def running_fixture_server(workdir, fixtures, *extra_args, **credentials):
    yield from running(FixtureServer(workdir, fixtures, *extra_args, **credentials))


def run_twirl(*args, cwd=None, env=None, timeout=120):
    """Runs the twirl binary to completion (a subcommand, or a start-up meant to fail); returns the
    CompletedProcess with text stdout and stderr."""
    environment = None
    if env is not None:
        environment = {**os.environ, **env}
    return subprocess.run([str(twirl_binary()), *[str(arg) for arg in args]], cwd=cwd, env=environment,
                          capture_output=True, text=True, errors="replace", timeout=timeout)


# --- npm packages the tests run (twilio-node, twilio-run), installed once into caches under target/ --

INSTALL_TIMEOUT = 600
TWILIO_RUN_CACHE = REPO_ROOT / "target" / "exec-twilio-run"
TWILIO_RUN_SPEC = "twilio-run@5.0.1"  # needs Node.js 20 or 22


def npm_cache(directory, spec, marker):
    """`npm install SPEC` into `directory` (a cache under target/) unless `marker` is already there;
    returns the directory's node_modules. The suite's processes (pytest-xdist's workers) install
    one at a time: the others wait on the lock, then find the marker."""
    if (directory / marker).exists():
        return directory / "node_modules"
    if shutil.which("npm") is None:
        pytest.fail("npm is not installed: the suite needs Node.js 20 and npm", pytrace=False)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory.with_name(directory.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (directory / marker).exists():
            if not (directory / "package.json").exists():
                (directory / "package.json").write_text('{"private": true}\n')
            result = subprocess.run(["npm", "install", "--no-audit", "--no-fund", spec], cwd=directory,
                                    capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
            assert result.returncode == 0, f"npm install {spec} failed:\n{result.stderr[-4000:]}"
    return directory / "node_modules"


# twilio-node, each major version the suite checks, installed once into a cache under target/.
TWILIO_NODE_CACHES = {5: REPO_ROOT / "target" / "exec-node", 6: REPO_ROOT / "target" / "exec-node-6"}


def twilio_node_modules(major):
    """node_modules holding twilio@{major}, for NODE_PATH."""
    return npm_cache(TWILIO_NODE_CACHES[major], f"twilio@{major}", "node_modules/twilio/package.json")


@pytest.fixture(scope="module")
def twilio_node():
    """node_modules with twilio-node 5, as most projects have it."""
    return twilio_node_modules(5)


@pytest.fixture(scope="module")
def twilio_run():
    """The twilio-run command, as `npm install twilio-run` puts it in node_modules/.bin."""
    modules = npm_cache(TWILIO_RUN_CACHE, TWILIO_RUN_SPEC, "node_modules/.bin/twilio-run")
    return modules / ".bin" / "twilio-run"
