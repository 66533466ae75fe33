// Symmetric int8 quantization: scales per row / per column, error within half a step.
import { describe, expect, it } from 'vitest';
import { dequantize, quantizeSymmetric } from '../../../models/training/quantize.ts';

describe('quantizeSymmetric', () => {
  const matrix = Float32Array.from([0.5, -1, 0.25, /* row 1 */ 0, 0, 0, /* row 2 */ 3, 2.9, -0.01]);

  it('gives each row its own scale max|x|/127, an all-zero row scale 1, and |error| ≤ scale/2', () => {
    const q = quantizeSymmetric(matrix, 3, 3, 0);
    expect(Array.from(q.scales)).toEqual([Math.fround(1 / 127), 1, Math.fround(3 / 127)]);
    expect(Array.from(q.values.slice(0, 3))).toEqual([64, -127, 32]);
    expect(Array.from(q.values.slice(3, 6))).toEqual([0, 0, 0]);
    const back = dequantize(q);
    for (let i = 0; i < matrix.length; i++) {
      const scale = q.scales[Math.floor(i / 3)] as number;
      expect(Math.abs((back[i] as number) - (matrix[i] as number))).toBeLessThanOrEqual(scale / 2 + 1e-7);
    }
  });

  it('per output channel (axis 1) scales columns, and the largest magnitude maps to ±127', () => {
    const q = quantizeSymmetric(matrix, 3, 3, 1);
    expect(Array.from(q.scales)).toEqual([Math.fround(3 / 127), Math.fround(2.9 / 127), Math.fround(0.25 / 127)]);
    expect(q.values[6]).toBe(127); // 3 in column 0
    expect(q.values[1]).toBe(-44); // -1 / (2.9/127) = -43.8
    expect(q.values[2]).toBe(127); // 0.25 in column 2
  });
});
