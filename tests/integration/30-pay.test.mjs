// Payment: the pay flow through the sandbox provider, the signed notify
// (bad signature, wrong amount, replays, fail, late), and THE RACE: signed
// success notifies against the expire job on 200 orders at their deadline,
// each ending paid or closed, the stock given back exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import {
  conf, get, post, jwt, newUserId, makeSale, secretFor, order, burst, statusCounts, redisRaw,
  sql, sqlValue, waitFor, admin, runProgram,
} from '../lib/flash.mjs';

const orderStatus = (oid) => sqlValue(`SELECT status FROM orders WHERE id=${oid}`);
const paymentRow = (pid) => {
  const r = sql(`SELECT status, IFNULL(notify_ts_ms,''), updated_ms FROM payments WHERE id=${pid}`);
  return r.length ? { status: r[0][0], ts: r[0][1], updated: r[0][2] } : null;
};
const mysqlStock = (aid, iid) => Number(sqlValue(`SELECT stock FROM activity_items WHERE activity_id=${aid} AND item_id=${iid}`));
const redisStock = (aid, iid) => Number(redisRaw('GET', `fs:{${aid}:${iid}}:stock`));

// The provider's signature: lowercase hex HMAC-SHA256 under pay_secret of
// "payment_id|order_id|amount_cents|status|ts_ms".
export function signNotify(n, secret = conf.pay_secret) {
  const msg = `${n.payment_id}|${n.order_id}|${n.amount_cents}|${n.status}|${n.ts_ms}`;
  return { ...n, sign: createHmac('sha256', secret).update(msg).digest('hex') };
}

// An order of a fresh user that MySQL holds as unpaid: {oid, uid, token}.
async function unpaidOrder(aid, iid) {
  const r = await order(aid, iid);
  assert.equal(r.status, 202, `order: ${r.status} ${r.text}`);
  const oid = r.json.order_id;
  const ok = await waitFor(() => orderStatus(oid) === 'unpaid', 10000);
  assert.ok(ok, `order ${oid} not unpaid: ${orderStatus(oid)}`);
  return { oid, uid: r.uid, token: r.token };
}

async function startPay(o) {
  const r = await post(`/api/pay/${o.oid}`, {}, { token: o.token });
  assert.equal(r.status, 200, `pay: ${r.status} ${r.text}`);
  return r.json;
}

async function stats(aid, iid) {
  const r = await admin.get(`/api/admin/activities/${aid}/stats`);
  if (r.status !== 200) return null;
  return (r.json.items || []).find((x) => Number(x.item_id) === Number(iid)) || null;
}

test('pay-1.1 pay flow through the sandbox provider: unpaid -> paid', async () => {
  const { aid, iid } = await makeSale({ stock: 5, flash_price_cents: 1234 });
  const o = await unpaidOrder(aid, iid);
  const before = await stats(aid, iid);
  const p = await startPay(o);
  assert.equal(typeof p.payment_id, 'string');
  assert.match(p.payment_id, /^[1-9][0-9]{5,19}$/);
  assert.ok(p.pay_url.includes(`payment_id=${p.payment_id}`), p.pay_url);
  assert.ok(p.pay_url.includes(`order_id=${o.oid}`), p.pay_url);
  assert.ok(p.pay_url.includes('amount_cents=1234'), p.pay_url);
  assert.equal(paymentRow(p.payment_id).status, 'created');
  // the page behind pay_url is served, with its script (CSP: no inline code)
  const page = await get(p.pay_url);
  assert.equal(page.status, 200);
  assert.match(page.text, /<script[^>]+src="\/js\/pay\.js"/);
  assert.doesNotMatch(page.text, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
  assert.doesNotMatch(page.text, /<style|style=/, 'no inline style');

  const s = await post(`/api/pay/sandbox/${p.payment_id}`, { status: 'success' }, { token: o.token });
  assert.equal(s.status, 200, s.text);
  assert.equal(s.json.ok, true);
  assert.equal(s.json.result, 'paid');
  assert.equal(orderStatus(o.oid), 'paid');
  assert.equal(paymentRow(p.payment_id).status, 'success');
  const st = await get(`/api/order-status/${o.oid}`, { token: o.token });
  assert.equal(st.status, 200);
  assert.equal(st.json.status, 'paid');
  // paying holds the unit: nothing goes back
  assert.equal(mysqlStock(aid, iid), 4);
  assert.equal(redisStock(aid, iid), 4);
  if (before) {
    const after = await stats(aid, iid);
    assert.equal(after.paid, before.paid + 1, `stats ${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
    assert.equal(after.unpaid, before.unpaid - 1);
  }
  // a paid order cannot be paid again or cancelled
  const again = await post(`/api/pay/${o.oid}`, {}, { token: o.token });
  assert.equal(again.status, 409);
  assert.equal(again.json.error, 'conflict');
  const c = await post(`/api/order/${o.oid}/cancel`, {}, { token: o.token });
  assert.equal(c.status, 409);
  assert.equal(c.json.error, 'conflict');
});

test('pay-1.2 who may pay: owner only, token required, unknown order 404', async () => {
  const { aid, iid } = await makeSale({ stock: 5 });
  const o = await unpaidOrder(aid, iid);
  const other = await post(`/api/pay/${o.oid}`, {}, { token: jwt(newUserId()) });
  assert.equal(other.status, 404);
  assert.equal(other.json.error, 'not_found');
  const none = await post(`/api/pay/${o.oid}`, {});
  assert.equal(none.status, 401);
  assert.equal(none.json.error, 'unauthorized');
  const unknown = await post('/api/pay/123456789012345678', {}, { token: o.token });
  assert.equal(unknown.status, 404);
  const bad = await post('/api/pay/abc', {}, { token: o.token });
  assert.ok(bad.status === 400 || bad.status === 404, `${bad.status}`);
  const wrongMethod = await get(`/api/pay/${o.oid}`, { token: o.token });
  assert.equal(wrongMethod.status, 405);
  assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM payments WHERE order_id=${o.oid}`)), 0);
});

test('pay-2.1 notify: bad signature 401, wrong amount 409, malformed 400; nothing changes', async () => {
  const { aid, iid } = await makeSale({ stock: 5, flash_price_cents: 500 });
  const o = await unpaidOrder(aid, iid);
  const p = await startPay(o);
  const n = { payment_id: p.payment_id, order_id: o.oid, amount_cents: 500, status: 'success', ts_ms: Date.now() };

  const forged = signNotify(n, 'not the secret');
  let r = await post('/api/pay/notify', forged);
  assert.equal(r.status, 401);
  assert.equal(r.json.error, 'unauthorized');
  // a correct signature over other values is no signature for these
  r = await post('/api/pay/notify', { ...signNotify(n), amount_cents: 1 });
  assert.equal(r.status, 401);
  r = await post('/api/pay/notify', { ...signNotify(n), sign: signNotify(n).sign.toUpperCase() });
  assert.equal(r.status, 401);
  r = await post('/api/pay/notify', { ...n, sign: '' });
  assert.equal(r.status, 401);

  r = await post('/api/pay/notify', signNotify({ ...n, amount_cents: 499 }));
  assert.equal(r.status, 409);
  assert.equal(r.json.error, 'conflict');

  for (const body of [{ ...n }, { ...signNotify(n), status: 'maybe' }, { ...signNotify(n), order_id: -1 }]) {
    r = await post('/api/pay/notify', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.json.error, 'bad_request');
  }
  r = await post('/api/pay/notify', undefined, { rawBody: '{"payment_id":' });
  assert.equal(r.status, 400);
  // a signed notify of a payment that does not exist
  r = await post('/api/pay/notify', signNotify({ ...n, payment_id: '999999999999' }));
  assert.equal(r.status, 404);
  // of another order than the payment's
  r = await post('/api/pay/notify', signNotify({ ...n, order_id: '999999999999' }));
  assert.equal(r.status, 409);

  assert.equal(orderStatus(o.oid), 'unpaid');
  assert.equal(paymentRow(p.payment_id).status, 'created');
});

test('pay-2.2 replayed notify: 200 and no second effect', async () => {
  const { aid, iid } = await makeSale({ stock: 5, flash_price_cents: 700 });
  const o = await unpaidOrder(aid, iid);
  const p = await startPay(o);
  const n = signNotify({ payment_id: p.payment_id, order_id: o.oid, amount_cents: 700, status: 'success', ts_ms: Date.now() });
  const first = await post('/api/pay/notify', n);
  assert.equal(first.status, 200, first.text);
  assert.deepEqual([first.json.ok, first.json.result], [true, 'paid']);
  const row = paymentRow(p.payment_id);
  const orderRow = sql(`SELECT status, updated_ms FROM orders WHERE id=${o.oid}`)[0];
  assert.equal(row.status, 'success');
  assert.equal(row.ts, String(n.ts_ms));

  // the same notify again, at once and later, and a newer one of the same payment
  const replays = await burst(5, () => post('/api/pay/notify', n));
  for (const r of replays) {
    assert.equal(r.status, 200);
    assert.equal(r.json.ok, true);
  }
  const newer = await post('/api/pay/notify', signNotify({ ...n, ts_ms: n.ts_ms + 5000 }));
  assert.equal(newer.status, 200);
  const failLater = await post('/api/pay/notify', signNotify({ ...n, status: 'fail', ts_ms: n.ts_ms + 6000 }));
  assert.equal(failLater.status, 200);
  assert.deepEqual(paymentRow(p.payment_id), row);
  assert.deepEqual(sql(`SELECT status, updated_ms FROM orders WHERE id=${o.oid}`)[0], orderRow);
  assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM payments WHERE order_id=${o.oid}`)), 1);
});

test('pay-2.3 fail: payment failed, order stays unpaid and can be paid again', async () => {
  const { aid, iid } = await makeSale({ stock: 5 });
  const o = await unpaidOrder(aid, iid);
  const p1 = await startPay(o);
  const f = await post(`/api/pay/sandbox/${p1.payment_id}`, { status: 'fail' }, { token: o.token });
  assert.equal(f.status, 200, f.text);
  assert.equal(f.json.result, 'failed');
  assert.equal(paymentRow(p1.payment_id).status, 'fail');
  assert.equal(orderStatus(o.oid), 'unpaid');
  const p2 = await startPay(o);
  assert.notEqual(p2.payment_id, p1.payment_id);
  const s = await post(`/api/pay/sandbox/${p2.payment_id}`, { status: 'success' }, { token: o.token });
  assert.equal(s.json.result, 'paid');
  assert.equal(orderStatus(o.oid), 'paid');
  // the sandbox takes only success or fail, and only payments that exist
  assert.equal((await post(`/api/pay/sandbox/${p2.payment_id}`, { status: 'ok' }, { token: o.token })).status, 400);
  assert.equal((await post('/api/pay/sandbox/999999999999', { status: 'success' }, { token: o.token })).status, 404);
});

test('pay-2.4 a success notify after a cancel is recorded late; the order stays cancelled', async () => {
  const { aid, iid } = await makeSale({ stock: 5, flash_price_cents: 300 });
  const o = await unpaidOrder(aid, iid);
  const p = await startPay(o);
  const c = await post(`/api/order/${o.oid}/cancel`, {}, { token: o.token });
  assert.equal(c.status, 200, c.text);
  const r = await post('/api/pay/notify', signNotify({ payment_id: p.payment_id, order_id: o.oid, amount_cents: 300, status: 'success', ts_ms: Date.now() }));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.result, 'late');
  assert.equal(paymentRow(p.payment_id).status, 'late');
  assert.equal(orderStatus(o.oid), 'cancelled');
  // and no new payment can start on it
  const again = await post(`/api/pay/${o.oid}`, {}, { token: o.token });
  assert.equal(again.status, 409);
});

test('pay-3.1 THE RACE: 200 success notifies against the expire job at the deadline', async () => {
  const N = 200;
  const { aid, iid } = await makeSale({ stock: N, flash_price_cents: 100 });
  const users = Array.from({ length: N }, () => { const uid = newUserId(); return { uid, token: jwt(uid) }; });
  await Promise.all(users.map(async (u) => { u.secret = await secretFor(u.token, aid, iid); }));
  const placed = await burst(N, (i) => post('/api/order', { activity_id: aid, item_id: iid, quantity: 1, secret: users[i].secret }, { token: users[i].token }));
  assert.deepEqual(statusCounts(placed), { 202: N });
  placed.forEach((r, i) => { users[i].oid = r.json.order_id; });
  const ids = users.map((u) => u.oid).join(',');
  const allUnpaid = await waitFor(() => Number(sqlValue(`SELECT COUNT(*) FROM orders WHERE id IN (${ids}) AND status='unpaid'`)) === N, 20000);
  assert.ok(allUnpaid, 'all orders unpaid in MySQL');
  const pays = await burst(N, (i) => post(`/api/pay/${users[i].oid}`, {}, { token: users[i].token }));
  assert.deepEqual(statusCounts(pays), { 200: N });
  pays.forEach((r, i) => { users[i].pid = r.json.payment_id; });

  // due now; the expire job takes them oldest deadline first, the notifies
  // go the other way round, so the two meet in the middle
  const now = Date.now();
  sql(`UPDATE orders SET pay_deadline_ms = ${now} - (FIND_IN_SET(id, '${ids}')) WHERE id IN (${ids})`);
  const stock0 = { mysql: mysqlStock(aid, iid), redis: redisStock(aid, iid) };
  assert.deepEqual(stock0, { mysql: 0, redis: 0 });

  const notes = users.map((u) => signNotify({ payment_id: u.pid, order_id: u.oid, amount_cents: 100, status: 'success', ts_ms: Date.now() }));
  const job = new Promise((resolve) => {
    execFile(`${process.env.FLASH_BIN}/expire`, [], { env: process.env }, (err, stdout, stderr) => resolve({ err, stdout, stderr }));
  });
  const answers = await burst(N, (i) => post('/api/pay/notify', notes[i]));
  const ran = await job;
  assert.equal(ran.err, null, `expire failed: ${ran.stderr}`);
  assert.match(ran.stdout, /^expire: closed \d+/m);
  assert.deepEqual(statusCounts(answers), { 200: N }, JSON.stringify(answers.find((a) => a.status !== 200)?.json));

  const rows = sql(`SELECT o.id, o.status, p.status FROM orders o JOIN payments p ON p.order_id = o.id WHERE o.id IN (${ids})`);
  assert.equal(rows.length, N);
  let paid = 0, closed = 0;
  for (const [id, os, ps] of rows) {
    if (os === 'paid') { paid++; assert.equal(ps, 'success', `order ${id}`); }
    else if (os === 'closed') { closed++; assert.equal(ps, 'late', `order ${id}: the lost notify is late`); }
    else assert.fail(`order ${id} ended ${os}`);
  }
  assert.equal(paid + closed, N);
  const byResult = {};
  for (const a of answers) byResult[a.json.result] = (byResult[a.json.result] || 0) + 1;
  assert.equal(byResult.paid || 0, paid);
  assert.equal(byResult.late || 0, closed);
  // the units of the closed orders came back exactly once, in both stores
  assert.equal(mysqlStock(aid, iid), closed, 'MySQL stock = closed orders');
  assert.equal(redisStock(aid, iid), closed, 'Redis stock = closed orders');
  // a second run finds nothing to do and gives nothing back twice
  assert.match(runProgram('expire'), /^expire: closed \d+/m);
  assert.equal(mysqlStock(aid, iid), closed);
  assert.equal(redisStock(aid, iid), closed);
  const st = await stats(aid, iid);
  if (st) {
    assert.equal(st.paid, paid);
    assert.equal(st.closed, closed);
    assert.equal(st.remaining + st.queued + st.unpaid + st.paid, st.stock);
  }
  // both sides won some: the race was run, not just one side of it
  assert.ok(paid > 0 && closed > 0, `paid ${paid}, closed ${closed}`);
});
