// Regression: onnxruntime-web's WASM backend keeps one Emscripten stack per isolate, and its
// InferenceSession.create/run save it, allocate on it, then await before restoring it. Calls
// that overlap in one isolate (an origin-request Lambda serving several models to concurrent
// requests, a warmup beside a request) overwrote each other's input pointers: runs failed with
// `failed to call OrtRun(). ERROR_CODE: 0, ERROR_MESSAGE: ` (a warmup failing refused the model
// with 503) or never settled (the Lambda@Edge fuzz run hung at 0 % CPU). The engine now runs
// one ORT call at a time per isolate; overlapping calls on real third-party graphs (Silero VAD,
// the mel-spectrogram model, a wake-word classifier, some failing on purpose) must each answer
// what the same call answers alone.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeOrtWebEngine } from '../../../adapters/node/ort-wasm-binary.ts';
import { parseManifest } from '../../../core/model/manifest.ts';
import type { OrtWebEngine } from '../../../core/engine/ort-web/ort-web-engine.ts';
import type { EngineSession, Tensor, TensorMap } from '../../../core/engine/types.ts';
import { writeThirdPartyRepo } from '../../helpers/third-party-models.ts';

const repo = writeThirdPartyRepo(['alexa', 'melspectrogram', 'silero_vad']);
let engine: OrtWebEngine;
const sessions: Record<string, EngineSession> = {};

function f32(dims: number[], seed: number): Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.sin(seed * 7.1 + i * 0.37) * 0.5;
  return { dtype: 'float32', dims, data };
}

/** Call k: a model, its feeds, and whether the feeds are wrong on purpose (ORT must refuse them). */
function call(k: number): { model: string; feeds: TensorMap } {
  const which = k % 4;
  if (which === 0) return { model: 'silero_vad', feeds: { input: f32([1, 512], k), sr: { dtype: 'int64', dims: [], data: new BigInt64Array([16000n]) }, h: f32([2, 1, 64], k + 1), c: f32([2, 1, 64], k + 2) } };
  if (which === 1) return { model: 'melspectrogram', feeds: { input: f32([1, 1280 + (k % 3) * 160], k) } };
  if (which === 2) return { model: 'alexa', feeds: { 'onnx::Flatten_0': f32([1, 16, 96], k) } };
  // Too few samples for the first Conv: an ORT error in the middle of the others.
  return { model: 'melspectrogram', feeds: { input: f32([1, 2], k) } };
}

async function outcome(model: string, feeds: TensorMap): Promise<string> {
  try {
    const out = await sessions[model]!.run(feeds);
    return JSON.stringify(Object.entries(out).map(([name, t]) => [name, t.dims, Array.from(t.data as Float32Array).map((v) => Math.fround(v))]));
  } catch (error) {
    return `error: ${(error as Error).message.replace(/\d{4}-\d\d-\d\d[^\]]*\]/g, '')}`;
  }
}

beforeAll(async () => {
  engine = await createNodeOrtWebEngine();
  for (const name of ['alexa', 'melspectrogram', 'silero_vad']) {
    const dir = join(repo.root, name, '1');
    const manifest = parseManifest(readFileSync(join(dir, 'model.json'), 'utf8'), `${name}/1/model.json`);
    sessions[name] = await engine.load(new Uint8Array(readFileSync(join(dir, 'model.onnx'))), manifest);
  }
});

afterAll(async () => {
  for (const session of Object.values(sessions)) await session.release();
  repo.cleanup();
});

describe('ort-web: overlapping calls in one isolate', () => {
  it('answer each exactly as the same call alone, and all settle', async () => {
    const calls = Array.from({ length: 48 }, (_, k) => call(k));
    const alone: string[] = [];
    for (const { model, feeds } of calls) alone.push(await outcome(model, feeds));
    expect(alone.filter((o) => o.startsWith('error')).length).toBe(12); // the deliberate failures only
    // Overlapping, with session loads in between (a cold model loading beside requests).
    const extra = engine.load(new Uint8Array(readFileSync(join(repo.root, 'alexa', '1', 'model.onnx'))), parseManifest(readFileSync(join(repo.root, 'alexa', '1', 'model.json'), 'utf8'), 'alexa/1/model.json'));
    const together = await Promise.race([
      Promise.all(calls.map(({ model, feeds }) => outcome(model, feeds))),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('overlapping ort-web calls did not settle in 30 s')), 30_000)),
    ]);
    await (await extra).release();
    for (let k = 0; k < calls.length; k++) expect(together[k], `call ${k} (${calls[k]!.model})`).toBe(alone[k]);
  }, 60_000);
});
