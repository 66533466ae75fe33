// ort-web vs ort-node on the committed example models (models/, verified by sha256), fed
// ids of real test-split messages through the model's own preprocessing: every declared
// output agrees within 1e-5, and the answers are the model's real ones (accuracy check).
import { beforeAll, describe, expect, it } from 'vitest';
import { FsModelSource } from '../../../adapters/node/fs-model-source.ts';
import { createNodeOrtWebEngine } from '../../../adapters/node/ort-wasm-binary.ts';
import { createOrtNodeEngine, type OrtNodeEngine } from '../../../core/engine/ort-node/ort-node-engine.ts';
import type { OrtWebEngine } from '../../../core/engine/ort-web/ort-web-engine.ts';
import type { EngineSession, Tensor } from '../../../core/engine/types.ts';
import { concreteDims } from '../../../core/serving/model-io.ts';
import { createPrng } from '../../../models/training/prng.ts';
import { latestVersions, loadVerifiedModel, type VerifiedModel } from '../../../core/model/repository.ts';
import { createPreprocessor } from '../../../core/preprocess/index.ts';
import { loadSplits, type LabeledMessage } from '../../../models/training/dataset.ts';
import { requireTextPreprocessing, classificationTensor } from '../../../core/model/manifest.ts';

/** The example models `npm run models` trains and commits. */
const EXAMPLE_MODELS = ['spam-edge', 'spam-regional'];
const MESSAGES = 300;
const TOLERANCE = 1e-5;

const source = new FsModelSource();
let models: VerifiedModel[] = [];
let messages: LabeledMessage[] = [];
let web: OrtWebEngine;
let node: OrtNodeEngine;

beforeAll(async () => {
  const latest = await latestVersions(source);
  models = await Promise.all(latest.map(({ name, version }) => loadVerifiedModel(source, name, version)));
  // The first MESSAGES of the test split in corpus order, so every run sees the same ones.
  messages = loadSplits().test.slice(0, MESSAGES);
  web = await createNodeOrtWebEngine();
  node = await createOrtNodeEngine();
});

describe('ort-web vs ort-node on the models in models/', () => {
  it('finds the example models, verified by sha256', () => {
    expect(models.map((m) => m.manifest.name)).toEqual(expect.arrayContaining(EXAMPLE_MODELS));
    expect(messages.length).toBe(MESSAGES);
  });

  it.each(EXAMPLE_MODELS)('%s: every output agrees within 1e-5 on 300 real test-split messages', async (name) => {
    const model = models.find((m) => m.manifest.name === name);
    expect(model, `models/${name} is missing`).toBeDefined();
    const { manifest, bytes } = model!;
    const preprocessor = createPreprocessor(requireTextPreprocessing(manifest));
    const input = manifest.inputs[0]!;
    const sessions: EngineSession[] = [await web.load(bytes, manifest), await node.load(bytes, manifest)];
    const [webSession, nodeSession] = sessions as [EngineSession, EngineSession];
    const probabilitiesIndex = manifest.labels.indexOf('spam');
    const maxDiff: Record<string, number> = Object.fromEntries(manifest.outputs.map((o) => [o.name, 0]));
    let correct = 0;
    try {
      for (const message of messages) {
        const ids = preprocessor.toIds(message.text);
        const feeds = { [input.name]: { dtype: 'int32' as const, dims: [1, ids.length], data: ids } };
        const [w, n] = await Promise.all([webSession.run(feeds), nodeSession.run(feeds)]);
        for (const output of manifest.outputs) {
          const a = w[output.name]!;
          const b = n[output.name]!;
          expect(a.dtype).toBe(output.dtype);
          expect(a.dims).toEqual(b.dims);
          const da = a.data as Float32Array;
          const db = b.data as Float32Array;
          expect(da.length).toBe(db.length);
          for (let i = 0; i < da.length; i++) maxDiff[output.name] = Math.max(maxDiff[output.name]!, Math.abs(da[i]! - db[i]!));
        }
        const probabilities = w[classificationTensor(manifest)]!.data as Float32Array;
        const predictedSpam = probabilities[probabilitiesIndex]! > 0.5;
        if (predictedSpam === (message.label === 1)) correct++;
      }
    } finally {
      for (const session of sessions) await session.release();
    }
    for (const output of manifest.outputs) expect(maxDiff[output.name], `${name} output ${output.name}`).toBeLessThanOrEqual(TOLERANCE);
    // These are the trained models' real answers, not a degenerate graph.
    expect(correct / messages.length).toBeGreaterThan(0.95);
  });

  it('every other model in models/ also agrees on its first outputs', async () => {
    const others = models.filter((m) => !EXAMPLE_MODELS.includes(m.manifest.name));
    // Tabular models (no text input, e.g. the flights example) are fed seeded values of their declared shapes.
    for (const { manifest, bytes } of others) {
      const readsText = manifest.inputs.some((i) => i.source === 'text');
      const preprocessor = readsText ? createPreprocessor(requireTextPreprocessing(manifest)) : undefined;
      const prng = createPrng(20261202);
      const ws = await web.load(bytes, manifest);
      const ns = await node.load(bytes, manifest);
      for (const message of messages.slice(0, 50)) {
        let feeds: Record<string, Tensor>;
        if (preprocessor) {
          const ids = preprocessor.toIds(message.text);
          feeds = { [manifest.inputs[0]!.name]: { dtype: 'int32' as const, dims: [1, ids.length], data: ids } };
        } else {
          feeds = {};
          for (const spec of manifest.inputs) {
            if (spec.dtype !== 'float32') throw new Error(`${manifest.name}: input ${spec.name} is ${spec.dtype}; this test feeds float32 inputs only`);
            const dims = concreteDims(spec.shape);
            feeds[spec.name] = { dtype: 'float32', dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => prng.next() * 4 - 2) };
          }
        }
        const [w, n] = await Promise.all([ws.run(feeds), ns.run(feeds)]);
        for (const output of manifest.outputs) {
          const da = w[output.name]!.data as Float32Array;
          const db = n[output.name]!.data as Float32Array;
          for (let i = 0; i < da.length; i++) expect(Math.abs(da[i]! - db[i]!)).toBeLessThanOrEqual(TOLERANCE);
        }
      }
      await ws.release();
      await ns.release();
    }
  });
});
