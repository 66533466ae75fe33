// Recurrent layers: LSTM and GRU (forward, reverse, bidirectional; layout 0 and 1; initial
// states, sequence_lens, peepholes, clip, input_forget, linear_before_reset). One direction and
// one batch row at a time: each step is two matrix-vector products (W·x and R·h, each plus its
// bias), then the element-wise gate update; outputs are written as float32.
// With constant weights (the usual case), W and R are packed at import, each gate's rows in
// blocks of 8 interleaved, and the products call the module's shared lane kernel
// (gemm-kernels.ts): it is warmed at import, so a fresh process's first inference runs it
// optimised, where a node's own loop nest ran in V8's interpreter and baseline tiers for the
// whole call (a single inference never runs long enough to optimise it), and the packed rows
// stream contiguously. h and the gate sums are then float32 (as onnxruntime keeps them), so
// every array the kernel sees is a Float32Array; c stays in doubles. Weights that vary at run
// time keep the unpacked loops (states in doubles).
import { GEMM_LANES, gemmKernels } from './gemm-kernels.ts';
import { packRows } from './kernels.ts';
import { literal, type Dim, type Value } from './module-writer.ts';
import { attr, attrFloat, attrInt, FLOAT_ONLY, requireDtype, type OpContext, type OpEmitter } from './ops.ts';

type Activation = (x: string) => string;

/** Activations ONNX allows in recurrent ops, with how many of activation_alpha/beta each consumes (as onnxruntime does). */
const ACTIVATIONS: Record<string, { alpha?: number; beta?: number; expr: (alpha: number, beta: number) => Activation }> = {
  sigmoid: { expr: () => (x) => `(1 / (1 + Math.exp(-${x})))` },
  tanh: { expr: () => (x) => `Math.tanh(${x})` },
  relu: { expr: () => (x) => `Math.max(${x}, 0)` },
  softsign: { expr: () => (x) => `(${x} / (1 + Math.abs(${x})))` },
  softplus: { expr: () => (x) => `Math.log1p(Math.exp(${x}))` },
  leakyrelu: { alpha: 0.01, expr: (a) => (x) => `(${x} >= 0 ? ${x} : ${literal(a)} * ${x})` },
  thresholdedrelu: { alpha: 1, expr: (a) => (x) => `(${x} > ${literal(a)} ? ${x} : 0)` },
  elu: { alpha: 1, expr: (a) => (x) => `(${x} >= 0 ? ${x} : ${literal(a)} * (Math.exp(${x}) - 1))` },
  hardsigmoid: { alpha: 0.2, beta: 0.5, expr: (a, b) => (x) => `Math.max(0, Math.min(1, ${literal(a)} * ${x} + ${literal(b)}))` },
  scaledtanh: { alpha: 1, beta: 1, expr: (a, b) => (x) => `(${literal(a)} * Math.tanh(${literal(b)} * ${x}))` },
  affine: { alpha: 1, beta: 0, expr: (a, b) => (x) => `(${literal(a)} * ${x} + ${literal(b)})` },
};

function floats(ctx: OpContext, name: string): number[] {
  const v = attr(ctx, name);
  if (v === undefined) return [];
  if (Array.isArray(v)) return v;
  if (typeof v === 'number') return [v];
  return ctx.fail('invalid_model', `attribute ${name} must be a list of floats`);
}

/** The activation functions per direction (`perDirection` each), defaults filled in. */
function activations(ctx: OpContext, dirs: number, defaults: string[]): Activation[][] {
  const given = attr(ctx, 'activations');
  const names = given === undefined ? [] : typeof given === 'object' && 'strings' in given ? given.strings : ctx.fail('invalid_model', 'attribute activations must be a list of strings');
  const all = names.length > 0 ? names : Array.from({ length: dirs }, () => defaults).flat();
  if (all.length !== defaults.length * dirs) ctx.fail('invalid_model', `activations lists ${all.length} functions; ${defaults.length * dirs} are needed for ${dirs} direction(s)`);
  const alphas = floats(ctx, 'activation_alpha').map(Math.fround);
  const betas = floats(ctx, 'activation_beta').map(Math.fround);
  let ai = 0;
  let bi = 0;
  const fns = all.map((name) => {
    const spec = ACTIVATIONS[name.toLowerCase()];
    if (!spec) return ctx.fail('unsupported_op', `activation "${name}" is not implemented (the micro engine has ${Object.keys(ACTIVATIONS).join(', ')})`);
    const a = spec.alpha === undefined ? 0 : ai < alphas.length ? alphas[ai++]! : spec.alpha;
    const b = spec.beta === undefined ? 0 : bi < betas.length ? betas[bi++]! : spec.beta;
    return spec.expr(a, b);
  });
  return Array.from({ length: dirs }, (_, d) => fns.slice(d * defaults.length, (d + 1) * defaults.length));
}

interface Recurrent {
  x: Value;
  W: Value;
  R: Value;
  B?: Value;
  seqLens?: Value;
  initial: Array<Value | undefined>;
  dirs: number;
  reverse: boolean[];
  H: number;
  I: number;
  T: Dim;
  batch: Dim;
  layout: number;
  clip?: number;
}

function common(ctx: OpContext, gates: number, initialInputs: number[]): Recurrent {
  const x = ctx.need(0);
  const W = ctx.need(1);
  const R = ctx.need(2);
  for (const [v, what] of [[x, 'X'], [W, 'W'], [R, 'R']] as const) requireDtype(ctx, v, FLOAT_ONLY, what);
  const B = ctx.input(3);
  const seqLens = ctx.input(4);
  const initial = initialInputs.map((i) => ctx.input(i));
  const direction = attr(ctx, 'direction') ?? 'forward';
  if (direction !== 'forward' && direction !== 'reverse' && direction !== 'bidirectional') ctx.fail('invalid_model', `direction "${String(direction)}" is not forward, reverse or bidirectional`);
  const dirs = direction === 'bidirectional' ? 2 : 1;
  const reverse = direction === 'bidirectional' ? [false, true] : [direction === 'reverse'];
  const layout = attrInt(ctx, 'layout', 0);
  if (layout !== 0 && layout !== 1) ctx.fail('invalid_model', `layout ${layout} is not 0 or 1`);
  if (x.dims.length !== 3) ctx.fail('unsupported_shape', `X must have rank 3, not ${x.dims.length}`);
  const [T, batch] = layout === 0 ? [x.dims[0]!, x.dims[1]!] : [x.dims[1]!, x.dims[0]!];
  const I = x.dims[2]!;
  const [wd, wr, wi] = W.dims;
  const rh = R.dims[2];
  if (typeof I !== 'number' || typeof wr !== 'number' || typeof wi !== 'number' || typeof rh !== 'number') ctx.fail('unsupported_shape', 'the input and hidden sizes must be static');
  const H = attrInt(ctx, 'hidden_size', wr / gates);
  if (wd !== dirs || wr !== gates * H || wi !== I) ctx.fail('invalid_model', `W has shape [${W.dims}]; [${dirs}, ${gates * H}, ${I}] is expected`);
  if (R.dims[0] !== dirs || R.dims[1] !== gates * H || rh !== H) ctx.fail('invalid_model', `R has shape [${R.dims}]; [${dirs}, ${gates * H}, ${H}] is expected`);
  if (B && (B.dims.length !== 2 || B.dims[0] !== dirs || B.dims[1] !== 2 * gates * H)) ctx.fail('invalid_model', `B has shape [${B.dims}]; [${dirs}, ${2 * gates * H}] is expected`);
  if (B) requireDtype(ctx, B, FLOAT_ONLY, 'B');
  if (seqLens) requireDtype(ctx, seqLens, ['int32'], 'sequence_lens');
  for (const v of initial) if (v) requireDtype(ctx, v, FLOAT_ONLY, 'an initial state');
  const clipAttr = attr(ctx, 'clip');
  const clip = clipAttr === undefined ? undefined : Math.fround(attrFloat(ctx, 'clip', 0));
  return { x, W, R, B, seqLens, initial, dirs, reverse, H, I: I as number, T, batch, layout, clip };
}

/** Index expressions for X [t, b, k], Y [t, d, b, j] and states [d, b, j] in either layout. */
function indexers(r: Recurrent) {
  const { T, batch: Bn, H, I, dirs: D, layout } = r;
  return layout === 0
    ? {
        x: (t: string, b: string) => `(${t} * ${Bn} + ${b}) * ${I}`,
        y: (t: string, d: number, b: string) => `((${t} * ${D} + ${d}) * ${Bn} + ${b}) * ${H}`,
        state: (d: number, b: string) => `(${d} * ${Bn} + ${b}) * ${H}`,
      }
    : {
        x: (t: string, b: string) => `(${b} * ${T} + ${t}) * ${I}`,
        y: (t: string, d: number, b: string) => `((${b} * ${T} + ${t}) * ${D} + ${d}) * ${H}`,
        state: (d: number, b: string) => `(${b} * ${D} + ${d}) * ${H}`,
      };
}

function outputs(ctx: OpContext, r: Recurrent, count: number): Array<Value | undefined> {
  const { T, batch, dirs, H, layout } = r;
  const yDims: Dim[] = layout === 0 ? [T, dirs, batch, H] : [batch, T, dirs, H];
  const sDims: Dim[] = layout === 0 ? [dirs, batch, H] : [batch, dirs, H];
  return Array.from({ length: count }, (_, i) => (ctx.node.outputs[i] ? ctx.output(i, 'float32', i === 0 ? yDims : sDims) : undefined));
}

/** `len` for batch row b (clamped to T), and the zeroing of Y past it. */
function stepsLines(r: Recurrent): string {
  return r.seqLens ? `const len = Math.max(0, Math.min(${r.T}, ${r.seqLens.buf}[b]));` : `const len = ${r.T};`;
}

/** `a += row(W) · X[t] + row(R) · h` plus both biases, for gate rows [from, to). */
function gateRows(r: Recurrent, d: number, gates: number, from: string, to: string, acc: string, h: string, xBase: string): string[] {
  const { H, I, W, R, B } = r;
  const G = gates * H;
  const bias = (j: string) => (B ? `${B.buf}[${d * 2 * G} + ${j}] + ${B.buf}[${d * 2 * G + G} + ${j}]` : '0');
  const eight = [0, 1, 2, 3, 4, 5, 6, 7];
  return [
    // Eight rows at a time share each load of X[t] and h (eight independent sums, each in the same order).
    `{ let j = ${from};`,
    `for (; j + 7 < ${to}; j += 8) {`,
    `  let ${eight.map((q) => `a${q} = ${bias(q === 0 ? 'j' : `j + ${q}`)}`).join(', ')};`,
    `  const w0 = (${d * G} + j) * ${I}, ${eight.slice(1).map((q) => `w${q} = w${q - 1} + ${I}`).join(', ')};`,
    `  for (let k = 0; k < ${I}; k++) { const xv = ${r.x.buf}[${xBase} + k]; ${eight.map((q) => `a${q} += xv * ${W.buf}[w${q} + k];`).join(' ')} }`,
    `  const r0 = (${d * G} + j) * ${H}, ${eight.slice(1).map((q) => `r${q} = r${q - 1} + ${H}`).join(', ')};`,
    `  for (let k = 0; k < ${H}; k++) { const hv = ${h}[k]; ${eight.map((q) => `a${q} += hv * ${R.buf}[r${q} + k];`).join(' ')} }`,
    `  ${eight.map((q) => `${acc}[j${q === 0 ? '' : ` + ${q}`}] = a${q};`).join(' ')}`,
    `}`,
    `for (; j < ${to}; j++) {`,
    `  let a = ${B ? `${B.buf}[${d * 2 * G} + j] + ${B.buf}[${d * 2 * G + G} + j]` : '0'};`,
    `  const wr = (${d * G} + j) * ${I};`,
    `  for (let k = 0; k < ${I}; k++) a += ${r.x.buf}[${xBase} + k] * ${W.buf}[wr + k];`,
    `  const rr = (${d * G} + j) * ${H};`,
    `  for (let k = 0; k < ${H}; k++) a += ${h}[k] * ${R.buf}[rr + k];`,
    `  ${acc}[j] = a;`,
    `} }`,
  ];
}

const clipped = (r: Recurrent, v: string) => (r.clip === undefined ? v : `Math.max(${literal(-r.clip)}, Math.min(${literal(r.clip)}, ${v}))`);

/** W and R packed for the lane kernel (each gate's H rows a group), or undefined when either varies at run time. */
interface Packed {
  w: string;
  r: string;
  /** Rows per gate in full blocks of GEMM_LANES; the rest go through the column kernel. */
  main: number;
  lanes?: string;
  column?: string;
  /** A zero bias (float32, gates·H) for ops without B. */
  zeros?: string;
}

function packWeights(ctx: OpContext, r: Recurrent, gates: number): Packed | undefined {
  if (r.W.stage === 'run' || r.R.stage === 'run') return undefined;
  const { H, I, dirs } = r;
  const main = H >= GEMM_LANES ? H - (H % GEMM_LANES) : 0;
  // Below one block, lanes = 1 keeps every row plain (the column kernel's layout).
  const lanes = main > 0 ? GEMM_LANES : 1;
  const w = packRows(ctx.w, r.W.buf, dirs * gates, H, I, lanes);
  const R = packRows(ctx.w, r.R.buf, dirs * gates, H, H, lanes);
  const kernels = gemmKernels(ctx.w, { lanes: main > 0, column: main < H });
  return { w, r: R, main, ...kernels, zeros: r.B ? undefined : ctx.w.alloc('float32', [gates * H]) };
}

/**
 * y[q·H + n] = Σk a[ao + k] · M[(d·gates + q)·H + n][k] + bias[bo + q·H + n] for gates q in
 * [q0, q1) and n < H, M being `matrix` (W or R packed, K columns).
 */
function matvecLines(p: Packed, matrix: string, K: number, H: number, gates: number, d: number, q0: number, q1: number, a: string, ao: string, y: string, bias: string, bo: number): string[] {
  const lines = [`for (let q = ${q0}; q < ${q1}; q++) {`, `  const gb = (${d * gates} + q) * ${H}, yq = q * ${H}, bq = ${bo} + yq;`];
  if (p.main > 0) lines.push(`  for (let n = 0; n < ${p.main}; n += ${GEMM_LANES}) ${p.lanes}(${a}, ${ao}, ${matrix}, (gb + n) * ${K}, ${K}, ${y}, yq + n, ${bias}, bq + n, 1);`);
  if (p.main < H) lines.push(`  for (let n = ${p.main}; n < ${H}; n++) ${y}[yq + n] = ${p.column}(${a}, ${ao}, ${matrix}, (gb + n) * ${K}, ${K}) + ${bias}[bq + n];`);
  lines.push('}');
  return lines;
}

/** The bias array and the offsets of Wb and Rb for direction d (a zero array without B). */
function biasOf(r: Recurrent, p: Packed, gates: number, d: number): { buf: string; wb: number; rb: number } {
  const G = gates * r.H;
  return r.B ? { buf: r.B.buf, wb: d * 2 * G, rb: d * 2 * G + G } : { buf: p.zeros!, wb: 0, rb: 0 };
}

const lstm: OpEmitter = (ctx) => {
  const r = common(ctx, 4, [5, 6]);
  const P = ctx.input(7);
  const { H, dirs, batch, T } = r;
  if (P && (P.dims.length !== 2 || P.dims[0] !== dirs || P.dims[1] !== 3 * H)) ctx.fail('invalid_model', `P has shape [${P.dims}]; [${dirs}, ${3 * H}] is expected`);
  const inputForget = attrInt(ctx, 'input_forget', 0) !== 0;
  const fns = activations(ctx, dirs, ['Sigmoid', 'Tanh', 'Tanh']);
  const [Y, Yh, Yc] = outputs(ctx, r, 3);
  const w = ctx.w;
  const p = packWeights(ctx, r, 4);
  // Packed: acc holds W·x + Wb and accH R·h + Rb; else acc holds the whole gate sums.
  const acc = p ? w.alloc('float32', [4 * H]) : w.scratch(4 * H);
  const accH = p ? w.alloc('float32', [4 * H]) : undefined;
  const h = p ? w.alloc('float32', [H]) : w.scratch(H);
  const c = w.scratch(H);
  const ix = indexers(r);
  const [h0, c0] = r.initial;
  const pre = (q: number) => (accH ? `${acc}[${q * H} + j] + ${accH}[${q * H} + j]` : `${acc}[${q * H} + j]`);
  for (let d = 0; d < dirs; d++) {
    const [f, g, hf] = fns[d]! as [Activation, Activation, Activation];
    const peep = (gate: number, cell: string) => (P ? ` + ${P.buf}[${d * 3 * H + gate * H} + j] * ${cell}` : '');
    const bias = p && biasOf(r, p, 4, d);
    const sums = p && bias
      ? [...matvecLines(p, p.w, r.I, H, 4, d, 0, 4, r.x.buf, 'xb', acc, bias.buf, bias.wb), ...matvecLines(p, p.r, H, H, 4, d, 0, 4, h, '0', accH!, bias.buf, bias.rb)]
      : gateRows(r, d, 4, '0', String(4 * H), acc, h, 'xb');
    w.emit(
      `// direction ${d}${r.reverse[d] ? ' (reverse)' : ''}`,
      `for (let b = 0; b < ${batch}; b++) {`,
      `  ${stepsLines(r)}`,
      `  for (let j = 0; j < ${H}; j++) {`,
      `    ${h}[j] = ${h0 ? `${h0.buf}[${ix.state(d, 'b')} + j]` : '0'};`,
      `    ${c}[j] = ${c0 ? `${c0.buf}[${ix.state(d, 'b')} + j]` : '0'};`,
      `  }`,
      `  for (let s = 0; s < len; s++) {`,
      `    const t = ${r.reverse[d] ? 'len - 1 - s' : 's'};`,
      `    const xb = ${ix.x('t', 'b')};`,
      ...sums.map((l) => `    ${l}`),
      `    for (let j = 0; j < ${H}; j++) {`,
      `      const cp = ${c}[j];`,
      `      const i = ${f(clipped(r, `(${pre(0)}${peep(0, 'cp')})`))};`,
      `      const fg = ${inputForget ? '1 - i' : f(clipped(r, `(${pre(2)}${peep(2, 'cp')})`))};`,
      `      const cn = fg * cp + i * ${g(clipped(r, `(${pre(3)})`))};`,
      `      ${c}[j] = cn;`,
      `      const o = ${f(clipped(r, `(${pre(1)}${peep(1, 'cn')})`))};`,
      `      ${h}[j] = o * ${hf('cn')};`,
      `    }`,
      ...(Y ? [`    const yb = ${ix.y('t', d, 'b')};`, `    for (let j = 0; j < ${H}; j++) ${Y.buf}[yb + j] = ${h}[j];`] : []),
      `  }`,
      ...(Y ? [`  for (let t = len; t < ${T}; t++) ${Y.buf}.fill(0, ${ix.y('t', d, 'b')}, ${ix.y('t', d, 'b')} + ${H});`] : []),
      ...(Yh ? [`  for (let j = 0; j < ${H}; j++) ${Yh.buf}[${ix.state(d, 'b')} + j] = ${h}[j];`] : []),
      ...(Yc ? [`  for (let j = 0; j < ${H}; j++) ${Yc.buf}[${ix.state(d, 'b')} + j] = ${c}[j];`] : []),
      `}`,
    );
  }
};

const gru: OpEmitter = (ctx) => {
  const r = common(ctx, 3, [5]);
  const { H, dirs, batch, T, R, B } = r;
  const linearBeforeReset = attrInt(ctx, 'linear_before_reset', 0) !== 0;
  const fns = activations(ctx, dirs, ['Sigmoid', 'Tanh']);
  const [Y, Yh] = outputs(ctx, r, 2);
  const w = ctx.w;
  const p = packWeights(ctx, r, 3);
  const acc = p ? w.alloc('float32', [3 * H]) : w.scratch(3 * H);
  const accH = p ? w.alloc('float32', [3 * H]) : undefined;
  const h = p ? w.alloc('float32', [H]) : w.scratch(H);
  const rh = p ? w.alloc('float32', [H]) : w.scratch(H);
  // r ⊙ h, what R's candidate rows multiply when the reset comes first.
  const hr = p && !linearBeforeReset ? w.alloc('float32', [H]) : undefined;
  const ix = indexers(r);
  const [h0] = r.initial;
  const G = 3 * H;
  // One direction's loop over batch and time around `step` (lines indented for the time loop, x at xb).
  const emitDirection = (d: number, step: readonly string[]) =>
    w.emit(
      `// direction ${d}${r.reverse[d] ? ' (reverse)' : ''}`,
      `for (let b = 0; b < ${batch}; b++) {`,
      `  ${stepsLines(r)}`,
      `  for (let j = 0; j < ${H}; j++) ${h}[j] = ${h0 ? `${h0.buf}[${ix.state(d, 'b')} + j]` : '0'};`,
      `  for (let s = 0; s < len; s++) {`,
      `    const t = ${r.reverse[d] ? 'len - 1 - s' : 's'};`,
      `    const xb = ${ix.x('t', 'b')};`,
      ...step,
      ...(Y ? [`    const yb = ${ix.y('t', d, 'b')};`, `    for (let j = 0; j < ${H}; j++) ${Y.buf}[yb + j] = ${h}[j];`] : []),
      `  }`,
      ...(Y ? [`  for (let t = len; t < ${T}; t++) ${Y.buf}.fill(0, ${ix.y('t', d, 'b')}, ${ix.y('t', d, 'b')} + ${H});`] : []),
      ...(Yh ? [`  for (let j = 0; j < ${H}; j++) ${Yh.buf}[${ix.state(d, 'b')} + j] = ${h}[j];`] : []),
      `}`,
    );
  for (let d = 0; d < dirs; d++) {
    const [f, g] = fns[d]! as [Activation, Activation];
    if (p && accH) {
      const bias = biasOf(r, p, 3, d);
      const sum = (q: number) => `${acc}[${q * H} + j] + ${accH}[${q * H} + j]`;
      // acc: W·x + Wb for the three gates; accH: R·h + Rb for z and r, and for the candidate
      // R·h + Rb (reset applied after) or R·(r ⊙ h) + Rb (before).
      const step = [
        ...matvecLines(p, p.w, r.I, H, 3, d, 0, 3, r.x.buf, 'xb', acc, bias.buf, bias.wb),
        ...matvecLines(p, p.r, H, H, 3, d, 0, linearBeforeReset ? 3 : 2, h, '0', accH, bias.buf, bias.rb),
        `for (let j = 0; j < ${H}; j++) ${rh}[j] = ${f(clipped(r, `(${sum(1)})`))};`,
        ...(hr ? [`for (let k = 0; k < ${H}; k++) ${hr}[k] = ${rh}[k] * ${h}[k];`, ...matvecLines(p, p.r, H, H, 3, d, 2, 3, hr, '0', accH, bias.buf, bias.rb)] : []),
        `for (let j = 0; j < ${H}; j++) {`,
        `  const z = ${f(clipped(r, `(${sum(0)})`))};`,
        `  const n = ${g(clipped(r, `(${acc}[${2 * H} + j] + ${linearBeforeReset ? `${rh}[j] * ` : ''}${accH}[${2 * H} + j])`))};`,
        `  ${h}[j] = (1 - z) * n + z * ${h}[j];`,
        `}`,
      ];
      emitDirection(d, step.map((l) => `    ${l}`));
      continue;
    }
    const wb = (j: string) => (B ? `${B.buf}[${d * 2 * G} + ${j}]` : '0');
    const rb = (j: string) => (B ? `${B.buf}[${d * 2 * G + G} + ${j}]` : '0');
    // The candidate row: X·Wh + Wbh, plus the recurrent part (reset applied before or after R).
    const candidate = linearBeforeReset
      ? [
          `      let u = ${rb('j')};`,
          `      for (let k = 0; k < ${H}; k++) u += ${h}[k] * ${R.buf}[rr + k];`,
          `      a += ${rh}[j] * u;`,
        ]
      : [`      a += ${rb('j')};`, `      for (let k = 0; k < ${H}; k++) a += ${rh}[k] * ${h}[k] * ${R.buf}[rr + k];`];
    emitDirection(d, [
      // z and r rows, then the reset gate r (kept in rh), then the candidate rows.
      ...gateRows(r, d, 3, '0', String(2 * H), acc, h, 'xb').map((l) => `    ${l}`),
      `    for (let j = 0; j < ${H}; j++) ${rh}[j] = ${f(clipped(r, `${acc}[${H} + j]`))};`,
      `    for (let j = ${2 * H}; j < ${3 * H}; j++) {`,
      `      let a = ${wb('j')};`,
      `      const wr = (${d * G} + j) * ${r.I};`,
      `      for (let k = 0; k < ${r.I}; k++) a += ${r.x.buf}[xb + k] * ${r.W.buf}[wr + k];`,
      `      const rr = (${d * G} + j) * ${H};`,
      ...candidate.map((l) => l.replace(`${rh}[j]`, `${rh}[j - ${2 * H}]`)),
      `      ${acc}[j] = a;`,
      `    }`,
      `    for (let j = 0; j < ${H}; j++) {`,
      `      const z = ${f(clipped(r, `${acc}[j]`))};`,
      `      const n = ${g(clipped(r, `${acc}[${2 * H} + j]`))};`,
      `      ${h}[j] = (1 - z) * n + z * ${h}[j];`,
      `    }`,
    ]);
  }
};

export const RNN_EMITTERS: Record<string, OpEmitter> = { LSTM: lstm, GRU: gru };
