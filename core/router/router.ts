// The ensemble router: runs the edge model, trusts it when it is confident, otherwise
// escalates to the regional tier within a time budget behind a circuit breaker, and when
// the PoP is saturated sends requests straight to the regional tier. Every answer says
// which tier produced it and, when degraded, why.
import { CircuitBreaker, type CircuitBreakerOptions, type Clock } from './circuit-breaker.ts';
import { assessConfidence, type ConfidenceAssessment, type ConfidencePolicy } from './confidence.ts';
import { decideRoute, retryAfterSeconds, type DegradedReason, type EscalationCause } from './escalation.ts';
import { InFlightCounter } from './in-flight.ts';
import type { RegionalOutcome, RegionalPrediction, RegionalRequest, RegionalTier } from './regional-tier.ts';

/** Per-model routing policy. */
export interface RouterPolicy {
  confidence: ConfidencePolicy;
  /** Time allowed for one regional call, milliseconds; the call is aborted after it. */
  budgetMs: number;
  /** Concurrent requests in this isolate beyond which the PoP counts as saturated. */
  maxInFlight: number;
  circuit: CircuitBreakerOptions;
}

/** Defaults: a 250 ms budget, 64 in flight, open after 5 failures in 10 s, retry after 5 s. */
export const DEFAULT_ROUTER_POLICY: Omit<RouterPolicy, 'confidence'> = {
  budgetMs: 250,
  maxInFlight: 64,
  circuit: { failures: 5, windowMs: 10_000, halfOpenAfterMs: 5_000 },
};

/** What the edge model produced; `probabilities` in the model's label order. */
export interface EdgeResult {
  probabilities: ArrayLike<number>;
}

/** One request as the router sees it: how to run the edge model, what to send regionally. */
export interface RouteInput<E extends EdgeResult> {
  runEdge: () => Promise<E>;
  regionalRequest: Omit<RegionalRequest, 'deadlineMs'>;
}

/** Facts about the regional call, when one was made. */
export interface RegionalCallFacts {
  cause: EscalationCause;
  /** Wall time of the call as seen by the router, milliseconds. */
  ms: number;
  outcome: 'ok' | DegradedReason;
  message?: string;
}

/** The router's answer. The handler turns it into JSON (or a 503 for `unavailable`). */
export type RoutedAnswer<E extends EdgeResult> =
  | { tier: 'edge'; degraded: false; edge: E; confidence: ConfidenceAssessment }
  | {
      tier: 'edge';
      degraded: true;
      reason: DegradedReason;
      message: string;
      edge: E;
      confidence: ConfidenceAssessment;
      regionalCall?: RegionalCallFacts;
    }
  | {
      tier: 'regional';
      degraded: false;
      regional: RegionalPrediction;
      cause: EscalationCause;
      /** Absent when the PoP was saturated (the edge model did not run). */
      edge?: E;
      confidence?: ConfidenceAssessment;
      regionalCall: RegionalCallFacts;
    }
  | {
      tier: 'none';
      unavailable: true;
      reason: DegradedReason;
      message: string;
      retryAfterSeconds: number;
      regionalCall?: RegionalCallFacts;
    };

type RegionalCall =
  | { ok: true; prediction: RegionalPrediction; facts: RegionalCallFacts }
  | { ok: false; reason: DegradedReason; message: string; facts: RegionalCallFacts };

/** Options beyond the policy. */
export interface EnsembleRouterOptions {
  policy: RouterPolicy;
  /** The regional tier; without one, unconfident answers are degraded (`no_regional_tier`). */
  regional?: RegionalTier;
  /** Shared across models of one isolate when given (saturation is a property of the PoP). */
  inFlight?: InFlightCounter;
  now?: Clock;
}

/** Routes requests for one model. */
export class EnsembleRouter {
  readonly policy: RouterPolicy;
  readonly breaker: CircuitBreaker;
  readonly inFlight: InFlightCounter;
  readonly regional: RegionalTier | undefined;
  readonly #now: Clock;

  constructor(options: EnsembleRouterOptions) {
    if (!(options.policy.budgetMs > 0)) throw new RangeError(`budgetMs must be > 0, got ${options.policy.budgetMs}`);
    this.policy = options.policy;
    this.#now = options.now ?? (() => Date.now());
    this.breaker = new CircuitBreaker(options.policy.circuit, this.#now);
    this.inFlight = options.inFlight ?? new InFlightCounter(options.policy.maxInFlight);
    this.regional = options.regional;
  }

  /** Serves one request. Never rejects for a regional failure; rejects only if `runEdge` does. */
  async route<E extends EdgeResult>(input: RouteInput<E>): Promise<RoutedAnswer<E>> {
    const ticket = this.inFlight.enter();
    try {
      const facts = { saturated: ticket.saturated, hasRegionalTier: this.regional !== undefined, circuit: this.breaker.state };
      if (ticket.saturated) {
        const decision = decideRoute(facts);
        if (decision.route === 'unavailable') return this.#unavailable(decision.reason);
        const call = await this.#callRegional(input.regionalRequest, 'saturated');
        if (call.ok) return { tier: 'regional', degraded: false, regional: call.prediction, cause: 'saturated', regionalCall: call.facts };
        return { ...this.#unavailable(call.reason, call.message), regionalCall: call.facts };
      }

      const edge = await input.runEdge();
      const confidence = assessConfidence(edge.probabilities, this.policy.confidence);
      const decision = decideRoute({ ...facts, confident: confidence.confident });
      if (decision.route === 'edge') return { tier: 'edge', degraded: false, edge, confidence };
      if (decision.route === 'edge-degraded' || decision.route === 'unavailable') {
        return { tier: 'edge', degraded: true, reason: decision.reason, message: blockedMessage(decision.reason), edge, confidence };
      }
      const call = await this.#callRegional(input.regionalRequest, 'not_confident');
      if (call.ok) {
        return { tier: 'regional', degraded: false, regional: call.prediction, cause: 'not_confident', edge, confidence, regionalCall: call.facts };
      }
      return {
        tier: 'edge',
        degraded: true,
        reason: call.reason,
        message: call.message,
        edge,
        confidence,
        regionalCall: call.facts,
      };
    } finally {
      ticket.release();
    }
  }

  /** One regional call under the breaker and the budget; the outcome feeds the breaker. */
  async #callRegional(request: Omit<RegionalRequest, 'deadlineMs'>, cause: EscalationCause): Promise<RegionalCall> {
    const regional = this.regional as RegionalTier;
    if (!this.breaker.tryAcquire()) {
      // Half-open with its single trial already running: treat as open.
      const message = blockedMessage('circuit_open');
      return { ok: false, reason: 'circuit_open', message, facts: { cause, ms: 0, outcome: 'circuit_open', message } };
    }
    // Durations use the monotonic clock; #now (wall clock, injectable) drives the breaker.
    const started = performance.now();
    const budgetMs = this.policy.budgetMs;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    // The race guarantees the answer at the budget even if a tier ignores the abort signal.
    const timedOut = new Promise<RegionalOutcome>((resolve) => {
      timer = setTimeout(() => {
        controller.abort(new DOMException(`regional budget of ${budgetMs} ms exceeded`, 'TimeoutError'));
        resolve({ ok: false, reason: 'timeout', message: `regional tier did not answer within the ${budgetMs} ms budget` });
      }, budgetMs);
    });
    let threw = false;
    const call = regional
      .invoke({ ...request, deadlineMs: Date.now() + budgetMs }, controller.signal)
      .catch((error: unknown): RegionalOutcome => {
        threw = true;
        return { ok: false, reason: 'bad_response', message: `regional tier (${regional.kind}) failed: ${error instanceof Error ? error.message : String(error)}` };
      });
    const outcome = await Promise.race([call, timedOut]);
    clearTimeout(timer);
    // The breaker measures whether the tier answers in time. An answer that came back in time
    // but failed its check (bad_response: another model, unknown labels, out-of-range scores)
    // is not a breaker failure: such an answer can depend on the request, and one client's
    // requests must not open the circuit for everyone (#17 items 1 and 5). It is degraded,
    // never cached, and counted by its reason in the escalation metrics.
    if (outcome.ok || (outcome.reason === 'bad_response' && !threw)) this.breaker.recordSuccess();
    else this.breaker.recordFailure();
    const ms = performance.now() - started;
    if (outcome.ok) return { ok: true, prediction: outcome.prediction, facts: { cause, ms, outcome: 'ok' } };
    return { ok: false, reason: outcome.reason, message: outcome.message, facts: { cause, ms, outcome: outcome.reason, message: outcome.message } };
  }

  #unavailable(reason: DegradedReason, message = blockedMessage(reason)): Extract<RoutedAnswer<never>, { tier: 'none' }> {
    return { tier: 'none', unavailable: true, reason, message, retryAfterSeconds: retryAfterSeconds(this.breaker.retryAfterMs()) };
  }
}

function blockedMessage(reason: DegradedReason): string {
  if (reason === 'circuit_open') return 'regional tier skipped: its circuit is open after repeated failures';
  if (reason === 'no_regional_tier') return 'no regional tier is configured for this model';
  return `regional tier failed (${reason})`;
}
