// Binary classification metrics for the spam models (positive class: spam = 1).

/** Accuracy and spam-class precision, recall and F1 over a labelled set. */
export interface BinaryMetrics {
  size: number;
  correct: number;
  accuracy: number;
  spamPrecision: number;
  spamRecall: number;
  spamF1: number;
}

/** Computes metrics from predicted and true labels (same length). */
export function binaryMetrics(predicted: ArrayLike<number>, actual: ArrayLike<number>): BinaryMetrics {
  if (predicted.length !== actual.length) throw new Error(`binaryMetrics: ${predicted.length} predictions for ${actual.length} labels`);
  let correct = 0;
  let truePositive = 0;
  let falsePositive = 0;
  let falseNegative = 0;
  for (let i = 0; i < actual.length; i++) {
    const p = predicted[i];
    const a = actual[i];
    if (p === a) correct++;
    if (p === 1 && a === 1) truePositive++;
    if (p === 1 && a !== 1) falsePositive++;
    if (p !== 1 && a === 1) falseNegative++;
  }
  const spamPrecision = truePositive + falsePositive === 0 ? 0 : truePositive / (truePositive + falsePositive);
  const spamRecall = truePositive + falseNegative === 0 ? 0 : truePositive / (truePositive + falseNegative);
  const spamF1 = spamPrecision + spamRecall === 0 ? 0 : (2 * spamPrecision * spamRecall) / (spamPrecision + spamRecall);
  return { size: actual.length, correct, accuracy: correct / actual.length, spamPrecision, spamRecall, spamF1 };
}

/** Rounds for model.json (metrics are written with 4 decimals, points with 2). */
export function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

/**
 * Area under the ROC curve of spam scores: the chance that a random spam message scores above
 * a random ham one (ties count half). Threshold-free, so models on different preprocessings
 * compare without calibrating either.
 */
export function rocAuc(spamScores: ArrayLike<number>, actual: ArrayLike<number>): number {
  const order = Array.from({ length: actual.length }, (_, i) => i).sort((a, b) => (spamScores[a] as number) - (spamScores[b] as number));
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && spamScores[order[j + 1] as number] === spamScores[order[i] as number]) j++;
    const midRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (actual[order[k] as number] === 1) (positives++, (rankSum += midRank));
    i = j + 1;
  }
  const negatives = actual.length - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}
