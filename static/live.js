// What arrives live: the event stream, the log and request panel at the bottom, and the banner
// with the live project's problems and the dependencies it is installing.

import { api, index } from './api.js';
import { h, fill, clock } from './dom.js';

const MAX_LINES = 1000;

const logs = []; // newest last
const requests = [];
const seenLogs = new Set();
const filter = { env: '', fn: '', level: '' };
let tab = 'logs';
let collapsed = false;
let els;

/** Every event of the stream, dispatched by its `type` (`message`, `alert`, …) with the event as
 *  `detail`, plus `reconnect` when the stream is back after a break (what came meanwhile was
 *  missed): pages with live parts of their own listen here. */
export const liveEvents = new EventTarget();

/** Builds the panel into `root` and the banner into `bannerRoot`; `onChanged` reloads data. */
export function startLive({ root, bannerRoot, status, onChanged, onReconnect, onProblems, onInstalling, onLog }) {
  els = { root, bannerRoot, status };
  drawPanel();
  connect(onChanged, onReconnect, onProblems, onInstalling, onLog);
}

function connect(onChanged, onReconnect, onProblems, onInstalling, onLog) {
  const source = new EventSource('/_twirl/events');
  let wasOpen = false;
  let broken = false;
  source.onopen = () => {
    setStatus(true);
    if (wasOpen && broken) {
      onReconnect();
      liveEvents.dispatchEvent(new CustomEvent('reconnect'));
    }
    wasOpen = true;
    broken = false;
  };
  source.onerror = () => {
    broken = true;
    setStatus(false);
  };
  source.onmessage = (msg) => {
    let ev;
    try {
      ev = JSON.parse(msg.data);
    } catch {
      return;
    }
    switch (ev.type) {
      case 'log':
        addLog(ev);
        onLog(ev);
        break;
      case 'request':
        addRequest(ev);
        break;
      case 'problems':
        showProblems(ev.problems || []);
        onProblems(ev.problems || []);
        break;
      case 'dependencies':
        showInstalling(ev.installing || null);
        onInstalling(ev.installing || null);
        break;
      case 'changed':
        onChanged();
        break;
    }
    liveEvents.dispatchEvent(new CustomEvent(ev.type, { detail: ev }));
  };
}

function setStatus(ok) {
  fill(els.status, h('span', { class: `dot ${ok ? 'ok' : 'down'}` }), ok ? 'Live' : 'Reconnecting…');
  els.status.title = ok ? 'Receiving logs and requests as they happen' : 'The event stream is down; retrying';
}

// ---- problems banner ----

const bannerState = { problems: [], installing: null };

export function showProblems(problems) {
  bannerState.problems = problems;
  drawBanner();
}

/** `what` (`is-odd@^3, …`) is being installed, or nothing is (`null`). */
export function showInstalling(what) {
  bannerState.installing = what;
  drawBanner();
}

function drawBanner() {
  const { problems, installing } = bannerState;
  els.bannerRoot.hidden = !problems.length && !installing;
  fill(
    els.bannerRoot,
    installing
      ? h(
          'div',
          { class: 'banner info', testid: 'installing-banner', role: 'status' },
          h('strong', null, `Installing ${installing}…`),
          h('span', { class: 'muted-on-banner' }, ' — the project runs with its previous dependencies until this is done (the first time, its functions wait).'),
        )
      : null,
    problems.length
      ? h(
          'div',
          { class: 'banner', testid: 'problems-banner', role: 'alert' },
          h('strong', null, problems.length === 1 ? 'The live project has a problem' : `The live project has ${problems.length} problems`),
          h('span', { class: 'muted-on-banner' }, ' — each is shown until it is fixed; the rest of the project is served meanwhile.'),
          h('ul', null, problems.map((p) => h('li', { testid: 'problem' }, h('code', null, p)))),
        )
      : null,
  );
}

// ---- logs and requests ----

/** Loads the newest stored log lines of every deployed environment once, at start. */
export async function preloadLogs() {
  const envs = [...index.env.values()].filter((x) => x.env.build_sid);
  const pages = await Promise.all(
    envs.map((x) => api(`/Services/${x.service.sid}/Environments/${x.env.sid}/Logs?PageSize=20`).then((p) => p.logs).catch(() => [])),
  );
  const all = pages.flat().filter((l) => !seenLogs.has(l.sid));
  // Newest first per page; keep each page's order for equal timestamps.
  all.reverse();
  all.sort((a, b) => (a.date_created < b.date_created ? -1 : a.date_created > b.date_created ? 1 : 0));
  for (const l of all) seenLogs.add(l.sid);
  logs.unshift(...all);
  trim(logs);
  drawPanel();
}

function trim(arr) {
  if (arr.length > MAX_LINES) arr.splice(0, arr.length - MAX_LINES);
}

function addLog(ev) {
  if (seenLogs.has(ev.sid)) return;
  seenLogs.add(ev.sid);
  logs.push(ev);
  trim(logs);
  if (tab === 'logs' && matches(ev) && els.list) appendRow(logRow(ev));
  drawCounts();
}

function addRequest(ev) {
  requests.push(ev);
  trim(requests);
  if (tab === 'requests' && els.list) appendRow(requestRow(ev));
  drawCounts();
}

function appendRow(row) {
  const list = els.list;
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.querySelector('.empty-inline')?.remove();
  list.append(row);
  while (list.childElementCount > MAX_LINES) list.firstElementChild.remove();
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function matches(l) {
  return (!filter.env || l.environment_sid === filter.env) && (!filter.fn || l.function_sid === filter.fn) && (!filter.level || l.level === filter.level);
}

function envLabel(sid) {
  const x = index.env.get(sid);
  if (!x) return sid ? sid.slice(0, 8) + '…' : '';
  return index.services.length > 1 ? `${x.service.unique_name}/${x.env.unique_name}` : x.env.unique_name;
}

function fnLabel(sid) {
  const x = index.fn.get(sid);
  return x ? x.fn.friendly_name : sid ? sid.slice(0, 8) + '…' : '';
}

function logRow(l) {
  const level = (l.level || 'info').toLowerCase();
  return h(
    'div',
    { class: `line log lvl-${level}`, testid: 'log-line' },
    h('span', { class: 'time' }, clock(l.date_created)),
    h('span', { class: `level ${level}` }, level),
    h('span', { class: 'where', title: envLabel(l.environment_sid) }, envLabel(l.environment_sid)),
    h('span', { class: 'fn', title: fnLabel(l.function_sid) }, fnLabel(l.function_sid)),
    h('span', { class: 'msg' }, l.message),
  );
}

function requestRow(r) {
  const cls = `http-status s${String(r.status)[0]}`;
  return h(
    'div',
    { class: 'line req', testid: 'request-line' },
    h('span', { class: 'time' }, clock(r.date)),
    h('span', { class: 'method' }, r.method),
    h('span', { class: cls }, String(r.status)),
    h('span', { class: 'path', title: r.path }, r.path),
    h('span', { class: 'domain', title: r.domain }, r.domain),
    h('span', { class: 'dur' }, `${formatMs(r.duration_ms)}`),
  );
}

function formatMs(ms) {
  if (typeof ms !== 'number') return '';
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

/** Sets the log filters (used by "Show logs" buttons) and shows the logs tab. */
export function filterLogs(env, fn) {
  filter.env = env || '';
  filter.fn = fn || '';
  tab = 'logs';
  collapsed = false;
  drawPanel();
}

/** Rebuilds the filter choices after the index changed. */
export function refreshFilters() {
  drawPanel();
}

function drawCounts() {
  if (!els.counts) return;
  els.counts.logs.textContent = String(logs.length);
  els.counts.requests.textContent = String(requests.length);
}

function select(testid, label, value, options, onchange) {
  return h('label', { class: 'filter' }, h('span', null, label), h('select', { testid, value, onchange: (e) => onchange(e.target.value) }, options));
}

function drawPanel() {
  const { root } = els;
  root.classList.toggle('collapsed', collapsed);
  const counts = { logs: h('span', { class: 'count' }, String(logs.length)), requests: h('span', { class: 'count' }, String(requests.length)) };
  els.counts = counts;
  const tabButton = (name, text) =>
    h('button', { class: `tab ${tab === name ? 'active' : ''}`, type: 'button', testid: `tab-${name}`, onclick: () => { tab = name; collapsed = false; drawPanel(); } }, text, ' ', counts[name]);

  const envOptions = [h('option', { value: '' }, 'All environments')].concat(
    index.services.map((s) => h('optgroup', { label: s.unique_name }, s.environments.map((e) => h('option', { value: e.sid }, e.unique_name)))),
  );
  const envService = filter.env && index.env.get(filter.env)?.service;
  const fnServices = envService ? [envService] : index.services;
  const fnOptions = [h('option', { value: '' }, 'All functions')].concat(
    fnServices.filter((s) => s.functions.length).map((s) => h('optgroup', { label: s.unique_name }, s.functions.map((f) => h('option', { value: f.sid }, f.friendly_name)))),
  );
  const tools =
    tab === 'logs'
      ? [
          select('log-filter-env', 'Environment', filter.env, envOptions, (v) => { filter.env = v; drawPanel(); }),
          select('log-filter-function', 'Function', filter.fn, fnOptions, (v) => { filter.fn = v; drawPanel(); }),
          select('log-filter-level', 'Level', filter.level, [['', 'All levels'], ['info', 'info'], ['warn', 'warn'], ['error', 'error']].map(([v, t]) => h('option', { value: v }, t)), (v) => { filter.level = v; drawPanel(); }),
        ]
      : [];
  const list = h('div', { class: 'lines', testid: tab === 'logs' ? 'log-list' : 'request-list' });
  els.list = collapsed ? null : list;
  if (tab === 'logs') {
    const shown = logs.filter(matches);
    if (shown.length) append(list, shown.map(logRow));
    else
      list.append(
        h('div', { class: 'empty-inline', testid: 'logs-empty' }, logs.length ? 'No log lines match these filters.' : 'No log lines yet. What functions write with console.log, warn or error appears here as it happens.'),
      );
  } else {
    if (requests.length) append(list, requests.map(requestRow));
    else list.append(h('div', { class: 'empty-inline', testid: 'requests-empty' }, 'No requests yet. Requests to the live project and to environments’ sites appear here as they are served.'));
  }
  fill(
    root,
    h(
      'div',
      { class: 'panel-head' },
      h('div', { class: 'tabs' }, tabButton('logs', 'Logs'), tabButton('requests', 'Requests')),
      h('div', { class: 'panel-tools' }, tools,
        h('button', { class: 'ghost small', type: 'button', testid: 'panel-clear', onclick: () => { if (tab === 'logs') logs.length = 0; else requests.length = 0; drawPanel(); } }, 'Clear'),
        h('button', { class: 'ghost small', type: 'button', title: collapsed ? 'Show panel' : 'Hide panel', 'aria-label': collapsed ? 'Show panel' : 'Hide panel', onclick: () => { collapsed = !collapsed; drawPanel(); } }, collapsed ? '▴' : '▾')),
    ),
    collapsed ? null : list,
  );
  if (!collapsed) requestAnimationFrame(() => { list.scrollTop = list.scrollHeight; });
}

function append(el, nodes) {
  const frag = document.createDocumentFragment();
  frag.append(...nodes);
  el.append(frag);
}
