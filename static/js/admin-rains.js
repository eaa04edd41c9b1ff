// admin-rains.js: the red-packet rains on the admin page (API.md "Red-packet
// rain", docs/RAIN.md): every rain (GET /api/admin/rains, drafts too), a new
// one, publish (cuts the pot), warm up, and the stats of one, refreshed
// every 2 s while it rains.
import { get, post, adminToken } from './api.js';
import { $, el, money, when } from './ui.js';
import { A, msg, problem, bindForm, cents, localValue, fromLocal } from './adminkit.js';

let rains = [];
let shown = 0;       // the rain whose stats are open
let statsTimer = 0;

function actions(r) {
  const b = (attr, text, cls = 'quiet small') => el('button', { type: 'button', class: cls, [attr]: r.rain_id }, text);
  return el('td', { class: 'nowrap' },
    r.status === 'draft' ? b('data-rain-publish', 'Publish', 'small') : null,
    r.status === 'published' && r.state !== 'ended' ? b('data-rain-warm', 'Warm up') : null,
    b('data-rain-stats', 'Stats'),
    r.status === 'published' ? el('a', { class: 'small', href: `rain.html?rid=${r.rain_id}` }, 'Page') : null);
}

function renderRains() {
  const rows = rains.map((r) => el('tr', { 'data-rid': r.rain_id, class: r.rain_id === shown ? 'sel' : undefined },
    el('td', {}, r.rain_id), el('td', {}, r.name),
    el('td', {}, el('span', { class: `badge ${r.state}` }, r.state)),
    el('td', { class: 'n' }, money(r.total_cents)), el('td', { class: 'n' }, r.packets),
    el('td', { class: 'nowrap' }, when(r.start_ms)), el('td', { class: 'nowrap' }, when(r.end_ms)),
    actions(r)));
  $('#rains-table tbody').replaceChildren(...rows);
  $('#rains-empty').hidden = rains.length > 0;
}

export async function loadRains() {
  if (!adminToken()) return;
  try {
    const r = await get('/api/admin/rains', A);
    rains = r.rains || [];
    renderRains();
  } catch (e) {
    msg(problem(e), 'error');
  }
}

async function showStats(rid) {
  clearTimeout(statsTimer);
  shown = rid;
  renderRains();
  const box = $('#rain-stats');
  try {
    const s = await get(`/api/admin/rains/${rid}/stats`, A);
    if (shown !== rid) return;
    box.hidden = false;
    box.dataset.rid = rid;
    $('#rain-stats-title').textContent = `Rain ${rid}: ${(rains.find((x) => x.rain_id === rid) || {}).name || ''}`;
    const set = (id, text) => { $(id).textContent = text; };
    set('#rs-status', s.status);
    set('#rs-grabbed', `${s.grabbed} of ${s.packets}`);
    set('#rs-grabbed-cents', `${money(s.grabbed_cents)} of ${money(s.total_cents)}`);
    set('#rs-credited', `${s.credited} (${money(s.credited_cents)})`);
    set('#rs-note', `updated ${when(Date.now())}`);
    for (const k of ['grabbed', 'grabbed_cents', 'credited', 'credited_cents']) box.dataset[k.replace('_c', 'C')] = s[k];
  } catch (e) {
    $('#rs-note').textContent = problem(e);
  }
  const r = rains.find((x) => x.rain_id === rid);
  const now = Date.now();
  // follow a rain while it falls (and a little after, for the credits)
  if (r && r.status === 'published' && r.start_ms <= now + 2000 && now < r.end_ms + 10000 && shown === rid)
    statsTimer = setTimeout(() => showStats(rid), 2000);
}

async function act(rid, what, button) {
  button.disabled = true;
  try {
    if (what === 'publish') {
      await post(`/api/admin/rains/${rid}/publish`, {}, A);
      msg(`Rain ${rid} published: the pot is cut into its packets.`, 'ok');
    } else {
      await post(`/api/admin/rains/${rid}/warmup`, {}, A);
      msg(`Rain ${rid} is warm (loaded into Redis).`, 'ok');
    }
    await loadRains();
    if (shown === rid || what === 'warmup') await showStats(rid);
  } catch (e) {
    msg(problem(e), 'error');
    button.disabled = false;
  }
}

export function initRains() {
  for (const b of document.querySelectorAll('[data-rain-in]')) {
    b.addEventListener('click', () => {
      const start = Date.now() + Number(b.dataset.rainIn) * 1000;
      $('#rain-start').value = localValue(start);
      $('#rain-end').value = localValue(start + 600 * 1000);
    });
  }
  bindForm($('#rain-form'), async (f) => {
    const total = cents(f.get('total'));
    if (!Number.isFinite(total) || total < 1) throw new Error('The pot is not an amount like 100.00.');
    const start_ms = fromLocal(f.get('start')), end_ms = fromLocal(f.get('end'));
    if (!Number.isFinite(start_ms) || !Number.isFinite(end_ms)) throw new Error('Set the start and the end.');
    const packets = Number(f.get('packets'));
    if (packets > total) throw new Error('Every packet holds a cent at least: fewer packets, or a bigger pot.');
    const r = await post('/api/admin/rains', { name: String(f.get('name')).trim(), total_cents: total, packets, start_ms, end_ms }, A);
    $('#rain-result').textContent = `Rain ${r.rain_id} created (${r.status}).`;
    $('#rain-result').dataset.rainId = r.rain_id;
    await loadRains();
  });
  $('#rains-reload').addEventListener('click', loadRains);
  $('#rains-table').addEventListener('click', (ev) => {
    const b = ev.target.closest('button');
    if (!b) return;
    if (b.dataset.rainPublish) act(Number(b.dataset.rainPublish), 'publish', b);
    else if (b.dataset.rainWarm) act(Number(b.dataset.rainWarm), 'warmup', b);
    else if (b.dataset.rainStats) showStats(Number(b.dataset.rainStats));
  });
}
