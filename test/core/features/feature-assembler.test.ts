// The request-path assembler against real Redis through the local Upstash REST server: every
// view of a request in one MGET whatever their number, L1 next time (embeddings decoded once),
// declared defaults for absent entities (counted), and Redis slow or down → defaults marked
// `features_unavailable`, values back without a restart once it answers again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEmbedding } from '../../../core/cache/embedding-codecs.ts';
import { createUpstashRemoteCache, type RemoteCache } from '../../../core/cache/remote-cache.ts';
import { createFeatureRepository, parseFeatureView, viewKey, type FeatureRepository } from '../../../core/features/declarations.ts';
import { checkFeatureInputs, createFeatureAssembler, type FeatureInputSpec } from '../../../core/features/feature-assembler.ts';
import type { UpstashRestServer } from '../../../adapters/upstash-rest-local/server.ts';
import { redisAvailable } from '../../helpers/require-redis.ts';
import { LOCAL_UPSTASH_TOKEN, startHoldingProxy, startLocalUpstash, startSilentServer } from '../../helpers/upstash-local.ts';

const hasRedis = await redisAvailable('core/features feature assembler tests');
// A version of its own per run, so keys never meet another run's (the shared Redis is never flushed).
const VERSION = Number(`${Date.now() % 1_000_000}${process.pid % 1000}`);
const declare = (json: Record<string, unknown>) => parseFeatureView(JSON.stringify({ version: VERSION, ttlSeconds: 600, source: { kind: 'test' }, ...json }), `features/${String(json.name)}.json`);
const repository: FeatureRepository = createFeatureRepository([
  declare({ name: 'origin_airport', entity: { name: 'airport', fields: ['origin'] }, fields: [{ name: 'rate', dtype: 'float32', default: 0.2 }, { name: 'flights', dtype: 'int32', default: 0 }] }),
  declare({ name: 'route', entity: { name: 'route', fields: ['origin', 'destination'] }, fields: [{ name: 'rate', dtype: 'float32', default: 0.25 }] }),
  declare({ name: 'hour', entity: { name: 'hour', fields: ['hour'] }, fields: [{ name: 'rate', dtype: 'float32', default: 0.3 }] }),
  declare({ name: 'airport_embedding', kind: 'embedding', entity: { name: 'airport', fields: ['origin'] }, dims: 4, default: [9, 9, 9, 9] }),
]);
const INPUTS: FeatureInputSpec[] = [
  { name: 'feats', dtype: 'float32', shape: [1, 4], source: 'features', features: ['origin_airport.rate', 'route.rate', 'hour.rate', 'origin_airport.flights'] },
  { name: 'emb', dtype: 'float32', shape: [1, 4], source: 'embedding', view: 'airport_embedding' },
];
const SFO_VECTOR = Float32Array.from([0.5, -0.25, 1, 0]);

describe('checkFeatureInputs', () => {
  it('accepts matching inputs, refuses unknown references and wrong lengths naming the input', () => {
    expect(() => checkFeatureInputs(INPUTS, repository, 'flights-edge')).not.toThrow();
    expect(() => checkFeatureInputs([{ ...INPUTS[0], shape: [1, 3] } as FeatureInputSpec], repository, 'm')).toThrow('m input "feats": shape [1, 3] holds 3 values, the declarations give 4');
    expect(() => checkFeatureInputs([{ ...INPUTS[0], features: ['route.volume'] } as FeatureInputSpec], repository, 'm')).toThrow('m input "feats": feature reference "route.volume": view "route" has no field "volume"');
    expect(() => checkFeatureInputs([{ ...INPUTS[1], view: 'route' } as FeatureInputSpec], repository, 'm')).toThrow('view "route" is tabular');
  });
});

describe.skipIf(!hasRedis)('FeatureAssembler over real Redis (local Upstash REST)', () => {
  let server: UpstashRestServer;
  let remote: RemoteCache;

  beforeAll(async () => {
    server = await startLocalUpstash();
    remote = createUpstashRemoteCache({ url: server.url, token: LOCAL_UPSTASH_TOKEN, budgetMs: 2_000, autoPipelining: false });
    const written = await remote.setMany([
      { key: viewKey(repository.view('origin_airport'), 'SFO'), value: JSON.stringify({ rate: 0.31, flights: 1200 }), ttlSeconds: 600 },
      { key: viewKey(repository.view('route'), 'SFO|JFK'), value: JSON.stringify({ rate: 0.4 }), ttlSeconds: 600 },
      { key: viewKey(repository.view('hour'), '17'), value: JSON.stringify({ rate: 0.35 }), ttlSeconds: 600 },
      { key: viewKey(repository.view('airport_embedding'), 'SFO'), value: encodeEmbedding(SFO_VECTOR, 'fp16'), ttlSeconds: 600 },
      { key: viewKey(repository.view('origin_airport'), 'BAD'), value: 'not json', ttlSeconds: 600 },
    ]);
    expect(written.status).toBe('ok');
  });
  afterAll(async () => server?.close());

  it('four views in one round trip, then L1 (embedding kept decoded); explain says where each value came from', async () => {
    const assembler = createFeatureAssembler({ repository, remote });
    const before = remote.stats();
    const first = await assembler.assemble(INPUTS, { origin: 'SFO', destination: 'JFK', hour: 17 });
    expect(remote.stats().calls - before.calls).toBe(1);
    expect(remote.stats().commands - before.commands).toBe(1);
    expect(first.roundTrips).toBe(1);
    expect(first.degraded).toBeUndefined();
    expect(first.tensors.feats).toEqual({ dtype: 'float32', dims: [1, 4], data: Float32Array.from([0.31, 0.4, 0.35, 1200]) });
    expect(first.tensors.emb?.data).toEqual(SFO_VECTOR);
    expect(first.explain).toEqual({
      origin_airport: { entity: 'SFO', source: 'l2', values: { rate: 0.31, flights: 1200 } },
      route: { entity: 'SFO|JFK', source: 'l2', values: { rate: 0.4 } },
      hour: { entity: '17', source: 'l2', values: { rate: 0.35 } },
      airport_embedding: { entity: 'SFO', source: 'l2', vector: [0.5, -0.25, 1, 0], codec: 'fp16' },
    });
    const second = await assembler.assemble(INPUTS, { origin: 'SFO', destination: 'JFK', hour: 17 });
    expect(second.roundTrips).toBe(0);
    expect(remote.stats().calls - before.calls).toBe(1);
    expect(Object.values(second.explain).map((e) => (e as { source: string }).source)).toEqual(['l1', 'l1', 'l1', 'l1']);
    expect(second.tensors).toEqual(first.tensors);
    expect(assembler.stats()).toMatchObject({ requests: 2, fromL2: 4, fromL1: 4, defaults: 0, roundTrips: 1 });
  });

  it('absent entities and missing entity fields get the declared defaults, counted; an absence is remembered in L1', async () => {
    const assembler = createFeatureAssembler({ repository, remote });
    const first = await assembler.assemble(INPUTS, { origin: 'ZZZ', hour: 3 });
    expect(first.degraded).toBeUndefined();
    expect(first.roundTrips).toBe(1);
    expect(first.tensors.feats?.data).toEqual(Float32Array.from([0.2, 0.25, 0.3, 0]));
    expect(first.tensors.emb?.data).toEqual(Float32Array.from([9, 9, 9, 9]));
    expect(first.explain.route).toEqual({ entity: null, source: 'default', values: { rate: 0.25 } });
    expect(assembler.stats()).toMatchObject({ absentEntities: 3, missingEntityFields: 1, defaults: 4 });
    const again = await assembler.assemble(INPUTS, { origin: 'ZZZ', hour: 3 });
    expect(again.roundTrips).toBe(0);
    expect(assembler.stats()).toMatchObject({ absentEntities: 6, defaults: 8 });
    // A stored value that does not parse is counted and replaced by the defaults.
    const bad = await assembler.assemble([INPUTS[0] as FeatureInputSpec], { origin: 'BAD', destination: 'X', hour: 1 });
    expect(bad.tensors.feats?.data.slice(0, 1)).toEqual(Float32Array.from([0.2]));
    expect(assembler.stats().invalidValues).toBe(1);
  });

  it('int32 and int64 inputs get integer tensors', async () => {
    const assembler = createFeatureAssembler({ repository, remote });
    const out = await assembler.assemble([{ name: 'n', dtype: 'int64', shape: [2], source: 'features', features: ['origin_airport.flights', 'origin_airport.flights'] }], { origin: 'SFO' });
    expect(out.tensors.n).toEqual({ dtype: 'int64', dims: [2], data: BigInt64Array.from([1200n, 1200n]) });
  });

  it('Redis down: defaults marked features_unavailable, no error; no Redis configured: the same', async () => {
    const down = await startLocalUpstash();
    const url = down.url;
    await down.close();
    const assembler = createFeatureAssembler({ repository, remote: createUpstashRemoteCache({ url, token: LOCAL_UPSTASH_TOKEN, budgetMs: 1_000 }) });
    const out = await assembler.assemble(INPUTS, { origin: 'SFO', destination: 'JFK', hour: 17 });
    expect(out.degraded).toBe('features_unavailable');
    expect(out.tensors.feats?.data).toEqual(Float32Array.from([0.2, 0.25, 0.3, 0]));
    expect(assembler.stats().unavailable).toBe(1);
    const none = await createFeatureAssembler({ repository }).assemble(INPUTS, { origin: 'SFO' });
    expect(none.degraded).toBe('features_unavailable');
    expect(none.roundTrips).toBe(0);
  });

  it('Redis slower than the budget: defaults within the budget; the late reply fills L1 for the next request', async () => {
    const silent = await startSilentServer();
    try {
      const stuck = createFeatureAssembler({ repository, budgetMs: 30, remote: createUpstashRemoteCache({ url: silent.url, token: LOCAL_UPSTASH_TOKEN, budgetMs: 5_000 }) });
      const started = performance.now();
      const out = await stuck.assemble(INPUTS, { origin: 'SFO', destination: 'JFK', hour: 17 });
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(out.degraded).toBe('features_unavailable');
    } finally {
      await silent.close();
    }
  });

  it('remote over its own budget (the default set-up): defaults now; its request finishes and fills L1, values checked as on time', async () => {
    const proxy = await startHoldingProxy(server.url, (body) => (body.includes('MGET') ? 300 : 0));
    try {
      const slowRemote = createUpstashRemoteCache({ url: proxy.url, token: LOCAL_UPSTASH_TOKEN, budgetMs: 60 });
      const assembler = createFeatureAssembler({ repository, remote: slowRemote });
      const started = performance.now();
      const first = await assembler.assemble(INPUTS, { origin: 'SFO', destination: 'JFK', hour: 17 });
      expect(performance.now() - started).toBeLessThan(250);
      expect(first.degraded).toBe('features_unavailable');
      expect(Object.values(first.explain).map((e) => (e as { source: string }).source)).toEqual(['default', 'default', 'default', 'default']);
      const bad = await assembler.assemble(INPUTS, { origin: 'BAD', destination: 'JFK', hour: 17 });
      expect(bad.degraded).toBe('features_unavailable');
      expect(slowRemote.stats()).toMatchObject({ overBudget: 2, stragglers: 2 });
      await new Promise((r) => setTimeout(r, 500));
      expect(slowRemote.stats().stragglersInFlight).toBe(0);
      const second = await assembler.assemble(INPUTS, { origin: 'SFO', destination: 'JFK', hour: 17 });
      expect(second.roundTrips).toBe(0);
      expect(second.degraded).toBeUndefined();
      expect(second.tensors.feats?.data).toEqual(Float32Array.from([0.31, 0.4, 0.35, 1200]));
      expect(second.tensors.emb?.data).toEqual(SFO_VECTOR);
      // BAD's stored value is not JSON: the late fill rejected it as a reply in time would (counted, default remembered).
      const again = await assembler.assemble(INPUTS, { origin: 'BAD', destination: 'JFK', hour: 17 });
      expect(again.roundTrips).toBe(0);
      expect((again.explain as Record<string, { source: string }>).origin_airport?.source).toBe('default');
      expect(assembler.stats().invalidValues).toBe(1);
    } finally {
      await proxy.close();
    }
  });

  it('Redis back after an outage: values return without a new assembler', async () => {
    // The REST server goes away and comes back on the same port; the assembler (and its client) stay.
    const flaky = await startLocalUpstash();
    const port = new URL(flaky.url).port;
    const assembler = createFeatureAssembler({
      repository,
      remote: createUpstashRemoteCache({ url: flaky.url, token: LOCAL_UPSTASH_TOKEN, budgetMs: 1_000, circuit: { failures: 1, windowMs: 1_000, halfOpenAfterMs: 50 } }),
    });
    await flaky.close();
    expect((await assembler.assemble(INPUTS, { origin: 'SFO', destination: 'JFK', hour: 17 })).degraded).toBe('features_unavailable');
    const { startUpstashRestServer } = await import('../../../adapters/upstash-rest-local/server.ts');
    const { TEST_REDIS_URL } = await import('../../helpers/require-redis.ts');
    const back = await startUpstashRestServer({ port: Number(port), token: LOCAL_UPSTASH_TOKEN, redisUrl: TEST_REDIS_URL });
    try {
      await new Promise((resolve) => setTimeout(resolve, 80));
      const out = await assembler.assemble(INPUTS, { origin: 'SFO', destination: 'JFK', hour: 17 });
      expect(out.degraded).toBeUndefined();
      expect(out.tensors.feats?.data).toEqual(Float32Array.from([0.31, 0.4, 0.35, 1200]));
    } finally {
      await back.close();
    }
  });
});
