// The character sets of names that come from model files and requests. Model names and
// versions become folder names, cache keys, metric series and strings in generated code, so
// they are held to a small documented set; tensor names and labels are kept free (graphs
// use names like "serving_default_x:0") but bounded and never used as plain-object keys.

/** `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`: the documented set for model names and versions. */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** True for a valid model name (also used for version folder names). */
export function isValidModelName(name: unknown): name is string {
  return typeof name === 'string' && MODEL_NAME_PATTERN.test(name);
}

/** True for a valid version folder name (same set as model names). */
export function isValidModelVersion(version: unknown): version is string {
  return isValidModelName(version);
}

/** Longest accepted label, in UTF-16 code units. */
export const MAX_NAME_LENGTH = 128;

/** Longest accepted tensor name (exporters write long ones: openWakeWord's timer model names its output with a JSON map). */
export const MAX_TENSOR_NAME_LENGTH = 256;

// C0/C1 controls, and the line/paragraph separators that end a JavaScript string literal.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Why a tensor (input/output) name is not acceptable, or null: non-empty, ≤ 256, no control characters. */
export function tensorNameProblem(name: unknown): string | null {
  if (typeof name !== 'string' || name === '') return 'must be a non-empty string';
  if (name.length > MAX_TENSOR_NAME_LENGTH) return `must be at most ${MAX_TENSOR_NAME_LENGTH} characters`;
  if (CONTROL.test(name)) return 'must not contain control or line-separator characters';
  return null;
}

/** Why a label is not acceptable, or null: any non-empty string of at most 128 characters. */
export function labelProblem(label: unknown): string | null {
  if (typeof label !== 'string' || label === '') return 'must be a non-empty string';
  if (label.length > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters`;
  return null;
}

/**
 * Why a label list is not acceptable, or null: every label valid and no two equal. Labels
 * like "__proto__" or "constructor" are allowed: code indexes them through Maps or
 * null-prototype objects (see {@link labelRecord}).
 */
export function labelsProblem(labels: unknown, minCount = 1): string | null {
  if (!Array.isArray(labels)) return 'must be an array of strings';
  if (labels.length < minCount) return `must hold at least ${minCount} label${minCount === 1 ? '' : 's'}`;
  const seen = new Set<string>();
  for (let i = 0; i < labels.length; i++) {
    const problem = labelProblem(labels[i]);
    if (problem) return `[${i}] ${problem}`;
    if (seen.has(labels[i] as string)) return `[${i}] repeats the label ${JSON.stringify(labels[i])}; labels must be unique`;
    seen.add(labels[i] as string);
  }
  return null;
}

/**
 * A null-prototype record from labels to values: `record["__proto__"]` is an own entry and
 * `record["constructor"]` is undefined unless declared. JSON.stringify writes it as usual.
 */
export function labelRecord<V>(labels: readonly string[], value: (label: string, index: number) => V): Record<string, V> {
  const record = Object.create(null) as Record<string, V>;
  for (let i = 0; i < labels.length; i++) record[labels[i] as string] = value(labels[i] as string, i);
  return record;
}

/** Own-property lookup in a record built from files or requests (never reaches Object.prototype). */
export function ownValue<V>(record: Readonly<Record<string, V>> | undefined, key: string): V | undefined {
  return record !== undefined && Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}
