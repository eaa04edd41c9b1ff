// Faults: the order handler killed mid-burst or down for a whole burst, Redis
// down, MySQL down. Every 202 ends as exactly one MySQL row and the stock
// figures of Redis and MySQL agree afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  post, jwt, newUserId, makeSale, secretFor, order, burst, statusCounts, redisRaw, sqlValue,
  waitFor, sleep, flashctl, runProgram,
} from '../lib/flash.mjs';

async function prepareUsers(aid, iid, n) {
  const users = [];
  for (let i = 0; i < n; i++) { const uid = newUserId(); users.push({ uid, token: jwt(uid) }); }
  await Promise.all(users.map(async (u) => { u.secret = await secretFor(u.token, aid, iid); }));
  return users;
}
const fire = (aid, iid, users) => burst(users.length, (i) => post('/api/order',
  { activity_id: aid, item_id: iid, quantity: 1, secret: users[i].secret }, { token: users[i].token }));

function reconcile() {
  try { return runProgram('reconcile'); } catch (e) { return String(e.stdout || e); }
}

// every accepted id is in MySQL exactly once, and both stores add up
async function assertConsistent(aid, iid, acceptedIds, alloc) {
  const inDb = async () => Number(sqlValue(`SELECT COUNT(*) FROM orders WHERE activity_id=${aid} AND item_id=${iid}`));
  let ok = await waitFor(async () => (await inDb()) >= acceptedIds.length, 15000, 200);
  if (!ok) { await sleep(1200); reconcile(); ok = await waitFor(async () => (await inDb()) >= acceptedIds.length, 10000, 200); }
  assert.equal(await inDb(), acceptedIds.length, 'MySQL rows = accepted orders');
  const ids = acceptedIds.join(',');
  assert.equal(Number(sqlValue(`SELECT COUNT(DISTINCT id) FROM orders WHERE id IN (${ids})`)), acceptedIds.length);
  assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM orders WHERE id IN (${ids}) AND status='unpaid'`)), acceptedIds.length);
  const dbStock = Number(sqlValue(`SELECT stock FROM activity_items WHERE activity_id=${aid} AND item_id=${iid}`));
  assert.equal(dbStock, alloc - acceptedIds.length, 'MySQL stock');
  assert.equal(Number(redisRaw('GET', `fs:{${aid}:${iid}}:stock`)), alloc - acceptedIds.length, 'Redis stock');
  await waitFor(() => redisRaw('HLEN', `fs:{${aid}:${iid}}:journal`) === '0', 5000);
  assert.equal(redisRaw('HLEN', `fs:{${aid}:${iid}}:journal`), '0', 'journal drained');
  const out = reconcile();
  assert.match(out, new RegExp(`item ${aid}:${iid} .* ok`), out);
}

test('fault-1.1 kill -9 the order handler while 500 accepted orders are in flight', async () => {
  const alloc = 1000;
  const { aid, iid } = await makeSale({ stock: alloc });
  const users = await prepareUsers(aid, iid, 500);
  const pending = fire(aid, iid, users);
  await sleep(30);
  flashctl('handler-kill');
  const results = await pending;
  const accepted = results.filter((r) => r.status === 202).map((r) => r.json.order_id);
  assert.equal(accepted.length, 500, JSON.stringify(statusCounts(results)));
  flashctl('handler-start');
  await sleep(1200); // older than reconcile_age_ms in the test config
  reconcile();
  await assertConsistent(aid, iid, accepted, alloc);
});

test('fault-1.2 the handler down for the whole burst, started afterwards', async () => {
  const alloc = 400;
  const { aid, iid } = await makeSale({ stock: alloc });
  const users = await prepareUsers(aid, iid, 300);
  flashctl('handler-stop');
  try {
    const results = await fire(aid, iid, users);
    const accepted = results.filter((r) => r.status === 202).map((r) => r.json.order_id);
    assert.equal(accepted.length, 300, JSON.stringify(statusCounts(results)));
    await sleep(500);
    assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM orders WHERE activity_id=${aid}`)), 0, 'nothing in MySQL while down');
    // the status poll still answers: queued
    const r = await (await import('../lib/flash.mjs')).get(`/api/order-status/${accepted[0]}`, { token: users[0].token });
    assert.equal(r.status, 200); assert.equal(r.json.status, 'queued');
    flashctl('handler-start');
    await assertConsistent(aid, iid, accepted, alloc);
  } finally {
    flashctl('handler-start');
  }
});

test('fault-1.3 Redis down: 503 and nothing reserved; back up: sells again', async () => {
  const { aid, iid } = await makeSale({ stock: 10 });
  const uid = newUserId(), token = jwt(uid);
  const secret = await secretFor(token, aid, iid);
  flashctl('redis-stop');
  try {
    const r = await post('/api/order', { activity_id: aid, item_id: iid, secret }, { token });
    assert.equal(r.status, 503); assert.equal(r.json.error, 'unavailable');
    const h = await (await import('../lib/flash.mjs')).get('/api/health');
    assert.equal(h.status, 503); assert.equal(h.json.redis, 'down');
  } finally {
    flashctl('redis-start');
  }
  assert.equal(redisRaw('GET', `fs:{${aid}:${iid}}:stock`), '10', 'nothing reserved (AOF kept the rest)');
  const ok = await waitFor(async () => {
    const r = await post('/api/order', { activity_id: aid, item_id: iid, secret }, { token });
    return r.status === 202 ? r : null;
  }, 5000, 250);
  assert.ok(ok, 'orders are taken again once Redis is back');
  await assertConsistent(aid, iid, [ok.json.order_id], 10);
});

test('fault-1.4 Redis restart keeps accepted orders (AOF)', async () => {
  const alloc = 100;
  const { aid, iid } = await makeSale({ stock: alloc });
  flashctl('handler-stop');
  let accepted;
  try {
    const users = await prepareUsers(aid, iid, 40);
    const results = await fire(aid, iid, users);
    accepted = results.filter((r) => r.status === 202).map((r) => r.json.order_id);
    assert.equal(accepted.length, 40);
    await sleep(1100); // appendfsync everysec
    flashctl('redis-stop');
    flashctl('redis-start');
    assert.equal(redisRaw('HLEN', `fs:{${aid}:${iid}}:journal`), '40', 'journal survived the restart');
  } finally {
    flashctl('handler-start');
  }
  await sleep(1200);
  reconcile();
  await assertConsistent(aid, iid, accepted, alloc);
});

test('fault-1.5 MySQL down during a burst: orders are taken, and land when it is back', async () => {
  const alloc = 200;
  const { aid, iid } = await makeSale({ stock: alloc });
  const users = await prepareUsers(aid, iid, 100);
  // the place-order processes know this sale already (meta cached in Redis)
  const warm = await order(aid, iid);
  assert.equal(warm.status, 202);
  flashctl('mysql-stop');
  let accepted;
  try {
    const results = await fire(aid, iid, users);
    accepted = results.filter((r) => r.status === 202).map((r) => r.json.order_id);
    assert.equal(accepted.length, 100, JSON.stringify(statusCounts(results)));
  } finally {
    flashctl('mysql-start');
  }
  await assertConsistent(aid, iid, [warm.json.order_id, ...accepted], alloc);
});
