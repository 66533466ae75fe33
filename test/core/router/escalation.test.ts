import { describe, expect, it } from 'vitest';
import { decideRoute, retryAfterSeconds } from '../../../core/router/escalation.ts';

describe('decideRoute', () => {
  const base = { saturated: false, hasRegionalTier: true, circuit: 'closed' as const };

  it('confident → edge; not confident → regional', () => {
    expect(decideRoute({ ...base, confident: true })).toEqual({ route: 'edge', cause: 'confident' });
    expect(decideRoute({ ...base, confident: false })).toEqual({ route: 'regional', cause: 'not_confident' });
  });

  it('not confident with the circuit open or no tier → degraded edge answer with the reason', () => {
    expect(decideRoute({ ...base, confident: false, circuit: 'open' })).toEqual({ route: 'edge-degraded', reason: 'circuit_open' });
    expect(decideRoute({ ...base, confident: false, hasRegionalTier: false })).toEqual({ route: 'edge-degraded', reason: 'no_regional_tier' });
    // half-open lets a trial through
    expect(decideRoute({ ...base, confident: false, circuit: 'half-open' })).toEqual({ route: 'regional', cause: 'not_confident' });
  });

  it('saturated → regional without the edge model, unavailable when regional is blocked', () => {
    expect(decideRoute({ ...base, saturated: true })).toEqual({ route: 'regional', cause: 'saturated' });
    expect(decideRoute({ ...base, saturated: true, circuit: 'open' })).toEqual({ route: 'unavailable', reason: 'circuit_open' });
    expect(() => decideRoute(base)).toThrow(/edge model first/);
  });

  it('Retry-After is whole seconds, at least 1', () => {
    expect(retryAfterSeconds(0)).toBe(1);
    expect(retryAfterSeconds(1_001)).toBe(2);
  });
});
