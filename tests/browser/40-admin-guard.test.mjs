// 40-admin-guard: the operator's page for the guard rails and the rains in
// headless Chromium against the test stack: an activity with a proof-of-work
// challenge and sale rules, an item in 2 shards, published and warmed; a user
// and an address blocked and unblocked; a rain created, published, warmed and
// its stats followed; the home page links to the live rain and the rain page
// links back. Each step is checked through the API (or MySQL/Redis), not only
// in the page. Fails on any console or page error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conf, admin, post, jwt, newUserId, sqlValue, redisRaw, waitFor } from '../lib/flash.mjs';
import { useBrowser, open } from './browser.mjs';

const tag = Date.now() % 100000;
useBrowser();

// browser.mjs's open, a little taller; allow: regexes of console errors
// provoked on purpose (a refused request).
const openAdmin = (allow = []) => open({ allow, viewport: { width: 1280, height: 900 } });

const ready = (page) => page.waitForSelector('body[data-ready="1"]', { timeout: 10000 });

async function adminPage(allow) {
  const b = await openAdmin(allow);
  await b.page.goto('/admin.html');
  await ready(b.page);
  await b.page.fill('#admin-token', conf.admin_token);
  await b.page.click('#save-token');
  return b;
}

test('adm-1 an activity with a pow challenge and rules, an item in 2 shards, published and warm', async () => {
  const item = await admin.post('/api/admin/items', {
    name: `guard lamp ${tag}`, title: 'A guarded lamp', description: 'd', price_cents: 4000, stock: 10, images: [],
  });
  assert.equal(item.status, 201, item.text);
  const iid = item.json.item_id;
  const b = await adminPage();
  const { page } = b;
  assert.equal(await page.isDisabled('#act-pow-bits'), true, 'work bits only for a proof of work');
  await page.fill('#act-name', `Guarded sale ${tag}`);
  await page.click('[data-in="300"]');
  await page.selectOption('#act-challenge', 'pow');
  assert.equal(await page.isDisabled('#act-pow-bits'), false);
  await page.fill('#act-pow-bits', '20');
  await page.fill('#act-min-age', '1');
  await page.selectOption('#act-min-age-unit', '3600');
  await page.fill('#act-max-ip', '3');
  await page.click('#act-submit');
  await page.locator('#act-result', { hasText: /Activity \d+ created/ }).waitFor();
  const aid = Number(await page.getAttribute('#act-result', 'data-activity-id'));
  await page.locator('#panel:visible').waitFor();
  assert.equal(await page.textContent('#panel-guard'),
    'Guard rails: proof of work, 20 bits · accounts 1 h old · 3 orders per address');
  assert.match(await page.textContent(`#activities tr[data-aid="${aid}"] td.guard`), /proof of work, 20 bits/);

  await page.fill('#add-item', String(iid));
  await page.fill('#add-price', '29.99');
  await page.fill('#add-stock', '6');
  await page.fill('#add-shards', '2');
  await page.click('#add-submit');
  await page.locator('#msg.msg-ok', { hasText: 'its stock in 2 shards' }).waitFor();
  await page.click('#publish');
  await page.locator('#panel-state', { hasText: 'published' }).waitFor();
  await page.click('#warmup');
  await page.locator('#msg.msg-ok', { hasText: 'is warm' }).waitFor();
  await page.locator(`#stats tr[data-iid="${iid}"] td.shards`, { hasText: '2' }).waitFor({ timeout: 10000 });
  assert.equal(await page.textContent(`#stats tr[data-iid="${iid}"] td.stock`), '6');
  await b.shot('adm-1-activity');

  // what the page did, as the API and the stores see it
  const a = await admin.get(`/api/admin/activities/${aid}`);
  assert.equal(a.status, 200);
  assert.deepEqual({ status: a.json.status, challenge: a.json.challenge, pow_bits: a.json.pow_bits, rules: a.json.rules },
    { status: 'published', challenge: 'pow', pow_bits: 20, rules: { min_account_age_s: 3600, max_orders_per_ip: 3 } });
  assert.deepEqual(a.json.items.map((it) => [it.item_id, it.flash_price_cents, it.stock, it.shards]), [[iid, 2999, 6, 2]]);
  assert.equal(sqlValue(`SELECT max_orders_per_ip FROM activity_rules WHERE activity_id = ${aid}`), '3');
  const st = await admin.get(`/api/admin/activities/${aid}/stats`);
  const row = st.json.items.find((x) => x.item_id === iid);
  assert.equal(row.shards.length, 2, 'the stock is in 2 shards in Redis');
  assert.equal(row.shards.reduce((n, s) => n + Number(s.remaining), 0), 6);
  await b.close();
});

test('adm-2 the blocklist panel blocks and unblocks a user and an address', async () => {
  const uid = String(800000000 + tag);
  const ip = `2001:DB8::${(tag % 65536).toString(16).toUpperCase()}`;
  const norm = ip.toLowerCase();
  const b = await adminPage([/status of 400/]);
  const { page } = b;
  await page.locator('#blocklist').waitFor();
  for (const v of [uid, ip]) {
    await page.fill('#block-value', v);
    await page.click('#block-submit');
    await page.locator('#msg.msg-ok', { hasText: 'is blocked' }).waitFor();
  }
  await page.locator(`#block-table tr[data-kind="user"][data-value="${uid}"]`).waitFor();
  await page.locator(`#block-table tr[data-kind="ip"][data-value="${norm}"]`).waitFor();
  let list = (await admin.get('/api/admin/blocklist')).json.entries;
  assert.ok(list.some((e) => e.user_id === uid), 'the user is listed by the API');
  assert.ok(list.some((e) => e.ip === norm), 'the address is listed, normalized');
  // a malformed entry: the API's 400 shows, nothing listed
  await page.fill('#block-value', 'not an address');
  await page.click('#block-submit');
  await page.locator('#msg.msg-error').waitFor();
  await b.shot('adm-2-blocklist');

  for (const v of [uid, norm]) {
    await page.click(`#block-table [data-unblock="${v}"]`);
    await page.locator(`#block-table tr[data-value="${v}"]`).waitFor({ state: 'detached' });
  }
  list = (await admin.get('/api/admin/blocklist')).json.entries;
  assert.ok(!list.some((e) => e.user_id === uid || e.ip === norm), 'both gone from the API');
  assert.equal(sqlValue(`SELECT COUNT(*) FROM blocklist WHERE value IN ('${uid}', '${norm}')`), '0');
  await b.close();
});

test('adm-3 a rain created, published, warmed and followed; home links to it and the rain page back', async () => {
  const name = `Page rain ${tag}`;
  const b = await adminPage();
  const { page } = b;
  await page.fill('#rain-name', name);
  await page.fill('#rain-total', '12.34');
  await page.fill('#rain-packets', '5');
  await page.click('[data-rain-in="0"]');
  await page.click('#rain-submit');
  await page.locator('#rain-result', { hasText: /Rain \d+ created \(draft\)/ }).waitFor();
  const rid = Number(await page.getAttribute('#rain-result', 'data-rain-id'));
  const row = page.locator(`#rains-table tr[data-rid="${rid}"]`);
  await row.locator('.badge', { hasText: 'draft' }).waitFor();
  let listed = (await admin.get('/api/admin/rains')).json.rains.find((r) => r.rain_id === rid);
  assert.deepEqual([listed.name, listed.status, listed.total_cents, listed.packets], [name, 'draft', 1234, 5]);
  assert.ok(listed.end_ms - listed.start_ms === 600000 && listed.start_ms <= Date.now());

  await row.locator(`[data-rain-publish="${rid}"]`).click();
  await row.locator('.badge', { hasText: 'live' }).waitFor();
  assert.equal(sqlValue(`SELECT COUNT(*) FROM rain_packets WHERE rain_id = ${rid}`), '5', 'the pot is cut');
  await row.locator(`[data-rain-warm="${rid}"]`).click();
  await page.locator('#msg.msg-ok', { hasText: `Rain ${rid} is warm` }).waitFor();
  assert.equal(redisRaw('LLEN', `fs:{r${rid}}:packets`), '5', 'warm: the packets are in Redis');
  await page.locator(`#rain-stats[data-rid="${rid}"]`).waitFor();
  assert.equal(await page.textContent('#rs-grabbed'), '0 of 5');

  // a user grabs; the stats follow on their own (every 2 s while it rains)
  const g = await post(`/api/rain/${rid}/grab`, {}, { token: jwt(newUserId()) });
  assert.equal(g.status, 200, g.text);
  await page.locator('#rs-grabbed', { hasText: '1 of 5' }).waitFor({ timeout: 10000 });
  const s = (await admin.get(`/api/admin/rains/${rid}/stats`)).json;
  assert.equal(s.grabbed, 1);
  assert.equal(s.grabbed_cents, g.json.amount_cents);
  assert.match(await page.textContent('#rs-grabbed-cents'), /of \$12\.34$/);
  assert.ok(await waitFor(async () => (await admin.get(`/api/admin/rains/${rid}/stats`)).json.credited === 1, 10000),
    'the grab is credited');
  await page.locator('#rs-credited', { hasText: /^1 \(/ }).waitFor({ timeout: 10000 });
  await b.shot('adm-3-rains');
  listed = (await admin.get('/api/admin/rains')).json.rains.find((r) => r.rain_id === rid);
  assert.deepEqual([listed.status, listed.state], ['published', 'live']);

  // the shop's home page links to the live rain; its page links back
  const home = await b.ctx.newPage();
  await home.goto('/');
  await ready(home);
  const card = home.locator(`#rain-${rid}`);
  await card.waitFor();
  assert.equal(await card.getAttribute('href'), `rain.html?rid=${rid}`);
  assert.match(await card.textContent(), new RegExp(`${name}.*\\$12\\.34 in 5 red packets.*Raining now`));
  assert.equal(await home.getAttribute('#nav a[href="rain.html"]', 'href'), 'rain.html');
  await b.shot('adm-3-home', home);
  await Promise.all([home.waitForURL(new RegExp(`rain\\.html\\?rid=${rid}$`)), card.click()]);
  await home.locator('#name', { hasText: name }).waitFor();
  await home.locator('#status[data-state="live"]').waitFor({ timeout: 10000 });
  await Promise.all([home.waitForURL(/\/index\.html$/), home.click('#back')]);
  await ready(home);
  await b.close();
});
