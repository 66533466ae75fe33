// A short fingerprint of a preprocessing's params, sent by clients with their ids: two
// models can share id and version (email-hash v1) yet hash into different bucket spaces,
// and ids made with stale params would be valid numbers with the wrong meaning.
import { canonicalInput } from '../cache/keys.ts';
import { fnv1a } from './email-hash.ts';
import type { PreprocessingSpec } from './index.ts';

/** 8 hex digits: FNV-1a of the canonical JSON of {id, version, params} (key order does not matter). */
export function preprocessingFingerprint(spec: PreprocessingSpec): string {
  return fnv1a(canonicalInput({ id: spec.id, version: spec.version, params: spec.params })).toString(16).padStart(8, '0');
}
