// The benchmark's baseline: Node's own http server calling a Twilio Function handler directly,
// with nothing in between but a minimal callback adapter, and answering `/{name}` with the bytes
// of ASSETS_DIR/{name}, read into memory at start. No routing beyond that, no context, no
// parsing of the request body, no conditional or range requests: the ceiling any Node-based
// server can reach on this machine for the same handler and the same files.
//
// usage: node bare-node.js PORT HANDLER_FILE [ASSETS_DIR]
// Prints "listening on http://127.0.0.1:PORT" once it accepts connections.
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');

const port = Number(process.argv[2] || 0);
const handlerFile = path.resolve(process.argv[3] || 'functions/hello.js');
const { handler } = require(handlerFile);
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
