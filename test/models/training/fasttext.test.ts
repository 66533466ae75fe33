// The fastText trainer: reproducible bit for bit from its seed, and it learns.
import { describe, expect, it } from 'vitest';
import { argmax, forward, trainFastText, type Example, type FastTextConfig } from '../../../models/training/fasttext.ts';
import { createPrng } from '../../../models/training/prng.ts';

/** Class 1 messages contain ids from 0..9, class 0 from 10..19; both share noise ids 20..49. */
function toyExamples(count: number, seed: number): Example[] {
  const prng = createPrng(seed);
  const pick = (lo: number, n: number) => lo + Math.floor(prng.next() * n);
  return Array.from({ length: count }, (_, i) => {
    const label = i % 2;
    const ids = Int32Array.from({ length: 8 }, (_, k) => (k < 2 ? pick(label === 1 ? 0 : 10, 10) : pick(20, 30)));
    return { ids, label };
  });
}

const config: FastTextConfig = {
  buckets: 50, dim: 8, hidden: 8, classes: 2, epochs: 5, learningRate: 0.1, embeddingLearningRateScale: 20, weightDecay: 0, seed: 7,
};

describe('trainFastText', () => {
  const train = toyExamples(400, 1);

  it('gives identical weights for the same seed and different ones for another seed', () => {
    const a = trainFastText(config, train);
    const b = trainFastText(config, train);
    const c = trainFastText({ ...config, seed: 8 }, train);
    expect(Buffer.from(a.embedding.buffer).equals(Buffer.from(b.embedding.buffer))).toBe(true);
    expect(Buffer.from(a.w2.buffer).equals(Buffer.from(b.w2.buffer))).toBe(true);
    expect(Buffer.from(a.embedding.buffer).equals(Buffer.from(c.embedding.buffer))).toBe(false);
  });

  it('learns a separable toy task (held-out accuracy ≥ 95 %) with falling loss', () => {
    const losses: number[] = [];
    const weights = trainFastText(config, train, (r) => losses.push(r.meanLoss));
    expect(losses).toHaveLength(5);
    expect(losses.at(-1) as number).toBeLessThan((losses[0] as number) / 2);
    const heldOut = toyExamples(200, 2);
    const correct = heldOut.filter((e) => argmax(forward(weights, e.ids).probabilities) === e.label).length;
    expect(correct / heldOut.length).toBeGreaterThanOrEqual(0.95);
    const p = forward(weights, heldOut[0]!.ids).probabilities;
    expect((p[0] as number) + (p[1] as number)).toBeCloseTo(1, 12);
  });
});
