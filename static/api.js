// The console's view of the server: its session, the APIs with the account's credentials (the
// Serverless API at /v1, the 2010 API, control endpoints), and an index of services,
// environments and functions that the navigation and log panel use.

export const session = { account_sid: '', auth_token: '', live: null };

export class ApiError extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function loadSession() {
  const r = await fetch('/_twirl/session', { cache: 'no-store' });
  if (!r.ok) throw new ApiError(`The console session is not available (HTTP ${r.status})`, r.status);
  Object.assign(session, await r.json());
}

/** Why a build failed (npm's output, or the runtime it could not use); null if it did not. */
export async function failureReason(buildSid) {
  const r = await fetch(`/_twirl/builds/${buildSid}`, { cache: 'no-store' });
  return r.ok ? (await r.json()).failure_reason : null;
}

export async function loadLive() {
  const r = await fetch('/_twirl/live', { cache: 'no-store' });
  return r.ok ? r.json() : null;
}

function authHeader() {
  return 'Basic ' + btoa(`${session.account_sid}:${session.auth_token}`);
}

/** Calls `url` (a path on this server) as the account; `form` (an object or array of pairs) is
 *  sent form-encoded, `headers` (such as `If-Match`) with it. Answers the JSON body, or throws an
 *  ApiError with Twilio's message. */
export async function request(url, { method = 'GET', form, headers: extra } = {}) {
  const headers = { Authorization: authHeader(), Accept: 'application/json', ...extra };
  let body;
  if (form) {
    body = new URLSearchParams(Array.isArray(form) ? form : Object.entries(form)).toString();
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
  }
  const r = await fetch(url, { method, headers, body, cache: 'no-store' });
  if (r.status === 204) return null;
  const text = await r.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  if (!r.ok) {
    const message = (json && json.message) || text || r.statusText;
    throw new ApiError(message, r.status, json && json.code);
  }
  return json;
}

/** Calls `/v1{path}` (the Serverless API). */
export function api(path, options) {
  return request(path.startsWith('/v1/') ? path : '/v1' + path, options);
}

/** Calls `/2010-04-01/Accounts/{AC}{path}` (numbers, messages). */
export function core(path, options) {
  return request(`/2010-04-01/Accounts/${session.account_sid}${path}`, options);
}

/** Every item of a list, following `meta.next_page_url`; `path` is the Serverless API's, or a
 *  whole path under another product's mount (`/sync/v1/…`). */
export async function list(path, query) {
  const items = [];
  const sep = path.includes('?') ? '&' : '?';
  let next = `${path}${sep}PageSize=100${query ? '&' + query : ''}`;
  for (let pages = 0; next && pages < 50; pages++) {
    const page = await (/^\/[^/]+\/v\d+\//.test(next) ? request(next) : api(next));
    items.push(...(page[page.meta.key] || []));
    const n = page.meta.next_page_url;
    next = n ? new URL(n, location.href).pathname + new URL(n, location.href).search : null;
  }
  return items;
}

/** Services with their environments and functions, plus lookups by SID. */
export const index = {
  services: [],
  service: new Map(),
  env: new Map(), // ZE → { env, service }
  fn: new Map(), // ZH → { fn, service }
  loaded: false,
};

export async function loadIndex() {
  const services = await list('/Services');
  await Promise.all(
    services.map(async (s) => {
      const [envs, fns] = await Promise.all([
        list(`/Services/${s.sid}/Environments`).catch(() => []),
        list(`/Services/${s.sid}/Functions`).catch(() => []),
      ]);
      s.environments = envs;
      s.functions = fns;
    }),
  );
  services.sort((a, b) => isLive(b) - isLive(a) || a.unique_name.localeCompare(b.unique_name));
  index.services = services;
  index.service = new Map(services.map((s) => [s.sid, s]));
  index.env = new Map(services.flatMap((s) => s.environments.map((e) => [e.sid, { env: e, service: s }])));
  index.fn = new Map(services.flatMap((s) => s.functions.map((f) => [f.sid, { fn: f, service: s }])));
  index.loaded = true;
}

export function isLive(service) {
  return !!(session.live && service && session.live.service_sid === service.sid);
}

export function isLiveEnv(env) {
  return !!(session.live && env && session.live.environment_sid === env.sid);
}
