// Read-through, two-level cache of results: L1 (this isolate's LRU) then, when the policy
// says it pays, L2 (Upstash), then the computation. Concurrent misses for one key share a
// single computation (single-flight). Only successful results are stored; L2 writes and
// hot-key counts run after the response through the adapter's waitUntil.
import { hotKeysKey, keyScope, parsePredictionKey } from './keys.ts';
import { LruCache } from './lru.ts';
import { CachePolicy, type AnswerTier, type CacheDecision } from './policy.ts';
import type { RemoteCache, RemoteSkipReason } from './remote-cache.ts';

/** Cache level that answered. */
export type CacheLevel = 'l1' | 'l2';

/** What L2 did for one request. */
export type L2Status = 'hit' | 'miss' | 'not_asked' | 'not_configured' | 'corrupt' | RemoteSkipReason;

/** How one lookup went; the handler reports it in the response. */
export interface CacheTrace {
  /** Level that answered, or null when the value was computed. */
  level: CacheLevel | null;
  l1: 'hit' | 'miss' | 'off';
  l2: L2Status;
  /** Time spent on L2, ms (0 when not asked). */
  l2Ms: number;
  /** True when this request waited for another request's computation of the same key. */
  shared: boolean;
  /** The policy's reason, e.g. "auto: L2 does not pay (...)". */
  why: string;
}

/** Lets work continue after the response (the platform's waitUntil). */
export type WaitUntil = (promise: Promise<unknown>) => void;

/** One read-through request. */
export interface CacheRequest<T> {
  key: string;
  /** Which tier computes the value: what a hit avoids (drives the policy). */
  tier: AnswerTier;
  /** Lifetime of a stored value, seconds (model.json `cache.ttlSeconds`); 0 = never store. */
  ttlSeconds: number;
  /** Produces the value on a miss. May throw: nothing is stored then. */
  compute: () => Promise<T>;
  /** False for results that must not be cached (e.g. a failed regional call). Default: all. */
  isCacheable?: (value: T) => boolean;
  /** Checks a value found in L1 or read back from L2 (shape, model sha); false → treated as a miss. */
  isValid?: (value: unknown) => value is T;
  /** Overrides the cache's waitUntil for this request. */
  waitUntil?: WaitUntil;
}

/** Result of a read-through lookup. */
export interface CacheResult<T> {
  value: T;
  trace: CacheTrace;
}

/** Settings of a {@link TwoLevelCache}. */
export interface TwoLevelCacheOptions {
  policy: CachePolicy;
  /** L2; absent → L1 only (the embedded default). */
  remote?: RemoteCache;
  /** L1 bounds (defaults: 10,000 entries, 16 MiB). */
  l1MaxEntries?: number;
  l1MaxBytes?: number;
  /** Count every Nth lookup in the hot-key sorted set (by N); 0 disables. Default 100. */
  hotKeySampleEvery?: number;
  /** Default waitUntil; without one, writes run detached (fine in Node, lost in a frozen isolate). */
  waitUntil?: WaitUntil;
  now?: () => number;
}

/** Counters since creation. */
export interface TwoLevelCacheStats {
  lookups: number;
  l1Hits: number;
  l2Hits: number;
  computed: number;
  shared: number;
  l2Skipped: number;
  l2Writes: number;
  hotKeyIncrements: number;
  /** Values read from L2 that failed their check (another shape, model or labels): served as misses. */
  l2Corrupt: number;
  /** Values the warmer read from L2 and left out of L1 (unreadable or failing their check). */
  primeRejected: number;
}

interface L1Entry {
  value: unknown;
}

/** The two-level read-through cache of one isolate. */
export class TwoLevelCache {
  readonly policy: CachePolicy;
  readonly remote: RemoteCache | undefined;
  readonly l1: LruCache<L1Entry>;
  readonly #hotKeySampleEvery: number;
  readonly #waitUntil: WaitUntil;
  readonly #inFlight = new Map<string, Promise<CacheResult<unknown>>>();
  readonly #now: () => number;
  #stats: TwoLevelCacheStats = { lookups: 0, l1Hits: 0, l2Hits: 0, computed: 0, shared: 0, l2Skipped: 0, l2Writes: 0, hotKeyIncrements: 0, l2Corrupt: 0, primeRejected: 0 };

  constructor(options: TwoLevelCacheOptions) {
    this.policy = options.policy;
    this.remote = options.remote;
    this.#now = options.now ?? (() => Date.now());
    this.l1 = new LruCache<L1Entry>({
      maxEntries: options.l1MaxEntries ?? 10_000,
      maxBytes: options.l1MaxBytes ?? 16 * 1024 * 1024,
      now: this.#now,
    });
    this.#hotKeySampleEvery = options.hotKeySampleEvery ?? 100;
    this.#waitUntil = options.waitUntil ?? ((promise) => void promise.catch(() => {}));
  }

  /** The L1 value for `key` if there is one (free: no network, no policy). */
  peek<T>(key: string): T | undefined {
    if (this.policy.mode === 'off') return undefined;
    return this.l1.get(key)?.value as T | undefined;
  }

  /** Returns the cached value for `request.key`, or computes, stores and returns it. */
  async getOrCompute<T>(request: CacheRequest<T>): Promise<CacheResult<T>> {
    this.#stats.lookups++;
    this.#countHotKey(request.key, request.waitUntil);
    let cached = this.policy.mode !== 'off' ? this.l1.get(request.key) : undefined;
    if (cached && request.isValid && !request.isValid(cached.value)) {
      // L1 holds what this isolate checked or computed under the key; should anything else
      // ever be there, it is dropped and the lookup goes on as a miss, never an answer.
      this.l1.delete(request.key);
      cached = undefined;
    }
    if (cached) {
      this.#stats.l1Hits++;
      // The policy's reasoning is read only when someone asks for it: building it (a price
      // comparison and its sentence) on every hit was a visible share of a cached request.
      const { policy } = this;
      const { tier, key } = request;
      return {
        value: cached.value as T,
        trace: {
          level: 'l1',
          l1: 'hit',
          l2: 'not_asked',
          l2Ms: 0,
          shared: false,
          get why() {
            return policy.decide(tier, key).why;
          },
        },
      };
    }
    const decision = this.policy.decide(request.tier, request.key);
    if (!decision.useL1) {
      const value = await this.#compute(request);
      return { value, trace: { level: null, l1: 'off', l2: 'not_asked', l2Ms: 0, shared: false, why: decision.why } };
    }
    const running = this.#inFlight.get(request.key);
    if (running) {
      this.#stats.shared++;
      const result = (await running) as CacheResult<T>;
      return { value: result.value, trace: { ...result.trace, shared: true } };
    }
    const lookup = this.#missPath(request, decision);
    this.#inFlight.set(request.key, lookup as Promise<CacheResult<unknown>>);
    try {
      return await lookup;
    } finally {
      this.#inFlight.delete(request.key);
    }
  }

  /** Stores a value computed elsewhere, under the policy's placement for `tier`. */
  put(key: string, tier: AnswerTier, value: unknown, ttlSeconds: number, waitUntil?: WaitUntil): void {
    const decision = this.policy.decide(tier, key);
    this.#store(key, value, ttlSeconds, decision, waitUntil);
  }

  stats(): TwoLevelCacheStats {
    return { ...this.#stats };
  }

  /**
   * Warmer: copies the `count` hottest predictions of a model from L2 into L1 (ZRANGE of
   * the hot-key set, then one MGET). Values only exist in L2 where the policy writes them
   * (always, or auto where L2 pays). Returns how many entries L1 received.
   */
  async primeFromHotKeys(scope: string, count: number, ttlSeconds: number, isValid?: (value: unknown) => boolean): Promise<number> {
    if (!this.remote || this.policy.mode === 'off' || this.policy.mode === 'l1' || count <= 0) return 0;
    const top = await this.remote.topMembers(hotKeysKey(scope), count);
    if (top.status !== 'hit') return 0;
    // A member that does not make a prediction key (written by someone else) is not read.
    const keys = top.value.map(({ member }) => `p:${scope}:${member}`).filter((key) => parsePredictionKey(key) !== null);
    if (keys.length === 0) return 0;
    const read = await this.remote.mget(keys);
    if (read.status !== 'hit') return 0;
    let primed = 0;
    read.value.forEach((text, i) => {
      if (text === null) return;
      const value = decodeStored(text);
      if (value === undefined || (isValid && !isValid(value))) {
        this.#stats.primeRejected++;
        return;
      }
      this.#storeL1(keys[i] as string, value, ttlSeconds * 1000);
      primed++;
    });
    return primed;
  }

  async #missPath<T>(request: CacheRequest<T>, decision: CacheDecision): Promise<CacheResult<T>> {
    const ttlMs = request.ttlSeconds * 1000;
    this.policy.recordL1Miss(request.tier, request.key, ttlMs);
    let l2: L2Status = decision.askL2 ? 'not_configured' : 'not_asked';
    let l2Ms = 0;
    if (decision.askL2 && this.remote) {
      const read = await this.remote.get(request.key);
      l2Ms = read.ms;
      if (read.status === 'skipped') {
        l2 = read.reason;
        this.#stats.l2Skipped++;
      } else {
        const value = read.status === 'hit' ? decodeStored(read.value) : undefined;
        const valid = value !== undefined && (request.isValid ? request.isValid(value) : true);
        this.policy.recordL2Lookup(request.tier, valid, read.ms);
        if (valid) {
          this.#stats.l2Hits++;
          this.#storeL1(request.key, value, ttlMs);
          return { value: value as T, trace: { level: 'l2', l1: 'miss', l2: 'hit', l2Ms, shared: false, why: decision.why } };
        }
        l2 = read.status === 'hit' ? 'corrupt' : 'miss';
        if (l2 === 'corrupt') this.#stats.l2Corrupt++;
      }
    }
    const value = await this.#compute(request);
    if (request.isCacheable?.(value) ?? true) this.#store(request.key, value, request.ttlSeconds, decision, request.waitUntil);
    return { value, trace: { level: null, l1: 'miss', l2, l2Ms, shared: false, why: decision.why } };
  }

  async #compute<T>(request: CacheRequest<T>): Promise<T> {
    const started = performance.now();
    const value = await request.compute();
    this.#stats.computed++;
    this.policy.recordCompute(request.tier, performance.now() - started);
    return value;
  }

  #store(key: string, value: unknown, ttlSeconds: number, decision: CacheDecision, waitUntil?: WaitUntil): void {
    if (ttlSeconds <= 0 || !decision.useL1) return;
    const text = JSON.stringify(value);
    this.#storeL1(key, value, ttlSeconds * 1000, text.length);
    if (decision.writeL2 && this.remote) {
      this.#stats.l2Writes++;
      (waitUntil ?? this.#waitUntil)(this.remote.set(key, text, ttlSeconds));
    }
  }

  #storeL1(key: string, value: unknown, ttlMs: number, bytes?: number): void {
    // UTF-16 in memory: two bytes a character, plus a little for the entry itself.
    const size = 2 * (bytes ?? JSON.stringify(value).length) + 64;
    this.l1.set(key, { value }, ttlMs, size);
  }

  #countHotKey(key: string, waitUntil: WaitUntil | undefined): void {
    if (!this.remote || this.#hotKeySampleEvery <= 0 || this.policy.mode === 'off' || this.policy.mode === 'l1') return;
    if (this.#stats.lookups % this.#hotKeySampleEvery !== 0) return;
    const parts = parsePredictionKey(key);
    if (!parts) return;
    this.#stats.hotKeyIncrements++;
    // Scored by the sampling step, so scores estimate request counts.
    (waitUntil ?? this.#waitUntil)(this.remote.zincrby(hotKeysKey(keyScope(parts)), parts.inputHash, this.#hotKeySampleEvery));
  }
}

/** Our own JSON text, parsed; anything else (a number or object from a forged reply, bad JSON) is undefined. */
function decodeStored(text: unknown): unknown {
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
