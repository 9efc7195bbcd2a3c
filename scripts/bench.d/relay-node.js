// The floor of any server that runs functions in processes of their own: Node's http server
// relaying each function request to one of WORKERS Node processes (by default one per CPU) over
// their stdin and stdout, one request per process at a time, as newline-delimited JSON; each
// process calls the handler through the same minimal adapter as the bare server (`handlers.js`).
// No routing beyond the path, no context, no event, no logs, no limits: what is left is the
// crossing itself, two pipe writes and the wake-ups of two processes per request.
//
// usage: node relay-node.js PORT FUNCTIONS_DIR [WORKERS]
// Prints "listening on http://127.0.0.1:PORT" once it accepts connections.
'use strict';

const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const { paths, load, run, write } = require('./handlers');

// Calls `onLine` with each line arriving on `stream`.
function lines(stream, onLine) {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    let start = 0;
    let end;
    while ((end = chunk.indexOf('\n', start)) !== -1) {
      onLine(pending + chunk.slice(start, end));
      pending = '';
      start = end + 1;
    }
    pending += chunk.slice(start);
  });
}

function worker(functionsDir) {
  const handlers = load(functionsDir);
  lines(process.stdin, (line) => {
    const { path: url } = JSON.parse(line);
    run(handlers.get(url), {}, (answer) => fs.writeSync(1, JSON.stringify(answer) + '\n'));
  });
  process.stdin.on('end', () => process.exit(0));
}

function front(port, functionsDir, count) {
  const known = new Set(paths(functionsDir));
  const idle = [];
  const waiting = [];
  const dispatch = (w, job) => {
    w.res = job.res;
    w.child.stdin.write(JSON.stringify({ path: job.url }) + '\n');
  };
  for (let i = 0; i < count; i++) {
    const child = spawn(process.execPath, [__filename, '--worker', functionsDir], { stdio: ['pipe', 'pipe', 'inherit'] });
    const w = { child, res: null };
    lines(child.stdout, (line) => {
      write(w.res, JSON.parse(line));
      const next = waiting.shift();
      if (next) dispatch(w, next);
      else idle.push(w);
    });
    child.on('exit', (code) => {
      process.stderr.write(`a worker exited (${code})\n`);
      process.exit(1);
    });
    idle.push(w);
  }
  const server = http.createServer((req, res) => {
    if (!known.has(req.url)) {
      write(res, { status: 404, type: 'text/plain; charset=utf-8', text: 'not found' });
      return;
    }
    req.resume();
    req.on('end', () => {
      const job = { url: req.url, res };
      const w = idle.pop();
      if (w) dispatch(w, job);
      else waiting.push(job);
    });
  });
  server.keepAliveTimeout = 65000;
  server.listen(port, '127.0.0.1', () => {
    process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`);
  });
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => process.exit(0));
  }
}

if (process.argv[2] === '--worker') {
  worker(process.argv[3]);
} else {
  const count = Number(process.argv[4]) || (os.availableParallelism ? os.availableParallelism() : os.cpus().length);
  front(Number(process.argv[2] || 0), path.resolve(process.argv[3] || 'functions'), count);
}
