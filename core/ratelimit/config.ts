// Builds the rate-limit gate of one isolate from the variables the adapter passes in (the
// core never reads process.env):
//   EDGEINFER_RATE_LIMIT           "600/60s" (requests per window per client key) or "off"
//   EDGEINFER_RATE_LIMIT_STORE     "upstash" (default when UPSTASH_REDIS_REST_URL/TOKEN are set) or "memory"
//   EDGEINFER_RATE_LIMIT_BUDGET_MS time budget of one Upstash check (default 15; over it only the
//                                  local floor decides: layered-rate-limiter.ts)
//   EDGEINFER_RATE_LIMIT_STRAGGLER_MS how long an over-budget check's request may still finish in
//                                  the background, keeping its connection (default 1000; 0: abort at the budget)
//   EDGEINFER_API_KEYS             comma-separated API keys; `x-api-key: <one of them>` gets its own bucket
//   EDGEINFER_TRUST_FORWARDED_FOR  "1": key by X-Forwarded-For's last entry when the platform reports no client IP
// Bad values fail at startup, naming the variable.
import { DEFAULT_RATE_LIMIT_BUDGET_MS, createUpstashRateLimiter } from './upstash-rate-limiter.ts';
import { LayeredRateLimiter } from './layered-rate-limiter.ts';
import { MemoryRateLimiter } from './memory-rate-limiter.ts';
import { RateLimitGate } from './rate-limit-gate.ts';
import { formatRateLimitSpec, parseRateLimitSpec } from './rate-limiter.ts';
import type { UpstashClientFactory } from '../upstash/rest-client.ts';

/** Every variable this module reads: what an adapter copies from its environment. */
export const RATE_LIMIT_ENV_NAMES = [
  'EDGEINFER_RATE_LIMIT',
  'EDGEINFER_RATE_LIMIT_STORE',
  'EDGEINFER_RATE_LIMIT_BUDGET_MS',
  'EDGEINFER_RATE_LIMIT_STRAGGLER_MS',
  'EDGEINFER_API_KEYS',
  'EDGEINFER_TRUST_FORWARDED_FOR',
] as const;

/** The default of `npm start`: a person clicking through the demo never meets it; a script hammering one endpoint does. */
export const LOCAL_DEFAULT_RATE_LIMIT = '600/60s';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The gate, or undefined when rate limiting is off. `defaultSpec` applies when
 * EDGEINFER_RATE_LIMIT is unset (the node server passes LOCAL_DEFAULT_RATE_LIMIT; edge
 * builds pass none, so there it is on only when configured). `upstashClient` chooses the
 * Upstash client implementation (default: core's fetch client).
 */
export function createRateLimitFromEnv(env: Env, defaultSpec?: string, upstashClient?: UpstashClientFactory): { gate?: RateLimitGate; description: string } {
  const raw = env.EDGEINFER_RATE_LIMIT || defaultSpec;
  const spec = raw ? parseRateLimitSpec(raw) : undefined;
  if (!spec) return { description: 'rate limit off' };
  const upstash = env.UPSTASH_REDIS_REST_URL && env.UPSTASH_REDIS_REST_TOKEN ? { url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN } : undefined;
  const store = env.EDGEINFER_RATE_LIMIT_STORE || (upstash ? 'upstash' : 'memory');
  if (store !== 'upstash' && store !== 'memory') throw new Error(`EDGEINFER_RATE_LIMIT_STORE must be "upstash" or "memory", got "${store}"`);
  if (store === 'upstash' && !upstash) throw new Error('EDGEINFER_RATE_LIMIT_STORE=upstash needs UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN');
  let budgetMs = DEFAULT_RATE_LIMIT_BUDGET_MS;
  if (env.EDGEINFER_RATE_LIMIT_BUDGET_MS) {
    budgetMs = Number(env.EDGEINFER_RATE_LIMIT_BUDGET_MS);
    if (!(budgetMs >= 1)) throw new Error(`EDGEINFER_RATE_LIMIT_BUDGET_MS must be a number ≥ 1, got "${env.EDGEINFER_RATE_LIMIT_BUDGET_MS}"`);
  }
  let stragglerTimeoutMs: number | undefined;
  if (env.EDGEINFER_RATE_LIMIT_STRAGGLER_MS) {
    stragglerTimeoutMs = Number(env.EDGEINFER_RATE_LIMIT_STRAGGLER_MS);
    if (!(stragglerTimeoutMs >= 0)) throw new Error(`EDGEINFER_RATE_LIMIT_STRAGGLER_MS must be a number ≥ 0, got "${env.EDGEINFER_RATE_LIMIT_STRAGGLER_MS}"`);
  }
  const apiKeys = new Set((env.EDGEINFER_API_KEYS ?? '').split(',').map((k) => k.trim()).filter(Boolean));
  const trust = env.EDGEINFER_TRUST_FORWARDED_FOR;
  if (trust !== undefined && trust !== '' && trust !== '0' && trust !== '1') throw new Error(`EDGEINFER_TRUST_FORWARDED_FOR must be 1 or 0, got "${trust}"`);
  // The in-memory limiter always runs: with Upstash it is the floor the fleet count refines.
  const local = new MemoryRateLimiter(spec);
  const limiter = store === 'upstash' && upstash ? new LayeredRateLimiter(local, createUpstashRateLimiter({ ...spec, ...upstash, budgetMs, ...(stragglerTimeoutMs !== undefined ? { stragglerTimeoutMs } : {}), ...(upstashClient ? { client: upstashClient } : {}) })) : local;
  const gate = new RateLimitGate(limiter, { ...(apiKeys.size ? { apiKeys } : {}), ...(trust === '1' ? { trustForwardedFor: true } : {}) });
  const where = store === 'upstash' ? `in memory, refined on Upstash (budget ${budgetMs} ms; past it the local count decides)` : 'in memory';
  return { gate, description: `rate limit ${formatRateLimitSpec(spec)} per client ${where}${apiKeys.size ? `, ${apiKeys.size} API key(s)` : ''}` };
}
