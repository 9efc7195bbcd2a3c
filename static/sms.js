// The handset's texting panel: the conversation between the handset and the number it talks
// to, kept current by the event stream (each reply appears and moves through its statuses as
// it happens), and a box to text the number through the phone network's control endpoint. What
// each text caused — the webhook request, alerts — is shown under it.

import { request } from './api.js';
import { liveEvents } from './live.js';
import { h, fill, clock } from './dom.js';

const OK_STATUSES = new Set(['received', 'delivered', 'read']);
const FAILED_STATUSES = new Set(['failed', 'undelivered', 'canceled']);

function create(phone) {
  const thread = new Map(); // sid → Message resource, in arrival order
  const notes = new Map(); // sid → { webhook, alerts: [] } for the handset's own texts
  const errors = []; // texts that were refused, shown at the end of the thread
  let loaded = null; // `from|to` the thread was loaded for
  let stickToBottom = true;
  let scrollTop = 0;

  const list = h('div', {
    class: 'thread',
    testid: 'handset-thread',
    role: 'log',
    'aria-live': 'polite',
    onscroll: () => {
      stickToBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 24;
      scrollTop = list.scrollTop;
    },
  });
  const text = h('textarea', {
    id: 'handset-body',
    testid: 'handset-body',
    rows: 2,
    placeholder: 'Text message',
    'aria-label': 'Text message',
    onkeydown: (e) => {
      if (e.key === 'Enter' && !e.shiftKey) {
        e.preventDefault();
        send();
      }
    },
  });
  const media = h('input', { id: 'handset-media', testid: 'handset-media', type: 'url', placeholder: 'https://…/picture.png', 'aria-label': 'Media URL', hidden: true, spellcheck: 'false' });
  const mediaToggle = h('button', {
    type: 'button',
    class: 'icon-button attach',
    testid: 'handset-attach',
    title: 'Attach a media URL (MMS)',
    'aria-label': 'Attach a media URL',
    onclick: () => {
      media.hidden = !media.hidden;
      if (!media.hidden) media.focus();
    },
  }, '+');
  const sendButton = h('button', { type: 'submit', class: 'primary', testid: 'handset-send' }, 'Send');
  const element = h(
    'div',
    { class: 'sms-panel' },
    list,
    h('form', { class: 'compose', onsubmit: (e) => { e.preventDefault(); send(); } }, media, h('div', { class: 'compose-line' }, mediaToggle, text, sendButton)),
  );

  const involved = (m) => (m.from === phone.from && m.to === phone.to) || (m.from === phone.to && m.to === phone.from);
  const key = () => `${phone.from}|${phone.to}`;

  async function load() {
    const want = key();
    loaded = want;
    thread.clear();
    errors.length = 0;
    draw();
    if (!phone.to) return;
    const path = `/_twirl/phone/handsets/${encodeURIComponent(phone.from)}/conversation?With=${encodeURIComponent(phone.to)}`;
    try {
      const got = await request(path);
      if (loaded !== want) return; // the numbers changed meanwhile
      // Messages the stream brought while loading are newer than the list: keep them after it.
      const live = [...thread.values()];
      thread.clear();
      for (const m of got.messages) thread.set(m.sid, m);
      for (const m of live) thread.set(m.sid, m);
      for (const a of got.alerts) note(a.resource_sid).alerts.push(a);
    } catch (e) {
      errors.push(`The conversation could not be loaded: ${e.message}`);
    }
    stickToBottom = true;
    draw();
  }

  function note(sid) {
    let n = notes.get(sid);
    if (!n) notes.set(sid, (n = { webhook: null, alerts: [] }));
    return n;
  }

  function addAlerts(alerts) {
    for (const a of alerts) {
      if (!a.resource_sid) continue;
      const n = note(a.resource_sid);
      if (!n.alerts.some((x) => x.sid === a.sid)) n.alerts.push(a);
    }
  }

  async function send() {
    const body = text.value;
    const mediaUrl = media.hidden ? '' : media.value.trim();
    if (!body.trim() && !mediaUrl) {
      text.focus();
      return;
    }
    if (!phone.to) {
      errors.push('The account has no number to text: add one on the left.');
      draw();
      return;
    }
    text.value = '';
    media.value = '';
    media.hidden = true;
    stickToBottom = true;
    const form = [['From', phone.from], ['To', phone.to], ['Body', body]];
    if (mediaUrl) form.push(['MediaUrl', mediaUrl]);
    try {
      const turn = await request('/_twirl/phone/messages', { method: 'POST', form });
      thread.set(turn.message.sid, turn.message);
      note(turn.message.sid).webhook = turn.webhook;
      addAlerts(turn.alerts);
      for (const m of turn.replies) if (involved(m)) thread.set(m.sid, m);
    } catch (e) {
      errors.push(`Not sent: ${e.message}${e.code ? ` (${e.code})` : ''}`);
      if (!text.value) text.value = body;
    }
    draw();
  }

  function bubble(m) {
    const mine = m.from === phone.from;
    const n = notes.get(m.sid);
    const status = m.status;
    const statusClass = FAILED_STATUSES.has(status) ? 'failed' : OK_STATUSES.has(status) ? 'done' : 'pending';
    return h(
      'div',
      { class: `bubble-row ${mine ? 'mine' : 'theirs'} ${statusClass}`, testid: 'handset-message', 'data-sid': m.sid, 'data-status': status, 'data-direction': m.direction },
      h(
        'div',
        { class: 'bubble' },
        m.body ? h('span', { class: 'bubble-text' }, m.body) : null,
        Number(m.num_media) > 0 ? h('span', { class: 'bubble-media' }, `${m.num_media} media`) : null,
      ),
      h(
        'div',
        { class: 'bubble-meta' },
        h('span', null, clock(m.date_sent || m.date_created)),
        h('span', { class: `bubble-status ${statusClass}`, testid: 'handset-message-status' }, status),
        m.error_code ? h('span', { class: 'bubble-error' }, `${m.error_code} ${m.error_message || ''}`.trim()) : null,
        h('a', { href: `#/phone/messages/${m.sid}`, class: 'bubble-link' }, 'details'),
      ),
      n && n.webhook ? webhookNote(n.webhook) : null,
      n ? n.alerts.map(alertNote) : null,
    );
  }

  function webhookNote(w) {
    const ok = w.status && w.status < 400;
    return h(
      'div',
      { class: `bubble-note ${ok ? 'ok' : 'bad'}`, testid: 'handset-webhook' },
      `${w.method} ${w.url} → ${w.status || 'no answer'} · ${Math.round(w.duration_ms)} ms`,
    );
  }

  function alertNote(a) {
    return h(
      'a',
      { class: `bubble-note alert ${a.log_level}`, testid: 'handset-alert', href: `#/phone/alerts/${a.sid}`, title: 'Open the alert' },
      `${a.log_level === 'warning' ? 'Warning' : 'Alert'} ${a.error_code}: ${a.alert_text}`,
    );
  }

  function draw() {
    const items = [...thread.values()].map(bubble);
    if (!items.length && !errors.length) {
      items.push(
        h(
          'div',
          { class: 'thread-empty', testid: 'handset-empty' },
          phone.to ? `Text ${phone.to}: its webhook answers here.` : 'The account has no phone numbers yet.',
        ),
      );
    }
    for (const e of errors) items.push(h('div', { class: 'bubble-note bad refused', testid: 'handset-error' }, e));
    fill(list, items);
    restoreScroll();
  }

  function restoreScroll() {
    // After a move in the page the list was off screen and lost its scroll position.
    requestAnimationFrame(() => {
      list.scrollTop = stickToBottom ? list.scrollHeight : scrollTop;
    });
  }

  liveEvents.addEventListener('message', (e) => {
    const m = e.detail.message;
    if (!involved(m)) return;
    thread.set(m.sid, m);
    draw();
  });
  liveEvents.addEventListener('alert', (e) => {
    const a = e.detail;
    if (!thread.has(a.resource_sid)) return;
    addAlerts([a]);
    draw();
  });
  liveEvents.addEventListener('reconnect', load);

  load();
  return {
    element,
    changed: () => {
      if (key() !== loaded) load();
    },
    shown: restoreScroll,
  };
}

/** The texting panel, for `addHandsetPanel`. */
export const smsPanel = { id: 'sms', label: 'Messages', create };
