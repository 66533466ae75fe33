// Checks of values read from the prediction cache (L1, L2 or primed by the warmer) against
// what was stored under that key: a value of another shape, another model or labels the
// model does not have is a miss, never an error and never an answer (#17 items 1 and 3).
import type { RegionalOutcome } from '../router/regional-tier.ts';
import { checkRegionalAnswer } from '../router/regional-answer.ts';
import type { ModelIdentity } from './model-identity.ts';

/** A classification as the edge path caches it (no raw tensors). */
export interface CachedClassification {
  label: string;
  scores: Record<string, number>;
  confidence: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * True when `value` is a classification over exactly `labels`: finite probabilities in
 * [0, 1], the label one of them and not beaten by another score, the confidence its score.
 */
export function isClassificationOf(value: unknown, labels: readonly string[]): value is CachedClassification {
  if (!isRecord(value) || typeof value.label !== 'string' || !isRecord(value.scores) || typeof value.confidence !== 'number') return false;
  const scores = value.scores;
  const keys = Object.keys(scores);
  if (keys.length !== labels.length || !labels.includes(value.label)) return false;
  let top = -Infinity;
  for (const label of labels) {
    if (!Object.hasOwn(scores, label)) return false;
    const score = scores[label];
    if (typeof score !== 'number' || !(score >= 0 && score <= 1)) return false;
    if (score > top) top = score;
  }
  return scores[value.label] === top && value.confidence === top;
}

/** True when `value` is a successful regional outcome from exactly this model version, over its labels (regional-answer.ts). */
export function isRegionalOutcomeOf(value: unknown, identity: ModelIdentity): value is Extract<RegionalOutcome, { ok: true }> {
  if (!isRecord(value) || value.ok !== true || !isRecord(value.prediction)) return false;
  // Stored outcomes are checked copies: a model object with anything more was not written by us.
  const { model } = value.prediction;
  if (!isRecord(model) || Object.keys(model).length !== 3) return false;
  return checkRegionalAnswer(value.prediction, identity).ok;
}
