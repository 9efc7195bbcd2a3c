// The console's Verify page: a service's verifications appear live with their status, code,
// checks and sends as the API starts and checks them, and the mails Verify sent are listed.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { startTwirl, apiClient, launchConsole, closeConsole, screenshot, tempDir } = require('./support');

let twirl, page, dir, verify;

before(async () => {
  dir = tempDir('twirl-verify-');
  twirl = await startTwirl(dir, { args: ['--no-demo'] });
  const api = await apiClient(twirl.url, '/verify/v2');
  verify = (p, form) => api.post(p, form);
  page = await launchConsole(twirl.url);
});

after(async () => {
  try {
    await closeConsole(page, twirl);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('verifications show their status, code, checks and sends as they happen', async () => {
  await page.getByTestId('nav-verify').click();
  await page.getByTestId('verify-empty').waitFor();
  const service = await verify('/Services', { FriendlyName: 'Console Shop' });
  await page.reload();
  await page.getByTestId('verify-service-row').getByText('Console Shop').waitFor();

  const started = await verify(`/Services/${service.sid}/Verifications`, { To: '+14155550180', Channel: 'sms' });
  const row = page.getByTestId('verification-row').filter({ hasText: '+14155550180' });
  await row.getByText('pending').waitFor();
  const code = (await row.getByTestId('verification-code').textContent()).trim();
  assert.match(code, /^\d{6}$/);
  const inbox = await (await fetch(`${twirl.url}/_twirl/phone/handsets/%2B14155550180/messages`)).json();
  assert.equal(inbox.messages[0].body, `Your Console Shop verification code is: ${code}`);

  await verify(`/Services/${service.sid}/VerificationCheck`, { To: '+14155550180', Code: code === '000000' ? '111111' : '000000' });
  await row.getByTestId('verification-checks').getByText('1/5').waitFor();
  await verify(`/Services/${service.sid}/Verifications`, { To: '+14155550180', Channel: 'call' });
  await row.getByTestId('verification-sends').getByText('2/5').waitFor();
  await verify(`/Services/${service.sid}/VerificationCheck`, { VerificationSid: started.sid, Code: code });
  await row.getByText('approved').waitFor();
  assert.equal(await row.getByTestId('verification-checks').textContent(), '2/5');

  await verify(`/Services/${service.sid}/Verifications`, { To: 'ada@example.com', Channel: 'email' });
  await page.getByTestId('verify-mail').getByText('Your Console Shop verification code is:', { exact: false }).waitFor();
  await screenshot(page, '30-verify');
});
