// 30-rain: the red-packet rain page in headless Chromium against the test
// stack: the countdown on the server clock (the browser's own clock is an
// hour off), packets falling once it starts, a tap grabs one and the amount
// shows, the wallet on the orders page; an empty pot says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jwt, newUserId, sqlValue, waitFor, post } from '../lib/flash.mjs';
import { useBrowser, open, PHONE } from './browser.mjs';
import { makeRain } from '../lib/rain.mjs';

useBrowser();

// A phone-sized tab logged in with token (browser.mjs's open); its clock
// runs clockOffsetMs from the real one; allow: expected console errors.
const openRain = (token, clockOffsetMs, allow = []) => open({ token, clockOffsetMs, allow, viewport: PHONE });

test('rain-page-1 countdown on the server clock, packets fall, a tap grabs, the amount shows, the wallet has it', async () => {
  const rid = await makeRain({ packets: 5, total_cents: 500, startInMs: 4000, name: 'page rain' });
  const uid = newUserId();
  const p = await openRain(jwt(uid), -3600000);
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
  const p = await openRain(jwt(newUserId()), 0, [/410/]);
  try {
    await p.page.goto(`/rain.html?rid=${rid}`);
    await p.page.locator('#status[data-state="empty"]').waitFor({ timeout: 5000 });
    assert.equal(await p.page.locator('#sky').getAttribute('data-live'), '0');
  } finally {
    await p.close();
  }
});
