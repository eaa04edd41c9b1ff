// Sharded stock (docs/SHARDS.md, API.md "Scale-out"): an item's Redis stock
// split over K keys on different hash tags; one order per user on the user's
// home shard; an empty home shard borrows from the others, so a sale whose
// demand exceeds its stock ends with every shard at 0; stats, detail and
// reconcile see the sum; hostile "shards" values are 400 and change nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  post, get, jwt, newUserId, makeSale, secretFor, burst, statusCounts, redisRaw, sql,
  sqlValue, waitFor, admin, sleep,
} from '../lib/flash.mjs';

const run = promisify(execFile);

// Redis Cluster's slot of a hash tag (CRC16-XMODEM mod 16384)
function slotOf(tag) {
  let crc = 0;
  for (const b of Buffer.from(tag)) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}
const third = (slot) => (slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2);

async function stats(aid, iid) {
  const s = await admin.get(`/api/admin/activities/${aid}/stats`);
  assert.equal(s.status, 200, s.text);
  return s.json.items.find((x) => Number(x.item_id) === Number(iid));
}
async function reconcile() {
  try {
    const r = await run(`${process.env.FLASH_BIN}/reconcile`, [], {
      env: { ...process.env, FLASH_RECONCILE_AGE_MS: '5000' }, encoding: 'utf8', timeout: 60000,
    });
    return r.stdout;
  } catch (e) {
    return String(e.stdout || '') + String(e.stderr || e);
  }
}
async function usersFor(aid, iid, n, home = null, shards = 1) {
  const users = [];
  while (users.length < n) {
    const uid = newUserId();
    if (home === null || uid % shards === home) users.push({ uid, token: jwt(uid) });
  }
  for (let i = 0; i < n; i += 200) {
    await Promise.all(users.slice(i, i + 200).map(async (u) => { u.secret = await secretFor(u.token, aid, iid); }));
  }
  return users;
}
const buy = (aid, iid, u) => post('/api/order', { activity_id: aid, item_id: iid, quantity: 1, secret: u.secret },
  { token: u.token, timeoutMs: 10000 }).then((r) => ({ ...r, uid: u.uid }));
const shardStock = (s) => s.shards.map((x) => Number(redisRaw('GET', `fs:{${x.tag}}:stock`)));
const liveRows = (aid, iid) => Number(sqlValue(`SELECT COUNT(*) FROM orders WHERE activity_id=${aid} AND item_id=${iid} AND status IN ('unpaid','paid')`));

// MySQL and Redis agree once quiet: none oversold, stats add up, every shard as stats says
async function assertBooks(aid, iid, alloc) {
  assert.ok(await waitFor(async () => (await stats(aid, iid)).queued === 0, 15000), 'the handler caught up');
  const s = await stats(aid, iid);
  const dbStock = Number(sqlValue(`SELECT stock FROM activity_items WHERE activity_id=${aid} AND item_id=${iid}`));
  assert.equal(dbStock + liveRows(aid, iid), alloc, 'MySQL: stock + live orders = allocated (none oversold)');
  assert.equal(s.remaining + s.queued + s.unpaid + s.paid, alloc, `stats add up: ${JSON.stringify(s)}`);
  assert.equal(s.remaining, dbStock, `Redis remaining = MySQL stock: ${JSON.stringify(s)}`);
  assert.deepEqual(shardStock(s), s.shards.map((x) => x.remaining), 'stats show each shard');
  assert.equal(sql(`SELECT user_id FROM orders WHERE activity_id=${aid} AND item_id=${iid} AND status IN ('unpaid','paid') GROUP BY user_id HAVING COUNT(*) > 1`).length, 0, 'one live order per user');
  return s;
}

test('shards-1 hostile "shards" values are 400 and change nothing; a good one is stored', async () => {
  const { aid, iid } = await makeSale({ stock: 3, publish: false });
  const item = await admin.post('/api/admin/items', { name: 'sharded', title: 't', description: 'd', price_cents: 100, stock: 100, images: [] });
  const act = await admin.post('/api/admin/activities', { name: 'sharded', description: 'd', start_ms: Date.now() + 60000, end_ms: Date.now() + 3600000 });
  const a2 = act.json.activity_id, i2 = item.json.item_id;
  const body = (shards, stock = 20) => ({ item_id: i2, flash_price_cents: 50, stock, per_user_limit: 1, shards });
  for (const bad of [0, -1, 17, 1000, '4', 2.5, true, null, [4], { n: 4 }]) {
    const r = await admin.post(`/api/admin/activities/${a2}/items`, body(bad));
    assert.equal(r.status, 400, `shards ${JSON.stringify(bad)}: ${r.status} ${r.text}`);
    assert.equal(r.json.error, 'bad_request');
  }
  // more shards than units: each shard must start with one at least
  let r = await admin.post(`/api/admin/activities/${a2}/items`, body(8, 7));
  assert.equal(r.status, 400, r.text);
  assert.equal(sqlValue(`SELECT COUNT(*) FROM activity_items WHERE activity_id=${a2}`), '0', 'nothing added');
  assert.equal(sqlValue(`SELECT stock FROM items WHERE id=${i2}`), '100', 'no stock locked');
  r = await admin.post(`/api/admin/activities/${a2}/items`, body(16, 16));
  assert.equal(r.status, 201, r.text);
  assert.equal(sqlValue(`SELECT shards FROM activity_items WHERE activity_id=${a2} AND item_id=${i2}`), '16');
  // no "shards": one, as before
  assert.equal(sqlValue(`SELECT shards FROM activity_items WHERE activity_id=${aid} AND item_id=${iid}`), '1');
});

test('shards-2 2,000 users on stock 300 over 4 shards: exactly 300 sold, every shard 0, stats add up', async (t) => {
  const STOCK = 300, USERS = 2000;
  const { aid, iid } = await makeSale({ stock: STOCK, shards: 4 });
  let s = await stats(aid, iid);
  assert.equal(s.shards.length, 4, JSON.stringify(s));
  assert.deepEqual(s.shards.map((x) => x.remaining), [75, 75, 75, 75], 'the stock split evenly');
  assert.equal(s.shards[0].tag, `${aid}:${iid}`, 'shard 0 is the item\'s own tag');
  const slots = s.shards.map((x) => slotOf(x.tag));
  assert.equal(new Set(slots).size, 4, `distinct slots ${slots}`);
  assert.equal(new Set(slots.slice(0, 3).map(third)).size, 3, `the first three on the three masters' thirds: ${slots}`);

  const users = await usersFor(aid, iid, USERS);
  const results = await burst(USERS, (i) => buy(aid, iid, users[i]));
  const counts = statusCounts(results);
  t.diagnostic(`rush: ${JSON.stringify(counts)}`);
  assert.equal(counts[202], STOCK, `statuses ${JSON.stringify(counts)}`);
  assert.equal(counts[410], USERS - STOCK, `statuses ${JSON.stringify(counts)}`);
  const winners = results.filter((r) => r.status === 202);
  assert.equal(new Set(winners.map((r) => r.uid)).size, STOCK, 'distinct users');
  assert.equal(new Set(winners.map((r) => r.json.order_id)).size, STOCK, 'distinct orders');
  s = await assertBooks(aid, iid, STOCK);
  assert.deepEqual(s.shards.map((x) => x.remaining), [0, 0, 0, 0], 'every shard sold out');
  assert.equal(liveRows(aid, iid), STOCK);
  const d = await waitFor(async () => { const r = await get(`/api/detail/${aid}/${iid}`); return r.json.state === 'sold_out' && r.json; }, 5000);
  assert.ok(d, 'detail says sold_out');
  assert.equal(d.remaining, 0);
  // reconcile in a quiet sale changes nothing and finds no drift
  const out = await reconcile();
  const line = out.split('\n').find((l) => l.startsWith(`item ${aid}:${iid} `));
  assert.ok(line && !/DRIFT/.test(line), `reconcile: ${line}\n${out}`);
  assert.deepEqual(shardStock(await stats(aid, iid)), [0, 0, 0, 0]);
});

test('shards-3 one user x 20 concurrent orders: one 202, also when the home shard must borrow', async () => {
  const SH = 4;
  for (const emptyHome of [false, true]) {
    const { aid, iid } = await makeSale({ stock: SH * 3, shards: SH });
    const [u] = await usersFor(aid, iid, 1);
    const home = u.uid % SH;
    if (emptyHome) {
      // others of the same home take its 3 units first
      const [a, b, c] = await usersFor(aid, iid, 3, home, SH);
      for (const x of [a, b, c]) assert.equal((await buy(aid, iid, x)).status, 202);
      assert.equal((await stats(aid, iid)).shards[home].remaining, 0, 'home shard empty');
    }
    const results = await burst(20, () => buy(aid, iid, u));
    const counts = statusCounts(results);
    assert.equal(counts[202], 1, `emptyHome=${emptyHome}: ${JSON.stringify(counts)}`);
    assert.equal((counts[409] || 0) + (counts[429] || 0), 19, JSON.stringify(counts));
    for (const r of results.filter((x) => x.status === 409)) assert.equal(r.json.error, 'duplicate');
    const s = await assertBooks(aid, iid, SH * 3);
    assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM orders WHERE activity_id=${aid} AND item_id=${iid} AND user_id=${u.uid}`)), 1);
    // no unit lost or made by the refused borrows
    assert.equal(s.remaining, SH * 3 - (emptyHome ? 4 : 1), JSON.stringify(s));
  }
});

test('shards-4 borrow: one home shard buys the whole stock; a cancel goes back to the home shard; a lost decrement is rebuilt', async (t) => {
  const SH = 4, STOCK = 8;
  const { aid, iid } = await makeSale({ stock: STOCK, shards: SH });
  // every buyer's home is shard 0: units 3..8 come from shards 1..3
  const users = await usersFor(aid, iid, STOCK + 2, 0, SH);
  const got = [];
  for (const u of users) got.push(await buy(aid, iid, u));
  assert.deepEqual(got.map((r) => r.status), [...Array(STOCK).fill(202), 410, 410]);
  let s = await assertBooks(aid, iid, STOCK);
  assert.deepEqual(s.shards.map((x) => x.remaining), [0, 0, 0, 0], 'no unit stranded on any shard');
  // every order journaled and recorded on its home shard (0)
  const buyers = redisRaw('HLEN', `fs:{${aid}:${iid}}:buyers`);
  assert.equal(Number(buyers), STOCK, 'the buyers are on the home shard');
  for (const x of s.shards.slice(1)) assert.equal(redisRaw('HLEN', `fs:{${x.tag}}:buyers`), '0');

  // a cancel gives the unit back to the canceller's home shard
  const first = got[0];
  assert.ok(await waitFor(async () => Number(sqlValue(`SELECT COUNT(*) FROM orders WHERE id=${first.json.order_id} AND status='unpaid'`)) === 1, 10000));
  const c = await post(`/api/order/${first.json.order_id}/cancel`, {}, { token: users[0].token });
  assert.equal(c.status, 200, c.text);
  s = await assertBooks(aid, iid, STOCK);
  assert.deepEqual(s.shards.map((x) => x.remaining), [1, 0, 0, 0], 'back on shard 0');
  // a user of shard 2 takes it: borrowed from shard 0 (once the 410s above
  // have aged out of place-order's 200 ms sold-out mark, README)
  await sleep(300);
  const [v] = await usersFor(aid, iid, 1, 2, SH);
  assert.equal((await buy(aid, iid, v)).status, 202);
  s = await assertBooks(aid, iid, STOCK);
  assert.deepEqual(s.shards.map((x) => x.remaining), [0, 0, 0, 0]);

  // a lost decrement: shard 3 rolled back one unit (as a promoted replica
  // that missed the master's last write would have it); reconcile rebuilds
  // from MySQL + the journal, so the unit is not sold twice
  const k3 = `fs:{${s.shards[3].tag}}:stock`;
  redisRaw('INCRBY', k3, '1');
  assert.equal((await stats(aid, iid)).remaining, 1, 'Redis believes a unit is left');
  const out = await reconcile();
  t.diagnostic(out.split('\n').find((l) => l.startsWith(`item ${aid}:${iid} `)));
  assert.equal(redisRaw('GET', k3), '0', 'rebuilt from MySQL');
  s = await assertBooks(aid, iid, STOCK);
  assert.deepEqual(s.shards.map((x) => x.remaining), [0, 0, 0, 0]);
  const [w] = await usersFor(aid, iid, 1, 3, SH);
  assert.equal((await buy(aid, iid, w)).status, 410, 'nothing sold twice');
});
