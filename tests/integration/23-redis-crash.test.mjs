// Redis crashes: what a kill -9 (and the last second of writes an
// `appendfsync everysec` AOF can lose with it) leaves behind, and ONE
// reconcile pass putting Redis back in line with MySQL (the truth) and the
// journal: confirmed journal entries dropped whatever their age, Redis stock
// rebuilt (a lost decrement must not sell a unit MySQL no longer has), the
// buyers hash refilled, nothing left behind by age, ended sales' keys expiring.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, statSync, truncateSync } from 'node:fs';
import { promisify } from 'node:util';
import {
  post, get, jwt, newUserId, makeSale, secretFor, burst, statusCounts, redis, redisRaw, sql,
  sqlValue, waitFor, sleep, flashctl, admin, state, conf, order,
} from '../lib/flash.mjs';

const run = promisify(execFile);
const key = (aid, iid, s) => `fs:{${aid}:${iid}}:${s}`;

// reconcile, once, as cron runs it; env: extra config (FLASH_<KEY>).
// Returns its stdout (it exits 1 when it reports drift).
async function reconcile(env = {}) {
  try {
    const r = await run(`${process.env.FLASH_BIN}/reconcile`, [], {
      env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60000,
    });
    return r.stdout;
  } catch (e) {
    return String(e.stdout || '') + String(e.stderr || e);
  }
}
// Redis answers commands (not only LOADING while it reads its AOF back),
// and the programs' circuit breakers, opened by the outage, have had their
// breaker_ms to half-open (API.md "Guard rails": 503 at once meanwhile)
async function redisUp() {
  const ok = await waitFor(() => { try { return redisRaw('PING') === 'PONG'; } catch { return false; } }, 15000, 50);
  assert.ok(ok, 'Redis is back');
  await sleep(Number(conf.breaker_ms || 1000) + 100);
}

// the production default: a journal entry younger than this is not replayed
const PROD_AGE = { FLASH_RECONCILE_AGE_MS: '5000' };

async function prepareUsers(aid, iid, n) {
  const users = [];
  for (let i = 0; i < n; i++) { const uid = newUserId(); users.push({ uid, token: jwt(uid) }); }
  for (let i = 0; i < n; i += 200) {
    await Promise.all(users.slice(i, i + 200).map(async (u) => { u.secret = await secretFor(u.token, aid, iid); }));
  }
  return users;
}
const buy = (aid, iid, u) => post('/api/order', { activity_id: aid, item_id: iid, quantity: 1, secret: u.secret },
  { token: u.token }).catch((e) => ({ status: 0, text: String(e) }));
const fire = (aid, iid, users) => burst(users.length, (i) => buy(aid, iid, users[i]));

const rowsOf = (aid, iid) => Number(sqlValue(`SELECT COUNT(*) FROM orders WHERE activity_id=${aid} AND item_id=${iid}`));

async function stats(aid, iid) {
  const s = await admin.get(`/api/admin/activities/${aid}/stats`);
  assert.equal(s.status, 200, s.text);
  return s.json.items.find((x) => x.item_id === iid);
}

// every order id in ids is in MySQL as status st
function assertInMysql(ids, st = 'unpaid') {
  if (ids.length === 0) return;
  const list = ids.join(',');
  assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM orders WHERE id IN (${list})`)), ids.length, 'every 202 is in MySQL');
  assert.deepEqual(sql(`SELECT status, COUNT(*) FROM orders WHERE id IN (${list}) GROUP BY status`),
    [[st, String(ids.length)]], `every 202 is ${st}`);
}

// MySQL and Redis agree, nothing oversold, the admin stats add up
async function assertBooks(aid, iid, alloc, out) {
  const line = out.split('\n').find((l) => l.startsWith(`item ${aid}:${iid} `));
  assert.ok(line, `reconcile checked the item:\n${out}`);
  assert.doesNotMatch(line, /DRIFT/, out);
  const dbStock = Number(sqlValue(`SELECT stock FROM activity_items WHERE activity_id=${aid} AND item_id=${iid}`));
  const live = Number(sqlValue(`SELECT COALESCE(SUM(quantity),0) FROM orders WHERE activity_id=${aid} AND item_id=${iid} AND status IN ('unpaid','paid')`));
  assert.ok(dbStock >= 0, 'MySQL stock not negative');
  assert.equal(dbStock + live, alloc, 'MySQL: stock + live orders = allocated (none oversold)');
  const journal = redisRaw('HLEN', key(aid, iid, 'journal'));
  const left = Number(redisRaw('GET', key(aid, iid, 'stock')));
  assert.equal(journal, '0', 'the journal holds nothing MySQL has');
  assert.equal(left, dbStock, 'Redis stock = MySQL stock (nothing queued)');
  const s = await stats(aid, iid);
  assert.equal(s.queued, 0, JSON.stringify(s));
  assert.equal(s.remaining + s.queued + s.unpaid + s.paid, s.stock, `stats add up: ${JSON.stringify(s)}`);
}

// none of the users' status records in Redis still says queued
function assertNotQueued(orders) {
  for (let i = 0; i < orders.length; i += 200) {
    const keys = orders.slice(i, i + 200).map((o) => `fs:o:{${o.uid}}:${o.id}`);
    const vals = redisRaw('MGET', ...keys).split('\n');
    vals.forEach((v, k) => assert.doesNotMatch(v, /"status":"queued"/, `status record ${keys[k]}: ${v}`));
  }
}

// The live incremental AOF file of the stack's Redis (Redis 7 multi-part AOF).
function aofFile() {
  const dir = `${state}/appendonlydir`;
  const m = readFileSync(`${dir}/appendonly.aof.manifest`, 'utf8').split('\n')
    .map((l) => l.match(/^file (\S+) seq \d+ type i/)).filter(Boolean);
  return m.length ? `${dir}/${m[m.length - 1][1]}` : null;
}

test('crash-1.1 SIGKILL of Redis mid-rush (losing its last writes), restart, ONE reconcile pass: books add up, nothing oversold', async (t) => {
  const alloc = 300;
  const { aid, iid } = await makeSale({ stock: alloc });
  const users = await prepareUsers(aid, iid, 1000);
  const aof = aofFile();
  assert.ok(aof, 'the stack runs Redis with an AOF');
  const sizeBefore = statSync(aof).size;

  // the rush: 1000 users at once on 300 units; Redis gets SIGKILL the
  // moment the 30th order is accepted
  const redisPid = Number(readFileSync(`${state}/redis.pid`, 'utf8'));
  let taken = 0, killed = false;
  const pending = Promise.all(users.map((u) => buy(aid, iid, u).then((r) => {
    if (r.status === 202 && ++taken >= 30 && !killed) { killed = true; process.kill(redisPid, 'SIGKILL'); }
    return r;
  })));
  let results;
  try {
    results = await pending;
    assert.ok(killed, 'Redis was killed mid-rush');
    flashctl('redis-kill'); // forgets the pid file of the dead Redis
    // what everysec may lose on a power cut: the writes of the last moment
    // never reached the disk. Cut the AOF's tail to half of what the rush
    // wrote (Redis loads a truncated AOF up to its last whole command).
    const sizeKill = statSync(aof).size;
    if (aofFile() === aof && sizeKill > sizeBefore) truncateSync(aof, sizeBefore + Math.floor((sizeKill - sizeBefore) / 2));
  } finally {
    flashctl('start'); // as an operator brings the stack back (idempotent)
  }
  await redisUp();
  const accepted = results.map((r, i) => (r.status === 202 ? { id: r.json.order_id, uid: users[i].uid, i } : null)).filter(Boolean);
  const counts = statusCounts(results);
  assert.ok(accepted.length >= 30 && accepted.length < alloc, JSON.stringify(counts));
  assert.ok((counts[503] || 0) > 0, `the kill hit mid-rush: ${JSON.stringify(counts)}`);

  // the handler drains what ZeroMQ still carries, then one reconcile pass
  await waitFor(() => rowsOf(aid, iid) >= accepted.length, 20000, 200);
  const out = await reconcile(PROD_AGE);
  t.diagnostic(`rush ${JSON.stringify(counts)}; reconcile: ${out.split('\n').find((l) => l.startsWith(`item ${aid}:${iid} `))}`);
  assertInMysql(accepted.map((a) => a.id));
  await assertBooks(aid, iid, alloc, out);
  assertNotQueued(accepted);

  // a buyer whose Redis record died with the crash cannot buy twice
  const again = await Promise.all(accepted.map((a) => buy(aid, iid, users[a.i])));
  assert.equal(again.filter((r) => r.status === 202).length, 0, JSON.stringify(statusCounts(again)));

  // and Redis sells exactly what MySQL has left, no unit twice
  const left = Number(sqlValue(`SELECT stock FROM activity_items WHERE activity_id=${aid} AND item_id=${iid}`));
  const wave = await prepareUsers(aid, iid, left + 50);
  const w = await fire(aid, iid, wave);
  const ids2 = w.filter((r) => r.status === 202).map((r) => r.json.order_id);
  assert.equal(ids2.length, left, `second wave: ${JSON.stringify(statusCounts(w))}`);
  await waitFor(() => rowsOf(aid, iid) >= accepted.length + ids2.length, 20000, 200);
  assertInMysql(ids2, 'unpaid');
  assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM orders WHERE activity_id=${aid} AND item_id=${iid} AND status='failed'`)), 0,
    'no 202 ended failed');
  await waitFor(() => redisRaw('HLEN', key(aid, iid, 'journal')) === '0', 10000);
  await assertBooks(aid, iid, alloc, await reconcile(PROD_AGE));
});

test('crash-1.2 journal entries of orders already in MySQL are dropped at once, whatever their age', async () => {
  const alloc = 20;
  const { aid, iid } = await makeSale({ stock: alloc });
  const users = await prepareUsers(aid, iid, 5);
  flashctl('handler-stop');
  let res;
  try {
    res = await fire(aid, iid, users);
    assert.deepEqual(statusCounts(res), { 202: 5 });
    // Redis goes away; the handler writes the orders to MySQL meanwhile but
    // cannot drop their journal entries (nor write their status records)
    flashctl('redis-stop');
  } finally {
    flashctl('handler-start');
  }
  try {
    assert.ok(await waitFor(() => rowsOf(aid, iid) === 5, 15000, 100), 'the handler wrote the orders');
  } finally {
    flashctl('redis-start');
  }
  await redisUp();
  assert.equal(redisRaw('HLEN', key(aid, iid, 'journal')), '5', 'the journal still holds them');
  // one pass, with entries far younger than the replay age
  const out = await reconcile({ FLASH_RECONCILE_AGE_MS: '600000' });
  const orders = res.map((r, i) => ({ id: r.json.order_id, uid: users[i].uid }));
  await assertBooks(aid, iid, alloc, out);
  assertNotQueued(orders);
  const st = await get(`/api/order-status/${orders[0].id}`, { token: users[0].token });
  assert.equal(st.json.status, 'unpaid');
});

test('crash-1.3 decrements and buyers lost with a crash: reconcile rebuilds stock and buyers from MySQL and the journal', async () => {
  const alloc = 10;
  const { aid, iid } = await makeSale({ stock: alloc });
  const users = await prepareUsers(aid, iid, 4);
  const res = await fire(aid, iid, users);
  assert.deepEqual(statusCounts(res), { 202: 4 });
  assert.ok(await waitFor(() => rowsOf(aid, iid) === 4 && redisRaw('HLEN', key(aid, iid, 'journal')) === '0', 15000));
  // what a lost AOF tail leaves: the four reservations never happened in
  // Redis (stock, buyers, status records), MySQL has the orders
  redis('SET', key(aid, iid, 'stock'), alloc, 'KEEPTTL');
  redis('HDEL', key(aid, iid, 'buyers'), ...users.map((u) => u.uid));
  redis('DEL', ...res.map((r, i) => `fs:o:{${users[i].uid}}:${r.json.order_id}`));
  flashctl('redis-stop');
  flashctl('redis-start');
  await redisUp();
  const out = await reconcile(PROD_AGE);
  assert.equal(redisRaw('GET', key(aid, iid, 'stock')), '6', out);
  await assertBooks(aid, iid, alloc, out);
  for (const u of users) assert.equal(redisRaw('HEXISTS', key(aid, iid, 'buyers'), u.uid), '1', 'buyer back');
  const again = await fire(aid, iid, users);
  assert.deepEqual(statusCounts(again), { 409: 4 }, 'one order per user still holds');
  const wave = await prepareUsers(aid, iid, 10);
  const w = await fire(aid, iid, wave);
  const ids = w.filter((r) => r.status === 202).map((r) => r.json.order_id);
  assert.equal(ids.length, 6, JSON.stringify(statusCounts(w)));
  assert.ok(await waitFor(() => rowsOf(aid, iid) === 10, 15000));
  assertInMysql(ids);
});

test('crash-1.4 an order accepted days ago that no handler wrote is replayed, and the ended sale\'s keys expire', async () => {
  // a sale that ended three days ago; reconcile has not completed a pass
  // since it ran (cron was off), and one accepted order is only in the
  // journal (its ZeroMQ message died with the web tier): the reservation
  // script's writes for it, an hour before the end
  const { aid, iid } = await makeSale({ stock: 5, flash_price_cents: 999 });
  const now = Date.now(), day = 86400000, end = now - 3 * day, created = end - 3600000;
  sql(`UPDATE activities SET start_ms=${end - 7200000}, end_ms=${end}, status='ended' WHERE id=${aid}`);
  const uid = newUserId(), id = BigInt(created - 1288834974657) * 4194304n + BigInt(aid % 1024) * 4096n;
  redis('HSET', key(aid, iid, 'journal'), id, `${id} ${uid} ${aid} ${iid} 1 999 ${created}`);
  redis('ZADD', key(aid, iid, 'pending'), created, id);
  redis('HSET', key(aid, iid, 'buyers'), uid, id);
  redis('DECRBY', key(aid, iid, 'stock'), 1);
  redis('SET', 'fs:reconcile:watermark', end - 7200000);
  // and a line no handler could ever read: it stays no longer than the sale's keys
  redis('HSET', key(aid, iid, 'journal'), 'junk', 'not an order line');
  const out = await reconcile();
  assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM orders WHERE id=${id} AND user_id=${uid} AND status <> 'failed'`)), 1,
    `the order is in MySQL:\n${out}`);
  assert.equal(sqlValue(`SELECT stock FROM activity_items WHERE activity_id=${aid} AND item_id=${iid}`), '4');
  const keys = redisRaw('--scan', '--pattern', `fs:{${aid}:${iid}}:*`).split('\n').filter(Boolean);
  assert.ok(keys.includes(key(aid, iid, 'journal')), 'the junk line is still there');
  for (const k of keys) {
    assert.notEqual(redisRaw('PTTL', k), '-1', `${k} expires once the ended sale is reconciled`);
  }
  assert.equal(redisRaw('ZCARD', key(aid, iid, 'pending')), '0');
  assert.ok(Number(redisRaw('GET', 'fs:reconcile:watermark')) > now - 3600000, 'the watermark moved on');
});

test('crash-1.5 reconcile passes in the middle of a rush change nothing', async () => {
  const alloc = 300;
  const { aid, iid } = await makeSale({ stock: alloc });
  const users = await prepareUsers(aid, iid, 600);
  const pending = fire(aid, iid, users);
  const outs = [];
  for (let k = 0; k < 3; k++) outs.push(await reconcile());
  const results = await pending;
  const ids = results.filter((r) => r.status === 202).map((r) => r.json.order_id);
  assert.equal(ids.length, alloc, JSON.stringify(statusCounts(results)));
  assert.ok(await waitFor(() => rowsOf(aid, iid) === alloc && redisRaw('HLEN', key(aid, iid, 'journal')) === '0', 20000));
  assertInMysql(ids);
  await assertBooks(aid, iid, alloc, await reconcile());
});

test('crash-2.1 Redis forgets its scripts (SCRIPT FLUSH): the handler loads them again, status records still move to unpaid', async () => {
  const { aid, iid } = await makeSale({ stock: 20 });
  const unpaidRecord = async (r) => waitFor(() => {
    const rec = redisRaw('GET', `fs:o:{${r.uid}}:${r.json.order_id}`);
    return rec !== '' && JSON.parse(rec).status === 'unpaid';
  }, 10000);
  // the handler's batch scripts are loaded (once a connection) ...
  const first = await order(aid, iid);
  assert.equal(first.status, 202, first.text);
  assert.ok(await unpaidRecord(first), 'the first order\'s record is unpaid');
  // ... and gone: its next batches still write every record
  assert.equal(redisRaw('SCRIPT', 'FLUSH'), 'OK');
  const rs = await Promise.all(Array.from({ length: 10 }, () => order(aid, iid)));
  for (const r of rs) assert.equal(r.status, 202, r.text);
  for (const r of rs) assert.ok(await unpaidRecord(r), `order ${r.json.order_id}'s record is unpaid`);
  const again = await order(aid, iid);
  assert.equal(again.status, 202, again.text);
  assert.ok(await unpaidRecord(again), 'and the batch after the reload');
});
