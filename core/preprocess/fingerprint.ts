// A short fingerprint of a preprocessing's params, sent by clients with their ids: two
// models can share id and version (email-hash v1) yet hash into different bucket spaces,
// and ids made with stale params would be valid numbers with the wrong meaning.
import { canonicalInput } from '../cache/keys.ts';
import { fnv1a } from './email-hash.ts';
import type { PreprocessingSpec } from './index.ts';

// Per spec object (a model's manifest holds one): an ids request that sends a fingerprint
// is checked against the model's without serialising its params again.
const computed = new WeakMap<PreprocessingSpec, string>();

/** 8 hex digits: FNV-1a of the canonical JSON of {id, version, params} (key order does not matter). */
export function preprocessingFingerprint(spec: PreprocessingSpec): string {
  let fingerprint = computed.get(spec);
  if (fingerprint === undefined) {
    fingerprint = fnv1a(canonicalInput({ id: spec.id, version: spec.version, params: spec.params })).toString(16).padStart(8, '0');
    computed.set(spec, fingerprint);
  }
  return fingerprint;
}
