// Router logic against a scripted regional tier (the real SDK path is covered in
// test/adapters/aws-lambda/escalation.test.ts against the local Invoke API).
import { describe, expect, it } from 'vitest';
import { EnsembleRouter, type RouterPolicy } from '../../../core/router/router.ts';
import type { RegionalOutcome, RegionalRequest, RegionalTier } from '../../../core/router/regional-tier.ts';

const prediction = { label: 'spam', scores: { ham: 0.02, spam: 0.98 }, model: { name: 'r', version: '1', sha256: 'x' }, timings: {}, executionProvider: 'cpu' };

class ScriptedTier implements RegionalTier {
  readonly kind = 'scripted';
  calls: RegionalRequest[] = [];
  aborted = 0;
  constructor(public next: () => Promise<RegionalOutcome>) {}
  invoke(request: RegionalRequest, signal: AbortSignal): Promise<RegionalOutcome> {
    this.calls.push(request);
    signal.addEventListener('abort', () => this.aborted++);
    return this.next();
  }
}

const policy: RouterPolicy = {
  confidence: { measure: 'top', threshold: 0.9 },
  budgetMs: 50,
  maxInFlight: 4,
  circuit: { failures: 2, windowMs: 10_000, halfOpenAfterMs: 60_000 },
};
const confident = { runEdge: async () => ({ probabilities: [0.05, 0.95] }), regionalRequest: { model: 'r', requestId: 'a', text: 'hi' } };
const unsure = { runEdge: async () => ({ probabilities: [0.4, 0.6] }), regionalRequest: { model: 'r', requestId: 'b', text: 'hi' } };

describe('EnsembleRouter', () => {
  it('answers confident requests at the edge without calling the regional tier', async () => {
    const tier = new ScriptedTier(async () => ({ ok: true, prediction }));
    const router = new EnsembleRouter({ policy, regional: tier });
    const answer = await router.route(confident);
    expect(answer).toMatchObject({ tier: 'edge', degraded: false });
    expect(tier.calls).toHaveLength(0);
  });

  it('escalates unconfident requests once, with a deadline at the budget', async () => {
    const tier = new ScriptedTier(async () => ({ ok: true, prediction }));
    const router = new EnsembleRouter({ policy, regional: tier });
    const before = Date.now();
    const answer = await router.route(unsure);
    expect(answer.tier).toBe('regional');
    if (answer.tier !== 'regional') return;
    expect(answer.regional.label).toBe('spam');
    expect(answer.cause).toBe('not_confident');
    expect(tier.calls).toHaveLength(1);
    expect(tier.calls[0]?.deadlineMs).toBeGreaterThanOrEqual(before + 50);
    expect(tier.calls[0]?.deadlineMs).toBeLessThanOrEqual(Date.now() + 50);
  });

  it('answers at the budget when the tier hangs and ignores the abort, and aborts it', async () => {
    const tier = new ScriptedTier(() => new Promise(() => {}));
    const router = new EnsembleRouter({ policy, regional: tier });
    const t0 = performance.now();
    const answer = await router.route(unsure);
    const elapsed = performance.now() - t0;
    expect(answer).toMatchObject({ tier: 'edge', degraded: true, reason: 'timeout' });
    expect(elapsed).toBeGreaterThanOrEqual(45);
    expect(elapsed).toBeLessThan(50 + 100);
    expect(tier.aborted).toBe(1);
  });

  it('passes failure reasons through, opens the circuit, then degrades with circuit_open', async () => {
    const tier = new ScriptedTier(async () => ({ ok: false, reason: 'throttled', message: '429' }));
    const router = new EnsembleRouter({ policy, regional: tier });
    expect(await router.route(unsure)).toMatchObject({ degraded: true, reason: 'throttled' });
    expect(await router.route(unsure)).toMatchObject({ degraded: true, reason: 'throttled' });
    expect(router.breaker.state).toBe('open');
    const third = await router.route(unsure);
    expect(third).toMatchObject({ tier: 'edge', degraded: true, reason: 'circuit_open' });
    expect(tier.calls).toHaveLength(2);
  });

  it('turns a rejecting tier into a degraded answer, not an exception', async () => {
    const tier = new ScriptedTier(async () => {
      throw new Error('boom');
    });
    const router = new EnsembleRouter({ policy, regional: tier });
    const answer = await router.route(unsure);
    expect(answer).toMatchObject({ tier: 'edge', degraded: true, reason: 'bad_response' });
    if (answer.tier === 'edge' && answer.degraded) expect(answer.message).toMatch(/boom/);
  });

  it('without a regional tier, unconfident answers are degraded with no_regional_tier', async () => {
    const router = new EnsembleRouter({ policy });
    expect(await router.route(unsure)).toMatchObject({ tier: 'edge', degraded: true, reason: 'no_regional_tier' });
  });

  it('a saturated PoP goes straight to regional (edge model not run); 503 facts when regional fails', async () => {
    let edgeRuns = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const tier = new ScriptedTier(async () => ({ ok: true, prediction }));
    const router = new EnsembleRouter({ policy: { ...policy, maxInFlight: 1 }, regional: tier });
    const slow = router.route({ runEdge: async () => (await gate, edgeRuns++, { probabilities: [0, 1] }), regionalRequest: unsure.regionalRequest });
    const saturated = await router.route({ runEdge: async () => (edgeRuns++, { probabilities: [0, 1] }), regionalRequest: unsure.regionalRequest });
    expect(saturated).toMatchObject({ tier: 'regional', cause: 'saturated' });
    expect(edgeRuns).toBe(0);
    tier.next = async () => ({ ok: false, reason: 'function_error', message: 'Unhandled' });
    const failed = await router.route({ runEdge: async () => ({ probabilities: [0, 1] }), regionalRequest: unsure.regionalRequest });
    expect(failed).toMatchObject({ tier: 'none', unavailable: true, reason: 'function_error', retryAfterSeconds: 1 });
    release();
    expect(await slow).toMatchObject({ tier: 'edge' });
    expect(router.inFlight.current).toBe(0);
  });
});
