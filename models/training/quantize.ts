// Our own int8 step (no tooling): symmetric quantization with one scale per embedding row
// and one per output channel of each dense layer; biases stay fp32. Also builds the
// dequantized fp32 twin that the JS forward pass uses to predict exactly what the int8
// graph computes.
import type { FastTextWeights } from './fasttext.ts';

/** int8 values with one fp32 scale per row (axis 0) or per column (axis 1). */
export interface QuantizedMatrix {
  values: Int8Array;
  scales: Float32Array;
  rows: number;
  cols: number;
  /** Axis the scales run along: 0 = one per row, 1 = one per column. */
  axis: 0 | 1;
}

/** int8 version of a fastText model: embedding per row, w1/w2 per output channel. */
export interface QuantizedFastText {
  config: FastTextWeights['config'];
  embedding: QuantizedMatrix;
  w1: QuantizedMatrix;
  b1: Float32Array;
  w2: QuantizedMatrix;
  b2: Float32Array;
}

/**
 * Symmetric int8: scale = max|x| / 127 over each row (axis 0) or column (axis 1),
 * q = round(x / scale) in [-127, 127]. An all-zero group gets scale 1 (q = 0), never a 0 divisor.
 */
export function quantizeSymmetric(matrix: Float32Array, rows: number, cols: number, axis: 0 | 1): QuantizedMatrix {
  const groups = axis === 0 ? rows : cols;
  const scales = new Float32Array(groups);
  const maxAbs = new Float64Array(groups);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const g = axis === 0 ? r : c;
      maxAbs[g] = Math.max(maxAbs[g] as number, Math.abs(matrix[r * cols + c] as number));
    }
  }
  for (let g = 0; g < groups; g++) scales[g] = (maxAbs[g] as number) > 0 ? (maxAbs[g] as number) / 127 : 1;
  const values = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const scale = scales[axis === 0 ? r : c] as number;
      const q = Math.round((matrix[r * cols + c] as number) / scale);
      values[r * cols + c] = Math.max(-127, Math.min(127, q));
    }
  }
  return { values, scales, rows, cols, axis };
}

/** q * scale in float32, exactly as DequantizeLinear (or Cast + Mul) computes it. */
export function dequantize(m: QuantizedMatrix): Float32Array {
  const out = new Float32Array(m.rows * m.cols);
  for (let r = 0; r < m.rows; r++) {
    for (let c = 0; c < m.cols; c++) {
      out[r * m.cols + c] = Math.fround((m.values[r * m.cols + c] as number) * (m.scales[m.axis === 0 ? r : c] as number));
    }
  }
  return out;
}

/** Quantizes a trained model: embedding per row, dense weights per output channel. */
export function quantizeFastText(weights: FastTextWeights): QuantizedFastText {
  const { buckets, dim, hidden, classes } = weights.config;
  return {
    config: weights.config,
    embedding: quantizeSymmetric(weights.embedding, buckets, dim, 0),
    w1: quantizeSymmetric(weights.w1, dim, hidden, 1),
    b1: weights.b1,
    w2: quantizeSymmetric(weights.w2, hidden, classes, 1),
    b2: weights.b2,
  };
}

/** The fp32 weights the int8 graph effectively runs with (for the JS forward pass). */
export function dequantizeFastText(q: QuantizedFastText): FastTextWeights {
  return {
    config: q.config,
    embedding: dequantize(q.embedding),
    w1: dequantize(q.w1),
    b1: q.b1,
    w2: dequantize(q.w2),
    b2: q.b2,
  };
}
