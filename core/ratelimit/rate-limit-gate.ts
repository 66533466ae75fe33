// What the handler asks before an inference route runs: the client's key (client-key.ts),
// the limiter's verdict, and the HTTP shape of the answer: on success three IETF
// `RateLimit-*` headers; on refusal a 429 `rate_limited` with `Retry-After` (seconds) and
// the `X-RateLimit-*` headers older clients read as well.
import type { CoreRequest } from '../http/core-request.ts';
import type { RequestContext } from '../handler.ts';
import { HttpError } from '../http/errors.ts';
import { setHeader, type RouteResult } from '../http/reply.ts';
import { clientKey, type ClientKeyOptions } from './client-key.ts';
import type { RateLimiter, RateLimitResult } from './rate-limiter.ts';

/** Decisions of one isolate's gate since it started (exported in /metrics). */
export interface RateLimitCounts {
  allowed: number;
  refused: number;
  /** Let through because the store could not decide within its budget, by why. */
  failOpen: Partial<Record<NonNullable<RateLimitResult['degraded']>, number>>;
}

export class RateLimitGate {
  readonly counts: RateLimitCounts = { allowed: 0, refused: 0, failOpen: {} };

  constructor(
    readonly limiter: RateLimiter,
    readonly keys: ClientKeyOptions = {},
    readonly now: () => number = Date.now,
  ) {}

  /** The verdict for this request; undefined when nothing identifies the client (not limited). */
  check(request: CoreRequest, context: RequestContext): RateLimitResult | Promise<RateLimitResult> | undefined {
    const key = clientKey(request, context, this.keys);
    return key === undefined ? undefined : this.limiter.limit(key);
  }

  /** The 429 for a refused request. */
  refusal(result: RateLimitResult): HttpError {
    this.counts.refused++;
    const seconds = Math.max(1, Math.ceil((result.reset - this.now()) / 1_000));
    return new HttpError(429, 'rate_limited', `too many requests: the limit is ${result.limit} per ${formatWindow(this.limiter.windowMs)} for each client; retry after ${seconds} s`, {
      'retry-after': String(seconds),
      'ratelimit-limit': String(result.limit),
      'ratelimit-remaining': '0',
      'ratelimit-reset': String(seconds),
      'x-ratelimit-limit': String(result.limit),
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': String(Math.ceil(result.reset / 1_000)),
    });
  }

  /** Adds the RateLimit-* headers to an allowed request's answer (skipped when the store could not decide). */
  annotate<R extends RouteResult>(result: R, verdict: RateLimitResult): R {
    if (verdict.degraded) {
      this.counts.failOpen[verdict.degraded] = (this.counts.failOpen[verdict.degraded] ?? 0) + 1;
      return result;
    }
    this.counts.allowed++;
    setHeader(result, 'ratelimit-limit', String(verdict.limit));
    setHeader(result, 'ratelimit-remaining', String(verdict.remaining));
    setHeader(result, 'ratelimit-reset', String(Math.max(0, Math.ceil((verdict.reset - this.now()) / 1_000))));
    return result;
  }
}

function formatWindow(ms: number): string {
  return ms % 1_000 === 0 ? `${ms / 1_000} s` : `${ms} ms`;
}
