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
  cascade: { threshold: 0.9, regional: 'spam-regional' },
  cache: { ttlSeconds: 60 },
  ...over,
}, 'cascade test manifest');

describe('Cascade', () => {
  it('routes the edge models whose model.json names a regional model, with the threshold from model.json, one router per version', () => {
    const cascade = new Cascade(DEFAULT_CASCADE_CONFIG, undefined);
    expect(cascade.routeFor(manifest({ cascade: { threshold: 0.9 } }))).toBeUndefined();
    // The pair is the model's own declaration: any name works, none is built in.
    expect(cascade.routeFor(manifest({ name: 'other', cascade: { threshold: 0.9, regional: 'other-big' } }))?.regionalModel).toBe('other-big');
    const route = cascade.routeFor(manifest());
    expect(route?.regionalModel).toBe('spam-regional');
    expect(route?.router.policy.confidence).toEqual({ measure: 'top', threshold: 0.9 });
    expect(cascade.routeFor(manifest())).toBe(route);
    const next = cascade.routeFor(manifest({ sha256: 'b'.repeat(64), cascade: { threshold: 0.5, regional: 'spam-regional' } }));
    expect(next).not.toBe(route);
    expect(next?.router.policy.confidence.threshold).toBe(0.5);
    // one saturation gauge for the isolate
    expect(next?.router.inFlight).toBe(route?.router.inFlight);
  });

  it('escalates nothing when the cascade is turned off', () => {
    const cascade = new Cascade({ ...DEFAULT_CASCADE_CONFIG, enabled: false }, undefined);
    expect(cascade.routeFor(manifest())).toBeUndefined();
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
