// Pruned weights as `npm run prune` writes them, turned back into plain constants at read time:
// sparse initializers (GraphProto.sparse_initializer: nonzero values + linear or coordinate
// indices) densified; Concat of constants (large sparse tensors come in blocks) and the
// gap-coded form (Cast → CumSum → ConstantOfShape → ScatterND → Reshape over constants) folded.
// The compiler then sees ordinary constants full of zeros, which the sparse layout of
// constant-codec.ts carries without their zeros, and which BatchNorm folding and the conv
// kernels read at compile time like any initializer.
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

const isDefault = (n: IrNode) => n.domain === '' || n.domain === 'ai.onnx';
const ELEMENTS = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

function concat(n: IrNode, parts: ConstTensor[]): ConstTensor | undefined {
  const first = parts[0]!;
  const rank = first.dims.length;
  const rawAxis = Number(n.attrs.get('axis') ?? 0);
  const axis = rawAxis < 0 ? rawAxis + rank : rawAxis;
  if (!(axis >= 0 && axis < rank)) return undefined;
  if (parts.some((p) => p.dtype !== first.dtype || p.dims.length !== rank || p.dims.some((d, k) => k !== axis && d !== first.dims[k]))) return undefined;
  const dims = first.dims.map((d, k) => (k === axis ? parts.reduce((s, p) => s + p.dims[axis]!, 0) : d));
  const outer = ELEMENTS(first.dims.slice(0, axis));
  const count = ELEMENTS(dims);
  const data = newLike(first.data, count);
  let at = 0;
  for (let o = 0; o < outer && count > 0; o++) {
    for (const p of parts) {
      const span = p.data.length / outer;
      (data as Float32Array).set((p.data as Float32Array).subarray(o * span, (o + 1) * span), at);
      at += span;
    }
  }
  return { dtype: first.dtype, dims, data };
}

const CAST_TO: Record<number, { dtype: ConstTensor['dtype']; make: (n: number) => ConstData }> = {
  1: { dtype: 'float32', make: (n) => new Float32Array(n) },
  6: { dtype: 'int32', make: (n) => new Int32Array(n) },
  7: { dtype: 'int64', make: (n) => new Float64Array(n) },
};

/** The value of `n` when every input is a known constant and the op is one prune writes; undefined otherwise. */
function evaluate(n: IrNode, inputs: ConstTensor[], maxElements: number): ConstTensor | undefined {
  switch (n.opType) {
    case 'Concat':
      return inputs.length && inputs.reduce((s, t) => s + t.data.length, 0) <= maxElements ? concat(n, inputs) : undefined;
    case 'Cast': {
      const to = CAST_TO[Number(n.attrs.get('to'))];
      if (!to || inputs.length !== 1 || inputs[0]!.dtype === 'bool') return undefined;
      // int8/uint8 weights cast to float (quantized weights below opset 13: Cast + Mul) stay one byte each in the module; the Cast runs at import.
      if (to.dtype === 'float32' && (inputs[0]!.dtype === 'int8' || inputs[0]!.dtype === 'uint8')) return undefined;
      const data = to.make(inputs[0]!.data.length);
      for (let i = 0; i < data.length; i++) data[i] = to.dtype === 'float32' ? Number(inputs[0]!.data[i]) : Math.trunc(Number(inputs[0]!.data[i]));
      return { dtype: to.dtype, dims: [...inputs[0]!.dims], data };
    }
    case 'CumSum': {
      const [x, axisT] = inputs;
      if (!x || !axisT || x.dtype === 'bool' || n.attrs.get('exclusive') || n.attrs.get('reverse')) return undefined;
      const rank = x.dims.length;
      const axis = (Number(axisT.data[0]) + rank) % rank;
      const inner = ELEMENTS(x.dims.slice(axis + 1));
      const len = x.dims[axis]!;
      const data = newLike(x.data, x.data.length);
      for (let i = 0; i < x.data.length; i++) {
        const k = Math.floor(i / inner) % len;
        data[i] = Number(x.data[i]) + (k > 0 ? Number(data[i - inner]) : 0);
      }
      return { dtype: x.dtype, dims: [...x.dims], data };
    }
    case 'ConstantOfShape': {
      const shape = inputs[0];
      if (!shape) return undefined;
      const dims = Array.from(shape.data as ArrayLike<number>, Number);
      const value = n.attrs.get('value') as ConstTensor | undefined;
      const proto = value ?? { dtype: 'float32' as const, dims: [1], data: new Float32Array(1) };
      if (!dims.every((d) => Number.isSafeInteger(d) && d >= 0) || ELEMENTS(dims) > maxElements) return undefined;
      const data = newLike(proto.data, ELEMENTS(dims));
      if (proto.data[0]) data.fill(proto.data[0] as number);
      return { dtype: proto.dtype, dims, data };
    }
    case 'ScatterND': {
      const [base, indices, updates] = inputs;
      if (!base || !indices || !updates || (n.attrs.get('reduction') ?? 'none') !== 'none') return undefined;
      const k = indices.dims.at(-1)!;
      if (!(k >= 1 && k <= base.dims.length)) return undefined;
      const slice = ELEMENTS(base.dims.slice(k));
      const data = (base.data as Float32Array).slice();
      const count = indices.data.length / k;
      if (updates.data.length !== count * slice || updates.dtype !== base.dtype) return undefined;
      for (let j = 0; j < count; j++) {
        let at = 0;
        for (let q = 0; q < k; q++) {
          const idx = Number(indices.data[j * k + q]);
          const dim = base.dims[q]!;
          const i = idx < 0 ? idx + dim : idx;
          if (!(i >= 0 && i < dim)) throw new MicroCompileError('invalid_model', `node "${n.name}" (op ScatterND): index ${idx} outside dimension ${dim}`);
          at = at * dim + i;
        }
        for (let e = 0; e < slice; e++) data[at * slice + e] = updates.data[j * slice + e] as number;
      }
      return { dtype: base.dtype, dims: [...base.dims], data };
    }
    case 'Reshape': {
      const [x, shape] = inputs;
      if (!x || !shape || n.attrs.get('allowzero')) return undefined;
      const dims = Array.from(shape.data as ArrayLike<number>, Number).map((d, i) => (d === 0 ? x.dims[i]! : d));
      const known = dims.filter((d) => d !== -1);
      if (dims.length - known.length > 1) return undefined;
      const fill = ELEMENTS(known) > 0 ? x.data.length / ELEMENTS(known) : 0;
      const out = dims.map((d) => (d === -1 ? fill : d));
      if (ELEMENTS(out) !== x.data.length) return undefined;
      return { dtype: x.dtype, dims: out, data: x.data };
    }
    default:
      return undefined;
  }
}

/**
 * Nodes with every Concat, Cast, CumSum, ConstantOfShape, ScatterND and Reshape whose inputs
 * are all constants replaced by a new constant under its output name, added to
 * `initializers` (graph outputs stay nodes).
 */
export function foldConstantNodes(nodes: IrNode[], initializers: Map<string, ConstTensor>, graphOutputs: ReadonlySet<string>, limits: ReadLimits): IrNode[] {
  return nodes.filter((n) => {
    if (!isDefault(n) || n.outputs.length !== 1 || graphOutputs.has(n.outputs[0] ?? '')) return true;
    const inputs = n.inputs.map((i) => initializers.get(i));
    if (inputs.some((t) => !t)) return true;
    const value = evaluate(n, inputs as ConstTensor[], limits.maxTensorElements);
    if (!value) return true;
    initializers.set(n.outputs[0]!, value);
    return false;
  });
}
