// X-Twilio-Signature: base64(HMAC-SHA1(auth token, URL + sorted form parameters)).
// WebCrypto does the HMAC where the page is a secure context (loopback is); elsewhere (the
// console opened over plain HTTP on another address) a small SHA-1 below does it.

const enc = new TextEncoder();

/** The string Twilio signs: the URL, then each form parameter name and value, by name. */
export function signedData(url, params) {
  const sorted = [...params].sort((a, b) => cmp(a[0], b[0]) || cmp(a[1], b[1]));
  return url + sorted.map(([k, v]) => k + v).join('');
}

function cmp(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

export async function signature(authToken, url, params) {
  const data = enc.encode(signedData(url, params));
  const key = enc.encode(authToken);
  let mac;
  if (globalThis.crypto && crypto.subtle) {
    const k = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
    mac = new Uint8Array(await crypto.subtle.sign('HMAC', k, data));
  } else {
    mac = hmacSha1(key, data);
  }
  let bin = '';
  for (const b of mac) bin += String.fromCharCode(b);
  return btoa(bin);
}

export function hmacSha1(key, data) {
  if (key.length > 64) key = sha1(key);
  const block = new Uint8Array(64);
  block.set(key);
  const inner = new Uint8Array(64 + data.length);
  const outer = new Uint8Array(64 + 20);
  for (let i = 0; i < 64; i++) {
    inner[i] = block[i] ^ 0x36;
    outer[i] = block[i] ^ 0x5c;
  }
  inner.set(data, 64);
  outer.set(sha1(inner), 64);
  return sha1(outer);
}

export function sha1(bytes) {
  const length = bytes.length;
  const padded = (((length + 8) >> 6) + 1) << 6;
  const buf = new Uint8Array(padded);
  buf.set(bytes);
  buf[length] = 0x80;
  const view = new DataView(buf.buffer);
  view.setUint32(padded - 8, Math.floor(length / 0x20000000));
  view.setUint32(padded - 4, (length << 3) >>> 0);
  const h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
  const w = new Uint32Array(80);
  for (let off = 0; off < padded; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
    for (let i = 16; i < 80; i++) {
      const x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
      w[i] = (x << 1) | (x >>> 31);
    }
    let [a, b, c, d, e] = h;
    for (let i = 0; i < 80; i++) {
      let f, k;
      if (i < 20) [f, k] = [(b & c) | (~b & d), 0x5a827999];
      else if (i < 40) [f, k] = [b ^ c ^ d, 0x6ed9eba1];
      else if (i < 60) [f, k] = [(b & c) | (b & d) | (c & d), 0x8f1bbcdc];
      else [f, k] = [b ^ c ^ d, 0xca62c1d6];
      const t = (((a << 5) | (a >>> 27)) + f + e + k + w[i]) >>> 0;
      e = d;
      d = c;
      c = ((b << 30) | (b >>> 2)) >>> 0;
      b = a;
      a = t;
    }
    h[0] = (h[0] + a) >>> 0;
    h[1] = (h[1] + b) >>> 0;
    h[2] = (h[2] + c) >>> 0;
    h[3] = (h[3] + d) >>> 0;
    h[4] = (h[4] + e) >>> 0;
  }
  const out = new Uint8Array(20);
  const ov = new DataView(out.buffer);
  h.forEach((v, i) => ov.setUint32(i * 4, v));
  return out;
}
