// The console's Sync view: services, their documents, lists, maps and streams, the items of lists
// and maps, all live as functions change them (the event stream says which service changed) and
// editable through the Sync API, with JSON checked before it is sent and revisions shown. A
// document or item is saved with If-Match on the revision its edit started from, so a write made
// meanwhile by a function is never overwritten unseen.

import { request, list, ApiError } from './api.js';
import { liveEvents } from './live.js';
import { h, when, sid, badge, empty, table, card, link } from './dom.js';

const BASE = '/sync/v1/Services';
/** Largest data Sync stores, serialized (https://www.twilio.com/docs/sync/limits). */
const MAX_DATA_BYTES = 16 * 1024;
/** Stream messages kept per stream (Twilio keeps none; the console shows the latest). */
const MAX_MESSAGES = 50;

const KINDS = {
  documents: { title: 'Documents', one: 'document' },
  lists: { title: 'Lists', one: 'list' },
  maps: { title: 'Maps', one: 'map' },
  streams: { title: 'Streams', one: 'stream' },
};

const drafts = new Map(); // control key → { text, revision? }: what is typed, kept across re-renders
const open = new Set(); // URLs of list and map items whose editor is open
const messages = new Map(); // stream SID → newest-first messages seen on the event stream
/** How long the outcome of an action stays at the top of the view: renders come and go meanwhile
 *  (every Sync change re-renders), and one of them must not swallow it. */
const NOTICE_MS = 5000;
let notice = null; // { text, kind, until }: the outcome of the last action
let rerender = () => {};

// ---------------------------------------------------------------- routing and live updates

/** The route of a `#/sync/…` hash (split into parts, still encoded), or null for other views. */
export function syncRoute(parts) {
  if (parts[0] !== 'sync') return null;
  const decode = (part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  };
  const [, service, kind = 'documents', object] = parts.map(decode);
  return { view: 'sync', service, kind: KINDS[kind] ? kind : 'documents', object };
}

const href = (...parts) => '#/' + ['sync', ...parts].map(encodeURIComponent).join('/');

/** Follows the console's event stream: Sync changes re-render the shown Sync view through
 *  `onChange`, and stream messages are kept for their stream's view. */
export function startSync(onChange) {
  rerender = onChange;
  let timer = null;
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(() => location.hash.startsWith('#/sync') && rerender(), 100);
  };
  liveEvents.addEventListener('sync_changed', soon);
  liveEvents.addEventListener('sync_stream_message', ({ detail: ev }) => {
    const seen = messages.get(ev.stream_sid) || [];
    seen.unshift({ sid: ev.sid, data: ev.data, at: new Date().toISOString() });
    messages.set(ev.stream_sid, seen.slice(0, MAX_MESSAGES));
    soon();
  });
}

/** Runs a write from a button: reports failure inline, forgets the `typed` controls once it
 *  succeeded, then re-renders with what the store holds. A control typed into again while the
 *  write ran keeps the new text: it is the next thing to send, not what was sent. */
async function act(button, fn, success, typed = []) {
  if (button) button.disabled = true;
  const sent = typed.filter(Boolean).map((el) => [el, drafts.get(el.dataset.draft)]);
  try {
    await fn();
    notice = success ? { text: success, kind: 'ok', until: Date.now() + NOTICE_MS } : null;
    forget(...sent.filter(([el, draft]) => drafts.get(el.dataset.draft) === draft).map(([el]) => el));
  } catch (e) {
    notice = { text: e.message, kind: 'error', until: Date.now() + NOTICE_MS };
  }
  rerender();
}

// ---------------------------------------------------------------- controls

/** An input or textarea whose value lives in `drafts` under `key`, so a re-render caused by a Sync
 *  change never loses what is typed. It gets an id (by which the console's re-render keeps focus
 *  and values) only once typed into: an untouched editor always shows the latest data. `first`
 *  is kept with the draft from the first keystroke (the revision an edit started from). */
function control(tag, key, initial, attrs = {}, first = {}) {
  const draft = drafts.get(key);
  const id = `sync:${key}`;
  const el = h(tag, { ...attrs, id: draft ? id : null, 'data-draft': key, value: draft ? draft.text : initial });
  el.addEventListener('input', () => {
    drafts.set(key, { ...(drafts.get(key) || first), text: el.value });
    el.id = id;
  });
  return el;
}

/** Forgets what was typed into these controls: in the drafts, and on the page, where a re-render
 *  made while the action ran may have replaced them with copies. */
function forget(...controls) {
  for (const el of controls) {
    if (!el) continue;
    const key = el.dataset.draft;
    drafts.delete(key);
    for (const shown of [el, ...document.querySelectorAll(`[data-draft="${CSS.escape(key)}"]`)]) shown.removeAttribute('id');
  }
}

/** What a control holds: its draft, if typed into (the page may have been redrawn while the
 *  typing went to the copy it replaced), else what it shows. */
const valueOf = (el) => drafts.get(el.dataset.draft)?.text ?? el.value;

/** What a control holds, trimmed. */
const typedIn = (el) => valueOf(el).trim();

// ---------------------------------------------------------------- JSON

/** The object `text` holds, or why it cannot be stored: Sync keeps JSON objects of 16 KiB. */
function parseData(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { error: `Not valid JSON: ${e.message}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { error: 'Sync data must be a JSON object, such as {"count": 1}' };
  const size = new TextEncoder().encode(JSON.stringify(value)).length;
  if (size > MAX_DATA_BYTES) return { error: `${size} bytes: Sync data is limited to ${MAX_DATA_BYTES} bytes` };
  return { value };
}

const pretty = (value) => JSON.stringify(value, null, 2);

/** A JSON textarea (a `control`) that says at once whether what is typed can be saved, and
 *  enables `buttons` only then. Returns the field and its textarea. */
function jsonField(key, text, buttons = [], first = {}) {
  const error = h('div', { class: 'sync-json-error', testid: 'sync-json-error', hidden: true });
  const shown = drafts.get(key)?.text ?? text;
  const area = control('textarea', key, text, { class: 'sync-json', rows: String(Math.min(18, Math.max(4, shown.split('\n').length + 1))), spellcheck: 'false', testid: 'sync-json' }, first);
  const check = () => {
    const { error: problem } = parseData(area.value);
    error.hidden = !problem;
    error.textContent = problem || '';
    area.classList.toggle('invalid', !!problem);
    for (const b of buttons) b.disabled = !!problem;
  };
  area.addEventListener('input', check);
  check();
  return { field: h('div', { class: 'sync-json-field' }, area, error), area };
}

/** The JSON a valid field holds, compact. */
const dataOf = (area) => JSON.stringify(parseData(valueOf(area)).value);

// ---------------------------------------------------------------- views

export async function syncView(r) {
  const shown = notice && notice.until > Date.now() ? notice : null;
  const body = !r.service ? await servicesView() : r.object ? await objectView(r) : await serviceView(r);
  return h('div', { class: 'page', testid: 'sync-view' }, shown ? h('div', { class: `sync-notice ${shown.kind}`, testid: `sync-${shown.kind}`, role: shown.kind === 'error' ? 'alert' : 'status' }, shown.text) : null, body);
}

function head(title, crumbs, meta) {
  return [
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumbs' }, [h('a', { href: '#/sync' }, 'Sync'), ...crumbs.flatMap(([text, target]) => [h('span', { class: 'sep' }, '›'), target ? h('a', { href: target }, text) : h('span', null, text)])]),
    h('div', { class: 'page-head' }, h('div', null, h('h1', null, title), meta ? h('div', { class: 'meta' }, meta.map(([label, value]) => h('span', { class: 'meta-item' }, h('span', { class: 'meta-label' }, label), value))) : null)),
  ];
}

async function servicesView() {
  const services = await list(BASE);
  const rows = services.map((s) =>
    h('tr', { testid: 'sync-service-row' }, h('td', null, link(href(s.sid), s.friendly_name || s.sid, { testid: 'sync-service-link' }), ' ', s.unique_name ? badge(s.unique_name, 'live') : null), h('td', null, sid(s.sid)), h('td', null, s.acl_enabled ? 'on' : 'off'), h('td', { class: 'muted nowrap' }, when(s.date_created))),
  );
  return [
    ...head('Sync', [], [['Services', String(services.length)]]),
    card(
      'Sync services',
      null,
      services.length
        ? table(['Service', 'SID', 'ACL', 'Created'], rows, { testid: 'sync-services' })
        : empty('sync-empty', 'No Sync services yet', 'Runtime.getSync() creates the default service the first time a function uses it; clients create others with POST /sync/v1/Services.'),
    ),
  ];
}

async function serviceView(r) {
  const service = await request(`${BASE}/${r.service}`);
  const objects = await list(`${BASE}/${service.sid}/${KINDS[r.kind].title}`);
  const tabs = h(
    'div',
    { class: 'tabs page-tabs', role: 'tablist' },
    Object.entries(KINDS).map(([key, k]) => h('a', { href: href(service.sid, key), class: `tab ${r.kind === key ? 'active' : ''}`, testid: `sync-tab-${key}` }, k.title)),
  );
  const collection = r.kind === 'lists' || r.kind === 'maps';
  const rows = objects.map((o) =>
    h(
      'tr',
      { testid: 'sync-object-row' },
      h('td', null, link(href(service.sid, r.kind, o.sid), o.unique_name || o.sid, { testid: 'sync-object-link' })),
      h('td', null, sid(o.sid)),
      r.kind === 'streams' ? null : h('td', { class: 'mono', testid: 'sync-object-revision' }, o.revision),
      r.kind === 'documents' ? h('td', { class: 'mono sync-preview' }, JSON.stringify(o.data)) : null,
      h('td', { class: 'muted nowrap' }, when(o.date_updated)),
      h('td', { class: 'muted nowrap' }, o.date_expires ? when(o.date_expires) : 'never'),
    ),
  );
  const headers = ['Name', 'SID', r.kind === 'streams' ? null : 'Revision', r.kind === 'documents' ? 'Data' : null, 'Updated', 'Expires'].filter(Boolean);
  return [
    ...head(service.friendly_name || service.sid, [[service.friendly_name || service.sid]], [
      ['SID', h('code', null, service.sid)],
      ['Unique name', service.unique_name ? h('code', null, service.unique_name) : h('span', { class: 'muted' }, 'none')],
      ['ACL', service.acl_enabled ? 'enabled' : 'off'],
    ]),
    tabs,
    card(
      KINDS[r.kind].title,
      null,
      objects.length ? table(headers, rows, { testid: 'sync-objects' }) : empty('sync-no-objects', `No ${KINDS[r.kind].title.toLowerCase()} yet`, collection ? `Create one here or from a function with Runtime.getSync().${r.kind}.create().` : null),
      createForm(service, r.kind),
    ),
  ];
}

function createForm(service, kind) {
  const name = control('input', `new:${kind}:name`, '', { placeholder: 'unique name (optional)', testid: 'sync-new-name' });
  const ttl = control('input', `new:${kind}:ttl`, '', { placeholder: 'TTL seconds (optional)', class: 'sync-ttl', testid: 'sync-new-ttl' });
  const create = h('button', { class: 'small primary', type: 'button', testid: 'sync-create' }, `New ${KINDS[kind].one}`);
  const data = kind === 'documents' ? jsonField('new:documents:data', '{}', [create]) : null;
  create.addEventListener('click', () =>
    act(
      create,
      async () => {
        const form = {};
        if (typedIn(name)) form.UniqueName = typedIn(name);
        if (typedIn(ttl)) form[kind === 'lists' || kind === 'maps' ? 'CollectionTtl' : 'Ttl'] = typedIn(ttl);
        if (data) form.Data = dataOf(data.area);
        await request(`${BASE}/${service.sid}/${KINDS[kind].title}`, { method: 'POST', form });
      },
      `Created a ${KINDS[kind].one}`,
      [name, ttl, data?.area],
    ),
  );
  return h('div', { class: 'sync-form', testid: 'sync-create-form' }, data?.field, h('div', { class: 'inline-form' }, name, ttl, create));
}

async function objectView(r) {
  const service = await request(`${BASE}/${r.service}`);
  const url = `${BASE}/${service.sid}/${KINDS[r.kind].title}/${encodeURIComponent(r.object)}`;
  const o = await request(url);
  const crumbs = [[service.friendly_name || service.sid, href(service.sid)], [KINDS[r.kind].title, href(service.sid, r.kind)], [o.unique_name || o.sid]];
  const meta = [
    ['SID', h('code', null, o.sid)],
    ['Unique name', o.unique_name ? h('code', null, o.unique_name) : h('span', { class: 'muted' }, 'none')],
    o.revision !== undefined ? ['Revision', h('code', { testid: 'sync-revision' }, o.revision)] : null,
    ['Updated', when(o.date_updated)],
    ['Expires', o.date_expires ? when(o.date_expires) : 'never'],
  ].filter(Boolean);
  const remove = h('button', { class: 'small ghost', type: 'button', testid: 'sync-delete' }, `Delete ${KINDS[r.kind].one}`);
  remove.addEventListener('click', () =>
    act(remove, async () => {
      await request(url, { method: 'DELETE' });
      location.hash = href(service.sid, r.kind);
    }, `Deleted ${o.unique_name || o.sid}`),
  );
  const body = r.kind === 'documents' ? documentEditor(url, o) : r.kind === 'streams' ? streamView(url, o) : await itemsView(url, o, r.kind === 'maps');
  return [...head(o.unique_name || o.sid, crumbs, meta), body, h('div', { class: 'sync-danger' }, remove)];
}

/** An editor of `current` (a document or an item at `url`). It saves with If-Match on the
 *  revision shown, and says so when the revision moved on while the edit was open. */
function editor(url, current, { onSaved, extraButtons = [] } = {}) {
  const draft = drafts.get(url);
  const stale = draft && draft.revision !== current.revision;
  const save = h('button', { class: 'small primary', type: 'button', testid: 'sync-save' }, stale ? `Save over revision ${current.revision}` : 'Save');
  const { field, area } = jsonField(url, pretty(current.data), [save], { revision: current.revision });
  save.addEventListener('click', () =>
    act(
      save,
      async () => {
        try {
          await request(url, { method: 'POST', form: { Data: dataOf(area) }, headers: { 'If-Match': current.revision } });
        } catch (e) {
          if (e instanceof ApiError && e.status === 412) throw new Error('Not saved: it changed a moment ago. Your text is kept; check the new revision and save again.');
          throw e;
        }
        if (onSaved) onSaved();
      },
      'Saved',
      [area],
    ),
  );
  const discard = h('button', { class: 'small ghost', type: 'button', testid: 'sync-discard' }, 'Discard changes');
  discard.addEventListener('click', () => {
    forget(area);
    rerender();
  });
  return h(
    'div',
    { class: 'sync-editor', testid: 'sync-editor' },
    stale ? h('p', { class: 'hint', testid: 'sync-stale' }, `Changed elsewhere while you edit: it is now at revision ${current.revision}, your edit started from ${draft.revision}. Saving replaces it.`) : null,
    field,
    h('div', { class: 'sync-actions' }, save, draft ? discard : null, ...extraButtons),
  );
}

function documentEditor(url, doc) {
  return card('Data', h('span', { class: 'muted' }, 'a JSON object, up to 16 KiB'), editor(url, doc));
}

async function itemsView(url, o, isMap) {
  const items = await list(`${url}/Items`);
  const keyOf = (item) => (isMap ? item.key : String(item.index));
  const rows = items.map((item) => {
    const itemUrl = `${url}/Items/${encodeURIComponent(keyOf(item))}`;
    const editing = open.has(itemUrl);
    const edit = h('button', { class: 'link-button', type: 'button', testid: 'sync-item-edit' }, 'Edit');
    edit.addEventListener('click', () => {
      open.add(itemUrl);
      rerender();
    });
    const remove = h('button', { class: 'icon-button', type: 'button', title: 'Delete this item', 'aria-label': 'Delete this item', testid: 'sync-item-delete' }, '×');
    remove.addEventListener('click', () => act(remove, () => request(itemUrl, { method: 'DELETE', headers: { 'If-Match': item.revision } }), `Deleted item ${keyOf(item)}`));
    const close = h('button', { class: 'small ghost', type: 'button' }, 'Close');
    close.addEventListener('click', () => {
      open.delete(itemUrl);
      drafts.delete(itemUrl);
      rerender();
    });
    const data = editing
      ? editor(itemUrl, item, { onSaved: () => open.delete(itemUrl), extraButtons: [close] })
      : h('code', { class: 'sync-preview', testid: 'sync-item-data' }, JSON.stringify(item.data));
    return h(
      'tr',
      { testid: 'sync-item-row' },
      h('td', { class: 'mono', testid: 'sync-item-key' }, keyOf(item)),
      h('td', { class: 'sync-item-data' }, data),
      h('td', { class: 'mono', testid: 'sync-item-revision' }, item.revision),
      h('td', { class: 'muted nowrap' }, when(item.date_updated)),
      h('td', { class: 'muted nowrap' }, item.date_expires ? when(item.date_expires) : 'never'),
      h('td', { class: 'nowrap' }, editing ? null : edit, remove),
    );
  });
  return card(
    `Items`,
    h('span', { class: 'muted' }, isMap ? 'ordered by key' : 'ordered by index; indexes are never reused'),
    items.length ? table([isMap ? 'Key' : 'Index', 'Data', 'Revision', 'Updated', 'Expires', ''], rows, { testid: 'sync-items' }) : empty('sync-no-items', 'No items yet'),
    newItemForm(url, o, isMap),
  );
}

function newItemForm(url, o, isMap) {
  const key = isMap ? control('input', `new:key:${o.sid}`, '', { placeholder: 'key', testid: 'sync-new-key' }) : null;
  const ttl = control('input', `new:ttl:${o.sid}`, '', { placeholder: 'TTL seconds (optional)', class: 'sync-ttl', testid: 'sync-new-ttl' });
  const add = h('button', { class: 'small primary', type: 'button', testid: 'sync-add-item' }, isMap ? 'Add item' : 'Append item');
  const data = jsonField(`new:item:${o.sid}`, '{}', [add]);
  add.addEventListener('click', () =>
    act(
      add,
      async () => {
        const form = { Data: dataOf(data.area) };
        if (isMap) form.Key = valueOf(key);
        if (typedIn(ttl)) form.ItemTtl = typedIn(ttl);
        await request(`${url}/Items`, { method: 'POST', form });
      },
      'Item added',
      [key, ttl, data.area],
    ),
  );
  return h('div', { class: 'sync-form', testid: 'sync-new-item' }, data.field, h('div', { class: 'inline-form' }, key, ttl, add));
}

function streamView(url, stream) {
  const seen = messages.get(stream.sid) || [];
  const publish = h('button', { class: 'small primary', type: 'button', testid: 'sync-publish' }, 'Publish message');
  const data = jsonField(`new:message:${stream.sid}`, '{}', [publish]);
  publish.addEventListener('click', () => act(publish, () => request(`${url}/Messages`, { method: 'POST', form: { Data: dataOf(data.area) } }), 'Published'));
  const rows = seen.map((m) => h('tr', { testid: 'sync-message-row' }, h('td', null, sid(m.sid)), h('td', { class: 'mono sync-preview' }, JSON.stringify(m.data)), h('td', { class: 'muted nowrap' }, when(m.at))));
  return card(
    'Messages',
    h('span', { class: 'muted' }, 'published while this console is open (Twilio keeps none)'),
    rows.length ? table(['SID', 'Data', 'Received'], rows, { testid: 'sync-messages' }) : empty('sync-no-messages', 'No messages seen yet'),
    h('div', { class: 'sync-form' }, data.field, h('div', { class: 'inline-form' }, publish)),
  );
}

