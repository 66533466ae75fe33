// A fields request the edge model is unsure of escalates to the regional model (#15): the
// real flights models (the edge's threshold raised so the request is below it), real Redis
// behind the local Upstash REST server, the in-process tier and the Lambda tier (the real
// AWS SDK against the local Invoke API). The regional answer is checked against
// onnxruntime-node run directly on the stored feature values; it is cached under the regional
// key over those values, and a changed feature value is another key. With no store at the
// edge the regional function reads its own; with its store down too, it answers on the
// declared defaults, marked degraded.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalInvokeServer, type LocalInvokeServer } from '../../../adapters/aws-lambda/local-invoke-server.ts';
import { createRegionalLambda, regionalFeaturesFromEnv, type RegionalLambda } from '../../../adapters/aws-lambda/regional-handler.ts';
import { FsModelSource } from '../../../adapters/node/fs-model-source.ts';
import { createLocalService, type LocalServiceOptions } from '../../../adapters/node/local-service.ts';
import type { UpstashRestServer } from '../../../adapters/upstash-rest-local/server.ts';
import { regionalPredictionKey } from '../../../core/cache/cached-regional-tier.ts';
import { decodeEmbedding, encodeEmbedding } from '../../../core/cache/embedding-codecs.ts';
import { modelIdentity } from '../../../core/cache/model-identity.ts';
import { createUpstashRemoteCache, type RemoteCache } from '../../../core/cache/remote-cache.ts';
import { tabularDefaults, viewKey, type TabularFeatureView } from '../../../core/features/declarations.ts';
import type { InferenceService } from '../../../core/handler.ts';
import { parseManifest, type ModelManifest } from '../../../core/model/manifest.ts';
import { DEFAULT_CASCADE_CONFIG } from '../../../core/router/cascade.ts';
import { loadFeatureRepository } from '../../../features/index.ts';
import { redisAvailable } from '../../helpers/require-redis.ts';
import { LOCAL_UPSTASH_TOKEN, startLocalUpstash } from '../../helpers/upstash-local.ts';
import { copyFlightsModels, type FlightAnswer } from '../../helpers/flights-example.ts';

const hasRedis = await redisAvailable('flights escalation to the regional tier');
const repository = loadFeatureRepository();

// Entities of this test only (other suites materialize the real airports into the same Redis).
const tag = `T${process.pid.toString(36).toUpperCase()}`;
const ORIGIN = `${tag}O`;
const DEST = `${tag}D`;
// Cache keys are over values, not entity names: a value of this run only keeps answers cached by earlier runs out.
const nonce = 5 + (Date.now() % 100_000) / 100_000;
const flight = (distance: number) => ({ origin: ORIGIN, destination: DEST, hour: 17, day_of_week: 2, distance });

describe.skipIf(!hasRedis)('flights: fields requests escalate to the regional tier', () => {
  let rest: UpstashRestServer;
  let store: RemoteCache;
  let root: string;
  let regional: ModelManifest;
  let session: ort.InferenceSession;
  let invokeServer: LocalInvokeServer;
  let lambda: RegionalLambda;
  const services: InferenceService[] = [];
  const upstash = () => ({ UPSTASH_REDIS_REST_URL: rest.url, UPSTASH_REDIS_REST_TOKEN: LOCAL_UPSTASH_TOKEN });

  const service = (options: LocalServiceOptions): InferenceService => {
    const s = createLocalService({ modelsRoot: root, log: () => {}, telemetry: false, config: { cascade: { ...DEFAULT_CASCADE_CONFIG, budgetMs: 10_000 } }, ...options });
    services.push(s);
    return s;
  };
  const viaLambda = { regional: { kind: 'lambda' as const, functionName: 'edgeinfer-regional', region: 'us-east-1', endpoint: '' } };
  const ask = async (s: InferenceService, fields: Record<string, string | number>) => {
    const response = await s.fetch(new Request('http://edgeinfer.test/v1/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'flights-edge', fields }) }));
    expect(response.status).toBe(200);
    return (await response.json()) as FlightAnswer;
  };
  const invocations = () => invokeServer.invocations.get('edgeinfer-regional') ?? 0;

  /** The regional model's feature inputs as the store holds them now (declared defaults for absent entities), in its declared order. */
  async function storedInputs(fields: Record<string, string | number>): Promise<Record<string, number[]>> {
    const out: Record<string, number[]> = {};
    for (const input of regional.inputs) {
      if (input.source === 'features') {
        const values: number[] = [];
        for (const ref of input.features) {
          const { view, field } = repository.field(ref);
          const entity = 'fields' in view.entity ? view.entity.fields.map((f) => String(fields[f])).join('|') : '';
          const read = await store.get(viewKey(view, entity));
          const stored = read.status === 'hit' && read.value ? (JSON.parse(read.value) as Record<string, number>) : tabularDefaults(view as TabularFeatureView);
          values.push(stored[field.name] ?? field.default);
        }
        out[input.name] = values;
      } else if (input.source === 'embedding') {
        const view = repository.view(input.view);
        const read = await store.get(viewKey(view, String(fields.origin)));
        out[input.name] = read.status === 'hit' && read.value ? Array.from(decodeEmbedding(read.value)) : new Array(8).fill(0);
      }
    }
    return out;
  }

  /** flights-regional run by onnxruntime-node on `features` and the request's fields: the reference answer. */
  async function reference(fields: Record<string, string | number>, features: Record<string, number[]>): Promise<number> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of regional.inputs) {
      const values = input.source === 'fields' ? input.fields.map((f) => Number(fields[f])) : (features[input.name] as number[]);
      feeds[input.name] = new ort.Tensor('float32', Float32Array.from(values), [1, values.length]);
    }
    const out = await session.run(feeds);
    return (out.probabilities as ort.Tensor).data[1] as number;
  }

  async function writeViews(routeDelayRate: number): Promise<void> {
    const write = (view: string, entity: string, value: string) => ({ key: viewKey(repository.view(view), entity), value, ttlSeconds: 600 });
    const result = await store.setMany([
      write('origin_airport', ORIGIN, JSON.stringify({ delay_rate_28d: 0.34, delay_rate_1d: 0.5, log_flights_28d: nonce })),
      write('dest_airport', DEST, JSON.stringify({ delay_rate_28d: 0.27, delay_rate_1d: 0.3, log_flights_28d: 6.4 })),
      write('route', `${ORIGIN}|${DEST}`, JSON.stringify({ delay_rate_28d: routeDelayRate, log_flights_28d: 4.2 })),
      write('airport_embedding', ORIGIN, encodeEmbedding(Float32Array.from([0.9, -0.4, 0.3, 0.1, -0.7, 0.2, 0.5, -0.1]), 'int8')),
    ], 10_000);
    expect(result.status).toBe('ok');
  }

  /** The regional key of a request, from the regional model's model.json and the stored values. */
  async function regionalKey(fields: Record<string, string | number>): Promise<string> {
    return regionalPredictionKey(modelIdentity(regional), { fields, features: await storedInputs(fields) }) as string;
  }

  async function storedKey(key: string): Promise<boolean> {
    for (let i = 0; i < 40; i++) {
      const read = await store.get(key);
      if (read.status === 'hit' && read.value) return true;
      await new Promise((resolve) => setTimeout(resolve, 50)); // written after the response
    }
    return false;
  }

  beforeAll(async () => {
    rest = await startLocalUpstash();
    store = createUpstashRemoteCache({ url: rest.url, token: LOCAL_UPSTASH_TOKEN, budgetMs: 10_000, autoPipelining: false });
    await writeViews(0.15);
    root = copyFlightsModels('edgeinfer-flights-cascade-');
    // Trust no edge answer below 0.99999, so every flight of these tests escalates (at 0.99 the
    // edge model was sure enough of some of them, with the time-seeded nonce and a route delay rate of 0.85).
    const edgeFile = join(root, 'flights-edge', '1', 'model.json');
    const edge = JSON.parse(readFileSync(edgeFile, 'utf8'));
    writeFileSync(edgeFile, JSON.stringify({ ...edge, cascade: { ...edge.cascade, threshold: 0.99999 } }));
    const regionalFile = join(root, 'flights-regional', '1', 'model.json');
    regional = parseManifest(readFileSync(regionalFile, 'utf8'), regionalFile);
    session = await ort.InferenceSession.create(join(root, 'flights-regional', '1', 'model.onnx'), { graphOptimizationLevel: 'basic' });
    lambda = createRegionalLambda({ models: new FsModelSource(root), executionProviders: ['cpu'], features: regionalFeaturesFromEnv({ ...upstash(), EDGEINFER_CACHE_BUDGET_MS: '2000' }) });
    invokeServer = await startLocalInvokeServer({ functions: { 'edgeinfer-regional': lambda.handler } });
    viaLambda.regional.endpoint = invokeServer.url;
  }, 120_000);

  afterAll(async () => {
    for (const s of services) await s.close();
    await invokeServer?.close();
    await lambda?.predictor.close();
    await session?.release();
    await rest?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('in process: below the threshold, the regional answer (tier marked), cached under the regional key', async () => {
    const s = service({ cache: { ...upstash(), EDGEINFER_CACHE_POLICY: 'always', EDGEINFER_CACHE_BUDGET_MS: '2000' } });
    const fields = flight(733);
    const first = await ask(s, fields);
    expect(first).toMatchObject({ tier: 'regional', degraded: false, cached: false, model: { name: 'flights-regional' }, escalation: { cause: 'not_confident', outcome: 'ok' } });
    expect(first.scores.delayed).toBeCloseTo(await reference(fields, await storedInputs(fields)), 5);
    expect(await storedKey(await regionalKey(fields))).toBe(true);
    const again = await ask(s, fields);
    expect(again).toMatchObject({ tier: 'regional', cached: true, cache: { level: 'l1' } });
    expect(again.scores).toEqual(first.scores);
  });

  it('through Lambda (real SDK, local Invoke API): one invocation, then the cached regional answer', async () => {
    const s = service({ ...viaLambda, cache: { ...upstash(), EDGEINFER_CACHE_POLICY: 'always', EDGEINFER_CACHE_BUDGET_MS: '2000' } });
    const fields = flight(1020);
    const before = invocations();
    const first = await ask(s, fields);
    expect(first).toMatchObject({ tier: 'regional', degraded: false, cached: false, model: { name: 'flights-regional' }, escalation: { cause: 'not_confident', outcome: 'ok' } });
    expect(invocations()).toBe(before + 1);
    expect(first.scores.delayed).toBeCloseTo(await reference(fields, await storedInputs(fields)), 5);
    expect(await storedKey(await regionalKey(fields))).toBe(true);
    const again = await ask(s, fields);
    expect(again).toMatchObject({ tier: 'regional', cached: true, cache: { level: 'l1' } });
    expect(invocations()).toBe(before + 1);
  });

  it('a changed feature value is a new regional key: the regional model runs on the new value', async () => {
    const fields = flight(733);
    const oldKey = await regionalKey(fields);
    const old = await reference(fields, await storedInputs(fields));
    await writeViews(0.85);
    try {
      const newKey = await regionalKey(fields);
      expect(newKey).not.toBe(oldKey);
      // A fresh edge (its L1 still held the old value for up to a minute): same request, new value.
      const s = service({ ...viaLambda, cache: { ...upstash(), EDGEINFER_CACHE_POLICY: 'always', EDGEINFER_CACHE_BUDGET_MS: '2000' } });
      const before = invocations();
      const answer = await ask(s, fields);
      expect(answer, `the answer: ${JSON.stringify(answer)}`).toMatchObject({ tier: 'regional', cached: false, degraded: false });
      expect(invocations()).toBe(before + 1);
      const expected = await reference(fields, await storedInputs(fields));
      expect(Math.abs(expected - old)).toBeGreaterThan(1e-3);
      expect(answer.scores.delayed).toBeCloseTo(expected, 5);
      expect(await storedKey(newKey)).toBe(true);
    } finally {
      await writeViews(0.15);
    }
  });

  it('no store at the edge: the regional function reads its own; its store down too: defaults, degraded, still 200', async () => {
    const fields = flight(488);
    const edgeWithoutStore = service({ ...viaLambda, cache: { EDGEINFER_CACHE_POLICY: 'always' } });
    const own = await ask(edgeWithoutStore, fields);
    expect(own).toMatchObject({ tier: 'regional', degraded: false, model: { name: 'flights-regional' } });
    expect(own.scores.delayed).toBeCloseTo(await reference(fields, await storedInputs(fields)), 5);

    const down = createRegionalLambda({ models: new FsModelSource(root), executionProviders: ['cpu'], features: regionalFeaturesFromEnv({ UPSTASH_REDIS_REST_URL: 'http://127.0.0.1:9', UPSTASH_REDIS_REST_TOKEN: 't', EDGEINFER_CACHE_BUDGET_MS: '200' }) });
    const server = await startLocalInvokeServer({ functions: { 'edgeinfer-regional': down.handler } });
    try {
      const s = service({ regional: { ...viaLambda.regional, endpoint: server.url }, cache: {} });
      const answer = await ask(s, fields);
      expect(answer).toMatchObject({ tier: 'regional', degraded: true, reason: 'features_unavailable', model: { name: 'flights-regional' } });
      const defaults = await reference(fields, defaultInputs());
      expect(answer.scores.delayed).toBeCloseTo(defaults, 5);
    } finally {
      await server.close();
      await down.predictor.close();
    }
  });

  /** The regional model's feature inputs from the declared defaults alone. */
  function defaultInputs(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const input of regional.inputs) {
      if (input.source === 'features') out[input.name] = input.features.map((ref) => repository.field(ref).field.default);
      else if (input.source === 'embedding') out[input.name] = new Array(8).fill(0);
    }
    return out;
  }
});
