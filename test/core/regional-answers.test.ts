// Regional answers are checked (#17 item 5): the real regional function behind the local
// Invoke API, its answers rewritten per request into each hostile shape the review served
// as `tier: "regional", degraded: false` (another model or version, an unknown label, a
// label contradicting the scores, empty scores, 1e308, a 2 MB label, ...). Through both
// regional clients — the AWS SDK (createLocalService, `npm start`'s service) and the signed
// fetch of edge builds — each is the edge answer, `degraded: true, reason: "bad_response"`,
// not cached, and not a breaker failure (a circuit that opens after one failure stays closed).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalService } from '../../adapters/node/local-service.ts';
import { FsModelSource } from '../../adapters/node/fs-model-source.ts';
import { startLocalInvokeServer, type LocalInvokeServer } from '../../adapters/aws-lambda/local-invoke-server.ts';
import { createRegionalLambda, type RegionalLambda } from '../../adapters/aws-lambda/regional-handler.ts';
import { createSignedFetchRegionalTier } from '../../adapters/edge/signed-fetch-regional-tier.ts';
import { createCacheFromEnv } from '../../core/cache/config.ts';
import { createOrtNodeEngine } from '../../core/engine/ort-node/ort-node-engine.ts';
import { EngineRegistry } from '../../core/engine/registry.ts';
import { createInferenceService, type InferenceService } from '../../core/handler.ts';
import { DEFAULT_CASCADE_CONFIG } from '../../core/router/cascade.ts';
import { writeRegionalModelRepo } from '../helpers/regional-model-repo.ts';

const repo = writeRegionalModelRepo(['spam-edge', 'spam-regional'], 57, { cascade: { 'spam-edge': 'spam-regional' } });
{
  // Everything escalates.
  const file = join(repo.root, 'spam-edge', '1', 'model.json');
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  writeFileSync(file, JSON.stringify({ ...manifest, cascade: { ...manifest.cascade, threshold: null } }));
}

type Prediction = { label: unknown; scores: Record<string, unknown>; model: Record<string, unknown>; [k: string]: unknown };
/** Each hostile rewrite of a real answer; the request's text names the case on its first line. */
const HOSTILE: Record<string, (p: Prediction) => unknown> = {
  'another model': (p) => ({ ...p, model: { ...p.model, name: 'totally-other-model', version: '999' } }),
  'another version': (p) => ({ ...p, model: { ...p.model, version: '999' } }),
  'another sha256': (p) => ({ ...p, model: { ...p.model, sha256: 'ab'.repeat(32) } }),
  'unknown label': (p) => ({ ...p, label: 'eggs', scores: { eggs: 1 } }),
  'label outside the scores': (p) => ({ ...p, label: 'eggs' }),
  'an extra label': (p) => ({ ...p, scores: { ...p.scores, eggs: 0 } }),
  'label contradicting scores': (p) => ({ ...p, label: Object.entries(p.scores).sort((a, b) => Number(a[1]) - Number(b[1]))[0]![0] }),
  'empty scores': (p) => ({ ...p, scores: {} }),
  'scores of 1e308': (p) => ({ ...p, scores: Object.fromEntries(Object.keys(p.scores).map((l) => [l, 1e308])) }),
  'negative score': (p) => ({ ...p, scores: Object.fromEntries(Object.keys(p.scores).map((l, i) => [l, i === 0 ? -0.5 : 1])) }),
  'string scores': (p) => ({ ...p, scores: Object.fromEntries(Object.keys(p.scores).map((l) => [l, '0.5'])) }),
  'a 2 MB label': (p) => ({ ...p, label: 'x'.repeat(2 * 1024 * 1024), scores: { ['x'.repeat(2 * 1024 * 1024)]: 1 } }),
  'label {"x":1}': (p) => ({ ...p, label: { x: 1 } }),
  'no model': (p) => ({ ...p, model: undefined }),
};

let invoke: LocalInvokeServer;
let regionalFn: RegionalLambda;
const services: InferenceService[] = [];
const circuit = { failures: 1, windowMs: 60_000, halfOpenAfterMs: 60_000 };
const config = { cascade: { ...DEFAULT_CASCADE_CONFIG, budgetMs: 10_000, circuit } };

beforeAll(async () => {
  regionalFn = createRegionalLambda({ models: new FsModelSource(repo.root), executionProviders: ['cpu'] });
  invoke = await startLocalInvokeServer({
    functions: {
      honest: regionalFn.handler,
      hostile: async (event, context) => {
        const real = (await regionalFn.handler(event, context)) as Prediction;
        const name = String((event as { text?: string }).text).split('\n')[0] as string;
        const rewrite = HOSTILE[name];
        // The function's own answer, with a field nobody reads (must not be echoed).
        return rewrite ? rewrite(real) : { ...real, model: { ...real.model, junk: 'j'.repeat(100_000) }, junk: 'k'.repeat(100_000) };
      },
    },
  });
});
afterAll(async () => {
  for (const s of services) await s.close();
  await invoke.close();
  await regionalFn.predictor.close();
  repo.cleanup();
});

/** `npm start`'s service escalating through the AWS SDK. */
function sdkService(functionName: string): InferenceService {
  const s = createLocalService({ modelsRoot: repo.root, config, regional: { kind: 'lambda', functionName, region: 'us-east-1', endpoint: invoke.url } });
  services.push(s);
  return s;
}

/** The same core service escalating through the edge builds' signed fetch. */
function signedFetchService(functionName: string): InferenceService {
  const engines = new EngineRegistry();
  engines.register('ort-node', () => createOrtNodeEngine());
  const s = createInferenceService({
    models: new FsModelSource(repo.root),
    engines,
    ortPreference: ['ort-node'],
    cache: createCacheFromEnv({}).cache,
    config,
    telemetry: false,
    regional: createSignedFetchRegionalTier({ functionName, region: 'us-east-1', endpoint: invoke.url, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
  });
  services.push(s);
  return s;
}

async function predict(service: InferenceService, text: string) {
  const response = await service.fetch(new Request('http://edgeinfer.test/v1/predict', { method: 'POST', body: JSON.stringify({ text }), headers: { 'content-type': 'application/json' } }));
  return { status: response.status, answer: (await response.json()) as Record<string, any>, bytes: Number(response.headers.get('content-length') ?? 0) };
}

const breakerOf = async (service: InferenceService) => service.context.cascade.routeFor((await service.context.requireModel('spam-edge')).manifest)?.router.breaker.state;

describe.each([
  ['AWS SDK (npm start)', sdkService],
  ['signed fetch (edge builds)', signedFetchService],
])('regional answers through the %s client', (_client, make) => {
  it('every hostile answer: the edge answer, degraded with reason bad_response, not cached, the circuit stays closed', async () => {
    const service = make('hostile');
    for (const name of Object.keys(HOSTILE)) {
      const text = `${name}\n\nclaim your free prize now`;
      for (let attempt = 0; attempt < 2; attempt++) {
        const calls = invoke.invocations.get('hostile') ?? 0;
        const { status, answer } = await predict(service, text);
        expect(status, `${name}: ${JSON.stringify(answer).slice(0, 300)}`).toBe(200);
        expect(answer, name).toMatchObject({ tier: 'edge', degraded: true, reason: 'bad_response', escalation: { outcome: 'bad_response' }, model: { name: 'spam-edge' } });
        // The refused answer was not cached: the repeat calls the region again (its edge answer may come from L1).
        expect((invoke.invocations.get('hostile') ?? 0) - calls, name).toBe(1);
        expect(Object.keys(answer.scores).sort(), name).toEqual(['ham', 'spam']);
        expect(JSON.stringify(answer).length, name).toBeLessThan(4_000);
      }
      expect(await breakerOf(service), name).toBe('closed');
    }
    // The function's own answer (with extra fields) is served, with only the checked fields.
    const { answer } = await predict(service, 'an honest answer\n\nlunch at noon?');
    expect(answer).toMatchObject({ tier: 'regional', degraded: false, model: { name: 'spam-regional', version: '1', sha256: repo.sha256['spam-regional'] } });
    expect(Object.keys(answer.model).sort()).toEqual(['name', 'sha256', 'version']);
    expect(JSON.stringify(answer).length).toBeLessThan(4_000);
  });

  it('the honest function: regional answers, and one real failure still opens the circuit', async () => {
    const service = make('honest');
    expect((await predict(service, 'Subject: hi\n\nlunch at noon?')).answer).toMatchObject({ tier: 'regional', degraded: false });
    const missing = make('no-such-function');
    expect((await predict(missing, 'Subject: hi\n\nlunch at noon?')).answer).toMatchObject({ degraded: true, reason: 'service_error' });
    expect(await breakerOf(missing)).toBe('open');
  });
});
