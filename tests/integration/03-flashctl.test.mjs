// scripts/flashctl start (what `make run` calls), on stacks of their own in
// fresh folders: settings from the environment reach every part on every
// start, a failed start leaves nothing of itself running and names what
// failed, and a start after a crash brings back exactly what died (a part
// runs only if it answers, whatever its pid file says).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, spawn, execFileSync } from 'node:child_process';
import {
  mkdtempSync, readFileSync, writeFileSync, rmSync, readdirSync, readlinkSync, existsSync,
  mkdirSync, symlinkSync, chmodSync, openSync, closeSync,
} from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import { root, outDir, sleep } from '../lib/flash.mjs';

const dirs = [];
const children = [];
after(() => {
  for (const c of children) { try { c.kill('SIGKILL'); } catch { /* gone */ } }
  for (const d of dirs) {
    flashctl('stop', d);
    rmSync(d, { recursive: true, force: true });
  }
});

function newDir() {
  const d = mkdtempSync('/tmp/fs.fc.');
  dirs.push(d);
  return d;
}

// flashctl CMD DIR [args] with extra environment; never throws. Its output
// goes to a file, not a pipe: a process it left behind holding the pipe
// would keep the call waiting.
let calls = 0;
function flashctl(cmd, dir, { env = {}, args = [], timeout = 180000 } = {}) {
  const base = { ...process.env };
  for (const k of ['FLASH_HTTP_PORT', 'FLASH_REDIS_PORT', 'FLASH_MYSQL_PORT']) delete base[k];
  const log = `${outDir || '/tmp'}/flashctl-${process.pid}-${++calls}.log`;
  const fd = openSync(log, 'w');
  let r;
  try {
    r = spawnSync(`${root}/scripts/flashctl`, [cmd, dir, ...args],
      { env: { ...base, ...env }, timeout, stdio: ['ignore', fd, fd] });
  } finally { closeSync(fd); }
  return { status: r.status, out: readFileSync(log, 'utf8') };
}

function readConf(dir) {
  const c = {};
  for (const l of readFileSync(`${dir}/flashsale.conf`, 'utf8').split('\n')) {
    const m = l.match(/^\s*([a-z_0-9]+)\s*=\s*(.*?)\s*$/);
    if (m) c[m[1]] = m[2];
  }
  return c;
}

const pidOf = (dir, f) => Number(readFileSync(`${dir}/${f}`, 'utf8').trim());

// a process that runs (a zombie does not: PID 1 here reaps late)
function alive(pid) {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch { return false; }
}

// every running process that belongs to the stack in dir: its command line,
// environment (FLASH_CONF, FLASH_VAR) or working folder names the folder
function processesOf(dir) {
  const found = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid || !alive(p)) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
      let env = '';
      try { env = readFileSync(`/proc/${p}/environ`, 'utf8'); } catch { /* gone */ }
      let cwd = '';
      try { cwd = readlinkSync(`/proc/${p}/cwd`); } catch { /* gone */ }
      if (cmd.includes(dir) || env.includes(`=${dir}`) || cwd === dir || cwd.startsWith(`${dir}/`)) {
        found.push(`${p} ${cmd.trim()}`);
      }
    } catch { /* gone meanwhile */ }
  }
  return found;
}

function listening(port) {
  return execFileSync('ss', ['-Htln', `sport = :${port}`], { encoding: 'utf8' }).trim() !== '';
}

// a port nothing listens on (the kernel's pick, then released)
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function health(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/api/health', agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => { try { resolve({ status: res.statusCode, json: JSON.parse(body) }); } catch { resolve({ status: res.statusCode }); } });
    });
    req.setTimeout(5000, () => req.destroy());
    req.on('error', () => resolve({ status: 0 }));
  });
}

const redisPing = (port) => spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8', timeout: 5000 }).stdout.trim();
const pids = (dir) => Object.fromEntries(['mysqld', 'redis', 'lighttpd', 'order_handler']
  .map((n) => [n, existsSync(`${dir}/${n}.pid`) ? pidOf(dir, `${n}.pid`) : 0]));

let main; // the stack of the first tests

test('flashctl-1.1 ports from the environment reach servers and programs on a later start too', { timeout: 240000 }, async () => {
  main = newDir();
  let r = flashctl('start', main, { args: ['--free-ports'] });
  assert.equal(r.status, 0, r.out);
  const c1 = readConf(main);
  assert.equal((await health(c1.http_port)).status, 200);

  const [hp, rp, mp] = [await freePort(), await freePort(), await freePort()];
  r = flashctl('start', main, {
    env: { FLASH_HTTP_PORT: hp, FLASH_REDIS_PORT: rp, FLASH_MYSQL_PORT: mp, FLASH_PAY_WINDOW_MS: '123456' },
  });
  assert.equal(r.status, 0, r.out);
  const h = await health(hp);
  assert.equal(h.status, 200, `health on the new port ${hp}: ${JSON.stringify(h)}\n${r.out}`);
  assert.deepEqual(h.json, { redis: 'ok', mysql: 'ok', queue: 'ok', push: 'ok' });
  // the servers moved: the new ports answer, the old ones are closed, so the
  // programs' healthy answer came through the new ones
  assert.equal(redisPing(rp), 'PONG');
  assert.equal(spawnSync('mariadb-admin', ['--no-defaults', '--protocol=tcp', '-h127.0.0.1', `-P${mp}`,
    '-uroot', 'ping'], { timeout: 10000 }).status, 0, `MariaDB answers on ${mp}`);
  for (const p of [c1.http_port, c1.redis_port, c1.mysql_port]) assert.ok(!listening(p), `old port ${p} closed`);
  // the single rule: the overrides are written into the file every part reads
  const c2 = readConf(main);
  assert.equal(c2.http_port, String(hp));
  assert.equal(c2.redis_port, String(rp));
  assert.equal(c2.mysql_port, String(mp));
  assert.equal(c2.public_url, `http://127.0.0.1:${hp}`);
  assert.equal(c2.pay_window_ms, '123456');
  assert.equal(c2.admin_token, c1.admin_token, 'secrets kept');
  // the order handler was restarted with the new setting
  assert.match(readFileSync(`${main}/order_handler.log`, 'utf8'), /pay window 123456 ms/);

  // a start without the variables keeps them and restarts nothing
  const before = pids(main);
  r = flashctl('start', main);
  assert.equal(r.status, 0, r.out);
  assert.deepEqual(pids(main), before);
  assert.equal((await health(hp)).status, 200);
});

test('flashctl-3.1 kill -9 of Redis, its pid file left naming a live stranger: start brings Redis back, touches nothing else', { timeout: 180000 }, async () => {
  assert.ok(main, 'the stack of flashctl-1.1');
  const c = readConf(main);
  const before = pids(main);
  process.kill(before.redis, 'SIGKILL');
  // the pid is reused by another process (or stays a zombie for a while)
  const stranger = spawn('sleep', ['120'], { stdio: 'ignore' });
  children.push(stranger);
  writeFileSync(`${main}/redis.pid`, `${stranger.pid}\n`);
  for (let i = 0; i < 50 && redisPing(c.redis_port) === 'PONG'; i++) await sleep(100);
  assert.notEqual(redisPing(c.redis_port), 'PONG', 'Redis is down');

  const r = flashctl('start', main);
  assert.equal(r.status, 0, r.out);
  assert.equal(redisPing(c.redis_port), 'PONG', r.out);
  assert.ok(alive(stranger.pid), 'the process the stale pid file named is left alone');
  const now = pids(main);
  assert.notEqual(now.redis, stranger.pid);
  assert.ok(alive(now.redis));
  for (const k of ['mysqld', 'lighttpd', 'order_handler']) assert.equal(now[k], before[k], `${k} kept`);
  const h = await health(c.http_port);
  assert.equal(h.status, 200, JSON.stringify(h));
});

test('flashctl-3.2 kill -9 of MariaDB, the order handler and lighttpd: start brings each back', { timeout: 180000 }, async () => {
  assert.ok(main, 'the stack of flashctl-1.1');
  const c = readConf(main);
  const before = pids(main);
  for (const k of ['mysqld', 'order_handler', 'lighttpd']) process.kill(before[k], 'SIGKILL');
  const r = flashctl('start', main);
  assert.equal(r.status, 0, r.out);
  const now = pids(main);
  for (const k of ['mysqld', 'order_handler', 'lighttpd']) {
    assert.notEqual(now[k], before[k], `${k} restarted`);
    assert.ok(alive(now[k]), `${k} runs`);
  }
  assert.equal(now.redis, before.redis, 'Redis kept');
  const h = await health(c.http_port);
  assert.equal(h.status, 200, JSON.stringify(h));
  assert.deepEqual(h.json, { redis: 'ok', mysql: 'ok', queue: 'ok', push: 'ok' });

  const s = flashctl('stop', main);
  assert.equal(s.status, 0, s.out);
  assert.deepEqual(processesOf(main), [], 'stop leaves nothing running');
});

test('flashctl-2.1 lighttpd\'s port taken: start fails, says so, and leaves nothing of itself running', { timeout: 180000 }, async () => {
  const dir = newDir();
  assert.equal(flashctl('init', dir, { args: ['--free-ports'] }).status, 0);
  const c = readConf(dir);
  const blocker = net.createServer();
  await new Promise((res) => blocker.listen(Number(c.http_port), '127.0.0.1', res));
  let r;
  try {
    r = flashctl('start', dir);
  } finally {
    await new Promise((res) => blocker.close(res));
  }
  assert.notEqual(r.status, 0, r.out);
  assert.match(r.out, /lighttpd/i);
  assert.match(r.out, new RegExp(`port ${c.http_port}`));
  assert.deepEqual(processesOf(dir), [], `nothing of the failed start runs:\n${r.out}`);
  for (const p of [c.redis_port, c.mysql_port]) assert.ok(!listening(p), `port ${p} closed`);

  // the port free again, the same folder starts cleanly
  r = flashctl('start', dir);
  assert.equal(r.status, 0, r.out);
  assert.equal((await health(c.http_port)).status, 200);
  assert.equal(flashctl('stop', dir).status, 0);
  assert.deepEqual(processesOf(dir), []);
});

test('flashctl-2.2 lighttpd up but /api/health never answers: start fails after its wait, names it, stops all it started', { timeout: 180000 }, async () => {
  const dir = newDir();
  // the programs of the build, but the health program hangs without answering
  const bin = `${dir}/bin`;
  mkdirSync(bin);
  for (const f of readdirSync(process.env.FLASH_BIN)) symlinkSync(`${process.env.FLASH_BIN}/${f}`, `${bin}/${f}`);
  rmSync(`${bin}/ops`);
  writeFileSync(`${bin}/ops`, '#!/bin/sh\nexec sleep 300\n');
  chmodSync(`${bin}/ops`, 0o755);
  const t0 = Date.now();
  const r = flashctl('start', dir,
    { args: ['--free-ports'], env: { FLASH_BIN: bin, FLASHCTL_WAIT_S: '4' }, timeout: 90000 });
  const c = readConf(dir);
  assert.notEqual(r.status, 0, r.out);
  assert.match(r.out, /lighttpd/i);
  assert.match(r.out, /api\/health/);
  assert.match(r.out, /stopped/i, 'it says what it stopped');
  assert.ok(Date.now() - t0 >= 4000, 'it waited');
  assert.deepEqual(processesOf(dir), [], `nothing of the failed start runs:\n${r.out}`);
  for (const p of [c.http_port, c.redis_port, c.mysql_port]) assert.ok(!listening(p), `port ${p} closed`);
});
