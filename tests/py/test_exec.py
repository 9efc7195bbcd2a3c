"""`twirl exec` through the real binary: the command's exit status, the variables it gets, the
Node.js and Python preloads that send Twilio's Serverless hosts and `*.twil.io` to twirl (so
twilio-node, twilio-python and `twilio-run deploy` work unchanged), other hosts left alone,
nothing left running afterwards, and the example suite in fixtures/example-suite.

npm packages the tests need (twilio-node, twilio-run) are installed once into caches under
target/, so later runs are quick."""

import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import INSTALL_TIMEOUT, REPO_ROOT, npm_cache, run_twirl, running_twirl, twirl_binary

FIXTURE = REPO_ROOT / "fixtures" / "fixture-suite.json"
# What the official clients list from that fixture: its services (SIDs pinned or derived from
# the fixture's bytes) and the first one's environment domains.
FIXTURE_SERVICES = [["ZSb199f26d8c6d2b8c841e9d7dca8e548a", "thanos"],
                    ["ZS00000000000000000000000000000001", "from-project"]]
FIXTURE_DOMAINS = ["thanos-1234-dev.twil.io", "thanos-1234.twil.io"]
FIXTURE_ACCOUNT_SID = "AC5e7f1a2b3c4d5e6f708192a3b4c5d6e7"
FIXTURE_AUTH_TOKEN = "f1xtur3f1xtur3f1xtur3f1xtur3f1x"
DEV_SITE = "thanos-1234-dev.twil.io"
RUNTIME_PROJECT = REPO_ROOT / "fixtures" / "runtime-project"
EXAMPLE_SUITE = REPO_ROOT / "fixtures" / "example-suite"
EXEC_TIMEOUT = 240  # a first deploy installs its dependency set with npm
BANNER_DATA_RE = re.compile(r"^\s*Data\s+(\S+)\s*$", re.M)


# --- helpers ----------------------------------------------------------------------------------------

def run_exec(*args, cwd=None, env=None, timeout=EXEC_TIMEOUT):
    """`twirl exec ARGS…` to completion."""
    return run_twirl("exec", *args, cwd=cwd, env=env, timeout=timeout)


def describe(result):
    return f"exit {result.returncode}\nstdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"


@pytest.fixture
def other_server():
    """A plain local HTTP server that is not twirl: it answers `untouched <path>` and records the
    Host headers it got."""
    hosts = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hosts.append(self.headers.get("Host"))
            body = f"untouched {self.path}".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hosts
    finally:
        server.shutdown()
        server.server_close()


def read_proc(pid):
    """(parent pid, command line) of a process, or None once it is gone (zombies count as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None
    return int(fields[1]), cmdline.strip()


def processes():
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = read_proc(int(entry))
            if info is not None:
                found[int(entry)] = info
    return found


# --- exit status ------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [0, 3])
def test_exit_status_is_the_commands(status, tmp_path):
    result = run_exec("--", "sh", "-c", f"exit {status}", cwd=tmp_path)
    assert result.returncode == status, describe(result)
    assert result.stdout.startswith("twirl listening on http://127.0.0.1:"), describe(result)


def test_a_command_ended_by_a_signal_leaves_with_128_plus_the_signal(tmp_path):
    result = run_exec("--", "sh", "-c", "kill -TERM $$", cwd=tmp_path)
    assert result.returncode == 128 + 15, describe(result)


def test_invalid_fixture_exits_125_without_running_the_command(tmp_path):
    fixture = json.loads(FIXTURE.read_text())
    fixture["services"][0]["environments"][0]["domain_suffix"] = "dev_1"
    fixture["services"][1]["environments"][0]["deploy"]["project"] = str(REPO_ROOT / "fixtures" / "fixture-project")
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(fixture))
    marker = tmp_path / "ran"
    result = run_exec("--fixture", path, "--", "touch", marker, cwd=tmp_path)
    assert result.returncode == 125, describe(result)
    assert f"twirl: fixture {path}: services[0].environments[0].domain_suffix: Invalid DomainSuffix" \
        in result.stderr, describe(result)
    assert not marker.exists()


def test_a_command_that_cannot_start_exits_125(tmp_path):
    result = run_exec("--", str(tmp_path / "no-such-command"), cwd=tmp_path)
    assert result.returncode == 125, describe(result)
    assert "no-such-command" in result.stderr, describe(result)


# --- what the command gets --------------------------------------------------------------------------

ENV_SCRIPT = r"""
import base64, json, os, sys, urllib.request
url = os.environ["TWIRL_URL"]
token = base64.b64encode(f"{os.environ['TWILIO_ACCOUNT_SID']}:{os.environ['TWILIO_AUTH_TOKEN']}".encode()).decode()
request = urllib.request.Request(url + "/v1/Services", headers={"Authorization": "Basic " + token})
services = json.load(urllib.request.urlopen(request, timeout=30))["services"]
health = json.load(urllib.request.urlopen(url + "/_twirl/health", timeout=30))
preload = os.environ["NODE_OPTIONS"].split("--require ", 1)[1].split(" ", 1)[0]
python_dir = os.environ["PYTHONPATH"].split(":")[0]
json.dump({
    "env": {key: os.environ.get(key) for key in
            ("TWIRL_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "NODE_OPTIONS", "PYTHONPATH")},
    "services": [service["unique_name"] for service in services],
    "health": health,
    "preload_exists": os.path.isfile(preload),
    "sitecustomize_exists": os.path.isfile(os.path.join(python_dir, "sitecustomize.py")),
    "sitecustomize_loaded": "sitecustomize" in sys.modules,
    "preload": preload,
}, open(sys.argv[1], "w"))
"""


def test_command_gets_twirl_url_credentials_and_preloads(tmp_path):
    """Run inside a project directory: exec still serves exactly the fixture, no live project."""
    project = tmp_path / "project"
    shutil.copytree(REPO_ROOT / "fixtures" / "fixture-project", project)
    (tmp_path / "env.py").write_text(ENV_SCRIPT)
    out = tmp_path / "out.json"
    result = run_exec("--fixture", FIXTURE, "--", sys.executable, tmp_path / "env.py", out, cwd=project,
                      env={"NODE_OPTIONS": "--max-old-space-size=300", "PYTHONPATH": "/opt/elsewhere"})
    assert result.returncode == 0, describe(result)
    seen = json.loads(out.read_text())
    env = seen["env"]
    announced = re.search(r"^twirl listening on (http://127\.0\.0\.1:\d+)$", result.stdout, re.M).group(1)
    assert env["TWIRL_URL"] == announced
    assert (env["TWILIO_ACCOUNT_SID"], env["TWILIO_AUTH_TOKEN"]) == (FIXTURE_ACCOUNT_SID, FIXTURE_AUTH_TOKEN)
    assert env["NODE_OPTIONS"].startswith("--require "), env
    assert env["NODE_OPTIONS"].endswith(" --max-old-space-size=300"), env
    assert env["PYTHONPATH"].endswith(":/opt/elsewhere"), env
    assert seen["preload_exists"] and seen["sitecustomize_exists"] and seen["sitecustomize_loaded"], seen
    assert seen["services"] == ["thanos", "from-project"]
    assert seen["health"] == {"status": "ok"}
    # The throwaway state, preloads included, is gone.
    assert not Path(seen["preload"]).exists()
    data = BANNER_DATA_RE.search(result.stdout)
    assert data and not Path(data.group(1)).exists(), result.stdout


def test_without_a_fixture_the_state_is_empty(tmp_path):
    (tmp_path / "env.py").write_text(ENV_SCRIPT)
    out = tmp_path / "out.json"
    result = run_exec("--", sys.executable, tmp_path / "env.py", out, cwd=tmp_path,
                      env={"TWILIO_ACCOUNT_SID": "AC" + "ab" * 16, "TWILIO_AUTH_TOKEN": "t" * 32})
    assert result.returncode == 0, describe(result)
    seen = json.loads(out.read_text())
    assert seen["services"] == []
    assert seen["env"]["TWILIO_ACCOUNT_SID"] == "AC" + "ab" * 16


WORKERS_SCRIPT = r"""
import json, os, sys, urllib.request
url = os.environ["TWIRL_URL"]
bodies = [urllib.request.urlopen(url + "/thanos-1234-dev.twil.io/hello", timeout=60).read().decode(),
          urllib.request.urlopen(url + "/from-project-1687-stage.twil.io/greet", timeout=60).read().decode()]
twirl = os.getppid()
children = []
for entry in os.listdir("/proc"):
    if not entry.isdigit():
        continue
    try:
        stat = open(f"/proc/{entry}/stat").read()
        cmdline = open(f"/proc/{entry}/cmdline", "rb").read().replace(b"\0", b" ").decode().strip()
    except OSError:
        continue
    if int(stat.rsplit(")", 1)[1].split()[1]) == twirl and int(entry) != os.getpid():
        children.append([int(entry), cmdline])
json.dump({"twirl": twirl, "children": children, "bodies": bodies}, open(sys.argv[1], "w"))
"""


def test_no_worker_is_left_running(tmp_path):
    (tmp_path / "workers.py").write_text(WORKERS_SCRIPT)
    out = tmp_path / "out.json"
    result = run_exec("--fixture", FIXTURE, "--", sys.executable, tmp_path / "workers.py", out, cwd=tmp_path)
    assert result.returncode == 0, describe(result)
    seen = json.loads(out.read_text())
    assert seen["bodies"] == ["hello from the fixture", '{"greeting":"hi, world"}']
    data_dir = BANNER_DATA_RE.search(result.stdout).group(1)
    workers = [child for child in seen["children"] if f"{data_dir}/harness.js" in child[1]]
    assert workers, f"no worker found among twirl's children: {seen['children']}"
    left = []
    deadline = time.monotonic() + 2
    while True:
        left = [(pid, info) for pid, info in processes().items()
                if data_dir in info[1]
                or any(pid == child_pid and info[1] == cmdline for child_pid, cmdline in seen["children"])]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert left == [], f"still running after exec returned: {left}"


# --- the preloads -----------------------------------------------------------------------------------

NODE_CLIENT_SCRIPT = r"""
const http = require('http');
const https = require('https');

function get(url) {
  return new Promise((resolve, reject) => {
    (url.startsWith('https:') ? https : http).get(url, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode, body }));
    }).on('error', reject);
  });
}

(async () => {
  const client = require('twilio')(process.env.TWILIO_ACCOUNT_SID, process.env.TWILIO_AUTH_TOKEN);
  const services = await client.serverless.v1.services.list();
  const environments = await client.serverless.v1.services(services[0].sid).environments.list();
  const regional = require('twilio')(process.env.TWILIO_ACCOUNT_SID, process.env.TWILIO_AUTH_TOKEN,
    { region: 'au1', edge: 'sydney' });
  const regionalServices = await regional.serverless.v1.services.list();
  const hello = await get('https://thanos-1234-dev.twil.io/hello');
  const plain = await get('http://thanos-1234-dev.twil.io/hello');
  const fetched = await fetch('https://thanos-1234-dev.twil.io/notes.txt');
  const other = await get(process.argv[2] + '/from-node');
  console.log(JSON.stringify({
    services: services.map((s) => [s.sid, s.uniqueName]),
    domains: environments.map((e) => e.domainName),
    regional: regionalServices.map((s) => s.sid),
    hello,
    plain,
    fetched: { status: fetched.status, body: await fetched.text() },
    other,
  }));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
"""


def test_twilio_node_works_unchanged(tmp_path, twilio_node, other_server):
    other_url, other_hosts = other_server
    script = tmp_path / "client.js"
    script.write_text(NODE_CLIENT_SCRIPT)
    result = run_exec("--fixture", FIXTURE, "--", "node", script, other_url, cwd=tmp_path,
                      env={"NODE_PATH": str(twilio_node)})
    assert result.returncode == 0, describe(result)
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["services"] == FIXTURE_SERVICES
    assert seen["domains"] == FIXTURE_DOMAINS
    assert seen["regional"] == [sid for sid, _ in seen["services"]]
    assert seen["hello"] == {"status": 200, "body": "hello from the fixture"}
    assert seen["plain"] == {"status": 200, "body": "hello from the fixture"}
    assert seen["fetched"] == {"status": 200, "body": "inline asset\n"}
    assert seen["other"] == {"status": 200, "body": "untouched /from-node"}
    assert other_hosts == [other_url.split("//", 1)[1]]


PYTHON_CLIENT_SCRIPT = r"""
import json, sys
import requests
from twilio.rest import Client

client = Client()
services = client.serverless.v1.services.list()
environments = client.serverless.v1.services(services[0].sid).environments.list()
regional = Client(region="ie1", edge="dublin").serverless.v1.services.list()
hello = requests.get("https://thanos-1234-dev.twil.io/hello", timeout=60)
other = requests.get(sys.argv[1] + "/from-python", timeout=30)
print(json.dumps({
    "services": [[s.sid, s.unique_name] for s in services],
    "domains": [e.domain_name for e in environments],
    "regional": [s.sid for s in regional],
    "hello": [hello.status_code, hello.text],
    "other": [other.status_code, other.text],
}))
"""


def test_twilio_python_works_unchanged(tmp_path, other_server):
    other_url, other_hosts = other_server
    script = tmp_path / "client.py"
    script.write_text(PYTHON_CLIENT_SCRIPT)
    # The suite's own interpreter, whose environment has twilio-python (scripts/test installs it).
    result = run_exec("--fixture", FIXTURE, "--", sys.executable, script, other_url, cwd=tmp_path)
    assert result.returncode == 0, describe(result)
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["services"] == FIXTURE_SERVICES
    assert seen["domains"] == FIXTURE_DOMAINS
    assert seen["regional"] == [sid for sid, _ in seen["services"]]
    assert seen["hello"] == [200, "hello from the fixture"]
    assert seen["other"] == [200, "untouched /from-python"]
    assert other_hosts == [other_url.split("//", 1)[1]]


# --- twilio-run deploy ------------------------------------------------------------------------------

DEPLOY_SCRIPT = r"""#!/bin/sh
# Deploy with twilio-run, then call the deployed function at the URL twilio-run printed.
set -e
"$TWILIO_RUN" deploy --username "$TWILIO_ACCOUNT_SID" --password "$TWILIO_AUTH_TOKEN" \
  --service-name exec-deploy --environment dev > deploy.log 2>&1 || { cat deploy.log; exit 7; }
url=$(sed 's/\x1b\[[0-9;]*m//g' deploy.log | grep -o 'https://[a-z0-9-]*-dev\.twil\.io/text' | head -n 1)
[ -n "$url" ] || { cat deploy.log; exit 8; }
echo "deployed at $url"
node -e '
  require("https").get(process.argv[1], (response) => {
    let body = "";
    response.on("data", (chunk) => (body += chunk));
    response.on("end", () => console.log(`node ${response.statusCode} ${body}`));
  });
' "$url"
"$PYTHON" -c 'import sys, requests; r = requests.get(sys.argv[1], timeout=60); print("python", r.status_code, r.text)' "$url"
"""


def test_twilio_run_deploy_then_call_the_function(tmp_path, twilio_run):
    project = tmp_path / "runtime-project"
    shutil.copytree(RUNTIME_PROJECT, project)
    (project / "deploy.sh").write_text(DEPLOY_SCRIPT)
    result = run_exec("--", "sh", "deploy.sh", cwd=project,
                      env={"TWILIO_RUN": str(twilio_run), "PYTHON": sys.executable})
    assert result.returncode == 0, describe(result)
    match = re.search(r"^deployed at https://(exec-deploy-\d{4}-dev\.twil\.io)/text$", result.stdout, re.M)
    assert match, describe(result)
    assert "node 200 hello from text" in result.stdout, describe(result)
    assert "python 200 hello from text" in result.stdout, describe(result)


# --- the example suite ------------------------------------------------------------------------------

def test_example_suite(tmp_path):
    """Exactly as its README says: `npm ci`, then `run-tests.sh` (TWIRL_BIN names the binary)."""
    if not (EXAMPLE_SUITE / "node_modules" / "twilio" / "package.json").exists():
        installed = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=EXAMPLE_SUITE,
                                   capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
        assert installed.returncode == 0, installed.stderr[-4000:]
    expected = sum(len(re.findall(r"^test\(", file.read_text(), re.M))
                   for file in (EXAMPLE_SUITE / "test").glob("*.test.js"))
    assert expected >= 6
    result = subprocess.run(["sh", str(EXAMPLE_SUITE / "run-tests.sh")], cwd=tmp_path,
                            env={**os.environ, "TWIRL_BIN": str(twirl_binary())},
                            capture_output=True, text=True, timeout=EXEC_TIMEOUT)
    assert result.returncode == 0, describe(result)
    assert re.search(rf"^# pass {expected}$", result.stdout, re.M), describe(result)
    assert re.search(r"^# fail 0$", result.stdout, re.M), describe(result)


# --- a twirl that is already running: exec --url, twirl env ----------------------------------------

ATTACHED_SCRIPT = r"""
import json, os, sys
from twilio.rest import Client
client = Client()
created = client.serverless.v1.services.create(unique_name="made-under-exec", friendly_name="made-under-exec")
json.dump({
    "env": {key: os.environ.get(key) for key in
            ("TWIRL_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "ACCOUNT_SID", "AUTH_TOKEN")},
    "services": sorted(s.unique_name for s in client.serverless.v1.services.list()),
    "created": created.sid,
}, open(sys.argv[1], "w"))
"""


@pytest.fixture
def running_server(tmp_path):
    (tmp_path / "running").mkdir()
    yield from running_twirl(tmp_path / "running")


def test_exec_url_runs_the_command_against_a_running_twirl(running_server, tmp_path):
    """The command sees that twirl's URL and account (asked of it on loopback: nothing is given),
    and what it changes stays in that twirl."""
    running_server.api.create("/v1/Services", {"UniqueName": "already-there", "FriendlyName": "already-there"})
    (tmp_path / "attached.py").write_text(ATTACHED_SCRIPT)
    out = tmp_path / "out.json"
    result = run_exec("--url", running_server.url, "--", sys.executable, tmp_path / "attached.py", out,
                      cwd=tmp_path, env={"TWILIO_ACCOUNT_SID": "AC" + "ee" * 16, "TWILIO_AUTH_TOKEN": "real"})
    assert result.returncode == 0, describe(result)
    assert "twirl listening" not in result.stdout, "no second twirl is started"
    seen = json.loads(out.read_text())
    account = (running_server.account_sid, running_server.auth_token)
    assert seen["env"] == {"TWIRL_URL": running_server.url, "TWILIO_ACCOUNT_SID": account[0],
                           "TWILIO_AUTH_TOKEN": account[1], "ACCOUNT_SID": account[0], "AUTH_TOKEN": account[1]}
    assert seen["services"] == ["already-there", "made-under-exec"]
    assert running_server.api.fetch(f"/v1/Services/{seen['created']}")["unique_name"] == "made-under-exec"


def test_exec_url_to_no_twirl_exits_125(tmp_path):
    marker = tmp_path / "ran"
    result = run_exec("--url", "http://127.0.0.1:9", "--", "touch", marker, cwd=tmp_path)
    assert result.returncode == 125, describe(result)
    assert "cannot reach twirl at http://127.0.0.1:9" in result.stderr
    assert not marker.exists()


def test_twirl_env_prints_what_exec_would_set(running_server, tmp_path):
    env = run_twirl("env", "--url", running_server.url, cwd=tmp_path,
                    env={"TWIRL_CACHE": str(tmp_path / "cache")})
    assert env.returncode == 0, describe(env)
    assigned = dict(re.findall(r"^export (\w+)='([^']*)'$", env.stdout, re.M))
    assert set(assigned) == {"TWIRL_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "ACCOUNT_SID", "AUTH_TOKEN",
                             "NODE_OPTIONS", "PYTHONPATH"}, env.stdout
    assert assigned["TWIRL_URL"] == running_server.url
    # Evaluated by a shell, the variables point an unchanged twilio-python at that twirl.
    (tmp_path / "attached.py").write_text(ATTACHED_SCRIPT)
    out = tmp_path / "out.json"
    shell = subprocess.run(["sh", "-c", f'eval "$1"; exec "$2" "$3" "$4"', "sh", env.stdout, sys.executable,
                            str(tmp_path / "attached.py"), str(out)],
                           capture_output=True, text=True, timeout=EXEC_TIMEOUT)
    assert shell.returncode == 0, shell.stderr
    assert json.loads(out.read_text())["services"] == ["made-under-exec"]
    # The preloads it names outlive it, under the cache directory.
    preload = assigned["NODE_OPTIONS"].split("--require ", 1)[1].split(" ", 1)[0]
    assert Path(preload).is_file() and Path(preload).is_relative_to(tmp_path / "cache")


def test_exec_help_lists_only_what_exec_uses():
    help_text = run_twirl("exec", "--help").stdout
    for option in ("--url", "--fixture", "--port", "--account-sid", "--data"):
        assert option in help_text, help_text
    for option in ("--open", "--no-watch", "--poll", "--inspect", "--no-demo", "--ephemeral", "[DIR]"):
        assert option not in help_text, f"{option} in:\n{help_text}"
    assert "--no-watch" in run_twirl("serve", "--help").stdout


# --- twilio-run reads the account from flags or .env only --------------------------------------------

TWILIO_RUN_SCRIPT = r"""#!/bin/sh
# twilio-run's API commands with no --username/--password, in a project whose .env names no account.
set -e
"$TWILIO_RUN" deploy --service-name no-flags > deploy.log 2>&1 || { cat deploy.log; exit 7; }
"$TWILIO_RUN" list services > list.log 2>&1 || { cat list.log; exit 8; }
cat list.log
"""


@pytest.mark.parametrize("dotenv_account", [None, "AC" + "12" * 16], ids=["no-account", "another-account"])
def test_twilio_run_deploys_with_no_credentials_of_its_own(dotenv_account, tmp_path, twilio_run):
    project = tmp_path / "runtime-project"
    shutil.copytree(RUNTIME_PROJECT, project)
    if dotenv_account:
        # A real Twilio account in .env (which twilio-run would use) is not what twirl authenticates.
        with open(project / ".env", "a") as dotenv:
            dotenv.write(f"ACCOUNT_SID={dotenv_account}\nAUTH_TOKEN={'9' * 32}\n")
    assert "ACCOUNT_SID" not in (RUNTIME_PROJECT / ".env").read_text()
    (project / "run.sh").write_text(TWILIO_RUN_SCRIPT)
    result = run_exec("--account-sid", "AC" + "34" * 16, "--auth-token", "t" * 32, "--", "sh", "run.sh",
                      cwd=project, env={"TWILIO_RUN": str(twilio_run)})
    assert result.returncode == 0, describe(result)
    assert re.search(r"^ZS[0-9a-f]{32} +no-flags ", result.stdout, re.M), describe(result)
