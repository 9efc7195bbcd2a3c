// The newcomer's first text: `twirl serve` alone (the embedded demo), the console opened, the
// Phone page picked, a text typed and sent — the demo's reply arrives on the handset, with no
// other typing. Then the same page at 800 px wide.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startTwirl, launchConsole, closeConsole, screenshot, tempDir, eventually } = require('./support');

let twirl, page;

before(async () => {
  twirl = await startTwirl(tempDir('twirl-phone-demo-'));
  page = await launchConsole(twirl.url);
});

after(() => closeConsole(page, twirl));

test('a newcomer texts the demo number and gets the demo’s reply', async () => {
  // The number twirl serve gave the account, as it printed it.
  const printed = /^\s+(\+\d+)\s+texts → (\S+)/m.exec(twirl.output.join(''));
  assert.ok(printed, 'twirl serve prints the number it gave the account');
  const [, number, smsUrl] = printed;

  await page.getByTestId('nav-phone').click();
  await page.getByTestId('phone-view').waitFor();
  const card = page.getByTestId('number').filter({ hasText: number });
  await card.getByTestId('webhook-sms_url').filter({ hasText: smsUrl }).waitFor();
  await card.getByTestId('webhook-target').filter({ hasText: '/sms' }).waitFor();

  // The handset is ready: its own number, the demo number, nothing to fill in.
  assert.equal(await page.getByTestId('handset-from').inputValue(), '+14155550100');
  assert.equal(await page.getByTestId('handset-to').inputValue(), number);
  await page.getByTestId('handset-empty').waitFor();
  await screenshot(page, '20-phone-demo-ready');

  await page.getByTestId('handset-body').fill('hello twirl');
  await page.getByTestId('handset-body').press('Enter');

  const mine = page.getByTestId('handset-message').filter({ hasText: 'hello twirl' }).first();
  await mine.waitFor();
  assert.equal(await mine.getAttribute('data-direction'), 'inbound');
  const reply = page.getByTestId('handset-message').filter({ hasText: 'You said: hello twirl' });
  await reply.waitFor();
  assert.equal(await reply.getAttribute('data-direction'), 'outbound-reply');
  await eventually(async () => (await reply.getAttribute('data-status')) === 'delivered');
  // Under the text: the signed webhook request it caused, answered 200 by the protected /sms.
  const webhook = mine.getByTestId('handset-webhook');
  await webhook.waitFor();
  assert.match(await webhook.textContent(), new RegExp(`POST ${smsUrl.replace(/[.]/g, '\\.')} → 200`));
  assert.equal(await page.getByTestId('handset-body').inputValue(), '', 'the box is emptied once sent');
  await screenshot(page, '21-phone-demo-reply');

  // The reply is a real message of the account, delivered to the handset.
  const inbox = await (await fetch(`${twirl.url}/_twirl/phone/handsets/${encodeURIComponent('+14155550100')}/messages`)).json();
  assert.deepEqual(inbox.messages.map((m) => [m.from, m.body, m.status]), [[number, 'You said: hello twirl', 'delivered']]);

  // A reload keeps the conversation.
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await page.getByTestId('handset-message').filter({ hasText: 'You said: hello twirl' }).waitFor();
  assert.equal(await page.getByTestId('handset-message').count(), 2);
});

test('at 800 px wide the handset is on screen with its box, and nothing overflows the page', async () => {
  await page.setViewportSize({ width: 800, height: 800 });
  await page.getByTestId('phone-view').waitFor();
  const main = await page.locator('#main').boundingBox();
  const send = await page.getByTestId('handset-send').boundingBox();
  const box = await page.getByTestId('handset-body').boundingBox();
  for (const [name, b] of [['send button', send], ['text box', box]]) {
    assert.ok(b.y + b.height <= main.y + main.height && b.x + b.width <= main.x + main.width, `the ${name} is visible without scrolling`);
  }
  const overflow = await page.locator('#main').evaluate((el) => el.scrollWidth - el.clientWidth);
  assert.equal(overflow, 0, 'the page does not scroll sideways');
  await page.getByTestId('handset-body').fill('narrow');
  await page.getByTestId('handset-send').click();
  await page.getByTestId('handset-message').filter({ hasText: 'You said: narrow' }).waitFor();
  await screenshot(page, '22-phone-800');
  await page.getByTestId('numbers').scrollIntoViewIfNeeded();
  await screenshot(page, '23-phone-800-numbers');

  // A message's page, opened from the handset, is brought into view below it.
  await page.getByTestId('handset-message').filter({ hasText: 'You said: narrow' }).getByText('details').click();
  const detail = page.getByTestId('message-detail');
  await detail.getByTestId('message-body').filter({ hasText: 'You said: narrow' }).waitFor();
  await eventually(async () => {
    const b = await detail.boundingBox();
    return b.y >= main.y && b.y < main.y + main.height / 2;
  });
  await screenshot(page, '24-phone-800-message');
  await page.setViewportSize({ width: 1280, height: 800 });
});
