// Rate limiting shared by every isolate: a fixed window over Upstash Redis (the same REST
// client and settings the cache uses), one EVAL per check: the script, key layout
// (`prefix:key:window`) and answers of @upstash/ratelimit's fixedWindow, without the
// library, whose other algorithms and analytics cost edge bundles ~9.6 KB gzip (issue #18). A limit check sits in front of
// every inference request, so it must never be what fails one: each call has a time budget
// and a circuit breaker (callWithinBudget, as the cache's calls); over budget,
// failing, or behind an open circuit, the request is let through (fail open) and the
// result says why. Keys refused in this isolate stay refused locally until their window
// resets (no Redis round trip for a client that is already over its limit).
// Over budget the check is decided at once (fail open, as above), but its request is not
// aborted there: it may finish in the background up to `stragglerTimeoutMs`, at most
// `maxStragglers` at once, so its keep-alive connection is not dropped (the next check would
// pay a new one, a TLS handshake to real Upstash); core/upstash/stragglers.ts, as the cache.
// A late reply is never used: the request it was for has been let through already, and the
// breaker counted the miss at the budget.
import { createUpstashRestClient, type UpstashClientFactory } from '../upstash/rest-client.ts';
import { callWithinBudget, CircuitBreaker, type CircuitBreakerOptions } from '../router/circuit-breaker.ts';
import { createStragglers, DEFAULT_MAX_STRAGGLERS, DEFAULT_STRAGGLER_TIMEOUT_MS, type StragglerStats } from '../upstash/stragglers.ts';
import type { RateLimiter, RateLimitResult, RateLimitSpec } from './rate-limiter.ts';

/** Settings of {@link createUpstashRateLimiter}. */
export interface UpstashRateLimiterOptions extends RateLimitSpec {
  /** UPSTASH_REDIS_REST_URL */
  url: string;
  /** UPSTASH_REDIS_REST_TOKEN */
  token: string;
  /** Time budget of one check, milliseconds (default 15, like a cache call). */
  budgetMs?: number;
  /** Defaults: 3 failures in 5 s open it, a trial after 2 s (the cache's). */
  circuit?: CircuitBreakerOptions;
  /** Redis key prefix (default "rl"). */
  prefix?: string;
  /**
   * A check over its budget is decided at once, but its request may run on up to this long in
   * the background, ms (default 1,000), so its keep-alive connection is not dropped; 0 aborts at the budget.
   */
  stragglerTimeoutMs?: number;
  /** Stragglers allowed in flight at once (default 8); an over-budget check beyond them is aborted at the budget. */
  maxStragglers?: number;
  /** Refused keys remembered locally, at most (default 10,000). */
  maxBlockedKeys?: number;
  /** The client implementation (default: core's fetch client). */
  client?: UpstashClientFactory;
  now?: () => number;
}

/** Counters for tests and metrics. */
export interface UpstashRateLimiterStats extends StragglerStats {
  calls: number;
  failOpen: { over_budget: number; unavailable: number; circuit_open: number };
  localBlocks: number;
}

export const DEFAULT_RATE_LIMIT_BUDGET_MS = 15;

// KEYS[1] the window's counter; ARGV: window ms, increment. The expiry is set with the first
// increment only, so a window's key lives one window (as @upstash/ratelimit's script does).
const FIXED_WINDOW_SCRIPT = `#!lua flags=allow-key-locking
local r = redis.call("INCRBY", KEYS[1], ARGV[2])
if r == tonumber(ARGV[2]) then
  redis.call("PEXPIRE", KEYS[1], ARGV[1])
end
return r`;

export function createUpstashRateLimiter(options: UpstashRateLimiterOptions): RateLimiter & { stats(): UpstashRateLimiterStats } {
  if (!/^https?:\/\//.test(options.url)) throw new Error(`UPSTASH_REDIS_REST_URL must be an http(s) URL, got "${options.url.slice(0, 100)}"`);
  const budgetMs = options.budgetMs ?? DEFAULT_RATE_LIMIT_BUDGET_MS;
  const now = options.now ?? Date.now;
  const { limit: perWindow, windowMs } = options;
  const redis = (options.client ?? createUpstashRestClient)({ url: options.url, token: options.token, autoPipelining: true });
  const prefix = options.prefix ?? 'rl';
  const breaker = new CircuitBreaker(options.circuit ?? { failures: 3, windowMs: 5_000, halfOpenAfterMs: 2_000 }, now);
  const blocked = new Map<string, number>();
  const maxBlocked = options.maxBlockedKeys ?? 10_000;
  const stragglers = createStragglers(options.stragglerTimeoutMs ?? DEFAULT_STRAGGLER_TIMEOUT_MS, options.maxStragglers ?? DEFAULT_MAX_STRAGGLERS, redis.abortsOnSignal === true);
  const stats: Omit<UpstashRateLimiterStats, keyof StragglerStats> = { calls: 0, failOpen: { over_budget: 0, unavailable: 0, circuit_open: 0 }, localBlocks: 0 };

  const open = (reason: NonNullable<RateLimitResult['degraded']>): RateLimitResult => {
    stats.failOpen[reason]++;
    const t = now();
    return { success: true, limit: perWindow, remaining: perWindow, reset: (Math.floor(t / windowMs) + 1) * windowMs, degraded: reason };
  };

  return {
    kind: 'upstash',
    limitPerWindow: perWindow,
    windowMs,
    stats: () => ({ ...stats, failOpen: { ...stats.failOpen }, ...stragglers.stats() }),
    async limit(key) {
      const until = blocked.get(key);
      if (until !== undefined) {
        if (until > now()) {
          stats.localBlocks++;
          return { success: false, limit: perWindow, remaining: 0, reset: until };
        }
        blocked.delete(key);
      }
      const bucket = Math.floor(now() / windowMs);
      const straggler = stragglers.begin(budgetMs);
      const outcome = await callWithinBudget(breaker, budgetMs, () => {
        stats.calls++;
        return straggler.track(redis.send<number>(['EVAL', FIXED_WINDOW_SCRIPT, 1, `${prefix}:${key}:${bucket}`, windowMs, 1], straggler.timeoutMs, straggler.signal));
      });
      if (!outcome.ok) {
        // Aborted here, or left to finish; its late count is dropped (this request is decided).
        if (outcome.reason === 'over_budget') void straggler.overBudget(`Redis rate-limit check did not answer within the ${budgetMs} ms budget`);
        return open(outcome.reason);
      }
      const used = Number(outcome.value);
      const success = used <= perWindow;
      const limit = perWindow;
      const remaining = Math.max(0, perWindow - used);
      const reset = (bucket + 1) * windowMs;
      if (!success) {
        if (blocked.size >= maxBlocked) blocked.delete(blocked.keys().next().value as string);
        blocked.set(key, reset);
      }
      return { success, limit, remaining, reset };
    },
  };
}
