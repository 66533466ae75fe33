// Latency quantiles in a mergeable sketch (DDSketch, @datadog/sketches-js): each isolate
// keeps its own, and p99 over many PoPs is the quantile of the merged sketch, never an
// average of p99s. Serialised as plain JSON (bins by key) rather than the library's
// protobuf form, which would pull protobufjs (and its eval-based require) into edge bundles.
// The first observations wait in a plain array and the DDSketch is built when one is needed
// (more observations, or a reader): a cold isolate's first request records its latencies
// without evaluating the library (edge bundles load it on first use: build/stubs/sketches-js-lazy.cjs).
import { DDSketch } from '@datadog/sketches-js';

/** Relative accuracy of every latency sketch: a reported quantile is within 1 % of a real sample's value. */
export const SKETCH_RELATIVE_ACCURACY = 0.01;

/**
 * Bounds of a sketch read from outside. At 1 % accuracy key k stands for about 1.0202^k ms:
 * ±2,000 covers 1e-17 ms to 1e17 ms, far past any latency; 4,096 bins, a few tens of KB.
 */
export const MAX_SKETCH_KEY = 2_000;
export const MAX_SKETCH_BINS = 4_096;

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

/** Observations a sketch holds as they are before it builds its DDSketch. */
export const SKETCH_BUFFER_SIZE = 64;

/**
 * A quantile sketch of non-negative values (milliseconds). Up to SKETCH_BUFFER_SIZE
 * observations are kept as they are; the DDSketch is built from them (in arrival order, so
 * it is the sketch that adding each one directly would have built) when one more arrives or
 * something reads quantiles, bins or the DDSketch itself.
 */
export class LatencySketch {
  readonly relativeAccuracy: number;
  #sketch: DDSketch | undefined;
  /** Observations not yet in a DDSketch; empty once #sketch exists. */
  readonly #pending: number[] = [];

  constructor(relativeAccuracy = SKETCH_RELATIVE_ACCURACY) {
    this.relativeAccuracy = relativeAccuracy;
  }

  /** The DDSketch of every observation (built, from the buffered ones, on first use). */
  get sketch(): DDSketch {
    let sketch = this.#sketch;
    if (sketch === undefined) {
      sketch = this.#sketch = new DDSketch({ relativeAccuracy: this.relativeAccuracy });
      for (const value of this.#pending) sketch.accept(value);
      this.#pending.length = 0;
    }
    return sketch;
  }

  /** True while the observations are buffered and no DDSketch has been built. */
  get buffered(): boolean {
    return this.#sketch === undefined;
  }

  /** Adds one observation (negative values count as 0). */
  add(value: number): void {
    const ms = value > 0 ? value : 0;
    if (this.#sketch === undefined && this.#pending.length < SKETCH_BUFFER_SIZE) this.#pending.push(ms);
    else this.sketch.accept(ms);
  }

  get count(): number {
    return this.#sketch === undefined ? this.#pending.length : this.#sketch.count;
  }

  get sum(): number {
    if (this.#sketch !== undefined) return this.#sketch.sum;
    // Summed in arrival order, as DDSketch.accept sums.
    let sum = 0;
    for (const value of this.#pending) sum += value;
    return sum;
  }

  /** The value at quantile q (0..1); NaN when empty. */
  quantile(q: number): number {
    return this.count === 0 ? Number.NaN : this.sketch.getValueAtQuantile(q);
  }

  /** Adds every observation of `other` to this sketch. */
  merge(other: LatencySketch): void {
    if (other.count === 0) return;
    if (other.relativeAccuracy !== this.relativeAccuracy) throw new Error(`cannot merge a latency sketch of relative accuracy ${other.relativeAccuracy} into one of ${this.relativeAccuracy}`);
    // A buffered sketch's observations are added one by one: neither side builds a DDSketch while they fit the buffer.
    if (other.#sketch === undefined) for (const value of other.#pending) this.add(value);
    else this.sketch.merge(other.#sketch);
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

  /**
   * Rebuilds a sketch from its JSON; throws on a malformed or oversized one (callers decide
   * to skip it). What comes from the fleet store is checked before anything is allocated: a
   * forged `k0` of 1e8 once made the store's `fill` exhaust the heap, and a sketch of another
   * relative accuracy made every merge throw.
   */
  static fromJSON(json: SerializedSketch): LatencySketch {
    if (!json || typeof json !== 'object' || !Array.isArray(json.bins)) throw new Error('not a serialised latency sketch');
    if (json.a !== SKETCH_RELATIVE_ACCURACY) throw new Error(`a latency sketch must have relative accuracy ${SKETCH_RELATIVE_ACCURACY}`);
    if (!Number.isSafeInteger(json.k0) || Math.abs(json.k0) > MAX_SKETCH_KEY || json.bins.length > MAX_SKETCH_BINS || Math.abs(json.k0 + json.bins.length) > MAX_SKETCH_KEY) {
      throw new Error(`a latency sketch's bins must lie within keys ±${MAX_SKETCH_KEY} (at most ${MAX_SKETCH_BINS} of them)`);
    }
    for (const field of ['n', 'sum', 'min', 'max', 'zero'] as const) {
      const value = json[field];
      if (typeof value !== 'number' || !Number.isFinite(value) || (field !== 'min' && field !== 'max' && value < 0)) throw new Error(`a latency sketch's ${field} must be a finite number`);
    }
    for (const weight of json.bins) if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) throw new Error("a latency sketch's bins must be finite counts ≥ 0");
    const out = new LatencySketch(json.a);
    const s = out.sketch;
    for (let i = 0; i < json.bins.length; i++) {
      const weight = json.bins[i] as number;
      if (weight > 0) s.store.add(json.k0 + i, weight);
    }
    s.zeroCount = json.zero;
    s.count = s.store.count + s.zeroCount;
    s.sum = json.sum;
    if (s.count > 0) {
      s.min = json.min;
      s.max = json.max;
    }
    return out;
  }
}
