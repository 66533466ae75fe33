// Reads an ONNX ModelProto into the small graph form the micro compiler works on:
// constant tensors as typed arrays, attributes as plain values, dims as numbers or symbols.
import type onnxProto from 'onnx-proto';
import { decodeModel } from '../onnx/builder.ts';
import { MicroCompileError, ORT_FALLBACK_HINT } from './errors.ts';

/** Element types the micro engine computes with. int64 is held in Float64Array internally. */
export type DType = 'float32' | 'int32' | 'int64' | 'int8' | 'uint8';

/** Typed array of a constant; int64 values are stored as doubles (exact below 2^53). */
export type ConstData = Float32Array | Int32Array | Float64Array | Int8Array | Uint8Array;

/** A tensor whose values are known at compile time. */
export interface ConstTensor {
  dtype: DType;
  dims: number[];
  data: ConstData;
}

/** An attribute value after decoding. */
export type AttrValue = number | number[] | string | ConstTensor;

export interface IrNode {
  name: string;
  opType: string;
  domain: string;
  /** '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attrs: Map<string, AttrValue>;
}

/** A graph input or output: dims are numbers, symbol names, or null when unnamed and unknown. */
export interface IrValueInfo {
  name: string;
  dtype: DType;
  dims: Array<number | string | null>;
}

export interface IrGraph {
  /** Default-domain opset version. */
  opset: number;
  inputs: IrValueInfo[];
  outputs: IrValueInfo[];
  initializers: Map<string, ConstTensor>;
  nodes: IrNode[];
}

const DTYPE_BY_CODE: Record<number, DType> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64' };
const ONNX_TYPE_NAMES: Record<number, string> = {
  0: 'undefined', 1: 'float', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string',
  9: 'bool', 10: 'float16', 11: 'double', 12: 'uint32', 13: 'uint64', 14: 'complex64', 15: 'complex128', 16: 'bfloat16',
};

/** Maps an ONNX TensorProto.DataType code to a micro dtype, or throws naming the type. */
export function dtypeFromCode(code: number, where: string): DType {
  const dtype = DTYPE_BY_CODE[code];
  if (!dtype) {
    throw new MicroCompileError(
      'unsupported_dtype',
      `${where} has element type ${ONNX_TYPE_NAMES[code] ?? code}, which the micro engine does not compute with (float, int8, uint8, int32, int64); ${ORT_FALLBACK_HINT}`,
    );
  }
  return dtype;
}

// protobufjs hands 64-bit integers over as Long objects when long.js is present.
function num(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'object' && value !== null && 'toNumber' in value) return (value as { toNumber(): number }).toNumber();
  return Number(value);
}

type TensorProtoLike = onnxProto.onnx.ITensorProto;
type ValueInfoLike = onnxProto.onnx.IValueInfoProto;

/** Decodes a TensorProto into a ConstTensor. */
export function constFromProto(t: TensorProtoLike, where: string): ConstTensor {
  const dtype = dtypeFromCode(t.dataType ?? 0, where);
  if (t.dataLocation === 1 || (t.externalData && t.externalData.length > 0)) {
    throw new MicroCompileError('invalid_model', `${where} keeps its data in an external file; the micro compiler needs it inside the .onnx`);
  }
  const dims = (t.dims ?? []).map((d) => num(d));
  const count = dims.reduce((a, b) => a * b, 1);
  let data: ConstData;
  // A copy at offset 0: protobufjs hands out Buffer views into a shared pool, unaligned.
  const raw = t.rawData && t.rawData.length > 0 ? new Uint8Array(t.rawData) : null;
  switch (dtype) {
    case 'float32':
      data = raw ? new Float32Array(raw.buffer, 0, count) : Float32Array.from(t.floatData ?? []);
      break;
    case 'int32':
      data = raw ? new Int32Array(raw.buffer, 0, count) : Int32Array.from(t.int32Data ?? []);
      break;
    case 'int8':
      data = raw ? new Int8Array(raw.buffer, 0, count) : Int8Array.from(t.int32Data ?? []);
      break;
    case 'uint8':
      data = raw ? new Uint8Array(raw.buffer, 0, count) : Uint8Array.from(t.int32Data ?? []);
      break;
    case 'int64':
      data = raw ? Float64Array.from(new BigInt64Array(raw.buffer, 0, count), Number) : Float64Array.from((t.int64Data ?? []).map(num));
      break;
  }
  if (data.length !== count) {
    throw new MicroCompileError('invalid_model', `${where} declares ${count} elements but holds ${data.length}`);
  }
  return { dtype, dims, data };
}

/** Decodes ONNX bytes into an IrGraph (no checks on op support here). */
export function readOnnxGraph(bytes: Uint8Array): IrGraph {
  let model: ReturnType<typeof decodeModel>;
  try {
    model = decodeModel(bytes);
  } catch (error) {
    throw new MicroCompileError('invalid_model', `not a readable ONNX file (${(error as Error).message})`);
  }
  const graph = model.graph;
  if (!graph) throw new MicroCompileError('invalid_model', 'the ONNX file has no graph');
  const defaultOpset = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  const opset = defaultOpset ? num(defaultOpset.version) : 1;

  const initializers = new Map<string, ConstTensor>();
  for (const t of graph.initializer ?? []) initializers.set(t.name ?? '', constFromProto(t, `initializer "${t.name}"`));

  const valueInfo = (v: ValueInfoLike, kind: string): IrValueInfo => {
    const tensorType = v.type?.tensorType;
    if (!tensorType) throw new MicroCompileError('unsupported_dtype', `graph ${kind} "${v.name}" is not a tensor; ${ORT_FALLBACK_HINT}`);
    const dtype = dtypeFromCode(tensorType.elemType ?? 0, `graph ${kind} "${v.name}"`);
    if (!tensorType.shape) {
      throw new MicroCompileError('unsupported_shape', `graph ${kind} "${v.name}" has no declared rank; the micro compiler needs ranks to specialise the code`);
    }
    const dims = (tensorType.shape.dim ?? []).map((d): number | string | null => {
      if (d.dimParam) return d.dimParam;
      // protobufjs puts defaults on the prototype: only an own dimValue was written.
      if (Object.prototype.hasOwnProperty.call(d, 'dimValue')) return num(d.dimValue);
      return null;
    });
    return { name: v.name ?? '', dtype, dims };
  };

  const inputs = (graph.input ?? []).filter((v) => !initializers.has(v.name ?? '')).map((v) => valueInfo(v, 'input'));
  const outputs = (graph.output ?? []).map((v) => valueInfo(v, 'output'));

  const nodes: IrNode[] = (graph.node ?? []).map((n, i) => {
    const attrs = new Map<string, AttrValue>();
    const name = n.name || `${n.opType}_${i}`;
    for (const a of n.attribute ?? []) {
      const key = a.name ?? '';
      switch (a.type) {
        case 1: attrs.set(key, a.f ?? 0); break; // FLOAT
        case 2: attrs.set(key, num(a.i ?? 0)); break; // INT
        case 3: attrs.set(key, new TextDecoder().decode(a.s ?? new Uint8Array())); break; // STRING
        case 4: attrs.set(key, constFromProto(a.t!, `attribute "${key}" of node "${name}"`)); break; // TENSOR
        case 6: attrs.set(key, [...(a.floats ?? [])]); break; // FLOATS
        case 7: attrs.set(key, (a.ints ?? []).map(num)); break; // INTS
        default:
          throw new MicroCompileError(
            'unsupported_op',
            `node "${name}" (op ${n.opType}) has attribute "${key}" of a kind (graph, sparse tensor or list of those) the micro engine does not support; ${ORT_FALLBACK_HINT}`,
            name,
            n.opType ?? '',
          );
      }
    }
    return { name, opType: n.opType ?? '', domain: n.domain ?? '', inputs: [...(n.input ?? [])], outputs: [...(n.output ?? [])], attrs };
  });
  return { opset, inputs, outputs, initializers, nodes };
}
