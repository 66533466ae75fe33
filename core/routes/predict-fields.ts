// POST /v1/predict with `"fields"` (tabular models: request fields, feature views, embeddings):
// the model's signature assembles every input (LoadedModel.assemble: fields, and the feature
// and embedding views in one round trip), the prediction cache key hashes the assembled
// tensors (a changed feature value is a new key, never a stale answer), and the answer says
// when features came from defaults (`degraded`, `features_unavailable`). Edge tier only: the
// cascade to a regional model for field requests is not wired yet.
import { isClassificationOf } from '../cache/prediction-values.ts';
import type { RequestContext } from '../handler.ts';
import { HttpError } from '../http/errors.ts';
import type { StageTimer } from '../http/timing.ts';
import type { LoadedModel } from '../serving/loaded-model.ts';
import type { ServiceContext } from '../service-context.ts';
import type { PredictResponse } from './predict.ts';

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

/** Answers a fields request on `model`. */
export async function predictFromFields(
  model: LoadedModel,
  fields: Record<string, string | number>,
  explain: boolean,
  service: ServiceContext,
  timer: StageTimer,
  context: RequestContext,
): Promise<PredictResponse> {
  const identity = { name: model.manifest.name, version: model.manifest.version, sha256: model.manifest.sha256 };
  const assembled = await timer.time('features', () => model.assemble({ fields }));
  const classify = async () => {
    const answer = model.interpret(await timer.time('infer', () => model.run(assembled.feeds)));
    if (answer.kind !== 'classification') throw new HttpError(400, 'invalid_request', `${identity.name} is not a classification model; use /v2/models/${identity.name}/infer`);
    return { label: answer.label, scores: { ...answer.scores }, confidence: answer.confidence };
  };
  let result: { label: string; scores: Record<string, number>; confidence: number };
  let level: PredictResponse['cache'] = undefined;
  const caching = service.caching;
  if (caching) {
    // Every declared input is in the feeds (fields, views, embeddings, constants): the key is the tensors the model sees.
    const key = timer.time('hash', () => caching.edgeKey(model.manifest, assembled.feeds));
    const labels = model.manifest.labels;
    const cached = await caching.cache.getOrCompute({
      key,
      tier: 'edge',
      ttlSeconds: model.manifest.cache.ttlSeconds,
      compute: classify,
      // A value of another shape or labels under this key is a miss, never an answer.
      isValid: (value): value is Awaited<ReturnType<typeof classify>> => isClassificationOf(value, labels),
      ...(context.waitUntil ? { waitUntil: context.waitUntil } : {}),
    });
    result = cached.value;
    level = { level: cached.trace.level, l2: cached.trace.l2, policy: caching.cache.policy.mode };
  } else result = await classify();
  const degraded = assembled.degraded;
  return {
    label: result.label,
    scores: result.scores,
    model: identity,
    tier: 'edge',
    degraded: degraded !== undefined,
    ...(degraded ? { reason: degraded } : {}),
    cached: level?.level != null,
    ...(level ? { cache: level } : {}),
    ...(explain && assembled.features ? { features: assembled.features as NonNullable<PredictResponse['features']> } : {}),
    timings: {},
  };
}
