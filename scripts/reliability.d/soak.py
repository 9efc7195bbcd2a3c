"""Load: mixed API writes (variables created, updated and deleted, builds, deployments) and
function and asset traffic at the concurrency limit, on loopback, for a bounded time. Counts
requests and errors (the only errors expected are 429s from callers beyond the concurrency
limit), looks for SQLITE_BUSY / `database is locked` in responses and in twirl's log, and samples
the RSS of twirl and of its workers and twirl's open file descriptors.

Usage: soak.py [--minutes M | --seconds S] [--limit N] [--overflow K] [--sample-every S]"""

import argparse
import collections
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from common import DEPENDENCIES, Twirl, children_of, find_binary, open_fds, rss_kib

LOCKED_MARKERS = ("SQLITE_BUSY", "database is locked", "database table is locked")
VARIABLE_KEYS = [f"SOAK_{index}" for index in range(12)]
ASSET = bytes(range(256)) * 256  # 64 KiB

FUNCTIONS = {
    "/hello": "exports.handler = (context, event, callback) => callback(null, 'hello ' + (context.SOAK_0 || ''));\n",
    "/work": """exports.handler = (context, event, callback) => {
  console.log('work', event.n);
  setTimeout(() => callback(null, { n: event.n, keys: Object.keys(context).length }), 20);
};
""",
}


class Counters:
    def __init__(self):
        self.lock = threading.Lock()
        self.by_kind = collections.Counter()
        self.statuses = collections.Counter()
        self.unexpected = []
        self.deliberate_429 = 0
        self.build_rate_429 = 0
        self.locked = []
        self.latencies = collections.defaultdict(list)

    def record(self, kind, response, started, allowed=(200, 201, 204), allow_429=False):
        elapsed = time.monotonic() - started
        with self.lock:
            self.by_kind[kind] += 1
            if isinstance(response, Exception):
                self.unexpected.append(f"{kind}: {type(response).__name__}: {response}")
                return
            self.statuses[response.status_code] += 1
            if len(self.latencies[kind]) < 200_000:
                self.latencies[kind].append(elapsed)
            text = response.text if len(response.content) < 4096 else ""
            if any(marker in text for marker in LOCKED_MARKERS):
                self.locked.append(f"{kind}: {text[:200]}")
            if response.status_code in allowed:
                return
            if response.status_code == 429 and allow_429:
                self.deliberate_429 += 1
                return
            self.unexpected.append(f"{kind}: {response.status_code} {text[:200]}")


def timed(counters, kind, call, **record):
    started = time.monotonic()
    try:
        response = call()
    except requests.RequestException as error:
        response = error
    counters.record(kind, response, started, **record)
    return response


def setup(twirl):
    def create(path, data):
        response = twirl.request("POST", path, data=data)
        if response.status_code != 201:
            raise RuntimeError(f"setup {path}: {response.status_code} {response.text[:200]}")
        return response.json()

    service = create("/v1/Services", {"UniqueName": "soak", "FriendlyName": "soak", "IncludeCredentials": "true"})
    base = f"/v1/Services/{service['sid']}"
    environment = create(f"{base}/Environments", {"UniqueName": "dev-environment", "DomainSuffix": "dev"})
    resources = {}
    for path in FUNCTIONS:
        resources[path] = create(f"{base}/Functions", {"FriendlyName": path})["sid"]
    resources["/data.bin"] = create(f"{base}/Assets", {"FriendlyName": "/data.bin"})["sid"]
    ids = {"base": base, "env": f"{base}/Environments/{environment['sid']}", "resources": resources,
           "domain": environment["domain_name"]}
    versions = upload_versions(twirl, ids, None, None)
    build = twirl.request("POST", f"{base}/Builds", data={
        "FunctionVersions": versions[:2], "AssetVersions": versions[2:], "Dependencies": DEPENDENCIES}).json()
    deadline = time.monotonic() + 180
    while twirl.request("GET", f"{base}/Builds/{build['sid']}/Status").json()["status"] == "building":
        if time.monotonic() > deadline:
            raise RuntimeError("the first build did not finish")
        time.sleep(0.2)
    create(f"{ids['env']}/Deployments", {"BuildSid": build["sid"]})
    return ids


def upload_versions(twirl, ids, counters, cycle):
    """One version of each function and the asset; their SIDs (functions first), or None if an
    upload failed."""
    uploads = [(f"Functions/{ids['resources'][path]}", path,
                (path[1:] + ".js", source.replace("hello ", f"hello {cycle} ").encode(), "application/javascript"))
               for path, source in FUNCTIONS.items()]
    uploads.append((f"Assets/{ids['resources']['/data.bin']}", "/data.bin",
                    ("data.bin", ASSET, "application/octet-stream")))
    sids = []
    for resource, path, content in uploads:
        files = [("Path", (None, path)), ("Visibility", (None, "public")), ("Content", content)]
        url = f"{ids['base']}/{resource}/Versions"
        response = (timed(counters, "api-upload", lambda: twirl.request("POST", url, files=files))
                    if counters else twirl.request("POST", url, files=files))
        if isinstance(response, Exception) or response.status_code != 201:
            return None
        sids.append(response.json()["sid"])
    return sids


def deployer(twirl, ids, counters, stop, every):
    """Deploy cycles, one every `every` seconds: versions, a build, its status until done, a
    deployment."""
    cycle = 0
    while not stop.is_set():
        cycle += 1
        versions = upload_versions(twirl, ids, counters, cycle)
        if not versions:
            time.sleep(0.5)
            continue
        data = {"FunctionVersions": versions[:2], "AssetVersions": versions[2:], "Dependencies": DEPENDENCIES}
        response = timed(counters, "api-build", lambda: twirl.request("POST", f"{ids['base']}/Builds", data=data),
                         allowed=(201, 429))
        if isinstance(response, Exception):
            continue
        if response.status_code == 429:
            # 100 builds per hour: move the emulator's clock on, as a long soak would.
            with counters.lock:
                counters.build_rate_429 += 1
            twirl.request("POST", "/_twirl/clock", json={"advance_seconds": 3601})
            continue
        build = response.json()["sid"]
        deadline = time.monotonic() + 60
        status = "building"
        while status == "building" and time.monotonic() < deadline and not stop.is_set():
            polled = timed(counters, "api-read",
                           lambda: twirl.request("GET", f"{ids['base']}/Builds/{build}/Status"))
            status = polled.json()["status"] if not isinstance(polled, Exception) else "building"
            time.sleep(0.05)
        if status == "completed":
            timed(counters, "api-deploy", lambda: twirl.request(
                "POST", f"{ids['env']}/Deployments", data={"BuildSid": build}), allowed=(201,))
        elif status != "building":
            with counters.lock:
                counters.unexpected.append(f"build {build} ended {status}")
        stop.wait(every)


def variable_writer(twirl, ids, counters, stop, index):
    known = {}
    step = 0
    while not stop.is_set() and step < 10_000_000:
        step += 1
        key = VARIABLE_KEYS[(step * 7 + index) % len(VARIABLE_KEYS)]
        if index == 0 and step % 5 == 0 and key in known:
            timed(counters, "api-variable", lambda: twirl.request(
                "DELETE", f"{ids['env']}/Variables/{known.pop(key)}"), allowed=(204, 404))
            continue
        if key in known:
            response = timed(counters, "api-variable", lambda: twirl.request(
                "POST", f"{ids['env']}/Variables/{known[key]}", data={"Value": f"v{step}"}), allowed=(200, 404))
            if not isinstance(response, Exception) and response.status_code == 404:
                known.pop(key, None)  # deleted by the other writer
        else:
            response = timed(counters, "api-variable", lambda: twirl.request(
                "POST", f"{ids['env']}/Variables", data={"Key": key, "Value": f"v{step}"}), allowed=(201, 409))
            if not isinstance(response, Exception) and response.status_code == 201:
                known[key] = response.json()["sid"]
            elif not isinstance(response, Exception) and response.status_code == 409:
                listed = twirl.request("GET", f"{ids['env']}/Variables?PageSize=50").json()
                for variable in listed.get("variables", []):
                    known[variable["key"]] = variable["sid"]
        timed(counters, "api-read", lambda: twirl.request("GET", f"{ids['env']}/Logs?PageSize=20"))
        stop.wait(0.02)


def site_caller(twirl, ids, counters, stop, index):
    session = requests.Session()
    site = f"{twirl.url}/{ids['domain']}"
    step = 0
    while not stop.is_set() and step < 10_000_000:
        step += 1
        if step % 4 == 0:
            timed(counters, "asset", lambda: session.get(f"{site}/data.bin", timeout=30))
        else:
            path = "/work" if step % 2 else "/hello"
            timed(counters, "function", lambda: session.get(f"{site}{path}?n={step}", timeout=30),
                  allowed=(200,), allow_429=True)


def sampler(twirl, samples, stop, every):
    while True:
        pid = twirl.process.pid
        workers = children_of(pid)
        samples.append({
            "t": time.monotonic(),
            "rss_twirl_mib": rss_kib(pid) / 1024,
            "rss_workers_mib": sum(rss_kib(worker) for worker in workers) / 1024,
            "workers": len(workers),
            "fds": open_fds(pid),
        })
        if stop.wait(every):
            return


def summary(name, values):
    return f"{name}: first {values[0]:.1f}, last {values[-1]:.1f}, max {max(values):.1f}"


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--limit", type=int, default=30, help="twirl's --max-concurrency (default 30)")
    parser.add_argument("--overflow", type=int, default=4, help="callers beyond the limit (they get 429s)")
    parser.add_argument("--sample-every", type=float, default=None)
    parser.add_argument("--deploy-every", type=float, default=10.0,
                        help="seconds between deploy cycles (upload, build, deployment)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    seconds = args.seconds if args.seconds is not None else 60 * (args.minutes if args.minutes is not None else 10)
    if not 5 <= seconds <= 6 * 3600:
        raise SystemExit("the run must last between 5 seconds and 6 hours")
    every = args.sample_every or max(1.0, min(30.0, seconds / 40))

    binary = find_binary()
    root = Path(tempfile.mkdtemp(prefix="twirl-soak-"))
    twirl = Twirl(binary, root / "data", root / "work", extra=["--max-concurrency", str(args.limit)]).start()
    print(f"soak: {seconds:.0f} s, concurrency limit {args.limit}, callers {args.limit + args.overflow}, "
          f"a deploy every {args.deploy_every:.0f} s, binary {binary.name}", flush=True)
    counters, samples, stop = Counters(), [], threading.Event()
    try:
        ids = setup(twirl)
        time.sleep(1)
        threads = [threading.Thread(target=sampler, args=(twirl, samples, stop, every), daemon=True),
                   threading.Thread(target=deployer, args=(twirl, ids, counters, stop, args.deploy_every), daemon=True)]
        threads += [threading.Thread(target=variable_writer, args=(twirl, ids, counters, stop, index), daemon=True)
                    for index in range(2)]
        threads += [threading.Thread(target=site_caller, args=(twirl, ids, counters, stop, index), daemon=True)
                    for index in range(args.limit + args.overflow)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        last_print = started
        while time.monotonic() - started < seconds:
            time.sleep(min(1.0, seconds))
            if time.monotonic() - last_print >= max(every, 10) and samples:
                last_print = time.monotonic()
                sample = samples[-1]
                print(f"  t={last_print - started:5.0f}s requests {sum(counters.by_kind.values())} "
                      f"unexpected {len(counters.unexpected)} twirl {sample['rss_twirl_mib']:.0f} MiB "
                      f"workers {sample['workers']} ({sample['rss_workers_mib']:.0f} MiB) fds {sample['fds']}",
                      flush=True)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        elapsed = time.monotonic() - started
        alive = twirl.process.poll() is None
    finally:
        stop.set()
        twirl.stop()
    log_text = twirl.log_path.read_text(errors="replace")
    locked_in_log = [line for line in log_text.splitlines() if any(m in line for m in LOCKED_MARKERS)]

    total = sum(counters.by_kind.values())
    print(f"duration: {elapsed:.0f} s, requests: {total} ({total / elapsed:.0f}/s)")
    print("by kind: " + ", ".join(f"{kind} {count}" for kind, count in sorted(counters.by_kind.items())))
    print("statuses: " + ", ".join(f"{status} {count}" for status, count in sorted(counters.statuses.items())))
    for kind, values in sorted(counters.latencies.items()):
        print(f"latency {kind}: p50 {percentile(values, 0.5) * 1000:.1f} ms, "
              f"p99 {percentile(values, 0.99) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms")
    print(f"deliberate 429s (callers beyond the concurrency limit): {counters.deliberate_429}")
    print(f"build-rate 429s (100 builds/hour; clock advanced): {counters.build_rate_429}")
    print(f"SQLITE_BUSY / database is locked: {len(counters.locked)} in responses, {len(locked_in_log)} in the log")
    if samples:
        print(summary("twirl RSS MiB", [s["rss_twirl_mib"] for s in samples]))
        print(summary("workers RSS MiB", [s["rss_workers_mib"] for s in samples]))
        print(summary("workers", [s["workers"] for s in samples]))
        print(summary("twirl open fds", [s["fds"] for s in samples]))
        print(f"samples: {len(samples)} every {every:.0f} s")
    print(f"twirl alive at the end: {alive}")
    for problem in counters.unexpected[:20]:
        print(f"  unexpected: {problem}")
    unexpected = len(counters.unexpected) + len(counters.locked) + len(locked_in_log) + (0 if alive else 1)
    print(f"unexpected errors: {unexpected}")
    if args.keep:
        (root / "samples.json").write_text(json.dumps(samples))
        print(f"kept: {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
