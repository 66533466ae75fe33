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
