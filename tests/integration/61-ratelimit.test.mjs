// 61-ratelimit: the per-address limit on /api/ (through a trusted proxy with
// X-Forwarded-For, and not at all without it), the strict limit on login and
// register, and the per-user limit on the order secret (API.md "Rate limits").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conf, get, post, jwt, newUserId, makeSale, burst, statusCounts, sleep } from '../lib/flash.mjs';

const ipLimit = Number(conf.rate_ip_per_sec || 200);
const authLimit = Number(conf.rate_auth_per_ip_per_min || 30);
const userLimit = Number(conf.rate_order_per_user || 5);
const tag = Date.now() % 200;

// Waits for the start of a fresh second so a burst falls in one window.
async function windowStart() {
  await sleep(1000 - (Date.now() % 1000) + 20);
}

test('rl-1.1 per address via X-Forwarded-For: over the limit is 429 + Retry-After', async () => {
  const ip = `198.51.100.${tag}`;
  await windowStart();
  const n = ipLimit + 60;
  const res = await burst(n, () => get('/api/_trivial', { headers: { 'X-Forwarded-For': ip } }));
  const c = statusCounts(res);
  assert.ok(c[429] > 0, `some refused: ${JSON.stringify(c)}`);
  assert.ok((c[200] || 0) <= 2 * ipLimit, `at most two windows pass: ${JSON.stringify(c)}`);
  assert.equal((c[200] || 0) + c[429], n, JSON.stringify(c));
  const r = res.find((x) => x.status === 429);
  assert.equal(r.json.error, 'rate_limited');
  assert.match(r.headers['content-type'], /^application\/json/);
  const ra = Number(r.headers['retry-after']);
  assert.ok(Number.isInteger(ra) && ra >= 1 && ra <= 2, `Retry-After ${r.headers['retry-after']}`);

  // another address is not affected, nor the proxy itself
  const other = await get('/api/_trivial', { headers: { 'X-Forwarded-For': `203.0.113.${tag}` } });
  assert.equal(other.status, 200);
  const direct = await get('/api/_trivial');
  assert.equal(direct.status, 200);

  // left-most entries are the client's to write: they do not open a new bucket
  const spoof = await get('/api/_trivial', { headers: { 'X-Forwarded-For': `6.6.6.6, ${ip}` } });
  assert.equal(spoof.status, 429);
  // the window ends: the address may come back
  await sleep(1100);
  assert.equal((await get('/api/_trivial', { headers: { 'X-Forwarded-For': ip } })).status, 200);
});

test('rl-1.2 from a trusted proxy without X-Forwarded-For: not limited per address', async () => {
  await windowStart();
  const n = ipLimit + 100;
  const res = await burst(n, () => get('/api/_trivial'));
  const c = statusCounts(res);
  assert.deepEqual(c, { 200: n });
});

test('rl-1.3 every program is behind the limit (health, user, order-status)', async () => {
  const ip = `198.51.101.${tag}`;
  await windowStart();
  // spend the window on a cheap route, then try others from the same address
  await burst(ipLimit + 5, () => get('/api/_trivial', { headers: { 'X-Forwarded-For': ip } }));
  const h = { 'X-Forwarded-For': ip };
  for (const [m, p] of [['GET', '/api/health'], ['GET', '/api/order-status'], ['POST', '/api/user/refresh'],
    ['GET', '/api/nope']]) {
    const r = m === 'GET' ? await get(p, { headers: h }) : await post(p, {}, { headers: h });
    assert.equal(r.status, 429, `${m} ${p}: ${r.text}`);
    assert.ok(Number(r.headers['retry-after']) >= 1);
  }
});

test('rl-2.1 login and register: strict per-address limit per minute', async () => {
  const ip = `198.51.102.${tag}`;
  const h = { 'X-Forwarded-For': ip };
  // unknown users with a malformed password field: cheap 400s that still count
  const res = [];
  for (let i = 0; i < authLimit + 3; i++)
    res.push(await post('/api/user/login', { username: 'nobody_here', password: 1 }, { headers: h }));
  const c = statusCounts(res);
  assert.equal(c[400], authLimit, JSON.stringify(c));
  assert.equal(c[429], 3, JSON.stringify(c));
  const r = res[res.length - 1];
  const ra = Number(r.headers['retry-after']);
  assert.ok(ra >= 1 && ra <= 60, `Retry-After ${ra}`);
  const reg = await post('/api/user/register', { username: 'x', password: 1 }, { headers: h });
  assert.equal(reg.status, 429, 'register shares the auth limit');
  // refresh is not an auth attempt in this sense
  assert.equal((await post('/api/user/refresh', {}, { headers: h })).status, 400);
});

test('rl-3.1 per user on the order secret', async () => {
  const sale = await makeSale({ stock: 5 });
  const uid = newUserId();
  const token = jwt(uid);
  await windowStart();
  const n = userLimit + 5;
  const res = await burst(n, () => get(`/api/detail/${sale.aid}/${sale.iid}/secret`, { token }));
  const c = statusCounts(res);
  assert.ok(c[429] > 0, JSON.stringify(c));
  assert.ok((c[200] || 0) >= 1 && (c[200] || 0) <= 2 * userLimit, JSON.stringify(c));
  const r = res.find((x) => x.status === 429);
  assert.equal(r.json.error, 'rate_limited');
  assert.ok(Number(r.headers['retry-after']) >= 1);
  // another user is not limited by it
  const other = await get(`/api/detail/${sale.aid}/${sale.iid}/secret`, { token: jwt(newUserId()) });
  assert.equal(other.status, 200, other.text);
  // a bad token is a 401, whatever the count
  const bad = await get(`/api/detail/${sale.aid}/${sale.iid}/secret`, { token: 'x.y.z' });
  assert.equal(bad.status, 401);
});
