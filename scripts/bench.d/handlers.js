// What the benchmark's two Node baselines share: a project's function handlers, loaded with the
// `Twilio` global from the project's own `twilio` module (for TwiML), and the minimal adapter from
// a handler's callback to an HTTP answer.
'use strict';

const fs = require('fs');
const path = require('path');

// The paths of FUNCTIONS_DIR's functions: `/{name}` for each `{name}.js`.
function paths(functionsDir) {
  return fs.readdirSync(functionsDir).filter((n) => n.endsWith('.js')).map((n) => `/${n.slice(0, -3)}`);
}

// `/{name}` → the handler of FUNCTIONS_DIR/{name}.js.
function load(functionsDir) {
  global.Twilio = require(require.resolve('twilio', { paths: [functionsDir] }));
  return new Map(paths(functionsDir).map((p) => [p, require(path.join(functionsDir, `${p.slice(1)}.js`)).handler]));
}

// A callback's result as { status, type, text } (`type` null for an empty answer).
function answer(err, body) {
  if (err) return { status: 500, type: 'text/plain; charset=utf-8', text: String(err && err.message ? err.message : err) };
  if (body === undefined || body === null) return { status: 200, type: null, text: '' };
  if (body instanceof Twilio.twiml.MessagingResponse || body instanceof Twilio.twiml.VoiceResponse) {
    return { status: 200, type: 'text/xml', text: body.toString() };
  }
  if (typeof body === 'string') return { status: 200, type: 'text/plain; charset=utf-8', text: body };
  return { status: 200, type: 'application/json', text: JSON.stringify(body) };
}

// The same `context` for every call: the baselines measure the relay, not what a context holds.
const context = {};

// Runs `handler` as a Function is run, and gives its answer to `reply` exactly once.
function run(handler, event, reply) {
  let replied = false;
  const once = (err, body) => {
    if (replied) return;
    replied = true;
    reply(answer(err, body));
  };
  try {
    handler(context, event, once);
  } catch (err) {
    once(err);
  }
}

// Writes an answer made by `answer`.
function write(res, { status, type, text }) {
  const headers = { 'Content-Length': Buffer.byteLength(text) };
  if (type) headers['Content-Type'] = type;
  res.writeHead(status, headers);
  res.end(text);
}

module.exports = { paths, load, answer, run, write };
