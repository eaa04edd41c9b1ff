// Red-packet rain (API.md "Red-packet rain", docs/RAIN.md): the grab rush,
// one packet per user, the window, bans, the public reads, the wallet,
// hostile admin input, warmup.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  get, post, request, adminToken, jwt, newUserId, admin, burst, statusCounts, sqlValue, redisRaw, waitFor, sleep, runProgram,
} from '../lib/flash.mjs';
import { makeRain } from '../lib/rain.mjs';

const users = (n) => Array.from({ length: n }, () => { const uid = newUserId(); return { uid, token: jwt(uid) }; });
const grab = (rid, u) => post(`/api/rain/${rid}/grab`, {}, { token: u.token })
  .catch((e) => ({ status: 0, text: String(e) }));
const credited = (rid) => Number(sqlValue(`SELECT COALESCE(SUM(amount_cents),0) FROM wallet_entries WHERE rain_id=${rid}`));

test('rain-1.1 rush: 2,000 users at once on 100 packets: 100 × 200, 1,900 × 410, the pot exactly, wallets credited', async () => {
  const total = 12345;
  const rid = await makeRain({ packets: 100, total_cents: total });
  const us = users(2000);
  const res = await burst(us.length, (i) => grab(rid, us[i]));
  const c = statusCounts(res);
  assert.deepEqual(c, { 200: 100, 410: 1900 }, JSON.stringify(c));
  const won = res.map((r, i) => (r.status === 200 ? { ...r.json, uid: us[i].uid, token: us[i].token } : null)).filter(Boolean);
  assert.equal(new Set(won.map((w) => w.uid)).size, 100, 'distinct users');
  assert.ok(won.every((w) => typeof w.grab_id === 'string' && /^[1-9][0-9]*$/.test(w.grab_id)), 'grab_id a decimal string');
  assert.equal(new Set(won.map((w) => w.grab_id)).size, 100, 'distinct packets');
  assert.ok(won.every((w) => Number.isInteger(w.amount_cents) && w.amount_cents >= 1), 'every packet >= 1 cent');
  assert.equal(won.reduce((s, w) => s + w.amount_cents, 0), total, 'sum of granted = total_cents');
  for (const r of res.filter((x) => x.status === 410)) assert.equal(r.json.error, 'sold_out');
  // the handler credits them within seconds
  const t0 = Date.now();
  assert.ok(await waitFor(() => credited(rid) === total, 10000, 100), `credited ${credited(rid)} of ${total}`);
  const took = Date.now() - t0;
  assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM wallet_entries WHERE rain_id=${rid}`)), 100);
  await waitFor(() => redisRaw('HLEN', `fs:{r${rid}}:journal`) === '0', 5000);
  assert.equal(redisRaw('HLEN', `fs:{r${rid}}:journal`), '0', 'journal drained by the handler');
  // each winner's wallet shows the very grab
  for (const w of won.slice(0, 10)) {
    const wl = await get('/api/wallet', { token: w.token });
    assert.equal(wl.status, 200);
    assert.equal(wl.json.balance_cents, w.amount_cents);
    assert.deepEqual(wl.json.grabs.map((g) => [g.rain_id, g.grab_id, g.amount_cents]), [[rid, w.grab_id, w.amount_cents]]);
    assert.ok(Number.isInteger(wl.json.grabs[0].created_ms));
  }
  const s = await admin.get(`/api/admin/rains/${rid}/stats`);
  assert.equal(s.status, 200, s.text);
  assert.deepEqual([s.json.rain_id, s.json.packets, s.json.total_cents, s.json.grabbed, s.json.grabbed_cents, s.json.credited_cents],
    [rid, 100, total, 100, total, total]);
  const one = await get(`/api/rain/${rid}`);
  assert.equal(one.json.state, 'empty');
  assert.equal(one.json.packets_left, 0);
  // a winner asking again: 409 duplicate before emptiness
  const again = await grab(rid, won[0]);
  assert.equal(again.status, 409, again.text);
  assert.equal(again.json.error, 'duplicate');
  console.log(`# credited in ${took} ms`);
});

test('rain-1.2 one user, 20 grabs at once: one 200, the others 409 duplicate', async () => {
  const rid = await makeRain({ packets: 50, total_cents: 5000 });
  const [u] = users(1);
  const res = await burst(20, () => grab(rid, u));
  assert.deepEqual(statusCounts(res), { 200: 1, 409: 19 }, JSON.stringify(statusCounts(res)));
  const ok = res.find((r) => r.status === 200).json;
  for (const r of res.filter((x) => x.status === 409)) {
    assert.equal(r.json.error, 'duplicate');
    assert.equal(r.json.grab_id, ok.grab_id, 'the 409 names the packet the user holds');
  }
  assert.ok(await waitFor(() => Number(sqlValue(`SELECT COUNT(*) FROM wallet_entries WHERE rain_id=${rid}`)) === 1, 10000));
  assert.equal(Number(sqlValue(`SELECT amount_cents FROM wallet_entries WHERE rain_id=${rid} AND user_id=${u.uid}`)), ok.amount_cents);
});

test('rain-1.3 window: before the start 403 not_started, after the end 403 ended', async () => {
  const early = await makeRain({ startInMs: 60000 });
  const [u] = users(1);
  const r1 = await grab(early, u);
  assert.equal(r1.status, 403, r1.text);
  assert.equal(r1.json.error, 'not_started');
  const st = await get(`/api/rain/${early}`);
  assert.equal(st.json.state, 'upcoming');
  assert.ok(Math.abs(st.json.now_ms - Date.now()) < 5000);
  const late = await makeRain({ startInMs: -1000, durationMs: 2500 });
  await sleep(1800);
  const r2 = await grab(late, u);
  assert.equal(r2.status, 403, r2.text);
  assert.equal(r2.json.error, 'ended');
  assert.equal((await get(`/api/rain/${late}`)).json.state, 'ended');
  assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM wallet_entries WHERE rain_id IN (${early},${late})`)), 0);
});

test('rain-1.4 banned: 403 banned, also once the pot is empty', async () => {
  const rid = await makeRain({ packets: 1, total_cents: 1 });
  const [bad, u] = users(2);
  const b = await admin.post(`/api/admin/rains/${rid}/bans`, { user_id: bad.uid });
  assert.equal(b.status, 201, b.text);
  const r = await grab(rid, bad);
  assert.equal(r.status, 403, r.text);
  assert.equal(r.json.error, 'banned');
  assert.equal((await grab(rid, u)).status, 200);
  assert.equal((await grab(rid, bad)).json.error, 'banned');
  assert.equal((await grab(rid, u)).json.error, 'duplicate');
  assert.equal((await grab(rid, users(1)[0])).json.error, 'sold_out');
});

test('rain-1.9 the admin blocklist reaches grabs within a second: a blocked user and a blocked address get 403 banned; unblocked, served', async () => {
  const rid = await makeRain({ packets: 5, total_cents: 500 });
  const [bu, iu, ok] = users(3);
  const ip = '198.51.100.77';
  const fromIp = (u) => post(`/api/rain/${rid}/grab`, {}, { token: u.token, headers: { 'X-Forwarded-For': ip } });
  const del = (entry) => request('DELETE', `/api/admin/blocklist/${entry}`, { token: adminToken });
  assert.equal((await admin.post('/api/admin/blocklist', { user_id: String(bu.uid) })).status, 201);
  assert.equal((await admin.post('/api/admin/blocklist', { ip })).status, 201);
  try {
    await sleep(1200); // every process reads its copy again within a second
    const b = await grab(rid, bu);
    assert.equal(b.status, 403, b.text);
    assert.equal(b.json.error, 'banned');
    const i = await fromIp(iu);
    assert.equal(i.status, 403, i.text);
    assert.equal(i.json.error, 'banned');
    assert.equal((await grab(rid, ok)).status, 200, 'others are served');
  } finally {
    assert.equal((await del(bu.uid)).status, 204);
    assert.equal((await del(ip)).status, 204);
  }
  await sleep(1200);
  assert.equal((await grab(rid, bu)).status, 200, 'unblocked user served');
  assert.equal((await fromIp(iu)).status, 200, 'unblocked address served');
});

test('rain-1.5 public reads: list, one rain, drafts and unknown rains 404', async () => {
  const live = await makeRain({ packets: 3, total_cents: 300, name: 'public rain' });
  const draft = await makeRain({ publish: false });
  const list = await get('/api/rain');
  assert.equal(list.status, 200);
  assert.ok(Number.isInteger(list.json.now_ms));
  const mine = list.json.rains.find((x) => x.rain_id === live);
  assert.ok(mine, 'the published rain is listed');
  assert.equal(mine.state, 'live');
  assert.equal(mine.packets_left, 3);
  assert.ok(!list.json.rains.some((x) => x.rain_id === draft), 'no draft listed');
  const one = await get(`/api/rain/${live}`);
  assert.equal(one.status, 200);
  for (const k of ['now_ms', 'rain_id', 'name', 'start_ms', 'end_ms', 'state', 'packets_left']) assert.ok(k in one.json, k);
  assert.equal(one.json.name, 'public rain');
  for (const path of [`/api/rain/${draft}`, '/api/rain/999999999', `/api/admin/rains/999999999/stats`]) {
    const r = path.startsWith('/api/admin') ? await admin.get(path) : await get(path);
    assert.equal(r.status, 404, path);
    assert.equal(r.json.error, 'not_found');
  }
  const [u] = users(1);
  for (const rid of [draft, 999999999]) {
    const g = await grab(rid, u);
    assert.equal(g.status, 404, g.text);
    assert.equal(g.json.error, 'not_found');
  }
  const w = await get('/api/wallet', { token: u.token });
  assert.deepEqual(w.json, { balance_cents: 0, grabs: [] });
});

test('rain-1.6 no token, bad token: 401; wrong method 405', async () => {
  const rid = await makeRain({ packets: 2, total_cents: 2 });
  const cases = [
    await post(`/api/rain/${rid}/grab`, {}),
    await post(`/api/rain/${rid}/grab`, {}, { token: 'nope' }),
    await post(`/api/rain/${rid}/grab`, {}, { token: jwt(newUserId(), { secret: 'x'.repeat(40) }) }),
    await get('/api/wallet'),
  ];
  for (const r of cases) {
    assert.equal(r.status, 401, r.text);
    assert.equal(r.json.error, 'unauthorized');
  }
  const m = await get(`/api/rain/${rid}/grab`);
  assert.equal(m.status, 405);
  assert.equal((await get(`/api/rain/${rid}`)).json.packets_left, 2, 'nothing taken');
});

test('rain-1.7 hostile admin input: each a 400 JSON, nothing created', async () => {
  const count = () => Number(sqlValue('SELECT COUNT(*) FROM rains'));
  const before = count();
  const now = Date.now();
  const good = { name: 'r', total_cents: 100, packets: 10, start_ms: now, end_ms: now + 60000 };
  const bad = [
    { packets: 0 }, { packets: -1 }, { packets: 101 }, { packets: 100001, total_cents: 1000000 },
    { total_cents: 0 }, { total_cents: 1000000001 }, { total_cents: 1e30 }, { packets: 1e300 },
    { packets: '10' }, { packets: 1.5 }, { total_cents: null }, { name: 42 }, { name: '' },
    { start_ms: 'soon' }, { end_ms: now - 1000, start_ms: now - 5000 }, { end_ms: now }, { end_ms: now - 1 },
    { end_ms: now + 8 * 86400000 }, { start_ms: now + 400 * 86400000, end_ms: now + 401 * 86400000 },
    { packets: 9007199254740993 }, { total_cents: -9223372036854775808 },
  ];
  for (const b of bad) {
    const r = await admin.post('/api/admin/rains', { ...good, ...b });
    assert.equal(r.status, 400, `${JSON.stringify(b)} -> ${r.status} ${r.text}`);
    assert.equal(r.json.error, 'bad_request');
  }
  for (const raw of ['{', '[]', '"x"', '{"name":"r"}', '']) {
    const r = await request('POST', '/api/admin/rains', { token: adminToken, rawBody: raw, headers: { 'Content-Type': 'application/json' } });
    assert.equal(r.status, 400, `${raw} -> ${r.status}`);
    assert.equal(r.json.error, 'bad_request');
  }
  const u = await post('/api/admin/rains', good, { token: jwt(newUserId()) });
  assert.equal(u.status, 403, 'a user token is not an admin');
  assert.equal(count(), before, 'nothing created');
  const ok = await admin.post('/api/admin/rains', good);
  assert.equal(ok.status, 201);
  assert.deepEqual(Object.keys(ok.json).sort(), ['rain_id', 'status']);
  assert.equal(ok.json.status, 'draft');
  // publish cuts exactly; twice is a no-op; warmup of a draft is 409
  const d = await admin.post('/api/admin/rains', good);
  assert.equal((await admin.post(`/api/admin/rains/${d.json.rain_id}/warmup`, {})).status, 409);
  assert.equal((await admin.post(`/api/admin/rains/${ok.json.rain_id}/publish`, {})).status, 200);
  assert.equal((await admin.post(`/api/admin/rains/${ok.json.rain_id}/publish`, {})).status, 200);
  assert.deepEqual(sqlValue(`SELECT CONCAT(COUNT(*), ' ', SUM(amount_cents), ' ', MIN(amount_cents) >= 1) FROM rain_packets WHERE rain_id=${ok.json.rain_id}`), '10 100 1');
  assert.equal((await admin.post('/api/admin/rains/999999999/publish', {})).status, 404);
});

test('rain-1.8 cron warmup loads a rain an hour before its start, not earlier', async () => {
  const soon = await makeRain({ startInMs: 30 * 60000, warm: false });
  const later = await makeRain({ startInMs: 3 * 3600000, warm: false });
  assert.equal(redisRaw('EXISTS', `fs:{r${soon}}:meta`), '0');
  runProgram('warmup');
  assert.equal(redisRaw('EXISTS', `fs:{r${soon}}:meta`), '1', 'due rain warmed');
  assert.equal(redisRaw('LLEN', `fs:{r${soon}}:packets`), '100');
  assert.equal(redisRaw('EXISTS', `fs:{r${later}}:meta`), '0', 'a rain 3 h away is not');
  // a second warmup (cron or admin) loads nothing twice
  runProgram('warmup');
  assert.equal((await admin.post(`/api/admin/rains/${soon}/warmup`, {})).status, 200);
  assert.equal(redisRaw('LLEN', `fs:{r${soon}}:packets`), '100');
});
