// Over-budget rate-limit checks against the local REST server over real Redis, behind the proxy
// that counts the client's TCP connections and holds marked requests back (a slow Redis for
// those keys only), as the cache's straggler tests (test/core/cache/remote-cache-stragglers.test.ts):
// the check is decided at the budget (fail open, the local floor decides), its request finishes
// in the background so the connection is reused, at most `maxStragglers` run on (the rest are
// aborted as before), a late count never changes the decision, and a silent Redis still
// decides within the budget and opens the breaker.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUpstashRateLimiter as createLimiter, type UpstashRateLimiterOptions } from '../../../core/ratelimit/upstash-rate-limiter.ts';
import type { RateLimitResult } from '../../../core/ratelimit/rate-limiter.ts';
import { LayeredRateLimiter } from '../../../core/ratelimit/layered-rate-limiter.ts';
import { MemoryRateLimiter } from '../../../core/ratelimit/memory-rate-limiter.ts';
import { createUpstashRestClient, type UpstashClientFactory } from '../../../core/upstash/rest-client.ts';
import { createUpstashRedisClient } from '../../../adapters/node/upstash-redis-client.ts';
import type { UpstashRestServer } from '../../../adapters/upstash-rest-local/server.ts';
import { redisAvailable } from '../../helpers/require-redis.ts';
import { LOCAL_UPSTASH_TOKEN, startHoldingProxy, startLocalUpstash, startSilentServer } from '../../helpers/upstash-local.ts';

const hasRedis = await redisAvailable('core/ratelimit straggler tests');
const prefix = `test-rl-straggler-${process.pid}-${Date.now()}`;
const SLOW = 'slowkey';
// Generous against a shared 2-core machine: a healthy check here takes a few ms.
const BUDGET_MS = 100;
const HOLD_MS = 400;
const WINDOW_MS = 3_600_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// fetch (undici) puts a connection back in its pool a moment after the body has been read; a
// call issued in that same moment opens another, with or without stragglers. Calls here leave a gap.
const GAP_MS = 20;

const startCountingProxy = (target: string) => startHoldingProxy(target, (body) => (body.includes(SLOW) ? HOLD_MS : 0));

/** Waits until no straggler is in flight (the limiter exposes no late outcome: it is never used). */
async function drained(limiter: { stats(): { stragglersInFlight: number } }, withinMs = 2_000) {
  const until = performance.now() + withinMs;
  while (limiter.stats().stragglersInFlight > 0 && performance.now() < until) await sleep(5);
  expect(limiter.stats().stragglersInFlight).toBe(0);
}

/** A result Redis decided (not degraded). */
function fleetDecided(result: RateLimitResult): RateLimitResult {
  expect(result.degraded).toBeUndefined();
  return result;
}

const CLIENTS: Array<[string, UpstashClientFactory]> = [
  ['fetch client (core)', createUpstashRestClient],
  ['@upstash/redis client (node adapter)', createUpstashRedisClient],
];

describe.skipIf(!hasRedis).each(CLIENTS)('Upstash rate limiter over %s: over-budget checks finish in the background', (name, client) => {
  const tag = client === createUpstashRestClient ? 'fetch' : 'lib';
  const createUpstashRateLimiter = (options: Omit<UpstashRateLimiterOptions, 'token' | 'limit' | 'windowMs' | 'prefix'> & Partial<UpstashRateLimiterOptions>) =>
    createLimiter({ client, token: LOCAL_UPSTASH_TOKEN, limit: 5, windowMs: WINDOW_MS, prefix: `${prefix}-${tag}`, ...options });
  let rest: UpstashRestServer;
  beforeAll(async () => {
    rest = await startLocalUpstash();
    // Not within 10 s of a window boundary: every check of this file counts in one window.
    if (WINDOW_MS - (Date.now() % WINDOW_MS) < 10_000) await sleep(WINDOW_MS - (Date.now() % WINDOW_MS) + 20);
  });
  afterAll(async () => rest?.close());

  /** One check, one over budget (its straggler drained, or the hold waited out), one check: connections the proxy accepted. */
  async function missThenNormal(stragglerTimeoutMs: number) {
    const proxy = await startCountingProxy(rest.url);
    try {
      const limiter = createUpstashRateLimiter({ url: proxy.url, budgetMs: BUDGET_MS, stragglerTimeoutMs });
      expect(fleetDecided(await limiter.limit(`ip:a${stragglerTimeoutMs}`))).toMatchObject({ success: true });
      expect(proxy.accepted()).toBe(1);
      await sleep(GAP_MS);
      const started = performance.now();
      const missed = await limiter.limit(`ip:${SLOW}${stragglerTimeoutMs}`);
      const waited = performance.now() - started;
      expect(missed).toMatchObject({ success: true, degraded: 'over_budget' });
      expect(waited).toBeLessThan(HOLD_MS - 50);
      if (stragglerTimeoutMs > 0) await drained(limiter);
      await sleep(stragglerTimeoutMs > 0 ? GAP_MS : HOLD_MS + 50);
      expect(fleetDecided(await limiter.limit(`ip:a${stragglerTimeoutMs}`))).toMatchObject({ success: true, remaining: 3 });
      return { accepted: proxy.accepted(), closed: proxy.closed(), waited, stats: limiter.stats() };
    } finally {
      await proxy.close();
    }
  }

  it('a check over budget is decided at the budget; its request finishes and the next check reuses the connection (aborting it, as before, costs a new one)', async () => {
    const kept = await missThenNormal(2_000);
    const cut = await missThenNormal(0);
    console.log(`[rl stragglers, ${name}] connections for check, miss, check: stragglers on ${kept.accepted} (miss decided in ${kept.waited.toFixed(1)} ms), off ${cut.accepted} (${cut.waited.toFixed(1)} ms)`);
    expect(kept.accepted).toBe(1);
    expect(kept.stats).toMatchObject({ calls: 3, failOpen: { over_budget: 1 }, stragglers: 1, stragglersAborted: 0, stragglersInFlight: 0 });
    // The control: the same sequence with stragglers off drops the connection at the miss.
    expect(cut.accepted).toBe(2);
    expect(cut.stats).toMatchObject({ calls: 3, failOpen: { over_budget: 1 }, stragglers: 0 });
  });

  it('a late count never changes the decided check: it stays let through (the local floor decides), the key is not blocked locally, and the breaker counts the miss', async () => {
    const proxy = await startCountingProxy(rest.url);
    try {
      const key = `ip:${SLOW}-late`;
      // The fleet count is at the limit already (a generous budget waits out the hold).
      const patient = createUpstashRateLimiter({ url: proxy.url, budgetMs: 2_000, limit: 1 });
      expect(fleetDecided(await patient.limit(key))).toMatchObject({ success: true, remaining: 0 });
      const fleet = createUpstashRateLimiter({ url: proxy.url, budgetMs: BUDGET_MS, limit: 1, circuit: { failures: 2, windowMs: 60_000, halfOpenAfterMs: 60_000 } });
      const layered = new LayeredRateLimiter(new MemoryRateLimiter({ limit: 10, windowMs: WINDOW_MS }), fleet);
      const decided = await layered.limit(key);
      // What an over-budget check decided before stragglers: the local verdict, marked degraded.
      expect(decided).toMatchObject({ success: true, limit: 10, remaining: 9, degraded: 'over_budget' });
      const answered = structuredClone(decided);
      await drained(fleet);
      expect(fleet.stats()).toMatchObject({ stragglers: 1, failOpen: { over_budget: 1 }, localBlocks: 0 });
      expect(decided).toEqual(answered);
      // The straggler did reach Redis (the count is 2, over the limit of 1), but refuses nothing here.
      const bucket = Math.floor(Date.now() / WINDOW_MS);
      const count = await createUpstashRestClient({ url: rest.url, token: LOCAL_UPSTASH_TOKEN }).send(['GET', `${prefix}-${tag}:${key}:${bucket}`]);
      expect(Number(count)).toBe(2);
      // A second miss: still let through, and the breaker opens on the two misses (late successes are not credited).
      expect(await layered.limit(key)).toMatchObject({ success: true, degraded: 'over_budget' });
      expect(await layered.limit(key)).toMatchObject({ success: true, remaining: 7, degraded: 'circuit_open' });
      expect(fleet.stats()).toMatchObject({ calls: 2, localBlocks: 0, failOpen: { over_budget: 2, circuit_open: 1 } });
      await drained(fleet);
    } finally {
      await proxy.close();
    }
  });

  it('at most maxStragglers run on; an over-budget check beyond them is aborted at the budget (its connection closes before the reply)', async () => {
    const proxy = await startCountingProxy(rest.url);
    try {
      const limiter = createUpstashRateLimiter({ url: proxy.url, budgetMs: BUDGET_MS, maxStragglers: 2, limit: 100 });
      fleetDecided(await limiter.limit('ip:warm'));
      await sleep(GAP_MS);
      const started = performance.now();
      // A timer apart, so each check is its own request (same-tick checks share one /pipeline request).
      const checks: Array<Promise<unknown>> = [];
      for (let i = 0; i < 4; i++) {
        checks.push(Promise.resolve(limiter.limit(`ip:${SLOW}-cap${i}`)));
        await sleep(2);
      }
      const results = await Promise.all(checks);
      const waited = performance.now() - started;
      expect(waited).toBeLessThan(HOLD_MS - 50);
      expect(results.every((r) => (r as { success: boolean; degraded?: string }).success && (r as { degraded?: string }).degraded === 'over_budget')).toBe(true);
      expect(limiter.stats()).toMatchObject({ calls: 5, stragglers: 2, stragglersAborted: 2, stragglersInFlight: 2 });
      await sleep(50);
      const closedWhileHeld = proxy.closed();
      console.log(`[rl stragglers, ${name}] 4 over-budget checks, cap 2: decided in ${waited.toFixed(1)} ms, ${closedWhileHeld} connections closed while held, ${proxy.accepted()} accepted`);
      expect(closedWhileHeld).toBe(2); // the two aborted requests, while the proxy still holds them
      await drained(limiter);
    } finally {
      await proxy.close();
    }
  });

  it('a silent Redis still decides each check within the budget and opens the breaker; its stragglers end at their hard timeout', async () => {
    const silent = await startSilentServer();
    try {
      const stuck = createUpstashRateLimiter({ url: silent.url, token: 't', budgetMs: 15, stragglerTimeoutMs: 300 });
      const elapsed: number[] = [];
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        const result = await stuck.limit('ip:1');
        elapsed.push(performance.now() - started);
        expect(result).toMatchObject({ success: true, degraded: 'over_budget' });
      }
      console.log(`[rl stragglers, ${name}] silent Redis, budget 15 ms: checks decided in ${elapsed.map((e) => e.toFixed(1)).join(', ')} ms`);
      for (const e of elapsed) {
        expect(e).toBeGreaterThanOrEqual(14);
        expect(e).toBeLessThan(250);
      }
      expect(await stuck.limit('ip:1')).toMatchObject({ success: true, degraded: 'circuit_open' });
      expect(stuck.stats()).toMatchObject({ calls: 3, failOpen: { over_budget: 3, circuit_open: 1 }, stragglers: 3, stragglersInFlight: 3 });
      const started = performance.now();
      await drained(stuck, 1_000);
      expect(performance.now() - started).toBeLessThan(1_000);
    } finally {
      await silent.close();
    }
  });
});
