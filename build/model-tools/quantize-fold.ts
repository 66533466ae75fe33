// Quantization pre-processing, as onnxruntime's quant_pre_process (its optimizer fuses
// Conv + BatchNormalization before quantize_* runs): a BatchNormalization that follows a Conv
// is folded into the conv's weight and bias in the fp32 graph, so the weight quantized is the
// one the graph computes with. Quantizing first would leave DequantizeLinear → Conv →
// BatchNormalization, which an engine that folds BN at compile time (the micro compiler, ORT's
// own fusion) turns back into fp32 weights: the module would carry fp32, not int8.
// Per channel the fold is free: BN's per-channel factor goes into the per-channel scale.
import onnxProto from 'onnx-proto';
import { allNames, f32, isDefaultDomain, Names, num, subgraphsOf, usesOf } from './quantize-graph.ts';
import { constFromProto } from '../micro/model-ir.ts';

type Model = onnxProto.onnx.ModelProto;
type Graph = onnxProto.onnx.IGraphProto;
type Node = onnxProto.onnx.INodeProto;
type Tensor = onnxProto.onnx.ITensorProto;

const FLOAT = 1;

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
    const a = n.opType === 'Constant' && isDefaultDomain(n) && n.attribute?.length === 1 && n.attribute[0]!.name === 'value' ? n.attribute[0]!.t : undefined;
    if (a && a.dataType === FLOAT && n.output?.length === 1) out.set(n.output[0]!, a);
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
    if (graphOutputs.has(convOut) || usesOf(graph, convOut).length !== 1) continue;
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
      // Float32 steps as onnxruntime's fusion (and the micro compiler's) computes them: a = scale / sqrt(var + eps).
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

/** Folds every Conv → BatchNormalization pair of `model` (in place) whose parameters are constants and whose conv output only the BN reads. */
export function foldBatchNormIntoConv(model: Model): FoldedPair[] {
  const graph = model.graph;
  if (!graph) return [];
  const folded: FoldedPair[] = [];
  foldIn(graph, new Names(allNames(graph)), folded, '');
  return folded;
}
