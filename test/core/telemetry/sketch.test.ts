// The latency sketch against exact quantiles: merged sketches of many "PoPs" answer within
// the rank-error bound, and JSON round trips lose nothing.
import { describe, expect, it } from 'vitest';
import { LatencySketch } from '../../../core/telemetry/sketch.ts';
import { seededRandom } from '../../../models/training/prng.ts';

/** Deterministic PRNG (mulberry32). */
const prng = seededRandom;

/** Fraction of samples ≤ value (the value's rank as a quantile). */
function rankOf(sorted: Float64Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as number) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo / sorted.length;
}

describe('LatencySketch', () => {
  it('20 PoPs with different latency profiles merge to p50/p95/p99/p99.9 within 1% rank error (and 1% relative value error)', () => {
    const random = prng(7);
    const all: number[] = [];
    const merged = new LatencySketch();
    for (let pop = 0; pop < 20; pop++) {
      const sketch = new LatencySketch();
      // Log-normal latencies, each PoP with its own median (2..40 ms) and a slow tail.
      const median = 2 + pop * 2;
      for (let i = 0; i < 5_000; i++) {
        const u1 = random() || 1e-12;
        const u2 = random();
        const normal = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
        const ms = median * Math.exp(0.6 * normal) + (random() < 0.01 ? 200 * random() : 0);
        sketch.add(ms);
        all.push(ms);
      }
      // Each PoP ships its sketch as JSON (what goes to Redis); the reader merges them.
      merged.merge(LatencySketch.fromJSON(JSON.parse(JSON.stringify(sketch.toJSON()))));
    }
    const sorted = Float64Array.from(all).sort();
    expect(merged.count).toBe(100_000);
    for (const q of [0.5, 0.95, 0.99, 0.999]) {
      const estimate = merged.quantile(q);
      const exact = sorted[Math.ceil(q * sorted.length) - 1] as number;
      expect(Math.abs(estimate - exact) / exact).toBeLessThanOrEqual(0.0101);
      // Rank error: the estimate sits within ±1% of the requested rank.
      expect(Math.abs(rankOf(sorted, estimate) - q)).toBeLessThanOrEqual(0.01);
    }
    // Averaging the PoPs' p99s would be far off: the merged answer is not an average.
    expect(merged.sum).toBeCloseTo(all.reduce((a, b) => a + b, 0), 3);
  });

  it('round-trips through JSON with count, sum, min, max and zeros intact', () => {
    const sketch = new LatencySketch();
    for (const v of [0, 0, 0.25, 1, 3, 3, 1000]) sketch.add(v);
    const back = LatencySketch.fromJSON(JSON.parse(JSON.stringify(sketch.toJSON())));
    expect(back.count).toBe(7);
    expect(back.sum).toBeCloseTo(1007.25, 9);
    expect(back.sketch.zeroCount).toBe(2);
    expect(back.sketch.min).toBe(0);
    expect(back.sketch.max).toBe(1000);
    for (const q of [0.1, 0.5, 0.9, 1]) expect(back.quantile(q)).toBe(sketch.quantile(q));
  });

  it('empty sketches answer NaN and merge as no-ops; malformed JSON is refused', () => {
    const empty = new LatencySketch();
    expect(empty.quantile(0.5)).toBeNaN();
    const one = new LatencySketch();
    one.add(5);
    one.merge(empty);
    expect(one.count).toBe(1);
    expect(LatencySketch.fromJSON(empty.toJSON()).count).toBe(0);
    expect(() => LatencySketch.fromJSON({ bins: 'x' } as never)).toThrow(/not a serialised latency sketch/);
  });
});
