// The gate's decision counters behind edgeinfer_rate_limit_decisions_total: every verdict the
// handler acts on lands in exactly one outcome, fail-open ones by why.
import { describe, expect, it } from 'vitest';
import { JsonReply } from '../../../core/http/reply.ts';
import { RateLimitGate } from '../../../core/ratelimit/rate-limit-gate.ts';
import type { RateLimiter, RateLimitResult } from '../../../core/ratelimit/rate-limiter.ts';

/** A stand-in store answering a scripted sequence of verdicts (a unit test of the gate alone). */
function scripted(verdicts: RateLimitResult[]): RateLimiter {
  let i = 0;
  return { kind: 'scripted', limitPerWindow: 2, windowMs: 60_000, limit: () => verdicts[i++ % verdicts.length] as RateLimitResult };
}

describe('RateLimitGate counts', () => {
  it('counts allowed, refused and fail-open decisions apart', () => {
    const reset = Date.now() + 60_000;
    const gate = new RateLimitGate(
      scripted([
        { success: true, limit: 2, remaining: 1, reset },
        { success: false, limit: 2, remaining: 0, reset },
        { success: true, limit: 2, remaining: 2, reset, degraded: 'over_budget' },
        { success: true, limit: 2, remaining: 2, reset, degraded: 'circuit_open' },
        { success: true, limit: 2, remaining: 2, reset, degraded: 'circuit_open' },
      ]),
    );
    for (let n = 0; n < 5; n++) {
      const verdict = gate.limiter.limit('client') as RateLimitResult;
      if (verdict.success) gate.annotate(new JsonReply({ ok: true }), verdict);
      else expect(gate.refusal(verdict).status).toBe(429);
    }
    expect(gate.counts).toEqual({ allowed: 1, refused: 1, failOpen: { over_budget: 1, circuit_open: 2 } });
  });

  it('a fail-open answer carries no RateLimit headers; an allowed one does', () => {
    const reset = Date.now() + 30_000;
    const gate = new RateLimitGate(scripted([]));
    const open = gate.annotate(new JsonReply({}), { success: true, limit: 2, remaining: 2, reset, degraded: 'unavailable' });
    expect(open.headers['ratelimit-limit']).toBeUndefined();
    const allowed = gate.annotate(new JsonReply({}), { success: true, limit: 2, remaining: 1, reset });
    expect(allowed.headers).toMatchObject({ 'ratelimit-limit': '2', 'ratelimit-remaining': '1' });
  });
});
