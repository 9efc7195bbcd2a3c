// The benchmark's baseline: Node's own http server calling Twilio Function handlers directly,
// with nothing in between but a minimal callback adapter: `/{name}` runs FUNCTIONS_DIR/{name}.js
// (with the `Twilio` global, from the project's own `twilio` module, for TwiML), or answers with
// the bytes of ASSETS_DIR/{name}, read into memory at start. No other routing, no context, no
// parsing of the request body, no conditional or range requests: the ceiling any Node-based
// server can reach on this machine for the same handlers and the same files.
//
// usage: node bare-node.js PORT FUNCTIONS_DIR [ASSETS_DIR]
// Prints "listening on http://127.0.0.1:PORT" once it accepts connections.
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');

const port = Number(process.argv[2] || 0);
const functionsDir = path.resolve(process.argv[3] || 'functions');
global.Twilio = require(require.resolve('twilio', { paths: [functionsDir] }));
const handlers = new Map();
for (const name of fs.readdirSync(functionsDir).filter((n) => n.endsWith('.js'))) {
  handlers.set(`/${name.slice(0, -3)}`, require(path.join(functionsDir, name)).handler);
}
const assets = new Map();
if (process.argv[4]) {
  for (const name of fs.readdirSync(process.argv[4])) {
    assets.set(`/${name}`, fs.readFileSync(path.join(process.argv[4], name)));
  }
}

const context = {};

function send(res, status, body) {
  if (body === undefined || body === null) {
    res.writeHead(status, { 'Content-Length': 0 });
    res.end();
  } else if (body instanceof Twilio.twiml.MessagingResponse || body instanceof Twilio.twiml.VoiceResponse) {
    const text = body.toString();
    res.writeHead(status, { 'Content-Type': 'text/xml', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  } else if (typeof body === 'string') {
    res.writeHead(status, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  } else {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
    });
    res.end(text);
  }
}

const server = http.createServer((req, res) => {
  const asset = assets.get(req.url);
  if (asset) {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': asset.length });
    res.end(asset);
    return;
  }
  const handler = handlers.get(req.url);
  if (!handler) {
    send(res, 404, 'not found');
    return;
  }
  req.resume();
  req.on('end', () => {
    const event = {};
    try {
      handler(context, event, (err, body) => {
        if (err) {
          send(res, 500, String(err && err.message ? err.message : err));
        } else {
          send(res, 200, body);
        }
      });
    } catch (err) {
      send(res, 500, String(err && err.message ? err.message : err));
    }
  });
});

server.keepAliveTimeout = 65000;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => process.exit(0));
}
