// Classical-ML pipelines served by the local service from a model.json alone (temp models
// directory, "engine": "micro" so no ORT fallback can hide a failure): the libsvm SVC pipeline
// (Imputer → Scaler → SVMClassifier → LabelEncoder) answers penguin species from fields, the
// forest pipeline (Imputer → Scaler → ArrayFeatureExtractor → forest → Binarizer → Cast)
// miles per gallon from inputs, a missing measurement (NaN) included. Answers equal
// onnxruntime-node's run of the same graph (test/fixtures/ml/generate-pipelines.ts).
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, test } from 'vitest';
import { createLocalService, localServiceOptionsFromEnv } from '../../../../adapters/node/local-service.ts';

const BASE = 'http://local.test';
const fixture = (name: string) => readFileSync(new URL(`../../../fixtures/ml/${name}`, import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'edgeinfer-ml-pipeline-'));
const SPECIES = ['Adelie', 'Chinstrap', 'Gentoo'];
const PENGUIN_FIELDS = ['beak_length_mm', 'beak_depth_mm', 'flipper_length_mm', 'body_mass_g'];

function addModel(name: string, onnx: Buffer, manifest: Record<string, unknown>): void {
  const dir = join(work, name, '1');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.onnx'), onnx);
  const sha256 = createHash('sha256').update(onnx).digest('hex');
  writeFileSync(join(dir, 'model.json'), JSON.stringify({ name, version: '1', file: 'model.onnx', sha256, engine: 'micro', role: 'edge', ...manifest }, null, 2));
}

addModel('penguins-svc', fixture('penguins-svc-pipeline.onnx'), {
  inputs: [{ name: 'input', dtype: 'float32', shape: [1, 4], source: 'fields', fields: PENGUIN_FIELDS }],
  outputs: [{ name: 'probabilities', dtype: 'float32', shape: [1, 3] }],
  output: { kind: 'classification', tensor: 'probabilities', labels: SPECIES, activation: 'none' },
});
addModel('cars-forest', fixture('cars-pipeline-forest.onnx'), {
  inputs: [{ name: 'input', dtype: 'float32', shape: [-1, 7], source: 'request' }],
  outputs: [{ name: 'variable', dtype: 'float32', shape: [-1, 1] }],
  output: { kind: 'regression', tensor: 'variable', names: ['mpg'] },
});

const service = createLocalService({ ...localServiceOptionsFromEnv({ EDGEINFER_REGIONAL: 'none', EDGEINFER_CACHE_POLICY: 'off', EDGEINFER_RATE_LIMIT: 'off' }), modelsRoot: work });
afterAll(async () => {
  await service.close();
  rmSync(work, { recursive: true, force: true });
});

async function predict(body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await service.fetch(new Request(`${BASE}/v1/predict`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }));
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe('classical-ML pipelines from a model.json, micro engine, local service', () => {
  test('both models load on micro', async () => {
    for (const name of ['penguins-svc', 'cars-forest']) {
      const meta = (await (await service.fetch(new Request(`${BASE}/v2/models/${name}`))).json()) as { parameters: { engine: string } };
      expect(meta.parameters.engine, name).toBe('micro');
    }
  });

  test('the SVC pipeline answers species from fields as onnxruntime-node does', async () => {
    const session = await ort.InferenceSession.create(new Uint8Array(fixture('penguins-svc-pipeline.onnx')));
    const rows = [[39.1, 18.7, 181, 3750], [46.5, 17.9, 192, 3500], [50, 15.2, 218, 5700], [45.2, 16.6, 191, 3250], [49.6, 18.2, 193, 3775]];
    const seen = new Set<string>();
    for (const row of rows) {
      const { status, json } = await predict({ model: 'penguins-svc', fields: Object.fromEntries(PENGUIN_FIELDS.map((f, i) => [f, row[i]])) });
      expect(status, JSON.stringify(json)).toBe(200);
      const ref = await session.run({ input: new ort.Tensor('float32', Float32Array.from(row), [1, 4]) });
      const probabilities = Array.from(ref.probabilities!.data as Float32Array);
      const scores = json.scores as Record<string, number>;
      SPECIES.forEach((s, k) => expect(Math.abs(scores[s]! - probabilities[k]!)).toBeLessThanOrEqual(1e-4));
      // The served label is the top probability; here it is also the SVM's vote (species_id).
      expect(json.label).toBe(SPECIES[Number((ref.species_id!.data as BigInt64Array)[0])]);
      seen.add(json.label as string);
    }
    expect(seen.size).toBe(3);
    await session.release();
  });

  test('the forest pipeline answers miles per gallon from inputs; a null measurement is a 400, not a 500', async () => {
    const session = await ort.InferenceSession.create(new Uint8Array(fixture('cars-pipeline-forest.onnx')));
    const rows = [[8, 307, 130, 3504, 12, 1970, 0], [4, 97, 88, 2130, 14.5, 1971, 2], [4, 140, 90, 2264, 15.5, 1982, 0], [6, 200, 85, 2990, 18.2, 1979, 0]];
    const values = new Set<number>();
    for (const row of rows) {
      const { status, json } = await predict({ model: 'cars-forest', inputs: { input: [row] } });
      expect(status, JSON.stringify(json)).toBe(200);
      const ref = await session.run({ input: new ort.Tensor('float32', Float32Array.from(row), [1, 7]) });
      const value = (json.value ?? (json.values as number[] | undefined)?.[0]) as number;
      expect(Math.abs(value - (ref.variable!.data as Float32Array)[0]!)).toBeLessThanOrEqual(1e-4);
      values.add(value);
    }
    expect(values.size).toBe(rows.length);
    // JSON has no NaN: the graph's Imputer serves feature rows that carry NaN (ml-real-graphs.test.ts), a null is refused.
    const { status, json } = await predict({ model: 'cars-forest', inputs: { input: [[4, 98, null, 2046, 19, 1971, 0]] } });
    expect(status).toBe(400);
    expect(JSON.stringify(json)).toMatch(/must be a number/);
    await session.release();
  });
});
