// ws.mjs: a small RFC 6455 WebSocket client over node:net for the push
// tests (node 20 has no WebSocket client by default). It answers pings,
// collects the text the server sends, splits it on newlines into JSON
// values (API.md "Push channel": one message may carry several values or a
// part of one), and can send any frame, well-formed or not.
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { conf } from './flash.mjs';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

// Every socket opened, so that a test file can end them all in after():
// a failed assertion must not leave a socket holding the runner open.
const open = new Set();
export function wsCloseAll() {
  for (const s of open) s.destroy();
  open.clear();
}

export class WsClient {
  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.text = '';
    this.messages = [];   // parsed JSON values, in order
    this.arrivals = [];   // Date.now() when each of them arrived
    this.bad = [];        // lines that were not JSON
    this.cursor = 0;      // next() looks from here
    this.closed = false;
    this.closeFrame = false;
    this.waiters = new Set();
    this.closedPromise = new Promise((res) => { this.onClosed = res; });
    sock.on('data', (d) => this.onData(d));
    sock.on('close', () => { this.closed = true; this.onClosed(); this.wake(); });
    sock.on('error', () => {});
  }

  onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const f = parseFrame(this.buf);
      if (!f) break;
      this.buf = this.buf.subarray(f.total);
      if (f.opcode === 0x9) this.sendFrame(0xA, f.payload);
      else if (f.opcode === 0x8) { this.closeFrame = true; this.sock.end(); }
      else if (f.opcode === 0x1 || f.opcode === 0x0 || f.opcode === 0x2) {
        this.text += f.payload.toString('utf8');
        let nl;
        while ((nl = this.text.indexOf('\n')) >= 0) {
          const line = this.text.slice(0, nl);
          this.text = this.text.slice(nl + 1);
          if (!line.trim()) continue;
          try { this.messages.push(JSON.parse(line)); this.arrivals.push(Date.now()); } catch { this.bad.push(line); }
        }
      }
    }
    this.wake();
  }

  wake() { for (const w of this.waiters) w(); }

  // Sends one frame: opcode, payload (Buffer|string), masked as a client must.
  sendFrame(opcode, payload, { fin = true, mask = true } = {}) {
    if (this.closed) return;
    const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload ?? '', 'utf8');
    const len = data.length;
    const head = [];
    head.push((fin ? 0x80 : 0) | opcode);
    const m = mask ? 0x80 : 0;
    if (len < 126) head.push(m | len);
    else if (len < 65536) head.push(m | 126, len >> 8, len & 255);
    else { head.push(m | 127, 0, 0, 0, 0); for (let s = 24; s >= 0; s -= 8) head.push((len >>> s) & 255); }
    let body = data;
    const parts = [Buffer.from(head)];
    if (mask) {
      const key = randomBytes(4);
      body = Buffer.alloc(len);
      for (let i = 0; i < len; i++) body[i] = data[i] ^ key[i & 3];
      parts.push(key);
    }
    parts.push(body);
    this.sock.write(Buffer.concat(parts));
  }

  send(obj) { this.sendFrame(0x1, typeof obj === 'string' ? obj : JSON.stringify(obj)); }
  sendBinary(buf) { this.sendFrame(0x2, buf); }

  // Resolves with the next message (from the cursor on) for which pred is
  // true, moving the cursor past it; null after timeoutMs or at close.
  next(pred = () => true, timeoutMs = 2000) {
    return new Promise((resolve) => {
      let timer;
      const check = () => {
        for (let i = this.cursor; i < this.messages.length; i++) {
          if (pred(this.messages[i])) {
            this.cursor = i + 1;
            done(this.messages[i]);
            return;
          }
        }
        if (this.closed) done(null);
      };
      const done = (v) => { clearTimeout(timer); this.waiters.delete(check); resolve(v); };
      timer = setTimeout(() => done(null), timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  // Resolves true when the socket closes within timeoutMs.
  async waitClosed(timeoutMs = 2000) {
    let t;
    const r = await Promise.race([this.closedPromise.then(() => true),
      new Promise((res) => { t = setTimeout(() => res(false), timeoutMs); })]);
    clearTimeout(t);
    return r;
  }

  close() { this.sendFrame(0x8, Buffer.from([0x03, 0xe8])); this.sock.end(); setTimeout(() => this.sock.destroy(), 200).unref(); }
  destroy() { this.sock.destroy(); }
}

function parseFrame(b) {
  if (b.length < 2) return null;
  const opcode = b[0] & 0x0f;
  const masked = (b[1] & 0x80) !== 0;
  let len = b[1] & 0x7f, off = 2;
  if (len === 126) { if (b.length < 4) return null; len = b.readUInt16BE(2); off = 4; }
  else if (len === 127) { if (b.length < 10) return null; len = Number(b.readBigUInt64BE(2)); off = 10; }
  let key = null;
  if (masked) { if (b.length < off + 4) return null; key = b.subarray(off, off + 4); off += 4; }
  if (b.length < off + len) return null;
  let payload = Buffer.from(b.subarray(off, off + len));
  if (key) for (let i = 0; i < len; i++) payload[i] ^= key[i & 3];
  return { opcode, payload, total: off + len };
}

// Opens a WebSocket on path (default /api/push). Rejects when the upgrade
// does not answer 101 (the error carries .status and .head).
export function wsConnect(path = '/api/push', { port = conf.http_port, timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString('base64');
    const sock = net.connect({ host: '127.0.0.1', port: Number(port) });
    open.add(sock);
    sock.on('close', () => open.delete(sock));
    let head = Buffer.alloc(0);
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('ws connect timeout')); }, timeoutMs);
    const onData = (d) => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.off('data', onData);
      clearTimeout(timer);
      const text = head.subarray(0, end).toString('latin1');
      const status = Number(text.split(' ')[1]);
      const accept = createHash('sha1').update(key + GUID).digest('base64');
      if (status !== 101 || !text.toLowerCase().includes(`sec-websocket-accept: ${accept.toLowerCase()}`)) {
        sock.destroy();
        const e = new Error(`ws upgrade: ${text.split('\r\n')[0]}`);
        e.status = status; e.head = text;
        reject(e);
        return;
      }
      const c = new WsClient(sock);
      const rest = head.subarray(end + 4);
      if (rest.length) c.onData(rest);
      resolve(c);
    };
    sock.on('data', onData);
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    sock.on('connect', () => {
      sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
        `Origin: http://127.0.0.1:${port}\r\n\r\n`);
    });
  });
}

// Connects and authenticates with token; returns {ws, ready} (ready is the
// hub's first answer: {"type":"ready",...} or an error).
export async function wsAuth(token, opts) {
  const ws = await wsConnect('/api/push', opts);
  ws.send({ type: 'auth', token });
  const ready = await ws.next(() => true, 3000);
  return { ws, ready };
}
