// The cost-aware cache policy: where a value lives and when L2 (Upstash) is asked. L1 is
// free and always used (unless the mode is `off`). An L2 lookup costs a billed command and
// a network round trip, so in `auto` it is made only where the expected saving beats it:
//
//   expected saving = hit rate × (price and latency of what a hit avoids)
//   lookup          = command price (GET, plus SET after a miss) and the GET's latency
//
// Hit rates are tracked online: the L2 hit rate where L2 is being asked, and, where it is
// not, a free estimate from a "ghost" list of keys this isolate computed before but has
// since evicted from L1 (each of those would have been an L2 hit). `explain()` shows the
// numbers behind every decision.
import { LruCache } from './lru.ts';
import { DEFAULT_PRICE_TABLE, perMillion, regionalCallUsd, type PriceTable } from './price-table.ts';

/** `auto`: cost-aware; `always`: every prediction through L1 and L2; `l1`: L1 only; `off`: no cache. */
export type CachePolicyMode = 'auto' | 'always' | 'l1' | 'off';

/** Which tier produced (or would produce) a value: what a cache hit avoids. */
export type AnswerTier = 'edge' | 'regional';

/** Modes accepted in EDGEINFER_CACHE_POLICY. */
export const CACHE_POLICY_MODES: readonly CachePolicyMode[] = ['auto', 'always', 'l1', 'off'];

/** Tuning of the policy; every field has a default. */
export interface CachePolicyOptions {
  mode: CachePolicyMode;
  prices: PriceTable;
  /** What one millisecond of latency saved on one request is worth, US dollars. */
  latencyValueUsdPerMs: number;
  /** Lookups (or ghost checks) needed before an observed rate is trusted over the prior. */
  minSamples: number;
  /** Hit rate assumed before there is evidence. */
  priorHitRate: number;
  /** Latency assumed for an L2 GET before one was measured, ms. */
  priorL2Ms: number;
  /** Latency assumed per tier before one was measured, ms (the regional call includes the network). */
  priorComputeMs: Record<AnswerTier, number>;
  /** Latency per tier known from elsewhere (e.g. the PoP→region round trip), used instead of observations. */
  knownComputeMs?: Partial<Record<AnswerTier, number>>;
  /** Weight of history in the running averages (per observation); 0.999 ≈ the last ~1000. */
  decay: number;
  /** Keys remembered by the ghost list (hit-rate estimate without asking L2). */
  ghostEntries: number;
  /**
   * Where L2 does not pay on current estimates but could at a higher hit rate, this share of
   * the key space (chosen by a hash of the key, the same in every isolate) keeps using L2,
   * so the fleet-wide hit rate stays measured. 0 disables probing.
   */
  probeShare: number;
  now?: () => number;
}

/** Defaults: list prices from the price table; 1 ms saved on a request is worth $0.02 per million. */
export const DEFAULT_CACHE_POLICY_OPTIONS: CachePolicyOptions = {
  mode: 'auto',
  prices: DEFAULT_PRICE_TABLE,
  latencyValueUsdPerMs: 0.02 / 1_000_000,
  minSamples: 50,
  priorHitRate: 0,
  priorL2Ms: 5,
  priorComputeMs: { edge: 0.05, regional: 40 },
  decay: 0.999,
  ghostEntries: 20_000,
  probeShare: 1 / 8,
};

/** The comparison behind an L2 decision, per request, in dollars and milliseconds. */
export interface L2Comparison {
  /** Estimated probability that L2 holds the value when L1 does not. */
  hitRate: number;
  hitRateSource: 'observed' | 'ghost' | 'prior';
  samples: number;
  /** What one hit avoids: the tier's price and latency. */
  avoidedUsd: number;
  avoidedMs: number;
  /** What one lookup costs: GET, plus a SET after a miss; the GET's latency. */
  lookupUsd: number;
  lookupMs: number;
  /** hitRate × avoided − lookup, with latency valued at `latencyValueUsdPerMs`. */
  netUsd: number;
  /** The same per million requests, for people. */
  netUsdPerMillion: number;
  /** Net at a 100 % hit rate: when even this is negative, L2 can never pay and is not measured. */
  bestCaseNetUsdPerMillion: number;
  askL2: boolean;
}

/** Where a value of one tier lives, and whether to ask L2 before computing it. */
export interface CacheDecision {
  useL1: boolean;
  askL2: boolean;
  writeL2: boolean;
  why: string;
  comparison?: L2Comparison;
}

/** A decayed ratio (hits / trials) and a decayed mean. */
class RunningRate {
  hits = 0;
  trials = 0;
  count = 0;
  constructor(private readonly decay: number) {}
  add(hit: boolean): void {
    this.hits = this.hits * this.decay + (hit ? 1 : 0);
    this.trials = this.trials * this.decay + 1;
    this.count++;
  }
  get rate(): number {
    return this.trials > 0 ? this.hits / this.trials : 0;
  }
}

class RunningMean {
  sum = 0;
  weight = 0;
  constructor(private readonly decay: number) {}
  add(value: number): void {
    this.sum = this.sum * this.decay + value;
    this.weight = this.weight * this.decay + 1;
  }
  mean(fallback: number): number {
    return this.weight > 0 ? this.sum / this.weight : fallback;
  }
}

interface TierStats {
  l2: RunningRate;
  ghost: RunningRate;
  computeMs: RunningMean;
  ghostKeys: LruCache<true>;
}

/** The policy of one isolate. Feed it observations; ask it per tier. */
export class CachePolicy {
  readonly options: CachePolicyOptions;
  readonly #l2Ms: RunningMean;
  readonly #tiers: Record<AnswerTier, TierStats>;

  constructor(options: Partial<CachePolicyOptions> = {}) {
    this.options = { ...DEFAULT_CACHE_POLICY_OPTIONS, ...options };
    if (!CACHE_POLICY_MODES.includes(this.options.mode)) {
      throw new RangeError(`cache policy must be one of ${CACHE_POLICY_MODES.join(', ')}, got "${String(this.options.mode)}"`);
    }
    const { decay, ghostEntries, now } = this.options;
    this.#l2Ms = new RunningMean(decay);
    const tier = (): TierStats => ({
      l2: new RunningRate(decay),
      ghost: new RunningRate(decay),
      computeMs: new RunningMean(decay),
      // Ghost entries are key hashes only; a day of TTL, the LRU bound does the real work.
      ghostKeys: new LruCache<true>({ maxEntries: ghostEntries, maxBytes: Number.MAX_SAFE_INTEGER, ...(now ? { now } : {}) }),
    });
    this.#tiers = { edge: tier(), regional: tier() };
  }

  get mode(): CachePolicyMode {
    return this.options.mode;
  }

  /**
   * The decision for a value of `tier` (under `key`, when known). In `auto`: L2 when the
   * comparison says it pays; otherwise, if it could pay at a higher hit rate, L2 is still
   * used while too few lookups were measured, and after that on a hashed share of keys.
   */
  decide(tier: AnswerTier, key?: string): CacheDecision {
    const mode = this.options.mode;
    if (mode === 'off') return { useL1: false, askL2: false, writeL2: false, why: 'cache policy "off"' };
    if (mode === 'l1') return { useL1: true, askL2: false, writeL2: false, why: 'cache policy "l1": L1 only' };
    if (mode === 'always') return { useL1: true, askL2: true, writeL2: true, why: 'cache policy "always": L1 and L2' };
    const comparison = this.compare(tier);
    const at = `at hit rate ${round(comparison.hitRate)} (${comparison.hitRateSource})`;
    if (comparison.askL2) {
      return { useL1: true, askL2: true, writeL2: true, why: `auto: L2 pays (net +$${comparison.netUsdPerMillion}/1M ${at})`, comparison };
    }
    const noL2 = (why: string): CacheDecision => ({ useL1: true, askL2: false, writeL2: false, why, comparison });
    const useL2 = (why: string): CacheDecision => ({ useL1: true, askL2: true, writeL2: true, why, comparison });
    if (comparison.bestCaseNetUsdPerMillion <= 0) {
      return noL2(`auto: L2 cannot pay even at a 100 % hit rate (best case $${comparison.bestCaseNetUsdPerMillion}/1M); L1 only`);
    }
    const measured = this.#tiers[tier].l2.count;
    if (measured < this.options.minSamples) return useL2(`auto: measuring L2 (${measured} of ${this.options.minSamples} lookups; best case +$${comparison.bestCaseNetUsdPerMillion}/1M)`);
    if (key !== undefined && inProbeShare(key, this.options.probeShare)) {
      return useL2(`auto: L2 does not pay yet (net $${comparison.netUsdPerMillion}/1M ${at}); probing it on ${round(this.options.probeShare)} of keys`);
    }
    return noL2(`auto: L2 does not pay (net $${comparison.netUsdPerMillion}/1M ${at}); L1 only`);
  }

  /** The expected-saving comparison for `tier`, from the price table and the observed rates. */
  compare(tier: AnswerTier): L2Comparison {
    const { prices, latencyValueUsdPerMs, minSamples, priorHitRate, priorL2Ms, priorComputeMs } = this.options;
    const stats = this.#tiers[tier];
    let hitRate = priorHitRate;
    let hitRateSource: L2Comparison['hitRateSource'] = 'prior';
    let samples = 0;
    // Ghost hits undercount L2 (they miss what other isolates wrote), so an observed L2 rate wins when there is one.
    if (stats.ghost.count >= minSamples) {
      hitRate = stats.ghost.rate;
      hitRateSource = 'ghost';
      samples = stats.ghost.count;
    }
    if (stats.l2.count >= minSamples) {
      hitRate = Math.max(stats.l2.rate, hitRateSource === 'ghost' ? hitRate : 0);
      hitRateSource = 'observed';
      samples = stats.l2.count;
    }
    const avoidedMs = this.options.knownComputeMs?.[tier] ?? stats.computeMs.mean(priorComputeMs[tier]);
    // An edge answer is computed inside an invocation that is paid anyway: a hit saves no money.
    const avoidedUsd = tier === 'regional' ? regionalCallUsd(prices) : 0;
    const lookupMs = this.#l2Ms.mean(priorL2Ms);
    const lookupUsd = prices.redisCommandUsd * (1 + (1 - hitRate));
    const netUsd = hitRate * avoidedUsd - lookupUsd + latencyValueUsdPerMs * (hitRate * avoidedMs - lookupMs);
    const bestCaseNetUsd = avoidedUsd - prices.redisCommandUsd + latencyValueUsdPerMs * (avoidedMs - lookupMs);
    return {
      hitRate,
      hitRateSource,
      samples,
      avoidedUsd,
      avoidedMs: round(avoidedMs),
      lookupUsd,
      lookupMs: round(lookupMs),
      netUsd,
      netUsdPerMillion: perMillion(netUsd),
      bestCaseNetUsdPerMillion: perMillion(bestCaseNetUsd),
      askL2: netUsd > 0,
    };
  }

  /** An L2 lookup for a value of `tier` answered (hit or miss) in `ms`. */
  recordL2Lookup(tier: AnswerTier, hit: boolean, ms: number): void {
    this.#tiers[tier].l2.add(hit);
    this.#l2Ms.add(ms);
  }

  /** The tier computed a value in `ms` (what a later hit avoids). */
  recordCompute(tier: AnswerTier, ms: number): void {
    this.#tiers[tier].computeMs.add(ms);
  }

  /**
   * L1 missed `key`. Counts whether this isolate computed it before (a would-be L2 hit),
   * then remembers it for `ttlMs`.
   */
  recordL1Miss(tier: AnswerTier, key: string, ttlMs: number): void {
    const stats = this.#tiers[tier];
    stats.ghost.add(stats.ghostKeys.has(key));
    stats.ghostKeys.set(key, true, ttlMs, 0);
  }

  /** Keys the ghost list of `tier` holds now (at most `ghostEntries`). */
  ghostKeyCount(tier: AnswerTier): number {
    return this.#tiers[tier].ghostKeys.size;
  }

  /** Everything behind the current decisions, for /v2 metadata, logs and benchmarks. */
  explain(): {
    mode: CachePolicyMode;
    prices: { redisCommandPerMillion: number; regionalCallPerMillion: number; edgeRequestPerMillion: number; source: string };
    latencyValueUsdPerMsPerMillion: number;
    tiers: Record<AnswerTier, CacheDecision & { observedL2HitRate: number; l2Lookups: number; ghostHitRate: number; ghostChecks: number }>;
  } {
    const { prices, latencyValueUsdPerMs } = this.options;
    const tier = (t: AnswerTier) => ({
      ...this.decide(t),
      comparison: this.compare(t),
      observedL2HitRate: round(this.#tiers[t].l2.rate),
      l2Lookups: this.#tiers[t].l2.count,
      ghostHitRate: round(this.#tiers[t].ghost.rate),
      ghostChecks: this.#tiers[t].ghost.count,
    });
    return {
      mode: this.options.mode,
      prices: {
        redisCommandPerMillion: perMillion(prices.redisCommandUsd),
        regionalCallPerMillion: perMillion(regionalCallUsd(prices)),
        edgeRequestPerMillion: perMillion(prices.edgeRequestUsd),
        source: prices.source,
      },
      latencyValueUsdPerMsPerMillion: perMillion(latencyValueUsdPerMs),
      tiers: { edge: tier('edge'), regional: tier('regional') },
    };
  }
}

/** True for a fixed share of keys, the same in every isolate (FNV-1a of the key). */
function inProbeShare(key: string, share: number): boolean {
  if (share <= 0) return false;
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) / 2 ** 32 < share;
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
