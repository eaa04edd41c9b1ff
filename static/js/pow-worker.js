// pow-worker.js: solves a proof-of-work challenge off the page's thread
// (API.md "Guard rails", "Challenge"): the first decimal counter n such that
// SHA-256 of the ASCII text prefix + n starts with at least bits zero bits.
// crypto.subtle hashes a batch at a time (it is asynchronous, so a batch
// keeps it busy); a page served over plain http to a remote address has no
// crypto.subtle, so a small SHA-256 in JS stands in. Message in:
// {prefix, bits}; out: {answer, tries, ms}.
const BATCH = 512;
const enc = new TextEncoder();

function zeroBits(d) {
  let n = 0;
  for (const b of d) {
    if (b === 0) { n += 8; continue; }
    return n + Math.clz32(b) - 24;
  }
  return n;
}

// SHA-256 (FIPS 180-4) of bytes m, for when crypto.subtle is missing.
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);
function sha256js(m) {
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const len = ((m.length + 9 + 63) >> 6) << 6, buf = new Uint8Array(len), w = new Uint32Array(64);
  buf.set(m); buf[m.length] = 0x80;
  new DataView(buf.buffer).setUint32(len - 4, m.length * 8);
  const rot = (x, n) => (x >>> n) | (x << (32 - n));
  for (let o = 0; o < len; o += 64) {
    for (let i = 0; i < 16; i++) w[i] = (buf[o + 4 * i] << 24) | (buf[o + 4 * i + 1] << 16) | (buf[o + 4 * i + 2] << 8) | buf[o + 4 * i + 3];
    for (let i = 16; i < 64; i++) {
      const s0 = rot(w[i - 15], 7) ^ rot(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rot(w[i - 2], 17) ^ rot(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    let [a, b, c, d, e, f, g, k] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = k + (rot(e, 6) ^ rot(e, 11) ^ rot(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
      const t2 = (rot(a, 2) ^ rot(a, 13) ^ rot(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      k = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
  }
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) new DataView(out.buffer).setUint32(4 * i, h[i]);
  return out;
}

const subtle = self.crypto && self.crypto.subtle;
const digest = subtle
  ? async (bytes) => new Uint8Array(await subtle.digest('SHA-256', bytes))
  : async (bytes) => sha256js(bytes);

self.onmessage = async (e) => {
  const { prefix, bits } = e.data;
  const t0 = Date.now();
  for (let n = 0; n < Number.MAX_SAFE_INTEGER; n += BATCH) {
    const batch = [];
    for (let i = 0; i < BATCH; i++) batch.push(digest(enc.encode(prefix + (n + i))));
    const ds = await Promise.all(batch);
    for (let i = 0; i < BATCH; i++) {
      if (zeroBits(ds[i]) >= bits) {
        self.postMessage({ answer: String(n + i), tries: n + i + 1, ms: Date.now() - t0 });
        return;
      }
    }
  }
};
