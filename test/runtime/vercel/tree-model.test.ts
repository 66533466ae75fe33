// A tree model served end to end with only a model.json: a random forest (ml-random-forest on
// vega-datasets penguins and cars, exported in sklearn-onnx's layout: test/fixtures/ml) is put
// in a temp models directory with a hand-written model.json ("engine": "micro", so no ORT
// fallback can hide a failure), built into the Vercel target and asked through the built
// function in Vercel's edge-runtime: species from `fields` (the sklearn-onnx default export with
// its ZipMap output: model.json declares the ZipMap's input, `probabilities`), miles per gallon
// from `inputs`. Answers equal onnxruntime-node's run of the same graph.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTarget } from '../../../build/pipeline.ts';
import { vercelTarget } from '../../../build/targets/vercel.ts';
import { bundleVercelFunctionScript, startVercelEdgeRuntime } from '../../../build/vercel-edge-runtime.ts';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/ml/${name}`, import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'edgeinfer-tree-model-'));
const SPECIES = ['Adelie', 'Chinstrap', 'Gentoo'];
const PENGUIN_FIELDS = ['beak_length_mm', 'beak_depth_mm', 'flipper_length_mm', 'body_mass_g'];

function addModel(name: string, onnx: Buffer, manifest: Record<string, unknown>): void {
  const dir = join(work, 'models', name, '1');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.onnx'), onnx);
  const sha256 = createHash('sha256').update(onnx).digest('hex');
  writeFileSync(join(dir, 'model.json'), JSON.stringify({ name, version: '1', file: 'model.onnx', sha256, engine: 'micro', role: 'edge', ...manifest }, null, 2));
}

let post: (body: unknown) => Promise<{ status: number; json: Record<string, unknown> }>;

beforeAll(async () => {
  addModel('penguins', fixture('penguins-rf-zipmap.onnx'), {
    inputs: [{ name: 'input', dtype: 'float32', shape: [1, 4], source: 'fields', fields: PENGUIN_FIELDS }],
    outputs: [{ name: 'probabilities', dtype: 'float32', shape: [1, 3] }],
    output: { kind: 'classification', tensor: 'probabilities', labels: SPECIES, activation: 'none' },
  });
  addModel('cars_mpg', fixture('cars-mpg-rf.onnx'), {
    inputs: [{ name: 'input', dtype: 'float32', shape: [-1, 6], source: 'request' }],
    outputs: [{ name: 'variable', dtype: 'float32', shape: [-1, 1] }],
    output: { kind: 'regression', tensor: 'variable', names: ['mpg'] },
  });
  const outDir = join(work, '.vercel/output');
  await buildTarget(vercelTarget, { outDir, tier: 'hobby', modelsRoot: join(work, 'models') });
  const runtime = startVercelEdgeRuntime(await bundleVercelFunctionScript(join(outDir, 'functions/edgeinfer.func/index.js')), { env: { EDGEINFER_RATE_LIMIT: 'off' } });
  post = async (body) => {
    const answer = await runtime.dispatchFetch('https://edgeinfer.vercel.test/v1/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await answer.waitUntil();
    return { status: answer.status, json: (await answer.json()) as Record<string, unknown> };
  };
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('a tree model with only a model.json, built for Vercel (micro engine, edge-runtime)', () => {
  it('answers penguin species from fields as onnxruntime-node does', async () => {
    const session = await ort.InferenceSession.create(new Uint8Array(fixture('penguins-rf.onnx')));
    const rows = [[39.1, 18.7, 181, 3750], [46.5, 17.9, 192, 3500], [50, 15.2, 218, 5700], [45.2, 16.6, 191, 3250]];
    const seen = new Set<string>();
    for (const row of rows) {
      const { status, json } = await post({ model: 'penguins', fields: Object.fromEntries(PENGUIN_FIELDS.map((f, i) => [f, row[i]])) });
      expect(status, JSON.stringify(json)).toBe(200);
      const ref = await session.run({ input: new ort.Tensor('float32', Float32Array.from(row), [1, 4]) }, ['label', 'probabilities']);
      const probabilities = Array.from(ref.probabilities!.data as Float32Array);
      expect(json.kind).toBe('classification');
      expect(json.label).toBe((ref.label!.data as string[])[0]);
      const scores = json.scores as Record<string, number>;
      SPECIES.forEach((s, k) => expect(Math.abs(scores[s]! - probabilities[k]!)).toBeLessThanOrEqual(1e-4));
      seen.add(json.label as string);
    }
    expect(seen.size).toBe(3);
  });

  it('answers miles per gallon from inputs as onnxruntime-node does', async () => {
    const session = await ort.InferenceSession.create(new Uint8Array(fixture('cars-mpg-rf.onnx')));
    const rows = [[8, 307, 130, 3504, 12, 1970], [4, 97, 88, 2130, 14.5, 1971], [4, 140, 90, 2264, 15.5, 1982]];
    for (const row of rows) {
      const { status, json } = await post({ model: 'cars_mpg', inputs: { input: [row] } });
      expect(status, JSON.stringify(json)).toBe(200);
      const ref = await session.run({ input: new ort.Tensor('float32', Float32Array.from(row), [1, 6]) });
      expect(json.kind).toBe('regression');
      const value = (json.value ?? (json.values as number[] | undefined)?.[0]) as number;
      expect(Math.abs(value - (ref.variable!.data as Float32Array)[0]!)).toBeLessThanOrEqual(1e-4);
    }
  });

  it('refuses a malformed fields request with a 400 naming the field', async () => {
    const { status, json } = await post({ model: 'penguins', fields: { beak_length_mm: 'long' } });
    expect(status).toBe(400);
    expect(JSON.stringify(json)).toMatch(/beak/);
  });
});
