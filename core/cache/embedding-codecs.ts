// Compression of cached embeddings: fp32, fp16, int8 (one scale per vector) and binary
// (sign bits with one magnitude per side), stored as base64 text because raw bytes do not
// round-trip through the Upstash client. "Adaptive": per model, the smallest codec whose
// label agreement (the model's head on the decoded vs the original embedding) meets a
// target is chosen, from measurements on the calibration split.
import { bytesFromBase64 } from '../model/embedded-source.ts';

/** Codecs from the largest to the smallest. */
export const EMBEDDING_CODECS = ['fp32', 'fp16', 'int8', 'binary'] as const;
export type EmbeddingCodec = (typeof EMBEDDING_CODECS)[number];

/** Encoded text: `{codec}:{dims}:{base64}`, self-describing so any reader can decode it. */
export function encodeEmbedding(vector: Float32Array, codec: EmbeddingCodec): string {
  return `${codec}:${vector.length}:${toBase64(encodeBytes(vector, codec))}`;
}

/** Decodes text made by {@link encodeEmbedding}; throws on anything else. */
export function decodeEmbedding(text: string): Float32Array {
  const match = /^(fp32|fp16|int8|binary):(\d+):([A-Za-z0-9+/]*={0,2})$/.exec(text);
  if (!match) throw new Error('not an encoded embedding ("{codec}:{dims}:{base64}")');
  const codec = match[1] as EmbeddingCodec;
  const dims = Number(match[2]);
  const bytes = bytesFromBase64(match[3] as string);
  const expected = byteLength(codec, dims);
  if (bytes.length !== expected) throw new Error(`${codec} embedding of ${dims} dims must hold ${expected} bytes, got ${bytes.length}`);
  return decodeBytes(bytes, codec, dims);
}

/** Bytes of the binary payload (before base64) for a codec and a dimension. */
export function byteLength(codec: EmbeddingCodec, dims: number): number {
  switch (codec) {
    case 'fp32':
      return 4 * dims;
    case 'fp16':
      return 2 * dims;
    case 'int8':
      return 4 + dims; // float32 scale, then one byte a value
    case 'binary':
      return 8 + Math.ceil(dims / 8); // two float32 magnitudes, then one bit a value
  }
}

function encodeBytes(v: Float32Array, codec: EmbeddingCodec): Uint8Array {
  const out = new Uint8Array(byteLength(codec, v.length));
  const view = new DataView(out.buffer);
  switch (codec) {
    case 'fp32':
      v.forEach((x, i) => view.setFloat32(4 * i, x, true));
      break;
    case 'fp16':
      v.forEach((x, i) => view.setUint16(2 * i, float32ToFloat16Bits(x), true));
      break;
    case 'int8': {
      let max = 0;
      for (const x of v) max = Math.max(max, Math.abs(x));
      const scale = max / 127;
      view.setFloat32(0, scale, true);
      v.forEach((x, i) => view.setInt8(4 + i, scale > 0 ? Math.round(x / scale) : 0));
      break;
    }
    case 'binary': {
      // Bit set for x > 0. Decoded values are the mean of each side, so a ReLU vector (no
      // negatives) decodes to {0, mean of positives} instead of losing its scale.
      let pos = 0;
      let posN = 0;
      let neg = 0;
      let negN = 0;
      v.forEach((x, i) => {
        if (x > 0) {
          pos += x;
          posN++;
          out[8 + (i >> 3)] = (out[8 + (i >> 3)] as number) | (1 << (i & 7));
        } else {
          neg += x;
          negN++;
        }
      });
      view.setFloat32(0, posN ? pos / posN : 0, true);
      view.setFloat32(4, negN ? neg / negN : 0, true);
      break;
    }
  }
  return out;
}

function decodeBytes(bytes: Uint8Array, codec: EmbeddingCodec, dims: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const v = new Float32Array(dims);
  switch (codec) {
    case 'fp32':
      for (let i = 0; i < dims; i++) v[i] = view.getFloat32(4 * i, true);
      break;
    case 'fp16':
      for (let i = 0; i < dims; i++) v[i] = float16BitsToFloat32(view.getUint16(2 * i, true));
      break;
    case 'int8': {
      const scale = view.getFloat32(0, true);
      for (let i = 0; i < dims; i++) v[i] = view.getInt8(4 + i) * scale;
      break;
    }
    case 'binary': {
      const pos = view.getFloat32(0, true);
      const neg = view.getFloat32(4, true);
      for (let i = 0; i < dims; i++) v[i] = ((bytes[8 + (i >> 3)] as number) >> (i & 7)) & 1 ? pos : neg;
      break;
    }
  }
  return v;
}

/** IEEE 754 half precision, round to nearest even; overflow → ±Infinity, tiny → subnormal or 0. */
export function float32ToFloat16Bits(value: number): number {
  const f32 = new Float32Array([value]);
  const bits = new Uint32Array(f32.buffer)[0] as number;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0); // NaN stays NaN
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    let half = mantissa >> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa moves into the exponent, up to Infinity: still correct.
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | half;
}

export function float16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** How one codec did on a set of embeddings. */
export interface CodecMeasurement {
  codec: EmbeddingCodec;
  /** Stored size per embedding (the base64 text, what Redis holds). */
  textBytes: number;
  /** Share of embeddings whose head label on the decoded vector equals the label on the original. */
  agreement: number;
  /** Largest absolute difference between a decoded and an original value. */
  maxAbsError: number;
}

/** The adaptive choice: every codec measured, and the smallest that meets the target. */
export interface CodecChoice {
  target: number;
  chosen: EmbeddingCodec;
  measurements: CodecMeasurement[];
}

/**
 * Measures every codec on `embeddings` with `head` (embedding → label index) and picks the
 * smallest whose agreement is at least `target` (default 99.5 %); fp32 is exact, so it is
 * the fallback.
 */
export function chooseEmbeddingCodec(embeddings: readonly Float32Array[], head: (embedding: Float32Array) => number, target = 0.995): CodecChoice {
  if (embeddings.length === 0) throw new Error('chooseEmbeddingCodec: no embeddings to measure on');
  const originalLabels = embeddings.map(head);
  const measurements = EMBEDDING_CODECS.map((codec): CodecMeasurement => {
    let agree = 0;
    let maxAbsError = 0;
    let textBytes = 0;
    embeddings.forEach((e, i) => {
      const text = encodeEmbedding(e, codec);
      textBytes += text.length;
      const decoded = decodeEmbedding(text);
      for (let j = 0; j < e.length; j++) maxAbsError = Math.max(maxAbsError, Math.abs((decoded[j] as number) - (e[j] as number)));
      if (head(decoded) === originalLabels[i]) agree++;
    });
    return { codec, textBytes: Math.round(textBytes / embeddings.length), agreement: agree / embeddings.length, maxAbsError };
  });
  const fitting = measurements.filter((m) => m.agreement >= target).sort((a, b) => a.textBytes - b.textBytes);
  return { target, chosen: fitting[0]?.codec ?? 'fp32', measurements };
}
