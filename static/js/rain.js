// rain.js: the red-packet rain page. The countdown runs on the server clock
// (now_ms of GET /api/rain/{rid}); while the rain is live, packets fall and a
// tap grabs one (POST /api/rain/{rid}/grab); the amount shows at once.
// rain.html?rid=N, or without rid the first rain of GET /api/rain.
import { get, post, serverNow, userToken, messageFor } from './api.js';
import { $, el, initNav, money, duration, say, loginUrl } from './ui.js';

const TEXT = {
  duplicate: 'You already caught a packet in this rain.',
  sold_out: 'The pot is empty: every packet has been caught.',
  not_started: 'The rain has not started yet.',
  ended: 'The rain is over.',
};
let rain = null;
let done = false; // this page holds its answer (a packet, or why not)
let busy = false;

function state(now) {
  if (!rain) return 'loading';
  if (now >= rain.end_ms) return 'ended';
  if (now < rain.start_ms) return 'upcoming';
  return rain.packets_left > 0 ? 'live' : 'empty';
}

function show(now) {
  const st = state(now);
  const status = $('#status');
  status.dataset.state = st;
  status.textContent = { upcoming: 'Starts in', live: 'It is raining red packets: tap one!', empty: TEXT.sold_out,
    ended: TEXT.ended, loading: 'Loading…' }[st];
  const cd = $('#countdown');
  cd.hidden = st !== 'upcoming';
  if (st === 'upcoming') cd.textContent = duration(rain.start_ms - now);
  $('#sky').dataset.live = st === 'live' && !done ? '1' : '0';
  return st;
}

function drop() {
  const sky = $('#sky');
  if (sky.dataset.live !== '1' || sky.childElementCount > 14) return;
  const p = el('button', { type: 'button', class: 'packet', 'aria-label': 'grab this red packet' });
  p.style.left = `${Math.floor(Math.random() * Math.max(1, sky.clientWidth - 50))}px`;
  p.style.animationDuration = `${2.5 + Math.random() * 2}s`;
  p.addEventListener('animationend', () => p.remove());
  sky.append(p);
}

async function grab() {
  if (busy || done) return;
  if (!userToken()) { location.href = loginUrl(); return; }
  busy = true;
  try {
    const r = await post(`/api/rain/${rain.rain_id}/grab`, {}, { auth: 'user' });
    done = true;
    const a = $('#amount');
    a.hidden = false;
    a.dataset.grab = r.grab_id;
    a.textContent = `You caught ${money(r.amount_cents)}!`;
    say($('#msg'), '');
  } catch (e) {
    if (e.status === 401) { location.href = loginUrl(); return; }
    if (['duplicate', 'sold_out', 'ended'].includes(e.code)) done = true;
    if (e.code === 'sold_out') rain.packets_left = 0;
    say($('#msg'), TEXT[e.code] || messageFor(e.code), e.code === 'duplicate' ? 'info' : 'warn');
  } finally {
    busy = false;
    show(serverNow());
  }
}

async function pick() {
  const rid = new URLSearchParams(location.search).get('rid');
  if (rid) return get(`/api/rain/${encodeURIComponent(rid)}`);
  const list = await get('/api/rain');
  if (!list.rains.length) return null;
  return get(`/api/rain/${list.rains[0].rain_id}`);
}

async function main() {
  initNav();
  try {
    rain = await pick();
  } catch (e) {
    say($('#msg'), e.code === 'not_found' ? 'No such rain.' : e.message, 'error');
    return;
  }
  if (!rain) { say($('#msg'), 'No rain is coming at the moment.', 'info'); return; }
  $('#name').textContent = rain.name;
  if (!userToken()) {
    say($('#msg'), 'Log in to catch a packet.', 'warn');
    $('#msg').append(' ', el('a', { href: loginUrl() }, 'Log in'));
  }
  $('#sky').addEventListener('click', (ev) => { if (ev.target.closest('.packet')) grab(); });
  let last = show(serverNow());
  setInterval(() => {
    const st = show(serverNow());
    // the moment it starts, ask for the packets left afresh
    if (st !== last && st === 'live') get(`/api/rain/${rain.rain_id}`).then((r) => { rain = r; }).catch(() => {});
    last = st;
  }, 250);
  setInterval(drop, 300);
  document.body.dataset.ready = '1';
}

main();
