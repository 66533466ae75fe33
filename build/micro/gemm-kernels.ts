// Gemm and MatMul over constant weights (B packed at import by `packRows`): two small kernel
// functions per module, shared by every such node, instead of the loops unrolled into each node.
// Why shared: V8 optimises a function by the work it has seen, so a kernel called per block of
// columns (16 calls for a 1536 x 128 matrix-vector product) is optimised after its first calls
// and every later node and inference enters it optimised; a node's own loop nest runs
// interpreted until an on-stack replacement compiles in time (the whole first inference, and
// the second too, of a wake-word MLP in a fresh process: 13-17 ms, against 0.5 ms with the
// shared kernel). Warm, the kernel is as fast as the unrolled loops or faster (its loop has one
// induction variable per array). Plain scalar JS: about 2 GMAC/s on the machines we bench
// (`npx tsx bench/matvec-ceiling.ts` measures the variants against onnxruntime-web).
import { packRows } from './kernels.ts';
import type { Dim, ModuleWriter } from './module-writer.ts';

/** Output columns one kernel call sums together (one register each; 8 measured best). */
export const GEMM_LANES = 8;

const LANE_NAMES = Array.from({ length: GEMM_LANES }, (_, l) => `s${l}`);

/**
 * `gemmLanes(a, i, w, j, K, sums)`: sums[l] = Σk a[i + k] · w[j + k·LANES + l], the
 * weights of LANES columns interleaved ([k][lane], as `packRows` lays out a full block).
 */
const GEMM_LANES_SOURCE = [
  `// ${GEMM_LANES} output columns of a row of A times packed weights (build/micro/gemm-kernels.ts).`,
  'function gemmLanes(a, i, w, j, K, sums) {',
  `  let ${LANE_NAMES.map((s) => `${s} = 0`).join(', ')};`,
  `  for (let k = 0; k < K; k++, j += ${GEMM_LANES}) {`,
  '    const av = a[i + k];',
  `    ${LANE_NAMES.map((s, l) => `${s} += w[${l === 0 ? 'j' : `j + ${l}`}] * av;`).join(' ')}`,
  '  }',
  `  ${LANE_NAMES.map((s, l) => `sums[${l}] = ${s};`).join(' ')}`,
  '}',
].join('\n');

/** `gemmColumn(a, i, w, j, K)`: Σk a[i + k] · w[j + k] (one column stored as a row). */
const GEMM_COLUMN_SOURCE = [
  '// One output column of a row of A times a weight column stored contiguously (build/micro/gemm-kernels.ts).',
  'function gemmColumn(a, i, w, j, K) {',
  '  let s = 0;',
  '  for (let k = 0; k < K; k++) s += a[i + k] * w[j + k];',
  '  return s;',
  '}',
].join('\n');

export interface PackedGemm {
  rows: Dim;
  K: number;
  N: number;
  /** The constant B, [K, N] (`kMajor`) or [N, K]. */
  b: string;
  kMajor: boolean;
  /** A's buffer (float32), [rows, K] row-major, or [K, rows] when `aTransposed`. */
  a: string;
  aTransposed: boolean;
  /** The statement writing output (m, n) from its sum (double). */
  store: (m: string, n: string, sum: string) => string;
}

/**
 * Packs B at import (LANES columns interleaved per block, the last N % LANES columns as rows;
 * all columns as rows when N < LANES) and returns the lines computing every output.
 */
export function packedGemmLines(w: ModuleWriter, p: PackedGemm): string[] {
  const main = p.N - (p.N % GEMM_LANES);
  // Below a block, packRows' lanes = 1 keeps every column as a row.
  const packed = packRows(w, p.b, 1, p.N, p.K, main > 0 ? GEMM_LANES : 1, p.kMajor);
  const lines = [`for (let m = 0; m < ${p.rows}; m++) {`];
  // The kernels read A's row contiguously (one index per array in their loop: a strided
  // row measured ~15 % slower warm), so a transposed A's row is gathered first.
  let a = p.a;
  if (p.aTransposed) {
    a = w.alloc('float32', [p.K]);
    lines.push(`  for (let k = 0; k < ${p.K}; k++) ${a}[k] = ${p.a}[k * ${p.rows} + m];`, '  const ar = 0;');
  } else {
    lines.push(`  const ar = m * ${p.K};`);
  }
  if (main > 0) {
    const kernel = w.helper('gemmLanes', GEMM_LANES_SOURCE);
    const sums = w.scratch(GEMM_LANES);
    lines.push(
      `  for (let nb = 0; nb < ${main}; nb += ${GEMM_LANES}) {`,
      `    ${kernel}(${a}, ar, ${packed}, nb * ${p.K}, ${p.K}, ${sums});`,
      ...Array.from({ length: GEMM_LANES }, (_, l) => `    ${p.store('m', l === 0 ? 'nb' : `nb + ${l}`, `${sums}[${l}]`)}`),
      '  }',
    );
  }
  if (main < p.N) {
    const column = w.helper('gemmColumn', GEMM_COLUMN_SOURCE);
    lines.push(`  for (let n = ${main}; n < ${p.N}; n++) ${p.store('m', 'n', `${column}(${a}, ar, ${packed}, n * ${p.K}, ${p.K})`)}`);
  }
  lines.push('}');
  return lines;
}
