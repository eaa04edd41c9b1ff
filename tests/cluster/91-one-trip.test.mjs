// The accepting path on a Cluster in one trip to the item's master: the
// per-user order limit is counted by the reservation script on the user's
// counter of the item (in the item's slot), not by a call of its own to the
// user's slot; the queued status record (user's slot) and the WAIT go out
// together after it, and the record is readable at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  conf, get, post, jwt, newUserId, makeSale, secretFor, statusCounts, burst,
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
  // the count lives on the item's master, with the item's tag
  const key = `fs:{${aid}:${iid}}:rl:${uid}`;
  const owner = ownerOf(slotOf(key));
  const seen = cli(owner.port, 'GET', key);
  const ttl = Number(cli(owner.port, 'PTTL', key));
  // (unless its one-second window is over already)
  if (seen !== '') {
    assert.ok(Number(seen) >= 1, `counter ${seen}`);
    assert.ok(ttl > 0 && ttl <= 1000, `the counter lives one window (${ttl} ms)`);
  }
});

test('cluster-8 an accepted order is readable at once, and in the user\'s list', async () => {
  const { aid, iid } = await makeSale({ stock: 5 });
  for (let i = 0; i < 5; i++) {
    const uid = newUserId();
    const token = jwt(uid);
    const secret = await secretFor(token, aid, iid);
    const r = await post('/api/order', { activity_id: aid, item_id: iid, quantity: 1, secret }, { token });
    assert.equal(r.status, 202, r.text);
    const st = await get(`/api/order-status/${r.json.order_id}`, { token });
    assert.equal(st.status, 200, st.text);
    assert.ok(['queued', 'unpaid'].includes(st.json.status), st.text);
    // the queued record sits in the user's slot
    const rec = `fs:o:{${uid}}:${r.json.order_id}`;
    assert.notEqual(cli(ownerOf(slotOf(rec)).port, 'EXISTS', rec), '0', 'the status record is written');
  }
});
