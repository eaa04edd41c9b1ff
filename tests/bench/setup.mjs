// setup.mjs: the sales of `make bench`, made through the admin API of the
// stack in FLASH_CONF (tests/lib/flash.mjs). Prints shell assignments:
//   BIG_AID/BIG_IID   live, stock BIG_STOCK: the accepting path all run long
//   SOLD_AID/SOLD_IID live, stock 1, bought once: the sold-out refusal path
//   HND_AID/HND_IID   live, stock HND_STOCK: the order handler measurement
//   SHD_AID/SHD_IID   live, stock BIG_STOCK over BENCH_SHARDS shards (only
//                     when BENCH_SHARDS > 1; docs/SHARDS.md)
//   SOLD_BUY          status of the one purchase (202 expected)
//   SOLD_NEXT         status of a second user's try (410 expected)
//   RULES_AID/RULES_IID, RSOLD_AID/RSOLD_IID  the same as BIG and SOLD on
//                     activities with sale rules on, and a blocklist of
//                     BLOCKED users and as many addresses (none of the bench's)
// Users 1..9 are used here; gen_users takes its own ranges.
import { makeSale, jwt, post, conf, adminToken } from '../lib/flash.mjs';
import { createHmac } from 'node:crypto';

const big = Number(process.env.BIG_STOCK || 10000000);
const hnd = Number(process.env.HND_STOCK || 1000000);

const secret = (uid, aid, iid) => createHmac('sha256', conf.order_secret)
  .update(`order-secret|${uid}|${aid}|${iid}`).digest('hex').slice(0, 32);

async function buy(uid, aid, iid) {
  const r = await post('/api/order',
    { activity_id: aid, item_id: iid, quantity: 1, secret: secret(uid, aid, iid) },
    { token: jwt(uid) });
  return r.status;
}

const now = Date.now();
const s1 = await makeSale({ name: 'bench big', stock: big, start_ms: now - 2000, durationMs: 7200000 });
const s2 = await makeSale({ name: 'bench sold out', stock: 1, start_ms: now - 2000, durationMs: 7200000 });
const s3 = await makeSale({ name: 'bench handler', stock: hnd, start_ms: now - 2000, durationMs: 7200000 });
const shards = Number(process.env.BENCH_SHARDS || 0);
const sShd = shards > 1
  ? await makeSale({ name: 'bench sharded', stock: big, shards, start_ms: now - 2000, durationMs: 7200000 })
  : null;
const first = await buy(1, s2.aid, s2.iid);
const next = await buy(2, s2.aid, s2.iid);
// the sale rules (docs/GUARD-RULES.md): every rule on, none refusing a bench user
const rules = { min_account_age_s: 60, max_orders_per_ip: 1000000 };
const s4 = await makeSale({ name: 'bench rules', stock: big, start_ms: now - 2000, durationMs: 7200000, rules });
const s5 = await makeSale({ name: 'bench rules sold out', stock: 1, start_ms: now - 2000, durationMs: 7200000, rules });
await buy(3, s5.aid, s5.iid);
const nblocked = Number(process.env.BENCH_BLOCKED || 500);
for (let k = 0; k < nblocked; k += 25) {
  await Promise.all(Array.from({ length: Math.min(25, nblocked - k) }, (_, j) => Promise.all([
    post('/api/admin/blocklist', { user_id: 100 + k + j }, { token: adminToken }),
    post('/api/admin/blocklist', { ip: `100.64.${(k + j) >> 8}.${(k + j) & 255}` }, { token: adminToken }),
  ])));
}
console.log([
  `BIG_AID=${s1.aid}`, `BIG_IID=${s1.iid}`,
  `SOLD_AID=${s2.aid}`, `SOLD_IID=${s2.iid}`,
  `HND_AID=${s3.aid}`, `HND_IID=${s3.iid}`,
  `SOLD_BUY=${first}`, `SOLD_NEXT=${next}`,
  `RULES_AID=${s4.aid}`, `RULES_IID=${s4.iid}`, `RSOLD_AID=${s5.aid}`, `RSOLD_IID=${s5.iid}`,
  `BLOCKED=${nblocked}`,
  ...(sShd ? [`SHD_AID=${sShd.aid}`, `SHD_IID=${sShd.iid}`] : []),
].join('\n'));
