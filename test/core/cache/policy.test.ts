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
    expect(edge.why).toMatch(/cannot pay even at a 100 % hit rate/);
    expect(regional.comparison?.bestCaseNetUsdPerMillion).toBeLessThan(0);
  });

  it('an expensive regional model: auto measures L2 first, uses it while it pays, then probes a hashed share of keys', () => {
    // A GPU-sized regional model: 2 GB for 400 ms a call ≈ $13.5 per 1M calls.
    const prices = { ...DEFAULT_PRICE_TABLE, regionalMemoryGb: 2, regionalBilledMs: 400 };
    const policy = new CachePolicy({ mode: 'auto', prices, decay: 0.99, minSamples: 50, probeShare: 0.25 });
    const first = policy.decide('regional', 'k0');
    expect(first).toMatchObject({ askL2: true, writeL2: true });
    expect(first.why).toMatch(/measuring L2 \(0 of 50 lookups/);
    expect(first.comparison?.bestCaseNetUsdPerMillion).toBeGreaterThan(10);
    // Half the lookups hit: 0.5 × $13.5 ≫ $2 × 1.5.
    for (let i = 0; i < 50; i++) policy.recordL2Lookup('regional', i % 2 === 0, 4);
    const paying = policy.decide('regional', 'k1');
    expect(paying.askL2).toBe(true);
    expect(paying.why).toMatch(/L2 pays/);
    expect(paying.comparison).toMatchObject({ hitRateSource: 'observed' });
    expect(paying.comparison?.hitRate).toBeCloseTo(0.5, 1);
    // Then the hits vanish: L2 stops paying; only keys in the probed share still use it.
    for (let i = 0; i < 600; i++) policy.recordL2Lookup('regional', false, 4);
    const keys = Array.from({ length: 400 }, (_, i) => `p:${'a'.repeat(64)}:1:${i.toString(16).padStart(64, '0')}`);
    const decisions = keys.map((k) => policy.decide('regional', k));
    const probed = decisions.filter((d) => d.askL2);
    expect(probed.length / keys.length).toBeGreaterThan(0.15);
    expect(probed.length / keys.length).toBeLessThan(0.35);
    expect(probed[0]?.why).toMatch(/probing it on 0.25 of keys/);
    expect(decisions.find((d) => !d.askL2)?.why).toMatch(/L2 does not pay/);
    // The share is a property of the key: every isolate probes the same keys.
    const other = new CachePolicy({ mode: 'auto', prices, minSamples: 0, probeShare: 0.25 });
    expect(keys.map((k) => other.decide('regional', k).askL2)).toEqual(decisions.map((d) => d.askL2));
  });

  it('ghost hits (recomputations after L1 eviction) are a free hit-rate estimate', () => {
    const policy = new CachePolicy({ mode: 'auto' });
    for (let i = 0; i < 100; i++) policy.recordL1Miss('regional', `k${i % 10}`, 60_000);
    const c = policy.compare('regional');
    expect(c.hitRateSource).toBe('ghost');
    expect(c.hitRate).toBeGreaterThan(0.85);
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
