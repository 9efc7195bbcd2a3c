// The Phone page: the account's numbers with their webhooks (editable, with the deployed
// functions to pick from), every message and every call with its status history and callbacks
// (a call with its transcript and the requests it made), the alerts the phone network raised
// with the request and answer behind each, and the handset beside them, which texts (sms.js) and
// calls (calls.js). Its sections are listed in SECTIONS (more can be added with
// `addPhoneSection`), the handset's panels in handset.js (`addHandsetPanel`).

import { api, core, request, index, isLiveEnv } from './api.js';
import { h, when, sid, badge, empty, table, card, link, confirmButton } from './dom.js';
import { handset, addHandsetPanel, talkTo } from './handset.js';
import { liveEvents } from './live.js';
import { smsPanel } from './sms.js';
import { callPanel, transcriptLine, awaitingText, ENDED } from './calls.js';

addHandsetPanel(smsPanel);
addHandsetPanel(callPanel);

/** A number's webhooks, as the number's configuration page groups them. */
const WEBHOOKS = [
  { group: 'Messaging', label: 'A message comes in', url: 'sms_url', method: 'sms_method' },
  { group: 'Messaging', label: 'Primary handler fails', url: 'sms_fallback_url', method: 'sms_fallback_method' },
  { group: 'Voice', label: 'A call comes in', url: 'voice_url', method: 'voice_method' },
  { group: 'Voice', label: 'Primary handler fails', url: 'voice_fallback_url', method: 'voice_fallback_method' },
  { group: 'Voice', label: 'Call status changes', url: 'status_callback', method: 'status_callback_method' },
];

/** `sms_fallback_url` → `SmsFallbackUrl`, the API's parameter name. */
const param = (field) => field.replace(/(^|_)([a-z])/g, (_, __, c) => c.toUpperCase());

const LIST_SIZE = 50;
const editing = new Set(); // number SIDs being edited
const formErrors = new Map(); // number SID → the error its last save got
const builds = new Map(); // build SID → build (builds never change)
let hooks = { toast: () => {}, rerender: () => {} };

// ---------------------------------------------------------------- start and live updates

/** Called once by the console: `toast(text, kind)` reports, `rerender()` redraws the page. */
export function startPhone(options) {
  hooks = options;
  let timer = null;
  const soon = () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      if (onPhonePage()) hooks.rerender();
    }, 150);
  };
  liveEvents.addEventListener('message', (e) => {
    if (shows('messages', e.detail.message.sid)) soon();
  });
  liveEvents.addEventListener('call', (e) => {
    const c = e.detail.call;
    if (shows('calls', c.sid) || shows('calls', c.parent_call_sid)) soon();
  });
  liveEvents.addEventListener('alert', (e) => {
    const a = e.detail;
    hooks.toast(`${a.log_level === 'warning' ? 'Warning' : 'Alert'} ${a.error_code}: ${a.alert_text}`, a.log_level === 'warning' ? 'info' : 'error');
    // The tabs count alerts; a number being edited is left alone.
    if (onPhonePage() && !editing.size) soon();
  });
}

const onPhonePage = () => location.hash.startsWith('#/phone');

/** Whether the page shown is the list of `section` (`messages`, `calls`) or about its item `itemSid`. */
function shows(section, itemSid) {
  const [, , shown, id] = location.hash.split('/');
  return onPhonePage() && shown === section && (!id || id === itemSid);
}

// ---------------------------------------------------------------- loading

/** Every item of a 2010 list, following `next_page_uri`. */
async function all2010(path, key) {
  const items = [];
  let page = await core(path);
  for (let pages = 0; ; pages++) {
    items.push(...page[key]);
    if (!page.next_page_uri || pages >= 20) return items;
    page = await request(page.next_page_uri);
  }
}

/** What a webhook can be pointed at: every reachable function of every environment's build, at
 *  the environment's domain, as Twilio's console offers them. */
async function functionTargets() {
  const envs = index.services.flatMap((s) => s.environments.filter((e) => e.build_sid).map((e) => ({ s, e })));
  await Promise.all(
    envs
      .filter(({ e }) => !builds.has(e.build_sid))
      .map(async ({ s, e }) => builds.set(e.build_sid, await api(`/Services/${s.sid}/Builds/${e.build_sid}`).catch(() => null))),
  );
  // The live project's build changes with every save: forget the builds no environment has.
  const active = new Set(envs.map(({ e }) => e.build_sid));
  for (const b of builds.keys()) if (!active.has(b)) builds.delete(b);
  return envs.map(({ s, e }) => ({
    service: s,
    env: e,
    functions: ((builds.get(e.build_sid) || {}).function_versions || [])
      .filter((v) => v.visibility !== 'private')
      .map((v) => ({ url: `https://${e.domain_name}${v.path}`, path: v.path, visibility: v.visibility, fnSid: v.function_sid })),
  }));
}

function findTarget(targets, url) {
  for (const t of targets) {
    const f = t.functions.find((x) => x.url === url);
    if (f) return { ...t, fn: f };
  }
  return null;
}

// ---------------------------------------------------------------- the page

const SECTIONS = [
  { id: 'numbers', label: 'Numbers', list: numbersSection },
  { id: 'messages', label: 'Messages', list: messagesSection, detail: messageDetail },
  { id: 'calls', label: 'Calls', list: callsSection, detail: callDetail },
  { id: 'alerts', label: 'Alerts', list: alertsSection, detail: alertDetail },
];

/** Adds a section (`{ id, label, list({ numbers, alerts }), detail(sid) }`, each answering a node) after the others. */
export function addPhoneSection(section) {
  SECTIONS.push(section);
}

let shownRoute = null;
const narrow = () => matchMedia('(max-width: 1100px)').matches;

/** The route `#/phone[/section[/sid]]` → the page. */
export async function phoneView(r) {
  const section = SECTIONS.find((s) => s.id === (r.section || 'numbers'));
  const [numbers, alerts] = await Promise.all([
    all2010('/IncomingPhoneNumbers.json?PageSize=100', 'incoming_phone_numbers'),
    request(`/monitor/v1/Alerts?PageSize=${LIST_SIZE}&LogLevel=error`).then((p) => p.alerts).catch(() => []),
  ]);
  let body;
  if (!section) body = empty('unknown-section', 'Nothing here');
  else if (r.id && section.detail) body = await section.detail(r.id);
  else body = await section.list({ numbers, alerts });
  const counts = { numbers: numbers.length, alerts: alerts.length };
  const main = h(
    'div',
    { class: 'phone-main' },
    h(
      'div',
      { class: 'tabs page-tabs', role: 'tablist' },
      SECTIONS.map((s) =>
        h(
          'a',
          { href: `#/phone/${s.id}`, class: `tab ${section === s ? 'active' : ''}`, testid: `phone-tab-${s.id}` },
          s.label,
          counts[s.id] ? h('span', { class: `count ${s.id === 'alerts' ? 'alerting' : ''}` }, String(counts[s.id])) : null,
        ),
      ),
    ),
    body,
  );
  const handsetSlot = h('div', { class: 'handset-slot' });
  const page = h(
    'div',
    { class: 'page phone-page', testid: 'phone-view' },
    h(
      'div',
      { class: 'page-head phone-head' },
      h(
        'div',
        null,
        h('h1', null, 'Phone'),
        h('div', { class: 'meta' }, h('span', { class: 'muted' }, 'Texts to the account’s numbers go to their webhooks; what is sent to any other number reaches the handset.')),
      ),
    ),
    main,
    handsetSlot,
  );
  // What showing the page changes happens only if it is shown (a later render may overtake it).
  page.beforeShow = () => {
    handsetSlot.replaceWith(handset(numbers));
    // On a narrow screen the handset comes first: going to a section brings the section to view.
    const routeKey = `${r.section || ''}/${r.id || ''}`;
    if (routeKey !== shownRoute && r.section && narrow()) requestAnimationFrame(() => main.scrollIntoView({ block: 'start' }));
    shownRoute = routeKey;
  };
  return page;
}

function crumbs(...items) {
  const out = [h('a', { href: '#/phone' }, 'Phone')];
  for (const [text, target] of items) out.push(h('span', { class: 'sep' }, '›'), target ? h('a', { href: target }, text) : h('span', null, text));
  return h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumbs' }, out);
}

function definitions(pairs, attrs) {
  return h(
    'dl',
    Object.assign({ class: 'facts' }, attrs),
    pairs.filter(Boolean).map(([term, value]) => [h('dt', null, term), h('dd', null, value)]),
  );
}

// ---------------------------------------------------------------- numbers

async function numbersSection({ numbers }) {
  const targets = await functionTargets();
  return h(
    'div',
    { class: 'stack', testid: 'numbers' },
    numbers.length
      ? numbers.map((n) => numberCard(n, targets))
      : empty('empty-numbers', 'No phone numbers yet', 'Add one below, declare it in a fixture, or buy one with POST /2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json.'),
    addNumberForm(),
  );
}

function numberCard(n, targets) {
  const isEditing = editing.has(n.sid);
  const actions = [
    h('button', { class: 'small', type: 'button', testid: 'number-text', onclick: () => { talkTo(n.phone_number, 'sms'); document.getElementById('handset-body')?.focus(); } }, 'Text it'),
    h('button', { class: 'small', type: 'button', testid: 'number-call', onclick: () => talkTo(n.phone_number, 'call') }, 'Call it'),
    isEditing ? null : h('button', { class: 'small', type: 'button', testid: 'number-edit', onclick: () => { editing.add(n.sid); hooks.rerender(); } }, 'Edit'),
    confirmButton({
      key: n.sid,
      label: 'Release',
      title: 'Release the number',
      testid: 'number-release',
      redraw: hooks.rerender,
      act: (button) => run(button, () => core(`/IncomingPhoneNumbers/${n.sid}.json`, { method: 'DELETE' }), `Released ${n.phone_number}`),
    }),
  ];
  const el = card([h('span', null, n.friendly_name), ' ', h('code', { class: 'muted' }, n.phone_number)], actions, isEditing ? numberForm(n, targets) : webhookList(n, targets));
  el.classList.add('number-card');
  el.dataset.testid = 'number';
  el.dataset.number = n.phone_number;
  return el;
}

function groups() {
  return [...new Set(WEBHOOKS.map((w) => w.group))].map((g) => [g, WEBHOOKS.filter((w) => w.group === g)]);
}

function webhookList(n, targets) {
  return h(
    'div',
    { class: 'webhooks' },
    groups().map(([group, hooksOf]) =>
      h(
        'div',
        { class: 'webhook-group' },
        h('div', { class: 'webhook-group-title' }, group),
        definitions(
          hooksOf.map((w) => [
            w.label,
            n[w.url]
              ? h('span', { class: 'webhook', testid: `webhook-${w.url}` }, h('span', { class: 'method' }, n[w.method]), ' ', h('code', { class: 'webhook-url' }, n[w.url]), targetChip(targets, n[w.url]))
              : h('span', { class: 'muted', testid: `webhook-${w.url}` }, 'not set'),
          ]),
        ),
      ),
    ),
  );
}

/** Which deployed function a webhook URL reaches, or a warning when its domain has no such path. */
function targetChip(targets, url) {
  const t = findTarget(targets, url);
  if (t) {
    return link(`#/services/${t.service.sid}/environments/${t.env.sid}/functions/${t.fn.fnSid}`, `${t.service.unique_name} › ${t.env.unique_name}${t.fn.path}`, { class: 'chip target', testid: 'webhook-target', title: 'The function this URL reaches' });
  }
  let host = '';
  try {
    host = new URL(url).host;
  } catch {
    return null; // a path on the live project
  }
  const env = targets.find((x) => x.env.domain_name === host);
  return env ? h('span', { class: 'chip warn', testid: 'webhook-missing', title: 'Twirl will answer 404 for it' }, `no such function in ${env.env.unique_name}`) : null;
}

function numberForm(n, targets) {
  const id = (field) => `num-${n.sid}-${field}`;
  const error = formErrors.get(n.sid);
  const save = (e) => {
    e.preventDefault();
    const value = (field) => document.getElementById(id(field)).value;
    const form = [['FriendlyName', value('friendly_name')]];
    for (const w of WEBHOOKS) form.push([param(w.url), value(w.url).trim()], [param(w.method), value(w.method)]);
    run(e.submitter, async () => {
      try {
        await core(`/IncomingPhoneNumbers/${n.sid}.json`, { method: 'POST', form });
      } catch (err) {
        formErrors.set(n.sid, err);
        throw err;
      }
      formErrors.delete(n.sid);
      editing.delete(n.sid);
    }, `Saved ${n.phone_number}`);
  };
  const cancel = () => {
    editing.delete(n.sid);
    formErrors.delete(n.sid);
    hooks.rerender();
  };
  return h(
    'form',
    { class: 'number-form', testid: 'number-form', onsubmit: save, onkeydown: (e) => { if (e.key === 'Escape') cancel(); } },
    h('label', { class: 'form-row' }, h('span', { class: 'form-label' }, 'Friendly name'), h('input', { id: id('friendly_name'), testid: 'input-friendly_name', value: n.friendly_name, maxlength: 64 })),
    groups().map(([group, hooksOf]) =>
      h('fieldset', { class: 'webhook-fields' }, h('legend', null, group), hooksOf.map((w) => webhookField(n, w, id, targets))),
    ),
    error ? h('div', { class: 'form-error', testid: 'number-error', role: 'alert' }, error.code ? h('strong', null, `${error.code} `) : null, error.message) : null,
    h('div', { class: 'form-actions' }, h('button', { class: 'primary', type: 'submit', testid: 'number-save' }, 'Save'), h('button', { class: 'ghost', type: 'button', testid: 'number-cancel', onclick: cancel }, 'Cancel')),
  );
}

/** A webhook's URL with a picker of the deployed functions, and its method. */
function webhookField(n, w, id, targets) {
  const url = h('input', {
    id: id(w.url),
    testid: `input-${w.url}`,
    class: 'webhook-input',
    type: 'text',
    value: n[w.url] || '',
    placeholder: 'https://…',
    spellcheck: 'false',
    'aria-label': `${w.group}: ${w.label} (URL)`,
    oninput: () => { picker.value = findTarget(targets, url.value.trim()) ? url.value.trim() : ''; },
  });
  const picker = h(
    'select',
    {
      id: id(`${w.url}-pick`),
      testid: `pick-${w.url}`,
      class: 'webhook-pick',
      'aria-label': `${w.group}: ${w.label} (function)`,
      value: findTarget(targets, n[w.url]) ? n[w.url] : '',
      onchange: () => { if (picker.value) url.value = picker.value; },
    },
    h('option', { value: '' }, targets.some((t) => t.functions.length) ? 'URL…' : 'URL (no functions deployed)'),
    targets
      .filter((t) => t.functions.length)
      .map((t) =>
        h(
          'optgroup',
          { label: `${t.service.unique_name} › ${t.env.unique_name}${isLiveEnv(t.env) ? ' (live)' : ''}` },
          t.functions.map((f) => h('option', { value: f.url }, `${f.path}${f.visibility === 'protected' ? ' (protected)' : ''}`)),
        ),
      ),
  );
  const method = h(
    'select',
    { id: id(w.method), testid: `method-${w.url}`, class: 'webhook-method', 'aria-label': `${w.group}: ${w.label} (method)`, value: n[w.method] || 'POST' },
    h('option', { value: 'POST' }, 'HTTP POST'),
    h('option', { value: 'GET' }, 'HTTP GET'),
  );
  return h('div', { class: 'webhook-field' }, h('label', { class: 'form-label', for: id(w.url) }, w.label), h('div', { class: 'webhook-inputs' }, picker, url, method));
}

function addNumberForm() {
  const submit = (e) => {
    e.preventDefault();
    const input = document.getElementById('number-new');
    const wanted = input.value.trim();
    if (!wanted) return input.focus();
    const form = /^\d{3}$/.test(wanted) ? { AreaCode: wanted } : { PhoneNumber: wanted };
    run(e.submitter, async () => {
      const n = await core('/IncomingPhoneNumbers.json', { method: 'POST', form });
      input.value = '';
      editing.add(n.sid);
    }, `Added ${wanted}`);
  };
  return h(
    'form',
    { class: 'inline-form add-number', testid: 'number-add-form', onsubmit: submit },
    h('input', { id: 'number-new', testid: 'number-new', placeholder: '+12065550123 or an area code (206)', 'aria-label': 'Phone number or area code', autocomplete: 'off', spellcheck: 'false' }),
    h('button', { type: 'submit', class: 'small', testid: 'number-add' }, 'Add number'),
  );
}

/** Runs an API change from a button: disabled meanwhile, the outcome reported, the page redrawn. */
async function run(button, fn, success) {
  if (button) button.disabled = true;
  try {
    await fn();
    hooks.toast(success, 'ok');
  } catch (e) {
    hooks.toast(e.message, 'error');
  }
  if (button) button.disabled = false;
  hooks.rerender();
}

// ---------------------------------------------------------------- messages

const DIRECTIONS = { inbound: 'in', 'outbound-api': 'api', 'outbound-call': 'call', 'outbound-reply': 'reply', 'outbound-dial': 'dial' };

function directionBadge(direction) {
  return badge(DIRECTIONS[direction] || direction, `dir-${DIRECTIONS[direction] || 'other'}`);
}

function messageStatus(status) {
  const kind = { delivered: 'completed', received: 'completed', read: 'completed', failed: 'failed', undelivered: 'failed', canceled: 'failed' }[status] || 'building';
  return h('span', { class: `badge status-${kind}`, testid: 'message-status' }, status);
}

async function messagesSection() {
  const page = await core(`/Messages.json?PageSize=${LIST_SIZE}`);
  const rows = page.messages.map((m) =>
    h(
      'tr',
      { class: 'clickable', testid: 'message-row', 'data-sid': m.sid, onclick: () => { location.hash = `#/phone/messages/${m.sid}`; } },
      h('td', { class: 'muted nowrap' }, when(m.date_created)),
      h('td', null, directionBadge(m.direction)),
      h('td', { class: 'mono nowrap' }, m.from, h('span', { class: 'muted' }, ' → '), m.to),
      h('td', { class: 'message-body' }, link(`#/phone/messages/${m.sid}`, m.body || (Number(m.num_media) ? `(${m.num_media} media)` : '(empty)'), { testid: 'message-link' })),
      h('td', null, messageStatus(m.status), m.error_code ? h('span', { class: 'muted small' }, ` ${m.error_code}`) : null),
    ),
  );
  return card(
    'Messages',
    h('span', { class: 'muted small' }, page.next_page_uri ? `the newest ${LIST_SIZE}, newest first` : 'newest first'),
    rows.length
      ? table(['Date', '', 'From → To', 'Body', 'Status'], rows, { testid: 'messages-table', class: 'table messages' })
      : empty('empty-messages', 'No messages yet', 'Text a number from the handset, or send one with client.messages.create({ to, from, body }) from a function.'),
  );
}

/** The statuses a message or call went through (`events`), each with the request it caused. */
function statusHistory(events, statusBadge, subtitle, requestLabel) {
  const rows = events.map((e) =>
    h(
      'tr',
      { testid: 'status-event', 'data-status': e.status },
      h('td', null, statusBadge(e.status)),
      h('td', { class: 'muted nowrap' }, when(e.at)),
      h('td', { class: 'mono callback-url' }, e.callback_url || h('span', { class: 'muted' }, '—')),
      h('td', { testid: 'callback-outcome' }, callbackOutcome(e)),
    ),
  );
  return card('Status history', h('span', { class: 'muted small' }, subtitle), table(['Status', 'At', requestLabel, 'Answer'], rows, { testid: 'status-history' }));
}

async function messageDetail(messageSid) {
  const { message: m, events, alerts } = await request(`/_twirl/phone/messages/${encodeURIComponent(messageSid)}`);
  const inbound = m.direction === 'inbound';
  return h(
    'div',
    { class: 'stack', testid: 'message-detail' },
    crumbs(['Messages', '#/phone/messages'], [m.sid]),
    card(
      [directionBadge(m.direction), ' ', h('code', null, m.sid)],
      messageStatus(m.status),
      h('div', { class: `detail-bubble ${inbound ? 'mine' : 'theirs'}` }, h('div', { class: 'bubble', testid: 'message-body' }, m.body || h('span', { class: 'muted' }, '(no body)'))),
      definitions([
        ['From', h('code', null, m.from)],
        ['To', h('code', null, m.to)],
        ['Created', when(m.date_created)],
        ['Sent', m.date_sent ? when(m.date_sent) : h('span', { class: 'muted' }, 'not yet')],
        ['Segments', m.num_segments],
        ['Media', m.num_media],
        m.messaging_service_sid ? ['Messaging service', h('code', null, m.messaging_service_sid)] : null,
        m.error_code ? ['Error', h('span', { class: 'error-text', testid: 'message-error' }, `${m.error_code} ${m.error_message || ''}`)] : null,
      ], { testid: 'message-facts' }),
    ),
    inbound
      ? statusHistory(events, messageStatus, 'with the webhook the text caused', 'Webhook')
      : statusHistory(events, messageStatus, 'with the status callback each change caused', 'Callback'),
    alerts.length ? card('Alerts', null, alertsTable(alerts)) : null,
  );
}

function callbackOutcome(e) {
  return e.callback_url ? answer(e.callback_status, e.callback_error) : null;
}

/** How a request the phone network made was answered: its HTTP status, or why there was none. */
function answer(status, error) {
  if (error) return h('span', { class: 'error-text' }, status ? `${status} · ` : '', error);
  return h('span', { class: `http-status s${String(status)[0]}` }, String(status));
}

// ---------------------------------------------------------------- calls

function callStatus(status) {
  const kind = status === 'completed' ? 'completed' : ENDED.has(status) ? 'failed' : 'building';
  return h('span', { class: `badge status-${kind}`, testid: 'call-badge' }, status);
}

const duration = (c) => `${c.duration} s`;

/** The calls' table; `alerts` (errors) are counted on the calls they are about. */
function callsTable(calls, alerts = []) {
  const rows = calls.map((c) => {
    const raised = alerts.filter((a) => a.resource_sid === c.sid).length;
    return h(
      'tr',
      { class: 'clickable', testid: 'call-row', 'data-sid': c.sid, onclick: (e) => { if (!e.target.closest('a')) location.hash = `#/phone/calls/${c.sid}`; } },
      h('td', { class: 'muted nowrap' }, when(c.date_created)),
      h('td', null, directionBadge(c.direction)),
      h('td', { class: 'mono nowrap' }, link(`#/phone/calls/${c.sid}`, [c.from, h('span', { class: 'muted' }, ' → '), c.to], { testid: 'call-link', title: c.sid })),
      h(
        'td',
        { class: 'nowrap' },
        callStatus(c.status),
        c.duration != null ? h('span', { class: 'muted small', testid: 'call-duration' }, ` ${duration(c)}`) : null,
        raised ? h('span', { class: 'count alerting', testid: 'call-alert-count', title: 'Alerts raised about the call' }, String(raised)) : null,
      ),
    );
  });
  return table(['Date', '', 'From → To', 'Status'], rows, { testid: 'calls-table', class: 'table calls' });
}

async function callsSection({ alerts }) {
  const { calls } = await request('/_twirl/phone/calls');
  return card(
    'Calls',
    h('span', { class: 'muted small' }, 'newest first, every leg'),
    calls.length
      ? callsTable(calls, alerts)
      : empty('empty-calls', 'No calls yet', 'Call a number from the handset’s Call tab, or place one with client.calls.create({ to, from, url }) from a function.'),
  );
}

/** What a request a call made was for, by the `purpose` of its transcript line. */
const PURPOSES = { twiml: 'TwiML', fallback: 'Fallback TwiML', callback: 'Callback' };

/** The webhooks the call made for its TwiML and callbacks (status callbacks are in its history). */
function callRequests(transcript) {
  const rows = transcript
    .filter((l) => l.verb === 'webhook')
    .map((l) =>
      h(
        'tr',
        { testid: 'call-request', 'data-purpose': l.purpose },
        h('td', { class: 'muted nowrap' }, when(l.at)),
        h('td', { class: 'nowrap' }, PURPOSES[l.purpose] || l.purpose),
        h('td', { class: 'mono callback-url' }, h('span', { class: 'method' }, l.method), ' ', l.url),
        h('td', { testid: 'request-outcome' }, answer(l.status, l.error)),
        h('td', { class: 'muted nowrap' }, `${Math.round(l.duration_ms)} ms`),
      ),
    );
  return card(
    'Requests',
    h('span', { class: 'muted small' }, 'the webhooks it made, oldest first'),
    rows.length ? table(['At', 'For', 'Request', 'Answer', 'Took'], rows, { testid: 'call-requests' }) : h('p', { class: 'muted pad' }, 'None: the call’s TwiML was given inline.'),
  );
}

async function callDetail(callSid) {
  const { call: c, transcript, awaiting, events, legs, alerts } = await request(`/_twirl/phone/calls/${encodeURIComponent(callSid)}`);
  return h(
    'div',
    { class: 'stack', testid: 'call-detail' },
    crumbs(['Calls', '#/phone/calls'], [c.sid]),
    card(
      [directionBadge(c.direction), ' ', h('code', null, c.sid)],
      callStatus(c.status),
      definitions([
        ['From', h('code', null, c.from)],
        ['To', h('code', null, c.to)],
        ['Created', when(c.date_created)],
        ['Answered', c.start_time ? when(c.start_time) : h('span', { class: 'muted' }, 'not yet')],
        c.end_time ? ['Ended', when(c.end_time)] : null,
        c.duration != null ? ['Duration', duration(c)] : null,
        c.parent_call_sid ? ['Leg of', link(`#/phone/calls/${c.parent_call_sid}`, h('code', null, c.parent_call_sid))] : null,
        ['Now', h('span', { testid: 'call-detail-awaiting' }, awaitingText(awaiting))],
      ], { testid: 'call-facts' }),
    ),
    card('Transcript', h('span', { class: 'muted small' }, 'what was said and done, on every leg'), h('ol', { class: 'transcript page-transcript', testid: 'call-transcript' }, transcript.map(transcriptLine))),
    callRequests(transcript),
    statusHistory(events, callStatus, 'with the status callback each change caused', 'Callback'),
    legs.length ? card('Legs', h('span', { class: 'muted small' }, 'the calls its <Dial> placed'), callsTable(legs, alerts)) : null,
    alerts.length ? card('Alerts', null, alertsTable(alerts)) : null,
  );
}

// ---------------------------------------------------------------- alerts

function levelBadge(level) {
  return badge(level, level === 'warning' ? 'vis-protected' : 'status-failed');
}

function alertsTable(alerts) {
  return table(
    ['Date', 'Level', 'Code', 'Alert', 'About'],
    alerts.map((a) =>
      h(
        'tr',
        { class: 'clickable', testid: 'alert-row', 'data-sid': a.sid, onclick: (e) => { if (!e.target.closest('a')) location.hash = `#/phone/alerts/${a.sid}`; } },
        h('td', { class: 'muted nowrap' }, when(a.date_created)),
        h('td', null, levelBadge(a.log_level)),
        h('td', { class: 'mono' }, a.error_code),
        h('td', { class: 'alert-text' }, link(`#/phone/alerts/${a.sid}`, a.alert_text, { testid: 'alert-link' })),
        h('td', null, aboutLink(a.resource_sid)),
      ),
    ),
    { testid: 'alerts-table' },
  );
}

function aboutLink(resourceSid) {
  if (!resourceSid) return h('span', { class: 'muted' }, '—');
  if (/^(SM|MM)/.test(resourceSid)) return link(`#/phone/messages/${resourceSid}`, sid(resourceSid));
  return /^CA/.test(resourceSid) ? link(`#/phone/calls/${resourceSid}`, sid(resourceSid)) : sid(resourceSid);
}

async function alertsSection() {
  const page = await request(`/monitor/v1/Alerts?PageSize=${LIST_SIZE}`);
  return card(
    'Alerts',
    h('span', { class: 'muted small' }, page.meta.next_page_url ? `the newest ${LIST_SIZE}, newest first` : 'newest first'),
    page.alerts.length
      ? alertsTable(page.alerts)
      : empty('empty-alerts', 'No alerts', 'When a webhook cannot be fetched, times out or answers something other than TwiML, the alert shows here, with the request and the answer.'),
  );
}

/** `a=1&b=2` (as Monitor keeps request variables and headers) → a table of its pairs. */
function pairsTable(encoded, testid) {
  const pairs = [...new URLSearchParams(encoded || '')];
  if (!pairs.length) return h('p', { class: 'muted small pad' }, 'none');
  return h('table', { class: 'table compact', testid }, h('tbody', null, pairs.map(([k, v]) => h('tr', null, h('td', { class: 'mono key' }, k), h('td', { class: 'mono' }, v)))));
}

async function alertDetail(alertSid) {
  const a = await request(`/monitor/v1/Alerts/${encodeURIComponent(alertSid)}`);
  return h(
    'div',
    { class: 'stack', testid: 'alert-detail' },
    crumbs(['Alerts', '#/phone/alerts'], [a.sid]),
    card(
      [h('span', { class: 'mono' }, a.error_code), ' ', levelBadge(a.log_level)],
      h('a', { href: a.more_info, target: '_blank', rel: 'noopener', class: 'small' }, `Error ${a.error_code} ↗`),
      h('p', { class: 'alert-message', testid: 'alert-text' }, a.alert_text),
      definitions([
        ['Date', when(a.date_created)],
        ['About', aboutLink(a.resource_sid)],
        ['SID', h('code', null, a.sid)],
      ]),
    ),
    a.request_url
      ? [
          card(
            'Request',
            h('code', { class: 'muted small', testid: 'alert-request' }, `${a.request_method} ${a.request_url}`),
            h('div', { class: 'kv-title' }, 'Parameters'),
            pairsTable(a.request_variables, 'alert-request-variables'),
            h('details', { class: 'more' }, h('summary', null, 'Headers'), pairsTable(a.request_headers, 'alert-request-headers')),
          ),
          card(
            'Response',
            null,
            a.response_body != null
              ? [
                  h('pre', { class: 'body flush', testid: 'alert-response-body' }, a.response_body || h('span', { class: 'muted' }, '(empty body)')),
                  h('details', { class: 'more' }, h('summary', null, 'Headers'), pairsTable(a.response_headers, 'alert-response-headers')),
                ]
              : h('p', { class: 'muted pad', testid: 'alert-no-response' }, 'No answer came: the request could not be made or timed out.'),
          ),
        ]
      : null,
  );
}
