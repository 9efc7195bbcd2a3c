"""The request client the runtime gives twilio-node (`src/redirect/node.js`, `requestClient`): plain
HTTP/1.1 over kept connections. Run by Node against a real HTTP server that answers with each
framing twirl or a proxy could use (Content-Length, chunked, to the connection's end), closes
idle connections, and echoes what it received."""
import json
import pathlib
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

REDIRECT = pathlib.Path(__file__).resolve().parents[2] / "src" / "redirect" / "node.js"

SCRIPT = r"""
const { requestClient } = require(process.argv[2]);
const client = requestClient(process.argv[3]);
const call = (method, uri, extra = {}) =>
  client.request({ method, uri, username: 'ACxx', password: 'secret', ...extra })
    .then((r) => ({ status: r.statusCode, body: r.body, headers: r.headers }),
          (e) => ({ error: String(e.message || e) }));
(async () => {
  const out = {};
  out.length = await call('GET', 'https://sync.twilio.com/v1/length?x=1', { params: { PageSize: 2 } });
  out.chunked = await call('GET', 'https://sync.twilio.com/v1/chunked');
  out.toEnd = await call('GET', 'https://sync.twilio.com/v1/to-end');
  out.post = await call('POST', 'https://api.twilio.com/2010-04-01/echo', { data: { Body: 'héllo wörld', To: ['+1', '+2'] } });
  out.missing = await call('GET', 'https://sync.twilio.com/v1/missing');
  out.dropped = await call('GET', 'https://sync.twilio.com/v1/drop');
  await new Promise((resolve) => setTimeout(resolve, 100));
  out.afterDrop = await call('GET', 'https://sync.twilio.com/v1/length');
  out.parallel = await Promise.all([1, 2, 3].map((n) => call('GET', `https://sync.twilio.com/v1/length?n=${n}`)));
  console.log(JSON.stringify(out));
})();
"""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    connections = set()

    def log_message(self, *args):
        pass

    def echo(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8") if length else ""
        Handler.connections.add(self.client_address)
        return json.dumps({
            "method": self.command, "path": self.path, "host": self.headers.get("Host"),
            "forwardedHost": self.headers.get("X-Forwarded-Host"),
            "forwardedProto": self.headers.get("X-Forwarded-Proto"),
            "authorization": self.headers.get("Authorization"),
            "contentType": self.headers.get("Content-Type"), "body": body,
        }).encode()

    def answer(self, status, payload, framing="length"):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Twice", "a")
        self.send_header("X-Twice", "b")
        if framing == "length":
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        elif framing == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            half = len(payload) // 2
            for part in (payload[:half], payload[half:]):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload)
            self.close_connection = True

    def do_GET(self):
        payload = self.echo()
        if self.path.startswith("/v1/chunked"):
            self.answer(200, payload, "chunked")
        elif self.path.startswith("/v1/to-end"):
            self.answer(200, payload, "end")
        elif self.path.startswith("/v1/missing"):
            self.answer(404, b'{"code": 20404, "message": "not found"}')
        elif self.path.startswith("/v1/drop"):
            # Answers as if the connection were kept, then closes it (a keep-alive timeout).
            self.answer(200, payload)
            self.close_connection = True
        else:
            self.answer(200, payload)

    def do_POST(self):
        self.answer(201, self.echo())


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Handler.connections = set()
    yield "http://127.0.0.1:%d" % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def run_client(tmp_path, url):
    script = tmp_path / "client.js"
    script.write_text(SCRIPT)
    node = shutil.which("node")
    assert node, "node is needed"
    result = subprocess.run([node, str(script), str(REDIRECT), url], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_each_framing_and_the_request_as_twilio_would_receive_it(server, tmp_path):
    out = run_client(tmp_path, server)
    for key in ("length", "chunked", "toEnd", "afterDrop"):
        assert out[key]["status"] == 200, (key, out[key])
        assert json.loads(out[key]["body"])["method"] == "GET", key
    first = json.loads(out["length"]["body"])
    assert first["path"] == "/v1/length?x=1&PageSize=2"
    assert (first["host"], first["forwardedHost"], first["forwardedProto"]) == (
        "sync.twilio.com", "sync.twilio.com", "https")
    assert first["authorization"] == "Basic QUN4eDpzZWNyZXQ="
    # Repeated headers are joined, as Node's http does; names are lowercased.
    assert out["length"]["headers"]["x-twice"] == "a, b"
    posted = json.loads(out["post"]["body"])
    assert out["post"]["status"] == 201
    assert posted["contentType"] == "application/x-www-form-urlencoded"
    assert posted["body"] == "Body=h%C3%A9llo+w%C3%B6rld&To=%2B1&To=%2B2"
    assert out["missing"] == {"status": 404, "body": '{"code": 20404, "message": "not found"}',
                              "headers": out["missing"]["headers"]}
    assert out["dropped"]["status"] == 200
    assert [r["status"] for r in out["parallel"]] == [200, 200, 200]
    assert sorted(json.loads(r["body"])["path"] for r in out["parallel"]) == [
        "/v1/length?n=1", "/v1/length?n=2", "/v1/length?n=3"]


def test_connections_are_kept_between_requests(server, tmp_path):
    run_client(tmp_path, server)
    # Ten requests: a new connection only after the two the server closed, and for the two
    # parallel requests beyond the first.
    assert len(Handler.connections) == 5, Handler.connections
