// pay.js: the sandbox payment provider's page (pay.html?payment_id=&order_id=
// &amount_cents=, the pay_url of POST /api/pay/{order_id}). "Pay" and "Fail"
// ask POST /api/pay/sandbox/{payment_id} with the shopper's token (only the
// payment's owner may settle it), which signs a provider notify and applies
// it exactly as /api/pay/notify would; the page then shows the result.
import { post, messageFor } from './api.js';
import { $, initNav, money, say } from './ui.js';

const ID = /^[1-9][0-9]{0,18}$/;

const RESULTS = {
  paid: ['Payment received: your order is paid.', 'ok'],
  failed: ['The payment failed. The order stays unpaid: you may try again before the deadline.', 'warn'],
  late: ['The payment came after the order had closed or been cancelled: it will be refunded.', 'warn'],
  duplicate: ['This payment was already settled; nothing changed.', 'info'],
};

function params() {
  const q = new URLSearchParams(location.search);
  const p = { payment: q.get('payment_id') || '', order: q.get('order_id') || '', amount: q.get('amount_cents') };
  return ID.test(p.payment) && ID.test(p.order) ? p : null;
}

async function settle(p, status, buttons, box) {
  for (const b of buttons) b.disabled = true;
  say(box, status === 'success' ? 'Paying...' : 'Failing the payment...', 'info');
  try {
    const r = await post(`/api/pay/sandbox/${p.payment}`, { status }, { auth: 'user' });
    const [text, kind] = RESULTS[r.result] || ['Done.', 'info'];
    say(box, text, kind);
    document.body.dataset.result = r.result || 'done';
  } catch (e) {
    say(box, e.message || messageFor(e.code), 'error');
    document.body.dataset.result = `error:${e.code || 'unknown'}`;
    // a refusal that may pass on a retry leaves the buttons usable
    if (e.status === 503 || e.status === 429 || e.code === 'network') for (const b of buttons) b.disabled = false;
  }
}

function main() {
  initNav();
  const box = $('#msg');
  const p = params();
  const buttons = [$('#pay-success'), $('#pay-fail')];
  if (!p) {
    say(box, 'This payment link is incomplete: start again from your order.', 'error');
    return;
  }
  $('#pay-order').textContent = p.order;
  $('#pay-id').textContent = p.payment;
  $('#pay-amount').textContent = p.amount !== null && /^[0-9]+$/.test(p.amount) ? money(Number(p.amount)) : '-';
  $('#pay-back').href = 'orders.html';
  buttons[0].addEventListener('click', () => settle(p, 'success', buttons, box));
  buttons[1].addEventListener('click', () => settle(p, 'fail', buttons, box));
  for (const b of buttons) b.disabled = false;
}

main();
