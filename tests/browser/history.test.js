// The console tells the truth about builds: the live project's saves do not pile up, its
// environment offers no roll back (it serves the files as saved), a failed build shows npm's
// reason, and a long list of builds is paged.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startTwirl, apiClient, uploadFunction, buildAndWait, launchConsole, closeConsole, copyProject, screenshot, eventually } = require('./support');

// Twenty-three builds: more than a page of twenty.
const EXTRA_BUILDS = 22;
const MISSING_PACKAGE = 'twirl-no-such-package-for-tests';

let twirl, api, page, dir;
const state = {};

before(async () => {
  dir = copyProject('tiny-project');
  twirl = await startTwirl(dir);
  api = await apiClient(twirl.url);
  state.live = await (await fetch(`${twirl.url}/_twirl/live`)).json();
  const service = await api.post('/Services', { UniqueName: 'many-builds', FriendlyName: 'Many builds' });
  const fn = await uploadFunction(api, service.sid, '/hello', 'public', 'exports.handler = (c, e, cb) => cb(null, "hi");');
  for (let i = 0; i < EXTRA_BUILDS; i++) await buildAndWait(api, service.sid, [fn.version.sid]);
  const failed = await api.post(`/Services/${service.sid}/Builds`, [
    ['FunctionVersions', fn.version.sid],
    ['Dependencies', JSON.stringify([{ name: MISSING_PACKAGE, version: '1.0.0' }])],
  ]);
  await eventually(async () => (await api.get(`/Services/${service.sid}/Builds/${failed.sid}/Status`)).status === 'failed', { timeout: 120000, interval: 250 });
  Object.assign(state, { service, failed });
  page = await launchConsole(twirl.url);
});

after(() => closeConsole(page, twirl, dir));

async function show(hash, ready) {
  await page.evaluate((h) => (location.hash = h), hash);
  await page.getByTestId(ready).waitFor();
}

test('saving the live project five times leaves one build and one deployment, with no roll back', async () => {
  const file = path.join(dir, 'functions', 'ok.js');
  for (let i = 1; i <= 5; i++) {
    fs.writeFileSync(file, `exports.handler = (context, event, callback) => callback(null, 'save ${i}');\n`);
    await eventually(async () => (await (await fetch(`${twirl.url}/ok`)).text()) === `save ${i}`);
  }
  await show(`#/services/${state.live.service_sid}/builds`, 'builds-table');
  await eventually(async () => (await page.getByTestId('build-row').count()) === 1);
  await show(`#/services/${state.live.service_sid}/environments/${state.live.environment_sid}`, 'deployments-table');
  assert.equal(await page.getByTestId('deployment-row').count(), 1);
  assert.equal(await page.getByTestId('rollback').count(), 0);
  await page.getByTestId('live-deployments-hint').waitFor();
  await screenshot(page, '20-live-environment-history');
});

test('a promoted live build is kept when the project is saved again', async () => {
  const stage = await api.post(`/Services/${state.live.service_sid}/Environments`, { UniqueName: 'stage-environment', DomainSuffix: 'stage' });
  const live = await (await fetch(`${twirl.url}/_twirl/live`)).json();
  await api.post(`/Services/${state.live.service_sid}/Environments/${stage.sid}/Deployments`, { BuildSid: live.build_sid });
  fs.writeFileSync(path.join(dir, 'functions', 'ok.js'), "exports.handler = (context, event, callback) => callback(null, 'after promotion');\n");
  await eventually(async () => (await (await fetch(`${twirl.url}/ok`)).text()) === 'after promotion');
  await show(`#/services/${state.live.service_sid}/builds`, 'builds-table');
  await eventually(async () => (await page.getByTestId('build-row').count()) === 2);
  // The build stage serves is listed as active there (once the console has seen the new environment).
  const promoted = page.getByTestId('build-row').filter({ hasText: 'stage-environment' });
  await eventually(async () => (await promoted.count()) === 1);

  // Its page offers every environment but the live one, which follows the files.
  await promoted.getByTestId('build-link').click();
  await page.getByTestId('build-view').waitFor();
  await page.getByTestId('live-env-chip').waitFor();
  assert.equal(await page.getByTestId('deploy-to-live-environment').count(), 0);

  // Nor is the live environment offered as a target for promoting stage's build.
  await show(`#/services/${state.live.service_sid}/environments/${stage.sid}`, 'deployments-table');
  assert.deepEqual(await page.getByTestId('promote-target').locator('option').allTextContents(), []);
  assert.equal(await page.getByTestId('promote-form').count(), 0, 'with no other environment, no promotion form');
});

test('a failed build shows npm’s reason on its page and in the list', async () => {
  await show(`#/services/${state.service.sid}/builds/${state.failed.sid}`, 'build-view');
  const reason = await page.getByTestId('build-failure').textContent();
  assert.match(reason, /npm/);
  assert.ok(reason.includes(MISSING_PACKAGE), reason);
  await screenshot(page, '21-failed-build');
  await show(`#/services/${state.service.sid}/builds`, 'builds-table');
  const row = page.getByTestId('build-row').first();
  assert.match(await row.getByTestId('build-row-failure').textContent(), /npm/);
});

test('a long list of builds is shown twenty at a time', async () => {
  await show(`#/services/${state.service.sid}/builds`, 'builds-table');
  const total = EXTRA_BUILDS + 1;
  assert.equal(await page.getByTestId('build-row').count(), 20);
  const more = page.getByTestId('show-more');
  assert.equal((await more.textContent()).trim(), `Show ${total - 20} older`);
  await more.click();
  await eventually(async () => (await page.getByTestId('build-row').count()) === total);
  assert.equal(await page.getByTestId('show-more').count(), 0);
  await screenshot(page, '22-builds-paged');
});
