// The fixed-window limiter (our script, @upstash/ratelimit's layout) against real Redis through the local Upstash REST server (which
// accepts Upstash's `allow-key-locking` script flag as Upstash does), and failing open when
// Redis is stopped, unreachable or silent. Without Redis: skipped loudly, never under CI=true.
import { Ratelimit } from '@upstash/ratelimit';
import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstashRestServer, type UpstashRestServer } from '../../../adapters/upstash-rest-local/server.ts';
import { createUpstashRateLimiter } from '../../../core/ratelimit/upstash-rate-limiter.ts';
import { LOCAL_UPSTASH_TOKEN, startLocalUpstash, startSilentServer } from '../../helpers/upstash-local.ts';
import { redisAvailable } from '../../helpers/require-redis.ts';

const haveRedis = await redisAvailable('Upstash rate limiter (test/core/ratelimit)');
const prefix = `rl-test-${process.pid}-${Date.now()}`;

describe.skipIf(!haveRedis)('Upstash rate limiter on real Redis', () => {
  let rest: UpstashRestServer;
  beforeAll(async () => {
    rest = await startLocalUpstash();
  });
  afterAll(async () => {
    await rest?.close();
  });

  it('counts per key across limiter instances (isolates), refuses past the limit, and resets with the window', async () => {
    // Two instances share Redis as two isolates would; a generous budget: this test is about counting, not latency.
    const options = { url: rest.url, token: LOCAL_UPSTASH_TOKEN, limit: 3, windowMs: 1_500, prefix, budgetMs: 2_000 };
    const a = createUpstashRateLimiter(options);
    const b = createUpstashRateLimiter(options);
    // Start just after a window boundary so all five calls land in one window.
    await new Promise((r) => setTimeout(r, 1_500 - (Date.now() % 1_500) + 20));
    const results = [await a.limit('ip:1'), await b.limit('ip:1'), await a.limit('ip:1'), await b.limit('ip:1')];
    expect(results.map((r) => r.success)).toEqual([true, true, true, false]);
    expect(results.map((r) => r.remaining)).toEqual([2, 1, 0, 0]);
    expect(results.every((r) => r.degraded === undefined && r.limit === 3)).toBe(true);
    expect(results[3]!.reset % 1_500).toBe(0);
    // Another key has its own count.
    expect((await a.limit('ip:2')).success).toBe(true);
    // b remembers the refusal locally: no Redis call until the window resets.
    const calls = b.stats().calls;
    expect((await b.limit('ip:1')).success).toBe(false);
    expect(b.stats().calls).toBe(calls);
    expect(b.stats().localBlocks).toBe(1);
    await new Promise((r) => setTimeout(r, Math.max(0, results[3]!.reset - Date.now()) + 20));
    expect(await a.limit('ip:1')).toMatchObject({ success: true, remaining: 2 });
    expect(await b.limit('ip:1')).toMatchObject({ success: true, remaining: 1 });
  }, 15_000);

  it("shares its counters with @upstash/ratelimit's fixedWindow (same keys and answers: a fleet mid-deploy counts once)", async () => {
    const windowMs = 60_000;
    const shared = `${prefix}-compat`;
    const ours = createUpstashRateLimiter({ url: rest.url, token: LOCAL_UPSTASH_TOKEN, limit: 3, windowMs, prefix: shared, budgetMs: 2_000 });
    const redis = new Redis({ url: rest.url, token: LOCAL_UPSTASH_TOKEN, retry: false, enableTelemetry: false });
    const theirs = new Ratelimit({ redis, limiter: Ratelimit.fixedWindow(3, `${windowMs} ms`), prefix: shared, analytics: false, enableProtection: false, ephemeralCache: false });
    // Not within 2 s of a window boundary, so all four calls land in one window.
    if (windowMs - (Date.now() % windowMs) < 2_000) await new Promise((r) => setTimeout(r, windowMs - (Date.now() % windowMs) + 20));
    const a = await ours.limit('ip:9');
    const b = await theirs.limit('ip:9');
    const c = await ours.limit('ip:9');
    const d = await theirs.limit('ip:9');
    expect([a, b, c, d].map((r) => [r.success, r.remaining])).toEqual([[true, 2], [true, 1], [true, 0], [false, 0]]);
    expect(a.reset).toBe(b.reset);
  });

  it('fails open when the REST server is up but Redis behind it is unreachable', async () => {
    const broken = await startUpstashRestServer({ port: 0, token: LOCAL_UPSTASH_TOKEN, redisUrl: 'redis://127.0.0.1:1' });
    try {
      const limiter = createUpstashRateLimiter({ url: broken.url, token: LOCAL_UPSTASH_TOKEN, limit: 1, windowMs: 60_000, prefix, budgetMs: 500 });
      const results = [];
      for (let i = 0; i < 5; i++) results.push(await limiter.limit('ip:1'));
      expect(results.every((r) => r.success)).toBe(true);
      expect(results[0]!.degraded).toBe('unavailable');
      // After three failures the circuit opens: no more calls, still let through.
      expect(results.slice(3).map((r) => r.degraded)).toEqual(['circuit_open', 'circuit_open']);
      expect(limiter.stats().calls).toBe(3);
    } finally {
      await broken.close();
    }
  });
});

describe('Upstash rate limiter without Redis', () => {
  it('fails open within its budget when the endpoint never answers', async () => {
    const silent = await startSilentServer();
    try {
      const limiter = createUpstashRateLimiter({ url: silent.url, token: 't', limit: 1, windowMs: 60_000, budgetMs: 30 });
      const started = performance.now();
      const first = await limiter.limit('ip:1');
      const ms = performance.now() - started;
      expect(first).toMatchObject({ success: true, degraded: 'over_budget' });
      // Within the budget plus scheduling slack on a shared machine, never the client's own timeouts.
      expect(ms).toBeLessThan(1_000);
      expect((await limiter.limit('ip:1')).success).toBe(true);
    } finally {
      await silent.close();
    }
  });

  it('fails open when nothing listens (connection refused)', async () => {
    const limiter = createUpstashRateLimiter({ url: 'http://127.0.0.1:1', token: 't', limit: 1, windowMs: 60_000, budgetMs: 500 });
    expect(await limiter.limit('ip:1')).toMatchObject({ success: true, degraded: 'unavailable' });
    expect(await limiter.limit('ip:1')).toMatchObject({ success: true });
  });
});
