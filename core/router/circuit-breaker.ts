// Circuit breaker for the regional tier: after `failures` failures inside `windowMs` the
// circuit opens and escalations are skipped (the edge answers, degraded) instead of each
// request paying the full time budget against a tier that is down. After
// `halfOpenAfterMs` one trial call is let through; its outcome closes or re-opens it.

/** Breaker settings, per model (the router policy's `circuit`). */
export interface CircuitBreakerOptions {
  /** Failures within `windowMs` that open the circuit. */
  failures: number;
  /** Sliding window in which failures are counted. */
  windowMs: number;
  /** Time the circuit stays open before a single trial call is allowed. */
  halfOpenAfterMs: number;
}

/** `closed`: calls pass; `open`: calls are refused; `half-open`: one trial call passes. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** Clock in milliseconds; injectable so tests can step time instead of sleeping. */
export type Clock = () => number;

/** A three-state circuit breaker with a sliding failure window. */
export class CircuitBreaker {
  readonly options: CircuitBreakerOptions;
  readonly #now: Clock;
  #state: CircuitState = 'closed';
  #failureTimes: number[] = [];
  #openedAt = 0;
  #trialInFlight = false;

  constructor(options: CircuitBreakerOptions, now: Clock = () => Date.now()) {
    for (const key of ['failures', 'windowMs', 'halfOpenAfterMs'] as const) {
      const value = options[key];
      if (!Number.isFinite(value) || value < (key === 'failures' ? 1 : 0)) {
        throw new RangeError(`circuit.${key} must be a finite number ${key === 'failures' ? '≥ 1' : '≥ 0'}, got ${value}`);
      }
    }
    this.options = { ...options };
    this.#now = now;
  }

  /** Current state; an open circuit whose delay has passed reports `half-open`. */
  get state(): CircuitState {
    if (this.#state === 'open' && this.#now() - this.#openedAt >= this.options.halfOpenAfterMs) {
      this.#state = 'half-open';
      this.#trialInFlight = false;
    }
    return this.#state;
  }

  /**
   * Asks to make a call. True when the circuit is closed, or when it is half-open and no
   * trial is already running (that call becomes the trial). Every granted call must be
   * followed by `recordSuccess` or `recordFailure`.
   */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'half-open' && !this.#trialInFlight) {
      this.#trialInFlight = true;
      return true;
    }
    return false;
  }

  /** A granted call succeeded: a half-open circuit closes and the failure window is cleared. */
  recordSuccess(): void {
    if (this.#state === 'half-open') {
      this.#state = 'closed';
      this.#trialInFlight = false;
      this.#failureTimes = [];
    }
  }

  /** A granted call failed: a half-open circuit re-opens; a closed one opens at the threshold. */
  recordFailure(): void {
    const now = this.#now();
    if (this.#state === 'half-open') {
      this.#open(now);
      return;
    }
    if (this.#state === 'open') return;
    this.#failureTimes.push(now);
    const windowStart = now - this.options.windowMs;
    while (this.#failureTimes.length > 0 && (this.#failureTimes[0] as number) <= windowStart) this.#failureTimes.shift();
    if (this.#failureTimes.length >= this.options.failures) this.#open(now);
  }

  /** Milliseconds until an open circuit lets a trial through (0 when not open); feeds Retry-After. */
  retryAfterMs(): number {
    if (this.state !== 'open') return 0;
    return Math.max(0, this.#openedAt + this.options.halfOpenAfterMs - this.#now());
  }

  /** Failures currently counted in the window (for metrics). */
  recentFailures(): number {
    const windowStart = this.#now() - this.options.windowMs;
    return this.#failureTimes.filter((t) => t > windowStart).length;
  }

  #open(now: number): void {
    this.#state = 'open';
    this.#openedAt = now;
    this.#trialInFlight = false;
    this.#failureTimes = [];
  }
}

/** What {@link callWithinBudget} gives back: the value, or why there is none. */
export type BudgetedCall<T> =
  | { ok: true; value: T; ms: number }
  | { ok: false; reason: 'circuit_open'; ms: number }
  | { ok: false; reason: 'over_budget'; ms: number }
  | { ok: false; reason: 'unavailable'; error: unknown; ms: number };

/**
 * Runs `run` behind `breaker` within `limitMs` (the Redis calls of the cache and the rate
 * limiter): refused while the circuit is open, a failure when over budget or rejected.
 * Never rejects; a call that loses the race still settles later, its rejection handled.
 */
export async function callWithinBudget<T>(breaker: CircuitBreaker, limitMs: number, run: () => Promise<T>): Promise<BudgetedCall<T>> {
  if (!breaker.tryAcquire()) return { ok: false, reason: 'circuit_open', ms: 0 };
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const overBudget = new Promise<'over_budget'>((resolve) => {
    timer = setTimeout(() => resolve('over_budget'), limitMs);
  });
  const call = run().then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  const outcome = await Promise.race([call, overBudget]);
  clearTimeout(timer);
  const ms = performance.now() - started;
  if (outcome === 'over_budget') {
    breaker.recordFailure();
    return { ok: false, reason: 'over_budget', ms };
  }
  if ('error' in outcome) {
    breaker.recordFailure();
    return { ok: false, reason: 'unavailable', error: outcome.error, ms };
  }
  breaker.recordSuccess();
  return { ok: true, value: outcome.value, ms };
}
