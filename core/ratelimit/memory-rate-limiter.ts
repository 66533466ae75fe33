// In-memory fixed-window rate limiter: the embedded default (`npm start`) and the per-isolate
// store at the edge. Built for the hot path of a server aiming at 5,000 req/s per core: one
// Map lookup and one Map set per call, counts stored as plain numbers (no object per key, no
// timer per key). Memory is bounded twice: every count is dropped when the window rolls over
// (a fixed window needs only the current one), and within a window the oldest key is
// evicted once `maxKeys` are tracked (that key starts again from zero: lenient, never wrong
// in the refusing direction).
import type { RateLimiter, RateLimitResult, RateLimitSpec } from './rate-limiter.ts';

/** Settings of {@link MemoryRateLimiter}. */
export interface MemoryRateLimiterOptions extends RateLimitSpec {
  /** Keys tracked per window before the oldest is evicted (default 100,000, about 10 MB). */
  maxKeys?: number;
  now?: () => number;
}

export class MemoryRateLimiter implements RateLimiter {
  readonly kind = 'memory';
  readonly limitPerWindow: number;
  readonly windowMs: number;
  readonly maxKeys: number;
  readonly #now: () => number;
  #counts = new Map<string, number>();
  #windowEnd = 0;
  /** Keys evicted before their window ended (for tests and metrics). */
  evictions = 0;

  constructor(options: MemoryRateLimiterOptions) {
    if (!(options.limit >= 1) || !(options.windowMs >= 1)) throw new RangeError(`rate limit must be ≥ 1 request per ≥ 1 ms, got ${options.limit}/${options.windowMs}ms`);
    this.limitPerWindow = options.limit;
    this.windowMs = options.windowMs;
    this.maxKeys = options.maxKeys ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  /** Keys counted in the current window. */
  get size(): number {
    return this.#counts.size;
  }

  limit(key: string): RateLimitResult {
    const now = this.#now();
    if (now >= this.#windowEnd) {
      // Windows are aligned to the epoch, as @upstash/ratelimit's are: reset times agree across isolates.
      this.#counts.clear();
      this.#windowEnd = (Math.floor(now / this.windowMs) + 1) * this.windowMs;
    }
    const counts = this.#counts;
    const used = (counts.get(key) ?? 0) + 1;
    if (used === 1 && counts.size >= this.maxKeys) {
      // Map iteration is insertion order: the first key is the oldest.
      const oldest = counts.keys().next().value as string;
      counts.delete(oldest);
      this.evictions++;
    }
    const limit = this.limitPerWindow;
    // Refused requests stop counting at limit + 1, so a flood does not push the count (a number) anywhere.
    if (used <= limit + 1) counts.set(key, used);
    return { success: used <= limit, limit, remaining: used < limit ? limit - used : 0, reset: this.#windowEnd };
  }
}
