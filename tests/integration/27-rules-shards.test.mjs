// 27-rules-shards: the sale rules on a sharded item (docs/GUARD-RULES.md,
// docs/SHARDS.md). The per-address cap counts the address's accepted orders
// of the item, whichever stock shard each buyer's order was taken on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { conf, admin, get, post, jwt, newUserId, statusCounts } from '../lib/flash.mjs';

const tag = Date.now() % 100000;
const secretOf = (uid, aid, iid) => createHmac('sha256', conf.order_secret)
  .update(`order-secret|${uid}|${aid}|${iid}`).digest('hex').slice(0, 32);
const xff = (ip) => ({ 'X-Forwarded-For': ip });

async function shardedSale(rules, stock, shards) {
  const now = Date.now();
  const item = await admin.post('/api/admin/items', {
    name: `rs item ${tag}`, title: 't', description: 'd', price_cents: 500, stock: stock + 5, images: [],
  });
  assert.equal(item.status, 201, item.text);
  const act = await admin.post('/api/admin/activities',
    { name: `rs sale ${tag}`, description: 'd', start_ms: now - 1000, end_ms: now + 3600000, rules });
  assert.equal(act.status, 201, act.text);
  const aid = act.json.activity_id, iid = item.json.item_id;
  const a = await admin.post(`/api/admin/activities/${aid}/items`,
    { item_id: iid, flash_price_cents: 100, stock, per_user_limit: 1, shards });
  assert.equal(a.status, 201, a.text);
  assert.equal((await admin.post(`/api/admin/activities/${aid}/publish`, {})).status, 200);
  assert.equal((await admin.post(`/api/admin/activities/${aid}/warmup`, {})).status, 200);
  return { aid, iid };
}

test('rs-1 max_orders_per_ip = 2 on 4 shards: one address, one user per home shard, exactly 2 accepted', async () => {
  const s = await shardedSale({ max_orders_per_ip: 2 }, 40, 4);
  const ip = `198.18.${tag % 250}.77`;
  // users 4k .. 4k+3: one on each home shard (uid mod 4)
  let base = newUserId();
  base += 4 - (base % 4);
  for (let i = 0; i < 14; i++) newUserId(); // ours: base .. base + 9
  const res = [];
  for (let k = 0; k < 8; k++) {
    const uid = base + k;
    res.push(await post('/api/order',
      { activity_id: s.aid, item_id: s.iid, quantity: 1, secret: secretOf(uid, s.aid, s.iid) },
      { token: jwt(uid), headers: xff(ip) }));
    // the per-address rate limit is not what this is about
    await new Promise((r) => setTimeout(r, 250));
  }
  const c = statusCounts(res);
  assert.equal(c[202], 2, JSON.stringify(c));
  assert.equal(c[403], 6, JSON.stringify(c));
  // and the secret says the same for a fresh user of another shard
  const sec = await get(`/api/detail/${s.aid}/${s.iid}/secret`, { token: jwt(base + 9), headers: xff(ip) });
  assert.equal(sec.status, 403, sec.text);
});
