// adminkit.js: what the back office's modules share (admin.js,
// admin-guard.js, admin-rains.js): the admin auth option, the message box,
// error text for the operator, money and datetime-local conversions, and a
// form binder that disables the submit button while the call runs.
import { adminToken } from './api.js';
import { $, say } from './ui.js';

export const A = { auth: 'admin' };

export const msg = (text, kind) => say($('#msg'), text, kind);

export function problem(e) {
  if (e.status === 401 || e.status === 403) return 'The admin token was refused.';
  return e.serverMessage ? `${e.message} (${e.serverMessage})` : e.message;
}

// "19.99" -> 1999; NaN when not a price
export function cents(s) {
  const m = String(s).trim().match(/^([0-9]+)(?:[.,]([0-9]{1,2}))?$/);
  if (!m) return NaN;
  return Number(m[1]) * 100 + Number((m[2] || '0').padEnd(2, '0'));
}

// datetime-local value <-> ms, in the browser's time zone
const pad = (n) => String(n).padStart(2, '0');
export function localValue(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
export const fromLocal = (v) => new Date(v).getTime();

// "90 s", "5 min", "2 h", "3 d": a duration in seconds for people
export function ageText(s) {
  for (const [n, unit] of [[86400, 'd'], [3600, 'h'], [60, 'min']]) if (s >= n && s % n === 0) return `${s / n} ${unit}`;
  return `${s} s`;
}

// Runs fn(FormData) on submit with the form's button disabled; shows the error.
export function bindForm(form, fn) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!adminToken()) { msg('Enter the admin token first.', 'warn'); return; }
    const b = form.querySelector('button[type=submit]');
    b.disabled = true;
    msg('');
    try { await fn(new FormData(form)); } catch (e) { msg(problem(e), 'error'); } finally { b.disabled = false; }
  });
}
