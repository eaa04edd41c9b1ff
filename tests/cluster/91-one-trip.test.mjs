// The accepting path on a Cluster in one trip to the item's master: the
// per-user order limit is counted by the reservation script on the user's
// counter of the item (in the item's slot), not by a call of its own to the
// user's slot; the WAIT rides with the script; no status record is written
// in the user's slot (another master): a queued order is read from its
// item's journal until the handler has written it and its record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  conf, get, post, jwt, newUserId, makeSale, secretFor, statusCounts, burst, flashctl, waitFor,
} from '../lib/flash.mjs';
import { cli, slotOf, ownerOf } from './cluster.mjs';

test('cluster-7 the per-user order limit holds across processes, counted in the item\'s slot', async () => {
  const limit = Number(conf.rate_order_per_user);
  assert.ok(limit >= 1 && limit <= 10, `rate_order_per_user ${limit}`);
  const { aid, iid } = await makeSale({ stock: 50 });
  const uid = newUserId();
  const token = jwt(uid);
  const secret = await secretFor(token, aid, iid);
  const body = { activity_id: aid, item_id: iid, quantity: 1, secret };
  // more than every place-order process's own allowance together
  const n = 12 * limit;
  const results = await burst(n, () => post('/api/order', body, { token }));
  const counts = statusCounts(results);
  assert.equal(counts[202], 1, `statuses: ${JSON.stringify(counts)}`);
  assert.equal((counts[202] || 0) + (counts[409] || 0) + (counts[429] || 0), n, `statuses: ${JSON.stringify(counts)}`);
  // a burst may straddle the one-second window: at most two windows' worth
  // went past the limit's count (each process alone would let `limit` by)
  const passed = (counts[202] || 0) + (counts[409] || 0);
  assert.ok(passed <= 2 * limit, `${passed} orders got past a limit of ${limit}/s: ${JSON.stringify(counts)}`);
  // the count lives on the item's master, with the item's tag: a field
  // "second:count" of the item's hash, which lives as long as the item
  const key = `fs:{${aid}:${iid}}:rl`;
  const owner = ownerOf(slotOf(key));
  const seen = cli(owner.port, 'HGET', key, String(uid));
  assert.match(seen, /^\d+:\d+$/, `the user's count: ${seen}`);
  const count = Number(seen.split(':')[1]);
  assert.ok(count >= 1 && count <= limit, `count ${count} of a limit of ${limit}`);
  const ttl = Number(cli(owner.port, 'PTTL', key));
  assert.ok(ttl > 60000, `the hash lives with the item's keys (${ttl} ms)`);
});

test('cluster-8 an accepted order is readable at once, by id, by item and in the list, from its journal', async () => {
  const { aid, iid } = await makeSale({ stock: 5 });
  const placed = [];
  for (let i = 0; i < 3; i++) {
    const uid = newUserId();
    const token = jwt(uid);
    const secret = await secretFor(token, aid, iid);
    const r = await post('/api/order', { activity_id: aid, item_id: iid, quantity: 1, secret }, { token });
    assert.equal(r.status, 202, r.text);
    const st = await get(`/api/order-status/${r.json.order_id}`, { token });
    assert.equal(st.status, 200, st.text);
    assert.ok(['queued', 'unpaid'].includes(st.json.status), st.text);
    placed.push({ uid, token, oid: r.json.order_id });
  }
  // with the handler stopped the orders stay queued: nothing but the
  // item's journal knows them
  flashctl('handler-stop');
  try {
    const uid = newUserId();
    const token = jwt(uid);
    const secret = await secretFor(token, aid, iid);
    const r = await post('/api/order', { activity_id: aid, item_id: iid, quantity: 1, secret }, { token });
    assert.equal(r.status, 202, r.text);
    const oid = r.json.order_id;
    const rec = `fs:o:{${uid}}:${oid}`;
    assert.equal(cli(ownerOf(slotOf(rec)).port, 'EXISTS', rec), '0',
      'no status record in the user\'s slot: an order touches the item\'s master only');
    const byId = await get(`/api/order-status/${oid}`, { token });
    assert.equal(byId.status, 200, byId.text);
    assert.equal(byId.json.status, 'queued', byId.text);
    assert.equal(byId.json.item_id, iid);
    assert.equal(byId.json.quantity, 1);
    const byItem = await get(`/api/order-status?activity_id=${aid}&item_id=${iid}`, { token });
    assert.equal(byItem.status, 200, byItem.text);
    assert.equal(byItem.json.order_id, oid, byItem.text);
    const list = await get('/api/order-status', { token });
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(list.json.orders.map((o) => [o.order_id, o.status]), [[oid, 'queued']], list.text);
    // someone else's token: not found, as on one Redis
    assert.equal((await get(`/api/order-status/${oid}`, { token: jwt(newUserId()) })).status, 404);
    // not payable yet: 409, not 404
    assert.equal((await post(`/api/pay/${oid}`, {}, { token })).status, 409);
    placed.push({ uid, token, oid });
  } finally {
    flashctl('handler-start');
  }
  // written by the handler: unpaid, with its record in the user's slot
  for (const p of placed) {
    assert.ok(await waitFor(async () => (await get(`/api/order-status/${p.oid}`, { token: p.token })).json.status === 'unpaid', 10000, 100),
      `order ${p.oid} unpaid`);
    const rec = `fs:o:{${p.uid}}:${p.oid}`;
    assert.ok(await waitFor(() => cli(ownerOf(slotOf(rec)).port, 'EXISTS', rec) === '1', 5000, 50),
      'the handler wrote the status record');
  }
});
