// login.js: log in or register against /api/user, keep the tokens in
// localStorage, then go back where the user came from (?next=).
import { post, setUserTokens, currentUser } from './api.js';
import { $, initNav, say } from './ui.js';

// only a page of this site: no scheme, no //host, no backslash tricks
function nextPage() {
  const n = new URLSearchParams(location.search).get('next') || '';
  return /^[a-z]+\.html(\?[^\\]*)?$/.test(n) ? n : 'index.html';
}

async function login(username, password) {
  const r = await post('/api/user/login', { username, password });
  setUserTokens(r.access_token, r.refresh_token || null);
  location.href = nextPage();
}

function bind(form, fn) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const btn = form.querySelector('button');
    btn.disabled = true;
    say($('#msg'), '');
    try {
      await fn(String(f.get('username')).trim(), String(f.get('password')));
    } catch (e) {
      const text = e.code === 'unauthorized' ? 'Wrong user name or password.'
        : e.code === 'conflict' ? 'That user name is taken.'
        : e.code === 'rate_limited' ? 'Too many attempts: this account is locked for now.' : e.message;
      say($('#msg'), text, 'error');
    } finally {
      btn.disabled = false;
    }
  });
}

function main() {
  initNav();
  const u = currentUser();
  if (u) say($('#msg'), `You are logged in as user ${u.id}. Log in again to switch.`, 'info');
  bind($('#login-form'), login);
  bind($('#register-form'), async (username, password) => {
    await post('/api/user/register', { username, password });
    await login(username, password);
  });
  document.body.dataset.ready = '1';
}

main();
