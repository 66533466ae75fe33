// The regional tier behind the prediction cache: the escalation path is where a cache hit
// is worth the most (it avoids a paid call and tens of milliseconds), so this is where L2
// is asked, just before calling the region. Answers live in the regional key space (`p:r:`,
// never shared with the edge path's answers of the same model) under the regional model's
// fingerprint, and are stored only when the call succeeded and came from that exact model.
// The key is over every input the regional model is run on (text, ids, fields, the feature
// values the edge forwards), so a changed feature value is another key.
import type { Tensor } from '../engine/types.ts';
import type { RegionalOutcome, RegionalPrediction, RegionalRequest, RegionalTier } from '../router/regional-tier.ts';
import { fieldsTensor, forwardedFeatureTensor } from '../serving/forwarded-inputs.ts';
import { constantTensor } from '../serving/model-io.ts';
import { assembledInputHash, predictionKey, textHash, type TextDigest } from './keys.ts';
import type { ModelIdentity } from './model-identity.ts';
import { isRegionalOutcomeOf } from './prediction-values.ts';
import type { CacheTrace, TwoLevelCache, WaitUntil } from './two-level-cache.ts';

/** What the edge knows of a regional model version (from its model.json). */
export type RegionalModelIdentity = ModelIdentity;

/** What of a regional request its key is over (text by its hash). */
export interface RegionalKeyInput {
  textHash?: string;
  ids?: readonly number[];
  fields?: RegionalRequest['fields'];
  features?: RegionalRequest['features'];
}

/**
 * The regional key of a request: the regional model's fingerprint and the hash of every input
 * it is run on, built from the request as the regional function builds them (text inputs by
 * the text's hash, or the caller's ids as the first text input; fields; forwarded feature
 * values; constants). Undefined when the request does not determine every input (e.g.
 * feature values the function reads itself): such a call is not cached.
 */
export function regionalPredictionKey(identity: ModelIdentity, input: RegionalKeyInput, digest?: TextDigest): string | undefined {
  const feeds: Record<string, Tensor> = {};
  const inputs = identity.inputs;
  if (!inputs) {
    // Known only by name: every input is made from the text (or the single one from ids).
    if (identity.firstTextInput === undefined) return undefined;
    if (input.textHash === undefined) {
      const ids = idsTensor(input.ids);
      if (!ids) return undefined;
      feeds[identity.firstTextInput] = ids;
      return predictionKey({ space: 'r', fingerprint: identity.fingerprint, inputHash: assembledInputHash([identity.firstTextInput], feeds, undefined, digest) });
    }
    return predictionKey({ space: 'r', fingerprint: identity.fingerprint, inputHash: assembledInputHash(identity.inputNames, feeds, input.textHash, digest) });
  }
  for (const spec of inputs) {
    let tensor: Tensor | undefined;
    switch (spec.source) {
      case 'text':
        if (input.textHash !== undefined) continue; // made from the text: the text's hash stands for it
        tensor = spec.name === identity.firstTextInput ? idsTensor(input.ids) : undefined;
        break;
      case 'fields':
        try {
          tensor = fieldsTensor(spec, input.fields);
        } catch {
          tensor = undefined; // the function refuses it; nothing to cache
        }
        break;
      case 'features':
      case 'embedding':
        tensor = input.features && Object.prototype.hasOwnProperty.call(input.features, spec.name) ? forwardedFeatureTensor(spec, input.features[spec.name]) : undefined;
        break;
      case 'constant':
        tensor = constantTensor(spec);
        break;
      default:
        tensor = undefined; // client tensors are not forwarded
    }
    if (!tensor) return undefined;
    feeds[spec.name] = tensor;
  }
  return predictionKey({ space: 'r', fingerprint: identity.fingerprint, inputHash: assembledInputHash(identity.inputNames, feeds, input.textHash, digest) });
}

function idsTensor(ids: readonly number[] | undefined): Tensor | undefined {
  if (!ids || !ids.every((id) => Number.isInteger(id) && id >= -(2 ** 31) && id < 2 ** 31)) return undefined;
  return { dtype: 'int32', dims: [1, ids.length], data: Int32Array.from(ids) };
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
      const input: RegionalKeyInput = {
        ...(request.text !== undefined ? { textHash: textHash(request.text, digest) } : request.ids !== undefined ? { ids: request.ids } : {}),
        ...(request.fields ? { fields: request.fields } : {}),
        ...(request.features ? { features: request.features } : {}),
      };
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
        // Failures are never cached, nor an answer on default feature values, nor one from another model version than the key names.
        isCacheable: (value: unknown): value is RegionalOutcome => isFromThisModel(value) && (value as Extract<RegionalOutcome, { ok: true }>).prediction.degraded === undefined,
        isValid: isFromThisModel,
      });
      if (!value.ok) return value;
      const prediction: CachedRegionalPrediction = { ...value.prediction, cache: trace };
      return { ok: true, prediction };
    },
  };
}
