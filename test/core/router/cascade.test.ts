import { describe, expect, it } from 'vitest';
import { Cascade, DEFAULT_CASCADE_CONFIG } from '../../../core/router/cascade.ts';
import { normaliseManifest, type ModelJson, type ModelManifest } from '../../../core/model/manifest.ts';

const manifest = (over: Partial<ModelJson> = {}): ModelManifest =>
  normaliseManifest({
  name: 'spam-edge',
  version: '1',
  file: 'model.onnx',
  sha256: 'a'.repeat(64),
  inputs: [{ name: 'ids', dtype: 'int32', shape: [1, -1] }],
  outputs: [{ name: 'probabilities', dtype: 'float32', shape: [1, 2] }],
  probabilitiesOutput: 'probabilities',
  labels: ['ham', 'spam'],
  preprocessing: { id: 'email-hash', version: 1, params: {} },
  engine: 'auto',
  cascade: { threshold: 0.9 },
  cache: { ttlSeconds: 60 },
  ...over,
}, 'cascade test manifest');

describe('Cascade', () => {
  it('routes paired edge models only, with the threshold from model.json, one router per version', () => {
    const cascade = new Cascade(DEFAULT_CASCADE_CONFIG, undefined);
    expect(cascade.routeFor(manifest({ name: 'other' }))).toBeUndefined();
    const route = cascade.routeFor(manifest());
    expect(route?.regionalModel).toBe('spam-regional');
    expect(route?.router.policy.confidence).toEqual({ measure: 'top', threshold: 0.9 });
    expect(cascade.routeFor(manifest())).toBe(route);
    const next = cascade.routeFor(manifest({ sha256: 'b'.repeat(64), cascade: { threshold: 0.5 } }));
    expect(next).not.toBe(route);
    expect(next?.router.policy.confidence.threshold).toBe(0.5);
    // one saturation gauge for the isolate
    expect(next?.router.inFlight).toBe(route?.router.inFlight);
  });

  it('uses the measure the threshold was calibrated for', () => {
    const cascade = new Cascade(DEFAULT_CASCADE_CONFIG, undefined);
    const route = cascade.routeFor(manifest({ metrics: { cascade: { measure: 'margin' } } }));
    expect(route?.router.policy.confidence.measure).toBe('margin');
  });

  it('applies per-model overrides of the budget, circuit and measure', () => {
    const circuit = { failures: 2, windowMs: 1_000, halfOpenAfterMs: 500 };
    const cascade = new Cascade({ ...DEFAULT_CASCADE_CONFIG, models: { 'spam-edge': { budgetMs: 40, circuit, measure: 'margin' } } }, undefined);
    const policy = cascade.routeFor(manifest())?.router.policy;
    expect(policy).toMatchObject({ budgetMs: 40, circuit, confidence: { measure: 'margin', threshold: 0.9 }, maxInFlight: DEFAULT_CASCADE_CONFIG.maxInFlight });
  });
});
