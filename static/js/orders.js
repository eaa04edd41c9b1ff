// orders.js: the user's orders (GET /api/order-status), newest first, with
// pay and cancel buttons; refreshes while an order is still moving.
import { get, post, serverNow, userToken } from './api.js';
import { $, el, initNav, money, duration, when, say, loginUrl } from './ui.js';

let timer = 0;
let orders = [];
const names = new Map(); // "aid:iid" -> item title, from the public list
const armed = new Map(); // order id -> time the cancel button asked to confirm

function card(o) {
  const id = String(o.order_id);
  const href = `item.html?aid=${encodeURIComponent(o.activity_id)}&iid=${encodeURIComponent(o.item_id)}`;
  const actions = el('div', { class: 'actions' });
  if (o.status === 'unpaid') {
    actions.append(el('button', { type: 'button', class: 'pay', 'data-act': 'pay', 'data-id': id }, 'Pay'));
  }
  if (o.status === 'unpaid' || o.status === 'queued') {
    const sure = armed.has(id) && Date.now() - armed.get(id) < 4000;
    actions.append(el('button', { type: 'button', class: sure ? 'danger' : 'quiet', 'data-act': 'cancel', 'data-id': id },
      sure ? 'Really cancel?' : 'Cancel'));
  }
  const left = (o.pay_deadline_ms || 0) - serverNow();
  return el('article', { class: 'order-card', id: `order-${id}`, 'data-status': o.status },
    el('div', { class: 'order-head' },
      el('a', { href }, names.get(`${o.activity_id}:${o.item_id}`) || `Sale ${o.activity_id} · item ${o.item_id}`),
      el('span', { class: `badge ${o.status}` }, o.status)),
    el('p', {}, `${o.quantity || 1} × · ${money(o.amount_cents)}`),
    el('p', { class: 'small muted' }, `Order ${id} · ${when(o.created_ms)}`),
    o.status === 'unpaid' && left > 0
      ? el('p', { class: 'small warn-text deadline', 'data-deadline': o.pay_deadline_ms }, `Pay within ${duration(left)}`) : null,
    actions);
}

function render() {
  $('#orders').replaceChildren(...orders.map(card));
  $('#empty').hidden = orders.length > 0;
}

// Item titles of the sales still public; ended ones keep their ids.
async function loadNames() {
  try {
    const r = await get('/api/detail');
    for (const a of r.activities || []) {
      for (const it of a.items || []) names.set(`${a.activity_id}:${it.item_id}`, `${it.title || it.name} · ${a.name}`);
    }
    render();
  } catch { /* ids will do */ }
}

async function load() {
  clearTimeout(timer);
  try {
    const r = await get('/api/order-status', { auth: 'user' });
    orders = r.orders || [];
    render();
    document.body.dataset.ready = '1';
  } catch (e) {
    if (e.status === 401) { location.href = loginUrl(); return; }
    say($('#msg'), e.message, 'error');
  }
  // follow orders that can still change (queued, unpaid) every few seconds
  if (orders.some((o) => o.status === 'queued' || o.status === 'unpaid')) timer = setTimeout(load, 3000);
}

async function act(ev) {
  const b = ev.target.closest('button[data-act]');
  if (!b) return;
  const id = b.dataset.id;
  say($('#msg'), '');
  if (b.dataset.act === 'cancel' && !(armed.has(id) && Date.now() - armed.get(id) < 4000)) {
    armed.set(id, Date.now());
    render();
    return;
  }
  b.disabled = true;
  try {
    if (b.dataset.act === 'pay') {
      const r = await post(`/api/pay/${id}`, {}, { auth: 'user' });
      if (!window.open(r.pay_url, 'flashsale-pay')) { location.assign(r.pay_url); return; }
      say($('#msg'), 'Payment page opened; this list updates when the payment arrives.', 'info');
    } else {
      armed.delete(id);
      const r = await post(`/api/order/${id}/cancel`, {}, { auth: 'user' });
      // a queued order is cancelled as soon as it is written (moments later)
      say($('#msg'), r && r.cancel === 'pending' ? `Order ${id} will be cancelled in a moment.`
        : `Order ${id} cancelled.`, 'ok');
    }
  } catch (e) {
    if (e.status === 401) { location.href = loginUrl(); return; }
    say($('#msg'), e.message, 'error');
  }
  await load();
}

function main() {
  initNav();
  if (!userToken()) {
    say($('#msg'), 'Log in to see your orders.', 'warn');
    $('#msg').append(' ', el('a', { href: loginUrl() }, 'Log in'));
    return;
  }
  $('#orders').addEventListener('click', act);
  load().then(loadNames);
  setInterval(() => {
    for (const p of document.querySelectorAll('.deadline')) {
      const left = Number(p.dataset.deadline) - serverNow();
      p.textContent = left > 0 ? `Pay within ${duration(left)}` : 'Payment window closed';
    }
  }, 1000);
}

main();
