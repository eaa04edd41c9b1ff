// 30-stale: the item page says that its numbers may lag when the detail
// answer carries "stale": true (API.md "Guard rails": detail answers from
// its last copy while Redis is down; 25-shed proves the server side). The
// page's own request is answered by the real stack; the test adds the mark
// to it on the way (playwright's route), so the stack's Redis stays up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeSale, outDir } from '../lib/flash.mjs';
import { useBrowser, open } from './browser.mjs';

useBrowser();

async function itemPage(sale, stale) {
  const { ctx, page, errors } = await open();
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
