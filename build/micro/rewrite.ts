// Graph rewrites before code generation: BatchNormalization folded into the Conv it follows
// (weights and bias rescaled at compile time, so the module carries one conv, not two passes).
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

/**
 * Float32 Constant nodes read by top-level nodes only (no subgraph, not a graph output)
 * become initializers: exporters such as paddle2onnx store every weight as a Constant node,
 * and the folds below read initializers only (PaddleOCR's classifier kept its 35
 * BatchNormalizations and 18 HardSwishes as separate passes).
 */
export function liftParameterConstants(graph: IrGraph): IrNode[] {
  const params = new Map<string, boolean>();
  const note = (name: string | undefined, ok: boolean) => {
    if (name) params.set(name, (params.get(name) ?? true) && ok);
  };
  const walk = (list: readonly IrNode[], top: boolean) => {
    for (const n of list) {
      for (const name of n.inputs) note(name, top);
      for (const name of n.implicitInputs ?? []) note(name, false);
      for (const sub of n.subgraphs?.values() ?? []) {
        walk(sub.nodes, false);
        sub.outputs.forEach((o) => note(o, false));
      }
    }
  };
  walk(graph.nodes, true);
  for (const o of graph.outputs) note(o.name, false);
  const lifted = new Set<IrNode>();
  for (const n of graph.nodes) {
    if (n.opType !== 'Constant' || n.domain !== '' || n.outputs.length !== 1 || n.attrs.size !== 1) continue;
    const value = n.attrs.get('value');
    const out = n.outputs[0]!;
    if (!value || typeof value !== 'object' || !('dtype' in value) || value.dtype !== 'float32') continue;
    if (params.get(out) !== true || graph.initializers.has(out)) continue;
    graph.initializers.set(out, value);
    lifted.add(n);
  }
  return graph.nodes.filter((n) => !lifted.has(n));
}

/**
 * Conv → BatchNormalization (inference form, one output) where the conv's weights, bias and
 * the BN parameters are initializers and nothing else reads the conv output: returns the
 * nodes with each such pair replaced by one Conv over new initializers.
 */
export function foldBatchNorm(graph: IrGraph): IrNode[] {
  const reads = readers(graph.nodes);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const producer = new Map<string, IrNode>();
  for (const n of graph.nodes) for (const o of n.outputs) producer.set(o, n);
  const replaced = new Map<IrNode, IrNode>();
  const dropped = new Set<IrNode>();
  let fresh = 0;
  for (const bn of graph.nodes) {
    if (bn.opType !== 'BatchNormalization' || bn.domain !== '' || bn.outputs.filter(Boolean).length !== 1) continue;
    if ((bn.attrs.get('training_mode') ?? 0) !== 0) continue;
    const conv = producer.get(bn.inputs[0] ?? '');
    if (!conv || conv.opType !== 'Conv' || conv.domain !== '' || replaced.has(conv) || conv.outputs.length !== 1) continue;
    if (reads.get(conv.outputs[0]!) !== 1 || outputs.has(conv.outputs[0]!)) continue;
    const w = floatConst(graph, conv.inputs[1]);
    const b = conv.inputs[2] ? floatConst(graph, conv.inputs[2]) : undefined;
    if (!w || (conv.inputs[2] && !b)) continue;
    const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => floatConst(graph, bn.inputs[i]));
    const M = w.dims[0];
    if (!scale || !bias || !mean || !variance || M === undefined) continue;
    if (![scale, bias, mean, variance].every((t) => t.data.length === M) || (b && b.data.length !== M)) continue;
    const epsilon = bn.attrs.get('epsilon');
    const eps = Math.fround(typeof epsilon === 'number' ? epsilon : 1e-5);
    const per = w.data.length / M;
    const w2 = new Float32Array(w.data.length);
    const b2 = new Float32Array(M);
    for (let m = 0; m < M; m++) {
      // Float32 steps as onnxruntime's fusion computes them: a = scale / sqrt(var + eps).
      const a = Math.fround(scale.data[m]! / Math.fround(Math.sqrt(Math.fround(variance.data[m]! + eps))));
      for (let k = 0; k < per; k++) w2[m * per + k] = Math.fround(w.data[m * per + k]! * a);
      b2[m] = Math.fround(Math.fround(((b?.data[m] ?? 0) - mean.data[m]!) * a) + bias.data[m]!);
    }
    const wName = `${conv.outputs[0]}$bn_w${fresh}`;
    const bName = `${conv.outputs[0]}$bn_b${fresh++}`;
    graph.initializers.set(wName, { dtype: 'float32', dims: w.dims, data: w2 });
    graph.initializers.set(bName, { dtype: 'float32', dims: [M], data: b2 });
    replaced.set(conv, { ...conv, name: `${conv.name}+${bn.name}`, inputs: [conv.inputs[0]!, wName, bName], outputs: [bn.outputs[0]!] });
    dropped.add(bn);
  }
  return graph.nodes.filter((n) => !dropped.has(n)).map((n) => replaced.get(n) ?? n);
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
