// Operations: /api/metrics speaks Prometheus text with request counts by
// endpoint and status, the latency histogram, orders by state and the queue
// depth; the counts are real (they grow with the requests made here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { get, request, makeSale, order, sleep, waitFor } from '../lib/flash.mjs';

function metric(text, name, labels) {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',');
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${want}}`));
  return line ? Number(line.split(' ').pop()) : undefined;
}

test('ops-1.1 /api/metrics: Prometheus text with counts that follow the traffic', async () => {
  const { aid, iid } = await makeSale({ stock: 3 });
  const o = await order(aid, iid);
  assert.equal(o.status, 202);

  const first = await get('/api/metrics');
  assert.equal(first.status, 200);
  assert.match(first.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  assert.match(first.text, /# TYPE flashsale_requests_total counter/);
  assert.match(first.text, /# TYPE flashsale_request_duration_seconds histogram/);
  assert.match(first.text, /# TYPE flashsale_orders gauge/);
  assert.match(first.text, /^flashsale_queue_depth \d+$/m);

  // processes add their counts to Redis at most once a second: make 25
  // detail requests, then one more a second later to flush them
  const before = metric(first.text, 'flashsale_requests_total', { endpoint: 'detail', status: '200' }) || 0;
  for (let i = 0; i < 25; i++) assert.equal((await get(`/api/detail/${aid}/${iid}`)).status, 200);
  const grown = await waitFor(async () => {
    await sleep(1100);
    await get(`/api/detail/${aid}/${iid}`);
    await get(`/api/detail/${aid}/${iid}`);
    const now = metric((await get('/api/metrics')).text, 'flashsale_requests_total', { endpoint: 'detail', status: '200' }) || 0;
    return now - before >= 25 ? now : 0;
  }, 8000, 0);
  assert.ok(grown, 'detail 200s counted');
  const text = (await get('/api/metrics')).text;
  const inf = metric(text, 'flashsale_request_duration_seconds_bucket', { endpoint: 'detail', le: '+Inf' });
  const count = metric(text, 'flashsale_request_duration_seconds_count', { endpoint: 'detail' });
  assert.ok(inf >= 25 && inf === count, `histogram +Inf ${inf} = count ${count}`);
  await waitFor(async () => /flashsale_orders\{status="unpaid"\} [1-9]/.test((await get('/api/metrics')).text), 10000);
  assert.match((await get('/api/metrics')).text, /flashsale_orders\{status="unpaid"\} [1-9]/);

  const post = await request('POST', '/api/metrics', { body: {} });
  assert.equal(post.status, 405); assert.equal(post.json.error, 'method_not_allowed');
});
