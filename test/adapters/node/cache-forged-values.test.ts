// Values in Redis are not trusted (#17 item 3): entries forged with a raw Redis client under
// valid keys (edge and regional key spaces), the hot-key set the warmer reads, and a REST
// endpoint answering `{"result":123}` to everything. Each forged value is a miss counted as
// `corrupt` in /metrics, the request answers 200 with the model's own answer, never a 500
// and never the forged value. `npm start`'s server over real Redis behind the local
// Upstash REST server; real graphs on onnxruntime-node, the in-process regional tier.
import { createServer, type Server } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalServer, type LocalServer } from '../../../adapters/node/server.ts';
import { startUpstashRestServer, type UpstashRestServer } from '../../../adapters/upstash-rest-local/server.ts';
import type { CacheEnv } from '../../../core/cache/config.ts';
import { modelFingerprint } from '../../../core/cache/model-identity.ts';
import { DEFAULT_CASCADE_CONFIG } from '../../../core/router/cascade.ts';
import { writeRegionalModelRepo } from '../../helpers/regional-model-repo.ts';
import { redisAvailable, TEST_REDIS_URL } from '../../helpers/require-redis.ts';
import { LOCAL_UPSTASH_TOKEN } from '../../helpers/upstash-local.ts';

const hasRedis = await redisAvailable('forged cache values (#17 item 3)');
const ADMIN = 'forged-values-admin-token';
// Fresh seeds per run: new model fingerprints, so keys from another run never collide.
const seed = 700_000 + (Date.now() % 100_000) * 10;
const repo = writeRegionalModelRepo(['spam-edge', 'spam-regional'], seed, { cascade: { 'spam-edge': 'spam-regional' } });
{
  // Everything escalates: each text leaves one edge and one regional entry.
  const file = join(repo.root, 'spam-edge', '1', 'model.json');
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  writeFileSync(file, JSON.stringify({ ...manifest, cascade: { ...manifest.cascade, threshold: null } }));
}

interface Answer {
  label: unknown;
  scores: Record<string, number>;
  tier: string;
  degraded: boolean;
  cached: boolean;
  model: { name: string; version: string };
  cache?: { level: string | null; l2: string };
}

/** Forgeries of a stored edge value `{label, scores, confidence}`, given a real one. */
function forgedEdgeValues(real: { label: string; scores: Record<string, number>; confidence: number }): Array<[string, string]> {
  const other = Object.keys(real.scores).find((l) => l !== real.label) as string;
  return [
    ['null', 'null'],
    ['123', '123'],
    ['"hello"', '"hello"'],
    ['[1,2,3]', '[1,2,3]'],
    ['{}', '{}'],
    ['not JSON', 'ham{'],
    ['label contradicting scores', JSON.stringify({ ...real, label: other })],
    ['label {"x":1}', JSON.stringify({ ...real, label: { x: 1 } })],
    ['unknown label', JSON.stringify({ label: 'eggs', scores: { eggs: 1 }, confidence: 1 })],
    ['scores of 1e308', JSON.stringify({ ...real, scores: Object.fromEntries(Object.keys(real.scores).map((l) => [l, 1e308])), confidence: 1e308 })],
  ];
}

/** Forgeries of a stored regional outcome `{ok: true, prediction}`, given a real one. */
function forgedRegionalValues(real: { ok: true; prediction: Record<string, any> }): Array<[string, string]> {
  const p = real.prediction;
  const other = Object.keys(p.scores).find((l) => l !== p.label) as string;
  return [
    ['null', 'null'],
    ['123', '123'],
    ['[1,2,3]', '[1,2,3]'],
    ['{}', '{}'],
    ['{ok:true} without a prediction', '{"ok":true}'],
    ['another model', JSON.stringify({ ok: true, prediction: { ...p, model: { ...p.model, name: 'totally-other-model', version: '999' } } })],
    ['label contradicting scores', JSON.stringify({ ok: true, prediction: { ...p, label: other } })],
    ['label {"x":1}', JSON.stringify({ ok: true, prediction: { ...p, label: { x: 1 } } })],
    ['empty scores', JSON.stringify({ ok: true, prediction: { ...p, scores: {} } })],
  ];
}

describe.skipIf(!hasRedis)('forged values in L2 and for the warmer (#17 item 3)', () => {
  let rest: UpstashRestServer;
  let redis: Redis;
  let fpEdge = '';
  let fpRegional = '';
  const servers: LocalServer[] = [];
  const cacheEnv = (url = rest.url): CacheEnv => ({
    UPSTASH_REDIS_REST_URL: url,
    UPSTASH_REDIS_REST_TOKEN: LOCAL_UPSTASH_TOKEN,
    EDGEINFER_CACHE_POLICY: 'always',
    // Generous: this machine is shared; the budget's own behaviour is tested in core/cache.
    EDGEINFER_CACHE_BUDGET_MS: '1000',
  });
  const start = async (url?: string) => {
    const server = await startLocalServer({
      modelsRoot: repo.root,
      port: 0,
      log: () => {},
      demo: false,
      cache: cacheEnv(url),
      config: { adminToken: ADMIN, cascade: { ...DEFAULT_CASCADE_CONFIG, budgetMs: 10_000 } },
    });
    servers.push(server);
    return server;
  };
  const predict = async (server: LocalServer, text: string) => {
    const response = await fetch(`${server.url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) });
    return { status: response.status, answer: (await response.json()) as Answer };
  };
  const corruptCount = async (server: LocalServer, source: 'l2' | 'warm') => {
    const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
    const match = new RegExp(`^edgeinfer_cache_corrupt_total\\{source="${source}"\\} (\\d+)$`, 'm').exec(text);
    expect(match, `edgeinfer_cache_corrupt_total{source="${source}"} in /metrics`).not.toBeNull();
    return Number(match![1]);
  };
  /** Waits until the text's edge and regional entries are in Redis (written after the response); returns their keys. */
  const keysAfter = async (before: Set<string>) => {
    for (let i = 0; i < 200; i++) {
      const edge = (await redis.keys(`p:e:${fpEdge}:*`)).filter((k) => !before.has(k));
      const regional = (await redis.keys(`p:r:${fpRegional}:*`)).filter((k) => !before.has(k));
      if (edge.length === 1 && regional.length === 1) return { edge: edge[0] as string, regional: regional[0] as string };
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('the entries of a prediction did not appear in Redis within 4 s');
  };
  const allKeys = async () => new Set([...(await redis.keys(`p:e:${fpEdge}:*`)), ...(await redis.keys(`p:r:${fpRegional}:*`))]);

  beforeAll(async () => {
    rest = await startUpstashRestServer({ port: 0, token: LOCAL_UPSTASH_TOKEN, redisUrl: TEST_REDIS_URL });
    redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    const probe = await start();
    fpEdge = modelFingerprint((await probe.service.context.requireModel('spam-edge')).manifest);
    fpRegional = modelFingerprint((await probe.service.context.requireModel('spam-regional')).manifest);
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    if (redis) {
      const keys = [...(await allKeys()), ...(await redis.keys(`hot:*:${fpEdge}`)), ...(await redis.keys(`hot:*:${fpRegional}`))];
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    }
    await rest?.close();
    repo.cleanup();
  });

  it('a forged value under a valid key (edge or regional) is a miss counted as corrupt: 200, the model\'s own answer', async () => {
    const writer = await start();
    const reader = await start();
    const cases: Array<{ name: string; text: string; truth: Answer; key: string; value: string }> = [];
    for (let i = 0; ; i++) {
      const before = await allKeys();
      const text = `Subject: forged ${i} ${seed}\n\nclaim your free prize now, reply with your bank details`;
      const truth = await predict(writer, text);
      expect(truth.status).toBe(200);
      expect(truth.answer).toMatchObject({ tier: 'regional', degraded: false, cached: false });
      const keys = await keysAfter(before);
      const edgeForgeries = forgedEdgeValues(JSON.parse((await redis.get(keys.edge)) as string));
      const regionalForgeries = forgedRegionalValues(JSON.parse((await redis.get(keys.regional)) as string));
      // One text per forged pair: its edge and its regional entry are both replaced.
      const [edgeName, edgeValue] = edgeForgeries[i % edgeForgeries.length]!;
      const [regionalName, regionalValue] = regionalForgeries[i % regionalForgeries.length]!;
      await redis.set(keys.edge, edgeValue, 'EX', 600);
      await redis.set(keys.regional, regionalValue, 'EX', 600);
      cases.push({ name: `edge ${edgeName} / regional ${regionalName}`, text, truth: truth.answer, key: keys.edge, value: edgeValue });
      if (i + 1 >= Math.max(edgeForgeries.length, regionalForgeries.length)) break;
    }
    const before = await corruptCount(reader, 'l2');
    for (const c of cases) {
      const { status, answer } = await predict(reader, c.text);
      expect(status, `${c.name}: ${JSON.stringify(answer)}`).toBe(200);
      expect(answer, c.name).toMatchObject({ tier: 'regional', degraded: false, cached: false, label: c.truth.label, model: c.truth.model, cache: { level: null, l2: 'corrupt' } });
      for (const [label, score] of Object.entries(c.truth.scores)) expect(answer.scores[label], c.name).toBeCloseTo(score, 6);
    }
    // Two refused values per text: its edge entry and its regional entry.
    expect((await corruptCount(reader, 'l2')) - before).toBe(2 * cases.length);
    // The recomputed answers replaced the forgeries: the next isolate reads them from L2.
    const third = await start();
    const again = await predict(third, cases[0]!.text);
    expect(again.answer).toMatchObject({ cached: true, cache: { level: 'l2', l2: 'hit' }, label: cases[0]!.truth.label });
  });

  it('/_warm primes nothing forged (hot-key set and values written with a raw client); counted as corrupt from the warmer', async () => {
    const writer = await start();
    const before = await allKeys();
    const text = `Subject: warm forged ${seed}\n\nwin a free cruise, click here`;
    const truth = (await predict(writer, text)).answer;
    const keys = await keysAfter(before);
    const realEdge = JSON.parse((await redis.get(keys.edge)) as string);
    const realRegional = JSON.parse((await redis.get(keys.regional)) as string);
    // Forged entries under made-up input hashes, and the real text's entries replaced, all made hot.
    const forged = [...forgedEdgeValues(realEdge).map(([, v], i) => ({ space: 'e', fp: fpEdge, hash: `${'e'.repeat(60)}${String(i).padStart(4, '0')}`, value: v }))];
    forged.push(...forgedRegionalValues(realRegional).map(([, v], i) => ({ space: 'r', fp: fpRegional, hash: `${'f'.repeat(60)}${String(i).padStart(4, '0')}`, value: v })));
    for (const f of forged) {
      await redis.set(`p:${f.space}:${f.fp}:${f.hash}`, f.value, 'EX', 600);
      await redis.zadd(`hot:${f.space}:${f.fp}`, 1_000, f.hash);
    }
    const edgeHash = keys.edge.split(':')[3] as string;
    const regionalHash = keys.regional.split(':')[3] as string;
    await redis.set(keys.edge, JSON.stringify({ ...realEdge, label: Object.keys(realEdge.scores).find((l) => l !== realEdge.label) }), 'EX', 600);
    await redis.set(keys.regional, JSON.stringify({ ok: true, prediction: { ...realRegional.prediction, model: { ...realRegional.prediction.model, version: '999' } } }), 'EX', 600);
    await redis.zadd(`hot:e:${fpEdge}`, 1_000, edgeHash);
    await redis.zadd(`hot:r:${fpRegional}`, 1_000, regionalHash);
    // Members that are no input hash at all are not even read.
    await redis.zadd(`hot:e:${fpEdge}`, 1_000, 'x:../../etc');

    const fresh = await start();
    const warm = await fetch(`${fresh.url}/_warm`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const report = (await warm.json()) as { steps: Array<{ step: string; detail: any }> };
    expect(warm.status, JSON.stringify(report)).toBe(200);
    const primed = report.steps.find((s) => s.step === 'prime_l1')!.detail as Array<{ model: string; space: string; entries: number }>;
    expect(primed.filter((p) => p.model === 'spam-edge' || p.model === 'spam-regional').every((p) => p.entries === 0), JSON.stringify(primed)).toBe(true);
    const edgeForged = forged.filter((f) => f.space === 'e').length + 1;
    const regionalForged = forged.filter((f) => f.space === 'r').length + 1;
    // spam-regional's own edge scope is primed too (empty); the forged entries are refused once each.
    expect(await corruptCount(fresh, 'warm')).toBe(edgeForged + regionalForged);
    // Not primed, so the request reads L2 (forged: a corrupt miss) and answers the model's own label.
    const { status, answer } = await predict(fresh, text);
    expect(status).toBe(200);
    expect(answer).toMatchObject({ cached: false, label: truth.label, cache: { l2: 'corrupt' } });
  });

  it('a REST endpoint answering {"result":123} to every command: predictions 200, uncached; /_warm and /metrics answer', async () => {
    const hostile: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        if (req.url?.startsWith('/pipeline') || req.url?.startsWith('/multi-exec')) {
          let n = 1;
          try {
            n = (JSON.parse(body) as unknown[]).length;
          } catch {}
          res.end(JSON.stringify(Array.from({ length: n }, () => ({ result: 123 }))));
        } else res.end('{"result":123}');
      });
    });
    await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = hostile.address() as import('node:net').AddressInfo;
      const server = await start(`http://127.0.0.1:${port}`);
      for (let i = 0; i < 3; i++) {
        const { status, answer } = await predict(server, `Subject: hostile ${i}\n\nlunch at noon?`);
        expect(status, JSON.stringify(answer)).toBe(200);
        expect(answer).toMatchObject({ cached: false, degraded: false, cache: { level: null, l2: 'corrupt' } });
        expect(typeof answer.label).toBe('string');
      }
      const warm = await fetch(`${server.url}/_warm`, { headers: { authorization: `Bearer ${ADMIN}` } });
      expect(warm.status).toBe(200);
      expect(await corruptCount(server, 'l2')).toBeGreaterThanOrEqual(6);
    } finally {
      hostile.closeAllConnections();
      await new Promise<void>((resolve) => hostile.close(() => resolve()));
    }
  });
});
