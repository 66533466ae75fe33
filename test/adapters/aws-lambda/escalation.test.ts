// The cascade end to end, all real parts: the edge model on onnxruntime-node, the router,
// @aws-sdk/client-lambda (InvokeCommand, RequestResponse) against the local Invoke API,
// and the regional handler running the regional model behind it. Faults come from the
// server's knobs.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FsModelSource } from '../../../adapters/node/fs-model-source.ts';
import { startLocalInvokeServer, type LocalInvokeServer } from '../../../adapters/aws-lambda/local-invoke-server.ts';
import { createRegionalLambda, type RegionalLambda } from '../../../adapters/aws-lambda/regional-handler.ts';
import { createOrtNodeEngine } from '../../../core/engine/ort-node/ort-node-engine.ts';
import { EngineRegistry } from '../../../core/engine/registry.ts';
import { createLambdaRegionalTier } from '../../../core/router/lambda-regional-tier.ts';
import { EnsembleRouter, type RouterPolicy, type RoutedAnswer } from '../../../core/router/router.ts';
import type { RegionalTier } from '../../../core/router/regional-tier.ts';
import { loadModel, type LoadedModel } from '../../../core/serving/loaded-model.ts';
import { writeRegionalModelRepo } from '../../helpers/regional-model-repo.ts';

const repo = writeRegionalModelRepo(['spam-edge', 'spam-regional'], undefined, { cascade: { 'spam-edge': 'spam-regional' } });
const FUNCTION = 'edgeinfer-regional';
let server: LocalInvokeServer;
let regional: RegionalLambda;
let tier: RegionalTier;
let edgeModel: LoadedModel;

beforeAll(async () => {
  const models = new FsModelSource(repo.root);
  regional = createRegionalLambda({ models, executionProviders: ['cpu'], preload: ['spam-regional'] });
  server = await startLocalInvokeServer({ functions: { [FUNCTION]: regional.handler } });
  tier = createLambdaRegionalTier({
    functionName: FUNCTION,
    region: 'us-east-1',
    endpoint: server.url,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const engines = new EngineRegistry();
  engines.register('ort-node', () => createOrtNodeEngine());
  edgeModel = await loadModel(models, 'spam-edge', '1', engines, ['ort-node']);
  // Warm the regional model so no test pays its load inside a budget.
  await regional.predictor.predict({ model: 'spam-regional', text: 'warm', requestId: 'warm', deadlineMs: Date.now() + 60_000 });
});
afterAll(async () => {
  await server.close();
  await regional.predictor.close();
  await edgeModel.release();
  repo.cleanup();
});
afterEach(() => Object.assign(server.knobs, { delayMs: 0, functionError: false, throttle: false }));

const invocations = () => server.invocations.get(FUNCTION) ?? 0;

function router(policy: Partial<RouterPolicy> = {}): EnsembleRouter {
  return new EnsembleRouter({
    policy: {
      confidence: { measure: 'top', threshold: null }, // uncalibrated: always escalate
      budgetMs: 3_000, // generous: only the timeout test is about the budget (shared CI machines are noisy)
      maxInFlight: 16,
      circuit: { failures: 3, windowMs: 10_000, halfOpenAfterMs: 1_000 },
      ...policy,
    },
    regional: tier,
  });
}

let seq = 0;
function request(text = 'Subject: cheap meds\n\nbuy now, limited offer', gate?: Promise<void>) {
  return {
    runEdge: async () => {
      if (gate) await gate;
      const result = await edgeModel.classifyIds(edgeModel.preprocessor.toIds(text));
      return { ...result, probabilities: edgeModel.manifest.labels.map((l) => result.scores[l] as number) };
    },
    regionalRequest: { model: 'spam-regional', text, requestId: `t-${++seq}` },
  };
}

function expectDegradedWithReason(answer: RoutedAnswer<never> | RoutedAnswer<{ probabilities: number[] }>, reason: string) {
  expect(answer).toMatchObject({ tier: 'edge', degraded: true, reason });
  if (answer.tier === 'edge' && answer.degraded) expect(answer.message.length).toBeGreaterThan(10);
}

describe('escalation through the real SDK and the local Invoke API', () => {
  it('a confident edge answer never calls Lambda', async () => {
    const before = invocations();
    const r = router({ confidence: { measure: 'top', threshold: 0.5 } }); // the top of 2 classes is always ≥ 0.5
    for (let i = 0; i < 5; i++) expect(await r.route(request(`message ${i}`))).toMatchObject({ tier: 'edge', degraded: false });
    expect(invocations()).toBe(before);
  });

  it('an unconfident answer calls Lambda once and returns the regional model answer', async () => {
    const before = invocations();
    const answer = await router().route(request());
    expect(invocations()).toBe(before + 1);
    expect(answer.tier).toBe('regional');
    if (answer.tier !== 'regional') return;
    expect(answer.cause).toBe('not_confident');
    expect(answer.regional.model).toEqual({ name: 'spam-regional', version: '1', sha256: repo.sha256['spam-regional'] });
    expect(answer.regional.executionProvider).toBe('cpu');
    expect(answer.edge?.label).toMatch(/ham|spam/);
  });

  it('a slow function: the edge answer, degraded with timeout, within the budget plus a small margin', async () => {
    server.knobs.delayMs = 2_000;
    const r = router({ budgetMs: 120 });
    const t0 = performance.now();
    const answer = await r.route(request());
    const elapsed = performance.now() - t0;
    expectDegradedWithReason(answer, 'timeout');
    expect(elapsed).toBeGreaterThanOrEqual(115);
    expect(elapsed).toBeLessThan(120 + 100);
  });

  it('a function error and a 429 each degrade with their own reason', async () => {
    server.knobs.functionError = true;
    expectDegradedWithReason(await router().route(request()), 'function_error');
    server.knobs.functionError = false;
    server.knobs.throttle = true;
    const before = invocations();
    expectDegradedWithReason(await router().route(request()), 'throttled');
    expect(invocations()).toBe(before + 1); // no SDK retries
  });

  it('the circuit opens after N failures, half-opens after the delay, closes after a success', async () => {
    const r = router();
    server.knobs.throttle = true;
    for (let i = 0; i < 3; i++) expectDegradedWithReason(await r.route(request()), 'throttled');
    expect(r.breaker.state).toBe('open');
    const before = invocations();
    expectDegradedWithReason(await r.route(request()), 'circuit_open');
    expect(invocations()).toBe(before); // skipped, not called

    await new Promise((resolve) => setTimeout(resolve, 1_050));
    expect(r.breaker.state).toBe('half-open');
    expectDegradedWithReason(await r.route(request()), 'throttled'); // the trial fails
    expect(r.breaker.state).toBe('open');

    await new Promise((resolve) => setTimeout(resolve, 1_050));
    server.knobs.throttle = false;
    expect((await r.route(request())).tier).toBe('regional'); // the trial succeeds
    expect(r.breaker.state).toBe('closed');
    expect((await r.route(request())).tier).toBe('regional');
  });

  it('a saturated PoP goes straight to regional; 503 facts (Retry-After) only when regional fails too', async () => {
    const r = router({ maxInFlight: 1, confidence: { measure: 'top', threshold: 0.5 } });
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    const held = r.route(request('held', gate));
    const before = invocations();
    const saturated = await r.route(request());
    expect(saturated).toMatchObject({ tier: 'regional', cause: 'saturated' });
    expect(saturated.tier === 'regional' && saturated.edge).toBe(undefined); // the edge model did not run
    expect(invocations()).toBe(before + 1);

    server.knobs.functionError = true;
    const failed = await r.route(request());
    expect(failed).toMatchObject({ tier: 'none', unavailable: true, reason: 'function_error', retryAfterSeconds: expect.any(Number) });
    open();
    expect(await held).toMatchObject({ tier: 'edge', degraded: false });
  });
});
