// The Phone page against a live project with an SMS function, a broken one, a status callback
// receiver and one that texts through the client: numbers and the functions their webhooks reach,
// editing a webhook with the function picker, the alert a failing webhook raises, a message
// moving through its statuses live, a function's text reaching the handset.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startTwirl, apiClient, launchConsole, closeConsole, screenshot, tempDir, eventually } = require('./support');

const HANDSET = '+14155550100';
let twirl, page, dir, live, number, core;

before(async () => {
  dir = tempDir('twirl-phone-');
  fs.cpSync(path.join(__dirname, 'fixtures', 'phone-project'), dir, { recursive: true });
  twirl = await startTwirl(dir);
  live = await (await fetch(`${twirl.url}/_twirl/live`)).json();
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


const fnUrl = (p) => `https://${live.domain_name}${p}`;
const numberCard = () => page.getByTestId('number').filter({ hasText: number.phone_number });

test('the number twirl serve gave the account shows its webhooks and the function each reaches', async () => {
  assert.equal(number.sms_url, fnUrl('/sms'), 'twirl serve wired the number to the project’s SMS function');
  const card = numberCard();
  await card.getByTestId('webhook-sms_url').filter({ hasText: fnUrl('/sms') }).waitFor();
  assert.equal(await card.getByTestId('webhook-target').textContent(), 'phone-project › live-environment/sms');
  assert.equal(await card.getByTestId('webhook-voice_url').textContent(), 'not set');
  await screenshot(page, '30-phone-numbers');
});

test('a webhook is pointed at another function with the picker, and a bad URL is refused', async () => {
  const card = numberCard();
  await card.getByTestId('number-edit').click();
  const form = card.getByTestId('number-form');
  await form.waitFor();
  assert.equal(await form.getByTestId('pick-sms_url').inputValue(), fnUrl('/sms'), 'the picker shows the function the URL reaches');
  const offered = await form.getByTestId('pick-sms_url').locator('option').allTextContents();
  for (const fn of ['/broken', '/notify', '/sms', '/status']) assert.ok(offered.includes(fn), `${fn} is offered: ${offered}`);

  // A URL that is not one is refused with Twilio's error, and nothing changes.
  await form.getByTestId('input-status_callback').fill('not a url');
  await form.getByTestId('number-save').click();
  await card.getByTestId('number-error').filter({ hasText: '21402' }).waitFor();
  assert.equal((await core.get(`/IncomingPhoneNumbers/${number.sid}.json`)).status_callback, '');
  await screenshot(page, '31-phone-number-refused');

  await form.getByTestId('input-status_callback').fill('');
  await form.getByTestId('pick-sms_url').selectOption(fnUrl('/broken'));
  assert.equal(await form.getByTestId('input-sms_url').inputValue(), fnUrl('/broken'));
  await form.getByTestId('pick-sms_fallback_url').selectOption(fnUrl('/sms'));
  await form.getByTestId('method-sms_fallback_url').selectOption('GET');
  await form.getByTestId('input-friendly_name').fill('Support line');
  await screenshot(page, '32-phone-number-edit');
  await form.getByTestId('number-save').click();
  await page.getByTestId('toast').filter({ hasText: `Saved ${number.phone_number}` }).waitFor();
  await card.getByTestId('webhook-sms_url').filter({ hasText: fnUrl('/broken') }).waitFor();
  assert.equal(await card.getByTestId('number-form').count(), 0, 'the form closes once saved');

  const saved = await core.get(`/IncomingPhoneNumbers/${number.sid}.json`);
  assert.deepEqual(
    [saved.friendly_name, saved.sms_url, saved.sms_method, saved.sms_fallback_url, saved.sms_fallback_method, saved.status_callback],
    ['Support line', fnUrl('/broken'), 'POST', fnUrl('/sms'), 'GET', ''],
  );
  // The handset names the number by its new friendly name.
  await page.getByTestId('handset-to').locator('option', { hasText: 'Support line' }).waitFor({ state: 'attached' });
  await screenshot(page, '33-phone-number-saved');
});

test('a failing webhook raises an alert shown on the handset and in the alerts, with its request and answer', async () => {
  await page.getByTestId('phone-tab-alerts').click();
  await page.getByTestId('empty-alerts').waitFor();

  await page.getByTestId('handset-body').fill('are you there?');
  await page.getByTestId('handset-send').click();
  const mine = page.locator('[data-testid="handset-message"][data-direction="inbound"]').filter({ hasText: 'are you there?' });
  const alert = mine.getByTestId('handset-alert');
  await alert.waitFor();
  assert.match(await alert.textContent(), /^Alert 82002: /);
  // The fallback (the SMS function, by GET) answered in its place.
  await page.getByTestId('handset-message').filter({ hasText: 'Got it: are you there?' }).waitFor();
  assert.match(await mine.getByTestId('handset-webhook').textContent(), new RegExp(`POST ${fnUrl('/broken').replace(/[.]/g, '\\.')} → 500`));

  // The alerts list got it live, and the tab counts it.
  const row = page.getByTestId('alert-row').first();
  await row.waitFor();
  assert.match(await row.textContent(), /82002/);
  assert.equal(await page.getByTestId('phone-tab-alerts').locator('.count').textContent(), '1');
  await screenshot(page, '34-phone-alert-live');

  await row.getByTestId('alert-link').click();
  const detail = page.getByTestId('alert-detail');
  await detail.waitFor();
  assert.equal(await detail.getByTestId('alert-request').textContent(), `POST ${fnUrl('/broken')}`);
  const variables = detail.getByTestId('alert-request-variables');
  await variables.locator('tr', { hasText: 'Body' }).filter({ hasText: 'are you there?' }).waitFor();
  await variables.locator('tr', { hasText: 'From' }).filter({ hasText: HANDSET }).first().waitFor();
  assert.match(await detail.getByTestId('alert-response-body').textContent(), /the broken webhook broke/);
  await screenshot(page, '35-phone-alert-detail');

  // The text's own page: its webhook with the 500 it got, and the alert.
  const sid = await mine.getAttribute('data-sid');
  await page.goto(`${twirl.url}/_twirl/#/phone/messages/${sid}`);
  await page.getByTestId('message-detail').waitFor();
  const received = page.getByTestId('status-event').filter({ hasText: 'received' });
  assert.match(await received.textContent(), new RegExp(`${fnUrl('/broken').replace(/[.]/g, '\\.')}.*500`));
  await page.getByTestId('message-detail').getByTestId('alert-row').filter({ hasText: '82002' }).waitFor();
  await page.getByTestId('status-history').scrollIntoViewIfNeeded();
  await screenshot(page, '36-phone-inbound-detail');
});

test('a scheduled message moves through its statuses live, each status posted to its callback', async () => {
  await page.goto(`${twirl.url}/_twirl/#/phone/messages`);
  await page.getByTestId('messages-table').waitFor();
  const sendAt = new Date(Date.parse((await (await fetch(`${twirl.url}/_twirl/clock`)).json()).now) + 3600e3).toISOString();
  const created = await core.post('/Messages.json', {
    To: HANDSET,
    MessagingServiceSid: 'MG' + '0'.repeat(32),
    Body: 'see you in an hour',
    ScheduleType: 'fixed',
    SendAt: sendAt,
    StatusCallback: fnUrl('/status'),
  });
  assert.equal(created.status, 'scheduled');

  // It appears in the list, and on the handset, as the event stream tells of it.
  const row = page.getByTestId('message-row').filter({ hasText: 'see you in an hour' });
  await row.getByTestId('message-status').filter({ hasText: 'scheduled' }).waitFor();
  const onHandset = page.getByTestId('handset-message').filter({ hasText: 'see you in an hour' });
  await eventually(async () => (await onHandset.getAttribute('data-status')) === 'scheduled');
  await row.getByTestId('message-link').click();
  const history = page.getByTestId('status-history');
  await history.waitFor();
  assert.deepEqual(await history.getByTestId('status-event').evaluateAll((rows) => rows.map((r) => r.dataset.status)), ['scheduled']);
  await history.scrollIntoViewIfNeeded();
  await screenshot(page, '37-phone-scheduled');

  // An hour later on the emulator's clock it is sent and delivered, while the page watches.
  const res = await fetch(`${twirl.url}/_twirl/clock`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ advance_seconds: 3600 }) });
  assert.equal(res.status, 200);
  await eventually(async () => (await history.getByTestId('status-event').count()) === 5);
  assert.deepEqual(
    await history.getByTestId('status-event').evaluateAll((rows) => rows.map((r) => r.dataset.status)),
    ['scheduled', 'queued', 'sending', 'sent', 'delivered'],
  );
  const outcomes = await history.getByTestId('callback-outcome').allTextContents();
  assert.deepEqual(outcomes, ['', '200', '200', '200', '200'], 'every later status was posted to the callback, which answered 200');
  assert.equal(await page.getByTestId('message-detail').locator('.card-head').first().getByTestId('message-status').textContent(), 'delivered');
  await eventually(async () => (await onHandset.getAttribute('data-status')) === 'delivered');
  await history.scrollIntoViewIfNeeded();
  await screenshot(page, '38-phone-delivered');
});

test('a text a function sends reaches the handset, and typing on the handset is not disturbed', async () => {
  // The messages list is redrawn as the text arrives; what is being typed stays, in focus.
  await page.goto(`${twirl.url}/_twirl/#/phone/messages`);
  await page.locator('[data-testid="messages-table"], [data-testid="empty-messages"]').waitFor();
  const box = page.getByTestId('handset-body');
  await box.click();
  await box.pressSequentially('half a ');
  const res = await fetch(`${twirl.url}/notify?${new URLSearchParams({ to: HANDSET, from: number.phone_number, body: 'sent by a function' })}`);
  assert.equal(res.status, 200, await res.clone().text());
  const { sid } = await res.json();
  const bubble = page.getByTestId('handset-message').filter({ hasText: 'sent by a function' });
  await bubble.waitFor();
  assert.equal(await bubble.getAttribute('data-sid'), sid);
  assert.equal(await bubble.getAttribute('data-direction'), 'outbound-api');
  await eventually(async () => (await bubble.getAttribute('data-status')) === 'delivered');
  await page.getByTestId('message-row').filter({ hasText: 'sent by a function' }).getByTestId('message-status').filter({ hasText: 'delivered' }).waitFor();
  await eventually(() => box.evaluate((el) => el === document.activeElement));
  await page.keyboard.type('thought');
  assert.equal(await box.inputValue(), 'half a thought');
});

test('a number changed through the API shows at once, and a number is added from the page', async () => {
  await page.getByTestId('phone-tab-numbers').click();
  const card = numberCard();
  await card.waitFor();
  await core.post(`/IncomingPhoneNumbers/${number.sid}.json`, { VoiceUrl: fnUrl('/status'), VoiceMethod: 'GET' });
  await card.getByTestId('webhook-voice_url').filter({ hasText: fnUrl('/status') }).waitFor();
  assert.match(await card.getByTestId('webhook-voice_url').textContent(), /^GET/);

  await page.getByTestId('number-new').fill('312');
  await page.getByTestId('number-add').click();
  await page.getByTestId('toast').filter({ hasText: 'Added 312' }).waitFor();
  const numbers = (await core.get('/IncomingPhoneNumbers.json')).incoming_phone_numbers;
  assert.equal(numbers.length, 2);
  const added = numbers.find((n) => n.sid !== number.sid);
  assert.match(added.phone_number, /^\+1312555\d{4}$/);
  // A new number opens in its editor, ready to be wired.
  await page.getByTestId('number').filter({ hasText: added.phone_number }).getByTestId('number-form').waitFor();
  await page.getByTestId('handset-to').locator(`option[value="${added.phone_number}"]`).waitFor({ state: 'attached' });
  await screenshot(page, '39-phone-number-added');

  // Releasing asks once more, then the number is gone.
  const release = page.getByTestId('number').filter({ hasText: added.phone_number }).getByTestId('number-release');
  await release.click();
  await release.filter({ hasText: 'Confirm' }).click();
  await page.getByTestId('number').filter({ hasText: added.phone_number }).waitFor({ state: 'detached' });
  assert.deepEqual((await core.get('/IncomingPhoneNumbers.json')).incoming_phone_numbers.map((n) => n.sid), [number.sid]);
});

test('a page overtaken by a later one leaves the handset on the page shown', async () => {
  // The numbers page is held back, so the alerts page asked for after it is drawn first.
  let held = true;
  await page.route('**/IncomingPhoneNumbers.json*', async (r) => {
    if (held) {
      held = false;
      await new Promise((done) => setTimeout(done, 500));
    }
    await r.continue();
  });
  try {
    await page.evaluate(async () => {
      location.hash = '#/phone/numbers';
      await new Promise((done) => setTimeout(done, 50));
      location.hash = '#/phone/alerts';
    });
    await page.getByTestId('alert-row').first().waitFor();
    await new Promise((done) => setTimeout(done, 800)); // the numbers page has come back, and was dropped
    assert.equal(held, false, 'the numbers page was held back');
    assert.match(await page.getByTestId('phone-tab-alerts').getAttribute('class'), /active/, 'the alerts page is the one shown');
    assert.equal(await page.getByTestId('handset').count(), 1);
    assert.ok(await page.getByTestId('handset-body').isVisible(), 'the handset is on the page shown');
  } finally {
    await page.unroute('**/IncomingPhoneNumbers.json*');
  }
});

test('the handset must be a number the account does not own, and says so', async () => {
  const from = page.getByTestId('handset-from');
  await from.fill(number.phone_number);
  await from.press('Tab');
  await page.getByTestId('handset-owned').waitFor();
  await page.getByTestId('handset-body').fill('from myself');
  await page.getByTestId('handset-send').click();
  const refused = page.getByTestId('handset-error');
  await refused.waitFor();
  assert.match(await refused.textContent(), /^Not sent: .*number of this account/);
  assert.equal(await page.getByTestId('handset-body').inputValue(), 'from myself', 'the text is kept to send again');
  await screenshot(page, '40-phone-handset-owned');

  await from.fill(HANDSET);
  await from.press('Tab');
  await page.getByTestId('handset-owned').waitFor({ state: 'detached' });
  await page.getByTestId('handset-message').filter({ hasText: 'Got it: are you there?' }).waitFor();
});
