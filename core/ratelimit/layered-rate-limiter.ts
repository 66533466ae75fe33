// The rate-limit policy when a fleet-wide store (Upstash) is configured: a local in-memory
// limiter is the floor and always decides first; the fleet count only refines it.
//   - local refuses  → refused, no Redis call (a flood never reaches the fleet store);
//   - local allows   → the fleet count decides (it sees every isolate's share of the client);
//   - the fleet count cannot decide (over its time budget, an error, its circuit open)
//                    → the local verdict stands (marked `degraded`: counted as fail_open_*).
// So fail-open applies only to the refinement: overloading the store (which a client can
// do) lifts the limit from "limit across the fleet" to "limit per isolate", never to
// "no limit". Before this policy, one budget and one circuit breaker shared by every key let
// 8 concurrent connections get 3,000 of 3,000 requests through a 100/60 s limit.
import type { RateLimiter, RateLimitResult } from './rate-limiter.ts';

/** A limiter that decides without awaiting (the in-memory one). */
export type SyncRateLimiter = Omit<RateLimiter, 'limit'> & { limit(key: string): RateLimitResult };

/** A floor limiter (synchronous, in memory) refined by a shared one. */
export class LayeredRateLimiter implements RateLimiter {
  readonly kind: string;
  readonly limitPerWindow: number;
  readonly windowMs: number;

  constructor(
    readonly floor: SyncRateLimiter,
    readonly fleet: RateLimiter,
  ) {
    if (floor.limitPerWindow < fleet.limitPerWindow || floor.windowMs !== fleet.windowMs) {
      throw new RangeError('the local floor must allow at least the fleet limit over the same window');
    }
    this.kind = `${fleet.kind}+${floor.kind}`;
    this.limitPerWindow = fleet.limitPerWindow;
    this.windowMs = fleet.windowMs;
  }

  limit(key: string): RateLimitResult | Promise<RateLimitResult> {
    const local = this.floor.limit(key);
    if (!local.success) return local;
    const fleet = this.fleet.limit(key);
    return fleet instanceof Promise ? fleet.then((verdict) => refine(local, verdict)) : refine(local, fleet as RateLimitResult);
  }
}

function refine(local: RateLimitResult, fleet: RateLimitResult): RateLimitResult {
  if (fleet.degraded) return { ...local, degraded: fleet.degraded };
  if (!fleet.success) return fleet;
  return { ...fleet, remaining: Math.min(fleet.remaining, local.remaining) };
}
