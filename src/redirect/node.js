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
// (`getTwilioClient()`, `Runtime.getSync()`): it sends each request straight to twirl over a kept
// connection, as the redirection would, without twilio-node's own HTTP stack, whose CPU cost is
// larger than the request's.
function requestClient(twirlUrl) {
  const target = new URL(twirlUrl);
  const agent = new http.Agent({ keepAlive: true });
  return {
    request(options) {
      const url = new URL(options.uri);
      const query = encode(options.params);
      const body = options.data ? encode(options.data) : null;
      const headers = { ...(options.headers || {}) };
      headers.Host = url.hostname;
      headers['X-Forwarded-Host'] = url.hostname;
      headers['X-Forwarded-Proto'] = url.protocol.replace(/:$/, '');
      if (options.username !== undefined) {
        headers.Authorization = 'Basic ' + Buffer.from(`${options.username}:${options.password}`).toString('base64');
      }
      if (body !== null) {
        headers['Content-Type'] = 'application/x-www-form-urlencoded';
        headers['Content-Length'] = Buffer.byteLength(body);
      }
      return new Promise((resolve, reject) => {
        const req = http.request(
          {
            hostname: target.hostname,
            port: target.port,
            method: String(options.method || 'GET').toUpperCase(),
            path: url.pathname + (query ? `${url.search ? `${url.search}&` : '?'}${query}` : url.search),
            headers,
            agent,
          },
          (res) => {
            const chunks = [];
            res.on('data', (chunk) => chunks.push(chunk));
            res.on('end', () => resolve({ statusCode: res.statusCode, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        if (body !== null) req.write(body);
        req.end();
      });
    },
  };
}

module.exports = { install, requestClient };

if (process.env.TWIRL_URL && require.main !== module) install(process.env.TWIRL_URL);
