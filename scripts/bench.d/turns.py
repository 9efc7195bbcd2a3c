"""Product turns measured beside a plain request to the same function, in one run of twirl: an
inbound SMS through the function to its delivered reply (`POST /_twirl/phone/messages`) against
the function answering the same webhook as a plain HTTP POST. Each pair runs under the same wrk
load; the report gives requests per second, p50 and p99 of both and the cost ratio.

Used by bench.py (`--only twirl`); other products add their pairs to `pairs()`."""

import json
import os
import tempfile
import urllib.parse
import urllib.request

import bench

HANDSET = "+14155550100"


class Request:
    """A POST wrk repeats: its URL and form body."""

    def __init__(self, url, form):
        self.url = url
        self.body = urllib.parse.urlencode(form)

    def lua(self):
        """A wrk script that sends this request."""
        return ('wrk.method = "POST"\n'
                'wrk.body = %s\n'
                'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
                % json.dumps(self.body))


class Pair:
    def __init__(self, key, label, plain, turn, check):
        self.key, self.label, self.plain, self.turn, self.check = key, label, plain, turn, check


def _check_sms_turn(body):
    turn = json.loads(body)
    replies = turn.get("replies") or []
    if len(replies) != 1 or replies[0].get("status") != "delivered" or turn.get("alerts"):
        return "expected one delivered reply and no alert, got %s" % body[:300]
    return None


def pairs(target):
    """The pairs to measure on a started, deployed Twirl target."""
    api = bench.Api(target.api, target.auth)
    account = target.auth[0]
    domain = target.base.rsplit("/", 1)[1]
    number = api.call("POST", "/2010-04-01/Accounts/%s/IncomingPhoneNumbers.json" % account,
                      form={"AreaCode": "206", "SmsUrl": "https://%s/twiml" % domain})["phone_number"]
    webhook = [("From", HANDSET), ("To", number), ("Body", "hi"), ("MessageSid", "SM" + "0" * 32),
               ("AccountSid", account), ("NumMedia", "0"), ("SmsStatus", "received"),
               ("ApiVersion", "2010-04-01")]
    return [Pair("sms", "inbound SMS → function → delivered reply",
                 plain=Request(target.base + "/twiml", webhook),
                 turn=Request(target.api + "/_twirl/phone/messages",
                              [("From", HANDSET), ("To", number), ("Body", "hi")]),
                 check=_check_sms_turn)]


def run_wrk_post(request, duration):
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(request.lua())
    try:
        result = bench.run_wrk(request.url, duration, script=script.name)
        result.pop("raw", None)
        return result
    finally:
        os.unlink(script.name)


def _post(request):
    req = urllib.request.Request(request.url, data=request.body.encode(), method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=60) as response:
        return response.status, response.read().decode("utf-8", "replace")


def measure(opts, twirl_bin, failures):
    """Starts twirl, deploys the bench project, and measures every pair; returns the rows."""
    rows = []
    target = bench.Twirl(opts, twirl_bin)
    try:
        target.start()
        for pair in pairs(target):
            status, body = _post(pair.turn)
            problem = pair.check(body) if status == 201 else "HTTP %d: %s" % (status, body[:300])
            if problem:
                failures.append(("turns", pair.key, problem))
                continue
            for request in (pair.plain, pair.turn):
                run_wrk_post(request, bench.WARM_SECONDS)
            plain = run_wrk_post(pair.plain, opts.duration)
            turn = run_wrk_post(pair.turn, opts.duration)
            rows.append({"key": pair.key, "label": pair.label, "plain": plain, "turn": turn})
            bench.log("   %-40s turn %8.1f/s p50 %s p99 %s; plain %8.1f/s p50 %s p99 %s" % (
                pair.label, turn["rps"], bench.fmt_ms(turn["p50_ms"]), bench.fmt_ms(turn["p99_ms"]),
                plain["rps"], bench.fmt_ms(plain["p50_ms"]), bench.fmt_ms(plain["p99_ms"])))
    except bench.BenchError as e:
        failures.append(("turns", "measure", str(e)))
    finally:
        target.stop()
    return rows


def report(rows):
    """Markdown lines for the rows."""
    if not rows:
        return []
    L = ["Product turns against the same function answering a plain request (`wrk -c %d -t %d "
         "-d …`, POST bodies; a turn's cost is the plain request's req/s divided by the turn's; "
         "target: below 2):" % (bench.CONNECTIONS, bench.THREADS), "",
         "| workload | plain req/s | plain p50 | plain p99 | turns/s | turn p50 | turn p99 | cost | met |",
         "|---|--:|--:|--:|--:|--:|--:|--:|---|"]
    for row in rows:
        plain, turn = row["plain"], row["turn"]
        errors = turn["errors"] + turn["non2xx"] + turn["timeouts"]
        cost = plain["rps"] / turn["rps"] if turn["rps"] else None
        L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            row["label"], bench.fmt_rps(plain["rps"]), bench.fmt_ms(plain["p50_ms"]),
            bench.fmt_ms(plain["p99_ms"]), bench.fmt_rps(turn["rps"]), bench.fmt_ms(turn["p50_ms"]),
            bench.fmt_ms(turn["p99_ms"]), "–" if cost is None else "%.2f×" % cost,
            "–" if cost is None or errors else ("yes" if cost < 2 else "**no**")))
    L.append("")
    return L
