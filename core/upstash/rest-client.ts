// A small Upstash Redis client over fetch: the REST protocol as shared/DESIGN.md describes it
// (a command is a JSON array POSTed to the base URL, many go to /pipeline, `Authorization:
// Bearer`, replies `{result}` / `{error}`, strings base64 under `Upstash-Encoding: base64`).
// It replaces @upstash/redis in core/ because the edge needs nine commands, not the
// library's few hundred: the library costs edge bundles 17.6 KB gzip and ~2.8 ms of
// evaluation per isolate (README "Edge bundle"). Every request has a timeout (an abort); a
// caller may also pass a signal to abort earlier. Callers keep their own budget and circuit
// breaker on top and degrade on any rejection; the remote cache and the rate limiter stop waiting
// at their budget but let a late request finish up to a longer timeout (core/upstash/stragglers.ts), because an aborted fetch drops its
// keep-alive connection and the next call pays a new one (README "The cache").

/** One argument of a Redis command. */
export type RedisArg = string | number;
/** A Redis command: its name, then its arguments, e.g. `['SET', key, value, 'EX', 60]`. */
export type RedisCommand = readonly [string, ...RedisArg[]];

/** Settings of {@link createUpstashRestClient}. */
export interface UpstashRestOptions {
  /** UPSTASH_REDIS_REST_URL */
  url: string;
  /** UPSTASH_REDIS_REST_TOKEN */
  token: string;
  /** A request still unanswered after this long is aborted, ms (default 5,000; a call may pass its own). */
  timeoutMs?: number;
  /**
   * Commands sent in the same tick share one /pipeline request (default false), as
   * @upstash/redis's auto-pipelining does: fewer round trips, the same billed commands.
   */
  autoPipelining?: boolean;
}

/** A Redis error (WRONGTYPE, unknown command...), an HTTP error (401, 503...) or a reply that is not the protocol's. */
export class UpstashRestError extends Error {
  override name = 'UpstashRestError';
}

/** The client: one command, or many in one round trip. Rejects on any failure; never retries. */
export interface UpstashRestClient {
  /**
   * Sends one command; resolves to its result, strings decoded. The request is aborted after
   * `timeoutMs` or when `signal` aborts, whichever comes first (auto-pipelined: a shared
   * request is aborted once every command in it has been aborted, or at the longest timeout).
   */
  send<T = unknown>(command: RedisCommand, timeoutMs?: number, signal?: AbortSignal): Promise<T>;
  /** Sends the commands in one /pipeline request; resolves to their results in order, rejects if any failed. */
  pipeline(commands: readonly RedisCommand[], timeoutMs?: number, signal?: AbortSignal): Promise<unknown[]>;
  /**
   * True when a request is aborted as soon as its caller's signal aborts. A client without it
   * ends a request only at its timeout, so callers must choose that timeout up front.
   */
  readonly abortsOnSignal?: boolean;
}

/**
 * Makes a client from the settings. Core modules take one so that an adapter can choose the
 * implementation: the edge keeps {@link createUpstashRestClient}; the node server passes one
 * over @upstash/redis (adapters/node/upstash-redis-client.ts), where bundle size does not matter.
 */
export type UpstashClientFactory = (options: UpstashRestOptions) => UpstashRestClient;

type Reply = { result?: unknown; error?: string };

/** Upstash's base64 of UTF-8 (status replies such as OK come back as they are). */
function decodeResult(value: unknown): unknown {
  if (typeof value === 'string') {
    if (value === 'OK') return value;
    try {
      return utf8.decode(Uint8Array.from(atob(value), (c) => c.charCodeAt(0)));
    } catch {
      return value;
    }
  }
  return Array.isArray(value) ? value.map(decodeResult) : value;
}
const utf8 = new TextDecoder();

function replyOf(item: unknown): unknown {
  const reply = item as Reply | null;
  if (typeof reply !== 'object' || reply === null) throw new UpstashRestError('Upstash reply is not {result} or {error}');
  if (reply.error !== undefined) throw new UpstashRestError(String(reply.error));
  if (!('result' in reply)) throw new UpstashRestError('Upstash reply has no result');
  return decodeResult(reply.result);
}

/** A client for Upstash REST (real Upstash, or the local stand-in of `npm run redis:rest`). */
export function createUpstashRestClient(options: UpstashRestOptions): UpstashRestClient {
  const base = options.url.replace(/\/$/, '');
  const headers = { authorization: `Bearer ${options.token}`, 'content-type': 'application/json', 'upstash-encoding': 'base64' };
  const defaultTimeout = options.timeoutMs ?? 5_000;

  /**
   * POSTs `body` to `path`; resolves to the parsed JSON of a 2xx answer. Aborted after
   * `timeoutMs` (reading the body included) or once every one of `signals` has aborted (none
   * given: the timeout only). A plain controller and timer, not AbortSignal.any/timeout, so
   * the timer is cleared as soon as the answer is read.
   */
  async function post(path: string, body: unknown, timeoutMs: number, signals: ReadonlyArray<AbortSignal | undefined> = []): Promise<unknown> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException(`Upstash request timed out after ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
    const callers = signals.length > 0 && signals.every((s) => s !== undefined) ? (signals as AbortSignal[]) : [];
    let live = callers.length;
    const onAbort = () => {
      if (--live === 0) controller.abort(new DOMException('Upstash request aborted by its caller', 'AbortError'));
    };
    for (const signal of callers) {
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
    let text: string;
    let response: Response;
    try {
      response = await fetch(base + path, { method: 'POST', headers, body: JSON.stringify(body), signal: controller.signal });
      text = await response.text();
    } finally {
      clearTimeout(timer);
      for (const signal of callers) signal.removeEventListener('abort', onAbort);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new UpstashRestError(`Upstash answered HTTP ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`);
    }
    if (!response.ok) throw new UpstashRestError(String((parsed as Reply | null)?.error ?? `HTTP ${response.status}`));
    return parsed;
  }

  async function pipeline(commands: readonly RedisCommand[], timeoutMs = defaultTimeout, signal?: AbortSignal): Promise<unknown[]> {
    const replies = await post('/pipeline', commands, timeoutMs, signal ? [signal] : []);
    if (!Array.isArray(replies) || replies.length !== commands.length) throw new UpstashRestError('Upstash pipeline reply is not one entry per command');
    return replies.map(replyOf);
  }

  // Auto-pipelining: commands queued in this tick, sent together once it ends.
  let queue: Array<{ command: RedisCommand; timeoutMs: number; signal: AbortSignal | undefined; resolve(v: unknown): void; reject(e: unknown): void }> = [];
  function flush(): void {
    const batch = queue;
    queue = [];
    const timeoutMs = Math.max(...batch.map((q) => q.timeoutMs));
    // One caller giving up must not cut the others' shared request: it is aborted once all have.
    post('/pipeline', batch.map((q) => q.command), timeoutMs, batch.map((q) => q.signal)).then(
      (replies) => {
        batch.forEach((q, i) => {
          try {
            if (!Array.isArray(replies) || replies.length !== batch.length) throw new UpstashRestError('Upstash pipeline reply is not one entry per command');
            q.resolve(replyOf(replies[i]));
          } catch (error) {
            q.reject(error);
          }
        });
      },
      (error: unknown) => batch.forEach((q) => q.reject(error)),
    );
  }

  return {
    send<T>(command: RedisCommand, timeoutMs = defaultTimeout, signal?: AbortSignal): Promise<T> {
      if (!options.autoPipelining) return post('', command, timeoutMs, signal ? [signal] : []).then(replyOf) as Promise<T>;
      return new Promise<T>((resolve, reject) => {
        if (queue.push({ command, timeoutMs, signal, resolve: resolve as (v: unknown) => void, reject }) === 1) queueMicrotask(() => queueMicrotask(flush));
      });
    },
    pipeline,
    abortsOnSignal: true,
  };
}

/** HGETALL's flat reply (`[field, value, ...]`) as an object of strings. */
export function hashFromReply(reply: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(reply)) for (let i = 0; i + 1 < reply.length; i += 2) if (typeof reply[i] === 'string' && typeof reply[i + 1] === 'string') out[reply[i]] = reply[i + 1];
  return out;
}
