// Validation of model inputs at the single entry point (engines trust what they get):
// text must be a non-empty string; token ids must be integers inside the model's bucket
// range and within its length limit, since an out-of-range Gather index is undefined
// behaviour in some engines.
import { HttpError } from '../http/errors.ts';
import type { EmailHashParams, PreprocessingSpec } from '../preprocess/index.ts';
import { preprocessingFingerprint } from '../preprocess/fingerprint.ts';
import type { TensorMap } from '../engine/types.ts';
import type { LoadedModel } from './loaded-model.ts';

/** Checks a `text` field and returns it. */
export function requireText(value: unknown, field = 'text'): string {
  if (value === undefined) throw new HttpError(400, 'invalid_request', `missing field "${field}": send {"${field}": "the message to classify"}`);
  if (typeof value !== 'string') {
    throw new HttpError(400, 'invalid_request', `field "${field}" must be a string, got ${describeType(value)}`);
  }
  if (value.trim() === '') throw new HttpError(400, 'empty_text', `field "${field}" is empty; send the message to classify`);
  return value;
}

/** Checks a list of token ids against the model's preprocessing parameters. */
export function requireIds(value: unknown, model: LoadedModel, field = 'ids'): Int32Array {
  const params = textPreprocessingOf(model).params as EmailHashParams;
  if (!Array.isArray(value)) throw new HttpError(400, 'invalid_request', `field "${field}" must be an array of integers`);
  if (value.length === 0) throw new HttpError(400, 'invalid_request', `field "${field}" is empty; send at least one token id`);
  if (value.length > params.maxIds) {
    throw new HttpError(400, 'invalid_request', `field "${field}" has ${value.length} ids; ${model.manifest.name} accepts at most ${params.maxIds}`);
  }
  const ids = new Int32Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const id = value[i];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= params.buckets) {
      throw new HttpError(
        400,
        'invalid_request',
        `${field}[${i}] must be an integer in [0, ${params.buckets}), got ${previewValue(id)}`,
      );
    }
    ids[i] = id;
  }
  return ids;
}

/** The model's text preprocessing; 400 when the model takes no text (nor ids made from it). */
function textPreprocessingOf(model: LoadedModel): PreprocessingSpec {
  const spec = model.manifest.preprocessing;
  if (!spec) throw new HttpError(400, 'invalid_request', `${model.manifest.name} takes no text or token ids; send its inputs by name ("inputs")`);
  return spec;
}

/**
 * A short preview of a JSON value for error messages: scalars as JSON, arrays and objects by
 * type only, since serializing a deeply nested value overflows the stack (found by fuzzing).
 */
export function previewValue(value: unknown, max = 40): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, max));
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return describeType(value);
}

/** A short, safe description of a JSON value's type for error messages. */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Checks ids a client preprocessed itself ({ids, preprocessing: {id, version, fingerprint?}}):
 * the preprocessing must be the one the model serves (409 naming it otherwise, so a stale
 * client learns what to update; `fingerprint`, when sent, must match the model's params),
 * and the ids must be valid for the model.
 */
export function requireClientIds(ids: unknown, preprocessing: unknown, model: LoadedModel): Int32Array {
  const served = textPreprocessingOf(model);
  const expected = `${served.id} v${served.version}`;
  if (preprocessing === undefined) {
    throw new HttpError(400, 'invalid_request', `token ids need field "preprocessing": {"id": "${served.id}", "version": ${served.version}}`);
  }
  if (typeof preprocessing !== 'object' || preprocessing === null || Array.isArray(preprocessing)) {
    throw new HttpError(400, 'invalid_request', `field "preprocessing" must be an object {"id": "${served.id}", "version": ${served.version}}, got ${describeType(preprocessing)}`);
  }
  const { id, version } = preprocessing as Record<string, unknown>;
  if (typeof id !== 'string' || typeof version !== 'number') {
    throw new HttpError(400, 'invalid_request', `field "preprocessing" must be {"id": string, "version": number}; ${model.manifest.name} expects {"id": "${served.id}", "version": ${served.version}}`);
  }
  if (id !== served.id || version !== served.version) {
    throw new HttpError(
      409,
      'preprocessing_mismatch',
      `${model.manifest.name}@${model.manifest.version} expects preprocessing ${expected}, the request used ${JSON.stringify(id.slice(0, 60))} v${version}; update the client or send "text"`,
    );
  }
  const { fingerprint } = preprocessing as Record<string, unknown>;
  if (fingerprint !== undefined) {
    const own = preprocessingFingerprint(served);
    if (fingerprint !== own) {
      throw new HttpError(
        409,
        'preprocessing_mismatch',
        `${model.manifest.name}@${model.manifest.version} expects preprocessing ${expected} with params fingerprint ${own}, the request used ${JSON.stringify(String(fingerprint).slice(0, 20))}; fetch the params again from GET /v2/models/${model.manifest.name}`,
      );
    }
  }
  return requireIds(ids, model);
}

/** The text inputs for `text` (any route: /v1/predict, the regional function); a text longer than the tokenizer may take (truncation off) is a 400. */
export function textFeedsOf(model: LoadedModel, text: string): TensorMap {
  try {
    return model.textFeeds(text);
  } catch (error) {
    // By name: a build carries the tokenizer's module only where it registers it.
    if (error instanceof Error && error.name === 'TextTooLongError') throw new HttpError(400, 'invalid_request', `field "text": ${error.message}`);
    throw error;
  }
}
