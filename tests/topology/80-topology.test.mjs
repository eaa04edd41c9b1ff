// The whole topology (scripts/cluster.sh, API.md "Scale-out"): HAProxy in front
// of two web nodes, a MariaDB primary + replica, two order handlers. Fault tests:
// a web node killed mid-rush, the replica stopped, the primary killed mid-rush
// and the replica promoted. Every request loop is bounded in count and time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import {
  conf, state, root, get, post, jwt, newUserId, makeSale, secretFor, statusCounts,
  waitFor, sleep,
} from '../lib/flash.mjs';

// one command on HAProxy's admin socket; its answer (bounded: 5 s)
function haproxyCmd(text) {
  return new Promise((resolve, reject) => {
    const s = net.connect(`${state}/haproxy.stat`, () => s.write(`${text}\n`));
    let out = '';
    s.setTimeout(5000, () => { s.destroy(); reject(new Error('timeout')); });
    s.on('data', (d) => { out += d; });
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}
const cluster = (...args) => execFileSync(`${root}/scripts/cluster.sh`, [args[0], state, ...args.slice(1).map(String)],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120000 });
const topo = () => JSON.parse(readFileSync(`${state}/cluster.json`, 'utf8'));
// SQL as root on one MariaDB node (1: the first, 2: the second)
const sock = (n) => (n === 1 ? `${state}/mysqld.sock` : `${state}/replica/mysqld.sock`);
function sqlOn(n, query) {
  const out = execFileSync('mariadb', ['--no-defaults', `--socket=${sock(n)}`, '-uroot', 'flash', '-N', '-B', '-e', query],
    { encoding: 'utf8', timeout: 15000 });
  return out.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}
const primaryNode = () => (topo().mysql.findIndex((m) => m.role === 'primary') + 1);

// users with tokens and secrets, fetched before the rush
async function usersFor(aid, iid, n) {
  const users = [];
  for (let i = 0; i < n; i++) { const uid = newUserId(); users.push({ uid, token: jwt(uid) }); }
  for (let i = 0; i < n; i += 100) {
    await Promise.all(users.slice(i, i + 100).map(async (u) => { u.secret = await secretFor(u.token, aid, iid); }));
  }
  return users;
}
// a rush in waves; a request that fails at the socket counts as status 0
function rush(aid, iid, users) {
  const results = [];
  let next = 0;
  const wave = async (n) => {
    const batch = users.slice(next, next + n);
    next += batch.length;
    const rs = await Promise.all(batch.map((u) => post('/api/order',
      { activity_id: aid, item_id: iid, quantity: 1, secret: u.secret }, { token: u.token, timeoutMs: 10000 })
      .catch(() => ({ status: 0 }))
      .then((r) => ({ ...r, uid: u.uid, at: Date.now() }))));
    results.push(...rs);
    return rs;
  };
  return { results, wave, left: () => users.length - next };
}
const liveOrders = (n, aid, iid) => Number(sqlOn(n, `SELECT COUNT(*) FROM orders WHERE activity_id=${aid} AND item_id=${iid} AND status IN ('unpaid','paid')`)[0][0]);
const inMysql = (n, ids) => Number(sqlOn(n, `SELECT COUNT(*) FROM orders WHERE id IN (${ids.join(',')}) AND status IN ('unpaid','paid')`)[0][0]);

test('topo-1 cluster.json describes the topology as API.md says', () => {
  const c = topo();
  assert.equal(c.http, `http://127.0.0.1:${conf.http_port}`);
  assert.equal(c.conf.endsWith('flashsale.conf'), true);
  assert.equal(readFileSync(`${root}/${c.conf}`, 'utf8').includes(`http_port = ${conf.http_port}`), true, 'conf is relative to the root');
  assert.equal(c.redis.length, 6);
  assert.equal(c.redis.filter((r) => r.role === 'master').length, 3);
  assert.equal(c.redis.filter((r) => r.role === 'replica').length, 3);
  assert.deepEqual(c.mysql.map((m) => m.role).sort(), ['primary', 'replica']);
  assert.deepEqual(c.mysql.map((m) => m.addr), [`127.0.0.1:${conf.mysql_port}`, `127.0.0.1:${Number(conf.mysql_port) + 1}`]);
  assert.deepEqual(c.web, [{ addr: `127.0.0.2:${conf.http_port}` }, { addr: `127.0.0.3:${conf.http_port}` }]);
  assert.equal(c.handlers, 2);
});

test('topo-2 liveness on each node, readiness with the replication mode, JSON from HAProxy', async () => {
  const live = await get('/api/health/live');
  assert.equal(live.status, 200);
  assert.deepEqual(live.json, { live: true });
  const h = await get('/api/health');
  assert.equal(h.status, 200, h.text);
  assert.equal(h.json.mysql_replication, 'semisync', h.text);
  const m = await get('/api/metrics');
  assert.match(m.text, /^flashsale_mysql_semisync 1$/m);
  assert.match(m.text, /^flashsale_redis_cluster_ok 1$/m);
  // the answer with no web node up is JSON too (both taken out
  // through HAProxy's admin socket, then put back)
  try {
    for (const n of [2, 3]) await haproxyCmd(`disable server web/web${n}`);
    // a new connection: HAProxy passes TCP, so a kept-alive one stays with
    // its node until it closes
    assertJsonError(await rawHttp('GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      503, 'unavailable');
    // the answerer with no node up is a lighttpd (scripts/cluster.sh's
    // fallback): a request that does not parse is its JSON 400
    assertJsonError(await rawHttp('GET /a b c d\r\n\r\n'), 400, 'bad_request');
  } finally {
    for (const n of [2, 3]) await haproxyCmd(`enable server web/web${n}`);
  }
  assert.ok(await waitFor(async () => (await get('/api/health/live')).status === 200, 10000, 200));
});

// a raw request over a socket, from the address `from` (127.0.0.1 unless
// said); the whole answer (bounded: ms, 5 s)
function rawHttp(text, ms = 5000, from = undefined) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port: Number(conf.http_port), host: '127.0.0.1', localAddress: from }, () => s.write(text));
    let out = '';
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`timeout; so far: ${out}`)); }, ms);
    s.on('close', () => clearTimeout(timer));
    s.on('data', (d) => { out += d; });
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}
// a JSON error answer of lighttpd: status, application/json, "error" code
function assertJsonError(raw, status, code) {
  const at = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, at), body = raw.slice(at + 4);
  assert.match(head, new RegExp(`^HTTP/1\\.[01] ${status} `), raw);
  assert.match(head, /^content-type: application\/json/im, raw);
  assert.equal(JSON.parse(body).error, code, raw);
}

// HAProxy passes TCP (mode tcp, the PROXY protocol to the nodes): it parses
// no HTTP, so every HTTP answer is a node's lighttpd's, and lighttpd's own
// errors are JSON (static/errors/). A request line or header block that does
// not parse is a JSON 400 at once; headers or a body that never complete get
// no answer: lighttpd closes the connection after server.max-read-idle (30 s)
// without a 408, and HAProxy closes the client's side with it
test('topo-2h HAProxy answers no HTTP itself: a request that does not parse is a JSON 400, one that never completes a close', async () => {
  const t0 = Date.now();
  const slow = ['GET /api/health HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n',
    'POST /api/order HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"activity_id":']
    .map((text) => rawHttp(text, 45000).then((out) => ({ out, ms: Date.now() - t0 })));
  for (const bad of ['GET /api/health HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n', 'GET /a b c d\r\n\r\n',
    '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n']) {
    const t1 = Date.now();
    const raw = await rawHttp(bad);
    assertJsonError(raw, 400, 'bad_request');
    assert.ok(Date.now() - t1 < 2000, `answered after ${Date.now() - t1} ms`);
  }
  for (const { out, ms } of await Promise.all(slow)) {
    assert.equal(out, '', 'no answer, a close');
    assert.ok(ms > 25000 && ms < 40000, `closed after ${ms} ms (lighttpd's max-read-idle is 30 s)`);
  }
});

// the node sees the client's own address (the PROXY protocol), not
// HAProxy's: the topology's trusted_proxies is 127.0.0.1 (tests/run.sh), so
// a client on another loopback address is an untrusted client with a
// per-address limit of its own (login: rate_auth_per_ip_per_min)
test('topo-2c a node limits the client by its own address behind HAProxy (PROXY protocol)', async () => {
  const authLimit = Number(conf.rate_auth_per_ip_per_min || 30);
  const pick = () => `127.9.${Math.floor(Math.random() * 250) + 1}.${Math.floor(Math.random() * 250) + 1}`;
  const a = pick();
  let b = pick();
  while (b === a) b = pick();
  const body = JSON.stringify({ username: 'nobody_here', password: 1 });
  const login = (from) => rawHttp(`POST /api/user/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`, 5000, from)
    .then((raw) => Number(raw.slice(9, 12)));
  const codes = [];
  for (let i = 0; i < authLimit + 2; i++) codes.push(await login(a));
  assert.deepEqual(codes.slice(0, authLimit), Array(authLimit).fill(400), codes.join(' '));
  assert.deepEqual(codes.slice(authLimit), [429, 429], codes.join(' '));
  // another client address has its own bucket
  assert.equal(await login(b), 400);
});

// rows node n has read so far (grows when a query runs there)
const rowsRead = (n) => Number(sqlOn(n, "SELECT COALESCE(MAX(VARIABLE_VALUE), -1) FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN ('ROWS_READ', 'INNODB_ROWS_READ')")[0][0]);
test('topo-2r order lists read a caught-up replica; with its SQL thread stopped they and own status stay fresh', async () => {
  const p = primaryNode(), rn = 3 - p;
  const uid = newUserId(), token = jwt(uid);
  const order = async () => {
    const { aid, iid } = await makeSale({ stock: 5 });
    const r = await post('/api/order', { activity_id: aid, item_id: iid, quantity: 1, secret: await secretFor(token, aid, iid) }, { token });
    assert.equal(r.status, 202, r.text);
    assert.ok(await waitFor(() => inMysql(p, [r.json.order_id]) === 1, 15000), 'the order is in MySQL');
    return r.json.order_id;
  };
  const first = await order();
  // 30 list reads: the replica reads the user's rows each time
  const before = rowsRead(rn);
  assert.ok(before >= 0, 'the replica counts rows read');
  for (let i = 0; i < 30; i++) {
    const l = await get('/api/order-status', { token });
    assert.equal(l.status, 200, l.text);
    assert.deepEqual(l.json.orders.map((o) => o.order_id), [first]);
  }
  const grew = rowsRead(rn) - before;
  assert.ok(grew >= 30, `the replica served the list reads (Innodb_rows_read +${grew})`);
  // the replica stops applying: a list read right after a write still sees
  // it (the primary answers), and so does the order's own status
  sqlOn(rn, 'STOP SLAVE SQL_THREAD');
  try {
    const id = await order();
    const own = await get(`/api/order-status/${id}`, { token });
    assert.equal(own.status, 200, own.text);
    assert.equal(own.json.status, 'unpaid', own.text);
    const t0 = Date.now();
    const l = await get('/api/order-status', { token });
    assert.equal(l.status, 200, l.text);
    assert.deepEqual(l.json.orders.map((o) => o.order_id).sort(), [first, id].sort(), l.text);
    assert.ok(Date.now() - t0 < 3000, 'a behind replica costs one short wait');
  } finally {
    sqlOn(rn, 'START SLAVE SQL_THREAD');
  }
});

test('topo-3 kill -9 one web node mid-rush: HAProxy routes around it, every 202 in MySQL', async () => {
  const STOCK = 150, USERS = 700;
  const { aid, iid } = await makeSale({ stock: STOCK });
  const users = await usersFor(aid, iid, USERS);
  const { results, wave, left } = rush(aid, iid, users);
  const t0 = Date.now();
  let sold = 0;
  while (sold < STOCK / 3 && left() > 0 && Date.now() - t0 < 30000) sold += (await wave(20)).filter((r) => r.status === 202).length;
  assert.ok(sold >= STOCK / 3, `a third sold before the kill: ${JSON.stringify(statusCounts(results))}`);
  const killedAt = Date.now();
  cluster('web-kill', 2);
  try {
    // paced, so that the rush outlasts HAProxy's check of the dead node
    while (left() > 0 && Date.now() - killedAt < 8000) { await wave(10); await sleep(100); }
  } finally {
    cluster('web-start', 2);
  }
  const counts = statusCounts(results);
  // (0: the connection was cut with the node: no answer, so nothing accepted)
  for (const s of Object.keys(counts)) assert.ok(['0', '202', '410', '502', '503'].includes(s), `statuses ${JSON.stringify(counts)}`);
  // HAProxy has taken the dead node out within 3 s: no error after that
  const late = results.filter((r) => r.at - killedAt > 3000);
  assert.ok(late.length > 0, 'requests after the node died');
  assert.deepEqual(late.filter((r) => r.status !== 202 && r.status !== 410).map((r) => r.status), [],
    `after 3 s only 202 and 410: ${JSON.stringify(statusCounts(late))}`);
  const accepted = results.filter((r) => r.status === 202);
  assert.ok(accepted.length <= STOCK && accepted.length >= STOCK - 20, `sold out: ${JSON.stringify(counts)}`);
  const ids = accepted.map((r) => r.json.order_id);
  const p = primaryNode();
  assert.ok(await waitFor(() => inMysql(p, ids) === ids.length, 30000), `MySQL holds ${inMysql(p, ids)} of ${ids.length} accepted orders`);
  assert.ok(liveOrders(p, aid, iid) <= STOCK, 'none oversold');
  // both nodes are back behind HAProxy
  assert.ok(await waitFor(async () => {
    const rs = await Promise.all(Array.from({ length: 6 }, () => get('/api/health/live').catch(() => ({ status: 0 }))));
    return rs.every((r) => r.status === 200);
  }, 15000, 300));
});

test('topo-3f kill -9 the fallback lighttpd mid-rush: the nodes serve on, nothing accepted is lost; start brings it back', async () => {
  const STOCK = 60, USERS = 200;
  const pidFile = `${state}/fallback/lighttpd.pid`;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  assert.ok(pid > 0 && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('fallback'), 'the fallback runs');
  const { aid, iid } = await makeSale({ stock: STOCK });
  const users = await usersFor(aid, iid, USERS);
  const { results, wave, left } = rush(aid, iid, users);
  await wave(20);
  process.kill(pid, 'SIGKILL');
  assert.ok(await waitFor(() => { try { process.kill(pid, 0); return false; } catch { return true; } }, 5000, 50), 'it died');
  while (left() > 0) await wave(20);
  const counts = statusCounts(results);
  // the backup server is asked only with no node up: the rush never sees it
  assert.deepEqual(Object.keys(counts).filter((st) => st !== '202' && st !== '410'), [], `statuses ${JSON.stringify(counts)}`);
  const ids = results.filter((r) => r.status === 202).map((r) => r.json.order_id);
  assert.equal(ids.length, STOCK, `sold out exactly: ${JSON.stringify(counts)}`);
  const p = primaryNode();
  assert.ok(await waitFor(() => inMysql(p, ids) === ids.length, 30000), `MySQL holds ${inMysql(p, ids)} of ${ids.length} accepted orders`);
  assert.equal(liveOrders(p, aid, iid), STOCK, 'none oversold');
  // start (idempotent) puts the missing part back; with no node up it answers again
  cluster('start');
  const again = Number(readFileSync(pidFile, 'utf8').trim());
  assert.notEqual(again, pid, 'a new fallback');
  try {
    for (const n of [2, 3]) await haproxyCmd(`disable server web/web${n}`);
    assertJsonError(await rawHttp('GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), 503, 'unavailable');
  } finally {
    for (const n of [2, 3]) await haproxyCmd(`enable server web/web${n}`);
  }
  assert.ok(await waitFor(async () => (await get('/api/health/live')).status === 200, 10000, 200));
});

test('topo-4 the replica stopped: commits go on, health says async; back: semisync', async () => {
  const p = primaryNode(), rn = 3 - p;
  cluster('mysql-stop', rn);
  try {
    const { aid, iid } = await makeSale({ stock: 5 });
    const uid = newUserId(), token = jwt(uid);
    const t0 = Date.now();
    const r = await post('/api/order', { activity_id: aid, item_id: iid, quantity: 1, secret: await secretFor(token, aid, iid) }, { token });
    assert.equal(r.status, 202, r.text);
    assert.ok(await waitFor(() => inMysql(p, [r.json.order_id]) === 1, 15000), 'the order committed without the replica');
    assert.ok(Date.now() - t0 < 15000);
    const h = await waitFor(async () => { const x = await get('/api/health'); return x.json?.mysql_replication === 'async' && x; }, 10000, 200);
    assert.ok(h, 'health says async');
    assert.equal(h.status, 200, 'a primary without its replica is still ready');
    const m = await get('/api/metrics');
    assert.match(m.text, /^flashsale_mysql_semisync 0$/m);
  } finally {
    cluster('mysql-start', rn);
  }
  assert.ok(await waitFor(async () => (await get('/api/health')).json?.mysql_replication === 'semisync', 20000, 300), 'semisync again');
});

test('topo-5 kill -9 the primary mid-rush, promote: every 202 in MySQL on the new primary, none oversold', async () => {
  const STOCK = 120, USERS = 400;
  const old = primaryNode(), nw = 3 - old;
  const { aid, iid } = await makeSale({ stock: STOCK });
  const users = await usersFor(aid, iid, USERS);
  const { results, wave, left } = rush(aid, iid, users);
  const t0 = Date.now();
  let sold = 0;
  while (sold < STOCK / 3 && left() > 0 && Date.now() - t0 < 30000) sold += (await wave(20)).filter((r) => r.status === 202).length;
  assert.ok(sold >= STOCK / 3, `a third sold before the kill: ${JSON.stringify(statusCounts(results))}`);
  cluster('mysql-kill', old);
  try {
    // orders keep being accepted while MySQL has no primary (the journal)
    let during = 0;
    for (let i = 0; i < 3 && left() > 0; i++) during += (await wave(15)).filter((r) => r.status === 202).length;
    assert.ok(during > 0, `accepted while the primary is down: ${JSON.stringify(statusCounts(results))}`);
    cluster('promote');
    assert.equal(primaryNode(), nw, 'cluster.json names the new primary');
    while (left() > 0 && Date.now() - t0 < 90000) await wave(25);
  } finally {
    cluster('mysql-start', old); // back as a replica of the new primary
  }
  const counts = statusCounts(results);
  for (const s of Object.keys(counts)) assert.ok(['202', '410', '503'].includes(s), `statuses ${JSON.stringify(counts)}`);
  const accepted = results.filter((r) => r.status === 202);
  assert.equal(accepted.length, STOCK, `sold out: ${JSON.stringify(counts)}`);
  const ids = accepted.map((r) => r.json.order_id);
  assert.ok(await waitFor(() => inMysql(nw, ids) === STOCK, 60000, 500),
    `the new primary holds ${inMysql(nw, ids)} of the ${STOCK} accepted orders`);
  assert.equal(liveOrders(nw, aid, iid), STOCK, 'none oversold');
  assert.equal(sqlOn(nw, `SELECT stock FROM activity_items WHERE activity_id=${aid} AND item_id=${iid}`)[0][0], '0');
  // the stats add up
  const st = await get(`/api/admin/activities/${aid}/stats`, { token: conf.admin_token });
  if (st.status === 200) t_statsAddUp(st.json, iid, STOCK);
  // the old primary replicates from the new one and catches up
  assert.ok(await waitFor(() => { try { return inMysql(old, ids) === STOCK; } catch { return false; } }, 30000, 500),
    'the old primary caught up as a replica');
  assert.equal(sqlOn(old, 'SELECT @@read_only')[0][0], '1');
  const h = await waitFor(async () => { const x = await get('/api/health'); return x.status === 200 && x; }, 20000, 300);
  assert.ok(h, 'healthy after the promotion');
});

function t_statsAddUp(s, iid, stock) {
  const it = (s.items || []).find((x) => Number(x.item_id) === Number(iid));
  if (!it) return;
  if (it.sold !== undefined) assert.equal(Number(it.sold), stock, JSON.stringify(it));
}

test('topo-6 health after the faults', async () => {
  await sleep(200);
  const h = await waitFor(async () => { const x = await get('/api/health'); return x.status === 200 && x; }, 20000, 300);
  assert.ok(h, 'healthy');
});

test('topo-7 metrics: the replica lag and the reconcile drift gauges', async () => {
  const m = await get('/api/metrics');
  assert.equal(m.status, 200);
  const lag = m.text.match(/^flashsale_mysql_replica_lag_seconds (-?\d+)$/m);
  assert.ok(lag, m.text);
  assert.ok(Number(lag[1]) >= 0 && Number(lag[1]) < 30, `a replicating replica's lag: ${lag[1]}`);
  // a reconcile run stores its drift count (0: nothing drifted)
  let out;
  try {
    out = execFileSync(`${process.env.FLASH_BIN}/reconcile`, [], { encoding: 'utf8', timeout: 60000 });
  } catch (e) { out = `${e.stdout}`; } // exit 1: drift or a failure, in its output
  const d = (await get('/api/metrics')).text.match(/^flashsale_reconcile_drift (-?\d+)$/m);
  assert.ok(d, 'the drift gauge');
  assert.equal(Number(d[1]) > 0, out.includes('DRIFT found'), `${out} / drift ${d[1]}`);
  assert.ok(Number(d[1]) >= 0, out);
});
