// Graph rewrites before code generation: activation chains fused into the Conv they follow.
// (Constant-node weights and Conv → BatchNormalization are folded before the IR is read, on
// the ONNX model, by the pre-pass the quantizer shares: build/onnx/graph-prepass.ts.)
import type { ConstTensor, IrGraph, IrNode } from './model-ir.ts';

function readers(nodes: readonly IrNode[]): Map<string, number> {
  const count = new Map<string, number>();
  const add = (name: string) => count.set(name, (count.get(name) ?? 0) + 1);
  const walk = (list: readonly IrNode[]) => {
    for (const n of list) {
      for (const name of n.inputs) if (name) add(name);
      for (const name of n.implicitInputs ?? []) add(name);
      for (const sub of n.subgraphs?.values() ?? []) {
        walk(sub.nodes);
        sub.outputs.forEach(add);
      }
    }
  };
  walk(nodes);
  return count;
}

function floatConst(graph: IrGraph, name: string | undefined): ConstTensor | undefined {
  if (!name) return undefined;
  const t = graph.initializers.get(name);
  return t && t.dtype === 'float32' ? t : undefined;
}

/** Activation codes of a conv's fused chain (node attribute FUSED_ACTIVATIONS: code, parameter, ...). */
export const FUSED_ACTIVATIONS = '$activations';
export const ACT_RELU = 1;
export const ACT_LEAKY_RELU = 2;
export const ACT_MAX = 3;
export const ACT_MIN = 4;
/**
 * HardSwish as paddle2onnx writes it, x * Clip(x + a, lo, hi) / d: four parameters follow
 * the code (a, lo, hi, d) instead of one.
 */
export const ACT_SHIFTED_CLIP_PRODUCT = 5;

/** Number of parameters after an activation code in FUSED_ACTIVATIONS. */
export function activationParams(code: number): number {
  return code === ACT_SHIFTED_CLIP_PRODUCT ? 4 : 1;
}

/** The one element of a float constant (initializer) named `name`, or undefined. */
function scalarConst(graph: IrGraph, name: string | undefined): number | undefined {
  const c = floatConst(graph, name);
  return c && c.data.length === 1 && c.dims.length <= 4 ? c.data[0]! : undefined;
}

/**
 * Add(x, a) → Clip(lo, hi) → Mul(x, ·) → Div(·, d) at `out` (the decomposed HardSwish: `out`
 * read by the Add and the Mul only, each intermediate read once and none a graph output):
 * the step and the nodes it replaces, or undefined.
 */
function shiftedClipProduct(graph: IrGraph, out: string, readersOf: Map<string, IrNode[]>, reads: Map<string, number>, outputs: Set<string>, opset: number): { step: number[]; nodes: IrNode[]; out: string } | undefined {
  const users = readersOf.get(out) ?? [];
  if (users.length !== 2 || reads.get(out) !== 2) return undefined;
  const add = users.find((n) => n.opType === 'Add');
  const mul = users.find((n) => n.opType === 'Mul');
  if (!add || !mul || add === mul || add.inputs.length !== 2 || mul.inputs.length !== 2) return undefined;
  const a = scalarConst(graph, add.inputs[0] === out ? add.inputs[1] : add.inputs[0]);
  const once = (name: string) => reads.get(name) === 1 && !outputs.has(name);
  if (a === undefined || !once(add.outputs[0]!)) return undefined;
  const clip = readersOf.get(add.outputs[0]!)?.[0];
  if (!clip || clip.opType !== 'Clip' || !once(clip.outputs[0]!)) return undefined;
  let lo: number | undefined;
  let hi: number | undefined;
  if (opset < 11) {
    const min = clip.attrs.get('min');
    const max = clip.attrs.get('max');
    lo = typeof min === 'number' ? min : undefined;
    hi = typeof max === 'number' ? max : undefined;
  } else {
    lo = scalarConst(graph, clip.inputs[1]);
    hi = scalarConst(graph, clip.inputs[2]);
  }
  if (lo === undefined || hi === undefined) return undefined;
  const other = mul.inputs[0] === out ? mul.inputs[1] : mul.inputs[0];
  if (other !== clip.outputs[0] || !once(mul.outputs[0]!)) return undefined;
  const div = readersOf.get(mul.outputs[0]!)?.[0];
  if (!div || div.opType !== 'Div' || div.inputs[0] !== mul.outputs[0] || div.outputs.length !== 1) return undefined;
  const d = scalarConst(graph, div.inputs[1]);
  if (d === undefined) return undefined;
  const nodes = [add, clip, mul, div];
  if (nodes.some((n) => n.domain !== '' || n.subgraphs || n.outputs.length !== 1)) return undefined;
  return { step: [ACT_SHIFTED_CLIP_PRODUCT, a, lo, hi, d], nodes, out: div.outputs[0]! };
}

/**
 * Conv followed by a chain of Relu, LeakyRelu, or Max/Min with a one-element float constant,
 * each the only reader of the one before and none a graph output: the chain moves into the
 * conv (FUSED_ACTIVATIONS), which applies it as it stores each output, rounding to float32
 * after every step as the separate ops do. Saves a pass over the conv output per step.
 */
export function foldActivations(graph: IrGraph): IrNode[] {
  const reads = readers(graph.nodes);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const consumer = new Map<string, IrNode>();
  const readersOf = new Map<string, IrNode[]>();
  for (const n of graph.nodes) {
    for (const i of n.inputs) {
      if (!i) continue;
      consumer.set(i, n);
      const list = readersOf.get(i) ?? [];
      if (!list.includes(n)) list.push(n);
      readersOf.set(i, list);
    }
  }
  const dropped = new Set<IrNode>();
  const replaced = new Map<IrNode, IrNode>();
  for (const conv of graph.nodes) {
    if (conv.opType !== 'Conv' || conv.domain !== '' || conv.outputs.length !== 1 || conv.attrs.has(FUSED_ACTIVATIONS)) continue;
    const rank = floatConst(graph, conv.inputs[1])?.dims.length;
    if (rank === undefined) continue;
    const acts: number[] = [];
    let out = conv.outputs[0]!;
    for (;;) {
      if (outputs.has(out)) break;
      const hardSwish = shiftedClipProduct(graph, out, readersOf, reads, outputs, graph.opset);
      if (hardSwish) {
        acts.push(...hardSwish.step);
        for (const n of hardSwish.nodes) dropped.add(n);
        out = hardSwish.out;
        continue;
      }
      if (reads.get(out) !== 1) break;
      const next = consumer.get(out);
      if (!next || next.domain !== '' || next.outputs.length !== 1 || next.subgraphs) break;
      let step: number[] | undefined;
      if (next.opType === 'Relu' && next.inputs.length === 1) step = [ACT_RELU, 0];
      else if (next.opType === 'LeakyRelu' && next.inputs.length === 1) {
        const alpha = next.attrs.get('alpha');
        step = [ACT_LEAKY_RELU, typeof alpha === 'number' ? alpha : 0.01];
      } else if ((next.opType === 'Max' || next.opType === 'Min') && next.inputs.length === 2) {
        const other = next.inputs[0] === out ? next.inputs[1] : next.inputs[1] === out ? next.inputs[0] : undefined;
        const c = floatConst(graph, other);
        if (c && c.data.length === 1 && c.dims.length <= rank) step = [next.opType === 'Max' ? ACT_MAX : ACT_MIN, c.data[0]!];
      }
      if (!step) break;
      acts.push(...step);
      dropped.add(next);
      out = next.outputs[0]!;
    }
    if (acts.length === 0) continue;
    const attrs = new Map(conv.attrs);
    attrs.set(FUSED_ACTIVATIONS, acts);
    replaced.set(conv, { ...conv, attrs, outputs: [out] });
  }
  return graph.nodes.filter((n) => !dropped.has(n)).map((n) => replaced.get(n) ?? n);
}

/**
 * Int8 weights dequantized as Cast(to float) → Mul by a constant broadcast along one axis (or
 * a scalar), npm run quantize's opset-9 form, become DequantizeLinear nodes (that axis, no zero
 * point): the import-time kernel (build/micro/import-kernels.ts) then computes them in an
 * optimised shared function instead of a top-level loop per tensor. Same value: an 8-bit
 * integer converts to float32 exactly, so both are float32(x · s).
 */
export function castMulAsDequantize(graph: IrGraph): IrNode[] {
  const reads = readers(graph.nodes);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const castOf = new Map<string, IrNode>();
  for (const n of graph.nodes) {
    const x = n.opType === 'Cast' && n.domain === '' ? graph.initializers.get(n.inputs[0] ?? '') : undefined;
    if (x && (x.dtype === 'int8' || x.dtype === 'uint8') && n.attrs.get('to') === 1 && reads.get(n.outputs[0]!) === 1 && !outputs.has(n.outputs[0]!)) castOf.set(n.outputs[0]!, n);
  }
  if (castOf.size === 0) return graph.nodes;
  const drop = new Set<IrNode>();
  const out = graph.nodes.map((n) => {
    if (n.opType !== 'Mul' || n.domain !== '' || n.inputs.length !== 2) return n;
    const k = castOf.has(n.inputs[0]!) ? 0 : castOf.has(n.inputs[1]!) ? 1 : -1;
    if (k < 0) return n;
    const cast = castOf.get(n.inputs[k]!)!;
    const x = graph.initializers.get(cast.inputs[0]!)!;
    const scale = floatConst(graph, n.inputs[1 - k]);
    if (!scale || scale.dims.length > x.dims.length) return n;
    // The scale's non-1 dims, aligned right: at most one, equal to x's there (so the product keeps x's shape).
    const offset = x.dims.length - scale.dims.length;
    const axes = scale.dims.map((d, i) => [d, i + offset] as const).filter(([d]) => d !== 1);
    if (axes.length > 1 || axes.some(([d, axis]) => x.dims[axis] !== d)) return n;
    let name = `${n.outputs[0]}$scale`;
    while (graph.initializers.has(name)) name += '_';
    graph.initializers.set(name, { dtype: 'float32', dims: axes.length ? [axes[0]![0]] : [], data: Float32Array.from(scale.data as Float32Array) });
    drop.add(cast);
    const attrs = new Map(axes.length ? [['axis', axes[0]![1]] as [string, number]] : []);
    return { name: n.name, opType: 'DequantizeLinear', domain: '', inputs: [cast.inputs[0]!, name], outputs: n.outputs, attrs };
  });
  return out.filter((n) => !drop.has(n));
}
