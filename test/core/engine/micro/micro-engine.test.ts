// The micro engine over compiled modules: parity with onnxruntime-web on a seeded quantized
// fastText-like graph (empty, short and maximum-length id lists), load and run errors as
// values, and the `auto` engine choice falling back to ORT with the reason recorded.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createNodeMicroEngine } from '../../../../adapters/node/micro-engine.ts';
import { importMicroModule } from '../../../../adapters/node/micro-module-loader.ts';
import { createNodeOrtWebEngine } from '../../../../adapters/node/ort-wasm-binary.ts';
import { compileOnnxToModule } from '../../../../build/micro/compile.ts';
import { compileDeclaredModel } from '../../../../build/micro/compile-model.ts';
import { GraphBuilder } from '../../../../build/onnx/builder.ts';
import { createMicroEngine, microModuleKey } from '../../../../core/engine/micro/micro-engine.ts';
import { EngineRegistry } from '../../../../core/engine/registry.ts';
import { loadOnPreferredEngine } from '../../../../core/engine/select.ts';
import type { EngineSession, Tensor } from '../../../../core/engine/types.ts';
import type { ModelManifest } from '../../../../core/model/manifest.ts';
import { tensorMismatch } from '../../../build/micro/oracle.ts';
import { shapeEchoBytes, shapeEchoManifest } from '../../../helpers/shape-echo-graph.ts';
import { BAG, buildQuantizedBagModel, randomIdSequences, seededRandom } from '../quantized-bag-graph.ts';

const MAX_IDS = 2048;
const ids = (data: Int32Array): Tensor => ({ dtype: 'int32', dims: [1, data.length], data });

describe('micro engine vs ort-web on the quantized bag graph', () => {
  const model = buildQuantizedBagModel(7);
  let micro: EngineSession;
  let ort: EngineSession;
  beforeAll(async () => {
    micro = await createNodeMicroEngine().load(model.bytes, model.manifest);
    ort = await (await createNodeOrtWebEngine()).load(model.bytes, model.manifest);
  });
  afterAll(async () => {
    await micro.release();
    await ort.release();
  });

  test('empty, one, random and maximum-length id lists agree within 1e-5 on every output', async () => {
    const rand = seededRandom(3);
    const sequences = [
      new Int32Array(0),
      Int32Array.of(5),
      Int32Array.from({ length: MAX_IDS }, () => Math.floor(rand() * BAG.buckets)),
      Int32Array.from({ length: 300 }, () => -1 - Math.floor(rand() * BAG.buckets)), // negative ids count from the end
      ...randomIdSequences(200, 11, 400),
    ];
    const problems: string[] = [];
    for (const seq of sequences) {
      const [m, o] = [await micro.run({ ids: ids(seq) }), await ort.run({ ids: ids(seq) })];
      for (const name of ['probabilities', 'hidden']) {
        const problem = tensorMismatch(o[name]!, m[name]!, 1e-5);
        if (problem) problems.push(`${seq.length} ids, ${name}: ${problem}`);
      }
    }
    expect(problems).toEqual([]);
    // And against the plain float64 reference, which knows nothing of either engine.
    const seq = randomIdSequences(1, 99, 50)[0]!;
    const out = await micro.run({ ids: ids(seq) });
    const ref = model.reference(seq);
    ref.probabilities.forEach((p, i) => expect(out.probabilities!.data[i]).toBeCloseTo(p, 5));
  });

  test('outputs are copies: a result survives the next run', async () => {
    const first = await micro.run({ ids: ids(Int32Array.of(1, 2, 3)) });
    const kept = Float32Array.from(first.probabilities!.data as Float32Array);
    await micro.run({ ids: ids(Int32Array.of(400, 401)) });
    expect(Array.from(first.probabilities!.data as Float32Array)).toEqual(Array.from(kept));
    expect(first.probabilities!.dims).toEqual([1, 2]);
  });

  test('outputNames selects outputs', async () => {
    const out = await micro.run({ ids: ids(Int32Array.of(1)) }, ['hidden']);
    expect(Object.keys(out)).toEqual(['hidden']);
    expect(out.hidden!.dims).toEqual([1, BAG.hidden]);
  });

  test('bad feeds are run_failed errors naming the problem, not crashes', async () => {
    await expect(micro.run({})).rejects.toMatchObject({ code: 'run_failed', message: expect.stringContaining('missing input "ids"') });
    await expect(micro.run({ ids: { dtype: 'int64', dims: [1, 1], data: BigInt64Array.of(1n) } })).rejects.toMatchObject({
      code: 'run_failed',
      message: expect.stringContaining('must be int32, got int64'),
    });
    await expect(micro.run({ ids: { dtype: 'int32', dims: [2, 1], data: Int32Array.of(1, 2) } })).rejects.toThrow(/shape \[2, 1\], expected \[1, -1\]/);
    await expect(micro.run({ ids: { dtype: 'int32', dims: [1, 3], data: Int32Array.of(1) } })).rejects.toThrow(/Int32Array of 3 elements/);
    await expect(micro.run({ ids: ids(Int32Array.of(BAG.buckets)) })).rejects.toThrow(/index 512 is out of range/);
    // The session still works afterwards.
    const out = await micro.run({ ids: ids(Int32Array.of(7)) });
    expect(out.probabilities!.data.length).toBe(2);
  });
});

describe('micro engine loading', () => {
  const model = buildQuantizedBagModel(7);

  test('prebuilt modules are found by the sha256 of the bytes (and the declared input shapes: microModuleKey); other bytes are refused with the fix', async () => {
    const compiled = compileOnnxToModule(model.bytes, { name: 'quantized-bag' });
    const module = await importMicroModule(compiled.source);
    const engine = createMicroEngine({ modules: { [microModuleKey(compiled.metadata.sourceSha256, model.manifest)]: module } });
    const session = await engine.load(model.bytes, model.manifest);
    expect((await session.run({ ids: ids(Int32Array.of(1, 2)) })).probabilities!.dims).toEqual([1, 2]);
    const other = buildQuantizedBagModel(8);
    await expect(engine.load(other.bytes, other.manifest)).rejects.toMatchObject({
      code: 'model_load_failed',
      message: expect.stringContaining('npm run build:micro'),
    });
    const withFailure = createMicroEngine({ compileFailures: { [microModuleKey(compiled.metadata.sourceSha256, model.manifest)]: 'node "X" uses op Erf' } });
    await expect(withFailure.load(model.bytes, model.manifest)).rejects.toThrow(/this build carries no micro module for it: node "X" uses op Erf/);
  });

  test('a module given as an import function is imported when its model first loads, once', async () => {
    const compiled = compileOnnxToModule(model.bytes, { name: 'quantized-bag' });
    const other = buildQuantizedBagModel(8);
    const imported: string[] = [];
    const lazily = (name: string) => async () => {
      imported.push(name);
      return importMicroModule(compiled.source);
    };
    const engine = createMicroEngine({ modules: { [microModuleKey(compiled.metadata.sourceSha256, model.manifest)]: lazily('asked for'), [microModuleKey(other.manifest.sha256, other.manifest)]: lazily('never asked for') } });
    expect(imported).toEqual([]);
    const [a, b] = await Promise.all([engine.load(model.bytes, model.manifest), engine.load(model.bytes, model.manifest)]);
    expect((await a.run({ ids: ids(Int32Array.of(1, 2)) })).probabilities!.dims).toEqual([1, 2]);
    expect((await b.run({ ids: ids(Int32Array.of(3)) })).probabilities!.dims).toEqual([1, 2]);
    expect(imported).toEqual(['asked for']);
  });

  test('two versions sharing one .onnx but declaring different input shapes each compile and run their own (the compile-at-load cache was keyed by sha256 alone)', async () => {
    const bytes = shapeEchoBytes();
    const sha = createHash('sha256').update(bytes).digest('hex');
    const engine = createNodeMicroEngine();
    for (const n of [4, 8]) {
      const session = await engine.load(bytes, shapeEchoManifest(String(n), n, sha));
      const out = await session.run({ x: { dtype: 'float32', dims: [1, n], data: new Float32Array(n).fill(2) } });
      expect(Array.from(out.dims!.data as Float32Array)).toEqual([1, n]);
    }
  });

  test('a module compiled for other input sizes than model.json declares is a model_mismatch naming both', async () => {
    const bytes = shapeEchoBytes();
    const sha = createHash('sha256').update(bytes).digest('hex');
    const forFour = await importMicroModule(compileDeclaredModel(bytes, shapeEchoManifest('1', 4, sha)).source);
    const eight = shapeEchoManifest('2', 8, sha);
    const engine = createMicroEngine({ modules: { [microModuleKey(sha, eight)]: forFour } });
    await expect(engine.load(bytes, eight)).rejects.toMatchObject({ code: 'model_mismatch', message: expect.stringContaining('input "x" is declared [1,8] in model.json but the micro module was compiled for [1,4]') });
    // A module that left the dim variable takes any declared size.
    const generic = await importMicroModule(compileOnnxToModule(bytes, { name: 'shape-echo' }).source);
    const session = await createMicroEngine({ modules: { [microModuleKey(sha, eight)]: generic } }).load(bytes, eight);
    expect(Array.from((await session.run({ x: { dtype: 'float32', dims: [1, 8], data: new Float32Array(8) } })).dims!.data as Float32Array)).toEqual([1, 8]);
  });

  test('a manifest naming an output the graph lacks is a model_mismatch', async () => {
    const manifest: ModelManifest = { ...model.manifest, outputs: [...model.manifest.outputs, { name: 'logits', dtype: 'float32', shape: [1, 2] }] };
    await expect(createNodeMicroEngine().load(model.bytes, manifest)).rejects.toMatchObject({ code: 'model_mismatch' });
  });

  test('a released session refuses to run', async () => {
    const session = await createNodeMicroEngine().load(model.bytes, model.manifest);
    await session.release();
    await expect(session.run({ ids: ids(Int32Array.of(1)) })).rejects.toMatchObject({ code: 'session_released' });
  });
});

/** y = Hardmax(x): a graph the micro engine cannot compile. */
function erfModel(): { bytes: Uint8Array; manifest: ModelManifest } {
  const g = new GraphBuilder('erf');
  g.input('x', 'float32', [1, 2]);
  g.node('Hardmax', ['x'], ['probabilities']);
  g.output('probabilities', 'float32', [1, 2]);
  return {
    bytes: new Uint8Array(g.encode(17)),
    manifest: {
      ...buildQuantizedBagModel(7).manifest,
      name: 'erf',
      inputs: [{ name: 'x', dtype: 'float32', shape: [1, 2], source: 'request', optional: false }],
      outputs: [{ name: 'probabilities', dtype: 'float32', shape: [1, 2] }],
    },
  };
}

describe('engine choice', () => {
  const registry = new EngineRegistry();
  registry.register('micro', async () => createNodeMicroEngine());
  registry.register('ort-web', () => createNodeOrtWebEngine());

  test('auto picks micro when the graph compiles', async () => {
    const model = buildQuantizedBagModel(7);
    const chosen = await loadOnPreferredEngine({ ...model.manifest, engine: 'auto' }, model.bytes, registry, ['ort-web']);
    expect(chosen.engine).toBe('micro');
    expect(chosen.skipped).toEqual([]);
  });

  test('auto falls back to ORT and records the op, the node and the fix', async () => {
    const model = erfModel();
    const chosen = await loadOnPreferredEngine({ ...model.manifest, engine: 'auto' }, model.bytes, registry, ['ort-web']);
    expect(chosen.engine).toBe('ort-web');
    expect(chosen.skipped).toHaveLength(1);
    expect(chosen.skipped[0]!.engine).toBe('micro');
    expect(chosen.skipped[0]!.reason).toMatch(/node "Hardmax_0" uses op Hardmax, which the micro engine does not implement.*"engine": "ort"/);
    const out = await chosen.session.run({ x: { dtype: 'float32', dims: [1, 2], data: Float32Array.of(0, 1) } });
    expect(Array.from(out.probabilities!.data as Float32Array)).toEqual([0, 1]);
  });

  test('micro alone refuses a graph it cannot compile, naming why', async () => {
    const model = erfModel();
    await expect(loadOnPreferredEngine({ ...model.manifest, engine: 'micro' }, model.bytes, registry, ['ort-web'])).rejects.toThrow(
      /micro: .*uses op Hardmax/,
    );
  });

  test('ort never tries micro', async () => {
    const model = buildQuantizedBagModel(7);
    const chosen = await loadOnPreferredEngine({ ...model.manifest, engine: 'ort' }, model.bytes, registry, ['ort-web']);
    expect(chosen.engine).toBe('ort-web');
  });
});
