// A fresh store: with no project in the directory twirl serves its embedded demo as the live
// project, and what is genuinely empty says so.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startTwirl, apiClient, launchConsole, closeConsole, screenshot, tempDir } = require('./support');

let twirl, api, page;

before(async () => {
  twirl = await startTwirl(tempDir('twirl-empty-'));
  api = await apiClient(twirl.url);
  page = await launchConsole(twirl.url);
});

after(() => closeConsole(page, twirl));

test('the demo project is shown as the live service', async () => {
  const live = await (await fetch(`${twirl.url}/_twirl/live`)).json();
  assert.ok(live && live.service_sid, 'the demo is the live project');
  const nav = page.getByTestId('nav-service').filter({ hasText: 'twirl-demo' });
  await nav.getByText('live').waitFor();
  await page.getByTestId('live-card').getByText(live.domain_name).waitFor();
  await page.getByTestId('live-card').getByText('reloaded cleanly').waitFor();
  assert.equal(await page.getByTestId('service-row').count(), 1);
  await page.getByTestId('logs-empty').waitFor();
  await page.getByTestId('tab-requests').click();
  await page.getByTestId('requests-empty').waitFor();
  await page.getByTestId('tab-logs').click();

  await nav.click();
  await page.getByTestId('environment-row').filter({ hasText: 'live-environment' }).waitFor();
  await page.getByTestId('service-tab-functions').click();
  for (const fn of ['/hello', '/sms', '/time', '/voice']) await page.getByTestId('function-row').filter({ hasText: fn }).first().waitFor();
  await page.getByTestId('service-tab-assets').click();
  await page.getByTestId('asset-row').first().waitFor();
});

test('the demo’s protected function is invoked signed from the panel', async () => {
  await page.getByTestId('nav-env').filter({ hasText: 'live-environment' }).click();
  await page.getByTestId('deployed-function').filter({ hasText: '/sms' }).getByTestId('function-link').click();
  const panel = page.getByTestId('invoke-panel');
  await panel.waitFor();
  assert.equal(await panel.getByTestId('invoke-sign').isChecked(), true);
  await panel.getByTestId('invoke-method').selectOption('POST');
  const row = panel.getByTestId('invoke-params').locator('.kv-row').first();
  await row.locator('.kv-key').fill('Body');
  await row.locator('.kv-value').fill('ping');
  await panel.getByTestId('invoke-send').click();
  await panel.getByTestId('invoke-status').filter({ hasText: '200' }).waitFor();
  assert.match(await panel.getByTestId('invoke-body').textContent(), /You said: ping/);
});

test('a new service with nothing in it shows its empty states', async () => {
  const service = await api.post('/Services', { UniqueName: 'brand-new', FriendlyName: 'Brand new' });
  // The console hears of the change over the event stream and lists the service.
  const nav = page.getByTestId('nav-service').filter({ hasText: 'Brand new' });
  await nav.waitFor({ timeout: 10000 });
  await nav.click();
  await page.getByTestId('empty-environments').waitFor();
  await page.getByTestId('service-tab-builds').click();
  await page.getByTestId('empty-builds').waitFor();
  await screenshot(page, '08-empty-builds');
  await page.getByTestId('service-tab-functions').click();
  await page.getByTestId('empty-functions').waitFor();
  await page.getByTestId('service-tab-assets').click();
  await page.getByTestId('empty-assets').waitFor();

  const env = await api.post(`/Services/${service.sid}/Environments`, { UniqueName: 'dev-environment', DomainSuffix: 'dev' });
  const envNav = page.getByTestId('nav-env').filter({ hasText: 'dev-environment' });
  await envNav.waitFor({ timeout: 10000 });
  await envNav.click();
  await page.getByTestId('environment-view').waitFor();
  assert.equal(await page.getByTestId('active-build').textContent(), 'nothing deployed');
  await page.getByTestId('empty-deployed').waitFor();
  await page.getByTestId('empty-deployments').waitFor();
  await page.getByTestId('empty-variables').waitFor();
  assert.equal(await page.getByTestId('env-domain').getAttribute('href'), `/${env.domain_name}/`);
  await screenshot(page, '09-empty-environment');
});
