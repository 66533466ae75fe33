// core/cache inside Vercel's edge-runtime (no Node built-ins, no eval, no WASM code
// generation): core/upstash/rest-client.ts (fetch) reaches the local Upstash REST server over real
// Redis, keys hash with web crypto, L1 and L2 answer, a dead endpoint degrades.
import type { EdgeRuntime } from 'edge-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UpstashRestServer } from '../../../adapters/upstash-rest-local/server.ts';
import { redisAvailable } from '../../helpers/require-redis.ts';
import { LOCAL_UPSTASH_TOKEN, startHoldingProxy, startLocalUpstash } from '../../helpers/upstash-local.ts';
import { loadIntoEdgeRuntime } from '../../helpers/edge-runtime.ts';

const hasRedis = await redisAvailable('core/cache in edge-runtime');
const SHA = `${Date.now()}${process.pid}`.padEnd(64, 'e').slice(0, 64);

describe.skipIf(!hasRedis)('core/cache in edge-runtime', () => {
  let server: UpstashRestServer;
  let runtime: EdgeRuntime;
  beforeAll(async () => {
    server = await startLocalUpstash();
    runtime = await loadIntoEdgeRuntime(new URL('./cache-edge-entry.ts', import.meta.url));
  });
  afterAll(async () => server?.close());

  const call = async (isolate: string, env: Record<string, string>, text: string) =>
    JSON.parse(
      await runtime.evaluate<Promise<string>>(`cachedPredict(${JSON.stringify(isolate)}, ${JSON.stringify(env)}, ${JSON.stringify(SHA)}, ${JSON.stringify(text)})`),
    ) as { value: { label: string }; trace: { level: string | null; l2: string }; computed: boolean; key: string };

  it('computes, then answers from L1, and another isolate reads L2 through Upstash REST', async () => {
    const env = { UPSTASH_REDIS_REST_URL: server.url, UPSTASH_REDIS_REST_TOKEN: LOCAL_UPSTASH_TOKEN, EDGEINFER_CACHE_POLICY: 'always', EDGEINFER_CACHE_BUDGET_MS: '2000' };
    const first = await call('a', env, 'Subject: FREE money');
    expect(first).toMatchObject({ value: { label: 'spam' }, computed: true, trace: { level: null, l2: 'miss' } });
    expect(first.key).toMatch(/^p:e:[0-9a-f]{64}:[0-9a-f]{64}$/);
    expect(await call('a', env, 'Subject: FREE money')).toMatchObject({ computed: false, trace: { level: 'l1' } });
    expect(await call('b', env, 'Subject: FREE money')).toMatchObject({ value: { label: 'spam' }, computed: false, trace: { level: 'l2', l2: 'hit' } });
  });

  it('a dead Upstash endpoint degrades to computing, with the reason', async () => {
    const down = await startLocalUpstash();
    const url = down.url;
    await down.close();
    const env = { UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: 'x', EDGEINFER_CACHE_POLICY: 'always', EDGEINFER_CACHE_BUDGET_MS: '2000' };
    const answer = await call('c', env, 'hello');
    expect(answer).toMatchObject({ value: { label: 'ham' }, computed: true, trace: { level: null, l2: 'unavailable' } });
  });

  it('a read over budget degrades at the budget and, there too, finishes in the background instead of dropping its connection', async () => {
    // Every GET held 300 ms: over the 60 ms budget; writes pass at once.
    const run = async (isolate: string, stragglerMs: string) => {
      const proxy = await startHoldingProxy(server.url, (body) => (body.includes('"GET"') ? 300 : 0));
      try {
        const env = { UPSTASH_REDIS_REST_URL: proxy.url, UPSTASH_REDIS_REST_TOKEN: LOCAL_UPSTASH_TOKEN, EDGEINFER_CACHE_POLICY: 'always', EDGEINFER_CACHE_BUDGET_MS: '60', EDGEINFER_CACHE_STRAGGLER_MS: stragglerMs };
        for (const text of [`slow one ${isolate}`, `slow two ${isolate}`]) {
          const started = performance.now();
          expect(await call(isolate, env, `${text} ${SHA}`)).toMatchObject({ computed: true, trace: { level: null, l2: 'over_budget' } });
          expect(performance.now() - started).toBeLessThan(250);
          await new Promise((r) => setTimeout(r, 400));
        }
        return { accepted: proxy.accepted(), closed: proxy.closed() };
      } finally {
        await proxy.close();
      }
    };
    const kept = await run('straggle', '1000');
    expect(kept.closed).toBe(0);
    // The control, aborted at the budget as before: each miss closes its connection.
    const cut = await run('abort', '0');
    expect(cut.closed).toBe(2);
    expect(cut.accepted).toBeGreaterThan(kept.accepted);
  });

  it('embedding codecs run there too (DataView, atob/btoa)', async () => {
    expect(JSON.parse(await runtime.evaluate<string>('roundTripEmbedding([1, -0.5, 0.1])'))).toEqual([1, -0.5, 0.0999755859375]);
  });
});
