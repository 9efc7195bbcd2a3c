// Shared set-up for the console's browser tests: the real twirl binary on a free port, the real
// API to arrange state, and headless Chromium through playwright-core.

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const ROOT = path.resolve(__dirname, '..', '..');
// run.sh sets TWIRL_BIN; run directly (`node --test`), the binary is in Cargo's target directory.
const BIN = process.env.TWIRL_BIN || path.join(path.resolve(ROOT, process.env.CARGO_TARGET_DIR || 'target'), 'debug', 'twirl');
const ARTIFACTS = path.join(ROOT, 'target', 'browser-artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Starts `twirl serve <dir> --port 0 --ephemeral`; resolves once it prints where it listens. */
function startTwirl(dir, { args = [], env = {} } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ['serve', dir, '--port', '0', '--ephemeral', ...args], {
      cwd: dir,
      env: { ...cleanEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = [];
    let url = null;
    // Never outlive the test process, whatever happens to it.
    const reap = () => child.kill('SIGKILL');
    process.once('exit', reap);
    child.once('exit', () => process.removeListener('exit', reap));
    let pending = '';
    const timer = setTimeout(() => fail(new Error(`twirl did not start in time:\n${output.join('')}`)), 30000);
    function fail(err) {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    }
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      output.push(chunk);
      if (url) return;
      pending += chunk;
      const nl = pending.indexOf('\n');
      if (nl < 0) return;
      const first = pending.slice(0, nl);
      const m = /^twirl listening on (http:\/\/\S+)$/.exec(first.trim());
      if (!m) return fail(new Error(`unexpected first line from twirl: ${first}`));
      url = m[1];
      clearTimeout(timer);
      resolve({
        url,
        child,
        output,
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(t);
        },
      });
    });
    // Keep draining stderr so twirl never blocks on a full pipe.
    child.stderr.on('data', (chunk) => output.push(chunk));
    child.on('error', fail);
    child.on('exit', (code, signal) => {
      if (!url) fail(new Error(`twirl exited (${code ?? signal}) before listening:\n${output.join('')}`));
    });
  });
}

/** The environment without TWIRL_* settings, which would override the options given here. */
function cleanEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TWIRL_')));
}

/** A client of one of twirl's APIs with the console session's credentials: `mount` is the API's
 *  path (`/v1` for Serverless, `/sync/v1`…), or a function of the session giving it (the 2010
 *  API's path names the account). Answers are parsed JSON; a failure throws with its body. */
async function apiClient(base, mount = '/v1') {
  const session = await (await fetch(`${base}/_twirl/session`)).json();
  const auth = 'Basic ' + Buffer.from(`${session.account_sid}:${session.auth_token}`).toString('base64');
  const root = typeof mount === 'function' ? mount(session) : mount;
  async function request(method, p, body, extra = {}) {
    const headers = { Authorization: auth, Accept: 'application/json', ...extra };
    let payload;
    if (body instanceof FormData) payload = body;
    else if (body) {
      payload = new URLSearchParams(Array.isArray(body) ? body : Object.entries(body)).toString();
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
    }
    const res = await fetch(`${base}${root}${p}`, { method, headers, body: payload });
    const text = await res.text();
    const json = text ? JSON.parse(text) : null;
    if (!res.ok) throw new Error(`${method} ${root}${p} → ${res.status}: ${text}`);
    return json;
  }
  return {
    session,
    request,
    get: (p) => request('GET', p),
    post: (p, body) => request('POST', p, body),
    del: (p) => request('DELETE', p),
  };
}

/** Uploads a function version the way the deploy client does (Path, Visibility, Content). */
async function uploadFunction(api, serviceSid, functionPath, visibility, source) {
  const fn = await api.post(`/Services/${serviceSid}/Functions`, { FriendlyName: functionPath });
  const form = new FormData();
  form.append('Path', functionPath);
  form.append('Visibility', visibility);
  form.append('Content', new Blob([source], { type: 'application/javascript' }), path.posix.basename(functionPath));
  const version = await api.post(`/Services/${serviceSid}/Functions/${fn.sid}/Versions`, form);
  return { fn, version };
}

/** Creates a build of the given versions and waits until it has completed (the first build on a
 *  machine installs its dependencies with npm). */
async function buildAndWait(api, serviceSid, versionSids, timeoutMs = 180000) {
  const build = await api.post(
    `/Services/${serviceSid}/Builds`,
    versionSids.map((v) => ['FunctionVersions', v]),
  );
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await api.get(`/Services/${serviceSid}/Builds/${build.sid}/Status`);
    if (status.status === 'completed') return build;
    if (status.status === 'failed') throw new Error(`build ${build.sid} failed`);
    if (Date.now() > deadline) throw new Error(`build ${build.sid} still ${status.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A page at laptop size (or `viewport`) that fails the test on any script error in the console. */
async function openConsole(browser, base, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (err) => page.errors.push(String(err)));
  page.on('console', (msg) => {
    // Responses with error statuses (a refused unsigned call, say) are not script errors.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) page.errors.push(msg.text());
  });
  await page.goto(`${base}/_twirl/`);
  await page.waitForSelector('body[data-ready="true"]');
  return page;
}

/** The console of the server at `base`, open in headless Chromium (the page; `closeConsole` ends
 *  its browser). If the console does not come up the browser is closed here, as the caller never
 *  gets hold of it. */
async function launchConsole(base, viewport) {
  const browser = await launchBrowser();
  try {
    return await openConsole(browser, base, viewport);
  } catch (err) {
    await browser.close();
    throw err;
  }
}

/** A test file's teardown: the browser (if the console opened) and twirl (if it started) are
 *  stopped, and `dirs` removed, before the console's script errors are checked, so a failing check
 *  leaves nothing running. */
async function closeConsole(page, twirl, ...dirs) {
  const errors = page ? page.errors : [];
  try {
    await page?.context().browser().close();
    await twirl?.stop();
  } finally {
    for (const dir of dirs.filter(Boolean)) fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(errors, [], 'the console had no script errors');
}

/** A fresh copy of `fixtures/{name}` to serve and edit (closeConsole removes it). */
function copyProject(name) {
  const dir = tempDir(`twirl-${name}-`);
  fs.cpSync(path.join(__dirname, 'fixtures', name), dir, { recursive: true });
  return dir;
}

async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

async function eventually(fn, { timeout = 10000, interval = 100 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw last || new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, interval));
  }
}

module.exports = { ROOT, startTwirl, apiClient, uploadFunction, buildAndWait, launchConsole, closeConsole, copyProject, screenshot, tempDir, eventually };
