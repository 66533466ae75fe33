// Element types as the KServe V2 / Open Inference Protocol names them, and the per-element
// rules shared by the JSON and binary tensor codecs: integer ranges, float limits, and
// IEEE half-precision conversion (FP16 has no JSON form, so it travels as numbers or bits).
import type { TensorDType } from '../engine/types.ts';

/** V2 datatype of each core dtype (https://kserve.github.io/website/docs/concepts/architecture/data-plane/v2-protocol#tensor-data-types). */
export const V2_DATATYPE: { readonly [T in TensorDType]: string } = {
  bool: 'BOOL',
  uint8: 'UINT8',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
};

const DTYPE_OF_V2 = new Map<string, TensorDType>(Object.entries(V2_DATATYPE).map(([dtype, v2]) => [v2, dtype as TensorDType]));

/** The core dtype a V2 datatype names, or undefined (BYTES, UINT16/32/64 and typos). */
export function dtypeOfV2(datatype: unknown): TensorDType | undefined {
  return typeof datatype === 'string' ? DTYPE_OF_V2.get(datatype) : undefined;
}

/** Inclusive value range of each integer dtype (int64 as bigint). */
export const INTEGER_RANGE = {
  uint8: [0, 255],
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
} as const;

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

/** Largest finite float32 and float16 values; JSON numbers past them would become Infinity. */
export const FLOAT32_MAX = 3.4028234663852886e38;
export const FLOAT16_MAX = 65504;

/** Bytes per element in the binary tensor extension (native size; BOOL one byte). */
export const BYTES_PER_ELEMENT: { readonly [T in TensorDType]: number } = {
  bool: 1,
  uint8: 1,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  float16: 2,
  float32: 4,
  float64: 8,
};

function roundHalfEven(v: number): number {
  const floor = Math.floor(v);
  const rest = v - floor;
  if (rest > 0.5) return floor + 1;
  if (rest < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * IEEE 754 half-precision bits of `value`, rounded to nearest even straight from the float64
 * (going through float32 first would round twice). Overflow gives ±Infinity, NaN a quiet NaN.
 */
export function toHalfBits(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const abs = Math.abs(value);
  if (abs === Infinity) return sign | 0x7c00;
  // Below 2^-14 the format is subnormal: a plain multiple of 2^-24.
  if (abs < 2 ** -14) return sign | roundHalfEven(abs * 2 ** 24);
  let exponent = Math.floor(Math.log2(abs));
  // log2 can be off by one next to powers of two; the mantissa must land in [1, 2).
  if (abs / 2 ** exponent >= 2) exponent++;
  else if (abs / 2 ** exponent < 1) exponent--;
  let mantissa = roundHalfEven((abs / 2 ** exponent - 1) * 1024);
  if (mantissa === 1024) {
    mantissa = 0;
    exponent++;
  }
  if (exponent > 15) return sign | 0x7c00;
  return sign | ((exponent + 15) << 10) | mantissa;
}

/** The number half-precision bits stand for. */
export function fromHalfBits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}
