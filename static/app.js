// The console: navigation, views of services, environments, builds and functions, and actions
// (deploy, promote, roll back, variables) through the Serverless API.

import { api, list, index, loadIndex, loadLive, loadSession, session, isLive, isLiveEnv, failureReason } from './api.js';
import { h, fill, when, sid, badge, visibilityBadge, statusBadge, empty, table, card, link, siteLink, breakable, confirmButton } from './dom.js';
import { invokePanel } from './invoke.js';
import { verifyView } from './verify.js';
import { startLive, preloadLogs, refreshFilters, showProblems, showInstalling, filterLogs } from './live.js';
import { phoneView, startPhone } from './phone.js';
import { syncRoute, syncView, startSync } from './sync.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
let live = null; // /_twirl/live

// ---------------------------------------------------------------- routing

function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  if (parts[0] === 'phone') return { view: 'phone', section: parts[1], id: parts[2] };
  if (parts[0] === 'verify') return { view: 'verify' };
  const sync = syncRoute(parts);
  if (sync) return sync;
  if (parts[0] !== 'services' || !parts[1]) return { view: 'overview' };
  const [, service, kind, id, sub, subId] = parts;
  if (!kind) return { view: 'service', service, tab: 'environments' };
  if (kind === 'environments' && id && sub === 'functions' && subId) return { view: 'envFunction', service, env: id, fn: subId };
  if (kind === 'environments' && id) return { view: 'environment', service, env: id };
  if (kind === 'builds' && id) return { view: 'build', service, build: id };
  if (kind === 'functions' && id) return { view: 'function', service, fn: id };
  return { view: 'service', service, tab: kind };
}

const href = {
  service: (s, tab) => `#/services/${s}${tab && tab !== 'environments' ? '/' + tab : ''}`,
  env: (s, e) => `#/services/${s}/environments/${e}`,
  envFn: (s, e, f) => `#/services/${s}/environments/${e}/functions/${f}`,
  build: (s, b) => `#/services/${s}/builds/${b}`,
  fn: (s, f) => `#/services/${s}/functions/${f}`,
};

let renderSeq = 0;

/** Renders the current route; `soft` keeps typed values, focus and scroll (a data refresh). */
async function render({ soft = false } = {}) {
  const seq = ++renderSeq;
  const r = route();
  let node;
  try {
    node = await VIEWS[r.view](r);
  } catch (e) {
    node = errorView(e);
  }
  if (seq !== renderSeq) return;
  const kept = soft ? capture(main) : null;
  const scroll = main.scrollTop;
  // Elements kept across renders (the handset) join the page only once it is the one shown: a
  // render overtaken by a later one would otherwise take them out of the document with it.
  node.beforeShow?.();
  fill(main, node);
  if (kept) restore(main, kept);
  main.scrollTop = soft ? scroll : 0;
  drawNav(r);
}

/** What was typed on the page: fields with an id (given once typed into). A field built before
 *  the typing (a render started earlier) has no id yet, and is found by its `data-draft` key. */
function capture(root) {
  const values = [];
  for (const el of root.querySelectorAll('input[id], select[id], textarea[id]')) {
    values.push({ id: el.id, draft: el.dataset.draft, value: el.type === 'checkbox' ? el.checked : el.value });
  }
  const active = document.activeElement;
  const focus = active && root.contains(active) && active.id ? { id: active.id, start: active.selectionStart, end: active.selectionEnd } : null;
  return { values, focus };
}

function restore(root, { values, focus }) {
  for (const { id, draft, value } of values) {
    const el = root.querySelector(`#${CSS.escape(id)}`) || (draft ? root.querySelector(`[data-draft="${CSS.escape(draft)}"]`) : null);
    if (!el) continue;
    el.id = id;
    if (el.type === 'checkbox') el.checked = value;
    else el.value = value;
  }
  if (focus) {
    const el = root.querySelector(`#${CSS.escape(focus.id)}`);
    if (el) {
      el.focus();
      try {
        if (focus.start != null) el.setSelectionRange(focus.start, focus.end);
      } catch {
        /* not a text field */
      }
    }
  }
}

let refreshing = null;
let refreshAgain = false;

/** Reloads the index and re-renders what is shown, keeping what was typed. */
async function refresh() {
  if (refreshing) {
    refreshAgain = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      refreshAgain = false;
      try {
        await loadIndex();
        live = await loadLive().catch(() => live);
      } catch (e) {
        toast(e.message, 'error');
      }
      refreshFilters();
      await render({ soft: true });
    } while (refreshAgain);
  })();
  try {
    await refreshing;
  } finally {
    refreshing = null;
  }
}

let changedTimer = null;
let logTimer = null;
function onChanged() {
  clearTimeout(changedTimer);
  changedTimer = setTimeout(refresh, 200);
}

// ---------------------------------------------------------------- feedback

function toast(message, kind = 'info') {
  const box = document.getElementById('toasts');
  const el = h('div', { class: `toast ${kind}`, testid: 'toast', role: kind === 'error' ? 'alert' : 'status' }, message);
  box.append(el);
  while (box.childElementCount > 3) box.firstElementChild.remove();
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 3000);
}

/** Runs an API action from a button: disables it meanwhile, reports the result, refreshes. */
async function act(button, fn, success) {
  if (button) button.disabled = true;
  try {
    await fn();
    if (success) toast(success, 'ok');
  } catch (e) {
    toast(e.message, 'error');
  }
  if (button) button.disabled = false;
  await refresh();
}

function errorView(e) {
  const notFound = e && e.status === 404;
  return h(
    'div',
    { class: 'page' },
    empty('error', notFound ? 'Not found' : 'Something went wrong', notFound ? 'It may have been deleted. Pick a service on the left.' : e.message || String(e)),
  );
}

// ---------------------------------------------------------------- navigation

function drawNav(r) {
  const current = location.hash || '#/';
  const item = (hrefValue, content, attrs = {}) =>
    h('a', Object.assign({ href: hrefValue, class: `nav-item ${attrs.class || ''} ${current === hrefValue ? 'active' : ''}` }, { testid: attrs.testid, title: attrs.title }), content);
  fill(
    nav,
    item('#/', [h('span', null, 'Overview')], { testid: 'nav-overview' }),
    item('#/phone', [h('span', null, 'Phone')], { testid: 'nav-phone', class: r.view === 'phone' ? 'active' : '' }),
    item('#/verify', [h('span', null, 'Verify')], { testid: 'nav-verify' }),
    item('#/sync', [h('span', null, 'Sync')], { testid: 'nav-sync' }),
    h('div', { class: 'nav-label' }, 'Services', h('span', { class: 'count' }, String(index.services.length))),
    index.services.length === 0
      ? h('div', { class: 'nav-empty', testid: 'nav-empty' }, 'No services yet')
      : index.services.map((s) =>
          h(
            'div',
            { class: `nav-service ${r.service === s.sid ? 'open' : ''}` },
            item(href.service(s.sid), [h('span', { class: 'name' }, s.friendly_name || s.unique_name), isLive(s) ? badge('live', 'live') : null], {
              class: 'service',
              testid: 'nav-service',
              title: s.unique_name,
            }),
            s.environments.map((e) =>
              item(href.env(s.sid, e.sid), [h('span', { class: `dot ${e.build_sid ? 'ok' : 'idle'}`, title: e.build_sid ? 'a build is deployed' : 'nothing deployed' }), h('span', { class: 'name' }, e.unique_name)], {
                class: 'env',
                testid: 'nav-env',
                title: e.domain_name,
              }),
            ),
          ),
        ),
  );
  const active = nav.querySelector('.active');
  if (active && active.scrollIntoViewIfNeeded) active.scrollIntoViewIfNeeded(false);
}

function crumbs(...items) {
  const out = [h('a', { href: '#/' }, 'Services')];
  for (const [text, target] of items) out.push(h('span', { class: 'sep' }, '›'), target ? h('a', { href: target }, text) : h('span', null, text));
  return h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumbs' }, out);
}

function pageHead(title, badges, meta, actions) {
  return h(
    'div',
    { class: 'page-head' },
    h('div', null, h('h1', null, title, ' ', badges), meta ? h('div', { class: 'meta' }, meta) : null),
    actions ? h('div', { class: 'page-actions' }, actions) : null,
  );
}

function metaItem(label, value) {
  return h('span', { class: 'meta-item' }, h('span', { class: 'meta-label' }, label), value);
}

function serviceOf(sidValue) {
  const s = index.service.get(sidValue);
  if (!s) {
    const e = new Error('No such service');
    e.status = 404;
    throw e;
  }
  return s;
}

// ---------------------------------------------------------------- views

const VIEWS = {
  phone: phoneView,
  verify: verifyView,
  sync: syncView,

  async overview() {
    const rows = index.services.map((s) =>
      h(
        'tr',
        { testid: 'service-row' },
        h('td', null, link(href.service(s.sid), s.friendly_name || s.unique_name, { testid: 'service-link' }), ' ', isLive(s) ? badge('live', 'live') : null),
        h('td', { class: 'mono' }, s.unique_name),
        h('td', null, s.environments.length ? h('div', { class: 'chips' }, s.environments.map((e) => link(href.env(s.sid, e.sid), e.unique_name, { class: 'chip' }))) : h('span', { class: 'muted' }, 'none')),
        h('td', { class: 'mono' }, s.domain_base),
        h('td', null, sid(s.sid)),
        h('td', { class: 'muted nowrap' }, when(s.date_created)),
      ),
    );
    return h(
      'div',
      { class: 'page', testid: 'overview' },
      pageHead('Services', null, [h('span', { class: 'muted' }, index.services.length ? `${plural(index.services.length, 'service')} in this account` : 'Nothing deployed yet')]),
      live ? liveCard() : null,
      card(
        `All services`,
        null,
        index.services.length
          ? table(['Service', 'Unique name', 'Environments', 'Domain base', ['SID', 'optional'], ['Created', 'optional']], rows, { testid: 'services-table' })
          : empty(
              'empty-services',
              'No services yet',
              'Deploy a project with the Serverless Toolkit or any Twilio client pointed at this server, or create one with POST /v1/Services. It will show up here at once.',
            ),
      ),
    );
  },

  async service(r) {
    const s = serviceOf(r.service);
    const tabs = [
      ['environments', `Environments`, s.environments.length],
      ['builds', 'Builds'],
      ['functions', 'Functions', s.functions.length],
      ['assets', 'Assets'],
    ];
    const body = await SERVICE_TABS[r.tab]?.(s);
    return h(
      'div',
      { class: 'page', testid: 'service-view' },
      crumbs([s.friendly_name || s.unique_name]),
      pageHead(s.friendly_name || s.unique_name, isLive(s) ? badge('live project', 'live') : null, [
        metaItem('Unique name', h('code', null, s.unique_name)),
        metaItem('SID', h('code', null, s.sid)),
        metaItem('Domain base', h('code', null, s.domain_base)),
        metaItem('Credentials', s.include_credentials ? 'included' : 'not included'),
      ]),
      isLive(s) && live ? h('p', { class: 'hint' }, 'This service is the live project: every saved change to ', h('code', null, live.dir), ' becomes a new build deployed to ', h('code', null, live.domain_name), '.') : null,
      h(
        'div',
        { class: 'tabs page-tabs', role: 'tablist' },
        tabs.map(([key, text, n]) => h('a', { href: href.service(s.sid, key), class: `tab ${r.tab === key ? 'active' : ''}`, testid: `service-tab-${key}` }, text, n != null ? h('span', { class: 'count' }, String(n)) : null)),
      ),
      body || empty('unknown-tab', 'Nothing here'),
    );
  },

  async environment(r) {
    const s = serviceOf(r.service);
    const base = `/Services/${s.sid}/Environments/${r.env}`;
    const [env, deployments, variables] = await Promise.all([api(base), list(`${base}/Deployments`), list(`${base}/Variables`)]);
    const build = env.build_sid ? await api(`/Services/${s.sid}/Builds/${env.build_sid}`).catch(() => null) : null;
    deployments.reverse();
    // The live environment takes no build but its own saves: it is no promotion target.
    const others = s.environments.filter((e) => e.sid !== env.sid && !isLiveEnv(e));
    return h(
      'div',
      { class: 'page', testid: 'environment-view' },
      crumbs([s.friendly_name || s.unique_name, href.service(s.sid)], [env.unique_name]),
      pageHead(env.unique_name, isLiveEnv(env) ? badge('live', 'live') : null, [
        metaItem('Domain', siteLink(env.domain_name, '/', { testid: 'env-domain' })),
        metaItem('Active build', env.build_sid ? link(href.build(s.sid, env.build_sid), env.build_sid, { class: 'mono', testid: 'active-build' }) : h('span', { class: 'muted', testid: 'active-build' }, 'nothing deployed')),
        metaItem('Suffix', env.domain_suffix ? h('code', null, env.domain_suffix) : h('span', { class: 'muted' }, 'none')),
        metaItem('SID', h('code', null, env.sid)),
      ]),
      h('div', { class: 'grid-2' }, deployedCard(s, env, build), variablesCard(s, env, variables)),
      deploymentsCard(s, env, deployments, others),
    );
  },

  async envFunction(r) {
    const s = serviceOf(r.service);
    const env = await api(`/Services/${s.sid}/Environments/${r.env}`);
    const fn = await api(`/Services/${s.sid}/Functions/${r.fn}`);
    const build = env.build_sid ? await api(`/Services/${s.sid}/Builds/${env.build_sid}`).catch(() => null) : null;
    const version = build && build.function_versions.find((v) => v.function_sid === fn.sid);
    const [content, logs] = await Promise.all([
      version ? api(`/Services/${s.sid}/Functions/${fn.sid}/Versions/${version.sid}/Content`).catch(() => null) : null,
      api(`/Services/${s.sid}/Environments/${env.sid}/Logs?PageSize=20&FunctionSid=${fn.sid}`).then((p) => p.logs).catch(() => []),
    ]);
    const path = version ? version.path : fn.friendly_name;
    const routes = build ? build.function_versions.concat(build.asset_versions) : [];
    return h(
      'div',
      { class: 'page', testid: 'function-view' },
      crumbs([s.friendly_name || s.unique_name, href.service(s.sid)], [env.unique_name, href.env(s.sid, env.sid)], [path]),
      pageHead(breakable(path), version ? visibilityBadge(version.visibility) : badge('not deployed here', 'muted'), [
        metaItem('URL', version && version.visibility !== 'private' ? siteLink(env.domain_name, path) : h('code', null, `${env.domain_name}${path}`)),
        metaItem('Function', link(href.fn(s.sid, fn.sid), fn.sid, { class: 'mono' })),
        version ? metaItem('Version', h('code', null, version.sid)) : null,
      ], h('button', { class: 'ghost', type: 'button', testid: 'show-logs', onclick: () => filterLogs(env.sid, fn.sid) }, 'Show its live logs')),
      version && version.visibility === 'private' ? h('p', { class: 'hint' }, 'Private functions cannot be reached over HTTP; other functions can require them with Runtime.getFunctions().') : null,
      card('Invoke', null, invokePanel({ key: `${env.sid}:${fn.sid}`, domain: env.domain_name, path, routes })),
      h(
        'div',
        { class: 'grid-2 wide-left' },
        card('Source', version ? h('span', { class: 'muted small' }, `version ${version.sid.slice(0, 10)}…`) : null, content ? code(content.content) : empty('no-source', 'No source', 'This function has no version in the environment’s active build.')),
        card(
          'Recent logs',
          h('span', { class: 'muted small' }, 'stored, newest first'),
          logs.length
            ? h('div', { class: 'stored-logs', testid: 'stored-logs' }, logs.map((l) => h('div', { class: `line log lvl-${l.level}` }, h('span', { class: 'time' }, when(l.date_created).slice(11)), h('span', { class: `level ${l.level}` }, l.level), h('span', { class: 'msg' }, l.message))))
            : empty('no-logs', 'No logs yet', 'Invoke the function; what it writes with console.log shows up here and in the live log panel.'),
        ),
      ),
    );
  },

  async build(r) {
    const s = serviceOf(r.service);
    const b = await api(`/Services/${s.sid}/Builds/${r.build}`);
    const reason = b.status === 'failed' ? await failureReason(b.sid).catch(() => null) : null;
    const fnRows = b.function_versions.map((v) =>
      h('tr', null, h('td', { class: 'mono' }, link(href.fn(s.sid, v.function_sid), breakable(v.path))), h('td', null, visibilityBadge(v.visibility)), h('td', null, sid(v.sid))),
    );
    const assetRows = b.asset_versions.map((v) => h('tr', null, h('td', { class: 'mono' }, breakable(v.path)), h('td', null, visibilityBadge(v.visibility)), h('td', null, sid(v.sid))));
    const depRows = (b.dependencies || []).map((d) => h('tr', null, h('td', { class: 'mono' }, d.name), h('td', { class: 'mono' }, d.version)));
    const deployButtons = s.environments.map((e) =>
      e.build_sid === b.sid
        ? h('span', { class: 'chip active', title: 'This build is active here' }, '✓ ', e.unique_name)
        : isLiveEnv(e)
          ? h('span', { class: 'chip muted', testid: 'live-env-chip', title: 'The live environment serves the project’s files as they are saved; it takes no other build' }, e.unique_name, ' follows the files')
          : h(
            'button',
            {
              class: 'small',
              type: 'button',
              testid: `deploy-to-${e.unique_name}`,
              disabled: b.status !== 'completed',
              onclick: (ev) => act(ev.currentTarget, () => api(`/Services/${s.sid}/Environments/${e.sid}/Deployments`, { method: 'POST', form: { BuildSid: b.sid } }), `Deployed ${short(b.sid)} to ${e.unique_name}`),
            },
            `Deploy to ${e.unique_name}`,
          ),
    );
    return h(
      'div',
      { class: 'page', testid: 'build-view' },
      crumbs([s.friendly_name || s.unique_name, href.service(s.sid)], ['Builds', href.service(s.sid, 'builds')], [short(b.sid)]),
      pageHead(h('span', { class: 'mono' }, b.sid), statusBadge(b.status), [metaItem('Runtime', h('code', null, b.runtime)), metaItem('Created', when(b.date_created)), metaItem('Updated', when(b.date_updated))]),
      s.environments.length ? h('div', { class: 'deploy-bar' }, h('span', { class: 'label' }, 'Environments'), deployButtons) : null,
      b.status === 'failed'
        ? card('Why the build failed', null, h('pre', { class: 'body failure', testid: 'build-failure' }, reason || 'No reason was recorded.'))
        : null,
      h(
        'div',
        { class: 'grid-2 wide-left' },
        h(
          'div',
          { class: 'stack' },
          card(`Function versions (${b.function_versions.length})`, null, fnRows.length ? table(['Path', 'Visibility', 'Version'], fnRows, { testid: 'build-functions' }) : empty('no-functions', 'No functions in this build')),
          card(`Asset versions (${b.asset_versions.length})`, null, assetRows.length ? table(['Path', 'Visibility', 'Version'], assetRows, { testid: 'build-assets' }) : empty('no-assets', 'No assets in this build')),
        ),
        card('Dependencies', null, depRows.length ? table(['Package', 'Version'], depRows, { testid: 'build-dependencies' }) : empty('no-deps', 'No dependencies')),
      ),
    );
  },

  async function(r) {
    const s = serviceOf(r.service);
    const fn = await api(`/Services/${s.sid}/Functions/${r.fn}`);
    const versions = (await list(`/Services/${s.sid}/Functions/${fn.sid}/Versions`)).reverse();
    const chosen = versions.find((v) => v.sid === selectedVersion.get(fn.sid)) || versions[0];
    const content = chosen ? await api(`/Services/${s.sid}/Functions/${fn.sid}/Versions/${chosen.sid}/Content`).catch(() => null) : null;
    const deployedIn = s.environments.filter((e) => e.build_sid);
    const rows = versions.map((v) =>
      h(
        'tr',
        { class: `clickable ${v === chosen ? 'selected' : ''}`, testid: 'version-row', onclick: () => { selectedVersion.set(fn.sid, v.sid); render({ soft: true }); } },
        h('td', null, sid(v.sid)),
        h('td', { class: 'mono' }, breakable(v.path)),
        h('td', null, visibilityBadge(v.visibility)),
        h('td', { class: 'muted nowrap' }, when(v.date_created)),
      ),
    );
    return h(
      'div',
      { class: 'page', testid: 'service-function-view' },
      crumbs([s.friendly_name || s.unique_name, href.service(s.sid)], ['Functions', href.service(s.sid, 'functions')], [fn.friendly_name]),
      pageHead(breakable(fn.friendly_name), null, [metaItem('SID', h('code', null, fn.sid)), metaItem('Created', when(fn.date_created))]),
      deployedIn.length
        ? h('div', { class: 'deploy-bar' }, h('span', { class: 'label' }, 'Invoke in'), deployedIn.map((e) => link(href.envFn(s.sid, e.sid, fn.sid), e.unique_name, { class: 'chip' })))
        : null,
      h(
        'div',
        { class: 'grid-2 wide-right' },
        card(`Versions (${versions.length})`, null, rows.length ? table(['Version', 'Path', 'Visibility', 'Created'], rows) : empty('no-versions', 'No versions', 'Upload one to the Versions endpoint.')),
        card('Source', chosen ? h('span', { class: 'muted small' }, `version ${chosen.sid.slice(0, 10)}…`) : null, content ? code(content.content) : empty('no-source', 'No source')),
      ),
    );
  },
};

const selectedVersion = new Map();

const SERVICE_TABS = {
  async environments(s) {
    if (!s.environments.length) return empty('empty-environments', 'No environments', 'Create one with POST /v1/Services/{ServiceSid}/Environments (UniqueName, DomainSuffix) or deploy with the Serverless Toolkit.');
    return card(
      'Environments',
      null,
      table(
        ['Environment', 'Domain', 'Active build', ['Created', 'optional']],
        s.environments.map((e) =>
          h(
            'tr',
            { testid: 'environment-row' },
            h('td', null, link(href.env(s.sid, e.sid), e.unique_name, { testid: 'environment-link' }), ' ', isLiveEnv(e) ? badge('live', 'live') : null),
            h('td', null, siteLink(e.domain_name, '/')),
            h('td', null, e.build_sid ? link(href.build(s.sid, e.build_sid), short(e.build_sid), { class: 'mono' }) : h('span', { class: 'muted' }, 'nothing deployed')),
            h('td', { class: 'muted nowrap' }, when(e.date_created)),
          ),
        ),
      ),
    );
  },

  async builds(s) {
    const builds = (await list(`/Services/${s.sid}/Builds`)).reverse();
    if (!builds.length) return empty('empty-builds', 'No builds yet', 'A build bundles function and asset versions with dependencies; create one with POST /v1/Services/{ServiceSid}/Builds or by deploying a project.');
    const activeIn = (b) => s.environments.filter((e) => e.build_sid === b.sid);
    const page = paged(`builds:${s.sid}`, builds);
    const reasons = new Map(
      await Promise.all(page.items.filter((b) => b.status === 'failed').map(async (b) => [b.sid, await failureReason(b.sid).catch(() => null)])),
    );
    return card(
      `Builds (${builds.length})`,
      null,
      isLive(s) ? h('p', { class: 'hint in-card' }, 'Each save of the live project replaces its previous build, unless another environment has that one.') : null,
      table(
        ['Build', 'Status', ['Runtime', 'optional'], ['Functions', 'optional'], ['Assets', 'optional'], 'Active in', 'Created'],
        page.items.map((b) =>
          h(
            'tr',
            { testid: 'build-row' },
            h('td', null, link(href.build(s.sid, b.sid), short(b.sid), { class: 'mono', testid: 'build-link' })),
            h('td', null, statusBadge(b.status), reasons.get(b.sid) ? h('div', { class: 'reason', testid: 'build-row-failure', title: reasons.get(b.sid) }, firstLine(reasons.get(b.sid))) : null),
            h('td', { class: 'mono' }, b.runtime),
            h('td', { class: 'num' }, String(b.function_versions.length)),
            h('td', { class: 'num' }, String(b.asset_versions.length)),
            h('td', null, h('div', { class: 'chips' }, activeIn(b).map((e) => link(href.env(s.sid, e.sid), e.unique_name, { class: 'chip' })))),
            h('td', { class: 'muted nowrap' }, when(b.date_created)),
          ),
        ),
        { testid: 'builds-table' },
      ),
      page.more,
    );
  },

  async functions(s) {
    if (!s.functions.length) return empty('empty-functions', 'No functions', 'Functions are created with POST /v1/Services/{ServiceSid}/Functions and get their code from uploaded versions.');
    const latest = await latestVersions(s, 'Functions', s.functions);
    return card(
      'Functions',
      null,
      table(
        ['Function', 'Latest path', 'Visibility', ['SID', 'optional'], ['Updated', 'optional']],
        s.functions.map((f) => {
          const v = latest.get(f.sid);
          return h(
            'tr',
            { testid: 'function-row' },
            h('td', null, link(href.fn(s.sid, f.sid), f.friendly_name, { class: 'mono', testid: 'function-link' })),
            h('td', { class: 'mono' }, v ? breakable(v.path) : h('span', { class: 'muted' }, 'no versions')),
            h('td', null, v ? visibilityBadge(v.visibility) : null),
            h('td', null, sid(f.sid)),
            h('td', { class: 'muted nowrap' }, when(f.date_updated)),
          );
        }),
      ),
    );
  },

  async assets(s) {
    const assets = await list(`/Services/${s.sid}/Assets`);
    if (!assets.length) return empty('empty-assets', 'No assets', 'Assets are static files: create one with POST /v1/Services/{ServiceSid}/Assets and upload versions of it.');
    const latest = await latestVersions(s, 'Assets', assets);
    const site = s.environments.find((e) => e.build_sid);
    return card(
      'Assets',
      null,
      table(
        ['Asset', 'Latest path', 'Visibility', ['SID', 'optional'], ['Updated', 'optional']],
        assets.map((a) => {
          const v = latest.get(a.sid);
          return h(
            'tr',
            { testid: 'asset-row' },
            h('td', { class: 'mono' }, a.friendly_name),
            h('td', { class: 'mono' }, v ? (site && v.visibility === 'public' ? siteLink(site.domain_name, v.path) : breakable(v.path)) : h('span', { class: 'muted' }, 'no versions')),
            h('td', null, v ? visibilityBadge(v.visibility) : null),
            h('td', null, sid(a.sid)),
            h('td', { class: 'muted nowrap' }, when(a.date_updated)),
          );
        }),
      ),
    );
  },
};

async function latestVersions(s, kind, items) {
  const out = new Map();
  await Promise.all(
    items.map(async (x) => {
      const versions = await list(`/Services/${s.sid}/${kind}/${x.sid}/Versions`).catch(() => []);
      if (versions.length) out.set(x.sid, versions[versions.length - 1]);
    }),
  );
  return out;
}

const PAGE = 20;
const shownRows = new Map();

/** The first rows of a long list (newest first) and a button that shows more of them; how many
 *  are shown is kept per `key` across re-renders. */
function paged(key, all) {
  const n = Math.min(all.length, shownRows.get(key) || PAGE);
  const rest = all.length - n;
  const more = rest
    ? h(
        'div',
        { class: 'more' },
        h('button', { class: 'small ghost', type: 'button', testid: 'show-more', onclick: () => { shownRows.set(key, n + PAGE); render({ soft: true }); } }, `Show ${Math.min(rest, PAGE)} older`),
        h('span', { class: 'muted small' }, ` ${n} of ${all.length} shown`),
      )
    : null;
  return { items: all.slice(0, n), more };
}

function firstLine(text) {
  return String(text).split('\n').find((l) => l.trim()) || '';
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function short(s) {
  return s ? s.slice(0, 10) + '…' : '';
}

function code(text) {
  const lines = String(text).replace(/\n$/, '').split('\n');
  return h('pre', { class: 'code', testid: 'source' }, h('code', null, lines.map((l) => h('span', { class: 'ln' }, l + '\n'))));
}

// ---------------------------------------------------------------- environment cards

function deployedCard(s, env, build) {
  if (!build) {
    return card('Deployed', null, empty('empty-deployed', 'Nothing deployed', env.build_sid ? 'The active build could not be read.' : 'Deploy a build to this environment to serve it at its domain.'));
  }
  const fnRows = build.function_versions.map((v) =>
    h(
      'tr',
      { testid: 'deployed-function' },
      h('td', null, link(href.envFn(s.sid, env.sid, v.function_sid), breakable(v.path), { class: 'mono', testid: 'function-link' })),
      h('td', null, visibilityBadge(v.visibility)),
      h(
        'td',
        { class: 'actions' },
        v.visibility !== 'private' ? link(href.envFn(s.sid, env.sid, v.function_sid), 'Invoke', { class: 'button small' }) : null,
        v.visibility === 'public' ? h('a', { class: 'button small ghost', href: `/${env.domain_name}${v.path}`, target: '_blank', rel: 'noopener' }, 'Open ↗') : null,
      ),
    ),
  );
  const assetRows = build.asset_versions.map((v) =>
    h(
      'tr',
      { testid: 'deployed-asset' },
      h('td', { class: 'mono' }, breakable(v.path)),
      h('td', null, visibilityBadge(v.visibility)),
      h('td', { class: 'actions' }, v.visibility === 'public' ? h('a', { class: 'button small ghost', href: `/${env.domain_name}${v.path}`, target: '_blank', rel: 'noopener' }, 'Open ↗') : null),
    ),
  );
  return card(
    'Deployed',
    h('span', { class: 'muted small' }, `${plural(build.function_versions.length, 'function')} · ${plural(build.asset_versions.length, 'asset')} · ${build.runtime}`),
    fnRows.length || assetRows.length
      ? table(['Path', 'Visibility', ''], [fnRows, assetRows.length && fnRows.length ? h('tr', { class: 'divider' }, h('td', { colspan: 3 }, 'Assets')) : null, assetRows], { testid: 'deployed-table' })
      : empty('empty-deployed', 'The build is empty'),
  );
}

const editingVars = new Set();

function variablesCard(s, env, variables) {
  const base = `/Services/${s.sid}/Environments/${env.sid}/Variables`;
  const rows = variables.map((v) => {
    const editing = editingVars.has(v.sid);
    const save = (button) => {
      const value = document.getElementById(`var-value-${v.sid}`).value;
      return act(button, async () => {
        await api(`${base}/${v.sid}`, { method: 'POST', form: { Value: value } });
        editingVars.delete(v.sid);
      }, `Saved ${v.key}`);
    };
    return h(
      'tr',
      { testid: 'variable-row', 'data-key': v.key },
      h('td', { class: 'mono key' }, v.key),
      h(
        'td',
        { class: 'value' },
        editing
          ? h('input', {
              id: `var-value-${v.sid}`,
              testid: 'variable-value-input',
              value: v.value,
              'aria-label': `Value of ${v.key}`,
              onkeydown: (e) => {
                if (e.key === 'Enter') save(null);
                if (e.key === 'Escape') { editingVars.delete(v.sid); render({ soft: true }); }
              },
            })
          : h('span', { class: 'mono', testid: 'variable-value' }, breakable(v.value)),
      ),
      h(
        'td',
        { class: 'actions' },
        editing
          ? [
              h('button', { class: 'small primary', type: 'button', testid: 'variable-save', onclick: (e) => save(e.currentTarget) }, 'Save'),
              h('button', { class: 'small ghost', type: 'button', onclick: () => { editingVars.delete(v.sid); render({ soft: true }); } }, 'Cancel'),
            ]
          : [
              h('button', { class: 'small ghost', type: 'button', testid: 'variable-edit', onclick: () => { editingVars.add(v.sid); render({ soft: true }).then(() => document.getElementById(`var-value-${v.sid}`)?.focus()); } }, 'Edit'),
              confirmButton({
                key: v.sid,
                label: 'Delete',
                title: 'Delete',
                testid: 'variable-delete',
                redraw: () => render({ soft: true }),
                act: (button) => act(button, () => api(`${base}/${v.sid}`, { method: 'DELETE' }), `Deleted ${v.key}`),
              }),
            ],
      ),
    );
  });
  const add = (e) => {
    e.preventDefault();
    const key = document.getElementById('var-new-key');
    const value = document.getElementById('var-new-value');
    if (!key.value.trim()) {
      key.focus();
      return;
    }
    const k = key.value.trim();
    act(e.submitter || null, async () => {
      await api(base, { method: 'POST', form: { Key: k, Value: value.value } });
      key.value = '';
      value.value = '';
    }, `Added ${k}`);
  };
  return card(
    'Variables',
    h('span', { class: 'muted small' }, 'apply to the next invocation'),
    variables.length ? table(['Key', 'Value', ''], rows, { testid: 'variables-table' }) : empty('empty-variables', 'No variables', 'Functions read them from context, e.g. context.GREETING.'),
    h(
      'form',
      { class: 'inline-form', testid: 'variable-add-form', onsubmit: add },
      h('input', { id: 'var-new-key', testid: 'variable-new-key', placeholder: 'KEY', 'aria-label': 'New variable key', autocomplete: 'off', spellcheck: 'false' }),
      h('input', { id: 'var-new-value', testid: 'variable-new-value', placeholder: 'value', 'aria-label': 'New variable value', autocomplete: 'off', spellcheck: 'false' }),
      h('button', { type: 'submit', class: 'small', testid: 'variable-add' }, 'Add variable'),
    ),
  );
}

function deploymentsCard(s, env, deployments, others) {
  const deploy = (button, buildSid, target, message) =>
    act(button, () => api(`/Services/${s.sid}/Environments/${target.sid}/Deployments`, { method: 'POST', form: { BuildSid: buildSid } }), message);
  const live = isLiveEnv(env);
  const page = paged(`deployments:${env.sid}`, deployments);
  const rows = page.items.map((d, i) => {
    const current = i === 0 && d.build_sid === env.build_sid;
    return h(
      'tr',
      { testid: 'deployment-row', class: current ? 'current' : '' },
      h('td', null, sid(d.sid)),
      h('td', null, d.build_sid ? link(href.build(s.sid, d.build_sid), short(d.build_sid), { class: 'mono', title: d.build_sid }) : h('span', { class: 'muted' }, 'none (undeployed)')),
      h('td', { class: 'muted nowrap' }, when(d.date_created)),
      h(
        'td',
        { class: 'actions' },
        current
          ? badge('active', 'status-completed')
          : d.build_sid && d.build_sid !== env.build_sid && !live
            ? h('button', { class: 'small', type: 'button', testid: 'rollback', title: 'Deploy this build here again', onclick: (e) => deploy(e.currentTarget, d.build_sid, env, `Rolled ${env.unique_name} back to ${short(d.build_sid)}`) }, 'Roll back')
            : null,
      ),
    );
  });
  const promote = others.length
    ? h(
        'form',
        {
          class: 'inline-form promote',
          testid: 'promote-form',
          onsubmit: (e) => {
            e.preventDefault();
            const target = others.find((o) => o.sid === document.getElementById('promote-target').value);
            if (target) deploy(e.submitter || null, env.build_sid, target, `Promoted ${short(env.build_sid)} to ${target.unique_name}`);
          },
        },
        h('span', { class: 'label' }, 'Promote the active build to'),
        h('select', { id: 'promote-target', testid: 'promote-target', 'aria-label': 'Target environment' }, others.map((o) => h('option', { value: o.sid }, `${o.unique_name}${o.build_sid === env.build_sid && env.build_sid ? ' (has it)' : ''}`))),
        h('button', { type: 'submit', class: 'small primary', testid: 'promote-button', disabled: !env.build_sid }, 'Promote'),
      )
    : null;
  return card(
    'Deployments',
    promote,
    live ? h('p', { class: 'hint in-card', testid: 'live-deployments-hint' }, 'This environment serves the live project’s files as they are saved: each save deploys a new build here, and no other build can be deployed to it. Promote its build to another environment to keep it.') : null,
    deployments.length ? table([['Deployment', 'optional'], 'Build', 'Deployed', ''], rows, { testid: 'deployments-table' }) : empty('empty-deployments', 'No deployments yet', 'Deploy a build from its page, or with POST …/Deployments BuildSid=ZB….'),
    page.more,
  );
}

// ---------------------------------------------------------------- live project

function liveCard() {
  const problems = live.problems || [];
  const installing = live.dependencies && live.dependencies.installing;
  const edited = live.edited_variables || [];
  const status = problems.length
    ? badge(`${problems.length} problem${problems.length > 1 ? 's' : ''}`, 'status-failed')
    : installing
      ? badge('installing dependencies', 'status-building')
      : badge('reloaded cleanly', 'status-completed');
  return card(
    'Live project',
    link(href.env(live.service_sid, live.environment_sid), 'Open environment →', { class: 'small' }),
    h(
      'div',
      { class: 'live-summary', testid: 'live-card' },
      metaItem('Directory', h('code', null, live.dir)),
      metaItem('Served at', h('span', null, siteLink(live.domain_name, '/'), h('span', { class: 'muted' }, ' and at the root, '), h('a', { href: '/', target: '_blank', rel: 'noopener' }, location.host + '/'))),
      metaItem('Build', live.build_sid ? link(href.build(live.service_sid, live.build_sid), short(live.build_sid), { class: 'mono' }) : h('span', { class: 'muted' }, 'none')),
      metaItem('Status', status),
      edited.length
        ? metaItem(
            'Variables',
            h('span', { testid: 'edited-variables' }, edited.map((v) => v.key).join(', '), h('span', { class: 'muted' }, ' changed here: kept over .env until .env changes them')),
          )
        : null,
    ),
  );
}

// ---------------------------------------------------------------- start

function showLiveState() {
  showProblems((live && live.problems) || []);
  showInstalling((live && live.dependencies && live.dependencies.installing) || null);
}

async function start() {
  try {
    await loadSession();
    document.getElementById('account').textContent = session.account_sid;
    [live] = await Promise.all([loadLive().catch(() => null), loadIndex()]);
  } catch (e) {
    fill(main, errorView(e));
    return;
  }
  startPhone({ toast, rerender: () => render({ soft: true }) });
  startLive({
    root: document.getElementById('panel'),
    bannerRoot: document.getElementById('banner'),
    status: document.getElementById('conn'),
    onChanged,
    onLog: (log) => {
      const r = route();
      if (r.view === 'envFunction' && r.env === log.environment_sid && r.fn === log.function_sid) {
        clearTimeout(logTimer);
        logTimer = setTimeout(() => render({ soft: true }), 300);
      }
    },
    onProblems: (problems) => {
      if (live) live.problems = problems;
      if (route().view === 'overview') render({ soft: true });
    },
    onInstalling: (installing) => {
      if (live) live.dependencies = { installing };
      if (route().view === 'overview') render({ soft: true });
    },
    onReconnect: async () => {
      live = await loadLive().catch(() => live);
      showLiveState();
      refresh();
    },
  });
  showLiveState();
  startSync(() => render({ soft: true }));
  window.addEventListener('hashchange', () => render());
  await render();
  preloadLogs();
  document.body.dataset.ready = 'true';
}

start();
