// 10-pages: the shop's pages in headless Chromium against the test stack:
// the countdown and the buy button on the server clock, the whole buy and
// pay flow, sold out, the admin page and the home page after a warmup.
// Every test fails on a console error or an uncaught page error (but for the
// HTTP refusals it provokes on purpose) and leaves screenshots in FLASH_OUT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { useBrowser, open, PHONE } from './browser.mjs';
import {
  conf, jwt, newUserId, makeSale, runProgram, get, order, sleep,
} from '../lib/flash.mjs';

useBrowser();

// A w x h RGB PNG with a diagonal gradient (an item photo for the tests).
function png(w, h) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2;
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      raw[o] = 40 + Math.round(180 * x / w); raw[o + 1] = 90 + Math.round(120 * y / h); raw[o + 2] = 200;
    }
  }
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

const httpError = (...codes) => new RegExp(`Failed to load resource: the server responded with a status of (${codes.join('|')})`);
const itemUrl = (s) => `/item.html?aid=${s.aid}&iid=${s.iid}`;
const ready = (page) => page.waitForSelector('body[data-ready="1"]', { timeout: 10000 });

// Makes a sale starting about 4 s ahead and opens its item page in b before
// the start; on a loaded machine the page may come up too late: then again
// with a longer lead. Returns the sale.
async function upcomingSale(b, o) {
  for (const lead of [4500, 9000, 20000]) {
    const s = await makeSale({ ...o, startInMs: lead });
    await b.page.goto(itemUrl(s));
    await ready(b.page);
    if (Date.now() < s.start_ms - 1500 && /^Starts in/.test(await b.page.textContent('#countdown'))) return s;
  }
  throw new Error('the item page never came up before the start');
}

test('page-1.1 before the start: a running countdown and a disabled button that enables itself', async () => {
  const b = await open({ token: jwt(newUserId()) });
  const { page } = b;
  let navigations = 0;
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations++; });
  const s = await upcomingSale(b, { stock: 3, name: 'Countdown kettle', title: 'A kettle that boils on time' });
  navigations = 1;
  await page.evaluate(() => { window.noReload = 'still here'; });
  assert.equal(await page.isDisabled('#buy'), true);
  const t1 = await page.textContent('#countdown');
  assert.match(t1, /^Starts in 00:00:[0-2]\d$/);
  await sleep(1100);
  const t2 = await page.textContent('#countdown');
  assert.match(t2, /^Starts in 00:00:[0-2]\d$/);
  assert.notEqual(t2, t1, 'the countdown runs');
  assert.equal(await page.isDisabled('#buy'), true);
  await b.shot('page-1.1-before-start');

  await page.locator('#buy:enabled').waitFor({ timeout: 10000 });
  const at = Date.now();
  assert.ok(at >= s.start_ms - 300, `enabled ${s.start_ms - at} ms before the start`);
  assert.ok(at <= s.start_ms + 3000, `enabled ${at - s.start_ms} ms after the start`);
  assert.equal(await page.evaluate(() => window.noReload), 'still here', 'no reload');
  assert.equal(navigations, 1);
  assert.equal((await page.textContent('#buy')).trim(), 'Buy now');
  assert.match(await page.textContent('#countdown'), /^Live: ends in /);
  await b.shot('page-1.1-live');
  await b.close();
});

test('page-1.2 the countdown follows the server clock, not a wrong client clock', async () => {
  // the phone's clock is 40 minutes slow; the page must still open on time
  const b = await open({ token: jwt(newUserId()), clockOffsetMs: -40 * 60 * 1000, viewport: PHONE });
  const { page } = b;
  const s = await upcomingSale(b, { stock: 2, name: 'Clock test' });
  assert.match(await page.textContent('#countdown'), /^Starts in 00:00:[0-2]\d$/);
  await b.shot('page-1.2-phone-before-start');
  await page.locator('#buy:enabled').waitFor({ timeout: 10000 });
  assert.ok(Date.now() >= s.start_ms - 300, 'not before the start');
  await b.shot('page-1.2-phone-live');
  await b.close();
});

// Registers a user through the login page and returns its page context.
async function registerInBrowser(b, next) {
  const { page } = b;
  const name = `shopper${newUserId()}`;
  await page.goto(`/login.html?next=${encodeURIComponent(next)}`);
  await ready(page);
  await page.fill('#register-username', name);
  await page.fill('#register-password', 'correct horse battery');
  await Promise.all([page.waitForURL((u) => u.pathname.endsWith('/item.html'), { timeout: 15000 }),
    page.click('#register-submit')]);
  return name;
}

test('page-2.1 buy: waiting, unpaid, pay through the sandbox, paid; a second user sees sold out', async () => {
  const s = await makeSale({ startInMs: -1000, stock: 1, name: 'Last phone', title: 'The only phone left', price_cents: 59900, flash_price_cents: 19900 });
  // the second shopper has the page open before the first one buys
  const b2 = await open({ token: jwt(newUserId()), allow: [httpError(410)] });
  // its stock display lags (as API.md allows): it keeps seeing one unit left
  const stale = (await get(`/api/detail/${s.aid}/${s.iid}`)).json;
  assert.equal(stale.remaining, 1);
  const detailUrl = (u) => u.pathname === `/api/detail/${s.aid}/${s.iid}`;
  await b2.page.route(detailUrl, (r) => r.fulfill({ json: { ...stale, now_ms: Date.now() } }));
  await b2.page.goto(itemUrl(s));
  await ready(b2.page);
  await b2.page.locator('#buy:enabled').waitFor();

  const b1 = await open();
  await registerInBrowser(b1, itemUrl(s).slice(1));
  const { page } = b1;
  await ready(page);
  assert.match(await page.textContent('#who'), /^user \d+$/);
  await page.locator('#buy:enabled').waitFor();
  // record every state the order box shows
  await page.evaluate(() => {
    window.seen = [];
    const box = document.getElementById('order-state');
    new MutationObserver(() => window.seen.push(box.className)).observe(box, { childList: true, characterData: true, subtree: true, attributes: true });
  });
  await page.click('#buy');
  await page.locator('#pay:visible').waitFor({ timeout: 20000 });
  await b1.shot('page-2.1-unpaid');
  const seen = await page.evaluate(() => window.seen);
  assert.ok(seen.some((c) => /waiting|queued/.test(c)), `a waiting state was shown: ${seen}`);
  assert.match(await page.getAttribute('#order-state', 'class'), /unpaid/);
  assert.match(await page.textContent('#order-state'), /Pay within/);
  assert.equal(await page.isDisabled('#buy'), true);

  // the second shopper: 410 sold out, said in words
  await b2.page.click('#buy');
  await b2.page.locator('#buy-msg:visible').waitFor();
  assert.match(await b2.page.textContent('#buy-msg'), /sold out/i);
  assert.match(await b2.page.textContent('#buy'), /sold out/i);
  await b2.shot('page-2.1-sold-out');
  // a fresh look: the page itself says sold out, the button stays disabled
  await b2.page.unroute(detailUrl);
  await b2.page.reload();
  await ready(b2.page);
  await b2.page.locator('#buy', { hasText: 'Sold out' }).waitFor({ timeout: 8000 });
  assert.equal(await b2.page.isDisabled('#buy'), true);
  await b2.shot('page-2.1-sold-out-reload');
  await b2.close();

  // pay: the sandbox provider opens; its confirmation posts the notify
  const popupP = page.waitForEvent('popup', { timeout: 10000 });
  await page.click('#pay');
  const pay = await popupP;
  await pay.waitForLoadState();
  await b1.shot('page-2.1-sandbox', pay);
  const confirm = pay.getByRole('button', { name: /pay|confirm|success|approve/i }).first();
  await confirm.click({ timeout: 10000 });
  await page.locator('#order-state.paid').waitFor({ timeout: 20000 });
  assert.match(await page.textContent('#order-state'), /Paid/);
  await b1.shot('page-2.1-paid');

  // the orders page lists it as paid
  await page.goto('/orders.html');
  await ready(page);
  assert.equal(await page.locator('.order-card[data-status="paid"]').count(), 1);
  await b1.shot('page-2.1-orders');
  await b1.close();
});

test('page-2.2 refusals in words: not logged in, already ordered, cancel on the orders page', async () => {
  const s = await makeSale({ startInMs: -1000, stock: 5, name: 'Refusals' });
  // no token: the buy button leads to the login page
  const anon = await open();
  await anon.page.goto(itemUrl(s));
  await ready(anon.page);
  await anon.page.locator('#buy:enabled').waitFor();
  await Promise.all([anon.page.waitForURL(/\/login\.html\?next=/), anon.page.click('#buy')]);
  await anon.close();

  // a user who already holds an order sees it instead of a second order
  const uid = newUserId(), token = jwt(uid);
  const first = await order(s.aid, s.iid, { uid, token });
  assert.equal(first.status, 202);
  const b = await open({ token, allow: [httpError(409)] });
  await b.page.goto(itemUrl(s));
  await ready(b.page);
  await b.page.locator('#order:visible').waitFor({ timeout: 10000 });
  assert.equal(await b.page.isDisabled('#buy'), true);
  assert.match(await b.page.textContent('#buy'), /Ordered/);

  // orders page: cancel (two clicks) gives the unit back
  await b.page.goto('/orders.html');
  await ready(b.page);
  const card = b.page.locator(`#order-${first.json.order_id}`);
  await card.waitFor();
  await b.shot('page-2.2-orders-unpaid');
  await card.locator('[data-act="cancel"]').click();
  await card.locator('[data-act="cancel"]', { hasText: 'Really' }).click();
  await b.page.locator(`#order-${first.json.order_id}[data-status="cancelled"]`).waitFor({ timeout: 10000 });
  await b.shot('page-2.2-orders-cancelled');
  await b.close();
});

test('page-3.1 the admin page creates, fills and publishes a sale; home shows it after warmup', async () => {
  const name = `Admin sale ${Date.now()}`;
  const b = await open({ allow: [httpError(401)] });
  const { page } = b;
  await page.goto('/admin.html');
  await ready(page);
  await page.fill('#admin-token', conf.admin_token);
  await page.click('#save-token');
  await page.fill('#item-name', 'Desk lamp');
  await page.fill('#item-title', 'A bright desk lamp');
  await page.fill('#item-description', 'Warm light, folds flat.');
  await page.fill('#item-price', '49.99');
  await page.fill('#item-stock', '20');
  // a photo uploaded to the CDN origin through the admin API
  await page.setInputFiles('#image-file', { name: 'lamp.png', mimeType: 'image/png', buffer: png(240, 180) });
  await page.locator('#msg.msg-ok', { hasText: 'Image stored' }).waitFor();
  const url = (await page.inputValue('#item-images')).trim();
  assert.match(url, /^\/cdn\/img\/[0-9a-f]+\.png$/);
  const img = await get(url);
  assert.equal(img.status, 200);
  assert.match(img.headers['cache-control'], /immutable/);
  await page.click('#item-submit');
  await page.locator('#item-result', { hasText: /Item \d+ created/ }).waitFor();
  const iid = Number(await page.getAttribute('#item-result', 'data-item-id'));

  await page.fill('#act-name', name);
  await page.fill('#act-description', 'Lamps for the night owls');
  await page.click('[data-in="300"]');
  await page.click('#act-submit');
  await page.locator('#act-result', { hasText: /Activity \d+ created/ }).waitFor();
  const aid = Number(await page.getAttribute('#act-result', 'data-activity-id'));
  await page.locator('#panel:visible').waitFor();
  assert.equal(await page.inputValue('#add-item'), String(iid));
  await page.fill('#add-price', '19.99');
  await page.fill('#add-stock', '5');
  await page.click('#add-submit');
  await page.locator('#msg.msg-ok', { hasText: 'added' }).waitFor();
  await page.click('#publish');
  await page.locator('#panel-state', { hasText: 'published' }).waitFor();
  await page.locator(`#stats tbody tr[data-iid="${iid}"]`).waitFor({ timeout: 10000 });
  assert.equal(await page.textContent(`#stats tr[data-iid="${iid}"] td.stock`), '5');
  await b.shot('page-3.1-admin');

  runProgram('warmup');
  assert.ok(existsSync(join(conf.origin_dir, 'activity', `${aid}.json`)), 'warm: its JSON is in the origin');

  const home = await b.ctx.newPage();
  await home.goto('/');
  await ready(home);
  const card = home.locator(`#act-${aid}`);
  await card.waitFor();
  assert.match(await card.textContent(), new RegExp(name));
  assert.match(await card.locator('.countdown').textContent(), /^Starts in 00:0[45]:\d\d$/);
  assert.match(await card.locator('.flash-price').textContent(), /\$19\.99/);
  // the photo loaded (a broken image has no natural width; lazy: scroll to it)
  await card.scrollIntoViewIfNeeded();
  await home.waitForFunction((id) => {
    const i = document.querySelector(`#act-${id} img.thumb`);
    return i && i.complete && i.naturalWidth === 240;
  }, aid, { timeout: 5000 });
  await b.shot('page-3.1-home', home);
  await home.setViewportSize(PHONE);
  await b.shot('page-3.1-home-phone', home);
  await card.locator(`a[data-iid="${iid}"]`).click();
  await home.waitForURL(/item\.html\?aid=/);
  await ready(home);
  assert.equal(await home.isDisabled('#buy'), true);
  await b.shot('page-3.1-item-phone', home);

  // the stats view follows a running sale every 2 s
  const live = await makeSale({ startInMs: -1000, stock: 4, name: 'Stats' });
  await page.reload();
  await ready(page);
  await page.locator(`#activities [data-open="${live.aid}"]`).click();
  await page.locator(`#stats tr[data-iid="${live.iid}"] td.remaining`, { hasText: '4' }).waitFor();
  assert.equal((await order(live.aid, live.iid)).status, 202);
  await page.locator(`#stats tr[data-iid="${live.iid}"] td.remaining`, { hasText: '3' }).waitFor({ timeout: 6000 });
  await b.shot('page-3.1-admin-stats');
  await b.close();
});

test('page-4.1 pages load clean on a phone: home, orders, login, bad item links', async () => {
  const b = await open({ viewport: PHONE, token: jwt(newUserId()), allow: [httpError(404)] });
  const { page } = b;
  for (const p of ['/', '/orders.html', '/login.html']) {
    await page.goto(p);
    await ready(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${p} fits a phone (overflow ${overflow}px)`);
  }
  await b.shot('page-4.1-login-phone');
  await page.goto('/item.html?aid=x&iid=1');
  await page.locator('#msg:visible').waitFor();
  assert.match(await page.textContent('#msg'), /does not name/);
  await page.goto('/item.html?aid=999999&iid=1');
  await page.locator('#msg:visible').waitFor();
  assert.match(await page.textContent('#msg'), /No such sale item/);
  // log out: back home, logged out
  await page.goto('/orders.html');
  await ready(page);
  await Promise.all([page.waitForURL(/\/index\.html$/), page.click('#logout')]);
  await page.locator('#login-link').waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('flash.access_token')), null);
  await b.close();
});
