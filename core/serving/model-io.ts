// The model's signature at work: tensors built for declared inputs (fills, constants, text
// products in the dtype the graph asks for) and outputs read by what they mean
// (classification with its activation, regression, raw). Pure functions of the manifest, so
// the edge, the regional function and the client read a model the same way.
import { TENSOR_DATA_CONSTRUCTORS, type Tensor, type TensorDType, type TensorMap } from '../engine/types.ts';
import type { ClassificationOutput, InputSpec, ModelManifest, TensorSpec } from '../model/manifest.ts';
import { labelRecord } from '../model/names.ts';
import { fromHalfBits, toHalfBits } from './tensor-dtypes.ts';
import { tensorToJson } from './tensor-json.ts';

/** A classification: the winning label, per-label probabilities (after the activation). */
export interface ClassificationAnswer {
  kind: 'classification';
  label: string;
  /** Null-prototype record, label → probability (labels like "__proto__" are plain keys). */
  scores: Record<string, number>;
  /** Probability of the winning label. */
  confidence: number;
  /** Probabilities in label order (what the cascade's confidence reads). */
  probabilities: number[];
  /** Every row when the request held a batch of more than one. */
  batch?: Array<{ label: string; scores: Record<string, number> }>;
}

/** A regression: `value` when the output holds one number, else `values` (row-major). */
export interface RegressionAnswer {
  kind: 'regression';
  value?: number;
  values: number[];
  /** output.names → value, for a single row. */
  named?: Record<string, number>;
}

/** Every output as a V2 JSON tensor. */
export interface RawAnswer {
  kind: 'raw';
  outputs: Record<string, { datatype: string; shape: number[]; data: unknown[] }>;
}

/** What a model's outputs mean for one request. */
export type ModelAnswer = ClassificationAnswer | RegressionAnswer | RawAnswer;

/** Size a variable dimension gets in generated warmup tensors: the leading (batch) one 1, others this. */
export const WARMUP_DIM = 1024;
/** Largest generated warmup tensor; past it, further variable dims shrink to 16. */
const WARMUP_MAX_ELEMENTS = 1 << 22;

/** Concrete dims for a declared shape: `-1` → 1 when leading, `inner` elsewhere (bounded in elements). */
export function concreteDims(shape: readonly number[], inner = 1): number[] {
  let elements = 1;
  const dims = shape.map((d, i) => {
    let size = d;
    if (d < 0) size = i === 0 ? 1 : elements * inner > WARMUP_MAX_ELEMENTS ? 16 : inner;
    elements *= size;
    return size;
  });
  return dims;
}

function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** A tensor of `dims` filled with `value` (converted to the dtype: int64 as bigint, float16 as half bits). */
export function filledTensor(dtype: TensorDType, dims: readonly number[], value: number): Tensor {
  const data = new TENSOR_DATA_CONSTRUCTORS[dtype](elementCount(dims));
  if (value !== 0) (data as { fill(v: number | bigint): unknown }).fill(storedValue(dtype, value));
  return { dtype, dims: [...dims], data } as Tensor;
}

/** A tensor of `dims` from numbers in row-major order. */
export function tensorFromNumbers(dtype: TensorDType, dims: readonly number[], values: ArrayLike<number>): Tensor {
  const data = new TENSOR_DATA_CONSTRUCTORS[dtype](values.length);
  const out = data as { [i: number]: number | bigint };
  for (let i = 0; i < values.length; i++) out[i] = storedValue(dtype, values[i] as number);
  return { dtype, dims: [...dims], data } as Tensor;
}

function storedValue(dtype: TensorDType, value: number): number | bigint {
  if (dtype === 'int64') return BigInt(Math.trunc(value));
  if (dtype === 'float16') return toHalfBits(value);
  if (dtype === 'bool') return value ? 1 : 0;
  return value;
}

/** The tensor of a constant input, built once at load. */
export function constantTensor(spec: Extract<InputSpec, { source: 'constant' }>): Tensor {
  return typeof spec.value === 'number' ? filledTensor(spec.dtype, spec.shape, spec.value) : tensorFromNumbers(spec.dtype, spec.shape, spec.value);
}

/**
 * A text product ([1, n] int32 or int64 ids) in the dtype and rank the input declares
 * (rank 1 → [n]); the data is shared when nothing changes.
 */
export function asTextInput(product: Tensor, spec: TensorSpec): Tensor {
  const n = product.data.length;
  const dims = spec.shape.length === 1 ? [n] : spec.shape.length === 2 ? [1, n] : product.dims;
  if (product.dtype === spec.dtype) return dims === product.dims ? product : { ...product, dims };
  if (spec.dtype === 'int64') return { dtype: 'int64', dims, data: BigInt64Array.from(product.data as Int32Array, (v) => BigInt(v)) };
  if (spec.dtype === 'int32') return { dtype: 'int32', dims, data: Int32Array.from(product.data as BigInt64Array, (v) => Number(v)) };
  throw new Error(`text input "${spec.name}" is ${spec.dtype}; token ids go into int32 or int64 inputs`);
}

/** Element `i` of a tensor as a JS number (float16 decoded, int64 converted). */
export function numberAt(t: Tensor, i: number): number {
  if (t.dtype === 'float16') return fromHalfBits((t.data as Uint16Array)[i] as number);
  if (t.dtype === 'int64') return Number((t.data as BigInt64Array)[i]);
  return (t.data as ArrayLike<number>)[i] as number;
}

/** Reads the outputs of one run as the manifest says they mean; throws naming the output when they do not fit. */
export function interpretOutputs(manifest: Pick<ModelManifest, 'name' | 'version' | 'output'>, outputs: TensorMap): ModelAnswer {
  const meaning = manifest.output;
  if (meaning.kind === 'raw') {
    const out: RawAnswer['outputs'] = Object.create(null) as RawAnswer['outputs'];
    for (const name of Object.keys(outputs)) out[name] = tensorToJson(outputs[name] as Tensor);
    return { kind: 'raw', outputs: out };
  }
  const tensor = Object.prototype.hasOwnProperty.call(outputs, meaning.tensor) ? outputs[meaning.tensor] : undefined;
  if (!tensor) throw new Error(`${manifest.name}@${manifest.version}: the run returned no output "${meaning.tensor}"`);
  if (meaning.kind === 'regression') {
    const values = new Array<number>(tensor.data.length);
    for (let i = 0; i < values.length; i++) values[i] = numberAt(tensor, i);
    const answer: RegressionAnswer = { kind: 'regression', values };
    if (values.length === 1) answer.value = values[0] as number;
    if (meaning.names && meaning.names.length === values.length) answer.named = labelRecord(meaning.names, (_n, i) => values[i] as number);
    return answer;
  }
  return classify(manifest, meaning, tensor);
}

function classify(manifest: Pick<ModelManifest, 'name' | 'version'>, meaning: ClassificationOutput, tensor: Tensor): ClassificationAnswer {
  const { labels, activation } = meaning;
  const n = tensor.data.length;
  const last = tensor.dims.length ? (tensor.dims[tensor.dims.length - 1] as number) : 1;
  let units: number;
  if (last === labels.length) units = labels.length;
  else if (last === 1 && labels.length === 2) units = 1;
  else if (n === labels.length) units = n;
  else {
    throw new Error(
      `${manifest.name}@${manifest.version}: output "${meaning.tensor}" has shape ${JSON.stringify(tensor.dims)}; ` +
        `${labels.length} labels need [..., ${labels.length}]${labels.length === 2 ? ' (or one unit)' : ''}`,
    );
  }
  const rows = units === 0 ? 0 : n / units;
  if (rows < 1 || !Number.isInteger(rows)) throw new Error(`${manifest.name}@${manifest.version}: output "${meaning.tensor}" is empty`);
  const rowProbabilities = (row: number): number[] => {
    const base = row * units;
    if (units === 1) {
      const x = numberAt(tensor, base);
      const p = activation === 'sigmoid' ? sigmoid(x) : x;
      return [1 - p, p];
    }
    const p = new Array<number>(units);
    for (let i = 0; i < units; i++) p[i] = numberAt(tensor, base + i);
    if (activation === 'softmax') softmaxInPlace(p);
    else if (activation === 'sigmoid') for (let i = 0; i < units; i++) p[i] = sigmoid(p[i] as number);
    return p;
  };
  const first = rowProbabilities(0);
  const best = argmax(first);
  const answer: ClassificationAnswer = {
    kind: 'classification',
    label: labels[best] as string,
    scores: labelRecord(labels, (_l, i) => first[i] as number),
    confidence: first[best] as number,
    probabilities: first,
  };
  if (rows > 1) {
    answer.batch = [];
    for (let row = 0; row < rows; row++) {
      const p = row === 0 ? first : rowProbabilities(row);
      answer.batch.push({ label: labels[argmax(p)] as string, scores: labelRecord(labels, (_l, i) => p[i] as number) });
    }
  }
  return answer;
}

function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] as number) > (values[best] as number)) best = i;
  return best;
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

function softmaxInPlace(values: number[]): void {
  let max = -Infinity;
  for (const v of values) if (v > max) max = v;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const e = Math.exp((values[i] as number) - max);
    values[i] = e;
    sum += e;
  }
  for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) / sum;
}
