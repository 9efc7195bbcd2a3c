// The console's Sync view against a live project whose function writes Sync data: the default
// service appears when the function first runs, documents, lists and maps update live as it runs
// again, JSON is checked before anything is saved, saves are conditional on the revision shown, and
// items and stream messages can be added from the console.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startTwirl, apiClient, launchConsole, closeConsole, screenshot, tempDir, eventually } = require('./support');

let twirl, page, dir, syncApi;

before(async () => {
  dir = tempDir('twirl-sync-');
  fs.cpSync(path.join(__dirname, 'fixtures', 'sync-project'), dir, { recursive: true });
  twirl = await startTwirl(dir);
  syncApi = await apiClient(twirl.url, '/sync/v1');
  page = await launchConsole(twirl.url);
});

after(async () => {
  try {
    await closeConsole(page, twirl);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

const sync = (method, p, form, headers) => syncApi.request(method, p, form, headers);

async function bump(who) {
  const res = await fetch(`${twirl.url}/bump?who=${who}`);
  assert.equal(res.status, 200, await res.clone().text());
  return res.json();
}

test('the default service appears live when a function first uses Sync', async () => {
  await page.getByTestId('nav-sync').click();
  await page.getByTestId('sync-empty').waitFor();
  assert.deepEqual(await bump('ada'), { count: 1, revision: '1' });
  await page.getByTestId('sync-service-row').filter({ hasText: 'Default Service' }).waitFor();
  await page.getByTestId('sync-service-link').click();
  const row = page.getByTestId('sync-object-row').filter({ hasText: 'counter' });
  await row.waitFor();
  assert.equal(await row.getByTestId('sync-object-revision').textContent(), '1');
  await bump('ada');
  await eventually(async () => (await row.getByTestId('sync-object-revision').textContent()) === '2');
  await screenshot(page, '20-sync-documents');
});

test('a document is edited with its JSON checked and saved on the revision shown', async () => {
  await page.getByTestId('sync-object-link').filter({ hasText: 'counter' }).click();
  const editor = page.getByTestId('sync-editor');
  await editor.waitFor();
  assert.equal(await page.getByTestId('sync-revision').textContent(), '2');
  assert.deepEqual(JSON.parse(await page.getByTestId('sync-json').inputValue()), { count: 2 });

  const field = page.getByTestId('sync-json');
  await field.fill('{"count": ');
  await page.getByTestId('sync-json-error').waitFor();
  assert.ok(await page.getByTestId('sync-save').isDisabled(), 'invalid JSON cannot be saved');
  await field.fill('[1, 2]');
  assert.match(await page.getByTestId('sync-json-error').textContent(), /JSON object/);
  assert.ok(await page.getByTestId('sync-save').isDisabled());

  await field.fill('{"count": 100, "note": "set by hand"}');
  assert.ok(await page.getByTestId('sync-json-error').isHidden());
  // A function writes while the edit is open: the console says so before anything is saved.
  await bump('ada');
  await page.getByTestId('sync-stale').waitFor();
  assert.equal(await page.getByTestId('sync-revision').textContent(), '3');
  assert.match(await page.getByTestId('sync-save').textContent(), /over revision 3/);
  assert.equal(await field.inputValue(), '{"count": 100, "note": "set by hand"}', 'the edit is kept');
  await page.getByTestId('sync-save').click();
  await page.getByTestId('sync-ok').waitFor();
  assert.equal(await page.getByTestId('sync-revision').textContent(), '4');
  const stored = await sync('GET', '/Services/default/Documents/counter');
  assert.deepEqual([stored.revision, stored.data], ['4', { count: 100, note: 'set by hand' }]);
  assert.deepEqual(await bump('grace'), { count: 101, revision: '5' });
  await eventually(async () => (await page.getByTestId('sync-revision').textContent()) === '5');
  // An untouched editor follows the data.
  await eventually(async () => JSON.parse(await field.inputValue()).count === 101);
  await screenshot(page, '21-sync-document');
});

test('list items show live and are appended, edited and deleted from the console', async () => {
  await page.goto(`${twirl.url}/_twirl/#/sync/default/lists`);
  await page.getByTestId('sync-object-link').filter({ hasText: 'log' }).click();
  const rows = page.getByTestId('sync-item-row');
  await eventually(async () => (await rows.count()) === 4);
  assert.deepEqual(await page.getByTestId('sync-item-key').allTextContents(), ['0', '1', '2', '3']);
  await bump('ada');
  await eventually(async () => (await rows.count()) === 5);

  const form = page.getByTestId('sync-new-item');
  await form.getByTestId('sync-json').fill('{"visit": "by hand"}');
  await form.getByTestId('sync-add-item').click();
  await eventually(async () => (await rows.count()) === 6);
  assert.equal(await rows.last().getByTestId('sync-item-key').textContent(), '5');

  const first = rows.filter({ has: page.locator('[data-testid="sync-item-key"]', { hasText: /^0$/ }) });
  await first.getByTestId('sync-item-edit').click();
  await first.getByTestId('sync-json').fill('{"visit": 1, "edited": true}');
  await first.getByTestId('sync-save').click();
  await eventually(async () => (await first.getByTestId('sync-item-revision').textContent()) === '1');
  assert.deepEqual((await sync('GET', '/Services/default/Lists/log/Items/0')).data, { visit: 1, edited: true });

  await rows.last().getByTestId('sync-item-delete').click();
  await eventually(async () => (await rows.count()) === 5);
  await bump('ada');
  await eventually(async () => (await rows.count()) === 6);
  assert.equal(await rows.last().getByTestId('sync-item-key').textContent(), '6', 'indexes are never reused');
  await screenshot(page, '22-sync-list');
});

test('map items are keyed, and a new item needs valid JSON', async () => {
  await page.goto(`${twirl.url}/_twirl/#/sync/default/maps`);
  await page.getByTestId('sync-object-link').filter({ hasText: 'users' }).click();
  const rows = page.getByTestId('sync-item-row');
  await eventually(async () => (await rows.count()) === 2);
  assert.deepEqual(await page.getByTestId('sync-item-key').allTextContents(), ['ada', 'grace']);

  const form = page.getByTestId('sync-new-item');
  await form.getByTestId('sync-new-key').fill('alan');
  await form.getByTestId('sync-json').fill('{"visits": ');
  assert.ok(await form.getByTestId('sync-add-item').isDisabled());
  await form.getByTestId('sync-json').fill('{"visits": 0}');
  await form.getByTestId('sync-add-item').click();
  await eventually(async () => (await rows.count()) === 3);
  assert.deepEqual(await page.getByTestId('sync-item-key').allTextContents(), ['ada', 'alan', 'grace']);
  await eventually(async () => (await form.getByTestId('sync-new-key').inputValue()) === '', { timeout: 5000 });

  // A key typed while an add is on its way is kept for the next add, not cleared with the sent one.
  let release;
  const held = new Promise((resolve) => (release = resolve));
  const hold = async (route) => {
    if (route.request().method() === 'POST') await held;
    await route.continue();
  };
  await page.route('**/Items', hold);
  await form.getByTestId('sync-new-key').fill('barbara');
  await form.getByTestId('sync-add-item').click();
  await form.getByTestId('sync-new-key').fill('ada');
  release();
  await eventually(async () => (await rows.count()) === 4);
  await page.unroute('**/Items', hold);
  assert.equal(await form.getByTestId('sync-new-key').inputValue(), 'ada');
  await form.getByTestId('sync-add-item').click();
  assert.match(await page.getByTestId('sync-error').textContent(), /already exists/);
  await screenshot(page, '23-sync-map');
});

test('a stream shows the messages published to it', async () => {
  await page.goto(`${twirl.url}/_twirl/#/sync/default/streams`);
  const form = page.getByTestId('sync-create-form');
  await form.getByTestId('sync-new-name').fill('ticker');
  await form.getByTestId('sync-create').click();
  await page.getByTestId('sync-object-link').filter({ hasText: 'ticker' }).click();
  await page.getByTestId('sync-no-messages').waitFor();
  await sync('POST', '/Services/default/Streams/ticker/Messages', { Data: '{"price": 42}' });
  const row = page.getByTestId('sync-message-row');
  await row.waitFor();
  assert.match(await row.textContent(), /"price":42/);
  await page.getByTestId('sync-json').fill('{"price": 43}');
  await page.getByTestId('sync-publish').click();
  await eventually(async () => (await row.count()) === 2);
  await screenshot(page, '24-sync-stream');
});
