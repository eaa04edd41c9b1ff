// The stack is up: /api/health answers 200 with every dependency ok, as JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { get, post, waitFor } from '../lib/flash.mjs';

test('health-1.1 GET /api/health is 200 with redis, mysql, queue and push ok', async () => {
  // the order handler marks the queue alive within a second of its start
  const r = await waitFor(async () => {
    const x = await get('/api/health');
    return x.status === 200 ? x : null;
  }, 10000, 200) || await get('/api/health');
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers['content-type'], /^application\/json/);
  assert.deepEqual(r.json, { redis: 'ok', mysql: 'ok', queue: 'ok', push: 'ok' });
});

test('health-1.2 POST /api/health is a JSON 405', async () => {
  const r = await post('/api/health', {});
  assert.equal(r.status, 405);
  assert.equal(r.json.error, 'method_not_allowed');
});
