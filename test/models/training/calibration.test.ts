import { describe, expect, it } from 'vitest';
import { bootstrapMeetRates, chooseThreshold, chooseThresholdReliably, sweepThresholds, type CalibrationItem } from '../../../models/training/calibration.ts';
import { createPrng } from '../../../models/training/prng.ts';
import { assessConfidence } from '../../../core/router/confidence.ts';

// scores with edge/regional correctness: the two least confident are edge mistakes that regional fixes.
const items: CalibrationItem[] = [
  { score: 0.55, edgeCorrect: false, regionalCorrect: true },
  { score: 0.6, edgeCorrect: false, regionalCorrect: true },
  { score: 0.7, edgeCorrect: true, regionalCorrect: false },
  { score: 0.9, edgeCorrect: true, regionalCorrect: true },
  { score: 0.9, edgeCorrect: true, regionalCorrect: true },
  { score: 0.99, edgeCorrect: true, regionalCorrect: true },
];

describe('sweepThresholds', () => {
  const rows = sweepThresholds(items);

  it('gives one row per distinct escalated prefix, thresholds midway between scores', () => {
    expect(rows.map((r) => r.escalated)).toEqual([0, 1, 2, 3, 5, 6]);
    expect(rows[1]!.threshold).toBeCloseTo(0.575, 12);
    expect(rows.at(-1)!.threshold).toBe(1);
    expect(rows.map((r) => Math.round(r.cascadeAcc * 6))).toEqual([4, 5, 6, 5, 5, 5]);
  });

  it('matches what the router does with each threshold', () => {
    for (const row of rows) {
      const escalated = items.filter((i) => !assessConfidence([1 - i.score, i.score], { measure: 'top', threshold: row.threshold }).confident);
      expect(escalated.length).toBe(row.escalated);
    }
  });
});

describe('chooseThreshold', () => {
  it('picks the lowest escalation rate within the tolerance of the target', () => {
    const rows = sweepThresholds(items);
    const regionalAcc = items.filter((i) => i.regionalCorrect).length / items.length; // 5/6
    expect(chooseThreshold(rows, regionalAcc, 0)).toMatchObject({ meetsTarget: true, row: { escalated: 1 } });
    expect(chooseThreshold(rows, 1, 0)).toMatchObject({ meetsTarget: true, row: { escalated: 2 } });
  });

  it('falls back to the most accurate row when nothing meets the target', () => {
    const rows = sweepThresholds(items.map((i) => ({ ...i, regionalCorrect: false })));
    expect(chooseThreshold(rows, 1, 0.002)).toMatchObject({ meetsTarget: false, row: { escalated: 0 } });
  });
});

describe('bootstrapMeetRates / chooseThresholdReliably', () => {
  const seeded = () => {
    const prng = createPrng(1);
    return () => prng.next();
  };

  it('a point whose gap rests on a few messages meets the target less reliably than one with none left', () => {
    const rows = sweepThresholds(items);
    const rates = bootstrapMeetRates(items, rows, 0, 2_000, seeded());
    // escalating nothing leaves two fixable errors against one edge-only win (0.7); escalating
    // one leaves one against one; escalating both leaves none: reliability rises to certainty.
    expect(rates[0]).toBeLessThan(rates[1]!);
    expect(rates[1]).toBeLessThan(0.9);
    expect(rates[2]).toBe(1);
    expect(bootstrapMeetRates(items, rows, 0, 2_000, seeded())).toEqual(rates); // deterministic
    expect(chooseThresholdReliably(rows, rates, 0.9)).toMatchObject({ meetsTarget: true, row: { escalated: 2 }, meetRate: 1 });
  });

  it('reports the most reliable point when none reaches the confidence', () => {
    const rows = sweepThresholds(items);
    expect(chooseThresholdReliably(rows, [0.1, 0.5, 0.4, 0.2, 0.2, 0.2], 0.9)).toMatchObject({ meetsTarget: false, row: { escalated: 1 } });
  });
});
