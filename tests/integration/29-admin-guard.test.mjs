// 29-admin-guard: what the operator's page reads about the guard rails and
// the rains: GET /api/admin/activities[/{aid}] carry each activity's
// challenge, pow_bits and rules, the activity's items their shards; and
// GET /api/admin/rains lists every rain, drafts too, newest first
// (docs/RAIN.md "The routes"). Hostile input answers 4xx and changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admin, adminToken, get, request, jwt, sqlValue } from '../lib/flash.mjs';
import { makeRain } from '../lib/rain.mjs';

const tag = Date.now() % 100000;

async function item(stock = 10) {
  const r = await admin.post('/api/admin/items', {
    name: `ag item ${tag}`, title: 't', description: 'd', price_cents: 900, stock, images: [],
  });
  assert.equal(r.status, 201, r.text);
  return r.json.item_id;
}

async function activity(extra) {
  const now = Date.now();
  const r = await admin.post('/api/admin/activities', {
    name: `ag sale ${tag}`, description: 'd', start_ms: now + 3600000, end_ms: now + 7200000, ...extra,
  });
  assert.equal(r.status, 201, r.text);
  return r.json.activity_id;
}

test('ag-1.1 the activity list and view show challenge, pow_bits and rules; items their shards', async () => {
  const pow = await activity({ challenge: 'pow', pow_bits: 20, rules: { min_account_age_s: 3600, max_orders_per_ip: 3 } });
  const quiz = await activity({ challenge: 'quiz', rules: { max_orders_per_ip: 7 } });
  const plain = await activity({});
  const i1 = await item(), i2 = await item();
  let r = await admin.post(`/api/admin/activities/${pow}/items`,
    { item_id: i1, flash_price_cents: 500, stock: 6, per_user_limit: 1, shards: 3 });
  assert.equal(r.status, 201, r.text);
  r = await admin.post(`/api/admin/activities/${pow}/items`,
    { item_id: i2, flash_price_cents: 400, stock: 4, per_user_limit: 1 });
  assert.equal(r.status, 201, r.text);

  const want = {
    [pow]: { challenge: 'pow', pow_bits: 20, rules: { min_account_age_s: 3600, max_orders_per_ip: 3 } },
    [quiz]: { challenge: 'quiz', pow_bits: 18, rules: { min_account_age_s: 0, max_orders_per_ip: 7 } },
    [plain]: { challenge: 'none', pow_bits: 18, rules: { min_account_age_s: 0, max_orders_per_ip: 0 } },
  };
  const list = await admin.get('/api/admin/activities');
  assert.equal(list.status, 200);
  for (const [aid, w] of Object.entries(want)) {
    const a = list.json.activities.filter((x) => x.activity_id === Number(aid));
    assert.equal(a.length, 1, `activity ${aid} listed once (the rules join adds no row)`);
    assert.deepEqual({ challenge: a[0].challenge, pow_bits: a[0].pow_bits, rules: a[0].rules }, w, `list ${aid}`);
    const one = await admin.get(`/api/admin/activities/${aid}`);
    assert.equal(one.status, 200);
    assert.deepEqual({ challenge: one.json.challenge, pow_bits: one.json.pow_bits, rules: one.json.rules }, w, `view ${aid}`);
  }
  // the list keeps its order and its old fields
  const ids = list.json.activities.map((a) => a.activity_id);
  assert.deepEqual(ids, [...ids].sort((x, y) => y - x), 'newest first');
  assert.equal(list.json.activities.find((a) => a.activity_id === pow).item_count, 2);
  const view = await admin.get(`/api/admin/activities/${pow}`);
  const shards = Object.fromEntries(view.json.items.map((it) => [it.item_id, it.shards]));
  assert.deepEqual(shards, { [i1]: 3, [i2]: 1 });
  assert.equal(sqlValue(`SELECT shards FROM activity_items WHERE activity_id = ${pow} AND item_id = ${i1}`), '3');
});

test('ag-1.2 hostile activity input creates nothing; the reads refuse strangers', async () => {
  const before = sqlValue('SELECT COUNT(*) FROM activities');
  const now = Date.now();
  const base = { name: `ag bad ${tag}`, description: 'd', start_ms: now + 1000, end_ms: now + 3600000 };
  for (const extra of [{ challenge: 'POW' }, { challenge: 1 }, { challenge: null }, { challenge: 'pow', pow_bits: 0 },
    { pow_bits: 33 }, { pow_bits: '18' }, { pow_bits: 1.5 }, { rules: [] }, { rules: null },
    { rules: { min_account_age_s: -1 } }, { rules: { max_orders_per_ip: '3' } }, { rules: { other: 1 } },
    { rules: { min_account_age_s: 315360001 } }]) {
    const r = await admin.post('/api/admin/activities', { ...base, ...extra });
    assert.equal(r.status, 400, `${JSON.stringify(extra)}: ${r.text}`);
    assert.equal(r.json.error, 'bad_request');
  }
  assert.equal(sqlValue('SELECT COUNT(*) FROM activities'), before, 'nothing created');
  const aid = await activity({});
  const it = await item(3);
  for (const shards of [0, 17, -1, 2.5, '2', null, true, 4]) {
    const r = await admin.post(`/api/admin/activities/${aid}/items`,
      { item_id: it, flash_price_cents: 100, stock: 3, per_user_limit: 1, shards });
    assert.equal(r.status, 400, `shards ${JSON.stringify(shards)}: ${r.text}`);
  }
  assert.equal((await admin.get(`/api/admin/activities/${aid}`)).json.items.length, 0, 'no item added');
  assert.equal((await get('/api/admin/activities')).status, 401);
  assert.equal((await get(`/api/admin/activities/${aid}`, { token: jwt(5) })).status, 403);
  assert.equal((await admin.get('/api/admin/activities/999999999')).status, 404);
});

test('ag-2.1 GET /api/admin/rains: every rain, drafts too, newest first, with status and state', async () => {
  const now = Date.now();
  const draft = await makeRain({ name: `ag draft ${tag}`, publish: false, total_cents: 300, packets: 3 });
  const upcoming = await makeRain({ name: `ag upcoming ${tag}`, startInMs: 600000, warm: false });
  const live = await makeRain({ name: `ag live ${tag}`, total_cents: 777, packets: 7 });
  const r = await admin.get('/api/admin/rains');
  assert.equal(r.status, 200, r.text);
  assert.ok(Math.abs(r.json.now_ms - Date.now()) < 60000, 'now_ms is the server clock');
  const ids = r.json.rains.map((x) => x.rain_id);
  assert.deepEqual(ids, [...ids].sort((x, y) => y - x), 'newest first');
  const mine = r.json.rains.filter((x) => [draft, upcoming, live].includes(x.rain_id));
  assert.deepEqual(mine.map((x) => x.rain_id), [live, upcoming, draft]);
  const d = mine[2];
  assert.deepEqual(Object.keys(d).sort(),
    ['end_ms', 'name', 'packets', 'rain_id', 'start_ms', 'state', 'status', 'total_cents']);
  assert.deepEqual({ name: d.name, status: d.status, state: d.state, total_cents: d.total_cents, packets: d.packets },
    { name: `ag draft ${tag}`, status: 'draft', state: 'draft', total_cents: 300, packets: 3 });
  assert.ok(d.start_ms >= now - 2000 && d.end_ms === d.start_ms + 3600000);
  assert.deepEqual([mine[1].status, mine[1].state], ['published', 'upcoming']);
  assert.deepEqual([mine[0].status, mine[0].state, mine[0].total_cents, mine[0].packets], ['published', 'live', 777, 7]);
  // the public list has no drafts; the admin list is MySQL's whole table (up to 500)
  const pub = await get('/api/rain');
  assert.ok(!pub.json.rains.some((x) => x.rain_id === draft));
  const total = Number(sqlValue('SELECT COUNT(*) FROM rains'));
  assert.equal(r.json.rains.length, Math.min(total, 500));
  // a rain whose end has passed reads ended (moved back in MySQL)
  sqlValue(`UPDATE rains SET start_ms = ${now - 7200000}, end_ms = ${now - 3600000} WHERE id = ${upcoming}`);
  const again = await admin.get('/api/admin/rains');
  assert.equal(again.json.rains.find((x) => x.rain_id === upcoming).state, 'ended');
  // publishing the draft shows at once
  assert.equal((await admin.post(`/api/admin/rains/${draft}/publish`, {})).status, 200);
  const pubd = (await admin.get('/api/admin/rains')).json.rains.find((x) => x.rain_id === draft);
  assert.deepEqual([pubd.status, pubd.state], ['published', 'live']);
});

test('ag-2.2 GET /api/admin/rains hostile: no token 401, a user token 403, other methods 405, odd paths 404', async () => {
  const before = sqlValue('SELECT COUNT(*) FROM rains');
  assert.equal((await get('/api/admin/rains')).status, 401);
  const u = await get('/api/admin/rains', { token: jwt(5) });
  assert.equal(u.status, 403);
  assert.equal(u.json.error, 'forbidden');
  assert.equal((await get('/api/admin/rains', { token: `${adminToken}x` })).status, 401);
  for (const m of ['PUT', 'DELETE', 'PATCH']) {
    const r = await request(m, '/api/admin/rains', { token: adminToken });
    assert.equal(r.status, 405, `${m}: ${r.text}`);
  }
  for (const p of ['/api/admin/rains/abc', '/api/admin/rains/1/x', '/api/admin/rainsx']) {
    const r = await admin.get(p);
    assert.equal(r.status, 404, `${p}: ${r.text}`);
    assert.equal(r.json.error, 'not_found');
  }
  // a query string changes nothing (no paging parameters to abuse)
  const q = await admin.get('/api/admin/rains?limit=999999999&offset=-1');
  assert.equal(q.status, 200);
  assert.ok(q.json.rains.length <= 500);
  // a body on a GET is not read
  const b = await request('GET', '/api/admin/rains', { token: adminToken, rawBody: '{"name":', headers: { 'Content-Type': 'application/json' } });
  assert.ok(b.status === 200 || b.status === 400, `${b.status}`);
  assert.equal(sqlValue('SELECT COUNT(*) FROM rains'), before, 'nothing created');
});
