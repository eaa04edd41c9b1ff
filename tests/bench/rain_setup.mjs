// rain_setup.mjs: the rains of `make bench` (docs/RAIN.md), made through the
// admin API. Prints shell assignments:
//   RAIN_EMPTY  a live rain whose one packet user 1 took: the empty pot
//   RAIN_BIG    a live rain of 100,000 packets: grabs while packets last
import { admin, jwt, post } from '../lib/flash.mjs';

async function rain(packets) {
  const now = Date.now();
  const r = await admin.post('/api/admin/rains', { name: `bench rain ${packets}`, total_cents: packets * 100,
    packets, start_ms: now - 2000, end_ms: now + 7200000 });
  if (r.status !== 201) throw new Error(`create rain: ${r.status} ${r.text}`);
  for (const step of ['publish', 'warmup']) {
    const s = await admin.post(`/api/admin/rains/${r.json.rain_id}/${step}`, {});
    if (s.status !== 200) throw new Error(`${step}: ${s.status} ${s.text}`);
  }
  return r.json.rain_id;
}
const empty = await rain(1);
const g = await post(`/api/rain/${empty}/grab`, {}, { token: jwt(1) });
if (g.status !== 200) throw new Error(`the one grab: ${g.status}`);
console.log(`RAIN_EMPTY=${empty}\nRAIN_BIG=${await rain(100000)}`);
