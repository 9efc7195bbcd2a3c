"""Helpers for the phone network's tests: a loopback web app that records the webhooks twirl makes
and answers as told, and clients of the `/_twirl/phone/…` control endpoints."""

import http.server
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import requests
from twilio.request_validator import RequestValidator

from support import assert_status


@dataclass
class Recorded:
    """One request the recorder received."""
    method: str
    path: str
    query: list
    headers: dict
    form: list
    url: str

    def params(self):
        """The form parameters (POST) or query parameters (GET) as a dict."""
        return dict(self.form if self.method == "POST" else self.query)

    def signature_valid(self, auth_token):
        """Whether its X-Twilio-Signature is valid, by twilio-python's own validator."""
        validator = RequestValidator(auth_token)
        params = dict(self.form) if self.method == "POST" else {}
        return validator.validate(self.url, params, self.headers.get("x-twilio-signature", ""))


@dataclass
class Answer:
    status: int = 200
    body: str = ""
    content_type: str = "text/xml"
    delay: float = 0.0


class WebhookRecorder:
    """A loopback HTTP server standing for a developer's web app: it records every request and
    answers each path as told (`answer`), by default `200` with an empty TwiML response."""

    def __init__(self):
        self.requests = []
        self.answers = {}
        self.lock = threading.Lock()
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                recorder._handle(self, b"")

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                recorder._handle(self, self.rfile.read(length))

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, path, **answer):
        self.answers[path] = Answer(**answer)

    def _handle(self, handler, body):
        parts = urlsplit(handler.path)
        recorded = Recorded(
            method=handler.command,
            path=parts.path,
            query=parse_qsl(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in handler.headers.items()},
            form=parse_qsl(body.decode(), keep_blank_values=True) if body else [],
            url=self.url(handler.path),
        )
        with self.lock:
            self.requests.append(recorded)
        answer = self.answers.get(parts.path, Answer(body="<Response/>"))
        if answer.delay:
            time.sleep(answer.delay)
        payload = answer.body.encode()
        try:
            handler.send_response(answer.status)
            handler.send_header("Content-Type", answer.content_type)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except OSError:
            pass  # twirl gave up waiting and closed the connection

    def received(self, path=None):
        with self.lock:
            return [r for r in self.requests if path is None or r.path == path]

    def wait_for(self, path, count, timeout=10.0):
        """The requests to `path` once there are `count` of them (or whatever came by `timeout`)."""
        deadline = time.monotonic() + timeout
        while len(self.received(path)) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.received(path)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Phone:
    """The control endpoints of one twirl's phone network."""

    def __init__(self, url):
        self.url = url

    def text(self, to, body="", sender="+14155550100", media=(), expect=201):
        """A handset texts `to`; returns the turn (message, webhook, replies, alerts)."""
        response = requests.post(f"{self.url}/_twirl/phone/messages",
                                 data={"From": sender, "To": to, "Body": body, "MediaUrl": list(media)},
                                 timeout=60)
        assert_status(response, expect)
        return response.json()

    def inbox(self, handset):
        response = requests.get(f"{self.url}/_twirl/phone/handsets/{handset}/messages", timeout=30)
        assert_status(response, 200)
        return response.json()["messages"]

    def message(self, sid):
        response = requests.get(f"{self.url}/_twirl/phone/messages/{sid}", timeout=30)
        assert_status(response, 200)
        return response.json()

    def wait_for_status(self, sid, statuses, timeout=10.0):
        """The message's detail once its status is one of `statuses`."""
        deadline = time.monotonic() + timeout
        while True:
            detail = self.message(sid)
            if detail["message"]["status"] in statuses or time.monotonic() > deadline:
                return detail
            time.sleep(0.02)
