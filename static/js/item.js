// item.js: one activity item: pictures, prices, stock left, and a countdown
// on the SERVER clock (offset = now_ms of /api/detail minus Date.now() at
// receipt). The buy button stays disabled until the start and enables itself;
// buying fetches the order secret, places the order, and shows its result
// the moment the push channel brings it (js/push.js), polling its status as
// the fallback (once a second without the socket, every 5 s with it) until
// it is unpaid; then it offers the payment.
import { get, post, serverNow, userToken, ApiError } from './api.js';
import { openPush } from './push.js';
import { passChallenge } from './challenge.js';
import { $, el, initNav, money, duration, when, say, windowState, itemPicture, loginUrl } from './ui.js';

const params = new URLSearchParams(location.search);
const aid = params.get('aid') || '';
const iid = params.get('iid') || '';
const idOk = (s) => /^[1-9][0-9]{0,15}$/.test(s);

const ui = {
  msg: $('#msg'), item: $('#item'), countdown: $('#countdown'), buy: $('#buy'),
  remaining: $('#remaining'), order: $('#order'), orderState: $('#order-state'),
  pay: $('#pay'), payLink: $('#pay-link'), buyMsg: $('#buy-msg'), stale: $('#stale'),
};

let detail = null;       // the last GET /api/detail/{aid}/{iid}
let rendered = false;    // static fields are on the page
let lastState = null;    // upcoming | live | ended, on the server clock
let soldOut = false;
let busy = false;        // a buy or pay is in progress
let order = null;        // this user's order of the item: {order_id, status, pay_deadline_ms, ...}
let refreshTimer = 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ACTIVE = new Set(['queued', 'unpaid', 'paid']);

// The push channel: the latest state it told of each order (an event may
// come before the 202 is read), and a wake-up for the waiting poll.
let push = null;
const pushed = new Map();
let wakePoll = null;
const RANK = { queued: 0, unpaid: 1 }; // the rest are final: 2
const rank = (st) => RANK[st] ?? 2;

function onPush(m) {
  if (m.type !== 'order' || typeof m.order_id !== 'string') return;
  const seen = pushed.get(m.order_id);
  if (seen && rank(seen.status) > rank(m.status)) return; // a late queued after unpaid
  const { type, ...o } = m;
  pushed.set(m.order_id, o);
  if (pushed.size > 50) pushed.delete(pushed.keys().next().value);
  if (order && order.order_id === m.order_id && wakePoll) wakePoll();
}

// Waits ms, or less when the push channel brings news of the order.
function waitForNews(ms) {
  return new Promise((resolve) => {
    const t = setTimeout(() => { wakePoll = null; resolve(); }, ms);
    wakePoll = () => { clearTimeout(t); wakePoll = null; resolve(); };
  });
}

// The pushed state of order, when it is newer than what the page shows.
function pushedNews() {
  const p = order && pushed.get(order.order_id);
  return p && rank(p.status) >= rank(order.status) && p.status !== order.status ? p : null;
}

function renderStatic(d) {
  document.title = `flashsale: ${d.title || d.name}`;
  $('#item-name').textContent = d.name;
  $('#title').textContent = d.title || d.name;
  $('#description').textContent = d.description || '';
  $('#flash-price').textContent = money(d.flash_price_cents);
  $('#price').textContent = d.price_cents > d.flash_price_cents ? money(d.price_cents) : '';
  $('#limit').textContent = `${d.per_user_limit} per person`;
  const from = when(d.start_ms), to = when(d.end_ms);
  // the same day once: "2026-11-24 10:00:00 to 11:00:00"
  $('#window').textContent = from.slice(0, 10) === to.slice(0, 10) ? `${from} to ${to.slice(11)}` : `${from} to ${to}`;
  const imgs = (Array.isArray(d.images) ? d.images : []).filter((u) => typeof u === 'string' && u);
  const gallery = $('#gallery');
  if (imgs.length === 0) gallery.replaceChildren(itemPicture(d, 'hero'));
  else gallery.replaceChildren(...imgs.map((src, i) => el('img', { class: i ? 'side' : 'hero', src, alt: `${d.title || d.name} ${i + 1}` })));
  ui.item.hidden = false;
  say(ui.msg, '');
  rendered = true;
  document.body.dataset.ready = '1';
}

function renderDynamic(d) {
  soldOut = d.state === 'sold_out' || (typeof d.remaining === 'number' && d.remaining <= 0);
  ui.remaining.textContent = typeof d.remaining === 'number'
    ? (d.remaining > 0 ? `${d.remaining} of the sale's stock` : 'none') : '…';
  ui.remaining.className = soldOut ? 'none' : '';
  // "stale": the server answered from its last copy (its store is down)
  ui.stale.hidden = d.stale !== true;
}

async function loadDetail() {
  const d = await get(`/api/detail/${aid}/${iid}`);
  detail = d;
  if (!rendered) renderStatic(d);
  renderDynamic(d);
  tick();
}

// Reloads the detail now and then (stock left, clock), more often while live.
function scheduleRefresh(ms) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(async () => {
    try { await loadDetail(); } catch { /* keep the last data; try again later */ }
    const st = lastState;
    if (st !== 'ended') scheduleRefresh(st === 'live' ? 3000 : 15000);
  }, ms);
}

function orderText(o) {
  switch (o.status) {
  case 'queued': return 'Order received: waiting for confirmation…';
  case 'unpaid': {
    const left = (o.pay_deadline_ms || 0) - serverNow();
    return left > 0 ? `Reserved for you: ${money(o.amount_cents)}. Pay within ${duration(left)}.`
      : 'Reserved: the payment window is closing.';
  }
  case 'paid': return `Paid: ${money(o.amount_cents)}. Thank you! Order ${o.order_id}.`;
  case 'failed': return 'Sorry, the order could not be completed. Nothing was charged.';
  case 'closed': return 'The payment window passed; the order was closed.';
  case 'cancelled': return 'The order was cancelled.';
  default: return `Order ${o.status}`;
  }
}

function showOrder(o, text) {
  ui.order.hidden = false;
  ui.order.dataset.status = o ? o.status : 'working';
  ui.orderState.className = `order-state ${o ? o.status : 'waiting'}`;
  ui.orderState.textContent = text || orderText(o);
  ui.pay.hidden = !(o && o.status === 'unpaid');
}

function tick() {
  if (!detail) return;
  const now = serverNow();
  const st = windowState(detail.start_ms, detail.end_ms, now);
  if (st !== lastState) {
    const was = lastState;
    lastState = st;
    document.body.dataset.state = st;
    // the start on the server clock: fetch the stock left, spread over half a second
    if (was === 'upcoming' && st === 'live') scheduleRefresh(Math.floor(Math.random() * 500));
  }
  if (st === 'upcoming') ui.countdown.textContent = `Starts in ${duration(detail.start_ms - now)}`;
  else if (st === 'live') ui.countdown.textContent = soldOut ? 'Sold out' : `Live: ends in ${duration(detail.end_ms - now)}`;
  else ui.countdown.textContent = 'The sale has ended.';
  ui.countdown.className = `countdown big ${st === 'live' && soldOut ? 'soldout' : st}`;

  let label, enabled = false;
  if (order && ACTIVE.has(order.status)) label = order.status === 'paid' ? 'Bought' : 'Ordered';
  else if (busy) label = 'Please wait…';
  else if (st === 'upcoming') label = 'Not started';
  else if (st === 'ended') label = 'Sale ended';
  else if (soldOut) label = 'Sold out';
  else { label = 'Buy now'; enabled = true; }
  ui.buy.textContent = label;
  ui.buy.disabled = !enabled;
  if (order && order.status === 'unpaid' && !busy) ui.orderState.textContent = orderText(order);
}

function fail(e) {
  const err = e instanceof ApiError ? e : new ApiError(0, 'network', String(e));
  if (err.status === 401) {
    say(ui.buyMsg, 'Please log in first.', 'warn');
    location.href = loginUrl();
    return;
  }
  let text = err.message;
  if (err.code === 'sold_out') {
    soldOut = true;
    ui.remaining.textContent = 'none';
  }
  if (err.code === 'rate_limited' && err.retryAfter) text += ` (retry in ${err.retryAfter} s)`;
  const kind = err.code === 'rate_limited' || err.code === 'not_started' ? 'warn' : 'error';
  say(ui.buyMsg, text, kind);
  ui.buyMsg.dataset.code = err.code;
}

// Polls the order about once a second until it leaves queued (or until stop
// says so); shows each state. Returns the last order seen.
async function poll(stop = (o) => o.status !== 'queued', maxTries = 180) {
  const deadline = Date.now() + maxTries * 1000;
  while (Date.now() < deadline) {
    const news = pushedNews();
    if (news) {
      order = { ...order, ...news };
      showOrder(order);
      if (stop(order)) return order;
    }
    try {
      const o = await get(`/api/order-status/${order.order_id}`, { auth: 'user' });
      // the push channel may already know better than this answer
      if (rank(o.status) >= rank(order.status)) order = o;
      showOrder(order);
      if (stop(order)) return order;
    } catch (e) {
      if (e.status === 401) throw e;
      // a 404 right after the 202 or a 503: try again shortly
    }
    const later = pushedNews();
    if (later) continue;
    await waitForNews(push && push.ready ? 5000 : 1000);
  }
  return order;
}

async function buy() {
  if (busy) return;
  if (!userToken()) { location.href = loginUrl(); return; }
  busy = true;
  say(ui.buyMsg, '');
  showOrder(null, 'Getting your order ticket…');
  tick();
  try {
    let secret;
    // the first clicks may beat the server's clock by a few ms: retry briefly
    for (let i = 0; ; i++) {
      try {
        const path = `/api/detail/${aid}/${iid}/secret`;
        secret = await passChallenge(path, await get(path, { auth: 'user' }), (t) => showOrder(null, t));
        break;
      } catch (e) {
        if (e.code !== 'not_started' || i >= 5) throw e;
        await sleep(300);
      }
    }
    showOrder(null, 'Placing your order…');
    const r = await post('/api/order', { activity_id: Number(aid), item_id: Number(iid), quantity: 1, secret }, { auth: 'user' });
    order = { order_id: String(r.order_id), status: r.status || 'queued' };
    showOrder(order);
    busy = false;
    tick();
    await poll();
  } catch (e) {
    ui.order.hidden = !order;
    fail(e);
    if (e.code === 'duplicate') await findMyOrder();
  } finally {
    busy = false;
    tick();
  }
}

async function pay() {
  if (!order || busy) return;
  busy = true;
  ui.pay.disabled = true;
  say(ui.buyMsg, '');
  try {
    const r = await post(`/api/pay/${order.order_id}`, {}, { auth: 'user' });
    ui.payLink.href = r.pay_url;
    ui.payLink.hidden = false;
    const w = window.open(r.pay_url, 'flashsale-pay');
    if (!w) { location.assign(r.pay_url); return; }
    showOrder(order, 'Waiting for your payment…');
    busy = false;
    // paid ends it; a failed payment leaves it unpaid: offer to pay again
    const o = await poll((x) => x.status !== 'unpaid', 900);
    if (o.status === 'paid') ui.payLink.hidden = true;
  } catch (e) {
    fail(e);
  } finally {
    busy = false;
    ui.pay.disabled = false;
    tick();
  }
}

// Finds this user's order of the item (after a reload or a 409) and shows it.
async function findMyOrder() {
  if (!userToken()) return;
  try {
    const r = await get('/api/order-status', { auth: 'user' });
    const o = (r.orders || []).find((x) => String(x.activity_id) === aid && String(x.item_id) === iid && ACTIVE.has(x.status));
    if (!o) return;
    order = { ...o, order_id: String(o.order_id) };
    showOrder(order);
    tick();
    if (order.status === 'queued') await poll();
  } catch { /* not logged in any more, or the service is busy: nothing to show */ }
}

async function main() {
  initNav();
  if (!idOk(aid) || !idOk(iid)) {
    say(ui.msg, 'This link does not name a sale item.', 'error');
    return;
  }
  ui.buy.addEventListener('click', buy);
  ui.pay.addEventListener('click', pay);
  setInterval(tick, 200);
  // listen before any order is placed, so that no event is missed
  if (userToken()) push = openPush(userToken(), onPush);
  try {
    await loadDetail();
  } catch (e) {
    say(ui.msg, e.status === 404 ? 'No such sale item.' : e.message, 'error');
    if (e.status !== 404) scheduleRefresh(3000);
    return;
  }
  scheduleRefresh(lastState === 'live' ? 3000 : 15000);
  if (lastState !== 'upcoming') findMyOrder();
}

main();
