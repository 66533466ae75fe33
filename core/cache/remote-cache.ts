// The L2 cache: Upstash Redis over REST through core/upstash/rest-client.ts (fetch only, the
// same code in V8 isolates, Deno and Node). Every call has a time budget; over budget,
// failing, or behind an open circuit it answers "skipped" with a reason instead of
// throwing, so a request never waits on or fails because of Redis.
import { createUpstashRestClient, type UpstashClientFactory, type UpstashRestClient } from '../upstash/rest-client.ts';
import { callWithinBudget, CircuitBreaker, type CircuitBreakerOptions } from '../router/circuit-breaker.ts';

/** Why L2 was not consulted or gave no answer. */
export type RemoteSkipReason = 'over_budget' | 'unavailable' | 'circuit_open';

/** Outcome of one read: a value, a clean miss, or skipped (with the reason and what went wrong). */
export type RemoteRead<T> =
  | { status: 'hit'; value: T; ms: number }
  | { status: 'miss'; ms: number }
  | { status: 'skipped'; reason: RemoteSkipReason; message: string; ms: number };

/** Outcome of a write or a counter update. */
export type RemoteWrite = { status: 'ok'; ms: number } | { status: 'skipped'; reason: RemoteSkipReason; message: string; ms: number };

/** Counters for telemetry and the cost arithmetic. */
export interface RemoteCacheStats {
  /** Logical calls made (one MGET of ten keys is one call). */
  calls: number;
  /** Redis commands sent (what Upstash bills). */
  commands: number;
  hits: number;
  misses: number;
  overBudget: number;
  errors: number;
  circuitOpen: number;
}

/** What the two-level cache needs from a shared remote store. */
export interface RemoteCache {
  readonly kind: string;
  /** Time budget of one call, milliseconds. */
  readonly budgetMs: number;
  get(key: string): Promise<RemoteRead<string>>;
  /** One round trip for many keys; `null` for absent ones. */
  mget(keys: readonly string[]): Promise<RemoteRead<Array<string | null>>>;
  set(key: string, value: string, ttlSeconds: number): Promise<RemoteWrite>;
  /** Many writes in one pipelined round trip (`timeoutMs` overrides the budget, for batch jobs). */
  setMany(entries: ReadonlyArray<{ key: string; value: string; ttlSeconds: number }>, timeoutMs?: number): Promise<RemoteWrite>;
  /** Adds `by` to `member`'s score in the sorted set `key`. */
  zincrby(key: string, member: string, by: number): Promise<RemoteWrite>;
  /**
   * Opens the connection ahead of traffic (one PING, with `timeoutMs`, default 1 s): the
   * first call from a cold isolate pays connection setup, which alone can exceed the budget.
   */
  warm(timeoutMs?: number): Promise<RemoteWrite>;
  /** Highest-scored members first, with scores. */
  topMembers(key: string, count: number): Promise<RemoteRead<Array<{ member: string; score: number }>>>;
  stats(): RemoteCacheStats;
}

/** Settings of {@link createUpstashRemoteCache}. */
export interface UpstashRemoteCacheOptions {
  /** UPSTASH_REDIS_REST_URL */
  url: string;
  /** UPSTASH_REDIS_REST_TOKEN */
  token: string;
  /** Time budget per call, milliseconds (default 15). */
  budgetMs?: number;
  /** After repeated failures, stop calling for a while (defaults: 3 failures in 5 s, retry after 2 s). */
  circuit?: CircuitBreakerOptions;
  /** Let the client batch concurrent commands into one /pipeline request (default true). */
  autoPipelining?: boolean;
  /** The client implementation (default: the fetch client of core/upstash/rest-client.ts). */
  client?: UpstashClientFactory;
  now?: () => number;
}

const setCommand = (key: string, value: string, ttlSeconds: number) => (ttlSeconds > 0 ? (['SET', key, value, 'EX', ttlSeconds] as const) : (['SET', key, value] as const));

/** Default budget of one Redis call, milliseconds. */
export const DEFAULT_REDIS_BUDGET_MS = 15;

const DEFAULT_CIRCUIT: CircuitBreakerOptions = { failures: 3, windowMs: 5_000, halfOpenAfterMs: 2_000 };

/** An L2 cache over Upstash REST (real Upstash, or the local stand-in of `npm run redis:rest`). */
export function createUpstashRemoteCache(options: UpstashRemoteCacheOptions): RemoteCache {
  const budgetMs = options.budgetMs ?? DEFAULT_REDIS_BUDGET_MS;
  if (!(budgetMs > 0)) throw new RangeError(`Redis time budget must be > 0 ms, got ${budgetMs}`);
  if (!/^https?:\/\//.test(options.url)) throw new Error(`UPSTASH_REDIS_REST_URL must be an http(s) URL, got "${options.url.slice(0, 100)}"`);
  if (!options.token) throw new Error('UPSTASH_REDIS_REST_TOKEN is empty');
  const now = options.now ?? (() => Date.now());
  // No retries (they would spend the budget several times over; the circuit handles outages).
  const redis = (options.client ?? createUpstashRestClient)({ url: options.url, token: options.token, autoPipelining: options.autoPipelining ?? true });
  const breaker = new CircuitBreaker(options.circuit ?? DEFAULT_CIRCUIT, now);
  const counters: RemoteCacheStats = { calls: 0, commands: 0, hits: 0, misses: 0, overBudget: 0, errors: 0, circuitOpen: 0 };

  type Attempt<T> = { ok: true; value: T; ms: number } | { ok: false; reason: RemoteSkipReason; message: string; ms: number };

  /** Runs one call under the breaker and the budget; never rejects. */
  // `run` gets the call's time limit: the request is aborted when the budget is spent.
  async function attempt<T>(commands: number, run: (redis: UpstashRestClient, timeoutMs: number) => Promise<T>, limitMs = budgetMs): Promise<Attempt<T>> {
    const result = await callWithinBudget(breaker, limitMs, () => {
      counters.calls++;
      counters.commands += commands;
      return run(redis, limitMs);
    });
    if (result.ok) return result;
    if (result.reason === 'circuit_open') {
      counters.circuitOpen++;
      return { ...result, message: 'Redis skipped: circuit open after repeated failures' };
    }
    if (result.reason === 'over_budget') {
      counters.overBudget++;
      return { ...result, message: `Redis did not answer within the ${limitMs} ms budget` };
    }
    counters.errors++;
    const message = result.error instanceof Error ? result.error.message : String(result.error);
    return { ok: false, reason: 'unavailable', message: `Redis call failed: ${message.slice(0, 300)}`, ms: result.ms };
  }

  function toRead<T>(result: Attempt<T | null>): RemoteRead<T> {
    if (!result.ok) return { status: 'skipped', reason: result.reason, message: result.message, ms: result.ms };
    if (result.value === null || result.value === undefined) {
      counters.misses++;
      return { status: 'miss', ms: result.ms };
    }
    counters.hits++;
    return { status: 'hit', value: result.value, ms: result.ms };
  }

  function toWrite(result: Attempt<unknown>): RemoteWrite {
    return result.ok ? { status: 'ok', ms: result.ms } : { status: 'skipped', reason: result.reason, message: result.message, ms: result.ms };
  }

  return {
    kind: 'upstash',
    budgetMs,
    async get(key) {
      return toRead(await attempt(1, (redis, ms) => redis.send<string | null>(['GET', key], ms)));
    },
    async mget(keys) {
      if (keys.length === 0) return { status: 'hit', value: [], ms: 0 };
      const result = await attempt(1, (redis, ms) => redis.send<Array<string | null>>(['MGET', ...keys], ms));
      // A reply that is not one entry per key (a broken or forged REST answer) reads as an unavailable store.
      if (result.ok && !(Array.isArray(result.value) && result.value.length === keys.length)) {
        counters.errors++;
        return { status: 'skipped', reason: 'unavailable', message: 'Redis MGET reply is not one entry per key', ms: result.ms };
      }
      if (result.ok) {
        const found = result.value.filter((v) => v !== null).length;
        counters.hits += found;
        counters.misses += keys.length - found;
        return { status: 'hit', value: result.value, ms: result.ms };
      }
      return { status: 'skipped', reason: result.reason, message: result.message, ms: result.ms };
    },
    async set(key, value, ttlSeconds) {
      return toWrite(await attempt(1, (redis, ms) => redis.send(setCommand(key, value, ttlSeconds), ms)));
    },
    async setMany(entries, timeoutMs) {
      if (entries.length === 0) return { status: 'ok', ms: 0 };
      return toWrite(
        await attempt(
          entries.length,
          (redis, ms) => redis.pipeline(entries.map((e) => setCommand(e.key, e.value, e.ttlSeconds)), ms),
          timeoutMs,
        ),
      );
    },
    async warm(timeoutMs = 1_000) {
      return toWrite(await attempt(1, (redis, ms) => redis.send(['PING'], ms), timeoutMs));
    },
    async zincrby(key, member, by) {
      return toWrite(await attempt(1, (redis, ms) => redis.send(['ZINCRBY', key, by, member], ms)));
    },
    async topMembers(key, count) {
      const result = await attempt(1, (redis, ms) => redis.send<unknown[]>(['ZRANGE', key, 0, Math.max(0, count - 1), 'REV', 'WITHSCORES'], ms));
      if (!result.ok) return { status: 'skipped', reason: result.reason, message: result.message, ms: result.ms };
      const flat: unknown[] = Array.isArray(result.value) ? result.value : [];
      const members: Array<{ member: string; score: number }> = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const member = flat[i];
        const score = Number(flat[i + 1]);
        if (typeof member === 'string' && Number.isFinite(score)) members.push({ member, score });
      }
      return members.length ? { status: 'hit', value: members, ms: result.ms } : { status: 'miss', ms: result.ms };
    },
    stats: () => ({ ...counters }),
  };
}
