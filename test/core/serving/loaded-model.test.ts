// LoadedModel over real third-party graphs (openWakeWord's wake-word classifiers, its
// mel-spectrogram and embedding models, Silero VAD with constant state and an optional
// sample rate), loaded through the local service from a temp repository: warmup from the
// signature or from model.json, assemble + run + interpret equal to onnxruntime-node's own
// run of the graph within 1e-5, and a model that fails to load refuses only itself.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalService } from '../../../adapters/node/local-service.ts';
import type { Tensor } from '../../../core/engine/types.ts';
import type { InferenceService } from '../../../core/handler.ts';
import type { LoadedModel } from '../../../core/serving/loaded-model.ts';
import { openWakeWordModels, OPENWAKEWORD_MODELS, writeModelRepo } from '../../helpers/third-party-models.ts';

const BASE = 'http://edgeinfer.test';
let repo: ReturnType<typeof writeModelRepo>;
let service: InferenceService;

// A deterministic pseudo-random fill: the same numbers every run.
function noise(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}

async function reference(file: string, feeds: Record<string, Tensor>): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(readFileSync(join(OPENWAKEWORD_MODELS, file)), { graphOptimizationLevel: 'basic', intraOpNumThreads: 1 });
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, t.dims as number[]);
  const out = await session.run(ortFeeds);
  await session.release();
  return out;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs((a[i] as number) - (b[i] as number)));
  return d;
}

const model = async (name: string): Promise<LoadedModel> => (await service.context.models.get(name)) as LoadedModel;

beforeAll(async () => {
  repo = writeModelRepo([
    ...openWakeWordModels(),
    // Declares int32 ids for a float graph: the warmup fails, for this model only.
    {
      graph: join(OPENWAKEWORD_MODELS, 'hey_mycroft_v0.1.onnx'),
      json: {
        name: 'mismatched', version: '1', engine: 'ort',
        inputs: [{ name: 'onnx::Flatten_0', dtype: 'int32', shape: [1, 16, 96], source: 'request' }],
        outputs: [{ name: '39', dtype: 'float32', shape: [1, 1] }],
      },
    },
    { graph: join(OPENWAKEWORD_MODELS, 'timer_v0.1.onnx'), json: { name: 'broken', version: '1', inputs: [], outputs: [] }, rawJson: '{"name": "broken", "version": "1", "inputs": [{"name": "x", "dtype": "float33"}]}' },
  ]);
  service = createLocalService({ modelsRoot: repo.root, regional: { kind: 'none' } });
  await service.warm();
}, 120_000);
afterAll(async () => {
  await service?.close();
  repo?.cleanup();
});

describe('third-party graphs through LoadedModel', () => {
  it('every well-declared model is ready after its warmup; the two bad ones failed alone, each saying why', () => {
    const state = (name: string) => service.context.models.state(name);
    for (const name of ['hey_jarvis', 'alexa', 'melspectrogram', 'oww_embedding', 'silero_vad']) expect(state(name)?.status, name).toBe('ready');
    const mismatched = state('mismatched');
    expect(mismatched?.status).toBe('failed');
    expect(mismatched?.status === 'failed' && mismatched.error).toMatch(/mismatched@1: warmup inference .* failed on ort-node: .*(int32|tensor\(float\))/);
    const broken = state('broken');
    expect(broken?.status === 'failed' && broken.error).toMatch(/broken\/1\/model\.json: "sha256" must be 64 lower-case hex/);
  });

  it('hey_jarvis and alexa: one sigmoid unit read as two labels, equal to onnxruntime-node within 1e-5', async () => {
    for (const [name, file, input, output, positive] of [
      ['hey_jarvis', 'hey_jarvis_v0.1.onnx', 'x.1', '53', 'hey_jarvis'],
      ['alexa', 'alexa_v0.1.onnx', 'onnx::Flatten_0', '13', 'alexa'],
    ] as const) {
      const m = await model(name);
      const x: Tensor = { dtype: 'float32', dims: [1, 16, 96], data: noise(16 * 96, 7, 2) };
      const assembled = await m.assemble({ tensors: { [input]: x } });
      const answer = m.interpret(await m.run(assembled.feeds));
      const expected = (await reference(file, { [input]: x }))[output]!.data as Float32Array;
      expect(answer.kind).toBe('classification');
      if (answer.kind !== 'classification') return;
      expect(Math.abs(answer.scores[positive]! - expected[0]!), `${name} on ${m.engine}`).toBeLessThan(1e-5);
      expect(answer.scores.other).toBeCloseTo(1 - expected[0]!, 5);
      expect(answer.label).toBe(expected[0]! > 0.5 ? positive : 'other');
    }
  });

  it('melspectrogram: a batch of two with a variable length, raw outputs equal to onnxruntime-node', async () => {
    const m = await model('melspectrogram');
    const x: Tensor = { dtype: 'float32', dims: [2, 1280], data: noise(2 * 1280, 11, 0.5) };
    const outputs = await m.run((await m.assemble({ tensors: { input: x } })).feeds);
    const answer = m.interpret(outputs);
    expect(answer.kind).toBe('raw');
    const expected = (await reference('melspectrogram.onnx', { input: x })).output!;
    expect(outputs.output!.dims).toEqual(expected.dims);
    expect(maxDiff(outputs.output!.data as Float32Array, expected.data as Float32Array)).toBeLessThan(1e-5);
    if (answer.kind === 'raw') expect(answer.outputs.output?.shape).toEqual([...expected.dims]);
  });

  it('embedding model: a regression output with one value per element, equal to onnxruntime-node', async () => {
    const m = await model('oww_embedding');
    const x: Tensor = { dtype: 'float32', dims: [1, 76, 32, 1], data: noise(76 * 32, 3) };
    const answer = m.interpret(await m.run((await m.assemble({ tensors: { input_1: x } })).feeds));
    const expected = (await reference('embedding_model.onnx', { input_1: x })).conv2d_19!.data as Float32Array;
    expect(answer.kind).toBe('regression');
    if (answer.kind === 'regression') {
      expect(answer.values).toHaveLength(96);
      expect(maxDiff(answer.values, expected)).toBeLessThan(1e-5);
    }
  });

  it('silero VAD: constants fill the state, the optional sample rate its default', async () => {
    const m = await model('silero_vad');
    const x: Tensor = { dtype: 'float32', dims: [1, 512], data: noise(512, 5, 0.3) };
    const assembled = await m.assemble({ tensors: { input: x } });
    expect(Object.keys(assembled.feeds).sort()).toEqual(['c', 'h', 'input', 'sr']);
    expect(assembled.feeds.sr).toEqual({ dtype: 'int64', dims: [], data: BigInt64Array.of(16000n) });
    const outputs = await m.run(assembled.feeds);
    const zeros = new Float32Array(2 * 64);
    const expected = await reference('silero_vad.onnx', {
      input: x,
      sr: { dtype: 'int64', dims: [], data: BigInt64Array.of(16000n) },
      h: { dtype: 'float32', dims: [2, 1, 64], data: zeros },
      c: { dtype: 'float32', dims: [2, 1, 64], data: zeros },
    });
    expect(maxDiff(outputs.output!.data as Float32Array, expected.output!.data as Float32Array)).toBeLessThan(1e-5);
    expect(maxDiff(outputs.hn!.data as Float32Array, expected.hn!.data as Float32Array)).toBeLessThan(1e-5);
  });

  it('assemble refuses a missing input, an undeclared one and text for a model without text (400 naming it)', async () => {
    const m = await model('hey_jarvis');
    await expect(m.assemble({})).rejects.toMatchObject({ status: 400, message: expect.stringContaining('input "x.1" is required') });
    await expect(m.assemble({ tensors: { nope: { dtype: 'float32', dims: [1], data: new Float32Array(1) } } })).rejects.toMatchObject({ status: 400, message: expect.stringContaining('no input "nope"') });
    expect(() => m.textFeeds('hello')).toThrow(/takes no text/);
  });
});

describe('readiness with one failed model', () => {
  const get = (path: string) => service.fetch(new Request(`${BASE}${path}`));

  it('/v2/models/<name>/ready: 200 for a ready model, 503 saying why for a failed one', async () => {
    expect((await get('/v2/models/hey_jarvis/ready')).status).toBe(200);
    const failed = await get('/v2/models/mismatched/ready');
    expect(failed.status).toBe(503);
    expect(((await failed.json()) as { error: { message: string } }).error.message).toMatch(/warmup inference/);
    const meta = await get('/v2/models/broken');
    expect(meta.status).toBe(503);
    expect(((await meta.json()) as { error: { message: string } }).error.message).toMatch(/"sha256" must be/);
  });

  it('/v2/health/ready is strict (KServe server readiness: every model ready), naming the failed ones', async () => {
    const response = await get('/v2/health/ready');
    expect(response.status).toBe(503);
    const body = (await response.json()) as { ready: boolean; error: { message: string } };
    expect(body.ready).toBe(false);
    expect(body.error.message).toMatch(/broken/);
    expect(body.error.message).toMatch(/mismatched/);
    expect(body.error.message).not.toMatch(/hey_jarvis/);
  });
});
