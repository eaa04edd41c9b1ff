// 50-warmup: the cron warmup job and the CDN origin it renders: which
// activities it loads into Redis, that a second run (or a run during the
// sale) changes nothing, the rendered JSON and how lighttpd serves it
// (Cache-Control, ETag, 304, gzip), cdn_push_cmd, and the crontab.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  conf, get, admin, makeSale, order, runProgram, redisRaw, sqlValue, root, waitFor,
} from '../lib/flash.mjs';

const origin = conf.origin_dir;
const stockOf = (aid, iid) => redisRaw('GET', `fs:{${aid}:${iid}}:stock`);
const metaOf = (aid, iid) => redisRaw('EXISTS', `fs:{${aid}:${iid}}:meta`);
const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));
const listed = (aid) => readJson(join(origin, 'activities.json')).activities.find((a) => a.activity_id === aid);

// Runs warmup with extra environment; returns {status, stderr}.
function warmupWith(env) {
  const r = spawnSync(`${process.env.FLASH_BIN}/warmup`, [], {
    encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60000,
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

test('warmup-1.1 a run during the sale leaves Redis remaining unchanged', async () => {
  const s = await makeSale({ stock: 5, startInMs: -1000 });
  for (let i = 0; i < 2; i++) assert.equal((await order(s.aid, s.iid)).status, 202);
  assert.equal(stockOf(s.aid, s.iid), '3');
  runProgram('warmup');
  runProgram('warmup');
  assert.equal(stockOf(s.aid, s.iid), '3');
  // the meta hash lost (evicted, flushed): warmed again, the live counter kept
  redisRaw('DEL', `fs:{${s.aid}:${s.iid}}:meta`);
  runProgram('warmup');
  assert.equal(metaOf(s.aid, s.iid), '1');
  assert.equal(stockOf(s.aid, s.iid), '3');
  // the detail service may lag by a second (API.md)
  const d = await waitFor(async () => {
    const r = await get(`/api/detail/${s.aid}/${s.iid}`);
    return r.json?.remaining === 3 && r;
  }, 3000);
  assert.ok(d, 'detail shows remaining 3');
});

test('warmup-1.2 a published activity due within the hour is warmed and rendered', async () => {
  const s = await makeSale({ stock: 4, startInMs: 30 * 60 * 1000, warm: false, name: 'warm me' });
  assert.equal(sqlValue(`SELECT warmed_ms IS NULL FROM activities WHERE id = ${s.aid}`), '1');
  assert.equal(metaOf(s.aid, s.iid), '0');
  runProgram('warmup');
  assert.equal(sqlValue(`SELECT warmed_ms IS NOT NULL FROM activities WHERE id = ${s.aid}`), '1');
  assert.equal(metaOf(s.aid, s.iid), '1');
  assert.equal(stockOf(s.aid, s.iid), '4');

  const file = join(origin, 'activity', `${s.aid}.json`);
  assert.ok(existsSync(file), `${file} exists`);
  const a = readJson(file).activity;
  assert.equal(a.activity_id, s.aid);
  assert.equal(a.start_ms, s.start_ms);
  assert.equal(a.end_ms, s.end_ms);
  assert.equal(a.items.length, 1);
  const it = a.items[0];
  assert.equal(it.item_id, s.iid);
  assert.equal(it.name, 'warm me');
  assert.equal(it.flash_price_cents, 999);
  assert.equal(it.price_cents, 1999);
  assert.equal(it.stock, 4);
  assert.deepEqual(it.images, []);
  assert.equal(readJson(file).now_ms, undefined, 'no now_ms in a static file');
  assert.ok(listed(s.aid), 'in activities.json');
});

test('warmup-1.3 a second run rewrites nothing; lighttpd serves the JSON with ETag and 304', async () => {
  const s = await makeSale({ stock: 2, startInMs: 10 * 60 * 1000 });
  runProgram('warmup');
  const files = [join(origin, 'activities.json'), join(origin, 'activity', `${s.aid}.json`)];
  const before = files.map((f) => statSync(f).mtimeMs);
  await new Promise((r) => setTimeout(r, 20));
  runProgram('warmup');
  assert.deepEqual(files.map((f) => statSync(f).mtimeMs), before, 'unchanged files are not rewritten');

  const path = `/cdn/activity/${s.aid}.json`;
  const r = await get(path);
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'], /^application\/json/);
  assert.match(r.headers['cache-control'], /max-age=\d+/);
  assert.ok(r.headers.etag, 'has an ETag');
  assert.equal(r.json.activity.activity_id, s.aid);
  const again = await get(path, { headers: { 'If-None-Match': r.headers.etag } });
  assert.equal(again.status, 304);
  assert.equal(again.text, '');
  // gzip: its own ETag, revalidated the same way
  const gz = await get(path, { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.ok(gz.headers.etag);
  const gz304 = await get(path, { headers: { 'Accept-Encoding': 'gzip', 'If-None-Match': gz.headers.etag } });
  assert.equal(gz304.status, 304);
  // the same ETag after another run: the CDN keeps its copy
  runProgram('warmup');
  assert.equal((await get(path)).headers.etag, r.headers.etag);

  const list = await get('/cdn/activities.json');
  assert.equal(list.status, 200);
  assert.ok(list.headers.etag);
  assert.ok(list.json.activities.some((a) => a.activity_id === s.aid));
  // the API is never cached
  for (const p of ['/api/detail', '/api/detail/', `/api/detail/${s.aid}/${s.iid}`]) {
    const a = await get(p);
    assert.equal(a.headers['cache-control'], 'no-store', p);
    assert.equal(a.headers.etag, undefined, p);
  }
  // the pages and their scripts: cacheable, revalidated
  for (const p of ['/', '/item.html', '/js/api.js', '/css/site.css']) {
    const a = await get(p);
    assert.equal(a.status, 200, p);
    assert.match(a.headers['cache-control'], /public, max-age=\d+/, p);
    assert.ok(a.headers.etag, p);
  }
});

test('warmup-1.4 later, draft and ended activities are not warmed; only published ones are listed', async () => {
  const later = await makeSale({ startInMs: 2 * 3600 * 1000, warm: false });
  const draft = await makeSale({ startInMs: 5 * 60 * 1000, publish: false });
  runProgram('warmup');
  assert.equal(sqlValue(`SELECT warmed_ms IS NULL FROM activities WHERE id = ${later.aid}`), '1');
  assert.equal(metaOf(later.aid, later.iid), '0');
  assert.ok(listed(later.aid), 'an upcoming published activity is listed');
  assert.ok(!existsSync(join(origin, 'activity', `${later.aid}.json`)), 'no file before its warmup');
  assert.equal(metaOf(draft.aid, draft.iid), '0');
  assert.equal(listed(draft.aid), undefined, 'a draft is not public');

  const ended = await makeSale({ start_ms: Date.now() - 5000, end_ms: Date.now() + 1500 });
  runProgram('warmup');
  assert.ok(listed(ended.aid));
  await new Promise((r) => setTimeout(r, 1800));
  runProgram('warmup');
  assert.equal(listed(ended.aid), undefined, 'an ended activity leaves the list');
});

test('warmup-1.5 cdn_push_cmd runs after the render; its failure is the exit status', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fs-push-'));
  try {
    const mark = join(dir, 'pushed');
    const ok = warmupWith({ FLASH_CDN_PUSH_CMD: `test -f '${origin}/activities.json' && touch '${mark}'` });
    assert.equal(ok.status, 0, ok.out);
    assert.ok(existsSync(mark), 'the command ran after activities.json was written');
    assert.match(ok.out, /cdn_push_cmd exited 0/);
    const bad = warmupWith({ FLASH_CDN_PUSH_CMD: 'exit 3' });
    assert.equal(bad.status, 1);
    assert.match(bad.out, /cdn_push_cmd exited 3/);
    const none = warmupWith({});
    assert.equal(none.status, 0, none.out);
    assert.doesNotMatch(none.out, /cdn_push_cmd/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('warmup-1.6 the crontab runs warmup, expire, reconcile and refund every minute', () => {
  const text = readFileSync(join(root, 'cron', 'flashsale.crontab'), 'utf8');
  const bin = process.env.FLASH_BIN, dir = process.env.FLASH_STATE;
  // the substitution scripts/flashctl's crontab_install does
  const lines = text.split('\n').filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => l.replaceAll('@ROOT@', root).replaceAll('@BIN@', bin).replaceAll('@DIR@', dir));
  const progs = ['warmup', 'expire', 'reconcile', 'refund'];
  assert.equal(lines.length, progs.length);
  for (const p of progs) {
    const l = lines.find((x) => x.includes(`${bin}/${p} `));
    assert.ok(l, `a line for ${p}`);
    assert.match(l, /^\* \* \* \* \* /);
    assert.ok(l.includes(`FLASH_CONF=${dir}/flashsale.conf`));
    assert.match(l, />> \S+\/cron\.log 2>&1$/);
    assert.ok(!/(^|[^\\])%/.test(l), 'no unescaped %');
    assert.ok(existsSync(`${bin}/${p}`), `${p} is built`);
  }
  // the warmup line runs as cron would: /bin/sh, minimal PATH, cwd $HOME
  const cmd = lines.find((x) => x.includes('/warmup ')).replace(/^(\S+\s+){5}/, '');
  execFileSync('/bin/sh', ['-c', cmd], { env: { PATH: '/usr/bin:/bin', HOME: '/root', SHELL: '/bin/sh' }, cwd: '/' });
  assert.match(readFileSync(`${dir}/cron.log`, 'utf8'), /warmup done/);
});

test('warmup-1.7 the admin warmup and the cron job agree', async () => {
  const s = await makeSale({ stock: 3, startInMs: 3 * 3600 * 1000 });
  // warmed by the admin route although it starts in 3 h: cron leaves it warm
  assert.equal(metaOf(s.aid, s.iid), '1');
  runProgram('warmup');
  assert.equal(stockOf(s.aid, s.iid), '3');
  assert.ok(existsSync(join(origin, 'activity', `${s.aid}.json`)));
  const r = await admin.get(`/api/admin/activities/${s.aid}/stats`);
  assert.equal(r.status, 200);
  assert.equal(r.json.items[0].remaining, 3);
});
