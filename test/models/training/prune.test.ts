// Prune, then quantize on a small seeded task: rows the data never uses go first, the sweep
// shrinks the gzip'd graph, the choice respects the calibration budget, and the pruned int8
// graph still runs the same through onnxruntime and the micro engine.
import { describe, expect, test } from 'vitest';
import { importMicroModule } from '../../../adapters/node/micro-module-loader.ts';
import { compileOnnxToModule } from '../../../build/micro/compile.ts';
import { argmax, forward, trainFastText, type Example } from '../../../models/training/fasttext.ts';
import { probabilitiesWithOrt } from '../../../models/training/ort-eval.ts';
import { keepTopRows, pruneBudgetFromArgs, pruneThenQuantize, pruningRecord, rowImportance } from '../../../models/training/prune.ts';
import { createPrng } from '../../../models/training/prng.ts';

const BUCKETS = 256;
/** Label 0 lives in ids 0–7, label 1 in ids 8–15; ids 16–99 are noise; 100+ never occur. */
function examples(count: number, seed: number): Example[] {
  const prng = createPrng(seed);
  const pick = (lo: number, hi: number) => lo + Math.floor(prng.next() * (hi - lo));
  return Array.from({ length: count }, () => {
    const label = prng.next() < 0.5 ? 0 : 1;
    const ids = Int32Array.from({ length: 12 }, (_, i) => (i < 3 ? pick(label * 8, label * 8 + 8) : pick(16, 100)));
    return { ids, label: label as 0 | 1 };
  });
}

describe('prune, then quantize', () => {
  const train = examples(600, 1);
  const calibration = examples(200, 2);
  const fp32 = trainFastText({ buckets: BUCKETS, classes: 2, dim: 8, hidden: 8, epochs: 5, learningRate: 0.1, embeddingLearningRateScale: 10, weightDecay: 0, seed: 3 }, train);

  test('rows never hit in training have zero importance; keepTopRows zeroes all but the top rows', () => {
    const importance = rowImportance(fp32, train);
    for (let r = 100; r < BUCKETS; r++) expect(importance[r]).toBe(0);
    expect(Math.min(...Array.from(importance.subarray(0, 16)))).toBeGreaterThan(0);
    const kept = keepTopRows(fp32, importance, 16);
    let nonZeroRows = 0;
    for (let r = 0; r < BUCKETS; r++) if (kept.embedding.subarray(r * 8, r * 8 + 8).some((v) => v !== 0)) nonZeroRows++;
    expect(nonZeroRows).toBe(16);
    expect(Array.from(kept.embedding.subarray(0, 8))).toEqual(Array.from(fp32.embedding.subarray(0, 8)));
  });

  test('the sweep shrinks the gzip size, and the choice is the smallest within the budget', () => {
    const result = pruneThenQuantize(fp32, train, calibration, { budgetPoints: 0, keepFractions: [0.5, 0.25, 0.0625, 0.02] }, 'toy');
    expect(result.table.map((p) => p.keptRows)).toEqual([256, 128, 64, 16, 5]);
    const gz = result.table.map((p) => p.onnxGzipBytes);
    expect([...gz].sort((a, b) => b - a)).toEqual(gz);
    const within = result.table.filter((p) => p.costPoints <= 0);
    expect(result.chosen.onnxGzipBytes).toBe(Math.min(...within.map((p) => p.onnxGzipBytes)));
    expect(result.chosen.keptRows).toBeLessThanOrEqual(64); // the 16 signal rows carry the task
    expect(result.table[0]!.costPoints).toBe(0);
    // 5 rows cannot hold both labels' signal: the budget must have excluded it.
    expect(result.table.at(-1)!.costPoints).toBeGreaterThan(0);
    const record = pruningRecord(result, 0, BUCKETS);
    expect(record).toMatchObject({ keptRows: result.chosen.keptRows, totalRows: BUCKETS, budgetPoints: 0 });
  });

  test('the chosen int8 graph gives the JS forward pass answers in onnxruntime and in the micro engine', async () => {
    const result = pruneThenQuantize(fp32, train, calibration, { budgetPoints: 0.5 }, 'toy');
    const ids = calibration.slice(0, 50).map((e) => e.ids);
    const viaOrt = await probabilitiesWithOrt(result.bytes, ids);
    const micro = await importMicroModule(compileOnnxToModule(result.bytes, { name: 'toy' }).source);
    ids.forEach((list, i) => {
      const js = forward(result.served, list).probabilities;
      const m = micro.run({ ids: { dtype: 'int32', dims: [1, list.length], data: list } }).probabilities!.data as Float32Array;
      expect(argmax(viaOrt[i]!)).toBe(argmax(js));
      for (let c = 0; c < 2; c++) {
        expect(Math.abs(m[c]! - viaOrt[i]![c]!)).toBeLessThanOrEqual(1e-5);
        expect(Math.abs(js[c]! - viaOrt[i]![c]!)).toBeLessThan(1e-4);
      }
    });
  });

  test('--prune arguments', () => {
    expect(pruneBudgetFromArgs([])).toBeUndefined();
    expect(pruneBudgetFromArgs(['--prune'])).toBe(0.5);
    expect(pruneBudgetFromArgs(['--prune=0.25'])).toBe(0.25);
    expect(pruneBudgetFromArgs(['--prune', '1', '--out', 'x'])).toBe(1);
    expect(pruneBudgetFromArgs(['--prune', '--out', 'x'])).toBe(0.5);
    expect(() => pruneBudgetFromArgs(['--prune=-1'])).toThrow(/budget in accuracy points/);
  });
});
