// Structured pruning: whole output channels (Conv) and hidden units (Gemm, MatMul) removed,
// with every tensor that carries those channels cut to match, so the dense graph is really
// smaller and every engine runs fewer multiply-adds. A channel group is found by following a
// producer's output through channel-wise nodes (activations, pools, BatchNormalization,
// element-wise ops with a per-channel or scalar constant, Flatten after a global pool) to the
// nodes that reduce over it (the next Gemm/MatMul rows, the next Conv's input channels).
// Element-wise ops joining two channel tensors (flights' Add of three MatMuls, a residual Add)
// tie their producers into one group that loses the same channels. A group that reaches a
// node whose channels cannot be followed (LayerNorm's ReduceMean, Reshape, Concat, a graph
// output) is left whole, with the node named; channels are ranked by the L2 (or L1) norm of
// the producers' weights, the weakest `sparsity` share dropped.
import onnxProto from 'onnx-proto';
import { floatData } from './prune-sparse.ts';

type ModelProto = onnxProto.onnx.ModelProto;
type NodeProto = onnxProto.onnx.INodeProto;
type TensorProto = onnxProto.onnx.ITensorProto;

/** Where the channels sit in a value: its last axis (Gemm/MatMul outputs) or axis 1 of a rank-`rank` tensor (Conv outputs). */
type ChannelAxis = { kind: 'last' } | { kind: 'dim1'; rank: number };

/** One weight slice to apply: input `input` of `node`, cut along `axis`. */
interface Slice {
  node: NodeProto;
  input: number;
  axis: number;
}

/** What happened to one channel group. */
export interface ChannelGroup {
  /** Nodes whose output channels define the group. */
  producers: string[];
  /** Nodes that read the channels (their weights lose rows/input channels). */
  consumers: string[];
  channels: number;
  /** Channels kept (equal to `channels` when the group was left whole). */
  kept: number;
  /** Why the group was left whole, naming the node. */
  refused?: string;
}

const UNARY = new Set([
  'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Elu', 'Selu', 'Celu', 'HardSigmoid', 'HardSwish', 'Softplus', 'Softsign', 'Gelu', 'Erf', 'Abs', 'Neg',
  'Exp', 'Log', 'Sqrt', 'Reciprocal', 'Identity', 'Dropout', 'Clip', 'Mish', 'Floor', 'Ceil', 'Round', 'Sign', 'Sin', 'Cos', 'ThresholdedRelu', 'Cast',
]);
const POOLS = new Set(['MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'LpPool', 'GlobalLpPool']);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'Pow', 'PRelu']);

const attr = (n: NodeProto, name: string, fallback: number): number => {
  const a = n.attribute?.find((x) => x.name === name);
  return a ? Number(a.i ?? fallback) : fallback;
};

class Refusal extends Error {}

/** Prunes `model` in place; returns one record per channel group found. */
export function pruneStructured(model: ModelProto, sparsity: number, norm: 'l1' | 'l2' = 'l2'): ChannelGroup[] {
  const graph = model.graph!;
  const nodes = graph.node ?? [];
  const inits = new Map<string, TensorProto>((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const constants = new Map<string, NodeProto>();
  for (const n of nodes) if (n.opType === 'Constant') constants.set(n.output?.[0] ?? '', n);
  const producerOf = new Map<string, NodeProto>();
  const readers = new Map<string, Array<{ node: NodeProto; input: number }>>();
  for (const n of nodes) {
    n.output?.forEach((o) => producerOf.set(o, n));
    n.input?.forEach((name, input) => name && (readers.get(name) ?? readers.set(name, []).get(name)!).push({ node: n, input }));
  }
  const graphInputs = new Set((graph.input ?? []).map((v) => v.name ?? ''));
  const graphOutputs = new Set((graph.output ?? []).map((v) => v.name ?? ''));
  // Values read inside If/Loop/Scan bodies: their channels cannot be followed there.
  const readInSubgraph = new Set<string>();
  const walkSub = (g: onnxProto.onnx.IGraphProto) => {
    for (const n of g.node ?? []) {
      n.input?.forEach((i) => readInSubgraph.add(i));
      for (const a of n.attribute ?? []) [a.g, ...(a.graphs ?? [])].forEach((s) => s && walkSub(s));
    }
  };
  for (const n of nodes) for (const a of n.attribute ?? []) [a.g, ...(a.graphs ?? [])].forEach((s) => s && walkSub(s));

  const isConst = (name: string) => inits.has(name) || constants.has(name);
  const dimsOf = (name: string): number[] | undefined => {
    const t = inits.get(name);
    if (t) return (t.dims ?? []).map(Number);
    const c = constants.get(name)?.attribute?.find((a) => a.name === 'value')?.t;
    return c ? (c.dims ?? []).map(Number) : undefined;
  };
  const floatInit = (name: string | undefined) => (name ? inits.get(name) : undefined);

  /** Producer role of a node: which weight inputs hold its output channels, and along which axis; undefined when it is not a producer. */
  const producerSlices = (n: NodeProto): { slices: Array<{ input: number; axis: number }>; axis: ChannelAxis; channels: number } | undefined => {
    if (n.domain && n.domain !== 'ai.onnx') return undefined;
    const w = floatInit(n.input?.[1]);
    const wDims = w ? (w.dims ?? []).map(Number) : undefined;
    if (!w || !wDims || w.dataType !== 1) return undefined;
    const bias = n.input?.[2] ? n.input[2] : undefined;
    const biasSlice = (channels: number) => {
      if (!bias) return [];
      const dims = dimsOf(bias);
      if (!inits.has(bias) || !dims || inits.get(bias)!.dataType !== 1) throw new Refusal(`node "${n.name}" (${n.opType}) takes its bias from a computed value`);
      const count = dims.reduce((a, b) => a * b, 1);
      if (count === 1) return [];
      if (dims.at(-1) === channels && count === channels) return [{ input: 2, axis: dims.length - 1 }];
      throw new Refusal(`node "${n.name}" (${n.opType}) has a bias of dims [${dims}], not one value per channel`);
    };
    if (n.opType === 'Gemm' && wDims.length === 2 && !isConst(n.input?.[0] ?? '')) {
      const transB = attr(n, 'transB', 0);
      const channels = transB ? wDims[0]! : wDims[1]!;
      return { slices: [{ input: 1, axis: transB ? 0 : 1 }, ...biasSlice(channels)], axis: { kind: 'last' }, channels };
    }
    if (n.opType === 'MatMul' && wDims.length === 2 && !isConst(n.input?.[0] ?? '')) return { slices: [{ input: 1, axis: 1 }], axis: { kind: 'last' }, channels: wDims[1]! };
    if (n.opType === 'Conv' && attr(n, 'group', 1) === 1 && wDims.length >= 3) {
      return { slices: [{ input: 1, axis: 0 }, ...biasSlice(wDims[0]!)], axis: { kind: 'dim1', rank: wDims.length }, channels: wDims[0]! };
    }
    return undefined;
  };

  const groups: ChannelGroup[] = [];
  // Producers already in a group (kept or refused): not started from again.
  const explored = new Set<NodeProto>();
  const replaced = new Set<string>();
  let fresh = 0;

  for (const start of nodes) {
    if (explored.has(start)) continue;
    let role: ReturnType<typeof producerSlices>;
    try {
      role = producerSlices(start);
    } catch {
      role = undefined;
    }
    if (!role) continue;
    // Explore the group around start's output.
    const producers = new Map<NodeProto, Slice[]>();
    const consumers = new Map<NodeProto, Slice[]>();
    const params: Slice[] = [];
    const values = new Map<string, ChannelAxis>();
    const queue: string[] = [];
    const visited = new Set<NodeProto>();
    const channels = role.channels;
    const add = (name: string, axis: ChannelAxis, why: NodeProto) => {
      const known = values.get(name);
      if (known) {
        if (known.kind !== axis.kind || (known.kind === 'dim1' && axis.kind === 'dim1' && known.rank !== axis.rank)) throw new Refusal(`node "${why.name}" (${why.opType}) joins channels laid out differently`);
        return;
      }
      values.set(name, axis);
      queue.push(name);
    };
    /** A constant operand of a channel-wise node: sliced when it holds one value per channel. */
    const param = (n: NodeProto, input: number, axis: ChannelAxis) => {
      const name = n.input![input]!;
      const dims = dimsOf(name)!;
      const at = axis.kind === 'last' ? dims.length - 1 : 1 - (axis.rank - dims.length);
      if (at < 0 || dims[at] === 1 || dims.length === 0) return;
      if (dims[at] !== channels) throw new Refusal(`node "${n.name}" (${n.opType}) combines the ${channels} channels with a constant of dims [${dims}]`);
      if (inits.get(name)?.dataType !== 1) throw new Refusal(`node "${n.name}" (${n.opType}) reads a per-channel constant that is not an fp32 initializer`);
      params.push({ node: n, input, axis: at });
    };
    /** A node that keeps channels where they are: its channel inputs and output join the group. */
    const passThrough = (n: NodeProto, axis: ChannelAxis) => {
      if (visited.has(n)) return;
      visited.add(n);
      const op = n.opType ?? '';
      const extraOutputs = (n.output ?? []).slice(1).filter((o) => o && readers.has(o));
      if (extraOutputs.length || (n.output ?? []).slice(1).some((o) => graphOutputs.has(o))) throw new Refusal(`node "${n.name}" (${op}) has a second output in use`);
      if (UNARY.has(op)) {
        add(n.input![0]!, axis, n);
        add(n.output![0]!, axis, n);
      } else if (POOLS.has(op) || op === 'BatchNormalization' || op === 'InstanceNormalization') {
        if (axis.kind !== 'dim1') throw new Refusal(`node "${n.name}" (${op}) pools or normalises axis 1, but these channels are on the last axis`);
        add(n.input![0]!, axis, n);
        add(n.output![0]!, axis, n);
        const count = op === 'BatchNormalization' ? 5 : op === 'InstanceNormalization' ? 3 : 1;
        for (let i = 1; i < count; i++) {
          if (inits.get(n.input?.[i] ?? '')?.dataType !== 1) throw new Refusal(`node "${n.name}" (${op}) takes parameter ${i} from a computed value`);
          params.push({ node: n, input: i, axis: 0 });
        }
      } else if (BINARY.has(op)) {
        n.input!.forEach((name, i) => {
          if (!name) return;
          if (isConst(name)) param(n, i, axis);
          else add(name, axis, n);
        });
        add(n.output![0]!, axis, n);
      } else if (op === 'Conv' && axis.kind === 'dim1') {
        // Depthwise (group = channels, one filter each): channel c in, channel c out.
        const w = floatInit(n.input?.[1]);
        const wDims = w ? (w.dims ?? []).map(Number) : [];
        if (!w || attr(n, 'group', 1) !== channels || wDims[0] !== channels || wDims[1] !== 1) throw new Refusal(`node "${n.name}" (Conv) is a grouped convolution prune cannot follow`);
        add(n.input![0]!, axis, n);
        add(n.output![0]!, axis, n);
        params.push({ node: n, input: 1, axis: 0 });
        if (n.input?.[2]) params.push({ node: n, input: 2, axis: 0 });
      } else {
        throw new Refusal(`node "${n.name}" (${op}) is not channel-wise; prune cannot follow the channels through it`);
      }
    };
    const isDepthwise = (n: NodeProto) => n.opType === 'Conv' && attr(n, 'group', 1) > 1;
    const explore = () => {
      producers.set(start, role!.slices.map((s) => ({ node: start, ...s })));
      explored.add(start);
      add(start.output![0]!, role!.axis, start);
      while (queue.length) {
        const v = queue.shift()!;
        const axis = values.get(v)!;
        if (graphOutputs.has(v)) throw new Refusal(`value "${v}" is a graph output (its shape is the model's contract)`);
        if (readInSubgraph.has(v)) throw new Refusal(`value "${v}" is read inside an If/Loop body`);
        // Backward: where the channels come from.
        const p = producerOf.get(v);
        if (!p) throw new Refusal(`value "${v}" is a graph input${graphInputs.has(v) ? '' : ' or initializer'}`);
        if (!producers.has(p) && !visited.has(p)) {
          const r = isDepthwise(p) ? undefined : producerSlices(p);
          if (r && p.output?.[0] === v) {
            if (r.channels !== channels) throw new Refusal(`node "${p.name}" (${p.opType}) joins ${r.channels} channels with ${channels}`);
            producers.set(p, r.slices.map((s) => ({ node: p, ...s })));
            explored.add(p);
          } else if (p.opType === 'Flatten') {
            throw new Refusal(`node "${p.name}" (Flatten) is followed backwards; prune follows Flatten only forwards after a global pool`);
          } else passThrough(p, axis);
        }
        // Forward: who reads them.
        for (const { node: n, input } of readers.get(v) ?? []) {
          const op = n.opType ?? '';
          if (producers.has(n) && input !== 0) throw new Refusal(`node "${n.name}" (${op}) reads the channels as a weight`);
          if ((op === 'Gemm' || op === 'MatMul') && input === 0) {
            const w = floatInit(n.input?.[1]);
            const wDims = w ? (w.dims ?? []).map(Number) : [];
            if (!w || wDims.length !== 2 || (op === 'Gemm' && attr(n, 'transA', 0))) throw new Refusal(`node "${n.name}" (${op}) reads the channels but its weight is not a 2-D initializer`);
            if (axis.kind !== 'last') throw new Refusal(`node "${n.name}" (${op}) multiplies over the last axis, but the channels are on axis 1`);
            const along = op === 'Gemm' && attr(n, 'transB', 0) ? 1 : 0;
            if (wDims[along] !== channels) throw new Refusal(`node "${n.name}" (${op}) has ${wDims[along]} input rows for ${channels} channels`);
            const list = consumers.get(n) ?? consumers.set(n, []).get(n)!;
            list.push({ node: n, input: 1, axis: along });
          } else if (op === 'Conv' && input === 0 && !isDepthwise(n)) {
            const w = floatInit(n.input?.[1]);
            const wDims = w ? (w.dims ?? []).map(Number) : [];
            if (!w || axis.kind !== 'dim1' || wDims[1] !== channels) throw new Refusal(`node "${n.name}" (Conv) reads the channels but its weight does not have them on axis 1`);
            (consumers.get(n) ?? consumers.set(n, []).get(n)!).push({ node: n, input: 1, axis: 1 });
          } else if (op === 'Flatten' && axis.kind === 'dim1' && attr(n, 'axis', 1) === 1 && /^Global/.test(producerOf.get(v)?.opType ?? '')) {
            // After a global pool the spatial dims are 1: Flatten puts the channels on the last axis.
            if (!visited.has(n)) {
              visited.add(n);
              add(n.output![0]!, { kind: 'last' }, n);
            }
          } else if (!visited.has(n)) {
            passThrough(n, axis);
          }
        }
      }
    };
    const record: ChannelGroup = { producers: [], consumers: [], channels, kept: channels };
    try {
      explore();
      if (!consumers.size) throw new Refusal(`the channels of node "${start.name}" reach no Gemm, MatMul or Conv`);
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      record.refused = error.message;
    }
    record.producers = [...producers.keys()].map((n) => n.name ?? n.opType ?? '');
    record.consumers = [...consumers.keys()].map((n) => n.name ?? n.opType ?? '');
    groups.push(record);
    if (record.refused) continue;

    // Rank channels by the producers' weight norms; keep the strongest.
    const score = new Float64Array(channels);
    for (const slices of producers.values()) {
      const s = slices[0]!;
      const t = inits.get(s.node.input![s.input]!)!;
      const data = floatData(t)!;
      const dims = (t.dims ?? []).map(Number);
      const inner = dims.slice(s.axis + 1).reduce((a, b) => a * b, 1);
      for (let i = 0; i < data.length; i++) {
        const c = Math.floor(i / inner) % channels;
        score[c]! += norm === 'l1' ? Math.abs(data[i]!) : data[i]! * data[i]!;
      }
    }
    const keepCount = Math.max(1, channels - Math.floor(channels * sparsity));
    const keep = Array.from({ length: channels }, (_, c) => c)
      .sort((a, b) => score[b]! - score[a]! || a - b)
      .slice(0, keepCount)
      .sort((a, b) => a - b);
    record.kept = keepCount;
    const seen = new Set<string>();
    for (const s of [...[...producers.values()].flat(), ...[...consumers.values()].flat(), ...params]) {
      const key = `${nodes.indexOf(s.node)}:${s.input}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const name = s.node.input![s.input]!;
      const t = inits.get(name)!;
      const sliced = sliceTensor(t, s.axis, keep, `${name}__pruned${fresh++}`);
      inits.set(sliced.name!, sliced);
      replaced.add(name);
      s.node.input![s.input] = sliced.name!;
    }
    for (const v of values.keys()) graph.valueInfo = (graph.valueInfo ?? []).filter((vi) => vi.name !== v);
  }

  // Initializers: the sliced copies in, the ones they replace out where nothing reads them any more.
  const used = new Set<string>((graph.output ?? []).map((o) => o.name ?? ''));
  const markUsed = (g: onnxProto.onnx.IGraphProto) => {
    for (const n of g.node ?? []) {
      n.input?.forEach((i) => used.add(i));
      for (const a of n.attribute ?? []) [a.g, ...(a.graphs ?? [])].forEach((sub) => sub && markUsed(sub));
    }
  };
  markUsed(graph);
  const dead = (name: string) => (replaced.has(name) || name.includes('__pruned')) && !used.has(name);
  graph.initializer = [...inits.values()].filter((t) => !dead(t.name ?? '')).map((t) => onnxProto.onnx.TensorProto.create(t));
  graph.input = (graph.input ?? []).filter((v) => !dead(v.name ?? ''));
  return groups;
}

/** A copy of fp32 `t` keeping only indices `keep` along `axis`. */
function sliceTensor(t: TensorProto, axis: number, keep: readonly number[], name: string): TensorProto {
  const data = floatData(t)!;
  const dims = (t.dims ?? []).map(Number);
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const size = dims[axis]!;
  const out = new Float32Array(outer * keep.length * inner);
  let at = 0;
  for (let o = 0; o < outer; o++) {
    for (const k of keep) {
      out.set(data.subarray((o * size + k) * inner, (o * size + k + 1) * inner), at);
      at += inner;
    }
  }
  const newDims = dims.map((d, i) => (i === axis ? keep.length : d));
  return { name, dims: newDims, dataType: 1, rawData: new Uint8Array(out.buffer) };
}
