// Over-budget Upstash calls that may finish in the background ("stragglers"), shared by the
// remote cache and the rate limiter. A caller stops waiting at its budget, but aborting the
// HTTP request there drops its keep-alive connection and the next call pays a new one (TCP,
// or a TLS handshake to real Upstash), which made misses chain (README "The cache"). So an
// over-budget request may run on up to `timeoutMs`, at most `max` at once; beyond that it is
// aborted at the budget, as before, so a dead or silent Redis cannot pile up requests.
// The caller's decision is made at the budget; a straggler's outcome never changes it.
//
// A client that cannot abort on a signal (the node adapter's @upstash/redis) ends a request
// only at the timeout it was given, so for it the long timeout is granted up front, to at most
// `max` calls in flight; the others get the budget as their timeout (aborted there, as before).

/** Defaults of the straggler timeout and of the number in flight. */
export const DEFAULT_STRAGGLER_TIMEOUT_MS = 1_000;
export const DEFAULT_MAX_STRAGGLERS = 8;

/** Counters every user of {@link Stragglers} reports in its stats. */
export interface StragglerStats {
  /** Over-budget calls left to finish in the background (their connection stays in the pool). */
  stragglers: number;
  /** Over-budget calls aborted at the budget because `max` were already in flight. */
  stragglersAborted: number;
  /** Stragglers in flight now. */
  stragglersInFlight: number;
}

/** One call's side of the bookkeeping: begun before the request, asked once the budget has run out. */
export interface StragglerCall {
  /** The request's hard timeout: the straggler timeout when it may run on, else the budget. */
  readonly timeoutMs: number;
  /** Aborted when the call is not allowed to run on past its budget. */
  readonly signal: AbortSignal;
  /** Registers the request (call once, as it is made); returns it. */
  track<T>(request: Promise<T>): Promise<T>;
  /**
   * The budget ran out: aborts the request, or lets it run on and returns its late outcome
   * (`{value}`, or undefined when it failed). Undefined when it was aborted or had settled.
   */
  overBudget<T>(message: string): Promise<{ value: T } | undefined> | undefined;
}

export interface Stragglers {
  /** Starts the bookkeeping of one call whose caller waits `limitMs`. */
  begin(limitMs: number): StragglerCall;
  stats(): StragglerStats;
}

/** Straggler bookkeeping for one client (`abortable`: its requests end when their signal aborts). */
export function createStragglers(timeoutMs: number, max: number, abortable: boolean): Stragglers {
  if (!(timeoutMs >= 0) || !(max >= 0)) throw new RangeError(`stragglerTimeoutMs and maxStragglers must be ≥ 0, got ${timeoutMs} and ${max}`);
  let longCalls = 0; // calls in flight with the long timeout, for a client that cannot abort on a signal
  const counters: StragglerStats = { stragglers: 0, stragglersAborted: 0, stragglersInFlight: 0 };

  return {
    stats: () => ({ ...counters }),
    begin(limitMs) {
      const controller = new AbortController();
      let mayStraggle = timeoutMs > limitMs;
      let capped = false;
      if (mayStraggle && !abortable && longCalls >= max) (mayStraggle = false), (capped = true);
      let call: Promise<unknown> | undefined;
      let settled = false;
      return {
        timeoutMs: mayStraggle ? timeoutMs : limitMs,
        signal: controller.signal,
        track(request) {
          call = request;
          const long = mayStraggle && !abortable;
          if (long) longCalls++;
          const done = () => {
            settled = true;
            if (long) longCalls--;
          };
          request.then(done, done);
          return request;
        },
        overBudget<T>(message: string) {
          if (!call || settled) return undefined;
          if (abortable && mayStraggle && counters.stragglersInFlight >= max) (mayStraggle = false), (capped = true);
          if (!mayStraggle) {
            if (capped) counters.stragglersAborted++;
            controller.abort(new DOMException(message, 'TimeoutError'));
            return undefined;
          }
          counters.stragglers++;
          counters.stragglersInFlight++;
          const late = (call as Promise<T>).then(
            (value) => ({ value }),
            () => undefined,
          );
          void late.then(() => counters.stragglersInFlight--);
          return late;
        },
      };
    },
  };
}
