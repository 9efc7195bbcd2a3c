// The live project's reload errors: a banner while a file is broken, gone once it is fixed.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startTwirl, launchConsole, closeConsole, copyProject, screenshot } = require('./support');

let twirl, page, dir;

before(async () => {
  dir = copyProject('tiny-project');
  twirl = await startTwirl(dir);
  page = await launchConsole(twirl.url);
});

after(() => closeConsole(page, twirl, dir));

test('a broken file shows the problem banner until it is fixed', async () => {
  const banner = page.getByTestId('problems-banner');
  await page.getByTestId('nav-service').filter({ hasText: 'tiny-project' }).waitFor();
  assert.equal(await banner.count(), 0, 'no banner while the project is fine');

  const file = path.join(dir, 'functions', 'ok.js');
  const good = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, 'exports.handler = (context, event, callback) => {\n  callback(null, "ok";\n};\n');
  await banner.waitFor({ timeout: 15000 });
  assert.match(await banner.textContent(), /ok\.js/);
  await screenshot(page, '10-problem-banner');

  // A reload of the page shows it too (from /_twirl/live).
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await banner.waitFor();

  fs.writeFileSync(file, good);
  await banner.waitFor({ state: 'detached', timeout: 15000 });
  const res = await fetch(`${twirl.url}/ok`);
  assert.equal(await res.text(), 'ok');
});
