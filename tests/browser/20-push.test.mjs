// 20-push: the pages on the push channel, in headless Chromium. The item
// page shows the order's result from the push with polling cut off; the
// admin page's live dashboard draws its charts and its numbers move during a
// small rush. Screenshots go to FLASH_OUT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, open } from './browser.mjs';
import { conf, jwt, newUserId, makeSale, order, burst, sleep, flashctl, waitFor } from '../lib/flash.mjs';
import { wsAuth } from '../lib/ws.mjs';

useBrowser();
const ready = (page) => page.waitForSelector('body[data-ready="1"]', { timeout: 10000 });

test('page-push-1.1 the item page shows the result from the push, with polling cut off', async () => {
  const s = await makeSale({ startInMs: -1000, stock: 3, name: 'Pushed kettle', title: 'A kettle told by push' });
  const b = await open({ token: jwt(newUserId()), allow: [/Failed to load resource|ERR_FAILED/] });
  const { page } = b;
  // every status poll fails: only the push channel can tell the result
  let polls = 0;
  await page.route((u) => u.pathname.startsWith('/api/order-status'), (r) => { polls++; return r.abort(); });
  const sockets = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  await page.goto(`/item.html?aid=${s.aid}&iid=${s.iid}`);
  await ready(page);
  await page.locator('#buy:enabled').waitFor();
  await page.waitForFunction(() => true); // let the socket authenticate
  await sleep(500);
  const t0 = Date.now();
  await page.click('#buy');
  await page.locator('#order[data-status="unpaid"]').waitFor({ timeout: 5000 });
  const dt = Date.now() - t0;
  assert.match(await page.textContent('#order-state'), /Reserved for you/);
  assert.equal(await page.isVisible('#pay'), true, 'the pay button is offered');
  assert.ok(sockets.some((u) => u.endsWith('/api/push')), `a WebSocket to /api/push: ${sockets}`);
  assert.ok(polls <= 2, `at most the first poll was tried (${polls}), the push told the result`);
  await b.shot('page-push-1.1-unpaid');
  console.log(`# the push told unpaid ${dt} ms after the click`);
  await b.close();
});

test('page-push-1.2 with the hub killed, the item page falls back to polling', async () => {
  const s = await makeSale({ startInMs: -1000, stock: 3, name: 'Polled kettle' });
  flashctl('hub-kill');
  try {
    // the browser logs the refused WebSocket: expected here
    const b = await open({ token: jwt(newUserId()), allow: [/WebSocket|Failed to load resource/] });
    const { page } = b;
    let polls = 0;
    page.on('request', (r) => { if (new URL(r.url()).pathname.startsWith('/api/order-status/')) polls++; });
    await page.goto(`/item.html?aid=${s.aid}&iid=${s.iid}`);
    await ready(page);
    await page.locator('#buy:enabled').waitFor();
    await page.click('#buy');
    await page.locator('#order[data-status="unpaid"]').waitFor({ timeout: 10000 });
    assert.ok(polls >= 1, 'the status was polled');
    assert.match(await page.textContent('#order-state'), /Reserved for you/);
    await b.close();
  } finally {
    flashctl('hub-start');
    // lighttpd holds a backend that failed as down for a moment: wait until
    // a socket works again, so the next test's page sees a clean console
    const back = await waitFor(async () => {
      try {
        const r = await wsAuth(jwt(newUserId()));
        r.ws.destroy();
        return r.ready?.type === 'ready';
      } catch { return false; }
    }, 10000, 300);
    assert.ok(back, 'the hub is back');
  }
});

test('page-push-2.1 the live dashboard draws its charts and its numbers move during a small rush', async () => {
  const s = await makeSale({ startInMs: -1000, stock: 40, name: 'Rush item', activityName: `Dashboard sale ${Date.now()}` });
  const b = await open({ adminToken: conf.admin_token });
  const { page } = b;
  await page.goto('/admin.html');
  await ready(page);
  await page.locator(`[data-open="${s.aid}"]`).click();
  await page.locator('#live-state', { hasText: 'live' }).waitFor({ timeout: 8000 });
  await page.waitForFunction(() => Number(document.getElementById('live').dataset.ticks || 0) >= 2, null, { timeout: 8000 });
  // both charts drawn: the item's and the sale's
  assert.ok(await page.locator('#charts .chart.item canvas').count() >= 1, 'an item chart');
  assert.ok(await page.locator('#charts .chart.sale canvas').count() >= 1, 'the sale chart');
  const left0 = Number(await page.textContent('#stats td.remaining'));
  assert.equal(left0, 40);

  // a small rush: 25 orders over about two seconds; watch the figures meanwhile
  const rates = [];
  const watch = setInterval(async () => {
    try { rates.push(Number(await page.textContent('#live-rate'))); } catch { /* page closing */ }
  }, 250);
  for (let i = 0; i < 5; i++) {
    const r = await burst(5, () => order(s.aid, s.iid));
    assert.ok(r.every((x) => x.status === 202), r.map((x) => x.status).join(','));
    await sleep(400);
  }
  await page.waitForFunction(() => document.querySelector('#stats td.remaining')?.textContent === '15', null, { timeout: 8000 });
  await sleep(1200);
  clearInterval(watch);
  assert.ok(rates.some((x) => x > 0), `orders/s moved: ${rates.join(' ')}`);
  assert.equal(Number(await page.textContent('#stats td.unpaid')) + Number(await page.textContent('#stats td.queued')), 25);
  await b.shot('page-push-2.1-dashboard');
  await b.close();
});
