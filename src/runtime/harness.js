// The worker harness: one long-lived Node.js process serving invocations of one build's
// functions, one at a time, over newline-delimited JSON frames.
//
//   stdin  (twirl → worker): {"t":"invoke","id","path","file","generation","scope"?,"context",
//                             "event","function_sid","request_sid","dependencies"?} |
//                            {"t":"prepare","generation"}  (idle workers of the live project)
//                            `scope` ({"env","context","tag"}: what every invocation of the
//                            site shares) comes only when it changes, and holds until then.
//   stdout (worker → twirl): {"t":"ready"} | {"t":"log","tag","level","msg"} |
//                            {"t":"done","id","status","headers":[[k,v]…],"body","b64"} |
//                            {"t":"exit","running"}  (the process is ending; `running` is the
//                            invocation it was running then, or null)
//
// Only this file writes to file descriptor 1; user writes to process.stdout/stderr and console
// calls become log frames, so user output can never corrupt the protocol.
'use strict';

const fs = require('fs');
const path = require('path');
const util = require('util');
const { AsyncLocalStorage } = require('async_hooks');
const { createRequire } = require('module');

// argv: the directory the manifest's files are relative to, the manifest (by default in it),
// `--twirl=URL`, and `--preload-twilio` for workers started ahead of their traffic.
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const preloadTwilio = process.argv.includes('--preload-twilio');
// `--twirl=URL`: where twirl listens. Every request for Twilio (any client, any region) or for an
// environment's domain goes there instead of the network.
const twirlUrl = (process.argv.find((a) => a.startsWith('--twirl=')) || '').slice('--twirl='.length);
const redirect = twirlUrl ? require(path.join(__dirname, 'twirl-redirect.js')) : null;
if (redirect) redirect.install(twirlUrl);
// The clients the runtime builds talk to twirl through a lean request client of their own.
const httpClient = redirect ? redirect.requestClient(twirlUrl) : undefined;
const buildDir = path.resolve(positional[0] || '.');
const manifestPath = positional[1] || path.join(buildDir, 'manifest.json');
const readManifest = () => JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
const requireFromBuild = createRequire(path.join(buildDir, 'package.json'));
const invocation = new AsyncLocalStorage();
const MAX_LOG_MESSAGE = 16 * 1024;
// Largest response body a function may send (larger ones are refused with an error).
const MAX_BODY = 20 * 1024 * 1024;

// Standard output may be a non-blocking pipe: a large frame goes out in pieces, and a full pipe
// (EAGAIN) is waited out briefly rather than dropping the rest of the frame.
const pause = new Int32Array(new SharedArrayBuffer(4));

function send(frame) {
  const bytes = Buffer.from(JSON.stringify(frame) + '\n');
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += fs.writeSync(1, bytes, offset);
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

// ---- Logs -------------------------------------------------------------------------------

function log(level, args) {
  let msg = util.format(...args);
  if (msg.length > MAX_LOG_MESSAGE) msg = msg.slice(0, MAX_LOG_MESSAGE) + '… [truncated]';
  const current = invocation.getStore();
  // The tag is made here, not per invocation: most invocations log nothing.
  const tag = current ? { ...current.tag, function_sid: current.function_sid, request_sid: current.request_sid } : null;
  send({ t: 'log', tag, level, msg });
}

console.log = (...a) => log('info', a);
console.info = (...a) => log('info', a);
console.debug = (...a) => log('info', a);
console.warn = (...a) => log('warn', a);
console.error = (...a) => log('error', a);
console.trace = (...a) => log('error', [util.format(...a), new Error().stack.split('\n').slice(2).join('\n')]);

function captureStream(stream, level) {
  stream.write = (chunk, encoding, cb) => {
    const text = Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk);
    const trimmed = text.endsWith('\n') ? text.slice(0, -1) : text;
    if (trimmed.length) log(level, [trimmed]);
    const done = typeof encoding === 'function' ? encoding : cb;
    if (done) done();
    return true;
  };
}
captureStream(process.stdout, 'info');
captureStream(process.stderr, 'error');

// ---- Twilio.Response ------------------------------------------------------------------

class Response {
  constructor(options = {}) {
    this._statusCode = options.statusCode || 200;
    this._body = options.body === undefined ? null : options.body;
    this._headers = { 'Set-Cookie': [] };
    if (options.headers) this.setHeaders(options.headers);
  }
  setStatusCode(code) { this._statusCode = code; return this; }
  setBody(body) { this._body = body; return this; }
  setHeaders(headers = {}) {
    const cookies = [];
    this._headers = {};
    for (const [key, value] of Object.entries(headers)) {
      if (key.toLowerCase() === 'set-cookie') cookies.push(...[].concat(value));
      else this._headers[key] = value;
    }
    this._headers['Set-Cookie'] = cookies;
    return this;
  }
  appendHeader(key, value) {
    if (value !== null && typeof value === 'object') throw new TypeError('Header value cannot be an object');
    if (key.toLowerCase() === 'set-cookie') {
      this._headers['Set-Cookie'].push(value);
    } else if (key in this._headers) {
      this._headers[key] = [].concat(this._headers[key], value);
    } else {
      this._headers[key] = value;
    }
    return this;
  }
  setCookie(key, value, attributes = []) {
    this._headers['Set-Cookie'].push([`${key}=${value}`, ...attributes].join(';'));
    return this;
  }
  removeCookie(key) {
    this._headers['Set-Cookie'] = this._headers['Set-Cookie'].filter((c) => !c.startsWith(`${key}=`));
    this._headers['Set-Cookie'].push(`${key}=;Max-Age=0`);
    return this;
  }
}

// ---- Globals: Twilio and Runtime, usable at module load ----------------------------------

// Why modules may be missing (the live project's dependencies being installed, or an install
// that failed), from the current invocation: every error a missing module causes names it.
function missingModulesNote() {
  const current = invocation.getStore();
  return current ? current.dependencies : null;
}

// `require('twilio')` takes a third of a second: it happens on first use of the `Twilio` global
// (or of getTwilioClient), so a worker is ready sooner; workers of deployed builds, started
// ahead of their traffic, load it right after they are ready (--preload-twilio). Without the
// module, `Twilio.Response` still works and anything else says why the module is missing.
let twilioGlobal = null;
let twilioMissing = null;

function missingTwilio() {
  const note = missingModulesNote();
  throw new Error(`The twilio module is not installed in this build${note ? ` (${note})` : ''}: ${twilioMissing}`);
}

function twilioModule() {
  if (twilioGlobal === null) {
    try {
      twilioGlobal = Object.assign(requireFromBuild('twilio'), { Response });
    } catch (err) {
      twilioMissing = String(err.message).split('\n')[0];
      log('warn', [`the twilio module is not installed in this build: ${twilioMissing}`]);
      const onlyResponse = Object.assign(Object.create(null), { Response });
      twilioGlobal = new Proxy(onlyResponse, {
        get: (target, key) => (key in target || typeof key === 'symbol' ? target[key] : missingTwilio()),
      });
    }
  }
  return twilioGlobal;
}
Object.defineProperty(global, 'Twilio', { configurable: true, enumerable: true, get: twilioModule });

function credentials() {
  const current = invocation.getStore();
  return current ? current.context : {};
}

function makeTwilioClient(context, options = {}) {
  if (!context.ACCOUNT_SID || !context.AUTH_TOKEN) {
    throw new Error('getTwilioClient() needs the account credentials: enable IncludeCredentials on the Service');
  }
  const twilio = twilioModule();
  if (twilioMissing !== null) missingTwilio();
  return twilio(context.ACCOUNT_SID, context.AUTH_TOKEN, { lazyLoading: true, httpClient, ...options });
}

let functionsByName = {};
let privateAssets = {};

function loadManifest() {
  const manifest = readManifest();
  functionsByName = {};
  for (const f of manifest.functions) functionsByName[f.path.replace(/^\//, '')] = { path: path.join(buildDir, f.file) };
  privateAssets = {};
  for (const a of manifest.assets.filter((x) => x.visibility === 'private')) {
    const file = path.join(buildDir, a.file);
    privateAssets[a.path] = { path: file, open: () => fs.readFileSync(file, 'utf8') };
  }
}
loadManifest();

// The live project changes under a running worker: each invocation carries the generation of
// the files it expects. On a newer one, the routes are re-read and the project's own modules
// (not its node_modules) are dropped from the require cache, so edits apply without a restart.
let generation = 0;
const ownModules = path.join(buildDir, path.sep);
const dependencies = path.join(buildDir, 'node_modules', path.sep);

function forgetProjectModules() {
  handlers.clear();
  for (const key of Object.keys(require.cache)) {
    if (key.startsWith(ownModules) && !key.startsWith(dependencies)) delete require.cache[key];
  }
}

function catchUp(wanted) {
  if (!wanted || wanted <= generation) return;
  generation = wanted;
  loadManifest();
  forgetProjectModules();
}

// A generation whose routes are those of the current one, told while twirl records it: the
// project's modules are dropped and those that were loaded are required again now, so the
// invocation that expects it finds them loaded. One that fails to load is left to that
// invocation, which requires it again and answers with its error.
function prepare(wanted) {
  if (!wanted || wanted <= generation) return;
  generation = wanted;
  const loaded = [...handlers.keys()];
  forgetProjectModules();
  for (const file of loaded) {
    try {
      handlers.set(file, require(path.join(buildDir, file)));
    } catch {
      // Left to the invocation, as said above.
    }
  }
}

// `process.env` is the worker's own environment (PATH, HOME, NODE_ENV…) with the environment's
// variables laid over it, as in production. A worker serves one environment; when its variables
// change, the project's modules are loaded again, so values read at module load are current too.
const ownEnv = { ...process.env };
let appliedEnv = null;

function applyEnv(variables) {
  const key = JSON.stringify(variables);
  if (key === appliedEnv) return;
  const previous = appliedEnv === null ? null : JSON.parse(appliedEnv);
  for (const name of Object.keys(previous || {})) {
    if (name in variables) continue;
    if (name in ownEnv) process.env[name] = ownEnv[name];
    else delete process.env[name];
  }
  Object.assign(process.env, variables);
  appliedEnv = key;
  if (previous !== null) forgetProjectModules();
}

// Each function's module, by file: resolving a path through `require` on every invocation costs
// more than the hello-world handler itself.
const handlers = new Map();

function loadHandler(frame) {
  let mod = handlers.get(frame.file);
  if (mod === undefined) {
    mod = require(path.join(buildDir, frame.file));
    handlers.set(frame.file, mod);
  }
  if (!mod || typeof mod.handler !== 'function') {
    throw new Error(`${frame.path} does not export a handler function`);
  }
  return mod.handler;
}

global.Runtime = {
  getFunctions: () => functionsByName,
  getAssets: () => privateAssets,
  getSync: ({ serviceName = 'default', ...options } = {}) => {
    const service = makeTwilioClient(credentials(), options).sync.v1.services(serviceName);
    service.maps = service.syncMaps;
    service.lists = service.syncLists;
    return service;
  },
};

// ---- Turning a handler's result into an HTTP response --------------------------------------

const TWIML = new Set(['VoiceResponse', 'MessagingResponse', 'FaxResponse']);

function bodyFrame(body) {
  if (Buffer.isBuffer(body)) return { body: body.toString('base64'), b64: true };
  return { body: String(body), b64: false };
}

function headerPairs(headers) {
  const pairs = [];
  for (const [key, value] of Object.entries(headers)) {
    for (const v of [].concat(value)) pairs.push([key, String(v)]);
  }
  return pairs;
}

// Node's own rule for a status code (`statusCode |= 0`, then 100 to 999): anything else would
// fail when the answer is written, far from the code that set it.
function statusOf(res) {
  const status = res._statusCode | 0;
  if (status < 100 || status > 999) {
    throw new RangeError(`Invalid status code: ${util.inspect(res._statusCode)} (Twilio.Response's statusCode must be a number from 100 to 999)`);
  }
  return status;
}

function fromResponse(res) {
  const status = statusOf(res);
  const headers = headerPairs(res._headers);
  const has = (name) => headers.some(([k]) => k.toLowerCase() === name);
  let body = res._body;
  if (body === null || body === undefined) body = '';
  else if (!Buffer.isBuffer(body) && typeof body === 'object') {
    body = JSON.stringify(body);
    if (!has('content-type')) headers.push(['Content-Type', 'application/json']);
  } else if (!has('content-type')) {
    // What the Toolkit's server (Express) sends for a text body with no type of its own.
    headers.push(['Content-Type', Buffer.isBuffer(body) ? 'application/octet-stream' : 'text/html; charset=utf-8']);
  }
  return { status, headers, ...bodyFrame(body) };
}

function toHttp(payload) {
  if (payload === undefined || payload === null) {
    return { status: 200, headers: [['Content-Type', 'application/json']], body: '', b64: false };
  }
  if (payload instanceof Response) return fromResponse(payload);
  if (typeof payload === 'string') {
    return { status: 200, headers: [['Content-Type', 'text/plain; charset=utf-8']], body: payload, b64: false };
  }
  if (Buffer.isBuffer(payload)) {
    return { status: 200, headers: [['Content-Type', 'application/octet-stream']], ...bodyFrame(payload) };
  }
  if (payload && payload.constructor && TWIML.has(payload.constructor.name) && typeof payload.toString === 'function') {
    return { status: 200, headers: [['Content-Type', 'text/xml']], body: payload.toString(), b64: false };
  }
  return { status: 200, headers: [['Content-Type', 'application/json']], body: JSON.stringify(payload), b64: false };
}

function errorHttp(err) {
  if (err instanceof Error) {
    log('error', [err.stack || String(err)]);
    const error = { message: err.message, name: err.name, stack: err.stack };
    return { status: 500, headers: [['Content-Type', 'application/json']], body: JSON.stringify(error), b64: false, error };
  }
  log('error', [typeof err === 'string' ? err : util.inspect(err)]);
  if (typeof err === 'string') {
    return { status: 500, headers: [['Content-Type', 'text/plain; charset=utf-8']], body: err, b64: false };
  }
  return { status: 500, headers: [['Content-Type', 'application/json']], body: JSON.stringify(err), b64: false };
}

// ---- Invocations ----------------------------------------------------------------------------

let current = null;

// process.exit called from the code of an invocation that has already answered (a timer it left
// behind) while another one runs: the running one finishes first, then the process ends. Its
// caller was innocent; the stale code after the exit call runs on, as it would have had the
// timer fired a moment later.
let exitAfterCurrent = null;
const exitNow = process.exit.bind(process);
process.exit = (code) => {
  const caller = invocation.getStore();
  if (current && caller && caller.id !== current.id) {
    exitAfterCurrent = code === undefined ? process.exitCode || 0 : code;
    return;
  }
  exitNow(code);
};
// twirl learns that the process is ending before it sees the pipe close: an invocation sent to
// it that never began can then safely go to another worker.
process.on('exit', () => {
  try {
    send({ t: 'exit', running: current ? current.id : null });
  } catch {
    // twirl has closed the pipe: nobody is left to tell.
  }
});

function finish(id, response) {
  if (!current || current.id !== id) return;
  current = null;
  if (response.body.length > (response.b64 ? (MAX_BODY * 4) / 3 : MAX_BODY)) {
    response = errorHttp(new Error(`The response body is larger than ${MAX_BODY / 1024 / 1024} MB`));
  }
  const done = { t: 'done', id, status: response.status, headers: response.headers, body: response.body, b64: response.b64 };
  if (response.error) done.error = response.error;
  if (response.fatal || exitAfterCurrent !== null) done.fatal = true;
  send(done);
  if (exitAfterCurrent !== null) exitNow(exitAfterCurrent);
}

// A missing module's error says why it is missing, on its first line.
function explainMissingModule(err) {
  const note = missingModulesNote();
  if (!note || !err || err.code !== 'MODULE_NOT_FOUND' || typeof err.message !== 'string') return err;
  const first = err.message.split('\n')[0];
  // V8 writes `stack` on first read, from the message of that moment: read it before the change.
  const { stack } = err;
  err.message = err.message.replace(first, `${first} (${note})`);
  if (typeof stack === 'string') err.stack = stack.replace(first, `${first} (${note})`);
  return err;
}

// An invocation ends when `callback` is called (or at the execution limit), as in production:
// a handler's promise settling does not end it. A rejection before the callback is the
// invocation's error; anything the handler throws or rejects after the callback is only logged.
let scope = { env: {}, context: {}, tag: {} };
// `context` as the site gives it, with slots for the request's built-ins (`PATH`,
// `DOMAIN_NAME`) in front, where the site's own entries of those names win, as variables win over
// them: an invocation clones it in one copy of a known shape and fills the slots the site left.
// (Spreading both into a new object on every call, with the log tag made and the answer spread
// into its frame likewise, was a quarter of a worker's CPU for a hello-world invocation.)
let contextTemplate = { getTwilioClient: null };
let requestBuiltins = [];

function takeScope(given) {
  scope = given;
  applyEnv(scope.env);
  requestBuiltins = ['PATH', 'DOMAIN_NAME'].filter((key) => !(key in scope.context));
  contextTemplate = { PATH: '', DOMAIN_NAME: '', ...scope.context, getTwilioClient: null };
}

function invoke(frame) {
  const { id } = frame;
  if (frame.scope) takeScope(frame.scope);
  // The credentials the runtime's clients use are the site's, whatever the function does to
  // its `context`.
  const site = scope.context;
  current = {
    id,
    tag: scope.tag,
    function_sid: frame.function_sid,
    request_sid: frame.request_sid,
    context: site,
    dependencies: frame.dependencies,
  };
  catchUp(frame.generation);
  const context = { ...contextTemplate };
  for (const key of requestBuiltins) context[key] = frame.context[key];
  context.getTwilioClient = (options) => makeTwilioClient(site, options);
  let settled = false;
  const callback = (err, payload) => {
    if (settled) return;
    settled = true;
    let response;
    try {
      response = err ? errorHttp(explainMissingModule(err)) : toHttp(payload);
    } catch (e) {
      response = errorHttp(e);
    }
    finish(id, response);
  };
  const failed = (err) => {
    if (!settled) callback(err);
    else log('error', [`after the callback: ${err && err.stack ? err.stack : util.inspect(err)}`]);
  };
  invocation.run(current, () => {
    try {
      const result = loadHandler(frame)(context, frame.event, callback);
      if (result && typeof result.then === 'function') {
        result.then(() => {
          if (!settled) {
            log('warn', [`${frame.path}: the handler's promise resolved, but the invocation goes on until callback() is called`]);
          }
        }, (err) => failed(err || new Error('Promise rejected')));
      }
    } catch (err) {
      failed(err);
    }
  });
}

// A crash outside the handler's reach ends the current invocation with an error, then the
// process: its state can no longer be trusted, and twirl replaces it.
function fatal(err) {
  if (current) finish(current.id, { ...errorHttp(err instanceof Error ? err : new Error(String(err))), fatal: true });
  else log('error', [err && err.stack ? err.stack : String(err)]);
  process.exit(70);
}
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

// Frames are split by hand: readline's per-line machinery costs more than a small invocation.
// Only the new chunk is searched, so a large frame arriving in many pieces is scanned once.
let pending = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  let start = 0;
  let end;
  while ((end = chunk.indexOf('\n', start)) !== -1) {
    const line = pending + chunk.slice(start, end);
    pending = '';
    start = end + 1;
    if (!line) continue;
    const frame = JSON.parse(line);
    if (frame.t === 'invoke') invoke(frame);
    else if (frame.t === 'prepare') prepare(frame.generation);
  }
  pending += chunk.slice(start);
});
process.stdin.on('end', () => process.exit(0));

send({ t: 'ready' });
if (preloadTwilio) setImmediate(twilioModule);
