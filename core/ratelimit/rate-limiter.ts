// The rate-limiter contract every store implements (in memory, Upstash), and the limit
// spec `EDGEINFER_RATE_LIMIT` takes ("600/60s": 600 requests per client key per 60 s
// window; "off"). Fixed windows aligned to the epoch, the same arithmetic as
// @upstash/ratelimit's fixedWindow, so both stores answer alike.

/** What one `limit(key)` call decides. */
export interface RateLimitResult {
  /** True when the request may proceed. */
  success: boolean;
  /** Requests allowed per window. */
  limit: number;
  /** Requests left in this window after this one (0 when refused). */
  remaining: number;
  /** When the window resets: Unix time in milliseconds. */
  reset: number;
  /** Set when the store could not decide and the request was let through (fail open). */
  degraded?: 'over_budget' | 'unavailable' | 'circuit_open';
}

/** A store of per-key counters. Synchronous where it can be (in memory), so the hot path pays no await. */
export interface RateLimiter {
  readonly kind: string;
  readonly limitPerWindow: number;
  readonly windowMs: number;
  limit(key: string): RateLimitResult | Promise<RateLimitResult>;
}

/** A parsed limit: `limit` requests per `windowMs`. */
export interface RateLimitSpec {
  limit: number;
  windowMs: number;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Parses "600/60s", "10/1m", "5/500ms"; "off" → undefined. Throws with the expected form otherwise. */
export function parseRateLimitSpec(raw: string): RateLimitSpec | undefined {
  const text = raw.trim().toLowerCase();
  if (text === 'off' || text === '0' || text === 'false') return undefined;
  const match = /^(\d+)\s*\/\s*(\d+)?\s*(ms|s|m|h)$/.exec(text);
  const limit = match ? Number(match[1]) : Number.NaN;
  const windowMs = match ? Number(match[2] ?? 1) * (UNIT_MS[match[3] as string] as number) : Number.NaN;
  if (!(limit >= 1) || !Number.isSafeInteger(limit) || !(windowMs >= 1)) {
    throw new Error(`EDGEINFER_RATE_LIMIT must look like "600/60s" (requests per window; units ms, s, m, h) or "off", got "${raw}"`);
  }
  return { limit, windowMs };
}

/** "600/60s" for logs and the README. */
export function formatRateLimitSpec(spec: RateLimitSpec): string {
  return spec.windowMs % 1_000 === 0 ? `${spec.limit}/${spec.windowMs / 1_000}s` : `${spec.limit}/${spec.windowMs}ms`;
}
