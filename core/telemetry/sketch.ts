// Latency quantiles in a mergeable sketch (DDSketch, @datadog/sketches-js): each isolate
// keeps its own, and p99 over many PoPs is the quantile of the merged sketch, never an
// average of p99s. Serialised as plain JSON (bins by key) rather than the library's
// protobuf form, which would pull protobufjs (and its eval-based require) into edge bundles.
import { DDSketch } from '@datadog/sketches-js';

/** Relative accuracy of every latency sketch: a reported quantile is within 1 % of a real sample's value. */
export const SKETCH_RELATIVE_ACCURACY = 0.01;

/** A sketch as JSON: accuracy, summary statistics and the positive store's bins from `k0` on. */
export interface SerializedSketch {
  a: number;
  n: number;
  sum: number;
  min: number;
  max: number;
  zero: number;
  k0: number;
  bins: number[];
}

/** A quantile sketch of non-negative values (milliseconds). */
export class LatencySketch {
  readonly sketch: DDSketch;

  constructor(relativeAccuracy = SKETCH_RELATIVE_ACCURACY) {
    this.sketch = new DDSketch({ relativeAccuracy });
  }

  /** Adds one observation (negative values count as 0). */
  add(value: number): void {
    this.sketch.accept(value > 0 ? value : 0);
  }

  get count(): number {
    return this.sketch.count;
  }

  get sum(): number {
    return this.sketch.sum;
  }

  /** The value at quantile q (0..1); NaN when empty. */
  quantile(q: number): number {
    return this.sketch.count === 0 ? Number.NaN : this.sketch.getValueAtQuantile(q);
  }

  /** Adds every observation of `other` to this sketch. */
  merge(other: LatencySketch): void {
    if (other.sketch.count === 0) return;
    this.sketch.merge(other.sketch);
  }

  toJSON(): SerializedSketch {
    const s = this.sketch;
    const store = s.store;
    const bins: number[] = [];
    if (store.count > 0) for (let key = store.minKey; key <= store.maxKey; key++) bins.push(store.bins[key - store.offset] ?? 0);
    return {
      a: s.mapping.relativeAccuracy,
      n: s.count,
      sum: s.sum,
      min: s.count ? s.min : 0,
      max: s.count ? s.max : 0,
      zero: s.zeroCount,
      k0: store.count > 0 ? store.minKey : 0,
      bins,
    };
  }

  /** Rebuilds a sketch from its JSON; throws on a malformed one (callers decide to skip it). */
  static fromJSON(json: SerializedSketch): LatencySketch {
    if (!json || !Array.isArray(json.bins) || !(json.a > 0 && json.a < 1)) throw new Error('not a serialised latency sketch');
    const out = new LatencySketch(json.a);
    const s = out.sketch;
    for (let i = 0; i < json.bins.length; i++) {
      const weight = Number(json.bins[i]);
      if (weight > 0) s.store.add(json.k0 + i, weight);
    }
    s.zeroCount = Number(json.zero) || 0;
    s.count = s.store.count + s.zeroCount;
    s.sum = Number(json.sum) || 0;
    if (s.count > 0) {
      s.min = Number(json.min);
      s.max = Number(json.max);
    }
    return out;
  }
}
