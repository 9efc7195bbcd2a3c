// The console in an 800 px window: every view fits (nothing scrolls sideways, no card's content
// is wider than the card), no control is cut off, and domains, paths, variable values and
// headings wrap between their parts, never mid-word.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startTwirl, apiClient, uploadFunction, buildAndWait, launchConsole, closeConsole, screenshot, tempDir, eventually } = require('./support');

const NARROW = { width: 800, height: 800 };
const LONG_PATH = '/some/deeply/nested/function-with-a-rather-long-name';
const LONG_VALUE = 'https://example.com/a/very/long/value/that/goes/on/and/on?with=query&and=more&still=more';

let twirl, api, page;
const state = {};

before(async () => {
  twirl = await startTwirl(tempDir('twirl-narrow-'));
  api = await apiClient(twirl.url);
  const service = await api.post('/Services', { UniqueName: 'a-rather-long-service-name-for-layouts', FriendlyName: 'A rather long service name for layouts' });
  const dev = await api.post(`/Services/${service.sid}/Environments`, { UniqueName: 'development-environment', DomainSuffix: 'development' });
  await api.post(`/Services/${service.sid}/Environments`, { UniqueName: 'staging-environment', DomainSuffix: 'staging' });
  const fn = await uploadFunction(api, service.sid, LONG_PATH, 'public', 'exports.handler = (c, e, cb) => cb(null, "hi");');
  const first = await buildAndWait(api, service.sid, [fn.version.sid]);
  const second = await buildAndWait(api, service.sid, [fn.version.sid]);
  await api.post(`/Services/${service.sid}/Environments/${dev.sid}/Deployments`, { BuildSid: first.sid });
  await api.post(`/Services/${service.sid}/Environments/${dev.sid}/Deployments`, { BuildSid: second.sid });
  await api.post(`/Services/${service.sid}/Environments/${dev.sid}/Variables`, { Key: 'A_RATHER_LONG_VARIABLE_NAME', Value: LONG_VALUE });
  const live = await (await fetch(`${twirl.url}/_twirl/live`)).json();
  Object.assign(state, { service, dev, fn, build: second, live });
  page = await launchConsole(twirl.url, NARROW);
});

after(() => closeConsole(page, twirl));

/** What is wrong with the layout of the view shown: sideways scrolling, content wider than its
 *  card, controls cut off, and words broken in the middle. */
function layoutProblems() {
  return page.evaluate(() => {
    const problems = [];
    const describe = (el) => (el.textContent || el.getAttribute('aria-label') || el.outerHTML).trim().slice(0, 60);
    for (const box of [document.scrollingElement, document.getElementById('main')]) {
      if (box.scrollWidth > box.clientWidth + 1) problems.push(`${box.id || 'the page'} scrolls sideways: ${box.scrollWidth} > ${box.clientWidth}`);
    }
    for (const body of document.querySelectorAll('#main .card-body')) {
      if (body.scrollWidth > body.clientWidth + 1) problems.push(`card "${describe(body.closest('.card').querySelector('h2'))}" is ${body.scrollWidth - body.clientWidth} px too narrow`);
    }
    for (const el of document.querySelectorAll('#main button, #main .button, #main input, #main select, #main .badge')) {
      const r = el.getBoundingClientRect();
      if (!r.width) continue;
      for (let p = el.parentElement; p && p !== document.documentElement; p = p.parentElement) {
        if (getComputedStyle(p).overflowX === 'visible') continue;
        const pr = p.getBoundingClientRect();
        if (r.left < pr.left - 1 || r.right > pr.right + 1) {
          problems.push(`"${describe(el)}" is cut off`);
          break;
        }
      }
    }
    // A line that starts between two letters or digits of one text is a word broken in the
    // middle (the console splits domains and paths into texts at their punctuation).
    const word = /[A-Za-z0-9]/;
    for (const el of document.querySelectorAll('#main .site-link, #main [data-testid="variable-value"], #main h1, #main td.mono, #main code')) {
      const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        let previous = null;
        for (let i = 0; i < node.length; i++) {
          const range = document.createRange();
          range.setStart(node, i);
          range.setEnd(node, i + 1);
          const rect = range.getBoundingClientRect();
          if (!rect.width) continue;
          const char = node.data[i];
          if (previous && rect.top > previous.top + rect.height / 2 && word.test(previous.char) && word.test(char)) {
            problems.push(`"${describe(el)}" breaks mid-word before "${node.data.slice(i, i + 8)}"`);
          }
          previous = { char, top: rect.top };
        }
      }
    }
    return problems;
  });
}

async function show(hash, ready, name) {
  await page.evaluate((h) => (location.hash = h), hash);
  await page.getByTestId(ready).waitFor();
  // Views fill in asynchronously (lists, sources): let them settle before measuring.
  await page.waitForLoadState('networkidle');
  await screenshot(page, `narrow-${name}`);
  assert.deepEqual(await layoutProblems(), [], `the ${name} view at 800 px`);
}

test('the services overview fits at 800 px', async () => {
  await show('#/', 'services-table', 'overview');
});

test('a service and each of its tabs fit at 800 px', async () => {
  const s = state.service.sid;
  await show(`#/services/${s}`, 'service-view', 'service');
  await show(`#/services/${s}/builds`, 'builds-table', 'builds');
  await show(`#/services/${s}/functions`, 'function-row', 'functions');
});

test('an environment with a long domain, a long value and its history fits at 800 px', async () => {
  await show(`#/services/${state.service.sid}/environments/${state.dev.sid}`, 'deployments-table', 'environment');
  // The roll back button of the earlier deployment is whole and usable.
  const rollback = page.getByTestId('rollback');
  await rollback.scrollIntoViewIfNeeded();
  assert.ok(await rollback.isVisible());
  const value = await page.getByTestId('variable-value').textContent();
  assert.equal(value, LONG_VALUE, 'the value is shown whole');
});

test('the live environment fits at 800 px', async () => {
  await show(`#/services/${state.live.service_sid}/environments/${state.live.environment_sid}`, 'deployed-table', 'live-environment');
});

test('a build and a function fit at 800 px', async () => {
  const s = state.service.sid;
  await show(`#/services/${s}/builds/${state.build.sid}`, 'build-view', 'build');
  await show(`#/services/${s}/environments/${state.dev.sid}/functions/${state.fn.fn.sid}`, 'function-view', 'function');
  await show(`#/services/${s}/functions/${state.fn.fn.sid}`, 'service-function-view', 'service-function');
});

test('the log panel keeps its tools inside the window', async () => {
  const panel = page.locator('#panel');
  const box = await panel.boundingBox();
  assert.ok(box.x + box.width <= NARROW.width + 1, `the panel ends at ${box.x + box.width}`);
  for (const tool of await panel.locator('button, select').all()) {
    const b = await tool.boundingBox();
    if (b) assert.ok(b.x + b.width <= NARROW.width + 1, `${await tool.textContent()} ends at ${b.x + b.width}`);
  }
  await eventually(async () => (await page.getByTestId('connection').textContent()).includes('Live'));
});
