// Checks of values read from the prediction cache (L1, L2 or primed by the warmer) against
// what was stored under that key: a value of another shape, another model or labels the
// model does not have is a miss, never an error and never an answer (#17 items 1 and 3).
import type { OutputMeaning } from '../model/manifest.ts';
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

/** A regression as the edge path caches it. */
export interface CachedRegression {
  kind: 'regression';
  values: number[];
  value?: number;
  named?: Record<string, number>;
}

/** Raw outputs as the edge path caches them (V2 JSON tensors). */
export interface CachedRaw {
  kind: 'raw';
  outputs: Record<string, { datatype: string; shape: number[]; data: unknown[] }>;
}

/** A classification with every row of a batch. */
export interface CachedBatchClassification extends CachedClassification {
  batch?: Array<{ label: string; scores: Record<string, number> }>;
}

/** What the edge path caches for one request, by the model's output kind. */
export type CachedAnswer = CachedBatchClassification | CachedRegression | CachedRaw;

function isNumberArray(value: unknown, finite: boolean): value is number[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'number' && (!finite || Number.isFinite(v)));
}

/**
 * True when `value` is what the edge path stores for a model whose outputs mean `output`
 * (and whose declared outputs are `outputNames`).
 */
export function isAnswerFor(value: unknown, output: OutputMeaning, outputNames: readonly string[]): value is CachedAnswer {
  if (!isRecord(value)) return false;
  if (output.kind === 'classification') {
    if (value.kind !== undefined || !isClassificationOf(value, output.labels)) return false;
    if (value.batch === undefined) return true;
    return (
      Array.isArray(value.batch) &&
      value.batch.length > 1 &&
      value.batch.every((row) => isRecord(row) && isRecord(row.scores) && isClassificationOf({ ...row, confidence: Math.max(...Object.values(row.scores).map(Number)) }, output.labels))
    );
  }
  if (output.kind === 'regression') {
    if (value.kind !== 'regression' || !isNumberArray(value.values, true) || value.values.length === 0) return false;
    if (value.value !== undefined && (value.values.length !== 1 || value.value !== value.values[0])) return false;
    if (value.named === undefined) return true;
    const names = output.names ?? [];
    return isRecord(value.named) && names.length === value.values.length && names.every((n, i) => value.named !== undefined && (value.named as Record<string, unknown>)[n] === (value.values as number[])[i]);
  }
  if (value.kind !== 'raw' || !isRecord(value.outputs)) return false;
  const outputs = value.outputs;
  return Object.keys(outputs).every((name) => {
    const t = outputs[name];
    if (!outputNames.includes(name) || !isRecord(t) || typeof t.datatype !== 'string' || !isNumberArray(t.shape, true) || !Array.isArray(t.data)) return false;
    let n = 1;
    for (const d of t.shape) n *= d;
    return t.data.length === n;
  });
}
