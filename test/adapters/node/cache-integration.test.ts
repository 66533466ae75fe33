// The prediction cache end to end: `npm start`'s server (node:http, real onnxruntime-node,
// in-process regional tier, its default @upstash/redis client) with Upstash = the local REST
// server over real Redis. Cached answers say so and which level answered; a second isolate
// reads L2; stopping the REST server mid-run leaves every request answered 200 (cache, rate
// limit and fleet telemetry on Upstash, with either client), with the skip in the response;
// a new model build sharing L2 never serves the old build's answers.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalServer, type LocalServer } from '../../../adapters/node/server.ts';
import { startUpstashRestServer, type UpstashRestServer } from '../../../adapters/upstash-rest-local/server.ts';
import type { CacheEnv } from '../../../core/cache/config.ts';
import { modelFingerprint } from '../../../core/cache/model-identity.ts';
import { DEFAULT_CASCADE_CONFIG } from '../../../core/router/cascade.ts';
import { loadSplits } from '../../../models/training/dataset.ts';
import { computeSenderDomainRows, writeRows } from '../../../models/training/materialize-features.ts';
import { senderDomain, tabularDefaults, type TabularFeatureView } from '../../../core/features/declarations.ts';
import { loadFeatureRepository } from '../../../features/index.ts';
import { createUpstashRemoteCache } from '../../../core/cache/remote-cache.ts';
import { createUpstashRestClient } from '../../../core/upstash/rest-client.ts';
import { createUpstashRedisClient } from '../../../adapters/node/upstash-redis-client.ts';
import { writeRegionalModelRepo } from '../../helpers/regional-model-repo.ts';
import { redisAvailable, TEST_REDIS_URL } from '../../helpers/require-redis.ts';
import { LOCAL_UPSTASH_TOKEN } from '../../helpers/upstash-local.ts';

const hasRedis = await redisAvailable('node server + Upstash cache integration tests');
// Fresh seeds per run: new model shas, so L2 holds nothing from an earlier run.
const seed = (Date.now() % 100_000) * 10;
const repo = writeRegionalModelRepo(['spam-edge', 'spam-regional'], seed, { cascade: { 'spam-edge': 'spam-regional' } });
const newBuild = writeRegionalModelRepo(['spam-edge', 'spam-regional'], seed + 5, { cascade: { 'spam-edge': 'spam-regional' } });
const texts = loadSplits()
  .test.slice(0, 40)
  .map((m) => m.text);

// The regional budget (250 ms by default) is not what these tests are about: a loaded CI
// machine must not turn an escalation into a degraded edge answer here.
const GENEROUS_BUDGET = { cascade: { ...DEFAULT_CASCADE_CONFIG, budgetMs: 10_000 } };

function setEdgeThreshold(root: string, threshold: number | null): void {
  const file = join(root, 'spam-edge', '1', 'model.json');
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  manifest.cascade = { ...manifest.cascade, threshold };
  writeFileSync(file, JSON.stringify(manifest));
}

interface Answer {
  label: string;
  scores: Record<string, number>;
  model: { name: string; sha256: string };
  tier: 'edge' | 'regional';
  cached: boolean;
  cache: { level: 'l1' | 'l2' | null; l2: string; policy: string };
  timings: Record<string, number>;
}

describe.skipIf(!hasRedis)('node server with the Upstash cache', () => {
  let rest: UpstashRestServer;
  const servers: LocalServer[] = [];
  const start = async (root: string, cache: CacheEnv) => {
    const server = await startLocalServer({ modelsRoot: root, port: 0, cache, log: () => {}, config: GENEROUS_BUDGET });
    servers.push(server);
    return server;
  };
  const upstash = (policy: string, extra: CacheEnv = {}): CacheEnv => ({
    UPSTASH_REDIS_REST_URL: rest.url,
    UPSTASH_REDIS_REST_TOKEN: LOCAL_UPSTASH_TOKEN,
    EDGEINFER_CACHE_POLICY: policy,
    // Generous: this machine is shared; the budget's own behaviour is tested in core/cache.
    EDGEINFER_CACHE_BUDGET_MS: '1000',
    ...extra,
  });
  const predict = async (server: LocalServer, text: string, extra: Record<string, unknown> = {}) => {
    const response = await fetch(`${server.url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text, ...extra }) });
    return { status: response.status, answer: (await response.json()) as Answer, serverTiming: response.headers.get('server-timing') ?? '' };
  };

  /** Polls Redis (through the REST server) until a key matches: writes land after the response. */
  const waitForKeys = async (pattern: string) => {
    for (let i = 0; i < 100; i++) {
      const response = await fetch(rest.url, { method: 'POST', headers: { authorization: `Bearer ${LOCAL_UPSTASH_TOKEN}` }, body: JSON.stringify(['KEYS', pattern]) });
      if (((await response.json()) as { result: string[] }).result.length > 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no key matching ${pattern} appeared in Redis within 2 s`);
  };

  beforeAll(async () => {
    rest = await startUpstashRestServer({ port: 0, token: LOCAL_UPSTASH_TOKEN, redisUrl: TEST_REDIS_URL });
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    await rest?.close();
    repo.cleanup();
    newBuild.cleanup();
  });

  it('edge answers: computed, then from L1; another isolate finds them in L2 (always)', async () => {
    setEdgeThreshold(repo.root, 0); // every edge answer is confident: no escalation
    const a = await start(repo.root, upstash('always'));
    const first = await predict(a, texts[0] as string);
    expect(first.status).toBe(200);
    expect(first.answer).toMatchObject({ tier: 'edge', cached: false, cache: { level: null, l2: 'miss', policy: 'always' } });
    expect(first.answer.timings.inferMs).toBeGreaterThan(0);
    const again = await predict(a, texts[0] as string);
    expect(again.answer).toMatchObject({ tier: 'edge', cached: true, cache: { level: 'l1' } });
    expect(again.answer.scores).toEqual(first.answer.scores);
    expect(again.answer.timings.inferMs).toBeUndefined();
    expect(again.serverTiming).toMatch(/cache;desc="l1"/);

    // The L2 write runs after the response, under the edge key space and the model's fingerprint.
    await waitForKeys(`p:e:${modelFingerprint((await a.service.context.requireModel('spam-edge')).manifest)}:*`);
    const b = await start(repo.root, upstash('always'));
    const other = await predict(b, texts[0] as string);
    expect(other.answer).toMatchObject({ cached: true, cache: { level: 'l2', l2: 'hit' } });
    expect(other.answer.scores).toEqual(first.answer.scores);
    expect(other.answer.timings.cacheL2Ms).toBeGreaterThan(0);
  });

  it('single-flight through the handler: 20 concurrent identical requests run the edge model once', async () => {
    setEdgeThreshold(repo.root, 0);
    const server = await start(repo.root, upstash('auto'));
    const stats = async () => ((await (await fetch(`${server.url}/v1/cache`)).json()) as { stats: { computed: number; shared: number; l1Hits: number } }).stats;
    const before = await stats();
    const text = `${texts[2]}\n-- concurrent ${Date.now()}`;
    const answers = await Promise.all(Array.from({ length: 20 }, () => predict(server, text)));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(new Set(answers.map((a) => JSON.stringify(a.answer.scores))).size).toBe(1);
    const after = await stats();
    expect(after.computed - before.computed).toBe(1);
    expect(after.shared - before.shared + (after.l1Hits - before.l1Hits)).toBe(19);
    expect(answers.filter((a) => a.answer.timings.inferMs !== undefined)).toHaveLength(1);
  });

  it('auto: edge answers stay in L1, regional answers are cached on the escalation path (no Redis at list prices)', async () => {
    setEdgeThreshold(repo.root, null); // uncalibrated: everything escalates
    const server = await start(repo.root, upstash('auto'));
    const first = await predict(server, texts[1] as string);
    expect(first.answer).toMatchObject({ tier: 'regional', cached: false, cache: { level: null, l2: 'not_asked', policy: 'auto' } });
    expect(first.answer.timings.regionalMs).toBeGreaterThan(0);
    const again = await predict(server, texts[1] as string);
    expect(again.answer).toMatchObject({ tier: 'regional', cached: true, cache: { level: 'l1' } });
    expect(again.answer.timings.regionalMs).toBeUndefined();
    expect(again.answer.model.sha256).toBe(repo.sha256['spam-regional']);
    const explained = (await (await fetch(`${server.url}/v1/cache`)).json()) as Record<string, any>;
    expect(explained.policy.mode).toBe('auto');
    expect(explained.policy.tiers.regional.askL2).toBe(false);
    expect(explained.l2).toMatchObject({ calls: 1, commands: 1 }); // the warm-up PING, nothing else
  });

  // The node server's default client (@upstash/redis) and the edge's fetch client degrade alike.
  it.each([
    ['@upstash/redis', createUpstashRedisClient],
    ['core fetch client', createUpstashRestClient],
  ])('REST server stopped mid-run (%s): every request is still answered 200, and says L2 was skipped', async (_name, upstashClient) => {
    setEdgeThreshold(repo.root, null);
    const ownRest = await startUpstashRestServer({ port: 0, token: LOCAL_UPSTASH_TOKEN, redisUrl: TEST_REDIS_URL });
    const server = await startLocalServer({
      modelsRoot: repo.root,
      port: 0,
      log: () => {},
      upstashClient,
      // The Upstash rate limit too: with Redis gone it must fail open, not refuse or fail.
      rateLimit: { EDGEINFER_RATE_LIMIT: '10000/60s' },
      config: GENEROUS_BUDGET,
      cache: { UPSTASH_REDIS_REST_URL: ownRest.url, UPSTASH_REDIS_REST_TOKEN: LOCAL_UPSTASH_TOKEN, EDGEINFER_CACHE_POLICY: 'always' },
    });
    servers.push(server);
    const results: Array<{ status: number; answer: Answer; serverTiming: string }> = [];
    for (let i = 0; i < 30; i++) {
      if (i === 10) await ownRest.close();
      // Concurrent pairs, half of them repeats, half new inputs.
      results.push(...(await Promise.all([predict(server, texts[i] as string), predict(server, texts[i % 5] as string)])));
    }
    expect(results.map((r) => r.status)).toEqual(Array(60).fill(200));
    const afterStop = results.slice(20);
    const skipped = afterStop.filter((r) => ['unavailable', 'circuit_open', 'over_budget'].includes(r.answer.cache.l2));
    // Every answer after the stop that needed L2 says why it went without it.
    const neededL2 = afterStop.filter((r) => r.answer.cache.level !== 'l1');
    expect(neededL2.length).toBeGreaterThan(10);
    expect(skipped.length).toBe(neededL2.length);
    expect(skipped.some((r) => /l2 (unavailable|circuit_open|over_budget)/.test(r.serverTiming))).toBe(true);
    expect(afterStop.every((r) => r.answer.tier === 'regional' && typeof r.answer.label === 'string')).toBe(true);
  });

  it('explain: the declared sender-domain view, materialized, comes with the answer; unknown senders get the declared defaults', async () => {
    const splits = loadSplits();
    const view = loadFeatureRepository().view('sender_domain') as TabularFeatureView;
    const rows = computeSenderDomainRows(splits.train, view);
    const remote = createUpstashRemoteCache({ url: rest.url, token: LOCAL_UPSTASH_TOKEN, budgetMs: 5_000 });
    const written = await writeRows(remote, rows, 600, 500);
    expect(written.written + written.unchanged).toBe(rows.length);
    setEdgeThreshold(repo.root, 0);
    const server = await startLocalServer({ modelsRoot: repo.root, port: 0, log: () => {}, config: GENEROUS_BUDGET, cache: upstash('auto') });
    servers.push(server);
    const byDomain = new Map(rows.map((r) => [r.entity, JSON.parse(r.value) as Record<string, number>]));
    const known = splits.test.find((m) => byDomain.has(senderDomain(m.text) ?? '')) as { text: string };
    const domain = senderDomain(known.text) as string;
    // Without "explain" the answer carries no features (and costs no lookup).
    expect((await predict(server, known.text)).answer).not.toHaveProperty('features');
    const { status, answer } = await predict(server, known.text, { explain: true });
    expect(status).toBe(200);
    const features = (answer as unknown as { features: Record<string, { entity: string; source: string; values: Record<string, number> }> }).features;
    expect(features.sender_domain).toEqual({ entity: domain, source: 'l2', values: byDomain.get(domain) });
    expect(answer.timings.featuresMs).toBeGreaterThan(0);
    const unknown = await predict(server, 'From: someone@not-in-training.example\nSubject: hi\n\nhello', { explain: true });
    expect((unknown.answer as unknown as { features: Record<string, { source: string; values: unknown }> }).features.sender_domain).toEqual({
      entity: 'not-in-training.example',
      source: 'default',
      values: tabularDefaults(view),
    });
  });

  it('a new model build sharing L2 under load never serves an answer of the old sha', async () => {
    setEdgeThreshold(repo.root, 0);
    setEdgeThreshold(newBuild.root, 0);
    // Expected scores per build, computed without any cache.
    const reference = async (root: string) => {
      const plain = await start(root, { EDGEINFER_CACHE_POLICY: 'off' });
      const scores = new Map<string, Record<string, number>>();
      for (const text of texts.slice(0, 20)) scores.set(text, (await predict(plain, text)).answer.scores);
      return scores;
    };
    const oldScores = await reference(repo.root);
    const newScores = await reference(newBuild.root);
    expect([...oldScores.keys()].some((t) => JSON.stringify(oldScores.get(t)) !== JSON.stringify(newScores.get(t)))).toBe(true);

    const oldIsolate = await start(repo.root, upstash('always'));
    const newIsolate = await start(newBuild.root, upstash('always'));
    // Four waves of 40 concurrent requests: concurrent within a wave, and each wave sees what the
    // previous ones stored (one burst of 160 could all miss together on a loaded machine, leaving
    // nothing cached to check).
    const answers: Array<{ build: 'old' | 'new'; text: string; answer: Answer }> = [];
    for (let wave = 0; wave < 4; wave++) {
      const load: Array<Promise<{ build: 'old' | 'new'; text: string; answer: Answer }>> = [];
      for (let i = wave * 40; i < (wave + 1) * 40; i++) {
        const text = texts[i % 20] as string;
        // The new build takes over after the first quarter; the old one keeps serving its share.
        const build = i > 40 && i % 3 !== 0 ? 'new' : 'old';
        load.push(predict(build === 'new' ? newIsolate : oldIsolate, text).then(({ answer }) => ({ build, text, answer })));
      }
      answers.push(...(await Promise.all(load)));
    }
    const fromCache = answers.filter((a) => a.build === 'new' && a.answer.cached);
    expect(fromCache.length).toBeGreaterThan(20);
    for (const { build, text, answer } of answers) {
      const expected = (build === 'new' ? newScores : oldScores).get(text);
      expect(answer.scores, `${build} build, cache level ${answer.cache.level}`).toEqual(expected);
      expect(answer.model.sha256).toBe((build === 'new' ? newBuild : repo).sha256['spam-edge']);
    }
  });
});
