// Tensors in JSON, checked against a declared input: nested arrays ([[0.1, 0.2]]) or
// {"data": [...], "shape": [...]} (data flat or nested). Used by /v1/predict "inputs" and by
// the KServe V2 route. Every refusal is a 400 naming the input and what was expected, since
// an engine handed a wrong dtype, shape or out-of-range integer fails as a 500 or, worse,
// reads out of bounds.
import { TENSOR_DATA_CONSTRUCTORS, type Tensor, type TensorDType } from '../engine/types.ts';
import { HttpError } from '../http/errors.ts';
import type { TensorSpec } from '../model/manifest.ts';
import { FLOAT16_MAX, FLOAT32_MAX, fromHalfBits, INT64_MAX, INT64_MIN, INTEGER_RANGE, toHalfBits, V2_DATATYPE } from './tensor-dtypes.ts';
import { describeType, previewValue } from './inputs.ts';

/** What a tensor is checked against: its declared dtype and dims (-1 free). */
export type DeclaredTensor = Pick<TensorSpec, 'dtype' | 'shape'>;

const bad = (message: string) => new HttpError(400, 'invalid_request', message);

/** The declared shape as users read it: [-1, 16, 96]. */
function declared(spec: DeclaredTensor): string {
  return JSON.stringify(spec.shape);
}

/**
 * Parses a JSON tensor for the input `spec`. `where` names it in errors (e.g. `input "x"`);
 * `maxBatch` bounds a leading -1 dim (the model's batch.max).
 */
export function tensorFromJson(value: unknown, spec: DeclaredTensor, where: string, maxBatch: number): Tensor {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const object = value as Record<string, unknown>;
    for (const key of Object.keys(object)) {
      if (key !== 'data' && key !== 'shape') throw bad(`${where}: unknown field "${key.slice(0, 40)}"; send {"data": [...], "shape": ${declared(spec)}}`);
    }
    if (object.shape === undefined) throw bad(`${where}: {"data", "shape"} needs "shape", e.g. ${declared(spec).replaceAll('-1', '1')}`);
    const shape = checkShape(object.shape, spec, where, maxBatch);
    return tensorFromData(object.data, shape, spec.dtype, where);
  }
  if (Array.isArray(value)) {
    const shape = nestedShape(value, spec.shape.length, spec, where);
    checkShape(shape, spec, where, maxBatch);
    return tensorFromData(value, shape, spec.dtype, where);
  }
  if (spec.shape.length === 0 && value !== undefined && value !== null) return tensorFromData([value], [], spec.dtype, where);
  throw bad(`${where} must be a nested array of shape ${declared(spec)} or {"data": [...], "shape": [...]}, got ${describeType(value)}`);
}

/** The shape of a rectangular nested array of `rank` levels (refuses ragged or deeper data). */
function nestedShape(value: unknown[], rank: number, spec: DeclaredTensor, where: string): number[] {
  const shape: number[] = [];
  let level: unknown = value;
  for (let depth = 0; depth < rank; depth++) {
    if (!Array.isArray(level)) throw bad(`${where} must be nested ${rank} levels deep (shape ${declared(spec)}), got ${depth}`);
    shape.push(level.length);
    level = level[0];
  }
  return shape;
}

/**
 * Checks a sent shape against the declared one: same rank, fixed dims equal, -1 dims ≥ 1, a
 * leading -1 (the batch) at most `maxBatch`. Returns it as numbers.
 */
export function checkShape(shape: unknown, spec: DeclaredTensor, where: string, maxBatch: number): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d))) {
    throw bad(`${where}: "shape" must be an array of integers like ${declared(spec).replaceAll('-1', '1')}, got ${Array.isArray(shape) ? 'other values' : previewValue(shape)}`);
  }
  const dims = shape as number[];
  const shown = JSON.stringify(dims.slice(0, 10)) + (dims.length > 10 ? '…' : '');
  if (dims.length !== spec.shape.length) {
    throw bad(`${where} has shape ${shown} (rank ${dims.length}); expected rank ${spec.shape.length}, shape ${declared(spec)}`);
  }
  spec.shape.forEach((want, i) => {
    const got = dims[i] as number;
    if (want === -1) {
      if (got < 1) throw bad(`${where} has shape ${shown}; dimension ${i} must be at least 1`);
      if (i === 0 && got > maxBatch) {
        throw bad(`${where} has a batch of ${got} (shape ${shown}); this model takes at most ${maxBatch} (batch.max in its model.json)`);
      }
    } else if (got !== want) {
      throw bad(`${where} has shape ${shown}; expected ${declared(spec)} (dimension ${i} must be ${want})`);
    }
  });
  return dims;
}

/** Number of elements of a shape. */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Builds a tensor of `shape` from JSON data that is flat (one array of every element) or
 * nested to match `shape`, checking each element against the dtype.
 */
export function tensorFromData(data: unknown, shape: readonly number[], dtype: TensorDType, where: string): Tensor {
  const count = elementCount(shape);
  if (!Array.isArray(data)) throw bad(`${where}: "data" must be an array of ${count} ${V2_DATATYPE[dtype]} values, got ${describeType(data)}`);
  const flat = data.length === count && (shape.length <= 1 || !Array.isArray(data[0])) ? data : flattenNested(data, shape, where);
  const out = new TENSOR_DATA_CONSTRUCTORS[dtype](count);
  for (let i = 0; i < count; i++) (out as { [k: number]: number | bigint })[i] = element(flat[i], dtype, where, i);
  return { dtype, dims: [...shape], data: out } as Tensor;
}

/** Flattens data nested exactly as `shape` (row-major); depth is bounded by the rank. */
function flattenNested(data: unknown[], shape: readonly number[], where: string): unknown[] {
  const out: unknown[] = [];
  const count = elementCount(shape);
  const walk = (value: unknown, depth: number): void => {
    const want = shape[depth] as number;
    if (!Array.isArray(value) || value.length !== want) {
      throw bad(`${where}: "data" must hold ${count} values, flat or nested as shape ${JSON.stringify(shape)}; level ${depth} has ${Array.isArray(value) ? value.length : describeType(value)} where ${want} belong`);
    }
    if (depth === shape.length - 1) {
      for (const v of value) out.push(v);
      return;
    }
    for (const v of value) walk(v, depth + 1);
  };
  if (shape.length === 0) throw bad(`${where}: a scalar's "data" must be one value`);
  walk(data, 0);
  return out;
}

/** One element as its typed-array value, or a 400 naming the position. */
function element(value: unknown, dtype: TensorDType, where: string, index: number): number | bigint {
  const refuse = (expected: string) => bad(`${where}: element ${index} must be ${expected} (${V2_DATATYPE[dtype]}), got ${previewValue(value)}`);
  switch (dtype) {
    case 'bool':
      if (value === true || value === 1) return 1;
      if (value === false || value === 0) return 0;
      throw refuse('true or false');
    case 'float16':
    case 'float32':
    case 'float64': {
      if (typeof value !== 'number') throw refuse('a number');
      const limit = dtype === 'float16' ? FLOAT16_MAX : dtype === 'float32' ? FLOAT32_MAX : Number.MAX_VALUE;
      if (Math.abs(value) > limit) throw refuse(`a number within ±${limit}`);
      return dtype === 'float16' ? toHalfBits(value) : value;
    }
    case 'int64': {
      // Strings carry integers past 2^53 exactly; JSON numbers there have already lost digits.
      if (typeof value === 'string' && /^-?\d{1,19}$/.test(value)) {
        const big = BigInt(value);
        if (big >= INT64_MIN && big <= INT64_MAX) return big;
      }
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw refuse('an integer (beyond ±2^53 as a decimal string)');
      return BigInt(value);
    }
    default: {
      const [lo, hi] = INTEGER_RANGE[dtype];
      if (typeof value !== 'number' || !Number.isInteger(value) || value < lo || value > hi) throw refuse(`an integer in [${lo}, ${hi}]`);
      return value;
    }
  }
}

/** A tensor as V2 JSON: datatype, shape and flat data (int64 as numbers, FP16 decoded, BOOL as booleans). */
export function tensorToJson(t: Tensor): { datatype: string; shape: number[]; data: unknown[] } {
  let data: unknown[];
  if (t.dtype === 'int64') data = Array.from(t.data as BigInt64Array, Number);
  else if (t.dtype === 'float16') data = Array.from(t.data as Uint16Array, fromHalfBits);
  else if (t.dtype === 'bool') data = Array.from(t.data as Uint8Array, (v) => v !== 0);
  else data = Array.from(t.data as ArrayLike<number>);
  return { datatype: V2_DATATYPE[t.dtype], shape: [...t.dims], data };
}
