// Where isolates leave their metrics windows for the fleet view: one Redis hash per window
// (`tm:{windowStart}`), one field per isolate holding its serialised window, expiring after
// a day. Any reader fetches the windows it wants in one pipelined round trip and merges them
// (sketches merge exactly; nothing is averaged). Upstash over REST, the same client as L2.
import { createUpstashRestClient, hashFromReply, type UpstashClientFactory } from '../upstash/rest-client.ts';

/** The store telemetry flushes to and reads the fleet from. */
export interface FleetStore {
  /** Writes this isolate's serialised windows (one field per window hash). */
  write(isolateId: string, windows: ReadonlyArray<{ start: number; json: string }>): Promise<void>;
  /** For each window start, every isolate's serialised window (isolate id → JSON). */
  read(windowStarts: readonly number[]): Promise<Array<Record<string, string>>>;
}

/** Settings of {@link createUpstashFleetStore}. */
export interface UpstashFleetStoreOptions {
  url: string;
  token: string;
  /** Key prefix (default `tm:`). */
  prefix?: string;
  /** How long a window stays readable, seconds (default one day). */
  ttlSeconds?: number;
  /** Time allowed for one flush or read, ms (default 2 s): it runs after the response, never on the request path. */
  timeoutMs?: number;
  /** The client implementation (default: core's fetch client). */
  client?: UpstashClientFactory;
}

/** A fleet store on Upstash Redis (real, or `npm run redis:rest` locally). */
export function createUpstashFleetStore(options: UpstashFleetStoreOptions): FleetStore {
  const prefix = options.prefix ?? 'tm:';
  const ttl = options.ttlSeconds ?? 86_400;
  const timeoutMs = options.timeoutMs ?? 2_000;
  const redis = (options.client ?? createUpstashRestClient)({ url: options.url, token: options.token, timeoutMs });
  return {
    async write(isolateId, windows) {
      if (windows.length === 0) return;
      await redis.pipeline(windows.flatMap((w) => [['HSET', prefix + w.start, isolateId, w.json] as const, ['EXPIRE', prefix + w.start, ttl] as const]));
    },
    async read(windowStarts) {
      if (windowStarts.length === 0) return [];
      const replies = await redis.pipeline(windowStarts.map((start) => ['HGETALL', prefix + start] as const));
      return replies.map(hashFromReply);
    },
  };
}
