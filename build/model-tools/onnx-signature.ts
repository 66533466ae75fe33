// Reads what an ONNX graph declares about itself: its real inputs (initializers listed as
// inputs by old exporters are left out), outputs with dtype and shape (symbolic or unknown
// dims as -1), opsets, and which operator produces each output (a Sigmoid or Softmax at the
// end means the output already holds probabilities). model:add writes model.json from this.
import onnxProto from 'onnx-proto';
import { decodeModel } from '../onnx/builder.ts';

/** ONNX TensorProto.DataType codes → the dtype names model.json uses (onnxruntime's spelling). */
const ONNX_DTYPES: Readonly<Record<number, string>> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  14: 'complex64',
  15: 'complex128',
  16: 'bfloat16',
};

/** One input or output of the graph. */
export interface GraphTensor {
  name: string;
  /** model.json spelling, or `unknown(<code>)` for a code this table does not know. */
  dtype: string;
  /** -1 for a symbolic or unknown dimension. */
  shape: number[];
  /** The symbolic names of variable dims (same length as shape; null where fixed). */
  dimNames: Array<string | null>;
}

/** What model:add learns from a graph. */
export interface GraphSignature {
  inputs: GraphTensor[];
  outputs: GraphTensor[];
  irVersion: number;
  /** "domain:version" per imported opset ("" is the default domain, written "ai.onnx"). */
  opsets: string[];
  producer: string;
  /** Operator counts, most frequent first. */
  ops: Array<{ op: string; count: number }>;
  /**
   * Output name → the op that last changed its values: ops that only move or reshape values
   * (Identity, Reshape, Flatten, ...) are looked through, and so is an If whose branches all
   * end in the same op (hey_jarvis ends in an If of two Sigmoids).
   */
  producedBy: Map<string, string>;
  /** Initializers whose weights live in a file outside the .onnx (model:add copies one file only). */
  externalData: string[];
}

/** A file that is not an ONNX graph model:add can read; the message says what is wrong. */
export class GraphReadError extends Error {
  override name = 'GraphReadError';
}

function dimsOf(value: onnxProto.onnx.IValueInfoProto, where: string): { shape: number[]; dimNames: Array<string | null> } {
  const tensor = value.type?.tensorType;
  if (!tensor) throw new GraphReadError(`${where} "${value.name}" is not a tensor (sequences and maps are not served)`);
  const dims = tensor.shape?.dim ?? [];
  const shape: number[] = [];
  const dimNames: Array<string | null> = [];
  for (const d of dims) {
    // protobufjs gives int64 fields as Long objects or numbers depending on the value.
    const fixed = d.dimValue === undefined || d.dimValue === null ? null : Number(d.dimValue);
    if (fixed !== null && fixed > 0 && !d.dimParam) {
      shape.push(fixed);
      dimNames.push(null);
    } else {
      shape.push(-1);
      dimNames.push(d.dimParam || '?');
    }
  }
  return { shape, dimNames };
}

function tensorOf(value: onnxProto.onnx.IValueInfoProto, where: string): GraphTensor {
  const code = value.type?.tensorType?.elemType ?? 0;
  const dtype = ONNX_DTYPES[code] ?? `unknown(${code})`;
  return { name: value.name ?? '', dtype, ...dimsOf(value, where) };
}

// Ops that keep every value as it is (only layout or type changes).
const PASS_THROUGH = new Set(['Identity', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Transpose', 'Cast']);

// The op that computed `name`, searching the innermost graph first (branch bodies see outer values).
function valueOp(name: string, scopes: onnxProto.onnx.IGraphProto[], depth: number): string | undefined {
  if (depth > 32) return undefined;
  for (let s = scopes.length - 1; s >= 0; s--) {
    const node = (scopes[s]!.node ?? []).find((n) => (n.output ?? []).includes(name));
    if (!node) continue;
    const op = node.opType ?? '?';
    if (PASS_THROUGH.has(op) && node.input?.[0]) return valueOp(node.input[0], scopes.slice(0, s + 1), depth + 1) ?? op;
    if (op === 'If') {
      const index = (node.output ?? []).indexOf(name);
      const ends = (node.attribute ?? [])
        .filter((a) => a.g)
        .map((a) => {
          const out = a.g!.output?.[index]?.name;
          return out ? valueOp(out, [...scopes.slice(0, s + 1), a.g!], depth + 1) : undefined;
        });
      return ends.length && ends.every((e) => e === ends[0]) ? ends[0] : op;
    }
    return op;
  }
  return undefined;
}

/** Decodes `bytes` and reads its signature; throws GraphReadError with a one-line reason. */
export function readGraphSignature(bytes: Uint8Array): GraphSignature {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = decodeModel(bytes);
  } catch (error) {
    throw new GraphReadError(`not an ONNX model (protobuf decoding failed: ${(error as Error).message})`);
  }
  // Protobuf decodes many non-ONNX byte strings without error; a model has an IR version and a graph.
  const irVersion = Number(model.irVersion ?? 0);
  const graph = model.graph;
  if (!irVersion || !graph || !graph.output?.length) {
    throw new GraphReadError('not an ONNX model (no IR version or no graph with outputs)');
  }
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const inputs = (graph.input ?? []).filter((v) => !initializers.has(v.name ?? '')).map((v) => tensorOf(v, 'input'));
  const outputs = graph.output.map((v) => tensorOf(v, 'output'));
  const counts = new Map<string, number>();
  for (const node of graph.node ?? []) counts.set(node.opType ?? '?', (counts.get(node.opType ?? '?') ?? 0) + 1);
  const producedBy = new Map<string, string>();
  for (const output of outputs) {
    const op = valueOp(output.name, [graph], 0);
    if (op) producedBy.set(output.name, op);
  }
  const EXTERNAL = onnxProto.onnx.TensorProto.DataLocation.EXTERNAL;
  const externalData = (graph.initializer ?? []).filter((t) => t.dataLocation === EXTERNAL).map((t) => t.name ?? '');
  return {
    inputs,
    outputs,
    irVersion,
    opsets: (model.opsetImport ?? []).map((o) => `${o.domain || 'ai.onnx'}:${Number(o.version)}`),
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    ops: [...counts].map(([op, count]) => ({ op, count })).sort((a, b) => b.count - a.count || (a.op < b.op ? -1 : 1)),
    producedBy,
    externalData,
  };
}

/** `float32[-1,16,96]`: a tensor in one short token. */
export function formatTensor(t: { name?: string; dtype: string; shape: readonly number[] }, withName = true): string {
  return `${withName && t.name !== undefined ? `${t.name}: ` : ''}${t.dtype}[${t.shape.join(',')}]`;
}
