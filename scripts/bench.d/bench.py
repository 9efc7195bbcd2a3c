"""The benchmark behind scripts/bench: twirl against `twilio-run start` (fork per request, and
--no-fork-process --no-live) and a bare Node http server, on the same project, in one run; then
the live project (`twirl serve DIR` against `twilio-run start` in both modes): save-to-served
latency over many edits of a function, and cold start to the first served request; and product
turns (an inbound SMS to its delivered reply, …) beside a plain request to the same function
(turns.py).

Standard library only. Every server it starts is stopped when it exits, however it exits; every
request goes to 127.0.0.1.
"""

import argparse
import base64
import datetime
import hashlib
import json
import mimetypes
import os
import platform
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.join(ROOT, "scripts", "bench.d")
FIXTURE = os.path.join(ROOT, "fixtures", "bench-project")
WORK = os.path.join(ROOT, "target", "bench")
TOOLS = os.path.join(WORK, "tools")
PROJECT = os.path.join(WORK, "project")
TWIRL_BIN = os.path.join(ROOT, "target", "release", "twirl")
BENCHMARKS_MD = os.path.join(ROOT, "BENCHMARKS.md")

TWILIO_RUN_VERSION = "5.0.1"
TOOLS_PACKAGES = [
    "twilio-run@" + TWILIO_RUN_VERSION,
    "@twilio/runtime-handler@2.1.0",
    "twilio@5",
]
ONE_MB_SEED = 20240601

CONNECTIONS = 10
THREADS = 2
WRK_TIMEOUT = "30s"
WARM_SECONDS = 2

SECTION_START = "<!-- bench:results:start -->"
SECTION_END = "<!-- bench:results:end -->"


def log(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


class BenchError(Exception):
    pass


# --- workloads and targets ---------------------------------------------------------------------

class Workload:
    def __init__(self, key, label, path, kind, check):
        self.key, self.label, self.path, self.kind, self.check = key, label, path, kind, check


def _expect_text(expected):
    def check(body):
        text = body.decode("utf-8", "replace")
        return None if text == expected else "expected %r, got %r" % (expected, text[:200])
    return check


def _expect_contains(fragment):
    def check(body):
        text = body.decode("utf-8", "replace")
        return None if fragment in text else "expected a body containing %r, got %r" % (
            fragment, text[:200])
    return check


def _expect_file(path):
    def check(body):
        with open(path, "rb") as f:
            want = f.read()
        if body == want:
            return None
        return "expected the %d bytes of %s, got %d bytes (sha256 %s)" % (
            len(want), os.path.basename(path), len(body), hashlib.sha256(body).hexdigest()[:16])
    return check


WORKLOADS = [
    Workload("hello", "hello-world function", "/hello", "function",
             _expect_text("Hello World")),
    Workload("twiml", "TwiML function", "/twiml", "function",
             _expect_contains("<Response><Message>hi</Message></Response>")),
    Workload("sync-document", "Sync: update + fetch a document", "/sync-document", "function",
             _expect_text("ok")),
    Workload("sync-free", "the same function without Sync", "/sync-free", "function",
             _expect_text("ok")),
    Workload("asset-1kb", "1 KB asset", "/1kb.txt", "asset",
             _expect_file(os.path.join(FIXTURE, "assets", "1kb.txt"))),
    Workload("asset-1mb", "1 MB asset", "/1mb.bin", "asset",
             _expect_file(os.path.join(FIXTURE, "assets", "1mb.bin"))),
]
WORKLOAD_BY_KEY = {w.key: w for w in WORKLOADS}

TARGETS = [
    # key, label, workloads
    ("twirl", "twirl", ["hello", "twiml", "sync-document", "sync-free", "asset-1kb", "asset-1mb"]),
    ("twilio-run-fast", "twilio-run --no-fork-process --no-live",
     ["hello", "twiml", "asset-1kb", "asset-1mb"]),
    ("twilio-run-default", "twilio-run (default: fork per request)",
     ["hello", "twiml", "asset-1kb", "asset-1mb"]),
    ("node", "bare Node http", ["hello", "twiml", "asset-1kb", "asset-1mb"]),
    ("node-relay", "Node http relaying to worker processes", ["hello", "twiml"]),
]
TARGET_LABEL = {k: label for k, label, _ in TARGETS}


# --- processes ---------------------------------------------------------------------------------

_started = []  # Popen objects of every server started, stopped at exit


def _children_map():
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(name))
    return children


def process_tree(pid):
    """pid and all its descendants that are alive now."""
    children = _children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss(pid):
    """(total RSS in KiB, number of processes) of pid and its descendants."""
    tree = [p for p in process_tree(pid) if os.path.exists("/proc/%d" % p)]
    return sum(rss_kib(p) for p in tree), len(tree)


def start_process(argv, cwd, log_path, env=None, stdout_path=None):
    """Starts a server in a session of its own; stderr (and stdout, unless stdout_path is given)
    go to log_path."""
    logf = open(log_path, "ab")
    outf = open(stdout_path, "wb") if stdout_path else None
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
        stdout=outf or logf, stderr=logf, start_new_session=True)
    if outf:
        outf.close()
    proc.log_path = log_path
    proc.stdout_path = stdout_path or log_path
    proc.logf = logf
    _started.append(proc)
    return proc


def stop_process(proc):
    if proc.poll() is None:
        tree = process_tree(proc.pid)
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(proc.pid, sig)
            except OSError:
                pass
            if sig == signal.SIGKILL:
                for p in tree:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except OSError:
                        pass
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # Descendants that left the group (or outlived the parent) go too.
        for p in tree[1:]:
            if os.path.exists("/proc/%d" % p):
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
    else:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
    try:
        proc.logf.close()
    except Exception:
        pass
    if proc in _started:
        _started.remove(proc)


def stop_all():
    for proc in list(_started):
        try:
            stop_process(proc)
        except Exception as e:  # keep stopping the others
            log("could not stop pid %d: %s" % (proc.pid, e))


def _on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(argv, cwd=None, quiet=False, timeout=None):
    log("$ " + " ".join(shlex.quote(a) for a in argv))
    kwargs = {}
    if quiet:
        kwargs = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT}
    res = subprocess.run(argv, cwd=cwd, timeout=timeout, **kwargs)
    if res.returncode != 0:
        if quiet and res.stdout:
            sys.stderr.write(res.stdout.decode("utf-8", "replace")[-4000:])
        raise BenchError("command failed (exit %d): %s" % (res.returncode, " ".join(argv)))


# --- HTTP --------------------------------------------------------------------------------------

def http_get(url, timeout=60):
    assert url.startswith("http://127.0.0.1:"), url
    req = urllib.request.Request(url, method="GET")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_until_serving(url, proc, timeout):
    deadline = time.time() + timeout
    last = "no answer"
    while time.time() < deadline:
        if proc.poll() is not None:
            raise BenchError("the server exited (code %s) before answering %s; see %s" % (
                proc.returncode, url, proc.log_path))
        try:
            status, body = http_get(url, timeout=30)
            if status == 200:
                return
            last = "HTTP %d: %r" % (status, body[:200])
        except (urllib.error.URLError, OSError) as e:
            last = str(e)
        time.sleep(0.2)
    raise BenchError("%s did not answer 200 within %ds (last: %s)" % (url, timeout, last))


def warm_and_check(base, workload, count):
    """A few sequential requests; the first answer must be the right one."""
    url = base + workload.path
    for i in range(count):
        status, body = http_get(url)
        if status != 200:
            raise BenchError("GET %s answered HTTP %d: %r" % (url, status, body[:300]))
        if i == 0:
            problem = workload.check(body)
            if problem:
                raise BenchError("GET %s answered the wrong body: %s" % (url, problem))


# --- wrk ---------------------------------------------------------------------------------------

_TIME_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def parse_time_ms(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text.strip())
    if not m:
        raise ValueError("unreadable time %r" % text)
    return float(m.group(1)) * _TIME_UNITS[m.group(2)]


def parse_wrk(out):
    """The figures of one `wrk --latency` run."""
    res = {"rps": None, "p50_ms": None, "p99_ms": None, "requests": None,
           "errors": 0, "non2xx": 0, "timeouts": 0}
    m = re.search(r"^Requests/sec:\s+([0-9.]+)", out, re.M)
    if m:
        res["rps"] = float(m.group(1))
    m = re.search(r"^\s*(\d+) requests in ([0-9.]+\w+),", out, re.M)
    if m:
        res["requests"] = int(m.group(1))
        res["elapsed_ms"] = parse_time_ms(m.group(2))
    for pct, key in (("50", "p50_ms"), ("99", "p99_ms")):
        m = re.search(r"^\s*%s%%\s+([0-9.]+\w+)" % pct, out, re.M)
        if m:
            res[key] = parse_time_ms(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        c, r, w, t = (int(x) for x in m.groups())
        res["errors"] += c + r + w
        res["timeouts"] = t
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        res["non2xx"] = int(m.group(1))
    if not res["requests"]:
        # wrk reports 0.00us latencies when nothing completed
        res["p50_ms"] = res["p99_ms"] = None
    if res["rps"] is None:
        raise ValueError("no Requests/sec line in wrk's output:\n" + out)
    return res


def run_wrk(url, duration, script=None, connections=CONNECTIONS):
    """wrk against `url` for `duration` seconds over `connections` connections; `script` is a
    Lua file shaping the requests."""
    assert url.startswith("http://127.0.0.1:"), url
    argv = ["wrk", "--latency", "-c", str(connections), "-t", str(min(THREADS, connections)),
            "-d", "%ds" % duration, "--timeout", WRK_TIMEOUT] + (["-s", script] if script else []) + [url]
    log("$ " + " ".join(argv))
    res = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=duration + 120)
    out = res.stdout.decode("utf-8", "replace")
    if res.returncode != 0:
        raise BenchError("wrk failed (exit %d):\n%s" % (res.returncode, out))
    parsed = parse_wrk(out)
    parsed["duration_s"] = duration
    parsed["raw"] = out
    return parsed


def _busy_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...
    return v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)


def _tree_ticks(pid):
    total = 0
    for p in process_tree(pid):
        try:
            with open("/proc/%d/stat" % p) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return total


class CpuAccount:
    """The CPU time used during a load by everything else on the machine than the server, the
    load generator and this script: how much other work disturbed the measurement."""

    def __init__(self, pid):
        self.pid = pid
        self.hz = os.sysconf("SC_CLK_TCK")

    def __enter__(self):
        self.t0 = time.time()
        self.busy0, self.tree0 = _busy_ticks(), _tree_ticks(self.pid)
        import resource
        self.kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.self0 = os.times()
        return self

    def __exit__(self, *exc):
        import resource
        elapsed = max(time.time() - self.t0, 1e-6)
        busy = (_busy_ticks() - self.busy0) / self.hz
        tree = (_tree_ticks(self.pid) - self.tree0) / self.hz
        kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        wrk = (kids1.ru_utime - self.kids0.ru_utime) + (kids1.ru_stime - self.kids0.ru_stime)
        self1 = os.times()
        me = (self1.user - self.self0.user) + (self1.system - self.self0.system)
        self.other_pct = max(0.0, (busy - tree - wrk - me) / elapsed * 100)


class RssSampler:
    """Peak RSS of a process tree while a load runs, sampled every 0.25 s."""

    def __init__(self, pid):
        self.pid, self.peak, self.procs = pid, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self._stop.is_set():
            kib, n = tree_rss(self.pid)
            if kib > self.peak:
                self.peak, self.procs = kib, n
            self._stop.wait(0.25)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


# --- preparation -------------------------------------------------------------------------------

def ensure_one_mb_asset():
    path = os.path.join(FIXTURE, "assets", "1mb.bin")
    rng = random.Random(ONE_MB_SEED)
    data = bytes(rng.getrandbits(8) for _ in range(1 << 20))
    if not os.path.exists(path) or open(path, "rb").read() != data:
        with open(path, "wb") as f:
            f.write(data)
        log("wrote %s (1 MiB)" % os.path.relpath(path, ROOT))


def _stamp_ok(path, want):
    try:
        with open(path) as f:
            return f.read() == want
    except OSError:
        return False


def ensure_tools():
    """twilio-run and the packages it loads, in a scratch directory."""
    want = json.dumps(TOOLS_PACKAGES)
    stamp = os.path.join(TOOLS, ".installed")
    if os.path.exists(os.path.join(TOOLS, "node_modules", ".bin", "twilio-run")) and \
            _stamp_ok(stamp, want):
        return
    os.makedirs(TOOLS, exist_ok=True)
    with open(os.path.join(TOOLS, "package.json"), "w") as f:
        json.dump({"name": "bench-tools", "private": True}, f)
    run(["npm", "install", "--no-audit", "--no-fund", "--no-save"] + TOOLS_PACKAGES,
        cwd=TOOLS, quiet=True, timeout=900)
    with open(stamp, "w") as f:
        f.write(want)


def ensure_project_copy():
    """A copy of the fixture with its node_modules installed, for twilio-run to serve."""
    with open(os.path.join(FIXTURE, "package.json"), "rb") as f:
        want = hashlib.sha256(f.read()).hexdigest()
    stamp = os.path.join(WORK, "project.installed")
    modules = os.path.join(PROJECT, "node_modules")
    keep_modules = os.path.isdir(modules) and _stamp_ok(stamp, want)
    if os.path.isdir(PROJECT):
        for name in os.listdir(PROJECT):
            if keep_modules and name in ("node_modules", "package-lock.json"):
                continue
            p = os.path.join(PROJECT, name)
            shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.remove(p)
    os.makedirs(PROJECT, exist_ok=True)
    for name in ("package.json", "functions", "assets"):
        src = os.path.join(FIXTURE, name)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(PROJECT, name))
        else:
            shutil.copy2(src, os.path.join(PROJECT, name))
    if not keep_modules:
        run(["npm", "install", "--no-audit", "--no-fund"], cwd=PROJECT, quiet=True, timeout=900)
        with open(stamp, "w") as f:
            f.write(want)


# --- machine -----------------------------------------------------------------------------------

def _cmd_out(argv):
    try:
        res = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        return res.stdout.decode("utf-8", "replace").strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine_info(twirl_bin=None):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = "%.1f GiB" % (int(line.split()[1]) / 1024 / 1024)
    except OSError:
        pass
    wrk = _cmd_out(["wrk", "-v"]).splitlines()
    commit = _cmd_out(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    dirty = _cmd_out(["git", "-C", ROOT, "status", "--porcelain", "--", "src", "Cargo.toml",
                      "Cargo.lock"])
    try:
        with open("/proc/loadavg") as f:
            load = " ".join(f.read().split()[:3])
    except OSError:
        load = "?"
    return {
        "load": load,
        "cpus": str(os.cpu_count() or "?"),
        "nproc": _cmd_out(["nproc"]),
        "cpu": cpu,
        "memory": mem,
        "kernel": "%s %s" % (platform.system(), platform.release()),
        "node": _cmd_out(["node", "--version"]),
        "wrk": wrk[0].split(" [")[0] if wrk else "?",
        "twirl": (commit + (" (with uncommitted changes)" if dirty else "")) if not twirl_bin
        else "%s (the binary given with --twirl-bin)" % re.sub(
            r"^twirl\s+", "", _cmd_out([twirl_bin, "--version"])),
        "twilio_run": TWILIO_RUN_VERSION,
    }


# --- the targets -------------------------------------------------------------------------------

class Target:
    key = None

    def __init__(self, opts):
        self.opts = opts
        self.proc = None
        self.base = None
        self.idle_rss = None

    def start(self):
        raise NotImplementedError

    def duration_for(self, workload):
        return self.opts.duration

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def settle(self):
        """Called after each measured load."""

    def observe(self, workload):
        """A count the target keeps of what a load of `workload` did (None: nothing to count)."""
        return None


class BareNode(Target):
    key = "node"

    def start(self):
        port = free_port()
        self.proc = start_process(
            ["node", os.path.join(HERE, "bare-node.js"), str(port),
             os.path.join(PROJECT, "functions"), os.path.join(FIXTURE, "assets")],
            cwd=WORK, log_path=os.path.join(WORK, "logs", "node.log"))
        self.base = "http://127.0.0.1:%d" % port
        wait_until_serving(self.base + "/hello", self.proc, 30)


class RelayNode(Target):
    """The floor of any server whose functions run in processes of their own."""
    key = "node-relay"

    def start(self):
        port = free_port()
        self.proc = start_process(
            ["node", os.path.join(HERE, "relay-node.js"), str(port), os.path.join(PROJECT, "functions")],
            cwd=WORK, log_path=os.path.join(WORK, "logs", "node-relay.log"))
        self.base = "http://127.0.0.1:%d" % port
        wait_until_serving(self.base + "/hello", self.proc, 30)


class TwilioRun(Target):
    def __init__(self, opts, fork):
        super().__init__(opts)
        self.fork = fork
        self.key = "twilio-run-default" if fork else "twilio-run-fast"

    def start(self):
        port = free_port()
        argv = [os.path.join(TOOLS, "node_modules", ".bin", "twilio-run"), "start",
                "--port", str(port), "--cwd", PROJECT]
        if not self.fork:
            argv += ["--no-fork-process", "--no-live"]
        env = dict(os.environ, NO_UPDATE_NOTIFIER="1", NODE_ENV="development")
        self.proc = start_process(argv, cwd=PROJECT, env=env,
                                  log_path=os.path.join(WORK, "logs", self.key + ".log"))
        self.base = "http://127.0.0.1:%d" % port
        wait_until_serving(self.base + "/hello", self.proc, 120)

    def duration_for(self, workload):
        if self.fork and workload.kind == "function":
            return self.opts.fork_duration
        return self.opts.duration

    def settle(self):
        # In fork mode the requests wrk left in flight still run their child processes: let them
        # finish so they do not weigh on the next measurement.
        if self.proc is None:
            return
        deadline = time.time() + 60
        while time.time() < deadline and len(process_tree(self.proc.pid)) > 1 + self._helpers:
            time.sleep(0.2)

    _helpers = 0


SYNC_DOCUMENT = "/sync/v1/Services/default/Documents/bench"


class Twirl(Target):
    key = "twirl"

    def __init__(self, opts, binary):
        super().__init__(opts)
        self.binary = binary
        self.deploy_seconds = None
        self.build_seconds = None

    def start(self):
        self.tmp = tempfile.mkdtemp(prefix="twirl-bench-")
        env = dict(os.environ)
        self.proc = start_process(
            [self.binary, "serve", "--port", "0", "--ephemeral"], cwd=self.tmp, env=env,
            log_path=os.path.join(WORK, "logs", "twirl.log"),
            stdout_path=os.path.join(WORK, "logs", "twirl.out"))
        banner = self._read_banner()
        m = re.match(r"twirl listening on (http://127\.0\.0\.1:(\d+))\s*$", banner[0])
        if not m:
            raise BenchError("twirl's first line is not `twirl listening on http://127.0.0.1:PORT`:"
                             " %r" % banner[0])
        self.api = m.group(1)
        sid = token = None
        for line in banner[1:]:
            mm = re.match(r"\s*Account SID\s+(AC[0-9a-fA-F]{32})", line)
            if mm:
                sid = mm.group(1)
            mm = re.match(r"\s*Auth Token\s+(\S+)", line)
            if mm:
                token = mm.group(1)
        self.auth = (sid or "AC" + "0" * 32, token or "0" * 32)
        t0 = time.time()
        domain = deploy(self.api, self.auth, self.opts.build_timeout, self)
        self.deploy_seconds = time.time() - t0
        self.base = "%s/%s" % (self.api, domain)
        # The document the Sync workload writes, in the default service Runtime.getSync() uses.
        Api(self.api, self.auth).call("POST", SYNC_DOCUMENT.rsplit("/", 1)[0],
                                      form={"UniqueName": "bench", "Data": "{}"})
        wait_until_serving(self.base + "/hello", self.proc, 60)

    def observe(self, workload):
        """What a load of `workload` wrote: the Sync document's revision counts its writes."""
        if workload.key != "sync-document":
            return None
        return int(Api(self.api, self.auth).call("GET", SYNC_DOCUMENT)["revision"], 16)

    def _read_banner(self):
        """The first lines of twirl's stdout. It goes straight to a file (no pipe that a slow
        reader could fill and so slow twirl down), read back from there."""
        proc = self.proc
        deadline = time.time() + 60
        first_seen = None
        while time.time() < deadline:
            with open(proc.stdout_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            if "\n" in text:
                lines = text.splitlines()[:8]
                if any(l.strip().startswith("Data") for l in lines):
                    return lines
                first_seen = first_seen or time.time()
                if time.time() - first_seen > 2:
                    return lines
            if proc.poll() is not None:
                raise BenchError("twirl exited (code %s) before listening; see %s" % (
                    proc.returncode, proc.log_path))
            time.sleep(0.05)
        raise BenchError("twirl printed nothing on stdout within 60 s; see %s"
                         % proc.log_path)


# --- deploying to twirl through its Serverless API --------------------------------------------

class Api:
    def __init__(self, base, auth):
        self.base = base
        token = base64.b64encode(("%s:%s" % auth).encode()).decode()
        self.headers = {"Authorization": "Basic " + token, "Accept": "application/json"}

    def call(self, method, path, form=None, multipart=None):
        url = self.base + path
        assert url.startswith("http://127.0.0.1:"), url
        headers = dict(self.headers)
        data = None
        shown = ""
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            shown = " " + urllib.parse.urlencode(form)
        elif multipart is not None:
            data, ctype = encode_multipart(multipart)
            headers["Content-Type"] = ctype
            shown = " (multipart: %s)" % ", ".join(
                "%s=%s" % (k, v if isinstance(v, str) else "<file %s, %d bytes>" % (
                    v[0], len(v[2]))) for k, v in multipart)
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                body = r.read()
                status = r.status
        except urllib.error.HTTPError as e:
            raise BenchError("twirl API: %s %s%s\n  -> HTTP %d %s" % (
                method, url, shown, e.code, e.read().decode("utf-8", "replace")[:2000]))
        except (urllib.error.URLError, OSError) as e:
            raise BenchError("twirl API: %s %s%s\n  -> no answer: %s" % (method, url, shown, e))
        try:
            return json.loads(body)
        except ValueError:
            raise BenchError("twirl API: %s %s%s\n  -> HTTP %d, not JSON: %r" % (
                method, url, shown, status, body[:2000]))


def encode_multipart(parts):
    boundary = "----bench" + uuid.uuid4().hex
    out = []
    for name, value in parts:
        out.append(("--%s\r\n" % boundary).encode())
        if isinstance(value, str):
            out.append(('Content-Disposition: form-data; name="%s"\r\n\r\n' % name).encode())
            out.append(value.encode() + b"\r\n")
        else:
            filename, ctype, content = value
            out.append(('Content-Disposition: form-data; name="%s"; filename="%s"\r\n'
                        'Content-Type: %s\r\n\r\n' % (name, filename, ctype)).encode())
            out.append(content + b"\r\n")
    out.append(("--%s--\r\n" % boundary).encode())
    return b"".join(out), "multipart/form-data; boundary=%s" % boundary


def _sid(obj, what):
    sid = obj.get("sid") if isinstance(obj, dict) else None
    if not sid:
        raise BenchError("twirl API: the %s answer has no sid: %r" % (what, obj))
    return sid


def deploy(api_base, auth, build_timeout, target):
    """Deploys fixtures/bench-project as the Serverless Toolkit would; returns its domain."""
    api = Api(api_base, auth)
    svc = _sid(api.call("POST", "/v1/Services", form={
        "UniqueName": "bench-project", "FriendlyName": "bench project",
        "IncludeCredentials": "true"}), "service")
    env = _sid(api.call("POST", "/v1/Services/%s/Environments" % svc, form={
        "UniqueName": "dev-environment", "DomainSuffix": "dev"}), "environment")
    function_versions, asset_versions = [], []
    for kind, folder, ctype_default in (("Functions", "functions", "application/javascript"),
                                        ("Assets", "assets", "application/octet-stream")):
        for name in sorted(os.listdir(os.path.join(FIXTURE, folder))):
            path_on_disk = os.path.join(FIXTURE, folder, name)
            route = "/" + (name[:-3] if kind == "Functions" else name)
            res = _sid(api.call("POST", "/v1/Services/%s/%s" % (svc, kind),
                                form={"FriendlyName": route}), kind[:-1].lower())
            with open(path_on_disk, "rb") as f:
                content = f.read()
            ctype = ctype_default if kind == "Functions" else (
                mimetypes.guess_type(name)[0] or ctype_default)
            ver = _sid(api.call("POST", "/v1/Services/%s/%s/%s/Versions" % (svc, kind, res),
                                multipart=[("Path", route), ("Visibility", "public"),
                                           ("Content", (name, ctype, content))]),
                       kind[:-1].lower() + " version")
            (function_versions if kind == "Functions" else asset_versions).append(ver)
    with open(os.path.join(FIXTURE, "package.json")) as f:
        deps = json.load(f).get("dependencies", {})
    form = [("FunctionVersions", v) for v in function_versions]
    form += [("AssetVersions", v) for v in asset_versions]
    form.append(("Dependencies", json.dumps([{"name": k, "version": v}
                                             for k, v in sorted(deps.items())])))
    t0 = time.time()
    build = _sid(api.call("POST", "/v1/Services/%s/Builds" % svc, form=form), "build")
    log("twirl: build %s started; waiting for it (the first build installs the dependencies)"
        % build)
    deadline = time.time() + build_timeout
    while True:
        status = api.call("GET", "/v1/Services/%s/Builds/%s/Status" % (svc, build)).get("status")
        if status == "completed":
            break
        if status == "failed":
            reason = ""
            try:
                status_url = "%s/_twirl/builds/%s" % (api_base, build)
                reason = http_get(status_url)[1].decode("utf-8", "replace")
            except Exception as e:
                reason = str(e)
            raise BenchError("twirl: build %s failed: %s" % (build, reason))
        if time.time() > deadline:
            raise BenchError("twirl: build %s still %r after %d s" % (build, status,
                                                                    build_timeout))
        time.sleep(1)
    target.build_seconds = time.time() - t0
    api.call("POST", "/v1/Services/%s/Environments/%s/Deployments" % (svc, env),
             form={"BuildSid": build})
    domain = api.call("GET", "/v1/Services/%s/Environments/%s" % (svc, env)).get("domain_name")
    if not domain:
        raise BenchError("twirl: environment %s has no domain_name" % env)
    log("twirl: deployed build %s to %s" % (build, domain))
    return domain


# --- measuring ---------------------------------------------------------------------------------

# Workloads measured a second time over one connection, where the p50 is the latency of one
# request rather than the wait for a CPU: under 10 connections a Sync function's p50 is set by how
# many of them two CPUs get through (Little's law), not by what Sync adds to each.
SEQUENTIAL = {"twirl": ("sync-document", "sync-free")}
SEQUENTIAL_SUFFIX = "@1"


def log_result(label, res):
    log("   %-22s %10.1f req/s  p50 %s  p99 %s  (%s requests, %d errors, %d non-2xx,"
        " %d timeouts; other processes used %.0f%% of a CPU)" % (
            label, res["rps"], fmt_ms(res["p50_ms"]), fmt_ms(res["p99_ms"]),
            res["requests"], res["errors"], res["non2xx"], res["timeouts"],
            res.get("other_cpu_pct") or 0))


def measure_target(target, workload_keys, results, memory, failures):
    label = TARGET_LABEL[target.key]
    log("== %s" % label)
    try:
        target.start()
    except BenchError as e:
        failures.append((label, "start", str(e)))
        log("%s failed to start:\n%s" % (label, e))
        target.stop()
        return
    try:
        forked = isinstance(target, TwilioRun) and target.fork
        for key in workload_keys:
            w = WORKLOAD_BY_KEY[key]
            warm_and_check(target.base, w, 2 if (forked and w.kind == "function") else 30)
        target.settle()
        idle, procs = tree_rss(target.proc.pid)
        mem = {"idle_kib": idle, "idle_procs": procs, "peak_kib": idle, "peak_procs": procs}
        for key in workload_keys:
            w = WORKLOAD_BY_KEY[key]
            if not (forked and w.kind == "function"):
                # a short unmeasured load first, so that every target is measured warm
                with RssSampler(target.proc.pid) as sampler:
                    run_wrk(target.base + w.path, WARM_SECONDS)
                if sampler.peak > mem["peak_kib"]:
                    mem["peak_kib"], mem["peak_procs"] = sampler.peak, sampler.procs
            before = target.observe(w)
            with RssSampler(target.proc.pid) as sampler, CpuAccount(target.proc.pid) as cpu:
                res = run_wrk(target.base + w.path, target.duration_for(w))
            res["other_cpu_pct"] = cpu.other_pct
            if before is not None:
                res["committed"] = target.observe(w) - before
            target.settle()
            if sampler.peak > mem["peak_kib"]:
                mem["peak_kib"], mem["peak_procs"] = sampler.peak, sampler.procs
            res["peak_kib"], res["peak_procs"] = sampler.peak, sampler.procs
            results[(target.key, key)] = res
            log_result(w.label, res)
        for key in SEQUENTIAL.get(target.key, ()):
            w = WORKLOAD_BY_KEY[key]
            res = run_wrk(target.base + w.path, target.duration_for(w), connections=1)
            results[(target.key, key + SEQUENTIAL_SUFFIX)] = res
            log_result(w.label + ", one connection", res)
        memory[target.key] = mem
    except BenchError as e:
        failures.append((label, "measure", str(e)))
        log("%s failed:\n%s" % (label, e))
    finally:
        target.stop()


# --- live project: save-to-served latency and cold start ---------------------------------------

LIVE_DIR = os.path.join(WORK, "live")
EDIT_TIMEOUT = 15.0        # seconds an edit may take to be served before it counts as missed
EDIT_POLL = 0.002          # pause between two polls of the edited function
EDIT_PAUSE = (0.2, 0.1)    # pause between edits: base + random up to this much
COLD_POLL = 0.005          # pause between two polls during a cold start
COLD_TIMEOUT = 120.0       # seconds a cold start may take

# key (as in --only), label, how the project is served
LIVE_TARGETS = [
    ("twirl", "twirl serve DIR"),
    ("twilio-run-fast", "twilio-run --no-fork-process (live)"),
    ("twilio-run-default", "twilio-run (default: fork per request)"),
]
LIVE_LABEL = dict(LIVE_TARGETS)


def hello_source(body):
    return ("exports.handler = function (context, event, callback) {\n"
            "  callback(null, %s);\n"
            "};\n" % json.dumps(body))


# The copies' directory names must not contain "twilio-run": in live mode twilio-run keeps every
# module whose path contains it in the require cache (its own code), so it would never see an edit.
LIVE_COPY_NAME = {"twirl": "twirl", "twilio-run-fast": "no-fork", "twilio-run-default": "fork"}


def fresh_project_copy(key):
    """A fresh copy of the bench project, with the node_modules twilio-run uses (the same
    layout for every target), under target/bench/live/."""
    dest = os.path.join(LIVE_DIR, LIVE_COPY_NAME[key])
    if os.path.isdir(dest):
        shutil.rmtree(dest)
    os.makedirs(dest)
    for name in ("package.json", "package-lock.json", "functions", "assets", "node_modules"):
        src = os.path.join(PROJECT, name)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(dest, name), symlinks=True)
        elif os.path.exists(src):
            shutil.copy2(src, os.path.join(dest, name))
    return dest


def live_argv(key, project, port, twirl_bin):
    if key == "twirl":
        return [twirl_bin, "serve", project, "--port", str(port), "--ephemeral"]
    argv = [os.path.join(TOOLS, "node_modules", ".bin", "twilio-run"), "start",
            "--port", str(port), "--cwd", project]
    if key == "twilio-run-fast":
        argv.append("--no-fork-process")  # and its default --live: the require cache is purged
    return argv


class LiveServer:
    """One server on a project copy, its stdout drained by a thread that notes when the first
    line came (twirl prints its ready line once the project is loaded and watched)."""

    def __init__(self, key, project, twirl_bin, log_name):
        self.port = free_port()
        argv = live_argv(key, project, self.port, twirl_bin)
        env = dict(os.environ, NO_UPDATE_NOTIFIER="1", NODE_ENV="development")
        self.log_path = os.path.join(WORK, "logs", log_name)
        logf = open(self.log_path, "ab")
        self.first_line_at = None
        self.first_line = None
        self.t0 = time.monotonic()
        proc = subprocess.Popen(argv, cwd=project, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=logf, start_new_session=True)
        proc.log_path, proc.logf, proc.stdout_path = self.log_path, logf, self.log_path
        _started.append(proc)
        self.proc = proc
        self._reader = threading.Thread(target=self._drain, args=(logf,), daemon=True)
        self._reader.start()

    def _drain(self, logf):
        for line in iter(self.proc.stdout.readline, b""):
            if self.first_line_at is None:
                self.first_line_at = time.monotonic()
                self.first_line = line.decode("utf-8", "replace").rstrip()
            try:
                logf.write(line)
                logf.flush()
            except (OSError, ValueError):
                pass

    def stop(self):
        stop_process(self.proc)


class Poller:
    """GET over one keep-alive connection, reconnecting when the server closed it."""

    def __init__(self, port, timeout=30):
        import http.client
        self.hc = http.client
        self.port, self.timeout, self.conn = port, timeout, None

    def connect(self):
        if self.conn is None:
            self.conn = self.hc.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        if self.conn.sock is None:
            try:
                self.conn.connect()
            except OSError:
                self.close()
                raise

    def get(self, path):
        if self.conn is None:
            self.conn = self.hc.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            self.conn.request("GET", path)
            r = self.conn.getresponse()
            return r.status, r.read()
        except (OSError, self.hc.HTTPException):
            self.close()
            raise

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def cold_start_once(key, project, twirl_bin, log_name):
    """Milliseconds from spawning the server to its port accepting connections and to its first
    200 on GET /hello; polled every COLD_POLL s, a refused connection counting as not yet."""
    srv = LiveServer(key, project, twirl_bin, log_name)
    poller = Poller(srv.port, timeout=60)
    port_open = None
    last = "no answer"
    try:
        deadline = srv.t0 + COLD_TIMEOUT
        while time.monotonic() < deadline:
            if srv.proc.poll() is not None:
                raise BenchError("%s exited (code %s) before answering GET /hello; see %s" % (
                    LIVE_LABEL[key], srv.proc.returncode, srv.log_path))
            try:
                poller.connect()
                if port_open is None:
                    port_open = time.monotonic()
                status, body = poller.get("/hello")
            except ConnectionRefusedError:
                time.sleep(COLD_POLL)
                continue
            except Exception as e:  # noqa: BLE001 - reset while starting: not yet
                last = repr(e)
                time.sleep(COLD_POLL)
                continue
            now = time.monotonic()
            if status == 200:
                if body != b"Hello World":
                    raise BenchError("GET /hello on %s answered %r, expected 'Hello World'" % (
                        LIVE_LABEL[key], body[:200]))
                res = {"served_ms": (now - srv.t0) * 1000,
                       "port_open_ms": (port_open - srv.t0) * 1000 if port_open else None,
                       "first_line_ms": ((srv.first_line_at - srv.t0) * 1000
                                         if srv.first_line_at else None)}
                return res
            last = "HTTP %d: %r" % (status, body[:200])
            time.sleep(COLD_POLL)
        raise BenchError("%s: no 200 on GET /hello within %d s of starting (last: %s)" % (
            LIVE_LABEL[key], COLD_TIMEOUT, last))
    finally:
        poller.close()
        srv.stop()


def measure_cold_starts(keys, projects, twirl_bin, runs, cold, failures):
    """One unmeasured start per target first (twirl's dependency cache, the page cache), then
    `runs` rounds, the targets taking turns so that a change in the machine's load weighs on all
    of them alike."""
    log("== cold start: %d runs per target, after one unmeasured start" % runs)
    alive = list(keys)
    for i in range(runs + 1):
        for key in list(alive):
            try:
                res = cold_start_once(key, projects[key], twirl_bin,
                                      "cold-%s-%d.log" % (key, i))
            except BenchError as e:
                failures.append((LIVE_LABEL[key], "cold start", str(e)))
                log("%s failed to start:\n%s" % (LIVE_LABEL[key], e))
                alive.remove(key)
                continue
            if i == 0:
                log("   %-40s warm-up start: first 200 after %.0f ms" % (
                    LIVE_LABEL[key], res["served_ms"]))
                continue
            cold.setdefault(key, []).append(res)
            log("   %-40s run %d: port open after %s, first 200 after %.0f ms%s" % (
                LIVE_LABEL[key], i, fmt_ms(res["port_open_ms"]), res["served_ms"],
                "" if res["first_line_ms"] is None or key != "twirl" else
                " (ready line after %.0f ms)" % res["first_line_ms"]))
            time.sleep(0.3)


def save_file(path, text, mode):
    """Saves text into path as an editor does: `rename` writes a temporary file next to it and
    renames it over the file; `write` truncates the file and writes into it."""
    if mode == "rename":
        tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, path)
    else:
        with open(path, "w") as f:
            f.write(text)


def measure_edits(key, project, twirl_bin, edits, save_mode, failures):
    """Save-to-served latency of `edits` edits of functions/hello.js, each with a new body."""
    log("== save-to-served: %s, %d edits" % (LIVE_LABEL[key], edits))
    srv = LiveServer(key, project, twirl_bin, "edits-%s.log" % key)
    poller = Poller(srv.port, timeout=30)
    hello = os.path.join(project, "functions", "hello.js")
    rng = random.Random()
    out = {"latencies_ms": [], "polls": [], "missed": 0, "odd": 0, "odd_examples": [],
           "flip_backs": 0, "flip_examples": []}
    confirm = 1 if key == "twilio-run-default" else 3

    def poll(path):
        try:
            return poller.get(path)
        except Exception as e:  # noqa: BLE001 - counted as an odd answer
            if srv.proc.poll() is not None:
                raise BenchError("%s exited (code %s) during the edits; see %s" % (
                    LIVE_LABEL[key], srv.proc.returncode, srv.log_path))
            return None, repr(e).encode()

    try:
        deadline = time.monotonic() + COLD_TIMEOUT
        while True:
            if srv.proc.poll() is not None:
                raise BenchError("%s exited (code %s); see %s" % (
                    LIVE_LABEL[key], srv.proc.returncode, srv.log_path))
            try:
                status, body = poller.get("/hello")
                if status == 200 and body == b"Hello World":
                    break
            except Exception:  # noqa: BLE001 - not up yet
                pass
            if time.monotonic() > deadline:
                raise BenchError("%s never served GET /hello" % LIVE_LABEL[key])
            time.sleep(0.05)
        previous = b"Hello World"
        for i in range(edits):
            body_text = "edit %d of %d, %s" % (i + 1, edits, uuid.uuid4().hex[:12])
            want = body_text.encode()
            save_file(hello, hello_source(body_text), save_mode)
            t_saved = time.monotonic()
            polls = 0
            served = False
            while True:
                status, body = poll("/hello")
                polls += 1
                now = time.monotonic()
                if status == 200 and body == want:
                    out["latencies_ms"].append((now - t_saved) * 1000)
                    out["polls"].append(polls)
                    served = True
                    break
                if not (status == 200 and body == previous):
                    out["odd"] += 1
                    if len(out["odd_examples"]) < 3:
                        out["odd_examples"].append(
                            "edit %d, %.0f ms after the save: GET /hello -> %s %r" % (
                                i + 1, (now - t_saved) * 1000,
                                "HTTP %d" % status if status else "no answer", body[:300]))
                if now - t_saved > EDIT_TIMEOUT:
                    out["missed"] += 1
                    log("   edit %d not served within %.0f s" % (i + 1, EDIT_TIMEOUT))
                    break
                time.sleep(EDIT_POLL)
            # once served, the next requests must serve it too (no worker left on the old code)
            for _ in range(confirm if served else 0):
                status, body = poll("/hello")
                if not (status == 200 and body == want):
                    out["flip_backs"] += 1
                    if len(out["flip_examples"]) < 3:
                        out["flip_examples"].append(
                            "edit %d: after serving the new body, GET /hello -> %s %r" % (
                                i + 1, "HTTP %d" % status if status else "no answer",
                                body[:300]))
            previous = want
            time.sleep(EDIT_PAUSE[0] + rng.random() * EDIT_PAUSE[1])
    except BenchError as e:
        failures.append((LIVE_LABEL[key], "edits", str(e)))
        log("%s failed:\n%s" % (LIVE_LABEL[key], e))
    finally:
        poller.close()
        srv.stop()
    lat = out["latencies_ms"]
    if lat:
        log("   %d edits served: p50 %s, max %s; %d missed, %d odd answers, %d flip-backs" % (
            len(lat), fmt_ms(percentile(lat, 50)), fmt_ms(max(lat)), out["missed"], out["odd"],
            out["flip_backs"]))
    return out


def percentile(values, pct):
    """Nearest-rank percentile."""
    if not values:
        return None
    s = sorted(values)
    k = max(1, int(-(-len(s) * pct // 100)))
    return s[min(k, len(s)) - 1]


def median(values):
    if not values:
        return None
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def load_average():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def measure_live(opts, twirl_bin, live, cold, failures):
    keys = [k for k, _ in LIVE_TARGETS if k in opts.only]
    if not keys:
        return
    live["_load_before"] = load_average()
    if "twirl" in keys and not os.access(twirl_bin, os.X_OK):
        keys.remove("twirl")
    projects = {k: fresh_project_copy(k) for k in keys}
    if opts.cold_starts > 0:
        measure_cold_starts(keys, projects, twirl_bin, opts.cold_starts, cold, failures)
    if opts.edits > 0:
        for key in keys:
            live[key] = measure_edits(key, projects[key], twirl_bin, opts.edits,
                                      opts.save_mode, failures)
            time.sleep(1)
    live["_load_after"] = load_average()


# --- report ------------------------------------------------------------------------------------

def fmt_ms(v):
    if v is None:
        return "–"
    if v >= 1000:
        return "%.2f s" % (v / 1000)
    if v >= 100:
        return "%.0f ms" % v
    if v >= 10:
        return "%.1f ms" % v
    return "%.2f ms" % v


def fmt_rps(v):
    if v is None:
        return "–"
    if v >= 100:
        return "{:,.0f}".format(v)
    return "%.2f" % v


def fmt_ratio(v):
    if v is None:
        return "–"
    if v >= 100:
        return "{:,.0f}×".format(v)
    if v >= 10:
        return "%.1f×" % v
    return "%.2f×" % v


def fmt_mib(kib):
    return "%.0f MiB" % (kib / 1024)


def fmt_procs(n):
    return "1 process" if n == 1 else "%d processes" % n


def _rps(results, target, workload):
    r = results.get((target, workload))
    if not r or not r["rps"] or not r["requests"]:
        return None
    return r["rps"]


def _ratio(a, b):
    return a / b if a is not None and b else None


def _errors(results, target, workload):
    r = results.get((target, workload))
    return (r["errors"] + r["non2xx"] + r["timeouts"]) if r else 0


def ratios(results):
    """Rows of (comparison, workload label, ratio text, target text, met)."""
    rows = _ratios(results)
    out = []
    for comp, wl_label, val, tgt, met in rows:
        wl = next(w.key for w in WORKLOADS if w.label == wl_label)
        errs = _errors(results, "twirl", wl)
        if errs and met is not None and not isinstance(met, str):
            met = "**no**: twirl had %d failed requests" % errs
        out.append((comp, wl_label, val, tgt, met))
    return out


def _ratios(results):
    rows = []
    tw = lambda w: _rps(results, "twirl", w)  # noqa: E731
    for w in ("hello", "twiml"):
        r = _ratio(tw(w), _rps(results, "twilio-run-fast", w))
        rows.append(("twirl / twilio-run --no-fork-process --no-live", WORKLOAD_BY_KEY[w].label,
                     fmt_ratio(r), "≥ 3×", None if r is None else r >= 3))
    for w in ("hello", "twiml"):
        r = _ratio(tw(w), _rps(results, "twilio-run-default", w))
        rows.append(("twirl / twilio-run default (fork per request)", WORKLOAD_BY_KEY[w].label,
                     fmt_ratio(r), "≥ 1000×", None if r is None else r >= 1000))
    for w in ("asset-1kb", "asset-1mb"):
        best = [x for x in (_rps(results, "twilio-run-fast", w),
                            _rps(results, "twilio-run-default", w)) if x]
        r = _ratio(tw(w), max(best) if best else None)
        rows.append(("twirl / twilio-run (its faster mode)", WORKLOAD_BY_KEY[w].label,
                     fmt_ratio(r), "≥ 10×", None if r is None else r >= 10))
    for w in ("hello", "twiml", "asset-1kb", "asset-1mb"):
        r = _ratio(tw(w), _rps(results, "node", w))
        rows.append(("twirl / bare Node http (the limit)", WORKLOAD_BY_KEY[w].label,
                     fmt_ratio(r), "–", "n/a"))
    for w in ("hello", "twiml"):
        r = _ratio(tw(w), _rps(results, "node-relay", w))
        rows.append(("twirl / Node http relaying to worker processes (the floor of that design)",
                     WORKLOAD_BY_KEY[w].label, fmt_ratio(r), "–", "n/a"))
    for w in ("hello", "twiml"):
        r = _ratio(_rps(results, "node-relay", w), _rps(results, "node", w))
        rows.append(("Node http relaying to worker processes / bare Node http",
                     WORKLOAD_BY_KEY[w].label, fmt_ratio(r), "–", "n/a"))
    for w in ("asset-1kb", "asset-1mb"):
        best = [x for x in (_rps(results, "twilio-run-fast", w),
                            _rps(results, "twilio-run-default", w)) if x]
        r = _ratio(_rps(results, "node", w), max(best) if best else None)
        rows.append(("bare Node http (the limit) / twilio-run (its faster mode)",
                     WORKLOAD_BY_KEY[w].label, fmt_ratio(r), "–", "n/a"))
    res = results.get(("twirl", "hello"))
    p99 = res["p99_ms"] if res else None
    rows.append(("twirl p99 latency", WORKLOAD_BY_KEY["hello"].label, fmt_ms(p99), "< 5 ms",
                 None if p99 is None else p99 < 5))
    for suffix, how in (("", "%d connections" % CONNECTIONS), (SEQUENTIAL_SUFFIX, "one connection")):
        synced = results.get(("twirl", "sync-document" + suffix))
        free = results.get(("twirl", "sync-free" + suffix))
        extra = synced["p50_ms"] - free["p50_ms"] if synced and free else None
        rows.append(("twirl p50, with Sync − without (%s)" % how, WORKLOAD_BY_KEY["sync-document"].label,
                     "–" if extra is None else "+" + fmt_ms(extra), "≤ 1 ms",
                     None if extra is None else extra <= 1))
    return rows


def sync_report(results):
    """The Sync workloads over one connection, and how the Sync workload's writes were stored:
    each answered request committed one write."""
    L = []
    sequential = [(WORKLOAD_BY_KEY[k].label, results.get(("twirl", k + SEQUENTIAL_SUFFIX)))
                  for k in SEQUENTIAL["twirl"]]
    if all(r for _, r in sequential):
        L += ["Over one connection (`wrk -c 1 -t 1`), twirl: " + "; ".join(
            "%s %.1f req/s, p50 %s, p99 %s" % (label, r["rps"], fmt_ms(r["p50_ms"]), fmt_ms(r["p99_ms"]))
            for label, r in sequential) + ".", ""]
    r = results.get(("twirl", "sync-document"))
    if not r or r.get("committed") is None:
        return L
    return L + ["Sync writes: during the measured load of `/sync-document` the document's revision "
            "moved by {:,} ({:,.0f} committed writes a second, each one committed to the "
            "store's write-ahead log before the function got its answer); wrk counted {:,} "
            "answered requests, and requests still in flight when wrk stopped account for any "
            "excess of writes over answers.".format(
                r["committed"], r["committed"] * 1000 / (r.get("elapsed_ms") or 1), r["requests"] or 0),
            ""]


def live_report(opts, live, cold):
    L = []
    if live:
        L.append("Save-to-served latency of the live project: %d edits of `functions/hello.js` per "
                 "target, each returning a new body, saved %s; from the end of the save to the "
                 "first answer of `GET /hello` with the new body, polling every %d ms over one "
                 "keep-alive connection (each target on a fresh copy of the project, with its "
                 "`node_modules`):" % (
                     opts.edits,
                     "as editors with a safe write do (a temporary file in `functions/` renamed "
                     "over `hello.js`)" if opts.save_mode == "rename" else
                     "in place (`hello.js` truncated, then written)",
                     EDIT_POLL * 1000))
        L.append("")
        L.append("| target | edits served | p50 | p90 | max | polls per edit (median) | "
                 "other answers | stale after new |")
        L.append("|---|--:|--:|--:|--:|--:|--:|--:|")
        for key, label in LIVE_TARGETS:
            r = live.get(key)
            if r is None:
                continue
            lat = r["latencies_ms"]
            L.append("| %s | %d of %d | %s | %s | %s | %s | %d | %d |" % (
                label, len(lat), len(lat) + r["missed"], fmt_ms(percentile(lat, 50)),
                fmt_ms(percentile(lat, 90)), fmt_ms(max(lat) if lat else None),
                "%g" % median(r["polls"]) if r["polls"] else "–", r["odd"], r["flip_backs"]))
        L.append("")
        L.append("`other answers`: answers during an edit that were neither the previous body nor "
                 "the new one (errors, empty bodies); `stale after new`: answers with something "
                 "else than the new body in the %s request(s) right after it was first served." %
                 "3 (twilio-run's fork mode: 1)")
        notes = []
        for key, label in LIVE_TARGETS:
            r = live.get(key)
            for ex in (r or {}).get("odd_examples", []) + (r or {}).get("flip_examples", []):
                notes.append("- %s: %s" % (label, ex))
        if notes:
            L.append("")
            L.append("Examples of those answers:")
            L.append("")
            L.extend(notes)
        L.append("")
    if cold:
        L.append("Cold start to the first served request: from spawning the server on the "
                 "project copy (with its `node_modules`) to the first 200 answer of "
                 "`GET /hello`, polling every %d ms (a refused connection counts as not yet); "
                 "%d runs per target after one unmeasured start, the targets taking turns; "
                 "`port open` is when it first accepted a connection:" % (
                     COLD_POLL * 1000, opts.cold_starts))
        L.append("")
        L.append("| target | runs | port open (median) | first 200: median | first 200: max |")
        L.append("|---|--:|--:|--:|--:|")
        for key, label in LIVE_TARGETS:
            runs = cold.get(key)
            if not runs:
                continue
            served = [r["served_ms"] for r in runs]
            opened = [r["port_open_ms"] for r in runs if r["port_open_ms"] is not None]
            L.append("| %s | %d | %s | %s | %s |" % (
                label, len(runs), fmt_ms(median(opened)), fmt_ms(median(served)),
                fmt_ms(max(served))))
        tw = cold.get("twirl")
        if tw:
            ready = [r["first_line_ms"] for r in tw if r["first_line_ms"] is not None]
            if ready:
                L.append("")
                L.append("twirl printed its ready line (`twirl listening on …`, once the project "
                         "is loaded and watched) after %s (median), %s at most." % (
                             fmt_ms(median(ready)), fmt_ms(max(ready))))
        L.append("")
    rows = []
    r = live.get("twirl")
    if r and r["latencies_ms"]:
        lat = r["latencies_ms"]
        clean = not r["missed"] and not r["odd"] and not r["flip_backs"]
        p50, mx = percentile(lat, 50), max(lat)
        rows.append(("twirl save-to-served, p50", fmt_ms(p50), "< 100 ms",
                     p50 < 100 if clean else "**no**: missed or wrong answers"))
        rows.append(("twirl save-to-served, max", fmt_ms(mx), "< 300 ms",
                     mx < 300 if clean else "**no**: missed or wrong answers"))
    runs = cold.get("twirl")
    if runs:
        served = [x["served_ms"] for x in runs]
        rows.append(("twirl cold start to the first 200, median of %d" % len(served),
                     fmt_ms(median(served)), "< 300 ms", median(served) < 300))
        rows.append(("twirl cold start to the first 200, slowest of %d" % len(served),
                     fmt_ms(max(served)), "< 300 ms", max(served) < 300))
    if rows:
        L.append("Live-project targets:")
        L.append("")
        L.append("| measure | measured | target | met |")
        L.append("|---|--:|--:|---|")
        for name, val, tgt, met in rows:
            met_s = met if isinstance(met, str) else ("yes" if met else "**no**")
            L.append("| %s | %s | %s | %s |" % (name, val, tgt, met_s))
        L.append("")
    return L


def report(info, opts, command, date, results, memory, failures, twirl_target, live=None,
           cold=None, turn_rows=()):
    live, cold = dict(live or {}), cold or {}
    live_loads = (live.pop("_load_before", None), live.pop("_load_after", None))
    L = []
    L.append("### Run of %s" % date)
    L.append("")
    L.append("- command: `%s`" % command)
    L.append("- machine: %s CPUs (`nproc` %s), %s, %s of memory, %s; load average %s before "
             "the run" % (info["cpus"], info["nproc"], info["cpu"], info["memory"],
                          info["kernel"], info["load"]))
    L.append("- software: Node %s, twilio-run %s, %s, twirl %s" % (
        info["node"], info["twilio_run"], info["wrk"], info["twirl"]))
    if results:
        L.append("- load: `wrk --latency -c %d -t %d -d %ds --timeout %s` per target and "
                 "workload, one target at a time, wrk on the same machine as the server" % (
                     CONNECTIONS, THREADS, opts.duration, WRK_TIMEOUT))
    if "twilio-run-default" in opts.only and results:
        L.append("- twilio-run's default mode forks a Node process per function request: its "
                 "function workloads run for %ds (`--duration` kept between 10 and 20 s, so the "
                 "run stays bounded) and complete only a few rounds of 10 requests: their req/s "
                 "is coarse and their p99 is in effect the slowest request; its assets are not "
                 "forked and run for %ds" % (opts.fork_duration, opts.duration))
    try:
        busy = float(info["load"].split()[0]) > 0.5 * int(info["nproc"])
    except ValueError:
        busy = False
    others = [r.get("other_cpu_pct", 0) for r in results.values()]
    if others:
        L.append("- other processes on the machine used at most %.0f%% of one CPU during any "
                 "measured load (mean %.0f%%)" % (max(others), sum(others) / len(others)))
    if busy:
        L.append("- **the machine was busy when the run started** (load average %s on %s CPUs): "
                 "every figure below is lower and noisier than on an idle machine" % (
                     info["load"].split()[0], info["nproc"]))
    if twirl_target is not None and twirl_target.build_seconds is not None:
        L.append("- twirl: deploy through the API took %.1f s, of which the build (dependency "
                 "install) %.1f s" % (twirl_target.deploy_seconds, twirl_target.build_seconds))
    if live or cold:
        L.append("- live project: %s; cold start: %s; servers started on a fresh copy of the "
                 "project per target, with its `node_modules` (which twirl then uses rather than its "
                 "dependency cache)" % (
                     "%d edits per target, saved by %s" % (
                         opts.edits, "a rename over the file" if opts.save_mode == "rename"
                         else "truncating and writing the file") if live else "not measured",
                     "%d runs per target" % opts.cold_starts if cold else "not measured"))
        if live_loads[0]:
            L.append("- load average %s when the live-project runs started, %s when they ended" % (
                live_loads[0], live_loads[1] or "?"))
    L.append("")
    if not results:
        L.extend(live_report(opts, live, cold))
        return _failures(L, failures)
    L.append("| workload | target | req/s | p50 | p99 | requests | errors | peak RSS |")
    L.append("|---|---|--:|--:|--:|--:|--:|--:|")
    for w in WORKLOADS:
        for tkey, tlabel, wkeys in TARGETS:
            if w.key not in wkeys:
                continue
            r = results.get((tkey, w.key))
            if r is None:
                if tkey in opts.only:
                    L.append("| %s | %s | failed | | | | | |" % (w.label, tlabel))
                continue
            errs = r["errors"] + r["non2xx"] + r["timeouts"]
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s (%s) |" % (
                w.label, tlabel, fmt_rps(r["rps"]), fmt_ms(r["p50_ms"]), fmt_ms(r["p99_ms"]),
                "{:,}".format(r["requests"] or 0), errs, fmt_mib(r["peak_kib"]),
                fmt_procs(r["peak_procs"])))
    L.append("")
    if memory:
        L.append("Memory: the sum of the RSS of the server process and all its descendants, from "
                 "/proc (shared pages counted once per process); the peak is sampled every "
                 "0.25 s during the loads (`peak RSS` above is per workload):")
        L.append("")
        L.append("| target | idle, after the first requests | peak under load |")
        L.append("|---|--:|--:|")
        for tkey, tlabel, _ in TARGETS:
            m = memory.get(tkey)
            if m:
                L.append("| %s | %s (%s) | %s (%s) |" % (
                    tlabel, fmt_mib(m["idle_kib"]), fmt_procs(m["idle_procs"]),
                    fmt_mib(m["peak_kib"]), fmt_procs(m["peak_procs"])))
        L.append("")
    L.append("Ratios of requests per second (twirl's figure divided by the other's), against the "
             "targets:")
    L.append("")
    L.append("| comparison | workload | measured | target | met |")
    L.append("|---|---|--:|--:|---|")
    for comp, wl, val, tgt, met in ratios(results):
        met_s = met if isinstance(met, str) else ("–" if met is None else
                                                  ("yes" if met else "**no**"))
        L.append("| %s | %s | %s | %s | %s |" % (comp, wl, val, tgt, met_s))
    L.append("")
    L.extend(sync_report(results))
    L.extend(turns.report(turn_rows))
    L.extend(live_report(opts, live, cold))
    return _failures(L, failures)


def _failures(L, failures):
    while L and L[-1] == "":
        L.pop()
    if failures:
        L.append("")
        L.append("Failures:")
        L.append("")
        for label, stage, msg in failures:
            L.append("- %s (%s):" % (label, stage))
            L.append("")
            L.append("  ```")
            for line in msg.splitlines():
                L.append("  " + line)
            L.append("  ```")
    return "\n".join(L) + "\n"


def write_benchmarks_md(section):
    block = "%s\n%s%s\n" % (SECTION_START, section, SECTION_END)
    if os.path.exists(BENCHMARKS_MD):
        with open(BENCHMARKS_MD) as f:
            text = f.read()
    else:
        text = "# Benchmarks\n\n"
    if SECTION_START in text and SECTION_END in text:
        head, rest = text.split(SECTION_START, 1)
        tail = rest.split(SECTION_END, 1)[1]
        text = head + block + tail.lstrip("\n")
        if tail.strip():
            text = head + block + "\n" + tail.lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n## Latest results\n\n" + block
    with open(BENCHMARKS_MD, "w") as f:
        f.write(text)
    log("wrote the results into BENCHMARKS.md")


# --- main --------------------------------------------------------------------------------------

def main(argv):
    p = argparse.ArgumentParser(
        prog="scripts/bench",
        description="twirl against twilio-run (both modes) and a bare Node http server, on "
                    "fixtures/bench-project, in one run; a Markdown report on stdout.")
    p.add_argument("--duration", type=int, default=None, metavar="SECONDS",
                   help="wrk duration per target and workload (default 10; 3 with --quick)")
    p.add_argument("--fork-duration", type=int, default=None, metavar="SECONDS",
                   help="wrk duration for twilio-run's fork-per-request mode on functions "
                        "(default: --duration, kept between 10 and 20)")
    p.add_argument("--quick", action="store_true", help="short runs, for a smoke check")
    p.add_argument("--write", action="store_true",
                   help="also put the report into BENCHMARKS.md (replacing the previous one)")
    p.add_argument("--only", default=",".join(k for k, _, _ in TARGETS), metavar="TARGETS",
                   help="comma-separated subset of: %s" % ", ".join(k for k, _, _ in TARGETS))
    p.add_argument("--no-build", action="store_true",
                   help="use target/release/twirl as it is (no cargo build --release)")
    p.add_argument("--twirl-bin", metavar="PATH",
                   help="measure this twirl binary instead of building target/release/twirl")
    p.add_argument("--build-timeout", type=int, default=900, metavar="SECONDS",
                   help="how long to wait for twirl's build to complete (default 900)")
    p.add_argument("--edits", type=int, default=None, metavar="N",
                   help="edits of functions/hello.js for the save-to-served latency, per target "
                        "(default 50; 10 with --quick; 0 skips it)")
    p.add_argument("--cold-starts", type=int, default=None, metavar="N",
                   help="measured cold starts per target (default 5; 3 with --quick; 0 skips "
                        "them)")
    p.add_argument("--save-mode", choices=("rename", "write"), default="rename",
                   help="how an edit is saved: a temporary file renamed over the function "
                        "(default), or the function truncated and written in place")
    p.add_argument("--no-load", action="store_true",
                   help="skip the wrk loads (only the save-to-served and cold-start runs)")
    opts = p.parse_args(argv)
    if opts.duration is None:
        opts.duration = 3 if opts.quick else 10
    if opts.edits is None:
        opts.edits = 10 if opts.quick else 50
    if opts.cold_starts is None:
        opts.cold_starts = 3 if opts.quick else 5
    if opts.edits < 0 or opts.cold_starts < 0:
        p.error("--edits and --cold-starts are counts, at least 0")
    if opts.fork_duration is None:
        opts.fork_duration = min(20, max(opts.duration, 10))
    opts.only = [t.strip() for t in opts.only.split(",") if t.strip()]
    unknown = [t for t in opts.only if t not in TARGET_LABEL]
    if unknown:
        p.error("unknown target(s) %s" % ", ".join(unknown))
    if opts.duration < 1 or opts.fork_duration < 1:
        p.error("durations are whole seconds, at least 1")

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)

    command = "scripts/bench " + " ".join(shlex.quote(a) for a in argv)
    command = command.strip()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    os.makedirs(os.path.join(WORK, "logs"), exist_ok=True)
    for name in os.listdir(os.path.join(WORK, "logs")):
        os.remove(os.path.join(WORK, "logs", name))

    results, memory, failures = {}, {}, []
    live, cold = {}, {}
    turn_rows = []
    twirl_target = None
    want_live = (opts.edits > 0 or opts.cold_starts > 0) and any(
        k in opts.only for k in LIVE_LABEL)
    info = None
    try:
        ensure_one_mb_asset()
        if "twilio-run-fast" in opts.only or "twilio-run-default" in opts.only:
            ensure_tools()
        if any(k in opts.only for k in ("twilio-run-fast", "twilio-run-default", "node", "node-relay")) or want_live:
            ensure_project_copy()
        twirl_bin = os.path.abspath(opts.twirl_bin) if opts.twirl_bin else TWIRL_BIN
        if "twirl" in opts.only and not opts.no_build and not opts.twirl_bin:
            run(["cargo", "build", "--release"], cwd=ROOT)
        info = machine_info(twirl_bin if opts.twirl_bin else None)
        for tkey, _label, wkeys in TARGETS:
            if tkey not in opts.only or opts.no_load:
                continue
            if tkey == "twirl":
                if not os.access(twirl_bin, os.X_OK):
                    failures.append(("twirl", "start", "no binary at %s" % twirl_bin))
                    continue
                target = twirl_target = Twirl(opts, twirl_bin)
            elif tkey == "node":
                target = BareNode(opts)
            elif tkey == "node-relay":
                target = RelayNode(opts)
            else:
                target = TwilioRun(opts, fork=(tkey == "twilio-run-default"))
            measure_target(target, wkeys, results, memory, failures)
            time.sleep(1)
        if want_live:
            measure_live(opts, twirl_bin, live, cold, failures)
        if "twirl" in opts.only and not opts.no_load and os.access(twirl_bin, os.X_OK):
            turn_rows = turns.measure(opts, twirl_bin, failures)
    finally:
        stop_all()

    section = report(info, opts, command, date, results, memory, failures, twirl_target,
                     live, cold, turn_rows)
    sys.stdout.write(section)
    sys.stdout.flush()
    with open(os.path.join(WORK, "results.json"), "w") as f:
        json.dump({"date": date, "command": command, "machine": info,
                   "results": {"%s/%s" % k: {kk: vv for kk, vv in v.items() if kk != "raw"}
                               for k, v in results.items()},
                   "memory": memory, "save_to_served": live, "cold_start": cold,
                   "turns": turn_rows,
                   "failures": failures}, f, indent=2)
    if opts.write:
        write_benchmarks_md(section)
    return 1 if failures else 0


# The product turns live in their own module, which reaches this one as `bench`.
sys.modules.setdefault("bench", sys.modules[__name__])
import turns  # noqa: E402

if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as e:
        log(str(e))
        stop_all()
        sys.exit(1)
    except KeyboardInterrupt:
        stop_all()
        sys.exit(130)
