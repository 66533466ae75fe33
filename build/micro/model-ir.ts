// Reads an ONNX ModelProto into the small graph form the micro compiler works on:
// constant tensors as typed arrays, attributes as plain values, dims as numbers or symbols.
import type onnxProto from 'onnx-proto';
import { decodeModel } from '../onnx/builder.ts';
import { MicroCompileError, ORT_FALLBACK_HINT } from './errors.ts';
import { denseFromSparse, foldConstantNodes } from './sparse-initializers.ts';

/**
 * Element types the micro engine computes with. int64 is held in Float64Array internally;
 * bool is a Uint8Array of 0/1, as the engine contract stores it.
 */
export type DType = 'float32' | 'int32' | 'int64' | 'int8' | 'uint8' | 'bool';

/** Typed array of a constant; int64 values are stored as doubles (exact below 2^53). */
export type ConstData = Float32Array | Int32Array | Float64Array | Int8Array | Uint8Array;

/** A tensor whose values are known at compile time. */
export interface ConstTensor {
  dtype: DType;
  dims: number[];
  data: ConstData;
}

/** An attribute value after decoding. */
export type AttrValue = number | number[] | string | ConstTensor | { strings: string[] } | { doubles: Float64Array };

export interface IrNode {
  name: string;
  opType: string;
  domain: string;
  /** '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attrs: Map<string, AttrValue>;
  /** Graph attributes (If's then_branch/else_branch), by attribute name. */
  subgraphs?: Map<string, IrSubgraph>;
  /**
   * Values of enclosing graphs that the subgraphs read (ONNX lets a branch read any outer
   * value by name); they count as inputs of this node for liveness and fusion.
   */
  implicitInputs?: string[];
}

/** A graph attribute: its own nodes and initializers, outputs by name, reading outer values freely. */
export interface IrSubgraph {
  nodes: IrNode[];
  initializers: Map<string, ConstTensor>;
  outputs: string[];
}

/** A graph input or output: dims are numbers, symbol names, or null when unnamed and unknown. */
export interface IrValueInfo {
  name: string;
  dtype: DType;
  dims: Array<number | string | null>;
  /**
   * Set on a graph output the module cannot return (a string tensor, ZipMap's sequence of
   * maps): why. rewriteMlOutputs (rewrite-ml.ts) replaces or drops it, or refuses with this.
   */
  unrepresentable?: string;
}

export interface IrGraph {
  /** Default-domain opset version. */
  opset: number;
  inputs: IrValueInfo[];
  outputs: IrValueInfo[];
  initializers: Map<string, ConstTensor>;
  nodes: IrNode[];
}

const DTYPE_BY_CODE: Record<number, DType> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool' };
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

/** Limits on constants read from a graph (see CompileBudget). */
export interface ReadLimits {
  maxTensorElements: number;
  maxConstantBytes: number;
}

const NO_LIMITS: ReadLimits = { maxTensorElements: Number.MAX_SAFE_INTEGER, maxConstantBytes: Number.MAX_SAFE_INTEGER };
const ELEMENT_BYTES: Record<DType, number> = { float32: 4, int32: 4, int64: 8, int8: 1, uint8: 1, bool: 1 };

/** Decodes a TensorProto into a ConstTensor; sizes are checked before anything is allocated. */
export function constFromProto(t: TensorProtoLike, where: string, limits: ReadLimits = NO_LIMITS): ConstTensor {
  const dtype = dtypeFromCode(t.dataType ?? 0, where);
  if (t.dataLocation === 1 || (t.externalData && t.externalData.length > 0)) {
    throw new MicroCompileError('invalid_model', `${where} keeps its data in an external file; the micro compiler needs it inside the .onnx`);
  }
  const dims = (t.dims ?? []).map((d) => num(d));
  let count = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new MicroCompileError('invalid_model', `${where} has an invalid dimension ${d} (dims [${dims.join(', ')}])`);
    count *= d;
  }
  if (!Number.isSafeInteger(count) || count > limits.maxTensorElements) {
    throw new MicroCompileError('unsupported_shape', `${where} declares ${count} elements, over the micro budget of ${limits.maxTensorElements}; ${ORT_FALLBACK_HINT}`);
  }
  if (t.rawData && t.rawData.length > 0 && t.rawData.length !== count * ELEMENT_BYTES[dtype]) {
    throw new MicroCompileError('invalid_model', `${where} declares ${count} elements (${count * ELEMENT_BYTES[dtype]} bytes) but holds ${t.rawData.length} bytes`);
  }
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
    case 'bool':
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

/** Decodes ONNX bytes into an IrGraph (no checks on op support here; sizes are checked against `limits`). */
export function readOnnxGraph(bytes: Uint8Array, limits: ReadLimits = NO_LIMITS): IrGraph {
  return readOnnxModel(decodeOnnx(bytes), limits);
}

/** Decodes ONNX bytes; unreadable bytes are an invalid_model MicroCompileError. */
export function decodeOnnx(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  try {
    return decodeModel(bytes);
  } catch (error) {
    throw new MicroCompileError('invalid_model', `not a readable ONNX file (${(error as Error).message})`);
  }
}

/**
 * Gives every unnamed node (subgraphs too) the name the IR reads it under, so a rewrite of the
 * proto that drops nodes (build/onnx/graph-prepass.ts) does not renumber the ones after it.
 */
export function nameUnnamedNodes(graph: GraphProtoLike, prefix = ''): void {
  (graph.node ?? []).forEach((n, i) => {
    if (!n.name) n.name = `${prefix}${n.opType}_${i}`;
    for (const a of n.attribute ?? []) if (a.type === 5 && a.g) nameUnnamedNodes(a.g, `${n.name}/${a.name ?? ''}/`);
  });
}

/** Reads a decoded ONNX model into an IrGraph (as readOnnxGraph). */
export function readOnnxModel(model: onnxProto.onnx.ModelProto, limits: ReadLimits = NO_LIMITS): IrGraph {
  currentLimits = limits;
  constantBytes = 0;
  const graph = model.graph;
  if (!graph) throw new MicroCompileError('invalid_model', 'the ONNX file has no graph');
  const defaultOpset = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  const opset = defaultOpset ? num(defaultOpset.version) : 1;

  const initializers = readInitializers(graph.initializer ?? []);
  // Pruned weights (npm run prune) arrive as sparse initializers or gap-coded ScatterND subgraphs: made plain constants here.
  for (const s of graph.sparseInitializer ?? []) {
    const { name, tensor } = denseFromSparse(s, currentLimits);
    constantBytes += tensor.data.byteLength;
    if (constantBytes > currentLimits.maxConstantBytes) {
      throw new MicroCompileError('unsupported_shape', `the graph's constants exceed the micro budget of ${currentLimits.maxConstantBytes} bytes; ${ORT_FALLBACK_HINT}`);
    }
    initializers.set(name, tensor);
  }

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
      if (Object.prototype.hasOwnProperty.call(d, 'dimValue')) {
        const n = num(d.dimValue);
        if (!Number.isSafeInteger(n) || n < 0) throw new MicroCompileError('invalid_model', `graph ${kind} "${v.name}" has an invalid dimension ${n}`);
        return n;
      }
      return null;
    });
    return { name: v.name ?? '', dtype, dims };
  };

  const inputs = (graph.input ?? []).filter((v) => !initializers.has(v.name ?? '')).map((v) => valueInfo(v, 'input'));
  const outputs = (graph.output ?? []).map((v): IrValueInfo => {
    try {
      return valueInfo(v, 'output');
    } catch (error) {
      // Classifiers' string labels and ZipMap's seq(map) outputs are resolved by rewriteMlOutputs.
      const elem = v.type?.tensorType?.elemType;
      if (error instanceof MicroCompileError && (v.type?.sequenceType || v.type?.mapType || elem === 8)) {
        return { name: v.name ?? '', dtype: 'float32', dims: [], unrepresentable: error.message };
      }
      throw error;
    }
  });

  const nodes = foldConstantNodes(readNodes(graph.node ?? [], ''), initializers, new Set(outputs.map((o) => o.name)), currentLimits);
  return { opset, inputs, outputs, initializers, nodes };
}

/** A double tensor attribute (the *_as_tensor attributes of ai.onnx.ml ops), as doubles. */
function doublesOf(t: TensorProtoLike, where: string): Float64Array {
  const raw = t.rawData && t.rawData.length > 0 ? new Uint8Array(t.rawData) : null;
  if (raw && raw.length % 8 !== 0) throw new MicroCompileError('invalid_model', `${where} holds ${raw.length} bytes, not a whole number of doubles`);
  const data = raw ? new Float64Array(raw.buffer, 0, raw.length / 8) : Float64Array.from(t.doubleData ?? []);
  if (data.length > currentLimits.maxTensorElements) throw new MicroCompileError('unsupported_shape', `${where} has ${data.length} elements, over the micro budget; ${ORT_FALLBACK_HINT}`);
  return data;
}

type NodeProtoLike = onnxProto.onnx.INodeProto;
type GraphProtoLike = onnxProto.onnx.IGraphProto;

// The limits of the graph being read (readOnnxGraph is synchronous, so one at a time).
let currentLimits: ReadLimits = NO_LIMITS;
let constantBytes = 0;

function readInitializers(list: readonly TensorProtoLike[]): Map<string, ConstTensor> {
  const initializers = new Map<string, ConstTensor>();
  for (const t of list) {
    const c = constFromProto(t, `initializer "${t.name}"`, currentLimits);
    constantBytes += c.data.byteLength;
    if (constantBytes > currentLimits.maxConstantBytes) {
      throw new MicroCompileError('unsupported_shape', `the graph's constants exceed the micro budget of ${currentLimits.maxConstantBytes} bytes; ${ORT_FALLBACK_HINT}`);
    }
    initializers.set(t.name ?? '', c);
  }
  return initializers;
}

function readSubgraph(g: GraphProtoLike, prefix: string): IrSubgraph {
  const nodes = readNodes(g.node ?? [], prefix);
  return { nodes, initializers: readInitializers(g.initializer ?? []), outputs: (g.output ?? []).map((o) => o.name ?? '') };
}

/** Names a subgraph reads that neither its nodes nor its initializers produce (recursively). */
function outerReads(sub: IrSubgraph): string[] {
  const produced = new Set<string>(sub.initializers.keys());
  const reads = new Set<string>();
  for (const n of sub.nodes) {
    for (const name of [...n.inputs, ...(n.implicitInputs ?? [])]) if (name && !produced.has(name)) reads.add(name);
    for (const o of n.outputs) produced.add(o);
  }
  for (const o of sub.outputs) if (!produced.has(o)) reads.add(o);
  return [...reads];
}

function readNodes(list: readonly NodeProtoLike[], prefix: string): IrNode[] {
  return list.map((n, i) => {
    const attrs = new Map<string, AttrValue>();
    const name = n.name || `${prefix}${n.opType}_${i}`;
    let subgraphs: Map<string, IrSubgraph> | undefined;
    for (const a of n.attribute ?? []) {
      const key = a.name ?? '';
      switch (a.type) {
        case 1: attrs.set(key, a.f ?? 0); break; // FLOAT
        case 2: attrs.set(key, num(a.i ?? 0)); break; // INT
        case 3: attrs.set(key, new TextDecoder().decode(a.s ?? new Uint8Array())); break; // STRING
        case 4: attrs.set(key, a.t?.dataType === 11 ? { doubles: doublesOf(a.t, `attribute "${key}" of node "${name}"`) } : constFromProto(a.t!, `attribute "${key}" of node "${name}"`, currentLimits)); break; // TENSOR (double: ai.onnx.ml *_as_tensor)
        case 5: (subgraphs ??= new Map()).set(key, readSubgraph(a.g ?? {}, `${name}/${key}/`)); break; // GRAPH
        case 6: attrs.set(key, [...(a.floats ?? [])]); break; // FLOATS
        case 7: attrs.set(key, (a.ints ?? []).map(num)); break; // INTS
        case 8: attrs.set(key, { strings: (a.strings ?? []).map((b) => new TextDecoder().decode(b)) }); break; // STRINGS (labels of ai.onnx.ml ops)
        default:
          throw new MicroCompileError(
            'unsupported_op',
            `node "${name}" (op ${n.opType}) has attribute "${key}" of a kind (sparse tensor or a list of graphs or tensors) the micro engine does not support; ${ORT_FALLBACK_HINT}`,
            name,
            n.opType ?? '',
          );
      }
    }
    const node: IrNode = { name, opType: n.opType ?? '', domain: n.domain ?? '', inputs: [...(n.input ?? [])], outputs: [...(n.output ?? [])], attrs };
    if (subgraphs) {
      node.subgraphs = subgraphs;
      node.implicitInputs = [...new Set([...subgraphs.values()].flatMap(outerReads))];
    }
    return node;
  });
}
