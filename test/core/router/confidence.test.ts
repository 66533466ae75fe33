import { describe, expect, it } from 'vitest';
import { assessConfidence } from '../../../core/router/confidence.ts';

describe('assessConfidence', () => {
  it('applies the threshold to the top probability', () => {
    const a = assessConfidence([0.1, 0.9], { measure: 'top', threshold: 0.9 });
    expect(a).toMatchObject({ confident: true, best: 1, top: 0.9, score: 0.9 });
    expect(a.margin).toBeCloseTo(0.8, 12);
    expect(assessConfidence([0.11, 0.89], { measure: 'top', threshold: 0.9 }).confident).toBe(false);
  });

  it('applies the threshold to the margin between the two best', () => {
    const p = new Float32Array([0.2, 0.5, 0.3]);
    const a = assessConfidence(p, { measure: 'margin', threshold: 0.25 });
    expect(a.best).toBe(1);
    expect(a.score).toBeCloseTo(0.2, 6);
    expect(a.confident).toBe(false);
    expect(assessConfidence(p, { measure: 'margin', threshold: 0.15 }).confident).toBe(true);
  });

  it('never trusts an uncalibrated model or a NaN output', () => {
    expect(assessConfidence([0, 1], { measure: 'top', threshold: null }).confident).toBe(false);
    expect(assessConfidence([NaN, NaN], { measure: 'top', threshold: 0 }).confident).toBe(false);
    expect(() => assessConfidence([], { measure: 'top', threshold: 0.5 })).toThrow(/empty/);
  });
});
