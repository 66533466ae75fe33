// Kernels shared by the op emitters for the multiply-add heavy ops (Conv, Gemm, MatMul):
// constant weights packed once at import so that LANES outputs are computed together, each
// input value loaded once for all of them and the sums kept in registers (doubles). Plain JS
// scalar code: V8 does not vectorise, so the win is fewer loads and stores per multiply-add
// (about 2 GMAC/s on the machines we bench; the register-tiled conv lives in ops-nn.ts), or
// fewer multiply-adds (constant matrices of few non-zeros, `sparseRows`).
import { importKernel, packDequantizedCall } from './import-kernels.ts';
import type { Dim, ModuleWriter } from './module-writer.ts';

/** Output channels computed together by the blocked conv and dense kernels (one register each). */
export const LANES = 8;

/**
 * Weights below this many elements keep the simple loops: the packed kernel gains nothing
 * measurable there, and its import-time packing code would add bytes to edge bundles that sit
 * at their gzip budget (the example edge model's two small MatMuls).
 */
export const PACK_FROM = 2048;

/** `s0 += w[j] * xv; s1 += w[j + 1] * xv; ...` over `lanes` accumulators. */
export function laneSums(lanes: number, wBuf: string, xv: string): string {
  return Array.from({ length: lanes }, (_, l) => `s${l} += ${wBuf}[j${l === 0 ? '' : ` + ${l}`}] * ${xv};`).join(' ');
}

/**
 * A buffer filled once at import from constants (packed weights, offset tables): declared
 * with the module's buffers, its fill code in the import section.
 */
export function importBuffer(w: ModuleWriter, ctor: 'Float32Array' | 'Float64Array' | 'Int32Array', size: number, fill: (name: string) => string[]): string {
  w.checkElements(size, 'a packed weight buffer');
  const name = w.fresh('t');
  w.buffers.push(`const ${name} = new ${ctor}(${size});`);
  w.init.push('{', ...fill(name).map((l) => `  ${l}`), '}');
  return name;
}

/**
 * Packs [M, K] rows (a constant) so that each block of `lanes` rows of one group is
 * interleaved, [block][k][lane], and rows past the last full block of a group stay plain:
 * a kernel then reads the weights of `lanes` outputs with one running index.
 */
export function packRows(w: ModuleWriter, src: string, groups: number, rowsPerGroup: number, K: number, maxLanes: number, transposed = false): string {
  const lanes = Math.min(maxLanes, rowsPerGroup);
  // The loop is a shared module function (build/micro/import-kernels.ts): top-level code runs interpreted.
  const [rs, qs] = transposed ? [1, groups * rowsPerGroup] : [K, 1];
  // Rows of dequantized integers are packed from the integers: the float weights written once.
  return importBuffer(w, 'Float32Array', groups * rowsPerGroup * K, (name) => [
    packDequantizedCall(w, src, rs, qs, name, groups, rowsPerGroup, K, lanes) ?? `${importKernel(w, 'packRows')}(${src}, ${rs}, ${qs}, ${name}, ${groups}, ${rowsPerGroup}, ${K}, ${lanes});`,
  ]);
}

/**
 * Constant [K, N] matrices with at most this share of non-zeros (a mel filter bank, a pruned
 * layer) multiply through their non-zeros only: one indexed load more per multiply-add, so
 * it pays below about a quarter.
 */
export const SPARSE_UP_TO = 0.2;

/** Non-zeros of a constant [K, N] matrix (row-major), when few enough for `sparseRows`. */
export function sparseCount(data: ArrayLike<number>, K: number, N: number): number | undefined {
  if (data.length !== K * N || K * N < PACK_FROM) return undefined;
  let nnz = 0;
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) nnz++;
  return nnz <= SPARSE_UP_TO * K * N ? nnz : undefined;
}

/**
 * Rows of A times a constant sparse B ([K, N], `nnz` non-zeros): B's columns compressed at
 * import (column pointers, row indices, values; filled by scanning B, so the module carries
 * no second copy), then per output one sum over the column's non-zeros, in increasing k as
 * the dense loops. Zeros of B are skipped, so an Inf or NaN of A facing only zeros stays out
 * of the result (dense arithmetic would give NaN).
 */
export function sparseRows(w: ModuleWriter, p: { rows: Dim; K: number; N: number; nnz: number; b: string; aAt: (m: string, k: string) => string; store: (m: string, n: string, s: string) => string }): string[] {
  const ptr = importBuffer(w, 'Int32Array', p.N + 1, (name) => [
    `for (let n = 0, q = 0; n < ${p.N}; n++) { ${name}[n] = q; for (let k = 0; k < ${p.K}; k++) if (${p.b}[k * ${p.N} + n] !== 0) q++; ${name}[n + 1] = q; }`,
  ]);
  const idx = importBuffer(w, 'Int32Array', p.nnz, (name) => [
    `for (let n = 0, q = 0; n < ${p.N}; n++) for (let k = 0; k < ${p.K}; k++) if (${p.b}[k * ${p.N} + n] !== 0) ${name}[q++] = k;`,
  ]);
  const val = importBuffer(w, 'Float32Array', p.nnz, (name) => [
    `for (let n = 0, q = 0; n < ${p.N}; n++) for (let k = 0; k < ${p.K}; k++) { const v = ${p.b}[k * ${p.N} + n]; if (v !== 0) ${name}[q++] = v; }`,
  ]);
  return [
    `for (let m = 0; m < ${p.rows}; m++) {`,
    `  for (let n = 0; n < ${p.N}; n++) {`,
    `    let s = 0;`,
    `    for (let q = ${ptr}[n], end = ${ptr}[n + 1]; q < end; q++) s += ${p.aAt('m', `${idx}[q]`)} * ${val}[q];`,
    `    ${p.store('m', 'n', 's')}`,
    `  }`,
    `}`,
  ];
}
