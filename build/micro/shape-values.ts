// Shape arithmetic at compile time. Exporters compute shapes with small integer graphs
// (Shape → Gather → Unsqueeze → Concat → Reshape, Equal on a dimension feeding an If). Their
// values are tracked element by element as Dims: a number when known now, else the name of a
// JS constant computed from the input dimensions at run time. Consumers that need shapes
// (Reshape, Expand, ConstantOfShape, Pad, Slice, Tile, If conditions) then see constants where
// the graph's dims are static and symbolic dims where they vary, so such graphs compile
// without the op kernels knowing anything about shape graphs.
import type { ConstData, DType } from './model-ir.ts';
import type { Dim, Value } from './module-writer.ts';
import { attr, attrInt, attrInts, broadcastShape, mapOp, materialize, normAxis, view, type OpContext } from './ops.ts';

/** Tensors larger than this are left to the op kernels (shape tensors are tiny). */
const MAX_KNOWN = 1024;
const INTEGER: readonly DType[] = ['int64', 'int32', 'bool'];

/** The element values of `v` as Dims when they are known now or symbolically (small integer tensors). */
export function knownValues(v: Value | undefined): Dim[] | undefined {
  if (!v || v.lazy) return undefined;
  if (v.known) return v.known;
  if (v.data && INTEGER.includes(v.dtype) && v.data.length <= MAX_KNOWN) return Array.from(v.data as ArrayLike<number>);
  return undefined;
}

function staticDims(v: Value): number[] | undefined {
  return v.dims.every((d) => typeof d === 'number') ? (v.dims as number[]) : undefined;
}

function prodOf(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function stridesOf(dims: readonly number[]): number[] {
  return dims.map((_, k) => prodOf(dims.slice(k + 1)));
}

function typedArray(dtype: DType, values: readonly number[]): ConstData {
  switch (dtype) {
    case 'int32': return Int32Array.from(values);
    case 'bool': case 'uint8': return Uint8Array.from(values);
    case 'int8': return Int8Array.from(values);
    case 'float32': return Float32Array.from(values);
    case 'int64': return Float64Array.from(values);
  }
}

/** Defines output i from element Dims: a constant when all are numbers, else a run-time buffer that also remembers them. */
function defineKnown(ctx: OpContext, i: number, dtype: DType, dims: number[], values: Dim[]): void {
  if (values.length !== prodOf(dims)) ctx.fail('invalid_model', `a shape computation produced ${values.length} values for dims [${dims.join(', ')}]`);
  if (values.every((v) => typeof v === 'number')) {
    const data = typedArray(dtype, values as number[]);
    ctx.define(i, { dtype, dims, buf: ctx.w.constant(data), stage: 'const', data });
    return;
  }
  const y = ctx.output(i, dtype, dims);
  y.known = values;
  ctx.w.emit(...values.map((v, k) => `${y.buf}[${k}] = ${v};`));
}

/** A Dim for a JS expression over Dims (folded when every operand is a number). */
function combine(ctx: OpContext, operands: Dim[], numeric: (...xs: number[]) => number, expr: (...xs: string[]) => string): Dim {
  if (operands.every((o) => typeof o === 'number')) return numeric(...(operands as number[]));
  return ctx.w.dim(expr(...operands.map(String)));
}

type Elementwise = { numeric: (...xs: number[]) => number; expr: (...xs: string[]) => string; bool?: boolean };

const b = (x: boolean): number => (x ? 1 : 0);
const ELEMENTWISE: Record<string, Elementwise> = {
  Add: { numeric: (x, y) => x + y, expr: (x, y) => `${x} + ${y}` },
  Sub: { numeric: (x, y) => x - y, expr: (x, y) => `${x} - ${y}` },
  Mul: { numeric: (x, y) => x * y, expr: (x, y) => `${x} * ${y}` },
  Div: { numeric: (x, y) => Math.trunc(x / y), expr: (x, y) => `Math.trunc(${x} / ${y})` },
  Mod: { numeric: (x, y) => ((x % y) + y) % y, expr: (x, y) => `((${x} % ${y}) + ${y}) % ${y}` },
  Max: { numeric: (x, y) => Math.max(x, y), expr: (x, y) => `Math.max(${x}, ${y})` },
  Min: { numeric: (x, y) => Math.min(x, y), expr: (x, y) => `Math.min(${x}, ${y})` },
  Neg: { numeric: (x) => -x, expr: (x) => `-${x}` },
  Abs: { numeric: (x) => Math.abs(x), expr: (x) => `Math.abs(${x})` },
  Equal: { numeric: (x, y) => b(x === y), expr: (x, y) => `(${x} === ${y} ? 1 : 0)`, bool: true },
  Less: { numeric: (x, y) => b(x < y), expr: (x, y) => `(${x} < ${y} ? 1 : 0)`, bool: true },
  Greater: { numeric: (x, y) => b(x > y), expr: (x, y) => `(${x} > ${y} ? 1 : 0)`, bool: true },
  LessOrEqual: { numeric: (x, y) => b(x <= y), expr: (x, y) => `(${x} <= ${y} ? 1 : 0)`, bool: true },
  GreaterOrEqual: { numeric: (x, y) => b(x >= y), expr: (x, y) => `(${x} >= ${y} ? 1 : 0)`, bool: true },
  And: { numeric: (x, y) => x & y, expr: (x, y) => `(${x} & ${y})`, bool: true },
  Or: { numeric: (x, y) => x | y, expr: (x, y) => `(${x} | ${y})`, bool: true },
  Xor: { numeric: (x, y) => x ^ y, expr: (x, y) => `(${x} ^ ${y})`, bool: true },
  Not: { numeric: (x) => 1 - x, expr: (x) => `(1 - ${x})`, bool: true },
  Where: { numeric: (c, x, y) => (c ? x : y), expr: (c, x, y) => `(${c} ? ${x} : ${y})` },
};

/** Row-major element indices of `from` (dims aligned right) that broadcast to `to`. */
function broadcastIndex(from: readonly number[], to: readonly number[], linear: number): number {
  const aligned = [...Array<number>(to.length - from.length).fill(1), ...from];
  const s = stridesOf(aligned);
  let rest = linear;
  let index = 0;
  for (let k = to.length - 1; k >= 0; k--) {
    const c = rest % to[k]!;
    rest = Math.floor(rest / to[k]!);
    if (aligned[k] !== 1) index += c * s[k]!;
  }
  return index;
}

function broadcastStatic(ctx: OpContext, shapes: number[][]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let k = 0; k < rank; k++) {
    const ds = shapes.map((s) => s[k - (rank - s.length)] ?? 1);
    const big = ds.filter((d) => d !== 1);
    if (new Set(big).size > 1) ctx.fail('invalid_model', `shapes [${shapes.map((s) => s.join(',')).join('] and [')}] do not broadcast`);
    out.push(big[0] ?? 1);
  }
  return out;
}

/** Numeric values of input i known now (a shape computation's parameters); undefined when not. */
function numbers(ctx: OpContext, i: number): number[] | undefined {
  if (!ctx.node.inputs[i]) return undefined;
  const k = knownValues(ctx.raw(i));
  return k && k.every((d) => typeof d === 'number') ? (k as number[]) : undefined;
}

/** Target dims of a Reshape: 0 copies the input dim (unless allowzero), one -1 takes the rest. */
function reshapeDims(ctx: OpContext, x: Value, shape: Dim[]): Dim[] {
  const allowZero = attrInt(ctx, 'allowzero', 0) === 1;
  const dims: Dim[] = shape.map((s, i) => {
    if (s === 0 && !allowZero) return x.dims[i] ?? ctx.fail('invalid_model', `shape copies dim ${i}, which the input lacks`);
    // A dimension computed at run time cannot be -1 (it comes from a Shape); 0 still copies.
    if (typeof s === 'string' && !allowZero && x.dims[i] !== undefined && x.dims[i] !== s) return ctx.w.dim(`(${s} === 0 ? ${x.dims[i]} : ${s})`);
    return s;
  });
  if (dims.filter((d) => d === -1).length > 1) ctx.fail('invalid_model', 'the shape has more than one -1');
  const unknown = dims.indexOf(-1);
  const total = ctx.w.prod(x.dims);
  if (unknown >= 0) {
    const known = ctx.w.prod(dims.filter((_, k) => k !== unknown));
    dims[unknown] = typeof total === 'number' && typeof known === 'number' ? (known === 0 ? 0 : total / known) : ctx.w.dim(`(${known} === 0 ? 0 : ${total} / ${known})`);
  }
  for (const d of dims) if (typeof d === 'number' && (!Number.isInteger(d) || d < 0)) ctx.fail('invalid_model', `cannot reshape [${x.dims.join(', ')}] to [${shape.join(', ')}]`);
  const size = ctx.w.prod(dims);
  if (typeof size === 'number' && typeof total === 'number') {
    if (size !== total) ctx.fail('invalid_model', `cannot reshape [${x.dims.join(', ')}] (${total} elements) to [${dims.join(', ')}]`);
  } else if (size !== total) {
    ctx.w.emitScoped(`if (${size} !== ${total}) fail("bad_input", "node " + ${ctx.w.nodeRef(ctx.node.name)} + ": cannot reshape " + ${total} + " elements to " + ${size});`);
  }
  return dims;
}

/**
 * Compiles the node when it is shape arithmetic over known or symbolic values (or consumes
 * such values, as Reshape, Expand and ConstantOfShape do); returns false, emitting nothing,
 * to leave it to the op's kernel.
 */
export function tryShapeValues(ctx: OpContext): boolean {
  const op = ctx.node.domain === '' || ctx.node.domain === 'ai.onnx' ? ctx.node.opType : '';
  const x = ctx.node.inputs[0] ? ctx.raw(0) : undefined;
  if (!x) return false;
  const anySymbolic = Array.from({ length: ctx.count() }, (_, i) => (ctx.node.inputs[i] ? ctx.raw(i).known : undefined)).some(Boolean);

  switch (op) {
    case 'Shape': {
      if (x.dims.every((d) => typeof d === 'number')) return false;
      const rank = x.dims.length;
      const clampAxis = (a: number) => Math.min(Math.max(a < 0 ? a + rank : a, 0), rank);
      const start = clampAxis(attrInt(ctx, 'start', 0));
      const end = clampAxis(attrInt(ctx, 'end', rank));
      const dims = x.dims.slice(start, Math.max(start, end));
      defineKnown(ctx, 0, 'int64', [dims.length], dims);
      return true;
    }
    case 'Size': {
      const n = ctx.w.prod(x.dims);
      if (typeof n === 'number') return false;
      defineKnown(ctx, 0, 'int64', [], [n]);
      return true;
    }
    case 'Reshape': {
      if (knownValues(x) || !ctx.node.inputs[1]) break;
      const shape = ctx.raw(1).known;
      if (!shape) return false;
      view(ctx, x, reshapeDims(ctx, x, shape));
      return true;
    }
    case 'Expand': {
      if (knownValues(x) || !ctx.node.inputs[1]) break;
      const shape = ctx.raw(1).known;
      if (!shape) return false;
      const dims = broadcastShape(ctx, [x.dims, shape]);
      mapOp(ctx, x.dtype, dims, [x], ([v]) => v!);
      return true;
    }
    case 'Slice':
      if (knownValues(x)) break;
      return dynamicSlice(ctx, x);
    case 'ConstantOfShape': {
      const shape = x.known;
      if (!shape) return false;
      const value = attr(ctx, 'value');
      const t = typeof value === 'object' && value !== null && !Array.isArray(value) && 'data' in value ? value : undefined;
      const dtype: DType = t?.dtype ?? 'float32';
      const fill = t ? Number(t.data[0] ?? 0) : 0;
      const y = ctx.output(0, dtype, shape);
      ctx.w.emit(`${y.buf}.fill(${fill}, 0, ${ctx.w.prod(shape)});`);
      return true;
    }
  }

  // Everything else only when every data input is a small integer tensor known now or symbolically.
  const inputs = Array.from({ length: ctx.count() }, (_, i) => (ctx.node.inputs[i] ? ctx.raw(i) : undefined));
  const first = knownValues(x);
  const xDims = staticDims(x);
  if (!first || !xDims) return false;
  // Constants alone are folded here too (kernels would compute them at import, unknown to later shape consumers).
  if (!anySymbolic && !inputs.every((v) => !v || knownValues(v))) return false;

  const elementwise = ELEMENTWISE[op];
  if (elementwise) {
    const operands = inputs.map((v) => (v ? { values: knownValues(v), dims: staticDims(v) } : undefined));
    if (operands.some((o) => !o || !o.values || !o.dims)) return false;
    const shapes = operands.map((o) => o!.dims!);
    const out = broadcastStatic(ctx, shapes);
    const n = prodOf(out);
    const values: Dim[] = [];
    for (let i = 0; i < n; i++) {
      const args = operands.map((o) => o!.values![broadcastIndex(o!.dims!, out, i)]!);
      values.push(combine(ctx, args, elementwise.numeric, elementwise.expr));
    }
    const dtype: DType = elementwise.bool ? 'bool' : op === 'Where' ? inputs[1]!.dtype : x.dtype;
    defineKnown(ctx, 0, dtype, out, values);
    return true;
  }

  switch (op) {
    case 'Identity':
      defineKnown(ctx, 0, x.dtype, xDims, first);
      return true;
    case 'Cast': {
      const to = attrInt(ctx, 'to', 0);
      const dtype: DType | undefined = to === 7 ? 'int64' : to === 6 ? 'int32' : to === 9 ? 'bool' : undefined;
      if (!dtype) return false;
      defineKnown(ctx, 0, dtype, xDims, dtype === 'bool' ? first.map((v) => combine(ctx, [v], (a) => b(a !== 0), (a) => `(${a} !== 0 ? 1 : 0)`)) : first);
      return true;
    }
    case 'Reshape': {
      const shape = numbers(ctx, 1);
      if (!shape) return false;
      const dims = reshapeDims(ctx, x, shape) as number[];
      defineKnown(ctx, 0, x.dtype, dims, first);
      return true;
    }
    case 'Flatten': {
      const rank = xDims.length;
      const a0 = attrInt(ctx, 'axis', 1);
      const axis = a0 < 0 ? a0 + rank : a0;
      defineKnown(ctx, 0, x.dtype, [prodOf(xDims.slice(0, axis)), prodOf(xDims.slice(axis))], first);
      return true;
    }
    case 'Squeeze':
    case 'Unsqueeze': {
      const axes = ctx.node.inputs[1] ? numbers(ctx, 1) : attrInts(ctx, 'axes');
      if (ctx.node.inputs[1] && !axes) return false;
      let dims: number[];
      if (op === 'Squeeze') {
        const drop = new Set((axes ?? xDims.flatMap((d, k) => (d === 1 ? [k] : []))).map((a) => normAxis(ctx, a, xDims.length)));
        for (const a of drop) if (xDims[a] !== 1) ctx.fail('invalid_model', `cannot squeeze axis ${a} of size ${xDims[a]}`);
        dims = xDims.filter((_, k) => !drop.has(k));
      } else {
        if (!axes) ctx.fail('invalid_model', 'Unsqueeze needs axes');
        const rank = xDims.length + axes.length;
        const add = new Set(axes.map((a) => normAxis(ctx, a, rank)));
        dims = [];
        let k = 0;
        for (let i = 0; i < rank; i++) dims.push(add.has(i) ? 1 : xDims[k++]!);
      }
      defineKnown(ctx, 0, x.dtype, dims, first);
      return true;
    }
    case 'Concat': {
      const parts = inputs.map((v) => (v ? { values: knownValues(v), dims: staticDims(v) } : undefined));
      if (parts.some((p) => !p || !p.values || !p.dims || p.dims.length !== xDims.length)) return false;
      const axis = normAxis(ctx, attrInt(ctx, 'axis', 0), xDims.length);
      const outer = prodOf(xDims.slice(0, axis));
      const values: Dim[] = [];
      for (let o = 0; o < outer; o++) {
        for (const p of parts) {
          const block = prodOf(p!.dims!.slice(axis));
          values.push(...p!.values!.slice(o * block, (o + 1) * block));
        }
      }
      const dims = xDims.map((d, k) => (k === axis ? parts.reduce((s, p) => s + p!.dims![axis]!, 0) : d));
      defineKnown(ctx, 0, x.dtype, dims, values);
      return true;
    }
    case 'Gather': {
      const indices = numbers(ctx, 1);
      const idxDims = ctx.node.inputs[1] ? staticDims(ctx.raw(1)) : undefined;
      if (!indices || !idxDims) return false;
      const axis = normAxis(ctx, attrInt(ctx, 'axis', 0), xDims.length);
      const N = xDims[axis]!;
      const outer = prodOf(xDims.slice(0, axis));
      const inner = prodOf(xDims.slice(axis + 1));
      const values: Dim[] = [];
      for (let o = 0; o < outer; o++) {
        for (const j0 of indices) {
          const j = j0 < 0 ? j0 + N : j0;
          if (!(j >= 0 && j < N)) ctx.fail('invalid_model', `index ${j0} is out of range for a dimension of ${N}`);
          values.push(...first.slice((o * N + j) * inner, (o * N + j + 1) * inner));
        }
      }
      defineKnown(ctx, 0, x.dtype, [...xDims.slice(0, axis), ...idxDims, ...xDims.slice(axis + 1)], values);
      return true;
    }
    case 'Slice': {
      const opsetInputs = ctx.opset >= 10;
      const starts = opsetInputs ? numbers(ctx, 1) : attrInts(ctx, 'starts');
      const ends = opsetInputs ? numbers(ctx, 2) : attrInts(ctx, 'ends');
      if (!starts || !ends) return false;
      const axes = (opsetInputs ? (ctx.node.inputs[3] ? numbers(ctx, 3) : undefined) : attrInts(ctx, 'axes')) ?? starts.map((_, k) => k);
      const steps = (opsetInputs && ctx.node.inputs[4] ? numbers(ctx, 4) : undefined) ?? starts.map(() => 1);
      if (axes.length !== starts.length || ends.length !== starts.length || steps.length !== starts.length) return false;
      // Per axis: the input coordinates kept.
      const picks = xDims.map((d) => Array.from({ length: d }, (_, i) => i));
      axes.forEach((a0, k) => {
        const a = normAxis(ctx, a0, xDims.length);
        const d = xDims[a]!;
        const s = steps[k]!;
        if (s === 0) ctx.fail('invalid_model', 'a step of 0');
        const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
        let from = starts[k]! < 0 ? starts[k]! + d : starts[k]!;
        let to = ends[k]! < 0 ? ends[k]! + d : ends[k]!;
        from = s > 0 ? clamp(from, 0, d) : clamp(from, 0, d - 1);
        to = s > 0 ? clamp(to, 0, d) : clamp(to, -1, d - 1);
        const kept: number[] = [];
        for (let i = from; s > 0 ? i < to : i > to; i += s) kept.push(i);
        picks[a] = kept;
      });
      const dims = picks.map((p) => p.length);
      const s = stridesOf(xDims);
      const values: Dim[] = [];
      const walk = (k: number, base: number): void => {
        if (k === xDims.length) {
          values.push(first[base]!);
          return;
        }
        for (const i of picks[k]!) walk(k + 1, base + i * s[k]!);
      };
      walk(0, 0);
      defineKnown(ctx, 0, x.dtype, dims, values);
      return true;
    }
    case 'Transpose': {
      const rank = xDims.length;
      const perm = attrInts(ctx, 'perm') ?? xDims.map((_, k) => rank - 1 - k);
      const dims = perm.map((p) => xDims[p]!);
      const s = stridesOf(xDims);
      const values: Dim[] = [];
      const walk = (k: number, base: number): void => {
        if (k === rank) {
          values.push(first[base]!);
          return;
        }
        for (let i = 0; i < dims[k]!; i++) walk(k + 1, base + i * s[perm[k]!]!);
      };
      walk(0, 0);
      defineKnown(ctx, 0, x.dtype, dims, values);
      return true;
    }
  }
  return false;
}

/** Slice parameters as Dims: from the opset-10+ inputs (known now or symbolically) or the older attributes. */
function sliceParams(ctx: OpContext): { starts: Dim[]; ends: Dim[]; axes: number[]; steps: number[] } | undefined {
  const fromInput = (i: number): Dim[] | undefined => (ctx.node.inputs[i] ? knownValues(ctx.raw(i)) : undefined);
  const starts = ctx.opset >= 10 ? fromInput(1) : attrInts(ctx, 'starts');
  const ends = ctx.opset >= 10 ? fromInput(2) : attrInts(ctx, 'ends');
  if (!starts || !ends) return undefined;
  const axesIn = ctx.opset >= 10 ? (ctx.node.inputs[3] ? numbers(ctx, 3) : starts.map((_, k) => k)) : (attrInts(ctx, 'axes') ?? starts.map((_, k) => k));
  const steps = ctx.opset >= 10 && ctx.node.inputs[4] ? numbers(ctx, 4) : starts.map(() => 1);
  if (!axesIn || !steps) return undefined;
  if (ends.length !== starts.length || axesIn.length !== starts.length || steps.length !== starts.length) ctx.fail('invalid_model', 'starts, ends, axes and steps differ in length');
  return { starts, ends, axes: axesIn, steps };
}

/**
 * Slice where a sliced dimension or a bound is known only at run time (e.g. the last frames
 * of a variable-length spectrogram, reversed to pad by reflection): bounds are clamped by
 * ONNX rules in generated code. Returns false when everything is static (the kernel's case).
 */
function dynamicSlice(ctx: OpContext, x: Value): boolean {
  const p = sliceParams(ctx);
  if (!p) return false;
  const rank = x.dims.length;
  const axes = p.axes.map((a) => normAxis(ctx, a, rank));
  const symbolic = axes.some((a, k) => typeof x.dims[a] === 'string' || typeof p.starts[k] === 'string' || typeof p.ends[k] === 'string');
  if (!symbolic) return false;
  const w = ctx.w;
  const start: Dim[] = x.dims.map(() => 0);
  const step: number[] = x.dims.map(() => 1);
  const out: Dim[] = [...x.dims];
  axes.forEach((a, k) => {
    const D = x.dims[a]!;
    const st = p.steps[k]!;
    if (st === 0) ctx.fail('invalid_model', 'a step of 0');
    const bound = (v: Dim, lo: Dim, hi: Dim): Dim =>
      combine(ctx, [v, D, lo, hi], (x0, d, l, h) => Math.min(Math.max(x0 < 0 ? x0 + d : x0, l), h), (x0, d, l, h) => `Math.min(Math.max(${x0} < 0 ? ${x0} + ${d} : ${x0}, ${l}), ${h})`);
    const hiStart = st > 0 ? D : combine(ctx, [D], (d) => d - 1, (d) => `${d} - 1`);
    const b = bound(p.starts[k]!, 0, hiStart);
    const e = st > 0 ? bound(p.ends[k]!, 0, D) : bound(p.ends[k]!, -1, hiStart);
    start[a] = b;
    step[a] = st;
    out[a] = combine(ctx, [e, b], (e0, b0) => Math.max(0, Math.ceil((e0 - b0) / st)), (e0, b0) => `Math.max(0, Math.ceil((${e0} - ${b0}) / ${st}))`);
  });
  const y = ctx.output(0, x.dtype, out);
  const src = materialize(ctx, x);
  const strides = x.dims.map((_, k) => w.prod(x.dims.slice(k + 1)));
  const lines: string[] = ['let q = 0;'];
  let indent = '';
  for (let k = 0; k < rank; k++) {
    lines.push(`${indent}for (let i${k} = 0; i${k} < ${out[k]}; i${k}++) {`);
    indent += '  ';
    const j = start[k] === 0 && step[k] === 1 ? `i${k}` : `(${start[k]} + i${k} * ${step[k]})`;
    lines.push(`${indent}const b${k} = ${k === 0 ? '' : `b${k - 1} + `}${j} * ${strides[k]};`);
  }
  lines.push(`${indent}${y.buf}[q++] = ${src.buf}[${rank === 0 ? '0' : `b${rank - 1}`}];`);
  for (let k = rank - 1; k >= 0; k--) {
    indent = indent.slice(2);
    lines.push(`${indent}}`);
  }
  w.emit(...lines);
  return true;
}
