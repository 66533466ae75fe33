// The local Upstash REST server, driven by the real @upstash/redis client (the same entry
// the core imports) for every command the core uses, and by raw fetch for the protocol edges.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis as UpstashRedis } from '@upstash/redis/cloudflare';
import { startUpstashRestServer, type UpstashRestServer } from '../../../adapters/upstash-rest-local/server.ts';
import { redisAvailable, TEST_REDIS_URL } from '../../helpers/require-redis.ts';

const hasRedis = await redisAvailable('upstash-rest-local server tests');
const TOKEN = 'test-token-upstash-rest';
const prefix = `test:rest:${process.pid}:${Date.now()}:`;

describe.skipIf(!hasRedis)('local Upstash REST server over real Redis', () => {
  let server: UpstashRestServer;
  let client: UpstashRedis;
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  beforeAll(async () => {
    server = await startUpstashRestServer({ port: 0, token: TOKEN, redisUrl: TEST_REDIS_URL });
    client = new UpstashRedis({ url: server.url, token: TOKEN, enableTelemetry: false, retry: false });
  });

  afterAll(async () => {
    if (!server) return;
    const keys = await client.keys(`${prefix}*`);
    if (keys.length) await client.del(...keys);
    await server.close();
  });

  describe('through @upstash/redis', () => {
    it('SET with EX, GET, TTL, EXPIRE, DEL', async () => {
      const key = `${prefix}string`;
      expect(await client.set(key, 'héllo wörld ✓', { ex: 60 })).toBe('OK');
      expect(await client.get(key)).toBe('héllo wörld ✓');
      const ttl = await client.ttl(key);
      expect(ttl).toBeGreaterThan(55);
      expect(ttl).toBeLessThanOrEqual(60);
      expect(await client.expire(key, 5)).toBe(1);
      expect(await client.ttl(key)).toBeLessThanOrEqual(5);
      expect(await client.del(key)).toBe(1);
      expect(await client.get(key)).toBeNull();
    });

    it('round-trips JSON objects (automatic serialization) and base64 text of bytes', async () => {
      const key = `${prefix}json`;
      const value = { label: 'spam', probabilities: [0.91, 0.09], model: 'spam-edge@1' };
      await client.set(key, value, { ex: 60 });
      expect(await client.get(key)).toEqual(value);
      const bytes = new Uint8Array([0, 1, 2, 250, 255, 128]);
      const text = btoa(String.fromCharCode(...bytes));
      await client.set(`${prefix}bytes`, text);
      expect(await client.get<string>(`${prefix}bytes`)).toBe(text);
    });

    it('MGET returns values in key order, null for absent keys', async () => {
      await client.set(`${prefix}m1`, 'one');
      await client.set(`${prefix}m2`, { n: 2 });
      expect(await client.mget(`${prefix}m1`, `${prefix}absent`, `${prefix}m2`)).toEqual(['one', null, { n: 2 }]);
    });

    it('pipeline: many commands in one request, replies in order', async () => {
      const p = client.pipeline();
      p.set(`${prefix}p1`, 'a', { ex: 30 });
      p.incr(`${prefix}counter`);
      p.incrby(`${prefix}counter`, 41);
      p.get(`${prefix}p1`);
      p.exists(`${prefix}p1`, `${prefix}nope`);
      expect(await p.exec()).toEqual(['OK', 1, 42, 'a', 1]);
    });

    it('multi-exec runs atomically', async () => {
      const tx = client.multi();
      tx.set(`${prefix}tx`, 'x');
      tx.append(`${prefix}tx`, 'yz');
      tx.get(`${prefix}tx`);
      expect(await tx.exec()).toEqual(['OK', 3, 'xyz']);
    });

    it('ZINCRBY and ZRANGE REV with scores (hot keys)', async () => {
      const key = `${prefix}hot`;
      expect(await client.zincrby(key, 1, 'a')).toBe(1);
      await client.zincrby(key, 5, 'b');
      expect(await client.zincrby(key, 2.5, 'a')).toBe(3.5);
      await client.zincrby(key, 1, 'c');
      expect(await client.zrange(key, 0, 1, { rev: true, withScores: true })).toEqual(['b', 5, 'a', 3.5]);
      expect(await client.zscore(key, 'c')).toBe(1);
    });

    it('HSET and HGETALL (a flat reply the client turns into an object)', async () => {
      const key = `${prefix}hash`;
      expect(await client.hset(key, { messages: 12, spamRate: 0.25, domain: 'example.com' })).toBe(3);
      // The client parses safe integers but leaves other numbers as strings (its own rule).
      expect(await client.hgetall(key)).toEqual({ messages: 12, spamRate: '0.25', domain: 'example.com' });
      expect(await client.hgetall(`${prefix}nohash`)).toBeNull();
    });

    it('auto-pipelining client: concurrent commands batch through /pipeline', async () => {
      const auto = new UpstashRedis({ url: server.url, token: TOKEN, enableTelemetry: false, enableAutoPipelining: true, retry: false });
      const keys = Array.from({ length: 20 }, (_, i) => `${prefix}auto${i}`);
      await Promise.all(keys.map((k, i) => auto.set(k, i)));
      expect(await Promise.all(keys.map((k) => auto.get(k)))).toEqual(keys.map((_, i) => i));
    });

    it('a Redis error becomes an UpstashError naming it', async () => {
      await client.set(`${prefix}wrongtype`, 'text');
      await expect(client.hgetall(`${prefix}wrongtype`)).rejects.toThrow(/WRONGTYPE/);
    });
  });

  describe('raw protocol', () => {
    it('401 without or with a wrong bearer token', async () => {
      const none = await fetch(server.url, { method: 'POST', body: '["PING"]' });
      expect(none.status).toBe(401);
      expect((await none.json()).error).toMatch(/Unauthorized/);
      const wrong = await post('/', ['PING'], { authorization: 'Bearer nope' });
      expect(wrong.status).toBe(401);
    });

    it('plain strings without Upstash-Encoding, base64 (recursively) with it', async () => {
      await post('/', ['RPUSH', `${prefix}list`, 'α', 'b']);
      const plain = await post('/', ['LRANGE', `${prefix}list`, 0, -1]);
      expect(await plain.json()).toEqual({ result: ['α', 'b'] });
      const encoded = await post('/', ['LRANGE', `${prefix}list`, 0, -1], { 'upstash-encoding': 'base64' });
      expect(await encoded.json()).toEqual({ result: [Buffer.from('α').toString('base64'), Buffer.from('b').toString('base64')] });
      const number = await post('/', ['LLEN', `${prefix}list`], { 'upstash-encoding': 'base64' });
      expect(await number.json()).toEqual({ result: 2 });
      const nil = await post('/', ['GET', `${prefix}missing`], { 'upstash-encoding': 'base64' });
      expect(await nil.json()).toEqual({ result: null });
    });

    it('HGETALL is a flat array, not an object', async () => {
      await post('/', ['HSET', `${prefix}h2`, 'f', 'v']);
      expect(await (await post('/', ['hgetall', `${prefix}h2`])).json()).toEqual({ result: ['f', 'v'] });
    });

    it('400 for malformed bodies, naming the problem', async () => {
      const cases: Array<[string, RegExp]> = [
        ['{not json', /not valid JSON/],
        ['{"cmd":"GET"}', /non-empty JSON array/],
        ['[]', /non-empty JSON array/],
        ['[42]', /command name/],
        ['["SET","k",null]', /string or a number/],
      ];
      for (const [body, message] of cases) {
        const res = await post('/', body);
        expect(res.status, body).toBe(400);
        expect((await res.json()).error, body).toMatch(message);
      }
      const res = await post('/pipeline', '[["GET","a"],"GET"]');
      expect(res.status).toBe(400);
      expect((await res.json()).error).toMatch(/body\[1\]/);
    });

    it('unknown and refused commands are 400 errors', async () => {
      const unknown = await post('/', ['FROBNICATE', 'x']);
      expect(unknown.status).toBe(400);
      expect((await unknown.json()).error).toMatch(/unknown command/i);
      const refused = await post('/', ['subscribe', 'ch']);
      expect(refused.status).toBe(400);
      expect((await refused.json()).error).toMatch(/SUBSCRIBE is not supported/);
    });

    it('pipeline replies carry per-command errors next to results', async () => {
      await post('/', ['SET', `${prefix}s`, 'v']);
      const res = await post('/pipeline', [['GET', `${prefix}s`], ['HGET', `${prefix}s`, 'f'], ['FROBNICATE']]);
      expect(res.status).toBe(200);
      const body = (await res.json()) as Array<{ result?: unknown; error?: string }>;
      expect(body[0]).toEqual({ result: 'v' });
      expect(body[1]?.error).toMatch(/WRONGTYPE/);
      expect(body[2]?.error).toMatch(/unknown command/i);
    });

    it('multi-exec with a command rejected at queue time aborts the whole transaction', async () => {
      const res = await post('/multi-exec', [['SET', `${prefix}never`, '1'], ['FROBNICATE']]);
      expect(res.status).toBe(400);
      expect((await res.json()).error).toMatch(/EXECABORT/);
      expect(await (await post('/', ['EXISTS', `${prefix}never`])).json()).toEqual({ result: 0 });
    });

    it('404 for other paths, 405 for other methods, 413 for huge bodies', async () => {
      expect((await post('/get/x', ['GET', 'x'])).status).toBe(404);
      const get = await fetch(server.url, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(get.status).toBe(405);
      const small = await startUpstashRestServer({ port: 0, token: TOKEN, redisUrl: TEST_REDIS_URL, maxBodyBytes: 64 });
      try {
        const res = await fetch(small.url, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}` },
          body: JSON.stringify(['SET', 'k', 'x'.repeat(200)]),
        });
        expect(res.status).toBe(413);
      } finally {
        await small.close();
      }
    });
  });

  it('503 when Redis itself is unreachable', async () => {
    const orphan = await startUpstashRestServer({ port: 0, token: TOKEN, redisUrl: 'redis://127.0.0.1:1' });
    try {
      const res = await fetch(orphan.url, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: '["GET","k"]' });
      expect(res.status).toBe(503);
      expect(typeof (await res.json()).error).toBe('string');
    } finally {
      await orphan.close();
    }
  });
});
