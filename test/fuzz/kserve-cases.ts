// Fuzz families for KServe V2 infer as the models declare it: several inputs per request,
// every datatype with values at and past its limits, and binary tensor bodies
// (Inference-Header-Content-Length + raw bytes) whose sizes lie. Each case starts from a
// request that would be valid for a model's signature and breaks one thing, so the
// validators behind the first check are reached too.
import { toHalfBits } from '../../core/serving/tensor-dtypes.ts';

/** One input of a model as the generator knows it. */
export interface FuzzInputSignature {
  name: string;
  datatype: string;
  /** -1 for a variable dim. */
  shape: number[];
  /** A concrete shape the graph runs on (variable dims the graph needs large, e.g. audio samples). */
  example?: number[];
}

/** A served model the generator aims at (names from the target's repository). */
export interface FuzzModelSignature {
  name: string;
  inputs: FuzzInputSignature[];
  outputs: string[];
  /** batch.max (a leading -1 accepts up to this). */
  maxBatch: number;
  /** True when the model takes a BYTES "text" input. */
  text?: boolean;
}

/** The example models every target serves. */
export const SPAM_SIGNATURES: FuzzModelSignature[] = [
  { name: 'spam-edge', inputs: [{ name: 'ids', datatype: 'INT32', shape: [1, -1] }], outputs: ['probabilities'], maxBatch: 1, text: true },
  { name: 'spam-regional', inputs: [{ name: 'ids', datatype: 'INT32', shape: [1, -1] }], outputs: ['probabilities'], maxBatch: 1, text: true },
];

export interface KserveGen {
  rand: () => number;
  int(lo: number, hi: number): number;
  pick<T>(items: readonly T[]): T;
  models: readonly FuzzModelSignature[];
}

type Case = { method: string; path: string; headers: Array<[string, string]>; body: Uint8Array };

const encoder = new TextEncoder();
const V2_TYPES = ['BOOL', 'UINT8', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64'] as const;
const ODD_TYPES = ['BYTES', 'UINT16', 'UINT32', 'UINT64', 'FP8', 'BF16', 'fp32', 'int32', '', 'STRING'];
const WIDTH: Record<string, number> = { BOOL: 1, UINT8: 1, INT8: 1, INT16: 2, INT32: 4, INT64: 8, FP16: 2, FP32: 4, FP64: 8 };

/** Values at and just past each datatype's limits, plus values of the wrong kind. */
const EDGE_VALUES: Record<string, unknown[]> = {
  BOOL: [true, false, 0, 1, 2, -1, 'true', null],
  UINT8: [0, 255, 256, -1, 1.5, 1e3],
  INT8: [-128, 127, 128, -129, 0.1],
  INT16: [-32768, 32767, 32768, -32769],
  INT32: [-2147483648, 2147483647, 2147483648, -2147483649, 1e20],
  INT64: [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, '9223372036854775807', '9223372036854775808', '-9223372036854775809', '12a', '', 1.5],
  FP16: [65504, 65505, 70000, -65504, 6e-8, 1e-10, 0],
  FP32: [3.4e38, 3.5e38, -3.5e38, 1e-45, 1.7976931348623157e308, -0],
  FP64: [1.7976931348623157e308, 5e-324, -0, 1e308],
};
const WRONG_KIND: unknown[] = [null, 'x', [], [1], {}, true, '1'];

function inferPath(g: KserveGen, model: string): string {
  return g.pick([`/v2/models/${model}/infer`, `/v2/models/${model}/versions/1/infer`, `/v2/models/${model}/versions/2/infer`]);
}

/** A concrete shape for a declared one: the example, or -1 dims 1–3 with a leading -1 within the batch limit. */
function concreteShape(g: KserveGen, shape: number[], maxBatch: number, example?: number[]): number[] {
  if (example && g.rand() < 0.6) return [...example];
  return shape.map((d, i) => (d !== -1 ? d : i === 0 ? g.int(1, maxBatch) : g.int(1, 3)));
}

const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** A plausible value of a datatype. */
function goodValue(g: KserveGen, datatype: string): number | boolean {
  switch (datatype) {
    case 'BOOL': return g.rand() < 0.5;
    case 'UINT8': return g.int(0, 255);
    case 'INT8': return g.int(-128, 127);
    case 'INT16': return g.int(-1000, 1000);
    case 'INT32': case 'INT64': return g.int(0, 100);
    default: return Math.round((g.rand() * 2 - 1) * 1000) / 1000;
  }
}

/** Little-endian bytes of values of a datatype (as the binary extension sends them). */
function binaryOf(datatype: string, values: Array<number | boolean>): Uint8Array {
  const n = values.length;
  const nums = values.map(Number);
  switch (datatype) {
    case 'BOOL': case 'UINT8': return Uint8Array.from(nums);
    case 'INT8': return new Uint8Array(Int8Array.from(nums).buffer);
    case 'INT16': return new Uint8Array(Int16Array.from(nums).buffer);
    case 'INT32': return new Uint8Array(Int32Array.from(nums).buffer);
    case 'INT64': return new Uint8Array(BigInt64Array.from(nums, (v) => BigInt(Math.trunc(v))).buffer);
    case 'FP16': return new Uint8Array(Uint16Array.from(nums, toHalfBits).buffer);
    case 'FP64': return new Uint8Array(Float64Array.from(nums).buffer);
    default: return new Uint8Array(Float32Array.from({ length: n }, (_, i) => nums[i] as number).buffer);
  }
}

interface JsonInput {
  name: string;
  datatype: string;
  shape: unknown;
  data?: unknown;
  parameters?: Record<string, unknown>;
}

/** A valid JSON input for a signature input. */
function validInput(g: KserveGen, input: FuzzInputSignature, maxBatch: number): JsonInput & { shape: number[]; data: Array<number | boolean> } {
  const shape = concreteShape(g, input.shape, maxBatch, input.example);
  return { name: input.name, datatype: input.datatype, shape, data: Array.from({ length: count(shape) }, () => goodValue(g, input.datatype)) };
}

function jsonCase(g: KserveGen, model: string, body: unknown): Case {
  return { method: 'POST', path: inferPath(g, model), headers: [['content-type', 'application/json']], body: encoder.encode(JSON.stringify(body)) };
}

/** Several inputs per request: all the model declares, then one thing broken. */
export function multiInputCase(g: KserveGen): Case {
  const model = g.pick(g.models);
  const inputs: JsonInput[] = model.inputs.map((input) => validInput(g, input, model.maxBatch));
  if (model.text && g.rand() < 0.3) inputs.splice(0, inputs.length, { name: 'text', datatype: 'BYTES', shape: [1], data: ['Subject: hello'] });
  const target = g.int(0, inputs.length - 1);
  const victim = inputs[target] as JsonInput;
  const body: Record<string, unknown> = { inputs };
  switch (g.int(0, 13)) {
    case 0: break; // valid as generated: a 200 (or the graph's own 400)
    case 1: inputs.splice(target, 1); break;
    case 2: inputs.push({ ...victim }); break;
    case 3: inputs.push({ name: g.pick(['x', 'input', 'ids ', 'TEXT', '__proto__', 'constructor', 'a'.repeat(300)]), datatype: g.pick(V2_TYPES), shape: [1], data: [1] }); break;
    case 4: victim.datatype = g.pick([...V2_TYPES, ...ODD_TYPES]); break;
    case 5: victim.shape = g.pick([[], [1], [1, 1, 1, 1, 1], [0, 1], [-1, 3], [1e12, 1], [2 ** 53, 2], [1.5], ['1'], null, 'x']); break;
    case 6: (victim.shape as number[])[0] = g.pick([model.maxBatch + 1, 1000, 2 ** 31]); break;
    case 7: (victim.data as unknown[]).push(g.pick([0, 1])); break;
    case 8: (victim.data as unknown[]).pop(); break;
    case 9: victim.data = g.pick([null, 'data', {}, [[[]]], [victim.data], victim.data]); if (g.rand() < 0.5) victim.shape = [victim.shape]; break;
    case 10: {
      const data = victim.data as unknown[];
      if (data.length) data[g.int(0, data.length - 1)] = g.pick([...(EDGE_VALUES[victim.datatype] ?? []), ...WRONG_KIND]);
      break;
    }
    case 11: body.outputs = g.pick([[{ name: g.pick(model.outputs) }], [{ name: g.pick(model.outputs) }, { name: g.pick(model.outputs) }], [{ name: 'nope' }], [], [{ name: g.pick(model.outputs), parameters: { binary_data: g.pick([true, false, 'yes', 1]) } }], model.outputs.map((name) => ({ name, extra: 1 }))]); break;
    case 12: body.parameters = g.pick([{ binary_data_output: true }, { binary_data_output: 'true' }, null, [], { anything: { nested: [1] } }, 'p']); break;
    default: Object.assign(body, g.pick([{ id: g.pick(['r-1', 7, null, '']) }, { model_name: g.pick([model.name, 'other', 3]) }, { model_version: g.pick(['1', '9', 1]) }]));
  }
  return jsonCase(g, model.name, body);
}

/** One input at the limits of every datatype (the declared one or another). */
export function dtypeCase(g: KserveGen): Case {
  const model = g.pick(g.models);
  const inputs: JsonInput[] = model.inputs.map((input) => validInput(g, input, model.maxBatch));
  const victim = g.pick(inputs) as JsonInput & { data: unknown[] };
  const datatype = g.rand() < 0.7 ? victim.datatype : g.pick(V2_TYPES);
  victim.datatype = datatype;
  const edges = EDGE_VALUES[datatype] as unknown[];
  const n = victim.data.length;
  victim.data = Array.from({ length: n }, () => (g.rand() < 0.6 ? goodValue(g, datatype) : g.pick(edges)));
  if (g.rand() < 0.2) victim.data = [victim.data]; // nested instead of flat
  return jsonCase(g, model.name, { inputs });
}

/** Binary tensor bodies: a valid one for the model, then a lie in a size, a header or the bytes. */
export function binaryCase(g: KserveGen): Case {
  const model = g.pick(g.models);
  const header: { inputs: JsonInput[]; outputs?: unknown; parameters?: unknown } = { inputs: [] };
  const chunks: Uint8Array[] = [];
  for (const input of model.inputs) {
    const valid = validInput(g, input, model.maxBatch);
    if (g.rand() < 0.25) {
      header.inputs.push(valid); // mixed: some JSON, some binary
      continue;
    }
    const bytes = binaryOf(input.datatype, valid.data);
    header.inputs.push({ name: input.name, datatype: input.datatype, shape: valid.shape, parameters: { binary_data_size: bytes.byteLength } });
    chunks.push(bytes);
  }
  if (model.text && g.rand() < 0.3) {
    const text = encoder.encode(g.pick(['Subject: hi', 'x', '', '\u00e9\u00e9']));
    const element = new Uint8Array(4 + text.byteLength);
    new DataView(element.buffer).setUint32(0, g.rand() < 0.7 ? text.byteLength : g.pick([0, text.byteLength + 1, 2 ** 32 - 1]), true);
    element.set(text, 4);
    header.inputs = [{ name: 'text', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: element.byteLength } }];
    chunks.splice(0, chunks.length, element);
  }
  if (g.rand() < 0.4) header.parameters = { binary_data_output: true };
  if (g.rand() < 0.3) header.outputs = model.outputs.map((name) => ({ name, parameters: { binary_data: g.rand() < 0.5 } }));
  const binaryInputs = header.inputs.filter((i) => i.parameters?.binary_data_size !== undefined);
  const victim = binaryInputs.length ? g.pick(binaryInputs) : undefined;
  let tail = concat(chunks);
  let declared: string | null = null; // null → the true length
  const lie = g.int(0, 13);
  if (victim) {
    const size = victim.parameters!.binary_data_size as number;
    if (lie === 1) victim.parameters!.binary_data_size = size + g.pick([1, WIDTH[victim.datatype] ?? 4, 1000]);
    if (lie === 2) victim.parameters!.binary_data_size = Math.max(0, size - g.pick([1, WIDTH[victim.datatype] ?? 4]));
    if (lie === 3) victim.parameters!.binary_data_size = g.pick([-1, 1.5, '4', null, 2 ** 53, 1e300]);
    if (lie === 4) victim.data = [1];
    if (lie === 5 && victim.datatype === 'BOOL') tail = Uint8Array.from(tail, () => g.int(0, 3));
    if (lie === 6) victim.shape = (victim.shape as number[]).map((d) => d * 2);
  }
  if (lie === 7) tail = concat([tail, Uint8Array.from({ length: g.int(1, 9) }, () => g.int(0, 255))]);
  if (lie === 8) tail = tail.subarray(0, Math.max(0, tail.byteLength - g.int(1, 8)));
  const json = encoder.encode(JSON.stringify(header));
  if (lie === 9) declared = String(json.byteLength + tail.byteLength + g.int(1, 100));
  if (lie === 10) declared = g.pick(['0', '-5', 'abc', '1e3', '', ' ', '99999999999999999999', String(json.byteLength - g.int(1, 5)), `${json.byteLength}, ${json.byteLength}`]);
  const headers: Array<[string, string]> = [['content-type', lie === 11 ? g.pick(['text/plain', 'application/x-protobuf', '', 'application/octet-stream; charset=binary']) : g.pick(['application/octet-stream', 'application/json'])]];
  if (lie !== 12) headers.push(['inference-header-content-length', declared ?? String(json.byteLength)]);
  let body = concat([json, tail]);
  if (lie === 13) body = concat([encoder.encode(JSON.stringify(header).slice(0, g.int(0, json.byteLength))), tail]);
  return { method: 'POST', path: inferPath(g, model.name), headers, body };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
