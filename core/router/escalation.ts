// The escalation decision: where one request is served and, when the answer is degraded,
// why. Pure, so every branch of the cascade is unit-tested without a network.
import type { CircuitState } from './circuit-breaker.ts';
import type { RegionalFailureReason } from './regional-tier.ts';

/** Why an answer is not the one the cascade wanted (returned to the client as `reason`). */
export type DegradedReason = RegionalFailureReason | 'circuit_open' | 'no_regional_tier';

/** Why a request went to the regional tier. */
export type EscalationCause = 'not_confident' | 'saturated';

/** What the router should do before any call is made. */
export type RouteDecision =
  | { route: 'edge'; cause: 'confident' }
  | { route: 'regional'; cause: EscalationCause }
  | { route: 'edge-degraded'; reason: 'circuit_open' | 'no_regional_tier' }
  | { route: 'unavailable'; reason: 'circuit_open' | 'no_regional_tier' };

/** Facts the decision depends on. `confident` is unknown (undefined) before the edge model ran. */
export interface RouteFacts {
  saturated: boolean;
  confident?: boolean;
  hasRegionalTier: boolean;
  circuit: CircuitState;
}

/**
 * Saturated PoP: straight to regional, or unavailable (503) when the regional tier cannot
 * be called. Otherwise the edge model decides: confident → edge; not confident → regional,
 * or the edge answer degraded when the regional tier cannot be called.
 */
export function decideRoute(facts: RouteFacts): RouteDecision {
  const blocked: 'circuit_open' | 'no_regional_tier' | null = !facts.hasRegionalTier
    ? 'no_regional_tier'
    : facts.circuit === 'open'
      ? 'circuit_open'
      : null;
  if (facts.saturated) return blocked ? { route: 'unavailable', reason: blocked } : { route: 'regional', cause: 'saturated' };
  if (facts.confident === undefined) throw new Error('decideRoute: run the edge model first when the PoP is not saturated');
  if (facts.confident) return { route: 'edge', cause: 'confident' };
  return blocked ? { route: 'edge-degraded', reason: blocked } : { route: 'regional', cause: 'not_confident' };
}

/** Seconds for Retry-After on a 503: until the circuit half-opens, at least 1. */
export function retryAfterSeconds(retryAfterMs: number): number {
  return Math.max(1, Math.ceil(retryAfterMs / 1000));
}
