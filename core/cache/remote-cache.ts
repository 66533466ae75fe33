// The L2 cache: Upstash Redis over REST through core/upstash/rest-client.ts (fetch only, the
// same code in V8 isolates, Deno and Node). Every call has a time budget; over budget,
// failing, or behind an open circuit it answers "skipped" with a reason instead of
// throwing, so a request never waits on or fails because of Redis.
// Over budget the caller stops waiting, but the HTTP request is not aborted there: aborting a
// fetch drops its keep-alive connection, and the next call pays a new one (TCP here, a TLS
// handshake to real Upstash), which made misses chain (bench:features --budget-ms 3: 66 of
// 273 misses straight after another, 272 new connections in 2,000 reads). The request may
// finish in the background ("a straggler") up to `stragglerTimeoutMs`, so the connection goes
// back to the pool; at most `maxStragglers` at once, beyond that a miss is aborted as before,
// so a dead or silent Redis cannot pile up requests. A straggler's reply never answers the
// request that already went on without it.
import { createUpstashRestClient, type UpstashClientFactory, type UpstashRestClient } from '../upstash/rest-client.ts';
import { callWithinBudget, CircuitBreaker, type CircuitBreakerOptions } from '../router/circuit-breaker.ts';
import { createStragglers, DEFAULT_MAX_STRAGGLERS, DEFAULT_STRAGGLER_TIMEOUT_MS, type StragglerStats } from '../upstash/stragglers.ts';

/** Why L2 was not consulted or gave no answer. */
export type RemoteSkipReason = 'over_budget' | 'unavailable' | 'circuit_open';

/** Outcome of one read: a value, a clean miss, or skipped (with the reason and what went wrong). */
export type RemoteRead<T> =
  | { status: 'hit'; value: T; ms: number }
  | { status: 'miss'; ms: number }
  | {
      status: 'skipped';
      reason: RemoteSkipReason;
      message: string;
      ms: number;
      /**
       * Over budget with the request still running (a straggler): its outcome, checked as an
       * answer in time would have been, or undefined when aborted. Never for the request
       * that was skipped (it has been answered); a caller may use it to fill a local cache.
       */
      late?: Promise<RemoteRead<T> | undefined>;
    };

/** Outcome of a write or a counter update. */
export type RemoteWrite = { status: 'ok'; ms: number } | { status: 'skipped'; reason: RemoteSkipReason; message: string; ms: number };

/** Counters for telemetry and the cost arithmetic. */
export interface RemoteCacheStats extends StragglerStats {
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
  /**
   * A call over its budget is answered "skipped" at once, but its request may run on up to this
   * long in the background, ms (default 1,000), so its keep-alive connection is not dropped; 0
   * aborts at the budget. Calls with a longer limit of their own (warm, batch writes) keep it.
   */
  stragglerTimeoutMs?: number;
  /** Stragglers allowed in flight at once (default 8); an over-budget call beyond them is aborted at the budget. */
  maxStragglers?: number;
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
  const stragglers = createStragglers(options.stragglerTimeoutMs ?? DEFAULT_STRAGGLER_TIMEOUT_MS, options.maxStragglers ?? DEFAULT_MAX_STRAGGLERS, redis.abortsOnSignal === true);
  const counters: Omit<RemoteCacheStats, keyof StragglerStats> = { calls: 0, commands: 0, hits: 0, misses: 0, overBudget: 0, errors: 0, circuitOpen: 0 };

  type Attempt<T> =
    | { ok: true; value: T; ms: number }
    | { ok: false; reason: RemoteSkipReason; message: string; ms: number; late?: Promise<{ value: T } | undefined> };

  /**
   * Runs one call under the breaker and the budget; never rejects. `run` gets the request's
   * hard timeout and an abort signal; the caller's wait ends at the budget (`limitMs`).
   *
   * Breaker: a call over budget counts as a failure when the budget runs out, whether or not
   * its straggler later succeeds. The breaker guards the request path, and that request paid
   * the whole budget and was served degraded; a Redis that answers, but reliably after the
   * budget, is exactly the case where skipping it saves every request the wait. Crediting late
   * successes would keep such a breaker closed forever. (A half-open trial over budget re-opens
   * it, as before.)
   *
   * Edge runtimes: a straggler is not handed to the platform's waitUntil. After the response
   * an isolate may be frozen or killed with it in flight; that loses a read nobody waits for (or
   * a write that over budget was already reported skipped, which an abort loses too), and its
   * in-flight count is released when the fetch or its hard timeout settles on thaw; nothing
   * awaits it, its rejection is handled.
   */
  async function attempt<T>(commands: number, run: (redis: UpstashRestClient, timeoutMs: number, signal: AbortSignal) => Promise<T>, limitMs = budgetMs): Promise<Attempt<T>> {
    // The long timeout, the cap and the abort: core/upstash/stragglers.ts (shared with the rate limiter).
    const straggler = stragglers.begin(limitMs);
    const result = await callWithinBudget(breaker, limitMs, () => {
      counters.calls++;
      counters.commands += commands;
      return straggler.track(run(redis, straggler.timeoutMs, straggler.signal));
    });
    if (result.ok) return result;
    if (result.reason === 'circuit_open') {
      counters.circuitOpen++;
      return { ...result, message: 'Redis skipped: circuit open after repeated failures' };
    }
    if (result.reason === 'over_budget') {
      counters.overBudget++;
      const message = `Redis did not answer within the ${limitMs} ms budget`;
      const late = straggler.overBudget<T>(message);
      return late ? { ...result, message, late } : { ...result, message };
    }
    counters.errors++;
    const message = result.error instanceof Error ? result.error.message : String(result.error);
    return { ok: false, reason: 'unavailable', message: `Redis call failed: ${message.slice(0, 300)}`, ms: result.ms };
  }

  /** A skipped read; a straggler's late value goes through `check`, as one in time does. */
  function skippedRead<T, R>(result: Attempt<R> & { ok: false }, check: (value: R, ms: number) => RemoteRead<T>): RemoteRead<T> {
    const skipped = { status: 'skipped' as const, reason: result.reason, message: result.message, ms: result.ms };
    const late = result.late?.then((settled) => (settled ? check(settled.value, result.ms) : undefined));
    return late ? { ...skipped, late } : skipped;
  }

  function toRead<T>(result: Attempt<T | null>): RemoteRead<T> {
    const check = (value: T | null, ms: number): RemoteRead<T> => (value === null || value === undefined ? { status: 'miss', ms } : { status: 'hit', value, ms });
    if (!result.ok) return skippedRead(result, check);
    const read = check(result.value, result.ms);
    if (read.status === 'hit') counters.hits++;
    else counters.misses++;
    return read;
  }

  function toWrite(result: Attempt<unknown>): RemoteWrite {
    return result.ok ? { status: 'ok', ms: result.ms } : { status: 'skipped', reason: result.reason, message: result.message, ms: result.ms };
  }

  return {
    kind: 'upstash',
    budgetMs,
    async get(key) {
      return toRead(await attempt(1, (redis, ms, signal) => redis.send<string | null>(['GET', key], ms, signal)));
    },
    async mget(keys) {
      if (keys.length === 0) return { status: 'hit', value: [], ms: 0 };
      const result = await attempt(1, (redis, ms, signal) => redis.send<Array<string | null>>(['MGET', ...keys], ms, signal));
      // A reply that is not one entry per key (a broken or forged REST answer) reads as an unavailable store.
      const check = (value: Array<string | null>, ms: number): RemoteRead<Array<string | null>> =>
        Array.isArray(value) && value.length === keys.length && value.every((v) => v === null || typeof v === 'string')
          ? { status: 'hit', value, ms }
          : { status: 'skipped', reason: 'unavailable', message: 'Redis MGET reply is not one entry per key', ms };
      if (!result.ok) return skippedRead(result, check);
      const read = check(result.value, result.ms);
      if (read.status === 'hit') {
        const found = read.value.filter((v) => v !== null).length;
        counters.hits += found;
        counters.misses += keys.length - found;
      } else counters.errors++;
      return read;
    },
    async set(key, value, ttlSeconds) {
      return toWrite(await attempt(1, (redis, ms, signal) => redis.send(setCommand(key, value, ttlSeconds), ms, signal)));
    },
    async setMany(entries, timeoutMs) {
      if (entries.length === 0) return { status: 'ok', ms: 0 };
      return toWrite(
        await attempt(
          entries.length,
          (redis, ms, signal) => redis.pipeline(entries.map((e) => setCommand(e.key, e.value, e.ttlSeconds)), ms, signal),
          timeoutMs,
        ),
      );
    },
    async warm(timeoutMs = 1_000) {
      return toWrite(await attempt(1, (redis, ms, signal) => redis.send(['PING'], ms, signal), timeoutMs));
    },
    async zincrby(key, member, by) {
      return toWrite(await attempt(1, (redis, ms, signal) => redis.send(['ZINCRBY', key, by, member], ms, signal)));
    },
    async topMembers(key, count) {
      const result = await attempt(1, (redis, ms, signal) => redis.send<unknown[]>(['ZRANGE', key, 0, Math.max(0, count - 1), 'REV', 'WITHSCORES'], ms, signal));
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
    stats: () => ({ ...counters, ...stragglers.stats() }),
  };
}
