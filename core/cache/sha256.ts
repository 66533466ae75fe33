// Synchronous SHA-256 (FIPS 180-4) for cache keys. Every prediction hashes its input;
// crypto.subtle.digest is asynchronous and, in Node, a thread-pool round trip of about
// 100 µs for a few KB, several times what this loop costs. Same digest as web crypto
// (a test compares them), so keys agree across runtimes whichever computed them.

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
  0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
  0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
  0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
  0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const encoder = new TextEncoder();
const schedule = new Int32Array(64);
const state = new Int32Array(8);
// Scratch for the UTF-8 bytes plus padding, grown on demand and reused: no allocation per
// hash (every request hashes a few KB, and the garbage showed up under load).
let scratch = new Uint8Array(16 * 1024);

/** Bytes needed for `length` message bytes plus 0x80, zero padding and the 64-bit length. */
function paddedLength(length: number): number {
  return ((length + 9 + 63) >> 6) << 6;
}

/** Hashes the first `length` bytes of `buffer` (which has room for the padding) into `state`. */
function digestInto(buffer: Uint8Array, length: number): void {
  const total = paddedLength(length);
  buffer.fill(0, length, total);
  buffer[length] = 0x80;
  const bitsHigh = Math.floor(length / 2 ** 29);
  const bitsLow = (length << 3) >>> 0;
  buffer[total - 8] = bitsHigh >>> 24;
  buffer[total - 7] = bitsHigh >>> 16;
  buffer[total - 6] = bitsHigh >>> 8;
  buffer[total - 5] = bitsHigh;
  buffer[total - 4] = bitsLow >>> 24;
  buffer[total - 3] = bitsLow >>> 16;
  buffer[total - 2] = bitsLow >>> 8;
  buffer[total - 1] = bitsLow;

  let h0 = 0x6a09e667, h1 = 0xbb67ae85 | 0, h2 = 0x3c6ef372, h3 = 0xa54ff53a | 0;
  let h4 = 0x510e527f, h5 = 0x9b05688c | 0, h6 = 0x1f83d9ab, h7 = 0x5be0cd19;
  const w = schedule;
  for (let offset = 0; offset < total; offset += 64) {
    for (let i = 0, j = offset; i < 16; i++, j += 4) {
      w[i] = ((buffer[j] as number) << 24) | ((buffer[j + 1] as number) << 16) | ((buffer[j + 2] as number) << 8) | (buffer[j + 3] as number);
    }
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15] as number;
      const b = w[i - 2] as number;
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[i] = ((w[i - 16] as number) + s0 + (w[i - 7] as number) + s1) | 0;
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + S1 + ((e & f) ^ (~e & g)) + (K[i] as number) + (w[i] as number)) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
    h5 = (h5 + f) | 0;
    h6 = (h6 + g) | 0;
    h7 = (h7 + h) | 0;
  }
  state[0] = h0;
  state[1] = h1;
  state[2] = h2;
  state[3] = h3;
  state[4] = h4;
  state[5] = h5;
  state[6] = h6;
  state[7] = h7;
}

/** SHA-256 of `bytes` as 32 bytes. */
export function sha256(bytes: Uint8Array): Uint8Array {
  const buffer = new Uint8Array(paddedLength(bytes.length));
  buffer.set(bytes);
  digestInto(buffer, bytes.length);
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const word = state[i] as number;
    out[i * 4] = word >>> 24;
    out[i * 4 + 1] = word >>> 16;
    out[i * 4 + 2] = word >>> 8;
    out[i * 4 + 3] = word;
  }
  return out;
}

const HEX_CODES = new Uint8Array(Array.from('0123456789abcdef', (c) => c.charCodeAt(0)));
const hexChars = new Uint16Array(64);

/**
 * Hex SHA-256 of `parts` joined: strings as UTF-8, byte arrays as they are (one text, or a
 * prefix and a text, or tensor bytes: hashing them in turn spares building the joined
 * input). No string part may end inside a surrogate pair that the next one completes.
 */
export function sha256HexSync(...parts: Array<string | Uint8Array>): string {
  // UTF-8 takes at most 3 bytes per UTF-16 unit; encodeInto fills the reused scratch.
  let units = 0;
  for (const part of parts) units += typeof part === 'string' ? part.length * 3 : part.length;
  const needed = paddedLength(units);
  if (scratch.length < needed) scratch = new Uint8Array(Math.max(needed, scratch.length * 2));
  let written = 0;
  for (const part of parts) {
    if (typeof part === 'string') written += encoder.encodeInto(part, written === 0 ? scratch : scratch.subarray(written)).written;
    else {
      scratch.set(part, written);
      written += part.length;
    }
  }
  digestInto(scratch, written);
  for (let i = 0; i < 8; i++) {
    const word = state[i] as number;
    for (let nibble = 0; nibble < 8; nibble++) hexChars[i * 8 + nibble] = HEX_CODES[(word >>> (28 - nibble * 4)) & 15] as number;
  }
  // One flat string: `hex +=` per byte left a 32-deep rope (~1.7 KB instead of ~100 B) that
  // every cache and ghost-list entry keyed by it kept alive (found by the soak).
  return String.fromCharCode.apply(null, hexChars as unknown as number[]);
}
