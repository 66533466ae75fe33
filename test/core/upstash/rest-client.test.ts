// The two implementations of the core's UpstashRestClient interface: core/upstash/rest-client.ts
// (the edge's fetch client) and adapters/node/upstash-redis-client.ts (the node server's, over
// @upstash/redis), each beside @upstash/redis's own typed API (configured as core configures
// its client: no retries, no telemetry, no automatic deserialization), all driving the local
// Upstash REST server over real Redis with the same commands: results must agree, errors must
// be errors in all, and a stopped or slow Redis must reject in all.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from '@upstash/redis/cloudflare';
import { createUpstashRestClient, hashFromReply, UpstashRestError, type UpstashClientFactory, type UpstashRestClient } from '../../../core/upstash/rest-client.ts';
import { createUpstashRedisClient } from '../../../adapters/node/upstash-redis-client.ts';
import { startUpstashRestServer, type UpstashRestServer } from '../../../adapters/upstash-rest-local/server.ts';
import { redisAvailable, TEST_REDIS_URL } from '../../helpers/require-redis.ts';
import { LOCAL_UPSTASH_TOKEN, startLocalUpstash, startSilentServer } from '../../helpers/upstash-local.ts';

const hasRedis = await redisAvailable('core/upstash rest-client tests');
const runId = `${process.pid}:${Date.now()}`;
const reference = (url: string, extra: Record<string, unknown> = {}) =>
  new Redis({ url, token: LOCAL_UPSTASH_TOKEN, retry: false, enableTelemetry: false, automaticDeserialization: false, ...extra });

/** Both promises' outcomes: a value, or the error's class and message. */
async function settle(p: Promise<unknown>): Promise<{ ok: true; value: unknown } | { ok: false; error: Error }> {
  try {
    return { ok: true, value: await p };
  } catch (error) {
    return { ok: false, error: error as Error };
  }
}

/** An HTTP proxy in front of the REST server that holds every request `delayMs` first (a slow Redis) and records each path. */
async function startSlowProxy(target: string, delayMs: number): Promise<{ url: string; paths: string[]; close(): Promise<void> }> {
  const paths: string[] = [];
  const server: Server = createServer(async (req, res) => {
    paths.push(req.url ?? '');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    await new Promise((r) => setTimeout(r, delayMs));
    try {
      const answer = await fetch(target + req.url, { method: 'POST', headers: req.headers as Record<string, string>, body: Buffer.concat(chunks) });
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(await answer.text());
    } catch {
      res.destroy();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    paths,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

const CLIENTS: Array<[string, UpstashClientFactory]> = [
  ['core fetch client (edge)', createUpstashRestClient],
  ['@upstash/redis adapter (node server)', createUpstashRedisClient],
];

describe.skipIf(!hasRedis).each(CLIENTS)('Upstash client %s, beside @upstash/redis', (_name, createClient) => {
  let server: UpstashRestServer;
  let ref: Redis;
  let ours: UpstashRestClient;
  const prefix = `test:restclient:${runId}:${createClient.name}:`;
  const isCore = createClient === createUpstashRestClient;

  beforeAll(async () => {
    server = await startLocalUpstash();
    ref = reference(server.url);
    ours = createClient({ url: server.url, token: LOCAL_UPSTASH_TOKEN });
  });
  afterAll(async () => {
    if (!server) return;
    const keys = await ref.keys(`${prefix}*`);
    if (keys.length) await ref.del(...keys);
    await server.close();
  });

  it('strings: SET (EX, PX, NX), GET, MGET, TTL, EXPIRE, DEL agree, UTF-8 and number-like text included', async () => {
    const a = `${prefix}a`;
    const b = `${prefix}b`;
    const text = 'héllo wörld ✓ {"label":"spam"}';
    expect(await ours.send(['SET', a, text, 'EX', 60])).toEqual(await ref.set(b, text, { ex: 60 }));
    expect(await ours.send(['GET', a])).toEqual(await ref.get(b));
    expect(await ours.send(['GET', a])).toBe(text);
    expect(await ours.send(['SET', a, '123', 'PX', 60_000])).toBe(await ref.set(b, '123', { px: 60_000 }));
    // Text that looks like a number stays text in both.
    expect(await ours.send(['GET', a])).toBe('123');
    expect(await ref.get(b)).toBe('123');
    expect(await ours.send(['SET', a, 'x', 'NX'])).toEqual(await ref.set(b, 'x', { nx: true }));
    expect(await ours.send(['MGET', a, `${prefix}absent`, b])).toEqual(await ref.mget(a, `${prefix}absent`, b));
    expect(await ours.send(['MGET', a, `${prefix}absent`, b])).toEqual(['123', null, '123']);
    expect(await ours.send(['EXPIRE', a, 5])).toEqual(await ref.expire(b, 5));
    expect(await ours.send(['TTL', a])).toEqual(await ref.ttl(b));
    expect(await ours.send(['DEL', a])).toEqual(await ref.del(b));
    expect(await ours.send(['GET', a])).toEqual(await ref.get(b));
    expect(await ours.send(['GET', a])).toBeNull();
    expect(await ours.send(['PING'])).toEqual(await ref.ping());
  });

  it('counters and sorted sets: INCR, INCRBY, ZINCRBY, ZRANGE REV WITHSCORES agree', async () => {
    const [c1, c2, z1, z2] = ['c1', 'c2', 'z1', 'z2'].map((k) => prefix + k) as [string, string, string, string];
    expect(await ours.send(['INCR', c1])).toEqual(await ref.incr(c2));
    expect(await ours.send(['INCRBY', c1, 41])).toEqual(await ref.incrby(c2, 41));
    for (const [m, by] of [['x', 100], ['y', 300], ['x', 2.5]] as const) expect(await ours.send(['ZINCRBY', z1, by, m])).toEqual(await ref.zincrby(z2, by, m));
    const got = await ours.send(['ZRANGE', z1, 0, 4, 'REV', 'WITHSCORES']);
    expect(got).toEqual(await ref.zrange(z2, 0, 4, { rev: true, withScores: true }));
    expect(got).toEqual(['y', '300', 'x', '102.5']);
  });

  it('EVAL of the rate limiter script (Upstash shebang flag) agrees', async () => {
    const script = '#!lua flags=allow-key-locking\nlocal r = redis.call("INCRBY", KEYS[1], ARGV[2])\nif r == tonumber(ARGV[2]) then redis.call("PEXPIRE", KEYS[1], ARGV[1]) end\nreturn r';
    for (let i = 0; i < 3; i++) expect(await ours.send(['EVAL', script, 1, `${prefix}rl1`, 60_000, 1])).toEqual(await ref.eval(script, [`${prefix}rl2`], [60_000, 1]));
    expect(await ours.send(['GET', `${prefix}rl1`])).toBe('3');
  });

  it('pipelines: SET EX / HSET / EXPIRE / HGETALL agree (HGETALL read as the fleet store reads it)', async () => {
    const [h1, h2] = [`${prefix}h1`, `${prefix}h2`];
    const mine = await ours.pipeline([['SET', `${prefix}p1`, 'a', 'EX', 30], ['HSET', h1, 'isolate-a', '{"n":1}'], ['HSET', h1, 'isolate-b', '12'], ['EXPIRE', h1, 60], ['HGETALL', h1], ['HGETALL', `${prefix}nohash`]]);
    const p = ref.pipeline();
    p.set(`${prefix}p2`, 'a', { ex: 30 });
    p.hset(h2, { 'isolate-a': '{"n":1}' });
    p.hset(h2, { 'isolate-b': '12' });
    p.expire(h2, 60);
    p.hgetall(h2);
    p.hgetall(`${prefix}nohash`);
    const theirs = await p.exec();
    expect(mine.slice(0, 4)).toEqual(theirs.slice(0, 4));
    // @upstash/redis without automatic deserialization hands HGETALL back as the flat array
    // (the fleet store used to read it as an object and got fields "0", "1"...); both carry the same pairs.
    expect(mine[4]).toEqual(theirs[4]);
    expect(hashFromReply(mine[4])).toEqual({ 'isolate-a': '{"n":1}', 'isolate-b': '12' });
    expect(hashFromReply(mine[5])).toEqual({});
    // Commands outside the adapter's typed table (INCR, GET) still run in order, one result each.
    expect(await ours.pipeline([['SET', `${prefix}p3`, '1'], ['INCR', `${prefix}p3`], ['GET', `${prefix}p3`]])).toEqual(['OK', 2, '2']);
  });

  // The fetch client's own auto-pipelining (the adapter sends one request per command: see its header).
  it.runIf(isCore)('auto-pipelining: concurrent commands share one /pipeline request, each gets its own result or error', async () => {
    const proxy = await startSlowProxy(server.url, 0);
    const auto = createUpstashRestClient({ url: proxy.url, token: LOCAL_UPSTASH_TOKEN, autoPipelining: true });
    const autoRef = reference(server.url, { enableAutoPipelining: true });
    await ours.send(['SET', `${prefix}wrong`, 'text']);
    const keys = Array.from({ length: 20 }, (_, i) => `${prefix}auto${i}`);
    await Promise.all(keys.map((k, i) => auto.send(['SET', k, `v${i}`])));
    const mine = await Promise.all([...keys.map((k) => settle(auto.send(['GET', k]))), settle(auto.send(['HGETALL', `${prefix}wrong`]))]);
    const theirs = await Promise.all([...keys.map((k) => settle(autoRef.get(k))), settle(autoRef.hgetall(`${prefix}wrong`))]);
    expect(mine.slice(0, 20)).toEqual(theirs.slice(0, 20));
    expect(mine.slice(0, 20).map((r) => (r.ok ? r.value : null))).toEqual(keys.map((_, i) => `v${i}`));
    for (const r of [mine[20], theirs[20]]) expect(r).toMatchObject({ ok: false, error: { message: expect.stringMatching(/WRONGTYPE/) } });
    // 20 SETs in one request, then 20 GETs and the HGETALL in another.
    expect(proxy.paths).toEqual(['/pipeline', '/pipeline']);
    await proxy.close();
  });

  it('errors are errors in both: WRONGTYPE, unknown command, a failed command inside a pipeline, a bad token', async () => {
    await ours.send(['SET', `${prefix}s`, 'v']);
    const pairs: Array<[Promise<unknown>, Promise<unknown>, RegExp]> = [
      [ours.send(['HGETALL', `${prefix}s`]), ref.hgetall(`${prefix}s`), /WRONGTYPE/],
      [ours.send(['FROBNICATE', 'x']), ref.exec(['FROBNICATE', 'x']), /unknown command/i],
      [ours.pipeline([['GET', `${prefix}s`], ['HGET', `${prefix}s`, 'f']]), ref.pipeline().get(`${prefix}s`).hget(`${prefix}s`, 'f').exec(), /WRONGTYPE/],
      [createClient({ url: server.url, token: 'wrong' }).send(['GET', 'x']), new Redis({ url: server.url, token: 'wrong', retry: false, enableTelemetry: false }).get('x'), /Unauthorized/],
    ];
    // Settled at once: a rejection must have its handler before the pairs ahead of it are awaited.
    const settled = pairs.map(([mineP, theirsP, message]) => [settle(mineP), settle(theirsP), message] as const);
    for (const [mineP, theirsP, message] of settled) {
      const [mine, theirs] = [await mineP, await theirsP];
      expect(theirs, String(message)).toMatchObject({ ok: false, error: { message: expect.stringMatching(message) } });
      expect(mine, String(message)).toMatchObject({ ok: false, error: { message: expect.stringMatching(message) } });
      if (isCore) expect((mine as { error: Error }).error).toBeInstanceOf(UpstashRestError);
    }
  });

  it('Redis stopped behind the REST server (503), and the REST server itself gone: both reject', async () => {
    const orphan = await startUpstashRestServer({ port: 0, token: LOCAL_UPSTASH_TOKEN, redisUrl: 'redis://127.0.0.1:1' });
    try {
      const [mine, theirs] = [await settle(createClient({ url: orphan.url, token: LOCAL_UPSTASH_TOKEN }).send(['GET', 'k'])), await settle(reference(orphan.url).get('k'))];
      expect(theirs.ok).toBe(false);
      expect(mine).toMatchObject({ ok: false, error: expect.any(isCore ? UpstashRestError : Error) });
    } finally {
      await orphan.close();
    }
    const gone = await startUpstashRestServer({ port: 0, token: LOCAL_UPSTASH_TOKEN, redisUrl: TEST_REDIS_URL });
    await gone.close();
    const [mine, theirs] = [await settle(createClient({ url: gone.url, token: LOCAL_UPSTASH_TOKEN }).send(['GET', 'k'])), await settle(reference(gone.url).get('k'))];
    expect(theirs.ok).toBe(false);
    expect(mine.ok).toBe(false);
  });

  it('slow Redis: within the timeout both answer alike; past it both reject, ours by aborting the request', async () => {
    const slow = await startSlowProxy(server.url, 150);
    const silent = await startSilentServer();
    try {
      await ours.send(['SET', `${prefix}slow`, 'late']);
      expect(await createClient({ url: slow.url, token: LOCAL_UPSTASH_TOKEN, timeoutMs: 2_000 }).send(['GET', `${prefix}slow`])).toEqual(
        await reference(slow.url, { signal: () => AbortSignal.timeout(2_000) }).get(`${prefix}slow`),
      );
      for (const url of [slow.url, silent.url]) {
        const started = performance.now();
        const mine = await settle(createClient({ url, token: LOCAL_UPSTASH_TOKEN }).send(['GET', `${prefix}slow`], 50));
        const mineMs = performance.now() - started;
        const theirs = await settle(reference(url, { signal: () => AbortSignal.timeout(50) }).get(`${prefix}slow`));
        expect(theirs, url).toMatchObject({ ok: false, error: { name: 'TimeoutError' } });
        expect(mine, url).toMatchObject({ ok: false, error: { name: 'TimeoutError' } });
        // Aborted near its timeout, not when the server finally answers (150 ms) or never.
        expect(mineMs).toBeLessThan(140);
      }
    } finally {
      await slow.close();
      await silent.close();
    }
  });

  it('a 2xx answer that is not the protocol (not JSON, wrong pipeline length) is an error, not a result', async () => {
    const liar = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(req.url === '/pipeline' ? '[{"result":"T0s="}]' : '<html>proxy</html>');
    });
    await new Promise<void>((r) => liar.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
    try {
      const client = createClient({ url, token: 't' });
      await expect(client.send(['GET', 'k'])).rejects.toThrow(isCore ? /not JSON/ : /Unable to parse response body/);
      await expect(client.pipeline([['HGETALL', 'a'], ['HGETALL', 'b']])).rejects.toThrow(/one entry per command/);
      if (isCore) await expect(createUpstashRestClient({ url, token: 't', autoPipelining: true }).send(['GET', 'a'])).resolves.toBe('OK');
    } finally {
      await new Promise<void>((r) => liar.close(() => r()));
    }
  });
});
