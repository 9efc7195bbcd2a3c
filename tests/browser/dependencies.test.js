// The live project's dependencies in the console: a banner while a set installs (the first one
// here, held by an npm that waits for the test), a problem while a set cannot be installed, gone
// once package.json is fixed; and the variables changed through the API that .env no longer sets.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { startTwirl, apiClient, launchConsole, closeConsole, screenshot, tempDir, copyProject, eventually } = require('./support');

let twirl, page, dir, tools, cache;

/** A `node` (the one on PATH, which twirl would use) with an `npm` beside it that waits for the
 *  file `released` before it runs the real npm. */
function gatedNpm(where) {
  const which = (name) => execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
  fs.symlinkSync(which('node'), path.join(where, 'node'));
  const released = path.join(where, 'released');
  fs.writeFileSync(
    path.join(where, 'npm'),
    `#!/bin/sh\nwhile [ ! -e '${released}' ]; do sleep 0.05; done\nexec '${which('npm')}' "$@"\n`,
    { mode: 0o755 },
  );
  return { where, node: path.join(where, 'node'), release: () => fs.writeFileSync(released, '') };
}

before(async () => {
  dir = copyProject('tiny-project');
  fs.writeFileSync(path.join(dir, '.env'), 'GREETING=hello\n');
  tools = gatedNpm(tempDir('twirl-tools-'));
  cache = tempDir('twirl-cache-');
  twirl = await startTwirl(dir, { args: ['--node', tools.node, '--cache', cache] });
  page = await launchConsole(twirl.url);
});

after(() => closeConsole(page, twirl, dir, tools?.where, cache));

test('the first install shows a banner until it is done', async () => {
  const banner = page.getByTestId('installing-banner');
  await banner.waitFor();
  assert.match(await banner.textContent(), /Installing twilio@\^5\.0\.0, @twilio\/runtime-handler@2\.1\.0…/);
  await page.getByTestId('live-card').getByText('installing dependencies').waitFor();
  await screenshot(page, '20-installing-banner');
  tools.release();
  await banner.waitFor({ state: 'detached', timeout: 180000 });
  await page.getByTestId('live-card').getByText('reloaded cleanly').waitFor();
});

test('a set that cannot be installed is a problem until package.json is fixed', async () => {
  const file = path.join(dir, 'package.json');
  const good = fs.readFileSync(file, 'utf8');
  const broken = JSON.parse(good);
  broken.dependencies['is-odd'] = '^99';
  fs.writeFileSync(file, JSON.stringify(broken, null, 2));
  const banner = page.getByTestId('problems-banner');
  await banner.waitFor({ timeout: 120000 });
  assert.match(await banner.textContent(), /package\.json: cannot install is-odd@\^99: No matching version found for is-odd@\^99\./);
  await screenshot(page, '21-install-problem');
  fs.writeFileSync(file, good);
  await banner.waitFor({ state: 'detached', timeout: 30000 });
});

test('a variable changed through the API is shown as kept over .env', async () => {
  const api = await apiClient(twirl.url);
  const live = await (await fetch(`${twirl.url}/_twirl/live`)).json();
  const variables = `/Services/${live.service_sid}/Environments/${live.environment_sid}/Variables`;
  const greeting = (await api.get(variables)).variables.find((v) => v.key === 'GREETING');
  await api.post(`${variables}/${greeting.sid}`, { Value: 'changed here' });
  const edited = page.getByTestId('edited-variables');
  await edited.waitFor();
  assert.match(await edited.textContent(), /^GREETING changed here: kept over \.env until \.env changes them$/);
  fs.writeFileSync(path.join(dir, '.env'), 'GREETING=from .env\n');
  await edited.waitFor({ state: 'detached' });
  await eventually(async () => (await (await fetch(`${twirl.url}/_twirl/live`)).json()).edited_variables.length === 0);
});
