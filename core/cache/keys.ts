// Cache keys bound to what produced the value: a prediction key names its key space (edge
// or regional answers, stored in different shapes), the model's fingerprint (graph,
// signature, output reading, preprocessing and its params) and a hash of every input the
// model sees, so a new model, new labels or a new tokenizer never read an old answer; a
// feature key names the view and its version.
import type { Tensor } from '../engine/types.ts';
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
 * Hex SHA-256 of `parts` joined (strings as UTF-8, byte arrays as they are). The portable
 * default is sha256HexSync (pure JS, any runtime); a platform with a native one passes it in
 * (the node server: node:crypto, several times faster for a few KB). Both give the same
 * digest, so keys agree everywhere.
 */
export type TextDigest = (...parts: Array<string | Uint8Array>) => string;

/** SHA-256 (hex) of the canonical input. */
export function inputHash(input: unknown, digest?: TextDigest): Promise<string> {
  return digest ? Promise.resolve(digest(canonicalInput(input))) : sha256HexOfText(canonicalInput(input));
}

/** {@link inputHash}, synchronously, with `digest` (default: the portable one). */
export function inputHashSync(input: unknown, digest: TextDigest = sha256HexSync): string {
  // A text is hashed as its prefix and itself: no joined copy of a few KB per request.
  return typeof input === 'string' ? digest('s:', input) : digest(canonicalInput(input));
}

/** SHA-256 (hex) of a request's text, computed once and shared by its edge and regional keys. */
export function textHash(text: string, digest: TextDigest = sha256HexSync): string {
  return digest('t:', text);
}

/**
 * SHA-256 (hex) of every input the model sees for one request, in declared order: per input
 * its name, then its tensor (dtype, dims, byte length, little-endian bytes) or, for an input
 * the text preprocessing makes (absent from `feeds`), a marker; the {@link textHash} closes
 * the hash. With the model fingerprint in the key (which binds the preprocessing and its
 * params), a text stands for the tensors it makes: a hit needs no tokenising. Two requests
 * share a hash only when the model would see the same tensors.
 */
export function assembledInputHash(
  inputNames: readonly string[],
  feeds: Readonly<Record<string, Tensor>>,
  hashOfText: string | undefined,
  digest: TextDigest = sha256HexSync,
): string {
  // Every input made from the text (the spam models): the text's own hash is the input hash,
  // one digest a request. It cannot equal an assembled hash (other preimage prefix), and the
  // fingerprint in the key binds the input names.
  let tensors = 0;
  for (const name of inputNames) if (Object.prototype.hasOwnProperty.call(feeds, name)) tensors++;
  if (tensors === 0) {
    if (hashOfText === undefined) throw new TypeError('assembledInputHash: an input made from text, and no text');
    return hashOfText;
  }
  const parts: Array<string | Uint8Array> = ['a1'];
  let deferred = false;
  for (const name of inputNames) {
    const tensor = Object.prototype.hasOwnProperty.call(feeds, name) ? feeds[name] : undefined;
    if (tensor) {
      const data = tensor.data;
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      parts.push(`\u0001${name}\u0000${tensor.dtype}[${tensor.dims.join(',')}]${bytes.length}:`, bytes);
    } else {
      parts.push(`\u0001${name}\u0000t`);
      deferred = true;
    }
  }
  if (deferred) {
    if (hashOfText === undefined) throw new TypeError('assembledInputHash: an input made from text, and no text');
    parts.push('\u0002', hashOfText);
  }
  return digest(...parts);
}

/** Edge answers (`e`: the model the request named, run here) and regional ones (`r`: from the regional tier) never share a key. */
export type KeySpace = 'e' | 'r';

/** What a prediction key is bound to. */
export interface PredictionKeyParts {
  space: KeySpace;
  /** {@link modelFingerprint} of the model version (model-identity.ts): graph, signature, output reading, preprocessing. */
  fingerprint: string;
  /** {@link assembledInputHash} of the request's inputs. */
  inputHash: string;
}

/** `p:{space}:{fingerprint}:{inputHash}` */
export function predictionKey(parts: PredictionKeyParts): string {
  return `p:${parts.space}:${parts.fingerprint}:${parts.inputHash}`;
}

/** Reads a prediction key back; null when `key` is not one. */
export function parsePredictionKey(key: string): PredictionKeyParts | null {
  const match = /^p:([er]):([0-9a-f]{64}):([0-9a-f]{64})$/.exec(key);
  if (!match) return null;
  return { space: match[1] as KeySpace, fingerprint: match[2] as string, inputHash: match[3] as string };
}

/** The hot-key scope of a key: `{space}:{fingerprint}` (one model version in one key space). */
export function keyScope(parts: Pick<PredictionKeyParts, 'space' | 'fingerprint'>): string {
  return `${parts.space}:${parts.fingerprint}`;
}

/**
 * `f:{view}:{viewVersion}:{entity}`; the entity is percent-encoded so that a ':' inside it
 * cannot collide with another view's key.
 */
export function featureKey(view: string, viewVersion: number, entity: string): string {
  return `f:${view}:${viewVersion}:${encodeURIComponent(entity)}`;
}

/**
 * Sorted set counting (sampled) requests per input hash of one model version in one key
 * space: `hot:{scope}` ({@link keyScope}); its members are input hashes, so a member's
 * prediction key is `p:{scope}:{member}`.
 */
export function hotKeysKey(scope: string): string {
  return `hot:${scope}`;
}
