// /v1/predict through the cascade: the local service with its embedded in-process regional
// tier, and the same service escalating through the real AWS SDK to the local Invoke API
// (regional handler behind it), with faults from the server's knobs.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalService, localServiceOptionsFromEnv } from '../../adapters/node/local-service.ts';
import { FsModelSource } from '../../adapters/node/fs-model-source.ts';
import { startLocalInvokeServer, type LocalInvokeServer } from '../../adapters/aws-lambda/local-invoke-server.ts';
import { createRegionalLambda, type RegionalLambda } from '../../adapters/aws-lambda/regional-handler.ts';
import type { InferenceService } from '../../core/handler.ts';
import { DEFAULT_CASCADE_CONFIG } from '../../core/router/cascade.ts';
import { writeRegionalModelRepo } from '../helpers/regional-model-repo.ts';

const text = 'Subject: cheap meds\nFrom: a@b.example\n\nBuy now, limited offer!';
const repo = writeRegionalModelRepo(['spam-edge', 'spam-regional'], undefined, { cascade: { 'spam-edge': 'spam-regional' } });
const services: InferenceService[] = [];
let invokeServer: LocalInvokeServer;
let regionalFn: RegionalLambda;

function predict(service: InferenceService, body: unknown = { text }) {
  return service.fetch(new Request('http://edgeinfer.test/v1/predict', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }));
}

function setEdgeThreshold(threshold: number | null): void {
  const file = join(repo.root, 'spam-edge', '1', 'model.json');
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  manifest.cascade = { ...manifest.cascade, threshold };
  writeFileSync(file, JSON.stringify(manifest));
}

beforeAll(async () => {
  regionalFn = createRegionalLambda({ models: new FsModelSource(repo.root), executionProviders: ['cpu'] });
  invokeServer = await startLocalInvokeServer({ functions: { 'edgeinfer-regional': regionalFn.handler } });
});
afterAll(async () => {
  for (const s of services) await s.close();
  await invokeServer.close();
  await regionalFn.predictor.close();
  repo.cleanup();
});

function service(options: Parameters<typeof createLocalService>[0] = {}): InferenceService {
  // The same text is sent again and again to provoke each failure: no prediction cache here
  // (it would answer the repeats from L1; the cache has tests of its own).
  // A generous budget: these tests are about routes and reasons, not the budget (noisy machines).
  const config = { cascade: { ...DEFAULT_CASCADE_CONFIG, budgetMs: 3_000 } };
  const s = createLocalService({ modelsRoot: repo.root, cache: { EDGEINFER_CACHE_POLICY: 'off' }, config, ...options });
  services.push(s);
  return s;
}

describe('/v1/predict through the cascade', () => {
  it('embedded default: an unconfident edge answer escalates in-process to the regional model', async () => {
    setEdgeThreshold(null); // uncalibrated: nothing is trusted at the edge
    const response = await predict(service());
    expect(response.status).toBe(200);
    const answer = (await response.json()) as Record<string, any>;
    expect(answer).toMatchObject({ tier: 'regional', degraded: false, escalation: { cause: 'not_confident', outcome: 'ok' } });
    expect(answer.model).toEqual({ name: 'spam-regional', version: '1', sha256: repo.sha256['spam-regional'] });
    expect(answer.timings.regionalMs).toBeGreaterThan(0);
    expect(response.headers.get('server-timing')).toMatch(/regional;dur=/);
  });

  it('a confident edge answer stays at the edge and calls nothing', async () => {
    setEdgeThreshold(0.5);
    const before = invokeServer.invocations.get('edgeinfer-regional') ?? 0;
    const s = service({ regional: { kind: 'lambda', functionName: 'edgeinfer-regional', region: 'us-east-1', endpoint: invokeServer.url } });
    const answer = (await (await predict(s)).json()) as Record<string, any>;
    expect(answer).toMatchObject({ tier: 'edge', degraded: false, model: { name: 'spam-edge' } });
    expect(answer.escalation).toBeUndefined();
    expect(invokeServer.invocations.get('edgeinfer-regional') ?? 0).toBe(before);
  });

  it('through Lambda: regional answers, and failures give the edge answer with degraded and the reason', async () => {
    setEdgeThreshold(null);
    const s = service({ regional: { kind: 'lambda', functionName: 'edgeinfer-regional', region: 'us-east-1', endpoint: invokeServer.url } });
    expect(await (await predict(s)).json()).toMatchObject({ tier: 'regional', model: { name: 'spam-regional' } });
    invokeServer.knobs.functionError = true;
    try {
      const answer = (await (await predict(s)).json()) as Record<string, any>;
      expect(answer).toMatchObject({ tier: 'edge', degraded: true, reason: 'function_error', model: { name: 'spam-edge' } });
      expect(answer.escalation).toMatchObject({ cause: 'not_confident', outcome: 'function_error' });
    } finally {
      invokeServer.knobs.functionError = false;
    }
  });

  it('without a regional tier: degraded with no_regional_tier', async () => {
    setEdgeThreshold(null);
    const answer = (await (await predict(service({ regional: { kind: 'none' } }))).json()) as Record<string, any>;
    expect(answer).toMatchObject({ tier: 'edge', degraded: true, reason: 'no_regional_tier' });
  });

  it('saturated: straight to regional; 503 with Retry-After when regional fails too', async () => {
    setEdgeThreshold(null);
    const s = service({
      regional: { kind: 'lambda', functionName: 'edgeinfer-regional', region: 'us-east-1', endpoint: invokeServer.url },
      config: { cascade: { ...DEFAULT_CASCADE_CONFIG, maxInFlight: 1, budgetMs: 2_000 } },
    });
    await s.warm();
    const count = () => invokeServer.invocations.get('edgeinfer-regional') ?? 0;
    invokeServer.knobs.delayMs = 400;
    try {
      const before = count();
      const held = predict(s); // occupies the only in-flight slot while its escalation is delayed
      while (count() === before) await new Promise((r) => setTimeout(r, 5));
      const saturated = (await (await predict(s)).json()) as Record<string, any>;
      expect(saturated).toMatchObject({ tier: 'regional', escalation: { cause: 'saturated', outcome: 'ok' } });
      expect(saturated.timings.inferMs).toBeUndefined(); // the edge model did not run

      const held2 = predict(s);
      while (count() === before + 2) await new Promise((r) => setTimeout(r, 5));
      invokeServer.knobs.throttle = true;
      const shed = await predict(s);
      expect(shed.status).toBe(503);
      expect(Number(shed.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await shed.json()).toMatchObject({ error: { code: 'overloaded', message: expect.stringContaining('throttled') } });
      expect((await held).status).toBe(200);
      expect((await held2).status).toBe(200);
    } finally {
      Object.assign(invokeServer.knobs, { delayMs: 0, throttle: false });
    }
  });

  it('npm start settings from the environment: Lambda tier, budget; a slow function degrades with timeout', async () => {
    setEdgeThreshold(null);
    const options = localServiceOptionsFromEnv({
      EDGEINFER_REGIONAL: 'lambda',
      EDGEINFER_REGIONAL_ENDPOINT: invokeServer.url,
      EDGEINFER_REGIONAL_BUDGET_MS: '100',
      EDGEINFER_MAX_IN_FLIGHT: '32',
    });
    expect(options.config?.cascade).toMatchObject({ budgetMs: 100, maxInFlight: 32 });
    const s = createLocalService({ ...options, modelsRoot: repo.root, cache: { EDGEINFER_CACHE_POLICY: 'off' } });
    services.push(s);
    await s.warm();
    invokeServer.knobs.delayMs = 1_000;
    try {
      const t0 = performance.now();
      const answer = (await (await predict(s)).json()) as Record<string, any>;
      expect(answer).toMatchObject({ tier: 'edge', degraded: true, reason: 'timeout', escalation: { outcome: 'timeout' } });
      expect(performance.now() - t0).toBeLessThan(100 + 200);
    } finally {
      invokeServer.knobs.delayMs = 0;
    }
  });
});
