// Loaded into Node.js processes started by `twirl exec` (through NODE_OPTIONS): requests meant
// for Twilio's Serverless hosts and for environments' domains go to twirl instead, so code using
// twilio-node, @twilio-labs/serverless-api or twilio-run works unchanged. Other hosts are
// untouched.
'use strict';

const http = require('http');
const https = require('https');

const target = new URL(process.env.TWIRL_URL);
const API_HOST = /^serverless(-upload)?(\.[a-z0-9-]+\.[a-z0-9-]+)?\.twilio\.com$/i;
const SITE_HOST = /\.twil\.io$/i;

// Where a request for `host` and `path` goes, or null to leave it alone.
function rewrite(host, path) {
  const name = String(host || '').replace(/:\d+$/, '').toLowerCase();
  if (API_HOST.test(name)) return path;
  if (SITE_HOST.test(name)) return `/${name}${path.startsWith('/') ? path : `/${path}`}`;
  return null;
}

// Node accepts (url[, options][, callback]) or (options[, callback]); this returns the merged
// options and the callback.
function normalize(args) {
  let [first, second, third] = args;
  let options;
  let callback;
  if (typeof first === 'string' || first instanceof URL) {
    const url = new URL(first);
    options = {
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      // Clients such as got put the Basic credentials in the URL.
      ...(url.username ? { auth: `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` } : {}),
      ...(typeof second === 'object' ? second : {}),
    };
    callback = typeof second === 'function' ? second : third;
  } else {
    options = { ...(first || {}) };
    callback = second;
  }
  return { options, callback };
}

const originalRequest = http.request;

function redirecting(original) {
  return function request(...args) {
    const { options, callback } = normalize(args);
    const destination = rewrite(options.hostname || options.host, options.path || '/');
    if (destination === null) return original.apply(this, args);
    const headers = { ...(options.headers || {}) };
    for (const key of Object.keys(headers)) if (key.toLowerCase() === 'host') delete headers[key];
    const redirected = {
      ...options,
      protocol: 'http:',
      hostname: target.hostname,
      host: target.hostname,
      port: target.port,
      path: destination,
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

https.request = redirecting(https.request);
https.get = getting(https.request);
http.request = redirecting(originalRequest);
http.get = getting(http.request);

if (typeof globalThis.fetch === 'function') {
  const originalFetch = globalThis.fetch;
  globalThis.fetch = function fetch(input, init) {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const destination = rewrite(url.hostname, url.pathname + url.search);
    if (destination === null) return originalFetch(input, init);
    return originalFetch(new URL(destination, target), typeof input === 'object' && !(input instanceof URL) ? { ...input, ...init } : init);
  };
}
