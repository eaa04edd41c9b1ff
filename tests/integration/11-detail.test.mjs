// The public read path: GET /api/detail, /api/detail/{aid}, /api/detail/{aid}/{iid}
// and the order secret. now_ms in every answer, the four states, drafts
// invisible, cache aside to MySQL, remaining following Redis within a second.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import {
  admin, adminToken, conf, get, post, request, jwt, newUserId, makeSale, redis, redisRaw, sql, sqlValue, sleep, waitFor,
} from '../lib/flash.mjs';

const HOUR = 3600000;
// the detail programs keep an answer up to a second: wait that out
const CACHE_MS = 1100;
const uniq = () => `${Date.now()}-${randomBytes(3).toString('hex')}`;

function isError(r, status, code) {
  assert.equal(r.status, status, `want ${status} ${code}, got ${r.status} ${r.text}`);
  assert.match(r.headers['content-type'] || '', /^application\/json/, 'errors are JSON');
  assert.equal(r.json?.error, code, r.text);
  assert.equal(typeof r.json.message, 'string');
}

function nowOk(r, before) {
  assert.ok(Number.isInteger(r.json.now_ms), 'now_ms is an integer');
  assert.ok(r.json.now_ms >= before - 1000 && r.json.now_ms <= Date.now() + 1000, 'now_ms is the server clock');
}

const expectedSecret = (uid, aid, iid) =>
  createHmac('sha256', conf.order_secret).update(`order-secret|${uid}|${aid}|${iid}`).digest('hex').slice(0, 32);

// a real 1x1 PNG through the admin upload, so pages that list this sale
// (the page tests share the stack) find its picture
async function uploadedImage() {
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');
  const r = await request('POST', '/api/admin/images', { rawBody: png, token: adminToken, headers: { 'Content-Type': 'image/png' } });
  assert.equal(r.status, 201, r.text);
  return r.json.url;
}

test('detail-1.1 GET /api/detail/{aid}/{iid} of a live sale: every field of API.md', async () => {
  const name = `Kettle ${uniq()}`;
  const img = await uploadedImage();
  const { aid, iid, start_ms, end_ms } = await makeSale({
    name, title: 'Steel kettle, 1.7 l', description: 'Boils "fast" & <quietly>', price_cents: 4999,
    flash_price_cents: 1999, stock: 8, per_user_limit: 2, images: [img],
  });
  const before = Date.now();
  const r = await get(`/api/detail/${aid}/${iid}`);
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers['content-type'], /^application\/json/);
  nowOk(r, before);
  const { now_ms, ...rest } = r.json;
  assert.deepEqual(rest, {
    activity_id: aid, item_id: iid, name, title: 'Steel kettle, 1.7 l', description: 'Boils "fast" & <quietly>',
    images: [img], price_cents: 4999, flash_price_cents: 1999, per_user_limit: 2,
    start_ms, end_ms, state: 'live', remaining: 8,
  });
  assert.ok(now_ms > 0);
});

test('detail-1.2 an upcoming sale is 200 upcoming, with the start for the countdown', async () => {
  const start_ms = Date.now() + HOUR;
  const { aid, iid } = await makeSale({ start_ms });
  const r = await get(`/api/detail/${aid}/${iid}`);
  assert.equal(r.status, 200);
  assert.equal(r.json.state, 'upcoming');
  assert.equal(r.json.start_ms, start_ms);
  assert.ok(r.json.start_ms - r.json.now_ms > HOUR - 60000);
});

test('detail-1.3 an ended sale still answers 200 ended; also when MySQL marks it ended', async () => {
  const { aid, iid } = await makeSale({ start_ms: Date.now() - 1000, end_ms: Date.now() + 1500 });
  assert.equal((await get(`/api/detail/${aid}/${iid}`)).json.state, 'live');
  await sleep(1600);
  const r = await get(`/api/detail/${aid}/${iid}`);
  assert.equal(r.status, 200);
  assert.equal(r.json.state, 'ended');
  const b = await makeSale({});
  await admin.post(`/api/admin/activities/${b.aid}/warmup`, {});
  // an ended activity without a warm cache: status from MySQL
  redis('DEL', `fs:{${b.aid}:${b.iid}}:meta`);
  sql(`UPDATE activities SET status='ended' WHERE id=${b.aid}`);
  await sleep(CACHE_MS);
  const e = await get(`/api/detail/${b.aid}/${b.iid}`);
  assert.equal(e.status, 200);
  assert.equal(e.json.state, 'ended');
});

test('detail-1.4 sold out: the Redis counter at 0 shows sold_out within a second', async () => {
  const { aid, iid } = await makeSale({ stock: 3 });
  assert.equal((await get(`/api/detail/${aid}/${iid}`)).json.remaining, 3);
  redis('SET', `fs:{${aid}:${iid}}:stock`, 0, 'KEEPTTL');
  await sleep(CACHE_MS);
  const r = await get(`/api/detail/${aid}/${iid}`);
  assert.equal(r.json.state, 'sold_out');
  assert.equal(r.json.remaining, 0);
  redis('SET', `fs:{${aid}:${iid}}:stock`, 3, 'KEEPTTL');
});

test('detail-1.5 remaining follows the Redis counter within a second', async () => {
  const { aid, iid } = await makeSale({ stock: 10 });
  assert.equal((await get(`/api/detail/${aid}/${iid}`)).json.remaining, 10);
  redis('DECRBY', `fs:{${aid}:${iid}}:stock`, 4);
  const seen = await waitFor(async () => (await get(`/api/detail/${aid}/${iid}`)).json.remaining === 6, 3000, 100);
  assert.ok(seen, 'remaining 6 within the cache life');
  redis('SET', `fs:{${aid}:${iid}}:stock`, 10, 'KEEPTTL');
});

test('detail-2.1 drafts are invisible: 404 on every route, absent from the list', async () => {
  const { aid, iid } = await makeSale({ publish: false, name: `draft ${uniq()}` });
  const token = jwt(newUserId());
  isError(await get(`/api/detail/${aid}/${iid}`), 404, 'not_found');
  isError(await get(`/api/detail/${aid}`), 404, 'not_found');
  isError(await get(`/api/detail/${aid}/${iid}/secret`, { token }), 404, 'not_found');
  const list = await get('/api/detail');
  assert.ok(!list.json.activities.some((a) => a.activity_id === aid));
  // nothing of a draft is cached in Redis by a read
  assert.equal(redisRaw('EXISTS', `fs:{${aid}:${iid}}:meta`), '0');
  // published, it shows up (an unknown id is remembered only briefly)
  assert.equal((await admin.post(`/api/admin/activities/${aid}/publish`, {})).status, 200);
  const ok = await waitFor(async () => (await get(`/api/detail/${aid}/${iid}`)).status === 200, 2000, 100);
  assert.ok(ok, 'visible after publish');
});

test('detail-2.2 unknown ids are 404, malformed ids 400 or 404, other paths 404, other methods 405', async () => {
  const { aid, iid } = await makeSale({});
  isError(await get(`/api/detail/${aid}/999999999`), 404, 'not_found');
  isError(await get(`/api/detail/999999999/${iid}`), 404, 'not_found');
  isError(await get('/api/detail/999999999'), 404, 'not_found');
  isError(await get(`/api/detail/${aid}/0`), 400, 'bad_request');
  isError(await get('/api/detail/-3'), 400, 'bad_request');
  isError(await get(`/api/detail/${aid}/${iid}x`), 400, 'bad_request');
  isError(await get('/api/detail/99999999999999999999'), 400, 'bad_request');
  isError(await get(`/api/detail/${aid}/${iid}/nope`), 404, 'not_found');
  isError(await get(`/api/detail/${aid}/${iid}/secret/x`), 404, 'not_found');
  isError(await get('/api/details'), 404, 'not_found');
  isError(await post(`/api/detail/${aid}/${iid}`, {}), 405, 'method_not_allowed');
  isError(await request('DELETE', '/api/detail'), 405, 'method_not_allowed');
  // POST .../secret answers a challenge (26-challenge); other methods stay 405
  isError(await request('PUT', `/api/detail/${aid}/${iid}/secret`, { body: {}, token: jwt(newUserId()) }), 405, 'method_not_allowed');
});

test('detail-3.1 GET /api/detail/{aid}: the activity, its state and its items', async () => {
  const { aid, iid, start_ms, end_ms } = await makeSale({ activityName: `Act ${uniq()}`, stock: 5 });
  const before = Date.now();
  const r = await get(`/api/detail/${aid}`);
  assert.equal(r.status, 200, r.text);
  nowOk(r, before);
  const a = r.json.activity;
  assert.equal(a.activity_id, aid);
  assert.match(a.name, /^Act /);
  assert.equal(a.description, 'test sale');
  assert.equal(a.start_ms, start_ms);
  assert.equal(a.end_ms, end_ms);
  assert.equal(a.state, 'live');
  assert.equal(a.items.length, 1);
  assert.equal(a.items[0].item_id, iid);
  assert.equal(a.items[0].state, 'live');
  assert.equal(a.items[0].remaining, 5);
  assert.equal(a.items[0].flash_price_cents, 999);
  const up = await makeSale({ start_ms: Date.now() + HOUR });
  assert.equal((await get(`/api/detail/${up.aid}`)).json.activity.state, 'upcoming');
});

test('detail-3.2 GET /api/detail lists published activities not ended, with items; not ended or drafts', async () => {
  const live = await makeSale({});
  const soon = await makeSale({ start_ms: Date.now() + HOUR });
  const draft = await makeSale({ publish: false });
  const short = await makeSale({ start_ms: Date.now() - 1000, end_ms: Date.now() + 1200 });
  await sleep(1300);
  const before = Date.now();
  const r = await get('/api/detail');
  assert.equal(r.status, 200, r.text);
  nowOk(r, before);
  const ids = r.json.activities.map((a) => a.activity_id);
  assert.ok(ids.includes(live.aid), 'live listed');
  assert.ok(ids.includes(soon.aid), 'upcoming listed');
  assert.ok(!ids.includes(draft.aid), 'draft not listed');
  assert.ok(!ids.includes(short.aid), 'ended not listed');
  const a = r.json.activities.find((x) => x.activity_id === live.aid);
  assert.equal(a.items[0].item_id, live.iid);
  assert.equal(a.state, 'live');
  for (const x of r.json.activities) assert.ok(x.end_ms > r.json.now_ms);
});

test('detail-4.1 cache aside: the meta hash deleted from Redis comes back on the next read', async () => {
  const { aid, iid } = await makeSale({ stock: 6, name: `aside ${uniq()}` });
  const first = await get(`/api/detail/${aid}/${iid}`);
  const meta = `fs:{${aid}:${iid}}:meta`;
  const ttlBefore = Number(redisRaw('PEXPIRETIME', meta));
  redis('DEL', meta);
  assert.equal(redisRaw('EXISTS', meta), '0');
  await sleep(CACHE_MS);
  const r = await get(`/api/detail/${aid}/${iid}`);
  assert.equal(r.status, 200, r.text);
  const { now_ms: a, ...x } = first.json;
  const { now_ms: b, ...y } = r.json;
  assert.deepEqual(y, x, 'same answer from MySQL');
  assert.ok(b >= a);
  assert.equal(redisRaw('EXISTS', meta), '1', 'written back');
  assert.equal(Number(redisRaw('PEXPIRETIME', meta)), ttlBefore, 'with the same TTL');
  assert.equal(redisRaw('HGET', meta, 'alloc'), '6');
  assert.equal(redisRaw('GET', `fs:{${aid}:${iid}}:stock`), '6', 'the counter is untouched');
});

test('detail-4.2 cache aside never creates the stock counter; remaining then comes from MySQL', async () => {
  const { aid, iid } = await makeSale({ stock: 4, warm: false });
  const r = await get(`/api/detail/${aid}/${iid}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.remaining, 4);
  assert.equal(r.json.state, 'live');
  assert.equal(redisRaw('EXISTS', `fs:{${aid}:${iid}}:meta`), '1');
  assert.equal(redisRaw('EXISTS', `fs:{${aid}:${iid}}:stock`), '0');
  // the stock MySQL still has is what shows
  sql(`UPDATE activity_items SET stock = 1 WHERE activity_id=${aid} AND item_id=${iid}`);
  await sleep(CACHE_MS);
  assert.equal((await get(`/api/detail/${aid}/${iid}`)).json.remaining, 1);
  sql(`UPDATE activity_items SET stock = 4 WHERE activity_id=${aid} AND item_id=${iid}`);
});

test('detail-5.1 secret: 200 while live, bound to user, activity and item', async () => {
  const { aid, iid } = await makeSale({});
  const u1 = newUserId(), u2 = newUserId();
  const a = await get(`/api/detail/${aid}/${iid}/secret`, { token: jwt(u1) });
  assert.equal(a.status, 200, a.text);
  assert.deepEqual(Object.keys(a.json), ['secret']);
  assert.equal(a.json.secret, expectedSecret(u1, aid, iid));
  const b = await get(`/api/detail/${aid}/${iid}/secret`, { token: jwt(u2) });
  assert.notEqual(b.json.secret, a.json.secret);
  assert.equal(b.json.secret, expectedSecret(u2, aid, iid));
});

test('detail-5.2 secret: 401 without a valid token, before anything else', async () => {
  const { aid, iid } = await makeSale({});
  const uid = newUserId();
  const p = `/api/detail/${aid}/${iid}/secret`;
  isError(await get(p), 401, 'unauthorized');
  isError(await get(p, { token: jwt(uid, { secret: 'forged' }) }), 401, 'unauthorized');
  isError(await get(p, { token: jwt(uid, { exp: Math.floor(Date.now() / 1000) - 10 }) }), 401, 'unauthorized');
  isError(await get(p, { token: jwt(uid, { header: { alg: 'none', typ: 'JWT' } }) }), 401, 'unauthorized');
  isError(await get(p, { token: jwt('abc') }), 401, 'unauthorized');
  isError(await get(p, { token: conf.admin_token }), 401, 'unauthorized');
  isError(await get('/api/detail/999999999/1/secret'), 401, 'unauthorized');
});

test('detail-5.3 secret: 403 not_started before the start, 403 ended after the end, 404 unknown', async () => {
  const token = jwt(newUserId());
  const up = await makeSale({ start_ms: Date.now() + HOUR });
  isError(await get(`/api/detail/${up.aid}/${up.iid}/secret`, { token }), 403, 'not_started');
  const short = await makeSale({ start_ms: Date.now() - 1000, end_ms: Date.now() + 1200 });
  assert.equal((await get(`/api/detail/${short.aid}/${short.iid}/secret`, { token })).status, 200);
  await sleep(1300);
  isError(await get(`/api/detail/${short.aid}/${short.iid}/secret`, { token }), 403, 'ended');
  isError(await get(`/api/detail/${up.aid}/999999999/secret`, { token }), 404, 'not_found');
  isError(await get(`/api/detail/0/${up.iid}/secret`, { token }), 400, 'bad_request');
});

test('detail-5.4 a sold-out live sale still hands out secrets (the order says sold_out)', async () => {
  const { aid, iid } = await makeSale({ stock: 1 });
  redis('SET', `fs:{${aid}:${iid}}:stock`, 0, 'KEEPTTL');
  await sleep(CACHE_MS);
  const r = await get(`/api/detail/${aid}/${iid}/secret`, { token: jwt(newUserId()) });
  assert.equal(r.status, 200);
  redis('SET', `fs:{${aid}:${iid}}:stock`, 1, 'KEEPTTL');
});

test('detail-6.1 many reads at once agree and never fail', async () => {
  const { aid, iid } = await makeSale({ stock: 7 });
  const rs = await Promise.all(Array.from({ length: 300 }, () => get(`/api/detail/${aid}/${iid}`)));
  for (const r of rs) {
    assert.equal(r.status, 200);
    assert.equal(r.json.remaining, 7);
  }
  assert.equal(sqlValue(`SELECT stock FROM activity_items WHERE activity_id=${aid}`), '7');
});
