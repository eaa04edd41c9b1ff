// admin-guard.js: the guard rails on the admin page (API.md "Guard rails"):
// the challenge and sale rules of a new activity (fields of its form, read
// here), their summary in the activity views, and the blocklist panel
// (list, block a user id or an address, unblock).
import { api, get, post, adminToken } from './api.js';
import { $, el } from './ui.js';
import { A, msg, problem, bindForm, ageText } from './adminkit.js';

const KINDS = { none: 'no challenge', pow: 'proof of work', quiz: 'picture quiz' };

// The challenge and rules fields of the activity form f (FormData) as the
// API's fields; throws an Error a person can read when one is off.
export function guardFields(f) {
  const out = { challenge: String(f.get('challenge') || 'none') };
  const int = (name, max, what) => {
    const v = String(f.get(name) ?? '').trim();
    const n = v === '' ? 0 : Number(v);
    if (!Number.isInteger(n) || n < 0 || n > max) throw new Error(`${what} must be a whole number from 0 to ${max}.`);
    return n;
  };
  if (out.challenge === 'pow') {
    const bits = int('pow_bits', 32, 'The work bits');
    if (bits < 1) throw new Error('The work bits must be a whole number from 1 to 32.');
    out.pow_bits = bits;
  }
  const age = int('min_age', 315360000, 'The minimum account age') * Number(f.get('min_age_unit') || 1);
  if (age > 315360000) throw new Error('The minimum account age is ten years at most.');
  const perIp = int('max_orders_per_ip', 1000000000, 'The orders per address');
  if (age || perIp) out.rules = { min_account_age_s: age, max_orders_per_ip: perIp };
  return out;
}

// "proof of work, 20 bits · accounts 1 h old · 3 orders per address"
export function guardText(a) {
  const c = a.challenge || 'none';
  const parts = [c === 'pow' ? `${KINDS.pow}, ${a.pow_bits} bits` : KINDS[c] || c];
  const r = a.rules || {};
  if (r.min_account_age_s > 0) parts.push(`accounts ${ageText(r.min_account_age_s)} old`);
  if (r.max_orders_per_ip > 0) parts.push(`${r.max_orders_per_ip} ${r.max_orders_per_ip === 1 ? 'order' : 'orders'} per address`);
  return parts.join(' · ');
}

// The work bits only mean something for a proof of work.
export function initGuardForm() {
  const sync = () => { $('#act-pow-bits').disabled = $('#act-challenge').value !== 'pow'; };
  $('#act-challenge').addEventListener('change', sync);
  sync();
}

// --- the blocklist ----------------------------------------------------------

// An entry's text as the DELETE path segment: ids and addresses are digits,
// hex, dots and colons, which a path carries as they are (the server reads
// the raw path, so nothing may be percent-encoded).
const segment = (v) => (/^[0-9a-fA-F.:]+$/.test(v) ? v : null);

function renderBlocklist(entries) {
  const rows = entries.map((e) => {
    const kind = e.user_id !== undefined ? 'user' : 'ip';
    const value = kind === 'user' ? e.user_id : e.ip;
    return el('tr', { 'data-kind': kind, 'data-value': value },
      el('td', {}, kind === 'user' ? 'User' : 'Address'), el('td', { class: 'mono' }, value),
      el('td', {}, el('button', { type: 'button', class: 'quiet small', 'data-unblock': value }, 'Unblock')));
  });
  $('#block-table tbody').replaceChildren(...rows);
  $('#block-empty').hidden = entries.length > 0;
  $('#block-count').textContent = entries.length ? `${entries.length} listed` : '';
}

export async function loadBlocklist() {
  if (!adminToken()) return;
  try {
    const r = await get('/api/admin/blocklist', A);
    renderBlocklist(r.entries || []);
  } catch (e) {
    msg(problem(e), 'error');
  }
}

async function unblock(value, button) {
  const seg = segment(value);
  if (!seg) { msg(`Cannot unblock "${value}".`, 'error'); return; }
  button.disabled = true;
  try {
    await api('DELETE', `/api/admin/blocklist/${seg}`, A);
    msg(`${value} is no longer blocked.`, 'ok');
  } catch (e) {
    // already gone (another operator): the list below is the truth either way
    if (e.status !== 404) { msg(problem(e), 'error'); button.disabled = false; return; }
  }
  await loadBlocklist();
}

export function initBlocklist() {
  bindForm($('#block-form'), async (f) => {
    const v = String(f.get('value') || '').trim();
    // digits: a user id, kept a string (63-bit ids do not fit a JS number)
    const body = /^[0-9]+$/.test(v) ? { user_id: v } : { ip: v };
    const r = await post('/api/admin/blocklist', body, A);
    $('#block-value').value = '';
    msg(`${r.user_id !== undefined ? `User ${r.user_id}` : `Address ${r.ip}`} is blocked on every sale.`, 'ok');
    await loadBlocklist();
  });
  $('#block-reload').addEventListener('click', loadBlocklist);
  $('#block-table').addEventListener('click', (ev) => {
    const b = ev.target.closest('[data-unblock]');
    if (b) unblock(b.dataset.unblock, b);
  });
}
