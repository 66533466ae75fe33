// Every core dtype through both ORT engines: a graph with one input per dtype returns it
// unchanged (Identity) and as float32 (Cast), so a wrong typed array, a wrong byte width or
// FP16 bits read as integers would show as a different value.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeOrtWebEngine } from '../../../adapters/node/ort-wasm-binary.ts';
import { createOrtNodeEngine } from '../../../core/engine/ort-node/ort-node-engine.ts';
import { TENSOR_DTYPES, type Engine, type EngineSession, type Tensor, type TensorDType, type TensorMap } from '../../../core/engine/types.ts';
import type { ModelManifest } from '../../../core/model/manifest.ts';
import { toHalfBits } from '../../../core/serving/tensor-dtypes.ts';
import { buildDtypesGraph } from '../../helpers/third-party-models.ts';

/** The values each dtype's input carries, as numbers (what Cast to float32 must give back). */
const VALUES: Record<TensorDType, number[]> = {
  bool: [1, 0, 1],
  uint8: [0, 200, 255],
  int8: [-128, 5, 127],
  int16: [-32768, 1234, 32767],
  int32: [-2147483648, 7, 2147483647],
  int64: [-(2 ** 40), 3, 2 ** 40],
  float16: [0.5, -1.25, 65504],
  float32: [0.1, -2.5, 1e30],
  float64: [0.1, -2.5, 1e30],
};

function feed(dtype: TensorDType): Tensor {
  const v = VALUES[dtype];
  const dims = [1, v.length];
  switch (dtype) {
    case 'int64': return { dtype, dims, data: BigInt64Array.from(v, (x) => BigInt(x)) };
    case 'float16': return { dtype, dims, data: Uint16Array.from(v, toHalfBits) };
    default: return { dtype, dims, data: new (({ bool: Uint8Array, uint8: Uint8Array, int8: Int8Array, int16: Int16Array, int32: Int32Array, float32: Float32Array, float64: Float64Array }) as const)[dtype](v) } as Tensor;
  }
}

const bytes = buildDtypesGraph();
const manifest = {
  name: 'dtypes',
  version: '1',
  inputs: TENSOR_DTYPES.map((dtype) => ({ name: `x_${dtype}`, dtype, shape: [1, -1] })),
  outputs: TENSOR_DTYPES.flatMap((dtype) => [
    { name: `same_${dtype}`, dtype, shape: [1, -1] },
    { name: `f_${dtype}`, dtype: 'float32', shape: [1, -1] },
  ]),
} as unknown as ModelManifest;

const sessions: Array<[string, EngineSession]> = [];
beforeAll(async () => {
  for (const engine of [await createOrtNodeEngine(), await createNodeOrtWebEngine()] as Engine[]) sessions.push([engine.name, await engine.load(bytes, manifest)]);
});
afterAll(async () => {
  for (const [, s] of sessions) await s.release();
});

describe('every dtype through ort-node and ort-web', () => {
  it('returns each input unchanged, in the core typed array, and cast to float32 as the values sent', async () => {
    const feeds: TensorMap = Object.fromEntries(TENSOR_DTYPES.map((dtype) => [`x_${dtype}`, feed(dtype)]));
    for (const [engine, session] of sessions) {
      const out = await session.run(feeds);
      for (const dtype of TENSOR_DTYPES) {
        const same = out[`same_${dtype}`]!;
        const sent = feeds[`x_${dtype}`]!;
        expect(same.dtype, `${engine} ${dtype}`).toBe(dtype);
        expect(same.dims, `${engine} ${dtype}`).toEqual([1, 3]);
        expect(same.data.constructor, `${engine} ${dtype}`).toBe(sent.data.constructor);
        expect(Array.from(same.data as ArrayLike<number | bigint>), `${engine} ${dtype}`).toEqual(Array.from(sent.data as ArrayLike<number | bigint>));
        expect(Array.from(out[`f_${dtype}`]!.data as Float32Array), `${engine} ${dtype}`).toEqual(VALUES[dtype].map(Math.fround));
      }
    }
  });
});
