// Unstructured magnitude pruning of an ONNX graph: in every fp32 weight of MatMul, Gemm, Conv
// (and ConvTranspose) and every fp32 embedding table read by Gather, the given fraction of
// elements with the smallest |w| becomes 0 (per tensor, as torch.nn.utils.prune.l1_unstructured
// does). Each pruned tensor is then stored as sparse initializers (prune-sparse.ts) where that is
// smaller than dense, so the file shrinks, not only its gzip.
import { gzipSync } from 'node:zlib';
import onnxProto from 'onnx-proto';
import { encodeScatterWeight, encodeSparseWeight, floatData } from './prune-sparse.ts';

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
  storage: 'scatter' | 'sparse' | 'sparse-blocks' | 'dense';
  /** Bytes of its data before → after. */
  bytesBefore: number;
  bytesAfter: number;
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

/** How a pruned tensor is stored. */
export type PruneStorage = 'auto' | 'scatter' | 'sparse' | 'dense';

export interface PruneStorageOptions {
  /**
   * scatter: nonzero values + uint8 gaps rebuilt by a ScatterND (opset >= 11); sparse: ONNX
   * sparse initializers; dense: zeros in place; auto (default): per tensor the one that gzips
   * smallest among those smaller raw than dense (dense when none is).
   */
  storage?: PruneStorage;
  /** Progress: tensor index, total, name. */
  onTensor?: (done: number, total: number, name: string) => void;
}

/** Default-domain opset of a model. */
export function defaultOpset(model: ModelProto): number {
  const entry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  return entry ? Number(entry.version) : 1;
}

const gzipLength = (parts: readonly Uint8Array[]) => gzipSync(Buffer.concat(parts)).length;

/**
 * Prunes `model` (decoded; changed in place) to `sparsity` in [0, 1): returns one record per
 * weight. `onTensor` reports progress (tensor index, total).
 */
export function pruneUnstructured(model: ModelProto, sparsity: number, options: PruneStorageOptions = {}): PrunedTensor[] {
  const { onTensor, storage = 'auto' } = options;
  const graph = model.graph!;
  const weights = weightInitializers(model);
  const scatterOk = defaultOpset(model) >= 11;
  if (storage === 'scatter' && !scatterOk) throw new Error(`--storage scatter needs opset 11 or later (ScatterND, CumSum); this graph is opset ${defaultOpset(model)}`);
  const report: PrunedTensor[] = [];
  const removed = new Set<string>();
  const added: onnxProto.onnx.ITensorProto[] = [];
  const rebuild: onnxProto.onnx.INodeProto[] = [];
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
    const dense = new Uint8Array(data.buffer);
    type Candidate = { storage: PrunedTensor['storage']; raw: number; gzip: () => number; apply: () => void };
    const candidates: Candidate[] = [];
    if (storage === 'auto' || storage === 'sparse') {
      const sparse = encodeSparseWeight(name, dims, data);
      if (sparse) {
        candidates.push({
          storage: sparse.concat ? 'sparse-blocks' : 'sparse',
          raw: sparse.bytes,
          gzip: () => gzipLength(sparse.sparse.flatMap((s) => [s.values?.rawData ?? new Uint8Array(), s.indices?.rawData ?? new Uint8Array()])),
          apply: () => {
            graph.sparseInitializer = [...(graph.sparseInitializer ?? []), ...sparse.sparse.map((s) => onnxProto.onnx.SparseTensorProto.create(s))];
            if (sparse.concat) rebuild.push(sparse.concat);
          },
        });
      }
    }
    if ((storage === 'auto' && scatterOk) || storage === 'scatter') {
      const scatter = encodeScatterWeight(name, dims, data);
      // Its 5 small initializers and 5 nodes cost a few hundred bytes of names and tags.
      if (scatter.bytes + 320 + 10 * name.length < dense.length || storage === 'scatter') {
        candidates.push({
          storage: 'scatter',
          raw: scatter.bytes,
          gzip: () => gzipLength(scatter.initializers.slice(0, 2).map((i) => i.rawData!)),
          apply: () => {
            added.push(...scatter.initializers);
            rebuild.push(...scatter.nodes);
          },
        });
      }
    }
    const record = { name, op: [...ops].join('+'), dims, elements: data.length, zeros, bytesBefore: data.length * 4 };
    let chosen: Candidate | undefined = storage === 'dense' ? undefined : candidates[0];
    if (storage === 'auto' && candidates.length) {
      const sized = candidates.map((c) => ({ c, gzip: c.gzip() }));
      const denseGzip = gzipLength([dense]);
      const best = sized.reduce((a, b) => (b.gzip < a.gzip || (b.gzip === a.gzip && b.c.raw < a.c.raw) ? b : a));
      chosen = best.gzip <= denseGzip ? best.c : undefined;
    }
    if (chosen) {
      removed.add(name);
      chosen.apply();
      report.push({ ...record, storage: chosen.storage, bytesAfter: chosen.raw });
    } else {
      t.rawData = dense;
      t.floatData = [];
      report.push({ ...record, storage: 'dense', bytesAfter: dense.length });
    }
  }
  graph.initializer = [...(graph.initializer ?? []).filter((t) => !removed.has(t.name ?? '')), ...added.map((t) => onnxProto.onnx.TensorProto.create(t))];
  // Before IR 4 initializers were also listed as graph inputs; a rebuilt one must not be.
  graph.input = (graph.input ?? []).filter((v) => !removed.has(v.name ?? ''));
  graph.node = [...rebuild.map((c) => onnxProto.onnx.NodeProto.create(c)), ...(graph.node ?? [])];
  // sparse_initializer exists from IR version 6 on.
  if ((graph.sparseInitializer ?? []).length && Number(model.irVersion ?? 0) < 6) model.irVersion = 6;
  return report;
}
