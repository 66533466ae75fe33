// tensorFromJson / tensorToJson: every dtype, both JSON forms, the shape and batch rules, and
// the refusals (each a 400 naming the input and what it expected).
import { describe, expect, it } from 'vitest';
import type { Tensor, TensorDType } from '../../../core/engine/types.ts';
import { HttpError } from '../../../core/http/errors.ts';
import { fromHalfBits, toHalfBits } from '../../../core/serving/tensor-dtypes.ts';
import { tensorFromJson, tensorToJson } from '../../../core/serving/tensor-json.ts';

function refusal(run: () => unknown): HttpError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(400);
    expect((error as HttpError).code).toBe('invalid_request');
    return error as HttpError;
  }
  throw new Error('expected a 400');
}

const spec = (dtype: TensorDType, shape: number[]) => ({ dtype, shape });

describe('tensorFromJson', () => {
  it('reads nested arrays and {data, shape} (flat or nested) into the same tensor', () => {
    const s = spec('float32', [-1, 2, 3]);
    const nested = tensorFromJson([[[1, 2, 3], [4, 5, 6]]], s, 'input "x"', 1);
    const flat = tensorFromJson({ data: [1, 2, 3, 4, 5, 6], shape: [1, 2, 3] }, s, 'input "x"', 1);
    const both = tensorFromJson({ data: [[[1, 2, 3], [4, 5, 6]]], shape: [1, 2, 3] }, s, 'input "x"', 1);
    for (const t of [nested, flat, both]) {
      expect(t.dtype).toBe('float32');
      expect(t.dims).toEqual([1, 2, 3]);
      expect(Array.from(t.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    }
  });

  it('builds the typed array of every dtype', () => {
    const cases: Array<[TensorDType, unknown[], string, unknown[]]> = [
      ['bool', [true, false, 1, 0], 'Uint8Array', [1, 0, 1, 0]],
      ['uint8', [0, 255, 7, 1], 'Uint8Array', [0, 255, 7, 1]],
      ['int8', [-128, 127, 0, -1], 'Int8Array', [-128, 127, 0, -1]],
      ['int16', [-32768, 32767, 0, 5], 'Int16Array', [-32768, 32767, 0, 5]],
      ['int32', [-2147483648, 2147483647, 0, 9], 'Int32Array', [-2147483648, 2147483647, 0, 9]],
      ['int64', [Number.MAX_SAFE_INTEGER, -3, '9223372036854775807', '-9223372036854775808'], 'BigInt64Array', [9007199254740991n, -3n, 9223372036854775807n, -9223372036854775808n]],
      ['float16', [1, -2, 0.5, 65504], 'Uint16Array', [0x3c00, 0xc000, 0x3800, 0x7bff]],
      ['float32', [0.1, -1e-7, 3e38, 0], 'Float32Array', [Math.fround(0.1), Math.fround(-1e-7), Math.fround(3e38), 0]],
      ['float64', [0.1, -1e-300, 1e300, 0], 'Float64Array', [0.1, -1e-300, 1e300, 0]],
    ];
    for (const [dtype, data, arrayName, expected] of cases) {
      const t = tensorFromJson({ data, shape: [2, 2] }, spec(dtype, [2, -1]), `input "${dtype}"`, 1);
      expect(t.dtype).toBe(dtype);
      expect(t.data.constructor.name, dtype).toBe(arrayName);
      expect(Array.from(t.data as ArrayLike<number | bigint>), dtype).toEqual(expected);
    }
  });

  it('accepts a scalar for a rank-0 input', () => {
    const t = tensorFromJson(16000, spec('int64', []), 'input "sr"', 1);
    expect(t.dims).toEqual([]);
    expect(Array.from(t.data as BigInt64Array)).toEqual([16000n]);
  });

  it('lets -1 dims vary and bounds a leading -1 by the batch limit', () => {
    const s = spec('float32', [-1, -1]);
    expect(tensorFromJson([[1, 2, 3], [4, 5, 6]], s, 'input "x"', 2).dims).toEqual([2, 3]);
    const over = refusal(() => tensorFromJson([[1], [2], [3]], s, 'input "x"', 2));
    expect(over.message).toBe('input "x" has a batch of 3 (shape [3,1]); this model takes at most 2 (batch.max in its model.json)');
    // A fixed leading dim is not a batch: [1, -1] takes any length, never batch 2.
    expect(tensorFromJson([[1, 2, 3, 4, 5]], spec('int32', [1, -1]), 'input "ids"', 1).dims).toEqual([1, 5]);
    expect(refusal(() => tensorFromJson([[1], [2]], spec('int32', [1, -1]), 'input "ids"', 8)).message).toBe(
      'input "ids" has shape [2,1]; expected [1,-1] (dimension 0 must be 1)',
    );
  });

  it('refuses wrong shapes, ragged data and counts that do not match, naming the input', () => {
    const s = spec('float32', [1, 3]);
    expect(refusal(() => tensorFromJson([1, 2, 3], s, 'input "x"', 1)).message).toBe('input "x" must be nested 2 levels deep (shape [1,3]), got 1');
    expect(refusal(() => tensorFromJson([[1, 2]], s, 'input "x"', 1)).message).toBe('input "x" has shape [1,2]; expected [1,3] (dimension 1 must be 3)');
    expect(refusal(() => tensorFromJson({ data: [1, 2, 3], shape: [1, 3, 1] }, s, 'input "x"', 1)).message).toBe(
      'input "x" has shape [1,3,1] (rank 3); expected rank 2, shape [1,3]',
    );
    expect(refusal(() => tensorFromJson({ data: [1, 2], shape: [1, 3] }, s, 'input "x"', 1)).message).toContain('"data" must hold 3 values');
    expect(refusal(() => tensorFromJson([[1, 2, 3], [4, 5]], spec('float32', [-1, 3]), 'input "x"', 4)).message).toContain('level 1 has 2 where 3 belong');
    expect(refusal(() => tensorFromJson({ data: [1, 2, 3], shape: [1, '3'] }, s, 'input "x"', 1)).message).toContain('"shape" must be an array of integers');
    expect(refusal(() => tensorFromJson({ data: [1, 2, 3], shape: [1, 3], dtype: 'x' }, s, 'input "x"', 1)).message).toContain('unknown field "dtype"');
    expect(refusal(() => tensorFromJson('1,2,3', s, 'input "x"', 1)).message).toContain('must be a nested array of shape [1,3]');
    expect(refusal(() => tensorFromJson({ data: [], shape: [0, 3] }, spec('float32', [-1, 3]), 'input "x"', 4)).message).toContain('dimension 0 must be at least 1');
  });

  it('refuses values outside the dtype: range, fractions, non-numbers, overflow', () => {
    const cases: Array<[TensorDType, unknown, string]> = [
      ['uint8', 256, 'an integer in [0, 255] (UINT8), got 256'],
      ['uint8', -1, 'an integer in [0, 255] (UINT8), got -1'],
      ['int8', 1.5, 'an integer in [-128, 127] (INT8), got 1.5'],
      ['int16', 40000, 'an integer in [-32768, 32767] (INT16), got 40000'],
      ['int32', 2 ** 31, 'an integer in [-2147483648, 2147483647] (INT32), got 2147483648'],
      ['int32', '7', 'an integer in [-2147483648, 2147483647] (INT32), got "7"'],
      ['int64', 2 ** 60, 'an integer (beyond ±2^53 as a decimal string) (INT64), got 1152921504606847000'],
      ['int64', '9223372036854775808', 'an integer (beyond ±2^53 as a decimal string) (INT64), got "9223372036854775808"'],
      ['bool', 2, 'true or false (BOOL), got 2'],
      ['float32', 1e39, 'a number within ±3.4028234663852886e+38 (FP32), got 1e+39'],
      ['float16', 70000, 'a number within ±65504 (FP16), got 70000'],
      ['float64', null, 'a number (FP64), got null'],
      ['float32', [1], 'a number (FP32), got an array'],
    ];
    for (const [dtype, value, expected] of cases) {
      expect(refusal(() => tensorFromJson({ data: [0, value], shape: [2] }, spec(dtype, [2]), 'input "v"', 1)).message, dtype).toBe(
        `input "v": element 1 must be ${expected}`,
      );
    }
  });

  it('does not overflow the stack on deeply nested data', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 50_000; i++) deep = [deep];
    expect(refusal(() => tensorFromJson(deep, spec('float32', [1, -1]), 'input "x"', 1)).message).toContain('element 0 must be a number');
    expect(refusal(() => tensorFromJson({ data: deep, shape: [1, 1] }, spec('float32', [1, -1]), 'input "x"', 1)).message).toContain('element 0 must be a number');
  });
});

describe('tensorToJson', () => {
  it('writes V2 datatypes with flat data, decoding FP16, BOOL and INT64', () => {
    const t = (dtype: TensorDType, data: Tensor['data']): Tensor => ({ dtype, dims: [1, data.length], data }) as Tensor;
    expect(tensorToJson(t('float32', Float32Array.of(0.5, -2)))).toEqual({ datatype: 'FP32', shape: [1, 2], data: [0.5, -2] });
    expect(tensorToJson(t('float16', Uint16Array.of(0x3c00, 0xc000)))).toEqual({ datatype: 'FP16', shape: [1, 2], data: [1, -2] });
    expect(tensorToJson(t('bool', Uint8Array.of(1, 0)))).toEqual({ datatype: 'BOOL', shape: [1, 2], data: [true, false] });
    expect(tensorToJson(t('int64', BigInt64Array.of(5n, -7n)))).toEqual({ datatype: 'INT64', shape: [1, 2], data: [5, -7] });
    expect(tensorToJson(t('int16', Int16Array.of(-3)))).toEqual({ datatype: 'INT16', shape: [1, 1], data: [-3] });
  });

  it('round-trips through tensorFromJson for every dtype', () => {
    const values: Record<TensorDType, number[] | boolean[]> = {
      bool: [true, false, true],
      uint8: [0, 128, 255],
      int8: [-128, 0, 127],
      int16: [-32768, 1, 32767],
      int32: [-5, 0, 2147483647],
      int64: [-(2 ** 53) + 1, 0, 2 ** 53 - 1],
      float16: [0.0999755859375, -65504, 6.103515625e-5],
      float32: [Math.fround(0.1), -1, 1e-30].map(Math.fround),
      float64: [0.1, -1, 1e-300],
    };
    for (const [dtype, data] of Object.entries(values) as Array<[TensorDType, unknown[]]>) {
      const t = tensorFromJson({ data, shape: [3] }, spec(dtype, [-1]), 'input "r"', 3);
      expect(tensorToJson(t).data, dtype).toEqual(data);
    }
  });
});

describe('half precision', () => {
  it('rounds to nearest even and keeps subnormals, infinities and NaN', () => {
    expect(toHalfBits(1)).toBe(0x3c00);
    expect(toHalfBits(65504)).toBe(0x7bff);
    expect(toHalfBits(65520)).toBe(0x7c00); // rounds up past the largest finite half
    expect(toHalfBits(-0)).toBe(0x8000);
    expect(toHalfBits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(toHalfBits(2 ** -25)).toBe(0x0000); // halfway to zero: ties to even
    expect(toHalfBits(3 * 2 ** -25)).toBe(0x0002);
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00); // tie between 1 and 1+2^-10: even
    expect(toHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(toHalfBits(0.1)).toBe(0x2e66);
    expect(toHalfBits(Infinity)).toBe(0x7c00);
    expect(Number.isNaN(fromHalfBits(toHalfBits(NaN)))).toBe(true);
    for (let bits = 0; bits < 0x7c00; bits += 31) expect(toHalfBits(fromHalfBits(bits))).toBe(bits);
  });
});
