// A small ONNX graph builder over onnx-proto (protobufjs), so models are written from
// TypeScript with no Python. Output is deterministic: same calls → same bytes.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** ONNX TensorProto.DataType codes for the element types we write. */
export const OnnxDataType = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int16: 5,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
} as const;
export type OnnxDType = keyof typeof OnnxDataType;

/** An attribute value: number (int unless `float: true`), number[], string, or a tensor. */
export type AttributeValue =
  | { int: number }
  | { float: number }
  | { ints: number[] }
  | { floats: number[] }
  | { string: string }
  | { strings: string[] }
  | { tensor: InitializerTensor };

/** A constant tensor stored in the graph. */
export interface InitializerTensor {
  dtype: OnnxDType;
  dims: number[];
  /** Elements; float16 as its half-precision bits, bool as 0/1. */
  data: Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | BigInt64Array | number[];
}

interface ValueInfo {
  name: string;
  dtype: OnnxDType;
  /** Integers for fixed dims, strings for symbolic (variable) dims. */
  shape: Array<number | string>;
}

function tensorProto(name: string, t: InitializerTensor): onnxProto.onnx.ITensorProto {
  const proto: onnxProto.onnx.ITensorProto = { name, dims: t.dims, dataType: OnnxDataType[t.dtype] };
  // raw_data is little-endian bytes of the elements; every runtime reads it the same way.
  let raw: Uint8Array;
  switch (t.dtype) {
    case 'float32':
      raw = new Uint8Array(Float32Array.from(t.data as ArrayLike<number>).buffer);
      break;
    case 'int8':
      raw = new Uint8Array(Int8Array.from(t.data as ArrayLike<number>).buffer);
      break;
    case 'uint8':
    case 'bool':
      raw = Uint8Array.from(t.data as ArrayLike<number>);
      break;
    case 'int16':
      raw = new Uint8Array(Int16Array.from(t.data as ArrayLike<number>).buffer);
      break;
    case 'float16':
      raw = new Uint8Array(Uint16Array.from(t.data as ArrayLike<number>).buffer);
      break;
    case 'float64':
      raw = new Uint8Array(Float64Array.from(t.data as ArrayLike<number>).buffer);
      break;
    case 'int32':
      raw = new Uint8Array(Int32Array.from(t.data as ArrayLike<number>).buffer);
      break;
    case 'int64':
      raw = new Uint8Array(
        (t.data instanceof BigInt64Array ? t.data : BigInt64Array.from(t.data as number[], (v) => BigInt(v))).buffer,
      );
      break;
  }
  proto.rawData = raw;
  return proto;
}

function valueInfo(v: ValueInfo): onnxProto.onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: OnnxDataType[v.dtype],
        shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attributeProto(name: string, value: AttributeValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('int' in value) return { name, type: T.INT, i: value.int };
  if ('float' in value) return { name, type: T.FLOAT, f: value.float };
  if ('ints' in value) return { name, type: T.INTS, ints: value.ints };
  if ('floats' in value) return { name, type: T.FLOATS, floats: value.floats };
  if ('string' in value) return { name, type: T.STRING, s: new TextEncoder().encode(value.string) };
  if ('strings' in value) return { name, type: T.STRINGS, strings: value.strings.map((v) => new TextEncoder().encode(v)) };
  return { name, type: T.TENSOR, t: tensorProto('', value.tensor) };
}

/** Collects nodes, initializers, inputs and outputs, then encodes a ModelProto. */
export class GraphBuilder {
  readonly #nodes: onnxProto.onnx.INodeProto[] = [];
  readonly #initializers: onnxProto.onnx.ITensorProto[] = [];
  readonly #inputs: ValueInfo[] = [];
  /** Graph outputs in declaration order (ValueInfoProtos already built). */
  readonly #outputs: onnxProto.onnx.IValueInfoProto[] = [];
  #counter = 0;

  constructor(readonly graphName: string) {}

  /** Declares a graph input. */
  input(name: string, dtype: OnnxDType, shape: Array<number | string>): string {
    this.#inputs.push({ name, dtype, shape });
    return name;
  }

  /** Declares a graph output (an existing value name). */
  output(name: string, dtype: OnnxDType, shape: Array<number | string>): string {
    this.#outputs.push(valueInfo({ name, dtype, shape }));
    return name;
  }

  /** Declares a string tensor output (a classifier's label with string class labels). */
  stringOutput(name: string, shape: Array<number | string>): string {
    this.#outputs.push({ name, type: { tensorType: { elemType: 8, shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } });
    return name;
  }

  /** Declares a graph output of type seq(map(key, float)), as ZipMap produces. */
  sequenceOfMapsOutput(name: string, key: 'int64' | 'string'): string {
    const keyType = key === 'int64' ? OnnxDataType.int64 : 8;
    this.#outputs.push({ name, type: { sequenceType: { elemType: { mapType: { keyType, valueType: { tensorType: { elemType: OnnxDataType.float32 } } } } } } });
    return name;
  }

  /** Adds a constant tensor and returns its name. */
  initializer(name: string, tensor: InitializerTensor): string {
    this.#initializers.push(tensorProto(name, tensor));
    return name;
  }

  /**
   * Adds a node. `outputs` may be a count (fresh names are made) or explicit names.
   * Returns the output names.
   */
  node(opType: string, inputs: string[], outputs: number | string[] = 1, attributes: Record<string, AttributeValue> = {}, domain = ''): string[] {
    const outNames =
      typeof outputs === 'number'
        ? Array.from({ length: outputs }, () => `${opType.toLowerCase()}_${this.#counter++}`)
        : outputs;
    this.#nodes.push({
      opType,
      name: `${opType}_${this.#nodes.length}`,
      ...(domain ? { domain } : {}),
      input: inputs,
      output: outNames,
      attribute: Object.entries(attributes).map(([k, v]) => attributeProto(k, v)),
    });
    return outNames;
  }

  /** Encodes the model (IR version 8, default-domain opset `opset`, other domains' opsets in `domains`). */
  encode(opset = 17, producer = 'edgeinfer', domains: Record<string, number> = {}): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: producer,
      opsetImport: [{ domain: '', version: opset }, ...Object.entries(domains).map(([domain, version]) => ({ domain, version }))],
      graph: {
        name: this.graphName,
        node: this.#nodes,
        initializer: this.#initializers,
        input: this.#inputs.map(valueInfo),
        output: this.#outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

/** Decodes an ONNX file (for compilers and inspection tools). */
export function decodeModel(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
