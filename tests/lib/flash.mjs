// flash.mjs: what every integration and page test needs to talk to the stack
// that tests/run.sh started: its configuration, HTTP with tokens, JWTs signed
// like an identity provider would, admin shortcuts to set up a sale, and
// direct reads of Redis and MySQL to check the invariants.
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleepMs } from 'node:timers/promises';
import http from 'node:http';

export const sleep = (ms) => sleepMs(ms);

function loadConf() {
  const path = process.env.FLASH_CONF;
  if (!path) throw new Error('FLASH_CONF is not set: run the tests through tests/run.sh (make test)');
  const conf = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = line.match(/^\s*([a-z_0-9]+)\s*=\s*(.*?)\s*$/);
    if (m) conf[m[1]] = m[2];
  }
  return conf;
}

export const conf = loadConf();
export const state = process.env.FLASH_STATE;
export const root = process.env.FLASH_ROOT;
export const outDir = process.env.FLASH_OUT;
export const base = `http://127.0.0.1:${conf.http_port}`;

// One agent with many sockets so that thousands of requests can be in flight.
const agent = new http.Agent({ keepAlive: true, maxSockets: 4096 });

// request(method, path, {token, body, rawBody, headers}) -> {status, headers, json, text}
// body is sent as JSON; rawBody (string or Buffer) as is.
export function request(method, path, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  let payload = null;
  if (opts.rawBody !== undefined) payload = opts.rawBody;
  else if (opts.body !== undefined) {
    payload = JSON.stringify(opts.body);
    headers['Content-Type'] = headers['Content-Type'] || 'application/json';
  }
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (payload !== null) headers['Content-Length'] = Buffer.byteLength(payload);
  return new Promise((resolve, reject) => {
    const req = http.request(base + path, { method, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, json, text });
      });
      res.on('error', reject);
    });
    req.setTimeout(opts.timeoutMs || 30000, () => req.destroy(new Error(`timeout ${method} ${path}`)));
    req.on('error', reject);
    if (payload !== null) req.write(payload);
    req.end();
  });
}

export const get = (path, opts) => request('GET', path, opts);
export const post = (path, body, opts = {}) => request('POST', path, { ...opts, body });

const b64url = (buf) => Buffer.from(buf).toString('base64url');

// A JWT HS256 for user id sub, as the shop or an outside provider signs it.
// opts: exp (unix s), secret, header (object), payload (extra/override claims).
export function jwt(sub, opts = {}) {
  const header = opts.header || { alg: 'HS256', typ: 'JWT' };
  const payload = { sub: String(sub), exp: Math.floor(Date.now() / 1000) + 3600, ...(opts.payload || {}) };
  if (opts.exp !== undefined) payload.exp = opts.exp;
  const h = b64url(JSON.stringify(header));
  const p = b64url(JSON.stringify(payload));
  const sig = createHmac('sha256', opts.secret || conf.jwt_secret).update(`${h}.${p}`).digest();
  return `${h}.${p}.${b64url(sig)}`;
}

// A user id no other test uses (tests share one stack).
let nextUser = Math.floor(Date.now() % 1e9) * 100;
export const newUserId = () => ++nextUser;

export const adminToken = conf.admin_token;
export const admin = {
  get: (path) => get(path, { token: adminToken }),
  post: (path, body) => post(path, body, { token: adminToken }),
};

// Creates an item, an activity holding it and publishes it; warms it up
// unless warm is false; o.activity: more fields of the activity (challenge...).
// Returns {aid, iid, start_ms, end_ms}.
export async function makeSale(o = {}) {
  const now = Date.now();
  const stock = o.stock ?? 10;
  const item = await admin.post('/api/admin/items', {
    name: o.name || `item ${now}`, title: o.title || 'A test item',
    description: o.description || 'made by a test', price_cents: o.price_cents ?? 1999,
    stock: o.itemStock ?? stock + 10, images: o.images || [],
  });
  if (item.status !== 201) throw new Error(`create item: ${item.status} ${item.text}`);
  const start_ms = o.start_ms ?? now + (o.startInMs ?? -1000);
  const end_ms = o.end_ms ?? start_ms + (o.durationMs ?? 3600000);
  const act = await admin.post('/api/admin/activities', {
    name: o.activityName || `sale ${now}`, description: 'test sale', start_ms, end_ms, ...(o.activity || {}),
    ...(o.rules ? { rules: o.rules } : {}), // sale rules (27-rules, bench)
  });
  if (act.status !== 201) throw new Error(`create activity: ${act.status} ${act.text}`);
  const aid = act.json.activity_id, iid = item.json.item_id;
  const add = await admin.post(`/api/admin/activities/${aid}/items`, {
    item_id: iid, flash_price_cents: o.flash_price_cents ?? 999, stock,
    per_user_limit: o.per_user_limit ?? 1, ...(o.shards !== undefined ? { shards: o.shards } : {}),
  });
  if (add.status !== 201) throw new Error(`add item: ${add.status} ${add.text}`);
  if (o.publish !== false) {
    const pub = await admin.post(`/api/admin/activities/${aid}/publish`, {});
    if (pub.status !== 200) throw new Error(`publish: ${pub.status} ${pub.text}`);
    if (o.warm !== false) {
      const w = await admin.post(`/api/admin/activities/${aid}/warmup`, {});
      if (w.status !== 200) throw new Error(`warmup: ${w.status} ${w.text}`);
    }
  }
  return { aid, iid, start_ms, end_ms };
}

// The order secret of user token for an item (the sale must be live).
export async function secretFor(token, aid, iid) {
  const r = await get(`/api/detail/${aid}/${iid}/secret`, { token });
  if (r.status !== 200) throw new Error(`secret: ${r.status} ${r.text}`);
  return r.json.secret;
}

// Places one order for a fresh or given user: {status, json, token, uid}.
export async function order(aid, iid, o = {}) {
  const uid = o.uid ?? newUserId();
  const token = o.token ?? jwt(uid);
  const secret = o.secret ?? await secretFor(token, aid, iid);
  const r = await post('/api/order', { activity_id: aid, item_id: iid, quantity: o.quantity ?? 1, secret }, { token });
  return { ...r, token, uid };
}

// redis-cli against the stack's Redis; returns stdout without the last newline.
// On a cluster stack (redis_cluster = 1, redis_port one of its nodes) redis-cli
// follows MOVED/ASK itself (-c).
const redisArgs = () => ['-p', conf.redis_port, ...(conf.redis_cluster === '1' ? ['-c'] : [])];
export function redis(...args) {
  return execFileSync('redis-cli', [...redisArgs(), '--no-raw', ...args.map(String)], { encoding: 'utf8' })
    .replace(/\n$/, '');
}
// The raw value (redis-cli --raw) of one command.
export function redisRaw(...args) {
  return execFileSync('redis-cli', [...redisArgs(), '--raw', ...args.map(String)], { encoding: 'utf8' })
    .replace(/\n$/, '');
}

// Runs SQL as root over the stack's socket; returns rows as arrays of strings.
export function sql(query) {
  const out = execFileSync('mariadb', ['--no-defaults', `--socket=${state}/mysqld.sock`, '-uroot', 'flash',
    '-N', '-B', '-e', query], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}
export const sqlValue = (query) => { const r = sql(query); return r.length ? r[0][0] : null; };

// Runs scripts/flashctl CMD on the test stack (fault tests: handler-stop, ...).
export function flashctl(cmd) {
  return execFileSync(`${root}/scripts/flashctl`, [cmd, state], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// Runs one of our programs (cron jobs) with the stack's config; returns stdout.
export function runProgram(name, args = []) {
  return execFileSync(`${process.env.FLASH_BIN}/${name}`, args, {
    encoding: 'utf8', env: { ...process.env, FLASH_CONF: process.env.FLASH_CONF },
  });
}

// Polls fn until it returns a truthy value or timeoutMs passes; returns the value.
export async function waitFor(fn, timeoutMs = 10000, stepMs = 100) {
  const until = Date.now() + timeoutMs;
  let v;
  while (Date.now() < until) {
    v = await fn();
    if (v) return v;
    await sleep(stepMs);
  }
  return v;
}

// Fires fns all at once and returns their results in order.
export const burst = (n, fn) => Promise.all(Array.from({ length: n }, (_, i) => fn(i)));

// Counts how many results have each status: {202: 100, 410: 1900}.
export function statusCounts(results) {
  const c = {};
  for (const r of results) c[r.status] = (c[r.status] || 0) + 1;
  return c;
}
