// `"fields"` of POST /v1/predict (tabular models: request fields, feature views, embeddings),
// checked before any model runs. The route (predict.ts) hands them to the model's signature,
// which assembles every input (LoadedModel.assemble: fields, and the feature and embedding
// views in one round trip); the prediction cache key hashes the assembled tensors (a changed
// feature value is a new key, never a stale answer), and the answer says when features came
// from defaults (`degraded`, `features_unavailable`). An unsure edge answer escalates with the
// fields (core/router/forwarded-features.ts); the regional function checks them here too.
import { HttpError } from '../http/errors.ts';

/** Checks `fields`: an object of strings and finite numbers (at most 64, names and strings ≤ 128 chars). */
export function requireFields(value: unknown): Record<string, string | number> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'invalid_request', 'field "fields" must be an object of request fields, e.g. {"origin": "ORD", "hour": 17}');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > 64) throw new HttpError(400, 'invalid_request', `field "fields" has ${entries.length} entries; at most 64`);
  const out: Record<string, string | number> = Object.create(null);
  for (const [name, v] of entries) {
    if (name.length > 128) throw new HttpError(400, 'invalid_request', 'a name in "fields" is longer than 128 characters');
    if (typeof v === 'string' && v.length <= 128) out[name] = v;
    else if (typeof v === 'number' && Number.isFinite(v)) out[name] = v;
    else throw new HttpError(400, 'invalid_request', `fields.${name.slice(0, 40)} must be a string (≤ 128 chars) or a finite number`);
  }
  return out;
}
