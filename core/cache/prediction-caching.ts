// The prediction cache as the request handler uses it: keys for the edge and regional
// models of a request, the free L1 look at a regional answer before running anything,
// and the regional tier wrapped so that L2 is asked only on the escalation path.
import type { ModelSource } from '../model/repository.ts';
import type { RegionalRequest, RegionalTier } from '../router/regional-tier.ts';
import { withPredictionCache, type RegionalModelIdentity } from './cached-regional-tier.ts';
import { inputHashSync, predictionKey, type TextDigest } from './keys.ts';
import { createModelIdentifier } from './model-identity.ts';
import type { RegionalOutcome } from '../router/regional-tier.ts';
import type { TwoLevelCache, WaitUntil } from './two-level-cache.ts';

/** Per-service caching: the cache, model identities and the per-request waitUntil registry. */
export class PredictionCaching {
  readonly cache: TwoLevelCache;
  readonly identify: (name: string, version?: string) => Promise<RegionalModelIdentity | undefined>;
  // The regional wrapper sees only the wire payload; it finds the request's waitUntil here by requestId.
  readonly #waitUntilByRequest = new Map<string, WaitUntil>();

  readonly #digest: TextDigest | undefined;

  constructor(cache: TwoLevelCache, models: ModelSource, latest: (name: string) => Promise<string | undefined>, digest?: TextDigest) {
    this.cache = cache;
    this.identify = createModelIdentifier(models, latest);
    this.#digest = digest;
  }

  /** The input hash of a request's text or ids (keys.ts inputHash), with this platform's digest. */
  hashInput(input: unknown): string {
    return inputHashSync(input, this.#digest);
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

  /** A regional answer already in L1 (free: no network, no model). */
  async peekRegional(model: string, inputHash: string): Promise<Extract<RegionalOutcome, { ok: true }> | undefined> {
    const identity = await this.identify(model);
    if (!identity) return undefined;
    const key = predictionKey({ modelSha: identity.sha256, preprocessingVersion: identity.preprocessingVersion, inputHash });
    const outcome = this.cache.peek<RegionalOutcome>(key);
    return outcome?.ok ? outcome : undefined;
  }
}
