// The console's phone for calls: a dialer with a keypad that calls one of the account's numbers
// from a handset, the live transcript of the call (what is said, the webhooks made, what it waits
// for), and the latest calls with their status history, callbacks and alerts. It drives calls
// through the same control endpoints tests use (/_twirl/phone/calls…).

import { session } from './api.js';
import { h, fill } from './dom.js';

const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];
const state = { current: null, calls: [], numbers: [], from: '+14155550100', busy: false, error: '' };
let root = null;
let listening = false;

async function control(path, { method = 'GET', form } = {}) {
  const init = { method, cache: 'no-store', headers: { Accept: 'application/json' } };
  if (form) {
    init.body = new URLSearchParams(form).toString();
    init.headers['Content-Type'] = 'application/x-www-form-urlencoded';
  }
  const r = await fetch(`/_twirl/phone/${path}`, init);
  const json = await r.json();
  if (!r.ok) throw new Error(json.message || r.statusText);
  return json;
}

async function loadNumbers() {
  const r = await fetch(`/2010-04-01/Accounts/${session.account_sid}/IncomingPhoneNumbers.json?PageSize=100`, {
    headers: { Authorization: 'Basic ' + btoa(`${session.account_sid}:${session.auth_token}`) },
    cache: 'no-store',
  });
  state.numbers = r.ok ? (await r.json()).incoming_phone_numbers : [];
}

async function refresh() {
  state.calls = (await control('calls')).calls;
  if (state.current) state.current = await control(`calls/${state.current.call.sid}`);
  draw();
}

/** Runs a step of the call (dial, keys, words, silence, hang up) and shows where it got to. */
async function step(run) {
  state.busy = true;
  state.error = '';
  draw();
  try {
    state.current = await run();
    state.calls = (await control('calls')).calls;
  } catch (e) {
    state.error = e.message;
  }
  state.busy = false;
  draw();
}

function dial() {
  const to = root.querySelector('#call-to').value;
  state.from = root.querySelector('#call-from').value;
  step(() => control('calls', { method: 'POST', form: { From: state.from, To: to } }));
}

function input(form) {
  const sid = state.current.call.sid;
  step(() => control(`calls/${sid}/input`, { method: 'POST', form }));
}

function line(l) {
  const text = {
    say: () => l.text,
    play: () => l.digits ? `tones ${l.digits}` : l.url,
    pause: () => `${l.length} s`,
    webhook: () => `${l.method} ${l.url} → ${l.status ?? l.error}`,
    input: () => l.timeout ? '(silence)' : [l.digits, l.speech && `“${l.speech}”`].filter(Boolean).join(' '),
    gather: () => `waits for ${(l.input || []).join(' or ')}`,
    recording: () => l.empty ? 'nothing recorded' : `${l.duration} s saved as ${l.recording_sid}`,
    dial: () => (l.targets || []).map((t) => t.to || t.name).join(', '),
    'dial-ended': () => l.dial_call_status,
    hangup: () => l.by ? `by ${l.by}` : '',
    redirect: () => l.url || 'by the API',
  }[l.verb];
  return h('li', { class: `call-line verb-${l.verb}`, testid: 'call-line' },
    h('span', { class: 'call-verb' }, l.verb), ' ', h('span', { class: 'call-text' }, text ? text() : ''));
}

function awaitingText(a) {
  if (!a) return 'The call has ended.';
  if (a.verb === 'gather') return `Waiting for ${a.input.join(' or ')}${a.num_digits ? ` (${a.num_digits} key${a.num_digits > 1 ? 's' : ''})` : ''}`;
  if (a.verb === 'record') return 'Recording: say something, or press a key to stop';
  if (a.verb === 'dial') return `Connected to ${a.to || a.conference || a.queue || ''}${a.ringing ? ' (ringing)' : ''}`;
  return `Waiting (${a.verb})`;
}

function dialer() {
  const live = state.current && state.current.awaiting;
  const options = state.numbers.map((n) => h('option', { value: n.phone_number }, `${n.phone_number} ${n.friendly_name !== n.phone_number ? '' : ''}`));
  return h('div', { class: 'card dialer', testid: 'dialer' },
    h('h3', null, 'Handset'),
    h('label', null, 'From ', h('input', { id: 'call-from', value: state.from, size: 16 })),
    h('label', null, 'To ', state.numbers.length
      ? h('select', { id: 'call-to', testid: 'call-to' }, options)
      : h('input', { id: 'call-to', placeholder: '+1…', size: 16 })),
    h('button', { class: 'btn primary', testid: 'call-dial', disabled: state.busy || live, onclick: dial }, 'Call'),
    h('div', { class: 'keypad', testid: 'keypad' }, KEYS.map((k) =>
      h('button', { class: 'btn key', testid: `key-${k}`, disabled: !live || state.busy, onclick: () => input({ Digits: k }) }, k))),
    h('div', { class: 'say-row' },
      h('input', { id: 'call-say', placeholder: 'Say something…', disabled: !live }),
      h('button', { class: 'btn', testid: 'call-say', disabled: !live || state.busy, onclick: () => input({ SpeechResult: root.querySelector('#call-say').value }) }, 'Say')),
    h('div', { class: 'say-row' },
      h('button', { class: 'btn', testid: 'call-silence', disabled: !live || state.busy, onclick: () => input({}) }, 'Stay silent'),
      h('button', { class: 'btn danger', testid: 'call-hangup', disabled: !live || state.busy,
        onclick: () => step(() => control(`calls/${state.current.call.sid}/hangup`, { method: 'POST' })) }, 'Hang up')),
    state.error ? h('p', { class: 'error', testid: 'call-error' }, state.error) : null);
}

function currentCall() {
  const c = state.current;
  if (!c) return h('div', { class: 'card', testid: 'call-current' }, h('p', { class: 'muted' }, 'Call one of the account\'s numbers, or pick a call below.'));
  return h('div', { class: 'card', testid: 'call-current' },
    h('h3', null, `${c.call.from} → ${c.call.to} `, h('span', { class: 'badge', testid: 'call-status' }, c.call.status)),
    h('p', { class: 'awaiting', testid: 'call-awaiting' }, awaitingText(c.awaiting)),
    h('ol', { class: 'transcript', testid: 'transcript' }, c.transcript.map(line)),
    h('h4', null, 'Status history'),
    h('ul', { testid: 'call-events' }, c.events.map((e) => h('li', null, `${e.status} at ${e.at}${e.callback_url ? ` → ${e.callback_url} (${e.callback_status ?? e.callback_error})` : ''}`))),
    c.alerts.length ? h('div', null, h('h4', null, 'Alerts'),
      h('ul', { testid: 'call-alerts' }, c.alerts.map((a) => h('li', { class: 'error' }, `${a.error_code} ${a.alert_text}`)))) : null);
}

function callList() {
  return h('div', { class: 'card', testid: 'calls-list' },
    h('h3', null, 'Calls'),
    state.calls.length === 0 ? h('p', { class: 'muted' }, 'No calls yet') :
      h('table', { class: 'table' },
        h('thead', null, h('tr', null, ['Call', 'From', 'To', 'Direction', 'Status', 'Duration'].map((t) => h('th', null, t)))),
        h('tbody', null, state.calls.map((c) => h('tr', {
          class: 'clickable', testid: 'call-row',
          onclick: async () => { state.current = await control(`calls/${c.sid}`); draw(); },
        }, [c.sid, c.from, c.to, c.direction, c.status, c.duration ?? ''].map((t) => h('td', null, t)))))));
}

function draw() {
  if (!root) return;
  fill(root, h('div', { class: 'calls-grid' }, dialer(), currentCall()), callList());
}

/** The phone page for calls; it follows call events from the console's event stream. */
export async function callsView() {
  root = h('div', { class: 'page', testid: 'calls-view' });
  await Promise.all([loadNumbers(), refresh()]);
  if (!listening) {
    listening = true;
    const source = new EventSource('/_twirl/events');
    let pending = null;
    source.onmessage = (msg) => {
      if (!msg.data.includes('"type":"call"') || state.busy || pending) return;
      pending = setTimeout(() => { pending = null; if (document.body.contains(root)) refresh(); }, 150);
    };
  }
  draw();
  return root;
}
