// index.js: the home page: live and upcoming sales from the pre-rendered
// /cdn/activities.json (the API when the origin has none), each with a
// countdown on the server clock; above them the red-packet rains that are
// falling or coming (GET /api/rain), each a link to its rain page.
import { get, loadActivities, serverNow, messageFor } from './api.js';
import { $, el, initNav, money, duration, when, say, windowState, itemPicture } from './ui.js';

const timers = []; // {node, start, end} updated every second

function itemCard(a, it) {
  const href = `item.html?aid=${encodeURIComponent(a.activity_id)}&iid=${encodeURIComponent(it.item_id)}`;
  return el('a', { class: 'item-card', href, 'data-aid': a.activity_id, 'data-iid': it.item_id },
    itemPicture(it, 'thumb'),
    el('span', { class: 'item-text' },
      el('span', { class: 'item-name' }, it.title || it.name),
      el('span', { class: 'prices' },
        el('span', { class: 'flash-price' }, money(it.flash_price_cents)),
        it.price_cents > it.flash_price_cents ? el('s', { class: 'old-price' }, money(it.price_cents)) : null),
      it.stock ? el('span', { class: 'muted' }, `${it.stock} ${it.stock === 1 ? 'unit' : 'units'} on sale`) : null));
}

function activityCard(a) {
  const clock = el('span', { class: 'countdown' });
  timers.push({ node: clock, start: a.start_ms, end: a.end_ms });
  return el('article', { class: 'act', id: `act-${a.activity_id}`, 'data-aid': a.activity_id },
    el('div', { class: 'act-head' },
      el('h3', {}, a.name),
      clock),
    a.description ? el('p', { class: 'muted' }, a.description) : null,
    el('p', { class: 'small muted' }, `${when(a.start_ms)} to ${when(a.end_ms)}`),
    el('div', { class: 'items' }, (a.items || []).map((it) => itemCard(a, it))));
}

function rainCard(r) {
  const clock = el('span', { class: 'countdown' });
  timers.push({ node: clock, start: r.start_ms, end: r.end_ms, rain: true });
  return el('a', { class: 'rain-card', id: `rain-${r.rain_id}`, href: `rain.html?rid=${encodeURIComponent(r.rain_id)}`, 'data-rid': r.rain_id },
    el('span', { class: 'rain-name' }, r.name),
    el('span', { class: 'muted' }, `${money(r.total_cents)} in ${r.packets} red packets`),
    r.state === 'empty' ? el('span', { class: 'muted small' }, 'every packet caught') : null,
    clock);
}

// The rains, or none when the list cannot be read: the sales do not wait
// on them and do not fail with them.
async function loadRains() {
  try {
    const r = await get('/api/rain');
    return (r.rains || []).sort((x, y) => x.start_ms - y.start_ms || x.rain_id - y.rain_id);
  } catch {
    return [];
  }
}

function tick() {
  const now = serverNow();
  for (const t of timers) {
    const st = windowState(t.start, t.end, now);
    t.node.className = `countdown ${st}`;
    t.node.textContent = st === 'upcoming' ? `Starts in ${duration(t.start - now)}`
      : st === 'live' ? `${t.rain ? 'Raining now' : 'Live'}: ends in ${duration(t.end - now)}` : 'Ended';
  }
}

async function main() {
  initNav();
  const rainsP = loadRains();
  let data;
  try {
    data = await loadActivities();
  } catch (e) {
    say($('#msg'), e.message || messageFor('unavailable'), 'error');
    return;
  }
  const rains = await rainsP;
  $('#rain-list').replaceChildren(...rains.map(rainCard));
  $('#rains').hidden = rains.length === 0;
  const now = serverNow();
  const acts = (data.activities || []).filter((a) => a.end_ms > now)
    .sort((x, y) => x.start_ms - y.start_ms || x.activity_id - y.activity_id);
  const live = acts.filter((a) => a.start_ms <= now);
  const upcoming = acts.filter((a) => a.start_ms > now);
  $('#live-list').replaceChildren(...live.map(activityCard));
  $('#upcoming-list').replaceChildren(...upcoming.map(activityCard));
  $('#live').hidden = live.length === 0;
  $('#upcoming').hidden = upcoming.length === 0;
  $('#empty').hidden = acts.length > 0 || rains.length > 0;
  document.body.dataset.ready = '1';
  tick();
  setInterval(tick, 1000);
}

main();
