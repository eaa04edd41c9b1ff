// 27-rules: the sale rules against scalpers (API.md "Guard rails" -> "Sale
// rules"; docs/GUARD-RULES.md): min_account_age_s and max_orders_per_ip per
// activity, and the admin blocklist of users and addresses, at the order
// secret and at the order (inside the reservation script).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import {
  conf, admin, adminToken, get, post, request, jwt, newUserId, burst, statusCounts, redisRaw,
  sqlValue, sleep,
} from '../lib/flash.mjs';

const tag = Date.now() % 100000;
let seq = 0;

// The order secret of uid for (aid, iid), as the detail program makes it.
const secretOf = (uid, aid, iid) => createHmac('sha256', conf.order_secret)
  .update(`order-secret|${uid}|${aid}|${iid}`).digest('hex').slice(0, 32);
const xff = (ip) => (ip ? { 'X-Forwarded-For': ip } : {});

// A live, warm sale whose activity has the given rules (undefined: none).
async function ruledSale(rules, stock = 20) {
  const now = Date.now();
  const item = await admin.post('/api/admin/items', {
    name: `rules item ${tag}`, title: 't', description: 'd', price_cents: 500, stock: stock + 5, images: [],
  });
  assert.equal(item.status, 201, item.text);
  const body = { name: `rules sale ${tag}`, description: 'd', start_ms: now - 1000, end_ms: now + 3600000 };
  if (rules !== undefined) body.rules = rules;
  const act = await admin.post('/api/admin/activities', body);
  assert.equal(act.status, 201, act.text);
  const aid = act.json.activity_id, iid = item.json.item_id;
  assert.equal((await admin.post(`/api/admin/activities/${aid}/items`,
    { item_id: iid, flash_price_cents: 100, stock, per_user_limit: 1 })).status, 201);
  assert.equal((await admin.post(`/api/admin/activities/${aid}/publish`, {})).status, 200);
  assert.equal((await admin.post(`/api/admin/activities/${aid}/warmup`, {})).status, 200);
  return { aid, iid };
}

const secretReq = (s, token, ip) => get(`/api/detail/${s.aid}/${s.iid}/secret`, { token, headers: xff(ip) });
const orderReq = (s, uid, ip, secret) => post('/api/order',
  { activity_id: s.aid, item_id: s.iid, quantity: 1, secret: secret ?? secretOf(uid, s.aid, s.iid) },
  { token: jwt(uid), headers: xff(ip) });
const del = (entry) => request('DELETE', `/api/admin/blocklist/${entry}`, { token: adminToken });

async function register() {
  const username = `ru${tag}_${++seq}`;
  const reg = await post('/api/user/register', { username, password: 'correct horse 1' });
  assert.equal(reg.status, 201, reg.text);
  const login = await post('/api/user/login', { username, password: 'correct horse 1' });
  assert.equal(login.status, 200, login.text);
  return { uid: reg.json.user_id, token: login.json.access_token, at: Date.now() };
}

test('ru-1 rules: malformed is 400 and creates nothing; valid ones are stored and warmed', async () => {
  const now = Date.now();
  const base = { name: `bad rules ${tag}`, description: 'd', start_ms: now, end_ms: now + 60000 };
  const before = sqlValue('SELECT COUNT(*) FROM activities');
  for (const rules of ['x', [], null, 5, { min_account_age_s: -1 }, { max_orders_per_ip: 1.5 },
    { max_orders_per_ip: '2' }, { foo: 1 }, { min_account_age_s: 1e12 }, { max_orders_per_ip: true },
    { min_account_age_s: 1, max_orders_per_ip: 1, extra: 0 }]) {
    const r = await admin.post('/api/admin/activities', { ...base, rules });
    assert.equal(r.status, 400, `rules ${JSON.stringify(rules)}: ${r.text}`);
    assert.equal(r.json.error, 'bad_request');
  }
  assert.equal(sqlValue('SELECT COUNT(*) FROM activities'), before, 'nothing created');

  const s = await ruledSale({ min_account_age_s: 7, max_orders_per_ip: 3 });
  const a = await admin.get(`/api/admin/activities/${s.aid}`);
  assert.equal(a.status, 200);
  assert.deepEqual(a.json.rules, { min_account_age_s: 7, max_orders_per_ip: 3 });
  assert.equal(redisRaw('HGET', `fs:{${s.aid}:${s.iid}}:meta`, 'age'), '7');
  assert.equal(redisRaw('HGET', `fs:{${s.aid}:${s.iid}}:meta`, 'ipmax'), '3');
  // without rules: all off
  const off = await ruledSale(undefined);
  assert.deepEqual((await admin.get(`/api/admin/activities/${off.aid}`)).json.rules,
    { min_account_age_s: 0, max_orders_per_ip: 0 });
});

test('ru-2 min_account_age_s: a new account and an outside token 403 forbidden, an old one served', async () => {
  const s = await ruledSale({ min_account_age_s: 3 });
  const young = await register();
  const r = await secretReq(s, young.token);
  assert.equal(r.status, 403, r.text);
  assert.equal(r.json.error, 'forbidden');
  // a valid token of a user not registered here
  const outside = await secretReq(s, jwt(newUserId()));
  assert.equal(outside.status, 403, outside.text);
  assert.equal(outside.json.error, 'forbidden');
  // an account old enough (made old in the store; the copy in Redis too)
  const old = await register();
  sqlValue(`UPDATE users SET created_ms = created_ms - 60000 WHERE id = ${old.uid}`);
  redisRaw('DEL', `fs:u:{${old.uid}}:born`);
  const ok = await secretReq(s, old.token);
  assert.equal(ok.status, 200, ok.text);
  const o = await post('/api/order', { activity_id: s.aid, item_id: s.iid, secret: ok.json.secret },
    { token: old.token });
  assert.equal(o.status, 202, o.text);
  // the young account grows old enough
  await sleep(Math.max(0, young.at + 3300 - Date.now()));
  const later = await secretReq(s, young.token);
  assert.equal(later.status, 200, later.text);
  // a sale without the rule serves anyone
  const free = await ruledSale({ min_account_age_s: 0, max_orders_per_ip: 0 });
  assert.equal((await secretReq(free, jwt(newUserId()))).status, 200);
});

test('ru-3 max_orders_per_ip = 2 through X-Forwarded-For: the third order from one address 403 forbidden', async () => {
  const s = await ruledSale({ max_orders_per_ip: 2 });
  const ip = `198.18.${tag % 250}.7`;
  const users = [newUserId(), newUserId(), newUserId()];
  for (const uid of users.slice(0, 2)) {
    assert.equal((await secretReq(s, jwt(uid), ip)).status, 200);
    const o = await orderReq(s, uid, ip);
    assert.equal(o.status, 202, o.text);
  }
  // the third user from that address: at the secret and at the order
  const sec = await secretReq(s, jwt(users[2]), ip);
  assert.equal(sec.status, 403, sec.text);
  assert.equal(sec.json.error, 'forbidden');
  const third = await orderReq(s, users[2], ip);
  assert.equal(third.status, 403, third.text);
  assert.equal(third.json.error, 'forbidden');
  // the proxy's left-most entries are the client's to write: no new slot
  assert.equal((await orderReq(s, newUserId(), `6.6.6.6, ${ip}`)).status, 403);
  // another address, and the trusted proxy itself without the header (not counted)
  assert.equal((await orderReq(s, newUserId(), `198.18.${tag % 250}.8`)).status, 202);
  assert.equal((await orderReq(s, newUserId())).status, 202);
  assert.equal(redisRaw('HGET', `fs:{${s.aid}:${s.iid}}:ipn`, ip), '2');
});

test('ru-4 max_orders_per_ip = 2: 50 users at once from one address, exactly 2 accepted', async () => {
  const s = await ruledSale({ max_orders_per_ip: 2 }, 100);
  const ip = `198.19.${tag % 250}.9`;
  const res = await burst(50, () => orderReq(s, newUserId(), ip));
  const c = statusCounts(res);
  assert.equal(c[202], 2, JSON.stringify(c));
  assert.equal((c[403] || 0) + (c[429] || 0), 48, JSON.stringify(c));
  assert.ok(res.filter((r) => r.status === 403).every((r) => r.json.error === 'forbidden'));
  assert.equal(redisRaw('GET', `fs:{${s.aid}:${s.iid}}:stock`), '98');
  // the refused 48 gave their counts back: the address holds its 2
  assert.equal(redisRaw('HGET', `fs:{${s.aid}:${s.iid}}:ipn`, ip), '2');
});

test('ru-5 a blocked user: 403 banned at the secret and the order; unblocked, served again', async () => {
  const s = await ruledSale(undefined);
  const uid = newUserId();
  const sec = await secretReq(s, jwt(uid));
  assert.equal(sec.status, 200);
  const b = await admin.post('/api/admin/blocklist', { user_id: String(uid) });
  assert.equal(b.status, 201, b.text);
  assert.deepEqual(b.json, { user_id: String(uid) });
  // from the next request on, in whichever process serves it (the per-user
  // limit allows 5 a second of each kind)
  for (let i = 0; i < 3; i++) {
    const r = await secretReq(s, jwt(uid));
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json.error, 'banned');
    const o = await orderReq(s, uid, undefined, sec.json.secret);
    assert.equal(o.status, 403, o.text);
    assert.equal(o.json.error, 'banned');
  }
  const list = await admin.get('/api/admin/blocklist');
  assert.equal(list.status, 200);
  assert.ok(list.json.entries.some((e) => e.user_id === String(uid)), list.text);
  // another user is not affected
  assert.equal((await orderReq(s, newUserId())).status, 202);
  const d = await del(uid);
  assert.equal(d.status, 204, d.text);
  await sleep(1100); // a fresh window of the per-user limit
  assert.equal((await secretReq(s, jwt(uid))).status, 200);
  const o = await orderReq(s, uid, undefined, sec.json.secret);
  assert.equal(o.status, 202, o.text);
  assert.equal((await del(uid)).status, 404);
});

test('ru-6 a blocked address: 403 banned at the secret and the order; unblocked, served again', async () => {
  const s = await ruledSale(undefined);
  const ip = `192.0.2.${tag % 250}`;
  assert.equal((await admin.post('/api/admin/blocklist', { ip })).status, 201);
  for (let i = 0; i < 6; i++) {
    const uid = newUserId();
    const r = await secretReq(s, jwt(uid), ip);
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json.error, 'banned');
    const o = await orderReq(s, uid, ip);
    assert.equal(o.status, 403, o.text);
    assert.equal(o.json.error, 'banned');
  }
  // other addresses, and the proxy itself, are served
  assert.equal((await orderReq(s, newUserId(), '198.51.101.1')).status, 202);
  assert.equal((await orderReq(s, newUserId())).status, 202);
  assert.equal((await del(ip)).status, 204);
  assert.equal((await orderReq(s, newUserId(), ip)).status, 202);
});

test('ru-7 blocklist admin endpoints: 201/204/404/400, listing, hostile input', async () => {
  const uid = 900000000 + tag;
  assert.equal((await admin.post('/api/admin/blocklist', { user_id: uid })).status, 201);
  // the same entry again (integer or decimal string): still one entry
  assert.equal((await admin.post('/api/admin/blocklist', { user_id: String(uid) })).status, 201);
  const v6 = await admin.post('/api/admin/blocklist', { ip: `2001:DB8::${(tag % 65536).toString(16)}` });
  assert.equal(v6.status, 201, v6.text);
  assert.deepEqual(v6.json, { ip: `2001:db8::${(tag % 65536).toString(16)}` });
  const list = await admin.get('/api/admin/blocklist');
  assert.equal(list.status, 200);
  assert.ok(Array.isArray(list.json.entries));
  assert.equal(list.json.entries.filter((e) => e.user_id === String(uid)).length, 1);
  assert.ok(list.json.entries.some((e) => e.ip === `2001:db8::${(tag % 65536).toString(16)}`));
  for (const e of list.json.entries) assert.equal(Object.keys(e).length, 1, JSON.stringify(e));

  for (const body of [{}, { user_id: 0 }, { user_id: -5 }, { user_id: 1.5 }, { user_id: '12a' },
    { user_id: '' }, { user_id: null }, { user_id: true }, { user_id: '99999999999999999999' },
    { ip: '999.1.1.1' }, { ip: '1.2.3.4:80' }, { ip: '' }, { ip: 5 }, { ip: 'example.com' },
    { user_id: 1, ip: '1.1.1.1' }, { user_id: 1, x: 1 }, []]) {
    const r = await admin.post('/api/admin/blocklist', body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.json.error, 'bad_request');
  }
  const raw = await request('POST', '/api/admin/blocklist', { token: adminToken, rawBody: '{"user_id":', headers: { 'Content-Type': 'application/json' } });
  assert.equal(raw.status, 400);
  assert.equal((await post('/api/admin/blocklist', { user_id: 5 })).status, 401);
  assert.equal((await post('/api/admin/blocklist', { user_id: 5 }, { token: jwt(5) })).status, 403);
  assert.equal((await request('DELETE', `/api/admin/blocklist/${uid}`)).status, 401);
  assert.equal((await request('PUT', '/api/admin/blocklist', { token: adminToken })).status, 405);
  for (const bad of ['abc', '0', '1.2.3', '99999999999999999999']) {
    const r = await del(bad);
    assert.equal(r.status, 400, `${bad}: ${r.text}`);
  }
  assert.equal((await del('203.0.113.254')).status, 404);
  assert.equal((await del(uid)).status, 204);
  assert.equal((await del(`2001:db8::${(tag % 65536).toString(16)}`)).status, 204);
  assert.equal((await del(uid)).status, 404);
  const after = await admin.get('/api/admin/blocklist');
  assert.ok(!after.json.entries.some((e) => e.user_id === String(uid)));
  assert.equal(sqlValue(`SELECT COUNT(*) FROM blocklist WHERE value = '${uid}'`), '0');
});

test('ru-8 the address count: its hash has the TTL from warmup, keeps it, and the cap comes after the stock', async () => {
  const s = await ruledSale({ max_orders_per_ip: 1 }, 2);
  const key = `fs:{${s.aid}:${s.iid}}:ipn`, meta = `fs:{${s.aid}:${s.iid}}:meta`;
  const ttlOk = (k, what) => {
    const t = Number(redisRaw('PTTL', k)), m = Number(redisRaw('PTTL', meta));
    // end + grace, as the meta's (the sale ends in an hour)
    assert.ok(t > 3600000 && Math.abs(t - m) < 5000, `${what}: PTTL ${k} ${t}, meta ${m}`);
  };
  assert.equal(redisRaw('HGET', meta, 'ipt'), '1');
  ttlOk(key, 'after warmup');
  const ipA = `198.20.${tag % 250}.1`, ipB = `198.20.${tag % 250}.2`;
  assert.equal((await orderReq(s, newUserId(), ipA)).status, 202);
  const over = await orderReq(s, newUserId(), ipA);
  assert.equal(over.status, 403, over.text);
  assert.equal(over.json.error, 'forbidden');
  ttlOk(key, 'after orders');
  assert.equal((await orderReq(s, newUserId(), ipB)).status, 202);
  // sold out now: a full address hears sold_out (the stock is checked first),
  // past the program's 200 ms sold-out mark, so the script decides
  await sleep(300);
  const late = await orderReq(s, newUserId(), ipA);
  assert.equal(late.status, 410, late.text);
  assert.equal(late.json.error, 'sold_out');
  assert.equal(redisRaw('HGET', key, ipA), '1');
  assert.equal(redisRaw('HGET', key, ipB), '1');
  // a meta written before ipt, whose hash is gone: the first order makes the
  // hash and the script gives it its TTL
  const s2 = await ruledSale({ max_orders_per_ip: 2 });
  const key2 = `fs:{${s2.aid}:${s2.iid}}:ipn`;
  redisRaw('HDEL', `fs:{${s2.aid}:${s2.iid}}:meta`, 'ipt');
  redisRaw('DEL', key2);
  assert.equal((await orderReq(s2, newUserId(), ipA)).status, 202);
  const t2 = Number(redisRaw('PTTL', key2));
  assert.ok(t2 > 3600000, `PTTL ${key2} ${t2}`);
  assert.equal(redisRaw('HGET', key2, ipA), '1');
});
