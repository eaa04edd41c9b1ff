// Red-packet rain under faults: the order handler killed mid-rain or down
// for the whole rain, Redis SIGKILLed mid-rain. Every packet granted (200)
// ends credited to its user's wallet exactly once, none twice, none lost,
// and the pot adds up to total_cents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  post, jwt, newUserId, admin, burst, statusCounts, sql, sqlValue, redisRaw, waitFor, sleep, flashctl, conf,
  runProgram, state,
} from '../lib/flash.mjs';
import { makeRain } from '../lib/rain.mjs';

const users = (n) => Array.from({ length: n }, () => { const uid = newUserId(); return { uid, token: jwt(uid) }; });
const grab = (rid, u) => post(`/api/rain/${rid}/grab`, {}, { token: u.token })
  .catch((e) => ({ status: 0, text: String(e) }));
const credited = (rid) => sql(`SELECT COUNT(*), COALESCE(SUM(amount_cents),0) FROM wallet_entries WHERE rain_id=${rid}`)[0].map(Number);
function reconcile() {
  try { return runProgram('reconcile'); } catch (e) { return String(e.stdout || e); }
}

// every grant in wallet_entries with its user and amount, exactly once
function assertCredited(rid, grants) {
  const rows = sql(`SELECT grab_id, user_id, amount_cents FROM wallet_entries WHERE rain_id=${rid}`);
  const byId = new Map(rows.map((r) => [r[0], r]));
  assert.equal(byId.size, rows.length);
  assert.equal(new Set(rows.map((r) => r[1])).size, rows.length, 'one packet a user');
  for (const g of grants) {
    const row = byId.get(g.grab_id);
    assert.ok(row, `grab ${g.grab_id} credited`);
    assert.deepEqual([row[1], Number(row[2])], [String(g.uid), g.amount_cents], `grab ${g.grab_id}`);
  }
}

const grantsOf = (res, us) => res.map((r, i) => (r.status === 200 ? { grab_id: r.json.grab_id, amount_cents: r.json.amount_cents, uid: us[i].uid } : null)).filter(Boolean);

test('rain-2.1 kill -9 of the handler mid-rain: every granted packet credited after restart + reconcile', async () => {
  const total = 50000;
  const rid = await makeRain({ packets: 400, total_cents: total });
  const us = users(600);
  const pending = burst(us.length, (i) => grab(rid, us[i]));
  await sleep(30);
  flashctl('handler-kill');
  const res = await pending;
  const grants = grantsOf(res, us);
  assert.deepEqual(statusCounts(res), { 200: 400, 410: 200 }, JSON.stringify(statusCounts(res)));
  assert.equal(grants.reduce((s, g) => s + g.amount_cents, 0), total);
  flashctl('handler-start');
  await sleep(1200); // older than reconcile_age_ms in the test config
  reconcile();
  assert.ok(await waitFor(() => credited(rid)[1] === total, 15000, 200), `credited ${credited(rid)}`);
  assertCredited(rid, grants);
  assert.deepEqual(credited(rid), [400, total]);
  await waitFor(() => redisRaw('HLEN', `fs:{r${rid}}:journal`) === '0', 5000);
  assert.equal(redisRaw('HLEN', `fs:{r${rid}}:journal`), '0');
});

test('rain-2.2 handler down for the whole rain: reconcile alone credits every grant, the handler later adds nothing twice', async () => {
  const total = 3000;
  const rid = await makeRain({ packets: 30, total_cents: total });
  const us = users(60);
  flashctl('handler-stop');
  let grants;
  try {
    const res = await burst(us.length, (i) => grab(rid, us[i]));
    grants = grantsOf(res, us);
    assert.equal(grants.length, 30, JSON.stringify(statusCounts(res)));
    await sleep(1200);
    assert.deepEqual(credited(rid), [0, 0], 'nothing credited while the handler is down');
    const out = reconcile();
    assert.match(out, /grabs replayed [1-9]/, out);
    assert.deepEqual(credited(rid), [30, total], 'reconcile credited every grant');
    assertCredited(rid, grants);
    assert.equal(redisRaw('HLEN', `fs:{r${rid}}:journal`), '0');
  } finally {
    flashctl('handler-start');
  }
  await sleep(1000); // the queued grab lines reach the handler now: no-ops
  assert.deepEqual(credited(rid), [30, total]);
});

test('rain-2.3 Redis SIGKILL mid-rain: nothing granted twice, nothing granted lost, the pot adds up', async () => {
  const total = 100000;
  const rid = await makeRain({ packets: 300, total_cents: total });
  const us = users(1000);
  const redisPid = Number(readFileSync(`${state}/redis.pid`, 'utf8'));
  let taken = 0, killed = false;
  const res = await Promise.all(us.map((u) => grab(rid, u).then((r) => {
    if (r.status === 200 && ++taken >= 30 && !killed) { killed = true; process.kill(redisPid, 'SIGKILL'); }
    return r;
  })));
  try {
    assert.ok(killed, 'Redis was killed mid-rain');
    flashctl('redis-kill');
  } finally {
    flashctl('start');
  }
  assert.ok(await waitFor(() => { try { return redisRaw('PING') === 'PONG'; } catch { return false; } }, 15000, 50));
  // the programs' circuit breakers, opened by the outage, half-open after breaker_ms
  await sleep(Number(conf.breaker_ms || 1000) + 100);
  const c1 = statusCounts(res);
  assert.ok((c1[503] || 0) + (c1[0] || 0) > 0, `the kill hit mid-rain: ${JSON.stringify(c1)}`);
  const grants = grantsOf(res, us);
  // the ones refused 503 try again; a packet granted but unanswered shows
  // up as their 409 with the grab; then fresh users empty the pot
  const retry = us.filter((u, i) => res[i].status !== 200 && res[i].status !== 410);
  const r2 = await burst(retry.length, (i) => grab(rid, retry[i]));
  const fresh = users(400);
  const r3 = await burst(fresh.length, (i) => grab(rid, fresh[i]));
  const all = [...grants, ...grantsOf(r2, retry), ...grantsOf(r3, fresh)];
  r2.forEach((r, i) => { if (r.status === 409) all.push({ grab_id: r.json.grab_id, amount_cents: r.json.amount_cents, uid: retry[i].uid }); });
  assert.equal(statusCounts(r3)[503] || 0, 0, JSON.stringify(statusCounts(r3)));
  assert.equal(new Set(all.map((g) => g.grab_id)).size, all.length, 'no packet granted twice');
  assert.equal(all.length, 300, `every packet granted once: ${JSON.stringify([c1, statusCounts(r2), statusCounts(r3)])}`);
  assert.equal(all.reduce((s, g) => s + g.amount_cents, 0), total, 'the grants add up to the pot');
  // a winner of the first wave cannot take a second packet
  const again = await grab(rid, us[res.findIndex((r) => r.status === 200)]);
  assert.equal(again.status, 409, again.text);
  await sleep(1200);
  reconcile();
  assert.ok(await waitFor(() => credited(rid)[1] === total, 15000, 200), `credited ${credited(rid)}`);
  assertCredited(rid, all);
  assert.deepEqual(credited(rid), [300, total]);
  const s = await admin.get(`/api/admin/rains/${rid}/stats`);
  assert.deepEqual([s.json.grabbed, s.json.grabbed_cents, s.json.credited_cents], [300, total, total]);
});
