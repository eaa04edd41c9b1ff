// The order path: the gate (window, secret, token, body), no oversell under a
// real burst, one order per user, status from queued to unpaid, and the
// Redis/MySQL stock figures agreeing afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  get, post, jwt, newUserId, makeSale, secretFor, order, burst, statusCounts, redisRaw,
  sqlValue, sql, waitFor, sleep, request,
} from '../lib/flash.mjs';

const orderBody = (aid, iid, secret, extra = {}) => ({ activity_id: aid, item_id: iid, quantity: 1, secret, ...extra });

async function mysqlOrders(aid, iid, status) {
  return Number(sqlValue(`SELECT COUNT(*) FROM orders WHERE activity_id=${aid} AND item_id=${iid} AND status='${status}'`));
}

test('order-1.1 no oversell: 2,000 users at once on stock 100', async () => {
  const { aid, iid } = await makeSale({ stock: 100 });
  // tokens and secrets first, so the burst itself is only orders
  const users = [];
  for (let i = 0; i < 2000; i++) {
    const uid = newUserId();
    users.push({ uid, token: jwt(uid) });
  }
  await Promise.all(users.map(async (u) => { u.secret = await secretFor(u.token, aid, iid); }));
  const results = await burst(2000, (i) => post('/api/order', orderBody(aid, iid, users[i].secret), { token: users[i].token }));
  const counts = statusCounts(results);
  assert.equal(counts[202], 100, `statuses: ${JSON.stringify(counts)}`);
  assert.equal(counts[410], 1900, `statuses: ${JSON.stringify(counts)}`);
  for (const r of results.filter((x) => x.status === 410)) assert.equal(r.json.error, 'sold_out');
  const ids = results.filter((r) => r.status === 202).map((r) => r.json.order_id);
  assert.equal(new Set(ids).size, 100, 'order ids are distinct');
  for (const id of ids) assert.match(id, /^[1-9][0-9]{10,19}$/, 'order ids are decimal strings');
  // each snowflake worker id of these orders is leased to one live place-order process
  const workers = new Set(ids.map((id) => Number((BigInt(id) >> 12n) & 1023n)));
  const pids = new Set();
  for (const w of workers) {
    // the lease owner is host:pid:nonce (idgen.c)
    const owner = redisRaw('GET', `fs:snowflake:w:${w}`);
    assert.match(owner, /^[^:]+:[0-9]+:[0-9a-f]{16}$/, `worker ${w} is leased`);
    const pid = owner.split(':')[1];
    assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /place_order/);
    pids.add(pid);
  }
  assert.equal(pids.size, workers.size, 'one process per worker id');
  // within a few seconds MySQL has all of them as unpaid
  const unpaid = await waitFor(async () => (await mysqlOrders(aid, iid, 'unpaid')) === 100, 15000);
  assert.ok(unpaid, `MySQL unpaid orders: ${await mysqlOrders(aid, iid, 'unpaid')}`);
  assert.equal(sqlValue(`SELECT stock FROM activity_items WHERE activity_id=${aid} AND item_id=${iid}`), '0');
  assert.equal(redisRaw('GET', `fs:{${aid}:${iid}}:stock`), '0');
  assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM orders WHERE activity_id=${aid} AND item_id=${iid}`)), 100);
  assert.equal(await waitFor(() => redisRaw('ZCARD', `fs:{${aid}:${iid}}:pending`) === '0', 5000), true, 'journal drained');
});

test('order-1.2 one per user: 20 concurrent orders of one user give one 202', async () => {
  const { aid, iid } = await makeSale({ stock: 50 });
  const uid = newUserId();
  const token = jwt(uid);
  const secret = await secretFor(token, aid, iid);
  const results = await burst(20, () => post('/api/order', orderBody(aid, iid, secret), { token }));
  const counts = statusCounts(results);
  assert.equal(counts[202], 1, `statuses: ${JSON.stringify(counts)}`);
  // the rest are duplicate, or rate limited (a 429 may stand in for a refusal)
  assert.equal((counts[409] || 0) + (counts[429] || 0), 19, `statuses: ${JSON.stringify(counts)}`);
  for (const r of results.filter((x) => x.status === 409)) assert.equal(r.json.error, 'duplicate');
  for (const r of results.filter((x) => x.status === 429)) assert.ok(r.headers['retry-after']);
  await waitFor(async () => (await mysqlOrders(aid, iid, 'unpaid')) === 1, 10000);
  assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM orders WHERE activity_id=${aid} AND item_id=${iid} AND user_id=${uid}`)), 1);
  assert.equal(redisRaw('GET', `fs:{${aid}:${iid}}:stock`), '49');
});

test('order-1.3 the gate: window, secret, token, body', async () => {
  const soon = await makeSale({ stock: 5, startInMs: 60000 });
  const live = await makeSale({ stock: 5 });
  const uid = newUserId(), token = jwt(uid);
  const other = jwt(newUserId());

  // 1.3.1 before the start: the secret and the order are 403 not_started
  let r = await get(`/api/detail/${soon.aid}/${soon.iid}/secret`, { token });
  assert.equal(r.status, 403); assert.equal(r.json.error, 'not_started');
  r = await post('/api/order', orderBody(soon.aid, soon.iid, 'x'.repeat(32)), { token });
  assert.equal(r.status, 403); assert.equal(r.json.error, 'not_started');

  // 1.3.2 no secret, another user's secret, a forged one: bad_secret
  const mine = await secretFor(token, live.aid, live.iid);
  const theirs = await secretFor(other, live.aid, live.iid);
  assert.notEqual(mine, theirs);
  for (const body of [
    { activity_id: live.aid, item_id: live.iid, quantity: 1 },
    orderBody(live.aid, live.iid, theirs),
    orderBody(live.aid, live.iid, 'f'.repeat(32)),
    orderBody(live.aid, live.iid, ''),
  ]) {
    r = await post('/api/order', body, { token });
    assert.equal(r.status, 403, JSON.stringify(body)); assert.equal(r.json.error, 'bad_secret');
  }
  // the secret of one item is useless for another
  const live2 = await makeSale({ stock: 5 });
  r = await post('/api/order', orderBody(live2.aid, live2.iid, mine), { token });
  assert.equal(r.status, 403); assert.equal(r.json.error, 'bad_secret');

  // 1.3.3 no token, a bad token: 401 (before anything else)
  r = await post('/api/order', orderBody(live.aid, live.iid, mine));
  assert.equal(r.status, 401); assert.equal(r.json.error, 'unauthorized');
  r = await post('/api/order', orderBody(live.aid, live.iid, mine), { token: token + 'x' });
  assert.equal(r.status, 401);
  r = await post('/api/order', orderBody(live.aid, live.iid, mine), { token: jwt(uid, { secret: 'not-ours' }) });
  assert.equal(r.status, 401);

  // 1.3.4 malformed bodies and quantity over the per-user limit: 400
  for (const raw of ['', '{', '[]', 'null', '{"activity_id":"1","item_id":1}',
    JSON.stringify(orderBody(live.aid, live.iid, mine, { quantity: 2 })),
    JSON.stringify(orderBody(live.aid, live.iid, mine, { quantity: 0 })),
    JSON.stringify(orderBody(live.aid, live.iid, mine, { quantity: 1.5 })),
    JSON.stringify(orderBody(live.aid, live.iid, mine, { activity_id: -1 })),
    JSON.stringify(orderBody(live.aid, live.iid, 12345)),
  ]) {
    r = await request('POST', '/api/order', { rawBody: raw, token, headers: { 'Content-Type': 'application/json' } });
    assert.equal(r.status, 400, raw); assert.equal(r.json.error, 'bad_request', raw);
  }
  // 1.3.5 an unknown item is 404, GET is 405
  r = await post('/api/order', orderBody(999999999, 1, mine), { token });
  assert.equal(r.status, 404); assert.equal(r.json.error, 'not_found');
  r = await get('/api/order', { token });
  assert.equal(r.status, 405); assert.equal(r.json.error, 'method_not_allowed');
  // none of that sold anything
  assert.equal(redisRaw('GET', `fs:{${live.aid}:${live.iid}}:stock`), '5');

  // 1.3.6 after the end: 403 ended, whatever the secret says
  const short = await makeSale({ stock: 5, startInMs: -1000, durationMs: 2500 });
  const s = await secretFor(token, short.aid, short.iid);
  await sleep(1700);
  r = await post('/api/order', orderBody(short.aid, short.iid, s), { token });
  assert.equal(r.status, 403); assert.equal(r.json.error, 'ended');
  r = await get(`/api/detail/${short.aid}/${short.iid}/secret`, { token });
  assert.equal(r.status, 403); assert.equal(r.json.error, 'ended');
  r = await post('/api/order', orderBody(short.aid, short.iid, 'nope'), { token });
  assert.equal(r.status, 403); assert.equal(r.json.error, 'ended');
  assert.equal(redisRaw('GET', `fs:{${short.aid}:${short.iid}}:stock`), '5');
});

test('order-1.4 status: owner sees queued then unpaid; others get 404', async () => {
  const { aid, iid } = await makeSale({ stock: 5, flash_price_cents: 750 });
  const r = await order(aid, iid);
  assert.equal(r.status, 202);
  assert.equal(r.json.status, 'queued');
  const id = r.json.order_id;
  // readable at once, right after the 202
  const first = await get(`/api/order-status/${id}`, { token: r.token });
  assert.equal(first.status, 200);
  assert.ok(['queued', 'unpaid'].includes(first.json.status), first.text);
  assert.equal(first.json.order_id, id);
  assert.equal(first.json.amount_cents, 750);
  const unpaid = await waitFor(async () => {
    const s = await get(`/api/order-status/${id}`, { token: r.token });
    return s.json && s.json.status === 'unpaid' ? s : null;
  }, 10000);
  assert.ok(unpaid, 'becomes unpaid');
  assert.ok(unpaid.json.pay_deadline_ms > Date.now());
  assert.equal(unpaid.json.activity_id, aid);
  assert.equal(unpaid.json.item_id, iid);
  // by item, and in the list
  const byItem = await get(`/api/order-status?activity_id=${aid}&item_id=${iid}`, { token: r.token });
  assert.equal(byItem.status, 200); assert.equal(byItem.json.order_id, id);
  const list = await get('/api/order-status', { token: r.token });
  assert.equal(list.status, 200); assert.ok(list.json.orders.some((o) => o.order_id === id));
  // another user: 404, never a hint that it exists
  const other = jwt(newUserId());
  let x = await get(`/api/order-status/${id}`, { token: other });
  assert.equal(x.status, 404); assert.equal(x.json.error, 'not_found');
  x = await get(`/api/order-status?activity_id=${aid}&item_id=${iid}`, { token: other });
  assert.equal(x.status, 404);
  // bogus ids: 400 or 404; no token: 401
  for (const bad of ['abc', '0', '-5', '99999999999999999999', '1%27%20OR%201=1']) {
    x = await get(`/api/order-status/${bad}`, { token: r.token });
    assert.ok([400, 404].includes(x.status), `${bad}: ${x.status}`);
    assert.ok(x.json && x.json.error, bad);
  }
  x = await get(`/api/order-status/123456789012`, { token: r.token });
  assert.equal(x.status, 404);
  x = await get(`/api/order-status/${id}`);
  assert.equal(x.status, 401);
  x = await get(`/api/order-status?activity_id=abc&item_id=1`, { token: r.token });
  assert.equal(x.status, 400);
});

test('order-1.5 sold-out path answers from memory, then Redis again', async () => {
  const { aid, iid } = await makeSale({ stock: 1 });
  const a = await order(aid, iid);
  assert.equal(a.status, 202);
  const b = await order(aid, iid);
  assert.equal(b.status, 410); assert.equal(b.json.error, 'sold_out');
  // Redis and MySQL agree once the handler is done
  await waitFor(async () => (await mysqlOrders(aid, iid, 'unpaid')) === 1, 10000);
  const rows = sql(`SELECT stock, alloc_stock FROM activity_items WHERE activity_id=${aid} AND item_id=${iid}`);
  assert.deepEqual(rows[0], ['0', '1']);
});
