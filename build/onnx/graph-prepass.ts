// One pre-pass over a decoded ONNX model, run by both the micro compiler
// (build/micro/compile.ts) and the int8 quantizer (build/model-tools/quantize-graph.ts), so
// the graph each one sees has the same constants and the same convs:
//   1. liftConstantNodes: float32 Constant nodes read only by top-level nodes become
//      initializers. Exporters such as paddle2onnx store every weight as a Constant node, and
//      the folds below (and the quantizer's weight search) read initializers.
//   2. computeConstantChains (optional): Slice/Concat/Unsqueeze/Squeeze/Reshape/Transpose over
//      constants computed into float initializers, as ORT's constant folding in
//      quant_pre_process does (PyTorch's LSTM assembles W from gate slices of its weight).
//   3. foldBatchNormIntoConv: Conv → BatchNormalization folded into one Conv with rescaled
//      weight and bias, as ORT's fusion does (a quantized weight is then the one the graph
//      computes with; the micro module carries one conv, not two passes).
import type onnxProto from 'onnx-proto';
import { constFromProto } from '../micro/model-ir.ts';
import { allNames, constantNodeValue, f32, isDefaultDomain, Names, num, subgraphsOf, usesOf } from './graph.ts';

type Model = onnxProto.onnx.ModelProto;
type Graph = onnxProto.onnx.IGraphProto;
type Node = onnxProto.onnx.INodeProto;
type Tensor = onnxProto.onnx.ITensorProto;

const FLOAT = 1;

export interface PrepassOptions {
  /** Compute constant shape-op chains into initializers (step 2; default false). */
  constantChains?: boolean;
}

export interface PrepassResult {
  /** Constant nodes made initializers. */
  lifted: number;
  /** Nodes over constants computed into initializers (0 unless constantChains). */
  computed: number;
  /** Conv + BatchNormalization pairs folded into one Conv. */
  folded: FoldedPair[];
}

/** Runs the pre-pass on `model` in place (decode a fresh copy first). */
export function prepareOnnxGraph(model: Model, options: PrepassOptions = {}): PrepassResult {
  const lifted = model.graph ? liftConstantNodes(model.graph) : 0;
  const computed = options.constantChains ? computeConstantChains(model) : 0;
  return { lifted, computed, folded: foldBatchNormIntoConv(model) };
}

/**
 * Float32 Constant nodes of `graph` read by its own nodes only (not by a subgraph, not a graph
 * output, not shadowing an initializer) become initializers. Returns how many.
 */
export function liftConstantNodes(graph: Graph): number {
  // name → true while every read is a top-level node input.
  const topOnly = new Map<string, boolean>();
  const note = (name: string | null | undefined, ok: boolean) => {
    if (name) topOnly.set(name, (topOnly.get(name) ?? true) && ok);
  };
  const walk = (g: Graph, top: boolean) => {
    for (const n of g.node ?? []) {
      for (const name of n.input ?? []) note(name, top);
      for (const sub of subgraphsOf(n)) {
        walk(sub, false);
        for (const o of sub.output ?? []) note(o.name, false);
      }
    }
  };
  walk(graph, true);
  for (const o of graph.output ?? []) note(o.name, false);
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const lifted: Tensor[] = [];
  graph.node = (graph.node ?? []).filter((n) => {
    const value = constantNodeValue(n);
    const out = n.output?.[0];
    if (!value || value.dataType !== FLOAT || !out || topOnly.get(out) !== true || initializers.has(out)) return true;
    lifted.push({ ...value, name: out });
    return false;
  });
  if (lifted.length) graph.initializer = [...(graph.initializer ?? []), ...lifted];
  return lifted.length;
}

/** One Conv + BatchNormalization pair folded into one Conv. */
export interface FoldedPair {
  conv: string;
  batchNorm: string;
}

function attr(node: Node, name: string): onnxProto.onnx.IAttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

/** The float constants of a graph by name: initializers and Constant nodes' `value`. */
function floatConstants(graph: Graph): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const t of graph.initializer ?? []) if (t.dataType === FLOAT) out.set(t.name ?? '', t);
  for (const n of graph.node ?? []) {
    const a = constantNodeValue(n);
    if (a && a.dataType === FLOAT) out.set(n.output![0]!, a);
  }
  return out;
}

/** BN in inference form with one output (training_mode 0; below opset 7 is_test, spatial 1). */
function isInferenceBatchNorm(node: Node): boolean {
  if (node.opType !== 'BatchNormalization' || !isDefaultDomain(node)) return false;
  if ((node.output ?? []).filter(Boolean).length !== 1) return false;
  const training = attr(node, 'training_mode');
  const spatial = attr(node, 'spatial');
  return !(training && num(training.i) !== 0) && !(spatial && num(spatial.i) !== 1);
}

/** How many times `name` is read in `graph` and its bodies, subgraph outputs included. */
function readCount(graph: Graph, name: string): number {
  let count = 0;
  for (const node of graph.node ?? []) {
    for (const input of node.input ?? []) if (input === name) count++;
    for (const g of subgraphsOf(node)) count += readCount(g, name) + (g.output ?? []).filter((o) => o.name === name).length;
  }
  return count;
}

function foldIn(graph: Graph, names: Names, folded: FoldedPair[], scope: string): void {
  const constants = floatConstants(graph);
  const producer = new Map<string, Node>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) producer.set(o, n);
  const graphOutputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  const dropped = new Set<Node>();
  const touched = new Set<string>();
  const data = (name: string | undefined | null) => {
    const t = name ? constants.get(name) : undefined;
    return t ? (constFromProto(t, `constant "${name}"`).data as Float32Array) : undefined;
  };
  for (const bn of graph.node ?? []) {
    if (!isInferenceBatchNorm(bn)) continue;
    const conv = producer.get(bn.input?.[0] ?? '');
    if (!conv || conv.opType !== 'Conv' || !isDefaultDomain(conv) || dropped.has(conv) || conv.output?.length !== 1) continue;
    const convOut = conv.output[0]!;
    if (graphOutputs.has(convOut) || readCount(graph, convOut) !== 1) continue;
    const wName = conv.input?.[1];
    const bName = conv.input?.[2] || undefined;
    const wTensor = wName ? constants.get(wName) : undefined;
    const w = data(wName);
    const b = bName ? data(bName) : undefined;
    if (!wTensor || !w || (bName && !b)) continue;
    const dims = (wTensor.dims ?? []).map(num);
    const M = dims[0];
    const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => data(bn.input?.[i]));
    if (!M || !scale || !bias || !mean || !variance || ![scale, bias, mean, variance].every((t) => t.length === M) || (b && b.length !== M)) continue;
    const epsilon = attr(bn, 'epsilon');
    const eps = Math.fround(epsilon?.f !== undefined && epsilon.f !== null ? epsilon.f : 1e-5);
    const per = w.length / M;
    const w2 = new Float32Array(w.length);
    const b2 = new Float32Array(M);
    for (let m = 0; m < M; m++) {
      // Float32 steps as onnxruntime's fusion computes them: a = scale / sqrt(var + eps).
      const a = Math.fround(scale[m]! / Math.fround(Math.sqrt(Math.fround(variance[m]! + eps))));
      for (let k = 0; k < per; k++) w2[m * per + k] = Math.fround(w[m * per + k]! * a);
      b2[m] = Math.fround(Math.fround(((b?.[m] ?? 0) - mean[m]!) * a) + bias[m]!);
    }
    const w2Name = names.fresh(`${wName}_bn_folded`);
    const b2Name = names.fresh(`${bName ?? `${convOut}_bias`}_bn_folded`);
    graph.initializer = [...(graph.initializer ?? []), f32(w2Name, dims, w2), f32(b2Name, [M], b2)];
    for (const n of [wName, bName, ...(bn.input ?? []).slice(1)]) if (n) touched.add(n);
    conv.input = [conv.input![0]!, w2Name, b2Name];
    conv.output = [bn.output!.find(Boolean)!];
    conv.name = conv.name || bn.name ? `${conv.name ?? ''}+${bn.name ?? ''}` : conv.name;
    graph.valueInfo = (graph.valueInfo ?? []).filter((v) => v.name !== convOut);
    dropped.add(bn);
    folded.push({ conv: `${scope}${conv.name ?? ''}`, batchNorm: `${scope}${bn.name ?? ''}` });
  }
  graph.node = (graph.node ?? []).filter((n) => !dropped.has(n));
  // The constants the folds replaced, where nothing else reads them.
  const unused = new Set([...touched].filter((n) => usesOf(graph, n).length === 0 && !graphOutputs.has(n)));
  if (unused.size) {
    graph.initializer = (graph.initializer ?? []).filter((t) => !unused.has(t.name ?? ''));
    graph.node = graph.node.filter((n) => !(n.opType === 'Constant' && n.output?.length === 1 && unused.has(n.output[0]!)));
    graph.input = (graph.input ?? []).filter((v) => !unused.has(v.name ?? ''));
    graph.valueInfo = (graph.valueInfo ?? []).filter((v) => !unused.has(v.name ?? ''));
  }
  for (const node of graph.node) for (const g of subgraphsOf(node)) foldIn(g, names, folded, `${scope}${node.name || node.opType}/`);
}

/**
 * Folds every Conv → BatchNormalization pair of `model` (in place, subgraphs too) whose
 * parameters are float constants and whose conv output only the BN reads.
 */
export function foldBatchNormIntoConv(model: Model): FoldedPair[] {
  const graph = model.graph;
  if (!graph) return [];
  const folded: FoldedPair[] = [];
  foldIn(graph, new Names(allNames(graph)), folded, '');
  return folded;
}

/**
 * Float weights that exporters assemble from constants in the graph (PyTorch's LSTM: W =
 * Unsqueeze(Concat(Slice(weight_ih, gate rows)...)) to reorder its gates) are computed here, as
 * ORT's constant folding does in quant_pre_process, so the weight itself is a constant the
 * quantizer sees. Folds Slice, Concat, Unsqueeze, Squeeze, Reshape and Transpose whose inputs
 * are all constants (of the node's graph or an enclosing one) into float initializers; the
 * constants only they read are dropped. Returns how many nodes were folded.
 */
export function computeConstantChains(model: Model): number {
  const graph = model.graph;
  if (!graph) return 0;
  const opset = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  const version = opset ? num(opset.version) : 1;
  const read: Array<{ graph: Graph; name: string }> = [];
  const folded = foldChainsIn(graph, [], version, read);
  // Constants the folded nodes read, in the graph that holds them, when nothing reads them any more.
  for (const { graph: g, name } of read) {
    if (usesOf(g, name).length || (g.output ?? []).some((o) => o.name === name)) continue;
    g.initializer = (g.initializer ?? []).filter((t) => t.name !== name);
    g.node = (g.node ?? []).filter((n) => !(n.opType === 'Constant' && n.output?.length === 1 && n.output[0] === name));
    g.input = (g.input ?? []).filter((v) => v.name !== name);
  }
  return folded;
}

interface Known {
  dims: number[];
  data: ArrayLike<number>;
  dataType: number;
}

const FOLDABLE = new Set(['Slice', 'Concat', 'Unsqueeze', 'Squeeze', 'Reshape', 'Transpose']);

function constantTensors(graph: Graph): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const t of graph.initializer ?? []) out.set(t.name ?? '', t);
  for (const n of graph.node ?? []) {
    const a = constantNodeValue(n);
    if (a) out.set(n.output![0]!, a);
  }
  return out;
}

function foldChainsIn(graph: Graph, outer: Array<{ graph: Graph; constants: Map<string, Tensor> }>, opset: number, read: Array<{ graph: Graph; name: string }>): number {
  const own = { graph, constants: constantTensors(graph) };
  const scopes = [...outer, own];
  const lookup = (name: string): { graph: Graph; tensor: Tensor } | undefined => {
    for (let s = scopes.length - 1; s >= 0; s--) {
      const t = scopes[s]!.constants.get(name);
      if (t) return { graph: scopes[s]!.graph, tensor: t };
    }
    return undefined;
  };
  let folded = 0;
  const kept: Node[] = [];
  for (const node of graph.node ?? []) {
    const result = FOLDABLE.has(node.opType ?? '') && isDefaultDomain(node) && node.output?.length === 1 ? evaluateShapeOp(node, opset, lookup) : undefined;
    if (!result || result.dataType !== FLOAT || (graph.output ?? []).some((o) => o.name === node.output![0])) {
      kept.push(node);
      continue;
    }
    const name = node.output![0]!;
    const tensor = f32(name, result.dims, Float32Array.from(result.data));
    graph.initializer = [...(graph.initializer ?? []), tensor];
    own.constants.set(name, tensor);
    for (const input of node.input ?? []) {
      const at = input ? lookup(input) : undefined;
      if (at) read.push({ graph: at.graph, name: input });
    }
    graph.valueInfo = (graph.valueInfo ?? []).filter((v) => v.name !== name);
    folded++;
  }
  graph.node = kept;
  for (const node of graph.node) for (const g of subgraphsOf(node)) folded += foldChainsIn(g, scopes, opset, read);
  return folded;
}

function known(t: Tensor): Known | undefined {
  const dt = t.dataType ?? 0;
  if (![1, 6, 7].includes(dt)) return undefined;
  const c = constFromProto(t, `constant "${t.name ?? ''}"`);
  return { dims: c.dims, data: c.data as ArrayLike<number>, dataType: dt };
}

const prod = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
const strides = (dims: readonly number[]) => dims.map((_, k) => prod(dims.slice(k + 1)));

function intsAttr(node: Node, name: string): number[] | undefined {
  const a = (node.attribute ?? []).find((x) => x.name === name);
  return a?.ints ? a.ints.map(num) : undefined;
}

/** The value of a shape-moving op over constants, or undefined when an input is not a known constant. */
function evaluateShapeOp(node: Node, opset: number, lookup: (name: string) => { tensor: Tensor } | undefined): Known | undefined {
  const inputs: Array<Known | undefined> = (node.input ?? []).map((name) => {
    if (!name) return undefined;
    const t = lookup(name);
    return t ? known(t.tensor) : undefined;
  });
  const x = inputs[0];
  if (!x || (node.input ?? []).some((name, i) => name && !inputs[i])) return undefined;
  const rank = x.dims.length;
  const norm = (a: number, r = rank) => (a < 0 ? a + r : a);
  const ints = (i: number) => (inputs[i] ? Array.from(inputs[i]!.data, Number) : undefined);
  switch (node.opType) {
    case 'Slice': {
      const starts = opset >= 10 ? ints(1) : intsAttr(node, 'starts');
      const ends = opset >= 10 ? ints(2) : intsAttr(node, 'ends');
      if (!starts || !ends) return undefined;
      const axes = (opset >= 10 ? ints(3) : intsAttr(node, 'axes')) ?? starts.map((_, i) => i);
      const steps = (opset >= 10 ? ints(4) : undefined) ?? starts.map(() => 1);
      const lo = x.dims.map(() => 0);
      const hi = [...x.dims];
      const step = x.dims.map(() => 1);
      for (let k = 0; k < axes.length; k++) {
        const a = norm(axes[k]!);
        const d = x.dims[a]!;
        if (steps[k]! <= 0) return undefined; // negative steps: not worth it here
        const clamp = (v: number) => Math.max(0, Math.min(d, v < 0 ? v + d : v));
        lo[a] = clamp(starts[k]!);
        hi[a] = clamp(ends[k]!);
        step[a] = steps[k]!;
      }
      const dims = x.dims.map((_, a) => Math.max(0, Math.ceil((hi[a]! - lo[a]!) / step[a]!)));
      const src = strides(x.dims);
      const dst = strides(dims);
      const data = new Float64Array(prod(dims));
      for (let i = 0; i < data.length; i++) {
        let at = 0;
        for (let a = 0; a < dims.length; a++) at += (lo[a]! + (Math.floor(i / dst[a]!) % dims[a]!) * step[a]!) * src[a]!;
        data[i] = x.data[at]!;
      }
      return { dims, data, dataType: x.dataType };
    }
    case 'Concat': {
      const parts = inputs as Known[];
      const a = norm(Number((node.attribute ?? []).find((t) => t.name === 'axis')?.i ?? 0));
      if (parts.some((p) => p.dims.length !== rank || p.dataType !== x.dataType || p.dims.some((d, k) => k !== a && d !== x.dims[k]))) return undefined;
      const dims = x.dims.map((d, k) => (k === a ? parts.reduce((s, p) => s + p.dims[a]!, 0) : d));
      const outerCount = prod(x.dims.slice(0, a));
      const data: number[] = [];
      for (let o = 0; o < outerCount; o++) {
        for (const p of parts) {
          const span = prod(p.dims.slice(a));
          for (let i = 0; i < span; i++) data.push(p.data[o * span + i]!);
        }
      }
      return { dims, data, dataType: x.dataType };
    }
    case 'Unsqueeze': {
      const axes = opset >= 13 ? ints(1) : intsAttr(node, 'axes');
      if (!axes) return undefined;
      const outRank = rank + axes.length;
      const set = new Set(axes.map((a) => norm(a, outRank)));
      const dims: number[] = [];
      let k = 0;
      for (let i = 0; i < outRank; i++) dims.push(set.has(i) ? 1 : x.dims[k++]!);
      return { dims, data: x.data, dataType: x.dataType };
    }
    case 'Squeeze': {
      const axes = (opset >= 13 ? ints(1) : intsAttr(node, 'axes')) ?? x.dims.flatMap((d, i) => (d === 1 ? [i] : []));
      const set = new Set(axes.map((a) => norm(a)));
      return { dims: x.dims.filter((_, i) => !set.has(i)), data: x.data, dataType: x.dataType };
    }
    case 'Reshape': {
      const shape = ints(1);
      if (!shape || (node.attribute ?? []).some((a) => a.name === 'allowzero' && num(a.i) === 1)) return undefined;
      const dims = shape.map((d, i) => (d === 0 ? x.dims[i]! : d));
      const knownCount = prod(dims.filter((d) => d !== -1));
      const out = dims.map((d) => (d === -1 ? prod(x.dims) / knownCount : d));
      return out.every((d) => Number.isInteger(d) && d >= 0) && prod(out) === prod(x.dims) ? { dims: out, data: x.data, dataType: x.dataType } : undefined;
    }
    case 'Transpose': {
      const perm = intsAttr(node, 'perm') ?? x.dims.map((_, i) => rank - 1 - i);
      const dims = perm.map((p) => x.dims[p]!);
      const src = strides(x.dims);
      const dst = strides(dims);
      const data = new Float64Array(prod(dims));
      for (let i = 0; i < data.length; i++) {
        let at = 0;
        for (let a = 0; a < rank; a++) at += (Math.floor(i / dst[a]!) % dims[a]!) * src[perm[a]!]!;
        data[i] = x.data[at]!;
      }
      return { dims, data, dataType: x.dataType };
    }
    default:
      return undefined;
  }
}
