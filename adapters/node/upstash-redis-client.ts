// The node server's Upstash client: @upstash/redis (the product's named client) behind the
// core's UpstashRestClient interface. Edge bundles keep core/upstash/rest-client.ts (the
// library costs them 17.4 KB gzip and ~2.8 ms of evaluation per isolate, README "Edge
// bundle"); a long-lived Node process pays that once, so here the maintained library speaks
// the protocol. Configured as core configures its own client: no retries (callers have a
// budget and a circuit breaker), no telemetry, no automatic deserialization (callers get
// Redis's replies as they are), and every request under a timeout. The library is imported
// when the first client is made (only with UPSTASH_REDIS_REST_URL/TOKEN set), so `npm start`
// without Redis does not load it.
import type { Redis } from '@upstash/redis';
import type { RedisArg, RedisCommand, UpstashRestClient, UpstashRestOptions } from '../../core/upstash/rest-client.ts';

type Pipeline = ReturnType<Redis['pipeline']>;

/** SET's options after key and value (`EX n`, `PX n`, `NX`, `XX`) as the library takes them. */
function setOptions(rest: readonly RedisArg[]): { ex?: number; px?: number; nx?: true; xx?: true } {
  const out: { ex?: number; px?: number; nx?: true; xx?: true } = {};
  for (let i = 0; i < rest.length; i++) {
    const flag = String(rest[i]).toUpperCase();
    if (flag === 'EX') out.ex = Number(rest[++i]);
    else if (flag === 'PX') out.px = Number(rest[++i]);
    else if (flag === 'NX') out.nx = true;
    else if (flag === 'XX') out.xx = true;
    else throw new Error(`SET option ${flag} is not translated for @upstash/redis pipelines`);
  }
  return out;
}

/**
 * The library has no generic pipelined command, only typed methods: the commands the core
 * pipelines (cache writes, fleet windows) map to them here. A pipeline with any other command
 * goes one command at a time, in order (same results, more round trips).
 */
const PIPELINED: Record<string, (p: Pipeline, args: readonly RedisArg[]) => void> = {
  SET: (p, [key, value, ...rest]) => void p.set(String(key), String(value), setOptions(rest) as never),
  HSET: (p, [key, ...pairs]) => {
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < pairs.length; i += 2) fields[String(pairs[i])] = String(pairs[i + 1]);
    void p.hset(String(key), fields);
  },
  EXPIRE: (p, [key, seconds]) => void p.expire(String(key), Number(seconds)),
  HGETALL: (p, [key]) => void p.hgetall(String(key)),
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
        // `exec` (what `send` uses) is never auto-pipelined by the library; off, so it is one request per command everywhere.
        enableAutoPipelining: false,
        signal: () => AbortSignal.timeout(timeoutMs),
      });
      clients.set(timeoutMs, redis);
    }
    return redis;
  };
  const send = async <T>(command: RedisCommand, timeoutMs = defaultTimeout): Promise<T> => (await clientFor(timeoutMs)).exec<T>([...command]);

  return {
    send,
    async pipeline(commands: readonly RedisCommand[], timeoutMs = defaultTimeout): Promise<unknown[]> {
      if (commands.length === 0) return [];
      if (!commands.every(([name]) => name.toUpperCase() in PIPELINED)) {
        const results: unknown[] = [];
        for (const command of commands) results.push(await send(command, timeoutMs));
        return results;
      }
      const p = (await clientFor(timeoutMs)).pipeline();
      for (const [name, ...args] of commands) PIPELINED[name.toUpperCase()]!(p, args);
      const results = await p.exec();
      // The library maps whatever entries came back; a short reply must not pass for a result.
      if (results.length !== commands.length) throw new Error('Upstash pipeline reply is not one entry per command');
      return results;
    },
  };
}
