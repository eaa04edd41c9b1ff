// push.js: the push channel (API.md "Push channel"): one WebSocket to
// /api/push, authenticated by its first message. The hub writes
// newline-delimited JSON and a WebSocket message may carry several values or
// a part of one, so text is buffered and split on newlines. A dropped socket
// is opened again with a growing pause; a refused token is not retried. The
// pages keep polling as the fallback, more slowly while the socket is ready.

// openPush(token, onMessage, onState?) -> {ready, send(obj), close()}.
// onMessage(value) gets every value the hub sends (ready included);
// onState(ready) is told when the socket becomes ready or is lost.
export function openPush(token, onMessage, onState = () => {}) {
  let ws = null, ready = false, stopped = false, buf = '', pause = 1000, timer = 0;

  const lost = () => {
    if (ready) { ready = false; onState(false); }
    ws = null;
    buf = '';
    if (stopped) return;
    timer = setTimeout(connect, pause);
    pause = Math.min(pause * 2, 30000);
  };
  const lines = (text) => {
    buf += text;
    if (buf.length > 1 << 20) buf = ''; // never from our hub: do not grow
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!line.trim()) continue;
      let v;
      try { v = JSON.parse(line); } catch { continue; }
      if (v.type === 'ready') { ready = true; pause = 1000; onState(true); }
      if (v.type === 'error' && v.error === 'unauthorized') stopped = true;
      onMessage(v);
    }
  };
  function connect() {
    if (stopped || typeof WebSocket !== 'function') return;
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/push`;
    try { ws = new WebSocket(url); } catch { lost(); return; }
    ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token }));
    ws.onmessage = (ev) => { if (typeof ev.data === 'string') lines(ev.data); };
    ws.onclose = lost;
    ws.onerror = () => {}; // onclose follows
  }
  connect();
  return {
    get ready() { return ready; },
    send(obj) { if (ws && ready && ws.readyState === 1) ws.send(JSON.stringify(obj)); },
    close() { stopped = true; clearTimeout(timer); if (ws) ws.close(); },
  };
}
