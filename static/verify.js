// The console's Verify page: the account's Verify services with their settings, and for the one
// picked, its latest verifications as twirl keeps them — recipient, channel, status, the code, the
// checks made and the codes sent, out of Twilio's five each — and the mails Verify sent. It follows
// verification events from the console's event stream.

import { session } from './api.js';
import { h, fill, when } from './dom.js';

const state = { services: [], verifications: [], mails: [], error: '' };
let root = null;
let selected = null;
let listening = false;

async function verifyApi(path) {
  const r = await fetch(`/verify/v2${path}`, {
    headers: { Authorization: 'Basic ' + btoa(`${session.account_sid}:${session.auth_token}`), Accept: 'application/json' },
    cache: 'no-store',
  });
  const json = await r.json();
  if (!r.ok) throw new Error(json.message || r.statusText);
  return json;
}

async function control(path) {
  const r = await fetch(`/_twirl/verify/${path}`, { cache: 'no-store', headers: { Accept: 'application/json' } });
  const json = await r.json();
  if (!r.ok) throw new Error(json.message || r.statusText);
  return json;
}

async function load() {
  try {
    state.services = (await verifyApi('/Services?PageSize=100')).services;
    if (selected && !state.services.some((s) => s.sid === selected)) selected = null;
    if (!selected && state.services.length) selected = state.services[0].sid;
    state.verifications = selected ? (await control(`services/${selected}/verifications`)).verifications : [];
    const sids = new Set(state.verifications.map((v) => v.sid));
    state.mails = (await control('mails')).mails.filter((m) => sids.has(m.verification_sid));
    state.error = '';
  } catch (e) {
    state.error = e.message;
  }
}

// The badge colours the console uses for builds: pending like building, approved like completed.
const STATUS_KIND = { pending: 'status-building', approved: 'status-completed', max_attempts_reached: 'status-failed' };

function serviceList() {
  return h('div', { class: 'card', testid: 'verify-services' },
    h('h3', null, 'Verify services'),
    state.services.length === 0
      ? h('p', { class: 'muted', testid: 'verify-empty' }, 'No Verify services yet. Create one with client.verify.v2.services.create(…) or a fixture’s verify_services.')
      : h('table', { class: 'table' },
        h('thead', null, h('tr', null, ['Service', 'SID', 'Code length', 'Lookups', 'Landlines', 'Custom codes'].map((t) => h('th', null, t)))),
        h('tbody', null, state.services.map((s) => h('tr', {
          class: `clickable ${s.sid === selected ? 'selected' : ''}`, testid: 'verify-service-row',
          onclick: async () => { selected = s.sid; await load(); draw(); },
        },
        h('td', null, s.friendly_name), h('td', { class: 'mono' }, s.sid), h('td', null, String(s.code_length)),
        h('td', null, s.lookup_enabled ? 'on' : 'off'), h('td', null, s.skip_sms_to_landlines ? 'skipped' : 'texted'),
        h('td', null, s.custom_code_enabled ? 'allowed' : 'no'))))));
}

function verificationList() {
  const service = state.services.find((s) => s.sid === selected);
  if (!service) return null;
  return h('div', { class: 'card', testid: 'verifications' },
    h('h3', null, `Verifications of ${service.friendly_name}`),
    state.verifications.length === 0
      ? h('p', { class: 'muted' }, 'No verifications yet')
      : h('table', { class: 'table' },
        h('thead', null, h('tr', null, ['To', 'Channel', 'Status', 'Code', 'Checks', 'Sends', 'Expires', 'Started'].map((t) => h('th', null, t)))),
        h('tbody', null, state.verifications.map((v) => h('tr', { testid: 'verification-row' },
          h('td', { class: 'mono' }, v.to),
          h('td', null, v.channel),
          h('td', null, h('span', { class: `badge ${STATUS_KIND[v.status] || ''}`, testid: 'verification-status' }, v.status)),
          h('td', { class: 'mono', testid: 'verification-code' }, v.code),
          h('td', { testid: 'verification-checks', title: v.checks.map((c) => `${c.code} ${c.correct ? '✓' : '✗'}`).join(', ') }, `${v.checks.length}/5`),
          h('td', { testid: 'verification-sends', title: v.sends.map((a) => a.channel).join(', ') }, `${v.sends.length}/5`),
          h('td', { class: 'muted nowrap' }, when(v.expires_at)),
          h('td', { class: 'muted nowrap' }, when(v.date_created)))))));
}

function mailList() {
  if (!state.mails.length) return null;
  return h('div', { class: 'card', testid: 'verify-mails' },
    h('h3', null, 'Mails sent'),
    h('ul', null, state.mails.map((m) => h('li', { testid: 'verify-mail' },
      h('strong', null, m.subject), ` to ${m.to} from ${m.from_name} <${m.from}>: `, h('span', null, m.text)))));
}

function draw() {
  if (!root) return;
  fill(root,
    h('div', { class: 'page-head' }, h('h1', null, 'Verify')),
    state.error ? h('p', { class: 'error', testid: 'verify-error' }, state.error) : null,
    serviceList(), verificationList(), mailList());
}

/** The Verify page; it follows verification events from the console's event stream. */
export async function verifyView() {
  root = h('div', { class: 'page', testid: 'verify-view' });
  await load();
  if (!listening) {
    listening = true;
    const source = new EventSource('/_twirl/events');
    let pending = null;
    source.onmessage = (msg) => {
      if (!msg.data.includes('"type":"verification"') || pending) return;
      pending = setTimeout(async () => {
        pending = null;
        if (!document.body.contains(root)) return;
        await load();
        draw();
      }, 150);
    };
  }
  draw();
  return root;
}
