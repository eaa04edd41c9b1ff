// admin.js: the back office: the admin token (sessionStorage), new items and
// activities (with their guard rails: js/admin-guard.js), adding items to an
// activity, publish, warm up, and the stats of an activity: live from the
// push channel (js/dashboard.js draws it), else refreshed every 2 s while its
// sale runs. The blocklist (admin-guard.js) and the rains (admin-rains.js)
// have panels of their own.
import { api, get, post, adminToken, setAdminToken } from './api.js';
import { $, el, initNav, money, when } from './ui.js';
import { openPush } from './push.js';
import { Dashboard } from './dashboard.js';
import { A, msg, problem, cents, localValue, fromLocal, bindForm } from './adminkit.js';
import { guardFields, guardText, initGuardForm, initBlocklist, loadBlocklist } from './admin-guard.js';
import { initRains, loadRains } from './admin-rains.js';

let activities = [];
let current = null; // the activity open in the panel
let statsTimer = 0;
let push = null;      // the push channel, opened with the admin token
let dash = null;      // the live charts of the open activity

function tokenState() {
  $('#token-state').textContent = adminToken() ? 'token set for this tab' : 'no token yet';
}

function loadAll() {
  loadActivities();
  loadBlocklist();
  loadRains();
}

async function loadActivities() {
  if (!adminToken()) return;
  try {
    const r = await get('/api/admin/activities', A);
    activities = (r.activities || []).sort((x, y) => y.activity_id - x.activity_id);
    renderActivities();
  } catch (e) {
    msg(problem(e), 'error');
  }
}

function renderActivities() {
  const rows = activities.map((a) => el('tr', { 'data-aid': a.activity_id, class: current && current.activity_id === a.activity_id ? 'sel' : undefined },
    el('td', {}, a.activity_id), el('td', {}, a.name), el('td', {}, el('span', { class: `badge ${a.status}` }, a.status)),
    el('td', { class: 'nowrap' }, when(a.start_ms)), el('td', { class: 'nowrap' }, when(a.end_ms)),
    el('td', { class: 'small guard' }, guardText(a)),
    el('td', {}, el('button', { type: 'button', class: 'quiet small', 'data-open': a.activity_id }, 'Open'))));
  $('#activities tbody').replaceChildren(...rows);
}

function openActivity(a) {
  current = a;
  $('#panel').hidden = false;
  $('#panel').dataset.aid = a.activity_id;
  $('#panel-title').textContent = `Activity ${a.activity_id}: ${a.name}`;
  const st = $('#panel-state');
  st.textContent = a.status;
  st.className = `badge ${a.status}`;
  const g = $('#panel-guard');
  g.textContent = `Guard rails: ${guardText(a)}`;
  g.dataset.challenge = a.challenge || 'none';
  $('#publish').disabled = a.status !== 'draft';
  $('#add-submit').disabled = a.status !== 'draft';
  renderActivities();
  loadStats();
  liveWatch(a.activity_id);
  $('#panel').scrollIntoView({ block: 'nearest' });
}

function renderStats(items) {
  const rows = (items || []).map((s) => el('tr', { 'data-iid': s.item_id },
    ...['item_id', 'stock', 'remaining', 'queued', 'unpaid', 'paid', 'closed', 'cancelled', 'failed']
      .map((k) => el('td', { class: `n ${k}` }, s[k] ?? '–')),
    // a sharded item lists its shards (docs/SHARDS.md); one key otherwise
    el('td', { class: 'n shards', title: Array.isArray(s.shards) ? s.shards.map((x) => `${x.tag}: ${x.remaining}`).join('\n') : undefined },
      Array.isArray(s.shards) ? s.shards.length : 1)));
  $('#stats tbody').replaceChildren(...rows);
}

// The live stream of activity aid: the push channel (opened once with the
// admin token) is asked for it; every stats value redraws the table and the
// charts. Without the channel the table falls back to loadStats's polling.
function liveWatch(aid) {
  if (!dash) dash = new Dashboard($('#charts'), { rate: $('#live-rate'), backlog: $('#live-backlog'), ticks: $('#live') });
  if (dash.aid !== aid) dash.reset(aid);
  if (!push && adminToken()) {
    push = openPush(adminToken(), (m) => {
      if (m.type === 'ready' && current) push.send({ type: 'subscribe', activity_id: current.activity_id });
      if (m.type !== 'stats' || !current || m.activity_id !== current.activity_id) return;
      renderStats(m.items);
      $('#stats-note').textContent = `live ${when(m.now_ms)}`;
      dash.add(m);
    }, (ready) => {
      $('#live-state').textContent = ready ? 'live' : 'offline';
      $('#live-state').className = `badge ${ready ? 'published' : 'ended'}`;
      if (!ready) loadStats(); // back to polling until it returns
    });
  }
  if (push) push.send({ type: 'subscribe', activity_id: aid });
}

async function loadStats() {
  clearTimeout(statsTimer);
  if (!current) return;
  const aid = current.activity_id;
  try {
    const r = await get(`/api/admin/activities/${aid}/stats`, A);
    if (!current || current.activity_id !== aid) return;
    renderStats(r.items);
    $('#stats-note').textContent = `updated ${when(Date.now())}`;
  } catch (e) {
    $('#stats-note').textContent = problem(e);
  }
  const now = Date.now();
  // refresh every 2 s while the sale runs, unless the push channel streams it
  if (current && current.activity_id === aid && current.status === 'published' && !(push && push.ready) &&
      current.start_ms <= now + 2000 && now < current.end_ms) {
    statsTimer = setTimeout(loadStats, 2000);
  }
}

async function uploadImage(file) {
  if (!adminToken()) { msg('Enter the admin token first.', 'warn'); return; }
  try {
    const r = await api('POST', '/api/admin/images', { auth: 'admin', raw: { body: file, type: file.type } });
    const ta = $('#item-images');
    ta.value = (ta.value.trim() ? `${ta.value.trim()}\n` : '') + r.url;
    msg(`Image stored at ${r.url}`, 'ok');
  } catch (e) {
    msg(problem(e), 'error');
  }
}

function main() {
  initNav();
  tokenState();
  $('#token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    setAdminToken($('#admin-token').value.trim());
    $('#admin-token').value = '';
    tokenState();
    msg('');
    loadAll();
  });
  $('#forget-token').addEventListener('click', () => { setAdminToken(null); tokenState(); });
  $('#image-file').addEventListener('change', (ev) => { const f = ev.target.files[0]; if (f) uploadImage(f); });

  bindForm($('#item-form'), async (f) => {
    const price = cents(f.get('price'));
    if (!Number.isFinite(price)) throw new Error('The price is not a number like 19.99.');
    const images = String(f.get('images') || '').split(/\s+/).filter(Boolean);
    const r = await post('/api/admin/items', {
      name: String(f.get('name')).trim(), title: String(f.get('title')).trim(),
      description: String(f.get('description')), price_cents: price,
      stock: Number(f.get('stock')), images,
    }, A);
    $('#item-result').textContent = `Item ${r.item_id} created.`;
    $('#item-result').dataset.itemId = r.item_id;
    $('#add-item').value = r.item_id;
  });

  for (const b of document.querySelectorAll('[data-in]')) {
    b.addEventListener('click', () => {
      const start = Date.now() + Number(b.dataset.in) * 1000;
      $('#act-start').value = localValue(start);
      $('#act-end').value = localValue(start + 3600 * 1000);
    });
  }
  bindForm($('#activity-form'), async (f) => {
    const start_ms = fromLocal(f.get('start')), end_ms = fromLocal(f.get('end'));
    if (!Number.isFinite(start_ms) || !Number.isFinite(end_ms)) throw new Error('Set the start and the end.');
    const r = await post('/api/admin/activities', {
      name: String(f.get('name')).trim(), description: String(f.get('description')), start_ms, end_ms,
      ...guardFields(f),
    }, A);
    $('#act-result').textContent = `Activity ${r.activity_id} created (${r.status}).`;
    $('#act-result').dataset.activityId = r.activity_id;
    await loadActivities();
    const a = activities.find((x) => x.activity_id === r.activity_id) ||
      { activity_id: r.activity_id, name: f.get('name'), status: r.status, start_ms, end_ms };
    openActivity(a);
  });

  bindForm($('#add-form'), async (f) => {
    const price = cents(f.get('flash_price'));
    if (!Number.isFinite(price)) throw new Error('The flash price is not a number like 9.99.');
    await post(`/api/admin/activities/${current.activity_id}/items`, {
      item_id: Number(f.get('item_id')), flash_price_cents: price,
      stock: Number(f.get('stock')), per_user_limit: Number(f.get('per_user_limit')),
      shards: Number(f.get('shards') || 1),
    }, A);
    const k = Number(f.get('shards') || 1);
    msg(`Item ${f.get('item_id')} added to activity ${current.activity_id} at ${money(price)}${k > 1 ? `, its stock in ${k} shards` : ''}.`, 'ok');
    loadStats();
  });

  $('#publish').addEventListener('click', async () => {
    try {
      const r = await post(`/api/admin/activities/${current.activity_id}/publish`, {}, A);
      current = { ...current, status: r.status || 'published' };
      msg(`Activity ${current.activity_id} published.`, 'ok');
      await loadActivities();
      openActivity(activities.find((x) => x.activity_id === current.activity_id) || current);
    } catch (e) { msg(problem(e), 'error'); }
  });
  $('#warmup').addEventListener('click', async () => {
    try {
      await post(`/api/admin/activities/${current.activity_id}/warmup`, {}, A);
      msg(`Activity ${current.activity_id} is warm (loaded into Redis).`, 'ok');
      loadStats();
    } catch (e) { msg(problem(e), 'error'); }
  });
  $('#stats-reload').addEventListener('click', loadStats);
  $('#reload').addEventListener('click', loadActivities);
  $('#activities').addEventListener('click', (ev) => {
    const b = ev.target.closest('[data-open]');
    if (!b) return;
    const a = activities.find((x) => String(x.activity_id) === b.dataset.open);
    if (a) openActivity(a);
  });
  initGuardForm();
  initBlocklist();
  initRains();
  loadAll();
  document.body.dataset.ready = '1';
}

main();
