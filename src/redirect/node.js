// Sends requests meant for Twilio (`*.twilio.com`, every product, edge and region) and for
// environments' domains (`*.twil.io`) to twirl, so code using twilio-node,
// @twilio-labs/serverless-api, twilio-run or plain HTTP works unchanged and nothing reaches the
// network. Other hosts are untouched.
//
// The request keeps the host it was meant for (in `Host`, and in `X-Forwarded-Host` where the
// client cannot set `Host`, as with fetch) and its scheme (`X-Forwarded-Proto`), so twirl routes it
// by product and answers with URLs the client follows back through here.
//
// Loaded two ways: by twirl's worker harness, which calls `install(url)`; and through
// `NODE_OPTIONS=--require` in the commands `twirl exec` runs, where `TWIRL_URL` names twirl.
'use strict';

const http = require('http');
const https = require('https');
const net = require('net');

const REDIRECTED = /(^|\.)twilio\.com$|\.twil\.io$/i;

// Node accepts (url[, options][, callback]) or (options[, callback]); this returns the merged
// options, the protocol, and the callback.
function normalize(args, defaultProtocol) {
  const [first, second, third] = args;
  if (typeof first === 'string' || first instanceof URL) {
    const url = new URL(first);
    const options = {
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      // Clients such as got put the Basic credentials in the URL.
      ...(url.username ? { auth: `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` } : {}),
      ...(typeof second === 'object' && second !== null ? second : {}),
    };
    return { options, callback: typeof second === 'function' ? second : third };
  }
  const options = { ...(first || {}) };
  options.protocol = options.protocol || defaultProtocol;
  return { options, callback: second };
}

function hostOf(options) {
  return String(options.hostname || options.host || '').replace(/:\d+$/, '').toLowerCase();
}

function install(twirlUrl) {
  if (global.__twirlRedirect) return;
  global.__twirlRedirect = twirlUrl;
  const target = new URL(twirlUrl);
  const originalRequest = http.request;

  function redirecting(original, defaultProtocol) {
    return function request(...args) {
      const { options, callback } = normalize(args, defaultProtocol);
      const host = hostOf(options);
      if (!REDIRECTED.test(host)) return original.apply(this, args);
      const headers = {};
      for (const [key, value] of Object.entries(options.headers || {})) {
        if (!/^(host|x-forwarded-host|x-forwarded-proto)$/i.test(key)) headers[key] = value;
      }
      headers.Host = host;
      headers['X-Forwarded-Host'] = host;
      headers['X-Forwarded-Proto'] = String(options.protocol || defaultProtocol).replace(/:$/, '');
      const redirected = {
        ...options,
        protocol: 'http:',
        hostname: target.hostname,
        host: target.hostname,
        port: target.port,
        headers,
        agent: undefined,
        createConnection: undefined,
        servername: undefined,
      };
      return originalRequest.call(http, redirected, callback);
    };
  }

  function getting(request) {
    return function get(...args) {
      const req = request(...args);
      req.end();
      return req;
    };
  }

  https.request = redirecting(https.request, 'https:');
  https.get = getting(https.request);
  http.request = redirecting(originalRequest, 'http:');
  http.get = getting(http.request);

  if (typeof globalThis.fetch === 'function') {
    const originalFetch = globalThis.fetch;
    globalThis.fetch = async function fetch(input, init) {
      const request = new Request(input, init);
      const url = new URL(request.url);
      if (!REDIRECTED.test(url.hostname)) return originalFetch(input, init);
      // fetch sets Host itself: the intended host travels in X-Forwarded-Host.
      const headers = new Headers(request.headers);
      headers.set('X-Forwarded-Host', url.hostname.toLowerCase());
      headers.set('X-Forwarded-Proto', url.protocol.replace(/:$/, ''));
      const body = ['GET', 'HEAD'].includes(request.method) ? undefined : await request.arrayBuffer();
      return originalFetch(new URL(url.pathname + url.search, target), {
        method: request.method,
        headers,
        body,
        redirect: request.redirect,
        signal: request.signal,
      });
    };
  }
}

// Form or query text as twilio-node writes it: a list is the key repeated.
function encode(values) {
  const pairs = new URLSearchParams();
  for (const [key, value] of Object.entries(values || {})) {
    if (value === undefined) continue;
    for (const item of [].concat(value)) pairs.append(key, String(item));
  }
  return pairs.toString();
}

// A request client (twilio-node's `httpClient` option) for the clients twirl's runtime builds
// (`getTwilioClient()`, `Runtime.getSync()`): it sends each request straight to twirl, as the
// redirection would, over kept connections and in plain HTTP/1.1 written and read here. Both
// twilio-node's HTTP stack and Node's own `http` client cost more CPU than twirl's answer: a
// function making two Sync calls spent a third of its time in `http` alone.
function requestClient(twirlUrl) {
  const target = new URL(twirlUrl);
  const connections = new Connections(target.hostname, Number(target.port) || 80);
  return {
    request(options) {
      const url = new URL(options.uri);
      const query = encode(options.params);
      const body = options.data ? Buffer.from(encode(options.data)) : null;
      const method = String(options.method || 'GET').toUpperCase();
      const path = url.pathname + (query ? `${url.search ? `${url.search}&` : '?'}${query}` : url.search);
      const headers = { ...(options.headers || {}) };
      for (const key of Object.keys(headers)) {
        if (/^(host|x-forwarded-host|x-forwarded-proto|content-length|connection)$/i.test(key)) delete headers[key];
      }
      headers.Host = url.hostname;
      headers['X-Forwarded-Host'] = url.hostname;
      headers['X-Forwarded-Proto'] = url.protocol.replace(/:$/, '');
      if (options.username !== undefined) {
        headers.Authorization = 'Basic ' + Buffer.from(`${options.username}:${options.password}`).toString('base64');
      }
      if (body !== null) headers['Content-Type'] = 'application/x-www-form-urlencoded';
      headers['Content-Length'] = body === null ? 0 : body.length;
      let head = `${method} ${path} HTTP/1.1\r\n`;
      for (const [key, value] of Object.entries(headers)) {
        if (value !== undefined) head += `${key}: ${value}\r\n`;
      }
      const bytes = Buffer.from(head + '\r\n');
      return connections.send(body === null ? bytes : Buffer.concat([bytes, body]), method === 'HEAD');
    },
  };
}

// twirl closes a connection idle for 5 s; one idle for longer than this is not used again, so a
// request never races that close.
const KEPT_FOR = 4000;

// Connections to twirl, each carrying one request at a time; idle ones are kept for the next.
class Connections {
  constructor(host, port) {
    this.host = host;
    this.port = port;
    this.idle = [];
  }

  send(request, head) {
    return new Promise((resolve, reject) => {
      const now = Date.now();
      let kept;
      while ((kept = this.idle.pop()) && (kept.destroyed || now - kept.idleSince > KEPT_FOR)) kept.destroy();
      const socket = kept ? kept.ref() : this.open();
      const reader = new ResponseReader(head);
      const finish = (error, response) => {
        socket.removeListener('data', onData);
        socket.removeListener('close', onClose);
        socket.removeListener('error', onError);
        if (error) {
          socket.destroy();
          // A kept connection that closed before answering never carried the request.
          if (kept && !reader.started) return this.send(request, head).then(resolve, reject);
          return reject(error);
        }
        if (response.close) {
          socket.destroy();
        } else {
          socket.idleSince = Date.now();
          // An idle connection does not keep the process alive.
          this.idle.push(socket.unref());
        }
        resolve({ statusCode: response.statusCode, headers: response.headers, body: response.body });
      };
      const onData = (chunk) => {
        let response;
        try {
          response = reader.add(chunk);
        } catch (error) {
          return finish(error);
        }
        if (response) finish(null, response);
      };
      const onClose = () => {
        const response = reader.end();
        if (response) finish(null, { ...response, close: true });
        else finish(new Error('twirl closed the connection before answering'));
      };
      const onError = (error) => finish(error);
      socket.on('data', onData);
      socket.on('close', onClose);
      socket.on('error', onError);
      socket.write(request);
    });
  }

  open() {
    const socket = net.connect(this.port, this.host);
    socket.setNoDelay(true);
    // An idle connection that fails or closes is only dropped (an 'error' nobody listens to
    // would end the worker).
    socket.on('error', () => {});
    socket.on('close', () => {
      const at = this.idle.indexOf(socket);
      if (at >= 0) this.idle.splice(at, 1);
    });
    return socket;
  }
}

// One HTTP/1.1 response, read as its bytes arrive: the status line and headers, then a body
// of Content-Length bytes, in chunks, or up to the connection's end.
class ResponseReader {
  constructor(head) {
    this.noBody = head;
    this.buffer = Buffer.alloc(0);
    this.started = false;
    this.response = null;
    this.length = null;
    this.chunked = false;
    this.parts = [];
  }

  add(chunk) {
    this.started = true;
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    if (!this.response && !this.readHead()) return null;
    return this.chunked ? this.readChunks() : this.readLength();
  }

  readHead() {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0) return false;
    const lines = this.buffer.subarray(0, end).toString('latin1').split('\r\n');
    this.buffer = this.buffer.subarray(end + 4);
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
    if (!status) throw new Error(`twirl sent a malformed status line: ${lines[0]}`);
    const headers = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const key = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
    }
    const statusCode = Number(status[1]);
    this.response = { statusCode, headers, close: /\bclose\b/i.test(headers.connection || '') };
    if (this.noBody || statusCode === 204 || statusCode === 304 || (statusCode >= 100 && statusCode < 200)) {
      this.length = 0;
    } else if (/\bchunked\b/i.test(headers['transfer-encoding'] || '')) {
      this.chunked = true;
    } else if (headers['content-length'] !== undefined) {
      this.length = Number(headers['content-length']);
    }
    return true;
  }

  readLength() {
    if (this.length === null || this.buffer.length < this.length) return null;
    return this.done(this.buffer.subarray(0, this.length));
  }

  readChunks() {
    for (;;) {
      const eol = this.buffer.indexOf('\r\n');
      if (eol < 0) return null;
      const size = parseInt(this.buffer.subarray(0, eol).toString('latin1'), 16);
      if (Number.isNaN(size)) throw new Error('twirl sent a malformed chunk');
      if (size === 0) {
        // The last chunk, then (no trailers from twirl) the blank line that ends the body.
        if (this.buffer.length < eol + 4) return null;
        return this.done(Buffer.concat(this.parts));
      }
      if (this.buffer.length < eol + 2 + size + 2) return null;
      this.parts.push(this.buffer.subarray(eol + 2, eol + 2 + size));
      this.buffer = this.buffer.subarray(eol + 2 + size + 2);
    }
  }

  // The connection ended: the response, if it was complete or ran to the end by design.
  end() {
    if (this.response && this.length === null && !this.chunked) return this.done(this.buffer);
    return null;
  }

  done(body) {
    return { ...this.response, body: body.toString('utf8') };
  }
}

module.exports = { install, requestClient };

if (process.env.TWIRL_URL && require.main !== module) install(process.env.TWIRL_URL);
