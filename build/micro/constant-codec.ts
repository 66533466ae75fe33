// How constant tensors travel inside a generated module. Weights are most of a module's size,
// and the module ships as JS text (base64) that CDNs and bundlers gzip. Three layouts, chosen
// per tensor by which gzips smallest:
//   plain:    the tensor's bytes (int8 stays int8: one byte per weight);
//   planes:   byte k of every element together, then byte k+1 (fp32 sign/exponent bytes repeat a
//             lot; interleaved with mantissa bytes and cut into base64 sextets, gzip misses it);
//   sparse:   a bitmap of the elements whose bytes are not all zero, then only those elements
//             (as planes), so a pruned tensor travels without its zeros;
//   huffman:  one-byte elements (int8 weights) entropy-coded, a canonical Huffman code per
//             tensor. gzip cannot do this itself: base64 cuts bytes into sextets, so it sees
//             sextet frequencies, not byte frequencies (PaddleOCR cls's 124 KB of int8 weights:
//             entropy 115 KB, gzip of the bytes 120 KB, gzip of their base64 125 KB).
// Decoding runs once, at import, in plain JS (no WASM, no eval).
import { gzipSync } from 'node:zlib';

export type ConstantLayout = 'plain' | 'planes' | 'sparse' | 'huffman';

export interface EncodedConstant {
  layout: ConstantLayout;
  /** The payload the module carries (base64 in its text). */
  bytes: Uint8Array;
}

/** Below this many bytes the choice is not worth a gzip run: planes for multi-byte elements, else plain. */
const MEASURE_FROM = 1024;
/**
 * The share of gzip size Huffman must save over the other layouts: its decoding at import costs
 * ~10-20 ns a byte in a fresh process (the example spam-edge@2's 128 KB int8 table: 0.4 % smaller,
 * 2 ms slower cold, so it stays plain; PaddleOCR cls's int8 weights are 8 % smaller).
 */
const HUFFMAN_GAIN = 0.02;
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

/** Longest Huffman code: the decoder's lookup table has 2^12 entries. */
export const HUFFMAN_MAX_BITS = 12;

/** Code lengths (0 for absent bytes) of a Huffman code over byte counts, at most HUFFMAN_MAX_BITS long. */
function huffmanLengths(counts: Float64Array): Uint8Array {
  let weights = Array.from(counts);
  for (;;) {
    const lengths = new Uint8Array(256);
    const live = weights.flatMap((w, s) => (w > 0 ? [s] : []));
    if (live.length === 1) lengths[live[0]!] = 1;
    if (live.length <= 1) return lengths;
    // Nodes: leaves 0..255, inner nodes after; parent links give each leaf's depth.
    const parent: number[] = [];
    let queue = live.map((s) => ({ w: weights[s]!, id: s }));
    let next = 256;
    while (queue.length > 1) {
      queue.sort((a, b) => a.w - b.w || a.id - b.id);
      const [a, b] = queue;
      parent[a!.id] = next;
      parent[b!.id] = next;
      queue = [{ w: a!.w + b!.w, id: next++ }, ...queue.slice(2)];
    }
    let longest = 0;
    for (const s of live) {
      let depth = 0;
      for (let id = s; parent[id] !== undefined; id = parent[id]!) depth++;
      lengths[s] = depth;
      longest = Math.max(longest, depth);
    }
    if (longest <= HUFFMAN_MAX_BITS) return lengths;
    // Too deep: flatten the rare counts and build again (a slightly longer code, still exact).
    weights = weights.map((w) => (w > 0 ? Math.floor(w / 2) + 1 : 0));
  }
}

/**
 * `bytes` entropy-coded, as one bitstream (MSB first): the code lengths, byte values in signed
 * order (-128..127, where int8 weights' lengths change by at most one from one value to the
 * next) as changes from the previous length (0: "0", +1: "10", -1: "110", else "111" and 4
 * bits of the length; ~45 bytes for int8 weights instead of 128 as nibbles: 1.2 KB less gzip
 * over PaddleOCR cls's 15 tensors), then the canonical codes (shorter first, then by byte value;
 * deflate's order), then 2 zero bytes (the decoder reads 16 bits ahead).
 */
export function toHuffman(bytes: Uint8Array): Uint8Array {
  const counts = new Float64Array(256);
  for (const b of bytes) counts[b]!++;
  const lengths = huffmanLengths(counts);
  const codes = canonicalCodes(lengths);
  let bitCount = 0;
  for (let s = 0; s < 256; s++) bitCount += counts[s]! * lengths[s]!;
  const out = new Uint8Array(Math.ceil((256 * 7 + bitCount) / 8) + 2);
  let at = 0;
  let acc = 0;
  let held = 0;
  const put = (code: number, length: number) => {
    acc = (acc << length) | code;
    held += length;
    while (held >= 8) {
      held -= 8;
      out[at++] = (acc >>> held) & 255;
    }
    acc &= (1 << held) - 1;
  };
  for (let v = -128, prev = 0; v < 128; v++) {
    const l = lengths[v & 255]!;
    if (l === prev) put(0, 1);
    else if (l === prev + 1) put(2, 2);
    else if (l === prev - 1) put(6, 3);
    else put((7 << 4) | l, 7);
    prev = l;
  }
  for (const b of bytes) put(codes[b]!, lengths[b]!);
  if (held > 0) out[at++] = (acc << (8 - held)) & 255;
  return out.slice(0, at + 2);
}

/** Deflate's canonical code assignment; the module's decoder (HUFFMAN) repeats it. */
function canonicalCodes(lengths: Uint8Array): Uint32Array {
  const perLength = new Uint32Array(HUFFMAN_MAX_BITS + 1);
  for (const l of lengths) if (l > 0) perLength[l]!++;
  const next = new Uint32Array(HUFFMAN_MAX_BITS + 2);
  for (let l = 1, code = 0; l <= HUFFMAN_MAX_BITS; l++) {
    code = (code + perLength[l - 1]!) << 1;
    next[l] = code;
  }
  const codes = new Uint32Array(256);
  for (let s = 0; s < 256; s++) if (lengths[s]! > 0) codes[s] = next[lengths[s]!]!++;
  return codes;
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
  // Not below MEASURE_FROM: smaller int8 tensors measured no smaller with it.
  if (width === 1 && bytes.length >= MEASURE_FROM) candidates.push({ layout: 'huffman', bytes: toHuffman(bytes) });
  if (bytes.length < MEASURE_FROM) {
    // Small tensors: fewest bytes, planes on a tie (deterministic, no gzip run).
    return candidates.reduce((best, c) => (c.bytes.length < best.bytes.length || (c.bytes.length === best.bytes.length && c.layout === 'planes') ? c : best));
  }
  let best = candidates[0]!;
  let bestSize = gzipped(best.bytes);
  for (const c of candidates.slice(1)) {
    // Huffman decodes in JS, one table read per byte: taken only where it saves HUFFMAN_GAIN.
    const size = c.layout === 'huffman' ? gzipped(c.bytes) / (1 - HUFFMAN_GAIN) : gzipped(c.bytes);
    if (size < bestSize) {
      best = c;
      bestSize = size;
    }
  }
  return best;
}

/**
 * The module's base64 decoder, `base64Bytes(text)` → a Uint8Array: Uint8Array.fromBase64 where the
 * runtime has it (Deno 2.8; not Node 20/22), else a global Buffer where there is one (Node, Bun:
 * feature-detected, a native decode; Node's atob is JavaScript, ~2x slower on a megabyte), else
 * atob and a copy in small calls (so V8 optimises it early). The copy was most of a micro module's
 * import: the spam-edge module's 230 KB of base64 took 8 ms to copy after atob in a fresh Deno,
 * 0.2–0.6 ms with fromBase64. `nativeBase64` says whether the first two apply.
 */
export const BASE64_BYTES = `// Native base64 decoding where the runtime has it, atob elsewhere (see build/micro/constant-codec.ts).
const NodeBuffer = typeof globalThis.Buffer === 'function' && typeof globalThis.Buffer.from === 'function' ? globalThis.Buffer : null;
const nativeBase64 = typeof Uint8Array.fromBase64 === 'function' || NodeBuffer !== null;
function copyChars(binary, bytes, from, to, at = 0, step = 1, to0 = 0) {
  for (let i = from; i < to; i++) bytes[to0 + i * step] = binary.charCodeAt(at + i);
}
function base64Bytes(text) {
  if (typeof Uint8Array.fromBase64 === 'function') return Uint8Array.fromBase64(text);
  if (NodeBuffer !== null) {
    // A plain Uint8Array view, so the loops reading it see one array type.
    const b = NodeBuffer.from(text, 'base64');
    return new Uint8Array(b.buffer, b.byteOffset, b.length);
  }
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 4096) copyChars(binary, bytes, i, Math.min(binary.length, i + 4096));
  return bytes;
}`;

/** Bytes of 4- and 8-byte planes in a module from which {@link UNPACK_WARM} pays (~0.3 ms at import). */
export const WARM_UNPACK_FROM = 64 * 1024;
/**
 * Word-assembly calls at import on scratch arrays of WARM_ELEMENTS words: V8 (Node 20) marks a
 * function for optimisation after ~500 calls with stable feedback and enough bytecode run (with
 * 2 words a call it was marked only during the real decoding, so that ran unoptimised meanwhile).
 */
const WARM_CALLS = 600;
const WARM_ELEMENTS = 16;

/**
 * Calls of the word loop at import on scratch arrays of the real calls' types (all bits set, as
 * weights have), so V8 optimises it before the large constants are decoded: 786 KB of fp32 planes
 * decoded in a fresh Node 20 process 16 → 8 ms with the native base64 decode (on a loaded 2-core
 * host), as the shared GEMM kernels are warmed (build/micro/gemm-kernels.ts). Needs {@link UNPACK}.
 */
export const UNPACK_WARM = `// Warms the word loop the decoding below takes (see build/micro/constant-codec.ts).
for (let r = 0, p = new Uint8Array(${4 * WARM_ELEMENTS}).fill(255), s = "\\xff".repeat(${4 * WARM_ELEMENTS}), o = new Uint32Array(${WARM_ELEMENTS}); r < ${WARM_CALLS}; r++) {
  if (nativeBase64) planeWords(p, o, 1, ${WARM_ELEMENTS}, 0, ${WARM_ELEMENTS});
  else charWords(s, o, 1, ${WARM_ELEMENTS}, 0, ${WARM_ELEMENTS});
}`;

export const UNPACK = `// Reassembles a constant stored as byte planes (and, when sparse, only its nonzero elements
// after a bitmap): see build/micro/constant-codec.ts.
// Elements of 4 or 8 bytes are assembled as 32-bit words, one store per word instead of one per
// byte (little-endian platforms, i.e. all that run this; others take the byte loop).
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;
function planeWords(packed, out, words, count, from, to) {
  for (let w = 0; w < words; w++) {
    const b0 = 4 * w * count, b1 = b0 + count, b2 = b1 + count, b3 = b2 + count;
    for (let i = from; i < to; i++) out[i * words + w] = packed[b0 + i] | (packed[b1 + i] << 8) | (packed[b2 + i] << 16) | (packed[b3 + i] << 24);
  }
}
// The same over atob's binary string.
function charWords(binary, out, words, count, from, to) {
  for (let w = 0; w < words; w++) {
    const b0 = 4 * w * count, b1 = b0 + count, b2 = b1 + count, b3 = b2 + count;
    for (let i = from; i < to; i++) out[i * words + w] = binary.charCodeAt(b0 + i) | (binary.charCodeAt(b1 + i) << 8) | (binary.charCodeAt(b2 + i) << 16) | (binary.charCodeAt(b3 + i) << 24);
  }
}
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
  const words = !sparse && LITTLE_ENDIAN && (width === 4 || width === 8) ? new Uint32Array(out.buffer) : null;
  // Without native base64, the loops read atob's string (an interpreted loop of their own ran at
  // import: 3.6 ms for 32 KB in fresh Node 20; a copy before the scatter cost a second pass).
  if (!nativeBase64) {
    const binary = atob(text);
    if (words !== null) {
      for (let i = 0; i < count; i += 4096) charWords(binary, words, width >> 2, count, i, Math.min(count, i + 4096));
      return out.buffer;
    }
    if (!sparse) {
      for (let k = 0; k < width; k++) for (let i = 0; i < count; i += 4096) copyChars(binary, out, i, Math.min(count, i + 4096), k * count, width, k);
      return out.buffer;
    }
    const kept = (binary.length - at) / width;
    for (let i = 0, j = 0; i < count; i += 4096) j = sparseChars(binary, out, width, kept, at, i, Math.min(count, i + 4096), j);
    return out.buffer;
  }
  const packed = base64Bytes(text);
  if (words !== null) {
    for (let i = 0; i < count; i += 4096) planeWords(packed, words, width >> 2, count, i, Math.min(count, i + 4096));
    return out.buffer;
  }
  const kept = (packed.length - at) / width;
  let j = 0;
  for (let i = 0; i < count; i += 4096) {
    const to = Math.min(count, i + 4096);
    if (sparse) j = sparsePlanes(packed, out, width, kept, at, i, to, j);
    else densePlanes(packed, out, width, count, i, to);
  }
  return out.buffer;
}`;


/**
 * The module's Huffman decoder, `huffman(base64, count)` → the tensor's bytes (an ArrayBuffer),
 * for the layout {@link toHuffman} writes: a 4096-entry table (byte | code length << 8) built
 * per tensor, then one table read per byte, in chunks of small calls (as UNPACK). Needs
 * {@link BASE64_BYTES}.
 */
export const HUFFMAN = `// Entropy-coded one-byte constants (canonical Huffman codes of up to ${HUFFMAN_MAX_BITS} bits): see build/micro/constant-codec.ts.
function huffmanSpan(packed, table, state, out, from, to) {
  let p = state[0], bits = state[1], n = state[2];
  for (let i = from; i < to; i++) {
    if (n < ${HUFFMAN_MAX_BITS}) { bits = (bits << 16) | (packed[p] << 8) | packed[p + 1]; p += 2; n += 16; }
    const e = table[(bits >>> (n - ${HUFFMAN_MAX_BITS})) & ${(1 << HUFFMAN_MAX_BITS) - 1}];
    out[i] = e;
    n -= e >> 8;
  }
  state[0] = p; state[1] = bits; state[2] = n;
}
function huffman(text, count) {
  const packed = base64Bytes(text);
  const lengths = new Uint8Array(256), perLength = new Int32Array(${HUFFMAN_MAX_BITS + 1}), next = new Int32Array(${HUFFMAN_MAX_BITS + 1});
  // The code lengths, as changes in signed byte order (see toHuffman).
  let p = 0, bits = 0, n = 0;
  const bit = () => {
    if (n === 0) { bits = packed[p++]; n = 8; }
    return (bits >> --n) & 1;
  };
  for (let v = -128, l = 0; v < 128; v++) {
    if (bit() === 1) {
      if (bit() === 0) l++;
      else if (bit() === 0) l--;
      else l = (bit() << 3) | (bit() << 2) | (bit() << 1) | bit();
    }
    perLength[lengths[v & 255] = l]++;
  }
  perLength[0] = 0;
  for (let l = 1, code = 0; l <= ${HUFFMAN_MAX_BITS}; l++) next[l] = code = (code + perLength[l - 1]) << 1;
  const table = new Uint16Array(${1 << HUFFMAN_MAX_BITS});
  for (let s = 0; s < 256; s++) {
    const l = lengths[s];
    if (l === 0) continue;
    const code = next[l]++;
    table.fill(s | (l << 8), code << (${HUFFMAN_MAX_BITS} - l), (code + 1) << (${HUFFMAN_MAX_BITS} - l));
  }
  const out = new Uint8Array(count);
  const state = new Int32Array([p, bits, n]);
  for (let i = 0; i < count; i += 4096) huffmanSpan(packed, table, state, out, i, Math.min(count, i + 4096));
  return out.buffer;
}`;

/**
 * Calls of the Huffman loop at import on a scratch stream (every code 1 bit long), in modules
 * with {@link WARM_UNPACK_FROM} bytes of Huffman-coded constants or more, so V8 optimises it before
 * they are decoded (as {@link UNPACK_WARM}). Needs {@link HUFFMAN}.
 */
export const HUFFMAN_WARM = `// Warms the Huffman loop the decoding below takes (see build/micro/constant-codec.ts).
for (let r = 0, p = new Uint8Array(${WARM_ELEMENTS}).fill(255), t = new Uint16Array(${1 << HUFFMAN_MAX_BITS}).fill(256 + 255), st = new Int32Array(3), o = new Uint8Array(${WARM_ELEMENTS}); r < ${WARM_CALLS}; r++) {
  st[0] = 0; st[1] = 0; st[2] = 0;
  huffmanSpan(p, t, st, o, 0, ${WARM_ELEMENTS});
}`;
