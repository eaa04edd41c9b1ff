// rain.mjs: setting up a red-packet rain for the rain tests (docs/RAIN.md).
import { admin } from './flash.mjs';

// Creates (and unless told not to, publishes and warms) a rain; returns its id.
export async function makeRain(o = {}) {
  const now = Date.now();
  const start_ms = o.start_ms ?? now + (o.startInMs ?? -1000);
  const r = await admin.post('/api/admin/rains', {
    name: o.name || `rain ${now}`, total_cents: o.total_cents ?? 10000, packets: o.packets ?? 100,
    start_ms, end_ms: o.end_ms ?? start_ms + (o.durationMs ?? 3600000),
  });
  if (r.status !== 201) throw new Error(`create rain: ${r.status} ${r.text}`);
  const rid = r.json.rain_id;
  if (o.publish !== false) {
    const p = await admin.post(`/api/admin/rains/${rid}/publish`, {});
    if (p.status !== 200) throw new Error(`publish: ${p.status} ${p.text}`);
    if (o.warm !== false) {
      const w = await admin.post(`/api/admin/rains/${rid}/warmup`, {});
      if (w.status !== 200) throw new Error(`warmup: ${w.status} ${w.text}`);
    }
  }
  return rid;
}
