// Emitters for the ops of small convolutional, normalising and recurrent nets: unary math and
// activations, comparisons and logic, variadic Max/Min/Sum/Mean, Pow, Where, layout ops
// (Transpose, Slice, Split, Pad, Tile, Expand), shape ops (folded when static), Conv as a
// direct convolution (no im2col copy), pools, BatchNormalization and LayerNormalization.
import type { ConstData, DType } from './model-ir.ts';
import { TILE_LANES, TILE_PIXELS, TILED_CONV_PARAMS, convActivationCode, tiledConvName, tiledConvSource, type TiledConvGeometry } from './conv-tiled.ts';
import { LANES, laneSums, importBuffer, PACK_FROM, packRows } from './kernels.ts';
import { literal, type Dim, type ModuleWriter, type Value } from './module-writer.ts';
import { ACT_LEAKY_RELU, ACT_MAX, ACT_MIN, ACT_RELU, ACT_SHIFTED_CLIP_PRODUCT, activationParams, FUSED_ACTIVATIONS } from './rewrite.ts';
import {
  BRANCH_FREE_FROM, attr, attrFloat, attrInt, attrInts, broadcastShape, constValues, FLOAT_ONLY, mapOp, materialize, normAxis, requireDtype, unaryFloat, view,
  type OpContext, type OpEmitter,
} from './ops.ts';

const NUMERIC: readonly DType[] = ['float32', 'int32', 'int64', 'int8', 'uint8'];
const f32 = (v: number): string => literal(Math.fround(v));

const ERF = `// erf with |error| < 1.2e-7 (Numerical Recipes' erfc, Chebyshev fit).
function erf(x) {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1 - r : r - 1;
}`;

const ROUND_EVEN = `// Round half to even, as ONNX Round does.
function roundEven(x) {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}`;

/** A unary op over numeric types (Neg, Abs, Sign work on integers too). */
function unaryNumeric(expr: (x: string) => string, allowed: readonly DType[] = NUMERIC): OpEmitter {
  return (ctx) => {
    const x = ctx.raw(0);
    requireDtype(ctx, x, allowed, 'the input');
    mapOp(ctx, x.dtype, x.dims, [x], ([v]) => expr(v!));
  };
}

/** Element-wise over any number of broadcasting inputs of one type. */
function variadic(combine: (args: string[]) => string, allowed: readonly DType[] = NUMERIC): OpEmitter {
  return (ctx) => {
    const xs = Array.from({ length: ctx.count() }, (_, i) => ctx.raw(i));
    if (xs.length === 0) ctx.fail('invalid_model', 'needs at least one input');
    for (const x of xs) {
      requireDtype(ctx, x, allowed, 'an input');
      if (x.dtype !== xs[0]!.dtype) ctx.fail('invalid_model', 'inputs differ in type');
    }
    const dims = broadcastShape(ctx, xs.map((x) => x.dims));
    mapOp(ctx, xs[0]!.dtype, dims, xs, combine);
  };
}

function compare(op: string): OpEmitter {
  return (ctx) => {
    const a = ctx.raw(0);
    const b = ctx.raw(1);
    if (a.dtype !== b.dtype) ctx.fail('invalid_model', `inputs are ${a.dtype} and ${b.dtype}; ONNX requires one type`);
    mapOp(ctx, 'bool', broadcastShape(ctx, [a.dims, b.dims]), [a, b], ([x, y]) => `${x} ${op} ${y}`);
  };
}

function logic(op: (a: string, b: string) => string): OpEmitter {
  return (ctx) => {
    const a = ctx.raw(0);
    const b = ctx.raw(1);
    requireDtype(ctx, a, ['bool'], 'A');
    requireDtype(ctx, b, ['bool'], 'B');
    mapOp(ctx, 'bool', broadcastShape(ctx, [a.dims, b.dims]), [a, b], ([x, y]) => op(x!, y!));
  };
}

/** A constant Value known at compile time (shape results and the like). */
function constValue(ctx: OpContext, dtype: DType, dims: number[], data: ConstData): Value {
  ctx.w.checkElements(data.length, 'a folded constant');
  return { dtype, dims, buf: ctx.w.constant(data), stage: 'const', data };
}

function staticDim(ctx: OpContext, d: Dim, what: string): number {
  if (typeof d !== 'number') ctx.fail('unsupported_shape', `${what} varies at run time; the micro engine needs it static here`);
  return d;
}

function strides(ctx: OpContext, dims: readonly Dim[]): Dim[] {
  return dims.map((_, k) => ctx.w.prod(dims.slice(k + 1)));
}

/**
 * Writes y (dims `out`) from x by an index map: per output axis, the input coordinate as
 * an expression of the output index, and whether it may fall outside x (then `fill`).
 */
function indexMap(ctx: OpContext, y: Value, x: Value, out: readonly Dim[], coord: (k: number, i: string) => { j: string; checked?: boolean }, fill = '0'): void {
  const s = strides(ctx, x.dims);
  const rank = out.length;
  if (rank === 0) {
    ctx.w.emit(`${y.buf}[0] = ${x.buf}[0];`);
    return;
  }
  const lines: string[] = ['let q = 0;'];
  let indent = '';
  let anyCheck = false;
  for (let k = 0; k < rank; k++) {
    const { j, checked } = coord(k, `i${k}`);
    lines.push(`${indent}for (let i${k} = 0; i${k} < ${out[k]}; i${k}++) {`);
    indent += '  ';
    lines.push(`${indent}const j${k} = ${j};`);
    const okPrev = anyCheck ? `ok${k - 1} && ` : '';
    if (checked) {
      lines.push(`${indent}const ok${k} = ${okPrev}j${k} >= 0 && j${k} < ${x.dims[k]};`);
      anyCheck = true;
    } else if (anyCheck) {
      lines.push(`${indent}const ok${k} = ok${k - 1};`);
    }
    const term = s[k] === 1 ? `j${k}` : `j${k} * ${s[k]}`;
    lines.push(`${indent}const b${k} = ${k === 0 ? term : `b${k - 1} + ${term}`};`);
  }
  const last = rank - 1;
  lines.push(`${indent}${y.buf}[q++] = ${anyCheck ? `ok${last} ? ${x.buf}[b${last}] : ${fill}` : `${x.buf}[b${last}]`};`);
  for (let k = rank - 1; k >= 0; k--) {
    indent = indent.slice(2);
    lines.push(`${indent}}`);
  }
  ctx.w.emit(...lines);
}

/** Values of an optional constant input, or of the older attribute. */
function intsFrom(ctx: OpContext, i: number, attrName: string, what: string): number[] | undefined {
  if (ctx.node.inputs[i]) return constValues(ctx, i, what);
  return attrInts(ctx, attrName);
}

/** Conv/pool geometry: kernel, strides, dilations and pads per spatial axis (auto_pad resolved). */
function geometry(ctx: OpContext, inDims: readonly Dim[], kernel: number[]) {
  const n = kernel.length;
  const stridesA = attrInts(ctx, 'strides') ?? Array<number>(n).fill(1);
  const dil = attrInts(ctx, 'dilations') ?? Array<number>(n).fill(1);
  let pads = attrInts(ctx, 'pads') ?? Array<number>(2 * n).fill(0);
  const autoPad = (attr(ctx, 'auto_pad') as string | undefined) ?? 'NOTSET';
  if (stridesA.length !== n || dil.length !== n || pads.length !== 2 * n) ctx.fail('invalid_model', 'strides, dilations or pads do not match the kernel rank');
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = Array<number>(2 * n).fill(0);
    for (let k = 0; k < n; k++) {
      const d = staticDim(ctx, inDims[k]!, `spatial dimension ${k} with auto_pad ${autoPad}`);
      const out = Math.ceil(d / stridesA[k]!);
      const total = Math.max(0, (out - 1) * stridesA[k]! + (kernel[k]! - 1) * dil[k]! + 1 - d);
      const small = Math.floor(total / 2);
      pads[k] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[k + n] = total - pads[k]!;
    }
  } else if (autoPad === 'VALID') {
    pads = Array<number>(2 * n).fill(0);
  } else if (autoPad !== 'NOTSET') {
    ctx.fail('invalid_model', `auto_pad ${autoPad} is not an ONNX value`);
  }
  for (const v of [...stridesA, ...dil]) if (!Number.isInteger(v) || v < 1) ctx.fail('invalid_model', 'strides and dilations must be positive');
  for (const v of kernel) if (!Number.isInteger(v) || v < 1) ctx.fail('invalid_model', 'kernel sizes must be positive');
  return { strides: stridesA, dilations: dil, pads };
}

function outSize(ctx: OpContext, inDim: Dim, k: number, s: number, d: number, pb: number, pe: number, ceil: boolean): Dim {
  const span = pb + pe - d * (k - 1) - 1;
  if (typeof inDim === 'number') {
    const raw = (inDim + span) / s;
    let out = (ceil ? Math.ceil(raw) : Math.floor(raw)) + 1;
    // A last window that would start in the end padding is dropped (as onnxruntime and PyTorch do).
    if (ceil && (out - 1) * s >= inDim + pb) out--;
    if (out < 0) ctx.fail('invalid_model', `the kernel (${k}) is larger than the padded input (${inDim})`);
    return out;
  }
  if (ceil) ctx.fail('unsupported_shape', 'ceil_mode over a variable dimension');
  return ctx.w.dim(`Math.max(0, Math.floor((${inDim} + ${span}) / ${s}) + 1)`);
}

const conv: OpEmitter = (ctx) => {
  const x = ctx.need(0);
  const wt = ctx.need(1);
  const b = ctx.input(2);
  requireDtype(ctx, x, FLOAT_ONLY, 'X');
  requireDtype(ctx, wt, FLOAT_ONLY, 'W');
  const rank = x.dims.length;
  if (rank !== 3 && rank !== 4) ctx.fail('unsupported_shape', `Conv over ${rank - 2} spatial dimensions; the micro engine implements 1-D and 2-D`);
  if (wt.dims.length !== rank) ctx.fail('invalid_model', 'W must have the rank of X');
  const N = x.dims[0]!;
  const C = staticDim(ctx, x.dims[1]!, 'the channel count');
  const M = staticDim(ctx, wt.dims[0]!, 'the output channel count');
  const Cg = staticDim(ctx, wt.dims[1]!, 'W dimension 1');
  const kernel = wt.dims.slice(2).map((d, k) => staticDim(ctx, d, `kernel dimension ${k}`));
  const declared = attrInts(ctx, 'kernel_shape');
  if (declared && declared.join() !== kernel.join()) ctx.fail('invalid_model', `kernel_shape [${declared}] disagrees with W [${kernel}]`);
  const group = attrInt(ctx, 'group', 1);
  if (group < 1 || C !== Cg * group || M % group !== 0) ctx.fail('invalid_model', `channels ${C}, W [${M}, ${Cg}] and group ${group} do not fit`);
  if (b) {
    requireDtype(ctx, b, FLOAT_ONLY, 'B');
    if (b.dims.length !== 1 || b.dims[0] !== M) ctx.fail('invalid_model', `B must have ${M} elements`);
  }
  const spatial = x.dims.slice(2);
  const g = geometry(ctx, spatial, kernel);
  // 1-D runs as 2-D with a height of 1.
  const two = rank === 4;
  const H: Dim = two ? spatial[0]! : 1;
  const W: Dim = two ? spatial[1]! : spatial[0]!;
  const [KH, KW] = two ? [kernel[0]!, kernel[1]!] : [1, kernel[0]!];
  const [sh, sw] = two ? [g.strides[0]!, g.strides[1]!] : [1, g.strides[0]!];
  const [dh, dw] = two ? [g.dilations[0]!, g.dilations[1]!] : [1, g.dilations[0]!];
  const [pt, pl, pb, pr] = two ? [g.pads[0]!, g.pads[1]!, g.pads[2]!, g.pads[3]!] : [0, g.pads[0]!, 0, g.pads[1]!];
  const OH = two ? outSize(ctx, H, KH, sh, dh, pt, pb, false) : 1;
  const OW = outSize(ctx, W, KW, sw, dw, pl, pr, false);
  const y = ctx.output(0, 'float32', two ? [N, M, OH, OW] : [N, M, OW]);
  const w = ctx.w;
  const HW = w.prod([H, W]);
  const OHW = w.prod([OH, OW]);
  const Mg = M / group;
  const KK = KH * KW;
  w.chargeImport(typeof N === 'number' && typeof OHW === 'number' ? N * M * OHW * Cg * KK : 0);
  const bias = (m: string) => (b ? `${b.buf}[${m}]` : '0');
  const act = fusedActivation(ctx);
  // Paths that do not apply the fused activations as they store: one pass over the output after.
  const finish = () => {
    if (act) w.emit(`for (let i = 0; i < ${w.prod([N, M, OHW])}; i++) ${act(`${y.buf}[i]`, `${y.buf}[i]`)}`);
  };
  if (!two && group === 1 && C === 1 && dw === 1 && wt.data && ctx.stage === 'run') {
    const plan = dftPlan(wt.data as ArrayLike<number>, M, KW);
    if (plan) {
      emitDftConv(ctx, plan, { x: x.buf, y: y.buf, bias: b?.buf, N, M, W, sw, pl, OW });
      finish();
      return;
    }
  }
  if (wt.stage !== 'run' && ctx.stage === 'run') {
    const shape: ConvShape = { x: x.buf, w: wt.buf, y: y.buf, bias: b?.buf, N, C, M, group, Cg, Mg, H, W, KH, KW, sh, sw, dh, dw, pt, pl, pb, pr, OH, OW };
    // Small kernels over constant weights, any size down to depthwise: the tiled kernel (its
    // tile bodies are a few KB raw per geometry, shared by the convs of that geometry; the
    // weight-stationary loops below run 2-5x slower, most on narrow rows). Long kernels: the
    // blocked one when it pays.
    if (KK <= MAX_UNROLLED_TAPS || (Cg === 1 && Mg === 1 && KK <= MAX_UNROLLED_DEPTHWISE_TAPS)) {
      emitTiledConv(ctx, shape, fusedActivationSteps(ctx) ?? '');
      return;
    }
    if (Mg >= 2 && (M * Cg * KK >= PACK_FROM || typeof OHW === 'number' && M * Cg * KK * OHW >= TILE_FROM_MACS)) {
      emitBlockedConv(ctx, shape);
      finish();
      return;
    }
  }
  const xAt = (base: string, step: number, i: string) => (step === 1 ? `${x.buf}[${base} + ${i}]` : `${x.buf}[${base} + ${i} * ${step}]`);
  if (KW >= 16 || typeof OHW === 'number' && OHW <= 4) {
    // Long kernels (an STFT as a conv) or tiny outputs: one dot product per output, reading
    // the input row and the kernel row contiguously.
    w.emit(
      `for (let n = 0; n < ${N}; n++) {`,
      `  for (let m = 0; m < ${M}; m++) {`,
      `    const g = ${Mg === M ? '0' : `(m / ${Mg}) | 0`};`,
      `    const yb = (n * ${M} + m) * ${OHW};`,
      `    for (let oh = 0; oh < ${OH}; oh++) {`,
      `      for (let ow = 0; ow < ${OW}; ow++) {`,
      `        let s = ${bias('m')};`,
      `        const iw0 = ow * ${sw} - ${pl};`,
      `        const kw0 = iw0 < 0 ? Math.ceil(-iw0 / ${dw}) : 0;`,
      `        const kw1 = Math.min(${KW}, Math.floor((${W} - 1 - iw0) / ${dw}) + 1);`,
      `        for (let c = 0; c < ${Cg}; c++) {`,
      `          const xc = (n * ${C} + g * ${Cg} + c) * ${HW};`,
      `          const wc = (m * ${Cg} + c) * ${KK};`,
      `          for (let kh = 0; kh < ${KH}; kh++) {`,
      `            const ih = oh * ${sh} - ${pt} + kh * ${dh};`,
      `            if (ih < 0 || ih >= ${H}) continue;`,
      `            const xr = xc + ih * ${W} + iw0;`,
      `            const wr = wc + kh * ${KW};`,
      `            for (let kw = kw0; kw < kw1; kw++) s += ${wt.buf}[wr + kw] * ${xAt('xr', dw, 'kw')};`,
      `          }`,
      `        }`,
      `        ${y.buf}[yb + oh * ${OW} + ow] = s;`,
      `      }`,
      `    }`,
      `  }`,
      `}`,
    );
    finish();
    return;
  }
  // Small kernels: weight-stationary. Each weight scales a strip of the input into the
  // output plane (a Float64 accumulator), output positions that read padding skipped by range.
  const acc = w.scratch(OHW);
  w.emit(
    `for (let n = 0; n < ${N}; n++) {`,
    `  for (let m = 0; m < ${M}; m++) {`,
    `    const g = ${Mg === M ? '0' : `(m / ${Mg}) | 0`};`,
    `    ${acc}.fill(${bias('m')}, 0, ${OHW});`,
    `    for (let c = 0; c < ${Cg}; c++) {`,
    `      const xc = (n * ${C} + g * ${Cg} + c) * ${HW};`,
    `      const wc = (m * ${Cg} + c) * ${KK};`,
    `      for (let kh = 0; kh < ${KH}; kh++) {`,
    `        const oh0 = Math.max(0, Math.ceil((${pt} - kh * ${dh}) / ${sh}));`,
    `        const oh1 = Math.min(${OH}, Math.floor((${H} - 1 + ${pt} - kh * ${dh}) / ${sh}) + 1);`,
    `        for (let kw = 0; kw < ${KW}; kw++) {`,
    `          const wv = ${wt.buf}[wc + kh * ${KW} + kw];`,
    `          const ow0 = Math.max(0, Math.ceil((${pl} - kw * ${dw}) / ${sw}));`,
    `          const ow1 = Math.min(${OW}, Math.floor((${W} - 1 + ${pl} - kw * ${dw}) / ${sw}) + 1);`,
    `          for (let oh = oh0; oh < oh1; oh++) {`,
    `            const xr = xc + (oh * ${sh} - ${pt} + kh * ${dh}) * ${W} + kw * ${dw} - ${pl};`,
    `            const ar = oh * ${OW};`,
    `            for (let ow = ow0; ow < ow1; ow++) ${acc}[ar + ow] += wv * ${xAt('xr', sw, 'ow')};`,
    `          }`,
    `        }`,
    `      }`,
    `    }`,
    `    const yb = (n * ${M} + m) * ${OHW};`,
    `    for (let i = 0; i < ${OHW}; i++) ${y.buf}[yb + i] = ${acc}[i];`,
    `  }`,
    `}`,
  );
  finish();
};

/**
 * The store statement of a conv's fused activations (rewrite.ts foldActivations), or
 * undefined: each step as its own op computes it, rounded to float32 after each. Plain
 * statements over a local, no arrows: in a function as large as a tiled conv V8 does not
 * inline an arrow, and would allocate one per store.
 */
function fusedActivation(ctx: OpContext): ((v: string, target: string) => string) | undefined {
  const steps = fusedActivationSteps(ctx);
  return steps === undefined ? undefined : (v, target) => `{ let t = Math.fround(${v}); ${steps} ${target} = t; }`;
}

/** The statements of a conv's fused activations over a local `t`, or undefined. */
function fusedActivationSteps(ctx: OpContext): string | undefined {
  const acts = attr(ctx, FUSED_ACTIVATIONS);
  if (!Array.isArray(acts) || acts.length === 0) return undefined;
  const steps: string[] = [];
  for (let i = 0; i < acts.length; i += 1 + activationParams(acts[i]!)) {
    const p = f32(acts[i + 1]!);
    switch (acts[i]) {
      case ACT_RELU: steps.push(`t = Math.fround(Math.abs(t) !== Infinity ? 0.5 * (t + Math.abs(t)) : Math.max(t, 0));`); break;
      case ACT_LEAKY_RELU: steps.push(`{ const q = 0.5 * (t + Math.abs(t)); t = Math.fround(Math.abs(t) !== Infinity ? q + ${p} * (t - q) : t >= 0 ? t : ${p} * t); }`); break;
      case ACT_MAX: steps.push(`t = Math.fround(Math.max(t, ${p}));`); break;
      case ACT_MIN: steps.push(`t = Math.fround(Math.min(t, ${p}));`); break;
      case ACT_SHIFTED_CLIP_PRODUCT: {
        // As the four ops compute it: Add, Clip (max then min), Mul, Div, each rounded to float32.
        const [lo, hi, d] = [acts[i + 2]!, acts[i + 3]!, acts[i + 4]!].map(f32);
        steps.push(`t = Math.fround(Math.fround(t * Math.fround(Math.min(Math.max(Math.fround(t + ${p}), ${lo}), ${hi}))) / ${d});`);
        break;
      }
      default: ctx.fail('invalid_model', `unknown fused activation ${acts[i]}`);
    }
  }
  return steps.join(' ');
}

interface ConvShape {
  x: string; w: string; y: string; bias: string | undefined;
  N: Dim; C: number; M: number; group: number; Cg: number; Mg: number;
  H: Dim; W: Dim; KH: number; KW: number; sh: number; sw: number; dh: number; dw: number;
  pt: number; pl: number; pb: number; pr: number; OH: Dim; OW: Dim;
}

/**
 * A 1-D conv whose filters are a windowed Fourier basis (an STFT exported as a conv: rows
 * w[n]·cos(2πkn/N) and ±w[n]·sin(2πkn/N), k = 0, 1, ... in one or two blocks) computes each
 * frame with a real FFT instead: O(N log N) per frame instead of O(M·N). Found from the
 * weights at compile time; anything else (another period, a perturbed row) keeps the direct
 * kernels. `idx`/`scale`: output row m is scale[m] · X[idx[m]] over X = [Re 0..N/2, Im 0..N/2].
 */
interface DftPlan {
  N: number;
  window: Float32Array;
  blocks: Array<{ start: number; len: number; imag: boolean; sign: number }>;
}

/** The windowed-DFT reading of [M, 1, N] weights, or undefined (see DftPlan). */
function dftPlan(wts: ArrayLike<number>, M: number, N: number): DftPlan | undefined {
  if (N < 8 || (N & (N - 1)) !== 0 || M < 2 || wts.length !== M * N) return undefined;
  const H = N / 2;
  let maxAbs = 0;
  for (let i = 0; i < wts.length; i++) maxAbs = Math.max(maxAbs, Math.abs(wts[i]!));
  if (maxAbs === 0) return undefined;
  // Float32 weights of exact w·cos values are within 2^-24 relative; allow a little more.
  const tol = 1e-6 * maxAbs;
  const cosT = Float64Array.from({ length: N }, (_, j) => Math.cos((2 * Math.PI * j) / N));
  const sinT = Float64Array.from({ length: N }, (_, j) => Math.sin((2 * Math.PI * j) / N));
  const basis = (imag: boolean, k: number, n: number) => (imag ? sinT : cosT)[(k * n) % N]!;
  const layouts = [[{ start: 0, len: M }], ...(M % 2 === 0 ? [[{ start: 0, len: M / 2 }, { start: M / 2, len: M / 2 }]] : [])];
  for (const layout of layouts) {
    if (layout.some((b) => b.len > H + 1)) continue;
    const kinds = layout.length === 1 ? [[false], [true]] : [[false, true], [true, false], [false, false], [true, true]];
    for (const kind of kinds) {
      // Window by least squares per tap over each block's rows, signed so that it sums positive.
      const window = new Float64Array(N);
      const weight = new Float64Array(N);
      const blocks = layout.map((b, i) => ({ ...b, imag: kind[i]!, sign: 1 }));
      let ok = true;
      for (const b of blocks) {
        const est = new Float64Array(N);
        const den = new Float64Array(N);
        for (let r = 0; r < b.len; r++) {
          for (let n = 0; n < N; n++) {
            const v = basis(b.imag, r, n);
            est[n] = est[n]! + wts[(b.start + r) * N + n]! * v;
            den[n] = den[n]! + v * v;
          }
        }
        let sum = 0;
        for (let n = 0; n < N; n++) if (den[n]! > 1e-9) sum += est[n]! / den[n]!;
        if (Math.abs(sum) < 1e-12) { ok = false; break; }
        b.sign = sum > 0 ? 1 : -1;
        for (let n = 0; n < N; n++) {
          if (den[n]! <= 1e-9) continue;
          window[n] = window[n]! + b.sign * est[n]!;
          weight[n] = weight[n]! + den[n]!;
        }
      }
      if (!ok) continue;
      for (let n = 0; n < N; n++) window[n] = weight[n]! > 0 ? window[n]! / weight[n]! : 0;
      const win32 = Float32Array.from(window);
      check: for (const b of blocks) {
        for (let r = 0; r < b.len; r++) {
          for (let n = 0; n < N; n++) {
            if (Math.abs(wts[(b.start + r) * N + n]! - b.sign * win32[n]! * basis(b.imag, r, n)) > tol) { ok = false; break check; }
          }
        }
      }
      if (ok) return { N, window: win32, blocks };
    }
  }
  return undefined;
}

/**
 * Whether a 1-D conv's [M, 1, N] weights are a windowed Fourier basis this compiler runs as an
 * FFT (when the conv has group 1 and dilation 1): for tools that must keep such weights fp32.
 */
export function isFourierBasisConvWeight(wts: ArrayLike<number>, dims: readonly number[]): boolean {
  return dims.length === 3 && dims[1] === 1 && dftPlan(wts, dims[0]!, dims[2]!) !== undefined;
}

/** The conv of a DftPlan: per frame, a complex FFT of N/2 points over (even, odd) windowed samples, then the real spectrum. */
function emitDftConv(ctx: OpContext, plan: DftPlan, c: { x: string; y: string; bias: string | undefined; N: Dim; M: number; W: Dim; sw: number; pl: number; OW: Dim }): void {
  const w = ctx.w;
  const { N } = plan;
  const H = N / 2;
  const win = w.constant(plan.window);
  // Twiddles: cos/sin(2πt/H) for t < H/2, then cos/sin(2πk/N) for k ≤ H.
  const tw = importBuffer(w, 'Float64Array', 3 * H + 2, (name) => [
    `for (let t = 0; t < ${H / 2}; t++) { ${name}[t] = Math.cos(2 * Math.PI * t / ${H}); ${name}[${H / 2} + t] = Math.sin(2 * Math.PI * t / ${H}); }`,
    `for (let k = 0; k <= ${H}; k++) { ${name}[${H} + k] = Math.cos(2 * Math.PI * k / ${N}); ${name}[${2 * H + 1} + k] = Math.sin(2 * Math.PI * k / ${N}); }`,
  ]);
  const bits = Math.log2(H);
  const rev = importBuffer(w, 'Int32Array', H, (name) => [
    `for (let i = 0; i < ${H}; i++) { let r = 0; for (let b = 0; b < ${bits}; b++) r |= ((i >> b) & 1) << (${bits - 1} - b); ${name}[i] = 2 * r; }`,
  ]);
  const idx = importBuffer(w, 'Int32Array', c.M, (name) => plan.blocks.map((b) => `for (let r = 0; r < ${b.len}; r++) ${name}[${b.start} + r] = ${b.imag ? H + 1 : 0} + r;`));
  const scale = importBuffer(w, 'Float64Array', c.M, (name) => plan.blocks.map((b) => `for (let r = 0; r < ${b.len}; r++) ${name}[${b.start} + r] = ${b.imag ? -b.sign : b.sign};`));
  const zr = w.scratch(H);
  const zi = w.scratch(H);
  const X = w.scratch(2 * H + 2);
  w.emit(
    `for (let n = 0; n < ${c.N}; n++) {`,
    `  const xn = n * ${c.W};`,
    `  for (let ow = 0; ow < ${c.OW}; ow++) {`,
    `    const x0 = ow * ${c.sw} - ${c.pl};`,
    `    if (x0 >= 0 && x0 + ${N} <= ${c.W}) {`,
    `      for (let i = 0; i < ${H}; i++) { const r = ${rev}[i]; ${zr}[i] = ${win}[r] * ${c.x}[xn + x0 + r]; ${zi}[i] = ${win}[r + 1] * ${c.x}[xn + x0 + r + 1]; }`,
    `    } else {`,
    `      for (let i = 0; i < ${H}; i++) {`,
    `        const r = ${rev}[i], p = x0 + r;`,
    `        ${zr}[i] = p >= 0 && p < ${c.W} ? ${win}[r] * ${c.x}[xn + p] : 0;`,
    `        ${zi}[i] = p + 1 >= 0 && p + 1 < ${c.W} ? ${win}[r + 1] * ${c.x}[xn + p + 1] : 0;`,
    `      }`,
    `    }`,
    // The first two stages have twiddles 1 and -i: one pass of radix-4 butterflies without multiplies.
    `    for (let i = 0; i < ${H}; i += 4) {`,
    `      const r0 = ${zr}[i], i0 = ${zi}[i], r1 = ${zr}[i + 1], i1 = ${zi}[i + 1], r2 = ${zr}[i + 2], i2 = ${zi}[i + 2], r3 = ${zr}[i + 3], i3 = ${zi}[i + 3];`,
    `      const ar = r0 + r1, ai = i0 + i1, br = r0 - r1, bi = i0 - i1, cr = r2 + r3, ci = i2 + i3, dr = r2 - r3, di = i2 - i3;`,
    `      ${zr}[i] = ar + cr; ${zi}[i] = ai + ci; ${zr}[i + 2] = ar - cr; ${zi}[i + 2] = ai - ci;`,
    `      ${zr}[i + 1] = br + di; ${zi}[i + 1] = bi - dr; ${zr}[i + 3] = br - di; ${zi}[i + 3] = bi + dr;`,
    `    }`,
    `    for (let size = 8, step = ${H / 8}; size <= ${H}; size <<= 1, step >>= 1) {`,
    `      const half = size >> 1;`,
    `      for (let i = 0; i < ${H}; i += size) {`,
    `        for (let j = 0, t = 0; j < half; j++, t += step) {`,
    `          const wr = ${tw}[t], wi = -${tw}[${H / 2} + t];`,
    `          const a = i + j, b = a + half;`,
    `          const br = ${zr}[b], bi = ${zi}[b];`,
    `          const xr = br * wr - bi * wi, xi = br * wi + bi * wr;`,
    `          const ar = ${zr}[a], ai = ${zi}[a];`,
    `          ${zr}[b] = ar - xr; ${zi}[b] = ai - xi; ${zr}[a] = ar + xr; ${zi}[a] = ai + xi;`,
    `        }`,
    `      }`,
    `    }`,
    `    for (let k = 0; k <= ${H}; k++) {`,
    `      const k1 = k === ${H} ? 0 : k, k2 = k === 0 ? 0 : ${H} - k;`,
    `      const zrk = ${zr}[k1], zik = ${zi}[k1], cr = ${zr}[k2], ci = -${zi}[k2];`,
    `      const er = 0.5 * (zrk + cr), ei = 0.5 * (zik + ci), orr = 0.5 * (zik - ci), oi = -0.5 * (zrk - cr);`,
    `      const cs = ${tw}[${H} + k], sn = ${tw}[${2 * H + 1} + k];`,
    `      ${X}[k] = er + cs * orr + sn * oi; ${X}[${H + 1} + k] = ei + cs * oi - sn * orr;`,
    `    }`,
    `    const yb = n * ${c.M} * ${c.OW} + ow;`,
    `    for (let m = 0; m < ${c.M}; m++) ${c.y}[yb + m * ${c.OW}] = ${scale}[m] * ${X}[${idx}[m]]${c.bias ? ` + ${c.bias}[m]` : ''};`,
    `  }`,
    `}`,
  );
}

/** Kernels of at most this many taps (KH x KW) are unrolled by the tiled conv. */
const MAX_UNROLLED_TAPS = 16;
/**
 * Depthwise kernels (one input and one output channel per group) of up to this many taps
 * (5x5) are unrolled too: a tile is one lane, so its body stays small, and the
 * weight-stationary loops they took instead ran inline per conv, interpreted in a fresh
 * process (MobileNetV3's 5x5 depthwise layers).
 */
const MAX_UNROLLED_DEPTHWISE_TAPS = 25;
/**
 * Convs of small weights still take a packed kernel when one call does this many
 * multiply-adds or more (per batch item): the packing code is a few hundred bytes, the
 * plain weight-stationary loops run at a third of the tiled kernel's speed.
 */
const TILE_FROM_MACS = 65536;

/**
 * What both direct convolutions derive from the shape: taps per output, the lane blocks (the
 * Mg % lanes left run one channel at a time), the padded input's dims and the packed weights.
 */
function convPlan(w: ModuleWriter, c: ConvShape, maxLanes: number) {
  const KK = c.KH * c.KW;
  const taps = c.Cg * KK;
  const lanes = Math.min(maxLanes, c.Mg);
  const main = c.Mg - (c.Mg % lanes);
  const padded = c.pt + c.pl + c.pb + c.pr > 0;
  const grown = (d: Dim, by: number): Dim => (by === 0 ? d : typeof d === 'number' ? d + by : w.dim(`${d} + ${by}`));
  const Hp = grown(c.H, c.pt + c.pb);
  const Wp = grown(c.W, c.pl + c.pr);
  const HpWp = w.prod([Hp, Wp]);
  const HW = w.prod([c.H, c.W]);
  const OHW = w.prod([c.OH, c.OW]);
  const packed = packRows(w, c.w, c.group, c.Mg, taps, lanes);
  return { KK, taps, lanes, main, padded, Hp, Wp, HpWp, HW, OHW, packed };
}

/**
 * The loop nest both direct convolutions share: per batch item the padded input copy (when
 * padded), then per group the output channels in blocks of `lanes`, the Mg % lanes left one
 * at a time; `block(n, weightBase, firstChannel)` emits one block's code.
 */
function convLoopNest(
  c: ConvShape,
  k: { padded: boolean; src: string; HW: Dim; HpWp: Dim; Wp: Dim; taps: number; main: number; lanes: number; block: (n: number, wBase: string, m0: string) => string[] },
): string[] {
  const { padded, src, HW, HpWp, Wp, taps, main, lanes, block } = k;
  return [
    `for (let n = 0; n < ${c.N}; n++) {`,
    ...(padded
      ? [
          `  for (let ci = 0; ci < ${c.C}; ci++) {`,
          `    for (let h = 0; h < ${c.H}; h++) {`,
          `      const from = (n * ${c.C} + ci) * ${HW} + h * ${c.W};`,
          `      const to = ci * ${HpWp} + (h + ${c.pt}) * ${Wp} + ${c.pl};`,
          `      for (let i = 0; i < ${c.W}; i++) ${src}[to + i] = ${c.x}[from + i];`,
          `    }`,
          `  }`,
          `  const xn = 0;`,
        ]
      : [`  const xn = n * ${c.C} * ${HW};`]),
    `  for (let g = 0; g < ${c.group}; g++) {`,
    `    const xg = xn + g * ${c.Cg} * ${HpWp};`,
    `    const wg = g * ${c.Mg * taps};`,
    `    for (let mb = 0; mb < ${main}; mb += ${lanes}) {`,
    ...block(lanes, `wg + mb * ${taps}`, `g * ${c.Mg} + mb`).map((l) => `      ${l}`),
    `    }`,
    ...(main < c.Mg
      ? [`    for (let mb = ${main}; mb < ${c.Mg}; mb++) {`, ...block(1, `wg + mb * ${taps}`, `g * ${c.Mg} + mb`).map((l) => `      ${l}`), `    }`]
      : []),
    `  }`,
    `}`,
  ];
}

/**
 * Direct convolution over constant weights, register-tiled (build/micro/conv-tiled.ts): packed
 * weights, a padded input copy that makes every tap in range, and a call of the module's tiled
 * conv function for this geometry (shared by every conv of the same geometry).
 */
function emitTiledConv(ctx: OpContext, c: ConvShape, act: string): void {
  const w = ctx.w;
  const { lanes, padded, Hp, Wp, HpWp, packed } = convPlan(w, c, TILE_LANES);
  const src = padded ? w.alloc('float32', [c.C, Hp, Wp]) : c.x;
  // Tiles run along a row, or down a column for kernels taller than wide (3x1): there the
  // pixels of a tile share the input rows of their vertical taps.
  const vertical = c.KH > c.KW && typeof Wp === 'number' && typeof c.OW === 'number' ? { Wp, OW: c.OW } : undefined;
  const extent = vertical ? c.OH : c.OW;
  const geometry: TiledConvGeometry = {
    KH: c.KH, KW: c.KW, sh: c.sh, sw: c.sw, dh: c.dh, dw: c.dw, lanes,
    P: Math.max(1, typeof extent === 'number' ? Math.min(TILE_PIXELS, extent) : TILE_PIXELS),
    vertical,
    padded,
    // Static shapes: the border is zero from allocation on and never written; variable ones may move it.
    refill: padded && typeof HpWp !== 'number',
    bias: c.bias !== undefined,
  };
  const name = tiledConvName(geometry);
  // convAct first: its calls at import then precede the conv functions' (which call it).
  const code = convActivationCode(w, act);
  w.helper(name, tiledConvSource(name, geometry));
  const args: Record<(typeof TILED_CONV_PARAMS)[number], Dim> = {
    x: c.x, wt: packed, bias: c.bias ?? 'null', y: c.y, src, N: c.N, C: c.C, group: c.group, Cg: c.Cg, Mg: c.Mg,
    H: c.H, W: c.W, Hp, Wp, OH: c.OH, OW: c.OW, pt: c.pt, pl: c.pl, act: code,
  };
  w.emit(`${name}(${TILED_CONV_PARAMS.map((p) => args[p]).join(', ')});`);
}

/**
 * Direct convolution over constant weights, LANES output channels at a time: per output
 * position, one pass over the (channel, kernel) taps reads each input value once for all
 * lanes, accumulating in registers (doubles). Weights are packed at import; a padded input
 * copy (the size of the input, not an im2col matrix) makes every tap in range, and a table
 * of tap offsets covers strides, dilations and groups alike.
 */
function emitBlockedConv(ctx: OpContext, c: ConvShape): void {
  const w = ctx.w;
  const { KK, taps, lanes, main, padded, Hp, Wp, HpWp, HW, OHW, packed } = convPlan(w, c, LANES);
  // Tap offsets inside one group's input channels: channel, row (dilated), column (dilated).
  const offsetLines = (name: string) => [
    `for (let ci = 0, q = 0; ci < ${c.Cg}; ci++) for (let kh = 0; kh < ${c.KH}; kh++) for (let kw = 0; kw < ${c.KW}; kw++) ${name}[q++] = ci * ${HpWp} + kh * ${c.dh} * ${Wp} + kw * ${c.dw};`,
  ];
  const contiguous = c.Cg === 1 && c.KH === 1 && c.dw === 1;
  let offsets = '';
  const lines: string[] = [];
  if (!contiguous) {
    if (typeof HpWp === 'number' && typeof Wp === 'number') {
      offsets = importBuffer(w, 'Int32Array', taps, offsetLines);
    } else {
      offsets = w.fresh('t');
      w.buffers.push(`const ${offsets} = new Int32Array(${taps});`);
      lines.push(...offsetLines(offsets));
    }
  }
  let src = c.x;
  if (padded) {
    src = w.alloc('float32', [c.C, Hp, Wp]);
    // Static shapes: the border is zero from allocation on and never written; variable ones may move it.
    if (typeof HpWp !== 'number') lines.push(`${src}.fill(0, 0, ${w.prod([c.C, HpWp])});`);
  }
  const tap = (xv: string, base: string) => (contiguous ? `const ${xv} = ${src}[${base} + q];` : `const ${xv} = ${src}[${base} + ${offsets}[q]];`);
  const block = (n: number, wBase: string, m0: string) => {
    const init = Array.from({ length: n }, (_, l) => `s${l} = ${c.bias ? `${c.bias}[${m0} + ${l}]` : '0'}`).join(', ');
    const plane = (l: number) => (l === 0 ? '' : typeof OHW === 'number' ? ` + ${l * OHW}` : ` + ${l} * ${OHW}`);
    const stores = Array.from({ length: n }, (_, l) => `${c.y}[yr + ow${plane(l)}] = s${l};`).join(' ');
    const init2 = init.replace(/\bs(\d+) = /g, 'u$1 = ');
    const stores2 = Array.from({ length: n }, (_, l) => `${c.y}[yr + ow + 1${plane(l)}] = u${l};`).join(' ');
    const pairSums = Array.from({ length: n }, (_, l) => `const w${l} = ${packed}[j${l === 0 ? '' : ` + ${l}`}]; s${l} += w${l} * xv; u${l} += w${l} * xu;`).join(' ');
    return [
      `const yb = (n * ${c.M} + ${m0}) * ${OHW};`,
      `for (let oh = 0; oh < ${c.OH}; oh++) {`,
      `  const xr = xg + oh * ${c.sh} * ${Wp};`,
      `  const yr = yb + oh * ${c.OW};`,
      // Two output positions per pass: each packed weight is loaded once for both.
      `  let ow = 0;`,
      `  for (; ow + 1 < ${c.OW}; ow += 2) {`,
      `    const base = xr + ow * ${c.sw};`,
      `    const base2 = base + ${c.sw};`,
      `    let ${init}, ${init2};`,
      `    for (let q = 0, j = ${wBase}; q < ${taps}; q++, j += ${n}) { ${tap('xv', 'base')} ${tap('xu', 'base2')} ${pairSums} }`,
      `    ${stores} ${stores2}`,
      `  }`,
      `  if (ow < ${c.OW}) {`,
      `    const base = xr + ow * ${c.sw};`,
      `    let ${init};`,
      `    for (let q = 0, j = ${wBase}; q < ${taps}; q++, j += ${n}) { ${tap('xv', 'base')} ${laneSums(n, packed, 'xv')} }`,
      `    ${stores}`,
      `  }`,
      `}`,
    ];
  };
  lines.push(...convLoopNest(c, { padded, src, HW, HpWp, Wp, taps, main, lanes, block }));
  w.emit(...lines);
}

function pool(kind: 'max' | 'avg'): OpEmitter {
  return (ctx) => {
    const x = ctx.need(0);
    requireDtype(ctx, x, kind === 'max' ? ['float32', 'int8', 'uint8'] : FLOAT_ONLY, 'X');
    if (ctx.node.outputs[1]) ctx.fail('unsupported_op', 'MaxPool with an Indices output is not supported');
    const rank = x.dims.length;
    if (rank !== 3 && rank !== 4) ctx.fail('unsupported_shape', `pooling over ${rank - 2} spatial dimensions; the micro engine implements 1-D and 2-D`);
    const kernel = attrInts(ctx, 'kernel_shape') ?? ctx.fail('invalid_model', 'kernel_shape is required');
    if (kernel.length !== rank - 2) ctx.fail('invalid_model', 'kernel_shape does not match the input rank');
    if (attrInt(ctx, 'storage_order', 0) !== 0) ctx.fail('unsupported_op', 'storage_order 1 is not supported');
    const spatial = x.dims.slice(2);
    const g = geometry(ctx, spatial, kernel);
    const ceil = attrInt(ctx, 'ceil_mode', 0) === 1;
    const includePad = attrInt(ctx, 'count_include_pad', 0) === 1;
    const two = rank === 4;
    const H: Dim = two ? spatial[0]! : 1;
    const W: Dim = two ? spatial[1]! : spatial[0]!;
    const [KH, KW] = two ? [kernel[0]!, kernel[1]!] : [1, kernel[0]!];
    const [sh, sw] = two ? [g.strides[0]!, g.strides[1]!] : [1, g.strides[0]!];
    const [dh, dw] = two ? [g.dilations[0]!, g.dilations[1]!] : [1, g.dilations[0]!];
    const [pt, pl, pb, pr] = two ? [g.pads[0]!, g.pads[1]!, g.pads[2]!, g.pads[3]!] : [0, g.pads[0]!, 0, g.pads[1]!];
    const OH = two ? outSize(ctx, H, KH, sh, dh, pt, pb, ceil) : 1;
    const OW = outSize(ctx, W, KW, sw, dw, pl, pr, ceil);
    const y = ctx.output(0, x.dtype, two ? [x.dims[0]!, x.dims[1]!, OH, OW] : [x.dims[0]!, x.dims[1]!, OW]);
    const w = ctx.w;
    const NC = w.prod(x.dims.slice(0, 2));
    const HW = w.prod([H, W]);
    const OHW = w.prod([OH, OW]);
    const init = kind === 'max' ? '-Infinity' : '0';
    const step = kind === 'max' ? 'if (v > r || v !== v) r = v;' : 'r += v; cnt++;';
    // count_include_pad counts the window clipped to the padded input, as onnxruntime does.
    const finish = kind === 'max' ? 'r' : includePad
      ? `r / ((Math.min(hs + ${(KH - 1) * dh + 1}, ${H} + ${pb}) - hs) * (Math.min(ws + ${(KW - 1) * dw + 1}, ${W} + ${pr}) - ws) / ${dh * dw})`
      : 'r / cnt';
    w.emit(
      `for (let nc = 0; nc < ${NC}; nc++) {`,
      `  const xb = nc * ${HW};`,
      `  const yb = nc * ${OHW};`,
      `  for (let oh = 0; oh < ${OH}; oh++) {`,
      `    const hs = oh * ${sh} - ${pt};`,
      `    for (let ow = 0; ow < ${OW}; ow++) {`,
      `      const ws = ow * ${sw} - ${pl};`,
      `      let r = ${init}, cnt = 0;`,
      `      for (let kh = 0; kh < ${KH}; kh++) {`,
      `        const ih = hs + kh * ${dh};`,
      `        if (ih < 0 || ih >= ${H}) continue;`,
      `        for (let kw = 0; kw < ${KW}; kw++) {`,
      `          const iw = ws + kw * ${dw};`,
      `          if (iw < 0 || iw >= ${W}) continue;`,
      `          const v = ${x.buf}[xb + ih * ${W} + iw];`,
      `          ${step}`,
      `        }`,
      `      }`,
      `      ${y.buf}[yb + oh * ${OW} + ow] = ${finish};`,
      `    }`,
      `  }`,
      `}`,
    );
  };
}

/**
 * A global pool as one module function per kind that every such node calls, called at import
 * on scratch: a net's pools (MobileNetV3's squeeze-excite blocks: 10) run once per inference
 * each, so their own loops ran interpreted in a fresh process's first inference (ppocr_cls:
 * ~20-27 ms for 0.2 ms of work), while a shared function is optimised before it is needed.
 */
function globalPoolSource(kind: 'max' | 'avg'): string {
  const name = kind === 'max' ? 'globalMaxPool' : 'globalAvgPool';
  return [
    `// Global ${kind} pool of NC planes of S elements (build/micro/ops-nn.ts).`,
    `function ${name}(x, y, NC, S) {`,
    '  for (let nc = 0; nc < NC; nc++) {',
    '    const b = nc * S;',
    `    let r = ${kind === 'max' ? '-Infinity' : '0'};`,
    kind === 'max'
      ? '    for (let i = 0; i < S; i++) { const v = x[b + i]; if (v > r || v !== v) r = v; }'
      : '    for (let i = 0; i < S; i++) r += x[b + i];',
    `    y[nc] = ${kind === 'max' ? 'r' : 'r / S'};`,
    '  }',
    '}',
    `for (let r = 0, t = new Float32Array(8).fill(0.5), u = new Float32Array(2); r < 300; r++) { t[r & 7] = r & 1 ? 0.25 : 0.75; ${name}(t, u, 2, 4); }`,
  ].join('\n');
}

function globalPool(kind: 'max' | 'avg'): OpEmitter {
  return (ctx) => {
    const x = ctx.need(0);
    requireDtype(ctx, x, FLOAT_ONLY, 'X');
    if (x.dims.length < 3) ctx.fail('invalid_model', 'the input needs spatial dimensions');
    const w = ctx.w;
    const NC = w.prod(x.dims.slice(0, 2));
    const S = w.prod(x.dims.slice(2));
    const y = ctx.output(0, x.dtype, [...x.dims.slice(0, 2), ...x.dims.slice(2).map(() => 1)]);
    const name = w.helper(kind === 'max' ? 'globalMaxPool' : 'globalAvgPool', globalPoolSource(kind));
    w.emit(`${name}(${x.buf}, ${y.buf}, ${NC}, ${S});`);
  };
}

const batchNormalization: OpEmitter = (ctx) => {
  const x = ctx.raw(0);
  requireDtype(ctx, x, FLOAT_ONLY, 'X');
  if (attrInt(ctx, 'training_mode', 0) !== 0 || ctx.node.outputs.slice(1).some(Boolean)) ctx.fail('unsupported_op', 'training-mode BatchNormalization is not supported');
  const params = [1, 2, 3, 4].map((i) => ctx.need(i));
  if (params.some((p) => !p.data)) ctx.fail('unsupported_shape', 'scale, B, mean and var must be constants');
  const C = staticDim(ctx, x.dims[1] ?? 1, 'the channel count');
  const [scale, bias, mean, variance] = params.map((p) => p.data!);
  if ([scale, bias, mean, variance].some((d) => d!.length !== C)) ctx.fail('invalid_model', `parameters must have ${C} elements`);
  const eps = Math.fround(attrFloat(ctx, 'epsilon', 1e-5));
  const a = new Float32Array(C);
  const b = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    a[c] = Math.fround(scale![c]! / Math.fround(Math.sqrt(Math.fround(variance![c]! + eps))));
    b[c] = Math.fround(bias![c]! - Math.fround(mean![c]! * a[c]!));
  }
  const trailing = x.dims.slice(2).map(() => 1);
  const av = constValue(ctx, 'float32', [C, ...trailing], a);
  const bv = constValue(ctx, 'float32', [C, ...trailing], b);
  mapOp(ctx, 'float32', x.dims, [x, av, bv], ([v, s, t]) => `${v} * ${s} + ${t}`);
};

const layerNormalization: OpEmitter = (ctx) => {
  const x = ctx.need(0);
  requireDtype(ctx, x, FLOAT_ONLY, 'X');
  if (ctx.node.outputs.slice(1).some(Boolean)) ctx.fail('unsupported_op', 'the Mean and InvStdDev outputs are not supported');
  const rank = x.dims.length;
  const axis = normAxis(ctx, attrInt(ctx, 'axis', -1), rank);
  const eps = Math.fround(attrFloat(ctx, 'epsilon', 1e-5));
  const scale = ctx.input(1);
  const bias = ctx.input(2);
  const w = ctx.w;
  const outer = w.prod(x.dims.slice(0, axis));
  const inner = w.prod(x.dims.slice(axis));
  const sizeOf = (v: Value | undefined) => (v ? w.prod(v.dims) : 0);
  for (const v of [scale, bias]) if (v && sizeOf(v) !== inner && sizeOf(v) !== 1) ctx.fail('unsupported_shape', 'scale and bias must cover the normalised axes exactly');
  const at = (v: Value | undefined, i: string, none: string) => (!v ? none : sizeOf(v) === 1 ? `${v.buf}[0]` : `${v.buf}[${i}]`);
  const y = ctx.output(0, 'float32', x.dims);
  w.emit(
    `for (let o = 0; o < ${outer}; o++) {`,
    `  const b = o * ${inner};`,
    `  let mean = 0;`,
    `  for (let i = 0; i < ${inner}; i++) mean += ${x.buf}[b + i];`,
    `  mean /= ${inner};`,
    `  let v = 0;`,
    `  for (let i = 0; i < ${inner}; i++) { const d = ${x.buf}[b + i] - mean; v += d * d; }`,
    `  const inv = 1 / Math.sqrt(v / ${inner} + ${literal(eps)});`,
    `  for (let i = 0; i < ${inner}; i++) ${y.buf}[b + i] = (${x.buf}[b + i] - mean) * inv * ${at(scale, 'i', '1')} + ${at(bias, 'i', '0')};`,
    `}`,
  );
};

const transpose: OpEmitter = (ctx) => {
  const x = ctx.need(0);
  const rank = x.dims.length;
  const perm = attrInts(ctx, 'perm') ?? x.dims.map((_, k) => rank - 1 - k);
  if (perm.length !== rank || new Set(perm).size !== rank || perm.some((p) => p < 0 || p >= rank)) ctx.fail('invalid_model', `perm [${perm}] is not a permutation of ${rank} axes`);
  const out = perm.map((p) => x.dims[p]!);
  // Moving only axes of size 1 keeps the element order: a view.
  const moved = perm.filter((p) => x.dims[p] !== 1);
  if (moved.every((p, k) => k === 0 || p > moved[k - 1]!)) return view(ctx, x, out);
  const y = ctx.output(0, x.dtype, out);
  // Output axis k walks input axis perm[k]: index map with permuted strides.
  const s = strides(ctx, x.dims);
  const lines: string[] = ['let q = 0;'];
  let indent = '';
  for (let k = 0; k < rank; k++) {
    lines.push(`${indent}for (let i${k} = 0; i${k} < ${out[k]}; i${k}++) {`);
    indent += '  ';
    const term = s[perm[k]!] === 1 ? `i${k}` : `i${k} * ${s[perm[k]!]}`;
    lines.push(`${indent}const b${k} = ${k === 0 ? term : `b${k - 1} + ${term}`};`);
  }
  lines.push(`${indent}${y.buf}[q++] = ${x.buf}[b${rank - 1}];`);
  for (let k = rank - 1; k >= 0; k--) {
    indent = indent.slice(2);
    lines.push(`${indent}}`);
  }
  ctx.w.emit(...lines);
};

const pad: OpEmitter = (ctx) => {
  const x = ctx.need(0);
  const rank = x.dims.length;
  const mode = (attr(ctx, 'mode') as string | undefined) ?? 'constant';
  const raw = ctx.opset >= 11 ? constValues(ctx, 1, 'pads') : (attrInts(ctx, 'pads') ?? ctx.fail('invalid_model', 'pads are required'));
  let axes = x.dims.map((_, k) => k);
  if (ctx.node.inputs[3]) axes = constValues(ctx, 3, 'axes').map((a) => normAxis(ctx, a, rank));
  if (raw.length !== 2 * axes.length) ctx.fail('invalid_model', `pads has ${raw.length} values for ${axes.length} axes`);
  const before = Array<number>(rank).fill(0);
  const after = Array<number>(rank).fill(0);
  axes.forEach((a, k) => {
    before[a] = raw[k]!;
    after[a] = raw[k + axes.length]!;
  });
  let fill = '0';
  if (ctx.opset >= 11 && ctx.node.inputs[2]) {
    const c = ctx.need(2);
    fill = c.data ? literal(c.data[0] ?? 0) : `${c.buf}[0]`;
  } else if (ctx.opset < 11) {
    fill = f32(attrFloat(ctx, 'value', 0));
  }
  const out = x.dims.map((d, k) => (before[k] === 0 && after[k] === 0 ? d : typeof d === 'number' ? d + before[k]! + after[k]! : ctx.w.dim(`${d} + ${before[k]! + after[k]!}`)));
  for (const d of out) if (typeof d === 'number' && d < 0) ctx.fail('invalid_model', 'negative pads crop more than the input holds');
  const y = ctx.output(0, x.dtype, out);
  indexMap(ctx, y, x, out, (k, i) => {
    const shift = before[k] === 0 ? i : `${i} - ${before[k]}`;
    if (before[k] === 0 && after[k]! <= 0) return { j: i };
    const d = x.dims[k]!;
    switch (mode) {
      case 'constant': return { j: shift, checked: true };
      case 'edge': return { j: `Math.min(Math.max(${shift}, 0), ${d} - 1)` };
      // The index expression repeated rather than bound by an arrow: an arrow that captures a
      // run-time dim was allocated per element (40 KB a call on a 704-sample pad).
      case 'reflect': {
        const t = `(${shift})`;
        return { j: `(${t} < 0 ? -${t} : ${t} >= ${d} ? 2 * (${d} - 1) - ${t} : ${t})` };
      }
      case 'wrap': return { j: `(((${shift}) % ${d}) + ${d}) % ${d}` };
      default: return ctx.fail('unsupported_op', `Pad mode "${mode}" is not supported (constant, edge, reflect, wrap)`);
    }
  }, fill);
};

const slice: OpEmitter = (ctx) => {
  const x = ctx.raw(0);
  const rank = x.dims.length;
  const starts = (ctx.opset >= 10 ? constValues(ctx, 1, 'starts') : attrInts(ctx, 'starts')) ?? ctx.fail('invalid_model', 'starts are required');
  const ends = (ctx.opset >= 10 ? constValues(ctx, 2, 'ends') : attrInts(ctx, 'ends')) ?? ctx.fail('invalid_model', 'ends are required');
  const axes = (ctx.opset >= 10 ? intsFrom(ctx, 3, 'axes', 'axes') : attrInts(ctx, 'axes')) ?? starts.map((_, k) => k);
  const steps = ctx.opset >= 10 && ctx.node.inputs[4] ? constValues(ctx, 4, 'steps') : starts.map(() => 1);
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) ctx.fail('invalid_model', 'starts, ends, axes and steps differ in length');
  const start = Array<number>(rank).fill(0);
  const step = Array<number>(rank).fill(1);
  const out: Dim[] = [...x.dims];
  axes.forEach((a0, k) => {
    const a = normAxis(ctx, a0, rank);
    const s = steps[k]!;
    if (s === 0) ctx.fail('invalid_model', 'a step of 0');
    const dimV = x.dims[a]!;
    const big = Math.abs(ends[k]!) >= 2 ** 31 - 1;
    if (typeof dimV !== 'number') {
      // A variable dim can only be sliced from a fixed start to its end (or kept whole).
      if (!(s === 1 && starts[k]! >= 0 && big && ends[k]! > 0)) ctx.fail('unsupported_shape', `slicing a variable dimension (axis ${a}) other than [start:]`);
      start[a] = starts[k]!;
      out[a] = ctx.w.dim(`Math.max(0, ${dimV} - ${starts[k]})`);
      return;
    }
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    let b = starts[k]! < 0 ? starts[k]! + dimV : starts[k]!;
    let e = ends[k]! < 0 ? ends[k]! + dimV : ends[k]!;
    if (s > 0) {
      b = clamp(b, 0, dimV);
      e = clamp(e, 0, dimV);
    } else {
      b = clamp(b, 0, dimV - 1);
      e = clamp(e, -1, dimV - 1);
    }
    start[a] = b;
    step[a] = s;
    out[a] = Math.max(0, Math.ceil((e - b) / s));
  });
  const y = ctx.output(0, x.dtype, out);
  materialize(ctx, x);
  indexMap(ctx, y, x, out, (k, i) => ({ j: start[k] === 0 && step[k] === 1 ? i : `${start[k]} + ${i} * ${step[k]}` }));
};

const tile: OpEmitter = (ctx) => {
  const x = ctx.need(0);
  const repeats = constValues(ctx, 1, 'repeats');
  if (repeats.length !== x.dims.length || repeats.some((r) => r < 0)) ctx.fail('invalid_model', 'repeats must have one non-negative value per axis');
  const out = x.dims.map((d, k) => (repeats[k] === 1 ? d : typeof d === 'number' ? d * repeats[k]! : ctx.w.dim(`${d} * ${repeats[k]}`)));
  const y = ctx.output(0, x.dtype, out);
  indexMap(ctx, y, x, out, (k, i) => ({ j: repeats[k] === 1 ? i : `${i} % ${x.dims[k]}` }));
};

const expand: OpEmitter = (ctx) => {
  const x = ctx.raw(0);
  const shape = constValues(ctx, 1, 'the target shape');
  const dims = broadcastShape(ctx, [x.dims, shape]);
  mapOp(ctx, x.dtype, dims, [x], ([v]) => v!);
};

const split: OpEmitter = (ctx) => {
  const x = ctx.need(0);
  const rank = x.dims.length;
  const axis = normAxis(ctx, attrInt(ctx, 'axis', 0), rank);
  const D = staticDim(ctx, x.dims[axis]!, 'the split axis');
  const n = ctx.node.outputs.length;
  let sizes = (ctx.opset >= 13 ? (ctx.node.inputs[1] ? constValues(ctx, 1, 'split') : undefined) : attrInts(ctx, 'split'));
  if (!sizes) {
    const chunk = Math.ceil(D / n);
    sizes = Array.from({ length: n }, (_, k) => Math.max(0, Math.min(chunk, D - k * chunk)));
  }
  if (sizes.length !== n || sizes.reduce((a, b) => a + b, 0) !== D) ctx.fail('invalid_model', `split sizes [${sizes}] do not add up to ${D} over ${n} outputs`);
  const w = ctx.w;
  const outer = w.prod(x.dims.slice(0, axis));
  const inner = w.prod(x.dims.slice(axis + 1));
  let at = 0;
  sizes.forEach((sz, k) => {
    const y = ctx.output(k, x.dtype, x.dims.map((d, j) => (j === axis ? sz : d)));
    const block = w.prod([sz, inner]);
    const rowIn = w.prod([D, inner]);
    const off = w.prod([at, inner]);
    w.emit(`for (let o = 0; o < ${outer}; o++) ${y.buf}.set(${x.buf}.subarray(o * ${rowIn} + ${off}, o * ${rowIn} + ${off} + ${block}), o * ${block});`);
    at += sz;
  });
};

const shape: OpEmitter = (ctx) => {
  const x = ctx.raw(0);
  const rank = x.dims.length;
  let start = attrInt(ctx, 'start', 0);
  let end = attrInt(ctx, 'end', rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = Math.min(Math.max(start, 0), rank);
  end = Math.min(Math.max(end, 0), rank);
  const dims = x.dims.slice(start, Math.max(start, end));
  if (dims.every((d) => typeof d === 'number')) {
    ctx.define(0, constValue(ctx, 'int64', [dims.length], Float64Array.from(dims as number[])));
    return;
  }
  const y = ctx.output(0, 'int64', [dims.length]);
  ctx.w.emit(...dims.map((d, k) => `${y.buf}[${k}] = ${d};`));
};

const sizeOp: OpEmitter = (ctx) => {
  const n = ctx.w.prod(ctx.raw(0).dims);
  if (typeof n === 'number') {
    ctx.define(0, constValue(ctx, 'int64', [], Float64Array.of(n)));
    return;
  }
  const y = ctx.output(0, 'int64', []);
  ctx.w.emit(`${y.buf}[0] = ${n};`);
};

const constantOfShape: OpEmitter = (ctx) => {
  const dims = constValues(ctx, 0, 'the shape');
  const value = attr(ctx, 'value');
  const t = typeof value === 'object' && value !== null && !Array.isArray(value) && 'data' in value ? value : undefined;
  const dtype: DType = t?.dtype ?? 'float32';
  const v = t ? Number(t.data[0] ?? 0) : 0;
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) ctx.fail('invalid_model', `shape [${dims}] has an invalid dimension`);
    n *= d;
  }
  ctx.w.checkElements(n, 'the output');
  if (n <= 1024) {
    const data = dtype === 'float32' ? new Float32Array(n) : dtype === 'int32' ? new Int32Array(n) : dtype === 'int64' ? new Float64Array(n) : dtype === 'int8' ? new Int8Array(n) : new Uint8Array(n);
    data.fill(v);
    ctx.define(0, constValue(ctx, dtype, dims, data));
    return;
  }
  // Larger fills are allocated and filled once, not carried in the module.
  const y = ctx.output(0, dtype, dims);
  if (v !== 0) ctx.w.emit(`${y.buf}.fill(${literal(v)});`);
};

const range: OpEmitter = (ctx) => {
  const [start, limit, delta] = [0, 1, 2].map((i) => {
    const v = ctx.need(i);
    if (!v.data) ctx.fail('unsupported_shape', 'Range bounds computed at run time');
    return { v, x: Number(v.data![0]) };
  });
  const n = Math.max(0, Math.ceil((limit!.x - start!.x) / delta!.x));
  ctx.w.checkElements(n, 'the output');
  const dtype = start!.v.dtype;
  const data = dtype === 'float32' ? new Float32Array(n) : dtype === 'int32' ? new Int32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = start!.x + i * delta!.x;
  ctx.define(0, constValue(ctx, dtype, [n], data));
};

const where: OpEmitter = (ctx) => {
  const c = ctx.raw(0);
  const a = ctx.raw(1);
  const b = ctx.raw(2);
  requireDtype(ctx, c, ['bool'], 'the condition');
  if (a.dtype !== b.dtype) ctx.fail('invalid_model', 'X and Y differ in type');
  mapOp(ctx, a.dtype, broadcastShape(ctx, [c.dims, a.dims, b.dims]), [c, a, b], ([p, x, y]) => `(${p} ? ${x} : ${y})`);
};

const pow: OpEmitter = (ctx) => {
  const a = ctx.raw(0);
  const b = ctx.raw(1);
  requireDtype(ctx, a, ['float32', 'int32', 'int64'], 'X');
  const dims = broadcastShape(ctx, [a.dims, b.dims]);
  // Constant exponents 2, 1, 0.5 get exact forms (x*x of two float32s is exact in doubles).
  const e = b.data && b.data.length === 1 ? Number(b.data[0]) : undefined;
  if (e === 2) return mapOp(ctx, a.dtype, dims, [a], ([x]) => `${x} * ${x}`);
  if (e === 3) return mapOp(ctx, a.dtype, dims, [a], ([x]) => `${x} * ${x} * ${x}`);
  if (e === 1) return mapOp(ctx, a.dtype, dims, [a], ([x]) => x!);
  if (e === 0.5 && a.dtype === 'float32') return mapOp(ctx, a.dtype, dims, [a], ([x]) => `Math.sqrt(${x})`);
  mapOp(ctx, a.dtype, dims, [a, b], ([x, y]) => `Math.pow(${x}, ${y})`);
};

const prelu: OpEmitter = (ctx) => {
  const x = ctx.raw(0);
  const slope = ctx.raw(1);
  requireDtype(ctx, x, FLOAT_ONLY, 'X');
  mapOp(ctx, x.dtype, broadcastShape(ctx, [x.dims, slope.dims]), [x, slope], ([v, s]) => `(${v} < 0 ? ${s} * ${v} : ${v})`);
};

const gelu: OpEmitter = (ctx) => {
  const x = ctx.raw(0);
  requireDtype(ctx, x, FLOAT_ONLY, 'X');
  const approx = (attr(ctx, 'approximate') as string | undefined) ?? 'none';
  if (approx === 'tanh') {
    mapOp(ctx, x.dtype, x.dims, [x], ([v]) => `((t) => 0.5 * t * (1 + Math.tanh(0.7978845608028654 * (t + 0.044715 * t * t * t))))(${v})`);
  } else {
    const erf = ctx.w.helper('erf', ERF);
    mapOp(ctx, x.dtype, x.dims, [x], ([v]) => `((t) => 0.5 * t * (1 + ${erf}(t * 0.7071067811865476)))(${v})`);
  }
};

function withErf(expr: (erf: string, v: string) => string): OpEmitter {
  return (ctx) => {
    const x = ctx.raw(0);
    requireDtype(ctx, x, FLOAT_ONLY, 'X');
    const erf = ctx.w.helper('erf', ERF);
    mapOp(ctx, x.dtype, x.dims, [x], ([v]) => expr(erf, v!));
  };
}

function activation(expr: (v: string, ctx: OpContext) => string): OpEmitter {
  return (ctx) => {
    const x = ctx.raw(0);
    requireDtype(ctx, x, FLOAT_ONLY, 'X');
    mapOp(ctx, x.dtype, x.dims, [x], ([v]) => expr(v!, ctx));
  };
}

/** A sub-expression evaluated once (arrow applied to the value), so `v` may repeat safely. */
const once = (v: string, body: (t: string) => string): string => `((t) => ${body('t')})(${v})`;

export const NN_EMITTERS: Record<string, OpEmitter> = {
  Exp: unaryFloat((v) => `Math.exp(${v})`),
  Log: unaryFloat((v) => `Math.log(${v})`),
  Sqrt: unaryFloat((v) => `Math.sqrt(${v})`),
  Reciprocal: unaryFloat((v) => `1 / ${v}`),
  Floor: unaryFloat((v) => `Math.floor(${v})`),
  Ceil: unaryFloat((v) => `Math.ceil(${v})`),
  Sin: unaryFloat((v) => `Math.sin(${v})`),
  Cos: unaryFloat((v) => `Math.cos(${v})`),
  Neg: unaryNumeric((v) => `-${v}`),
  Abs: unaryNumeric((v) => `Math.abs(${v})`),
  Sign: unaryNumeric((v) => `Math.sign(${v})`),
  Round: (ctx) => {
    const x = ctx.raw(0);
    requireDtype(ctx, x, FLOAT_ONLY, 'X');
    const r = ctx.w.helper('roundEven', ROUND_EVEN);
    mapOp(ctx, x.dtype, x.dims, [x], ([v]) => `${r}(${v})`);
  },
  Erf: withErf((erf, v) => `${erf}(${v})`),
  Gelu: gelu,
  // Without a data-dependent branch (mispredicted on every other element of signed data, 4x
  // slower): max(t, 0) as (t + |t|) / 2 and min(t, 0) as t - max(t, 0), both exact for finite
  // t; infinities (a branch that always predicts) take the plain form.
  LeakyRelu: activation((v, ctx) => {
    const a = f32(attrFloat(ctx, 'alpha', 0.01));
    const size = ctx.w.prod(ctx.raw(0).dims);
    if (typeof size === 'number' && size < BRANCH_FREE_FROM) return once(v, (t) => `(t >= 0 ? t : ${a} * t)`);
    return once(v, (t) => `(Math.abs(t) !== Infinity ? ((p) => p + ${a} * (t - p))(0.5 * (t + Math.abs(t))) : t >= 0 ? t : ${a} * t)`);
  }),
  Elu: activation((v, ctx) => once(v, (t) => `(t >= 0 ? t : ${f32(attrFloat(ctx, 'alpha', 1))} * (Math.exp(t) - 1))`)),
  Celu: activation((v, ctx) => {
    const a = f32(attrFloat(ctx, 'alpha', 1));
    return once(v, (t) => `(Math.max(0, t) + Math.min(0, ${a} * (Math.exp(t / ${a}) - 1)))`);
  }),
  Selu: activation((v, ctx) => {
    const a = f32(attrFloat(ctx, 'alpha', 1.67326319217681884765625));
    const g = f32(attrFloat(ctx, 'gamma', 1.05070102214813232421875));
    return once(v, (t) => `(t > 0 ? ${g} * t : ${g} * (${a} * Math.exp(t) - ${a}))`);
  }),
  HardSigmoid: activation((v, ctx) => `Math.max(0, Math.min(1, ${f32(attrFloat(ctx, 'alpha', 0.2))} * ${v} + ${f32(attrFloat(ctx, 'beta', 0.5))}))`),
  HardSwish: activation((v) => once(v, (t) => `(t * Math.max(0, Math.min(1, t / 6 + 0.5)))`)),
  Softplus: activation((v) => once(v, (t) => `(t > 0 ? t + Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t)))`)),
  Softsign: activation((v) => once(v, (t) => `(t / (1 + Math.abs(t)))`)),
  Mish: activation((v) => once(v, (t) => `(t * Math.tanh(t > 0 ? t + Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t))))`)),
  ThresholdedRelu: activation((v, ctx) => once(v, (t) => `(t > ${f32(attrFloat(ctx, 'alpha', 1))} ? t : 0)`)),
  PRelu: prelu,
  Pow: pow,
  Max: variadic((xs) => xs.reduce((a, b) => `Math.max(${a}, ${b})`)),
  Min: variadic((xs) => xs.reduce((a, b) => `Math.min(${a}, ${b})`)),
  Sum: variadic((xs) => xs.join(' + ')),
  Mean: variadic((xs) => `(${xs.join(' + ')}) / ${xs.length}`, FLOAT_ONLY),
  Equal: compare('==='),
  Greater: compare('>'),
  Less: compare('<'),
  GreaterOrEqual: compare('>='),
  LessOrEqual: compare('<='),
  And: logic((a, b) => `${a} & ${b}`),
  Or: logic((a, b) => `${a} | ${b}`),
  Xor: logic((a, b) => `${a} ^ ${b}`),
  Not: (ctx) => {
    const x = ctx.raw(0);
    requireDtype(ctx, x, ['bool'], 'X');
    mapOp(ctx, 'bool', x.dims, [x], ([v]) => `${v} ^ 1`);
  },
  Where: where,
  Dropout: (ctx) => {
    if (ctx.node.outputs[1]) ctx.fail('unsupported_op', 'Dropout with a mask output is not supported');
    view(ctx, ctx.raw(0), ctx.raw(0).dims);
  },
  Conv: conv,
  MaxPool: pool('max'),
  AveragePool: pool('avg'),
  GlobalMaxPool: globalPool('max'),
  GlobalAveragePool: globalPool('avg'),
  BatchNormalization: batchNormalization,
  LayerNormalization: layerNormalization,
  Transpose: transpose,
  Pad: pad,
  Slice: slice,
  Split: split,
  Tile: tile,
  Expand: expand,
  Shape: shape,
  Size: sizeOp,
  ConstantOfShape: constantOfShape,
  Range: range,
};
