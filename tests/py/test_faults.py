"""Worker faults through real HTTP: functions that throw, exit, reject, spin, exhaust memory,
answer too much or flood their output. Each must get an answer in bounded time, a worker whose
process ended must be replaced, and healthy requests running at the same moment must all succeed.

Also runs the short modes of `scripts/crash-test` and `scripts/soak` (see RELIABILITY.md)."""

import os
import secrets
import subprocess
import sys
import threading
import time

import pytest
import requests

from conftest import REPO_ROOT, twirl_binary
from support import (assert_status, deploy_project, worker_pids, write_function_project)

EXECUTION_LIMIT = 10.0
LOG_WAIT = 10.0
HEALTHY_THREADS = 3
HEALTHY_MAX_REQUESTS = 5000   # per thread, a bound on the background loop
HEALTHY_MAX_SECONDS = 90.0

# Every fault function first logs its pid with the request's tag, so the test can tell whether
# that process was replaced.
PID_LINE = "console.log('fault-pid', process.pid, event.tag);"

FUNCTIONS = {
    "ok": "exports.handler = (context, event, callback) => callback(null, 'ok');",
    "throws": f"""exports.handler = (context, event, callback) => {{
  {PID_LINE}
  throw new Error('thrown on purpose');
}};""",
    "throws-later": f"""exports.handler = (context, event, callback) => {{
  {PID_LINE}
  setTimeout(() => {{ throw new Error('thrown from a timer'); }}, 5);
}};""",
    "exit": f"""exports.handler = (context, event, callback) => {{
  {PID_LINE}
  process.exit(3);
}};""",
    "kill-self": f"""exports.handler = (context, event, callback) => {{
  {PID_LINE}
  process.kill(process.pid, 'SIGKILL');
}};""",
    "unhandled-rejection": f"""exports.handler = (context, event, callback) => {{
  {PID_LINE}
  Promise.reject(new Error('nobody handles this'));
}};""",
    "exit-after-answer": f"""exports.handler = (context, event, callback) => {{
  {PID_LINE}
  callback(null, 'answered');
  setTimeout(() => process.exit(0), Number(event.delay || 5));
}};""",
    "many-headers": """exports.handler = (context, event, callback) => {
  const response = new Twilio.Response();
  for (let i = 0; i < Number(event.count); i++) response.appendHeader(`X-Header-${i}`, event.value || 'v');
  response.setBody('headers');
  callback(null, response);
};""",
    "garbage-frame": f"""const fs = require('fs');
exports.handler = (context, event, callback) => {{
  {PID_LINE}
  fs.writeSync(1, 'this is not a protocol frame\\n');
  callback(null, 'after garbage');
}};""",
    "loop": f"""exports.handler = (context, event, callback) => {{
  {PID_LINE}
  for (;;) {{ /* spin */ }}
}};""",
    "memory-bomb": f"""exports.handler = (context, event, callback) => {{
  {PID_LINE}
  const kept = [];
  for (;;) kept.push(new Array(1e6).fill(Math.random()));
}};""",
    # Up to 1.5 GiB outside the JavaScript heap, then answers with what it holds.
    "buffer-bomb": f"""exports.handler = (context, event, callback) => {{
  {PID_LINE}
  const kept = [];
  for (let i = 0; i < 24; i++) kept.push(Buffer.alloc(64 * 1024 * 1024, 1));
  callback(null, {{ held: kept.length * 64, rss: process.memoryUsage().rss }});
}};""",
    "huge-text": "exports.handler = (c, e, callback) => callback(null, 'x'.repeat(21 * 1024 * 1024));",
    "huge-buffer": "exports.handler = (c, e, callback) => callback(null, Buffer.alloc(21 * 1024 * 1024, 7));",
    "huge-response": """exports.handler = (c, e, callback) => {
  const response = new Twilio.Response();
  response.setBody({ data: 'y'.repeat(21 * 1024 * 1024) });
  callback(null, response);
};""",
    "sized": "exports.handler = (c, e, callback) => callback(null, 'z'.repeat(Number(e.bytes)));",
    "slow": "exports.handler = (c, e, callback) => setTimeout(() => callback(null, 'slow'), Number(e.ms || 800));",
    "flood": """exports.handler = (context, event, callback) => {
  const count = Number(event.n || 100000);
  const write = {
    log: (line) => console.log(line),
    error: (line) => console.error(line),
    stdout: (line) => process.stdout.write(line + '\\n'),
    stderr: (line) => process.stderr.write(line + '\\n'),
  }[event.via || 'log'];
  for (let i = 0; i < count; i++) write(`flood ${event.tag} ${i}`);
  callback(null, 'flooded');
};""",
}


@pytest.fixture(scope="module")
def deployed(api, tmp_path_factory):
    project = write_function_project(tmp_path_factory.mktemp("projects") / "faults", FUNCTIONS)
    return deploy_project(api, project, "fault-project")


@pytest.fixture(scope="module")
def site_url(deployed):
    return deployed.site_url


class HealthyTraffic:
    """Background threads calling a healthy function in a loop (bounded in count and time) while
    a fault happens; every one of their requests must succeed."""

    def __init__(self, url, threads=HEALTHY_THREADS):
        self.url = url
        self.threads = threads
        self.stop = threading.Event()
        self.results = []
        self.lock = threading.Lock()

    def _run(self):
        session = requests.Session()
        deadline = time.monotonic() + HEALTHY_MAX_SECONDS
        for _ in range(HEALTHY_MAX_REQUESTS):
            if self.stop.is_set() or time.monotonic() > deadline:
                break
            try:
                response = session.get(self.url, timeout=30)
                result = (response.status_code, response.text)
            except requests.RequestException as error:
                result = ("exception", str(error))
            with self.lock:
                self.results.append(result)
            time.sleep(0.01)

    def __enter__(self):
        self.workers = [threading.Thread(target=self._run, daemon=True) for _ in range(self.threads)]
        for worker in self.workers:
            worker.start()
        time.sleep(0.2)  # some healthy requests are under way before the fault
        return self

    def __exit__(self, *exc):
        time.sleep(0.2)  # and some after it
        self.stop.set()
        for worker in self.workers:
            worker.join(timeout=60)
        return False

    def assert_all_succeeded(self):
        failures = [result for result in self.results if result != (200, "ok")]
        assert self.results, "no healthy request ran during the fault"
        assert not failures, f"{len(failures)} of {len(self.results)} healthy requests failed: {failures[:5]}"


def fault_pid(api, deployed, tag):
    """The pid the fault function logged for this request's tag."""
    deadline = time.monotonic() + LOG_WAIT
    while True:
        logs = api.fetch(f"{deployed.environment_path}/Logs?PageSize=200")["logs"]
        for entry in logs:
            words = entry["message"].split()
            if len(words) == 3 and words[0] == "fault-pid" and words[2] == tag:
                return int(words[1])
        if time.monotonic() > deadline:
            pytest.fail(f"the fault function's pid line for {tag} never reached the logs")
        time.sleep(0.1)


def assert_process_gone(pid, timeout=10.0):
    deadline = time.monotonic() + timeout
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break  # a zombie awaiting its reaping is dead already
        except OSError:
            break
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{pid}") or _is_zombie(pid), f"worker {pid} is still running"


def _is_zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def call(site_url, name, timeout=60, **params):
    tag = secrets.token_hex(6)
    started = time.monotonic()
    response = requests.get(f"{site_url}/{name}", params={"tag": tag, **params}, timeout=timeout)
    return response, tag, time.monotonic() - started


def assert_still_serves(site_url, name=None, expected_status=None):
    """The healthy function answers; the fault function, called again, still gets its answer
    (from a fresh worker)."""
    response = requests.get(f"{site_url}/ok", timeout=30)
    assert (response.status_code, response.text) == (200, "ok")
    if name:
        again, _, _ = call(site_url, name)
        assert_status(again, expected_status)


# --- faults that end the worker --------------------------------------------------------------------

@pytest.mark.parametrize("name", ["throws-later", "exit", "kill-self", "unhandled-rejection", "garbage-frame"])
def test_fatal_fault_answers_500_and_replaces_the_worker(api, deployed, site_url, name):
    with HealthyTraffic(f"{site_url}/ok") as healthy:
        response, tag, elapsed = call(site_url, name)
    assert_status(response, 500)
    assert elapsed < 5, f"{name} answered after {elapsed:.1f} s: a dead worker must be noticed at once"
    assert_process_gone(fault_pid(api, deployed, tag))
    healthy.assert_all_succeeded()
    assert_still_serves(site_url, name, 500)


def test_thrown_error_answers_500_and_the_worker_keeps_serving(api, deployed, site_url):
    with HealthyTraffic(f"{site_url}/ok") as healthy:
        response, tag, elapsed = call(site_url, "throws")
    assert_status(response, 500)
    assert response.json()["message"] == "thrown on purpose"
    assert elapsed < 5
    fault_pid(api, deployed, tag)
    healthy.assert_all_succeeded()
    assert_still_serves(site_url, "throws", 500)


def test_exit_after_answering_keeps_the_answer_and_ends_the_worker(api, deployed, site_url):
    response, tag, _ = call(site_url, "exit-after-answer")
    assert (response.status_code, response.text) == (200, "answered")
    assert_process_gone(fault_pid(api, deployed, tag))


def test_a_worker_about_to_exit_does_not_fail_the_next_request(site_url):
    response, _, _ = call(site_url, "exit-after-answer", delay=300)
    assert (response.status_code, response.text) == (200, "answered")
    innocent = requests.get(f"{site_url}/slow", params={"ms": 800}, timeout=30)
    assert (innocent.status_code, innocent.text) == (200, "slow"), innocent.text[:200]


def test_a_worker_exiting_as_the_next_request_arrives_does_not_fail_it(site_url):
    # The exit lands before, while or just after the next invocation is handed to that worker.
    failures = []
    for round_ in range(40):
        response, _, _ = call(site_url, "exit-after-answer", delay=round_ % 4)
        assert (response.status_code, response.text) == (200, "answered")
        innocent = requests.get(f"{site_url}/ok", timeout=30)
        if innocent.status_code != 200:
            failures.append((round_, innocent.status_code, innocent.text[:120]))
    assert not failures, failures


@pytest.mark.parametrize("count, value, status", [
    (80, "v", 200), (91, "v", 431), (10, "v" * 2000, 431), (5, "v" * 2000, 200)])
def test_response_header_limits_are_twilios(site_url, count, value, status):
    # 90 headers and 15 kB in all, as for requests (the function adds one Content-Type of its own).
    response, _, _ = call(site_url, "many-headers", count=count, value=value)
    assert_status(response, status)
    if status == 431:
        assert response.json()["code"] == 82008
        assert response.json()["message"] == "Response headers or cookies too long"
    else:
        assert response.text == "headers"
    assert_still_serves(site_url)


def test_infinite_loop_is_stopped_at_the_execution_limit(api, deployed, site_url):
    with HealthyTraffic(f"{site_url}/ok") as healthy:
        response, tag, elapsed = call(site_url, "loop")
    assert_status(response, 504)
    assert response.json()["code"] == 82002
    assert EXECUTION_LIMIT - 0.5 <= elapsed < EXECUTION_LIMIT + 5, f"answered after {elapsed:.1f} s"
    assert_process_gone(fault_pid(api, deployed, tag))
    healthy.assert_all_succeeded()
    assert_still_serves(site_url)


def test_memory_bomb_ends_the_worker_not_the_server(api, deployed, site_url):
    with HealthyTraffic(f"{site_url}/ok") as healthy:
        response, tag, elapsed = call(site_url, "memory-bomb")
    assert_status(response, 500)
    assert elapsed < EXECUTION_LIMIT, f"the heap cap should end the worker before the time limit ({elapsed:.1f} s)"
    assert_process_gone(fault_pid(api, deployed, tag))
    healthy.assert_all_succeeded()
    assert_still_serves(site_url)


def test_buffer_memory_bomb_is_capped(site_url):
    response, _, _ = call(site_url, "buffer-bomb")
    assert response.status_code == 500, f"{response.status_code} {response.text[:200]}"
    assert_still_serves(site_url)


# --- responses over 20 MB --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["huge-text", "huge-buffer", "huge-response"])
def test_response_over_20_mb_is_refused_with_500(site_url, name):
    with HealthyTraffic(f"{site_url}/ok") as healthy:
        response, _, elapsed = call(site_url, name)
    assert_status(response, 500)
    assert len(response.content) < 64 * 1024, "the oversize body must not be sent"
    assert "20 MB" in response.text
    assert elapsed < EXECUTION_LIMIT
    healthy.assert_all_succeeded()
    assert_still_serves(site_url, name, 500)


def test_response_of_16_kib_is_served_whole(site_url):
    response, _, _ = call(site_url, "sized", bytes=16 * 1024)
    assert_status(response, 200)
    assert response.content == b"z" * (16 * 1024)


@pytest.mark.parametrize("size", [4 * 1024 * 1024, 19 * 1024 * 1024], ids=["4MiB", "19MiB"])
def test_response_under_20_mb_is_served_whole(site_url, size):
    response, _, _ = call(site_url, "sized", bytes=size)
    assert_status(response, 200)
    assert len(response.content) == size


# --- output floods ---------------------------------------------------------------------------------

FLOOD_CHANNELS = ["log", "error", "stdout", "stderr"]


# Runs before the floods: their lines, still being stored, would bury these in the newest-first list.
def test_a_hundred_log_lines_are_stored_as_logs(api, deployed, site_url):
    response, tag, _ = call(site_url, "flood", via="log", n=100)
    assert (response.status_code, response.text) == (200, "flooded")
    deadline = time.monotonic() + LOG_WAIT
    while True:
        logs = api.fetch(f"{deployed.environment_path}/Logs?PageSize=500")["logs"]
        mine = [entry for entry in logs if f"flood {tag} " in entry["message"]]
        if len(mine) == 100 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(mine) == 100


@pytest.mark.parametrize("via", FLOOD_CHANNELS)
def test_output_flood_is_survived(api, deployed, twirl, site_url, via):
    """100k lines in a synchronous loop: an answer comes in bounded time, twirl stays up and
    responsive, concurrent healthy requests succeed, and the log store is not flooded beyond
    what it can take."""
    with HealthyTraffic(f"{site_url}/ok") as healthy:
        response, tag, elapsed = call(site_url, "flood", via=via, n=100000)
    assert response.status_code in (200, 500), f"{response.status_code} {response.text[:300]}"
    assert elapsed < EXECUTION_LIMIT + 5
    assert twirl.process.poll() is None, "twirl died during an output flood"
    healthy.assert_all_succeeded()
    assert_still_serves(site_url)


@pytest.mark.parametrize("via", FLOOD_CHANNELS)
def test_output_flood_does_not_fail_the_function(site_url, via):
    response, _, _ = call(site_url, "flood", via=via, n=100000)
    assert (response.status_code, response.text) == (200, "flooded"), response.text[:300]


# --- many faults at once ---------------------------------------------------------------------------

def test_concurrent_faults_leave_no_stray_workers(twirl, site_url):
    """Twenty faults at the same moment, with healthy traffic: all answered, and afterwards the
    number of worker processes is bounded by the concurrency limit."""
    names = ["exit", "kill-self", "unhandled-rejection", "throws-later", "garbage-frame"] * 4
    statuses = [None] * len(names)

    def fault(index):
        statuses[index] = call(site_url, names[index])[0].status_code

    with HealthyTraffic(f"{site_url}/ok") as healthy:
        threads = [threading.Thread(target=fault, args=(index,)) for index in range(len(names))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert set(statuses) <= {500, 429}, statuses
    healthy.assert_all_succeeded()
    assert_still_serves(site_url)
    assert len(worker_pids(twirl.process.pid)) <= 30 + 2


# --- the reliability scripts' short modes -----------------------------------------------------------

def run_script(name, *args, timeout):
    environment = {**os.environ, "TWIRL_BIN": str(twirl_binary()), "PYTHON": sys.executable}
    result = subprocess.run(["bash", str(REPO_ROOT / "scripts" / name), *args], cwd=REPO_ROOT,
                            env=environment, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{name} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result.stdout


def test_crash_test_short_mode():
    output = run_script("crash-test", "--rounds", "6", timeout=240)
    assert "data lost: 0" in output, output[-2000:]


def test_soak_short_mode():
    output = run_script("soak", "--seconds", "25", timeout=180)
    assert "unexpected errors: 0" in output, output[-2000:]
