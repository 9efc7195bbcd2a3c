// The console's phone: a simulated handset beside the Phone page. The shell holds what every
// way of using it shares — the handset's own number and the account's number it talks to —
// and shows its panels (texting and calling, added with `addHandsetPanel`). It is built
// once and kept, so a re-rendered page gets it back as it was: typed text, thread, scroll.

import { h, fill } from './dom.js';

/** Any number the account does not own is a handset; this one is offered first. */
const DEFAULT_HANDSET = '+14155550100';
const SAVED = 'twirl.handset';

const panels = []; // { id, label, create(phone) → { element, changed(), shown() } }

/**
 * Adds a panel to the handset. `create(phone)` is called once, with the handset (`phone.from`,
 * `phone.to`, `phone.numbers` are current whenever read); it returns `{ element, changed }`,
 * where `changed()` is called after either number changed. `shown()`, when given, runs each time
 * the panel is put back on screen.
 */
export function addHandsetPanel(panel) {
  panels.push(panel);
}

const saved = (() => {
  try {
    return JSON.parse(localStorage.getItem(SAVED)) || {};
  } catch {
    return {};
  }
})();

/** The handset's state, read by its panels. */
const phone = {
  from: saved.from || DEFAULT_HANDSET,
  to: saved.to || '',
  numbers: [], // IncomingPhoneNumber resources
  panel: '',
};

let root = null;
const built = new Map(); // panel id → what create() returned
let head, fromInput, toSlot, warningSlot, tabs, body;

function remember() {
  try {
    localStorage.setItem(SAVED, JSON.stringify({ from: phone.from, to: phone.to }));
  } catch {
    /* private mode: not remembered */
  }
}

function changed() {
  remember();
  for (const p of built.values()) p.changed();
  drawHead();
}

/** Points the handset at `number` (one of the account's) and shows the panel `panelId`. */
export function talkTo(number, panelId) {
  if (number && number !== phone.to) {
    phone.to = number;
    changed();
  }
  if (panelId) show(panelId);
}

function show(id) {
  phone.panel = id;
  drawTabs();
  const p = built.get(id);
  fill(body, p.element);
  p.shown?.();
}

/** Whether a number's friendly name says more than the number (the default is the number, formatted). */
const named = (n) => /[a-z]/i.test(n.friendly_name);

/** The head is built once: redrawing the field being typed in would drop what was typed
 *  before its change event (a message arriving redraws the page at any moment). */
function buildHead() {
  const from = h('input', {
    id: 'handset-from',
    testid: 'handset-from',
    value: phone.from,
    inputmode: 'tel',
    autocomplete: 'off',
    spellcheck: 'false',
    title: 'Any number the account does not own is a simulated handset',
    onchange: (e) => {
      phone.from = e.target.value.trim();
      changed();
    },
  });
  fromInput = from;
  toSlot = h('span', { class: 'handset-to-slot' });
  warningSlot = h('div', { class: 'handset-warning-slot' });
  fill(
    head,
    h('label', { class: 'handset-field' }, h('span', null, 'This phone'), from),
    h('label', { class: 'handset-field' }, h('span', null, 'Talking to'), toSlot),
    warningSlot,
  );
}

function drawHead() {
  const owned = phone.numbers.map((n) => n.phone_number);
  if (document.activeElement !== fromInput) fromInput.value = phone.from;
  fill(
    toSlot,
    owned.length
      ? h(
          'select',
          { id: 'handset-to', testid: 'handset-to', value: phone.to, onchange: (e) => talkTo(e.target.value) },
          phone.numbers.map((n) => h('option', { value: n.phone_number, title: n.friendly_name }, named(n) ? `${n.friendly_name} · ${n.phone_number}` : n.phone_number)),
        )
      : h('span', { class: 'muted small', testid: 'handset-no-numbers' }, 'no numbers yet'),
  );
  fill(
    warningSlot,
    owned.includes(phone.from)
      ? h('div', { class: 'handset-warning', testid: 'handset-owned', role: 'alert' }, `${phone.from} is one of the account’s numbers; a handset is any other number.`)
      : null,
  );
}

function drawTabs() {
  tabs.hidden = panels.length < 2;
  fill(
    tabs,
    panels.map((p) =>
      h('button', { type: 'button', class: `tab ${phone.panel === p.id ? 'active' : ''}`, testid: `handset-tab-${p.id}`, onclick: () => show(p.id) }, p.label),
    ),
  );
}

/** The page is redrawn around the handset, which takes it out of the document for a moment and
 *  so out of focus: a field being typed in gets the focus back, with its selection, once the
 *  handset is back (without scrolling to it: the page may have scrolled elsewhere). The insertion
 *  is observed, so the focus is back before the next key press is handled (a frame later, keys
 *  typed meanwhile were lost); the page is put in place within the task that built it, so
 *  observing stops after a frame, whether or not the handset is shown again. */
function keepFocus() {
  const el = document.activeElement;
  if (!root || !root.contains(el) || !el.matches('input, textarea, select')) return;
  const selection = el.matches('input[type="text"], input:not([type]), textarea') ? [el.selectionStart, el.selectionEnd] : null;
  const back = new MutationObserver(() => {
    if (!root.isConnected) return;
    back.disconnect();
    if (root.contains(document.activeElement)) return;
    el.focus({ preventScroll: true });
    if (selection) el.setSelectionRange(...selection);
  });
  back.observe(document.body, { childList: true, subtree: true });
  requestAnimationFrame(() => back.disconnect());
}

/** The handset, up to date with the account's `numbers`; the same element every time. */
export function handset(numbers) {
  keepFocus();
  phone.numbers = numbers;
  const owned = numbers.map((n) => n.phone_number);
  const to = owned.includes(phone.to) ? phone.to : owned[0] || '';
  if (!root) {
    head = h('div', { class: 'handset-head' });
    buildHead();
    tabs = h('div', { class: 'handset-tabs tabs' });
    body = h('div', { class: 'handset-body' });
    root = h('aside', { class: 'handset', testid: 'handset', 'aria-label': 'Simulated phone' }, h('div', { class: 'handset-notch', 'aria-hidden': 'true' }), head, tabs, body);
    phone.to = to;
    for (const p of panels) built.set(p.id, p.create(phone));
    show(panels[0].id);
  } else if (to !== phone.to) {
    phone.to = to;
    changed();
  } else {
    built.get(phone.panel).shown?.();
  }
  drawHead();
  return root;
}
