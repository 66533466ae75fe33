// The kernels of build/micro/kernels.ts and ops-nn.ts against onnxruntime-node on small graphs:
// the tiled conv (one module function per geometry; 1-D and 2-D, strides, dilations, asymmetric pads, auto_pad, groups, depthwise,
// channel counts that leave a remainder after the blocks of 4, rows and columns that leave a
// remainder after the tiles of 8, variable sizes, a batch), the blocked conv of long kernels,
// the FFT of Fourier-basis convs (and a near miss that must not take it), Gemm with transA,
// transB, alpha, beta and C broadcast, MatMul with constant weights dense and sparse under a
// batched A, the shared Gemm kernels of build/micro/gemm-kernels.ts (fewer columns than a block,
// a transposed A, several nodes of different K and N through the same two functions), and the
// branch-free Relu/LeakyRelu on special values.
import * as ort from 'onnxruntime-node';
import { describe, expect, test } from 'vitest';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { GraphBuilder, type AttributeValue } from '../../../build/onnx/builder.ts';
import { importMicroModule } from '../../../adapters/node/micro-module-loader.ts';
import { Random } from './property-harness.ts';

const TOLERANCE = 1e-4;
const INPUTS = 6;

/**
 * Whether a module applies a fused activation chain as a conv stores: inline through a local
 * (`let t = Math.fround(`, the conv's own loops) or as a case of the tiled convs' `convAct`.
 */
function fusesActivation(source: string): boolean {
  return source.includes('let t = Math.fround(') || /^    case \d+: for \(let q = i; q < end; q\+\+\) \{ let t = y\[q\];/m.test(source);
}

function randomArray(r: Random, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (r.next() * 2 - 1) * scale);
}

interface Case {
  label: string;
  /** Builds the graph with weights as initializers; returns the input name. */
  graph: (g: GraphBuilder, r: Random) => void;
  /** Whether a packed kernel must be the one compiled (weights of at least PACK_FROM elements, ≥ 2 outputs per group). */
  packed?: boolean;
  /** Shapes of input "x" to run (several when a dim is symbolic). */
  shapes: number[][];
  /** Whether the conv must compile to the FFT kernel (weights a windowed Fourier basis). */
  dft?: boolean;
  /** Whether the MatMul must compile to the sparse kernel (a constant B of few non-zeros). */
  sparse?: boolean;
  /** Call sites of the shared Gemm kernels (gemmLanes, gemmLanesScaled, gemmColumn) the module must have. */
  kernelCalls?: number;
}

/**
 * [M, 1, N] weights of an STFT as a conv: blocks of rows sign·w[n]·cos or sin(2πkn/N),
 * k = 0, 1, ... (Hann window unless `window` says otherwise), optionally perturbed at one tap.
 */
function fourierRows(N: number, blocks: Array<{ len: number; imag: boolean; sign: number }>, window = (n: number) => 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / N), perturb = 0): Float32Array {
  const rows: number[] = [];
  for (const b of blocks) {
    for (let k = 0; k < b.len; k++) {
      for (let n = 0; n < N; n++) rows.push(b.sign * window(n) * (b.imag ? Math.sin : Math.cos)((2 * Math.PI * k * n) / N));
    }
  }
  if (perturb) rows[Math.floor(rows.length / 3)]! += perturb;
  return Float32Array.from(rows);
}

function dftCase(label: string, p: { N: number; blocks: Array<{ len: number; imag: boolean; sign: number }>; stride: number; pads?: number[]; bias?: boolean; window?: (n: number) => number; perturb?: number; shapes: number[][] }): Case {
  const M = p.blocks.reduce((a, b) => a + b.len, 0);
  return {
    label,
    dft: !p.perturb,
    packed: !!p.perturb,
    shapes: p.shapes,
    graph: (g, r) => {
      g.input('x', 'float32', ['B', 1, 'T']);
      g.initializer('w', { dtype: 'float32', dims: [M, 1, p.N], data: fourierRows(p.N, p.blocks, p.window, p.perturb) });
      const inputs = ['x', 'w'];
      if (p.bias) {
        g.initializer('b', { dtype: 'float32', dims: [M], data: randomArray(r, M) });
        inputs.push('b');
      }
      g.node('Conv', inputs, ['y'], { strides: { ints: [p.stride] }, ...(p.pads ? { pads: { ints: p.pads } } : {}) });
      g.output('y', 'float32', ['B', M, 'U']);
    },
  };
}

function convCase(label: string, p: { packed?: boolean; C: number; M: number; kernel: number[]; group?: number; bias?: boolean; attrs?: Record<string, AttributeValue>; xShape: Array<number | string>; shapes: number[][]; yShape: Array<number | string> }): Case {
  return {
    label,
    packed: p.packed ?? true,
    shapes: p.shapes,
    graph: (g, r) => {
      const group = p.group ?? 1;
      g.input('x', 'float32', p.xShape);
      const wDims = [p.M, p.C / group, ...p.kernel];
      g.initializer('w', { dtype: 'float32', dims: wDims, data: randomArray(r, wDims.reduce((a, b) => a * b, 1), 0.5) });
      const inputs = ['x', 'w'];
      if (p.bias !== false) {
        g.initializer('b', { dtype: 'float32', dims: [p.M], data: randomArray(r, p.M) });
        inputs.push('b');
      }
      g.node('Conv', inputs, ['y'], { ...(group !== 1 ? { group: { int: group } } : {}), ...p.attrs });
      g.output('y', 'float32', p.yShape);
    },
  };
}

const CASES: Case[] = [
  convCase('Conv 2-D 3x3, pads 1, 12 channels (8 + 4 remainder)', { C: 24, M: 12, kernel: [3, 3], attrs: { pads: { ints: [1, 1, 1, 1] } }, xShape: [1, 24, 7, 6], shapes: [[1, 24, 7, 6]], yShape: [1, 12, 7, 6] }),
  convCase('Conv 2-D strides 2, dilations 2, asymmetric pads, batch 2', { C: 40, M: 9, kernel: [3, 2], attrs: { strides: { ints: [2, 2] }, dilations: { ints: [2, 2] }, pads: { ints: [0, 1, 2, 3] } }, xShape: [2, 40, 11, 9], shapes: [[2, 40, 11, 9]], yShape: [2, 9, 5, 6] }),
  convCase('Conv 2-D groups 2, 32 channels, no bias, stride (1, 3)', { C: 24, M: 32, kernel: [2, 3], group: 2, bias: false, attrs: { strides: { ints: [1, 3] } }, xShape: [1, 24, 5, 10], shapes: [[1, 24, 5, 10]], yShape: [1, 32, 4, 3] }),
  convCase('Conv 2-D groups 3 of 3 outputs (3 lanes), auto_pad SAME_UPPER', { C: 90, M: 9, kernel: [3, 3], group: 3, attrs: { auto_pad: { string: 'SAME_UPPER' } }, xShape: [1, 90, 6, 5], shapes: [[1, 90, 6, 5]], yShape: [1, 9, 6, 5] }),
  convCase('Conv 2-D depthwise 3x3 (group = channels), pads 1', { C: 5, M: 5, kernel: [3, 3], group: 5, attrs: { pads: { ints: [1, 1, 1, 1] } }, xShape: [1, 5, 6, 6], shapes: [[1, 5, 6, 6]], yShape: [1, 5, 6, 6] }),
  // 5x5 depthwise (MobileNetV3): 25 taps, tiled one lane per tile like the 3x3 ones.
  convCase('Conv 2-D depthwise 5x5, pads 2, 10 channels', { C: 10, M: 10, kernel: [5, 5], group: 10, attrs: { pads: { ints: [2, 2, 2, 2] } }, xShape: [1, 10, 7, 19], shapes: [[1, 10, 7, 19]], yShape: [1, 10, 7, 19] }),
  convCase('Conv 2-D depthwise 5x5, stride (2, 1), pads 2, variable width', { C: 6, M: 6, kernel: [5, 5], group: 6, attrs: { strides: { ints: [2, 1] }, pads: { ints: [2, 2, 2, 2] } }, xShape: [1, 6, 9, 'W'], shapes: [[1, 6, 9, 3], [1, 6, 9, 12]], yShape: [1, 6, 5, 'W'] }),
  convCase('Conv 2-D depthwise multiplier 2 (2 outputs per group), stride 2', { C: 114, M: 228, kernel: [3, 3], group: 114, attrs: { strides: { ints: [2, 2] }, pads: { ints: [1, 1, 1, 1] } }, xShape: [1, 114, 7, 7], shapes: [[1, 114, 7, 7]], yShape: [1, 228, 4, 4] }),
  convCase('Conv 2-D 1x1 (pointwise), 19 channels', { C: 110, M: 19, kernel: [1, 1], xShape: [1, 110, 4, 3], shapes: [[1, 110, 4, 3]], yShape: [1, 19, 4, 3] }),
  convCase('Conv 1-D long kernel, stride 4, variable length (an STFT as a conv)', { C: 1, M: 11, kernel: [200], attrs: { strides: { ints: [4] } }, xShape: [1, 1, 'T'], shapes: [[1, 1, 256], [1, 1, 397], [1, 1, 200]], yShape: [1, 11, 'U'] }),
  convCase('Conv 1-D kernel 3, dilation 3, pads (2, 1), variable length and batch', { C: 70, M: 10, kernel: [3], attrs: { dilations: { ints: [3] }, pads: { ints: [2, 1] } }, xShape: ['N', 70, 'T'], shapes: [[1, 70, 12], [3, 70, 20], [2, 70, 7]], yShape: ['N', 10, 'U'] }),
  convCase('Conv 1-D groups 2, stride 2, pads 1', { C: 180, M: 6, kernel: [4], group: 2, attrs: { strides: { ints: [2] }, pads: { ints: [1, 1] } }, xShape: [1, 180, 15], shapes: [[1, 180, 15]], yShape: [1, 6, 7] }),
  // Small weights (under PACK_FROM) but many multiply-adds per call: the tiled kernel still.
  convCase('Conv 2-D 1x3, 24 channels, pads (0, 1), width 21 (two 8-pixel tiles + 5), small weights', { C: 24, M: 24, kernel: [1, 3], attrs: { pads: { ints: [0, 1, 0, 1] } }, xShape: [1, 24, 9, 21], shapes: [[1, 24, 9, 21]], yShape: [1, 24, 9, 21] }),
  convCase('Conv 2-D 3x3, strides (2, 3), dilations (2, 1), asymmetric pads, 10 channels (4 + 4 + 2)', { C: 8, M: 10, kernel: [3, 3], attrs: { strides: { ints: [2, 3] }, dilations: { ints: [2, 1] }, pads: { ints: [1, 2, 0, 1] } }, xShape: [1, 8, 20, 40], shapes: [[1, 8, 20, 40]], yShape: [1, 10, 9, 14] }),
  convCase('Conv 2-D 3x1 on one input channel, 24 outputs, width 37, batch 2', { C: 1, M: 24, kernel: [3, 1], xShape: [2, 1, 30, 37], shapes: [[2, 1, 30, 37]], yShape: [2, 24, 28, 37] }),
  convCase('Conv 1-D kernel 5, groups 3 of 10 outputs (4 + 4 + 2), variable length (tiles and remainders vary)', { C: 60, M: 30, kernel: [5], group: 3, attrs: { pads: { ints: [2, 2] } }, xShape: [1, 60, 'T'], shapes: [[1, 60, 3], [1, 60, 8], [1, 60, 100], [1, 60, 103]], yShape: [1, 30, 'T'] }),
  convCase('Conv 2-D 3x1 (tiles down columns), pads (1, 0), variable height, 12 channels', { C: 64, M: 12, kernel: [3, 1], attrs: { pads: { ints: [1, 0, 1, 0] } }, xShape: [1, 64, 'H', 7], shapes: [[1, 64, 5, 7], [1, 64, 13, 7], [1, 64, 30, 7]], yShape: [1, 12, 'H', 7] }),
  convCase('Conv 2-D 5x3 stride (3, 1) dilation (1, 2), height 40 (column tiles of 8 + remainder)', { C: 6, M: 8, kernel: [5, 3], attrs: { strides: { ints: [3, 1] }, dilations: { ints: [1, 2] }, pads: { ints: [2, 2, 0, 2] } }, xShape: [1, 6, 40, 9], shapes: [[1, 6, 40, 9]], yShape: [1, 8, 13, 9] }),
  convCase('Conv 2-D 3x3, 4 channels, 8x8: few multiply-adds, tiled still', { C: 4, M: 4, kernel: [3, 3], attrs: { pads: { ints: [1, 1, 1, 1] } }, xShape: [1, 4, 8, 8], shapes: [[1, 4, 8, 8]], yShape: [1, 4, 8, 8] }),
  convCase('Conv 2-D 5x5 (25 taps, not unrolled), 4 channels, small weights: plain loops', { packed: false, C: 4, M: 4, kernel: [5, 5], attrs: { pads: { ints: [2, 1, 2, 3] } }, xShape: [1, 4, 9, 8], shapes: [[1, 4, 9, 8]], yShape: [1, 4, 9, 8] }),
  convCase('Conv 1-D depthwise kernel 5, 9 channels, variable length (narrow rows: 4-pixel and single tiles)', { C: 9, M: 9, kernel: [5], group: 9, attrs: { pads: { ints: [2, 2] } }, xShape: [1, 9, 'T'], shapes: [[1, 9, 4], [1, 9, 7], [1, 9, 19]], yShape: [1, 9, 'T'] }),
  // An STFT exported as a conv: computed by FFT, and the same shapes off the Fourier basis by the direct kernels.
  dftCase('Conv 1-D STFT, cos rows k = 0..32 (N 64), Hann window, stride 16, variable batch and length', { N: 64, blocks: [{ len: 33, imag: false, sign: 1 }], stride: 16, shapes: [[1, 1, 64], [2, 1, 200], [1, 1, 1000]] }),
  dftCase('Conv 1-D STFT, -sin rows k = 0..16 (N 32), bias, stride 7, pads (31, 5) (frames in the padding)', { N: 32, blocks: [{ len: 17, imag: true, sign: -1 }], stride: 7, pads: [31, 5], bias: true, shapes: [[1, 1, 40], [3, 1, 9]] }),
  dftCase('Conv 1-D STFT, cos then sin rows stacked (2 x 129, N 256), stride 64, no window', { N: 256, blocks: [{ len: 129, imag: false, sign: 1 }, { len: 129, imag: true, sign: 1 }], stride: 64, window: () => 1, shapes: [[1, 1, 576], [1, 1, 256]] }),
  dftCase('Conv 1-D STFT, -sin then -cos rows, 20 bins each (N 128), Hamming window, stride 50', { N: 128, blocks: [{ len: 20, imag: true, sign: -1 }, { len: 20, imag: false, sign: -1 }], stride: 50, window: (n) => 0.54 - 0.46 * Math.cos((2 * Math.PI * n) / 128), shapes: [[2, 1, 400]] }),
  dftCase('Conv 1-D cos rows with one tap off the Fourier basis by 1e-3: direct kernel', { N: 64, blocks: [{ len: 33, imag: false, sign: 1 }], stride: 16, perturb: 1e-3, shapes: [[1, 1, 300]] }),
  ...([
    [false, false, 1, 1, 'C [N]'],
    [true, false, 0.5, 2, 'C [M, N]'],
    [false, true, 1.5, 0.25, 'C [1, N]'],
    [true, true, 1, 0, 'beta 0'],
  ] as const).map(([transA, transB, alpha, beta, cLabel], k): Case => {
    const [M, K, N] = [3, 200, 11 + k * 3];
    const cDims = cLabel === 'C [M, N]' ? [M, N] : cLabel === 'C [1, N]' ? [1, N] : [N];
    return {
      packed: true,
      label: `Gemm transA ${Number(transA)} transB ${Number(transB)}, alpha ${alpha}, beta ${beta}, ${cLabel}, N ${N}`,
      shapes: [transA ? [K, M] : [M, K]],
      graph: (g, r) => {
        g.input('x', 'float32', transA ? [K, M] : [M, K]);
        g.initializer('b', { dtype: 'float32', dims: transB ? [N, K] : [K, N], data: randomArray(r, K * N) });
        g.initializer('c', { dtype: 'float32', dims: cDims, data: randomArray(r, cDims.reduce((a, b) => a * b, 1)) });
        g.node('Gemm', ['x', 'b', 'c'], ['y'], { transA: { int: Number(transA) }, transB: { int: Number(transB) }, alpha: { float: alpha }, beta: { float: beta } });
        g.output('y', 'float32', [M, N]);
      },
    };
  }),
  // Reflect padding (its index expression, no longer an arrow per element): both sides, a variable length.
  ...([[[0, 0, 3], [0, 0, 5]], [[0, 2, 1], [0, 1, 2]]] as const).map(([before, after]): Case => ({
    label: `Pad reflect, pads before ${before.join(',')} after ${after.join(',')}, variable length`,
    shapes: [[1, 3, 6], [2, 3, 9], [1, 3, 40]],
    graph: (g) => {
      g.input('x', 'float32', ['B', 3, 'T']);
      g.initializer('pads', { dtype: 'int64', dims: [6], data: BigInt64Array.from([...before, ...after].map(BigInt)) });
      g.node('Pad', ['x', 'pads'], ['y'], { mode: { string: 'reflect' } });
      g.output('y', 'float32', ['B', 'C', 'U']);
    },
  })),
  // Constant B of few non-zeros (a mel filter bank's bands, scattered pruning): non-zeros only.
  ...([
    ['bands of 9 per column', 257, 32, (k: number, n: number) => Math.abs(k - 8 * n - 4) <= 4, true],
    ['scattered 10 %', 300, 17, (k: number, n: number) => (k * 31 + n * 17) % 10 === 0, true],
    ['an empty column and a full row', 128, 20, (k: number, n: number) => n !== 3 && (k === 5 || (k + n) % 9 === 0), true],
    ['30 % non-zeros: dense kernel', 200, 16, (k: number, n: number) => (k + 2 * n) % 10 < 3, false],
  ] as const).map(([what, K, N, keep, sparse]): Case => ({
    label: `MatMul [B, T, ${K}] x constant [${K}, ${N}], ${what}`,
    packed: !sparse,
    sparse,
    shapes: [[1, 1, K], [2, 5, K]],
    graph: (g, r) => {
      g.input('x', 'float32', ['B', 'T', K]);
      const data = randomArray(r, K * N);
      for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) if (!keep(k, n)) data[k * N + n] = 0;
      g.initializer('w', { dtype: 'float32', dims: [K, N], data });
      g.node('MatMul', ['x', 'w'], ['y']);
      g.output('y', 'float32', ['B', 'T', N]);
    },
  })),
  // Fewer columns than a kernel block: every column through gemmColumn, A transposed (its row gathered), 2 rows.
  {
    label: 'Gemm transA 1 transB 1, C [N], N 6 (columns only)',
    packed: true,
    shapes: [[400, 2]],
    graph: (g, r) => {
      g.input('x', 'float32', [400, 2]);
      g.initializer('b', { dtype: 'float32', dims: [6, 400], data: randomArray(r, 6 * 400) });
      g.initializer('c', { dtype: 'float32', dims: [6], data: randomArray(r, 6) });
      g.node('Gemm', ['x', 'b', 'c'], ['y'], { transA: { int: 1 }, transB: { int: 1 } });
      g.output('y', 'float32', [2, 6]);
    },
  },
  // A wake-word MLP's shape, small: Gemm, Relu, Gemm, MatMul of different K and N share the two kernels.
  {
    label: 'Gemm [3, 300] x [300, 40], Relu, Gemm x [40, 64] (transB), MatMul x [64, 35]: one pair of kernels',
    packed: true,
    kernelCalls: 4, // gemmLanes (gemmLanesScaled for alpha 0.5) from each node, gemmColumn for the MatMul's last 3 columns
    shapes: [[3, 300]],
    graph: (g, r) => {
      g.input('x', 'float32', [3, 300]);
      g.initializer('w1', { dtype: 'float32', dims: [300, 40], data: randomArray(r, 300 * 40) });
      g.initializer('c1', { dtype: 'float32', dims: [40], data: randomArray(r, 40) });
      g.initializer('w2', { dtype: 'float32', dims: [64, 40], data: randomArray(r, 64 * 40, 0.5) });
      g.initializer('c2', { dtype: 'float32', dims: [1, 64], data: randomArray(r, 64) });
      g.initializer('w3', { dtype: 'float32', dims: [64, 35], data: randomArray(r, 64 * 35, 0.5) });
      g.node('Gemm', ['x', 'w1', 'c1'], ['h1']);
      g.node('Relu', ['h1'], ['r1']);
      g.node('Gemm', ['r1', 'w2', 'c2'], ['h2'], { transB: { int: 1 }, alpha: { float: 0.5 } });
      g.node('MatMul', ['h2', 'w3'], ['y']);
      g.output('y', 'float32', [3, 35]);
    },
  },
  ...[1, 5, 8, 21].map((N): Case => ({
    label: `MatMul [B, T, 420] x constant [420, ${N}], variable batch and rows`,
    packed: N > 1,
    shapes: [[1, 1, 420], [2, 3, 420], [3, 4, 420]],
    graph: (g, r) => {
      g.input('x', 'float32', ['B', 'T', 420]);
      g.initializer('w', { dtype: 'float32', dims: [420, N], data: randomArray(r, 420 * N) });
      g.node('MatMul', ['x', 'w'], ['y']);
      g.output('y', 'float32', ['B', 'T', N]);
    },
  })),
];

describe('blocked kernels: micro vs onnxruntime-node', () => {
  for (const c of CASES) {
    test(`${c.label}: ${INPUTS} random inputs per shape`, async () => {
      const r = new Random(c.label.length * 7 + 3);
      const g = new GraphBuilder('kernels');
      c.graph(g, r);
      const bytes = new Uint8Array(g.encode(17));
      const reference = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic' });
      const { source } = compileOnnxToModule(bytes, { name: c.label });
      // The packed kernels step through interleaved weights (`j += lanes`) or call the shared
      // Gemm kernels (gemmColumn alone below a block of columns); the plain loops do neither.
      expect(/, j \+= \d+\)/.test(source) || source.includes('function gemmColumn(')).toBe(c.packed ?? false);
      // One definition of each shared kernel however many nodes call it.
      for (const kernel of ['gemmLanes', 'gemmLanesScaled', 'gemmColumn']) expect(source.split(`function ${kernel}(`).length).toBeLessThanOrEqual(2);
      if (c.kernelCalls !== undefined) expect(source.match(/\bgemm(?:Lanes|LanesScaled|Column)\(_/g)?.length).toBe(c.kernelCalls);
      expect(source.includes('size <<= 1')).toBe(c.dft ?? false);
      expect(/, end = \w+\[n \+ 1\]/.test(source)).toBe(c.sparse ?? false);
      const micro = await importMicroModule(source, 'kernels');
      let worst = 0;
      for (const dims of c.shapes) {
        for (let n = 0; n < INPUTS; n++) {
          const x = randomArray(r, dims.reduce((a, b) => a * b, 1), 2);
          const expected = (await reference.run({ x: new ort.Tensor('float32', x, dims) })).y!;
          const got = micro.run({ x: { dtype: 'float32', dims, data: x } }).y!;
          expect(got.dims).toEqual(expected.dims.map(Number));
          const want = expected.data as Float32Array;
          for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i]! - Number(got.data[i])));
        }
      }
      expect(worst).toBeLessThanOrEqual(TOLERANCE);
    });
  }
});

describe('tiled convs of one geometry share one module function (conv-tiled.ts)', () => {
  test('two 1x1 convs of other channel counts and a kernel-3 conv, variable length: two functions, three calls, vs onnxruntime-node', async () => {
    const r = new Random(29);
    const g = new GraphBuilder('shared');
    g.input('x', 'float32', [1, 20, 'T']);
    const conv = (name: string, x: string, C: number, M: number, k: number) => {
      g.initializer(`${name}_w`, { dtype: 'float32', dims: [M, C, k], data: randomArray(r, M * C * k, 0.5) });
      g.initializer(`${name}_b`, { dtype: 'float32', dims: [M], data: randomArray(r, M) });
      g.node('Conv', [x, `${name}_w`, `${name}_b`], [name], k > 1 ? { pads: { ints: [1, 1] } } : {});
    };
    conv('a', 'x', 20, 12, 1);
    conv('b', 'a', 12, 9, 1);
    conv('y', 'b', 9, 6, 3);
    g.output('y', 'float32', [1, 6, 'T']);
    const bytes = new Uint8Array(g.encode(17));
    const { source } = compileOnnxToModule(bytes, { name: 'shared' });
    // The conv functions (their tile kernels are functions of their own, named after them).
    const defined = [...source.matchAll(/^function (convTile\w+)\(x, /gm)].map((m) => m[1]!);
    expect(defined).toHaveLength(2);
    const runBody = source.slice(source.indexOf('export function run('));
    const calls = defined.map((name) => runBody.split(`${name}(`).length - 1);
    expect(calls.sort()).toEqual([1, 2]);
    const reference = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic' });
    const micro = await importMicroModule(source, 'shared');
    let worst = 0;
    for (const T of [3, 8, 21]) {
      const dims = [1, 20, T];
      const x = randomArray(r, 20 * T, 2);
      const want = (await reference.run({ x: new ort.Tensor('float32', x, dims) })).y!.data as Float32Array;
      const got = micro.run({ x: { dtype: 'float32', dims, data: x } }).y!.data;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i]! - Number(got[i])));
    }
    expect(worst).toBeLessThanOrEqual(TOLERANCE);
  });
});

describe('tiled convs of one geometry and different fused activations share one module function (conv-tiled.ts convAct)', () => {
  test('1x1 convs with no activation, Relu and HardSwish, 1 and 5 output channels over a tile: one function, vs onnxruntime-node', async () => {
    const r = new Random(31);
    const g = new GraphBuilder('shared-acts');
    g.input('x', 'float32', [1, 6, 'H', 'W']);
    const constant = (name: string, v: number) => {
      g.initializer(name, { dtype: 'float32', dims: [], data: Float32Array.from([v]) });
      return name;
    };
    const conv = (name: string, x: string, C: number, M: number) => {
      g.initializer(`${name}_w`, { dtype: 'float32', dims: [M, C, 1, 1], data: randomArray(r, M * C, 0.7) });
      g.initializer(`${name}_b`, { dtype: 'float32', dims: [M], data: randomArray(r, M) });
      g.node('Conv', [x, `${name}_w`, `${name}_b`], [name]);
    };
    conv('a', 'x', 6, 9);
    g.node('Relu', ['a'], ['ar']);
    conv('b', 'ar', 9, 5);
    g.node('Add', ['b', constant('three', 3)], ['b3']);
    g.node('Clip', ['b3', constant('lo', 0), constant('hi', 6)], ['bc']);
    g.node('Mul', ['b', 'bc'], ['bm']);
    g.node('Div', ['bm', constant('six', 6)], ['bh']);
    conv('y', 'bh', 5, 7);
    g.output('y', 'float32', [1, 7, 'H', 'W']);
    const bytes = new Uint8Array(g.encode(13));
    const { source } = compileOnnxToModule(bytes, { name: 'shared-acts' });
    expect([...source.matchAll(/^function (convTile\w+)\(x, /gm)]).toHaveLength(1);
    expect(fusesActivation(source)).toBe(true);
    expect(source).not.toMatch(/: (Relu|Add|Clip|Mul|Div)\n\s*\(\(\) => \{/);
    const reference = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic' });
    const micro = await importMicroModule(source, 'shared-acts');
    let worst = 0;
    for (const [H, W] of [[1, 1], [3, 7], [5, 21]]) {
      const dims = [1, 6, H!, W!];
      const x = randomArray(r, 6 * H! * W!, 4);
      const want = (await reference.run({ x: new ort.Tensor('float32', x, dims) })).y!.data as Float32Array;
      const got = micro.run({ x: { dtype: 'float32', dims, data: x } }).y!.data;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i]! - Number(got[i])));
    }
    expect(worst).toBeLessThanOrEqual(TOLERANCE);
  });
});

describe('branch-free Relu and LeakyRelu: micro vs onnxruntime-node', () => {
  test('±Infinity, NaN, ±0, subnormals, the float32 extremes and random values; alpha 0.2, 1.5 and -0.5; fused after a conv and alone', async () => {
    const special = [Infinity, -Infinity, NaN, 0, -0, 1e-45, -1e-45, 3.4028234663852886e38, -3.4028234663852886e38, 1, -1, 0.5, -2.5];
    const r = new Random(41);
    const x = Float32Array.from([...special, ...randomArray(r, 243, 3)]);
    const g = new GraphBuilder('activations');
    g.input('x', 'float32', [1, 1, 256]);
    g.node('Relu', ['x'], ['relu']);
    g.initializer('w', { dtype: 'float32', dims: [4, 1, 3], data: randomArray(r, 12) });
    g.node('Conv', ['x', 'w'], ['conv'], { pads: { ints: [1, 1] } });
    const outputs = ['relu'];
    for (const [k, alpha] of [0.2, 1.5, -0.5].entries()) {
      g.node('LeakyRelu', ['x'], [`leaky${k}`], { alpha: { float: alpha } });
      g.node('LeakyRelu', ['conv'], [`conv_leaky${k}`], { alpha: { float: alpha } });
      outputs.push(`leaky${k}`, `conv_leaky${k}`);
    }
    g.node('Relu', ['conv'], ['conv_relu']);
    outputs.push('conv_relu');
    for (const o of outputs) g.output(o, 'float32', o.startsWith('conv') ? [1, 4, 256] : [1, 1, 256]);
    const bytes = new Uint8Array(g.encode(17));
    const reference = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic' });
    const micro = await importMicroModule(compileOnnxToModule(bytes, { name: 'activations' }).source, 'activations');
    const expected = await reference.run({ x: new ort.Tensor('float32', x, [1, 1, 256]) });
    const got = micro.run({ x: { dtype: 'float32', dims: [1, 1, 256], data: x } });
    for (const o of outputs) {
      const want = expected[o]!.data as Float32Array;
      const have = got[o]!.data as Float32Array;
      for (let i = 0; i < want.length; i++) {
        if (Number.isNaN(want[i])) expect(Number.isNaN(have[i]!), `${o}[${i}] of ${x[i % 256]}`).toBe(true);
        else expect(Math.abs(have[i]! - want[i]!) <= (o.startsWith('conv') ? 1e-5 : 0) || have[i] === want[i], `${o}[${i}]: ${have[i]} vs ${want[i]}`).toBe(true);
      }
    }
  });
});

describe('Conv → BatchNormalization with every parameter a Constant node (paddle2onnx exports): folded', () => {
  test('depthwise 3x3 + BatchNormalization + Relu: one conv pass, vs onnxruntime-node', async () => {
    const r = new Random(41);
    const C = 8;
    const g = new GraphBuilder('bn-constants');
    g.input('x', 'float32', [1, C, 6, 7]);
    const constant = (dims: number[], data: Float32Array) => g.node('Constant', [], 1, { value: { tensor: { dtype: 'float32', dims, data } } })[0]!;
    const wt = constant([C, 1, 3, 3], randomArray(r, C * 9, 0.5));
    g.node('Conv', ['x', wt], ['c'], { group: { int: C }, pads: { ints: [1, 1, 1, 1] } });
    const variance = Float32Array.from(randomArray(r, C), (v) => Math.abs(v) + 0.1);
    const params = [randomArray(r, C), randomArray(r, C), randomArray(r, C), variance].map((d) => constant([C], d));
    g.node('BatchNormalization', ['c', ...params], ['bn'], { epsilon: { float: 1e-5 } });
    g.node('Relu', ['bn'], ['y']);
    g.output('y', 'float32', [1, C, 6, 7]);
    const bytes = new Uint8Array(g.encode(9));
    const reference = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic' });
    const { source } = compileOnnxToModule(bytes, { name: 'bn-constants' });
    // Folded: the conv carries the BatchNormalization's name and no node of its own is left.
    expect(source).toMatch(/\+BatchNormalization_\d+: Conv/);
    expect(source).not.toMatch(/: BatchNormalization\n/);
    const micro = await importMicroModule(source, 'bn-constants');
    let worst = 0;
    for (let n = 0; n < INPUTS; n++) {
      const x = randomArray(r, C * 42, 2);
      const want = (await reference.run({ x: new ort.Tensor('float32', x, [1, C, 6, 7]) })).y!.data as Float32Array;
      const got = micro.run({ x: { dtype: 'float32', dims: [1, C, 6, 7], data: x } }).y!;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i]! - Number(got.data[i])));
    }
    expect(worst).toBeLessThanOrEqual(TOLERANCE);
  });
});

describe('HardSwish as x * Clip(x + 3, 0, 6) / 6 (paddle2onnx) fused into its conv', () => {
  for (const { opset, kernel, group } of [{ opset: 9, kernel: [5, 5], group: 6 }, { opset: 13, kernel: [1, 1], group: 1 }]) {
    test(`opset ${opset} (Clip bounds as ${opset < 11 ? 'attributes' : 'inputs'}), ${kernel.join('x')} conv, group ${group}: vs onnxruntime-node`, async () => {
      const r = new Random(opset * 5 + group);
      const C = 6;
      const dims = [1, C, 7, 9];
      const g = new GraphBuilder('hardswish');
      g.input('x', 'float32', dims);
      const constant = (data: Float32Array, d: number[] = []) => g.node('Constant', [], 1, { value: { tensor: { dtype: 'float32', dims: d, data } } })[0]!;
      const wDims = [C, C / group, ...kernel];
      const wt = constant(randomArray(r, wDims.reduce((a, b) => a * b, 1), 0.8), wDims);
      const bias = constant(randomArray(r, C, 2), [C]);
      const pad = (kernel[0]! - 1) / 2;
      g.node('Conv', ['x', wt, bias], ['c'], { group: { int: group }, pads: { ints: [pad, pad, pad, pad] } });
      g.node('Add', ['c', constant(Float32Array.from([3]))], ['a']);
      if (opset < 11) g.node('Clip', ['a'], ['k'], { min: { float: 0 }, max: { float: 6 } });
      else g.node('Clip', ['a', constant(Float32Array.from([0])), constant(Float32Array.from([6]))], ['k']);
      g.node('Mul', ['c', 'k'], ['m']);
      g.node('Div', ['m', constant(Float32Array.from([6]))], ['y']);
      g.output('y', 'float32', dims);
      const bytes = new Uint8Array(g.encode(opset));
      const reference = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic' });
      const { source } = compileOnnxToModule(bytes, { name: 'hardswish' });
      // Fused: the conv applies it as it stores; no pass of the four ops is left.
      expect(fusesActivation(source)).toBe(true);
      expect(source).not.toMatch(/: (Add|Clip|Mul|Div)\n\s*\(\(\) => \{/);
      // The clip runs inside the conv's store (a shared tile function or the conv's own loops), not in a pass of its own.
      const runBody = source.slice(source.indexOf('export function run('));
      expect(runBody.includes('Math.min(Math.max(')).toBe(!source.includes('function convTile'));
      const micro = await importMicroModule(source, 'hardswish');
      let worst = 0;
      for (let n = 0; n < INPUTS; n++) {
        const x = randomArray(r, C * 63, 3);
        const want = (await reference.run({ x: new ort.Tensor('float32', x, dims) })).y!.data as Float32Array;
        const got = micro.run({ x: { dtype: 'float32', dims, data: x } }).y!;
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i]! - Number(got.data[i])));
      }
      expect(worst).toBeLessThanOrEqual(TOLERANCE);
    });
  }
});

describe('activations fused into a conv (rewrite foldActivations): micro vs onnxruntime-node', () => {
  type Step = ['Relu'] | ['LeakyRelu', number] | ['Max' | 'Min', number, boolean?];
  const chains: Array<{ label: string; C: number; M: number; kernel: number[]; group?: number; steps: Step[]; branch?: 'read-twice' | 'output-mid'; xDims: number[] }> = [
    { label: 'tiled 1x3, LeakyRelu 0.2 then Max(-0.4)', C: 24, M: 24, kernel: [1, 3], steps: [['LeakyRelu', 0.2], ['Max', -0.4]], xDims: [1, 24, 6, 19] },
    { label: 'tiled 3x1 (columns), Relu', C: 8, M: 12, kernel: [3, 1], steps: [['Relu']], xDims: [2, 8, 21, 5] },
    { label: 'tiled depthwise, Min(constant first) then Relu', C: 6, M: 6, group: 6, kernel: [3, 3], steps: [['Min', 0.3, true], ['Relu']], xDims: [1, 6, 9, 9] },
    { label: 'blocked (25 taps, big weights), LeakyRelu 1.5', C: 24, M: 16, kernel: [5, 5], steps: [['LeakyRelu', 1.5]], xDims: [1, 24, 8, 9] },
    { label: 'plain loops (25 taps, small weights), Max(0.1) then LeakyRelu -0.5', C: 2, M: 3, kernel: [5, 5], steps: [['Max', 0.1], ['LeakyRelu', -0.5]], xDims: [1, 2, 7, 8] },
    { label: 'conv output read twice: nothing fused', C: 8, M: 8, kernel: [3, 3], steps: [['Relu']], branch: 'read-twice', xDims: [1, 8, 7, 7] },
    { label: 'a graph output mid-chain: fused up to it', C: 8, M: 8, kernel: [3, 3], steps: [['Relu'], ['Max', 0.2]], branch: 'output-mid', xDims: [1, 8, 7, 7] },
  ];
  for (const c of chains) {
    test(`${c.label}: ${INPUTS} random inputs`, async () => {
      const r = new Random(c.label.length * 13 + 1);
      const g = new GraphBuilder('fused');
      g.input('x', 'float32', c.xDims);
      const wDims = [c.M, c.C / (c.group ?? 1), ...c.kernel];
      g.initializer('w', { dtype: 'float32', dims: wDims, data: randomArray(r, wDims.reduce((a, b) => a * b, 1), 0.5) });
      g.initializer('b', { dtype: 'float32', dims: [c.M], data: randomArray(r, c.M) });
      const pads = { ints: [1, 1, 1, 1].map((p, k) => (c.kernel[k % 2]! > 1 ? p : 0)) };
      g.node('Conv', ['x', 'w', 'b'], ['s0'], { pads, ...(c.group ? { group: { int: c.group } } : {}) });
      const outs: string[] = [];
      c.steps.forEach((step, k) => {
        const [op, p, constFirst] = step as [string, number?, boolean?];
        const out = `s${k + 1}`;
        if (op === 'Relu') g.node('Relu', [`s${k}`], [out]);
        else if (op === 'LeakyRelu') g.node('LeakyRelu', [`s${k}`], [out], { alpha: { float: p! } });
        else {
          g.initializer(`c${k}`, { dtype: 'float32', dims: [1, 1, 1, 1], data: Float32Array.from([p!]) });
          g.node(op, constFirst ? [`c${k}`, `s${k}`] : [`s${k}`, `c${k}`], [out]);
        }
        if (c.branch === 'output-mid' && k === 0) outs.push(out);
      });
      outs.push(`s${c.steps.length}`);
      if (c.branch === 'read-twice') {
        g.node('Neg', ['s0'], ['neg']);
        outs.push('neg');
      }
      for (const o of outs) g.output(o, 'float32', ['n', 'm', 'h', 'w']);
      const bytes = new Uint8Array(g.encode(17));
      const reference = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic' });
      const { source } = compileOnnxToModule(bytes, { name: c.label });
      // Fused: the conv applies the chain as it stores; not fused: the chain's own loops.
      expect(fusesActivation(source)).toBe(c.branch !== 'read-twice');
      const micro = await importMicroModule(source, 'fused');
      let worst = 0;
      for (let n = 0; n < INPUTS; n++) {
        const x = randomArray(r, c.xDims.reduce((a, b) => a * b, 1), 2);
        const expected = await reference.run({ x: new ort.Tensor('float32', x, c.xDims) });
        const got = micro.run({ x: { dtype: 'float32', dims: c.xDims, data: x } });
        for (const o of outs) {
          const want = expected[o]!.data as Float32Array;
          expect(got[o]!.dims).toEqual(expected[o]!.dims.map(Number));
          for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i]! - Number(got[o]!.data[i])));
        }
      }
      expect(worst).toBeLessThanOrEqual(TOLERANCE);
    });
  }
});
