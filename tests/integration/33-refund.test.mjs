// Refunds (API.md "Guard rails", docs/GUARD-REFUND.md): a success notify
// after the order was cancelled or closed is answered 200 and the order
// shows "refund":"pending"; the refund cron job refunds it through the
// sandbox provider's signed refund call, exactly once even when two jobs
// run at the same time, when the provider is asked twice or when a job
// died between the provider's answer and its record; then the order shows
// "refund":"done" with the provider's refund_id. Orders without a late
// payment read as before (no refund field).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { createHmac } from 'node:crypto';
import {
  conf, get, post, makeSale, order, sql, sqlValue, waitFor, runProgram,
} from '../lib/flash.mjs';

const orderStatus = (oid) => sqlValue(`SELECT status FROM orders WHERE id=${oid}`);
const hmac = (msg, secret) => createHmac('sha256', secret).update(msg).digest('hex');

// The provider's notify (30-pay signs it the same way).
const signNotify = (n, secret = conf.pay_secret) =>
  ({ ...n, sign: hmac(`${n.payment_id}|${n.order_id}|${n.amount_cents}|${n.status}|${n.ts_ms}`, secret) });
// The refund call: the notify's message with "refund" in the status's place.
const signRefund = (q, secret = conf.pay_secret) =>
  ({ ...q, sign: hmac(`${q.payment_id}|${q.order_id}|${q.amount_cents}|refund|${q.ts_ms}`, secret) });

// The sandbox provider's book: {rows, calls, id} for payment pid.
function sandboxBook(pid) {
  const r = sql(`SELECT COUNT(*), IFNULL(SUM(calls), 0), IFNULL(MAX(refund_id), '') FROM sandbox_refunds WHERE payment_id=${pid}`)[0];
  return { rows: Number(r[0]), calls: Number(r[1]), id: r[2] };
}
const refundRow = (pid) => {
  const r = sql(`SELECT state, IFNULL(refund_id, '') FROM refunds WHERE payment_id=${pid}`);
  return r.length ? { state: r[0][0], id: r[0][1] } : null;
};

// Runs the refund job; resolves {code, stdout, stderr} (never rejects).
function refundJob(env = {}) {
  return new Promise((resolve) => {
    execFile(`${process.env.FLASH_BIN}/refund`, [], { env: { ...process.env, ...env }, timeout: 120000 },
      (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }));
  });
}

// An unpaid order with a payment started: {oid, uid, token, pid, amount}.
async function payingOrder(aid, iid, amount) {
  const r = await order(aid, iid);
  assert.equal(r.status, 202, `order: ${r.status} ${r.text}`);
  const oid = r.json.order_id;
  assert.ok(await waitFor(() => orderStatus(oid) === 'unpaid', 10000), `order ${oid} not unpaid`);
  const p = await post(`/api/pay/${oid}`, {}, { token: r.token });
  assert.equal(p.status, 200, `pay: ${p.status} ${p.text}`);
  return { oid, uid: r.uid, token: r.token, pid: p.json.payment_id, amount };
}

// The provider's success notify for o; asserts the answer is 200 `late`.
async function lateNotify(o) {
  const n = signNotify({ payment_id: o.pid, order_id: o.oid, amount_cents: o.amount, status: 'success', ts_ms: Date.now() });
  const r = await post('/api/pay/notify', n);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.result, 'late', r.text);
}

// n late payments: every other order cancelled by its user (the first
// one too), the rest closed by the expire job, then paid after all.
async function lateOrders(n, amount) {
  const { aid, iid } = await makeSale({ stock: n, flash_price_cents: amount });
  const list = [];
  for (let i = 0; i < n; i++) list.push(await payingOrder(aid, iid, amount));
  const closing = list.filter((_, i) => i % 2 === 1);
  for (const o of list.filter((_, i) => i % 2 === 0)) {
    const c = await post(`/api/order/${o.oid}/cancel`, {}, { token: o.token });
    assert.equal(c.status, 200, c.text);
  }
  if (closing.length) {
    sql(`UPDATE orders SET pay_deadline_ms = ${Date.now() - 1000} WHERE id IN (${closing.map((o) => o.oid).join(',')})`);
    runProgram('expire');
    for (const o of closing) assert.equal(orderStatus(o.oid), 'closed');
  }
  for (const o of list) await lateNotify(o);
  return { aid, iid, list };
}

const statusOf = async (o) => {
  const r = await get(`/api/order-status/${o.oid}`, { token: o.token });
  assert.equal(r.status, 200, r.text);
  return r.json;
};

test('refund-1.1 a late success is answered 200 and shows refund pending, by id, by item and in the list', async () => {
  const { aid, iid, list } = await lateOrders(2, 250);
  for (const o of list) {
    const s = await statusOf(o);
    assert.ok(s.status === 'cancelled' || s.status === 'closed', s.status);
    assert.equal(s.refund, 'pending');
    assert.equal(s.refund_id, undefined);
    const byItem = await get(`/api/order-status?activity_id=${aid}&item_id=${iid}`, { token: o.token });
    assert.equal(byItem.status, 200, byItem.text);
    assert.equal(byItem.json.refund, 'pending');
    const mine = await get('/api/order-status', { token: o.token });
    assert.equal(mine.status, 200);
    const inList = mine.json.orders.find((x) => x.order_id === o.oid);
    assert.equal(inList.refund, 'pending', JSON.stringify(inList));
    // the notify again: still 200, still one late payment
    const again = await post('/api/pay/notify', signNotify({ payment_id: o.pid, order_id: o.oid, amount_cents: o.amount, status: 'success', ts_ms: Date.now() }));
    assert.equal(again.status, 200);
    assert.equal(sqlValue(`SELECT status FROM payments WHERE id=${o.pid}`), 'late');
  }
});

test('refund-1.2 two refund jobs at once: one refund per late payment at the provider, then done with its refund_id', async () => {
  const N = 12;
  const { list } = await lateOrders(N, 400);
  const pids = list.map((o) => o.pid).join(',');
  const [a, b] = await Promise.all([refundJob(), refundJob()]);
  for (const j of [a, b]) {
    assert.equal(j.code, 0, j.stdout + j.stderr);
    assert.match(j.stdout, /^refund: enlisted \d+, refunded \d+, /m);
  }
  // each payment refunded once at the provider, asked once (the claim)
  const book = sql(`SELECT payment_id, refund_id, calls, amount_cents FROM sandbox_refunds WHERE payment_id IN (${pids})`);
  assert.equal(book.length, N, 'one sandbox refund per late payment');
  for (const [pid, , calls, amount] of book) {
    assert.equal(calls, '1', `payment ${pid} asked once`);
    assert.equal(amount, '400');
  }
  const refunded = (s) => Number((s.match(/refunded (\d+)/) || [0, 0])[1]);
  assert.ok(refunded(a.stdout) + refunded(b.stdout) >= N, `${a.stdout} / ${b.stdout}`);
  for (const o of list) {
    const r = refundRow(o.pid);
    const sb = sandboxBook(o.pid);
    assert.deepEqual(r, { state: 'done', id: sb.id }, `payment ${o.pid}`);
    const s = await statusOf(o);
    assert.equal(s.refund, 'done');
    assert.equal(s.refund_id, sb.id);
    assert.match(s.refund_id, /^re_[0-9a-f]{24}$/);
  }
  // a third run: nothing new for these payments
  const c = await refundJob();
  assert.equal(c.code, 0, c.stdout + c.stderr);
  const after = sql(`SELECT COUNT(*), SUM(calls) FROM sandbox_refunds WHERE payment_id IN (${pids})`)[0];
  assert.deepEqual(after, [String(N), String(N)]);
  assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM refunds WHERE payment_id IN (${pids}) AND state='done'`)), N);
});

test('refund-1.3 the job died after the provider answered, or holds a live claim: one refund, the same refund_id', async () => {
  const { list } = await lateOrders(2, 150);
  const [died, held] = list;
  // as if a job had asked the provider and died before its record
  const q = signRefund({ payment_id: died.pid, order_id: died.oid, amount_cents: 150, ts_ms: Date.now() });
  const first = await post('/api/pay/sandbox/refund', q);
  assert.equal(first.status, 200, first.text);
  // a job that is still calling the provider for `held` (a live claim)
  sql(`INSERT INTO refunds (payment_id, order_id, amount_cents, created_ms, claim_until_ms) VALUES (${held.pid}, ${held.oid}, 150, ${Date.now()}, ${Date.now() + 600000})`);
  const run = await refundJob();
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.deepEqual(refundRow(died.pid), { state: 'done', id: first.json.refund_id });
  assert.deepEqual(sandboxBook(died.pid), { rows: 1, calls: 2, id: first.json.refund_id });
  assert.equal((await statusOf(died)).refund_id, first.json.refund_id);
  // the live claim is left alone: pending, the provider not asked
  assert.deepEqual(refundRow(held.pid), { state: 'pending', id: '' });
  assert.equal(sandboxBook(held.pid).rows, 0);
  assert.equal((await statusOf(held)).refund, 'pending');
  // its holder died: once the lease has run out the next run refunds it
  sql(`UPDATE refunds SET claim_until_ms = ${Date.now() - 1} WHERE payment_id = ${held.pid}`);
  assert.equal((await refundJob()).code, 0);
  const sb = sandboxBook(held.pid);
  assert.deepEqual([sb.rows, sb.calls], [1, 1]);
  assert.deepEqual(refundRow(held.pid), { state: 'done', id: sb.id });
});

test('refund-1.4 the provider unreachable: the job fails, the refund stays pending, a later run refunds it', async () => {
  const { list: [o] } = await lateOrders(1, 120);
  // port 9 (discard): nothing listens there, the connection is refused
  const down = await refundJob({ FLASH_REFUND_URL: 'http://127.0.0.1:9/api/pay/sandbox/refund' });
  assert.equal(down.code, 1, down.stdout);
  assert.match(down.stdout, /provider failed [1-9]/);
  assert.deepEqual(refundRow(o.pid), { state: 'pending', id: '' });
  assert.equal((await statusOf(o)).refund, 'pending');
  // the failed call keeps its claim for the lease; once it has run out:
  sql(`UPDATE refunds SET claim_until_ms = 0 WHERE payment_id = ${o.pid}`);
  assert.equal((await refundJob()).code, 0);
  assert.equal((await statusOf(o)).refund, 'done');
  assert.equal(sandboxBook(o.pid).rows, 1);
});

// A stand-in for the network between the job and the provider: passes each
// refund call on to the real sandbox (when `forward`) and then holds the
// answer back for ever, so that the job can be killed in the middle of its
// call, before or after the provider acted. Resolves {url, seen, close}.
function stallingLink(forward) {
  return new Promise((resolve) => {
    const seen = [];
    const held = [];
    const srv = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', async () => {
        seen.push(body);
        held.push(res);
        if (forward) await post('/api/pay/sandbox/refund', JSON.parse(body));
      });
    });
    srv.listen(0, '127.0.0.1', () => resolve({
      url: `http://127.0.0.1:${srv.address().port}/api/pay/sandbox/refund`,
      seen,
      close: () => { for (const r of held) r.destroy(); srv.close(); },
    }));
  });
}

// Starts the refund job against url; resolves its child once the link has
// seen its call (or rejects after 20 s).
async function jobInCall(link) {
  const child = spawn(`${process.env.FLASH_BIN}/refund`, [], {
    env: { ...process.env, FLASH_REFUND_URL: link.url }, stdio: 'ignore',
  });
  const exited = new Promise((r) => child.on('exit', (code, sig) => r(sig || code)));
  assert.ok(await waitFor(() => link.seen.length > 0, 20000, 20), 'the job called the provider');
  return { child, exited };
}

test('refund-1.5 kill -9 of the job in the middle of its call, before or after the provider acted: one refund each, done', async () => {
  const { list: [after, before] } = await lateOrders(2, 170);
  const book = (o) => sandboxBook(o.pid);
  // the provider refunds, the answer never reaches the job: kill -9 there
  sql(`UPDATE refunds SET claim_until_ms = ${Date.now() + 600000} WHERE payment_id = ${before.pid}`);
  let link = await stallingLink(true);
  let job = await jobInCall(link);
  assert.ok(await waitFor(() => book(after).rows === 1, 10000, 20), 'the provider refunded');
  job.child.kill('SIGKILL');
  assert.equal(await job.exited, 'SIGKILL');
  link.close();
  const first = book(after);
  assert.deepEqual([first.rows, first.calls], [1, 1]);
  assert.deepEqual(refundRow(after.pid).state, 'pending', 'the job died before its record');
  assert.equal((await statusOf(after)).refund, 'pending');
  // the call never reached the provider: kill -9 while it is on its way
  sql(`UPDATE refunds SET claim_until_ms = 0 WHERE payment_id = ${before.pid}`);
  sql(`UPDATE refunds SET claim_until_ms = ${Date.now() + 600000} WHERE payment_id = ${after.pid}`);
  link = await stallingLink(false);
  job = await jobInCall(link);
  job.child.kill('SIGKILL');
  assert.equal(await job.exited, 'SIGKILL');
  link.close();
  assert.equal(book(before).rows, 0, 'the provider was not asked');
  // both claims run out (the dead jobs' leases): the next run settles both
  sql(`UPDATE refunds SET claim_until_ms = 0 WHERE payment_id IN (${after.pid}, ${before.pid})`);
  const run = await refundJob();
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const a = book(after);
  assert.deepEqual([a.rows, a.calls, a.id], [1, 2, first.id], 'asked again: the same refund, no second one');
  assert.deepEqual(refundRow(after.pid), { state: 'done', id: first.id });
  const b = book(before);
  assert.deepEqual([b.rows, b.calls], [1, 1]);
  assert.deepEqual(refundRow(before.pid), { state: 'done', id: b.id });
  assert.equal((await statusOf(before)).refund_id, b.id);
  assert.equal((await statusOf(after)).refund_id, first.id);
});

test('refund-2.1 the sandbox refund call: signed with pay_secret (401), well formed (400), of a captured payment (404, 409); idempotent', async () => {
  const { list: [late] } = await lateOrders(1, 300);
  const q = { payment_id: late.pid, order_id: late.oid, amount_cents: 300, ts_ms: Date.now() };
  let r = await post('/api/pay/sandbox/refund', signRefund(q, 'not the secret'));
  assert.equal(r.status, 401, r.text);
  assert.equal(r.json.error, 'unauthorized');
  r = await post('/api/pay/sandbox/refund', { ...signRefund(q), amount_cents: 1 });
  assert.equal(r.status, 401);
  r = await post('/api/pay/sandbox/refund', { ...q, sign: '' });
  assert.equal(r.status, 401);
  // a notify's signature is no refund's
  r = await post('/api/pay/sandbox/refund', { ...q, sign: signNotify({ ...q, status: 'success' }).sign });
  assert.equal(r.status, 401);
  for (const body of [{ ...q }, { ...signRefund(q), payment_id: -1 }, { ...signRefund(q), ts_ms: 'soon' }]) {
    r = await post('/api/pay/sandbox/refund', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.json.error, 'bad_request');
  }
  r = await post('/api/pay/sandbox/refund', undefined, { rawBody: '{"payment_id":' });
  assert.equal(r.status, 400);
  assert.equal(sandboxBook(late.pid).rows, 0, 'nothing refunded by a refused call');

  r = await post('/api/pay/sandbox/refund', signRefund({ ...q, payment_id: '999999999999' }));
  assert.equal(r.status, 404);
  r = await post('/api/pay/sandbox/refund', signRefund({ ...q, amount_cents: 299 }));
  assert.equal(r.status, 409);
  assert.equal(r.json.error, 'conflict');
  // a payment no money came for
  const { aid, iid } = await makeSale({ stock: 1, flash_price_cents: 300 });
  const open = await payingOrder(aid, iid, 300);
  r = await post('/api/pay/sandbox/refund', signRefund({ payment_id: open.pid, order_id: open.oid, amount_cents: 300, ts_ms: Date.now() }));
  assert.equal(r.status, 409, r.text);
  assert.equal(sandboxBook(open.pid).rows, 0);

  // the same payment asked twice at once and once more: one refund, one id
  const [x, y] = await Promise.all([post('/api/pay/sandbox/refund', signRefund(q)), post('/api/pay/sandbox/refund', signRefund(q))]);
  assert.equal(x.status, 200, x.text);
  assert.equal(y.status, 200, y.text);
  const z = await post('/api/pay/sandbox/refund', signRefund({ ...q, ts_ms: Date.now() + 1 }));
  assert.equal(z.status, 200);
  assert.equal(x.json.refund_id, y.json.refund_id);
  assert.equal(x.json.refund_id, z.json.refund_id);
  assert.deepEqual(sandboxBook(late.pid), { rows: 1, calls: 3, id: x.json.refund_id });
});

test('refund-3.1 orders without a late payment carry no refund field (paid, cancelled, unpaid)', async () => {
  const { aid, iid } = await makeSale({ stock: 3, flash_price_cents: 200 });
  const paid = await payingOrder(aid, iid, 200);
  const ok = await post('/api/pay/notify', signNotify({ payment_id: paid.pid, order_id: paid.oid, amount_cents: 200, status: 'success', ts_ms: Date.now() }));
  assert.equal(ok.json.result, 'paid', ok.text);
  const cancelled = await payingOrder(aid, iid, 200);
  assert.equal((await post(`/api/order/${cancelled.oid}/cancel`, {}, { token: cancelled.token })).status, 200);
  const unpaid = await payingOrder(aid, iid, 200);
  assert.equal((await refundJob()).code, 0);
  for (const o of [paid, cancelled, unpaid]) {
    const s = await statusOf(o);
    assert.ok(!('refund' in s) && !('refund_id' in s), JSON.stringify(s));
    const mine = await get('/api/order-status', { token: o.token });
    const inList = mine.json.orders.find((x) => x.order_id === o.oid);
    assert.ok(inList && !('refund' in inList), JSON.stringify(inList));
    assert.equal(refundRow(o.pid), null);
  }
  assert.equal((await statusOf(paid)).status, 'paid');
});
