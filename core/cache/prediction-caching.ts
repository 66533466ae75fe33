// The prediction cache as the request handler uses it: keys for the edge and regional
// models of a request, the free L1 look at a regional answer before running anything,
// and the regional tier wrapped so that L2 is asked only on the escalation path.
import type { ModelSource } from '../model/repository.ts';
import type { RegionalRequest, RegionalTier } from '../router/regional-tier.ts';
import { regionalPredictionKey, withPredictionCache } from './cached-regional-tier.ts';
import { assembledInputHash, keyScope, predictionKey, textHash, type TextDigest } from './keys.ts';
import { createModelIdentifier, modelFingerprint, type ModelIdentity } from './model-identity.ts';
import type { ModelManifest } from '../model/manifest.ts';
import type { Tensor } from '../engine/types.ts';
import { isRegionalOutcomeOf } from './prediction-values.ts';
import type { RegionalOutcome } from '../router/regional-tier.ts';
import type { TwoLevelCache, WaitUntil } from './two-level-cache.ts';

const inputNames = new WeakMap<ModelManifest, readonly string[]>();

/** The declared input names of a model, in order (computed once per manifest). */
function inputNamesOf(manifest: ModelManifest): readonly string[] {
  let names = inputNames.get(manifest);
  if (!names) {
    names = manifest.inputs.map((i) => i.name);
    inputNames.set(manifest, names);
  }
  return names;
}

/** Per-service caching: the cache, model identities and the per-request waitUntil registry. */
export class PredictionCaching {
  readonly cache: TwoLevelCache;
  readonly identify: (name: string, version?: string) => Promise<ModelIdentity | undefined>;
  // The regional wrapper sees only the wire payload; it finds the request's waitUntil here by requestId.
  readonly #waitUntilByRequest = new Map<string, WaitUntil>();

  readonly #digest: TextDigest | undefined;

  constructor(cache: TwoLevelCache, models: ModelSource, latest: (name: string) => Promise<string | undefined>, digest?: TextDigest) {
    this.cache = cache;
    this.identify = createModelIdentifier(models, latest);
    this.#digest = digest;
  }

  /**
   * The edge key of a request on `manifest`'s model: its fingerprint and the hash of every
   * input it is fed (`inputNames`, default all; tensors in `feeds`, the others made from the
   * text of {@link hashText}).
   */
  edgeKey(manifest: ModelManifest, feeds: Readonly<Record<string, Tensor>>, hashOfText?: string, inputNames: readonly string[] = inputNamesOf(manifest)): string {
    const inputHash = assembledInputHash(inputNames, feeds, hashOfText, this.#digest);
    return predictionKey({ space: 'e', fingerprint: modelFingerprint(manifest), inputHash });
  }

  /** The hash of a request's text, shared by its edge key and its regional lookups. */
  hashText(text: string): string {
    return textHash(text, this.#digest);
  }

  /** The hot-key scope of a model's edge answers (what the warmer primes). */
  edgeScope(manifest: ModelManifest): string {
    return keyScope({ space: 'e', fingerprint: modelFingerprint(manifest) });
  }

  /** The regional tier behind this cache. */
  wrapRegional(tier: RegionalTier): RegionalTier {
    return withPredictionCache(
      tier,
      this.cache,
      (model, version) => this.identify(model, version),
      (request: RegionalRequest) => this.#waitUntilByRequest.get(request.requestId),
      this.#digest,
    );
  }

  /** Runs `fn` with `waitUntil` registered for `requestId` (for writes made by the regional wrapper). */
  async withRequest<T>(requestId: string, waitUntil: WaitUntil | undefined, fn: () => Promise<T>): Promise<T> {
    if (!waitUntil) return fn();
    this.#waitUntilByRequest.set(requestId, waitUntil);
    try {
      return await fn();
    } finally {
      this.#waitUntilByRequest.delete(requestId);
    }
  }

  /** A regional answer for the text of `hashOfText` already in L1 (free: no network, no model); one of another shape or model is none. */
  async peekRegional(model: string, hashOfText: string): Promise<Extract<RegionalOutcome, { ok: true }> | undefined> {
    const identity = await this.identify(model);
    const key = identity ? regionalPredictionKey(identity, { textHash: hashOfText }, this.#digest) : undefined;
    if (!identity || key === undefined) return undefined;
    const outcome = this.cache.peek<unknown>(key);
    return isRegionalOutcomeOf(outcome, identity) ? outcome : undefined;
  }
}
