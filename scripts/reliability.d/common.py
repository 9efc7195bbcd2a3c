"""Shared by the crash test and the soak: starting twirl on a data directory, a small API client,
and what /proc says about processes."""

import os
import queue
import re
import secrets
import signal
import subprocess
import threading
import time
from pathlib import Path

import requests

READY_RE = re.compile(r"^twirl listening on (http://127\.0\.0\.1:\d+)$")
STARTUP_TIMEOUT = 60
PACKAGE_JSON = """{
  "name": "reliability-project",
  "version": "1.0.0",
  "private": true,
  "dependencies": {
    "twilio": "^5.0.0",
    "@twilio/runtime-handler": "2.1.0"
  }
}
"""
DEPENDENCIES = '[{"name":"twilio","version":"^5.0.0"},{"name":"@twilio/runtime-handler","version":"2.1.0"}]'


def repo_root():
    return Path(__file__).resolve().parents[2]


def find_binary():
    explicit = os.environ.get("TWIRL_BIN")
    if explicit:
        return Path(explicit)
    for profile in ("release", "debug"):
        candidate = repo_root() / "target" / profile / "twirl"
        if candidate.is_file():
            return candidate
    raise SystemExit("no twirl binary: run `cargo build --release` or set TWIRL_BIN")


class Twirl:
    """One `twirl serve` on a fixed data directory, in an empty working directory (no project)."""

    def __init__(self, binary, data_dir, workdir, account_sid=None, auth_token=None, extra=()):
        self.binary = Path(binary)
        self.data_dir = Path(data_dir)
        self.workdir = Path(workdir)
        self.account_sid = account_sid or "AC" + secrets.token_hex(16)
        self.auth_token = auth_token or secrets.token_hex(16)
        self.extra = list(extra)
        self.process = None
        self.url = None
        self.log_path = self.workdir / "twirl.log"

    def start(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        command = [str(self.binary), "serve", str(self.workdir), "--port", "0", "--data", str(self.data_dir),
                   "--no-demo", "--no-watch", "--account-sid", self.account_sid,
                   "--auth-token", self.auth_token, *self.extra]
        log = open(self.log_path, "a", encoding="utf-8")
        self.process = subprocess.Popen(command, cwd=self.workdir, stdout=subprocess.PIPE, stderr=log,
                                        text=True, errors="replace")
        log.close()
        first = queue.Queue()
        threading.Thread(target=self._drain, args=(first,), daemon=True).start()
        try:
            line = first.get(timeout=STARTUP_TIMEOUT)
        except queue.Empty:
            line = None
        match = READY_RE.match(line or "")
        if not match:
            self.kill()
            raise RuntimeError(f"twirl did not start (first line {line!r}); see {self.log_path}")
        self.url = match.group(1)
        self.session = requests.Session()
        self.session.auth = (self.account_sid, self.auth_token)
        return self

    def _drain(self, first):
        with open(self.log_path, "a", encoding="utf-8") as log:
            for index, line in enumerate(self.process.stdout):
                if index == 0:
                    first.put(line.rstrip("\r\n"))
                log.write(line)
                log.flush()
        first.put(None)

    def kill(self):
        """kill -9, then wait for the process to be gone."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        if self.process:
            self.process.wait(timeout=30)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def request(self, method, path, **kwargs):
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.url + path, **kwargs)


def processes_mentioning(text):
    """Pids of live processes whose command line mentions `text` (a data directory)."""
    needle = str(text).encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                if needle not in cmdline.read():
                    continue
            with open(f"/proc/{entry}/stat") as stat:
                state = stat.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            found.append(int(entry))
    return found


def children_of(pid):
    """Pids of the live children of `pid`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry))
    return found


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def open_fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def integrity_check(db_path):
    """PRAGMA integrity_check on the database, opened read-only (twirl must be stopped)."""
    import sqlite3
    connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        connection.close()


def wait_until(predicate, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
