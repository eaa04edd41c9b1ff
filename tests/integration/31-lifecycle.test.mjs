// The order lifecycle: cancel (owner only, once, stock back once and sellable
// again), cancel of a queued order, expiry of unpaid orders by the expire job,
// bans after 3 cancels or lapses in one activity, and ended activities.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  get, post, jwt, newUserId, makeSale, secretFor, order, redisRaw, sql, sqlValue, waitFor, sleep,
  runProgram, flashctl,
} from '../lib/flash.mjs';

const orderStatus = (oid) => sqlValue(`SELECT status FROM orders WHERE id=${oid}`);
const mysqlStock = (aid, iid) => Number(sqlValue(`SELECT stock FROM activity_items WHERE activity_id=${aid} AND item_id=${iid}`));
const redisStock = (aid, iid) => Number(redisRaw('GET', `fs:{${aid}:${iid}}:stock`));
const cancel = (oid, token) => post(`/api/order/${oid}/cancel`, {}, { token });

async function waitUnpaid(oid) {
  const ok = await waitFor(() => orderStatus(oid) === 'unpaid', 10000);
  assert.ok(ok, `order ${oid} not unpaid: ${orderStatus(oid)}`);
}

// An unpaid order of user uid (fresh unless given): {oid, uid, token}.
async function unpaidOrder(aid, iid, o = {}) {
  const r = await order(aid, iid, o);
  assert.equal(r.status, 202, `order: ${r.status} ${r.text}`);
  await waitUnpaid(r.json.order_id);
  return { oid: r.json.order_id, uid: r.uid, token: r.token };
}

// Makes the given orders overdue and runs the expire job; returns its line.
function lapse(oids) {
  sql(`UPDATE orders SET pay_deadline_ms = ${Date.now() - 1000} WHERE id IN (${oids.join(',')})`);
  return runProgram('expire');
}

test('life-1.1 cancel: owner only, 200 once then 409, stock back once', async () => {
  const { aid, iid } = await makeSale({ stock: 3 });
  const o = await unpaidOrder(aid, iid);
  assert.equal(mysqlStock(aid, iid), 2);
  assert.equal(redisStock(aid, iid), 2);

  const other = await cancel(o.oid, jwt(newUserId()));
  assert.equal(other.status, 404);
  assert.equal(other.json.error, 'not_found');
  assert.equal((await post(`/api/order/${o.oid}/cancel`, {})).status, 401);
  assert.equal((await cancel('123456789012345678', o.token)).status, 404);

  const [a, b] = await Promise.all([cancel(o.oid, o.token), cancel(o.oid, o.token)]);
  const codes = [a.status, b.status].sort();
  assert.deepEqual(codes, [200, 409], `${a.text} / ${b.text}`);
  const ok = a.status === 200 ? a : b;
  assert.equal(ok.json.status, 'cancelled');
  assert.equal(ok.json.order_id, o.oid);
  const third = await cancel(o.oid, o.token);
  assert.equal(third.status, 409);
  assert.equal(third.json.error, 'conflict');

  assert.equal(orderStatus(o.oid), 'cancelled');
  assert.equal(sqlValue(`SELECT IFNULL(live, 'NULL') FROM orders WHERE id=${o.oid}`), 'NULL');
  assert.equal(mysqlStock(aid, iid), 3, 'MySQL stock rose once');
  assert.equal(redisStock(aid, iid), 3, 'Redis stock rose once');
  const st = await get(`/api/order-status/${o.oid}`, { token: o.token });
  assert.equal(st.json.status, 'cancelled');
  assert.equal(redisRaw('HEXISTS', `fs:{${aid}:${iid}}:buyers`, o.uid), '0', 'buyer slot freed');
});

test('life-1.2 a cancelled unit is sold again; the same user may buy again', async () => {
  const { aid, iid } = await makeSale({ stock: 1 });
  const a = await unpaidOrder(aid, iid);
  const bUid = newUserId(), bToken = jwt(bUid);
  const bSecret = await secretFor(bToken, aid, iid);
  const body = { activity_id: aid, item_id: iid, quantity: 1, secret: bSecret };
  const refused = await post('/api/order', body, { token: bToken });
  assert.equal(refused.status, 410);
  assert.equal((await cancel(a.oid, a.token)).status, 200);
  // place-order trusts its sold-out mark for up to 200 ms
  await sleep(300);
  const b = await post('/api/order', body, { token: bToken });
  assert.equal(b.status, 202, b.text);
  await waitUnpaid(b.json.order_id);
  assert.equal(mysqlStock(aid, iid), 0);
  assert.equal(redisStock(aid, iid), 0);
  // b cancels too; now a may buy again (its old order no longer blocks it)
  assert.equal((await cancel(b.json.order_id, bToken)).status, 200);
  await sleep(300);
  const again = await order(aid, iid, { uid: a.uid, token: a.token });
  assert.equal(again.status, 202, again.text);
});

test('life-1.3 cancel of a queued order: recorded at once, applied when the handler writes it', async () => {
  const { aid, iid } = await makeSale({ stock: 5 });
  // right after the 202 the order is usually still queued: either way it
  // ends cancelled
  const r = await order(aid, iid);
  assert.equal(r.status, 202);
  const c = await cancel(r.json.order_id, r.token);
  assert.equal(c.status, 200, c.text);
  assert.ok(c.json.status === 'cancelled' || (c.json.status === 'queued' && c.json.cancel === 'pending'), c.text);
  assert.ok(await waitFor(() => orderStatus(r.json.order_id) === 'cancelled', 10000), 'cancelled in MySQL');

  // with the order handler stopped it stays queued: the cancel is recorded
  // at once, and applied when the order is written (queue or reconcile)
  flashctl('handler-stop');
  let q;
  try {
    q = await order(aid, iid);
    assert.equal(q.status, 202);
    const t0 = Date.now();
    const c2 = await cancel(q.json.order_id, q.token);
    assert.equal(c2.status, 200, c2.text);
    assert.equal(c2.json.status, 'queued');
    assert.equal(c2.json.cancel, 'pending');
    assert.ok(Date.now() - t0 < 1200, 'it did not wait for the handler');
    assert.equal((await cancel(q.json.order_id, jwt(newUserId()))).status, 404);
    flashctl('handler-start');
    await waitFor(() => orderStatus(q.json.order_id) === 'cancelled', 5000, 200);
    if (orderStatus(q.json.order_id) !== 'cancelled') { await sleep(1200); runProgram('reconcile'); }
    assert.ok(await waitFor(() => orderStatus(q.json.order_id) === 'cancelled', 10000, 200),
      `order ${q.json.order_id}: ${orderStatus(q.json.order_id)}`);
  } finally {
    try { flashctl('handler-start'); } catch { /* already up */ }
  }
  const st = await get(`/api/order-status/${q.json.order_id}`, { token: q.token });
  assert.equal(st.json.status, 'cancelled');
  assert.equal((await cancel(q.json.order_id, q.token)).status, 409);
  // two orders placed, both cancelled: all 5 units are back
  assert.equal(mysqlStock(aid, iid), 5);
  assert.ok(await waitFor(() => redisStock(aid, iid) === 5, 3000, 50));
  assert.equal(redisStock(aid, iid), 5);
});

test('life-2.1 expire closes overdue unpaid orders and gives their stock back once', async () => {
  const { aid, iid } = await makeSale({ stock: 4 });
  const o1 = await unpaidOrder(aid, iid);
  const o2 = await unpaidOrder(aid, iid);
  assert.equal(mysqlStock(aid, iid), 2);
  const line = lapse([o1.oid]);
  assert.match(line, /^expire: closed [1-9]\d*, /m);
  assert.equal(orderStatus(o1.oid), 'closed');
  assert.equal(orderStatus(o2.oid), 'unpaid', 'an order inside its window stays');
  assert.equal(mysqlStock(aid, iid), 3);
  assert.equal(redisStock(aid, iid), 3);
  const st = await get(`/api/order-status/${o1.oid}`, { token: o1.token });
  assert.equal(st.json.status, 'closed');
  // running again changes nothing; a closed order cannot be paid or cancelled
  runProgram('expire');
  assert.equal(mysqlStock(aid, iid), 3);
  assert.equal(redisStock(aid, iid), 3);
  assert.equal((await cancel(o1.oid, o1.token)).status, 409);
  assert.equal((await post(`/api/pay/${o1.oid}`, {}, { token: o1.token })).status, 409);
});

test('life-3.1 three cancels ban the user from that activity, not from another', async () => {
  const saleA = await makeSale({ stock: 10 });
  // a second item in the same activity is not possible through makeSale, so
  // the ban of activity A is checked on its item, and B is another activity
  const saleB = await makeSale({ stock: 10 });
  const uid = newUserId(), token = jwt(uid);
  for (let i = 0; i < 3; i++) {
    const o = await unpaidOrder(saleA.aid, saleA.iid, { uid, token });
    assert.equal((await cancel(o.oid, token)).status, 200);
    await sleep(250); // per-user order rate limit
  }
  const refused = await order(saleA.aid, saleA.iid, { uid, token });
  assert.equal(refused.status, 403, refused.text);
  assert.equal(refused.json.error, 'banned');
  const elsewhere = await order(saleB.aid, saleB.iid, { uid, token });
  assert.equal(elsewhere.status, 202, elsewhere.text);
  // another user is not touched
  assert.equal((await order(saleA.aid, saleA.iid)).status, 202);
  // the ban survives a Redis that lost it: expire puts it back from MySQL
  redisRaw('DEL', `fs:{${saleA.aid}:${saleA.iid}}:banned`);
  runProgram('expire');
  assert.equal(redisRaw('SISMEMBER', `fs:{${saleA.aid}:${saleA.iid}}:banned`, uid), '1');
});

test('life-3.2 three lapsed orders ban the user too', async () => {
  const { aid, iid } = await makeSale({ stock: 10 });
  const uid = newUserId(), token = jwt(uid);
  for (let i = 0; i < 3; i++) {
    const o = await unpaidOrder(aid, iid, { uid, token });
    lapse([o.oid]);
    assert.equal(orderStatus(o.oid), 'closed');
    await sleep(250);
  }
  const refused = await order(aid, iid, { uid, token });
  assert.equal(refused.status, 403, refused.text);
  assert.equal(refused.json.error, 'banned');
  assert.equal(mysqlStock(aid, iid), 10);
  assert.equal(redisStock(aid, iid), 10);
});

test('life-4.1 an activity past its end: expire marks it ended; detail ended, orders 403 ended', async () => {
  const now = Date.now();
  const { aid, iid, end_ms } = await makeSale({ stock: 5, start_ms: now - 1000, end_ms: now + 2500 });
  const uid = newUserId(), token = jwt(uid);
  const secret = await secretFor(token, aid, iid);
  await sleep(Math.max(0, end_ms - Date.now()) + 200);
  const line = runProgram('expire');
  assert.match(line, /activities ended [1-9]/);
  assert.equal(sqlValue(`SELECT status FROM activities WHERE id=${aid}`), 'ended');
  assert.equal(redisRaw('HGET', `fs:{${aid}:${iid}}:meta`, 'status'), 'ended');
  const ttl = Number(redisRaw('PTTL', `fs:{${aid}:${iid}}:meta`));
  assert.ok(ttl > 0 && ttl <= 5 * 60 * 1000, `meta keeps its TTL: ${ttl}`);
  const d = await get(`/api/detail/${aid}/${iid}`);
  assert.equal(d.status, 200, d.text);
  assert.equal(d.json.state, 'ended');
  // place-order re-reads the sale's meta every 2 s: ask before and after that
  for (const wait of [0, 2100]) {
    await sleep(wait);
    const r = await post('/api/order', { activity_id: aid, item_id: iid, quantity: 1, secret }, { token });
    assert.equal(r.status, 403, `after ${wait} ms: ${r.text}`);
    assert.equal(r.json.error, 'ended');
  }
  assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM orders WHERE activity_id=${aid}`)), 0);
});
