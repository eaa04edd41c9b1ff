// The set-up path that `make run` and `make stop` take (scripts/flashctl
// start, demo, stop), on a second stack of its own in a fresh folder: it comes
// up healthy, a second start is harmless, the demo sale loads and prints the
// URL and admin token, and stop leaves no process behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import http from 'node:http';
import { root } from '../lib/flash.mjs';

const flashctl = (cmd, dir) => execFileSync(`${root}/scripts/flashctl`, [cmd, dir, ...(cmd === 'start' ? ['--free-ports'] : [])],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: process.env });

function getJson(port, path) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(body) }));
    }).on('error', reject);
  });
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    // a zombie is gone for our purposes (PID 1 here reaps late)
    return !/State:\s+Z/.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch { return false; }
}

test('stack-1.1 start, start again, demo, health, stop: nothing left behind', { timeout: 120000 }, async () => {
  const dir = mkdtempSync('/tmp/fs.st.');
  try {
    flashctl('start', dir);
    const conf = Object.fromEntries(readFileSync(`${dir}/flashsale.conf`, 'utf8').split('\n')
      .map((l) => l.match(/^([a-z_0-9]+)\s*=\s*(.*)$/)).filter(Boolean).map((m) => [m[1], m[2]]));
    for (const k of ['admin_token', 'jwt_secret', 'pay_secret', 'order_secret', 'mysql_password']) {
      assert.match(conf[k], /^[0-9a-f]{64}$/, `${k} is a random secret`);
    }
    const pids = ['mysqld.pid', 'redis.pid', 'lighttpd.pid', 'order_handler.pid']
      .map((f) => Number(readFileSync(`${dir}/${f}`, 'utf8').trim()));
    pids.forEach((p) => assert.ok(alive(p)));
    // FastCGI children of lighttpd
    const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pids[2])], { encoding: 'utf8' })
      .split('\n').map(Number).filter(Boolean);
    assert.ok(children.length >= 8, `FastCGI programs running: ${children.length}`);

    const h = await getJson(conf.http_port, '/api/health');
    assert.equal(h.status, 200);
    assert.deepEqual(h.json, { redis: 'ok', mysql: 'ok', queue: 'ok', push: 'ok' });

    // a second start changes nothing and keeps the same processes and secrets
    flashctl('start', dir);
    assert.equal(Number(readFileSync(`${dir}/lighttpd.pid`, 'utf8')), pids[2]);
    assert.equal(readFileSync(`${dir}/flashsale.conf`, 'utf8').match(/admin_token = (\w+)/)[1], conf.admin_token);

    // the demo sale: URL and admin token printed, activities visible
    const out = execFileSync(`${root}/scripts/flashctl`, ['demo', dir], { encoding: 'utf8' });
    assert.match(out, new RegExp(`http://127\\.0\\.0\\.1:${conf.http_port}/`));
    assert.ok(out.includes(conf.admin_token), 'the admin token is printed');
    const d = await getJson(conf.http_port, '/api/detail');
    assert.equal(d.status, 200);
    assert.ok(d.json.activities.length >= 1, 'the demo activity is public');
    execFileSync(`${root}/scripts/flashctl`, ['demo', dir], { encoding: 'utf8' });
    const d2 = await getJson(conf.http_port, '/api/detail');
    assert.equal(d2.json.activities.length, d.json.activities.length, 'a second demo adds nothing');

    flashctl('stop', dir);
    for (const p of [...pids, ...children]) assert.ok(!alive(p), `pid ${p} is gone`);
    for (const f of ['mysqld.pid', 'redis.pid', 'lighttpd.pid', 'order_handler.pid']) {
      assert.ok(!existsSync(`${dir}/${f}`), `${f} removed`);
    }
    const listening = execFileSync('ss', ['-Htln'], { encoding: 'utf8' });
    for (const port of [conf.http_port, conf.redis_port, conf.mysql_port]) {
      assert.ok(!new RegExp(`:${port}\\b`).test(listening), `port ${port} closed`);
    }
  } finally {
    try { flashctl('stop', dir); } catch { /* already stopped */ }
    rmSync(dir, { recursive: true, force: true });
  }
});
