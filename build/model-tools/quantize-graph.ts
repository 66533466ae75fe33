// int8 quantization of an fp32 ONNX graph, as onnxruntime's quantize_dynamic / quantize_static
// choose what to quantize, written in the QDQ form both engines run:
//   weights: every fp32 constant (initializer or Constant node, in the main graph and in If/Loop
//     bodies) read only as the weight of MatMul (B, or a constant A), Gemm (B), Conv (W) or Gather
//     (data) becomes an int8 initializer + DequantizeLinear feeding the original op. Symmetric:
//     scale = max|w| / 127 per tensor, or per channel with perChannel on ORT's axes (Conv 0,
//     Gemm 0 when transB else 1, MatMul B its last dim, a constant A its rows, Gather its gathered
//     axis: one scale per embedding row); q = round-half-even(w / scale) in [-127, 127], zero
//     point 0 (ORT's default for int8 weights). Biases (Conv/Gemm C) and tensors under
//     `minElements` stay fp32: they are a rounding error of the size and the most sensitive values.
//   activations (static mode only): the float input(s) and output of each quantized MatMul, Gemm
//     and Conv of the main graph get a QuantizeLinear → DequantizeLinear pair, int8 asymmetric
//     (ORT's QInt8 default) from the calibrated [min, max] widened to include 0.
// The op that consumes the weight is left as it is, so ORT fuses DQ → op into its integer
// kernels where it has them and the micro engine dequantizes the weights once at import.
// Opset < 13 has no per-axis DequantizeLinear: there a per-channel weight is dequantized as
// Cast + Mul by a broadcast scale, which computes the same values.
import onnxProto from 'onnx-proto';
import { constFromProto } from '../micro/model-ir.ts';
import { isFourierBasisConvWeight } from '../micro/ops-nn.ts';
import { allNames, f32, isDefaultDomain, Names, num, subgraphsOf, tensor, usesOf, type Use } from '../onnx/graph.ts';
import { prepareOnnxGraph, type FoldedPair } from '../onnx/graph-prepass.ts';

type Model = onnxProto.onnx.ModelProto;
type Graph = onnxProto.onnx.IGraphProto;
type Node = onnxProto.onnx.INodeProto;
type Tensor = onnxProto.onnx.ITensorProto;

const FLOAT = 1;
const INT8 = 3;
const { AttributeType } = onnxProto.onnx.AttributeProto;

export interface QuantizeGraphOptions {
  perChannel: boolean;
  /** Constants with fewer elements stay fp32 (default 256). */
  minElements?: number;
  /** Keep fp32 a Conv weight the micro compiler runs as an FFT (a Fourier basis; default true). */
  keepFourierBasis?: boolean;
  /** Pre-process first (default true; build/onnx/graph-prepass.ts): Constant nodes lifted, constant chains computed, BatchNormalization folded into the Conv before it. */
  foldBatchNorm?: boolean;
}

/** One weight that was quantized. */
export interface QuantizedWeight {
  name: string;
  /** The op types that read it. */
  ops: string[];
  dims: number[];
  /** Channel axis, or null for one scale over the tensor. */
  axis: number | null;
  /** Largest |w - dequantized w| (the rounding error). */
  maxError: number;
}

export interface QuantizeGraphResult {
  model: Model;
  weights: QuantizedWeight[];
  /** fp32 constants left as they were, with why (only those of quantizable ops or large enough to matter). */
  skipped: Array<{ name: string; reason: string }>;
  /** Activation tensors static mode would quantize (calibrate these on the fp32 graph, then addActivationQdq). */
  activationCandidates: string[];
  /** Default-domain opset of the graph. */
  opset: number;
  /** Conv + BatchNormalization pairs folded into one Conv before quantizing. */
  folded: FoldedPair[];
  /** Slice/Concat/Unsqueeze/... nodes over constants computed into float constants before quantizing (computeConstantChains). */
  foldedConstants: number;
}


/** Why a Fourier-basis conv weight stays fp32 (QuantizeGraphResult.skipped). */
export const FOURIER_BASIS_REASON = 'a Fourier basis (an STFT as a Conv), which the micro engine runs as an FFT from the fp32 weights';

/** Default-domain opset of a model (1 when none is imported). */
export function defaultOpset(model: Model): number {
  const entry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  return entry ? num(entry.version) : 1;
}

export function attrInt(node: Node, name: string, fallback: number): number {
  const a = (node.attribute ?? []).find((x) => x.name === name);
  return a && a.i !== undefined && a.i !== null ? num(a.i) : fallback;
}

/**
 * How a weight read at `use` is quantized: its channel axis (null: per tensor only), or
 * undefined when that input is not a weight ORT quantizes.
 */
function weightAxis(use: Use, rank: number): { axis: number | null } | undefined {
  const { node, index } = use;
  if (!isDefaultDomain(node)) return undefined;
  switch (node.opType) {
    case 'MatMul':
      if (rank < 2) return index <= 1 ? { axis: null } : undefined;
      if (index === 1) return { axis: rank - 1 }; // B's output columns
      if (index === 0) return { axis: rank - 2 }; // a constant A: its output rows
      return undefined;
    case 'Gemm':
      if (index !== 1 || rank !== 2) return undefined;
      return { axis: attrInt(node, 'transB', 0) ? 0 : 1 };
    case 'Conv':
      return index === 1 ? { axis: 0 } : undefined;
    case 'LSTM':
    case 'GRU':
    case 'RNN':
      // W [directions, gates·hidden, input] and R [directions, gates·hidden, hidden]; B stays fp32.
      // One scale per direction: one per gate row (axis 1) made Silero VAD v4's module 5 % larger
      // (its 256-row weights carry 256 scales each) and agreed no better.
      return (index === 1 || index === 2) && rank === 3 ? { axis: 0 } : undefined;
    case 'Gather': {
      // A rank-1 table is a lookup of scalars (often the scales of an already quantized table), not an embedding.
      if (index !== 0 || rank < 2) return undefined;
      const axis = attrInt(node, 'axis', 0);
      return { axis: axis < 0 ? axis + rank : axis };
    }
    default:
      return undefined;
  }
}

const roundHalfEven = (x: number): number => {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/** Symmetric int8 of `data` (dims) with one scale per slice along `axis`, or one scale when axis is null. */
export function quantizeSymmetricInt8(data: Float32Array, dims: readonly number[], axis: number | null): { q: Int8Array; scales: Float32Array; maxError: number } {
  const channels = axis === null ? 1 : dims[axis]!;
  const inner = axis === null ? data.length : dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channelOf = (i: number) => (axis === null ? 0 : Math.floor(i / inner) % channels);
  const maxAbs = new Float64Array(channels);
  for (let i = 0; i < data.length; i++) {
    const c = channelOf(i);
    const v = Math.abs(data[i]!);
    if (v > maxAbs[c]!) maxAbs[c] = v;
  }
  // float32 scales, as the graph stores them; an all-zero channel gets scale 1 (q = 0).
  const scales = Float32Array.from(maxAbs, (m) => (m > 0 ? Math.fround(m / 127) : 1));
  const q = new Int8Array(data.length);
  let maxError = 0;
  for (let i = 0; i < data.length; i++) {
    const s = scales[channelOf(i)]!;
    const v = Math.max(-127, Math.min(127, roundHalfEven(Math.fround(data[i]! / s))));
    q[i] = v;
    maxError = Math.max(maxError, Math.abs(Math.fround(v * s) - data[i]!));
  }
  return { q, scales, maxError };
}

const i8 = (name: string, dims: number[], values: Int8Array) => tensor(name, INT8, dims, new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)));

/** Constant nodes holding a float tensor become initializers of their graph (so one path quantizes both). */
function constantsToInitializers(graph: Graph, minElements: number): void {
  const kept: Node[] = [];
  for (const node of graph.node ?? []) {
    const value = node.opType === 'Constant' && isDefaultDomain(node) && node.attribute?.length === 1 && node.attribute[0]!.name === 'value' ? node.attribute[0]!.t : undefined;
    const count = value ? (value.dims ?? []).reduce((a: number, d) => a * num(d), 1) : 0;
    if (value && value.dataType === FLOAT && count >= minElements && node.output?.length === 1) {
      graph.initializer = [...(graph.initializer ?? []), { ...value, name: node.output[0]! }];
      continue;
    }
    kept.push(node);
  }
  graph.node = kept;
}

interface Context {
  opset: number;
  options: Required<Pick<QuantizeGraphOptions, 'perChannel' | 'minElements' | 'keepFourierBasis'>>;
  names: Names;
  weights: QuantizedWeight[];
  skipped: Array<{ name: string; reason: string }>;
  /** Nodes that read a quantized weight, and the names of the dequantized weights. */
  quantizedNodes: Set<Node>;
  dequantized: Set<string>;
}

/** Nodes that turn int8 `q` back into float: DequantizeLinear where the opset allows it, else Cast + Mul. */
function dequantizeNodes(ctx: Context, graph: Graph, base: string, q: Int8Array, scales: Float32Array, dims: number[], axis: number | null, output: string): Node[] {
  const qName = ctx.names.fresh(`${base}_quantized`);
  const sName = ctx.names.fresh(`${base}_scale`);
  const zName = ctx.names.fresh(`${base}_zero_point`);
  const inits: Tensor[] = [i8(qName, dims, q)];
  let nodes: Node[];
  if (ctx.opset >= 13 || (axis === null && ctx.opset >= 10)) {
    const perAxis = axis !== null;
    inits.push(f32(sName, perAxis ? [scales.length] : [], scales), i8(zName, perAxis ? [scales.length] : [], new Int8Array(scales.length)));
    const attribute = perAxis ? [{ name: 'axis', type: AttributeType.INT, i: axis }] : [];
    nodes = [{ opType: 'DequantizeLinear', name: ctx.names.fresh(`${base}_DequantizeLinear`), input: [qName, sName, zName], output: [output], attribute }];
  } else {
    const shape = dims.map((d, i) => (i === axis ? d : 1));
    inits.push(f32(sName, axis === null ? [] : shape, scales));
    const cast = ctx.names.fresh(`${base}_float`);
    nodes = [
      { opType: 'Cast', name: ctx.names.fresh(`${base}_Cast`), input: [qName], output: [cast], attribute: [{ name: 'to', type: AttributeType.INT, i: FLOAT }] },
      { opType: 'Mul', name: ctx.names.fresh(`${base}_Mul`), input: [cast, sName], output: [output], attribute: [] },
    ];
  }
  graph.initializer = [...(graph.initializer ?? []), ...inits];
  return nodes;
}

function quantizeWeightsIn(ctx: Context, graph: Graph, scope: string): void {
  constantsToInitializers(graph, ctx.options.minElements);
  const inputNames = new Set((graph.input ?? []).map((v) => v.name ?? ''));
  const prepend: Node[] = [];
  const remove = new Set<string>();
  for (const init of graph.initializer ?? []) {
    const name = init.name ?? '';
    if (init.dataType !== FLOAT) continue;
    const dims = (init.dims ?? []).map(num);
    const count = dims.reduce((a, b) => a * b, 1);
    const uses = usesOf(graph, name);
    const axes = uses.map((u) => weightAxis(u, dims.length));
    const eligible = uses.length > 0 && axes.every((a) => a !== undefined);
    if (!eligible) {
      const other = uses.find((_, i) => axes[i] === undefined);
      if (other && count >= ctx.options.minElements && axes.some((a) => a !== undefined)) {
        ctx.skipped.push({ name: `${scope}${name}`, reason: `also read by ${other.node.opType} "${other.node.name ?? ''}" (input ${other.index}), which takes fp32` });
      }
      continue;
    }
    if (count < ctx.options.minElements) {
      ctx.skipped.push({ name: `${scope}${name}`, reason: `${count} elements, under --min-elements ${ctx.options.minElements}` });
      continue;
    }
    if (init.dataLocation === onnxProto.onnx.TensorProto.DataLocation.EXTERNAL) {
      ctx.skipped.push({ name: `${scope}${name}`, reason: 'its data is in an external file' });
      continue;
    }
    const distinct = [...new Set(axes.map((a) => a!.axis))];
    // Per channel when asked and the readers agree on the axis, unless a channel holds so few values that its scale outweighs them.
    const candidate = ctx.options.perChannel && distinct.length === 1 ? distinct[0]! : null;
    const axis = candidate !== null && count / dims[candidate]! >= 4 ? candidate : null;
    const data = constFromProto(init, `initializer "${name}"`).data as Float32Array;
    // The micro engine runs a conv over a Fourier basis as an FFT from the fp32 weights (its module then carries no weights at all); int8 would make it carry them and run a direct conv.
    if (ctx.options.keepFourierBasis && uses.some((u) => u.node.opType === 'Conv' && attrInt(u.node, 'group', 1) === 1 && !(u.node.attribute ?? []).some((a) => a.name === 'dilations' && (a.ints ?? []).some((d) => num(d) !== 1))) && isFourierBasisConvWeight(data, dims)) {
      ctx.skipped.push({ name: `${scope}${name}`, reason: FOURIER_BASIS_REASON });
      continue;
    }
    const { q, scales, maxError } = quantizeSymmetricInt8(data, dims, axis);
    const dequantized = ctx.names.fresh(`${name}_dequantized`);
    prepend.push(...dequantizeNodes(ctx, graph, name, q, scales, dims, axis, dequantized));
    for (const use of uses) {
      use.node.input![use.index] = dequantized;
      ctx.quantizedNodes.add(use.node);
    }
    ctx.dequantized.add(dequantized);
    remove.add(name);
    ctx.weights.push({ name: `${scope}${name}`, ops: [...new Set(uses.map((u) => u.node.opType ?? ''))], dims, axis, maxError });
  }
  graph.initializer = (graph.initializer ?? []).filter((t) => !remove.has(t.name ?? ''));
  // Old exporters list initializers as inputs too; a quantized weight is no longer one to feed.
  if ([...remove].some((n) => inputNames.has(n))) graph.input = (graph.input ?? []).filter((v) => !remove.has(v.name ?? ''));
  graph.valueInfo = (graph.valueInfo ?? []).filter((v) => !remove.has(v.name ?? ''));
  graph.node = [...prepend, ...(graph.node ?? [])];
  for (const node of graph.node) for (const g of subgraphsOf(node)) quantizeWeightsIn(ctx, g, `${scope}${node.name || node.opType}/`);
}

/** The activation tensors static mode quantizes: the float inputs (not constants) and the output of each main-graph MatMul/Gemm/Conv whose weight was quantized. */
function activationCandidates(graph: Graph, quantizedNodes: ReadonlySet<Node>, dequantized: ReadonlySet<string>): string[] {
  const constants = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const out = new Set<string>();
  for (const node of graph.node ?? []) {
    if (!quantizedNodes.has(node) || !['MatMul', 'Gemm', 'Conv'].includes(node.opType ?? '')) continue;
    const inputs = node.input ?? [];
    for (const i of node.opType === 'MatMul' ? [0, 1] : [0]) {
      const name = inputs[i];
      if (name && !constants.has(name) && !dequantized.has(name)) out.add(name);
    }
    if (node.output?.[0]) out.add(node.output[0]);
  }
  return [...out];
}

/** int8 asymmetric parameters of a calibrated range (ORT's compute_scale_zp for QInt8): [min, max] widened to include 0. */
export function activationParams(range: { min: number; max: number }): { scale: number; zeroPoint: number } {
  const lo = Math.min(range.min, 0);
  const hi = Math.max(range.max, 0);
  if (!(hi > lo)) return { scale: 1, zeroPoint: 0 };
  const scale = Math.fround((hi - lo) / 255);
  const zeroPoint = Math.max(-128, Math.min(127, roundHalfEven(-128 - lo / scale)));
  return { scale, zeroPoint };
}

/**
 * Static mode, after quantizeGraph: a QuantizeLinear → DequantizeLinear pair on each calibrated
 * tensor (int8 asymmetric); returns the tensors it quantized (none below opset 10, which has no
 * QuantizeLinear).
 */
export function addActivationQdq(model: Model, ranges: ReadonlyMap<string, { min: number; max: number }>): string[] {
  const graph = model.graph!;
  const names = new Names(allNames(graph));
  const tensors = [...ranges.keys()];
  const activations: string[] = [];
  if (!tensors.length || defaultOpset(model) < 10) return activations;
  const pending = new Map<string, Node[]>();
  const renamed = new Map<string, string>();
  for (const t of tensors) {
    const { scale, zeroPoint } = activationParams(ranges.get(t)!);
    const sName = names.fresh(`${t}_scale`);
    const zName = names.fresh(`${t}_zero_point`);
    const qName = names.fresh(`${t}_QuantizeLinear_Output`);
    const dqName = names.fresh(`${t}_DequantizeLinear_Output`);
    graph.initializer = [...(graph.initializer ?? []), f32(sName, [], Float32Array.of(scale)), i8(zName, [], Int8Array.of(zeroPoint))];
    pending.set(t, [
      { opType: 'QuantizeLinear', name: names.fresh(`${t}_QuantizeLinear`), input: [t, sName, zName], output: [qName], attribute: [] },
      { opType: 'DequantizeLinear', name: names.fresh(`${t}_DequantizeLinear`), input: [qName, sName, zName], output: [dqName], attribute: [] },
    ]);
    renamed.set(t, dqName);
    activations.push(t);
  }
  // Every reader of t (in this graph and nested bodies) reads its dequantized twin; graph outputs keep t.
  for (const [t, dq] of renamed) for (const use of usesOf(graph, t)) use.node.input![use.index] = dq;
  const nodes: Node[] = [];
  const emit = (names: readonly string[]) => {
    for (const n of names) {
      const pair = pending.get(n);
      if (!pair) continue;
      pair[0]!.input![0] = n; // the Q node reads the real tensor (the rename above touched it)
      nodes.push(...pair);
      pending.delete(n);
    }
  };
  emit((graph.input ?? []).map((v) => v.name ?? ''));
  for (const node of graph.node ?? []) {
    nodes.push(node);
    emit(node.output ?? []);
  }
  graph.node = nodes;
  return activations;
}

/** Quantizes the weights of `model` in place (decode a fresh copy first) and says what it did. */
export function quantizeGraph(model: Model, options: QuantizeGraphOptions): QuantizeGraphResult {
  const graph = model.graph;
  if (!graph) throw new Error('the model has no graph');
  const opset = defaultOpset(model);
  // Pre-processing as ORT's quant_pre_process (the micro compiler runs the same pass): Constant
  // nodes lifted, constant chains computed, BN folded into convs.
  const prepass = options.foldBatchNorm === false ? { computed: 0, folded: [] } : prepareOnnxGraph(model, { constantChains: true });
  const foldedConstants = prepass.computed;
  const folded = prepass.folded;
  const ctx: Context = {
    opset,
    options: { perChannel: options.perChannel, minElements: options.minElements ?? 256, keepFourierBasis: options.keepFourierBasis ?? true },
    names: new Names(allNames(graph)),
    weights: [],
    skipped: [],
    quantizedNodes: new Set(),
    dequantized: new Set(),
  };
  quantizeWeightsIn(ctx, graph, '');
  return { model, weights: ctx.weights, skipped: ctx.skipped, activationCandidates: activationCandidates(graph, ctx.quantizedNodes, ctx.dequantized), opset, folded, foldedConstants };
}
