// Over-budget L2 reads against the local REST server over real Redis, behind a proxy that
// counts the client's TCP connections and holds marked requests back (a slow Redis for those
// keys only): the caller is answered at the budget, the request finishes in the background so
// the connection is reused, at most `maxStragglers` run on (the rest are aborted as before),
// a late reply never answers the request, and a silent Redis still degrades and opens the breaker.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUpstashRemoteCache as createRemote, type UpstashRemoteCacheOptions } from '../../../core/cache/remote-cache.ts';
import { createUpstashRestClient, type UpstashClientFactory } from '../../../core/upstash/rest-client.ts';
import { createUpstashRedisClient } from '../../../adapters/node/upstash-redis-client.ts';
import type { UpstashRestServer } from '../../../adapters/upstash-rest-local/server.ts';
import { redisAvailable } from '../../helpers/require-redis.ts';
import { LOCAL_UPSTASH_TOKEN, startHoldingProxy, startLocalUpstash, startSilentServer } from '../../helpers/upstash-local.ts';

const hasRedis = await redisAvailable('core/cache remote-cache straggler tests');
const prefix = `test:straggler:${process.pid}:${Date.now()}:`;
const SLOW = `${prefix}slow`;
// Generous against a shared 2-core machine: a healthy call here takes a few ms.
const BUDGET_MS = 100;
const HOLD_MS = 400;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// fetch (undici) puts a connection back in its pool a moment after the body has been read; a
// call issued in that same moment opens another, with or without stragglers. Calls here leave a gap.
const GAP_MS = 20;

const startCountingProxy = (target: string) => startHoldingProxy(target, (body) => (body.includes(SLOW) ? HOLD_MS : 0));

// The edge's fetch client aborts a request when its caller's signal aborts; the node server's
// @upstash/redis client cannot, so the remote cache bounds it by granting the long timeout up front.
const CLIENTS: Array<[string, UpstashClientFactory]> = [
  ['fetch client (core)', createUpstashRestClient],
  ['@upstash/redis client (node adapter)', createUpstashRedisClient],
];

describe.skipIf(!hasRedis).each(CLIENTS)('Upstash remote cache over %s: over-budget requests finish in the background', (_name, client) => {
  const createUpstashRemoteCache = (options: UpstashRemoteCacheOptions) => createRemote({ client, ...options });
  let rest: UpstashRestServer;
  beforeAll(async () => {
    rest = await startLocalUpstash();
    const seed = createUpstashRemoteCache({ url: rest.url, token: LOCAL_UPSTASH_TOKEN, budgetMs: 2_000 });
    expect(await seed.set(SLOW, 'late value', 60)).toMatchObject({ status: 'ok' });
    expect(await seed.set(`${prefix}fast`, 'fast value', 60)).toMatchObject({ status: 'ok' });
  });
  afterAll(async () => rest?.close());

  /** warm, one read over budget (its straggler awaited, or the hold waited out), one normal read: connections the proxy accepted. */
  async function missThenNormal(stragglerTimeoutMs: number) {
    const proxy = await startCountingProxy(rest.url);
    try {
      const remote = createUpstashRemoteCache({ url: proxy.url, token: LOCAL_UPSTASH_TOKEN, budgetMs: BUDGET_MS, stragglerTimeoutMs });
      expect(await remote.warm()).toMatchObject({ status: 'ok' });
      expect(proxy.accepted()).toBe(1);
      await sleep(GAP_MS);
      const started = performance.now();
      const missed = await remote.get(SLOW);
      const waited = performance.now() - started;
      expect(missed).toMatchObject({ status: 'skipped', reason: 'over_budget' });
      expect(waited).toBeLessThan(HOLD_MS - 50);
      const late = missed.status === 'skipped' ? await missed.late : undefined;
      await sleep(late ? GAP_MS : HOLD_MS + 50);
      expect(await remote.get(`${prefix}fast`)).toMatchObject({ status: 'hit', value: 'fast value' });
      return { accepted: proxy.accepted(), late, stats: remote.stats() };
    } finally {
      await proxy.close();
    }
  }

  it('a read over budget is answered at the budget; its request finishes and the next call reuses the connection (aborting it, as before, costs a new one)', async () => {
    const kept = await missThenNormal(2_000);
    expect(kept.accepted).toBe(1);
    expect(kept.stats).toMatchObject({ overBudget: 1, stragglers: 1, stragglersAborted: 0, stragglersInFlight: 0 });
    // The control: the same sequence with stragglers off drops the connection at the miss.
    const cut = await missThenNormal(0);
    expect(cut.late).toBeUndefined();
    expect(cut.accepted).toBe(2);
    expect(cut.stats).toMatchObject({ overBudget: 1, stragglers: 0 });
  });

  it('a late reply never answers the request it missed: that read stays skipped (no value, no hit counted); the late outcome comes separately, checked', async () => {
    const proxy = await startCountingProxy(rest.url);
    try {
      const remote = createUpstashRemoteCache({ url: proxy.url, token: LOCAL_UPSTASH_TOKEN, budgetMs: BUDGET_MS });
      await remote.warm();
      await sleep(GAP_MS);
      const missed = await remote.mget([SLOW, `${prefix}absent`]);
      expect(missed).toMatchObject({ status: 'skipped', reason: 'over_budget' });
      expect(missed).not.toHaveProperty('value');
      const late = missed.status === 'skipped' ? await missed.late : undefined;
      expect(late).toMatchObject({ status: 'hit', value: ['late value', null] });
      expect(missed).not.toHaveProperty('value');
      expect(remote.stats()).toMatchObject({ hits: 0, misses: 0, overBudget: 1, stragglers: 1, stragglersInFlight: 0 });
    } finally {
      await proxy.close();
    }
  });

  it('at most maxStragglers run on; an over-budget call beyond them is aborted at the budget (its connection closes before the reply)', async () => {
    const proxy = await startCountingProxy(rest.url);
    try {
      const remote = createUpstashRemoteCache({ url: proxy.url, token: LOCAL_UPSTASH_TOKEN, budgetMs: BUDGET_MS, maxStragglers: 2, autoPipelining: false });
      await remote.warm();
      await sleep(GAP_MS);
      const started = performance.now();
      const reads = await Promise.all([0, 1, 2, 3].map(() => remote.get(SLOW)));
      expect(performance.now() - started).toBeLessThan(HOLD_MS - 50);
      expect(reads.every((r) => r.status === 'skipped' && r.reason === 'over_budget')).toBe(true);
      const lates = reads.map((r) => (r.status === 'skipped' ? r.late : undefined)).filter((l) => l !== undefined);
      expect(lates).toHaveLength(2);
      expect(remote.stats()).toMatchObject({ overBudget: 4, stragglers: 2, stragglersAborted: 2, stragglersInFlight: 2 });
      await sleep(50);
      expect(proxy.closed()).toBe(2); // the two aborted requests, while the proxy still holds them
      expect(await Promise.all(lates)).toMatchObject([
        { status: 'hit', value: 'late value' },
        { status: 'hit', value: 'late value' },
      ]);
      expect(remote.stats().stragglersInFlight).toBe(0);
    } finally {
      await proxy.close();
    }
  });

  it.skipIf(client !== createUpstashRestClient)('auto-pipelined: a shared request is not cut while one of its callers still lets it run', async () => {
    const proxy = await startCountingProxy(rest.url);
    try {
      const remote = createUpstashRemoteCache({ url: proxy.url, token: LOCAL_UPSTASH_TOKEN, budgetMs: BUDGET_MS, maxStragglers: 1 });
      await remote.warm();
      await sleep(GAP_MS);
      // Same tick: one /pipeline request for both; the first over budget becomes the straggler, the second is aborted.
      const [a, b] = await Promise.all([remote.get(SLOW), remote.get(`${prefix}fast`)]);
      expect([a.status, b.status]).toEqual(['skipped', 'skipped']);
      expect(remote.stats()).toMatchObject({ stragglers: 1, stragglersAborted: 1 });
      const late = [a, b].map((r) => (r.status === 'skipped' ? r.late : undefined)).find((l) => l !== undefined);
      expect(await late).toMatchObject({ status: 'hit' });
      expect(proxy.accepted()).toBe(1);
      expect(proxy.closed()).toBe(0);
    } finally {
      await proxy.close();
    }
  });

  it('a silent Redis still degrades at the budget and opens the breaker; its stragglers end at their hard timeout', async () => {
    const silent = await startSilentServer();
    try {
      const stuck = createUpstashRemoteCache({ url: silent.url, token: 't', budgetMs: 15, stragglerTimeoutMs: 300, autoPipelining: false });
      const lates: Array<Promise<unknown>> = [];
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        const read = await stuck.get('k');
        const elapsed = performance.now() - started;
        expect(read).toMatchObject({ status: 'skipped', reason: 'over_budget' });
        expect(elapsed).toBeGreaterThanOrEqual(14);
        expect(elapsed).toBeLessThan(250);
        if (read.status === 'skipped' && read.late) lates.push(read.late);
      }
      // Three failures in the window open the circuit, whatever the stragglers do later.
      expect(await stuck.get('k')).toMatchObject({ status: 'skipped', reason: 'circuit_open', ms: 0 });
      expect(stuck.stats()).toMatchObject({ overBudget: 3, circuitOpen: 1, calls: 3, stragglers: 3, stragglersInFlight: 3 });
      const started = performance.now();
      expect(await Promise.all(lates)).toEqual([undefined, undefined, undefined]);
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(stuck.stats().stragglersInFlight).toBe(0);
    } finally {
      await silent.close();
    }
  });
});
