// 24-order-hardening: the order path under faults a plain stack does not show
// (issue 9, points 6, 7, 12, 13, 14, 15, 17). Some cases need a program with
// other settings or a Redis that misbehaves on cue: they start a "side node",
// a second lighttpd with the same programs on a port of its own, sharing the
// stack's Redis, MySQL and order handler, optionally through a Redis proxy
// in this process that delays or cuts chosen replies (a fault injector with
// exact timing, which neither SIGSTOP nor a slow script gives).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import net from 'node:net';
import { hostname } from 'node:os';
import http from 'node:http';
import {
  conf, root, get, post, jwt, newUserId, makeSale, admin, redisRaw, burst, statusCounts,
  sleep, waitFor, sql,
} from '../lib/flash.mjs';

// --- helpers ----------------------------------------------------------------

// The order secret as the shop computes it (secret.c), here from the test
// stack's configuration: lets a test order many items without taking a
// secret for each (the secret has a per-user limit of its own).
const secretOf = (uid, aid, iid, key = conf.order_secret) =>
  createHmac('sha256', key).update(`order-secret|${uid}|${aid}|${iid}`).digest('hex').slice(0, 32);

const orderBody = (aid, iid, secret, extra = {}) => ({ activity_id: aid, item_id: iid, quantity: 1, secret, ...extra });

// A free port from 20000-31999, below the kernel's ephemeral range (as
// flashctl picks them), checked by listening on it.
async function freePort() {
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const free = await new Promise((resolve) => {
      const s = net.createServer();
      s.on('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port');
}

// HTTP on another port than the stack's (node's fetch would do, but one
// style for the file): {status, headers, json, text}
function httpTo(port, method, path, { token, body } = {}) {
  const headers = {};
  let payload = null;
  if (body !== undefined) { payload = JSON.stringify(body); headers['Content-Type'] = 'application/json'; headers['Content-Length'] = Buffer.byteLength(payload); }
  if (token) headers.Authorization = `Bearer ${token}`;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, json, text });
      });
    });
    req.setTimeout(15000, () => req.destroy(new Error(`timeout ${method} ${path}`)));
    req.on('error', reject);
    if (payload !== null) req.write(payload);
    req.end();
  });
}

// A proxy between the side node's programs and the stack's Redis. A trap
// {match(chunk), mode, ms} fires once, on the first command whose bytes
// match: 'dropReply' closes the connection when its reply comes (the command
// ran, the caller never hears it); 'delayReply' holds the reply ms; 'delayRequest'
// holds the command ms before Redis gets it (it still arrives after the
// caller gave up, as over a slow network). An error reply (NOSCRIPT) passes
// and leaves the trap armed for the command's second try.
async function redisProxy() {
  const traps = [];
  const sockets = new Set();
  const server = net.createServer((client) => {
    const up = net.connect(Number(conf.redis_port), '127.0.0.1');
    let armed = null;
    let held = 0; // requests held back, still to be written upstream
    let clientGone = false;
    sockets.add(client); sockets.add(up);
    const closeUp = () => { if (held === 0) up.end(); };
    client.on('data', (buf) => {
      const s = buf.toString('latin1');
      const t = traps.find((x) => !x.fired && x.match(s));
      if (t) {
        t.fired = true;
        t.hits = (t.hits || 0) + 1;
        if (t.mode === 'delayRequest') {
          held++;
          setTimeout(() => {
            held--;
            if (!up.destroyed) up.write(buf);
            t.done = true;
            if (clientGone) setTimeout(closeUp, 50);
          }, t.ms);
          return;
        }
        armed = t;
      }
      if (!up.destroyed) up.write(buf);
    });
    up.on('data', (buf) => {
      const t = armed;
      if (t) {
        armed = null;
        if (buf[0] === 0x2d) { t.fired = false; if (!client.destroyed) client.write(buf); return; }
        t.done = true;
        if (t.mode === 'dropReply') { client.destroy(); up.destroy(); return; }
        if (t.mode === 'delayReply') { setTimeout(() => { if (!client.destroyed) client.write(buf); }, t.ms); return; }
      }
      if (!client.destroyed) client.write(buf);
    });
    client.on('close', () => { clientGone = true; closeUp(); });
    up.on('close', () => { if (held === 0) client.destroy(); });
    client.on('error', () => {});
    up.on('error', () => {});
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    trap(t) { const x = { ...t, fired: false, done: false }; traps.push(x); return x; },
    clear() { traps.length = 0; },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// A second lighttpd with the stack's programs and a copy of its config plus
// `settings`; env is added to the programs' environment (FLASH_<KEY>
// overrides the file). One process per program, so a test knows which
// process answers. Returns {port, dir, stop(), log()}.
async function sideNode({ settings = {}, env = {} } = {}) {
  const dir = mkdtempSync('/tmp/fs.sn.');
  const port = await freePort();
  let text = readFileSync(process.env.FLASH_CONF, 'utf8');
  text += '\n# side node of 24-order-hardening\n';
  for (const [k, v] of Object.entries(settings)) text += `${k} = ${v}\n`;
  writeFileSync(`${dir}/flashsale.conf`, text, { mode: 0o600 });
  writeFileSync(`${dir}/lighttpd-vars.conf`, [
    `var.http_port = ${port}`, `var.root = "${root}"`, `var.state = "${dir}"`,
    `var.bin = "${process.env.FLASH_BIN}"`, `var.conf = "${dir}/flashsale.conf"`,
    `var.origin = "${conf.origin_dir}"`, 'var.procs_hot = 1', 'var.procs_order = 1',
    'var.procs_cold = 1', 'var.max_request_kib = 2048', '',
  ].join('\n'));
  execFileSync('mkdir', ['-p', `${dir}/tmp`, `${dir}/deflate-cache`]);
  const child = spawn('lighttpd', ['-D', '-f', `${root}/lighttpd.conf`], {
    env: { ...process.env, FLASH_VAR: dir, ...env }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => { stderr += c; });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const up = await waitFor(async () => {
    try { return (await httpTo(port, 'GET', '/api/_trivial')).status === 200; } catch { return false; }
  }, 15000, 100);
  const node = {
    port, dir, pid: child.pid,
    log: () => (existsSync(`${dir}/fcgi-stderr.log`) ? readFileSync(`${dir}/fcgi-stderr.log`, 'utf8') : ''),
    // the pids of the FastCGI processes of one program (by its binary)
    programPids(name) {
      const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(child.pid)], { encoding: 'utf8' });
      return out.split('\n').filter((l) => l.includes(`/bin/${name}`)).map((l) => Number(l.trim().split(/\s+/)[0]));
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, sleep(10000)]);
      // sanitizer reports go to the stack's folder (ASAN_OPTIONS log_path),
      // where tests/run.sh looks for them
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (!up) { await node.stop(); throw new Error(`side node did not come up: ${stderr}`); }
  return node;
}

// Orders through the side node: {status, json, text, uid, token}
async function sideOrder(node, aid, iid, uid = newUserId(), extra = {}) {
  const token = jwt(uid);
  const r = await httpTo(node.port, 'POST', '/api/order', { token, body: orderBody(aid, iid, secretOf(uid, aid, iid), extra) });
  return { ...r, uid, token };
}

const buyerOf = (aid, iid, uid) => redisRaw('HGET', `fs:{${aid}:${iid}}:buyers`, uid);

// --- 6. the push batch is flushed by age, whatever the process is doing --------

test('hard-6.1 an accepted order amid a flood of refusals reaches MySQL within a second', { timeout: 60000 }, async () => {
  // through the proxy each Redis call of the flood takes a little longer, so
  // the process always has requests waiting: it never idles to flush
  const proxy = await redisProxy();
  const node = await sideNode({ settings: { redis_port: proxy.port } });
  let wrk;
  try {
    const live = await makeSale({ stock: 10 });
    // the flood: a user who already holds an order of the item orders it
    // again and again; each is refused (duplicate, or rate limited), and
    // each asks Redis, so the process has no idle moment to flush in
    const fuid = newUserId();
    assert.equal((await sideOrder(node, live.aid, live.iid, fuid)).status, 202);
    const lua = `${node.dir}/flood.lua`;
    writeFileSync(lua, [
      'wrk.method = "POST"',
      `wrk.body = '${JSON.stringify(orderBody(live.aid, live.iid, secretOf(fuid, live.aid, live.iid)))}'`,
      'wrk.headers["Content-Type"] = "application/json"',
      `wrk.headers["Authorization"] = "Bearer ${jwt(fuid)}"`, '',
    ].join('\n'));
    wrk = spawn('wrk', ['-t1', '-c200', '-d5s', '-s', lua, `http://127.0.0.1:${node.port}/api/order`],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let wrkOut = '';
    wrk.stdout.on('data', (c) => { wrkOut += c; });
    const wrkDone = new Promise((resolve) => wrk.on('exit', resolve));
    let flooding = true;
    wrkDone.then(() => { flooding = false; });
    await sleep(1200);
    assert.ok(flooding, 'the flood runs');
    const o = await sideOrder(node, live.aid, live.iid);
    assert.equal(o.status, 202, o.text);
    const t0 = Date.now();
    const id = o.json.order_id;
    const unpaid = await waitFor(async () => {
      const s = await get(`/api/order-status/${id}`, { token: o.token });
      return s.status === 200 && s.json.status === 'unpaid';
    }, 4000, 50);
    const took = Date.now() - t0;
    const stillFlooding = flooding;
    await wrkDone;
    assert.ok(unpaid, `the order became unpaid (after ${took} ms)`);
    assert.ok(took < 1000 && stillFlooding, `unpaid after ${took} ms, during the flood: ${stillFlooding}`);
    assert.match(wrkOut, /Requests\/sec/, wrkOut);


  } finally {
    if (wrk && wrk.exitCode === null) wrk.kill('SIGTERM');
    await node.stop();
    await proxy.close();
  }
});

// --- 7. a reply lost after the reservation ran ------------------------------

// the reservation script's command (it names the item's stock; the look-up
// after a lost reply names the item's void set and not its stock)
const isReserve = (aid, iid) => (s) => s.includes('EVALSHA') && s.includes(`fs:{${aid}:${iid}}:stock`);
const isLookup = (aid, iid) => (s) => s.includes('EVALSHA') && s.includes(`fs:{${aid}:${iid}}:void`) &&
  !s.includes(`fs:{${aid}:${iid}}:stock`);

test('hard-7.1 the reply of a reservation that ran comes too late: 202, not 503', { timeout: 60000 }, async () => {
  const proxy = await redisProxy();
  const node = await sideNode({ settings: { redis_port: proxy.port, redis_timeout_ms: 600 } });
  try {
    const { aid, iid } = await makeSale({ stock: 10 });
    // a first order loads the process's worker id, the sale and the script
    assert.equal((await sideOrder(node, aid, iid)).status, 202);
    const trap = proxy.trap({ match: isReserve(aid, iid), mode: 'delayReply', ms: 2000 });
    const r = await sideOrder(node, aid, iid);
    assert.ok(trap.done, 'the reply was held back');
    // the script ran: the answer must say so
    assert.equal(buyerOf(aid, iid, r.uid) !== '', true, 'the order was taken');
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json.order_id, buyerOf(aid, iid, r.uid));
    await sleep(2100);
    assert.equal(redisRaw('GET', `fs:{${aid}:${iid}}:stock`), '8');
    // and it is an order like any other: it reaches MySQL
    const s = await waitFor(async () => {
      const x = await get(`/api/order-status/${r.json.order_id}`, { token: r.token });
      return x.status === 200 && x.json.status === 'unpaid';
    }, 10000);
    assert.ok(s, 'the order reaches MySQL');
  } finally {
    await node.stop();
    await proxy.close();
  }
});

test('hard-7.2 the reservation reaches Redis after the caller gave up: 503 and no effect, ever', { timeout: 60000 }, async () => {
  const proxy = await redisProxy();
  const node = await sideNode({ settings: { redis_port: proxy.port, redis_timeout_ms: 600 } });
  try {
    const { aid, iid } = await makeSale({ stock: 10 });
    assert.equal((await sideOrder(node, aid, iid)).status, 202);
    const trap = proxy.trap({ match: isReserve(aid, iid), mode: 'delayRequest', ms: 1800 });
    const r = await sideOrder(node, aid, iid);
    // Redis gets the reservation only after the caller asked whether it
    // ran: the look-up says no and makes that final, and the late
    // reservation is refused when it comes
    await waitFor(() => trap.done, 4000, 50);
    await sleep(300);
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json.error, 'unavailable');
    assert.equal(r.json.outcome, undefined, 'a plain 503: no effect');
    assert.equal(buyerOf(aid, iid, r.uid), '', 'the late reservation took nothing');
    assert.equal(redisRaw('GET', `fs:{${aid}:${iid}}:stock`), '9');
    // and the user may simply try again
    const again = await sideOrder(node, aid, iid, r.uid);
    assert.equal(again.status, 202, again.text);
  } finally {
    await node.stop();
    await proxy.close();
  }
});

test('hard-7.3 neither the reservation nor the look-up answers: 503 outcome unknown, then the retry tells', { timeout: 60000 }, async () => {
  const proxy = await redisProxy();
  const node = await sideNode({ settings: { redis_port: proxy.port, redis_timeout_ms: 600 } });
  try {
    const { aid, iid } = await makeSale({ stock: 10 });
    assert.equal((await sideOrder(node, aid, iid)).status, 202);
    proxy.trap({ match: isReserve(aid, iid), mode: 'delayReply', ms: 3000 });
    proxy.trap({ match: isLookup(aid, iid), mode: 'delayReply', ms: 3000 });
    const r = await sideOrder(node, aid, iid);
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json.error, 'unavailable');
    assert.equal(r.json.outcome, 'unknown', r.text);
    // the order was in fact taken: a retry says duplicate, with its id
    const held = buyerOf(aid, iid, r.uid);
    assert.notEqual(held, '');
    await sleep(300);
    const again = await sideOrder(node, aid, iid, r.uid);
    assert.equal(again.status, 409, again.text);
    assert.equal(again.json.error, 'duplicate');
    assert.equal(again.json.order_id, held);
  } finally {
    await node.stop();
    await proxy.close();
  }
});

// --- 12. the per-user order limit counts the user, across items --------------

// Waits for the start of a fresh second so a burst falls in one window.
const windowStart = () => sleep(1000 - (Date.now() % 1000) + 20);
const userLimit = Number(conf.rate_order_per_user || 5);

test('hard-12.1 one user ordering many items at once: at most the per-user limit gets through', { timeout: 60000 }, async () => {
  const n = userLimit + 4;
  const sales = [];
  for (let i = 0; i < n; i++) sales.push(await makeSale({ stock: 5 }));
  const uid = newUserId(), token = jwt(uid);
  await windowStart();
  const res = await burst(n, (i) => post('/api/order', orderBody(sales[i].aid, sales[i].iid,
    secretOf(uid, sales[i].aid, sales[i].iid)), { token }));
  const c = statusCounts(res);
  assert.ok((c[202] || 0) >= 1 && (c[202] || 0) <= userLimit, JSON.stringify(c));
  assert.equal((c[202] || 0) + (c[429] || 0), n, JSON.stringify(c));
  for (const r of res.filter((x) => x.status === 429)) {
    assert.equal(r.json.error, 'rate_limited');
    assert.ok(Number(r.headers['retry-after']) >= 1, 'Retry-After');
  }
  // nothing was reserved for the refused ones
  const held = sales.filter((s) => buyerOf(s.aid, s.iid, uid) !== '').length;
  assert.equal(held, c[202]);
  // another user is not limited by it
  const other = newUserId();
  const r = await post('/api/order', orderBody(sales[0].aid, sales[0].iid, secretOf(other, sales[0].aid, sales[0].iid)), { token: jwt(other) });
  assert.equal(r.status, 202, r.text);
});

test('hard-12.2 a user hammering a sold-out item is limited before the sale is even looked at', { timeout: 60000 }, async () => {
  const { aid, iid } = await makeSale({ stock: 1 });
  const first = newUserId();
  assert.equal((await post('/api/order', orderBody(aid, iid, secretOf(first, aid, iid)), { token: jwt(first) })).status, 202);
  const uid = newUserId(), token = jwt(uid);
  const body = orderBody(aid, iid, secretOf(uid, aid, iid));
  await windowStart();
  const res = [];
  for (let i = 0; i < 4 * (userLimit + 2); i++) res.push(await post('/api/order', body, { token }));
  const c = statusCounts(res);
  assert.ok(c[429] > 0, JSON.stringify(c));
  assert.equal((c[410] || 0) + c[429], res.length, JSON.stringify(c));
  assert.ok(Number(res.find((x) => x.status === 429).headers['retry-after']) >= 1);
});

test('hard-12.3 the order secret: per user across items too', { timeout: 60000 }, async () => {
  const n = userLimit + 4;
  const sales = [];
  for (let i = 0; i < n; i++) sales.push(await makeSale({ stock: 5 }));
  const token = jwt(newUserId());
  await windowStart();
  const res = await burst(n, (i) => get(`/api/detail/${sales[i].aid}/${sales[i].iid}/secret`, { token }));
  const c = statusCounts(res);
  assert.ok((c[200] || 0) >= 1 && (c[200] || 0) <= userLimit, JSON.stringify(c));
  assert.equal((c[200] || 0) + (c[429] || 0), n, JSON.stringify(c));
});

// --- 13. no order secret configured: no secrets, no orders -------------------

test('hard-13.1 an empty order_secret: secret and order answer 503, and the log says why', { timeout: 60000 }, async () => {
  const node = await sideNode({ env: { FLASH_ORDER_SECRET: '' } });
  try {
    const { aid, iid } = await makeSale({ stock: 5 });
    const uid = newUserId(), token = jwt(uid);
    const s = await httpTo(node.port, 'GET', `/api/detail/${aid}/${iid}/secret`, { token });
    assert.equal(s.status, 503, s.text);
    assert.equal(s.json.error, 'unavailable');
    // the secret anyone could compute with an empty key is refused
    const o = await httpTo(node.port, 'POST', '/api/order', { token, body: orderBody(aid, iid, secretOf(uid, aid, iid, '')) });
    assert.equal(o.status, 503, o.text);
    assert.equal(o.json.error, 'unavailable');
    assert.equal(buyerOf(aid, iid, uid), '', 'nothing reserved');
    assert.match(node.log(), /order_secret/);
    // the stack itself (with a secret) still sells
    assert.equal((await get(`/api/detail/${aid}/${iid}/secret`, { token })).status, 200);
  } finally {
    await node.stop();
  }
});

// --- 14. worker id leases: owned by host, pid and a nonce ---------------------

const workerOf = (id) => Number((BigInt(id) >> 12n) & 1023n);

test('hard-14.1 a worker id held by another owner (same host and pid) is never shared', { timeout: 60000 }, async () => {
  // leases of 2 s, renewed after 1 s, so a renewal falls in the test
  const node = await sideNode({ settings: { idgen_lease_s: 2 } });
  try {
    const { aid, iid } = await makeSale({ stock: 20 });
    const a = await sideOrder(node, aid, iid);
    assert.equal(a.status, 202, a.text);
    const w = workerOf(a.json.order_id);
    const owner = redisRaw('GET', `fs:snowflake:w:${w}`);
    const [pid] = node.programPids('place_order');
    const host = hostname();
    assert.match(owner, new RegExp(`^${host.replace(/[.]/g, '\\.')}:${pid}:[0-9a-f]{16}$`), 'host:pid:nonce');
    // every live lease has an owner of its own
    const keys = redisRaw('KEYS', 'fs:snowflake:w:*').split('\n').filter(Boolean);
    const owners = keys.map((k) => redisRaw('GET', k)).filter(Boolean);
    assert.equal(new Set(owners).size, owners.length, 'distinct owners');
    // another process with the same host and pid (another container) takes
    // the id while ours looks away: our renewal must notice and move on
    const other = `${host}:${pid}:${randomBytes(8).toString('hex')}`;
    redisRaw('SET', `fs:snowflake:w:${w}`, other, 'EX', 600);
    await sleep(1300);
    const b = await sideOrder(node, aid, iid);
    assert.equal(b.status, 202, b.text);
    const w2 = workerOf(b.json.order_id);
    assert.notEqual(w2, w, 'a new worker id after the take-over');
    assert.equal(redisRaw('GET', `fs:snowflake:w:${w}`), other, 'the other owner keeps its id');
    assert.equal(redisRaw('GET', `fs:snowflake:w:${w2}`).split(':').slice(0, 2).join(':'), `${host}:${pid}`);
  } finally {
    await node.stop();
  }
});

// --- 15. a script that must not run twice is never resent ---------------------

async function register() {
  const username = `hard${Date.now() % 1e8}${randomBytes(3).toString('hex')}`;
  const password = 'correct horse battery';
  const r = await post('/api/user/register', { username, password });
  assert.equal(r.status, 201, r.text);
  return { username, password };
}

test('hard-15.1 a rotation whose reply was cut: the session survives and the new token works', { timeout: 60000 }, async () => {
  const proxy = await redisProxy();
  const node = await sideNode({ settings: { redis_port: proxy.port } });
  try {
    const u = await register();
    const login = await httpTo(node.port, 'POST', '/api/user/login', { body: u });
    assert.equal(login.status, 200, login.text);
    // the rotation script: EVALSHA sha 2 family used old new ttl
    const trap = proxy.trap({ match: (s) => s.startsWith('*8\r\n') && s.includes('EVALSHA') && s.includes('fs:{rf:'), mode: 'dropReply' });
    const r = await httpTo(node.port, 'POST', '/api/user/refresh', { body: { refresh_token: login.json.refresh_token } });
    assert.ok(trap.done, 'the reply was cut');
    assert.notEqual(r.status, 401, `the session was revoked: ${r.text}`);
    if (r.status === 200) {
      const next = await post('/api/user/refresh', { refresh_token: r.json.refresh_token });
      assert.equal(next.status, 200, next.text);
    } else {
      assert.equal(r.status, 503, r.text);
    }
  } finally {
    await node.stop();
    await proxy.close();
  }
});

test('hard-15.2 a refund of a failed login whose reply was cut is not sent twice', { timeout: 60000 }, async () => {
  const proxy = await redisProxy();
  const node = await sideNode({ settings: { redis_port: proxy.port } });
  try {
    const u = await register();
    for (let i = 0; i < 2; i++) {
      const bad = await post('/api/user/login', { username: u.username, password: 'wrong password!' });
      assert.equal(bad.status, 401);
    }
    const day = new Date().toISOString().slice(0, 10).replace(/-/g, '');
    const key = `fs:lf:${day}:${u.username.toLowerCase()}`;
    assert.equal(redisRaw('GET', key), '2');
    // the refund script: EVALSHA sha 1 key
    const trap = proxy.trap({ match: (s) => s.startsWith('*4\r\n') && s.includes('EVALSHA') && s.includes('fs:lf:'), mode: 'dropReply' });
    const r = await httpTo(node.port, 'POST', '/api/user/login', { body: u });
    assert.ok(trap.done, 'the reply was cut');
    assert.equal(r.status, 200, r.text);
    // counted once (3), given back at most once: 2 or 3, never 1
    const left = Number(redisRaw('GET', key));
    assert.ok(left === 2 || left === 3, `failures left: ${left}`);
  } finally {
    await node.stop();
    await proxy.close();
  }
});

// --- 17. the public list pages instead of cutting at 100 ----------------------

test('hard-17.1 GET /api/detail: more than 100 activities are all reachable, page by page', { timeout: 120000 }, async () => {
  const n = 105;
  const item = await admin.post('/api/admin/items', { name: 'many', title: 'many', description: 'paging', price_cents: 100, stock: n + 5, images: [] });
  assert.equal(item.status, 201, item.text);
  const iid = item.json.item_id;
  // far in the future (no warmup touches them), one hour apart (one item
  // may be in many activities that do not overlap)
  const t0 = Date.now() + 3 * 86400000;
  const mine = [];
  try {
    for (let i = 0; i < n; i++) {
      const act = await admin.post('/api/admin/activities', { name: `page ${i}`, description: 'paging', start_ms: t0 + i * 3600000, end_ms: t0 + i * 3600000 + 1800000 });
      assert.equal(act.status, 201, act.text);
      const aid = act.json.activity_id;
      mine.push(aid);
      assert.equal((await admin.post(`/api/admin/activities/${aid}/items`, { item_id: iid, flash_price_cents: 50, stock: 1, per_user_limit: 1 })).status, 201);
      assert.equal((await admin.post(`/api/admin/activities/${aid}/publish`, {})).status, 200);
    }
    await sleep(1100); // the list is cached for a second
    // the first page keeps the old shape and says where to go on
    const first = await get('/api/detail');
    assert.equal(first.status, 200);
    assert.ok(Number.isInteger(first.json.now_ms));
    assert.ok(Array.isArray(first.json.activities));
    assert.ok(first.json.activities.length <= 100);
    assert.equal(typeof first.json.next, 'string', 'more to come');
    const seen = new Set();
    let page = first, pages = 1;
    for (;;) {
      for (const a of page.json.activities) {
        assert.ok(!seen.has(a.activity_id), `activity ${a.activity_id} listed twice`);
        seen.add(a.activity_id);
      }
      if (page.json.next === null || page.json.next === undefined) break;
      assert.ok(pages < 50, 'pages end');
      page = await get(`/api/detail?limit=40&cursor=${encodeURIComponent(page.json.next)}`);
      assert.equal(page.status, 200, page.text);
      assert.ok(page.json.activities.length <= 40);
      pages++;
    }
    const missing = mine.filter((a) => !seen.has(a));
    assert.deepEqual(missing, [], 'every published activity is reachable');
    // a small page, and bad paging parameters
    const small = await get('/api/detail?limit=3');
    assert.equal(small.status, 200);
    assert.equal(small.json.activities.length, 3);
    assert.equal(typeof small.json.next, 'string');
    for (const q of ['limit=0', 'limit=101', 'limit=x', 'cursor=nonsense', 'cursor=']) {
      const bad = await get(`/api/detail?${q}`);
      assert.equal(bad.status, 400, `${q}: ${bad.text}`);
      assert.equal(bad.json.error, 'bad_request');
    }
  } finally {
    // out of the public list again, for the tests that follow
    if (mine.length) sql(`UPDATE activities SET status = 'ended' WHERE id IN (${mine.join(',')})`);
  }
});
