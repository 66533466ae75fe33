// The latency sketch against exact quantiles: merged sketches of many "PoPs" answer within
// the rank-error bound, and JSON round trips lose nothing.
import { describe, expect, it } from 'vitest';
import { DDSketch } from '@datadog/sketches-js';
import { LatencySketch, SKETCH_BUFFER_SIZE, SKETCH_RELATIVE_ACCURACY } from '../../../core/telemetry/sketch.ts';
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

  describe('buffered first observations', () => {
    /** Log-normal latencies with zeros and negatives among them (both count as 0). */
    function samples(n: number, seed: number): number[] {
      const random = prng(seed);
      return Array.from({ length: n }, (_, i) => (i % 17 === 0 ? 0 : i % 23 === 0 ? -1 : 3 * Math.exp(0.8 * (random() + random() + random() - 1.5))));
    }
    /** The DDSketch the library builds when every observation goes straight in (what LatencySketch did before buffering). */
    function eager(values: readonly number[]): DDSketch {
      const sketch = new DDSketch({ relativeAccuracy: SKETCH_RELATIVE_ACCURACY });
      for (const v of values) sketch.accept(v > 0 ? v : 0);
      return sketch;
    }
    const QUANTILES = [0, 0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 1];

    it('answers the quantiles, count, sum and JSON of the eager DDSketch on the same samples, on either side of the buffer', () => {
      for (const n of [1, 2, SKETCH_BUFFER_SIZE - 1, SKETCH_BUFFER_SIZE, SKETCH_BUFFER_SIZE + 1, 2 * SKETCH_BUFFER_SIZE + 3, 5_000]) {
        const values = samples(n, n);
        const lazy = new LatencySketch();
        for (const v of values) lazy.add(v);
        const reference = eager(values);
        // count and sum are read without building the DDSketch while buffered.
        expect(lazy.count, `n=${n}`).toBe(reference.count);
        expect(lazy.sum, `n=${n}`).toBe(reference.sum);
        expect(QUANTILES.map((q) => lazy.quantile(q)), `n=${n}`).toEqual(QUANTILES.map((q) => reference.getValueAtQuantile(q)));
        expect(lazy.sketch.min).toBe(reference.min);
        expect(lazy.sketch.max).toBe(reference.max);
        expect(lazy.sketch.zeroCount).toBe(reference.zeroCount);
        const bins: number[] = [];
        for (let k = reference.store.minKey; k <= reference.store.maxKey; k++) bins.push(reference.store.bins[k - reference.store.offset] ?? 0);
        expect(lazy.toJSON().bins, `n=${n}`).toEqual(bins);
      }
    });

    it('builds no DDSketch for the first SKETCH_BUFFER_SIZE observations, and one with all of them on the next', () => {
      const lazy = new LatencySketch();
      const values = samples(SKETCH_BUFFER_SIZE + 1, 5);
      for (const v of values.slice(0, SKETCH_BUFFER_SIZE)) lazy.add(v);
      expect(lazy.buffered).toBe(true);
      expect(lazy.count).toBe(SKETCH_BUFFER_SIZE);
      lazy.add(values[SKETCH_BUFFER_SIZE] as number);
      expect(lazy.buffered).toBe(false);
      expect(lazy.count).toBe(SKETCH_BUFFER_SIZE + 1);
      expect(lazy.sketch.count).toBe(SKETCH_BUFFER_SIZE + 1);
      expect(lazy.quantile(0.5)).toBe(eager(values).getValueAtQuantile(0.5));
      // A reader builds it early: afterwards observations go straight in.
      const read = new LatencySketch();
      read.add(4);
      expect(read.quantile(1)).toBe(eager([4]).getValueAtQuantile(1));
      expect(read.buffered).toBe(false);
      read.add(8);
      expect(read.count).toBe(2);
      expect(read.sketch.max).toBe(8);
    });

    it('merges buffered and built sketches to what merging eager sketches gives, staying buffered while they fit', () => {
      const a = samples(20, 1);
      const b = samples(30, 2);
      const c = samples(200, 3);
      const merged = new LatencySketch();
      for (const part of [a, b]) {
        const s = new LatencySketch();
        for (const v of part) s.add(v);
        merged.merge(s);
      }
      expect(merged.buffered).toBe(true);
      expect(merged.count).toBe(50);
      const big = new LatencySketch();
      for (const v of c) big.add(v);
      expect(big.buffered).toBe(false);
      merged.merge(big);
      // And a buffered one into a built one.
      const tail = new LatencySketch();
      for (const v of a) tail.add(v);
      merged.merge(tail);
      const reference = eager([]);
      for (const part of [a, b, c, a]) reference.merge(eager(part));
      expect(merged.count).toBe(reference.count);
      expect(merged.sum).toBeCloseTo(reference.sum, 9);
      expect(QUANTILES.map((q) => merged.quantile(q))).toEqual(QUANTILES.map((q) => reference.getValueAtQuantile(q)));
      const coarser = new LatencySketch(0.02);
      coarser.add(1);
      expect(() => merged.merge(coarser)).toThrow(/relative accuracy/);
    });
  });
});
