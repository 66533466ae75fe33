// The replayed traffic shared by bench:cache and bench:fleet: real corpus messages (every
// split, made up to `distinct` with deterministic "forwarded copy" variants, which keep
// their original's label), drawn with Zipf popularity (s = 1.1 by default) through a
// seeded permutation, so popularity is unrelated to corpus order. Same seeds, same traffic.
import { loadSplits, type Label, type SplitName } from '../models/training/dataset.ts';
import { createPrng } from '../models/training/prng.ts';

/** One distinct message of the replay and where it came from. */
export interface TrafficMessage {
  text: string;
  /** The corpus label (a variant keeps its original's). */
  label: Label;
  /** Split of the original message: the test split is the only one no model was fitted or calibrated on. */
  split: SplitName;
  /** 0 for a corpus message, n for its n-th forwarded copy. */
  round: number;
}

/** `distinct` messages: corpus messages (train, calibration, test order), then variants. */
export function trafficMessages(distinct: number): { messages: TrafficMessage[]; corpusSize: number } {
  const splits = loadSplits();
  const corpus = (['train', 'calibration', 'test'] as const).flatMap((split) => splits[split].map((m) => ({ text: m.text, label: m.label, split })));
  const messages: TrafficMessage[] = [];
  for (let i = 0; messages.length < distinct; i++) {
    const base = corpus[i % corpus.length] as (typeof corpus)[number];
    const round = Math.floor(i / corpus.length);
    messages.push({ ...base, text: round === 0 ? base.text : `${base.text}\n-- forwarded copy ${round}`, round });
  }
  return { messages, corpusSize: corpus.length };
}

/** Draws ranks 0..n-1 with probability ∝ 1 / (rank + 1)^s (inverse CDF, binary search). */
export function zipfSampler(n: number, s: number, seed: number): () => number {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let r = 1; r <= n; r++) cdf[r - 1] = total += 1 / r ** s;
  for (let r = 0; r < n; r++) cdf[r] = (cdf[r] as number) / total;
  const prng = createPrng(seed);
  return () => {
    const u = prng.next();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cdf[mid] as number) < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** `requests` message indices in [0, distinct): Zipf(s) over ranks, rank → message by a permutation seeded with `seed ^ 0x5eed`. */
export function zipfSequence(options: { requests: number; distinct: number; s: number; seed: number }): number[] {
  const { requests, distinct, s, seed } = options;
  const rankToMessage = Array.from({ length: distinct }, (_, i) => i);
  const prng = createPrng(seed ^ 0x5eed);
  for (let i = rankToMessage.length - 1; i > 0; i--) {
    const j = Math.floor(prng.next() * (i + 1));
    [rankToMessage[i], rankToMessage[j]] = [rankToMessage[j] as number, rankToMessage[i] as number];
  }
  const draw = zipfSampler(distinct, s, seed);
  return Array.from({ length: requests }, () => rankToMessage[draw()] as number);
}
