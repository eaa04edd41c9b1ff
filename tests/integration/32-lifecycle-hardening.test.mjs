// Lifecycle hardening (issue 9, points 8-11): the status answer of a written
// order comes from MySQL even when its Redis record is stale; the pay
// deadline counts from when the order became payable; the sandbox provider
// needs the owner's token and is off unless the configuration turns it on; a
// success after a failed payment is applied; a cancel never waits for the
// order handler.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import {
  conf, state, get, post, jwt, newUserId, makeSale, secretFor, order, burst, statusCounts,
  redisRaw, sql, sqlValue, waitFor, sleep, flashctl, runProgram,
} from '../lib/flash.mjs';

const orderStatus = (oid) => sqlValue(`SELECT status FROM orders WHERE id=${oid}`);
const paymentStatus = (pid) => sqlValue(`SELECT status FROM payments WHERE id=${pid}`);
const mysqlStock = (aid, iid) => Number(sqlValue(`SELECT stock FROM activity_items WHERE activity_id=${aid} AND item_id=${iid}`));
const redisStock = (aid, iid) => Number(redisRaw('GET', `fs:{${aid}:${iid}}:stock`));
const cancel = (oid, token, opts = {}) => post(`/api/order/${oid}/cancel`, {}, { token, ...opts });
const record = (uid, oid) => `fs:o:{${uid}}:${oid}`;

function signNotify(n, secret = conf.pay_secret) {
  const msg = `${n.payment_id}|${n.order_id}|${n.amount_cents}|${n.status}|${n.ts_ms}`;
  return { ...n, sign: createHmac('sha256', secret).update(msg).digest('hex') };
}

async function unpaidOrder(aid, iid, o = {}) {
  const r = await order(aid, iid, o);
  assert.equal(r.status, 202, `order: ${r.status} ${r.text}`);
  const ok = await waitFor(() => orderStatus(r.json.order_id) === 'unpaid', 10000);
  assert.ok(ok, `order ${r.json.order_id} not unpaid: ${orderStatus(r.json.order_id)}`);
  // the handler announces the order to Redis just after its commit
  await waitFor(() => redisRaw('GET', record(r.uid, r.json.order_id)).includes('"unpaid"'), 5000, 50);
  return { oid: r.json.order_id, uid: r.uid, token: r.token };
}

async function startPay(o) {
  const r = await post(`/api/pay/${o.oid}`, {}, { token: o.token });
  assert.equal(r.status, 200, `pay: ${r.status} ${r.text}`);
  return r.json;
}

// What a failed Redis write after a move leaves behind: the record of the
// state before it, with its TTL kept.
function makeStale(uid, oid, from, to) {
  const cur = redisRaw('GET', record(uid, oid));
  assert.ok(cur.includes(`"status":"${from}"`), `record: ${cur}`);
  redisRaw('SET', record(uid, oid), cur.replace(`"status":"${from}"`, `"status":"${to}"`), 'KEEPTTL');
}

// The order handler's pid (flashctl's pid file) and a way to hold it: a
// stopped process keeps its socket, so orders wait in the queue for it.
const handlerPid = () => Number(readFileSync(`${state}/order_handler.pid`, 'utf8').trim());
async function withHandlerHeld(fn) {
  const pid = handlerPid();
  process.kill(pid, 'SIGSTOP');
  try {
    return await fn();
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}

test('harden-8.1 order-status answers MySQL\'s state when the Redis record is stale', async () => {
  const { aid, iid } = await makeSale({ stock: 5 });
  // paid, but the Redis write after the payment failed: the record says unpaid
  const p = await unpaidOrder(aid, iid);
  const pay = await startPay(p);
  const s = await post('/api/pay/notify', signNotify({ payment_id: pay.payment_id, order_id: p.oid,
    amount_cents: 999, status: 'success', ts_ms: Date.now() }));
  assert.equal(s.status, 200, s.text);
  assert.equal(orderStatus(p.oid), 'paid');
  makeStale(p.uid, p.oid, 'paid', 'unpaid');
  let st = await get(`/api/order-status/${p.oid}`, { token: p.token });
  assert.equal(st.status, 200, st.text);
  assert.equal(st.json.status, 'paid', 'by id');
  st = await get(`/api/order-status?activity_id=${aid}&item_id=${iid}`, { token: p.token });
  assert.equal(st.status, 200, st.text);
  assert.equal(st.json.status, 'paid', 'by item');

  // cancelled, the record left at unpaid
  const c = await unpaidOrder(aid, iid);
  assert.equal((await cancel(c.oid, c.token)).status, 200);
  makeStale(c.uid, c.oid, 'cancelled', 'unpaid');
  st = await get(`/api/order-status/${c.oid}`, { token: c.token });
  assert.equal(st.json.status, 'cancelled');

  // closed by the expire job, the record left at unpaid
  const x = await unpaidOrder(aid, iid);
  sql(`UPDATE orders SET pay_deadline_ms = ${Date.now() - 1000} WHERE id = ${x.oid}`);
  runProgram('expire');
  assert.equal(orderStatus(x.oid), 'closed');
  makeStale(x.uid, x.oid, 'closed', 'unpaid');
  st = await get(`/api/order-status/${x.oid}`, { token: x.token });
  assert.equal(st.json.status, 'closed');
  // the list shows the truth too, and the owner rule still holds
  const list = await get('/api/order-status', { token: x.token });
  assert.equal(list.json.orders.find((o) => o.order_id === x.oid).status, 'closed');
  assert.equal((await get(`/api/order-status/${x.oid}`, { token: jwt(newUserId()) })).status, 404);
});

test('harden-9.1 the pay deadline counts from when the order was written, not from its creation', async () => {
  const { aid, iid } = await makeSale({ stock: 5 });
  const window = Number(conf.pay_window_ms);
  assert.ok(window > 0, 'pay_window_ms in the test config');
  let r;
  const heldMs = 1500;
  await withHandlerHeld(async () => {
    r = await order(aid, iid);
    assert.equal(r.status, 202, r.text);
    await sleep(heldMs);
    assert.equal(orderStatus(r.json.order_id), null, 'not written while the handler is held');
  });
  const oid = r.json.order_id;
  assert.ok(await waitFor(() => orderStatus(oid) === 'unpaid', 10000), `order ${oid} written`);
  const [created, deadline, written] = sql(`SELECT created_ms, pay_deadline_ms, updated_ms FROM orders WHERE id=${oid}`)[0].map(Number);
  assert.ok(written - created >= heldMs - 100, `written ${written - created} ms after creation`);
  assert.ok(deadline - written >= window, `a full window from the write: ${deadline - written} ms < ${window} ms`);
  const st = await get(`/api/order-status/${oid}`, { token: r.token });
  assert.equal(st.json.pay_deadline_ms, deadline);
});

test('harden-10.1 the sandbox provider takes the payment owner\'s token only', async () => {
  const { aid, iid } = await makeSale({ stock: 5 });
  const o = await unpaidOrder(aid, iid);
  const p = await startPay(o);
  const none = await post(`/api/pay/sandbox/${p.payment_id}`, { status: 'success' });
  assert.equal(none.status, 401, none.text);
  assert.equal(none.json.error, 'unauthorized');
  const other = await post(`/api/pay/sandbox/${p.payment_id}`, { status: 'fail' }, { token: jwt(newUserId()) });
  assert.equal(other.status, 404, other.text);
  assert.equal(other.json.error, 'not_found');
  assert.equal(paymentStatus(p.payment_id), 'created', 'nothing changed');
  assert.equal(orderStatus(o.oid), 'unpaid');
  const mine = await post(`/api/pay/sandbox/${p.payment_id}`, { status: 'success' }, { token: o.token });
  assert.equal(mine.status, 200, mine.text);
  assert.equal(mine.json.result, 'paid');
  assert.equal(orderStatus(o.oid), 'paid');
});

test('harden-10.2 a success after a failed payment is applied: paid, or late once the order left unpaid', async () => {
  const { aid, iid } = await makeSale({ stock: 5, flash_price_cents: 450 });
  // through the signed notify
  const a = await unpaidOrder(aid, iid);
  const pa = await startPay(a);
  const n = { payment_id: pa.payment_id, order_id: a.oid, amount_cents: 450, ts_ms: Date.now() };
  let r = await post('/api/pay/notify', signNotify({ ...n, status: 'fail' }));
  assert.equal(r.json.result, 'failed');
  assert.equal(paymentStatus(pa.payment_id), 'fail');
  r = await post('/api/pay/notify', signNotify({ ...n, status: 'success', ts_ms: n.ts_ms + 1000 }));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.result, 'paid');
  assert.equal(paymentStatus(pa.payment_id), 'success');
  assert.equal(orderStatus(a.oid), 'paid');
  // a fail after that changes nothing; the success itself again is a duplicate
  r = await post('/api/pay/notify', signNotify({ ...n, status: 'fail', ts_ms: n.ts_ms + 2000 }));
  assert.equal(r.json.result, 'duplicate');
  r = await post('/api/pay/notify', signNotify({ ...n, status: 'success', ts_ms: n.ts_ms + 1000 }));
  assert.equal(r.json.result, 'duplicate');
  assert.equal(paymentStatus(pa.payment_id), 'success');
  assert.equal(orderStatus(a.oid), 'paid');

  // through the sandbox's buttons
  const b = await unpaidOrder(aid, iid);
  const pb = await startPay(b);
  r = await post(`/api/pay/sandbox/${pb.payment_id}`, { status: 'fail' }, { token: b.token });
  assert.equal(r.json.result, 'failed');
  r = await post(`/api/pay/sandbox/${pb.payment_id}`, { status: 'success' }, { token: b.token });
  assert.equal(r.json.result, 'paid');
  assert.equal(orderStatus(b.oid), 'paid');

  // failed, then the order was cancelled, then the money came: late (refund)
  const c = await unpaidOrder(aid, iid);
  const pc = await startPay(c);
  const nc = { payment_id: pc.payment_id, order_id: c.oid, amount_cents: 450, ts_ms: Date.now() };
  assert.equal((await post('/api/pay/notify', signNotify({ ...nc, status: 'fail' }))).json.result, 'failed');
  assert.equal((await cancel(c.oid, c.token)).status, 200);
  r = await post('/api/pay/notify', signNotify({ ...nc, status: 'success', ts_ms: nc.ts_ms + 1000 }));
  assert.equal(r.json.result, 'late');
  assert.equal(paymentStatus(pc.payment_id), 'late');
  assert.equal(orderStatus(c.oid), 'cancelled');
});

// lighttpd and its FastCGI programs, stopped and started again (flashctl
// blocks this process meanwhile: the HTTP agent learns of closed sockets after)
function restartWeb() {
  flashctl('lighttpd-stop');
  flashctl('lighttpd-start');
}

test('harden-10.3 the sandbox provider is off unless the configuration turns it on', async () => {
  const confPath = process.env.FLASH_CONF;
  const original = readFileSync(confPath, 'utf8');
  assert.match(original, /^pay_sandbox\s*=\s*1\s*$/m, 'the test stack (like make run) turns it on');
  const { aid, iid } = await makeSale({ stock: 5 });
  const o = await unpaidOrder(aid, iid);
  const p = await startPay(o);
  try {
    writeFileSync(confPath, original.split('\n').filter((l) => !/^\s*pay_sandbox\s*=/.test(l)).join('\n'));
    // the programs read their configuration at start-up
    restartWeb();
    await sleep(200); // let the HTTP agent see its old sockets closed
    const r = await post(`/api/pay/sandbox/${p.payment_id}`, { status: 'success' }, { token: o.token });
    assert.equal(r.status, 404, r.text);
    assert.equal(r.json.error, 'not_found');
    assert.equal(paymentStatus(p.payment_id), 'created');
    assert.equal(orderStatus(o.oid), 'unpaid');
    // the signed notify of a real provider still works
    const n = await post('/api/pay/notify', signNotify({ payment_id: p.payment_id, order_id: o.oid,
      amount_cents: 999, status: 'success', ts_ms: Date.now() }));
    assert.equal(n.json.result, 'paid');
  } finally {
    writeFileSync(confPath, original);
    restartWeb();
    await sleep(200);
  }
  const q = await unpaidOrder(aid, iid);
  const pq = await startPay(q);
  const r = await post(`/api/pay/sandbox/${pq.payment_id}`, { status: 'success' }, { token: q.token });
  assert.equal(r.status, 200, r.text);
});

test('harden-11.1 cancels of queued orders answer at once while the handler is held; applied once it writes', async () => {
  const N = 8;
  const alloc = 20;
  const { aid, iid } = await makeSale({ stock: alloc });
  const users = Array.from({ length: N + 4 }, () => { const uid = newUserId(); return { uid, token: jwt(uid) }; });
  await Promise.all(users.map(async (u) => { u.secret = await secretFor(u.token, aid, iid); }));
  const buy = (u) => post('/api/order', { activity_id: aid, item_id: iid, quantity: 1, secret: u.secret }, { token: u.token });
  const buyers = users.slice(0, N), late = users.slice(N);
  let cancels, others, other;
  await withHandlerHeld(async () => {
    const placed = await burst(N, (i) => buy(buyers[i]));
    assert.deepEqual(statusCounts(placed), { 202: N });
    placed.forEach((r, i) => { buyers[i].oid = r.json.order_id; });
    // more cancels than place-order processes, and other requests beside them
    const t0 = Date.now();
    const timed = async (p) => { const r = await p; r.ms = Date.now() - t0; return r; };
    [cancels, others] = await Promise.all([
      Promise.all(buyers.map((u) => timed(cancel(u.oid, u.token)))),
      Promise.all(late.map((u) => timed(buy(u)))),
    ]);
    other = await cancel(buyers[0].oid, jwt(newUserId()));
    for (const c of cancels) {
      assert.equal(c.status, 200, c.text);
      assert.ok(c.ms < 1200, `cancel answered in ${c.ms} ms`);
      assert.equal(c.json.status, 'queued');
      assert.equal(c.json.cancel, 'pending');
    }
    for (const r of others) {
      assert.equal(r.status, 202, r.text);
      assert.ok(r.ms < 1200, `order answered in ${r.ms} ms beside the cancels`);
    }
    assert.equal(other.status, 404, 'another user\'s queued order');
    // a cancel asked twice is still one cancel
    const again = await cancel(buyers[0].oid, buyers[0].token);
    assert.equal(again.status, 200, again.text);
    assert.equal(orderStatus(buyers[0].oid), null, 'nothing written while the handler is held');
  });
  // the handler writes them and applies the cancels: each cancelled once
  const ids = buyers.map((u) => u.oid).join(',');
  const done = await waitFor(() => Number(sqlValue(`SELECT COUNT(*) FROM orders WHERE id IN (${ids}) AND status='cancelled'`)) === N, 15000, 100);
  assert.ok(done, `cancelled: ${sqlValue(`SELECT GROUP_CONCAT(status) FROM orders WHERE id IN (${ids})`)}`);
  const kept = alloc - late.length;
  assert.equal(mysqlStock(aid, iid), kept, 'MySQL stock: the cancelled units back once');
  await waitFor(() => redisStock(aid, iid) === kept, 3000, 50);
  assert.equal(redisStock(aid, iid), kept, 'Redis stock: the cancelled units back once');
  assert.equal(redisRaw('SCARD', `fs:{${aid}:${iid}}:cancels`), '0', 'no cancel left pending');
  // a later sweep changes nothing; the orders read cancelled; a cancel now is a conflict
  runProgram('expire');
  assert.equal(mysqlStock(aid, iid), kept);
  assert.equal(redisStock(aid, iid), kept);
  const st = await get(`/api/order-status/${buyers[1].oid}`, { token: buyers[1].token });
  assert.equal(st.json.status, 'cancelled');
  assert.equal((await cancel(buyers[1].oid, buyers[1].token)).status, 409);
  assert.equal(redisRaw('HEXISTS', `fs:{${aid}:${iid}}:buyers`, buyers[1].uid), '0', 'buyer slot freed');
  // a cancel counts toward a ban like any other
  assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM orders WHERE user_id=${buyers[2].uid} AND status='cancelled'`)), 1);
});

test('harden-11.2 a recorded cancel the handler could not apply is applied by the expire job', async () => {
  const { aid, iid } = await makeSale({ stock: 5 });
  const o = await unpaidOrder(aid, iid);
  assert.equal(mysqlStock(aid, iid), 4);
  // as if the handler wrote the order but failed to read the cancel mark
  redisRaw('SADD', `fs:{${aid}:${iid}}:cancels`, o.oid);
  const line = runProgram('expire');
  assert.match(line, /cancels applied 1\b/, line);
  assert.equal(orderStatus(o.oid), 'cancelled');
  assert.equal(mysqlStock(aid, iid), 5);
  assert.equal(redisStock(aid, iid), 5);
  assert.equal(redisRaw('SCARD', `fs:{${aid}:${iid}}:cancels`), '0');
  // a mark of an order that is still queued stays until the order is written
  await withHandlerHeld(async () => {
    const q = await order(aid, iid);
    assert.equal(q.status, 202);
    assert.equal((await cancel(q.json.order_id, q.token)).status, 200);
    runProgram('expire');
    assert.equal(redisRaw('SISMEMBER', `fs:{${aid}:${iid}}:cancels`, q.json.order_id), '1');
    o.queued = q.json.order_id;
  });
  assert.ok(await waitFor(() => orderStatus(o.queued) === 'cancelled', 10000), `order ${o.queued}: ${orderStatus(o.queued)}`);
  assert.equal(mysqlStock(aid, iid), 5);
});
