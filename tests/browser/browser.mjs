// browser.mjs: what the page tests share: Debian's headless Chromium, one per
// test file (useBrowser), and a fresh tab that records console and page
// errors (open). Not a test file itself (tests/run.sh runs *.test.mjs).
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { base, outDir } from '../lib/flash.mjs';

export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 390, height: 780 };
let browser;

// Launches the browser before the calling file's tests, closes it after.
export function useBrowser() {
  before(async () => {
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
  });
  after(async () => { await browser?.close(); });
}

// A fresh browser context (its own storage) with one page that records
// console errors and page errors. opts: token (stored as the user's access
// token), adminToken (the admin page's, per tab), viewport, allow (regexes of
// console errors that are expected, e.g. the "Failed to load resource" line
// of a deliberate 410), clockOffsetMs (the browser's clock runs that far from
// the real one). close() fails on any error that was not allowed.
export async function open(opts = {}) {
  const ctx = await browser.newContext({ baseURL: base, viewport: opts.viewport || DESKTOP });
  if (opts.token || opts.adminToken) {
    // once per tab, so that a logout sticks
    await ctx.addInitScript(([t, a]) => {
      if (sessionStorage.getItem('test.seeded')) return;
      sessionStorage.setItem('test.seeded', '1');
      if (t) localStorage.setItem('flash.access_token', t);
      if (a) sessionStorage.setItem('flash.admin_token', a);
    }, [opts.token || null, opts.adminToken || null]);
  }
  const page = await ctx.newPage();
  if (opts.clockOffsetMs) await page.clock.install({ time: Date.now() + opts.clockOffsetMs });
  const errors = [];
  const failed = [];
  const allow = opts.allow || [];
  const watch = (p) => {
    p.on('console', (m) => {
      if (m.type() === 'error' && !allow.some((re) => re.test(m.text()))) errors.push(`${p.url()}: ${m.text()}`);
    });
    p.on('pageerror', (e) => errors.push(`${p.url()}: ${e}`));
    // name the failed resource too: the console message alone does not
    p.on('response', (res) => {
      if (res.status() >= 400) failed.push(`${res.status()} ${res.url()}`);
    });
  };
  watch(page);
  ctx.on('page', watch);
  return {
    ctx, page, errors,
    shot: (name, p = page) => p.screenshot({ path: join(outDir, `${name}.png`), fullPage: true }),
    async close() {
      await ctx.close();
      assert.deepEqual(errors, [], `no console or page errors (failed responses: ${failed.join(', ') || 'none'})`);
    },
  };
}
