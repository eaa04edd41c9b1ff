// 26-challenge: the item page buys through the challenge a sale asks before
// the order secret (API.md "Guard rails", "Challenge"): a pow solved in the
// page's Web Worker (crypto.subtle) at the default 18 bits, and a quiz whose
// picture the shopper answers (the test reads the number from Redis). Each
// test fails on a console or page error and leaves screenshots in FLASH_OUT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { get, jwt, newUserId, makeSale, redis, redisRaw } from '../lib/flash.mjs';
import { useBrowser, open } from './browser.mjs';

useBrowser();

// A fresh context logged in as a new user (browser.mjs's open). Returns
// {page, uid, token, shot, close}.
async function openAsNewUser() {
  const uid = newUserId();
  const token = jwt(uid);
  return { ...(await open({ token })), uid, token };
}

const itemUrl = (s) => `/item.html?aid=${s.aid}&iid=${s.iid}`;
const challengeKey = (uid, s) => `fs:ch:{${uid}}:${s.aid}:${s.iid}`;

// The order the page placed, as the API has it for this user.
async function myOrder(b, s) {
  const r = await get(`/api/order-status?activity_id=${s.aid}&item_id=${s.iid}`, { token: b.token });
  assert.equal(r.status, 200, `the user has an order: ${r.text}`);
  return r.json;
}

test('page-ch.1 pow at 18 bits: the buy button solves it in a worker, then orders', async () => {
  const s = await makeSale({ stock: 3, name: 'Proof-of-work pan', activity: { challenge: 'pow' } });
  const b = await openAsNewUser();
  const { page } = b;
  await page.goto(itemUrl(s));
  await page.waitForSelector('body[data-ready="1"]', { timeout: 10000 });
  await page.locator('#buy:enabled').waitFor({ timeout: 10000 });
  // the page must not solve anything before the click, nor fetch a secret
  assert.equal(redis('EXISTS', challengeKey(b.uid, s)), '(integer) 0');
  const answers = [];
  page.on('request', (q) => { if (q.method() === 'POST' && q.url().endsWith('/secret')) answers.push(q.postDataJSON()); });
  const t0 = Date.now();
  await page.click('#buy');
  await page.locator('#order-state.queued, #order-state.unpaid').waitFor({ timeout: 90000 });
  const ms = Date.now() - t0;
  const powMs = Number(await page.evaluate(() => document.body.dataset.powMs));
  console.log(`# pow 18 bits in the page: worker ${powMs} ms, click to order ${ms} ms`);
  assert.ok(powMs >= 0, 'the worker solved it');
  assert.equal(answers.length, 1, 'one answer was posted');
  assert.match(answers[0].answer, /^[0-9]{1,16}$/);
  await b.shot('page-ch.1-ordered');
  const o = await myOrder(b, s);
  assert.ok(['queued', 'unpaid'].includes(o.status), o.status);
  assert.equal(redis('EXISTS', challengeKey(b.uid, s)), '(integer) 0', 'the challenge was used');
  await b.close();
});

test('page-ch.2 quiz: the picture and an input; the right number orders', async () => {
  const s = await makeSale({ stock: 3, name: 'Quiz kettle', activity: { challenge: 'quiz' } });
  const b = await openAsNewUser();
  const { page } = b;
  await page.goto(itemUrl(s));
  await page.waitForSelector('body[data-ready="1"]', { timeout: 10000 });
  await page.locator('#buy:enabled').waitFor({ timeout: 10000 });
  await page.click('#buy');
  await page.locator('#challenge-image').waitFor({ timeout: 10000 });
  const src = await page.getAttribute('#challenge-image', 'src');
  assert.match(src, /^data:image\/png;base64,/);
  // the picture is drawn: it has a size
  assert.ok(await page.evaluate(() => document.getElementById('challenge-image').naturalWidth) > 50);
  await b.shot('page-ch.2-quiz');
  const [, kind, answer] = redisRaw('GET', challengeKey(b.uid, s)).split(' ');
  assert.equal(kind, 'quiz');
  await page.fill('#challenge-answer', answer);
  await page.click('#challenge-ok');
  await page.locator('#order-state.queued, #order-state.unpaid').waitFor({ timeout: 20000 });
  assert.equal(await page.locator('#challenge').count(), 0, 'the question is gone');
  const o = await myOrder(b, s);
  assert.ok(['queued', 'unpaid'].includes(o.status), o.status);
  await b.close();
});
