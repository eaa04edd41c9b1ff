// 60-user: register, login, refresh rotation and reuse, logout, the daily
// lock after failed logins, and how passwords are stored (API.md "Identity").
// Each login costs ~0.1 s of argon2id: the counts here stay small.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { conf, get, post, sqlValue, redis } from '../lib/flash.mjs';

// Each test has its own client address (as a trusted proxy would send it)
// so the per-address auth limit (rate_auth_per_ip_per_min) of one test does
// not spill into another.
let XFF;
const opts = (o = {}) => ({ ...o, headers: { 'X-Forwarded-For': XFF, ...(o.headers || {}) } });
const fresh = (n) => { XFF = `192.0.2.${n}`; };
const uname = (tag) => `u${tag}_${process.pid}_${Date.now() % 1e7}`;
const PW = 'correct horse battery';

function jwtPayload(tok) {
  const [h, p, s] = tok.split('.');
  const want = createHmac('sha256', conf.jwt_secret).update(`${h}.${p}`).digest('base64url');
  assert.equal(s, want, 'access token is signed with jwt_secret');
  assert.equal(JSON.parse(Buffer.from(h, 'base64url')).alg, 'HS256');
  return JSON.parse(Buffer.from(p, 'base64url'));
}

test('user-1.1 register, login, use, refresh, reuse, logout', async () => {
  fresh(61);
  const name = uname('a');
  const reg = await post('/api/user/register', { username: name, password: PW }, opts());
  assert.equal(reg.status, 201, reg.text);
  assert.ok(Number.isSafeInteger(reg.json.user_id) && reg.json.user_id > 0);
  assert.match(reg.headers['content-type'], /^application\/json/);
  const uid = reg.json.user_id;

  const dup = await post('/api/user/register', { username: name, password: PW }, opts());
  assert.equal(dup.status, 409, dup.text);
  assert.equal(dup.json.error, 'conflict');

  const login = await post('/api/user/login', { username: name, password: PW }, opts());
  assert.equal(login.status, 200, login.text);
  const { access_token, refresh_token, expires_in } = login.json;
  assert.equal(expires_in, Number(conf.access_ttl_s));
  const claims = jwtPayload(access_token);
  assert.equal(claims.sub, String(uid));
  const now = Math.floor(Date.now() / 1000);
  assert.ok(Math.abs(claims.exp - (now + Number(conf.access_ttl_s))) <= 5, 'exp is now + access_ttl_s');
  assert.equal(typeof refresh_token, 'string');
  assert.ok(refresh_token.length >= 40);
  assert.ok(!refresh_token.includes(access_token));

  // the access token works on an authenticated route of another program
  const mine = await get('/api/order-status', opts({ token: access_token }));
  assert.equal(mine.status, 200, mine.text);
  assert.ok(Array.isArray(mine.json.orders));
  const anon = await get('/api/order-status', opts());
  assert.equal(anon.status, 401);

  // the refresh token is stored only hashed: no Redis key or value holds it
  const secretPart = refresh_token.split('.').pop();
  const keys = redis('--scan', '--pattern', 'fs:{rf:*').split('\n').filter(Boolean);
  assert.ok(keys.length > 0);
  for (const k of keys) assert.ok(!k.includes(secretPart));

  const r1 = await post('/api/user/refresh', { refresh_token }, opts());
  assert.equal(r1.status, 200, r1.text);
  assert.notEqual(r1.json.refresh_token, refresh_token);
  assert.equal(jwtPayload(r1.json.access_token).sub, String(uid));

  // the old token is dead, and its reuse revokes the whole session
  const again = await post('/api/user/refresh', { refresh_token }, opts());
  assert.equal(again.status, 401, again.text);
  assert.equal(again.json.error, 'unauthorized');
  const after = await post('/api/user/refresh', { refresh_token: r1.json.refresh_token }, opts());
  assert.equal(after.status, 401, 'the current token of a revoked session is dead too');

  // a new session, then logout revokes its refresh token
  const l2 = await post('/api/user/login', { username: name, password: PW }, opts());
  assert.equal(l2.status, 200, l2.text);
  const r2 = await post('/api/user/refresh', { refresh_token: l2.json.refresh_token }, opts());
  assert.equal(r2.status, 200, r2.text);
  const out = await post('/api/user/logout', undefined, opts({ token: r2.json.access_token }));
  assert.equal(out.status, 204, out.text);
  assert.equal(out.text, '');
  const dead = await post('/api/user/refresh', { refresh_token: r2.json.refresh_token }, opts());
  assert.equal(dead.status, 401, dead.text);
  const noauth = await post('/api/user/logout', undefined, opts());
  assert.equal(noauth.status, 401);
});

test('user-1.2 logout with a refresh token ends only that session', async () => {
  fresh(62);
  const name = uname('s');
  assert.equal((await post('/api/user/register', { username: name, password: PW }, opts())).status, 201);
  const a = await post('/api/user/login', { username: name, password: PW }, opts());
  const b = await post('/api/user/login', { username: name, password: PW }, opts());
  assert.equal(a.status, 200);
  assert.equal(b.status, 200);
  const out = await post('/api/user/logout', { refresh_token: a.json.refresh_token },
    opts({ token: a.json.access_token }));
  assert.equal(out.status, 204, out.text);
  assert.equal((await post('/api/user/refresh', { refresh_token: a.json.refresh_token }, opts())).status, 401);
  assert.equal((await post('/api/user/refresh', { refresh_token: b.json.refresh_token }, opts())).status, 200);
});

test('user-2.1 five wrong passwords lock the account for the day', async () => {
  fresh(63);
  const name = uname('l');
  assert.equal((await post('/api/user/register', { username: name, password: PW }, opts())).status, 201);
  const lock = Number(conf.login_failures_lock || 5);
  for (let i = 1; i <= lock; i++) {
    const r = await post('/api/user/login', { username: name, password: `wrong ${i} password` }, opts());
    assert.equal(r.status, 401, `try ${i}: ${r.text}`);
    assert.equal(r.json.error, 'unauthorized');
  }
  const locked = await post('/api/user/login', { username: name, password: PW }, opts());
  assert.equal(locked.status, 429, locked.text);
  assert.equal(locked.json.error, 'rate_limited');
  const ra = Number(locked.headers['retry-after']);
  const d = new Date();
  const toMidnight = 86400 - (Math.floor(d.getTime() / 1000) % 86400);
  assert.ok(ra >= 1 && ra <= toMidnight + 2, `Retry-After ${ra} is the rest of the UTC day (${toMidnight})`);
  // the lock is by username whatever its case
  const upper = await post('/api/user/login', { username: name.toUpperCase(), password: PW }, opts());
  assert.equal(upper.status, 429);
});

test('user-2.2 a correct login does not count as a failure', async () => {
  fresh(64);
  const name = uname('c');
  assert.equal((await post('/api/user/register', { username: name, password: PW }, opts())).status, 201);
  for (let i = 0; i < 4; i++)
    assert.equal((await post('/api/user/login', { username: name, password: 'nope nope nope' }, opts())).status, 401);
  assert.equal((await post('/api/user/login', { username: name, password: PW }, opts())).status, 200);
  assert.equal((await post('/api/user/login', { username: name, password: PW }, opts())).status, 200);
  assert.equal((await post('/api/user/login', { username: name, password: 'nope nope nope' }, opts())).status, 401);
  assert.equal((await post('/api/user/login', { username: name, password: PW }, opts())).status, 429);
});

test('user-3.1 the stored hash is argon2id, salted, not the password', async () => {
  fresh(65);
  const a = uname('h1'), b = uname('h2');
  assert.equal((await post('/api/user/register', { username: a, password: PW }, opts())).status, 201);
  assert.equal((await post('/api/user/register', { username: b, password: PW }, opts())).status, 201);
  const ha = sqlValue(`SELECT pw_hash FROM users WHERE username = '${a}'`);
  const hb = sqlValue(`SELECT pw_hash FROM users WHERE username = '${b}'`);
  assert.ok(ha.startsWith('$argon2id$'), ha);
  assert.ok(!ha.includes(PW));
  assert.notEqual(ha, hb, 'same password, different salts');
  for (const alg of ['md5', 'sha1', 'sha256', 'sha512']) {
    const { createHash } = await import('node:crypto');
    const hex = createHash(alg).update(PW).digest('hex');
    assert.ok(!ha.toLowerCase().includes(hex), `not an unsalted ${alg}`);
  }
});

test('user-4.1 validation: usernames, password bounds, bodies', async () => {
  fresh(66);
  const bad = [
    [{ username: 'ab', password: PW }, 'too short a name'],
    [{ username: 'a'.repeat(33), password: PW }, 'too long a name'],
    [{ username: 'bad name', password: PW }, 'space in name'],
    [{ username: "x' OR '1'='1", password: PW }, 'SQL in name'],
    [{ username: 'zoë_user', password: PW }, 'non-ASCII name'],
    [{ username: uname('p'), password: 'short' }, 'short password'],
    [{ username: uname('p'), password: 'x'.repeat(129) }, 'long password'],
    [{ username: uname('p'), password: 12345678 }, 'numeric password'],
    [{ username: ['a', 'b', 'c'], password: PW }, 'array name'],
    [{ username: uname('p') }, 'missing password'],
    [{}, 'empty object'],
  ];
  for (const [body, why] of bad) {
    const r = await post('/api/user/register', body, opts());
    assert.equal(r.status, 400, `${why}: ${r.text}`);
    assert.equal(r.json.error, 'bad_request', why);
  }
  // 128 characters of 4 bytes each are fine (characters, not bytes)
  const ok = await post('/api/user/register', { username: uname('e'), password: '😀'.repeat(128) }, opts());
  assert.equal(ok.status, 201, ok.text);
  const wrongMethod = await get('/api/user/login', opts());
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.json.error, 'method_not_allowed');
  const unknown = await post('/api/user/nope', {}, opts());
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json.error, 'not_found');
  const badTok = await post('/api/user/refresh', { refresh_token: 'x.y' }, opts());
  assert.equal(badTok.status, 401);
  const noTok = await post('/api/user/refresh', {}, opts());
  assert.equal(noTok.status, 400);
  const unknownUser = await post('/api/user/login', { username: uname('ghost'), password: PW }, opts());
  assert.equal(unknownUser.status, 401);
  assert.equal(unknownUser.json.error, 'unauthorized');
});
