// The benchmark's baseline: Node's own http server calling Twilio Function handlers directly,
// with nothing in between but a minimal callback adapter (`handlers.js`): `/{name}` runs
// FUNCTIONS_DIR/{name}.js, or answers with the bytes of ASSETS_DIR/{name}, read into memory at
// start. No other routing, no context, no parsing of the request body, no conditional or range
// requests: the ceiling any Node-based server can reach on this machine for the same handlers and
// the same files.
//
// usage: node bare-node.js PORT FUNCTIONS_DIR [ASSETS_DIR]
// Prints "listening on http://127.0.0.1:PORT" once it accepts connections.
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const { load, run, write } = require('./handlers');

const port = Number(process.argv[2] || 0);
const handlers = load(path.resolve(process.argv[3] || 'functions'));
const assets = new Map();
if (process.argv[4]) {
  for (const name of fs.readdirSync(process.argv[4])) {
    assets.set(`/${name}`, fs.readFileSync(path.join(process.argv[4], name)));
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
    write(res, { status: 404, type: 'text/plain; charset=utf-8', text: 'not found' });
    return;
  }
  req.resume();
  req.on('end', () => run(handler, {}, (answer) => write(res, answer)));
});

server.keepAliveTimeout = 65000;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => process.exit(0));
}
