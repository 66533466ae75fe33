// Gemm and MatMul over constant weights (B packed at import by `packRows`): small kernel
// functions per module (gemmLanes, gemmLanesScaled when alpha/beta are not 1, gemmColumn),
// shared by every such node, instead of loops unrolled into each node.
// Why shared: V8 optimises a function by the work it has seen, so a kernel called per block of
// columns (16 calls for a 1536 x 128 matrix-vector product) is optimised after its first calls
// and every later node and inference enters it optimised; a node's own loop nest ran
// interpreted until an on-stack replacement compiled in time (the second inference of a
// wake-word MLP in a fresh process: 4-38 ms depending on load, 0.4-0.6 ms with the shared
// kernel). Warm, 3-16 % faster than the unrolled loops on the four wake-word MLPs (fresh
// processes, interleaved, load ~1). Plain scalar JS: `npx tsx bench/matvec-ceiling.ts` measures
// the variants against onnxruntime-web (build/micro/README.md).
import { packRows } from './kernels.ts';
import { literal, type Dim, type ModuleWriter } from './module-writer.ts';

/** Output columns one kernel call sums together (one register each; 8 measured best). */
export const GEMM_LANES = 8;

/** Kernel calls at import (about 0.2 ms interpreted): see lanesSource. */
const WARM_CALLS = 1000;

const LANE_NAMES = Array.from({ length: GEMM_LANES }, (_, l) => `s${l}`);

/**
 * `gemmLanes(a, i, w, j, K, y, yi, c, ci, cs)`: for l < LANES,
 * y[yi + l] = Σk a[i + k] · w[j + k·LANES + l] + c[ci + l·cs], the weights of LANES columns
 * interleaved ([k][lane], as `packRows` lays out a full block). `gemmLanesScaled` takes
 * alpha and beta too (y = alpha · Σ + beta · c), for the Gemms that have them: two more
 * parameters live across the loop measured ~10 % slower warm, as did returning the sums
 * through a buffer for the caller to store.
 */
function lanesSource(scaled: boolean): string {
  const name = scaled ? 'gemmLanesScaled' : 'gemmLanes';
  const cAt = (l: number) => `c[${l === 0 ? 'ci' : l === 1 ? 'ci + cs' : `ci + ${l} * cs`}]`;
  return [
    `// ${GEMM_LANES} output columns of a row of A times packed weights (build/micro/gemm-kernels.ts).`,
    `function ${name}(a, i, w, j, K, y, yi, c, ci, cs${scaled ? ', alpha, beta' : ''}) {`,
    `  let ${LANE_NAMES.map((s) => `${s} = 0`).join(', ')};`,
    `  for (let k = 0; k < K; k++, j += ${GEMM_LANES}) {`,
    '    const av = a[i + k];',
    `    ${LANE_NAMES.map((s, l) => `${s} += w[${l === 0 ? 'j' : `j + ${l}`}] * av;`).join(' ')}`,
    '  }',
    ...LANE_NAMES.map((s, l) => `  y[${l === 0 ? 'yi' : `yi + ${l}`}] = ${scaled ? `alpha * ${s} + beta * ${cAt(l)}` : `${s} + ${cAt(l)}`};`),
    '}',
    // Calls at import on a scratch array (same types as the real calls) spend some of V8's
    // tier-up budget, so the kernel is optimised early in the first inference, concurrently with
    // the constants' decoding: hey_mycroft fresh-process import + first run 38 -> 32 ms (21 runs).
    `for (let r = 0, t = new Float32Array(${GEMM_LANES}); r < ${WARM_CALLS}; r++) ${name}(t, 0, t, 0, 1, t, 0, t, 0, 0${scaled ? ', 1, 1' : ''});`,
  ].join('\n');
}

/** `gemmColumn(a, i, w, j, K)`: Σk a[i + k] · w[j + k] (one column stored as a row). */
const GEMM_COLUMN_SOURCE = [
  '// One output column of a row of A times a weight column stored contiguously (build/micro/gemm-kernels.ts).',
  'function gemmColumn(a, i, w, j, K) {',
  '  let s = 0;',
  '  for (let k = 0; k < K; k++) s += a[i + k] * w[j + k];',
  '  return s;',
  '}',
].join('\n');

/**
 * Registers the unscaled lane kernel (warmed at import) and the column kernel with the module,
 * as asked, for emitters that pack their own weights with `packRows` (the recurrent ops'
 * per-step matrix-vector products); returns their names.
 */
export function gemmKernels(w: ModuleWriter, want: { lanes: boolean; column: boolean }): { lanes?: string; column?: string } {
  return {
    ...(want.lanes ? { lanes: w.helper('gemmLanes', lanesSource(false)) } : {}),
    ...(want.column ? { column: w.helper('gemmColumn', GEMM_COLUMN_SOURCE) } : {}),
  };
}

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
  /** The output buffer, [rows, N] row-major: y = alpha · A·B + beta · C. */
  y: string;
  alpha: number;
  beta: number;
  /** C (float32), element (m, n) at `c[m * rowStride + n * colStride]` (strides 0 where it broadcasts). */
  c?: { buf: string; rowStride: Dim; colStride: Dim };
}

/**
 * Packs B at import (LANES columns interleaved per block, the last N % LANES columns as rows;
 * all columns as rows when N < LANES) and returns the lines computing every output.
 */
export function packedGemmLines(w: ModuleWriter, p: PackedGemm): string[] {
  const main = p.N - (p.N % GEMM_LANES);
  // Below a block, packRows' lanes = 1 keeps every column as a row.
  const packed = packRows(w, p.b, 1, p.N, p.K, main > 0 ? GEMM_LANES : 1, p.kMajor);
  const c = p.beta === 0 ? undefined : p.c;
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
    const scaled = p.alpha !== 1 || (c !== undefined && p.beta !== 1);
    const kernel = scaled ? w.helper('gemmLanesScaled', lanesSource(true)) : w.helper('gemmLanes', lanesSource(false));
    // Without C the kernel adds a float32 zero (so C stays one typed array type).
    const [cBuf, ci, cs] = c ? [c.buf, `m * ${c.rowStride} + nb * ${c.colStride}`, c.colStride] : [w.alloc('float32', [1]), '0', 0];
    const scales = scaled ? `, ${literal(p.alpha)}, ${literal(c ? p.beta : 0)}` : '';
    lines.push(
      `  for (let nb = 0; nb < ${main}; nb += ${GEMM_LANES}) ${kernel}(${a}, ar, ${packed}, nb * ${p.K}, ${p.K}, ${p.y}, m * ${p.N} + nb, ${cBuf}, ${ci}, ${cs}${scales});`,
    );
  }
  if (main < p.N) {
    const column = w.helper('gemmColumn', GEMM_COLUMN_SOURCE);
    const sum = `${column}(${a}, ar, ${packed}, n * ${p.K}, ${p.K})`;
    const scaled = p.alpha === 1 ? sum : `${literal(p.alpha)} * ${sum}`;
    const cTerm = !c ? '' : ` + ${p.beta === 1 ? '' : `${literal(p.beta)} * `}${c.buf}[m * ${c.rowStride} + n * ${c.colStride}]`;
    lines.push(`  for (let n = ${main}; n < ${p.N}; n++) ${p.y}[m * ${p.N} + n] = ${scaled}${cTerm};`);
  }
  lines.push('}');
  return lines;
}
