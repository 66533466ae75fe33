// Builds the cache of one isolate from the environment the adapter passes in (the core
// never reads process.env): Upstash when UPSTASH_REDIS_REST_URL and _TOKEN are both set,
// L1 only otherwise; EDGEINFER_CACHE_* tune it. Bad values fail at startup with the name
// of the variable, never silently.
import { CACHE_POLICY_MODES, CachePolicy, type CachePolicyMode, type CachePolicyOptions } from './policy.ts';
import { createUpstashRemoteCache, DEFAULT_REDIS_BUDGET_MS } from './remote-cache.ts';
import { DEFAULT_MAX_STRAGGLERS, DEFAULT_STRAGGLER_TIMEOUT_MS } from '../upstash/stragglers.ts';
import type { UpstashClientFactory } from '../upstash/rest-client.ts';
import { TwoLevelCache, type WaitUntil } from './two-level-cache.ts';

/** Environment variables read by {@link createCacheFromEnv}. */
export interface CacheEnv {
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  /** auto | always | l1 | off (default auto). */
  EDGEINFER_CACHE_POLICY?: string;
  /** Time budget of one Redis call, ms (default 15). */
  EDGEINFER_CACHE_BUDGET_MS?: string;
  /** How long a call over the budget may still run in the background, ms, keeping its connection (default 1000; 0 aborts at the budget). */
  EDGEINFER_CACHE_STRAGGLER_MS?: string;
  /** Such calls in flight at once; beyond, aborted at the budget (default 8). */
  EDGEINFER_CACHE_MAX_STRAGGLERS?: string;
  EDGEINFER_CACHE_L1_ENTRIES?: string;
  EDGEINFER_CACHE_L1_BYTES?: string;
  /** Count every Nth lookup in the hot-key set; 0 disables (default 100). */
  EDGEINFER_HOTKEY_SAMPLE_EVERY?: string;
}

/** Every variable of {@link CacheEnv}: what an adapter copies from its environment. */
export const CACHE_ENV_NAMES = [
  'UPSTASH_REDIS_REST_URL',
  'UPSTASH_REDIS_REST_TOKEN',
  'EDGEINFER_CACHE_POLICY',
  'EDGEINFER_CACHE_BUDGET_MS',
  'EDGEINFER_CACHE_STRAGGLER_MS',
  'EDGEINFER_CACHE_MAX_STRAGGLERS',
  'EDGEINFER_CACHE_L1_ENTRIES',
  'EDGEINFER_CACHE_L1_BYTES',
  'EDGEINFER_HOTKEY_SAMPLE_EVERY',
] as const satisfies ReadonlyArray<keyof CacheEnv>;

/** A configured cache and a one-line description for startup logs. */
export interface ConfiguredCache {
  cache: TwoLevelCache;
  description: string;
}

function numberVar(env: CacheEnv, name: keyof CacheEnv, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number ≥ ${min}, got "${raw}"`);
  return value;
}

/** Builds the cache from `env`; `policy` overrides policy tuning (prices, latency value). */
export function createCacheFromEnv(
  env: CacheEnv,
  options: { waitUntil?: WaitUntil; policy?: Partial<CachePolicyOptions>; now?: () => number; upstashClient?: UpstashClientFactory } = {},
): ConfiguredCache {
  const mode = (env.EDGEINFER_CACHE_POLICY || 'auto') as CachePolicyMode;
  if (!CACHE_POLICY_MODES.includes(mode)) {
    throw new Error(`EDGEINFER_CACHE_POLICY must be one of ${CACHE_POLICY_MODES.join(', ')}, got "${env.EDGEINFER_CACHE_POLICY}"`);
  }
  const budgetMs = numberVar(env, 'EDGEINFER_CACHE_BUDGET_MS', DEFAULT_REDIS_BUDGET_MS, 1);
  const url = env.UPSTASH_REDIS_REST_URL;
  const token = env.UPSTASH_REDIS_REST_TOKEN;
  if (Boolean(url) !== Boolean(token)) {
    throw new Error('set both UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN (or neither, for an in-memory cache)');
  }
  const stragglerTimeoutMs = numberVar(env, 'EDGEINFER_CACHE_STRAGGLER_MS', DEFAULT_STRAGGLER_TIMEOUT_MS, 0);
  const maxStragglers = numberVar(env, 'EDGEINFER_CACHE_MAX_STRAGGLERS', DEFAULT_MAX_STRAGGLERS, 0);
  const remote = url && token ? createUpstashRemoteCache({ url, token, budgetMs, stragglerTimeoutMs, maxStragglers, ...(options.now ? { now: options.now } : {}), ...(options.upstashClient ? { client: options.upstashClient } : {}) }) : undefined;
  const policy = new CachePolicy({ ...options.policy, mode, ...(options.now ? { now: options.now } : {}) });
  const cache = new TwoLevelCache({
    policy,
    ...(remote ? { remote } : {}),
    l1MaxEntries: numberVar(env, 'EDGEINFER_CACHE_L1_ENTRIES', 10_000, 0),
    l1MaxBytes: numberVar(env, 'EDGEINFER_CACHE_L1_BYTES', 16 * 1024 * 1024, 0),
    hotKeySampleEvery: numberVar(env, 'EDGEINFER_HOTKEY_SAMPLE_EVERY', 100, 0),
    ...(options.waitUntil ? { waitUntil: options.waitUntil } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  const where = remote ? `L1 + Upstash ${new URL(url as string).host} (budget ${budgetMs} ms)` : 'L1 in memory only (no UPSTASH_REDIS_REST_URL/TOKEN)';
  return { cache, description: `cache policy ${mode}: ${where}` };
}
