// The flights example models as `npm run models` wrote them: each model.json parses, its
// sha256 is the .onnx's, its feature inputs resolve against the declared views, the recorded
// measurements meet the bars, the edge graph fits the 1 MB tiers, and onnxruntime-node runs
// both graphs on a real June flight with its point-in-time features.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { decodeEmbedding, encodeEmbedding } from '../../core/cache/embedding-codecs.ts';
import { checkFeatureInputs, type FeatureInputSpec } from '../../core/features/feature-assembler.ts';
import { parseManifest } from '../../core/model/manifest.ts';
import { loadFeatureRepository } from '../../features/index.ts';
import { FLIGHT_SPLITS, loadFlights } from '../../models/training/flights-data.ts';
import { countView, flightViews, historicalFeatures } from '../../models/training/flights-features.ts';
import { FLIGHT_FEATURES } from '../../models/training/flights-train.ts';
import type { EmbeddingTable } from '../../models/training/materialize-features.ts';

const dir = (name: string) => new URL(`../../models/${name}/1/`, import.meta.url);
const read = (name: string) => {
  const json = readFileSync(new URL('model.json', dir(name)), 'utf8');
  return { manifest: parseManifest(json, `${name}/1/model.json`), raw: JSON.parse(json) as Record<string, any>, bytes: readFileSync(new URL('model.onnx', dir(name))) };
};

describe('flights models', () => {
  const repository = loadFeatureRepository();
  const edge = read('flights-edge');
  const regional = read('flights-regional');

  it('parse, match their sha256, read declared views, and pair as a cascade', () => {
    for (const { manifest, bytes } of [edge, regional]) {
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(manifest.sha256);
      expect(manifest.inputs.map((i) => i.source)).toEqual(['features', 'fields', 'embedding']);
      expect(() => checkFeatureInputs(manifest.inputs.filter((i) => i.source === 'features' || i.source === 'embedding') as FeatureInputSpec[], repository, manifest.name)).not.toThrow();
      expect(manifest.output).toEqual({ kind: 'classification', tensor: 'probabilities', labels: ['on_time', 'delayed'], activation: 'none' });
    }
    expect(edge.manifest.role).toBe('edge');
    expect(regional.manifest.role).toBe('regional');
    expect(edge.manifest.cascade).toMatchObject({ regional: 'flights-regional' });
    expect(edge.bytes.length).toBeLessThan(64 * 1024);
  });

  it('recorded measurements meet the bars: both beat the origin-rate baseline, the cascade is within 0.005 AUC at ≤ 15 % escalations', () => {
    const m = edge.raw.metrics;
    expect(m.test.auc).toBeGreaterThan(m.testBaselineOriginRate.auc + 0.05);
    expect(regional.raw.metrics.test.auc).toBeGreaterThan(m.testBaselineOriginRate.auc + 0.05);
    expect(m.cascade.testEscalationShare).toBeLessThanOrEqual(0.15);
    expect(m.cascade.testRegionalOnlyAuc - m.cascade.test.auc).toBeLessThanOrEqual(0.005);
    expect(m.cascade.curve.length).toBeGreaterThan(5);
  });

  it('the embedding table holds every airport in the recorded codec, bound to the regional model sha', () => {
    const table = JSON.parse(readFileSync(new URL('airport-embeddings.json', dir('flights-regional')), 'utf8')) as EmbeddingTable;
    expect(table.model).toEqual({ name: 'flights-regional', version: '1', sha256: regional.manifest.sha256 });
    expect(table.codec).toBe(edge.raw.training.embeddings.codec);
    expect(Object.keys(table.vectors).length).toBeGreaterThan(200);
    const ord = Float32Array.from(table.vectors.ORD as number[]);
    const decoded = decodeEmbedding(encodeEmbedding(ord, table.codec));
    for (let i = 0; i < ord.length; i++) expect(Math.abs((decoded[i] as number) - (ord[i] as number))).toBeLessThan(0.05 * Math.max(...ord.map(Math.abs)));
  });

  // The first run decodes the parquet file (tens of seconds on a busy machine); later runs read the cached columns.
  it('onnxruntime-node runs both graphs on a real June flight with its point-in-time features', { timeout: 240_000 }, async () => {
    const flights = await loadFlights();
    let row = 0;
    while ((flights.day[row] as number) < FLIGHT_SPLITS.test.from + 3) row++;
    const counts = new Map(flightViews(repository).map((v) => [v.name, countView(flights, v)] as const));
    const features = historicalFeatures(flights, counts, FLIGHT_FEATURES, [row]);
    const table = JSON.parse(readFileSync(new URL('airport-embeddings.json', dir('flights-regional')), 'utf8')) as EmbeddingTable;
    const embedding = decodeEmbedding(encodeEmbedding(Float32Array.from(table.vectors[flights.airports[flights.origin[row] as number] as string] as number[]), table.codec));
    for (const { bytes } of [edge, regional]) {
      const session = await ort.InferenceSession.create(bytes);
      const out = await session.run({
        features: new ort.Tensor('float32', features, [1, features.length]),
        fields: new ort.Tensor('float32', Float32Array.from([flights.hour[row] as number, flights.dayOfWeek[row] as number, flights.distance[row] as number]), [1, 3]),
        embedding: new ort.Tensor('float32', embedding, [1, 8]),
      });
      const p = out.probabilities?.data as Float32Array;
      expect(p[0]! + p[1]!).toBeCloseTo(1, 5);
      expect(p[1]).toBeGreaterThan(0.01);
      expect(p[1]).toBeLessThan(0.99);
      await session.release();
    }
  });
});
