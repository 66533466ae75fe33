// Cache keys bound to what produced the value: a prediction key names the model's sha256
// and the preprocessing version, so a new model (or a new tokenizer) never reads an old
// answer; a feature key names the view and its version.
import { sha256HexSync } from './sha256.ts';

/**
 * Hex SHA-256 of UTF-8 text: the same digest web crypto gives, computed synchronously
 * (see sha256.ts for why). Async so callers need not change if this moves back to
 * crypto.subtle.
 */
export async function sha256HexOfText(text: string): Promise<string> {
  return sha256HexSync(text);
}

/**
 * Canonical text of a model input: strings as they are (the preprocessor sees exact text,
 * so two spellings are two inputs), other JSON values with object keys sorted and no
 * whitespace. Equal inputs give equal text whatever the key order of the request.
 */
export function canonicalInput(input: unknown): string {
  if (typeof input === 'string') return `s:${input}`;
  return `j:${canonicalJson(input)}`;
}

function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('canonical input cannot hold NaN or Infinity');
    if (value === undefined) return 'null';
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (ArrayBuffer.isView(value)) return `[${Array.from(value as unknown as ArrayLike<number>, Number).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/**
 * Hex SHA-256 of the UTF-8 bytes of a text. The portable default is sha256HexSync (pure JS,
 * any runtime); a platform with a native one passes it in (the node server: node:crypto,
 * several times faster for a few KB). Both give the same digest, so keys agree everywhere.
 */
export type TextDigest = (...parts: string[]) => string;

/** SHA-256 (hex) of the canonical input. */
export function inputHash(input: unknown, digest?: TextDigest): Promise<string> {
  return digest ? Promise.resolve(digest(canonicalInput(input))) : sha256HexOfText(canonicalInput(input));
}

/** {@link inputHash}, synchronously, with `digest` (default: the portable one). */
export function inputHashSync(input: unknown, digest: TextDigest = sha256HexSync): string {
  // A text is hashed as its prefix and itself: no joined copy of a few KB per request.
  return typeof input === 'string' ? digest('s:', input) : digest(canonicalInput(input));
}

/** What a prediction key is bound to. */
export interface PredictionKeyParts {
  /** sha256 of the model file (model.json `sha256`). */
  modelSha: string;
  /** model.json `preprocessing.version`. */
  preprocessingVersion: number;
  /** {@link inputHash} of the request's input. */
  inputHash: string;
}

/** `p:{modelSha}:{preprocessingVersion}:{inputHash}` */
export function predictionKey(parts: PredictionKeyParts): string {
  return `p:${parts.modelSha}:${parts.preprocessingVersion}:${parts.inputHash}`;
}

/** Reads a prediction key back; null when `key` is not one. */
export function parsePredictionKey(key: string): PredictionKeyParts | null {
  const match = /^p:([0-9a-f]{64}):(\d+):([0-9a-f]{64})$/.exec(key);
  if (!match) return null;
  return { modelSha: match[1] as string, preprocessingVersion: Number(match[2]), inputHash: match[3] as string };
}

/**
 * `f:{view}:{viewVersion}:{entity}`; the entity is percent-encoded so that a ':' inside it
 * cannot collide with another view's key.
 */
export function featureKey(view: string, viewVersion: number, entity: string): string {
  return `f:${view}:${viewVersion}:${encodeURIComponent(entity)}`;
}

/** Sorted set counting (sampled) requests per input hash of one model: `hot:{modelSha}`. */
export function hotKeysKey(modelSha: string): string {
  return `hot:${modelSha}`;
}
