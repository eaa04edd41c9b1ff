// 30-rain: the red-packet rain page in headless Chromium against the test
// stack: the countdown on the server clock (the browser's own clock is an
// hour off), packets falling once it starts, a tap grabs one and the amount
// shows, the wallet on the orders page; an empty pot says so.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { base, jwt, newUserId, outDir, sqlValue, waitFor, post } from '../lib/flash.mjs';
import { makeRain } from '../lib/rain.mjs';

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
});
after(async () => { await browser?.close(); });

async function open(token, clockOffsetMs, allow = []) {
  const ctx = await browser.newContext({ baseURL: base, viewport: { width: 390, height: 780 } });
  await ctx.addInitScript((t) => localStorage.setItem('flash.access_token', t), token);
  const page = await ctx.newPage();
  if (clockOffsetMs) await page.clock.install({ time: Date.now() + clockOffsetMs });
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error' && !allow.some((re) => re.test(m.text()))) errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  return {
    page,
    shot: (name) => page.screenshot({ path: join(outDir, `${name}.png`) }),
    async close() { await ctx.close(); assert.deepEqual(errors, [], 'no console or page errors'); },
  };
}

test('rain-page-1 countdown on the server clock, packets fall, a tap grabs, the amount shows, the wallet has it', async () => {
  const rid = await makeRain({ packets: 5, total_cents: 500, startInMs: 4000, name: 'page rain' });
  const uid = newUserId();
  const p = await open(jwt(uid), -3600000);
  try {
    await p.page.goto(`/rain.html?rid=${rid}`);
    await p.page.locator('#status[data-state="upcoming"]').waitFor({ timeout: 5000 });
    assert.equal(await p.page.locator('#name').textContent(), 'page rain');
    const cd = await p.page.locator('#countdown').textContent();
    // seconds to go by the server clock, not the hour the browser's clock is off
    assert.match(cd, /^00:00:0[1-5]$/, cd);
    assert.equal(await p.page.locator('.packet').count(), 0, 'no packets before the start');
    await p.shot('rain-countdown');
    await p.page.locator('#status[data-state="live"]').waitFor({ timeout: 8000 });
    await p.page.locator('.packet').first().waitFor({ timeout: 5000 });
    await p.shot('rain-live');
    // packets move, so no "stable" wait: the tap is dispatched
    await p.page.locator('.packet').first().dispatchEvent('click');
    await p.page.locator('#amount:not([hidden])').waitFor({ timeout: 5000 });
    const text = await p.page.locator('#amount').textContent();
    const m = text.match(/You caught \$(\d+)\.(\d\d)!/);
    assert.ok(m, text);
    const cents = Number(m[1]) * 100 + Number(m[2]);
    const gid = await p.page.locator('#amount').getAttribute('data-grab');
    await p.shot('rain-caught');
    assert.ok(await waitFor(() => sqlValue(`SELECT amount_cents FROM wallet_entries WHERE grab_id=${gid} AND user_id=${uid}`) === String(cents), 10000));
    await p.page.goto('/orders.html');
    await p.page.locator('#wallet:not([hidden])').waitFor({ timeout: 5000 });
    assert.equal(await p.page.locator('#wallet-balance').textContent(), `$${m[1]}.${m[2]}`);
    assert.equal(await p.page.locator(`#wallet li[data-grab="${gid}"]`).count(), 1);
    await p.shot('rain-wallet');
  } finally {
    await p.close();
  }
});

test('rain-page-2 an empty pot says so', async () => {
  const rid = await makeRain({ packets: 1, total_cents: 1 });
  const r = await post(`/api/rain/${rid}/grab`, {}, { token: jwt(newUserId()) });
  assert.equal(r.status, 200);
  const p = await open(jwt(newUserId()), 0, [/410/]);
  try {
    await p.page.goto(`/rain.html?rid=${rid}`);
    await p.page.locator('#status[data-state="empty"]').waitFor({ timeout: 5000 });
    assert.equal(await p.page.locator('#sky').getAttribute('data-live'), '0');
  } finally {
    await p.close();
  }
});
