// Sparse initializers (GraphProto.sparse_initializer: nonzero values + linear or coordinate
// indices, as `npm run prune` writes pruned weights) densified at read time, and a Concat of
// constants folded into one constant, since prune cuts large sparse tensors into blocks joined
// by a Concat. The compiler then sees ordinary constants full of zeros, which the sparse
// layout of constant-codec.ts carries without their zeros.
import type onnxProto from 'onnx-proto';
import { MicroCompileError } from './errors.ts';
import { constFromProto, type ConstData, type ConstTensor, type IrNode, type ReadLimits } from './model-ir.ts';

type SparseTensorProtoLike = onnxProto.onnx.ISparseTensorProto;

function newLike(data: ConstData, count: number): ConstData {
  return new (data.constructor as new (n: number) => ConstData)(count);
}

const INDEX_WIDTH: Record<number, number> = { 3: 1, 5: 2, 6: 4, 7: 8 };

/** Indices of a sparse tensor: int8, int16, int32 or int64 (onnxruntime reads all four; prune writes the narrowest). */
function readIndices(t: onnxProto.onnx.ITensorProto, where: string): { dims: number[]; data: ArrayLike<number | bigint> } {
  const code = t.dataType ?? 0;
  const width = INDEX_WIDTH[code];
  if (!width) throw new MicroCompileError('invalid_model', `${where} has indices of element type ${code}; sparse indices are int8, int16, int32 or int64`);
  const dims = (t.dims ?? []).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  if (t.rawData && t.rawData.length > 0) {
    if (t.rawData.length !== count * width) throw new MicroCompileError('invalid_model', `${where} declares ${count} indices but holds ${t.rawData.length} bytes`);
    const raw = new Uint8Array(t.rawData).buffer;
    return { dims, data: width === 1 ? new Int8Array(raw) : width === 2 ? new Int16Array(raw) : width === 4 ? new Int32Array(raw) : new BigInt64Array(raw) };
  }
  const list = code === 7 ? (t.int64Data ?? []).map(Number) : [...(t.int32Data ?? [])];
  if (list.length !== count) throw new MicroCompileError('invalid_model', `${where} declares ${count} indices but holds ${list.length}`);
  return { dims, data: list };
}

/** One sparse initializer as a dense ConstTensor (name from its values tensor). */
export function denseFromSparse(s: SparseTensorProtoLike, limits: ReadLimits): { name: string; tensor: ConstTensor } {
  const name = s.values?.name ?? '';
  const where = `sparse initializer "${name}"`;
  if (!s.values || !s.indices) throw new MicroCompileError('invalid_model', `${where} lacks values or indices`);
  const dims = (s.dims ?? []).map(Number);
  const values = constFromProto(s.values, where, limits);
  const indices = readIndices(s.indices, where);
  let count = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new MicroCompileError('invalid_model', `${where} has an invalid dimension ${d}`);
    count *= d;
  }
  if (count > limits.maxTensorElements) throw new MicroCompileError('unsupported_shape', `${where} declares ${count} elements, over the micro budget of ${limits.maxTensorElements}`);
  const nnz = values.data.length;
  const data = newLike(values.data, count);
  // Indices: [NNZ] linear, or [NNZ, rank] coordinates (row-major).
  const coordinates = indices.dims.length === 2;
  if (indices.data.length !== (coordinates ? nnz * dims.length : nnz) || (coordinates && indices.dims[1] !== dims.length)) throw new MicroCompileError('invalid_model', `${where} has ${indices.data.length} indices for ${nnz} values`);
  for (let j = 0; j < nnz; j++) {
    let at = 0;
    if (coordinates) for (let k = 0; k < dims.length; k++) at = at * dims[k]! + Number(indices.data[j * dims.length + k]);
    else at = Number(indices.data[j]);
    if (!(at >= 0 && at < count)) throw new MicroCompileError('invalid_model', `${where} has index ${at} outside its ${count} elements`);
    data[at] = values.data[j]!;
  }
  return { name, tensor: { dtype: values.dtype, dims, data } };
}

/**
 * Nodes with every `Concat` whose inputs are all constants (of one dtype) replaced by a new
 * constant under its output name, added to `initializers` (graph outputs stay nodes).
 */
export function foldConstantConcats(nodes: IrNode[], initializers: Map<string, ConstTensor>, graphOutputs: ReadonlySet<string>): IrNode[] {
  return nodes.filter((n) => {
    if (n.opType !== 'Concat' || graphOutputs.has(n.outputs[0] ?? '') || (n.domain !== '' && n.domain !== 'ai.onnx') || n.outputs.length !== 1) return true;
    const parts = n.inputs.map((i) => initializers.get(i));
    if (!parts.length || parts.some((p) => !p || p.dtype !== parts[0]!.dtype || p.dims.length !== parts[0]!.dims.length)) return true;
    const first = parts[0]!;
    const rank = first.dims.length;
    const rawAxis = Number(n.attrs.get('axis') ?? 0);
    const axis = rawAxis < 0 ? rawAxis + rank : rawAxis;
    if (!(axis >= 0 && axis < rank)) return true;
    if (parts.some((p) => p!.dims.some((d, k) => k !== axis && d !== first.dims[k]))) return true;
    const dims = first.dims.map((d, k) => (k === axis ? parts.reduce((s, p) => s + p!.dims[axis]!, 0) : d));
    const outer = first.dims.slice(0, axis).reduce((a, b) => a * b, 1);
    const count = dims.reduce((a, b) => a * b, 1);
    const data = newLike(first.data, count);
    let at = 0;
    for (let o = 0; o < outer && count > 0; o++) {
      for (const p of parts) {
        const span = p!.data.length / outer;
        (data as Float32Array).set((p!.data as Float32Array).subarray(o * span, (o + 1) * span), at);
        at += span;
      }
    }
    initializers.set(n.outputs[0]!, { dtype: first.dtype, dims, data });
    return false;
  });
}
