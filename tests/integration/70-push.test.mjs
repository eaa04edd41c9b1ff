// The push channel (API.md "Push channel"): WebSockets through lighttpd's
// mod_wstunnel to the push hub. Auth by the first message, a user's order
// changes within a second each (and never another user's), the operator's
// stats stream, hostile clients, and a hub killed and started again.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  jwt, adminToken, makeSale, order, post, get, sql, runProgram, flashctl, state, waitFor,
  newUserId, sleep,
} from '../lib/flash.mjs';
import { wsConnect, wsAuth, wsCloseAll } from '../lib/ws.mjs';

after(wsCloseAll);

const isOrder = (oid, status) => (m) => m.type === 'order' && m.order_id === oid &&
  (status === undefined || m.status === status);

function hubPid() {
  return Number(readFileSync(`${state}/push_hub.pid`, 'utf8').trim());
}
function rssKiB(pid) {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/);
  return m ? Number(m[1]) : 0;
}
// An order placed by a fresh user who listens on the push channel first.
// pages: how many sockets the user has open (ws is the first, more[] the rest).
async function listeningOrder(sale, { uid = newUserId(), pages = 1 } = {}) {
  const token = jwt(uid);
  const socks = [];
  for (let i = 0; i < pages; i++) {
    const { ws, ready } = await wsAuth(token);
    assert.equal(ready?.type, 'ready', JSON.stringify(ready));
    socks.push(ws);
  }
  const t0 = Date.now();
  const r = await order(sale.aid, sale.iid, { uid, token });
  assert.equal(r.status, 202, r.text);
  return { ws: socks[0], more: socks.slice(1), token, uid, oid: r.json.order_id, t0 };
}

test('push-1.1 a user token is answered ready with the user id as a string', async () => {
  const uid = newUserId();
  const { ws, ready } = await wsAuth(jwt(uid));
  assert.deepEqual(ready, { type: 'ready', user_id: String(uid) });
  ws.send({ type: 'ping' });
  assert.deepEqual(await ws.next((m) => m.type === 'pong'), { type: 'pong' });
  ws.close();
});

test('push-1.2 the admin token is answered ready admin', async () => {
  const { ws, ready } = await wsAuth(adminToken);
  assert.deepEqual(ready, { type: 'ready', admin: true });
  ws.close();
});

test('push-1.3 forged, expired, malformed or missing tokens: unauthorized, then closed', async () => {
  const uid = newUserId();
  const bad = [
    jwt(uid, { secret: 'not-the-secret' }),
    jwt(uid, { exp: Math.floor(Date.now() / 1000) - 10 }),
    jwt(uid, { header: { alg: 'none', typ: 'JWT' } }),
    adminToken.slice(0, -1) + (adminToken.endsWith('0') ? '1' : '0'),
    'x'.repeat(2000),
    '',
  ];
  for (const token of bad) {
    const { ws, ready } = await wsAuth(token);
    assert.deepEqual(ready, { type: 'error', error: 'unauthorized' }, token.slice(0, 40));
    assert.ok(await ws.waitClosed(3000), 'closed after unauthorized');
  }
  for (const first of [{ type: 'auth' }, { type: 'subscribe', activity_id: 1 }, { token: adminToken }]) {
    const ws = await wsConnect();
    ws.send(first);
    assert.deepEqual(await ws.next(), { type: 'error', error: 'unauthorized' }, JSON.stringify(first));
    assert.ok(await ws.waitClosed(3000));
  }
});

test('push-1.4 a socket that says nothing is closed unauthorized after 5 s', async () => {
  const t0 = Date.now();
  const ws = await wsConnect();
  const m = await ws.next(() => true, 9000);
  const dt = Date.now() - t0;
  assert.deepEqual(m, { type: 'error', error: 'unauthorized' });
  assert.ok(dt >= 4500 && dt <= 7500, `closed after ${dt} ms`);
  assert.ok(await ws.waitClosed(3000));
});

test('push-2.1 a user sees queued then unpaid of their own order within 1 s each, never another user\'s', async () => {
  const sale = await makeSale({ stock: 20 });
  // user a has two pages open: both get the events
  const a = await listeningOrder(sale, { pages: 2 });
  const a2 = a.more[0];
  const b = await listeningOrder(sale);

  const q = await a.ws.next(isOrder(a.oid, 'queued'), 1000);
  assert.ok(q, 'queued arrives within 1 s of the order');
  assert.equal(q.activity_id, sale.aid);
  assert.equal(q.item_id, sale.iid);
  assert.equal(q.quantity, 1);
  const tq = Date.now();
  const u = await a.ws.next(isOrder(a.oid, 'unpaid'), 1000);
  assert.ok(u, `unpaid arrives within 1 s of queued (${Date.now() - tq} ms)`);
  assert.ok(u.pay_deadline_ms > u.created_ms);
  // the same object as the status poll
  const polled = await get(`/api/order-status/${a.oid}`, { token: a.token });
  const { type, ...rest } = u;
  assert.equal(type, 'order');
  assert.deepEqual(rest, polled.json);

  assert.ok(await b.ws.next(isOrder(b.oid, 'unpaid'), 2000), 'b sees its own');
  assert.ok(await a2.next(isOrder(a.oid, 'unpaid'), 2000), 'the second page of a sees it too');
  await sleep(300);
  for (const m of a.ws.messages.filter((x) => x.type === 'order'))
    assert.equal(m.user_id, a.uid, 'a never sees another user\'s order');
  for (const m of b.ws.messages.filter((x) => x.type === 'order'))
    assert.equal(m.user_id, b.uid, 'b never sees another user\'s order');
  a.ws.close(); a2.close(); b.ws.close();
});

test('push-2.2 cancel, pay and expiry arrive', async () => {
  const sale = await makeSale({ stock: 20 });
  // cancel
  const c = await listeningOrder(sale);
  assert.ok(await c.ws.next(isOrder(c.oid, 'unpaid'), 2000));
  const cr = await post(`/api/order/${c.oid}/cancel`, {}, { token: c.token });
  assert.equal(cr.status, 200, cr.text);
  assert.ok(await c.ws.next(isOrder(c.oid, 'cancelled'), 1000), 'cancelled within 1 s');
  // pay through the sandbox provider
  const p = await listeningOrder(sale);
  assert.ok(await p.ws.next(isOrder(p.oid, 'unpaid'), 2000));
  const pay = await post(`/api/pay/${p.oid}`, {}, { token: p.token });
  assert.equal(pay.status, 200, pay.text);
  const s = await post(`/api/pay/sandbox/${pay.json.payment_id}`, { status: 'success' }, { token: p.token });
  assert.equal(s.status, 200, s.text);
  assert.ok(await p.ws.next(isOrder(p.oid, 'paid'), 1000), 'paid within 1 s');
  // expiry by the expire job (a cron program: its event leaves as it exits)
  const e = await listeningOrder(sale);
  assert.ok(await e.ws.next(isOrder(e.oid, 'unpaid'), 2000));
  sql(`UPDATE orders SET pay_deadline_ms = ${Date.now() - 1000} WHERE id = ${e.oid}`);
  runProgram('expire');
  assert.ok(await e.ws.next(isOrder(e.oid, 'closed'), 1000), 'closed within 1 s');
  c.ws.close(); p.ws.close(); e.ws.close();
});

test('push-2.3 an order the handler refuses: its owner sees failed within 1 s of the row being written', async () => {
  const sale = await makeSale({ stock: 5 });
  // MySQL's stock below Redis's: place-order accepts (Redis holds 5), the
  // handler's `stock >= q` refuses, and it writes the order as failed
  sql(`UPDATE activity_items SET stock = 0 WHERE activity_id=${sale.aid} AND item_id=${sale.iid}`);
  const other = await wsAuth(jwt(newUserId()));
  assert.equal(other.ready?.type, 'ready');
  const a = await listeningOrder(sale);
  // when MySQL holds the failed row (polled), against when the event arrived
  let rowAt = null;
  const poll = waitFor(() => {
    const r = sql(`SELECT status FROM orders WHERE id=${a.oid}`);
    if (r.length && r[0][0] === 'failed') { rowAt = Date.now(); return true; }
    return false;
  }, 10000, 20);
  const f = await a.ws.next(isOrder(a.oid, 'failed'), 10000);
  const fAt = Date.now();
  await poll;
  assert.ok(rowAt, 'the handler wrote the order as failed');
  assert.ok(f, `the failed event arrived (got ${JSON.stringify(a.ws.messages.filter((m) => m.type === 'order'))})`);
  // the event may arrive before the poll sees the row: then it is early enough
  assert.ok(fAt - rowAt <= 1000, `failed arrived ${fAt - rowAt} ms after the row was written`);
  assert.equal(f.type, 'order');
  assert.equal(f.status, 'failed');
  assert.equal(f.user_id, a.uid);
  assert.equal(f.activity_id, sale.aid);
  assert.equal(f.item_id, sale.iid);
  // never unpaid, and the same object as the status poll
  assert.equal(a.ws.messages.some(isOrder(a.oid, 'unpaid')), false, 'no unpaid for a refused order');
  const polled = await get(`/api/order-status/${a.oid}`, { token: a.token });
  assert.equal(polled.status, 200, polled.text);
  const { type, ...rest } = f;
  assert.deepEqual(rest, polled.json);
  await sleep(200);
  assert.equal(other.ws.messages.filter((m) => m.type === 'order').length, 0, 'another user sees nothing of it');
  a.ws.close(); other.ws.close();
});

test('push-3.1 the admin stream: stats once a second, numbers that move', async () => {
  const sale = await makeSale({ stock: 7 });
  const { ws, ready } = await wsAuth(adminToken);
  assert.equal(ready.admin, true);
  ws.send({ type: 'subscribe', activity_id: sale.aid });
  assert.deepEqual(await ws.next((m) => m.type === 'subscribed'), { type: 'subscribed', activity_id: sale.aid });
  const s1 = await ws.next((m) => m.type === 'stats', 2500);
  assert.ok(s1, 'a first tick');
  assert.equal(s1.activity_id, sale.aid);
  assert.ok(Math.abs(s1.now_ms - Date.now()) < 5000);
  assert.equal(s1.items.length, 1);
  const it = s1.items[0];
  for (const k of ['item_id', 'stock', 'remaining', 'queued', 'unpaid', 'paid', 'closed', 'cancelled', 'failed'])
    assert.equal(typeof it[k], 'number', k);
  assert.equal(it.stock, 7);
  assert.equal(it.remaining + it.queued + it.unpaid + it.paid, 7);
  // the same numbers as the admin endpoint
  const adm = await get(`/api/admin/activities/${sale.aid}/stats`, { token: adminToken });
  assert.equal(adm.status, 200);
  assert.equal(adm.json.items[0].remaining, it.remaining);
  // two orders: the stream shows them
  await order(sale.aid, sale.iid);
  await order(sale.aid, sale.iid);
  const moved = await ws.next((m) => m.type === 'stats' && m.items[0].unpaid === 2 && m.items[0].remaining === 5, 4000);
  assert.ok(moved, 'the numbers move');
  // ticks about a second apart
  const t1 = await ws.next((m) => m.type === 'stats', 2500);
  const t2 = await ws.next((m) => m.type === 'stats', 2500);
  assert.ok(t1 && t2);
  const gap = t2.now_ms - t1.now_ms;
  assert.ok(gap >= 700 && gap <= 1600, `ticks ${gap} ms apart`);
  ws.close();
});

test('push-3.2 subscribe with a user token is forbidden; the socket stays', async () => {
  const { ws } = await wsAuth(jwt(newUserId()));
  ws.send({ type: 'subscribe', activity_id: 1 });
  assert.deepEqual(await ws.next(), { type: 'error', error: 'forbidden' });
  ws.send({ type: 'ping' });
  assert.deepEqual(await ws.next(), { type: 'pong' });
  await sleep(1500);
  assert.equal(ws.messages.filter((m) => m.type === 'stats').length, 0, 'no stats for a user');
  ws.close();
});

test('push-4.1 hostile input: binary, non-JSON, 1 MiB, unknown type, bad subscribe', async () => {
  // a binary frame first: not an auth message
  let ws = await wsConnect();
  ws.sendBinary(Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80]));
  let m = await ws.next(() => true, 3000);
  assert.ok(m === null || m.type === 'error', JSON.stringify(m));
  assert.ok(await ws.waitClosed(3000), 'closed after binary');
  // non-JSON text
  ws = await wsConnect();
  ws.send('hello, hub');
  m = await ws.next(() => true, 3000);
  assert.ok(m === null || m.error === 'bad_request' || m.error === 'unauthorized', JSON.stringify(m));
  assert.ok(await ws.waitClosed(3000), 'closed after non-JSON');
  // a 1 MiB frame (a string value far past the limit)
  ws = await wsConnect();
  ws.send(`{"type":"auth","token":"${'a'.repeat(1024 * 1024)}"}`);
  m = await ws.next(() => true, 5000);
  assert.ok(m === null || m.type === 'error', JSON.stringify(m));
  assert.ok(await ws.waitClosed(5000), 'closed after 1 MiB');
  // after auth: unknown type, bad subscribe values, auth twice: errors, socket stays
  const r = await wsAuth(adminToken);
  ws = r.ws;
  for (const bad of [{ type: 'dance' }, { type: 42 }, [1, 2], { type: 'subscribe' },
    { type: 'subscribe', activity_id: -1 }, { type: 'subscribe', activity_id: 'x' },
    { type: 'auth', token: adminToken }]) {
    ws.send(bad);
    assert.deepEqual(await ws.next(), { type: 'error', error: 'bad_request' }, JSON.stringify(bad));
  }
  // binary after auth that is not JSON: the stream is lost, so the socket closes
  ws.sendBinary(Buffer.from([0xc3, 0x28, 0xff]));
  m = await ws.next(() => true, 3000);
  assert.ok(m === null || m.type === 'error', JSON.stringify(m));
  assert.ok(await ws.waitClosed(3000));
  // the hub still serves
  const ok = await wsAuth(jwt(newUserId()));
  assert.equal(ok.ready.type, 'ready');
  ok.ws.close();
});

test('push-4.2 1,000 unauthenticated sockets at once: each gets an error or a close, memory bounded, others keep receiving', async () => {
  const pid = hubPid();
  const before = rssKiB(pid);
  const sale = await makeSale({ stock: 50 });
  const watcher = await listeningOrder(sale);
  assert.ok(await watcher.ws.next(isOrder(watcher.oid, 'unpaid'), 2000));

  const N = 1000;
  const socks = [];
  for (let i = 0; i < N; i += 100) {
    const batch = await Promise.all(Array.from({ length: 100 }, () => wsConnect('/api/push', { timeoutMs: 10000 })));
    socks.push(...batch);
  }
  // a third say something wrong, the rest nothing
  socks.forEach((s, i) => { if (i % 3 === 0) s.send(i % 2 ? 'garbage' : { type: 'subscribe', activity_id: 1 }); });
  // meanwhile another user's events still arrive within a second
  const other = await listeningOrder(sale);
  assert.ok(await other.ws.next(isOrder(other.oid, 'queued'), 1000), 'queued while 1,000 sockets wait');
  assert.ok(await other.ws.next(isOrder(other.oid, 'unpaid'), 1000), 'unpaid while 1,000 sockets wait');
  const during = rssKiB(pid);

  const closed = await Promise.all(socks.map((s) => s.waitClosed(9000)));
  const nClosed = closed.filter(Boolean).length;
  const answered = socks.filter((s) => s.messages.some((x) => x.type === 'error')).length;
  assert.equal(nClosed, N, `closed ${nClosed} of ${N}`);
  assert.ok(answered >= N * 0.9, `${answered} of ${N} got an error line before the close`);
  // bounded: well under a KiB... a few KiB per socket, and back down after
  assert.ok(during - before < 32 * 1024, `hub RSS grew ${during - before} KiB for ${N} sockets`);
  // the watcher still receives
  const c = await post(`/api/order/${watcher.oid}/cancel`, {}, { token: watcher.token });
  assert.equal(c.status, 200);
  assert.ok(await watcher.ws.next(isOrder(watcher.oid, 'cancelled'), 1000));
  watcher.ws.close(); other.ws.close();
});

test('push-5.1 kill -9 the hub: pages poll meanwhile, health says push down, flashctl start brings it back', async () => {
  const sale = await makeSale({ stock: 10 });
  const { ws } = await wsAuth(jwt(newUserId()));
  flashctl('hub-kill');
  assert.ok(await ws.waitClosed(5000), 'the socket closes with the hub');
  // the shop stays ready; health names the hub down
  const h = await waitFor(async () => {
    const x = await get('/api/health');
    return x.json?.push === 'down' ? x : null;
  }, 5000, 200);
  assert.ok(h, 'health says push down');
  assert.equal(h.status, 200, 'the hub being down does not make the shop unready');
  // an order goes through and polling sees it
  const o = await order(sale.aid, sale.iid);
  assert.equal(o.status, 202);
  const polled = await waitFor(async () => {
    const x = await get(`/api/order-status/${o.json.order_id}`, { token: o.token });
    return x.json?.status === 'unpaid' ? x : null;
  }, 5000);
  assert.ok(polled, 'polling still works');
  // a WebSocket now fails (no hub) rather than hanging
  const fail = await wsConnect().then((w) => w.waitClosed(3000).then((c) => (c ? 'closed' : 'open')), (e) => e.status || 'error');
  assert.notEqual(fail, 'open');

  // back with a short ping interval, to see the hub ping an idle socket
  process.env.FLASH_PUSH_PING_MS = '1500';
  try { flashctl('start'); } finally { delete process.env.FLASH_PUSH_PING_MS; }
  const back = await waitFor(async () => {
    try {
      const r = await wsAuth(jwt(newUserId()));
      if (r.ready?.type === 'ready') return r;
      r.ws.destroy();
    } catch { /* lighttpd may hold the backend as down for a second */ }
    return null;
  }, 8000, 300);
  assert.ok(back, 'a socket works again');
  assert.deepEqual(await back.ws.next((m) => m.type === 'ping', 4000), { type: 'ping' }, 'idle socket pinged');
  const again = await listeningOrder(sale);
  assert.ok(await again.ws.next(isOrder(again.oid, 'unpaid'), 2000), 'events flow again');
  assert.equal((await get('/api/health')).json.push, 'ok');
  back.ws.close(); again.ws.close();
  // leave the usual hub for the tests after this one, and wait until
  // lighttpd takes sockets for it again (it holds a failed backend down for
  // a moment; a page would log the 503)
  flashctl('hub-stop');
  flashctl('hub-start');
  const usual = await waitFor(async () => {
    try {
      const r = await wsAuth(jwt(newUserId()));
      r.ws.destroy();
      return r.ready?.type === 'ready';
    } catch { return false; }
  }, 10000, 300);
  assert.ok(usual, 'the usual hub serves');
});
