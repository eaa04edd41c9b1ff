// ui.js: small DOM helpers shared by the pages: element building (text only,
// never HTML strings), the top navigation, money, time and countdown text.
import { currentUser, clearUserTokens, post, userToken } from './api.js';

// el('a', {href: 'x', class: 'y'}, 'text', child...) -> HTMLElement
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export const $ = (sel, root = document) => root.querySelector(sel);

export function money(cents) {
  const n = Number(cents) || 0;
  const sign = n < 0 ? '-' : '';
  const a = Math.abs(n);
  return `${sign}$${Math.floor(a / 100)}.${String(a % 100).padStart(2, '0')}`;
}

const pad = (n) => String(n).padStart(2, '0');

// "2d 03:04:05" or "03:04:05" for a duration in ms (0 below zero).
export function duration(ms) {
  let s = Math.max(0, Math.ceil(ms / 1000));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  return `${d ? `${d}d ` : ''}${pad(h)}:${pad(m)}:${pad(s)}`;
}

export function when(ms) {
  const d = new Date(Number(ms));
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// upcoming / live / ended of a sale window at server time now.
export function windowState(startMs, endMs, now) {
  if (now < startMs) return 'upcoming';
  if (now >= endMs) return 'ended';
  return 'live';
}

// Shows text in a message box (class kind: info, ok, warn, error); empty hides it.
export function say(box, text, kind = 'info') {
  if (!box) return;
  box.textContent = text || '';
  box.className = `msg msg-${kind}`;
  box.hidden = !text;
}

// Fills the <nav id="nav"> of the page: sales, the rain, my orders, admin, login state.
export function initNav() {
  const nav = document.getElementById('nav');
  if (!nav) return;
  const here = location.pathname.replace(/^.*\//, '') || 'index.html';
  const link = (href, text) => el('a', { href, class: href === here ? 'active' : undefined }, text);
  nav.replaceChildren(link('index.html', 'Sales'), link('rain.html', 'Rain'), link('orders.html', 'My orders'),
    link('admin.html', 'Admin'));
  const u = currentUser();
  if (u) {
    const out = el('button', { type: 'button', class: 'linkish', id: 'logout' }, 'Log out');
    out.addEventListener('click', async () => {
      try { if (userToken()) await post('/api/user/logout', {}, { auth: 'user' }); } catch { /* the token dies anyway */ }
      clearUserTokens();
      location.href = 'index.html';
    });
    nav.append(el('span', { class: 'who', id: 'who' }, `user ${u.id}`), out);
  } else {
    const next = encodeURIComponent(location.pathname.replace(/^.*\//, '') + location.search);
    nav.append(el('a', { href: `login.html?next=${next}`, id: 'login-link', class: here === 'login.html' ? 'active' : undefined }, 'Log in'));
  }
}

// The login page with a way back here.
export function loginUrl() {
  return `login.html?next=${encodeURIComponent(location.pathname.replace(/^.*\//, '') + location.search)}`;
}

// A picture of an item: its first image, or a lettered placeholder.
export function itemPicture(item, cls = 'pic') {
  const src = Array.isArray(item.images) && item.images.find((u) => typeof u === 'string' && u);
  if (src) return el('img', { class: cls, src, alt: item.title || item.name || 'item', loading: 'lazy' });
  return el('div', { class: `${cls} pic-none`, 'aria-hidden': 'true' }, (item.name || '?').slice(0, 1).toUpperCase());
}
