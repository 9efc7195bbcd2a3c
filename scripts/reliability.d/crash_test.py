"""Crash safety: kill -9 twirl at random moments while deploys and Sync writes run through the API,
restart it on the same data directory, and check that

  * every acknowledged write (a 2xx response was received) is still there, with its value: among
    them conditional updates of a Sync document counting its writes, and Sync list and map items
    written by several clients at once (so the store commits them together);
  * PRAGMA integrity_check is `ok` (the database opened read-only while twirl is stopped);
  * no half-built build is on disk or served: every build directory is complete, and the
    environment's deployed build serves exactly the files of that build;
  * no Node worker of the killed twirl survives it.

Usage: crash_test.py [--rounds N] [--seed S] [--keep]. Prints a summary ending in
`data lost: N`; exits 1 if anything did not hold."""

import argparse
import hashlib
import json
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from common import (DEPENDENCIES, Twirl, find_binary, integrity_check, processes_mentioning,
                    wait_until)

ROUND_SECONDS_MAX = 30       # a round's workload never runs longer than this
KILL_AFTER = (0.05, 4.0)     # seconds after the workload starts
ASSET_BYTES = 256 * 1024
SYNC = "/sync/v1/Services/default"
SYNC_WRITERS = 4             # concurrent Sync writers, so their writes share commits
SYNC_WRITES_PER_ROUND = 800  # bounds what each restart checks


def asset_content(marker):
    """Deterministic bytes of an asset version, recognisable by its marker."""
    seed = hashlib.sha256(marker.encode()).digest()
    return (marker.encode() + b"\n" + seed * (ASSET_BYTES // len(seed)))[:ASSET_BYTES]


def function_source(marker):
    return f"exports.handler = (context, event, callback) => callback(null, {json.dumps(marker)});\n"


LOOP_SOURCE = "exports.handler = () => { for (;;) {} };\n"


class Ledger:
    """What the server acknowledged, and what was in flight when it died."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acknowledged = {}     # api path -> expected fields (subset)
        self.versions = {}         # version sid -> (kind, bytes)
        self.builds = {}           # build sid -> {path: version sid}
        self.variable = {}         # key -> (sid, acknowledged value, in-flight value or None)
        # The Sync counter document: (acknowledged count, its revision, in-flight count or None).
        self.counter = (0, "0", None)
        self.list_items = {}       # Sync list item index -> data
        self.map_items = {}        # Sync map item key -> data
        self.writes = 0

    def ack(self, path, fields):
        with self.lock:
            self.acknowledged[path] = fields
            self.writes += 1


class Workload:
    """Deploy cycles through the API plus site traffic, until stopped or the server dies."""

    def __init__(self, twirl, ledger, ids, round_number, rng):
        self.twirl = twirl
        self.ledger = ledger
        self.ids = ids
        self.round = round_number
        self.rng = rng
        self.stop = threading.Event()
        self.site_calls = 0

    def post(self, path, **kwargs):
        return self.twirl.request("POST", path, **kwargs)

    def deploy_cycle(self, cycle):
        ids, ledger = self.ids, self.ledger
        service = f"/v1/Services/{ids['service']}"
        marker = f"round-{self.round}-cycle-{cycle}-{self.rng.getrandbits(32):08x}"

        fn_versions = []
        for path, source in (("/hello", function_source(marker)), ("/loop", LOOP_SOURCE)):
            response = self.post(f"{service}/Functions/{ids['functions'][path]}/Versions", files=[
                ("Path", (None, path)), ("Visibility", (None, "public")),
                ("Content", (path[1:] + ".js", source.encode(), "application/javascript"))])
            if response.status_code != 201:
                raise RuntimeError(f"function upload {response.status_code} {response.text[:200]}")
            version = response.json()
            with ledger.lock:
                ledger.versions[version["sid"]] = ("function", source.encode())
            ledger.ack(f"{service}/Functions/{ids['functions'][path]}/Versions/{version['sid']}",
                       {"sid": version["sid"], "path": path})
            fn_versions.append(version["sid"])

        content = asset_content(marker)
        response = self.post(f"{service}/Assets/{ids['asset']}/Versions", files=[
            ("Path", (None, "/data.bin")), ("Visibility", (None, "public")),
            ("Content", ("data.bin", content, "application/octet-stream"))])
        if response.status_code != 201:
            raise RuntimeError(f"asset upload {response.status_code} {response.text[:200]}")
        asset_version = response.json()["sid"]
        with ledger.lock:
            ledger.versions[asset_version] = ("asset", content)
        ledger.ack(f"{service}/Assets/{ids['asset']}/Versions/{asset_version}", {"sid": asset_version})

        response = self.post(f"{service}/Builds", data={
            "FunctionVersions": fn_versions, "AssetVersions": [asset_version], "Dependencies": DEPENDENCIES})
        if response.status_code == 429:
            self.twirl.request("POST", "/_twirl/clock", json={"advance_seconds": 3601})
            return
        if response.status_code != 201:
            raise RuntimeError(f"build {response.status_code} {response.text[:200]}")
        build = response.json()["sid"]
        with ledger.lock:
            ledger.builds[build] = {"/hello": fn_versions[0], "/loop": fn_versions[1], "/data.bin": asset_version}
        ledger.ack(f"{service}/Builds/{build}", {"sid": build})

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not self.stop.is_set():
            status = self.twirl.request("GET", f"{service}/Builds/{build}/Status").json()["status"]
            if status != "building":
                break
            time.sleep(0.05)
        else:
            return
        if status != "completed":
            raise RuntimeError(f"build {build} ended {status}")

        response = self.post(f"{service}/Environments/{ids['environment']}/Deployments", data={"BuildSid": build})
        if response.status_code != 201:
            raise RuntimeError(f"deployment {response.status_code} {response.text[:200]}")
        deployment = response.json()["sid"]
        ledger.ack(f"{service}/Environments/{ids['environment']}/Deployments/{deployment}",
                   {"sid": deployment, "build_sid": build})

        key = "MARKER"
        sid, acked, _ = ledger.variable[key]
        with ledger.lock:
            ledger.variable[key] = (sid, acked, marker)
        response = self.post(f"{service}/Environments/{ids['environment']}/Variables/{sid}",
                             data={"Value": marker})
        if response.status_code != 200:
            raise RuntimeError(f"variable update {response.status_code} {response.text[:200]}")
        with ledger.lock:
            ledger.variable[key] = (sid, marker, None)
            ledger.writes += 1

    def run_deploys(self):
        cycle = 0
        deadline = time.monotonic() + ROUND_SECONDS_MAX
        while not self.stop.is_set() and time.monotonic() < deadline and cycle < 50:
            try:
                self.deploy_cycle(cycle)
            except (requests.RequestException, ValueError):
                return  # the server died under us: expected
            cycle += 1

    def sync_cycle(self, session, writer, n):
        """The first writer updates the counter conditionally; every writer adds a list item and a
        map item; each write is recorded once acknowledged."""
        ledger = self.ledger
        if writer == 0:
            count, revision, _ = ledger.counter
            with ledger.lock:
                ledger.counter = (count, revision, count + 1)
            response = session.post(f"{self.twirl.url}{SYNC}/Documents/counter", headers={"If-Match": revision},
                                    data={"Data": json.dumps({"count": count + 1})}, timeout=15)
            if response.status_code != 200:
                raise RuntimeError(f"counter update {response.status_code} {response.text[:200]}")
            with ledger.lock:
                ledger.counter = (count + 1, response.json()["revision"], None)
                ledger.writes += 1
        data = {"round": self.round, "writer": writer, "n": n}
        response = session.post(f"{self.twirl.url}{SYNC}/Lists/log/Items", data={"Data": json.dumps(data)},
                                timeout=15)
        if response.status_code != 201:
            raise RuntimeError(f"list item {response.status_code} {response.text[:200]}")
        with ledger.lock:
            ledger.list_items[response.json()["index"]] = data
            ledger.writes += 1
        key = f"r{self.round}-w{writer}-{n}"
        response = session.post(f"{self.twirl.url}{SYNC}/Maps/state/Items",
                                data={"Key": key, "Data": json.dumps(data)}, timeout=15)
        if response.status_code != 201:
            raise RuntimeError(f"map item {response.status_code} {response.text[:200]}")
        with ledger.lock:
            ledger.map_items[key] = data
            ledger.writes += 1

    def run_sync_writes(self, writer):
        session = requests.Session()
        session.auth = self.twirl.session.auth
        deadline = time.monotonic() + ROUND_SECONDS_MAX
        n = 0
        limit = SYNC_WRITES_PER_ROUND // (2 * SYNC_WRITERS)
        while not self.stop.is_set() and time.monotonic() < deadline and n < limit:
            try:
                self.sync_cycle(session, writer, n)
            except (requests.RequestException, ValueError):
                return
            n += 1

    def run_site_traffic(self, domain):
        deadline = time.monotonic() + ROUND_SECONDS_MAX
        session = requests.Session()
        while not self.stop.is_set() and time.monotonic() < deadline and self.site_calls < 2000:
            try:
                # One call spins in /loop so a worker is busy in a loop when the kill comes.
                if self.site_calls == 0:
                    threading.Thread(target=self._loop_call, args=(domain,), daemon=True).start()
                session.get(f"{self.twirl.url}/{domain}/hello", timeout=15)
                session.get(f"{self.twirl.url}/{domain}/data.bin", timeout=15)
                self.site_calls += 1
            except requests.RequestException:
                return

    def _loop_call(self, domain):
        try:
            requests.get(f"{self.twirl.url}/{domain}/loop", timeout=15)
        except requests.RequestException:
            pass


def setup(twirl, ledger):
    """Service, environment, functions, asset and variable: created once, acknowledged."""
    def create(path, data):
        response = twirl.request("POST", path, data=data)
        if response.status_code != 201:
            raise RuntimeError(f"setup {path}: {response.status_code} {response.text[:200]}")
        body = response.json()
        return body

    service = create("/v1/Services", {"UniqueName": "crash-test", "FriendlyName": "crash test",
                                      "IncludeCredentials": "false"})
    base = f"/v1/Services/{service['sid']}"
    ledger.ack(base, {"sid": service["sid"], "unique_name": "crash-test"})
    environment = create(f"{base}/Environments", {"UniqueName": "dev-environment", "DomainSuffix": "dev"})
    ledger.ack(f"{base}/Environments/{environment['sid']}", {"sid": environment["sid"]})
    functions = {}
    for path in ("/hello", "/loop"):
        function = create(f"{base}/Functions", {"FriendlyName": path})
        ledger.ack(f"{base}/Functions/{function['sid']}", {"sid": function["sid"]})
        functions[path] = function["sid"]
    asset = create(f"{base}/Assets", {"FriendlyName": "/data.bin"})
    ledger.ack(f"{base}/Assets/{asset['sid']}", {"sid": asset["sid"]})
    variable = create(f"{base}/Environments/{environment['sid']}/Variables", {"Key": "MARKER", "Value": "none"})
    ledger.variable["MARKER"] = (variable["sid"], "none", None)
    create(f"{SYNC}/Documents", {"UniqueName": "counter", "Data": json.dumps({"count": 0})})
    create(f"{SYNC}/Lists", {"UniqueName": "log"})
    create(f"{SYNC}/Maps", {"UniqueName": "state"})
    return {"service": service["sid"], "environment": environment["sid"], "functions": functions,
            "asset": asset["sid"], "domain": environment["domain_name"]}


def verify(twirl, ledger, ids, problems, round_number):
    """After a restart: every acknowledged write is there; the deployed build serves whole files."""
    checked = 0
    for path, fields in list(ledger.acknowledged.items()):
        response = twirl.request("GET", path)
        checked += 1
        if response.status_code != 200:
            problems.append(f"round {round_number}: acknowledged {path} answers {response.status_code}")
            continue
        body = response.json()
        for key, value in fields.items():
            if body.get(key) != value:
                problems.append(f"round {round_number}: {path} has {key}={body.get(key)!r}, expected {value!r}")
    sid, acked, in_flight = ledger.variable["MARKER"]
    path = f"/v1/Services/{ids['service']}/Environments/{ids['environment']}/Variables/{sid}"
    value = twirl.request("GET", path).json().get("value")
    checked += 1
    if value not in (acked, in_flight):
        problems.append(f"round {round_number}: variable MARKER is {value!r}, acknowledged {acked!r}")
    else:
        ledger.variable["MARKER"] = (sid, value, None)

    checked += verify_sync(twirl, ledger, problems, round_number)

    environment = twirl.request(
        "GET", f"/v1/Services/{ids['service']}/Environments/{ids['environment']}").json()
    build = environment.get("build_sid")
    served = 0
    if build:
        expected = ledger.builds.get(build)
        site = f"{twirl.url}/{ids['domain']}"
        if expected is None:
            # Deployed by a request whose answer never arrived; its build must still be whole.
            status = twirl.request("GET", f"/v1/Services/{ids['service']}/Builds/{build}").json()
            versions = {v["path"]: v["sid"] for v in status["function_versions"] + status["asset_versions"]}
            expected = {p: versions.get(p) for p in ("/hello", "/loop", "/data.bin")}
        hello = requests.get(f"{site}/hello", timeout=30)
        data = requests.get(f"{site}/data.bin", timeout=30)
        want_hello = ledger.versions.get(expected["/hello"], (None, None))[1]
        want_data = ledger.versions.get(expected["/data.bin"], (None, None))[1]
        served = 2
        if want_hello is not None:
            marker = want_hello.decode().split("callback(null, ")[1].rsplit(")", 1)[0]
            if (hello.status_code, hello.text) != (200, json.loads(marker)):
                problems.append(f"round {round_number}: deployed build {build} /hello answered "
                                f"{hello.status_code} {hello.text[:100]!r}")
        if want_data is not None and (data.status_code, data.content) != (200, want_data):
            problems.append(f"round {round_number}: deployed build {build} /data.bin answered "
                            f"{data.status_code} with {len(data.content)} bytes (expected {len(want_data)})")
    return checked, served


def every_item(twirl, path):
    """Every item of a Sync list or map, by index or key."""
    found, url = {}, f"{twirl.url}{path}?PageSize=100"
    while url:
        page = twirl.request("GET", url[len(twirl.url):]).json()
        for item in page["items"]:
            found[item.get("key", item.get("index"))] = item["data"]
        url = page["meta"]["next_page_url"]
    return found


def verify_sync(twirl, ledger, problems, round_number):
    """The counter holds the acknowledged count (or the one in flight at the kill) and counts its own
    revisions; every acknowledged list and map item is there with its data. Returns checks made."""
    count, _, in_flight = ledger.counter
    document = twirl.request("GET", f"{SYNC}/Documents/counter").json()
    found = document.get("data", {}).get("count")
    if found not in (count, in_flight):
        problems.append(f"round {round_number}: acknowledged Sync counter {count}, found {found!r}")
    elif int(document["revision"], 16) != found:
        problems.append(f"round {round_number}: Sync counter {found} at revision {document['revision']}")
    else:
        ledger.counter = (found, document["revision"], None)
    checks = 1
    for path, acknowledged in ((f"{SYNC}/Lists/log/Items", ledger.list_items),
                               (f"{SYNC}/Maps/state/Items", ledger.map_items)):
        stored = every_item(twirl, path)
        for key, data in acknowledged.items():
            checks += 1
            if stored.get(key) != data:
                problems.append(f"round {round_number}: acknowledged Sync item {path}/{key} is {stored.get(key)!r}")
    return checks


def check_build_dirs(data_dir, problems, round_number):
    """Every build directory on disk (not a staging one) holds its manifest and every file in it."""
    builds = data_dir / "builds"
    count = 0
    if not builds.is_dir():
        return 0
    for directory in builds.iterdir():
        if directory.name.startswith("."):
            continue
        count += 1
        manifest = directory / "manifest.json"
        if not manifest.is_file():
            problems.append(f"round {round_number}: build directory {directory.name} has no manifest")
            continue
        routes = json.loads(manifest.read_text())
        for route in routes["functions"] + routes["assets"]:
            if not (directory / route["file"]).is_file():
                problems.append(f"round {round_number}: build {directory.name} lacks {route['file']}")
    return count


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    args = parser.parse_args()
    if not 1 <= args.rounds <= 1000:
        raise SystemExit("--rounds must be between 1 and 1000")
    seed = args.seed if args.seed is not None else random.randrange(2 ** 32)
    rng = random.Random(seed)
    binary = find_binary()
    root = Path(tempfile.mkdtemp(prefix="twirl-crash-"))
    data_dir, workdir = root / "data", root / "work"
    print(f"crash test: {args.rounds} rounds, seed {seed}, binary {binary.name}", flush=True)

    ledger = Ledger()
    problems = []
    stats = {"kills": 0, "verified": 0, "served": 0, "stray": 0, "integrity_ok": 0, "build_dirs": 0,
             "site_calls": 0, "workers_at_kill": 0}
    twirl = Twirl(binary, data_dir, workdir).start()
    credentials = (twirl.account_sid, twirl.auth_token)
    ids = setup(twirl, ledger)
    started = time.monotonic()
    try:
        for round_number in range(1, args.rounds + 1):
            twirl.request("POST", "/_twirl/clock", json={"advance_seconds": 3601})
            workload = Workload(twirl, ledger, ids, round_number, rng)
            threads = [threading.Thread(target=workload.run_deploys, daemon=True),
                       threading.Thread(target=workload.run_site_traffic, args=(ids["domain"],), daemon=True),
                       *[threading.Thread(target=workload.run_sync_writes, args=(writer,), daemon=True)
                         for writer in range(SYNC_WRITERS)]]
            for thread in threads:
                thread.start()
            time.sleep(rng.uniform(*KILL_AFTER))
            workers = [pid for pid in processes_mentioning(data_dir) if pid != twirl.process.pid]
            stats["workers_at_kill"] += len(workers)
            twirl.kill()
            stats["kills"] += 1
            workload.stop.set()
            for thread in threads:
                thread.join(timeout=60)
            stats["site_calls"] += workload.site_calls

            survivors = wait_until(lambda: not processes_mentioning(data_dir), timeout=3)
            if not survivors:
                left = processes_mentioning(data_dir)
                stats["stray"] += len(left)
                problems.append(f"round {round_number}: processes of the killed twirl survive: {left}")
            result = integrity_check(data_dir / "twirl.db")
            if result == "ok":
                stats["integrity_ok"] += 1
            else:
                problems.append(f"round {round_number}: integrity_check says {result!r}")

            twirl = Twirl(binary, data_dir, workdir, *credentials).start()
            stats["build_dirs"] += check_build_dirs(data_dir, problems, round_number)
            checked, served = verify(twirl, ledger, ids, problems, round_number)
            stats["verified"] += checked
            stats["served"] += served
            print(f"  round {round_number}: writes acknowledged so far {ledger.writes}, "
                  f"checked {checked}, problems {len(problems)}", flush=True)
    finally:
        twirl.stop()
    final = integrity_check(data_dir / "twirl.db")
    if final != "ok":
        problems.append(f"after the last stop: integrity_check says {final!r}")
    if processes_mentioning(data_dir):
        problems.append("processes remain after the last stop")

    lost = [p for p in problems if "acknowledged" in p or "variable" in p or "Sync" in p]
    print(f"rounds: {args.rounds}, kill -9: {stats['kills']}, seconds: {time.monotonic() - started:.0f}")
    print(f"acknowledged writes: {ledger.writes}, checks of acknowledged resources after restarts: "
          f"{stats['verified']}")
    print(f"Sync: counter at {ledger.counter[0]} conditional writes, list items {len(ledger.list_items)}, "
          f"map items {len(ledger.map_items)}")
    print(f"builds acknowledged: {len(ledger.builds)}, build directories inspected: {stats['build_dirs']}, "
          f"deployed-site checks: {stats['served']}, site calls during rounds: {stats['site_calls']}")
    print(f"integrity_check ok: {stats['integrity_ok']}/{stats['kills']} (+ final {final})")
    print(f"workers alive at the kills: {stats['workers_at_kill']}, stray workers after kills: {stats['stray']}")
    print(f"problems: {len(problems)}")
    for problem in problems[:50]:
        print(f"  {problem}")
    print(f"data lost: {len(lost)}")
    if args.keep:
        print(f"data directory kept: {data_dir}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
