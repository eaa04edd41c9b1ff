// The programs on a real Redis Cluster (tests/run.sh's second stack, 3 masters
// + 3 replicas, redis_wait_replicas = 1): items on several masters, a slot
// migrated under them (MOVED), a slot in migration (ASK, and TRYAGAIN while
// its keys are split), and WAIT after the reservation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import {
  conf, state, get, makeSale, order, redisRaw, sqlValue, waitFor, sleep,
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
