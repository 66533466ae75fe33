// Threshold sweep for the cascade: given each calibration message's edge confidence score
// and whether the edge and regional models got it right, every distinct threshold gives an
// escalation rate and a cascade accuracy. Pure, so the choice rule is unit-tested.

/** One calibration message. */
export interface CalibrationItem {
  /** Edge confidence score (top probability or margin; what cascade.threshold applies to). */
  score: number;
  edgeCorrect: boolean;
  regionalCorrect: boolean;
}

/** One point of the sweep. Escalate when score < threshold (as assessConfidence does). */
export interface SweepRow {
  threshold: number;
  escalated: number;
  escalationRate: number;
  cascadeAcc: number;
}

/**
 * Every distinct outcome of a threshold, in increasing escalation rate. Thresholds sit
 * midway between consecutive distinct scores, so an engine that differs in the last bits
 * (micro vs ORT) does not flip a message across it. The first row escalates nothing
 * (threshold 0); the last escalates everything when that is expressible (threshold 1).
 */
export function sweepThresholds(items: readonly CalibrationItem[]): SweepRow[] {
  const n = items.length;
  if (n === 0) throw new Error('sweepThresholds: no calibration items');
  const sorted = [...items].sort((a, b) => a.score - b.score);
  const edgeCorrectTotal = sorted.filter((i) => i.edgeCorrect).length;
  const rows: SweepRow[] = [{ threshold: 0, escalated: 0, escalationRate: 0, cascadeAcc: edgeCorrectTotal / n }];
  // Escalating the first k (lowest scores): regional answers them, the edge the rest.
  let regionalOnPrefix = 0;
  let edgeOnPrefix = 0;
  for (let k = 1; k <= n; k++) {
    const item = sorted[k - 1] as CalibrationItem;
    regionalOnPrefix += item.regionalCorrect ? 1 : 0;
    edgeOnPrefix += item.edgeCorrect ? 1 : 0;
    const next = sorted[k];
    if (next && next.score === item.score) continue; // a threshold cannot split equal scores
    let threshold: number;
    if (next) threshold = (item.score + next.score) / 2;
    else if (item.score < 1) threshold = 1;
    else continue; // a score of exactly 1 is always confident
    rows.push({ threshold, escalated: k, escalationRate: k / n, cascadeAcc: (regionalOnPrefix + edgeCorrectTotal - edgeOnPrefix) / n });
  }
  return rows;
}

/**
 * The lowest escalation rate whose cascade accuracy is within `tolerance` (a fraction:
 * 0.002 = 0.2 points) of `targetAcc`; when none is, the row with the best accuracy (lowest
 * rate among ties), flagged as not meeting the target.
 */
export function chooseThreshold(rows: readonly SweepRow[], targetAcc: number, tolerance: number): { row: SweepRow; meetsTarget: boolean } {
  // Compare in counts-space with a small epsilon: accuracies are ratios of integers.
  const meets = rows.find((r) => r.cascadeAcc >= targetAcc - tolerance - 1e-12);
  if (meets) return { row: meets, meetsTarget: true };
  let best = rows[0] as SweepRow;
  for (const r of rows) if (r.cascadeAcc > best.cascadeAcc) best = r;
  return { row: best, meetsTarget: false };
}

/**
 * For each row, the share of bootstrap resamples of the calibration items in which that
 * threshold's cascade stays within `tolerance` of regional-only. The calibration split is
 * small (one message ≈ 0.1 points), so a point that meets the target by one lucky message
 * is not a point that meets it; this measures how reliably each one does. Deterministic
 * for a given `random` (a seeded PRNG in [0, 1)).
 */
export function bootstrapMeetRates(
  items: readonly CalibrationItem[],
  rows: readonly SweepRow[],
  tolerance: number,
  resamples: number,
  random: () => number,
): number[] {
  const n = items.length;
  const sorted = [...items].sort((a, b) => a.score - b.score); // the order sweepThresholds uses
  // Only disagreements move the gap: +1 where regional alone is right, −1 where the edge alone is.
  const delta = sorted.map((i) => (i.regionalCorrect ? 1 : 0) - (i.edgeCorrect ? 1 : 0));
  const meets = new Array<number>(rows.length).fill(0);
  const weights = new Int32Array(n);
  const suffix = new Float64Array(n + 1);
  for (let b = 0; b < resamples; b++) {
    weights.fill(0);
    for (let d = 0; d < n; d++) weights[Math.floor(random() * n)]!++;
    suffix[n] = 0;
    for (let i = n - 1; i >= 0; i--) suffix[i] = suffix[i + 1]! + weights[i]! * delta[i]!;
    // Gap of the cascade escalating the first k = regional − cascade correct = Σ_{i≥k} w·delta.
    rows.forEach((row, r) => {
      if (suffix[row.escalated]! <= tolerance * n + 1e-9) meets[r]!++;
    });
  }
  return meets.map((m) => m / resamples);
}

/** The lowest escalation rate that meets the target in at least `confidence` of the resamples. */
export function chooseThresholdReliably(
  rows: readonly SweepRow[],
  meetRates: readonly number[],
  confidence: number,
): { row: SweepRow; meetRate: number; meetsTarget: boolean } {
  const index = meetRates.findIndex((rate) => rate >= confidence);
  if (index >= 0) return { row: rows[index] as SweepRow, meetRate: meetRates[index] as number, meetsTarget: true };
  let best = 0;
  meetRates.forEach((rate, i) => {
    if (rate > (meetRates[best] as number)) best = i;
  });
  return { row: rows[best] as SweepRow, meetRate: meetRates[best] as number, meetsTarget: false };
}
