// The regional tier behind the prediction cache: the escalation path is where a cache hit
// is worth the most (it avoids a paid call and tens of milliseconds), so this is where L2
// is asked, just before calling the region. Answers live in the regional key space (`p:r:`,
// never shared with the edge path's answers of the same model) under the regional model's
// fingerprint, and are stored only when the call succeeded and came from that exact model.
import type { Tensor } from '../engine/types.ts';
import type { RegionalOutcome, RegionalPrediction, RegionalRequest, RegionalTier } from '../router/regional-tier.ts';
import { assembledInputHash, predictionKey, textHash, type TextDigest } from './keys.ts';
import type { ModelIdentity } from './model-identity.ts';
import { isRegionalOutcomeOf } from './prediction-values.ts';
import type { CacheTrace, TwoLevelCache, WaitUntil } from './two-level-cache.ts';

/** What the edge knows of a regional model version (from its model.json). */
export type RegionalModelIdentity = ModelIdentity;

/**
 * The regional key of a request: the regional model's inputs made from its text (by the
 * text's hash; or the ids the caller made with its preprocessing, as its first text input). Undefined when the
 * model takes no text (nothing to key on).
 */
export function regionalPredictionKey(identity: ModelIdentity, input: { textHash?: string; ids?: readonly number[] }, digest?: TextDigest): string | undefined {
  if (identity.firstTextInput === undefined) return undefined;
  let feeds: Record<string, Tensor> = {};
  if (input.textHash === undefined) {
    if (!input.ids || !input.ids.every((id) => Number.isInteger(id) && id >= -(2 ** 31) && id < 2 ** 31)) return undefined;
    feeds = { [identity.firstTextInput]: { dtype: 'int32', dims: [1, input.ids.length], data: Int32Array.from(input.ids) } };
  }
  const names = input.textHash === undefined ? [identity.firstTextInput] : identity.inputNames;
  return predictionKey({ space: 'r', fingerprint: identity.fingerprint, inputHash: assembledInputHash(names, feeds, input.textHash, digest) });
}

/** A regional prediction with how the cache served it. */
export interface CachedRegionalPrediction extends RegionalPrediction {
  cache?: CacheTrace;
}

/**
 * Wraps `tier` so that each invoke first looks in the cache (L1, then L2 when the policy
 * says so) under `p:r:{regional fingerprint}:{inputHash}`. `identify` returns
 * the identity of the requested model, or undefined to pass the call through uncached.
 * `waitUntilFor` finds the platform's waitUntil of the request being served (the
 * RegionalRequest is the wire payload, so it cannot carry it); default: the cache's own.
 */
export function withPredictionCache(
  tier: RegionalTier,
  cache: TwoLevelCache,
  identify: (model: string, version: string | undefined) => Promise<RegionalModelIdentity | undefined> | RegionalModelIdentity | undefined,
  waitUntilFor?: (request: RegionalRequest) => WaitUntil | undefined,
  digest?: TextDigest,
): RegionalTier {
  return {
    kind: `${tier.kind}+cache`,
    async invoke(request: RegionalRequest, signal: AbortSignal): Promise<RegionalOutcome> {
      const identity = await identify(request.model, request.version);
      const input = request.text !== undefined ? { textHash: textHash(request.text, digest) } : request.ids !== undefined ? { ids: request.ids } : {};
      const key = identity ? regionalPredictionKey(identity, input, digest) : undefined;
      if (!identity || key === undefined) return tier.invoke(request, signal);
      const isFromThisModel = (value: unknown): value is RegionalOutcome => isRegionalOutcomeOf(value, identity);
      const waitUntil = waitUntilFor?.(request);
      const { value, trace } = await cache.getOrCompute<RegionalOutcome>({
        ...(waitUntil ? { waitUntil } : {}),
        key,
        tier: 'regional',
        ttlSeconds: identity.ttlSeconds,
        compute: () => tier.invoke(request, signal),
        // Failures are never cached, nor an answer from another model version than the key names.
        isCacheable: isFromThisModel,
        isValid: isFromThisModel,
      });
      if (!value.ok) return value;
      const prediction: CachedRegionalPrediction = { ...value.prediction, cache: trace };
      return { ok: true, prediction };
    },
  };
}
