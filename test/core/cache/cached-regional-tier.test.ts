// The escalation path through the real EnsembleRouter with the cache in front of the
// regional tier: confident answers never touch the cache's L2; escalations look it up
// first; failed calls and answers from another model version are not stored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPredictionCache, type CachedRegionalPrediction } from '../../../core/cache/cached-regional-tier.ts';
import { CachePolicy } from '../../../core/cache/policy.ts';
import { createUpstashRemoteCache, type RemoteCache } from '../../../core/cache/remote-cache.ts';
import { TwoLevelCache } from '../../../core/cache/two-level-cache.ts';
import { DEFAULT_ROUTER_POLICY, EnsembleRouter } from '../../../core/router/router.ts';
import type { RegionalOutcome, RegionalRequest, RegionalTier } from '../../../core/router/regional-tier.ts';
import type { UpstashRestServer } from '../../../adapters/upstash-rest-local/server.ts';
import { redisAvailable } from '../../helpers/require-redis.ts';
import { LOCAL_UPSTASH_TOKEN, startLocalUpstash } from '../../helpers/upstash-local.ts';

const hasRedis = await redisAvailable('core/cache cached regional tier tests');
const REGIONAL_SHA = `${Date.now()}${process.pid}`.padEnd(64, 'c').slice(0, 64);

/** A regional tier that classifies by a keyword and counts its calls; `sha` is what it reports. */
function keywordTier(state: { calls: number; sha: string; fail: boolean }): RegionalTier {
  return {
    kind: 'in-process',
    async invoke(request: RegionalRequest): Promise<RegionalOutcome> {
      state.calls++;
      if (state.fail) return { ok: false, reason: 'function_error', message: 'boom' };
      const spam = /viagra|winner/i.test(request.text ?? '');
      return {
        ok: true,
        prediction: {
          label: spam ? 'spam' : 'ham',
          scores: { ham: spam ? 0.1 : 0.9, spam: spam ? 0.9 : 0.1 },
          model: { name: 'spam-regional', version: '1', sha256: state.sha },
          timings: { inferMs: 1 },
          executionProvider: 'cpu',
        },
      };
    },
  };
}

describe.skipIf(!hasRedis)('withPredictionCache (regional escalation path)', () => {
  let server: UpstashRestServer;
  let remote: RemoteCache;
  beforeAll(async () => {
    server = await startLocalUpstash();
    remote = createUpstashRemoteCache({ url: server.url, token: LOCAL_UPSTASH_TOKEN, budgetMs: 2_000 });
  });
  afterAll(async () => server?.close());
  const pending: Promise<unknown>[] = [];
  const waitUntil = (p: Promise<unknown>) => void pending.push(p);

  function setup(mode: 'always' | 'auto', state = { calls: 0, sha: REGIONAL_SHA, fail: false }) {
    const cache = new TwoLevelCache({ policy: new CachePolicy({ mode }), remote, hotKeySampleEvery: 0, waitUntil });
    const tier = withPredictionCache(keywordTier(state), cache, (model) =>
      model === 'spam-regional'
        ? { name: 'spam-regional', version: '1', sha256: REGIONAL_SHA, fingerprint: 'f'.repeat(64), ttlSeconds: 60, inputNames: ['ids'], firstTextInput: 'ids', labels: ['ham', 'spam'] }
        : undefined,
    );
    // A generous regional budget: under a loaded test machine the router must not time out what this file tests.
    const router = new EnsembleRouter({ policy: { ...DEFAULT_ROUTER_POLICY, budgetMs: 10_000, confidence: { measure: 'top', threshold: 0.8 } }, regional: tier });
    const route = (text: string, edgeTop: number) =>
      router.route({ runEdge: async () => ({ probabilities: [edgeTop, 1 - edgeTop] }), regionalRequest: { model: 'spam-regional', text, requestId: 'r' } });
    return { state, cache, route };
  }

  it('confident edge answers do not touch the regional cache; escalations are answered from it the second time', async () => {
    const { state, cache, route } = setup('always');
    const before = remote.stats().calls;
    expect((await route('hello', 0.95)).tier).toBe('edge');
    expect(remote.stats().calls).toBe(before);
    const text = `you are a WINNER ${Date.now()}`;
    const first = await route(text, 0.55);
    expect(first.tier).toBe('regional');
    const firstPrediction = (first as { regional: CachedRegionalPrediction }).regional;
    expect(firstPrediction.label).toBe('spam');
    expect(firstPrediction.cache).toMatchObject({ level: null, l2: 'miss' });
    const second = (await route(text, 0.55)) as { regional: CachedRegionalPrediction };
    expect(second.regional.cache).toMatchObject({ level: 'l1' });
    expect(state.calls).toBe(1);
    expect(cache.stats().l1Hits).toBe(1);
  });

  it('another isolate finds the answer in L2 (always) and skips the regional call', async () => {
    const text = `cross isolate ${Date.now()}`;
    const a = setup('always');
    await a.route(text, 0.5);
    await Promise.all(pending.splice(0)); // the L2 write scheduled after the response
    const b = setup('always');
    const answer = (await b.route(text, 0.5)) as { regional: CachedRegionalPrediction };
    expect(answer.regional.cache).toMatchObject({ level: 'l2', l2: 'hit' });
    expect(b.state.calls).toBe(0);
  });

  it('auto at list prices: escalations use L1 only (no Redis command), the decision says why', async () => {
    const { state, route } = setup('auto');
    const before = remote.stats().calls;
    const text = `auto ${Date.now()}`;
    const first = (await route(text, 0.5)) as { regional: CachedRegionalPrediction };
    expect(first.regional.cache).toMatchObject({ level: null, l2: 'not_asked' });
    expect(first.regional.cache?.why).toMatch(/L2 cannot pay even at a 100 % hit rate/);
    expect(((await route(text, 0.5)) as { regional: CachedRegionalPrediction }).regional.cache?.level).toBe('l1');
    expect(state.calls).toBe(1);
    expect(remote.stats().calls).toBe(before);
  });

  it('failed regional calls and answers from another model sha are not cached', async () => {
    const failing = setup('always', { calls: 0, sha: REGIONAL_SHA, fail: true });
    const text = `failing ${Date.now()}`;
    expect((await failing.route(text, 0.5)).tier).toBe('edge'); // degraded edge answer
    failing.state.fail = false;
    expect((await failing.route(text, 0.5)).tier).toBe('regional');
    expect(failing.state.calls).toBe(2);

    const stale = setup('always', { calls: 0, sha: 'f'.repeat(64), fail: false });
    const other = `other sha ${Date.now()}`;
    await stale.route(other, 0.5);
    await stale.route(other, 0.5);
    expect(stale.state.calls).toBe(2);
  });
});
