// challenge.js: the challenge a sale may ask before the order secret
// (API.md "Guard rails", "Challenge"). passChallenge(path, reply, status)
// takes the answer of GET .../secret: a secret is returned as it is; a pow
// is solved in a Web Worker (js/pow-worker.js, about a second at 18 bits);
// a quiz shows its picture and waits for the shopper's number. The answer
// goes to POST .../secret, whose secret is returned. status(text) tells
// the page what is going on.
import { post } from './api.js';
import { $, el } from './ui.js';

function solvePow(prefix, bits) {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./pow-worker.js', import.meta.url));
    w.onmessage = (e) => { w.terminate(); document.body.dataset.powMs = String(e.data.ms); resolve(e.data.answer); };
    w.onerror = (e) => { w.terminate(); reject(new Error(`the proof of work failed: ${e.message}`)); };
    w.postMessage({ prefix, bits });
  });
}

// Shows the quiz picture with an input under the buy button; resolves to
// the number typed.
function askQuiz(image) {
  return new Promise((resolve) => {
    const input = el('input', { id: 'challenge-answer', inputmode: 'numeric', autocomplete: 'off', maxlength: 8, 'aria-label': 'Your answer', required: true });
    const form = el('form', { class: 'challenge-form' }, input, ' ', el('button', { type: 'submit', id: 'challenge-ok', text: 'OK' }));
    const box = el('div', { id: 'challenge', class: 'challenge' },
      el('p', { class: 'small', text: 'One question before you buy:' }),
      el('img', { id: 'challenge-image', src: image, alt: 'an arithmetic question; type its result' }), form);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      box.remove();
      resolve(input.value.trim());
    });
    $('#challenge')?.remove();
    $('#buy').after(box);
    input.focus();
  });
}

export async function passChallenge(path, reply, status) {
  const c = reply && reply.challenge;
  if (!c) return reply.secret;
  let answer;
  if (c.kind === 'pow') {
    status('Checking your browser (a second of work)…');
    answer = await solvePow(c.prefix, c.bits);
  } else {
    status('Please answer the question to buy.');
    answer = await askQuiz(c.image);
  }
  return (await post(path, { challenge_id: c.id, answer }, { auth: 'user' })).secret;
}
