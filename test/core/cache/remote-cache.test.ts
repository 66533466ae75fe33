// The Upstash L2 wrapper against the local REST server over real Redis, and against
// endpoints that are down or silent: it must answer within its budget every time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUpstashRemoteCache, type RemoteCache } from '../../../core/cache/remote-cache.ts';
import { startUpstashRestServer, type UpstashRestServer } from '../../../adapters/upstash-rest-local/server.ts';
import { redisAvailable, TEST_REDIS_URL } from '../../helpers/require-redis.ts';
import { LOCAL_UPSTASH_TOKEN, startLocalUpstash, startSilentServer } from '../../helpers/upstash-local.ts';

const hasRedis = await redisAvailable('core/cache remote-cache tests');
const prefix = `test:remote:${process.pid}:${Date.now()}:`;

describe.skipIf(!hasRedis)('Upstash remote cache', () => {
  let server: UpstashRestServer;
  let remote: RemoteCache;

  beforeAll(async () => {
    server = await startLocalUpstash();
    // A generous budget: this machine is shared; the budget behaviour has its own tests below.
    remote = createUpstashRemoteCache({ url: server.url, token: LOCAL_UPSTASH_TOKEN, budgetMs: 2_000 });
  });
  afterAll(async () => server?.close());

  it('set / get / miss, with commands counted', async () => {
    expect(await remote.set(`${prefix}a`, '{"label":"spam"}', 60)).toMatchObject({ status: 'ok' });
    expect(await remote.get(`${prefix}a`)).toMatchObject({ status: 'hit', value: '{"label":"spam"}' });
    expect(await remote.get(`${prefix}none`)).toMatchObject({ status: 'miss' });
    // Text that looks like a number stays text.
    await remote.set(`${prefix}n`, '123', 60);
    expect(await remote.get(`${prefix}n`)).toMatchObject({ status: 'hit', value: '123' });
    const stats = remote.stats();
    expect(stats).toMatchObject({ calls: 5, commands: 5, hits: 2, misses: 1, errors: 0, overBudget: 0 });
  });

  it('setMany pipelines, mget reads many keys in one call', async () => {
    const before = remote.stats().calls;
    const entries = Array.from({ length: 50 }, (_, i) => ({ key: `${prefix}m${i}`, value: `v${i}`, ttlSeconds: 60 }));
    expect(await remote.setMany(entries)).toMatchObject({ status: 'ok' });
    const read = await remote.mget([`${prefix}m0`, `${prefix}absent`, `${prefix}m49`]);
    expect(read).toMatchObject({ status: 'hit', value: ['v0', null, 'v49'] });
    expect(remote.stats().calls - before).toBe(2);
  });

  it('warm opens the connection with its own timeout (PING)', async () => {
    const fresh = createUpstashRemoteCache({ url: server.url, token: LOCAL_UPSTASH_TOKEN });
    expect(await fresh.warm()).toMatchObject({ status: 'ok' });
    expect(fresh.stats()).toMatchObject({ calls: 1, commands: 1, errors: 0 });
    const silent = await startSilentServer();
    try {
      const stuck = createUpstashRemoteCache({ url: silent.url, token: 't' });
      expect(await stuck.warm(30)).toMatchObject({ status: 'skipped', reason: 'over_budget' });
    } finally {
      await silent.close();
    }
  });

  it('zincrby and topMembers (hot keys)', async () => {
    await remote.zincrby(`${prefix}hot`, 'x', 100);
    await remote.zincrby(`${prefix}hot`, 'y', 300);
    await remote.zincrby(`${prefix}hot`, 'x', 100);
    expect(await remote.topMembers(`${prefix}hot`, 5)).toMatchObject({
      status: 'hit',
      value: [{ member: 'y', score: 300 }, { member: 'x', score: 200 }],
    });
  });

  it('over budget: a silent endpoint answers "skipped: over_budget" at the budget, then the circuit opens', async () => {
    const silent = await startSilentServer();
    try {
      const slow = createUpstashRemoteCache({ url: silent.url, token: 't', budgetMs: 15, autoPipelining: false });
      const started = performance.now();
      const first = await slow.get('k');
      const elapsed = performance.now() - started;
      expect(first).toMatchObject({ status: 'skipped', reason: 'over_budget' });
      expect(elapsed).toBeGreaterThanOrEqual(14);
      expect(elapsed).toBeLessThan(500);
      await slow.get('k');
      await slow.set('k', 'v', 10);
      // Three failures in the window: the next calls do not touch the network.
      const skipped = await slow.get('k');
      expect(skipped).toMatchObject({ status: 'skipped', reason: 'circuit_open', ms: 0 });
      expect(slow.stats()).toMatchObject({ overBudget: 3, circuitOpen: 1, calls: 3 });
    } finally {
      await silent.close();
    }
  });

  it('down: a closed port answers "skipped: unavailable", the circuit opens, and closes again once Redis is back', async () => {
    let now = 0;
    const down = await startLocalUpstash();
    const { url, port } = down;
    await down.close();
    const flaky = createUpstashRemoteCache({ url, token: LOCAL_UPSTASH_TOKEN, budgetMs: 1_000, now: () => now });
    expect(await flaky.get('k')).toMatchObject({ status: 'skipped', reason: 'unavailable' });
    await flaky.get('k');
    await flaky.get('k');
    expect(await flaky.get('k')).toMatchObject({ status: 'skipped', reason: 'circuit_open' });
    now += 2_000;
    // Half-open: one trial goes out and still fails, which re-opens the circuit.
    expect(await flaky.get('k')).toMatchObject({ status: 'skipped', reason: 'unavailable' });
    expect(await flaky.get('k')).toMatchObject({ status: 'skipped', reason: 'circuit_open' });
    const back = await startUpstashRestServer({ port, token: LOCAL_UPSTASH_TOKEN, redisUrl: TEST_REDIS_URL });
    try {
      now += 2_000;
      expect(await flaky.set(`${prefix}back`, 'yes', 60)).toMatchObject({ status: 'ok' });
      expect(await flaky.get(`${prefix}back`)).toMatchObject({ status: 'hit', value: 'yes' });
    } finally {
      await back.close();
    }
  });

  it('rejects a bad configuration with the variable name', () => {
    expect(() => createUpstashRemoteCache({ url: 'redis://x', token: 't' })).toThrow(/UPSTASH_REDIS_REST_URL/);
    expect(() => createUpstashRemoteCache({ url: 'http://x', token: '' })).toThrow(/UPSTASH_REDIS_REST_TOKEN/);
  });
});
