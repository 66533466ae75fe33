// The node server's Upstash client: @upstash/redis (the product's named client) behind the
// core's UpstashRestClient interface. Edge bundles keep core/upstash/rest-client.ts (the
// library costs them 17.4 KB gzip and ~2.8 ms of evaluation per isolate, README "Edge
// bundle"); a long-lived Node process pays that once, so here the maintained library speaks
// the protocol. Configured as core configures its own client: no retries (callers have a
// budget and a circuit breaker), no telemetry, no automatic deserialization (callers get
// Redis's replies as they are), and every request under a timeout. A caller's abort signal
// is not passed on (the library takes one signal per client, and auto-pipelines across
// callers): a call here ends at its timeout, and the client says so (no `abortsOnSignal`), so
// the remote cache and the rate limiter grant their long straggler timeout up front to a bounded
// number of calls (core/upstash/stragglers.ts). The library is imported
// when the first client is made (only with UPSTASH_REDIS_REST_URL/TOKEN set), so `npm start`
// without Redis does not load it.
import type { Redis } from '@upstash/redis';
import type { RedisArg, RedisCommand, UpstashRestClient, UpstashRestOptions } from '../../core/upstash/rest-client.ts';

/** The library's typed commands the core sends, as both a client and a pipeline have them. */
interface TypedCommands {
  get(key: string): unknown;
  mget(...keys: string[]): unknown;
  set(key: string, value: string, options?: never): unknown;
  ping(): unknown;
  zincrby(key: string, by: number, member: string): unknown;
  zrange(key: string, start: number, stop: number, options?: { rev?: true; withScores?: true }): unknown;
  eval(script: string, keys: string[], args: unknown[]): unknown;
  hset(key: string, fields: Record<string, string>): unknown;
  expire(key: string, seconds: number): unknown;
  hgetall(key: string): unknown;
}

/** SET's options after key and value (`EX n`, `PX n`, `NX`, `XX`) as the library takes them. */
function setOptions(rest: readonly RedisArg[]): { ex?: number; px?: number; nx?: true; xx?: true } {
  const out: { ex?: number; px?: number; nx?: true; xx?: true } = {};
  for (let i = 0; i < rest.length; i++) {
    const flag = String(rest[i]).toUpperCase();
    if (flag === 'EX') out.ex = Number(rest[++i]);
    else if (flag === 'PX') out.px = Number(rest[++i]);
    else if (flag === 'NX') out.nx = true;
    else if (flag === 'XX') out.xx = true;
    else throw new Error(`SET option ${flag} is not translated for @upstash/redis`);
  }
  return out;
}

/**
 * The core's commands as the library's typed methods: only those are auto-pipelined by it
 * (same-tick commands share one /pipeline request, as core's fetch client does; measured to
 * matter under load, bench:flights-faults --client) and only those can go into a pipeline.
 * Any other command goes through the generic `exec`, one request each.
 */
const TYPED: Record<string, (target: TypedCommands, args: readonly RedisArg[]) => unknown> = {
  GET: (t, [key]) => t.get(String(key)),
  MGET: (t, keys) => t.mget(...keys.map(String)),
  SET: (t, [key, value, ...rest]) => t.set(String(key), String(value), setOptions(rest) as never),
  PING: (t) => t.ping(),
  ZINCRBY: (t, [key, by, member]) => t.zincrby(String(key), Number(by), String(member)),
  ZRANGE: (t, [key, start, stop, ...flags]) => {
    const upper = flags.map((f) => String(f).toUpperCase());
    if (upper.some((f) => f !== 'REV' && f !== 'WITHSCORES')) throw new Error(`ZRANGE ${upper.join(' ')} is not translated for @upstash/redis`);
    return t.zrange(String(key), Number(start), Number(stop), { ...(upper.includes('REV') ? { rev: true } : {}), ...(upper.includes('WITHSCORES') ? { withScores: true } : {}) });
  },
  EVAL: (t, [script, numKeys, ...rest]) => t.eval(String(script), rest.slice(0, Number(numKeys)).map(String), rest.slice(Number(numKeys))),
  HSET: (t, [key, ...pairs]) => {
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < pairs.length; i += 2) fields[String(pairs[i])] = String(pairs[i + 1]);
    return t.hset(String(key), fields);
  },
  EXPIRE: (t, [key, seconds]) => t.expire(String(key), Number(seconds)),
  HGETALL: (t, [key]) => t.hgetall(String(key)),
};

/** An UpstashRestClient over @upstash/redis (an UpstashClientFactory for the core's Redis users). */
export function createUpstashRedisClient(options: UpstashRestOptions): UpstashRestClient {
  const defaultTimeout = options.timeoutMs ?? 5_000;
  const library = import('@upstash/redis');
  library.catch(() => {}); // a failed import rejects each call (the callers degrade), not the process
  // The library takes its abort signal per client, not per call: one client per timeout a caller uses (a handful).
  const clients = new Map<number, Redis>();
  const clientFor = async (timeoutMs: number): Promise<Redis> => {
    const { Redis } = await library;
    let redis = clients.get(timeoutMs);
    if (!redis) {
      redis = new Redis({
        url: options.url,
        token: options.token,
        retry: false,
        enableTelemetry: false,
        automaticDeserialization: false,
        enableAutoPipelining: options.autoPipelining ?? false,
        signal: () => AbortSignal.timeout(timeoutMs),
      });
      clients.set(timeoutMs, redis);
    }
    return redis;
  };
  const send = async <T>(command: RedisCommand, timeoutMs = defaultTimeout): Promise<T> => {
    const redis = await clientFor(timeoutMs);
    const [name, ...args] = command;
    const typed = TYPED[name.toUpperCase()];
    return (typed ? typed(redis as unknown as TypedCommands, args) : redis.exec([...command])) as Promise<T>;
  };

  return {
    send,
    async pipeline(commands: readonly RedisCommand[], timeoutMs = defaultTimeout): Promise<unknown[]> {
      if (commands.length === 0) return [];
      if (!commands.every(([name]) => name.toUpperCase() in TYPED)) {
        const results: unknown[] = [];
        for (const command of commands) results.push(await send(command, timeoutMs));
        return results;
      }
      const p = (await clientFor(timeoutMs)).pipeline();
      for (const [name, ...args] of commands) TYPED[name.toUpperCase()]!(p as unknown as TypedCommands, args);
      const results = await p.exec();
      // The library maps whatever entries came back; a short reply must not pass for a result.
      if (results.length !== commands.length) throw new Error('Upstash pipeline reply is not one entry per command');
      return results;
    },
  };
}
