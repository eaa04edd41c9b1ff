// 30-stale: the item page says that its numbers may lag when the detail
// answer carries "stale": true (API.md "Guard rails": detail answers from
// its last copy while Redis is down; 25-shed proves the server side). The
// page's own request is answered by the real stack; the test adds the mark
// to it on the way (playwright's route), so the stack's Redis stays up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { base, makeSale, outDir } from '../lib/flash.mjs';

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
});
after(async () => { await browser?.close(); });

// The item page, its detail answers marked stale when stale(); console and
// page errors collected.
async function itemPage(sale, stale) {
  const ctx = await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 860 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.route(`**/api/detail/${sale.aid}/${sale.iid}`, async (route) => {
    const res = await route.fetch();
    const json = await res.json();
    if (stale()) json.stale = true;
    await route.fulfill({ response: res, json });
  });
  await page.goto(`/item.html?aid=${sale.aid}&iid=${sale.iid}`);
  await page.locator('#title').filter({ hasText: /\S/ }).waitFor({ timeout: 10000 });
  return { ctx, page, errors };
}

test('stale-1 the item page shows that the numbers may lag while detail is stale, and hides it after', { timeout: 60000 }, async () => {
  const sale = await makeSale({ stock: 7 });
  let stale = true;
  const { ctx, page, errors } = await itemPage(sale, () => stale);
  try {
    const hint = page.locator('#stale');
    await hint.waitFor({ state: 'visible', timeout: 10000 });
    assert.match(await hint.textContent(), /may lag/);
    assert.match(await page.locator('#remaining').textContent(), /7/);
    await page.screenshot({ path: join(outDir, 'stale-1-item.png') });
    // the next refresh (every 3 s while live) is fresh: the hint goes
    stale = false;
    await hint.waitFor({ state: 'hidden', timeout: 10000 });
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
  }
});

test('stale-2 a fresh detail shows no hint', { timeout: 60000 }, async () => {
  const sale = await makeSale({ stock: 3 });
  const { ctx, page, errors } = await itemPage(sale, () => false);
  try {
    await page.locator('#remaining').filter({ hasText: /3/ }).waitFor({ timeout: 10000 });
    assert.equal(await page.locator('#stale').isVisible(), false);
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
  }
});
