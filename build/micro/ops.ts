// Code emitters for the ONNX ops the micro engine supports (opset 13+ semantics, with the
// older attribute forms of axes/min/max accepted too). Each emitter reads its inputs'
// shapes at compile time and writes specialised loops into the module.
import { MicroCompileError, ORT_FALLBACK_HINT, type MicroCompileErrorCode } from './errors.ts';
import { dtypeFromCode, type AttrValue, type ConstTensor, type DType, type IrNode } from './model-ir.ts';
import { blockedBagLines } from './embedding-bag.ts';
import { packedGemmLines } from './gemm-kernels.ts';
import { importKernel, noteDequantized } from './import-kernels.ts';
import { PACK_FROM, sparseCount, sparseRows } from './kernels.ts';
import { literal, quoted, type Dim, type Lazy, type ModuleWriter, type Value } from './module-writer.ts';

/** What an op emitter gets: the node, its inputs as Values, and ways to define outputs. */
export interface OpContext {
  readonly w: ModuleWriter;
  readonly node: IrNode;
  readonly opset: number;
  /** Where the node's code runs: once at import (all inputs constant) or per call. */
  readonly stage: 'init' | 'run';
  /** Whether input i is given (not omitted). */
  has(i: number): boolean;
  /** Number of input slots (omitted ones included). */
  count(): number;
  /** The i-th input, or undefined when omitted. */
  input(i: number): Value | undefined;
  /** The i-th input, materialised; a compile error when absent. */
  need(i: number): Value;
  /** The i-th input as it is, possibly lazy (for emitters that can fuse it); error when absent. */
  raw(i: number): Value;
  /** Whether output i may stay lazy: one consumer, not a graph output, computed per run. */
  canDefer(i: number): boolean;
  define(i: number, value: Value): void;
  /** Declares the i-th output as a new tensor and returns it (buffer allocated). */
  output(i: number, dtype: DType, dims: Dim[]): Value;
  fail(code: MicroCompileErrorCode, problem: string): never;
}

export type OpEmitter = (ctx: OpContext) => void;

/** The registry key of a node: the op type, prefixed by its domain outside the default one. */
export function opKey(node: IrNode): string {
  return node.domain === '' || node.domain === 'ai.onnx' ? node.opType : `${node.domain}.${node.opType}`;
}

export const FLOAT_ONLY = ['float32'] as const;

export function attr(ctx: OpContext, name: string): AttrValue | undefined {
  return ctx.node.attrs.get(name);
}
export function attrInt(ctx: OpContext, name: string, fallback: number): number {
  const v = attr(ctx, name);
  return typeof v === 'number' ? v : fallback;
}
export function attrFloat(ctx: OpContext, name: string, fallback: number): number {
  const v = attr(ctx, name);
  return typeof v === 'number' ? v : fallback;
}
export function attrInts(ctx: OpContext, name: string): number[] | undefined {
  const v = attr(ctx, name);
  return Array.isArray(v) ? v : undefined;
}

export function requireDtype(ctx: OpContext, v: Value, allowed: readonly DType[], what: string): void {
  if (!allowed.includes(v.dtype)) {
    ctx.fail('unsupported_dtype', `${what} is ${v.dtype}; the micro engine implements this op for ${allowed.join(', ')} only`);
  }
}

/** Values of an input that must be known at compile time (shapes, axes). */
export function constValues(ctx: OpContext, i: number, what: string): number[] {
  const v = ctx.need(i);
  if (!v.data) ctx.fail('unsupported_shape', `${what} (input ${i}) is computed at run time; the micro engine needs it as a constant`);
  return Array.from(v.data as ArrayLike<number>);
}

export function normAxis(ctx: OpContext, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) ctx.fail('invalid_model', `axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Axes from the opset-13+ input when given, else from the older attribute. */
export function axesOf(ctx: OpContext, inputIndex: number, rank: number): number[] | undefined {
  const fromInput = ctx.node.inputs[inputIndex] ? constValues(ctx, inputIndex, 'axes') : undefined;
  const axes = fromInput ?? attrInts(ctx, 'axes');
  return axes?.map((a) => normAxis(ctx, a, rank));
}

export function sumDims(ctx: OpContext, dims: Dim[]): Dim {
  let n = 0;
  const symbols: string[] = [];
  for (const d of dims) {
    if (typeof d === 'number') n += d;
    else symbols.push(d);
  }
  if (symbols.length === 0) return n;
  return ctx.w.dim(n === 0 ? symbols.join(' + ') : `${symbols.join(' + ')} + ${n}`);
}

/** Numpy broadcasting of shapes; variable dims are checked at run time. */
export function broadcastShape(ctx: OpContext, shapes: ReadonlyArray<readonly Dim[]>): Dim[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let k = 0; k < rank; k++) {
    const dims = shapes.map((s) => (k - (rank - s.length) >= 0 ? s[k - (rank - s.length)]! : 1));
    const numbers = [...new Set(dims.filter((d): d is number => typeof d === 'number' && d !== 1))];
    const symbols = [...new Set(dims.filter((d): d is string => typeof d === 'string'))];
    if (numbers.length > 1) ctx.fail('unsupported_shape', `shapes [${shapes.map((s) => s.join(',')).join('] and [')}] do not broadcast`);
    let dim: Dim;
    if (numbers.length === 1) dim = numbers[0]!;
    else if (symbols.length === 0) dim = 1;
    else if (symbols.length === 1) dim = symbols[0]!;
    else dim = ctx.w.dim(symbols.slice(1).reduce((acc, s) => `(${acc} === 1 ? ${s} : ${acc})`, symbols[0]!));
    if (symbols.length > 1 || (symbols.length === 1 && dim !== symbols[0])) {
      for (const s of symbols) {
        if (s === dim) continue;
        ctx.w.emitScoped(
          `if (${s} !== ${dim} && ${s} !== 1) fail("bad_input", "node ${quoted(ctx.node.name)}: dimension " + ${s} + " does not broadcast with " + ${dim});`,
        );
      }
    }
    out.push(dim);
  }
  return out;
}

/** An expression as the dtype's typed array would store it (so fused code equals unfused). */
export function coerce(dtype: DType, e: string): string {
  switch (dtype) {
    case 'float32': return `Math.fround(${e})`;
    case 'int32': return `((${e}) | 0)`;
    case 'int8': return `((${e}) << 24 >> 24)`;
    case 'uint8': return `((${e}) & 255)`;
    case 'int64': return `(${e})`;
    case 'bool': return `((${e}) ? 1 : 0)`;
  }
}

interface Expansion {
  leaves: Value[];
  build: (refs: string[]) => string;
}

function splitRefs(parts: Expansion[], refs: string[]): string[] {
  let at = 0;
  return parts.map((p) => {
    const mine = refs.slice(at, at + p.leaves.length);
    at += p.leaves.length;
    return p.build(mine);
  });
}

/** Leaves (materialised values) of a lazy map tree; lazy gathers are materialised here. */
function expand(ctx: OpContext, v: Value): Expansion {
  if (v.lazy?.kind === 'map') {
    const parts = v.lazy.operands.map((o) => expand(ctx, o));
    const expr = v.lazy.expr;
    return { leaves: parts.flatMap((p) => p.leaves), build: (refs) => expr(splitRefs(parts, refs)) };
  }
  materialize(ctx, v);
  return { leaves: [v], build: (refs) => refs[0]! };
}

/**
 * Loops over `iter` reading `values` element-wise (lazy ones computed inline) plus index
 * operands given only by dims (e.g. an accumulator); `body` gets element expressions.
 */
export function elementLoops(
  ctx: OpContext,
  iter: readonly Dim[],
  values: Value[],
  indexDims: ReadonlyArray<readonly Dim[]>,
  body: (elements: string[], indexes: string[], linear: string) => string[],
): void {
  const parts = values.map((v) => expand(ctx, v));
  const leaves = parts.flatMap((p) => p.leaves);
  ctx.w.loops(iter, [...leaves.map((l) => l.dims), ...indexDims], (idx, linear) => {
    const refs = leaves.map((l, k) => `${l.buf}[${idx[k]}]`);
    return body(splitRefs(parts, refs), idx.slice(leaves.length), linear);
  });
}

function gatherLines(y: string, table: Value, idx: Value, axis: number, w: ModuleWriter, node: string): string[] {
  const outer = w.prod(table.dims.slice(0, axis));
  const N = table.dims[axis]!;
  const inner = w.prod(table.dims.slice(axis + 1));
  const count = w.prod(idx.dims);
  return [
    `for (let o = 0; o < ${outer}; o++) {`,
    `  for (let i = 0; i < ${count}; i++) {`,
    `    let j = ${idx.buf}[i];`,
    `    if (j < 0) j += ${N};`,
    `    if (!(j >= 0 && j < ${N})) fail("bad_input", "node " + ${w.nodeRef(node)} + ": index " + ${idx.buf}[i] + " is out of range for a dimension of " + ${N});`,
    `    const src = (o * ${N} + j) * ${inner};`,
    `    const dst = (o * ${count} + i) * ${inner};`,
    `    for (let k = 0; k < ${inner}; k++) ${y}[dst + k] = ${table.buf}[src + k];`,
    `  }`,
    `}`,
  ];
}

/** Computes a lazy value into a buffer of its own, in the current node's code. */
export function materialize(ctx: OpContext, v: Value): Value {
  const lazy = v.lazy;
  if (!lazy) return v;
  const buf = ctx.w.alloc(v.dtype, v.dims);
  if (lazy.kind === 'gather') {
    ctx.w.emit(...gatherLines(buf, { ...lazy.table, dims: [lazy.table.dims[0]!, ...lazy.rowDims] }, lazy.indices, 0, ctx.w, lazy.node));
  } else {
    elementLoops(ctx, v.dims, lazy.operands, [], (el, _i, o) => [`${buf}[${o}] = ${lazy.expr(el)};`]);
  }
  v.buf = buf;
  delete v.lazy;
  return v;
}

/** An element-wise op: left lazy for its single consumer to fuse, else computed now. */
export function mapOp(ctx: OpContext, dtype: DType, dims: Dim[], operands: Value[], expr: (args: string[]) => string): void {
  const full = (args: string[]) => coerce(dtype, expr(args));
  if (ctx.canDefer(0)) {
    ctx.define(0, { dtype, dims, buf: '', stage: ctx.stage, lazy: { kind: 'map', operands, expr: full } });
    return;
  }
  const y = ctx.output(0, dtype, dims);
  elementLoops(ctx, dims, operands, [], (el, _i, o) => [`${y.buf}[${o}] = ${full(el)};`]);
}

export function binary(expr: (a: string, b: string, dtype: DType) => string): OpEmitter {
  return (ctx) => {
    const a = ctx.raw(0);
    const b = ctx.raw(1);
    if (a.dtype !== b.dtype) ctx.fail('invalid_model', `inputs are ${a.dtype} and ${b.dtype}; ONNX requires one type`);
    const dims = broadcastShape(ctx, [a.dims, b.dims]);
    mapOp(ctx, a.dtype, dims, [a, b], ([x, y]) => expr(x!, y!, a.dtype));
  };
}

/** Elementwise ops over at least this many elements drop data-dependent branches (Relu, LeakyRelu). */
export const BRANCH_FREE_FROM = 256;

export function unaryFloat(expr: (x: string) => string): OpEmitter {
  return (ctx) => {
    const x = ctx.raw(0);
    requireDtype(ctx, x, FLOAT_ONLY, 'the input');
    mapOp(ctx, x.dtype, x.dims, [x], ([v]) => expr(v!));
  };
}

/** A view: same buffer, new dims (Reshape, Flatten, Squeeze, Unsqueeze, Identity). */
export function view(ctx: OpContext, input: Value, dims: Dim[]): void {
  const lazy = input.lazy;
  if (lazy?.kind === 'gather' && ctx.canDefer(0)) {
    // Still rows of the same table picked by the same ids when only the row part is reshaped.
    const p = lazy.indices.dims.length;
    const sameIds = dims.length >= p && lazy.indices.dims.every((d, k) => dims[k] === d);
    const oldRow = ctx.w.prod(lazy.rowDims);
    if (sameIds && typeof oldRow === 'number' && ctx.w.prod(dims.slice(p)) === oldRow) {
      ctx.define(0, { ...input, dims, lazy: { ...lazy, rowDims: dims.slice(p) } });
      return;
    }
  }
  if (lazy?.kind === 'map' && ctx.canDefer(0) && dims.length === input.dims.length && dims.every((d, k) => d === input.dims[k])) {
    ctx.define(0, { ...input });
    return;
  }
  const x = materialize(ctx, input);
  ctx.define(0, { dtype: x.dtype, dims, buf: x.buf, stage: x.stage, ...(x.data ? { data: x.data } : {}) });
}

export function withoutAxis(dims: readonly Dim[], axis: number): Dim[] {
  return dims.filter((_, k) => k !== axis);
}

const ROUND_HALF_EVEN = `// ONNX quantization rounds half to even (std::nearbyint); Math.round rounds half up.
function roundHalfEven(x) {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}`;

const QRANGE: Partial<Record<DType, [number, number]>> = { uint8: [0, 255], int8: [-128, 127] };

function emitGemmRows(
  w: ModuleWriter,
  p: { a: string; aBase: string; b: string; bBase: string; y: string; yBase: string; M: Dim; K: Dim; N: Dim; acc: string; aZero?: string; bZero?: (n: string) => string },
): string[] {
  const av = p.aZero ? `(${p.a}[ar + k] - ${p.aZero})` : `${p.a}[ar + k]`;
  const bv = p.bZero ? `(${p.b}[br + n] - ${p.bZero('n')})` : `${p.b}[br + n]`;
  void w;
  return [
    `for (let m = 0; m < ${p.M}; m++) {`,
    `  const ar = ${p.aBase} + m * ${p.K};`,
    `  ${p.acc}.fill(0, 0, ${p.N});`,
    `  for (let k = 0; k < ${p.K}; k++) {`,
    `    const av = ${av};`,
    `    const br = ${p.bBase} + k * ${p.N};`,
    `    for (let n = 0; n < ${p.N}; n++) ${p.acc}[n] += av * ${bv};`,
    `  }`,
    `  const yr = ${p.yBase} + m * ${p.N};`,
    `  for (let n = 0; n < ${p.N}; n++) ${p.y}[yr + n] = ${p.acc}[n];`,
    `}`,
  ];
}

/** MatMul and MatMulInteger: numpy matmul with batch broadcasting and 1-D promotion. */
function matmul(integer: boolean): OpEmitter {
  return (ctx) => {
    const a = ctx.need(0);
    const b = ctx.need(1);
    if (integer) {
      requireDtype(ctx, a, ['int8', 'uint8'], 'A');
      requireDtype(ctx, b, ['int8', 'uint8'], 'B');
    } else {
      if (a.dtype !== b.dtype) ctx.fail('invalid_model', `inputs are ${a.dtype} and ${b.dtype}; ONNX requires one type`);
      requireDtype(ctx, a, ['float32', 'int32', 'int64'], 'A');
    }
    if (a.dims.length === 0 || b.dims.length === 0) ctx.fail('invalid_model', 'MatMul inputs must have rank ≥ 1');
    const aDims = a.dims.length === 1 ? [1, a.dims[0]!] : a.dims;
    const bDims = b.dims.length === 1 ? [b.dims[0]!, 1] : b.dims;
    const M = aDims[aDims.length - 2]!;
    const K = aDims[aDims.length - 1]!;
    const K2 = bDims[bDims.length - 2]!;
    const N = bDims[bDims.length - 1]!;
    if (typeof K === 'number' && typeof K2 === 'number' && K !== K2) ctx.fail('unsupported_shape', `inner dimensions ${K} and ${K2} differ`);
    if (K !== K2) ctx.w.emitScoped(`if (${K} !== ${K2}) fail("bad_input", "node ${quoted(ctx.node.name)}: inner dimensions " + ${K} + " and " + ${K2} + " differ");`);
    const batchA = aDims.slice(0, -2);
    const batchB = bDims.slice(0, -2);
    const batch = broadcastShape(ctx, [batchA, batchB]);
    let outDims: Dim[] = [...batch, M, N];
    if (a.dims.length === 1) outDims = withoutAxis(outDims, outDims.length - 2);
    if (b.dims.length === 1) outDims = outDims.slice(0, -1);
    const outType: DType = integer ? 'int32' : a.dtype;
    const y = ctx.output(0, outType, outDims);
    const acc = ctx.w.scratch(N);
    let aZero: string | undefined;
    let bZero: ((n: string) => string) | undefined;
    if (integer) {
      const az = ctx.input(2);
      const bz = ctx.input(3);
      if (az) {
        const size = ctx.w.prod(az.dims);
        if (size !== 1) ctx.fail('unsupported_shape', 'a_zero_point must be a scalar (per-row zero points are not supported)');
        aZero = `${az.buf}[0]`;
      }
      if (bz) {
        const size = ctx.w.prod(bz.dims);
        if (size === 1) bZero = () => `${bz.buf}[0]`;
        else if (bz.dims.length === 1 && (size === N || typeof size === 'string')) bZero = (n) => `${bz.buf}[${n}]`;
        else ctx.fail('unsupported_shape', 'b_zero_point must be a scalar or one value per column of B');
      }
    }
    ctx.w.chargeImport(ctx.w.prod([...batch, M, K, N]));
    const MK = ctx.w.prod([M, K]);
    const KN = ctx.w.prod([K, N]);
    const MN = ctx.w.prod([M, N]);
    const batchBIsOne = batchB.every((d) => d === 1);
    const nnz = batchBIsOne && !integer && a.dtype === 'float32' && b.data && ctx.stage === 'run' && typeof K === 'number' && typeof N === 'number' ? sparseCount(b.data as ArrayLike<number>, K, N) : undefined;
    if (nnz !== undefined) {
      const rows = ctx.w.prod([...batchA, M]);
      ctx.w.emit(...sparseRows(ctx.w, { rows, K: K as number, N: N as number, nnz, b: b.buf, aAt: (m, k) => `${a.buf}[${m} * ${K} + ${k}]`, store: (m, n, sum) => `${y.buf}[${m} * ${N} + ${n}] = ${sum};` }));
      return;
    }
    if (batchBIsOne && !integer && a.dtype === 'float32' && b.stage !== 'run' && ctx.stage === 'run' && typeof K === 'number' && typeof N === 'number' && K * N >= PACK_FROM) {
      // Constant B (weights): packed at import, summed by the module's shared Gemm kernels.
      const rows = ctx.w.prod([...batchA, M]);
      ctx.w.emit(...packedGemmLines(ctx.w, { rows, K, N, b: b.buf, kMajor: true, a: a.buf, aTransposed: false, y: y.buf, alpha: 1, beta: 0 }));
      return;
    }
    if (batchBIsOne) {
      // B is one matrix: all of A's batch rows form one taller matrix.
      const rows = ctx.w.prod([...batchA, M]);
      ctx.w.emit(...emitGemmRows(ctx.w, { a: a.buf, aBase: '0', b: b.buf, bBase: '0', y: y.buf, yBase: '0', M: rows, K, N, acc, ...(aZero ? { aZero } : {}), ...(bZero ? { bZero } : {}) }));
      return;
    }
    ctx.w.loops(batch, [batchA, batchB], ([ia, ib], o) =>
      emitGemmRows(ctx.w, {
        a: a.buf, aBase: `${ia} * ${MK}`, b: b.buf, bBase: `${ib} * ${KN}`, y: y.buf, yBase: `${o} * ${MN}`, M, K, N, acc,
        ...(aZero ? { aZero } : {}), ...(bZero ? { bZero } : {}),
      }),
    );
  };
}

function meanOf(acc: string, count: Dim): string {
  // onnxruntime answers 0, not NaN, for the mean of nothing (an empty id list).
  if (count === 0) return '0';
  return typeof count === 'number' ? `${acc} / ${count}` : `(${count} === 0 ? 0 : ${acc} / ${count})`;
}

export function alignRight(dims: readonly Dim[], rank: number): Dim[] {
  return [...Array<Dim>(rank - dims.length).fill(1), ...dims];
}

/**
 * Fuses Reduce(element-wise(Gather(table, ids), ...)) over the ids axes into one pass over
 * the ids that reads each table row in place (fastText's embedding bag). Returns false,
 * emitting nothing, when the graph does not have that shape.
 */
function tryEmbeddingBag(ctx: OpContext, x: Value, reduced: Set<number>, kind: 'sum' | 'mean', outDims: Dim[]): boolean {
  const leaves: Value[] = [];
  const walk = (v: Value): void => {
    if (v.lazy?.kind === 'map') v.lazy.operands.forEach(walk);
    else leaves.push(v);
  };
  walk(x);
  const gathers = leaves.filter((l) => l.lazy?.kind === 'gather');
  const first = gathers[0]?.lazy;
  if (!first || first.kind !== 'gather') return false;
  const ids = first.indices;
  const p = ids.dims.length;
  const rank = x.dims.length;
  if (!gathers.every((g) => g.lazy?.kind === 'gather' && g.lazy.indices === ids && g.dims.length === rank)) return false;
  if (!ids.dims.every((d, k) => x.dims[k] === d)) return false;
  for (const l of leaves) if (!l.lazy && alignRight(l.dims, rank).slice(0, p).some((d) => d !== 1)) return false;
  for (const a of reduced) if (a >= p) return false;
  for (let k = 0; k < p; k++) if (!reduced.has(k) && x.dims[k] !== 1) return false;

  const w = ctx.w;
  const rowIter = x.dims.slice(p);
  const rowSize = w.prod(rowIter);
  const count = w.prod(ids.dims);
  const acc = w.scratch(rowSize);
  const leafRowDims = leaves.map((l) => (l.lazy?.kind === 'gather' ? l.lazy.rowDims : alignRight(l.dims, rank).slice(p)));
  const build = (v: Value, refs: Map<Value, string>): string => (v.lazy?.kind === 'map' ? v.lazy.expr(v.lazy.operands.map((o) => build(o, refs))) : refs.get(v)!);
  const blocked = blockedBagLines({
    w, ids: ids.buf, count, rowDims: rowIter, acc,
    gathers: gathers.map((g) => {
      const lazy = g.lazy as Extract<Lazy, { kind: 'gather' }>;
      return { table: lazy.table, rows: lazy.table.dims[0]!, rowDims: lazy.rowDims, node: lazy.node };
    }),
    leaves: leaves.map((l, k) => ({ ...(l.lazy?.kind === 'gather' ? { gather: gathers.indexOf(l) } : {}), buf: l.buf, rowDims: leafRowDims[k]! })),
    expr: (reads) => build(x, new Map(leaves.map((l, k) => [l, reads[k]!]))),
  });
  if (blocked) {
    w.emit(...blocked);
    emitBagResult(ctx, x, acc, rowSize, count, kind, outDims);
    return true;
  }
  const lines = [`${acc}.fill(0, 0, ${rowSize});`, `for (let bag = 0; bag < ${count}; bag++) {`, `  const id = ${ids.buf}[bag];`];
  const rowBase = new Map<Value, string>();
  gathers.forEach((g, m) => {
    const lazy = g.lazy as Extract<Lazy, { kind: 'gather' }>;
    const N = lazy.table.dims[0]!;
    lines.push(
      `  const j${m} = id < 0 ? id + ${N} : id;`,
      `  if (!(j${m} >= 0 && j${m} < ${N})) fail("bad_input", "node " + ${w.nodeRef(lazy.node)} + ": index " + id + " is out of range for a dimension of " + ${N});`,
      `  const r${m} = j${m} * ${w.prod(lazy.rowDims)};`,
    );
    rowBase.set(g, `r${m}`);
  });
  const inner = w.loopLines(rowIter, leafRowDims, (idx, linear) => {
    const refs = new Map<Value, string>();
    leaves.forEach((l, k) => {
      const base = rowBase.get(l);
      const i = idx[k]!;
      refs.set(l, base ? `${(l.lazy as Extract<Lazy, { kind: 'gather' }>).table.buf}[${i === '0' ? base : `${base} + ${i}`}]` : `${l.buf}[${i}]`);
    });
    return [`${acc}[${linear}] += ${build(x, refs)};`];
  });
  lines.push(...inner.map((l) => `  ${l}`), '}');
  w.emit(...lines);
  emitBagResult(ctx, x, acc, rowSize, count, kind, outDims);
  return true;
}

/** The bag's output from its row sums. */
function emitBagResult(ctx: OpContext, x: Value, acc: string, rowSize: Dim, count: Dim, kind: 'sum' | 'mean', outDims: Dim[]): void {
  const y = ctx.output(0, x.dtype, outDims);
  const value = kind === 'mean' ? meanOf(`${acc}[i]`, count) : `${acc}[i]`;
  ctx.w.emit(`for (let i = 0; i < ${rowSize}; i++) ${y.buf}[i] = ${x.dtype === 'int64' && kind === 'mean' ? `Math.trunc(${value})` : value};`);
}

export type ReduceKind = 'sum' | 'mean' | 'max' | 'min' | 'prod' | 'sumsquare' | 'l1' | 'l2' | 'logsum' | 'logsumexp';

/** Accumulator start, step and finish of each reduction (doubles throughout, as a float64 accumulator). */
const REDUCERS: Record<ReduceKind, { init: string; step: (acc: string, v: string) => string; finish?: (acc: string, count: Dim) => string }> = {
  sum: { init: '0', step: (a, v) => `${a} += ${v};` },
  mean: { init: '0', step: (a, v) => `${a} += ${v};`, finish: (a, n) => meanOf(a, n) },
  max: { init: '-Infinity', step: (a, v) => `{ const v = ${v}; if (v > ${a} || v !== v) ${a} = v; }` },
  min: { init: 'Infinity', step: (a, v) => `{ const v = ${v}; if (v < ${a} || v !== v) ${a} = v; }` },
  prod: { init: '1', step: (a, v) => `${a} *= ${v};` },
  sumsquare: { init: '0', step: (a, v) => `{ const v = ${v}; ${a} += v * v; }` },
  l1: { init: '0', step: (a, v) => `${a} += Math.abs(${v});` },
  l2: { init: '0', step: (a, v) => `{ const v = ${v}; ${a} += v * v; }`, finish: (a) => `Math.sqrt(${a})` },
  logsum: { init: '0', step: (a, v) => `${a} += ${v};`, finish: (a) => `Math.log(${a})` },
  logsumexp: { init: '0', step: (a, v) => `${a} += Math.exp(${v});`, finish: (a) => `Math.log(${a})` },
};

export function reduce(kind: ReduceKind): OpEmitter {
  return (ctx) => {
    const x = ctx.raw(0);
    requireDtype(ctx, x, ['float32', 'int32', 'int64', ...(kind === 'max' || kind === 'min' ? (['int8', 'uint8'] as const) : [])], 'the input');
    const rank = x.dims.length;
    const keepdims = attrInt(ctx, 'keepdims', 1) === 1;
    // ReduceSum took axes as an input from opset 13, the others from opset 18.
    let axes = axesOf(ctx, 1, rank);
    if (!axes || axes.length === 0) {
      if (attrInt(ctx, 'noop_with_empty_axes', 0) === 1) return view(ctx, x, x.dims);
      axes = x.dims.map((_, k) => k);
    }
    const reduced = new Set(axes);
    const kept = x.dims.map((d, k) => (reduced.has(k) ? 1 : d));
    const outDims = keepdims ? kept : x.dims.filter((_, k) => !reduced.has(k));
    if ((kind === 'sum' || kind === 'mean') && x.lazy && tryEmbeddingBag(ctx, x, reduced, kind, outDims)) return;
    const n = ctx.w.prod(kept);
    const count = ctx.w.prod(x.dims.filter((_, k) => reduced.has(k)));
    const acc = ctx.w.scratch(n);
    const r = REDUCERS[kind];
    ctx.w.emit(`${acc}.fill(${r.init}, 0, ${n});`);
    elementLoops(ctx, x.dims, [x], [kept], ([v], [io]) => [r.step(`${acc}[${io}]`, v!)]);
    const y = ctx.output(0, x.dtype, outDims);
    const value = r.finish ? r.finish(`${acc}[i]`, count) : `${acc}[i]`;
    ctx.w.emit(`for (let i = 0; i < ${n}; i++) ${y.buf}[i] = ${x.dtype === 'int64' && kind === 'mean' ? `Math.trunc(${value})` : value};`);
  };
}

function softmax(log: boolean): OpEmitter {
  return (ctx) => {
    const x = ctx.need(0);
    requireDtype(ctx, x, FLOAT_ONLY, 'the input');
    const rank = x.dims.length;
    const axis = normAxis(ctx, attrInt(ctx, 'axis', ctx.opset >= 13 ? -1 : 1), rank);
    const y = ctx.output(0, x.dtype, x.dims);
    const outer = ctx.w.prod(x.dims.slice(0, axis));
    // Before opset 13 the input was coerced to 2-D at `axis`.
    const A = ctx.opset >= 13 ? x.dims[axis]! : ctx.w.prod(x.dims.slice(axis));
    const inner = ctx.opset >= 13 ? ctx.w.prod(x.dims.slice(axis + 1)) : 1;
    const at = (j: string) => (inner === 1 ? `base + ${j}` : `base + ${j} * ${inner}`);
    ctx.w.emit(
      `for (let o = 0; o < ${outer}; o++) {`,
      `  for (let i = 0; i < ${inner}; i++) {`,
      `    const base = o * ${ctx.w.prod([A, inner])} + i;`,
      `    let max = -Infinity;`,
      `    for (let j = 0; j < ${A}; j++) { const v = ${x.buf}[${at('j')}]; if (v > max) max = v; }`,
      `    let sum = 0;`,
      `    for (let j = 0; j < ${A}; j++) sum += Math.exp(${x.buf}[${at('j')}] - max);`,
      log
        ? `    const shift = max + Math.log(sum);\n      for (let j = 0; j < ${A}; j++) ${y.buf}[${at('j')}] = ${x.buf}[${at('j')}] - shift;`
        : `    for (let j = 0; j < ${A}; j++) ${y.buf}[${at('j')}] = Math.exp(${x.buf}[${at('j')}] - max) / sum;`,
      `  }`,
      `}`,
    );
  };
}

function quantizeParams(ctx: OpContext, x: Value, scale: Value, zero: Value | undefined) {
  const rank = x.dims.length;
  if (attrInt(ctx, 'block_size', 0) !== 0) ctx.fail('unsupported_shape', 'blocked quantization (block_size) is not supported');
  const scaleSize = ctx.w.prod(scale.dims);
  const perTensor = scaleSize === 1;
  if (!perTensor && scale.dims.length !== 1) ctx.fail('unsupported_shape', 'the scale must be a scalar or 1-D (per axis)');
  const axis = perTensor ? 0 : normAxis(ctx, attrInt(ctx, 'axis', 1), rank);
  if (zero && ctx.w.prod(zero.dims) !== scaleSize) ctx.fail('invalid_model', 'zero point and scale differ in size');
  return { perTensor, axis, outer: perTensor ? 1 : ctx.w.prod(x.dims.slice(0, axis)), channels: perTensor ? 1 : x.dims[axis]!, inner: perTensor ? ctx.w.prod(x.dims) : ctx.w.prod(x.dims.slice(axis + 1)) };
}

function perChannelLoop(p: { outer: Dim; channels: Dim; inner: Dim }, setup: string[], body: string): string[] {
  return [
    `for (let o = 0; o < ${p.outer}; o++) {`,
    `  for (let c = 0; c < ${p.channels}; c++) {`,
    ...setup.map((l) => `    ${l}`),
    `    const base = (o * ${p.channels} + c) * ${p.inner};`,
    `    for (let i = base; i < base + ${p.inner}; i++) ${body}`,
    `  }`,
    `}`,
  ];
}

/** Op type → emitter for the ops of this file (registry.ts holds the full table). */
export const BASE_EMITTERS: Record<string, OpEmitter> = {
  Add: binary((a, b) => `${a} + ${b}`),
  Sub: binary((a, b) => `${a} - ${b}`),
  Mul: binary((a, b, t) => (t === 'int32' ? `Math.imul(${a}, ${b})` : `${a} * ${b}`)),
  // Integer division truncates toward zero; stores into integer arrays truncate, doubles do not.
  Div: binary((a, b, t) => (t === 'int64' ? `Math.trunc(${a} / ${b})` : `${a} / ${b}`)),
  // Over large tensors, max(t, 0) without a data-dependent branch (see LeakyRelu in
  // ops-nn.ts), exact for finite t; small ones (an MLP's hidden layer) keep Math.max.
  Relu: (ctx) => {
    const x = ctx.raw(0);
    requireDtype(ctx, x, FLOAT_ONLY, 'the input');
    const size = ctx.w.prod(x.dims);
    const branchFree = typeof size !== 'number' || size >= BRANCH_FREE_FROM;
    mapOp(ctx, x.dtype, x.dims, [x], ([v]) => (branchFree ? `((t) => (Math.abs(t) !== Infinity ? 0.5 * (t + Math.abs(t)) : Math.max(t, 0)))(${v})` : `Math.max(${v}, 0)`));
  },
  Sigmoid: unaryFloat((v) => `1 / (1 + Math.exp(-${v}))`),
  Tanh: unaryFloat((v) => `Math.tanh(${v})`),
  Softmax: softmax(false),
  LogSoftmax: softmax(true),
  MatMul: matmul(false),
  MatMulInteger: matmul(true),
  ReduceSum: reduce('sum'),
  ReduceMean: reduce('mean'),
  ReduceMax: reduce('max'),
  ReduceMin: reduce('min'),
  ReduceProd: reduce('prod'),
  ReduceSumSquare: reduce('sumsquare'),
  ReduceL1: reduce('l1'),
  ReduceL2: reduce('l2'),
  ReduceLogSum: reduce('logsum'),
  ReduceLogSumExp: reduce('logsumexp'),

  Identity: (ctx) => view(ctx, ctx.raw(0), ctx.raw(0).dims),

  Constant: (ctx) => {
    const [key, value] = [...ctx.node.attrs.entries()][0] ?? [];
    let t: ConstTensor;
    if (key === 'value' && typeof value === 'object' && !Array.isArray(value) && 'data' in value) t = value;
    else if (key === 'value_float' && typeof value === 'number') t = { dtype: 'float32', dims: [], data: Float32Array.of(value) };
    else if (key === 'value_floats' && Array.isArray(value)) t = { dtype: 'float32', dims: [value.length], data: Float32Array.from(value) };
    else if (key === 'value_int' && typeof value === 'number') t = { dtype: 'int64', dims: [], data: Float64Array.of(value) };
    else if (key === 'value_ints' && Array.isArray(value)) t = { dtype: 'int64', dims: [value.length], data: Float64Array.from(value) };
    else return ctx.fail('unsupported_op', `Constant with attribute "${key}" is not supported`);
    ctx.define(0, { dtype: t.dtype, dims: t.dims, buf: ctx.w.constant(t.data), stage: 'const', data: t.data });
  },

  Gather: (ctx) => {
    const x = ctx.need(0);
    const idx = ctx.need(1);
    requireDtype(ctx, idx, ['int32', 'int64'], 'indices');
    const axis = normAxis(ctx, attrInt(ctx, 'axis', 0), x.dims.length);
    const dims = [...x.dims.slice(0, axis), ...idx.dims, ...x.dims.slice(axis + 1)];
    if (axis === 0 && ctx.canDefer(0)) {
      // Rows picked lazily: an embedding bag (Gather → element-wise → Reduce) then reads the table directly.
      const lazy: Lazy = { kind: 'gather', table: x, indices: idx, rowDims: x.dims.slice(1), node: ctx.node.name };
      ctx.define(0, { dtype: x.dtype, dims, buf: '', stage: ctx.stage, lazy });
      return;
    }
    const y = ctx.output(0, x.dtype, dims);
    ctx.w.emit(...gatherLines(y.buf, x, idx, axis, ctx.w, ctx.node.name));
  },

  Gemm: (ctx) => {
    const a = ctx.need(0);
    const b = ctx.need(1);
    const c = ctx.input(2);
    requireDtype(ctx, a, FLOAT_ONLY, 'A');
    requireDtype(ctx, b, FLOAT_ONLY, 'B');
    if (a.dims.length !== 2 || b.dims.length !== 2) ctx.fail('invalid_model', 'Gemm inputs must be 2-D');
    const transA = attrInt(ctx, 'transA', 0) === 1;
    const transB = attrInt(ctx, 'transB', 0) === 1;
    const alpha = Math.fround(attrFloat(ctx, 'alpha', 1));
    const beta = Math.fround(attrFloat(ctx, 'beta', 1));
    const M = transA ? a.dims[1]! : a.dims[0]!;
    const K = transA ? a.dims[0]! : a.dims[1]!;
    const N = transB ? b.dims[0]! : b.dims[1]!;
    ctx.w.chargeImport(ctx.w.prod([M, K, N]));
    const y = ctx.output(0, 'float32', [M, N]);
    const aAt = transA ? `${a.buf}[k * ${M} + m]` : `${a.buf}[m * ${K} + k]`;
    const bAt = transB ? `${b.buf}[n * ${K} + k]` : `${b.buf}[k * ${N} + n]`;
    let cAt = (_m: string, _n: string) => '0';
    let cStrides: { rowStride: Dim; colStride: Dim } | undefined;
    if (c) {
      requireDtype(ctx, c, FLOAT_ONLY, 'C');
      if (c.dims.length > 2) ctx.fail('invalid_model', 'C must broadcast to [M, N]');
      const cd = [...Array<Dim>(2 - c.dims.length).fill(1), ...c.dims];
      const sm = cd[0] === 1 ? 0 : ctx.w.dim(`(${cd[0]} === 1 ? 0 : ${cd[1]})`);
      const sn = cd[1] === 1 ? 0 : ctx.w.dim(`(${cd[1]} === 1 ? 0 : 1)`);
      cAt = (m, n) => `${c.buf}[${m} * ${sm} + (${n}) * ${sn}]`;
      cStrides = { rowStride: sm, colStride: sn };
    }
    const combine = (sum: string, m: string, n: string) => {
      const scaled = alpha === 1 ? sum : `${literal(alpha)} * ${sum}`;
      return !c || beta === 0 ? scaled : beta === 1 ? `${scaled} + ${cAt(m, n)}` : `${scaled} + ${literal(beta)} * ${cAt(m, n)}`;
    };
    if (b.stage !== 'run' && ctx.stage === 'run' && typeof K === 'number' && typeof N === 'number' && K * N >= PACK_FROM) {
      // Constant B (the weights): packed at import, summed by the module's shared Gemm kernels.
      ctx.w.emit(...packedGemmLines(ctx.w, { rows: M, K, N, b: b.buf, kMajor: !transB, a: a.buf, aTransposed: transA, y: y.buf, alpha, beta, ...(c && cStrides ? { c: { buf: c.buf, ...cStrides } } : {}) }));
      return;
    }
    ctx.w.emit(
      `for (let m = 0; m < ${M}; m++) {`,
      `  for (let n = 0; n < ${N}; n++) {`,
      `    let s = 0;`,
      `    for (let k = 0; k < ${K}; k++) s += ${aAt} * ${bAt};`,
      `    ${y.buf}[m * ${N} + n] = ${combine('s', 'm', 'n')};`,
      `  }`,
      `}`,
    );
  },

  DequantizeLinear: (ctx) => {
    const x = ctx.need(0);
    const scale = ctx.need(1);
    const zero = ctx.input(2);
    requireDtype(ctx, x, ['int8', 'uint8', 'int32'], 'x');
    requireDtype(ctx, scale, FLOAT_ONLY, 'x_scale');
    const p = quantizeParams(ctx, x, scale, zero);
    const y = ctx.output(0, 'float32', x.dims);
    const n = ctx.w.prod(x.dims);
    if (ctx.stage !== 'run' && typeof n === 'number' && n >= PACK_FROM) {
      // Weights: a shared module function, as top-level code runs interpreted (build/micro/import-kernels.ts);
      // small tensors keep the inline loop (fewer module bytes, little work).
      ctx.w.emit(`${importKernel(ctx.w, 'dequantize')}(${x.buf}, ${y.buf}, ${scale.buf}, ${zero ? zero.buf : 'null'}, ${p.outer}, ${p.channels}, ${p.inner});`);
      if (typeof p.outer === 'number' && typeof p.channels === 'number' && typeof p.inner === 'number') noteDequantized(ctx.w, y.buf, { x: x.buf, scale: scale.buf, zero: zero ? zero.buf : null, outer: p.outer, channels: p.channels, inner: p.inner });
      return;
    }
    if (p.perTensor) {
      ctx.w.emit(
        `const s = ${scale.buf}[0];`,
        `const z = ${zero ? `${zero.buf}[0]` : '0'};`,
        `for (let i = 0; i < ${p.inner}; i++) ${y.buf}[i] = (${x.buf}[i] - z) * s;`,
      );
    } else {
      ctx.w.emit(...perChannelLoop(p, [`const s = ${scale.buf}[c];`, `const z = ${zero ? `${zero.buf}[c]` : '0'};`], `${y.buf}[i] = (${x.buf}[i] - z) * s;`));
    }
  },

  QuantizeLinear: (ctx) => {
    const x = ctx.need(0);
    const scale = ctx.need(1);
    const zero = ctx.input(2);
    requireDtype(ctx, x, FLOAT_ONLY, 'x');
    requireDtype(ctx, scale, FLOAT_ONLY, 'y_scale');
    const outputDtypeCode = attrInt(ctx, 'output_dtype', 0);
    const outType: DType = zero ? zero.dtype : outputDtypeCode ? dtypeFromCode(outputDtypeCode, `output_dtype of node "${ctx.node.name}"`) : 'uint8';
    const range = QRANGE[outType] ?? ctx.fail('unsupported_dtype', `quantizing to ${outType} is not supported (int8, uint8)`);
    const p = quantizeParams(ctx, x, scale, zero);
    const y = ctx.output(0, outType, x.dims);
    const round = ctx.w.helper('roundHalfEven', ROUND_HALF_EVEN);
    const body = `{ const q = ${round}(Math.fround(${x.buf}[i] / s)) + z; ${y.buf}[i] = q < ${range[0]} ? ${range[0]} : q > ${range[1]} ? ${range[1]} : q; }`;
    if (p.perTensor) {
      ctx.w.emit(`const s = ${scale.buf}[0];`, `const z = ${zero ? `${zero.buf}[0]` : '0'};`, `for (let i = 0; i < ${p.inner}; i++) ${body}`);
    } else {
      ctx.w.emit(...perChannelLoop(p, [`const s = ${scale.buf}[c];`, `const z = ${zero ? `${zero.buf}[c]` : '0'};`], body));
    }
  },

  DynamicQuantizeLinear: (ctx) => {
    const x = ctx.need(0);
    requireDtype(ctx, x, FLOAT_ONLY, 'x');
    const y = ctx.output(0, 'uint8', x.dims);
    const yScale = ctx.output(1, 'float32', []);
    const yZero = ctx.output(2, 'uint8', []);
    const n = ctx.w.prod(x.dims);
    const round = ctx.w.helper('roundHalfEven', ROUND_HALF_EVEN);
    // Follows onnxruntime's float arithmetic step by step (Math.fround after each op).
    ctx.w.emit(
      `let lo = 0, hi = 0;`,
      `for (let i = 0; i < ${n}; i++) { const v = ${x.buf}[i]; if (v < lo) lo = v; if (v > hi) hi = v; }`,
      `const s = hi === lo ? 1 : Math.fround(Math.fround(hi - lo) / 255);`,
      `const zf = Math.fround(0 - Math.fround(lo / s));`,
      `const z = Math.round(zf < 0 ? 0 : zf > 255 ? 255 : zf);`,
      `for (let i = 0; i < ${n}; i++) { const q = ${round}(Math.fround(${x.buf}[i] / s)) + z; ${y.buf}[i] = q < 0 ? 0 : q > 255 ? 255 : q; }`,
      `${yScale.buf}[0] = s;`,
      `${yZero.buf}[0] = z;`,
    );
  },

  Cast: (ctx) => {
    const x = ctx.raw(0);
    const to = dtypeFromCode(attrInt(ctx, 'to', 0), `the "to" type of node "${ctx.node.name}"`);
    // Float → integer truncates toward zero (coerce does it for int32/int8/uint8; int64 lives in doubles).
    const needsTrunc = to === 'int64' && x.dtype === 'float32';
    mapOp(ctx, to, x.dims, [x], ([v]) => (needsTrunc ? `Math.trunc(${v})` : v!));
  },

  Clip: (ctx) => {
    const x = ctx.raw(0);
    requireDtype(ctx, x, ['float32', 'int32', 'int64', 'int8', 'uint8'], 'the input');
    const bound = (i: number, attrName: string): string | undefined => {
      if (ctx.opset < 11) {
        const v = attr(ctx, attrName);
        return typeof v === 'number' ? literal(Math.fround(v)) : undefined;
      }
      if (!ctx.node.inputs[i]) return undefined;
      const b = ctx.need(i);
      if (b.data) return literal(b.data[0]!);
      return `${b.buf}[0]`;
    };
    const lo = bound(1, 'min');
    const hi = bound(2, 'max');
    // Math.max/min keep NaN as NaN, as std::clamp-style code in onnxruntime does.
    mapOp(ctx, x.dtype, x.dims, [x], ([v]) => {
      let e = v!;
      if (lo) e = `Math.max(${e}, ${lo})`;
      if (hi) e = `Math.min(${e}, ${hi})`;
      return e;
    });
  },

  Reshape: (ctx) => {
    const x = ctx.raw(0);
    const shape = constValues(ctx, 1, 'the target shape');
    const allowZero = attrInt(ctx, 'allowzero', 0) === 1;
    const dims: Dim[] = shape.map((s, i) => (s === 0 && !allowZero ? (x.dims[i] ?? ctx.fail('invalid_model', `shape copies dim ${i}, which the input lacks`)) : s));
    const unknown = dims.indexOf(-1);
    if (dims.filter((d) => d === -1).length > 1) ctx.fail('invalid_model', 'the shape has more than one -1');
    if (unknown >= 0) {
      const total = ctx.w.prod(x.dims);
      const known = ctx.w.prod(dims.filter((_, k) => k !== unknown));
      dims[unknown] = typeof total === 'number' && typeof known === 'number' ? (known === 0 ? 0 : total / known) : ctx.w.dim(`${total} / ${known}`);
    }
    view(ctx, x, dims);
  },

  Flatten: (ctx) => {
    const x = ctx.raw(0);
    const rank = x.dims.length;
    const raw = attrInt(ctx, 'axis', 1);
    const axis = raw < 0 ? raw + rank : raw;
    if (axis < 0 || axis > rank) ctx.fail('invalid_model', `axis ${raw} is out of range for rank ${rank}`);
    view(ctx, x, [ctx.w.prod(x.dims.slice(0, axis)), ctx.w.prod(x.dims.slice(axis))]);
  },

  Squeeze: (ctx) => {
    const x = ctx.raw(0);
    const axes = axesOf(ctx, 1, x.dims.length);
    let drop: Set<number>;
    if (axes) {
      drop = new Set(axes);
      for (const a of axes) {
        const d = x.dims[a]!;
        if (typeof d === 'number' && d !== 1) ctx.fail('invalid_model', `cannot squeeze axis ${a} of size ${d}`);
        if (typeof d === 'string') ctx.w.emitScoped(`if (${d} !== 1) fail("bad_input", "node ${quoted(ctx.node.name)}: cannot squeeze a dimension of " + ${d});`);
      }
    } else {
      if (x.dims.some((d) => typeof d === 'string')) ctx.fail('unsupported_shape', 'Squeeze without axes over a variable dimension; give the axes');
      drop = new Set(x.dims.flatMap((d, k) => (d === 1 ? [k] : [])));
    }
    view(ctx, x, x.dims.filter((_, k) => !drop.has(k)));
  },

  Unsqueeze: (ctx) => {
    const x = ctx.raw(0);
    const raw = (ctx.node.inputs[1] ? constValues(ctx, 1, 'axes') : attrInts(ctx, 'axes')) ?? ctx.fail('invalid_model', 'Unsqueeze needs axes');
    const rank = x.dims.length + raw.length;
    const axes = new Set(raw.map((a) => normAxis(ctx, a, rank)));
    const dims: Dim[] = [];
    let k = 0;
    for (let i = 0; i < rank; i++) dims.push(axes.has(i) ? 1 : x.dims[k++]!);
    view(ctx, x, dims);
  },

  Concat: (ctx) => {
    const parts = ctx.node.inputs.map((_, i) => ctx.need(i));
    const first = parts[0]!;
    const rank = first.dims.length;
    const axis = normAxis(ctx, attrInt(ctx, 'axis', 0), rank);
    for (const p of parts) {
      if (p.dtype !== first.dtype || p.dims.length !== rank) ctx.fail('invalid_model', 'Concat inputs differ in type or rank');
      p.dims.forEach((d, k) => {
        const f = first.dims[k]!;
        if (k !== axis && typeof d === 'number' && typeof f === 'number' && d !== f) ctx.fail('invalid_model', `Concat inputs differ in dimension ${k}`);
      });
    }
    const dims = first.dims.map((d, k) => (k === axis ? sumDims(ctx, parts.map((p) => p.dims[axis]!)) : d));
    const y = ctx.output(0, first.dtype, dims);
    const outer = ctx.w.prod(dims.slice(0, axis));
    const inner = ctx.w.prod(dims.slice(axis + 1));
    const blocks = parts.map((p) => ctx.w.prod([p.dims[axis]!, inner]));
    ctx.w.emit(`let at = 0;`, `for (let o = 0; o < ${outer}; o++) {`);
    parts.forEach((p, j) => {
      ctx.w.emit(`  for (let i = o * ${blocks[j]}, end = i + ${blocks[j]}; i < end; i++) ${y.buf}[at++] = ${p.buf}[i];`);
    });
    ctx.w.emit(`}`);
  },

  ArgMax: (ctx) => {
    const x = ctx.need(0);
    requireDtype(ctx, x, ['float32', 'int32', 'int64', 'int8', 'uint8'], 'the input');
    const axis = normAxis(ctx, attrInt(ctx, 'axis', 0), x.dims.length);
    const keepdims = attrInt(ctx, 'keepdims', 1) === 1;
    const last = attrInt(ctx, 'select_last_index', 0) === 1;
    const dims = keepdims ? x.dims.map((d, k) => (k === axis ? 1 : d)) : withoutAxis(x.dims, axis);
    const y = ctx.output(0, 'int64', dims);
    const outer = ctx.w.prod(x.dims.slice(0, axis));
    const A = x.dims[axis]!;
    const inner = ctx.w.prod(x.dims.slice(axis + 1));
    ctx.w.emit(
      `for (let o = 0; o < ${outer}; o++) {`,
      `  for (let i = 0; i < ${inner}; i++) {`,
      `    const base = o * ${ctx.w.prod([A, inner])} + i;`,
      `    let best = ${x.buf}[base], at = 0;`,
      `    for (let j = 1; j < ${A}; j++) { const v = ${x.buf}[base + j * ${inner}]; if (v ${last ? '>=' : '>'} best) { best = v; at = j; } }`,
      `    ${y.buf}[o * ${inner} + i] = at;`,
      `  }`,
      `}`,
    );
  },
};

export { MicroCompileError, ORT_FALLBACK_HINT };
