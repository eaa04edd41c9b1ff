// wallet.js: the red-packet wallet on the orders page (GET /api/wallet):
// the balance and the grabs credited, newest first.
import { get, userToken } from './api.js';
import { $, el, money, when } from './ui.js';

async function main() {
  const box = $('#wallet');
  if (!box || !userToken()) return;
  try {
    const w = await get('/api/wallet', { auth: 'user' });
    box.replaceChildren(
      el('h2', {}, 'Red-packet wallet'),
      el('p', { class: 'balance', id: 'wallet-balance' }, money(w.balance_cents)),
      el('ul', { class: 'grabs' }, ...w.grabs.map((g) => el('li', { 'data-grab': g.grab_id },
        `${money(g.amount_cents)} · rain ${g.rain_id} · ${when(g.created_ms)}`))));
    box.hidden = false;
  } catch { /* the orders above still show */ }
}

main();
