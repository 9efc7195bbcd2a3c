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

module.exports = { install };

if (process.env.TWIRL_URL && require.main !== module) install(process.env.TWIRL_URL);
