// The benchmark's baseline: Node's own http server calling a Twilio Function handler directly,
// with nothing in between but a minimal callback adapter. No routing, no context, no parsing of
// the request body: the ceiling any Node-based runtime can reach for the same handler.
//
// usage: node bare-node.js PORT HANDLER_FILE
// Prints "listening on http://127.0.0.1:PORT" once it accepts connections.
'use strict';

const http = require('http');
const path = require('path');

const port = Number(process.argv[2] || 0);
const handlerFile = path.resolve(process.argv[3] || 'functions/hello.js');
const { handler } = require(handlerFile);

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
