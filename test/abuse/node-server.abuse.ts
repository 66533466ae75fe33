// `npm run test:abuse`: every finding of issue #17 replayed against `npm start`'s server (real
// Redis behind the local Upstash REST server, the real regional function behind the local
// Lambda Invoke API, crafted model repositories; every request to 127.0.0.1), and against the
// built artifact where the path exists there (build:micro's generated modules). Each case
// asserts the fixed behaviour; the whole run is bounded (about a minute on 2 cores). The
// detailed regression tests live beside the code (named per case); this suite is the replay.
import { execFile } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalServer, type LocalServer } from '../../adapters/node/server.ts';
import { startLocalInvokeServer, type LocalInvokeServer } from '../../adapters/aws-lambda/local-invoke-server.ts';
import { createRegionalLambda, type RegionalLambda } from '../../adapters/aws-lambda/regional-handler.ts';
import { FsModelSource } from '../../adapters/node/fs-model-source.ts';
import type { UpstashRestServer } from '../../adapters/upstash-rest-local/server.ts';
import { buildMicroModules } from '../../build/micro/build-modules.ts';
import { GraphBuilder } from '../../build/onnx/builder.ts';
import { REPO_ROOT } from '../../build/pipeline.ts';
import { modelFingerprint } from '../../core/cache/model-identity.ts';
import { preprocessingFingerprint } from '../../core/preprocess/fingerprint.ts';
import { addressBucket } from '../../core/ratelimit/client-key.ts';
import { DEFAULT_CASCADE_CONFIG } from '../../core/router/cascade.ts';
import { buildQuantizedBagModel } from '../core/engine/quantized-bag-graph.ts';
import { latestVersion } from '../helpers/latest-version.ts';
import { writeRegionalModelRepo } from '../helpers/regional-model-repo.ts';
import { redisAvailable, TEST_REDIS_URL } from '../helpers/require-redis.ts';
import { LOCAL_UPSTASH_TOKEN, startLocalUpstash } from '../helpers/upstash-local.ts';

const hasRedis = await redisAvailable('npm run test:abuse');
const ADMIN = 'abuse-admin-token';
const run = `${process.pid}-${Date.now()}`;
const seed = 900_000 + (Date.now() % 50_000) * 10;
const closers: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

const json = { 'content-type': 'application/json' };
/** The version of the repository's spam-edge that `npm start` serves. */
const SERVED = latestVersion('spam-edge');
async function predict(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/v1/predict`, { method: 'POST', headers: { ...json, ...headers }, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, answer: JSON.parse(text) as Record<string, any>, text };
}

/** A cascade repository where everything escalates (threshold null). */
function cascadeRepo(offset: number) {
  const repo = writeRegionalModelRepo(['spam-edge', 'spam-regional'], seed + offset, { cascade: { 'spam-edge': 'spam-regional' } });
  closers.push(() => repo.cleanup());
  const file = join(repo.root, 'spam-edge', latestVersion('spam-edge', repo.root), 'model.json');
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  writeFileSync(file, JSON.stringify({ ...manifest, cascade: { ...manifest.cascade, threshold: null } }));
  return repo;
}

async function server(options: Parameters<typeof startLocalServer>[0]): Promise<LocalServer> {
  const s = await startLocalServer({ port: 0, log: () => {}, demo: false, ...options });
  closers.push(() => s.close());
  return s;
}

const oneFailureOpens = { cascade: { ...DEFAULT_CASCADE_CONFIG, budgetMs: 10_000, circuit: { failures: 1, windowMs: 60_000, halfOpenAfterMs: 60_000 } } };
const breakerOf = async (s: LocalServer) => s.service.context.cascade.routeFor((await s.service.context.requireModel('spam-edge')).manifest)?.router.breaker.state;

describe('#17.1 edge and regional entries never share a key (prediction-keys.test.ts)', () => {
  it('cascade then the regional model by name: 200 (was 500); the reverse: no breaker failure (was one)', async () => {
    const s = await server({ modelsRoot: cascadeRepo(1).root, config: oneFailureOpens });
    const text = 'Subject: offer\n\nclaim your prize now';
    expect((await predict(s.url, { text })).answer).toMatchObject({ tier: 'regional', degraded: false });
    expect((await predict(s.url, { text, model: 'spam-regional' })).status).toBe(200);
    const other = 'Subject: meeting\n\nsee you at noon';
    expect((await predict(s.url, { text: other, model: 'spam-regional' })).status).toBe(200);
    const cascaded = await predict(s.url, { text: other });
    expect(cascaded.answer).toMatchObject({ tier: 'regional', degraded: false });
    expect(await breakerOf(s)).toBe('closed');
  });
});

describe.skipIf(!hasRedis)('with Redis behind the local Upstash REST server', () => {
  let rest: UpstashRestServer;
  let redis: Redis;
  beforeAll(async () => {
    rest = await startLocalUpstash();
    closers.push(() => rest.close());
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    closers.push(() => redis.disconnect());
  });
  const upstash = () => ({ UPSTASH_REDIS_REST_URL: rest.url, UPSTASH_REDIS_REST_TOKEN: LOCAL_UPSTASH_TOKEN });

  it('#17.2 the Upstash rate limiter stays on under load: 8 keep-alive connections, 1,000 requests, limit 100 → at most 100 served (was 1,000) (layered-rate-limit.test.ts)', async () => {
    const apiKey = `abuse-${run}`;
    // A 1 ms budget: every Upstash check misses it, as the overload made them miss 15 ms.
    const s = await server({ regional: { kind: 'none' }, rateLimit: { EDGEINFER_RATE_LIMIT: '100/10m', EDGEINFER_RATE_LIMIT_BUDGET_MS: '1', EDGEINFER_API_KEYS: apiKey, ...upstash() } });
    const left = 600_000 - (Date.now() % 600_000);
    if (left < 20_000) await new Promise((r) => setTimeout(r, left + 50));
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const body = JSON.stringify({ text: 'Subject: lunch\n\nnoon works' });
    let next = 0;
    const statuses: number[] = [];
    const post = () =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${s.url}/v1/predict`, { method: 'POST', agent, headers: { ...json, 'content-length': Buffer.byteLength(body), 'x-api-key': apiKey } }, (res) => {
          res.resume();
          res.once('end', () => resolve(res.statusCode ?? 0));
        });
        req.once('error', reject);
        req.end(body);
      });
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next++ < 1_000) statuses.push(await post());
    }));
    agent.destroy();
    expect(statuses.filter((c) => c !== 200 && c !== 429)).toEqual([]);
    expect(statuses.filter((c) => c === 200).length).toBe(100);
  }, 60_000);

  it('#17.3 forged values in Redis are misses counted as corrupt, never 500 or served (cache-forged-values.test.ts)', async () => {
    // The edge model alone: its cached answer is the one served.
    const repo = writeRegionalModelRepo(['spam-edge'], seed + 3);
    closers.push(() => repo.cleanup());
    const cache = { ...upstash(), EDGEINFER_CACHE_POLICY: 'always', EDGEINFER_CACHE_BUDGET_MS: '1000' };
    const writer = await server({ modelsRoot: repo.root, cache, regional: { kind: 'none' }, config: { adminToken: ADMIN } });
    const fp = modelFingerprint((await writer.service.context.requireModel('spam-edge')).manifest);
    const forgeries = ['null', '123', '"hello"', '[1,2,3]', '{}', JSON.stringify({ label: { x: 1 }, scores: { ham: 0.9, spam: 0.1 }, confidence: 0.9 }), JSON.stringify({ label: 'ham', scores: { ham: 0.1, spam: 0.9 }, confidence: 0.1 })];
    const texts: Array<{ text: string; label: unknown }> = [];
    for (const [i, forged] of forgeries.entries()) {
      const text = `Subject: forged ${i} ${run}\n\nwin a free prize, reply now`;
      const before = new Set(await redis.keys(`p:e:${fp}:*`));
      texts.push({ text, label: (await predict(writer.url, { text })).answer.label });
      let key: string | undefined;
      for (let t = 0; t < 200 && !key; t++) {
        key = (await redis.keys(`p:e:${fp}:*`)).find((k) => !before.has(k));
        if (!key) await new Promise((r) => setTimeout(r, 20));
      }
      expect(key).toBeDefined();
      await redis.set(key!, forged, 'EX', 300);
      closers.push(() => redis.del(key!));
    }
    const reader = await server({ modelsRoot: repo.root, cache, regional: { kind: 'none' }, config: { adminToken: ADMIN } });
    for (const { text, label } of texts) {
      const { status, answer } = await predict(reader.url, { text });
      expect(status).toBe(200);
      expect(answer).toMatchObject({ label, cache: { l2: 'corrupt' } });
    }
    const metrics = await (await fetch(`${reader.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
    expect(Number(/^edgeinfer_cache_corrupt_total\{source="l2"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(forgeries.length);
  });

  it('#17.6 a fleet entry forged into Redis neither injects Prometheus lines nor fails /metrics?scope=fleet (hostile-inputs.test.ts)', async () => {
    const s = await server({ regional: { kind: 'none' }, cache: upstash(), config: { adminToken: ADMIN } });
    const windowMs = 60_000;
    const start = Math.floor(Date.now() / windowMs) * windowMs;
    const field = `abuse-${run}`;
    const forged = JSON.stringify({ v: 1, start, end: start + windowMs, counters: { 'x_total 1\nevil_injected_metric 9\nedgeinfer_requests_total': 1 }, sketches: { 'edgeinfer_latency_ms{model="m",version="1",path="edge"}': { a: 0.01, n: 1, sum: 1, min: 1, max: 1, zero: 0, k0: 1e8, bins: [1] } } });
    for (const w of [start, start - windowMs]) {
      await redis.hset(`tm:${w}`, field, forged);
      closers.push(() => redis.hdel(`tm:${w}`, field));
    }
    const started = performance.now();
    const response = await fetch(`${s.url}/metrics?scope=fleet`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(response.status).toBe(200);
    expect(await response.text()).not.toMatch(/evil_injected_metric/);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect((await fetch(`${s.url}/dashboard/data?scope=fleet`, { headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(200);
  });
});

describe('#17.4 rollout versions sharing one .onnx never share answers (prediction-keys.test.ts)', () => {
  it('v1 and v2 with swapped labels: each version answers with its own reading', async () => {
    const repo = writeRegionalModelRepo(['spam-edge'], seed + 4);
    closers.push(() => repo.cleanup());
    const v1 = join(repo.root, 'spam-edge', '1');
    const v2 = join(repo.root, 'spam-edge', '2');
    mkdirSync(v2);
    copyFileSync(join(v1, 'model.onnx'), join(v2, 'model.onnx'));
    const m = JSON.parse(readFileSync(join(v1, 'model.json'), 'utf8'));
    const swapped = [...(m.labels ?? m.output.labels)].reverse();
    writeFileSync(join(v2, 'model.json'), JSON.stringify({ ...m, version: '2', ...(m.labels ? { labels: swapped } : {}), ...(m.output ? { output: { ...m.output, labels: swapped } } : {}) }));
    const s = await server({ modelsRoot: repo.root, regional: { kind: 'none' }, rollout: { 'spam-edge': { split: { '1': 50, '2': 50 }, keyHeaders: ['x-user-id'] } } });
    const text = 'Subject: quarterly report\n\nplease find the figures attached';
    const byVersion = new Map<string, Set<string>>();
    for (let user = 0; user < 24; user++) {
      const { status, answer } = await predict(s.url, { text }, { 'x-user-id': `u${user}` });
      expect(status, JSON.stringify(answer)).toBe(200);
      byVersion.set(answer.model.version, (byVersion.get(answer.model.version) ?? new Set()).add(answer.label));
    }
    expect([...byVersion.keys()].sort()).toEqual(['1', '2']);
    // One label per version, and not the same one: the graph's output read two ways.
    expect(byVersion.get('1')!.size).toBe(1);
    expect(byVersion.get('2')!.size).toBe(1);
    expect([...byVersion.get('1')!][0]).not.toBe([...byVersion.get('2')!][0]);
  });
});

describe('#17.5 hostile regional answers through the AWS SDK to the local Invoke API (regional-answers.test.ts)', () => {
  let invoke: LocalInvokeServer;
  let fn: RegionalLambda;
  const repo = cascadeRepo(5);
  beforeAll(async () => {
    fn = createRegionalLambda({ models: new FsModelSource(repo.root), executionProviders: ['cpu'] });
    closers.push(() => fn.predictor.close());
    let n = 0;
    invoke = await startLocalInvokeServer({
      functions: {
        hostile: async (event, context) => {
          const real = (await fn.handler(event, context)) as Record<string, any>;
          const kind = String((event as { text: string }).text).split('\n')[0];
          if (kind === 'model') return { ...real, model: { name: 'totally-other-model', version: '999', sha256: 'ab'.repeat(32) } };
          if (kind === 'contradicting') return { ...real, label: real.label === 'spam' ? 'ham' : 'spam' };
          if (kind === 'unknown') return { ...real, label: 'eggs', scores: { eggs: 1 } };
          if (kind === 'empty') return { ...real, scores: {} };
          if (kind === 'huge') return { ...real, scores: { ham: 1e308, spam: 1e308 } };
          if (kind === 'oversized') return { ...real, label: 'x'.repeat(2 * 1024 * 1024), scores: { ['x'.repeat(2 * 1024 * 1024)]: 1 } };
          // #17.6: a tier inventing a label per request.
          return { ...real, label: `invented-${n++}`, scores: { [`invented-${n}`]: 1 } };
        },
      },
    });
    closers.push(() => invoke.close());
  });

  it('another model, a contradicting/unknown/oversized label, empty or 1e308 scores: degraded bad_response, circuit closed (was served as regional)', async () => {
    const s = await server({ modelsRoot: repo.root, config: oneFailureOpens, regional: { kind: 'lambda', functionName: 'hostile', region: 'us-east-1', endpoint: invoke.url } });
    for (const kind of ['model', 'contradicting', 'unknown', 'empty', 'huge', 'oversized']) {
      const { status, answer, text } = await predict(s.url, { text: `${kind}\n\nclaim your prize` });
      expect(status, kind).toBe(200);
      expect(answer, kind).toMatchObject({ tier: 'edge', degraded: true, reason: 'bad_response' });
      expect(text.length, kind).toBeLessThan(4_000);
    }
    expect(await breakerOf(s)).toBe('closed');
  });

  it('#17.6 300 invented labels from the tier, then GET /dashboard: 200 and bounded label series (was out of heap at ~4,800)', async () => {
    const s = await server({ modelsRoot: repo.root, config: { ...oneFailureOpens, adminToken: ADMIN }, regional: { kind: 'lambda', functionName: 'hostile', region: 'us-east-1', endpoint: invoke.url } });
    for (let i = 0; i < 300; i++) expect((await predict(s.url, { text: `invent\n\nmessage ${i}` })).status).toBe(200);
    expect((await fetch(`${s.url}/dashboard`, { headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(200);
    const metrics = await (await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
    expect(metrics.split('\n').filter((l) => l.startsWith('edgeinfer_predictions_total{')).length).toBeLessThanOrEqual(64);
    expect(metrics).not.toMatch(/invented-/);
  }, 60_000);
});

describe('#17.7 connection limits (connection-limits.test.ts)', () => {
  it('64 idle sockets from one peer: 48 refused at once, a legitimate client is served', async () => {
    const s = await server({ regional: { kind: 'none' }, connectionLimits: { headersTimeoutMs: 1_500, requestTimeoutMs: 2_500, maxConnectionsPerPeer: 16, maxConnections: 200 } });
    const port = Number(new URL(s.url).port);
    const sockets: Socket[] = [];
    closers.push(() => sockets.forEach((x) => x.destroy()));
    await Promise.all(
      Array.from({ length: 64 }, () => new Promise<void>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' }, () => resolve());
        socket.on('error', () => resolve());
        sockets.push(socket);
      })),
    );
    expect((await predict(s.url, { text: 'Subject: lunch\n\nnoon works' })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(s.connections().refusedPerPeer).toBe(48);
  });
});

describe('#17.8 and #17.10 crafted model repositories at build:micro (hostile-names.test.ts, budget.test.ts)', () => {
  it('a folder name carrying code is refused and the generated index runs nothing; a 64M-element constant fold is refused quickly; the good model compiles', async () => {
    const root = mkdtempSync(join(tmpdir(), 'abuse-micro-'));
    const models = join(root, 'models');
    const bag = buildQuantizedBagModel(seed % 1000);
    const write = (name: string, bytes: Uint8Array, extra: Record<string, unknown> = {}) => {
      mkdirSync(join(models, name, '1'), { recursive: true });
      writeFileSync(join(models, name, '1', 'model.onnx'), bytes);
      writeFileSync(join(models, name, '1', 'model.json'), JSON.stringify({ ...bag.manifest, name, engine: 'auto', sha256: createHash('sha256').update(bytes).digest('hex'), ...extra }));
    };
    write('good', bag.bytes);
    write(`index.mjs';globalThis.PWNED_INDEX=process.pid;'`, bag.bytes);
    const g = new GraphBuilder('crafted');
    g.input('x', 'float32', [1, 8192]);
    g.initializer('A', { dtype: 'float32', dims: [8192, 1], data: new Float32Array(8192).fill(0.5) });
    g.initializer('B', { dtype: 'float32', dims: [1, 8192], data: new Float32Array(8192).fill(0.25) });
    const [p] = g.node('MatMul', ['A', 'B']);
    g.node('Add', ['x', p!], ['y']);
    g.output('y', 'float32', [8192, 8192]);
    write('huge-fold', g.encode(17), { outputs: [{ name: 'y', dtype: 'float32', shape: [8192, 8192] }], inputs: [{ name: 'x', dtype: 'float32', shape: [1, 8192], source: 'request' }], probabilitiesOutput: undefined, labels: undefined, preprocessing: undefined, output: { kind: 'raw' } });
    const started = performance.now();
    const result = await buildMicroModules(models, join(root, 'dist'));
    expect(performance.now() - started).toBeLessThan(5_000);
    const status = Object.fromEntries(result.entries.map((e) => [e.model.split('@')[0], e.status]));
    expect(status).toMatchObject({ good: 'compiled', 'huge-fold': 'failed' });
    expect(result.entries.find((e) => e.model.startsWith('index.mjs'))?.status).toBe('failed');
    await import(pathToFileURL(result.index).href);
    expect((globalThis as Record<string, unknown>).PWNED_INDEX).toBeUndefined();
  });
});

describe('#17.9 text normalisation (normalise.test.ts, predict-ids.test.ts)', () => {
  const spam = 'FREE VIAGRA!!! Claim your FREE prize now, click here to win $1000 CASH, limited offer, act now!';
  const fullwidth = (t: string) => t.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)).replace(/ /g, '\u3000');
  const mathBold = (t: string) => t.replace(/[A-Za-z]/g, (c) => String.fromCodePoint((c <= 'Z' ? 0x1d400 - 65 : 0x1d41a - 97) + c.charCodeAt(0)));
  const zeroWidth = (t: string) => t.replace(/(\w)(?=\w)/g, '$1\u200B');
  const lookalikes = (t: string) => t.replace(/a/g, '\u0430').replace(/e/g, '\u0435').replace(/o/g, '\u043E').replace(/A/g, '\u0410');

  it('fullwidth, mathematical-bold, zero-width-split and lookalike copies of a spam get spam (were ham 0.065 / 0.006 from spam-edge@1)', async () => {
    const s = await server({ regional: { kind: 'in-process' } });
    const plain = await predict(s.url, { text: spam, model: 'spam-edge' });
    expect(plain.answer).toMatchObject({ label: 'spam', model: { name: 'spam-edge', version: SERVED } });
    for (const disguise of [fullwidth, mathBold, zeroWidth, lookalikes]) {
      const text = disguise(spam);
      expect(text).not.toBe(spam);
      const { status, answer } = await predict(s.url, { text });
      expect(status).toBe(200);
      // The edge model sees the plain message's ids: the same answer, same tier.
      expect(answer, disguise.name).toMatchObject({ label: 'spam', tier: plain.answer.tier, degraded: false });
      expect(answer.scores.spam).toBe(plain.answer.scores.spam);
    }
  });

  it('a client still sending email-hash v1 ids (with the v1 fingerprint) is answered by spam-edge@1', async () => {
    const s = await server({ regional: { kind: 'none' } });
    const v1 = await s.service.context.requireModelVersion('spam-edge', '1');
    const preprocessing = { id: 'email-hash', version: 1, fingerprint: preprocessingFingerprint(v1.manifest.preprocessing!) };
    const { status, answer } = await predict(s.url, { ids: Array.from(v1.preprocessor.toIds(spam)), preprocessing });
    expect(status).toBe(200);
    expect(answer).toMatchObject({ label: 'spam', model: { name: 'spam-edge', version: '1' } });
    const stale = await predict(s.url, { ids: [1, 2], preprocessing: { ...preprocessing, fingerprint: '00000000' } });
    expect(stale.status).toBe(409);
    expect(stale.answer.error.code).toBe('preprocessing_mismatch');
  });
});

describe('#17.11 dashboard sessions (dashboard-session.test.ts)', () => {
  it('the cookie is no HMAC of the token; cross-site login posts are refused; no Secure over plain HTTP for an https:// target', async () => {
    const s = await server({ regional: { kind: 'none' }, config: { adminToken: ADMIN, sessionKey: `abuse-key-${run}` } });
    const login = (headers: Record<string, string> = {}) =>
      fetch(`${s.url}/dashboard/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: `token=${ADMIN}` });
    const good = await login();
    expect(good.status).toBe(303);
    const cookie = good.headers.get('set-cookie') as string;
    // Before: HMAC-SHA256(token, "edgeinfer-dashboard"), fixed forever and an offline oracle for the token.
    expect(cookie).not.toContain(createHmac('sha256', ADMIN).update('edgeinfer-dashboard').digest('hex'));
    expect(cookie).toMatch(/^edgeinfer_dashboard=v1\.\d+\.[0-9a-f]{64};/);
    expect((await login({ origin: 'https://evil.example' })).status).toBe(403);
    expect((await login({ 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    const port = new URL(s.url).port;
    const raw = await new Promise<string>((resolve, reject) => {
      const body = `token=${ADMIN}`;
      const socket = connect(Number(port), '127.0.0.1', () =>
        socket.write(`POST https://127.0.0.1:${port}/dashboard/login HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`),
      );
      let text = '';
      socket.on('data', (d) => (text += d));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(/^set-cookie: (.*)$/im.exec(raw)?.[1]).not.toMatch(/Secure/i);
  });
});

describe('#17.12 IPv6 rate-limit buckets (memory-rate-limiter.test.ts)', () => {
  it('spellings of one address share a bucket; IPv4-mapped addresses count as their IPv4', () => {
    expect(addressBucket('2001:0db8::1')).toBe(addressBucket('2001:db8::1'));
    expect(addressBucket('::ffff:198.51.100.4')).toBe('198.51.100.4');
    expect(addressBucket('::ffff:198.51.100.4')).not.toBe(addressBucket('::ffff:198.51.100.5'));
  });
});

describe('#17.13–15 crafted repositories served by the node server (name-lookups, fs-model-source, size-bounds tests)', () => {
  it('a model named "constructor" answers (was function_error); a symlinked graph and maxIds 2e8 are refused at load without paths, hashes or an 800 MB allocation', async () => {
    const root = mkdtempSync(join(tmpdir(), 'abuse-repo-'));
    const outside = mkdtempSync(join(tmpdir(), 'abuse-outside-'));
    // The served version alone: each copy is one version, whose model.json the edit renames.
    const spam = join(REPO_ROOT, 'models', 'spam-edge', SERVED);
    const edit = (name: string, change: (m: Record<string, any>) => Record<string, any>) => {
      cpSync(spam, join(root, name, SERVED), { recursive: true });
      const file = join(root, name, SERVED, 'model.json');
      const m = JSON.parse(readFileSync(file, 'utf8'));
      delete m.cascade?.regional;
      writeFileSync(file, JSON.stringify(change({ ...m, name })));
    };
    edit('constructor', (m) => m);
    edit('linked', (m) => m);
    copyFileSync(join(root, 'linked', SERVED, 'model.onnx'), join(outside, 'model.onnx'));
    const linked = join(root, 'linked', SERVED, 'model.onnx');
    rmSync(linked);
    symlinkSync(join(outside, 'model.onnx'), linked);
    edit('greedy', (m) => ({ ...m, preprocessing: { ...m.preprocessing, params: { ...m.preprocessing.params, maxIds: 2e8 } } }));
    const s = await server({ modelsRoot: root, regional: { kind: 'in-process' }, telemetry: false });
    const rss = process.memoryUsage().rss;
    const ok = await predict(s.url, { model: 'constructor', text: 'Subject: FREE prize\n\nclick here now' });
    expect(ok.status).toBe(200);
    expect(ok.answer.reason).not.toBe('function_error');
    for (const model of ['linked', 'greedy']) {
      const refused = await predict(s.url, { model, text: 'hello' });
      expect(refused.status, model).toBe(503);
      expect(refused.text, model).not.toContain(root);
      expect(refused.text, model).not.toContain(tmpdir());
      expect(refused.text, model).not.toMatch(/[0-9a-f]{64}/);
    }
    expect(process.memoryUsage().rss - rss).toBeLessThan(400 * 1024 * 1024);
  });
});

describe('Also: CORS and the CLIs', () => {
  it('OPTIONS /v1/predict from an allowed origin is answered (was 405 with no Access-Control-* header)', async () => {
    const s = await server({ regional: { kind: 'none' }, cors: { EDGEINFER_CORS_ORIGINS: 'https://app.example' } });
    const preflight = await fetch(`${s.url}/v1/predict`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example');
  });

  it('npm run build:micro on a malformed model.json: one line naming the file and field, exit 1, no stack trace (cli-errors.test.ts)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'abuse-cli-'));
    const dir = join(root, 'spam-edge', SERVED);
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(REPO_ROOT, 'models/spam-edge', SERVED, 'model.onnx'), join(dir, 'model.onnx'));
    const m = JSON.parse(readFileSync(join(REPO_ROOT, 'models/spam-edge', SERVED, 'model.json'), 'utf8'));
    writeFileSync(join(dir, 'model.json'), JSON.stringify({ ...m, labels: 5 }));
    const failure = (await promisify(execFile)(process.execPath, ['--import', 'tsx', 'build/micro/main.ts', '--models', root, '--out', join(root, 'dist')], { cwd: REPO_ROOT }).catch((e: unknown) => e)) as { code?: number; stderr?: string };
    expect(failure.code).toBe(1);
    expect(failure.stderr).toMatch(new RegExp(`build:micro: spam-edge@${SERVED}: .*model\\.json: "labels" must be an array of strings`));
    expect(failure.stderr).not.toMatch(/^\s+at /m);
  });
});
