// The handset's Call panel against the embedded demo: dial the demo's number from the keypad,
// follow the transcript live, press keys, say something, stay silent, hang up; the call's page
// with its transcript, the requests it made and its status history; a failing voice webhook's
// alert; a call a function places to the handset, answered there.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { startTwirl, apiClient, launchConsole, closeConsole, screenshot, tempDir, eventually } = require('./support');

const HANDSET = '+14155550100';
/** What the handset says to the demo's answering machine: typed while the page is redrawn. */
const MESSAGE = 'call me back when you can, any time after nine in the morning';
let twirl, page, dir, core, number;

before(async () => {
  dir = tempDir('twirl-calls-');
  twirl = await startTwirl(dir);
  core = await apiClient(twirl.url, (session) => `/2010-04-01/Accounts/${session.account_sid}`);
  [number] = (await core.get('/IncomingPhoneNumbers.json')).incoming_phone_numbers;
  page = await launchConsole(twirl.url);
  await page.getByTestId('nav-phone').click();
  await page.getByTestId('phone-view').waitFor();
});

after(async () => {
  try {
    await closeConsole(page, twirl);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});


/** A control endpoint of the phone network. */
async function control(p, form) {
  const res = await fetch(`${twirl.url}/_twirl/phone/${p}`, form ? { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() } : {});
  assert.ok(res.ok, `${p} → ${res.status}`);
  return res.json();
}

const transcript = () => page.getByTestId('transcript');
const awaiting = () => page.getByTestId('call-awaiting').textContent();

test('a call from the handset’s keypad follows the demo menu key by key, listed live on the Calls section', async () => {
  // The number's card offers to call it: the handset shows its Call tab.
  await page.getByTestId('number').filter({ hasText: number.phone_number }).getByTestId('number-call').click();
  await page.getByTestId('dialer').waitFor();
  assert.match(await page.getByTestId('handset-tab-call').getAttribute('class'), /active/);
  await page.getByTestId('phone-tab-calls').click();
  await page.getByTestId('empty-calls').waitFor();
  // The panel calls the number the handset talks to, from the handset's own number.
  assert.equal(await page.getByTestId('handset-to').inputValue(), number.phone_number);
  assert.equal(await page.getByTestId('handset-from').inputValue(), HANDSET);
  assert.ok(await page.getByTestId('key-1').isDisabled(), 'the keys wait for a call');
  await screenshot(page, '50-call-ready');

  await page.getByTestId('call-dial').click();
  await transcript().getByText('You reached the twirl demo', { exact: false }).waitFor();
  assert.match(await awaiting(), /dtmf or speech/);
  await page.getByTestId('call-hangup').waitFor();
  assert.ok(await page.getByTestId('call-dial').isHidden(), 'one call at a time');
  // The voice webhook's request is in the transcript, and the call in the list, live.
  assert.match(await transcript().locator('[data-verb="webhook"]').first().textContent(), new RegExp(`POST .*${number.voice_url.replace(/[.]/g, '\\.')} → 200`));
  const row = page.getByTestId('call-row').filter({ hasText: HANDSET });
  await row.getByTestId('call-badge').filter({ hasText: 'in-progress' }).waitFor();
  await screenshot(page, '51-call-menu');

  await page.getByTestId('key-1').click();
  await transcript().getByText('It is ', { exact: false }).waitFor();
  await page.getByTestId('key-2').click();
  await transcript().getByText('after the beep', { exact: false }).waitFor();
  assert.match(await awaiting(), /Recording/);

  // Words being typed are kept, every key of them, while the page is redrawn around the handset
  // (another call shows up in the list meanwhile).
  const words = page.getByTestId('call-words');
  await words.click();
  const other = control('calls', { From: '+14155550199', To: number.phone_number });
  await words.pressSequentially(MESSAGE, { delay: 10 });
  await page.getByTestId('call-row').filter({ hasText: '+14155550199' }).waitFor();
  assert.equal(await words.inputValue(), MESSAGE);
  assert.ok(await words.evaluate((el) => el === document.activeElement), 'the words keep the focus');
  await control(`calls/${(await other).call.sid}/hangup`, {});

  await page.keyboard.press('Enter');
  await transcript().getByText('message is saved', { exact: false }).waitFor();
  assert.equal(await words.inputValue(), '', 'the words are said');
  assert.equal(await page.getByTestId('call-status').textContent(), 'completed');
  assert.match(await awaiting(), /ended/);
  await page.getByTestId('call-dial').waitFor();
  assert.ok(await page.getByTestId('key-1').isDisabled());
  await row.getByTestId('call-badge').filter({ hasText: 'completed' }).waitFor();
  await screenshot(page, '52-call-ended');
});

test('a call’s page shows its transcript, the requests it made and its status history', async () => {
  await page.getByTestId('call-details').click();
  const detail = page.getByTestId('call-detail');
  await detail.waitFor();
  const lines = detail.getByTestId('call-transcript');
  await lines.getByText('You reached the twirl demo', { exact: false }).first().waitFor();
  assert.deepEqual(
    await lines.locator('[data-verb="input"] .call-text').allTextContents(),
    ['1', '2', `“${MESSAGE}”`],
  );
  assert.match(await detail.getByTestId('call-detail-awaiting').textContent(), /ended/);

  // Each webhook the call made: the voice URL; after 1, the choice and the redirect back; after
  // 2, the choice; then the recording.
  const requests = detail.getByTestId('call-request');
  assert.equal(await requests.count(), 5);
  for (const outcome of await detail.getByTestId('request-outcome').allTextContents()) assert.equal(outcome, '200');
  assert.match(await requests.first().textContent(), new RegExp(`TwiML.*POST.*${number.voice_url.replace(/[.]/g, '\\.')}`));

  const statuses = await detail.getByTestId('status-event').evaluateAll((rows) => rows.map((r) => r.dataset.status));
  assert.deepEqual(statuses.slice(-3), ['ringing', 'in-progress', 'completed']);
  await screenshot(page, '53-call-page');
  await detail.getByTestId('status-history').scrollIntoViewIfNeeded();
  await screenshot(page, '54-call-page-history');
});

test('staying silent lets the menu time out, and hanging up ends the call', async () => {
  await page.getByTestId('call-dial').click();
  await transcript().getByText('You reached the twirl demo', { exact: false }).waitFor();
  await page.getByTestId('call-silence').click();
  await transcript().getByText('No choice made. Goodbye!').waitFor();
  assert.equal(await transcript().locator('[data-verb="input"] .call-text').last().textContent(), '(silence)');
  await page.getByTestId('call-status').filter({ hasText: 'completed' }).waitFor();

  await page.getByTestId('call-dial').click();
  await page.getByTestId('call-hangup').click();
  await page.getByTestId('call-status').filter({ hasText: 'completed' }).waitFor();
  assert.match(await transcript().locator('[data-verb="hangup"]').textContent(), /by caller/);
  await page.getByTestId('phone-tab-calls').click();
  await eventually(async () => (await page.getByTestId('call-row').filter({ hasText: HANDSET }).count()) === 3);
});

test('a voice webhook that fails raises an alert, shown on the handset, in the list and on the call’s page', async () => {
  // The status callback: any function that answers will do.
  await core.post(`/IncomingPhoneNumbers/${number.sid}.json`, { VoiceUrl: '/no-such-function', StatusCallback: number.voice_url });
  await page.getByTestId('call-dial').click();
  const alert = page.getByTestId('call-alert');
  await alert.waitFor();
  assert.match(await alert.textContent(), /^Alert 11200: /);
  assert.match(await transcript().locator('[data-verb="webhook"]').first().textContent(), /→ 404/);
  await page.getByTestId('call-status').filter({ hasText: 'completed' }).waitFor();
  const row = page.getByTestId('call-row').first();
  await row.getByTestId('call-alert-count').filter({ hasText: '1' }).waitFor();
  await screenshot(page, '55-call-alert');

  await row.click();
  const detail = page.getByTestId('call-detail');
  await detail.getByTestId('alert-row').filter({ hasText: '11200' }).waitFor();
  assert.match(await detail.getByTestId('request-outcome').first().textContent(), /404/);
  // The end of the call was posted to the number's status callback.
  const completed = detail.getByTestId('status-event').filter({ has: page.getByTestId('call-badge').filter({ hasText: 'completed' }) });
  assert.match(await completed.textContent(), new RegExp(`${number.voice_url.replace(/[.]/g, '\\.')}.*200`));
  await detail.getByTestId('status-history').scrollIntoViewIfNeeded();
  await screenshot(page, '56-call-alert-page');
  await core.post(`/IncomingPhoneNumbers/${number.sid}.json`, { VoiceUrl: number.voice_url, StatusCallback: '' });
});

test('a call placed to the handset rings on it and is answered there', async () => {
  const twiml = '<Response><Gather input="speech" timeout="5"><Say>Who is speaking?</Say></Gather><Say>Nobody, then.</Say></Response>';
  await page.getByTestId('phone-tab-calls').click();
  await page.getByTestId('calls-table').waitFor();
  const placed = await core.post('/Calls.json', { To: HANDSET, From: number.phone_number, Twiml: twiml });
  await transcript().getByText('Who is speaking?').waitFor();
  assert.match(await page.getByTestId('call-current').textContent(), new RegExp(`← \\${number.phone_number}`));
  await page.getByTestId('call-words').fill('it is me');
  await page.getByTestId('call-say').click();
  await transcript().getByText('“it is me”').waitFor();
  await page.getByTestId('call-status').filter({ hasText: 'completed' }).waitFor();
  await page.locator(`[data-testid="call-row"][data-sid="${placed.sid}"]`).getByTestId('call-badge').filter({ hasText: 'completed' }).waitFor();
  await screenshot(page, '57-call-to-handset');
});

test('at 800 px wide the keypad and the call button are on the handset, and nothing overflows', async () => {
  await page.setViewportSize({ width: 800, height: 800 });
  const handset = await page.getByTestId('handset').boundingBox();
  for (const id of ['key-1', 'key-#', 'call-dial', 'call-words']) {
    const b = await page.getByTestId(id).boundingBox();
    assert.ok(b && b.y >= handset.y && b.y + b.height <= handset.y + handset.height, `${id} is inside the handset`);
  }
  const overflow = await page.locator('#main').evaluate((el) => el.scrollWidth - el.clientWidth);
  assert.equal(overflow, 0, 'the page does not scroll sideways');
  await screenshot(page, '58-call-800');
  await page.setViewportSize({ width: 1280, height: 800 });
});
