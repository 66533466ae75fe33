// Prediction cache keys through the node server (#17 items 1 and 4, #13 item 8): edge and
// regional answers live in separate key spaces, so one model reached both ways never reads
// the other path's value; two versions on one .onnx with other labels never share answers.
// Real graphs on onnxruntime-node, the in-process regional tier, the default L1 cache.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalServer, type LocalServer } from '../../../adapters/node/server.ts';
import { DEFAULT_CASCADE_CONFIG } from '../../../core/router/cascade.ts';
import { writeRegionalModelRepo } from '../../helpers/regional-model-repo.ts';

const servers: LocalServer[] = [];
const repos: Array<{ cleanup(): void }> = [];
afterAll(async () => {
  for (const s of servers) await s.close();
  for (const r of repos) r.cleanup();
});

async function post(server: LocalServer, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, answer: (await response.json()) as Record<string, any> };
}

describe('edge and regional answers in one catalog (#17 item 1)', () => {
  // Everything escalates (threshold null), and one counted failure would open the circuit.
  const repo = writeRegionalModelRepo(['spam-edge', 'spam-regional'], 31, { cascade: { 'spam-edge': 'spam-regional' } });
  repos.push(repo);
  const file = join(repo.root, 'spam-edge', '1', 'model.json');
  const edgeJson = JSON.parse(readFileSync(file, 'utf8'));
  writeFileSync(file, JSON.stringify({ ...edgeJson, cascade: { ...edgeJson.cascade, threshold: null } }));
  const circuit = { failures: 1, windowMs: 60_000, halfOpenAfterMs: 60_000 };
  const start = async () => {
    const server = await startLocalServer({ modelsRoot: repo.root, port: 0, log: () => {}, demo: false, telemetry: false, config: { cascade: { ...DEFAULT_CASCADE_CONFIG, budgetMs: 10_000, circuit } } });
    servers.push(server);
    return server;
  };
  const breakerOf = async (server: LocalServer) =>
    server.service.context.cascade.routeFor((await server.service.context.requireModel('spam-edge')).manifest)?.router.breaker.state;

  it('cascade first, then the same text naming the regional model: 200 from that model, no 500', async () => {
    const server = await start();
    for (let i = 0; i < 3; i++) {
      const text = `Subject: offer ${i}\n\nclaim your prize now`;
      const cascaded = await post(server, { text });
      expect(cascaded.status).toBe(200);
      expect(cascaded.answer).toMatchObject({ tier: 'regional', degraded: false, model: { name: 'spam-regional' } });
      const direct = await post(server, { text, model: 'spam-regional' });
      expect(direct.status).toBe(200);
      // Run here on the regional graph: its own answer, equal to what the regional tier said.
      expect(direct.answer).toMatchObject({ tier: 'edge', degraded: false, cached: false, model: { name: 'spam-regional' } });
      expect(Object.keys(direct.answer.scores).sort()).toEqual(['ham', 'spam']);
      expect(direct.answer.label).toBe(cascaded.answer.label);
      for (const label of ['ham', 'spam']) expect(direct.answer.scores[label]).toBeCloseTo(cascaded.answer.scores[label], 5);
      // Each path then answers from its own entry.
      expect((await post(server, { text, model: 'spam-regional' })).answer).toMatchObject({ tier: 'edge', cached: true, cache: { level: 'l1' } });
      expect((await post(server, { text })).answer).toMatchObject({ tier: 'regional', cached: true, degraded: false });
    }
  });

  it('the regional model named first, then the cascade: a regional answer, and no breaker failure counted', async () => {
    const server = await start();
    for (let i = 0; i < 3; i++) {
      const text = `Subject: meeting ${i}\n\nsee you at noon`;
      expect((await post(server, { text, model: 'spam-regional' })).answer).toMatchObject({ tier: 'edge', model: { name: 'spam-regional' } });
      const cascaded = await post(server, { text });
      expect(cascaded.status).toBe(200);
      expect(cascaded.answer).toMatchObject({ tier: 'regional', degraded: false, escalation: { outcome: 'ok' }, model: { name: 'spam-regional' } });
      expect(cascaded.answer.reason).toBeUndefined();
      expect(await breakerOf(server)).toBe('closed');
    }
  });
});

describe('two versions on one .onnx with other labels (#17 item 4)', () => {
  // spam-edge@2 is @1's graph read with the labels the other way round: same sha256, other answers.
  const repo = writeRegionalModelRepo(['spam-edge'], 41);
  repos.push(repo);
  const v1 = join(repo.root, 'spam-edge', '1');
  const v2 = join(repo.root, 'spam-edge', '2');
  mkdirSync(v2);
  copyFileSync(join(v1, 'model.onnx'), join(v2, 'model.onnx'));
  const json = JSON.parse(readFileSync(join(v1, 'model.json'), 'utf8'));
  const labels = json.labels ?? json.output.labels;
  const swapped = [...labels].reverse();
  writeFileSync(join(v2, 'model.json'), JSON.stringify({ ...json, version: '2', ...(json.labels ? { labels: swapped } : {}), ...(json.output ? { output: { ...json.output, labels: swapped } } : {}) }));

  it('never share a cached answer', async () => {
    const server = await startLocalServer({
      modelsRoot: repo.root,
      port: 0,
      log: () => {},
      demo: false,
      telemetry: false,
      regional: { kind: 'none' },
      rollout: { 'spam-edge': { split: { '1': 50, '2': 50 }, keyHeaders: ['x-user-id'] } },
    });
    servers.push(server);
    const text = 'Subject: quarterly report\n\nplease find the figures attached';
    const byVersion = new Map<string, Record<string, any>[]>();
    for (let user = 0; user < 40; user++) {
      const { status, answer } = await post(server, { text }, { 'x-user-id': `user-${user}` });
      expect(status, JSON.stringify(answer)).toBe(200);
      const list = byVersion.get(answer.model.version) ?? [];
      list.push(answer);
      byVersion.set(answer.model.version, list);
    }
    const [one, two] = [byVersion.get('1'), byVersion.get('2')];
    expect(one?.length && two?.length).toBeTruthy();
    // The first answer of each version was computed by that version, then cached for it alone.
    expect(one![0]!.cached).toBe(false);
    expect(two![0]!.cached).toBe(false);
    for (const answer of one!.slice(1)) expect(answer).toMatchObject({ cached: true, scores: one![0]!.scores, label: one![0]!.label });
    for (const answer of two!.slice(1)) expect(answer).toMatchObject({ cached: true, scores: two![0]!.scores, label: two![0]!.label });
    // Same probabilities in tensor order, read with the labels the other way round.
    const [a, b] = labels as [string, string];
    expect(two![0]!.scores[a]).toBeCloseTo(one![0]!.scores[b], 6);
    expect(two![0]!.scores[b]).toBeCloseTo(one![0]!.scores[a], 6);
    expect(two![0]!.label).not.toBe(one![0]!.label);
  });
});

describe('a wrong-shaped value under an edge key in L1', () => {
  it('is a miss answered by the model, never a 500', async () => {
    const repo = writeRegionalModelRepo(['spam-edge'], 51);
    repos.push(repo);
    const server = await startLocalServer({ modelsRoot: repo.root, port: 0, log: () => {}, demo: false, telemetry: false, regional: { kind: 'none' } });
    servers.push(server);
    const { caching } = server.service.context;
    const manifest = (await server.service.context.requireModel('spam-edge')).manifest;
    const text = 'Subject: lunch\n\nnoon works';
    const key = caching!.edgeKey(manifest, {}, caching!.hashText(text));
    for (const forged of [{ ok: true, prediction: { label: 'spam' } }, { label: 'eggs', scores: {}, confidence: 1 }, null, 'hello']) {
      caching!.cache.put(key, 'edge', forged, 60);
      const { status, answer } = await post(server, { text });
      expect(status, JSON.stringify(answer)).toBe(200);
      expect(answer).toMatchObject({ kind: 'classification', cached: false, cache: { level: null } });
      expect(Object.keys(answer.scores).sort()).toEqual(['ham', 'spam']);
    }
  });
});
