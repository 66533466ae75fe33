// The two-level read-through cache over real Redis (through the local Upstash REST server):
// levels, single-flight, what is (not) stored, degradation, hot keys, and model swaps.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hotKeysKey, inputHash, predictionKey } from '../../../core/cache/keys.ts';
import { CachePolicy, type CachePolicyMode } from '../../../core/cache/policy.ts';
import { createUpstashRemoteCache, type RemoteCache } from '../../../core/cache/remote-cache.ts';
import { TwoLevelCache } from '../../../core/cache/two-level-cache.ts';
import type { UpstashRestServer } from '../../../adapters/upstash-rest-local/server.ts';
import { redisAvailable } from '../../helpers/require-redis.ts';
import { LOCAL_UPSTASH_TOKEN, startLocalUpstash, startSilentServer } from '../../helpers/upstash-local.ts';

const hasRedis = await redisAvailable('core/cache two-level cache tests');
// Each run gets its own model shas, so keys never collide with earlier runs.
const runTag = `${process.pid}${Date.now()}`;
const sha = (label: string) => (label + runTag).replace(/[^0-9a-f]/g, '').padEnd(64, '0').slice(0, 64);
const SHA_A = sha('aaaa');
const SHA_B = sha('bbbb');
const SHA_C = sha('cccc');

interface Answer {
  label: string;
  sha: string;
}

describe.skipIf(!hasRedis)('TwoLevelCache', () => {
  let server: UpstashRestServer;
  let remote: RemoteCache;
  const pending: Promise<unknown>[] = [];
  const waitUntil = (p: Promise<unknown>) => void pending.push(p);
  const settle = async () => {
    await Promise.all(pending.splice(0));
  };
  const cacheWith = (mode: CachePolicyMode, extra: Partial<ConstructorParameters<typeof TwoLevelCache>[0]> = {}) =>
    new TwoLevelCache({ policy: new CachePolicy({ mode }), remote, waitUntil, hotKeySampleEvery: 0, ...extra });
  const keyFor = async (modelSha: string, text: string) => predictionKey({ space: 'e', fingerprint: modelSha, inputHash: await inputHash(text) });

  beforeAll(async () => {
    server = await startLocalUpstash();
    remote = createUpstashRemoteCache({ url: server.url, token: LOCAL_UPSTASH_TOKEN, budgetMs: 2_000 });
  });
  afterAll(async () => server?.close());

  it('computes on a miss, answers from L1 next, and from L2 in another isolate (always)', async () => {
    const key = await keyFor(SHA_A, 'hello there');
    let computed = 0;
    const compute = async (): Promise<Answer> => ({ label: `ham${++computed}`, sha: SHA_A });
    const first = cacheWith('always');
    const miss = await first.getOrCompute({ key, tier: 'edge', ttlSeconds: 60, compute, waitUntil });
    expect(miss.value).toEqual({ label: 'ham1', sha: SHA_A });
    expect(miss.trace).toMatchObject({ level: null, l1: 'miss', l2: 'miss' });
    expect((await first.getOrCompute({ key, tier: 'edge', ttlSeconds: 60, compute })).trace).toMatchObject({ level: 'l1', l1: 'hit' });
    await settle(); // the L2 write ran after the "response"
    const second = cacheWith('always');
    const fromL2 = await second.getOrCompute({ key, tier: 'edge', ttlSeconds: 60, compute });
    expect(fromL2.value).toEqual({ label: 'ham1', sha: SHA_A });
    expect(fromL2.trace).toMatchObject({ level: 'l2', l1: 'miss', l2: 'hit' });
    expect(fromL2.trace.l2Ms).toBeGreaterThan(0);
    expect((await second.getOrCompute({ key, tier: 'edge', ttlSeconds: 60, compute })).trace.level).toBe('l1');
    expect(computed).toBe(1);
  });

  it('single-flight: 50 concurrent misses for one key compute once', async () => {
    const cache = cacheWith('always');
    const key = await keyFor(SHA_A, 'concurrent');
    let computed = 0;
    const compute = async (): Promise<Answer> => {
      computed++;
      await new Promise((r) => setTimeout(r, 30));
      return { label: 'spam', sha: SHA_A };
    };
    const results = await Promise.all(Array.from({ length: 50 }, () => cache.getOrCompute({ key, tier: 'regional', ttlSeconds: 60, compute })));
    expect(computed).toBe(1);
    expect(results.every((r) => r.value.label === 'spam')).toBe(true);
    expect(results.filter((r) => r.trace.shared)).toHaveLength(49);
    expect(cache.stats()).toMatchObject({ computed: 1, shared: 49 });
  });

  it('only successful results are stored: a throw or an uncacheable value is computed again', async () => {
    const cache = cacheWith('always');
    const key = await keyFor(SHA_A, 'flaky');
    await expect(cache.getOrCompute({ key, tier: 'edge', ttlSeconds: 60, compute: async () => Promise.reject(new Error('engine failed')) })).rejects.toThrow(
      'engine failed',
    );
    const failed = { ok: false as const, reason: 'timeout' };
    const outcome = await cache.getOrCompute<{ ok: boolean; reason?: string }>({
      key,
      tier: 'regional',
      ttlSeconds: 60,
      compute: async () => failed,
      isCacheable: (v) => v.ok,
    });
    expect(outcome.value).toEqual(failed);
    await settle();
    expect(cache.l1.has(key)).toBe(false);
    expect(await remote.get(key)).toMatchObject({ status: 'miss' });
    const ok = await cache.getOrCompute({ key, tier: 'edge', ttlSeconds: 60, compute: async () => ({ ok: true }) });
    expect(ok.trace.level).toBeNull();
    expect(cache.l1.has(key)).toBe(true);
  });

  it('a value read back from L2 that fails validation is a miss ("corrupt"), and is recomputed', async () => {
    const key = await keyFor(SHA_A, 'corrupt');
    await remote.set(key, '{"label":"spam","sha":"not-this-model"}', 60);
    await remote.set(`${key}x`, 'not json', 60);
    const cache = cacheWith('always');
    const isValid = (v: unknown): v is Answer => (v as Answer)?.sha === SHA_A;
    const result = await cache.getOrCompute<Answer>({ key, tier: 'edge', ttlSeconds: 60, compute: async () => ({ label: 'ham', sha: SHA_A }), isValid });
    expect(result.value).toEqual({ label: 'ham', sha: SHA_A });
    expect(result.trace).toMatchObject({ level: null, l2: 'corrupt' });
    const junk = await cache.getOrCompute({ key: `${key}x`, tier: 'edge', ttlSeconds: 60, compute: async () => 1 });
    expect(junk.trace.l2).toBe('corrupt');
  });

  it('a value in L1 that fails validation is dropped and the lookup goes on as a miss', async () => {
    const key = await keyFor(SHA_A, 'l1-corrupt');
    const cache = cacheWith('l1');
    cache.l1.set(key, { value: { label: 'spam', sha: 'not-this-model' } }, 60_000, 64);
    const isValid = (v: unknown): v is Answer => (v as Answer)?.sha === SHA_A;
    const result = await cache.getOrCompute<Answer>({ key, tier: 'edge', ttlSeconds: 60, compute: async () => ({ label: 'ham', sha: SHA_A }), isValid });
    expect(result.value).toEqual({ label: 'ham', sha: SHA_A });
    expect(result.trace).toMatchObject({ level: null, l1: 'miss' });
    // The computed answer replaced it: the next lookup is an L1 hit of the valid value.
    const again = await cache.getOrCompute<Answer>({ key, tier: 'edge', ttlSeconds: 60, compute: async () => ({ label: 'other', sha: SHA_A }), isValid });
    expect(again).toMatchObject({ value: { label: 'ham', sha: SHA_A }, trace: { level: 'l1' } });
  });

  it('policies: off stores nothing; l1 never calls Redis; auto keeps cheap edge answers in L1 only', async () => {
    for (const mode of ['off', 'l1', 'auto'] as const) {
      const before = remote.stats().calls;
      const cache = cacheWith(mode);
      const key = await keyFor(SHA_A, `policy-${mode}`);
      let computed = 0;
      const compute = async () => ({ label: 'ham', n: ++computed });
      await cache.getOrCompute({ key, tier: 'edge', ttlSeconds: 60, compute });
      const again = await cache.getOrCompute({ key, tier: 'edge', ttlSeconds: 60, compute });
      await settle();
      expect(remote.stats().calls - before, mode).toBe(0);
      expect(computed, mode).toBe(mode === 'off' ? 2 : 1);
      expect(again.trace.level, mode).toBe(mode === 'off' ? null : 'l1');
      expect(again.trace.why, mode).toMatch(mode === 'auto' ? /L2 cannot pay/ : mode);
    }
  });

  it('degrades: Redis silent → over_budget within the budget, the value is computed and served', async () => {
    const silent = await startSilentServer();
    try {
      const slowRemote = createUpstashRemoteCache({ url: silent.url, token: 't', budgetMs: 15 });
      const cache = new TwoLevelCache({ policy: new CachePolicy({ mode: 'always' }), remote: slowRemote, waitUntil, hotKeySampleEvery: 0 });
      const started = performance.now();
      const result = await cache.getOrCompute({ key: await keyFor(SHA_A, 'silent'), tier: 'edge', ttlSeconds: 60, compute: async () => 'fresh' });
      expect(performance.now() - started).toBeLessThan(500);
      expect(result.value).toBe('fresh');
      expect(result.trace).toMatchObject({ level: null, l2: 'over_budget' });
      expect(result.trace.l2Ms).toBeGreaterThanOrEqual(14);
      await settle(); // the write is skipped the same way, never thrown
    } finally {
      await silent.close();
    }
  });

  it('hot keys: every Nth lookup adds N to the input hash in a sorted set per key space and model fingerprint', async () => {
    const cache = cacheWith('always', { hotKeySampleEvery: 4 });
    const hot = await inputHash('hot message');
    for (let i = 0; i < 16; i++) {
      const text = i % 4 === 3 ? 'cold message' : 'hot message';
      await cache.getOrCompute({ key: await keyFor(SHA_B, text), tier: 'edge', ttlSeconds: 60, compute: async () => text });
    }
    await settle();
    const top = await remote.topMembers(hotKeysKey(`e:${SHA_B}`), 2);
    // Lookups 4, 8, 12, 16 are sampled; with i % 4 === 3 those are all "cold message" ones.
    expect(top).toMatchObject({ status: 'hit', value: [{ member: await inputHash('cold message'), score: 16 }] });
    expect(top.status === 'hit' && top.value.some((m) => m.member.endsWith(hot))).toBe(false);
    expect(cache.stats().hotKeyIncrements).toBe(4);
  });

  it('a warmer primes a new isolate\'s L1 with the hottest predictions from L2', async () => {
    const cache = cacheWith('always', { hotKeySampleEvery: 1 });
    const hotTexts = ['prime a', 'prime b', 'prime c'];
    for (let round = 0; round < 3; round++) {
      for (const [i, text] of hotTexts.entries()) {
        if (i <= round) await cache.getOrCompute({ key: await keyFor(SHA_C, text), tier: 'edge', ttlSeconds: 60, compute: async () => ({ text }) });
      }
    }
    await settle();
    const fresh = cacheWith('always');
    // Counts: a 3, b 2, c 1; the two hottest are primed.
    expect(await fresh.primeFromHotKeys(`e:${SHA_C}`, 2, 60)).toBe(2);
    expect(fresh.l1.has(await keyFor(SHA_C, 'prime a'))).toBe(true);
    expect(fresh.l1.has(await keyFor(SHA_C, 'prime b'))).toBe(true);
    expect(fresh.l1.has(await keyFor(SHA_C, 'prime c'))).toBe(false);
    const served = await fresh.getOrCompute({ key: await keyFor(SHA_C, 'prime a'), tier: 'edge', ttlSeconds: 60, compute: async () => ({ text: 'recomputed' }) });
    expect(served).toMatchObject({ value: { text: 'prime a' }, trace: { level: 'l1' } });
    expect(await cacheWith('l1').primeFromHotKeys(`e:${SHA_C}`, 2, 60)).toBe(0);
  });

  it('model swap under load: no answer computed by the old sha is ever served for the new one', async () => {
    // Two isolates share L2 (always); the "deployed model" flips from A to B mid-run.
    const isolates = [cacheWith('always'), cacheWith('always')];
    let deployed = SHA_A;
    const texts = Array.from({ length: 20 }, (_, i) => `message ${i}`);
    const served: Array<{ requested: string; got: string }> = [];
    const request = async (i: number) => {
      const modelSha = deployed;
      const text = texts[i % texts.length] as string;
      const { value } = await (isolates[i % 2] as TwoLevelCache).getOrCompute<Answer>({
        key: await keyFor(modelSha, text),
        tier: 'regional',
        ttlSeconds: 60,
        compute: async () => {
          await new Promise((r) => setTimeout(r, 1));
          return { label: text.length % 2 ? 'spam' : 'ham', sha: modelSha };
        },
        // No isValid: the key alone must keep the models apart, in L1 and in L2.
      });
      served.push({ requested: modelSha, got: value.sha });
    };
    const load: Promise<void>[] = [];
    for (let i = 0; i < 400; i++) {
      if (i === 200) deployed = SHA_B;
      load.push(request(i));
      if (i % 25 === 0) await Promise.all(load.splice(0)).then(settle);
    }
    await Promise.all(load);
    await settle();
    expect(served).toHaveLength(400);
    expect(served.filter((s) => s.requested === SHA_B).length).toBeGreaterThan(150);
    expect(served.filter((s) => s.requested !== s.got)).toEqual([]);
  });
});
