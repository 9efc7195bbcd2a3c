// The handset's calling panel: a keypad that calls the number the handset talks to, then presses
// keys, says words, stays silent or hangs up, with the live transcript of the call (what is said,
// the webhooks made, what it waits for, the alerts raised). It drives the call through the phone
// network's control endpoints, as tests do (/_twirl/phone/calls…). Every call, with its status
// history and requests, is in the Phone page's Calls section (phone.js), which shows transcripts
// with `transcriptLine` from here.

import { request } from './api.js';
import { liveEvents } from './live.js';
import { h, fill } from './dom.js';

/** A phone's keys, with the letters printed under them. */
const KEYS = [['1', ''], ['2', 'ABC'], ['3', 'DEF'], ['4', 'GHI'], ['5', 'JKL'], ['6', 'MNO'], ['7', 'PQRS'], ['8', 'TUV'], ['9', 'WXYZ'], ['*', ''], ['0', '+'], ['#', '']];
/** The statuses a call ends in. */
export const ENDED = new Set(['completed', 'busy', 'no-answer', 'failed', 'canceled']);

/** What a transcript line says, by verb; a verb not listed shows its name alone. */
const LINE_TEXT = {
  say: (l) => l.text,
  play: (l) => (l.digits ? `tones ${l.digits}` : l.url),
  pause: (l) => `${l.length} s`,
  webhook: (l) => `${l.method} ${l.url} → ${l.status ?? l.error}${l.duration_ms != null ? ` · ${Math.round(l.duration_ms)} ms` : ''}`,
  input: (l) => (l.timeout ? '(silence)' : [l.digits, l.speech && `“${l.speech}”`].filter(Boolean).join(' ')),
  gather: (l) => `waits for ${(l.input || []).join(' or ')}`,
  record: (l) => `up to ${l.max_length} s${l.finish_on_key ? `, ${l.finish_on_key} stops` : ''}`,
  recording: (l) => (l.empty ? 'nothing recorded' : `${l.duration} s saved as ${l.recording_sid}`),
  dial: (l) => (l.targets || []).map((t) => t.to || t.name).join(', '),
  'dial-ended': (l) => l.dial_call_status,
  'send-digits': (l) => l.digits,
  hangup: (l) => [l.by && `by ${l.by}`, l.reason].filter(Boolean).join(': '),
  reject: (l) => l.reason,
  ignored: (l) => l.reason,
  redirect: (l) => l.url || 'by the API',
};

/** Who a line comes from: the call speaking (`theirs`), the handset (`mine`), or neither (`note`). */
const side = (verb) => (['say', 'play', 'pause'].includes(verb) ? 'theirs' : verb === 'input' ? 'mine' : 'note');

/** One line of a call's transcript, as the handset and a call's page show it. */
export function transcriptLine(l) {
  const text = LINE_TEXT[l.verb]?.(l) ?? '';
  const failed = l.verb === 'webhook' && !(l.status && l.status < 400);
  return h(
    'li',
    { class: `call-line ${side(l.verb)} verb-${l.verb} ${failed ? 'bad' : ''}`, testid: 'call-line', 'data-verb': l.verb },
    h('span', { class: 'call-verb' }, l.verb === 'webhook' && l.purpose !== 'twiml' ? l.purpose : l.verb),
    ' ',
    h('span', { class: 'call-text' }, text),
  );
}

/** What a call waits for (`awaiting` of its state), in words. */
export function awaitingText(a) {
  if (!a) return 'The call has ended.';
  if (a.verb === 'gather') return `Waiting for ${a.input.join(' or ')}${a.num_digits ? ` (${a.num_digits} key${a.num_digits > 1 ? 's' : ''})` : ''}`;
  if (a.verb === 'record') return 'Recording: say something, or press a key to stop';
  if (a.verb === 'dial') return `Connected to ${a.to || a.conference || a.queue || ''}${a.ringing ? ' (ringing)' : ''}`;
  if (a.verb === 'ringing') return 'Ringing';
  return `Waiting (${a.verb})`;
}

function create(phone) {
  let current = null; // the call shown: its state as the control endpoints answer it
  let busy = false; // a step of the call is under way
  let error = '';
  let seq = 0; // the latest load of the call's state: older answers are dropped
  let refreshTimer = null;
  let stickToBottom = true;
  let scrollTop = 0;

  const live = () => !!(current && current.awaiting);
  const path = (what = '') => `/_twirl/phone/calls/${current.call.sid}${what}`;

  const summary = h('div', { class: 'call-summary', testid: 'call-current' });
  const lines = h('ol', {
    class: 'transcript',
    testid: 'transcript',
    role: 'log',
    'aria-live': 'polite',
    onscroll: () => {
      stickToBottom = lines.scrollHeight - lines.scrollTop - lines.clientHeight < 24;
      scrollTop = lines.scrollTop;
    },
  });
  const keys = KEYS.map(([key, letters]) =>
    h('button', { type: 'button', class: 'key', testid: `key-${key}`, 'aria-label': `Key ${key}`, onclick: () => input({ Digits: key }) }, key, h('small', null, letters)),
  );
  const words = h('input', { id: 'call-words', testid: 'call-words', placeholder: 'Say something', 'aria-label': 'Words to say', autocomplete: 'off' });
  const sayButton = h('button', { type: 'submit', testid: 'call-say' }, 'Say');
  const silence = h('button', { type: 'button', testid: 'call-silence', title: 'Give no answer: what waits times out', onclick: () => input({}) }, 'Stay silent');
  const dialButton = h('button', { type: 'button', class: 'primary call-button', testid: 'call-dial', onclick: dial }, 'Call');
  const hangupButton = h('button', { type: 'button', class: 'danger call-button', testid: 'call-hangup', onclick: () => step(() => request(path('/hangup'), { method: 'POST' })) }, 'Hang up');
  const element = h(
    'div',
    { class: 'call-panel' },
    summary,
    lines,
    h(
      'div',
      { class: 'dialer', testid: 'dialer' },
      h('div', { class: 'keypad', testid: 'keypad' }, keys),
      h('form', { class: 'say-line', onsubmit: (e) => { e.preventDefault(); say(); } }, words, sayButton),
      h('div', { class: 'call-actions' }, silence, dialButton, hangupButton),
    ),
  );

  /** Keeps the call state `fetch()` answers (or why it failed), unless a later load started meanwhile. */
  async function load(fetch) {
    const mine = ++seq;
    try {
      const state = await fetch();
      if (mine === seq) current = state;
    } catch (e) {
      if (mine === seq) error = `${e.message}${e.code ? ` (${e.code})` : ''}`;
    }
  }

  /** Runs a step of the call (dial, keys, words, silence, hang up); its answer is where the call got to. */
  async function step(run) {
    busy = true;
    stickToBottom = true;
    error = '';
    draw();
    await load(run);
    busy = false;
    draw();
  }

  function dial() {
    if (!phone.to) {
      error = 'The account has no number to call: add one on the left.';
      draw();
      return;
    }
    current = null; // the last call's transcript gives way to this one's
    step(() => request('/_twirl/phone/calls', { method: 'POST', form: { From: phone.from, To: phone.to } }));
  }

  function input(form) {
    if (live()) step(() => request(path('/input'), { method: 'POST', form }));
  }

  function say() {
    const text = words.value.trim();
    if (!text || !live()) return words.focus();
    words.value = '';
    input({ SpeechResult: text });
  }

  /** The call changed elsewhere (a status callback's answer, the API, a timeout on the clock). */
  function refreshSoon() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      // A step under way answers with a newer state than this would.
      if (current && !busy) load(() => request(path())).then(draw);
    }, 150);
  }

  function drawSummary() {
    if (!current) {
      const text = busy ? `Calling ${phone.to}…` : phone.to ? `Call ${phone.to}: its voice webhook answers here.` : 'The account has no phone numbers yet.';
      fill(summary, h('span', { class: 'muted' }, text));
      return;
    }
    const c = current.call;
    const state = ENDED.has(c.status) ? 'ended' : 'live';
    fill(
      summary,
      h(
        'div',
        { class: 'call-line-head' },
        // The other end, with the way the call went.
        h('span', { class: 'mono' }, c.from === phone.from ? `→ ${c.to}` : `← ${c.from}`),
        h('span', { class: `call-status ${state}`, testid: 'call-status' }, c.status),
        h('a', { href: `#/phone/calls/${c.sid}`, class: 'bubble-link', testid: 'call-details' }, 'details'),
      ),
      h('div', { class: 'awaiting', testid: 'call-awaiting' }, busy ? '…' : awaitingText(current.awaiting)),
    );
  }

  function drawTranscript() {
    const items = current ? current.transcript.map(transcriptLine) : [];
    if (current) items.push(current.alerts.map(alertLine));
    if (error) items.push(h('li', { class: 'bubble-note bad refused', testid: 'call-error' }, error));
    fill(lines, items);
    restoreScroll();
  }

  function alertLine(a) {
    return h(
      'li',
      { class: 'call-line note' },
      h('a', { class: `bubble-note alert ${a.log_level}`, testid: 'call-alert', href: `#/phone/alerts/${a.sid}`, title: 'Open the alert' }, `${a.log_level === 'warning' ? 'Warning' : 'Alert'} ${a.error_code}: ${a.alert_text}`),
    );
  }

  function draw() {
    drawSummary();
    drawTranscript();
    // Only properties change: the words being typed, and the focus, stay.
    const canAct = live() && !busy;
    for (const b of [...keys, sayButton, silence, hangupButton]) b.disabled = !canAct;
    dialButton.disabled = busy;
    dialButton.hidden = live();
    hangupButton.hidden = !live();
  }

  function restoreScroll() {
    // After a move in the page the list was off screen and lost its scroll position.
    requestAnimationFrame(() => {
      lines.scrollTop = stickToBottom ? lines.scrollHeight : scrollTop;
    });
  }

  liveEvents.addEventListener('call', (e) => {
    const c = e.detail.call;
    if (current && (c.sid === current.call.sid || c.parent_call_sid === current.call.sid)) refreshSoon();
    // A call placed to this handset (by a function, say) rings here, unless another is under way.
    else if (!live() && !busy && c.to === phone.from && !c.parent_call_sid && !ENDED.has(c.status)) {
      current = { call: c, transcript: [], awaiting: null, alerts: [] };
      stickToBottom = true;
      refreshSoon();
    }
  });
  liveEvents.addEventListener('reconnect', () => {
    if (current) refreshSoon();
  });

  draw();
  return {
    element,
    changed: () => {
      // An ended call gives way to the new numbers (it stays on the Calls page); a live one is kept.
      if (!live()) current = null;
      draw();
    },
    shown: restoreScroll,
  };
}

/** The calling panel, for `addHandsetPanel`. */
export const callPanel = { id: 'call', label: 'Call', create };
