// Unstructured magnitude pruning of an ONNX graph: in every fp32 weight of MatMul, Gemm, Conv
// (and ConvTranspose) and every fp32 embedding table read by Gather, the given fraction of
// elements with the smallest |w| becomes 0 (per tensor, as torch.nn.utils.prune.l1_unstructured
// does). Each pruned tensor is then stored as sparse initializers (prune-sparse.ts) where that is
// smaller than dense, so the file shrinks, not only its gzip.
import { gzipSync } from 'node:zlib';
import onnxProto from 'onnx-proto';
import { encodeSparseWeight, floatData } from './prune-sparse.ts';

type ModelProto = onnxProto.onnx.ModelProto;

/** Weight inputs by op: which input indices hold weights, and the lowest rank counted as a weight. */
const WEIGHT_INPUTS: Record<string, { inputs: number[]; minRank: number }> = {
  MatMul: { inputs: [0, 1], minRank: 2 },
  Gemm: { inputs: [0, 1], minRank: 2 },
  Conv: { inputs: [1], minRank: 3 },
  ConvTranspose: { inputs: [1], minRank: 3 },
  Gather: { inputs: [0], minRank: 2 },
};

/** What happened to one weight tensor. */
export interface PrunedTensor {
  name: string;
  /** The op(s) reading it, e.g. "Gemm". */
  op: string;
  dims: number[];
  elements: number;
  zeros: number;
  /** How it is stored now. */
  storage: 'sparse' | 'sparse-blocks' | 'dense';
  /** Bytes of its data before → after. */
  bytesBefore: number;
  bytesAfter: number;
}

function gzipBytes(list: readonly onnxProto.onnx.ISparseTensorProto[]): number {
  const parts = list.flatMap((s) => [s.values?.rawData ?? new Uint8Array(), s.indices?.rawData ?? new Uint8Array()]);
  return gzipSync(Buffer.concat(parts)).length;
}

/** Zeroes the `sparsity` fraction of smallest-magnitude elements (ties by index), in place; returns how many are zero now. */
export function magnitudePrune(data: Float32Array, sparsity: number): number {
  const drop = Math.floor(data.length * sparsity);
  if (drop > 0) {
    // The drop-th smallest |w| is the cut: everything below goes, then equal ones by index.
    const cut = Float32Array.from(data, Math.abs).sort()[drop - 1]!;
    let dropped = 0;
    for (let i = 0; i < data.length; i++) if (Math.abs(data[i]!) < cut) (data[i] = 0), dropped++;
    for (let i = 0; i < data.length && dropped < drop; i++) if (Math.abs(data[i]!) === cut) (data[i] = 0), dropped++;
  }
  let zeros = 0;
  for (let i = 0; i < data.length; i++) if (data[i] === 0) zeros++;
  return zeros;
}

/** The fp32 weight initializers a graph's MatMul/Gemm/Conv/Gather nodes read, with their ops. */
export function weightInitializers(model: ModelProto): Map<string, Set<string>> {
  const graph = model.graph!;
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const found = new Map<string, Set<string>>();
  for (const node of graph.node ?? []) {
    if (node.domain && node.domain !== 'ai.onnx') continue;
    const spec = WEIGHT_INPUTS[node.opType ?? ''];
    if (!spec) continue;
    for (const i of spec.inputs) {
      const name = node.input?.[i];
      const t = name ? inits.get(name) : undefined;
      if (!t || t.dataType !== 1 || (t.dims ?? []).length < spec.minRank) continue;
      (found.get(name!) ?? found.set(name!, new Set()).get(name!)!).add(node.opType!);
    }
  }
  return found;
}

export interface PruneStorageOptions {
  /** auto: sparse initializers where smaller raw and not larger gzipped; sparse: wherever smaller raw; dense: zeros in place. */
  storage?: 'auto' | 'sparse' | 'dense';
  /** Progress: tensor index, total, name. */
  onTensor?: (done: number, total: number, name: string) => void;
}

/**
 * Prunes `model` (decoded; changed in place) to `sparsity` in [0, 1): returns one record per
 * weight. `onTensor` reports progress (tensor index, total).
 */
export function pruneUnstructured(model: ModelProto, sparsity: number, options: PruneStorageOptions = {}): PrunedTensor[] {
  const { onTensor, storage = 'auto' } = options;
  const graph = model.graph!;
  const weights = weightInitializers(model);
  const report: PrunedTensor[] = [];
  const removed = new Set<string>();
  const concats: onnxProto.onnx.INodeProto[] = [];
  let done = 0;
  for (const t of graph.initializer ?? []) {
    const name = t.name ?? '';
    const ops = weights.get(name);
    if (!ops) continue;
    onTensor?.(done++, weights.size, name);
    const data = floatData(t);
    if (!data) continue;
    const dims = (t.dims ?? []).map(Number);
    const zeros = magnitudePrune(data, sparsity);
    // Sparse only where it is smaller raw (encodeSparseWeight) and does not gzip larger than the zeroed dense bytes.
    let sparse = storage === 'dense' ? undefined : encodeSparseWeight(name, dims, data);
    if (sparse && storage === 'auto' && gzipBytes(sparse.sparse) > gzipSync(new Uint8Array(data.buffer)).length) sparse = undefined;
    const record = { name, op: [...ops].join('+'), dims, elements: data.length, zeros, bytesBefore: data.length * 4 };
    if (sparse) {
      removed.add(name);
      graph.sparseInitializer = [...(graph.sparseInitializer ?? []), ...sparse.sparse.map((s) => onnxProto.onnx.SparseTensorProto.create(s))];
      if (sparse.concat) concats.push(sparse.concat);
      report.push({ ...record, storage: sparse.concat ? 'sparse-blocks' : 'sparse', bytesAfter: sparse.bytes });
    } else {
      t.rawData = new Uint8Array(data.buffer);
      t.floatData = [];
      report.push({ ...record, storage: 'dense', bytesAfter: data.length * 4 });
    }
  }
  graph.initializer = (graph.initializer ?? []).filter((t) => !removed.has(t.name ?? ''));
  // Before IR 4 initializers were also listed as graph inputs; a sparse one must not be.
  graph.input = (graph.input ?? []).filter((v) => !removed.has(v.name ?? ''));
  graph.node = [...concats.map((c) => onnxProto.onnx.NodeProto.create(c)), ...(graph.node ?? [])];
  // sparse_initializer exists from IR version 6 on.
  if (removed.size && Number(model.irVersion ?? 0) < 6) model.irVersion = 6;
  return report;
}
