// A local stand-in for Upstash Redis: the Upstash REST protocol (as @upstash/redis speaks
// it, see shared/DESIGN.md) served over node:http in front of a real Redis. Node-only;
// for development and tests, never deployed.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';

/** Options of {@link startUpstashRestServer}. */
export interface UpstashRestServerOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Interface to bind; loopback by default. */
  host?: string;
  /** Bearer token every request must carry. */
  token: string;
  /** Redis to forward to, e.g. redis://127.0.0.1:6379. */
  redisUrl: string;
  /** Largest accepted request body in bytes (default 10 MiB). */
  maxBodyBytes?: number;
}

/** A running server: its base URL (what UPSTASH_REDIS_REST_URL should say) and a way to stop it. */
export interface UpstashRestServer {
  url: string;
  port: number;
  /** TCP connections accepted so far (a client that keeps its connection alive opens one). */
  connections(): number;
  /** Stops accepting requests, drops open connections and quits the Redis connection. */
  close(): Promise<void>;
}

type RedisArg = string | number;
type Reply = { result: unknown } | { error: string };

/** Raised for requests the protocol rejects before Redis sees them; `status` is the HTTP status. */
class RequestProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

// Commands that would hijack or block the one shared Redis connection (pub/sub, blocking
// pops, connection state). Upstash refuses or handles these out of band too.
const REFUSED_COMMANDS = new Set([
  'SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'UNSUBSCRIBE', 'PUNSUBSCRIBE', 'SUNSUBSCRIBE', 'MONITOR',
  'MULTI', 'EXEC', 'DISCARD', 'WATCH', 'UNWATCH', 'SELECT', 'QUIT', 'RESET', 'AUTH', 'HELLO', 'CLIENT',
  'BLPOP', 'BRPOP', 'BLMOVE', 'BRPOPLPUSH', 'BZPOPMIN', 'BZPOPMAX', 'BLMPOP', 'BZMPOP', 'WAIT', 'SHUTDOWN',
  'DEBUG', 'SYNC', 'PSYNC', 'REPLICAOF', 'SLAVEOF',
]);

// Upstash accepts a shebang flag of its own, `allow-key-locking`, which @upstash/ratelimit's
// Lua scripts carry; open-source Redis 7 refuses unknown flags ("Unexpected flag in script
// shebang"). The stand-in drops the flag before EVAL and maps the client's SHA1 of the
// original script to the rewritten one's, so EVALSHA finds the script as it does on Upstash.
const UPSTASH_ONLY_FLAGS = new Set(['allow-key-locking']);
const scriptShaAliases = new Map<string, string>();
const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

function withoutUpstashFlags(script: string): string {
  const match = /^#!lua([^\n]*)/.exec(script);
  if (!match) return script;
  const flags = /flags=(\S*)/.exec(match[1] as string);
  if (!flags) return script;
  const kept = (flags[1] as string).split(',').filter((flag) => flag && !UPSTASH_ONLY_FLAGS.has(flag));
  const shebang = `#!lua${(match[1] as string).replace(flags[0], kept.length ? `flags=${kept.join(',')}` : '').trimEnd()}`;
  return shebang + script.slice(match[0].length);
}

function translateScripts(command: [string, ...RedisArg[]]): [string, ...RedisArg[]] {
  const [name, first, ...rest] = command;
  if ((name === 'EVAL' || name === 'EVAL_RO') && typeof first === 'string' && first.startsWith('#!')) {
    const rewritten = withoutUpstashFlags(first);
    if (rewritten === first) return command;
    scriptShaAliases.set(sha1(first), sha1(rewritten));
    return [name, rewritten, ...rest];
  }
  if ((name === 'EVALSHA' || name === 'EVALSHA_RO') && typeof first === 'string') {
    const alias = scriptShaAliases.get(first.toLowerCase());
    if (alias) return [name, alias, ...rest];
  }
  return command;
}

/** Checks one command array and returns it with the name upper-cased. */
function parseCommand(value: unknown, where: string): [string, ...RedisArg[]] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new RequestProblem(400, `${where} must be a non-empty JSON array like ["SET","key","value"]`);
  }
  const [name, ...args] = value as unknown[];
  if (typeof name !== 'string' || name === '') throw new RequestProblem(400, `${where}[0] must be the command name (a string)`);
  for (const [i, arg] of args.entries()) {
    if (typeof arg !== 'string' && typeof arg !== 'number') {
      throw new RequestProblem(400, `${where}[${i + 1}] must be a string or a number, got ${arg === null ? 'null' : typeof arg}`);
    }
  }
  // Upper case also keeps ioredis from reshaping replies (it turns `hgetall` into an object).
  const upper = name.toUpperCase();
  if (REFUSED_COMMANDS.has(upper)) throw new RequestProblem(400, `ERR command ${upper} is not supported over REST`);
  return translateScripts([upper, ...(args as RedisArg[])]);
}

function parseCommandList(value: unknown): Array<[string, ...RedisArg[]]> {
  if (!Array.isArray(value) || value.length === 0) {
    throw new RequestProblem(400, 'body must be a non-empty JSON array of commands like [["SET","k","v"],["GET","k"]]');
  }
  return value.map((command, i) => parseCommand(command, `body[${i}]`));
}

/** Turns a Redis reply (Buffers from callBuffer) into JSON: base64 strings when asked. */
function encodeReply(value: unknown, base64: boolean): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return value;
  if (Buffer.isBuffer(value)) return base64 ? value.toString('base64') : value.toString('utf8');
  if (typeof value === 'string') return base64 ? Buffer.from(value, 'utf8').toString('base64') : value;
  if (Array.isArray(value)) return value.map((item) => encodeReply(item, base64));
  if (value instanceof Error) return value.message;
  return value;
}

/** Redis reply errors (wrong type, unknown command, syntax) are the caller's fault: 400. Anything else: Redis is unreachable, 503. */
function errorStatus(error: unknown): number {
  return (error as Error | undefined)?.name === 'ReplyError' ? 400 : 503;
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new RequestProblem(413, `body is larger than ${limit} bytes`));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer (.+)$/.exec(header ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1] as string);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Starts the server; resolves once it listens. */
export async function startUpstashRestServer(options: UpstashRestServerOptions): Promise<UpstashRestServer> {
  if (!options.token) throw new Error('startUpstashRestServer: a non-empty token is required');
  const limit = options.maxBodyBytes ?? 10 * 1024 * 1024;
  // Fail fast when Redis is down instead of queueing forever: the client side has time budgets.
  const redis = new Redis(options.redisUrl, {
    maxRetriesPerRequest: 1,
    // No enableAutoPipelining: in ioredis 5 it mangles `call`/`callBuffer` (drops the command
    // name for some commands). One connection already pipelines on the socket.
    connectTimeout: 2_000,
    lazyConnect: false,
  });
  redis.on('error', () => {
    // Connection errors surface per request as 503; ioredis reconnects on its own.
  });

  async function runOne(command: [string, ...RedisArg[]], base64: boolean): Promise<{ status: number; reply: Reply }> {
    const [name, ...args] = command;
    try {
      const result = await redis.callBuffer(name, ...args);
      return { status: 200, reply: { result: encodeReply(result, base64) } };
    } catch (error) {
      return { status: errorStatus(error), reply: { error: (error as Error).message } };
    }
  }

  async function runPipeline(commands: Array<[string, ...RedisArg[]]>, base64: boolean, atomic: boolean): Promise<{ status: number; body: unknown }> {
    const batch = atomic ? redis.multi() : redis.pipeline();
    for (const [name, ...args] of commands) batch.callBuffer(name, ...args);
    let results: Array<[Error | null, unknown]> | null;
    try {
      results = await batch.exec();
    } catch (error) {
      // EXECABORT (a command rejected while queueing) or a lost connection.
      return { status: errorStatus(error), body: { error: (error as Error).message } };
    }
    if (results === null) return { status: 400, body: { error: 'ERR transaction aborted' } };
    const replies: Reply[] = results.map(([error, value]) =>
      error ? { error: error.message } : { result: encodeReply(value, base64) },
    );
    // A lost connection fails every command: say so with a non-2xx, as for single commands.
    const allUnavailable = results.every(([error]) => error && errorStatus(error) === 503);
    return { status: allUnavailable ? 503 : 200, body: replies };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!tokenMatches(req.headers.authorization, options.token)) {
      send(res, 401, { error: 'Unauthorized: send Authorization: Bearer <UPSTASH_REDIS_REST_TOKEN>' });
      return;
    }
    if (req.method !== 'POST') {
      send(res, 405, { error: `method ${req.method} not allowed: POST a JSON command array` });
      return;
    }
    const path = new URL(req.url ?? '/', 'http://local').pathname.replace(/\/+$/, '') || '/';
    if (path !== '/' && path !== '/pipeline' && path !== '/multi-exec') {
      send(res, 404, { error: `unknown path ${path}: use /, /pipeline or /multi-exec` });
      return;
    }
    const base64 = String(req.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64';
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readBody(req, limit));
    } catch (error) {
      if (error instanceof RequestProblem) throw error;
      throw new RequestProblem(400, `body is not valid JSON (${(error as Error).message})`);
    }
    if (path === '/') {
      const { status, reply } = await runOne(parseCommand(parsed, 'body'), base64);
      send(res, status, reply);
      return;
    }
    const { status, body } = await runPipeline(parseCommandList(parsed), base64, path === '/multi-exec');
    send(res, status, body);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const status = error instanceof RequestProblem ? error.status : 500;
      if (!res.headersSent) send(res, status, { error: (error as Error).message });
      else res.destroy();
    });
  });
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host && options.host !== '0.0.0.0' && options.host !== '::' ? options.host : '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    connections: () => connections,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      redis.disconnect();
    },
  };
}
