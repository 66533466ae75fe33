// Benchmark (not a test): how fast plain scalar JS multiplies a vector by a constant matrix,
// the op that dominates the openWakeWord detectors (x[1, 1536] · W[1536, 128] of alexa,
// hey_jarvis, hey_mycroft, hey_rhasspy), against onnxruntime-web's SIMD WASM MatMul of the same
// shape, in one process, interleaved in blocks (machine noise hits every variant alike).
// Variants:
// - micro module: the micro compiler's module of a one-MatMul graph (what the engine runs:
//   input checks, the shared kernels of build/micro/gemm-kernels.ts, the output copy);
// - hand-written kernels, each its own function (V8's feedback stays monomorphic): 8 columns
//   per pass over float32 weights packed [k][lane] (the micro layout), the same with `| 0`
//   indices (no overflow checks), over float64 weights (no float→double convert per load),
//   4 rows of [N, K] float64 weights per pass, 4 columns with k unrolled by 2, and one plain
//   dot product per column;
// - ort-web: onnxruntime-web (wasm, SIMD, one thread) session.run of the MatMul, and of an
//   Identity of the same input (its per-call cost without the multiply-adds).
// Usage: npx tsx bench/matvec-ceiling.ts [--k 1536] [--n 128] [--rows 1] [--seconds 8] [--json]
// Last line: one JSON object. GMAC/s = rows·K·N / p50 (and / p10: the uncontended speed on a shared machine).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-web/wasm';
import { importMicroModule } from '../adapters/node/micro-module-loader.ts';
import { compileOnnxToModule } from '../build/micro/compile.ts';
import { GraphBuilder } from '../build/onnx/builder.ts';
import { seededRandom } from '../models/training/prng.ts';
import { machineLine, quantile, summarize } from './stats.ts';

const { values } = parseArgs({
  options: {
    k: { type: 'string', default: '1536' },
    n: { type: 'string', default: '128' },
    rows: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '8' },
    json: { type: 'boolean', default: false },
  },
});
const K = Number(values.k);
const N = Number(values.n);
const ROWS = Number(values.rows);
if (N % 8 !== 0 || N < 8 || K < 2 || K % 2 !== 0 || !(ROWS >= 1)) throw new Error('--n must be a multiple of 8, --k even, --rows ≥ 1');
const say = (line: string) => {
  if (!values.json) console.log(line);
};

const next = seededRandom(5);
const weights = Float32Array.from({ length: K * N }, () => next() * 2 - 1); // [K, N], MatMul's B
const x = Float32Array.from({ length: ROWS * K }, () => next() * 2 - 1);
const y = new Float32Array(ROWS * N);

/** B's columns in blocks of `lanes`, [block][k][lane] (build/micro/kernels.ts packRows). */
function packLanes<T extends Float32Array | Float64Array>(out: T, lanes: number): T {
  for (let nb = 0; nb < N; nb += lanes) for (let k = 0; k < K; k++) for (let l = 0; l < lanes; l++) out[nb * K + k * lanes + l] = weights[k * N + nb + l]!;
  return out;
}
const lanes8 = packLanes(new Float32Array(K * N), 8);
const lanes8f64 = packLanes(new Float64Array(K * N), 8);
const lanes4 = packLanes(new Float32Array(K * N), 4);
const rowsF64 = new Float64Array(K * N); // [N, K]
const rowsF32 = new Float32Array(K * N);
for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) rowsF64[n * K + k] = rowsF32[n * K + k] = weights[k * N + n]!;
const xF64 = new Float64Array(K);
// The kernels take their dims and buffers as parameters, as the micro module's shared kernels
// do: module-level bindings read in a loop cost a context load and a TDZ check per access.

function lanes8Kernel(a: Float32Array, w: Float32Array, out: Float32Array, ROWS: number, K: number, N: number): void {
  for (let m = 0; m < ROWS; m++) {
    const i = m * K;
    for (let nb = 0; nb < N; nb += 8) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
      for (let k = 0, j = nb * K; k < K; k++, j += 8) {
        const av = a[i + k]!;
        s0 += w[j]! * av; s1 += w[j + 1]! * av; s2 += w[j + 2]! * av; s3 += w[j + 3]! * av; s4 += w[j + 4]! * av; s5 += w[j + 5]! * av; s6 += w[j + 6]! * av; s7 += w[j + 7]! * av;
      }
      const o = m * N + nb;
      out[o] = s0; out[o + 1] = s1; out[o + 2] = s2; out[o + 3] = s3; out[o + 4] = s4; out[o + 5] = s5; out[o + 6] = s6; out[o + 7] = s7;
    }
  }
}

function lanes8OrZero(a: Float32Array, w: Float32Array, out: Float32Array, ROWS: number, K: number, N: number): void {
  for (let m = 0; m < ROWS; m++) {
    const i = m * K;
    for (let nb = 0; nb < N; nb += 8) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
      for (let k = 0, j = nb * K; k < K; k++, j = (j + 8) | 0) {
        const av = a[(i + k) | 0]!;
        s0 += w[j]! * av; s1 += w[(j + 1) | 0]! * av; s2 += w[(j + 2) | 0]! * av; s3 += w[(j + 3) | 0]! * av;
        s4 += w[(j + 4) | 0]! * av; s5 += w[(j + 5) | 0]! * av; s6 += w[(j + 6) | 0]! * av; s7 += w[(j + 7) | 0]! * av;
      }
      const o = m * N + nb;
      out[o] = s0; out[o + 1] = s1; out[o + 2] = s2; out[o + 3] = s3; out[o + 4] = s4; out[o + 5] = s5; out[o + 6] = s6; out[o + 7] = s7;
    }
  }
}

/** lanes8Kernel's body over float64 weights and A converted to float64 once per row. */
function lanes8F64(a: Float32Array, w: Float64Array, out: Float32Array, ROWS: number, K: number, N: number, xF64: Float64Array): void {
  for (let m = 0; m < ROWS; m++) {
    for (let k = 0; k < K; k++) xF64[k] = a[m * K + k]!;
    for (let nb = 0; nb < N; nb += 8) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
      for (let k = 0, j = nb * K; k < K; k++, j += 8) {
        const av = xF64[k]!;
        s0 += w[j]! * av; s1 += w[j + 1]! * av; s2 += w[j + 2]! * av; s3 += w[j + 3]! * av; s4 += w[j + 4]! * av; s5 += w[j + 5]! * av; s6 += w[j + 6]! * av; s7 += w[j + 7]! * av;
      }
      const o = m * N + nb;
      out[o] = s0; out[o + 1] = s1; out[o + 2] = s2; out[o + 3] = s3; out[o + 4] = s4; out[o + 5] = s5; out[o + 6] = s6; out[o + 7] = s7;
    }
  }
}

function dot4RowsF64(a: Float32Array, w: Float64Array, out: Float32Array, ROWS: number, K: number, N: number, xF64: Float64Array): void {
  for (let m = 0; m < ROWS; m++) {
    for (let k = 0; k < K; k++) xF64[k] = a[m * K + k]!;
    for (let n = 0; n < N; n += 4) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      const r = n * K;
      for (let k = 0; k < K; k++) {
        const av = xF64[k]!;
        s0 += w[r + k]! * av; s1 += w[r + K + k]! * av; s2 += w[r + 2 * K + k]! * av; s3 += w[r + 3 * K + k]! * av;
      }
      const o = m * N + n;
      out[o] = s0; out[o + 1] = s1; out[o + 2] = s2; out[o + 3] = s3;
    }
  }
}

function lanes4K2(a: Float32Array, w: Float32Array, out: Float32Array, ROWS: number, K: number, N: number): void {
  for (let m = 0; m < ROWS; m++) {
    const i = m * K;
    for (let nb = 0; nb < N; nb += 4) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let k = 0, j = nb * K; k < K; k += 2, j += 8) {
        const a0 = a[i + k]!;
        const a1 = a[i + k + 1]!;
        s0 += w[j]! * a0 + w[j + 4]! * a1; s1 += w[j + 1]! * a0 + w[j + 5]! * a1;
        s2 += w[j + 2]! * a0 + w[j + 6]! * a1; s3 += w[j + 3]! * a0 + w[j + 7]! * a1;
      }
      const o = m * N + nb;
      out[o] = s0; out[o + 1] = s1; out[o + 2] = s2; out[o + 3] = s3;
    }
  }
}

function dotPerColumn(a: Float32Array, w: Float32Array, out: Float32Array, ROWS: number, K: number, N: number): void {
  for (let m = 0; m < ROWS; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[m * K + k]! * w[n * K + k]!;
      out[m * N + n] = s;
    }
  }
}

// The graphs: y = MatMul(x, W) and y = Identity(x), x [ROWS, K].
function graph(op: 'MatMul' | 'Identity'): Uint8Array {
  const g = new GraphBuilder(`matvec-${op}`);
  g.input('x', 'float32', [ROWS, K]);
  if (op === 'MatMul') {
    g.initializer('w', { dtype: 'float32', dims: [K, N], data: weights });
    g.node('MatMul', ['x', 'w'], ['y']);
    g.output('y', 'float32', [ROWS, N]);
  } else {
    g.node('Identity', ['x'], ['y']);
    g.output('y', 'float32', [ROWS, K]);
  }
  return new Uint8Array(g.encode(17));
}
const matmulGraph = graph('MatMul');
const micro = await importMicroModule(compileOnnxToModule(matmulGraph, { name: 'matvec' }).source, 'matvec');
const microFeeds = { x: { dtype: 'float32' as const, dims: [ROWS, K], data: x } };

ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;
ort.env.wasm.wasmBinary = new Uint8Array(readFileSync(createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm')));
const ortMatMul = await ort.InferenceSession.create(matmulGraph);
const ortIdentity = await ort.InferenceSession.create(graph('Identity'));
const ortFeeds = { x: new ort.Tensor('float32', x, [ROWS, K]) };

type Variant = { name: string; macs: boolean; run: () => unknown };
const variants: Variant[] = [
  { name: 'micro module (MatMul graph)', macs: true, run: () => micro.run(microFeeds) },
  { name: 'f32, 8 columns per pass [k][lane]', macs: true, run: () => lanes8Kernel(x, lanes8, y, ROWS, K, N) },
  { name: 'f32, 8 columns, | 0 indices', macs: true, run: () => lanes8OrZero(x, lanes8, y, ROWS, K, N) },
  { name: 'f64 weights, 8 columns', macs: true, run: () => lanes8F64(x, lanes8f64, y, ROWS, K, N, xF64) },
  { name: 'f64 weights, 4 rows of [N, K]', macs: true, run: () => dot4RowsF64(x, rowsF64, y, ROWS, K, N, xF64) },
  { name: 'f32, 4 columns, k unrolled 2', macs: true, run: () => lanes4K2(x, lanes4, y, ROWS, K, N) },
  { name: 'f32, one dot product per column', macs: true, run: () => dotPerColumn(x, rowsF32, y, ROWS, K, N) },
  { name: 'ort-web MatMul (session.run)', macs: true, run: () => ortMatMul.run(ortFeeds) },
  { name: 'ort-web Identity (per-call cost)', macs: false, run: () => ortIdentity.run(ortFeeds) },
];

// Parity: every JS variant against a double-precision product.
const reference = new Float64Array(ROWS * N);
for (let m = 0; m < ROWS; m++) for (let n = 0; n < N; n++) {
  let s = 0;
  for (let k = 0; k < K; k++) s += x[m * K + k]! * weights[k * N + n]!;
  reference[m * N + n] = s;
}
const parity: Record<string, number> = {};
for (const v of variants.filter((v) => v.macs)) {
  y.fill(0);
  const result = await v.run();
  const got = v.name.startsWith('micro') ? ((result as Record<string, { data: Float32Array }>).y!.data) : v.name.startsWith('ort') ? ((result as Record<string, ort.Tensor>).y!.data as Float32Array) : y;
  let worst = 0;
  for (let i = 0; i < reference.length; i++) worst = Math.max(worst, Math.abs(got[i]! - reference[i]!));
  parity[v.name] = worst;
  if (!(worst <= 1e-3)) throw new Error(`${v.name}: max |delta| ${worst} against the double-precision product`);
}

// Warm-up, then blocks of ~20 ms per variant, rotating, until the time is spent.
const samples = variants.map((): number[] => []);
const perRun = await Promise.all(variants.map(async () => 0));
for (let i = 0; i < variants.length; i++) {
  const t0 = performance.now();
  let n = 0;
  while (n < 200 || performance.now() - t0 < 300) {
    await variants[i]!.run();
    n++;
  }
  perRun[i] = (performance.now() - t0) / n;
}
const loadStart = loadavg().map((l) => l.toFixed(2)).join(', ');
const until = performance.now() + Number(values.seconds) * 1000;
while (performance.now() < until) {
  for (let i = 0; i < variants.length; i++) {
    const v = variants[i]!;
    const block = Math.max(5, Math.min(400, Math.round(20 / perRun[i]!)));
    for (let r = 0; r < block; r++) {
      const t0 = performance.now();
      await v.run();
      samples[i]!.push((performance.now() - t0) * 1000);
    }
  }
}
const loadEnd = loadavg().map((l) => l.toFixed(2)).join(', ');

const macs = ROWS * K * N;
const rows = variants.map((v, i) => {
  const s = summarize(samples[i]!, 2);
  // p10: the uncontended speed on a shared machine (other processes slow most samples a little).
  const p10 = quantile([...samples[i]!].sort((a, b) => a - b), 0.1);
  return { variant: v.name, p10_us: Number(p10.toFixed(2)), p50_us: s.p50, p90_us: s.p90, p99_us: s.p99, samples: s.n, ...(v.macs ? { gmac_per_s: Number((macs / s.p50 / 1000).toFixed(2)), gmac_per_s_at_p10: Number((macs / p10 / 1000).toFixed(2)), parity_max_abs: parity[v.name] } : {}) };
});
say(await machineLine());
say(`x[${ROWS}, ${K}] · W[${K}, ${N}] = ${macs} multiply-adds; ${values.seconds} s interleaved; load average ${loadStart} at start, ${loadEnd} at end`);
say('| variant | p10 µs | p50 µs | p90 µs | p99 µs | GMAC/s at p50 (p10) |');
say('| --- | --- | --- | --- | --- | --- |');
for (const r of rows) say(`| ${r.variant} | ${r.p10_us} | ${r.p50_us} | ${r.p90_us} | ${r.p99_us} | ${r.gmac_per_s === undefined ? '–' : `${r.gmac_per_s} (${r.gmac_per_s_at_p10})`} |`);
const ortRun = rows.find((r) => r.variant.startsWith('ort-web MatMul'))!;
const ortCall = rows.find((r) => r.variant.startsWith('ort-web Identity'))!;
const ortKernel = ortRun.p50_us - ortCall.p50_us;
const ortKernelP10 = ortRun.p10_us - ortCall.p10_us;
say(`ort-web MatMul minus its per-call cost (Identity): p50 ${ortKernel.toFixed(1)} µs, ${ortKernel > 0 ? (macs / ortKernel / 1000).toFixed(2) : '–'} GMAC/s in the kernel (p10 ${ortKernelP10.toFixed(1)} µs, ${ortKernelP10 > 0 ? (macs / ortKernelP10 / 1000).toFixed(2) : '–'} GMAC/s)`);
console.log(JSON.stringify({ bench: 'matvec-ceiling', node: process.version, rows: ROWS, k: K, n: N, macs, seconds: Number(values.seconds), load_average_start: loadStart, load_average_end: loadEnd, variants: rows, ort_web_kernel_p50_us: Number(ortKernel.toFixed(2)), ort_web_kernel_p10_us: Number(ortKernelP10.toFixed(2)) }));
await ortMatMul.release();
await ortIdentity.release();
