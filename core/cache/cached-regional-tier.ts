// The regional tier behind the prediction cache: the escalation path is where a cache hit
// is worth the most (it avoids a paid call and tens of milliseconds), so this is where L2
// is asked, just before calling the region. Answers are keyed by the regional model's sha
// and stored only when the call succeeded and came from that exact model.
import type { RegionalOutcome, RegionalPrediction, RegionalRequest, RegionalTier } from '../router/regional-tier.ts';
import { regionalPredictionProblem } from '../router/regional-tier.ts';
import { inputHashSync, predictionKey, type TextDigest } from './keys.ts';
import type { CacheTrace, TwoLevelCache, WaitUntil } from './two-level-cache.ts';

/** What the edge knows of a regional model version (from its model.json). */
export interface RegionalModelIdentity {
  sha256: string;
  preprocessingVersion: number;
  ttlSeconds: number;
}

/** A regional prediction with how the cache served it. */
export interface CachedRegionalPrediction extends RegionalPrediction {
  cache?: CacheTrace;
}

/**
 * Wraps `tier` so that each invoke first looks in the cache (L1, then L2 when the policy
 * says so) under `p:{regionalSha}:{preprocessingVersion}:{inputHash}`. `identify` returns
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
      if (!identity) return tier.invoke(request, signal);
      const key = predictionKey({
        modelSha: identity.sha256,
        preprocessingVersion: identity.preprocessingVersion,
        inputHash: inputHashSync(request.text ?? request.ids ?? null, digest),
      });
      const isFromThisModel = (value: unknown): value is RegionalOutcome => {
        const outcome = value as RegionalOutcome | null;
        return (
          typeof outcome === 'object' &&
          outcome !== null &&
          outcome.ok === true &&
          regionalPredictionProblem(outcome.prediction) === null &&
          outcome.prediction.model.sha256 === identity.sha256
        );
      };
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
