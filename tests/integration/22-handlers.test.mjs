// Two order handlers on one pipe: the FastCGI processes deal orders to both,
// both write, and MySQL still holds each accepted order exactly once and
// never more than the stock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync, openSync } from 'node:fs';
import {
  post, jwt, newUserId, makeSale, secretFor, burst, statusCounts, redisRaw, sqlValue, waitFor,
  sleep, flashctl, state, conf,
} from '../lib/flash.mjs';

test('handlers-1.1 two handlers share the queue; no order is written twice or lost', async () => {
  const confPath = process.env.FLASH_CONF;
  const original = readFileSync(confPath, 'utf8');
  const second = `ipc://${state}/orders2.ipc`;
  const log = `${state}/order_handler2.log`;
  let child;
  try {
    appendFileSync(confPath, `queue_endpoint = ${conf.queue_endpoint},${second}\n`);
    child = spawn(`${process.env.FLASH_BIN}/order_handler`, [second], {
      env: { ...process.env, FLASH_CONF: confPath }, stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')],
    });
    await waitFor(() => { try { readFileSync(`${state}/orders2.ipc`); return false; } catch (e) { return e.code !== 'ENOENT'; } }, 5000);
    // the FastCGI programs read the queue list at start-up
    flashctl('lighttpd-stop');
    flashctl('lighttpd-start');

    const stock = 300;
    const { aid, iid } = await makeSale({ stock });
    const users = [];
    for (let i = 0; i < 1000; i++) { const uid = newUserId(); users.push({ uid, token: jwt(uid) }); }
    await Promise.all(users.map(async (u) => { u.secret = await secretFor(u.token, aid, iid); }));
    const results = await burst(users.length, (i) => post('/api/order',
      { activity_id: aid, item_id: iid, secret: users[i].secret }, { token: users[i].token }));
    const counts = statusCounts(results);
    assert.equal(counts[202], stock, JSON.stringify(counts));
    const ok = await waitFor(() => Number(sqlValue(`SELECT COUNT(*) FROM orders WHERE activity_id=${aid} AND status='unpaid'`)) === stock, 15000);
    assert.ok(ok, 'all accepted orders are in MySQL');
    assert.equal(Number(sqlValue(`SELECT COUNT(*) FROM orders WHERE activity_id=${aid}`)), stock);
    assert.equal(sqlValue(`SELECT stock FROM activity_items WHERE activity_id=${aid}`), '0');
    assert.equal(redisRaw('GET', `fs:{${aid}:${iid}}:stock`), '0');

    // the second handler did part of the work
    child.kill('SIGTERM');
    await new Promise((res) => child.once('exit', res));
    child = null;
    const m = readFileSync(log, 'utf8').match(/stopping: orders written (\d+)/);
    assert.ok(m, 'the second handler reports on stop');
    assert.ok(Number(m[1]) > 0 && Number(m[1]) < stock, `second handler wrote ${m && m[1]} of ${stock}`);
  } finally {
    if (child) { child.kill('SIGTERM'); await sleep(300); }
    writeFileSync(confPath, original);
    flashctl('lighttpd-stop');
    flashctl('lighttpd-start');
  }
});
