// 62-hostile: bad input on every endpoint (API.md "Bad input gets a clear 4xx
// and changes nothing"): oversized, non-UTF-8 and deeply nested bodies, wrong
// JSON types, huge numbers, SQL-looking text in every field and path segment,
// path traversal on static and API paths, forged JWTs. Every answer must be
// a 4xx with a JSON error body, never a 5xx; no FastCGI process may die, and
// MySQL must hold the same rows afterwards.
import { test, before, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { conf, state, request, get, post, jwt, newUserId, makeSale, sql, adminToken } from '../lib/flash.mjs';

const TABLES = ['users', 'items', 'activities', 'activity_items', 'orders', 'payments'];
const rowCounts = () => Object.fromEntries(TABLES.map((t) => [t, Number(sql(`SELECT COUNT(*) FROM ${t}`)[0][0])]));

// pids of the FastCGI programs, by the sockets lighttpd gave them
function backendPids() {
  const out = execFileSync('ss', ['-Hxlp'], { encoding: 'utf8' });
  const pids = new Set();
  for (const line of out.split('\n')) {
    const m = line.match(/\/([a-z_]+)\.sock-\d+/);
    if (!m || !line.includes(state)) continue;
    for (const p of line.matchAll(/pid=(\d+)/g)) pids.add(`${m[1]}:${p[1]}`);
  }
  return [...pids].sort();
}

const b64 = (o) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');
const signWith = (key, h, p) => `${h}.${p}.${createHmac('sha256', key).update(`${h}.${p}`).digest('base64url')}`;

let sale, token, pidsBefore, countsBefore;
const failures = [];

// Checks one answer: 4xx, JSON error body, JSON content type.
function expect4xx(r, what, allowed = null) {
  const ok = r.status >= 400 && r.status < 500 && (!allowed || allowed.includes(r.status)) &&
    /^application\/json/.test(r.headers['content-type'] || '') &&
    r.json && typeof r.json.error === 'string' && typeof r.json.message === 'string';
  if (!ok) failures.push(`${what}: ${r.status} ${r.headers['content-type']} ${r.text.slice(0, 160)}`);
  return ok;
}

beforeEach(() => { failures.length = 0; });

before(async () => {
  sale = await makeSale({ stock: 3 });
  token = jwt(newUserId());
  pidsBefore = backendPids();
  countsBefore = rowCounts();
});

// the POST endpoints with a JSON body, with the auth they need to reach it
const bodyRoutes = () => [
  ['/api/order', { token }],
  ['/api/user/register', {}],
  ['/api/user/login', {}],
  ['/api/user/refresh', {}],
  ['/api/user/logout', { token }],
  ['/api/pay/notify', {}],
  ['/api/pay/7311111111111111111', { token }],
  ['/api/order/7311111111111111111/cancel', { token }],
  ['/api/admin/items', { token: adminToken }],
  ['/api/admin/activities', { token: adminToken }],
  [`/api/admin/activities/${sale.aid}/items`, { token: adminToken }],
];

test('hostile-1.1 bodies over 64 KiB are 413 too_large', async () => {
  const big = JSON.stringify({ name: 'x'.repeat(70 * 1024) });
  for (const [p, o] of bodyRoutes()) {
    const r = await request('POST', p, { ...o, rawBody: big, headers: { 'Content-Type': 'application/json' } });
    if (expect4xx(r, `413 ${p}`, [413])) assert.equal(r.json.error, 'too_large');
  }
  // lighttpd's own limit (the image size) answers JSON too
  const huge = Buffer.alloc(Number(conf.image_max_bytes || 2097152) + 4096, 0x61);
  expect4xx(await request('POST', '/api/order', { token, rawBody: huge }), 'huge body', [413]);
  assert.deepEqual(failures, []);
});

test('hostile-1.2 invalid UTF-8, deep nesting, wrong types, non-objects are 400', async () => {
  const deep = '['.repeat(10000) + ']'.repeat(10000);
  const bodies = [
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0xff, 0x22, 0x7d])],
    ['overlong UTF-8', Buffer.from('{"username":"\xc0\xaf"}', 'latin1')],
    ['NUL byte', Buffer.from('{"username":"a\u0000b"}')],
    ['escaped NUL', '{"username":"ab\\u0000c","password":"12345678\\u0000"}'],
    ['nested 10000 deep', deep],
    ['object nested 10000 deep', '{"a":'.repeat(10000) + '1' + '}'.repeat(10000)],
    ['nested in a field', `{"activity_id":${deep}}`],
    ['array body', '[{"activity_id":1}]'],
    ['string body', '"hello"'],
    ['number body', '12'],
    ['null body', 'null'],
    ['two objects', '{}{}'],
    ['truncated', '{"activity_id":1'],
    ['trailing comma', '{"activity_id":1,}'],
    ['comment', '/* hi */{"activity_id":1}'],
    ['not JSON', 'activity_id=1&item_id=2'],
    ['empty', ''],
  ];
  for (const [p, o] of bodyRoutes()) {
    for (const [what, body] of bodies) {
      // logout and pay take an empty body
      if (what === 'empty' && (p.endsWith('/logout') || /\/api\/pay\/\d/.test(p) || p.endsWith('/cancel'))) continue;
      const r = await request('POST', p, { ...o, rawBody: body, headers: { 'Content-Type': 'application/json' } });
      // logout reads only refresh_token: other fields of an object are ignored
      if (what === 'escaped NUL' && p.endsWith('/logout') && r.status === 204) continue;
      expect4xx(r, `${what} ${p}`);
    }
  }
  assert.deepEqual(failures, []);
});

test('hostile-1.3 wrong JSON types, huge numbers and ids are 400', async () => {
  const { aid, iid } = sale;
  const cases = [
    ['/api/order', { token }, [
      { activity_id: [aid], item_id: iid, quantity: 1, secret: 'x' },
      { activity_id: { id: aid }, item_id: iid, quantity: 1, secret: 'x' },
      { activity_id: String(aid), item_id: String(iid), quantity: '1', secret: 'x' },
      { activity_id: aid, item_id: iid, quantity: 1, secret: ['x'] },
      { activity_id: aid, item_id: iid, quantity: 1, secret: 12345 },
      { activity_id: aid, item_id: iid, quantity: 1.5, secret: 'x' },
      { activity_id: aid, item_id: iid, quantity: -1, secret: 'x' },
      { activity_id: aid, item_id: iid, quantity: 0, secret: 'x' },
      { activity_id: true, item_id: null, quantity: 1, secret: 'x' },
    ]],
    ['/api/admin/items', { token: adminToken }, [
      { name: 'n', title: 't', description: 'd', price_cents: '100', stock: 1, images: [] },
      { name: ['n'], title: 't', description: 'd', price_cents: 100, stock: 1, images: [] },
      { name: 'n', title: 't', description: 'd', price_cents: 100, stock: 1, images: 'x' },
      { name: 'n', title: 't', description: 'd', price_cents: 100, stock: 1, images: [1, 2] },
      { name: 'n', title: 't', description: 'd', price_cents: -5, stock: 1, images: [] },
      { name: 'n', title: 't', description: 'd', price_cents: 100, stock: 1.5, images: [] },
    ]],
    ['/api/admin/activities', { token: adminToken }, [
      { name: 'n', description: 'd', start_ms: String(Date.now()), end_ms: Date.now() + 1e6 },
      { name: 'n', description: 'd', start_ms: [Date.now()], end_ms: Date.now() + 1e6 },
      { name: 'n', description: 'd', start_ms: Date.now() + 1e6, end_ms: Date.now() },
    ]],
    [`/api/admin/activities/${aid}/items`, { token: adminToken }, [
      { item_id: String(iid), flash_price_cents: 1, stock: 1, per_user_limit: 1 },
      { item_id: iid, flash_price_cents: 1, stock: [1], per_user_limit: 1 },
      { item_id: iid, flash_price_cents: 0, stock: 1, per_user_limit: 1 },
    ]],
    ['/api/user/register', {}, [
      { username: 12345, password: 'abcdefgh1' },
      { username: { u: 1 }, password: 'abcdefgh1' },
      { username: 'valid_name', password: ['abcdefgh1'] },
    ]],
    ['/api/user/refresh', {}, [{ refresh_token: 1 }, { refresh_token: ['a'] }, { refresh_token: null }]],
    ['/api/pay/notify', {}, [
      { payment_id: ['1'], order_id: '1', amount_cents: 1, status: 'success', ts_ms: 1, sign: 'x' },
      { payment_id: '1', order_id: '1', amount_cents: '1e3', status: 'success', ts_ms: 1, sign: 'x' },
      { payment_id: '1', order_id: '1', amount_cents: 1, status: 'maybe', ts_ms: 1, sign: 'x' },
    ]],
  ];
  for (const [p, o, list] of cases) {
    for (const body of list) expect4xx(await post(p, body, o), `${p} ${JSON.stringify(body)}`, [400, 401, 403, 409]);
  }
  // numbers past every range, written as raw JSON (JSON.stringify cannot)
  const raw = [
    `{"activity_id":1e400,"item_id":${iid},"quantity":1,"secret":"x"}`,
    `{"activity_id":12345678901234567890,"item_id":${iid},"quantity":1,"secret":"x"}`,
    `{"activity_id":99999999999999999999999999,"item_id":${iid},"quantity":1,"secret":"x"}`,
    `{"activity_id":9007199254740992,"item_id":${iid},"quantity":1,"secret":"x"}`,
    `{"activity_id":-9223372036854775809,"item_id":${iid},"quantity":1,"secret":"x"}`,
    `{"activity_id":${aid},"item_id":${iid},"quantity":1e400,"secret":"x"}`,
    `{"activity_id":${aid},"item_id":${iid},"quantity":18446744073709551617,"secret":"x"}`,
    `{"activity_id":NaN,"item_id":Infinity,"quantity":1,"secret":"x"}`,
    `{"activity_id":01,"item_id":${iid},"quantity":1,"secret":"x"}`,
  ];
  for (const body of raw) {
    const r = await request('POST', '/api/order', { token, rawBody: body, headers: { 'Content-Type': 'application/json' } });
    if (expect4xx(r, `order ${body}`)) assert.notEqual(r.status, 202);
  }
  const items = `{"name":"n","title":"t","description":"d","price_cents":1e400,"stock":12345678901234567890,"images":[]}`;
  expect4xx(await request('POST', '/api/admin/items', { token: adminToken, rawBody: items }), 'item 1e400', [400]);
  // ids in paths and queries
  for (const p of [`/api/detail/${aid}/12345678901234567890`, `/api/detail/1e400/${iid}`, '/api/detail/0',
    '/api/detail/-1', '/api/detail/00001', '/api/detail/9007199254740992', '/api/order-status/0',
    '/api/order-status/99999999999999999999', '/api/order-status/-5', '/api/order-status/1e400',
    `/api/order-status?activity_id=1e400&item_id=${iid}`, '/api/order-status?activity_id=12345678901234567890&item_id=1',
    '/api/order-status?activity_id=&item_id=', '/api/order-status?activity_id=%zz&item_id=1',
    '/api/order-status?activity_id=1%00&item_id=1', `/api/admin/activities/1e400/stats`]) {
    const o = p.startsWith('/api/admin') ? { token: adminToken } : { token };
    expect4xx(await get(p, o), `GET ${p}`, [400, 404]);
  }
  assert.deepEqual(failures, []);
});

const SQL = ["1' OR '1'='1", "1; DROP TABLE orders; --", "' UNION SELECT pw_hash FROM users --",
  '1 OR 1=1', "admin'--", '"; SHUTDOWN; --', "1' AND SLEEP(5)--"];

test('hostile-1.4 SQL-looking strings in every field and path segment', async () => {
  for (const s of SQL) {
    const all = (keys) => Object.fromEntries(keys.map((k) => [k, s]));
    const bodies = [
      ['/api/order', { token }, all(['activity_id', 'item_id', 'quantity', 'secret'])],
      ['/api/order', { token }, { activity_id: sale.aid, item_id: sale.iid, quantity: 1, secret: s }],
      ['/api/user/register', {}, all(['username', 'password'])],
      ['/api/user/login', {}, all(['username', 'password'])],
      ['/api/user/login', {}, { username: 'valid_user_x', password: s }],
      ['/api/user/refresh', {}, all(['refresh_token'])],
      ['/api/user/logout', { token }, all(['refresh_token'])],
      ['/api/pay/notify', {}, all(['payment_id', 'order_id', 'amount_cents', 'status', 'ts_ms', 'sign'])],
      ['/api/admin/items', { token: adminToken }, all(['name', 'title', 'description', 'price_cents', 'stock', 'images'])],
      ['/api/admin/activities', { token: adminToken }, all(['name', 'description', 'start_ms', 'end_ms'])],
      [`/api/admin/activities/${sale.aid}/items`, { token: adminToken },
        all(['item_id', 'flash_price_cents', 'stock', 'per_user_limit'])],
    ];
    for (const [p, o, body] of bodies) {
      const r = await post(p, body, o);
      // logout with a junk refresh token ends nothing and says 204: fine
      if (p.endsWith('/logout') && r.status === 204) continue;
      expect4xx(r, `${p} ${JSON.stringify(body)}`);
    }
    const e = encodeURIComponent(s);
    const paths = [
      ['GET', `/api/detail/${e}`], ['GET', `/api/detail/${sale.aid}/${e}`], ['GET', `/api/detail/${e}/${sale.iid}/secret`],
      ['GET', `/api/order-status/${e}`], ['GET', `/api/order-status?activity_id=${e}&item_id=${e}`],
      ['POST', `/api/order/${e}/cancel`], ['POST', `/api/pay/${e}`], ['GET', `/api/admin/activities/${e}/stats`],
      ['POST', `/api/admin/activities/${e}/publish`], ['GET', `/api/${e}`], ['GET', `/api/user/${e}`],
    ];
    for (const [m, p] of paths) {
      const o = p.startsWith('/api/admin') ? { token: adminToken } : { token };
      const r = await request(m, p, m === 'POST' ? { ...o, body: {} } : o);
      expect4xx(r, `${m} ${p}`, [400, 401, 404, 405]);
    }
  }
  assert.deepEqual(failures, []);
});

test('hostile-1.5 path traversal on static and API paths', async () => {
  const paths = ['/../../../../etc/passwd', '/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '/..%2f..%2f..%2fetc%2fpasswd', '/static/../../lighttpd.conf', '/%2e%2e/lighttpd.conf', '/../Makefile',
    '/cdn/../../flashsale.conf', '/cdn/%2e%2e/flashsale.conf', '/cdn/..%2fflashsale.conf', '/errors/../../sql/schema.sql',
    '/api/../../etc/passwd', '/api/detail/../../../etc/passwd', '/api/%2e%2e/%2e%2e/etc/passwd',
    '/api/detail/%2e%2e%2f%2e%2e%2fetc%2fpasswd', '/api/user/..%2f..%2f..%2fetc%2fpasswd', '/.git/config',
    '/%252e%252e/etc/passwd', '/..\\..\\etc\\passwd', '/api/detail/..;/..;/etc/passwd'];
  for (const p of paths) {
    // send the path as is: node would not normalize it, curl-like
    const r = await request('GET', p, { token });
    const leaked = /root:.*:0:0:|jwt_secret|server\.document-root|CREATE TABLE|\[core\]/.test(r.text);
    if (leaked) failures.push(`${p}: leaked a file (${r.status})`);
    else expect4xx(r, `GET ${p}`, [400, 403, 404]);
  }
  assert.deepEqual(failures, []);
});

test('hostile-1.6 forged and broken JWTs are 401', async () => {
  const uid = newUserId();
  const now = Math.floor(Date.now() / 1000);
  const p = b64({ sub: String(uid), exp: now + 600 });
  const toks = {
    'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${p}.`,
    'alg none, signed': signWith(conf.jwt_secret, b64({ alg: 'none' }), p),
    'alg HS512': signWith(conf.jwt_secret, b64({ alg: 'HS512' }), p),
    'alg hs256': signWith(conf.jwt_secret, b64({ alg: 'hs256' }), p),
    expired: jwt(uid, { exp: now - 10 }),
    'no exp': signWith(conf.jwt_secret, b64({ alg: 'HS256' }), b64({ sub: String(uid) })),
    'exp string': signWith(conf.jwt_secret, b64({ alg: 'HS256' }), b64({ sub: String(uid), exp: String(now + 600) })),
    'sub not numeric': jwt('abc'),
    'sub SQL': jwt("1' OR '1'='1"),
    'sub 0': jwt(0),
    'sub 2^53': jwt('9007199254740992'),
    'other key': jwt(uid, { secret: 'not-the-secret' }),
    'admin token as key': jwt(uid, { secret: adminToken }),
    'header only': b64({ alg: 'HS256', typ: 'JWT' }),
    'header and payload': `${b64({ alg: 'HS256' })}.${p}`,
    'four parts': `${jwt(uid)}.x`,
    'bad base64': `${b64({ alg: 'HS256' })}.${p}.!!!`,
    'payload not JSON': signWith(conf.jwt_secret, b64({ alg: 'HS256' }), b64('not json')),
    'payload array': signWith(conf.jwt_secret, b64({ alg: 'HS256' }), b64([1, 2])),
    'padded sig': `${jwt(uid)}=`,
    'huge': 'a'.repeat(6000),
    empty: '',
  };
  const routes = [['GET', '/api/order-status'], ['GET', `/api/detail/${sale.aid}/${sale.iid}/secret`],
    ['POST', '/api/order'], ['POST', '/api/user/logout'], ['POST', '/api/pay/7311111111111111111'],
    ['POST', '/api/order/7311111111111111111/cancel']];
  for (const [what, t] of Object.entries(toks)) {
    for (const [m, path] of routes) {
      const headers = { Authorization: `Bearer ${t}` };
      const body = m === 'POST' ? { activity_id: sale.aid, item_id: sale.iid, quantity: 1, secret: 'x' } : undefined;
      const r = await request(m, path, { headers, body });
      if (expect4xx(r, `${what} ${m} ${path}`, [401])) assert.equal(r.json.error, 'unauthorized');
    }
  }
  // a user token on an admin route is 403, junk 401
  expect4xx(await get('/api/admin/activities', { token: jwt(uid) }), 'user token on admin', [403]);
  expect4xx(await get('/api/admin/activities', { token: 'x' }), 'junk token on admin', [401]);
  expect4xx(await get('/api/admin/activities', { headers: { Authorization: `Basic ${b64('admin:admin')}` } }),
    'basic auth on admin', [401]);
  assert.deepEqual(failures, []);
});

test('hostile-1.7 unknown routes and methods are JSON 404/405', async () => {
  for (const [m, p, want] of [['GET', '/api/nope', 404], ['GET', '/api/', 404], ['DELETE', '/api/order', 405],
    ['PUT', '/api/user/login', 405], ['GET', '/api/user/login', 405], ['PATCH', '/api/detail', 405],
    ['GET', '/api/orders', 404], ['GET', '/api/detail/1/2/3/4/5/6/7/8/9/10', 404],
    ['GET', `/api/detail/${'x'.repeat(3000)}`, 404]]) {
    expect4xx(await request(m, p, { token }), `${m} ${p}`, [want, ...(want === 405 ? [404] : [])]);
  }
  // a method lighttpd does not know: its own answer, JSON too
  expect4xx(await request('FOO', '/api/order', { token }), 'FOO /api/order', [400, 405, 501].filter((s) => s < 500));
  assert.deepEqual(failures.filter((f) => !f.startsWith('FOO')), []);
});

test('hostile-1.8 headers: pages carry the security headers, API answers are no-store JSON', async () => {
  const page = await get('/');
  assert.equal(page.status, 200);
  assert.equal(page.headers['x-content-type-options'], 'nosniff');
  assert.equal(page.headers['x-frame-options'], 'DENY');
  assert.match(page.headers['content-security-policy'] || '', /default-src 'self'/);
  const api = await get('/api/nope');
  assert.equal(api.headers['cache-control'], 'no-store');
  assert.match(api.headers['content-type'], /^application\/json/);
  const missing = await get('/no-such-page.html');
  assert.equal(missing.status, 404);
  assert.match(missing.headers['content-type'], /^application\/json/);
  const unknown = await request('FOO', '/api/order');
  assert.ok(unknown.status === 501 || unknown.status === 405 || unknown.status === 400, String(unknown.status));
  assert.match(unknown.headers['content-type'] || '', /^application\/json/);
  assert.equal(typeof unknown.json?.error, 'string');
});

test('hostile-9.1 no FastCGI process died and MySQL rows are unchanged', () => {
  const pidsAfter = backendPids();
  assert.ok(pidsBefore.length >= 7, `found the backends: ${pidsBefore.join(' ')}`);
  assert.deepEqual(pidsAfter, pidsBefore);
  assert.deepEqual(rowCounts(), countsBefore);
});
