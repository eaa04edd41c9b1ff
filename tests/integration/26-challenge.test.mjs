// 26-challenge: the challenge before the order secret (API.md "Guard rails",
// "Challenge"). An activity asks for none (the secret as before), a pow
// (SHA-256 of prefix + answer starting with pow_bits zero bits, solved here
// with node's crypto) or a quiz (an arithmetic PNG; the test reads the
// expected answer from Redis). Single use, bound to user and item, 60 s,
// bad_answer for anything else; hostile bodies are 400 and change nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import {
  admin, conf, get, post, request, jwt, newUserId, makeSale, redis, redisRaw, sql, sleep,
} from '../lib/flash.mjs';

function isError(r, status, code) {
  assert.equal(r.status, status, `want ${status} ${code}, got ${r.status} ${r.text}`);
  assert.match(r.headers['content-type'] || '', /^application\/json/, 'errors are JSON');
  assert.equal(r.json?.error, code, r.text);
}

const expectedSecret = (uid, aid, iid) =>
  createHmac('sha256', conf.order_secret).update(`order-secret|${uid}|${aid}|${iid}`).digest('hex').slice(0, 32);

// leading zero bits of a digest
function zeroBits(d) {
  let n = 0;
  for (const b of d) {
    if (b === 0) { n += 8; continue; }
    n += Math.clz32(b) - 24;
    break;
  }
  return n;
}

// The first decimal counter whose SHA-256(prefix + answer) has bits zero bits.
function solvePow(prefix, bits) {
  for (let n = 0; n < 1 << 26; n++) {
    const a = String(n);
    if (zeroBits(createHash('sha256').update(prefix + a).digest()) >= bits) return a;
  }
  throw new Error('no answer in 2^26 tries');
}

// An answer that does NOT solve it (so a "wrong answer" is really wrong).
function wrongPow(prefix, bits) {
  for (let n = 0; ; n++) {
    const a = `x${n}`;
    if (zeroBits(createHash('sha256').update(prefix + a).digest()) < bits) return a;
  }
}

const secretPath = (s) => `/api/detail/${s.aid}/${s.iid}/secret`;
const user = () => { const uid = newUserId(); return { uid, token: jwt(uid) }; };
const challengeKey = (uid, s) => `fs:ch:{${uid}}:${s.aid}:${s.iid}`;

async function challenge(s, u) {
  const r = await get(secretPath(s), { token: u.token });
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json.challenge, `a challenge instead of a secret: ${r.text}`);
  assert.equal(r.json.secret, undefined, 'no secret before the answer');
  return r.json.challenge;
}

const answer = (s, u, body) => post(secretPath(s), body, { token: u.token });

const powSale = (bits, o = {}) => makeSale({ stock: 20, ...o, activity: { challenge: 'pow', pow_bits: bits } });

test('ch-1.1 admin: challenge and pow_bits are validated and stored; the default is none and 18', async () => {
  const now = Date.now();
  const base = { name: 'challenge fields', description: '', start_ms: now + 60000, end_ms: now + 3600000 };
  for (const [extra, why] of [
    [{ challenge: 'captcha' }, 'unknown kind'], [{ challenge: 'POW' }, 'kinds are lower case'],
    [{ challenge: 1 }, 'not a string'], [{ challenge: null }, 'null'],
    [{ challenge: 'pow', pow_bits: 0 }, 'pow_bits 0'], [{ challenge: 'pow', pow_bits: 33 }, 'pow_bits 33'],
    [{ challenge: 'pow', pow_bits: -5 }, 'pow_bits negative'], [{ challenge: 'pow', pow_bits: '18' }, 'pow_bits a string'],
    [{ challenge: 'pow', pow_bits: 18.5 }, 'pow_bits not an integer'],
  ]) {
    const before = Number(sql('SELECT COUNT(*) FROM activities')[0][0]);
    const r = await admin.post('/api/admin/activities', { ...base, ...extra });
    isError(r, 400, 'bad_request');
    assert.equal(Number(sql('SELECT COUNT(*) FROM activities')[0][0]), before, `${why}: nothing created`);
  }
  const plain = await admin.post('/api/admin/activities', base);
  assert.equal(plain.status, 201, plain.text);
  assert.deepEqual(sql(`SELECT challenge, pow_bits FROM activities WHERE id = ${plain.json.activity_id}`), [['none', '18']]);
  const pow = await admin.post('/api/admin/activities', { ...base, challenge: 'pow', pow_bits: 32 });
  assert.equal(pow.status, 201, pow.text);
  assert.deepEqual(sql(`SELECT challenge, pow_bits FROM activities WHERE id = ${pow.json.activity_id}`), [['pow', '32']]);
  const quiz = await admin.post('/api/admin/activities', { ...base, challenge: 'quiz' });
  assert.equal(quiz.status, 201, quiz.text);
  assert.deepEqual(sql(`SELECT challenge FROM activities WHERE id = ${quiz.json.activity_id}`), [['quiz']]);
});

test('ch-1.2 without a challenge the secret answers exactly as before', async () => {
  const s = await makeSale({ stock: 3 });
  const u = user();
  const r = await get(secretPath(s), { token: u.token });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.text, `{"secret":"${expectedSecret(u.uid, s.aid, s.iid)}"}`);
  // and an answer to a challenge it never asked for is refused
  isError(await answer(s, u, { challenge_id: 'a'.repeat(32), answer: '1' }), 403, 'bad_answer');
});

test('ch-2.1 pow: solved once gives the secret, which places an order; the same answer again is refused', async () => {
  const s = await powSale(12);
  const u = user();
  const c = await challenge(s, u);
  assert.deepEqual(Object.keys(c).sort(), ['bits', 'id', 'kind', 'prefix']);
  assert.equal(c.kind, 'pow');
  assert.equal(c.bits, 12);
  assert.match(c.id, /^[0-9a-f]{32}$/);
  assert.match(c.prefix, /^[0-9a-f]{32}$/);
  const a = solvePow(c.prefix, c.bits);
  const ok = await answer(s, u, { challenge_id: c.id, answer: a });
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(ok.json, { secret: expectedSecret(u.uid, s.aid, s.iid) });
  const o = await post('/api/order', { activity_id: s.aid, item_id: s.iid, quantity: 1, secret: ok.json.secret }, { token: u.token });
  assert.equal(o.status, 202, o.text);
  assert.equal(o.json.status, 'queued');
  isError(await answer(s, u, { challenge_id: c.id, answer: a }), 403, 'bad_answer');
  assert.equal(redis('EXISTS', challengeKey(u.uid, s)), '(integer) 0', 'used up');
});

test('ch-2.2 pow at the default 18 bits, solved in node', async () => {
  const s = await makeSale({ stock: 5, activity: { challenge: 'pow' } });
  const u = user();
  const c = await challenge(s, u);
  assert.equal(c.bits, 18);
  const t0 = Date.now();
  const a = solvePow(c.prefix, 18);
  const ok = await answer(s, u, { challenge_id: c.id, answer: a });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.secret, expectedSecret(u.uid, s.aid, s.iid));
  console.log(`# 18 bits solved in node in ${Date.now() - t0} ms (answer ${a})`);
});

test('ch-2.3 a challenge is bound to its user and its item', async () => {
  const s = await powSale(10);
  const other = await powSale(10);
  const a = user(), b = user();
  const cb = await challenge(s, b);
  const solved = solvePow(cb.prefix, cb.bits);
  // a holds a challenge of its own too: b's id must not take it either
  const ca = await challenge(s, a);
  isError(await answer(s, a, { challenge_id: cb.id, answer: solved }), 403, 'bad_answer');
  // the same challenge on another item of b's
  isError(await answer(other, b, { challenge_id: cb.id, answer: solved }), 403, 'bad_answer');
  // b's own answer still works (a's attempt could not touch it), and a's too
  const okb = await answer(s, b, { challenge_id: cb.id, answer: solved });
  assert.equal(okb.status, 200, okb.text);
  assert.equal(okb.json.secret, expectedSecret(b.uid, s.aid, s.iid));
  const oka = await answer(s, a, { challenge_id: ca.id, answer: solvePow(ca.prefix, ca.bits) });
  assert.equal(oka.status, 200, oka.text);
  assert.equal(oka.json.secret, expectedSecret(a.uid, s.aid, s.iid));
});

test('ch-2.4 one attempt: a wrong answer uses the challenge up', async () => {
  const s = await powSale(10);
  const u = user();
  const c = await challenge(s, u);
  isError(await answer(s, u, { challenge_id: c.id, answer: wrongPow(c.prefix, c.bits) }), 403, 'bad_answer');
  isError(await answer(s, u, { challenge_id: c.id, answer: solvePow(c.prefix, c.bits) }), 403, 'bad_answer');
});

test('ch-2.5 a new GET replaces the challenge before it', async () => {
  const s = await powSale(10);
  const u = user();
  const c1 = await challenge(s, u);
  const c2 = await challenge(s, u);
  assert.notEqual(c1.id, c2.id);
  assert.notEqual(c1.prefix, c2.prefix);
  isError(await answer(s, u, { challenge_id: c1.id, answer: solvePow(c1.prefix, c1.bits) }), 403, 'bad_answer');
  const ok = await answer(s, u, { challenge_id: c2.id, answer: solvePow(c2.prefix, c2.bits) });
  assert.equal(ok.status, 200, ok.text);
});

test('ch-2.6 a challenge lives 60 s (challenge_ttl_ms); an expired one is refused', async () => {
  const s = await powSale(10);
  const u = user();
  const c = await challenge(s, u);
  const key = challengeKey(u.uid, s);
  const ttl = Number(redisRaw('PTTL', key));
  const want = Number(conf.challenge_ttl_ms || 60000);
  assert.ok(ttl > want - 10000 && ttl <= want, `PTTL ${ttl} of ${want}`);
  // let it expire now rather than wait a minute: Redis drops it as at 60 s
  redis('PEXPIRE', key, 1);
  await sleep(50);
  isError(await answer(s, u, { challenge_id: c.id, answer: solvePow(c.prefix, c.bits) }), 403, 'bad_answer');
});

test('ch-3.1 quiz: a PNG question; a wrong answer is refused and used up, the right one gives the secret', async () => {
  const s = await makeSale({ stock: 5, activity: { challenge: 'quiz' } });
  const u = user();
  let c = await challenge(s, u);
  assert.deepEqual(Object.keys(c).sort(), ['id', 'image', 'kind']);
  assert.equal(c.kind, 'quiz');
  const m = c.image.match(/^data:image\/png;base64,([A-Za-z0-9+/]+=*)$/);
  assert.ok(m, 'a PNG data URI');
  const png = Buffer.from(m[1], 'base64');
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'PNG signature');
  assert.ok(png.length > 500 && png.length < 40000, `${png.length} bytes`);
  // the store knows the answer (a number); the test may read it
  let stored = redisRaw('GET', challengeKey(u.uid, s)).split(' ');
  assert.equal(stored[0], c.id);
  assert.equal(stored[1], 'quiz');
  assert.match(stored[2], /^[0-9]{1,3}$/);
  isError(await answer(s, u, { challenge_id: c.id, answer: String(Number(stored[2]) + 1) }), 403, 'bad_answer');
  isError(await answer(s, u, { challenge_id: c.id, answer: stored[2] }), 403, 'bad_answer');
  c = await challenge(s, u);
  stored = redisRaw('GET', challengeKey(u.uid, s)).split(' ');
  const ok = await answer(s, u, { challenge_id: c.id, answer: stored[2] });
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(ok.json, { secret: expectedSecret(u.uid, s.aid, s.iid) });
});

test('ch-4.1 hostile answers: 400 for a missing or ill-typed field or an answer over 64 characters, and nothing used up', async () => {
  const s = await powSale(10);
  const u = user();
  const c = await challenge(s, u);
  const right = solvePow(c.prefix, c.bits);
  for (const [body, why] of [
    [{ answer: right }, 'no challenge_id'], [{ challenge_id: c.id }, 'no answer'], [{}, 'empty object'],
    [{ challenge_id: c.id, answer: Number(right) }, 'answer a number'], [{ challenge_id: 7, answer: right }, 'id a number'],
    [{ challenge_id: c.id, answer: null }, 'answer null'], [{ challenge_id: c.id, answer: 'a'.repeat(65) }, '65 characters'],
    [{ challenge_id: c.id, answer: '0'.repeat(5000) }, '5000 characters'],
  ]) {
    const r = await answer(s, u, body);
    assert.equal(r.status, 400, `${why}: ${r.status} ${r.text}`);
    assert.equal(r.json?.error, 'bad_request', why);
  }
  for (const raw of ['not json', '[1,2]', '']) {
    const r = await request('POST', secretPath(s), { token: u.token, rawBody: raw, headers: { 'Content-Type': 'application/json' } });
    isError(r, 400, 'bad_request');
  }
  // an id of another shape is just not the user's challenge
  isError(await answer(s, u, { challenge_id: `${c.id} pow`, answer: right }), 403, 'bad_answer');
  isError(await answer(s, u, { challenge_id: "' OR 1=1 --", answer: right }), 403, 'bad_answer');
  // no token
  isError(await post(secretPath(s), { challenge_id: c.id, answer: right }), 401, 'unauthorized');
  // none of that touched the challenge
  const ok = await answer(s, u, { challenge_id: c.id, answer: right });
  assert.equal(ok.status, 200, ok.text);
});

test('ch-4.2 no challenge outside the sale window; a made-up secret still cannot order', async () => {
  const later = await makeSale({ stock: 2, startInMs: 3600000, activity: { challenge: 'pow', pow_bits: 8 } });
  const u = user();
  isError(await get(secretPath(later), { token: u.token }), 403, 'not_started');
  isError(await answer(later, u, { challenge_id: 'a'.repeat(32), answer: '1' }), 403, 'not_started');
  assert.equal(redis('EXISTS', challengeKey(u.uid, later)), '(integer) 0', 'no challenge stored');
  const s = await powSale(8);
  const o = await post('/api/order', { activity_id: s.aid, item_id: s.iid, quantity: 1, secret: 'f'.repeat(32) }, { token: u.token });
  isError(o, 403, 'bad_secret');
});
