// The programs on a real Redis Cluster (tests/run.sh's second stack, 3 masters
// + 3 replicas, redis_wait_replicas = 1): items on several masters, a slot
// migrated under them (MOVED), a slot in migration (ASK, and TRYAGAIN while
// its keys are split), and WAIT after the reservation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import {
  conf, state, get, post, jwt, newUserId, makeSale, secretFor, order, statusCounts, redisRaw, sqlValue,
  waitFor, sleep,
} from '../lib/flash.mjs';
import { cli, masters, slotOf, ownerOf, migrateSlot, finishSlot, replicaOf } from './cluster.mjs';

test('cluster-0 the stack runs on a cluster of 3 masters and 3 replicas', () => {
  assert.equal(conf.redis_cluster, '1');
  assert.equal(masters().length, 3);
  assert.equal(conf.redis_nodes.split(',').length, 6);
});

test('cluster-1 items on different masters all sell, their keys where their slots are', async () => {
  const owners = new Set();
  for (let n = 0; n < 12 && owners.size < 3; n++) {
    const { aid, iid } = await makeSale({ stock: 3 });
    const r = await order(aid, iid);
    assert.equal(r.status, 202, r.text);
    const owner = ownerOf(slotOf(`fs:{${aid}:${iid}}:stock`));
    // read from the owner itself, without following redirections
    assert.equal(cli(owner.port, 'GET', `fs:{${aid}:${iid}}:stock`), '2');
    assert.equal(cli(owner.port, 'HGET', `fs:{${aid}:${iid}}:buyers`, r.uid), r.json.order_id);
    owners.add(owner.port);
    const st = await get(`/api/order-status/${r.json.order_id}`, { token: r.token });
    assert.equal(st.status, 200, st.text);
  }
  assert.equal(owners.size, 3, 'sales landed on every master');
});

test('cluster-2 MOVED: a slot migrated to another master mid-sale is followed', async () => {
  const { aid, iid } = await makeSale({ stock: 20 });
  // every place-order process learns the map before the move
  for (let i = 0; i < 6; i++) assert.equal((await order(aid, iid)).status, 202);
  const slot = slotOf(`fs:{${aid}:${iid}}:stock`);
  const from = ownerOf(slot);
  const to = masters().find((m) => m.id !== from.id);
  migrateSlot(slot, from, to);
  finishSlot(slot, from, to);
  assert.equal(ownerOf(slot).id, to.id, 'the slot moved');
  // the programs still think `from` owns it: MOVED, followed
  const t0 = Date.now();
  const rs = [];
  for (let i = 0; i < 8; i++) rs.push(await order(aid, iid));
  assert.deepEqual(rs.map((r) => r.status), Array(8).fill(202), rs.map((r) => r.text).join(' '));
  assert.ok(Date.now() - t0 < 5000, 'quickly');
  assert.equal(cli(to.port, 'GET', `fs:{${aid}:${iid}}:stock`), '6', 'stock decremented on the new master');
  await sleep(1100); // detail's in-process cache
  const d = await get(`/api/detail/${aid}/${iid}`);
  assert.equal(d.status, 200, d.text);
  assert.equal(d.json.remaining, 6);
  assert.ok(await waitFor(() => sqlValue(`SELECT COUNT(*) FROM orders WHERE activity_id=${aid} AND item_id=${iid}`) === '14', 15000),
    'MySQL has all 14 orders');
});

// redis-cli against the importing node for a slot in migration: ASKING first
function asking(port, cmd) {
  return execFileSync('redis-cli', ['-p', port, '--raw'], { input: `ASKING\n${cmd}\n`, encoding: 'utf8' })
    .trim().split('\n')[1];
}

test('cluster-3 ASK: while a slot migrates, reads are served by the importing master (ASKING)', async () => {
  const { aid, iid } = await makeSale({ stock: 10 });
  for (let i = 0; i < 4; i++) assert.equal((await order(aid, iid)).status, 202);
  assert.ok(await waitFor(() => sqlValue(`SELECT stock FROM activity_items WHERE activity_id=${aid} AND item_id=${iid}`) === '6', 15000));
  const slot = slotOf(`fs:{${aid}:${iid}}:stock`);
  const from = ownerOf(slot);
  const to = masters().find((m) => m.id !== from.id);
  // the keys move, the slot stays with `from` (MIGRATING / IMPORTING)
  migrateSlot(slot, from, to);
  let r;
  try {
    assert.equal(cli(from.port, 'CLUSTER', 'COUNTKEYSINSLOT', slot), '0', 'the keys left from');
    assert.equal(ownerOf(slot).id, from.id, 'the slot is still from\'s');
    // a figure only Redis has (MySQL says 6): detail can show it only by
    // following from's ASK to the importing master
    assert.equal(asking(to.port, `SET fs:{${aid}:${iid}}:stock 77`), 'OK');
    await sleep(1100); // detail's in-process cache
    const d = await get(`/api/detail/${aid}/${iid}`);
    assert.equal(d.status, 200, d.text);
    assert.equal(d.json.remaining, 77, 'detail read the stock through ASK');
    // the reservation script's keys are not all there yet (Redis answers
    // TRYAGAIN to a multi-key script on an importing master): a bounded 503
    const t0 = Date.now();
    r = await order(aid, iid);
    assert.equal(r.status, 503, r.text);
    assert.ok(Date.now() - t0 < 3000, `answered in ${Date.now() - t0} ms`);
    assert.equal(asking(to.port, `GET fs:{${aid}:${iid}}:stock`), '77', 'nothing reserved');
  } finally {
    finishSlot(slot, from, to);
  }
  // migration done: MOVED, and the sale goes on
  assert.equal((await order(aid, iid, { uid: r.uid })).status, 202);
  assert.equal(cli(to.port, 'GET', `fs:{${aid}:${iid}}:stock`), '76');
  // the true figure back (5 sold of 10), so that reconcile finds no drift later
  assert.equal(cli(to.port, 'SET', `fs:{${aid}:${iid}}:stock`, 5), 'OK');
});

test('cluster-4 TRYAGAIN: keys split by a migration cost a bounded 503, nothing changes, then the sale goes on', async () => {
  const { aid, iid } = await makeSale({ stock: 10 });
  assert.equal((await order(aid, iid)).status, 202);
  const slot = slotOf(`fs:{${aid}:${iid}}:stock`);
  const from = ownerOf(slot);
  const to = masters().find((m) => m.id !== from.id);
  // only the stock key moves: the reservation's keys are on two nodes
  migrateSlot(slot, from, to, [`fs:{${aid}:${iid}}:stock`]);
  let r;
  try {
    const t0 = Date.now();
    r = await order(aid, iid);
    const took = Date.now() - t0;
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json.error, 'unavailable');
    assert.ok(took < 3000, `answered in ${took} ms`);
    assert.ok(took >= 250, `after a few back-offs (${took} ms)`);
    // nothing happened: the stock (on `to`) is untouched, no buyer recorded
    assert.equal(asking(to.port, `GET fs:{${aid}:${iid}}:stock`), '9');
    assert.equal(cli(from.port, 'HEXISTS', `fs:{${aid}:${iid}}:buyers`, r.uid), '0');
  } finally {
    finishSlot(slot, from, to);
  }
  assert.equal((await order(aid, iid, { uid: r.uid })).status, 202);
  assert.equal(redisRaw('GET', `fs:{${aid}:${iid}}:stock`), '8');
});

test('cluster-5 WAIT: a reservation waits for its replica; a stalled replica costs redis_wait_ms, still 202, counted', async () => {
  assert.equal(conf.redis_wait_replicas, '1');
  const waitMs = Number(conf.redis_wait_ms);
  const { aid, iid } = await makeSale({ stock: 10 });
  assert.equal((await order(aid, iid)).status, 202);
  const metric = async () => {
    const m = await get('/api/metrics');
    const line = m.text.split('\n').find((l) => l.startsWith('flashsale_redis_wait_timeouts_total '));
    return line ? Number(line.split(' ')[1]) : 0;
  };
  const before = await metric();
  // healthy replica: fast, nothing counted
  const t0 = Date.now();
  assert.equal((await order(aid, iid)).status, 202);
  assert.ok(Date.now() - t0 < waitMs, `a healthy replica acknowledges quickly (${Date.now() - t0} ms)`);
  assert.equal(await metric(), before);
  // the item's replica stops (SIGSTOP, well below the node timeout)
  const master = ownerOf(slotOf(`fs:{${aid}:${iid}}:stock`));
  const replica = replicaOf(master);
  const pid = readFileSync(`${state}/redis-cluster/${replica.port}/redis.pid`, 'utf8').trim();
  process.kill(Number(pid), 'SIGSTOP');
  let r, took;
  try {
    const t1 = Date.now();
    r = await order(aid, iid);
    took = Date.now() - t1;
  } finally {
    process.kill(Number(pid), 'SIGCONT');
  }
  assert.equal(r.status, 202, r.text);
  assert.ok(took >= waitMs - 5, `the 202 waited for the replica (${took} ms)`);
  assert.ok(took < waitMs + 1500, `then went out (${took} ms)`);
  assert.equal(await metric(), before + 1, 'the timeout is counted');
  assert.ok(await waitFor(() => sqlValue(`SELECT COUNT(*) FROM orders WHERE id=${r.json.order_id}`) === '1', 15000),
    'the order stands');
  await sleep(100);
});

// How many of node's slots come before slot: redis-cli --cluster reshard
// moves a source's slots lowest first.
const slotsBefore = (node, slot) => node.slots.reduce((n, [a, b]) => n + Math.max(0, Math.min(b, slot - 1) - a + 1), 0);

test('cluster-6 redis-cli --cluster reshard under a rush: MOVED followed, sold out, nothing lost', async () => {
  const STOCK = 200, USERS = 800;
  // of a few sales, the one whose slot a reshard reaches soonest (every
  // master keeps slots: a master left empty would leave two voters, and a
  // later failover no majority)
  let sale = null;
  for (let n = 0; n < 12; n++) {
    const s = await makeSale({ stock: STOCK });
    const slot = slotOf(`fs:{${s.aid}:${s.iid}}:stock`);
    const from = ownerOf(slot);
    const before = slotsBefore(from, slot);
    if (sale === null || before < sale.before) sale = { ...s, slot, from, before };
  }
  const { aid, iid, slot, from } = sale;
  const key = `fs:{${aid}:${iid}}:stock`;
  const to = masters().find((m) => m.id !== from.id);
  const nslots = sale.before + 1;
  assert.ok(nslots < from.slots.reduce((n, [a, b]) => n + b - a + 1, 0), 'from keeps some slots');
  const users = [];
  for (let i = 0; i < USERS; i++) { const uid = newUserId(); users.push({ uid, token: jwt(uid) }); }
  for (let i = 0; i < USERS; i += 200) {
    await Promise.all(users.slice(i, i + 200).map(async (u) => { u.secret = await secretFor(u.token, aid, iid); }));
  }
  const results = [];
  let next = 0;
  const wave = async (n) => {
    const batch = users.slice(next, next + n);
    next += batch.length;
    results.push(...await Promise.all(batch.map((u) => post('/api/order',
      { activity_id: aid, item_id: iid, quantity: 1, secret: u.secret }, { token: u.token, timeoutMs: 10000 }))));
  };
  await wave(20);
  // every slot of `from` moves to `to`, the item's among them, while orders go on
  const reshard = spawn('redis-cli', ['--cluster', 'reshard', `127.0.0.1:${from.port}`, '--cluster-from', from.id,
    '--cluster-to', to.id, '--cluster-slots', String(nslots), '--cluster-yes'], { stdio: 'ignore' });
  let exit = null;
  const done = new Promise((res) => reshard.on('exit', (code) => { exit = code; res(); }));
  const t0 = Date.now();
  try {
    while (exit === null && next < USERS - 100 && Date.now() - t0 < 60000) { await wave(10); await sleep(20); }
    await Promise.race([done, sleep(Math.max(0, 60000 - (Date.now() - t0)))]);
  } finally {
    if (exit === null) reshard.kill();
  }
  assert.equal(exit, 0, 'reshard finished');
  assert.equal(ownerOf(slot).id, to.id, 'the item\'s slot moved');
  while (next < USERS) await wave(50);
  const counts = statusCounts(results);
  for (const s of Object.keys(counts)) assert.ok(['202', '410', '503'].includes(s), JSON.stringify(counts));
  const ids = results.filter((r) => r.status === 202).map((r) => r.json.order_id);
  assert.equal(ids.length, STOCK, `sold out exactly: ${JSON.stringify(counts)}`);
  assert.ok(await waitFor(() => sqlValue(`SELECT COUNT(*) FROM orders WHERE id IN (${ids.join(',')})`) === String(STOCK), 20000),
    'every 202 is in MySQL');
  assert.equal(sqlValue(`SELECT stock FROM activity_items WHERE activity_id=${aid} AND item_id=${iid}`), '0', 'none oversold');
  assert.equal(cli(to.port, 'GET', key), '0');
});
