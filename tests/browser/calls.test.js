// The console's phone for calls: dial the demo's number from the keypad, follow the transcript
// live, press keys, say something, and see the call end with its status history.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { startTwirl, launchConsole, closeConsole, screenshot, tempDir } = require('./support');

let twirl, page, dir;

before(async () => {
  dir = tempDir('twirl-calls-');
  twirl = await startTwirl(dir);
  page = await launchConsole(twirl.url);
});

after(async () => {
  try {
    await closeConsole(page, twirl);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a call from the dialer follows the demo menu key by key', async () => {
  await page.getByTestId('nav-calls').click();
  await page.getByTestId('dialer').waitFor();
  await page.getByTestId('call-dial').click();
  const transcript = page.getByTestId('transcript');
  await transcript.getByText('You reached the twirl demo', { exact: false }).waitFor();
  assert.match(await page.getByTestId('call-awaiting').textContent(), /dtmf or speech/);
  await screenshot(page, '20-call-menu');

  await page.getByTestId('key-1').click();
  await transcript.getByText('It is ', { exact: false }).waitFor();
  await page.getByTestId('key-2').click();
  await transcript.getByText('after the beep', { exact: false }).waitFor();
  assert.match(await page.getByTestId('call-awaiting').textContent(), /Recording/);
  await page.locator('#call-say').fill('call me back');
  await page.getByTestId('call-say').click();
  await transcript.getByText('message is saved', { exact: false }).waitFor();
  assert.equal(await page.getByTestId('call-status').textContent(), 'completed');
  const events = await page.getByTestId('call-events').textContent();
  assert.match(events, /ringing[\s\S]*in-progress[\s\S]*completed/);
  await page.getByTestId('call-row').first().waitFor();
  await screenshot(page, '21-call-ended');
});
