// Confidence policy of the cascade: is the edge model sure enough to answer alone? Either
// the top class probability or the margin between the two best classes must reach the
// threshold (calibrated by `npm run calibrate`, stored as cascade.threshold).

/** `top`: max probability ≥ threshold; `margin`: best minus second best ≥ threshold. */
export type ConfidenceMeasure = 'top' | 'margin';

/** The threshold and what it applies to. */
export interface ConfidencePolicy {
  measure: ConfidenceMeasure;
  /** In [0, 1]. `null` (uncalibrated) never trusts the edge model: everything escalates. */
  threshold: number | null;
}

/** What the policy concluded about one probability vector. */
export interface ConfidenceAssessment {
  confident: boolean;
  /** Index of the most probable class. */
  best: number;
  /** Its probability. */
  top: number;
  /** `top` minus the second highest probability. */
  margin: number;
  /** The value compared with the threshold (`top` or `margin`). */
  score: number;
}

/** Applies the policy to class probabilities (any length ≥ 1). */
export function assessConfidence(probabilities: ArrayLike<number>, policy: ConfidencePolicy): ConfidenceAssessment {
  if (probabilities.length === 0) throw new RangeError('assessConfidence: empty probability vector');
  let best = 0;
  let top = -Infinity;
  let second = -Infinity;
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i] as number;
    if (p > top) {
      second = top;
      top = p;
      best = i;
    } else if (p > second) {
      second = p;
    }
  }
  const margin = second === -Infinity ? top : top - second;
  const score = policy.measure === 'margin' ? margin : top;
  // NaN scores (a broken model) are never confident.
  const confident = policy.threshold !== null && Number.isFinite(score) && score >= policy.threshold;
  return { confident, best, top, margin, score };
}
