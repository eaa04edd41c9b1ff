// api.js: the one way the pages talk to the flashsale API: a fetch wrapper
// that sends JSON and the right token, turns error answers into ApiError
// with a message for people, keeps the user's tokens (localStorage) and the
// admin token (sessionStorage), and tracks the server clock.

const ACCESS = 'flash.access_token';
const REFRESH = 'flash.refresh_token';
const ADMIN = 'flash.admin_token';

// What a shopper reads for each error code of API.md.
const MESSAGES = {
  bad_request: 'That request was not valid.',
  unauthorized: 'Please log in first.',
  not_started: 'The sale has not started yet.',
  ended: 'The sale has ended.',
  bad_secret: 'Your order ticket was refused; please try again.',
  banned: 'You can no longer order in this sale (too many cancelled or expired orders).',
  forbidden: 'You are not allowed to do that.',
  bad_answer: 'That answer was not right (or came too late); please try again.',
  not_found: 'Not found.',
  method_not_allowed: 'That action is not supported.',
  duplicate: 'You already have an order for this item.',
  conflict: 'That is not possible in the current state.',
  sold_out: 'Sold out: every unit has been taken.',
  too_large: 'That is too large.',
  rate_limited: 'Too many requests: please wait a moment and try again.',
  unavailable: 'The shop is busy or partly down; please try again shortly.',
  network: 'Cannot reach the shop; check your connection.',
};

export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(MESSAGES[code] || message || `Error ${status}`);
    this.status = status;
    this.code = code;
    this.serverMessage = message;
    this.retryAfter = retryAfter;
  }
}

export const messageFor = (code) => MESSAGES[code] || 'Something went wrong.';

// --- tokens ---------------------------------------------------------------

function store(kind) {
  try { return kind === 'session' ? window.sessionStorage : window.localStorage; } catch { return null; }
}

export function userToken() { return store('local')?.getItem(ACCESS) || null; }

export function setUserTokens(access, refresh) {
  const s = store('local');
  if (!s) return;
  if (access) s.setItem(ACCESS, access); else s.removeItem(ACCESS);
  if (refresh) s.setItem(REFRESH, refresh); else if (refresh === null) s.removeItem(REFRESH);
}

export function clearUserTokens() { setUserTokens(null, null); }

// The user id (the JWT's sub) of the stored token, or null when there is
// none or it has expired.
export function currentUser() {
  const t = userToken();
  if (!t) return null;
  try {
    const p = JSON.parse(atob(t.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    if (typeof p.exp === 'number' && p.exp * 1000 < Date.now() && !store('local')?.getItem(REFRESH)) return null;
    return { id: String(p.sub), exp: p.exp };
  } catch {
    return null;
  }
}

export function adminToken() { return store('session')?.getItem(ADMIN) || null; }
export function setAdminToken(t) {
  const s = store('session');
  if (!s) return;
  if (t) s.setItem(ADMIN, t); else s.removeItem(ADMIN);
}

// --- the server clock -----------------------------------------------------

let clockOffset = 0;
// Sets the offset from a now_ms the server sent; call at receipt.
export function syncClock(nowMs) {
  if (typeof nowMs === 'number' && Number.isFinite(nowMs)) clockOffset = nowMs - Date.now();
}
export const serverNow = () => Date.now() + clockOffset;
export const clockSkew = () => clockOffset;

// --- requests -------------------------------------------------------------

async function send(method, path, body, token, raw) {
  const headers = {};
  let payload;
  if (raw) {
    payload = raw.body;
    headers['Content-Type'] = raw.type;
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  if (token) headers.Authorization = `Bearer ${token}`;
  try {
    return await fetch(path, { method, headers, body: payload, cache: 'no-store', credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'network', 'network error');
  }
}

let refreshing = null;
// Trades the refresh token for a new pair once; true when it worked.
async function refreshUser() {
  const rt = store('local')?.getItem(REFRESH);
  if (!rt) return false;
  refreshing ??= (async () => {
    const res = await send('POST', '/api/user/refresh', { refresh_token: rt });
    if (!res.ok) { clearUserTokens(); return false; }
    const j = await res.json();
    setUserTokens(j.access_token, j.refresh_token);
    return true;
  })().catch(() => false).finally(() => { refreshing = null; });
  return refreshing;
}

// api(method, path, {body, auth: 'user'|'admin'|undefined, raw: {body, type}})
// resolves to the parsed JSON (null for 204) or throws ApiError.
export async function api(method, path, opts = {}) {
  const token = opts.auth === 'user' ? userToken() : opts.auth === 'admin' ? adminToken() : null;
  if (opts.auth && !token) throw new ApiError(401, 'unauthorized', 'no token');
  let res = await send(method, path, opts.body, token, opts.raw);
  if (res.status === 401 && opts.auth === 'user' && await refreshUser())
    res = await send(method, path, opts.body, userToken(), opts.raw);
  let data = null;
  const text = res.status === 204 ? '' : await res.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    const code = (data && data.error) || (res.status === 429 ? 'rate_limited' : res.status === 503 ? 'unavailable' : 'http');
    throw new ApiError(res.status, code, data && data.message, Number(res.headers.get('Retry-After')) || 0);
  }
  if (data && typeof data.now_ms === 'number') syncClock(data.now_ms);
  return data;
}

export const get = (path, opts) => api('GET', path, opts);
export const post = (path, body, opts = {}) => api('POST', path, { ...opts, body });

// The public activity list: the pre-rendered /cdn/activities.json, or the
// API when the origin has none yet. Resolves to {activities, now_ms?}.
export async function loadActivities() {
  try {
    const res = await fetch('/cdn/activities.json', { cache: 'no-cache' });
    if (res.ok) {
      const j = await res.json();
      // the file has no now_ms; the Date header gives the server clock to the second
      const d = Date.parse(res.headers.get('Date') || '');
      if (Number.isFinite(d) && Math.abs(d - Date.now()) > 2000) syncClock(d);
      if (Array.isArray(j.activities)) return j;
    }
  } catch { /* fall back to the API */ }
  return get('/api/detail');
}
