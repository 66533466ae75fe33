// How constant tensors travel inside a generated module. Weights are most of a module's size,
// and the module ships as JS text (base64) that CDNs and bundlers gzip. Three layouts, chosen
// per tensor by which gzips smallest:
//   plain:    the tensor's bytes (int8 stays int8: one byte per weight);
//   planes:   byte k of every element together, then byte k+1 (fp32 sign/exponent bytes repeat a
//             lot; interleaved with mantissa bytes and cut into base64 sextets, gzip misses it);
//   sparse:   a bitmap of the elements whose bytes are not all zero, then only those elements
//             (as planes), so a pruned tensor travels without its zeros.
// Decoding runs once, at import, in plain JS (no WASM, no eval).
import { gzipSync } from 'node:zlib';

export type ConstantLayout = 'plain' | 'planes' | 'sparse';

export interface EncodedConstant {
  layout: ConstantLayout;
  /** The payload the module carries (base64 in its text). */
  bytes: Uint8Array;
}

/** Below this many bytes the choice is not worth a gzip run: planes for multi-byte elements, else plain. */
const MEASURE_FROM = 1024;
/** Sparse is only tried when at least this share of elements is zero. */
const SPARSE_FROM = 1 / 16;

/** Byte k of element i goes to k * count + i. */
export function toPlanes(bytes: Uint8Array, width: number): Uint8Array {
  if (width === 1) return bytes;
  const count = bytes.length / width;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < count; i++) for (let k = 0; k < width; k++) out[k * count + i] = bytes[i * width + k]!;
  return out;
}

/** Bitmap (bit i of byte i >> 3 set when element i has a nonzero byte) followed by the nonzero elements as planes. */
export function toSparse(bytes: Uint8Array, width: number): { bytes: Uint8Array; zeros: number } {
  const count = bytes.length / width;
  const mapBytes = (count + 7) >> 3;
  const map = new Uint8Array(mapBytes);
  const kept: number[] = [];
  for (let i = 0; i < count; i++) {
    let nonzero = false;
    for (let k = 0; k < width; k++) if (bytes[i * width + k] !== 0) nonzero = true;
    if (nonzero) {
      map[i >> 3]! |= 1 << (i & 7);
      kept.push(i);
    }
  }
  const values = new Uint8Array(kept.length * width);
  kept.forEach((i, j) => values.set(bytes.subarray(i * width, (i + 1) * width), j * width));
  const out = new Uint8Array(mapBytes + values.length);
  out.set(map, 0);
  out.set(toPlanes(values, width), mapBytes);
  return { bytes: out, zeros: count - kept.length };
}

// Level 1 ranks the layouts as level 6-9 do (checked on the openwakeword graphs) at a fraction of the time.
const gzipped = (bytes: Uint8Array) => gzipSync(Buffer.from(bytes).toString('base64'), { level: 1 }).length;

/** The layout of `bytes` (elements of `width` bytes) that gzips smallest as base64. */
export function encodeConstant(bytes: Uint8Array, width: number): EncodedConstant {
  const count = bytes.length / width;
  const candidates: EncodedConstant[] = [{ layout: 'plain', bytes }];
  if (width > 1) candidates.push({ layout: 'planes', bytes: toPlanes(bytes, width) });
  const sparse = toSparse(bytes, width);
  if (sparse.zeros >= count * SPARSE_FROM) candidates.push({ layout: 'sparse', bytes: sparse.bytes });
  if (bytes.length < MEASURE_FROM) {
    // Small tensors: fewest bytes, planes on a tie (deterministic, no gzip run).
    return candidates.reduce((best, c) => (c.bytes.length < best.bytes.length || (c.bytes.length === best.bytes.length && c.layout === 'planes') ? c : best));
  }
  let best = candidates[0]!;
  let bestSize = gzipped(best.bytes);
  for (const c of candidates.slice(1)) {
    const size = gzipped(c.bytes);
    if (size < bestSize) {
      best = c;
      bestSize = size;
    }
  }
  return best;
}

/**
 * The module's base64 decoder, `base64Bytes(text)` → a Uint8Array: Uint8Array.fromBase64 where the
 * runtime has it (Deno 2.8; not Node 20/22), else atob and a copy in small calls (so V8 optimises
 * it early). The copy was most of a micro module's import: the spam-edge module's 230 KB of base64
 * took 8 ms to copy after atob in a fresh Deno, 0.2–0.6 ms with fromBase64. (Node's Buffer would
 * decode as fast, but generated modules use no Node API: test/core/engine/micro/isolate.test.ts.)
 */
export const BASE64_BYTES = `// Native base64 decoding where the runtime has it, atob elsewhere (see build/micro/constant-codec.ts).
function copyChars(binary, bytes, from, to, at = 0, step = 1, to0 = 0) {
  for (let i = from; i < to; i++) bytes[to0 + i * step] = binary.charCodeAt(at + i);
}
function base64Bytes(text) {
  if (typeof Uint8Array.fromBase64 === 'function') return Uint8Array.fromBase64(text);
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 4096) copyChars(binary, bytes, i, Math.min(binary.length, i + 4096));
  return bytes;
}`;

/**
 * The module's decoder: `unpack(base64, count, width, sparse)` → the tensor's bytes (an
 * ArrayBuffer), from the decoded bytes in chunks of small calls, so V8 optimises the loops
 * early instead of interpreting one long loop at import. Needs {@link BASE64_BYTES}.
 */
export const UNPACK = `// Reassembles a constant stored as byte planes (and, when sparse, only its nonzero elements
// after a bitmap): see build/micro/constant-codec.ts.
function densePlanes(packed, out, width, count, from, to) {
  for (let k = 0; k < width; k++) {
    const base = k * count;
    for (let i = from; i < to; i++) out[i * width + k] = packed[base + i];
  }
}
// A zero bitmap byte skips its 8 elements (out starts zeroed); from is a multiple of 8.
function sparsePlanes(packed, out, width, kept, at, from, to, j) {
  for (let i = from; i < to; i++) {
    const bits = packed[i >> 3];
    if (bits === 0) { i |= 7; continue; }
    if ((bits & (1 << (i & 7))) === 0) continue;
    for (let k = 0; k < width; k++) out[i * width + k] = packed[at + k * kept + j];
    j++;
  }
  return j;
}
// The same over atob's binary string, so the payload is read once instead of copied first.
function sparseChars(binary, out, width, kept, at, from, to, j) {
  for (let i = from; i < to; i++) {
    const bits = binary.charCodeAt(i >> 3);
    if (bits === 0) { i |= 7; continue; }
    if ((bits & (1 << (i & 7))) === 0) continue;
    for (let k = 0; k < width; k++) out[i * width + k] = binary.charCodeAt(at + k * kept + j);
    j++;
  }
  return j;
}
function unpack(text, count, width, sparse) {
  const out = new Uint8Array(count * width);
  const at = sparse ? (count + 7) >> 3 : 0;
  // Without native base64, the loops read atob's string (an interpreted loop of their own ran at
  // import: 3.6 ms for 32 KB in fresh Node 20; a copy before the scatter cost a second pass).
  if (typeof Uint8Array.fromBase64 !== 'function') {
    const binary = atob(text);
    if (!sparse) {
      for (let k = 0; k < width; k++) for (let i = 0; i < count; i += 4096) copyChars(binary, out, i, Math.min(count, i + 4096), k * count, width, k);
      return out.buffer;
    }
    const kept = (binary.length - at) / width;
    for (let i = 0, j = 0; i < count; i += 4096) j = sparseChars(binary, out, width, kept, at, i, Math.min(count, i + 4096), j);
    return out.buffer;
  }
  const packed = base64Bytes(text);
  const kept = (packed.length - at) / width;
  let j = 0;
  for (let i = 0; i < count; i += 4096) {
    const to = Math.min(count, i + 4096);
    if (sparse) j = sparsePlanes(packed, out, width, kept, at, i, to, j);
    else densePlanes(packed, out, width, count, i, to);
  }
  return out.buffer;
}`;
