// What a regional answer must be before it is served, cached or counted (#17 item 5): the
// regional function is another deployment, reached over the network, so its answer is
// checked like any input. A prediction from the model version that was asked for (name,
// version and sha256 as its model.json says, when the edge holds that file), over exactly
// that model's labels, with finite probabilities in [0, 1], the label the top score, and
// every string short (a `degraded` reason only as a short code). What is served is a copy
// of the checked fields, nothing else.
import type { RegionalPrediction } from './regional-tier.ts';

/** The model version an answer must come from; the fields the edge does not know are not checked. */
export interface ExpectedRegionalModel {
  name: string;
  version?: string;
  sha256?: string;
  /** The model's labels; empty or absent: any labels within the bounds. */
  labels?: readonly string[];
}

/** Bounds of a regional answer (labels and model names are short in every model.json). */
export const REGIONAL_ANSWER_BOUNDS = { labels: 64, labelChars: 128, nameChars: 128, timings: 32, providerChars: 64 } as const;

export type RegionalAnswerCheck = { ok: true; prediction: RegionalPrediction } | { ok: false; problem: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function shortString(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= max;
}

function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}...` : text);
}

/** Checks a decoded regional answer; on success returns a copy holding only the checked fields. */
export function checkRegionalAnswer(value: unknown, expected?: ExpectedRegionalModel): RegionalAnswerCheck {
  const fail = (problem: string): RegionalAnswerCheck => ({ ok: false, problem });
  const B = REGIONAL_ANSWER_BOUNDS;
  if (!isRecord(value)) return fail('answer is not a JSON object');
  const m = value.model;
  if (!isRecord(m) || !shortString(m.name, B.nameChars) || !shortString(m.version, B.nameChars) || !shortString(m.sha256, B.nameChars)) {
    return fail(`answer has no "model" {name, version, sha256} of strings up to ${B.nameChars} characters`);
  }
  if (expected) {
    if (m.name !== expected.name || (expected.version !== undefined && m.version !== expected.version)) {
      return fail(`answer is from ${quote(`${m.name}@${m.version}`)}, not the model asked for (${quote(`${expected.name}@${expected.version ?? 'latest'}`)})`);
    }
    if (expected.sha256 !== undefined && m.sha256 !== expected.sha256) return fail(`answer's model sha256 ${quote(m.sha256)} is not the one its model.json declares`);
  }
  if (typeof value.label !== 'string') return fail('answer has no string "label"');
  if (value.label.length > B.labelChars) return fail(`"label" is longer than ${B.labelChars} characters`);
  if (!isRecord(value.scores)) return fail('answer has no "scores" object');
  const labels = Object.keys(value.scores);
  if (labels.length === 0) return fail('"scores" is empty');
  if (labels.length > B.labels) return fail(`"scores" has more than ${B.labels} labels`);
  const scores: Record<string, number> = Object.create(null) as Record<string, number>;
  let top = -Infinity;
  for (const label of labels) {
    const score = value.scores[label];
    if (label.length > B.labelChars) return fail(`a label in "scores" is longer than ${B.labelChars} characters`);
    if (typeof score !== 'number' || !(score >= 0 && score <= 1)) return fail(`score of ${quote(label)} is not a probability in [0, 1]: ${quote(score)}`);
    scores[label] = score;
    if (score > top) top = score;
  }
  const known = expected?.labels;
  if (known && known.length > 0 && (labels.length !== known.length || !known.every((l) => Object.hasOwn(scores, l)))) {
    return fail(`"scores" labels ${quote(labels.join(','))} are not the model's labels (${quote(known.join(','))})`);
  }
  if (!Object.hasOwn(scores, value.label)) return fail(`"label" ${quote(value.label)} is not one of the scored labels`);
  if (scores[value.label] !== top) return fail(`"label" ${quote(value.label)} contradicts the scores (another label scores higher)`);
  const timings: Record<string, number> = {};
  if (isRecord(value.timings)) {
    for (const [stage, ms] of Object.entries(value.timings).slice(0, B.timings)) {
      if (stage.length <= 32 && typeof ms === 'number' && Number.isFinite(ms)) timings[stage] = ms;
    }
  }
  const executionProvider = shortString(value.executionProvider, B.providerChars) ? value.executionProvider : 'unknown';
  // A reason code (`features_unavailable`): the edge shows it, so only a short snake_case word passes.
  const degraded = typeof value.degraded === 'string' && /^[a-z][a-z_]{0,63}$/.test(value.degraded) ? value.degraded : undefined;
  return {
    ok: true,
    prediction: { label: value.label, scores: { ...scores }, model: { name: m.name, version: m.version, sha256: m.sha256 }, timings, executionProvider, ...(degraded ? { degraded } : {}) },
  };
}
