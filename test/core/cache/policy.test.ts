import { describe, expect, it } from 'vitest';
import { CachePolicy } from '../../../core/cache/policy.ts';
import { DEFAULT_PRICE_TABLE, perMillion, regionalCallUsd } from '../../../core/cache/price-table.ts';

describe('CachePolicy', () => {
  it('fixed modes: off stores nothing, l1 never asks L2, always asks L2 for every tier', () => {
    expect(new CachePolicy({ mode: 'off' }).decide('regional')).toMatchObject({ useL1: false, askL2: false, writeL2: false });
    expect(new CachePolicy({ mode: 'l1' }).decide('regional')).toMatchObject({ useL1: true, askL2: false, writeL2: false });
    const always = new CachePolicy({ mode: 'always' });
    expect(always.decide('edge')).toMatchObject({ useL1: true, askL2: true, writeL2: true });
    expect(always.decide('regional')).toMatchObject({ useL1: true, askL2: true, writeL2: true });
    expect(() => new CachePolicy({ mode: 'sometimes' as never })).toThrow(/auto, always, l1, off/);
  });

  it('the price table gives the DESIGN.md arithmetic: a regional call ≈ $0.53/1M, a Redis command $2/1M', () => {
    expect(perMillion(regionalCallUsd(DEFAULT_PRICE_TABLE))).toBeCloseTo(0.5333, 3);
    expect(perMillion(DEFAULT_PRICE_TABLE.redisCommandUsd)).toBe(2);
  });

  it('auto at list prices: L2 does not pay for edge answers nor for a cheap regional model, even at a 100% hit rate', () => {
    const policy = new CachePolicy({ mode: 'auto' });
    for (let i = 0; i < 200; i++) policy.recordL2Lookup('regional', true, 3);
    const regional = policy.decide('regional');
    expect(regional.askL2).toBe(false);
    expect(regional.comparison).toMatchObject({ hitRate: 1, hitRateSource: 'observed', samples: 200 });
    // saving 1 × $0.533 + 1 × 40 ms × $0.02 vs lookup $2 + 3 ms × $0.02 (per 1M)
    expect(regional.comparison?.netUsdPerMillion).toBeCloseTo(0.5333 + 0.8 - 2 - 0.06, 3);
    const edge = policy.decide('edge');
    expect(edge.askL2).toBe(false);
    expect(edge.comparison?.avoidedUsd).toBe(0);
    expect(edge.why).toMatch(/does not pay/);
  });

  it('auto asks L2 once observed repeats make an expensive regional model worth it, and stops when they vanish', () => {
    // A GPU-sized regional model: 2 GB for 400 ms a call ≈ $13.5 per 1M calls.
    const prices = { ...DEFAULT_PRICE_TABLE, regionalMemoryGb: 2, regionalBilledMs: 400 };
    let now = 0;
    const policy = new CachePolicy({ mode: 'auto', prices, decay: 0.99, now: () => now });
    expect(policy.decide('regional')).toMatchObject({ askL2: false, comparison: { hitRateSource: 'prior', hitRate: 0 } });
    // Ghost evidence: the isolate keeps recomputing the same 10 inputs (L1 evicted them).
    for (let i = 0; i < 100; i++) policy.recordL1Miss('regional', `k${i % 10}`, 60_000);
    const withGhosts = policy.decide('regional');
    expect(withGhosts.comparison?.hitRateSource).toBe('ghost');
    expect(withGhosts.comparison?.hitRate).toBeGreaterThan(0.85);
    expect(withGhosts.askL2).toBe(true);
    expect(withGhosts.why).toMatch(/L2 pays/);
    // Then every input is new, and L2 lookups all miss: the rate decays and the decision flips.
    for (let i = 0; i < 600; i++) {
      policy.recordL1Miss('regional', `new${i}`, 60_000);
      policy.recordL2Lookup('regional', false, 4);
      now += 10;
    }
    const after = policy.decide('regional');
    expect(after.comparison?.hitRateSource).toBe('observed');
    expect(after.comparison?.hitRate).toBeLessThan(0.05);
    expect(after.askL2).toBe(false);
  });

  it('explain() shows prices, the comparison and the counts per tier', () => {
    const policy = new CachePolicy({ mode: 'auto' });
    policy.recordCompute('regional', 55);
    const explained = policy.explain();
    expect(explained.mode).toBe('auto');
    expect(explained.prices.redisCommandPerMillion).toBe(2);
    expect(explained.tiers.regional.comparison?.avoidedMs).toBe(55);
    expect(explained.tiers.regional.l2Lookups).toBe(0);
    expect(explained.tiers.edge.askL2).toBe(false);
  });
});
