// Small DOM helpers: element building, formatting, common controls.

/** Creates an element. `attrs`: `class`, `testid`, `on<event>` handlers, `value`/`checked`
 *  (set as properties), anything else as an attribute (null/false = left out). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  let value;
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'testid') el.dataset.testid = v;
    else if (k === 'value') value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  if (value !== undefined) el.value = value;
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** `2026-01-02T03:04:05Z` → `2026-01-02 03:04:05` (local time). */
export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Time of day only. */
export function clock(iso) {
  return when(iso).slice(11);
}

/** A SID shown short, with the full one on hover and selectable. */
export function sid(value) {
  if (!value) return h('span', { class: 'muted' }, '—');
  return h('code', { class: 'sid', title: value }, value.slice(0, 6) + '…' + value.slice(-4));
}

export function badge(text, kind) {
  return h('span', { class: `badge ${kind || ''}` }, text);
}

export function visibilityBadge(v) {
  const value = String(v || '').toLowerCase();
  return badge(value, `vis-${value}`);
}

export function statusBadge(status) {
  return badge(status, `status-${status}`);
}

/** An empty-state box. */
export function empty(testid, title, text) {
  return h('div', { class: 'empty', testid }, h('div', { class: 'empty-title' }, title), text ? h('p', null, text) : null);
}

/** A table; a header given as `[text, className]` puts the class on that column's cells too
 *  (`optional`: hidden in narrow windows). */
export function table(headers, rows, attrs) {
  const columns = headers.map((x) => (Array.isArray(x) ? x : [x, null]));
  const el = h(
    'table',
    Object.assign({ class: 'table' }, attrs),
    h('thead', null, h('tr', null, columns.map(([text, cls]) => h('th', { class: cls }, text)))),
    h('tbody', null, rows),
  );
  columns.forEach(([, cls], i) => {
    if (cls) for (const row of el.tBodies[0].rows) if (row.cells.length === columns.length) row.cells[i].classList.add(cls);
  });
  return el;
}

export function card(title, actions, ...body) {
  return h(
    'section',
    { class: 'card' },
    h('header', { class: 'card-head' }, h('h2', null, title), h('div', { class: 'card-actions' }, actions)),
    h('div', { class: 'card-body' }, body),
  );
}

export function link(href, text, attrs) {
  return h('a', Object.assign({ href }, attrs), text);
}

/** `text` with a line-break opportunity after each `.`, `-`, `/`, `_`, `?`, `&` and `=`, so
 *  domains, paths and URLs wrap between their parts instead of mid-word. */
export function breakable(text) {
  return String(text)
    .split(/(?<=[./_?&=-])/)
    .flatMap((part, i) => (i ? [h('wbr'), part] : [part]));
}

/** A link that opens a deployed site in a new tab. */
export function siteLink(domain, path, attrs) {
  const href = `/${domain}${path || '/'}`;
  return h('a', Object.assign({ href, target: '_blank', rel: 'noopener', class: 'site-link' }, attrs), breakable(domain + (path && path !== '/' ? path : '')), h('span', { class: 'ext' }, ' ↗'));
}

const armed = new Set(); // keys of the confirm buttons waiting for their second click

/** A button for a destructive action: the first click arms it (it turns red and asks again for
 *  4 s), the second acts. `key` names what it acts on, so a redraw keeps it armed; `redraw()`
 *  redraws the page; `act(button)` does the action. */
export function confirmButton({ key, label, title, testid, redraw, act }) {
  const isArmed = armed.has(key);
  return h(
    'button',
    {
      class: `small ${isArmed ? 'danger' : 'ghost'}`,
      type: 'button',
      testid,
      title: isArmed ? 'Click again to confirm' : title,
      onclick: (e) => {
        if (armed.delete(key)) return act(e.currentTarget);
        armed.add(key);
        setTimeout(() => { if (armed.delete(key)) redraw(); }, 4000);
        redraw();
      },
    },
    isArmed ? 'Confirm' : label,
  );
}
