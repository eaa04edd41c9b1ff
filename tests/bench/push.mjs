// push.mjs: the push section of `make bench` (run by tests/bench/run.sh on
// its stack). Opens BENCH_PUSH_SOCKETS authenticated WebSockets (default
// 10,000, each its own user) to the one hub, spread over the stack's
// lighttpd and a second lighttpd that run.sh starts (BENCH_WEB2_PORT/PID,
// the same lighttpd.conf, its /api/push on the same hub socket: several web
// nodes before one hub), and reports the hub's RSS and each lighttpd's per
// socket; then a rush of BENCH_PUSH_ORDERS
// accepted orders (default 1,000, 64 at a time) by users holding a socket,
// and how long after each 202 its "queued" and "unpaid" events reached the
// socket (p50/p99). The client runs on the same cores as the stack.
import { readFileSync, readdirSync } from 'node:fs';
import { conf, state, jwt, makeSale, secretFor, post } from '../lib/flash.mjs';
import { wsConnect, wsCloseAll } from '../lib/ws.mjs';

// lighttpd holds two descriptors a WebSocket; leave room for the rest of
// its traffic under its open-files limit (20,000 hard in this container;
// lighttpd stops accepting at 90% of it). run.sh starts a second lighttpd
// (BENCH_WEB2_PORT/PID) whose /api/push reaches the same hub: the sockets are
// spread over both front ends, as over several web nodes before one hub.
const nofile = (pid) => Number((readFileSync(`/proc/${pid}/limits`, 'utf8').match(/Max open files\s+(\d+)/) || [0, 1e6])[1]);
const WANT = Number(process.env.BENCH_PUSH_SOCKETS || 10000);
const PAR = 64;
const fronts = [{ name: 'lighttpd 1', port: conf.http_port, pid: Number(readFileSync(`${state}/lighttpd.pid`, 'utf8')) }];
if (process.env.BENCH_WEB2_PORT && process.env.BENCH_WEB2_PID) {
  fronts.push({ name: 'lighttpd 2', port: Number(process.env.BENCH_WEB2_PORT), pid: Number(process.env.BENCH_WEB2_PID) });
}
for (const f of fronts) f.cap = Math.floor(nofile(f.pid) * 0.85 / 2);
// this client holds one descriptor a socket, and PAR HTTP connections
const selfCap = Math.floor(nofile(process.pid) * 0.9) - 4 * PAR;
const N = Math.min(WANT, selfCap, fronts.reduce((a, f) => a + f.cap, 0));
// socket i goes to front end i mod k while it has room
const frontOf = [];
{
  const used = fronts.map(() => 0);
  for (let i = 0, k = 0; i < N; i++) {
    while (used[k % fronts.length] >= fronts[k % fronts.length].cap) k++;
    frontOf.push(k % fronts.length); used[k % fronts.length]++; k++;
  }
}
const M = Math.min(N, Number(process.env.BENCH_PUSH_ORDERS || 1000));
const rss = (pid) => Number((readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/) || [0, 0])[1]);
const pidOf = (f) => Number(readFileSync(`${state}/${f}`, 'utf8').trim());
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))] : NaN; };
const say = (s) => process.stderr.write(`bench push: ${s}\n`);

async function pool(n, par, fn) {
  const out = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: par }, async () => {
    while (next < n) { const i = next++; out[i] = await fn(i); }
  }));
  return out;
}

const hub = pidOf('push_hub.pid');
const hub0 = rss(hub);
for (const f of fronts) { f.rss0 = rss(f.pid); f.open = 0; }
const base = 800000000 + Math.floor(Math.random() * 1e6) * 100;
const users = [];
let t = Date.now();
say(`opening ${N} sockets`);
const socks = await pool(N, 256, async (i) => {
  const uid = base + i;
  const token = jwt(uid);
  users[i] = { uid, token };
  for (let k = 0; k < 3; k++) {
    try {
      const ws = await wsConnect('/api/push', { port: fronts[frontOf[i]].port, timeoutMs: 20000 });
      ws.send({ type: 'auth', token });
      const r = await ws.next(() => true, 20000);
      if (r?.type === 'ready') { fronts[frontOf[i]].open++; return ws; }
      ws.destroy();
    } catch { /* retried */ }
  }
  return null;
});
const open = socks.filter(Boolean).length;
const openS = (Date.now() - t) / 1000;
await new Promise((r) => setTimeout(r, 1500));
const hub1 = rss(hub);
for (const f of fronts) f.rss1 = rss(f.pid);
const hubFds = readdirSync(`/proc/${hub}/fd`).length;

say(`a rush of ${M} orders`);
const sale = await makeSale({ stock: M + 10 });
const secrets = await pool(M, PAR, (i) => secretFor(users[i].token, sale.aid, sale.iid).catch(() => null));
const res = await pool(M, PAR, async (i) => {
  if (!socks[i] || !secrets[i]) return null;
  const t0 = Date.now();
  const r = await post('/api/order', { activity_id: sale.aid, item_id: sale.iid, quantity: 1, secret: secrets[i] },
    { token: users[i].token });
  return r.status === 202 ? { i, oid: r.json.order_id, t0, t202: Date.now() } : null;
});
const ok = res.filter(Boolean);
// wait for the unpaid events (bounded), then read the arrival times
const until = Date.now() + 20000;
const evAt = (r, status) => {
  const ws = socks[r.i];
  const k = ws.messages.findIndex((m) => m.type === 'order' && m.order_id === r.oid && m.status === status);
  return k < 0 ? null : ws.arrivals[k];
};
while (Date.now() < until && ok.some((r) => evAt(r, 'unpaid') === null)) await new Promise((r) => setTimeout(r, 100));
const q = [], u = [], http = [];
let lostQ = 0, lostU = 0;
for (const r of ok) {
  http.push(r.t202 - r.t0);
  const tq = evAt(r, 'queued'), tu = evAt(r, 'unpaid');
  if (tq === null) lostQ++; else q.push(Math.max(0, tq - r.t202));
  if (tu === null) lostU++; else u.push(Math.max(0, tu - r.t202));
}
const hub2 = rss(hub);
wsCloseAll();

const mib = (k) => (k / 1024).toFixed(1);
console.log('');
console.log('Push channel (tests/bench/push.mjs; client on the same cores):');
const lim = [N < WANT ? `${WANT} asked; the open-files limits allow ${N}` : ''].filter(Boolean);
console.log(`  sockets: ${open} of ${N} authenticated in ${openS.toFixed(1)} s, all on the one hub (${hubFds} descriptors open), ` +
  `over ${fronts.length} lighttpd front end${fronts.length > 1 ? 's' : ''} (${fronts.map((f) => f.open).join(' + ')}; like several web nodes ` +
  `before one hub: one lighttpd holds two descriptors a WebSocket, and this container's hard limit is ${nofile(fronts[0].pid)} open files)` +
  (lim.length ? ` (${lim.join('; ')})` : ''));
console.log(`  hub RSS: ${mib(hub0)} MiB idle, ${mib(hub1)} MiB with them (${((hub1 - hub0) * 1024 / Math.max(open, 1)).toFixed(0)} bytes a socket), ${mib(hub2)} MiB after the rush` +
  ` -> ${hub1 < 64 * 1024 && hub2 < 64 * 1024 ? 'under' : 'OVER'} the 64 MiB goal`);
for (const f of fronts) {
  console.log(`  ${f.name} RSS: ${mib(f.rss0)} -> ${mib(f.rss1)} MiB (${((f.rss1 - f.rss0) * 1024 / Math.max(f.open, 1)).toFixed(0)} bytes a socket, ${f.open} sockets)`);
}
console.log(`  rush: ${ok.length} of ${M} orders accepted; 202 p50 ${pct(http, 50)} ms, p99 ${pct(http, 99)} ms`);
console.log(`  event after its 202: queued p50 ${pct(q, 50)} ms, p99 ${pct(q, 99)} ms (${lostQ} missing); ` +
  `unpaid p50 ${pct(u, 50)} ms, p99 ${pct(u, 99)} ms (${lostU} missing)`);
process.exit(0);
