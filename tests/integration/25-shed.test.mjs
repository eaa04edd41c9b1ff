// 25-shed: load shedding and circuit breakers (issue 14, API.md "Guard
// rails"). Each case runs a "side node" (a second lighttpd with the stack's
// programs, one process each, sharing the stack's Redis, MySQL and order
// handler, as in 24-order-hardening) with settings of its own:
// - shed-1: the order handler stopped (SIGSTOP) during a rush with a small
//   shed_backlog: 503 + Retry-After at once, nothing accepted lost, orders
//   resume when the handler does;
// - shed-2: Redis gone silent (a proxy in this process swallows every byte,
//   so each call would wait for its timeout): detail answers its last copy
//   with "stale": true, place-order answers 503 at once (the breaker is
//   open), and both recover when Redis is back (the breaker half-opens).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import {
  conf, root, state, get, jwt, newUserId, makeSale, redisRaw, sqlValue, statusCounts,
  sleep, waitFor, runProgram,
} from '../lib/flash.mjs';

const secretOf = (uid, aid, iid) =>
  createHmac('sha256', conf.order_secret).update(`order-secret|${uid}|${aid}|${iid}`).digest('hex').slice(0, 32);

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 512 });

// HTTP to the side node: {status, headers, json, text, ms} (ms: client-side)
function httpTo(port, method, path, { token, body } = {}) {
  const headers = {};
  let payload = null;
  if (body !== undefined) { payload = JSON.stringify(body); headers['Content-Type'] = 'application/json'; headers['Content-Length'] = Buffer.byteLength(payload); }
  if (token) headers.Authorization = `Bearer ${token}`;
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent: keepAlive }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, json, text, ms });
      });
    });
    req.setTimeout(15000, () => req.destroy(new Error(`timeout ${method} ${path}`)));
    req.on('error', reject);
    if (payload !== null) req.write(payload);
    req.end();
  });
}

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

// A second lighttpd with the stack's programs and config plus settings.
async function sideNode(settings) {
  const dir = mkdtempSync('/tmp/fs.sh.');
  const port = await freePort();
  let text = readFileSync(process.env.FLASH_CONF, 'utf8') + '\n# side node of 25-shed\n';
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
    env: { ...process.env, FLASH_VAR: dir }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => { stderr += c; });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const up = await waitFor(async () => {
    try { return (await httpTo(port, 'GET', '/api/_trivial')).status === 200; } catch { return false; }
  }, 15000, 100);
  const node = {
    port,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, sleep(10000)]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (!up) { await node.stop(); throw new Error(`side node did not come up: ${stderr}`); }
  return node;
}

const sideOrder = (node, aid, iid, uid = newUserId()) => httpTo(node.port, 'POST', '/api/order', {
  token: jwt(uid), body: { activity_id: aid, item_id: iid, quantity: 1, secret: secretOf(uid, aid, iid) },
});

// p99 (nearest rank) of ms values
const p99 = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.ceil(0.99 * s.length) - 1]; };

// A 503 of shedding: the error of API.md and a Retry-After of whole seconds
function assertShed(r) {
  assert.equal(r.status, 503, r.text);
  assert.equal(r.json?.error, 'unavailable', r.text);
  assert.match(String(r.headers['retry-after']), /^[1-9][0-9]*$/, 'Retry-After');
}

// flashsale_shed_total{reason} of /api/metrics (the stack's; the side
// node's processes add their counts to the same Redis)
async function shedTotal(reason) {
  const m = await get('/api/metrics');
  const line = m.text.split('\n').find((l) => l.startsWith(`flashsale_shed_total{reason="${reason}"}`));
  return line ? Number(line.split(' ').pop()) : -1;
}

test('shed-1 handler stopped during a rush: 503 + Retry-After at once, nothing accepted lost, orders resume', { timeout: 120000 }, async () => {
  const backlog = 40;
  const node = await sideNode({ shed_backlog: backlog });
  const handlerPid = Number(readFileSync(`${state}/order_handler.pid`, 'utf8').trim());
  let stopped = false;
  try {
    const alloc = 2000;
    const { aid, iid } = await makeSale({ stock: alloc });
    assert.equal((await sideOrder(node, aid, iid)).status, 202, 'a first order loads the sale');
    const before = await shedTotal('backlog');
    process.kill(handlerPid, 'SIGSTOP');
    stopped = true;
    // the rush: 300 buyers at once, 50 in flight at a time
    const rush = [];
    for (let i = 0; i < 300; i += 50) rush.push(...await Promise.all(Array.from({ length: 50 }, () => sideOrder(node, aid, iid))));
    const counts = statusCounts(rush);
    const accepted = rush.filter((r) => r.status === 202).map((r) => r.json.order_id);
    const shed = rush.filter((r) => r.status === 503);
    assert.ok(shed.length > 0 && accepted.length + shed.length === rush.length, JSON.stringify(counts));
    // one place-order process counts its own orders at once: no overshoot
    // beyond what the watcher's 50 ms could let through
    assert.ok(accepted.length >= backlog / 2 && accepted.length <= backlog + 10, JSON.stringify(counts));
    for (const r of shed) assertShed(r);
    // sequential requests once shedding: each answered at once
    const seq = [];
    for (let i = 0; i < 200; i++) seq.push(await sideOrder(node, aid, iid));
    for (const r of seq) assertShed(r);
    const p = p99(seq.map((r) => r.ms));
    assert.ok(p < 5, `p99 of the 503s ${p.toFixed(2)} ms`);
    // shed orders touched no store: stock and buyers count only the 202s
    const taken = accepted.length + 1;
    assert.equal(Number(redisRaw('GET', `fs:{${aid}:${iid}}:stock`)), alloc - taken, 'Redis stock');
    assert.equal(Number(redisRaw('HLEN', `fs:{${aid}:${iid}}:buyers`)), taken, 'buyers');
    // the metric (each process flushes its counts once a second)
    const counted = await waitFor(async () => {
      await sideOrder(node, aid, iid);
      return (await shedTotal('backlog')) >= before + shed.length + seq.length;
    }, 5000, 300);
    assert.ok(counted, `flashsale_shed_total{reason="backlog"} ${await shedTotal('backlog')}, before ${before}`);
    // the handler resumes: every 202 ends in MySQL
    process.kill(handlerPid, 'SIGCONT');
    stopped = false;
    const inDb = () => Number(sqlValue(`SELECT COUNT(*) FROM orders WHERE activity_id=${aid} AND item_id=${iid}`));
    let all = await waitFor(() => inDb() >= taken, 10000, 200);
    if (!all) { await sleep(1200); runProgram('reconcile'); all = await waitFor(() => inDb() >= taken, 10000, 200); }
    assert.equal(inDb(), taken, 'every accepted order is in MySQL');
    assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM orders WHERE id IN (${accepted.join(',')})`)), accepted.length);
    // and orders are taken again once the backlog is gone
    const again = await waitFor(async () => { const r = await sideOrder(node, aid, iid); return r.status === 202 ? r : null; }, 5000, 100);
    assert.ok(again, 'orders resume after the handler resumes');
  } finally {
    if (stopped) process.kill(handlerPid, 'SIGCONT');
    await node.stop();
  }
});

// A proxy to the stack's Redis that can go silent: accepts connections and
// swallows every byte both ways (a hung Redis or a dead network: each call
// waits for its timeout, a new connection is accepted and hangs too).
async function silentableRedis() {
  let silent = false;
  const sockets = new Set();
  const server = net.createServer((client) => {
    const up = net.connect(Number(conf.redis_port), '127.0.0.1');
    sockets.add(client); sockets.add(up);
    client.on('data', (b) => { if (!silent && !up.destroyed) up.write(b); });
    up.on('data', (b) => { if (!silent && !client.destroyed) client.write(b); });
    const end = () => { client.destroy(); up.destroy(); sockets.delete(client); sockets.delete(up); };
    client.on('close', end); up.on('close', end);
    client.on('error', () => {}); up.on('error', () => {});
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    silence(on) { silent = on; },
    async close() { for (const s of sockets) s.destroy(); await new Promise((resolve) => server.close(resolve)); },
  };
}

test('shed-2 Redis silent: detail answers stale 200, place-order 503 at once (breaker), both recover', { timeout: 120000 }, async () => {
  const proxy = await silentableRedis();
  const node = await sideNode({ redis_port: proxy.port, redis_timeout_ms: 300, breaker_ms: 1000 });
  try {
    const { aid, iid } = await makeSale({ stock: 50 });
    assert.equal((await sideOrder(node, aid, iid)).status, 202);
    const fresh = await httpTo(node.port, 'GET', `/api/detail/${aid}/${iid}`);
    assert.equal(fresh.status, 200);
    assert.equal(fresh.json.stale, undefined, 'no stale mark while Redis answers');
    assert.equal(fresh.json.remaining, 49);

    proxy.silence(true);
    // detail: its last copy, marked stale, while Redis is away
    const stale = await waitFor(async () => {
      const r = await httpTo(node.port, 'GET', `/api/detail/${aid}/${iid}`);
      return r.status === 200 && r.json.stale === true ? r : null;
    }, 8000, 100);
    assert.ok(stale, 'detail says stale');
    assert.equal(stale.json.remaining, 49, 'the last copy');
    assert.equal(stale.json.item_id, iid);
    for (let i = 0; i < 10; i++) {
      const r = await httpTo(node.port, 'GET', `/api/detail/${aid}/${iid}`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.stale, true);
    }
    // place-order: the first calls pay Redis's timeout and open the breaker
    const opened = await waitFor(async () => {
      const r = await sideOrder(node, aid, iid);
      return r.status === 503 && r.ms < 50 ? r : null;
    }, 8000, 0);
    assert.ok(opened, 'the breaker opens');
    const seq = [];
    for (let i = 0; i < 200; i++) seq.push(await sideOrder(node, aid, iid));
    assert.deepEqual(statusCounts(seq), { 503: 200 });
    for (const r of seq) assertShed(r);
    const p = p99(seq.map((r) => r.ms));
    assert.ok(p < 5, `p99 of the 503s ${p.toFixed(2)} ms (no timeout per request)`);

    proxy.silence(false);
    // the breaker half-opens, its probe finds Redis: orders again
    const back = await waitFor(async () => { const r = await sideOrder(node, aid, iid); return r.status === 202 ? r : null; }, 8000, 200);
    assert.ok(back, 'orders are taken again once Redis answers');
    const clean = await waitFor(async () => {
      const r = await httpTo(node.port, 'GET', `/api/detail/${aid}/${iid}`);
      return r.status === 200 && r.json.stale === undefined ? r : null;
    }, 8000, 200);
    assert.ok(clean, 'detail is fresh again');
    assert.equal(clean.json.remaining, 48);
    assert.ok(await shedTotal('breaker') >= 200 || await waitFor(async () => {
      await sideOrder(node, aid, iid);
      return (await shedTotal('breaker')) >= 200;
    }, 5000, 300), 'flashsale_shed_total{reason="breaker"}');
  } finally {
    await node.stop();
    await proxy.close();
  }
});
