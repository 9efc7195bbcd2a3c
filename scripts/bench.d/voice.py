"""Voice benchmark: a three-step IVR call driven through the control endpoints, against a plain
request to the same function, on one twirl.

Each call is: dial (the menu answers), press 1 (a second menu), press 2 (goodbye and hang up):
three steps, one TwiML webhook to a function each. The plain request is a POST of the same
parameters straight to the menu function. Calls run one after another on one keep-alive
connection, so the figures are latencies, not a load test.

    scripts/bench voice [--calls N] [--twirl-bin PATH] [--write]
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BENCHMARKS_MD = os.path.join(ROOT, "BENCHMARKS.md")
SECTION_START = "<!-- voice-bench:start -->"
SECTION_END = "<!-- voice-bench:end -->"
NUMBER, HANDSET = "+12065550190", "+14155550190"

MENU = """exports.handler = (context, event, callback) => {
  const twiml = new Twilio.twiml.VoiceResponse();
  const gather = twiml.gather({ numDigits: 1, action: event.Digits === '1' ? '/bye' : '/menu' });
  gather.say(event.Digits === '1' ? 'Press 2 to end.' : 'Press 1 for more.');
  callback(null, twiml);
};
"""
BYE = """exports.handler = (context, event, callback) => {
  const twiml = new Twilio.twiml.VoiceResponse();
  twiml.say('Goodbye.');
  twiml.hangup();
  callback(null, twiml);
};
"""


def percentile(values, pct):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def start(twirl_bin, project):
    proc = subprocess.Popen([twirl_bin, "serve", project, "--port", "0", "--ephemeral"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    match = re.match(r"^twirl listening on (http://\S+)$", line.strip())
    if not match:
        proc.kill()
        raise SystemExit(f"voice bench: twirl did not start: {line!r}")
    return proc, match.group(1)


def measure(url, calls):
    session = requests.Session()
    auth = ("AC00000000000000000000000000000000", "00000000000000000000000000000000")
    session.post(f"{url}/2010-04-01/Accounts/{auth[0]}/IncomingPhoneNumbers.json", auth=auth,
                 data={"PhoneNumber": NUMBER, "VoiceUrl": "/menu"}).raise_for_status()
    control = f"{url}/_twirl/phone/calls"
    steps = {"dial": [], "key 1": [], "key 2": []}
    plain = []

    def timed(bucket, method, target, **kwargs):
        began = time.perf_counter()
        response = session.request(method, target, **kwargs)
        bucket.append((time.perf_counter() - began) * 1000)
        response.raise_for_status()
        return response

    for _ in range(20):  # warm the workers and the connection
        timed([], "POST", f"{url}/menu", data={"From": HANDSET, "To": NUMBER})
    began = time.perf_counter()
    for _ in range(calls):
        state = timed(steps["dial"], "POST", control, data={"From": HANDSET, "To": NUMBER}).json()
        sid = state["call"]["sid"]
        timed(steps["key 1"], "POST", f"{control}/{sid}/input", data={"Digits": "1"})
        ended = timed(steps["key 2"], "POST", f"{control}/{sid}/input", data={"Digits": "2"}).json()
        if ended["call"]["status"] != "completed":
            raise SystemExit(f"voice bench: call {sid} ended {ended['call']['status']}")
    elapsed = time.perf_counter() - began
    for _ in range(calls * 3):
        timed(plain, "POST", f"{url}/menu", data={"From": HANDSET, "To": NUMBER, "CallSid": "CA" + "0" * 32})
    return steps, plain, calls / elapsed


def report(steps, plain, rate, calls, binary):
    plain_p50 = statistics.median(plain)
    lines = [
        f"### Voice: a three-step IVR call ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
        "",
        f"{calls} calls one after another through `/_twirl/phone/calls` ({os.path.relpath(binary, ROOT)}, "
        f"{os.cpu_count()} CPUs): **{rate:.1f} calls/s**.",
        "",
        "| step | p50 ms | p99 ms | p50 / plain p50 |",
        "|---|---|---|---|",
    ]
    for name, values in steps.items():
        p50 = statistics.median(values)
        lines.append(f"| {name} | {p50:.2f} | {percentile(values, 99):.2f} | {p50 / plain_p50:.2f}× |")
    lines.append(f"| plain POST to the function | {plain_p50:.2f} | {percentile(plain, 99):.2f} | 1.00× |")
    lines.append("")
    return "\n".join(lines)


def write(section):
    text = open(BENCHMARKS_MD).read() if os.path.exists(BENCHMARKS_MD) else "# Benchmarks\n"
    block = f"{SECTION_START}\n{section}{SECTION_END}\n"
    if SECTION_START in text and SECTION_END in text:
        head, rest = text.split(SECTION_START, 1)
        text = head + block + rest.split(SECTION_END, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    with open(BENCHMARKS_MD, "w") as f:
        f.write(text)


def main(argv):
    parser = argparse.ArgumentParser(prog="scripts/bench voice", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300, help="calls to make (default 300)")
    parser.add_argument("--twirl-bin", default=os.path.join(ROOT, "target", "release", "twirl"))
    parser.add_argument("--write", action="store_true", help="put the results into BENCHMARKS.md")
    opts = parser.parse_args(argv)
    if not os.path.exists(opts.twirl_bin):
        subprocess.run(["cargo", "build", "--release"], cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory() as project:
        os.makedirs(os.path.join(project, "functions"))
        with open(os.path.join(project, "package.json"), "w") as f:
            f.write('{"name": "voice-bench", "version": "1.0.0", "dependencies": {}}\n')
        for name, code in (("menu", MENU), ("bye", BYE)):
            with open(os.path.join(project, "functions", f"{name}.js"), "w") as f:
                f.write(code)
        proc, url = start(opts.twirl_bin, project)
        try:
            steps, plain, rate = measure(url, opts.calls)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    section = report(steps, plain, rate, opts.calls, opts.twirl_bin)
    print(section)
    if opts.write:
        write(section)


if __name__ == "__main__":
    main(sys.argv[1:])
