// Import-time loops as shared module functions: dequantizing constant int8 weights and packing
// weights into the layout a kernel streams (build/micro/kernels.ts `packRows`).
// Why: code at a module's top level is never optimised by V8, so the same loops written inline
// ran interpreted over every element at import (and allocated a heap number per float they
// computed: the garbage collector's share grew with them). One function per kind, called per span
// of a row or of 4096 elements, is optimised after its first calls (warmed up on scratch arrays
// at import, as the Gemm kernels), so every tensor of the module and every later one of its spans
// runs optimised code.
import type { ModuleWriter } from './module-writer.ts';

/** Elements one span call covers: small enough that a span function optimised mid-tensor is entered soon. */
const SPAN = 4096;

/** Warm-up calls per span function (interpreted, ~0.1 ms): V8 marks it for optimisation by then. */
const WARM_CALLS = 600;

const DEQUANTIZE = [
  '// Dequantizes constant integer weights at import, a scale and zero point per channel (build/micro/import-kernels.ts).',
  'function dequantizeSpan(x, y, from, to, z, s) {',
  '  for (let i = from; i < to; i++) y[i] = (x[i] - z) * s;',
  '}',
  'function dequantize(x, y, scale, zero, outer, channels, inner) {',
  '  for (let o = 0, base = 0; o < outer; o++) {',
  '    for (let c = 0; c < channels; c++, base += inner) {',
  '      const z = zero === null ? 0 : zero[c], s = scale[c];',
  `      for (let i = base, end = base + inner; i < end; i += ${SPAN}) dequantizeSpan(x, y, i, Math.min(end, i + ${SPAN}), z, s);`,
  '    }',
  '  }',
  '}',
  // The scale a fraction, as real scales are (a small integer would be optimised for, then deoptimised).
  `for (let r = 0, q = new Int8Array(8), f = new Float32Array(8); r < ${WARM_CALLS}; r++) dequantizeSpan(q, f, 0, 8, 0, 0.5);`,
].join('\n');

const PACK = [
  '// Packs weight rows at import so a kernel reads LANES of them interleaved (build/micro/kernels.ts packRows):',
  '// row m, column q of src at m * rs + q * qs; each block of `lanes` rows of a group becomes',
  '// [block][q][lane], rows past the last full block stay plain.',
  'function packRow(src, s, qs, dst, d, step, K) {',
  '  for (let q = 0; q < K; q++, s += qs, d += step) dst[d] = src[s];',
  '}',
  'function packRows(src, rs, qs, dst, groups, rows, K, lanes) {',
  '  const main = rows - (rows % lanes);',
  '  for (let g = 0; g < groups; g++) {',
  '    for (let r = 0; r < rows; r++) {',
  '      const block = r < main;',
  '      const d = g * rows * K + (block ? ((r / lanes) | 0) * K * lanes + (r % lanes) : r * K);',
  `      for (let q = 0; q < K; q += ${SPAN}) packRow(src, (g * rows + r) * rs + q * qs, qs, dst, d + q * (block ? lanes : 1), block ? lanes : 1, Math.min(K - q, ${SPAN}));`,
  '    }',
  '  }',
  '}',
  `for (let r = 0, f = new Float32Array(8); r < ${WARM_CALLS}; r++) packRow(f, 0, 1, f, 0, 1, 8);`,
].join('\n');

const PACK_DEQUANTIZED = [
  '// Packs integer weight rows as packRows does, dequantizing on the way (scale and zero point of row m: channel m % channels),',
  '// so the float weights are written once, in their packed place (build/micro/import-kernels.ts).',
  'function packRowDequantized(src, s, qs, dst, d, step, K, z, sc) {',
  '  for (let q = 0; q < K; q++, s += qs, d += step) dst[d] = (src[s] - z) * sc;',
  '}',
  'function packRowsDequantized(src, rs, qs, dst, groups, rows, K, lanes, scale, zero, channels) {',
  '  const main = rows - (rows % lanes);',
  '  for (let g = 0; g < groups; g++) {',
  '    for (let r = 0; r < rows; r++) {',
  '      const block = r < main, m = g * rows + r, c = m % channels;',
  '      const z = zero === null ? 0 : zero[c], sc = scale[c];',
  '      const d = g * rows * K + (block ? ((r / lanes) | 0) * K * lanes + (r % lanes) : r * K);',
  `      for (let q = 0; q < K; q += ${SPAN}) packRowDequantized(src, m * rs + q * qs, qs, dst, d + q * (block ? lanes : 1), block ? lanes : 1, Math.min(K - q, ${SPAN}), z, sc);`,
  '    }',
  '  }',
  '}',
  `for (let r = 0, q = new Int8Array(8), f = new Float32Array(8); r < ${WARM_CALLS}; r++) packRowDequantized(q, 0, 1, f, 0, 1, 8, 0, 0.5);`,
].join('\n');

const KERNELS = { dequantize: DEQUANTIZE, packRows: PACK, packRowsDequantized: PACK_DEQUANTIZED } as const;

/** An import-time DequantizeLinear's operands (buffer names) and layout, by its output buffer. */
export interface Dequantized {
  x: string;
  scale: string;
  zero: string | null;
  outer: number;
  channels: number;
  inner: number;
}
const DEQUANTIZED = new WeakMap<ModuleWriter, Map<string, Dequantized>>();

/** Records that import-time buffer `y` holds `d` dequantized, so packing can read `d.x` instead. */
export function noteDequantized(w: ModuleWriter, y: string, d: Dequantized): void {
  const map = DEQUANTIZED.get(w) ?? new Map<string, Dequantized>();
  map.set(y, d);
  DEQUANTIZED.set(w, map);
}

/**
 * The packing call for rows of `src` (row m, column q at m * rs + q * qs) dequantizing from the
 * integers where `src` is an import-time DequantizeLinear result whose scale depends on the row
 * only; undefined otherwise. The DequantizeLinear block is then dropped if nothing else reads
 * its result (`dropUnreadDequantized`).
 */
export function packDequantizedCall(w: ModuleWriter, src: string, rs: number, qs: number, dst: string, groups: number, rows: number, K: number, lanes: number): string | undefined {
  const d = DEQUANTIZED.get(w)?.get(src);
  if (!d) return undefined;
  const M = groups * rows;
  // Channel of element (m, q) = floor(i / inner) % channels, i = m * rs + q * qs: a function of m alone, m % channels.
  const byRow = d.channels === 1 || (qs === 1 && rs === K && d.inner === K) || (rs === 1 && qs === M && d.inner === 1 && d.channels === M);
  if (!byRow) return undefined;
  const fn = importKernel(w, 'packRowsDequantized');
  return `${fn}(${d.x}, ${rs}, ${qs}, ${dst}, ${groups}, ${rows}, ${K}, ${lanes}, ${d.scale}, ${d.zero ?? 'null'}, ${d.channels});`;
}

/**
 * Drops import-time dequantize blocks whose result nothing reads any more (packing read the
 * integers instead) and those results' buffers. `rest`: the module text outside the import
 * section (run(), its functions).
 */
export function dropUnreadDequantized(w: ModuleWriter, rest: string): void {
  const map = DEQUANTIZED.get(w);
  if (!map) return;
  for (const y of map.keys()) {
    const name = new RegExp(`(?<![\\w$])${y.replace('$', '\\$')}(?![\\w$])`);
    const blocks: Array<[number, number]> = [];
    for (let i = 0; i < w.init.length; i++) if (w.init[i] === '{') blocks.push([i, (i = w.init.indexOf('}', i))]);
    const mine = blocks.find(([a, b]) => w.init.slice(a, b).some((l) => name.test(l)) && w.init.slice(a, b).some((l) => /(?<![\w$])dequantize\(/.test(l)));
    if (!mine) continue;
    const others = [...w.init.slice(0, mine[0]), ...w.init.slice(mine[1] + 1), rest, ...w.helpers.values()];
    if (others.some((l) => name.test(l))) continue;
    w.init.splice(mine[0], mine[1] - mine[0] + 1);
    const at = w.buffers.findIndex((l) => l.startsWith(`const ${y} = new `));
    if (at >= 0) w.buffers.splice(at, 1);
  }
}
/** Registers an import-time kernel with the module; returns the function to call. */
export function importKernel(w: ModuleWriter, kind: keyof typeof KERNELS): string {
  return w.helper(kind, KERNELS[kind]);
}

/**
 * Drops the import-time kernels no code calls any more (`text`: the module's import code and
 * run(); build/micro/precompute.ts may have moved their calls to build time), so a module whose
 * packing all ran at build neither carries them nor runs their warm-up.
 */
export function dropUncalledImportKernels(w: ModuleWriter, text: string): void {
  for (const kind of Object.keys(KERNELS)) {
    if (w.helpers.has(kind) && !new RegExp(`(?<![\\w$])${kind}\\(`).test(text)) w.helpers.delete(kind);
  }
}
