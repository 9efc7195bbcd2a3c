// The console against a store with a deployed service: navigate to a function, invoke it, see
// its log line arrive live, sign a protected call, edit variables, promote and roll back.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startTwirl, apiClient, uploadFunction, buildAndWait, launchConsole, closeConsole, screenshot, tempDir, eventually } = require('./support');

const HELLO = `exports.handler = (context, event, callback) => {
  const name = event.name || 'world';
  console.log('hello-invoked-for-' + name);
  callback(null, context.GREETING + ', ' + name + '!');
};
`;

const HELLO_V2 = `exports.handler = (context, event, callback) => {
  callback(null, 'second version');
};
`;

const SECURE = `exports.handler = (context, event, callback) => {
  console.warn('secure-called-from-' + event.From);
  callback(null, { ok: true, from: event.From, body: event.Body });
};
`;

let twirl, api, page;
const state = {};

before(async () => {
  twirl = await startTwirl(tempDir('twirl-console-'));
  api = await apiClient(twirl.url);
  const service = await api.post('/Services', { UniqueName: 'console-test', FriendlyName: 'Console test' });
  const dev = await api.post(`/Services/${service.sid}/Environments`, { UniqueName: 'dev-environment', DomainSuffix: 'dev' });
  const stage = await api.post(`/Services/${service.sid}/Environments`, { UniqueName: 'stage-environment', DomainSuffix: 'stage' });
  const hello = await uploadFunction(api, service.sid, '/hello', 'public', HELLO);
  const secure = await uploadFunction(api, service.sid, '/secure', 'protected', SECURE);
  const build = await buildAndWait(api, service.sid, [hello.version.sid, secure.version.sid]);
  await api.post(`/Services/${service.sid}/Environments/${dev.sid}/Variables`, { Key: 'GREETING', Value: 'Ahoy' });
  await api.post(`/Services/${service.sid}/Environments/${dev.sid}/Deployments`, { BuildSid: build.sid });
  Object.assign(state, { service, dev, stage, hello, secure, build });
  page = await launchConsole(twirl.url);
});

after(() => closeConsole(page, twirl));

test('the services view lists the deployed service and the live demo', async () => {
  const rows = page.getByTestId('service-row');
  await eventually(async () => (await rows.count()) === 2);
  await page.getByTestId('services-table').getByText('Console test').waitFor();
  await page.getByTestId('services-table').getByText('twirl-demo').first().waitFor();
  await page.getByTestId('live-card').waitFor();
  await screenshot(page, '01-services');
});

test('an environment shows its domain, active build, deployed functions, deployments and variables', async () => {
  await page.getByTestId('nav-env').filter({ hasText: 'dev-environment' }).click();
  const view = page.getByTestId('environment-view');
  await view.waitFor();
  assert.equal(await page.getByTestId('active-build').textContent(), state.build.sid);
  const domain = page.getByTestId('env-domain');
  assert.equal(await domain.getAttribute('href'), `/${state.dev.domain_name}/`);
  await page.getByTestId('deployed-function').filter({ hasText: '/hello' }).waitFor();
  await page.getByTestId('deployed-function').filter({ hasText: '/secure' }).getByText('protected').waitFor();
  assert.equal(await page.getByTestId('deployment-row').count(), 1);
  await page.getByTestId('variable-row').filter({ hasText: 'GREETING' }).getByText('Ahoy').waitFor();
  await screenshot(page, '02-environment');
});

test('a deployed function is invoked from the invoke panel and its log line arrives live', async () => {
  await page.getByTestId('deployed-function').filter({ hasText: '/hello' }).getByTestId('function-link').click();
  await page.getByTestId('function-view').waitFor();
  await page.getByTestId('source').getByText("console.log('hello-invoked-for-' + name);").waitFor();
  const panel = page.getByTestId('invoke-panel');
  assert.equal(await panel.getByTestId('invoke-path').inputValue(), '/hello');
  assert.equal(await panel.getByTestId('invoke-sign').isChecked(), false, 'public functions are not signed by default');
  const param = panel.getByTestId('invoke-params').locator('.kv-row').first();
  await param.locator('.kv-key').fill('name');
  await param.locator('.kv-value').fill('Ada');
  await panel.getByTestId('invoke-send').click();
  await panel.getByTestId('invoke-status').filter({ hasText: '200' }).waitFor();
  assert.equal(await panel.getByTestId('invoke-body').textContent(), 'Ahoy, Ada!');
  await panel.getByTestId('invoke-headers-out').locator('summary').click();
  await panel.getByTestId('invoke-headers-out').getByText('content-type').waitFor();
  await screenshot(page, '03-invoke');

  // The log line comes over the event stream into the panel at the bottom.
  const line = page.getByTestId('log-line').filter({ hasText: 'hello-invoked-for-Ada' });
  await line.waitFor({ timeout: 10000 });
  assert.match(await line.textContent(), /info/);
  assert.match(await line.textContent(), /\/hello/);
  assert.match(await line.textContent(), /dev-environment/);
  // The function's page lists its stored logs too, refreshed when one of its lines arrives.
  await page.getByTestId('stored-logs').getByText('hello-invoked-for-Ada').waitFor();
  await screenshot(page, '04-live-logs');

  // Filters: another environment or level hides it, its own environment and function keep it.
  await page.getByTestId('log-filter-env').selectOption(state.stage.sid);
  await page.getByTestId('logs-empty').waitFor();
  await page.getByTestId('log-filter-env').selectOption(state.dev.sid);
  await line.waitFor();
  await page.getByTestId('log-filter-env').selectOption('');
  await page.getByTestId('log-filter-level').selectOption('error');
  await page.getByTestId('logs-empty').waitFor();
  await page.getByTestId('log-filter-level').selectOption('');
  await page.getByTestId('log-filter-function').selectOption(state.hello.fn.sid);
  await line.waitFor();
  await page.getByTestId('log-filter-function').selectOption(state.secure.fn.sid);
  await page.getByTestId('logs-empty').waitFor();
  await page.getByTestId('log-filter-function').selectOption('');

  // And the request shows in the request log.
  await page.getByTestId('tab-requests').click();
  const req = page.getByTestId('request-line').filter({ hasText: '/hello?name=Ada' });
  await req.waitFor();
  assert.match(await req.textContent(), /GET/);
  assert.match(await req.textContent(), /200/);
  assert.match(await req.textContent(), /ms/);
  await screenshot(page, '05-requests');
  await page.getByTestId('tab-logs').click();
});

test('a protected function is signed automatically and succeeds', async () => {
  await page.getByTestId('nav-env').filter({ hasText: 'dev-environment' }).click();
  await page.getByTestId('deployed-function').filter({ hasText: '/secure' }).getByText('Invoke').click();
  await page.getByTestId('function-view').locator('h1', { hasText: '/secure' }).waitFor();
  const panel = page.getByTestId('invoke-panel');
  assert.equal(await panel.getByTestId('invoke-path').inputValue(), '/secure');
  assert.equal(await panel.getByTestId('invoke-sign').isChecked(), true, 'protected functions are signed by default');
  await panel.getByTestId('invoke-method').selectOption('POST');
  const first = panel.getByTestId('invoke-params').locator('.kv-row').first();
  await first.locator('.kv-key').fill('From');
  await first.locator('.kv-value').fill('+15550001111');
  await panel.getByTestId('invoke-params-add').click();
  const second = panel.getByTestId('invoke-params').locator('.kv-row').nth(1);
  await second.locator('.kv-key').fill('Body');
  await second.locator('.kv-value').fill('hi & bye');
  await panel.getByTestId('invoke-send').click();
  await panel.getByTestId('invoke-status').filter({ hasText: '200' }).waitFor();
  const body = JSON.parse(await panel.getByTestId('invoke-body').textContent());
  assert.deepEqual(body, { ok: true, from: '+15550001111', body: 'hi & bye' });
  await page.getByTestId('log-line').filter({ hasText: 'secure-called-from-+15550001111' }).getByText('warn').waitFor();

  // Unsigned, the same call is refused as Twilio refuses it.
  await panel.getByTestId('invoke-sign').uncheck();
  await panel.getByTestId('invoke-send').click();
  await panel.getByTestId('invoke-status').filter({ hasText: '400' }).waitFor();
});

test('variables are added, edited and deleted through the console', async () => {
  const base = `/Services/${state.service.sid}/Environments/${state.dev.sid}/Variables`;
  await page.getByTestId('nav-env').filter({ hasText: 'dev-environment' }).click();
  await page.getByTestId('environment-view').waitFor();

  const row = page.getByTestId('variable-row').filter({ hasText: 'GREETING' });
  await row.getByTestId('variable-edit').click();
  await row.getByTestId('variable-value-input').fill('Howdy');
  await row.getByTestId('variable-save').click();
  await row.getByTestId('variable-value').filter({ hasText: 'Howdy' }).waitFor();
  const vars = await api.get(base);
  assert.deepEqual(vars.variables.map((v) => [v.key, v.value]), [['GREETING', 'Howdy']]);

  // The function sees the new value on its next invocation.
  const res = await fetch(`${twirl.url}/${state.dev.domain_name}/hello?name=Bob`);
  assert.equal(await res.text(), 'Howdy, Bob!');

  await page.getByTestId('variable-new-key').fill('FEATURE_FLAG');
  await page.getByTestId('variable-new-value').fill('on');
  await page.getByTestId('variable-add').click();
  await page.getByTestId('variable-row').filter({ hasText: 'FEATURE_FLAG' }).waitFor();
  await eventually(async () => (await api.get(base)).variables.some((v) => v.key === 'FEATURE_FLAG' && v.value === 'on'));

  const added = page.getByTestId('variable-row').filter({ hasText: 'FEATURE_FLAG' });
  await added.getByTestId('variable-delete').click();
  await added.getByTestId('variable-delete').filter({ hasText: 'Confirm' }).click();
  await added.waitFor({ state: 'detached' });
  await eventually(async () => !(await api.get(base)).variables.some((v) => v.key === 'FEATURE_FLAG'));
});

test('the build view shows versions, dependencies, status and runtime', async () => {
  await page.getByTestId('active-build').click();
  const view = page.getByTestId('build-view');
  await view.waitFor();
  await view.getByText('completed').first().waitFor();
  await page.getByTestId('build-functions').getByText('/hello').waitFor();
  await page.getByTestId('build-functions').getByText('protected').waitFor();
  await page.getByTestId('build-dependencies').getByText('@twilio/runtime-handler').waitFor();
  await view.getByText(state.build.runtime).first().waitFor();
});

test('promoting the build to another environment changes that environment’s active build', async () => {
  await page.getByTestId('nav-env').filter({ hasText: 'dev-environment' }).click();
  await page.getByTestId('environment-view').waitFor();
  await page.getByTestId('promote-target').selectOption(state.stage.sid);
  await page.getByTestId('promote-button').click();
  await page.getByTestId('toast').filter({ hasText: 'Promoted' }).waitFor();
  await eventually(async () => (await api.get(`/Services/${state.service.sid}/Environments/${state.stage.sid}`)).build_sid === state.build.sid);

  await page.getByTestId('nav-env').filter({ hasText: 'stage-environment' }).click();
  await page.getByTestId('environment-view').getByText('stage-environment').first().waitFor();
  await eventually(async () => (await page.getByTestId('active-build').textContent()) === state.build.sid);
  assert.equal(await page.getByTestId('deployment-row').count(), 1);
  await screenshot(page, '06-promoted');
});

test('an earlier build is rolled back to from the deployment history', async () => {
  const v2 = await (async () => {
    const form = new FormData();
    form.append('Path', '/hello');
    form.append('Visibility', 'public');
    form.append('Content', new Blob([HELLO_V2], { type: 'application/javascript' }), 'hello');
    return api.post(`/Services/${state.service.sid}/Functions/${state.hello.fn.sid}/Versions`, form);
  })();
  const build2 = await buildAndWait(api, state.service.sid, [v2.sid]);
  await api.post(`/Services/${state.service.sid}/Environments/${state.dev.sid}/Deployments`, { BuildSid: build2.sid });

  await page.getByTestId('nav-env').filter({ hasText: 'dev-environment' }).click();
  await eventually(async () => (await page.getByTestId('active-build').textContent()) === build2.sid);
  assert.equal(await page.getByTestId('deployment-row').count(), 2);
  await screenshot(page, '07-deployments');
  await page.getByTestId('deployment-row').nth(1).getByTestId('rollback').click();
  await eventually(async () => (await page.getByTestId('active-build').textContent()) === state.build.sid);
  const env = await api.get(`/Services/${state.service.sid}/Environments/${state.dev.sid}`);
  assert.equal(env.build_sid, state.build.sid);
  assert.equal(await page.getByTestId('deployment-row').count(), 3);
  const res = await fetch(`${twirl.url}/${state.dev.domain_name}/hello?name=Cy`);
  assert.equal(await res.text(), 'Howdy, Cy!');
});

test('the service’s functions, assets and a function’s source are browsable', async () => {
  await page.getByTestId('nav-service').filter({ hasText: 'Console test' }).click();
  await page.getByTestId('service-view').waitFor();
  await page.getByTestId('environment-row').filter({ hasText: 'stage-environment' }).waitFor();
  await page.getByTestId('service-tab-builds').click();
  await eventually(async () => (await page.getByTestId('build-row').count()) === 2);
  await page.getByTestId('service-tab-functions').click();
  await page.getByTestId('function-row').filter({ hasText: '/secure' }).getByTestId('function-link').click();
  await page.getByTestId('service-function-view').waitFor();
  await page.getByTestId('source').getByText("console.warn('secure-called-from-' + event.From);").waitFor();
  await page.goto(`${twirl.url}/_twirl/#/services/${state.service.sid}/assets`);
  await page.getByTestId('empty-assets').waitFor();
});
