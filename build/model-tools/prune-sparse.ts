// How a pruned weight is stored so the .onnx really shrinks: as ONNX sparse initializers
// (GraphProto.sparse_initializer: the nonzero values plus their linear indices), which
// onnxruntime-node, onnxruntime-web and the micro compiler densify at load. Indices take the
// narrowest signed type that holds them (onnxruntime reads int8/16/32/64; the ONNX checker
// asks for int64, which at 8 bytes an index would make a half-pruned tensor 3x larger). A
// tensor too large for int16 indices is cut along its first axis into blocks of at most 32,768
// elements, each a sparse initializer, joined back by one Concat (folded at load by every
// engine). A tensor is only stored sparse when that is smaller than its dense bytes.
import type onnxProto from 'onnx-proto';

type TensorProto = onnxProto.onnx.ITensorProto;
type SparseTensorProto = onnxProto.onnx.ISparseTensorProto;
type NodeProto = onnxProto.onnx.INodeProto;

const FLOAT = 1;
const INT8 = 3;
const INT16 = 5;
const INT32 = 6;
/** Bytes a sparse initializer costs beyond its values and indices (names, dims, tags), roughly. */
const BLOCK_OVERHEAD = 48;
const INT16_SPAN = 32768;

/** A dense fp32 tensor stored sparse: the sparse initializers and, for blocks, the Concat that rebuilds it. */
export interface SparseWeight {
  sparse: SparseTensorProto[];
  /** Present when the tensor is cut into blocks: a Concat (axis 0) whose output is the tensor's name. */
  concat?: NodeProto;
  /** Encoded payload bytes (values + indices), for the report. */
  bytes: number;
}

function indexType(span: number): { code: number; width: number } {
  if (span <= 128) return { code: INT8, width: 1 };
  if (span <= INT16_SPAN) return { code: INT16, width: 2 };
  return { code: INT32, width: 4 };
}

function sparseOf(name: string, dims: number[], data: Float32Array): SparseTensorProto {
  const kept: number[] = [];
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) kept.push(i);
  const { code, width } = indexType(data.length);
  const values = Float32Array.from(kept, (i) => data[i]!);
  const indices = width === 1 ? new Uint8Array(Int8Array.from(kept).buffer) : width === 2 ? new Uint8Array(Int16Array.from(kept).buffer) : new Uint8Array(Int32Array.from(kept).buffer);
  return {
    dims,
    values: { name, dims: [kept.length], dataType: FLOAT, rawData: new Uint8Array(values.buffer) },
    indices: { name: `${name}__indices`, dims: [kept.length], dataType: code, rawData: indices },
  };
}

function payload(s: SparseTensorProto): number {
  return (s.values?.rawData?.length ?? 0) + (s.indices?.rawData?.length ?? 0);
}

/**
 * The smallest storage of `data` (fp32, `dims`) as sparse initializers, or undefined when
 * dense bytes are smaller (too few zeros). The tensor keeps its name: the single sparse
 * initializer's values carry it, or the Concat's output does.
 */
export function encodeSparseWeight(name: string, dims: number[], data: Float32Array): SparseWeight | undefined {
  const dense = data.length * 4;
  let nonzero = 0;
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) nonzero++;
  const whole = (4 + indexType(data.length).width) * nonzero + BLOCK_OVERHEAD;
  const rows = dims[0] ?? 1;
  const rowSize = rows > 0 ? data.length / rows : 0;
  const rowsPerBlock = rowSize > 0 ? Math.floor(INT16_SPAN / rowSize) : 0;
  const canBlock = dims.length >= 1 && data.length > INT16_SPAN && rowsPerBlock >= 1;
  const blocks = canBlock ? Math.ceil(rows / rowsPerBlock) : 0;
  const blocked = canBlock ? 6 * nonzero + blocks * BLOCK_OVERHEAD + 32 * blocks : Infinity;
  if (Math.min(whole, blocked) >= dense) return undefined;
  if (whole <= blocked) {
    const s = sparseOf(name, dims, data);
    return { sparse: [s], bytes: payload(s) };
  }
  const sparse: SparseTensorProto[] = [];
  const names: string[] = [];
  for (let b = 0; b < blocks; b++) {
    const from = b * rowsPerBlock;
    const to = Math.min(rows, from + rowsPerBlock);
    const blockName = `${name}__block${b}`;
    names.push(blockName);
    sparse.push(sparseOf(blockName, [to - from, ...dims.slice(1)], data.subarray(from * rowSize, to * rowSize)));
  }
  const concat: NodeProto = { opType: 'Concat', name: `${name}__concat`, input: names, output: [name], attribute: [{ name: 'axis', type: 2, i: 0 }] };
  return { sparse, concat, bytes: sparse.reduce((n, s) => n + payload(s), 0) };
}

/** Dense fp32 data of an initializer (raw_data or float_data), or undefined for other types / external data. */
export function floatData(t: TensorProto): Float32Array | undefined {
  if (t.dataType !== FLOAT || t.dataLocation === 1) return undefined;
  const count = (t.dims ?? []).reduce<number>((n, d) => n * Number(d), 1);
  if (t.rawData && t.rawData.length > 0) {
    if (t.rawData.length !== count * 4) return undefined;
    // A copy at offset 0: protobufjs hands out unaligned views into a shared buffer.
    return new Float32Array(new Uint8Array(t.rawData).buffer);
  }
  const f = Float32Array.from(t.floatData ?? []);
  return f.length === count ? f : undefined;
}

/** A dense fp32 tensor rebuilt in the graph from its nonzero values and the gaps between their positions. */
export interface ScatterWeight {
  initializers: TensorProto[];
  /** Cast → CumSum → ConstantOfShape → ScatterND → Reshape, the last output named as the tensor. */
  nodes: NodeProto[];
  bytes: number;
}

const INT64 = 7;
const UINT8 = 2;

function int64Tensor(name: string, values: number[], dims: number[]): TensorProto {
  return { name, dims, dataType: INT64, rawData: new Uint8Array(BigInt64Array.from(values, (v) => BigInt(v)).buffer) };
}

/**
 * Gap-coded storage (opset >= 11): the nonzero values, and per value the distance from the
 * previous one's position as one uint8 (a gap over 255 takes extra entries of value 0), so a
 * half-pruned tensor costs 5 bytes per kept element instead of 4 per element, and the gaps,
 * mostly 1-3, gzip to a few bits each. The graph rebuilds the tensor with standard ops:
 * positions = CumSum(Cast(gaps, int64)); ScatterND(ConstantOfShape([n], 0), positions, values),
 * reshaped to the tensor's dims. onnxruntime folds it at session creation, the micro compiler
 * at read time (build/micro/sparse-initializers.ts).
 */
export function encodeScatterWeight(name: string, dims: number[], data: Float32Array): ScatterWeight {
  const values: number[] = [];
  const gaps: number[] = [];
  let last = 0;
  for (let i = 0; i < data.length; i++) {
    if (data[i] === 0) continue;
    // The first position counts from 0 (a gap of 0 only there), the others from the previous one.
    let gap = i - last;
    while (gap > 255) {
      values.push(0);
      gaps.push(255);
      gap -= 255;
    }
    values.push(data[i]!);
    gaps.push(gap);
    last = i;
  }
  const m = values.length;
  const p = `${name}__`;
  const initializers: TensorProto[] = [
    { name: `${p}values`, dims: [m], dataType: FLOAT, rawData: new Uint8Array(Float32Array.from(values).buffer) },
    { name: `${p}gaps`, dims: [m, 1], dataType: UINT8, rawData: Uint8Array.from(gaps) },
    int64Tensor(`${p}count`, [data.length], [1]),
    int64Tensor(`${p}dims`, dims, [dims.length]),
    int64Tensor(`${p}axis`, [0], []),
  ];
  const zero: TensorProto = { name: '', dims: [1], dataType: FLOAT, rawData: new Uint8Array(4) };
  const nodes: NodeProto[] = [
    { opType: 'Cast', name: `${p}cast`, input: [`${p}gaps`], output: [`${p}gaps64`], attribute: [{ name: 'to', type: 2, i: INT64 }] },
    { opType: 'CumSum', name: `${p}cumsum`, input: [`${p}gaps64`, `${p}axis`], output: [`${p}positions`] },
    { opType: 'ConstantOfShape', name: `${p}zeros`, input: [`${p}count`], output: [`${p}flat0`], attribute: [{ name: 'value', type: 4, t: zero }] },
    { opType: 'ScatterND', name: `${p}scatter`, input: [`${p}flat0`, `${p}positions`, `${p}values`], output: [`${p}flat`] },
    { opType: 'Reshape', name: `${p}reshape`, input: [`${p}flat`, `${p}dims`], output: [name] },
  ];
  return { initializers, nodes, bytes: m * 5 };
}
