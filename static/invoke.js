// The invoke panel: calls a path of an environment's site with a method, parameters and
// headers, signs it when asked (on by default for protected functions) and shows the response.

import { session } from './api.js';
import { h, fill } from './dom.js';
import { signature } from './sign.js';

// Panel state per environment and function, so re-renders keep what was typed and the answer.
const panels = new Map();

/**
 * `key`: what the state is kept under; `domain`: the environment's domain name; `path`: the
 * initial path; `routes`: [{path, visibility}] of the active build (to know what is protected).
 */
export function invokePanel({ key, domain, path, routes }) {
  let st = panels.get(key);
  if (!st) {
    st = { method: 'GET', path: path || '/', params: [['', '']], headers: [], sign: null, busy: false, response: null };
    panels.set(key, st);
  }
  const root = h('div', { class: 'invoke', testid: 'invoke-panel' });
  const request = h('div', { class: 'invoke-request' });
  const response = h('div', { class: 'invoke-response', testid: 'invoke-response' });

  const visibilityOf = (p) => {
    const bare = p.split('?')[0];
    const r = (routes || []).find((x) => x.path === bare);
    return r ? String(r.visibility).toLowerCase() : null;
  };
  const signing = () => (st.sign == null ? visibilityOf(st.path) === 'protected' : st.sign);

  function kvEditor(title, rows, testid, placeholder) {
    return h(
      'div',
      { class: 'kv', testid },
      h(
        'div',
        { class: 'kv-head' },
        h('span', { class: 'label' }, title),
        h('button', { class: 'link-button', type: 'button', testid: `${testid}-add`, onclick: () => { rows.push(['', '']); drawRequest(); } }, '+ Add'),
      ),
      rows.length === 0 ? h('div', { class: 'kv-none muted' }, 'None') : null,
      rows.map((row, i) =>
        h(
          'div',
          { class: 'kv-row' },
          h('input', { class: 'kv-key', id: `${testid}-${i}-name`, placeholder: placeholder[0], value: row[0], 'aria-label': `${title} name`, oninput: (e) => { row[0] = e.target.value; } }),
          h('input', { class: 'kv-value', id: `${testid}-${i}-value`, placeholder: placeholder[1], value: row[1], 'aria-label': `${title} value`, oninput: (e) => { row[1] = e.target.value; } }),
          h('button', { class: 'icon-button', type: 'button', title: 'Remove', 'aria-label': 'Remove', onclick: () => { rows.splice(i, 1); drawRequest(); } }, '×'),
        ),
      ),
    );
  }

  function drawRequest() {
    const vis = visibilityOf(st.path);
    const signBox = h('input', {
      type: 'checkbox',
      testid: 'invoke-sign',
      checked: signing(),
      onchange: (e) => { st.sign = e.target.checked; },
    });
    fill(
      request,
      h('div', { class: 'invoke-site' }, h('span', { class: 'label' }, 'Site'), h('code', { title: `Requests go to ${location.origin}/${domain}…` }, `${location.host}/${domain}`)),
      h(
        'form',
        { class: 'invoke-line', onsubmit: (e) => { e.preventDefault(); send(); } },
        h('select', { id: 'invoke-method', testid: 'invoke-method', 'aria-label': 'Method', value: st.method, onchange: (e) => { st.method = e.target.value; drawRequest(); } },
          h('option', { value: 'GET' }, 'GET'), h('option', { value: 'POST' }, 'POST')),
        h('input', {
          class: 'invoke-path',
          id: 'invoke-path',
          testid: 'invoke-path',
          'aria-label': 'Path',
          value: st.path,
          spellcheck: 'false',
          oninput: (e) => {
            st.path = e.target.value;
            if (st.sign == null) signBox.checked = signing();
            visNote.textContent = note(visibilityOf(st.path));
          },
        }),
        h('button', { class: 'primary', type: 'submit', testid: 'invoke-send', disabled: st.busy }, st.busy ? 'Sending…' : 'Send'),
      ),
      kvEditor(st.method === 'GET' ? 'Query parameters' : 'Form parameters', st.params, 'invoke-params', ['name', 'value']),
      kvEditor('Headers', st.headers, 'invoke-headers', ['Header-Name', 'value']),
      h('label', { class: 'check' }, signBox, ' Sign with ', h('code', null, 'X-Twilio-Signature'), ' ', (visNote = h('span', { class: 'muted' }, note(vis)))),
    );
  }
  let visNote;
  const note = (vis) => (vis ? `(${vis} function)` : '');

  function drawResponse() {
    const r = st.response;
    if (!r) {
      fill(response, h('div', { class: 'invoke-idle muted' }, 'Send a request to see the status, headers and body of the response here.'));
      return;
    }
    if (r.error) {
      fill(response, h('div', { class: 'invoke-status' }, h('span', { class: 'http-status s5', testid: 'invoke-status' }, 'Request failed')), h('pre', { class: 'body', testid: 'invoke-body' }, r.error));
      return;
    }
    const cls = `http-status s${String(r.status)[0]}`;
    fill(
      response,
      h(
        'div',
        { class: 'invoke-status' },
        h('span', { class: cls, testid: 'invoke-status' }, `${r.status} ${r.statusText}`.trim()),
        h('span', { class: 'muted' }, `${r.method} ${r.url}`),
        h('span', { class: 'muted' }, `${r.ms} ms · ${r.size} bytes`),
        r.signed ? h('span', { class: 'badge vis-protected', title: 'Sent with X-Twilio-Signature' }, 'signed') : null,
      ),
      h('pre', { class: 'body', testid: 'invoke-body' }, r.body === '' ? h('span', { class: 'muted' }, '(empty body)') : r.body),
      h(
        'details',
        { class: 'headers', testid: 'invoke-headers-out', open: !!st.headersOpen, ontoggle: (e) => { st.headersOpen = e.target.open; } },
        h('summary', null, `Response headers (${r.headers.length})`),
        h('table', { class: 'table compact' }, h('tbody', null, r.headers.map(([k, v]) => h('tr', null, h('td', { class: 'mono' }, k), h('td', { class: 'mono' }, v))))),
      ),
    );
  }

  async function send() {
    if (st.busy) return;
    st.busy = true;
    st.redraw();
    const params = st.params.filter(([k]) => k.trim() !== '');
    const path = st.path.startsWith('/') ? st.path : '/' + st.path;
    const url = new URL(`/${domain}${path}`, location.origin);
    const init = { method: st.method, headers: {}, cache: 'no-store' };
    if (st.method === 'GET') {
      for (const [k, v] of params) url.searchParams.append(k, v);
    } else {
      init.body = new URLSearchParams(params).toString();
      init.headers['Content-Type'] = 'application/x-www-form-urlencoded';
    }
    for (const [k, v] of st.headers) if (k.trim()) init.headers[k.trim()] = v;
    const signed = signing();
    try {
      if (signed) {
        const signedParams = st.method === 'GET' ? [] : params;
        init.headers['X-Twilio-Signature'] = await signature(session.auth_token, url.href, signedParams);
      }
      const started = performance.now();
      const res = await fetch(url.href, init);
      const buf = await res.arrayBuffer();
      const ms = Math.round(performance.now() - started);
      const type = res.headers.get('content-type') || '';
      let body;
      if (/json|text|xml|javascript|html|css|csv|urlencoded/.test(type) || type === '') {
        body = new TextDecoder().decode(buf);
        if (type.includes('json')) {
          try {
            body = JSON.stringify(JSON.parse(body), null, 2);
          } catch {
            /* shown as sent */
          }
        }
      } else {
        body = `(${type}, ${buf.byteLength} bytes)`;
      }
      st.response = {
        method: st.method,
        url: url.pathname + url.search,
        status: res.status,
        statusText: res.statusText,
        headers: [...res.headers.entries()],
        body,
        size: buf.byteLength,
        ms,
        signed,
      };
    } catch (e) {
      st.response = { error: String(e && e.message ? e.message : e) };
    }
    st.busy = false;
    st.redraw();
  }

  // The newest panel built for this state draws (an older one may be gone after a re-render).
  st.redraw = () => {
    drawRequest();
    drawResponse();
  };
  st.redraw();
  root.append(request, response);
  return root;
}
