// A local stand-in for the AWS Lambda Invoke API, so the real @aws-sdk/client-lambda runs
// unchanged against functions in this process. Follows the Invoke API reference
// (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html):
//   POST /2015-03-31/functions/{FunctionName}/invocations[?Qualifier=]
//   X-Amz-Invocation-Type: RequestResponse (default) | Event (202) | DryRun (204)
//   function error → 200, X-Amz-Function-Error: Unhandled, body {errorType, errorMessage, trace}
//   service error  → non-2xx, x-amzn-errortype: <Exception>, body {Type, message}
// Test knobs (fault injection) come from the server's `knobs` object, from environment
// variables in `npm run lambda:local`, or per request from X-Edgeinfer-Test-* headers.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LambdaContext, LambdaHandler } from './lambda-types.ts';

/** Fault injection; every field also has a per-request header (see `KNOB_HEADERS`). */
export interface InvokeKnobs {
  /** Added before the function runs, milliseconds. */
  delayMs: number;
  /** Fail invocations with a function error (as if the handler threw). */
  functionError: boolean;
  /** Answer 429 TooManyRequestsException without running the function. */
  throttle: boolean;
}

/** Request headers that override the knobs for one invocation. */
export const KNOB_HEADERS = {
  delayMs: 'x-edgeinfer-test-delay-ms',
  functionError: 'x-edgeinfer-test-function-error',
  throttle: 'x-edgeinfer-test-throttle',
} as const;

/** Options of the local Invoke API server. */
export interface LocalInvokeServerOptions {
  /** Function name → handler. */
  functions: Record<string, LambdaHandler>;
  knobs?: Partial<InvokeKnobs>;
  /** Function timeout (getRemainingTimeInMillis; past it: Sandbox.Timedout function error); default 30 s. */
  timeoutMs?: number;
}

/** A running server: its base URL (the SDK's `endpoint`), live knobs and counters. */
export interface LocalInvokeServer {
  url: string;
  knobs: InvokeKnobs;
  /** Invocations received per function name (including throttled and failed ones). */
  invocations: Map<string, number>;
  close(): Promise<void>;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024; // synchronous Invoke limit

/** Starts the server on `port` (0 = any free port) at 127.0.0.1 unless `host` says otherwise. */
export async function startLocalInvokeServer(options: LocalInvokeServerOptions, port = 0, host = '127.0.0.1'): Promise<LocalInvokeServer> {
  const knobs: InvokeKnobs = { delayMs: 0, functionError: false, throttle: false, ...options.knobs };
  const invocations = new Map<string, number>();
  const timeoutMs = options.timeoutMs ?? 30_000;

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // Only a bug here can land in this branch: answer as the service would on a 500.
      if (!res.headersSent) serviceError(res, 500, 'ServiceException', `local invoke server: ${(error as Error).message}`);
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const match = INVOKE_PATH.exec(url.pathname);
    if (!match) return serviceError(res, 404, 'UnknownOperationException', `no Invoke API route for ${req.method} ${url.pathname}`);
    if (req.method !== 'POST') return serviceError(res, 405, 'UnknownOperationException', 'Invoke takes POST');
    const name = decodeURIComponent(match[1] as string).split(':').at(-1) as string; // ARNs end with the name
    const body = await readBody(req);
    if (body === null) return serviceError(res, 413, 'RequestTooLargeException', `request payload exceeds ${MAX_PAYLOAD_BYTES} bytes`);
    const fn = Object.hasOwn(options.functions, name) ? options.functions[name] : undefined;
    if (!fn) return serviceError(res, 404, 'ResourceNotFoundException', `Function not found: ${name}`);
    invocations.set(name, (invocations.get(name) ?? 0) + 1);

    const effective = knobsFor(req, knobs);
    if (effective.throttle) {
      res.setHeader('retry-after', '1');
      return serviceError(res, 429, 'TooManyRequestsException', 'Rate Exceeded.', { Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' });
    }
    let event: unknown;
    try {
      event = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch {
      return serviceError(res, 400, 'InvalidRequestContentException', 'Could not parse request body into json');
    }
    const invocationType = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    if (invocationType === 'DryRun') return void res.writeHead(204).end();
    if (invocationType !== 'RequestResponse' && invocationType !== 'Event') {
      return serviceError(res, 400, 'InvalidParameterValueException', `unsupported invocation type ${invocationType}`);
    }
    const requestId = randomUUID();
    const started = Date.now();
    const context: LambdaContext = {
      awsRequestId: requestId,
      functionName: name,
      functionVersion: '$LATEST',
      memoryLimitInMB: '1024',
      getRemainingTimeInMillis: () => Math.max(0, started + timeoutMs - Date.now()),
    };
    const execute = async (): Promise<{ ok: true; value: unknown } | { ok: false; error: unknown }> => {
      if (effective.delayMs > 0) await new Promise((r) => setTimeout(r, effective.delayMs));
      if (effective.functionError) return { ok: false, error: Object.assign(new Error('injected by the local invoke server'), { name: 'InjectedFault' }) };
      try {
        return { ok: true, value: await fn(event, context) };
      } catch (error) {
        return { ok: false, error };
      }
    };
    // Past the function timeout Lambda stops the invocation and reports Sandbox.Timedout.
    const run = async () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<{ ok: false; error: unknown }>((resolve) => {
        timer = setTimeout(() => {
          const error = Object.assign(new Error(`RequestId: ${requestId} Error: Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`), { name: 'Sandbox.Timedout', stack: '' });
          resolve({ ok: false, error });
        }, timeoutMs);
      });
      try {
        return await Promise.race([execute(), timedOut]);
      } finally {
        clearTimeout(timer);
      }
    };
    if (invocationType === 'Event') {
      void run();
      res.writeHead(202, { 'x-amzn-requestid': requestId }).end();
      return;
    }
    const outcome = await run();
    if (res.destroyed) return; // the caller gave up (aborted at its budget)
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-amzn-requestid': requestId,
      'x-amz-executed-version': '$LATEST',
    };
    if (outcome.ok) {
      res.writeHead(200, headers).end(JSON.stringify(outcome.value ?? null));
      return;
    }
    const error = outcome.error instanceof Error ? outcome.error : new Error(String(outcome.error));
    res
      .writeHead(200, { ...headers, 'x-amz-function-error': 'Unhandled' })
      .end(JSON.stringify({ errorType: error.name || 'Error', errorMessage: error.message, trace: (error.stack ?? '').split('\n').filter(Boolean) }));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}`,
    knobs,
    invocations,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Knobs from the environment of `npm run lambda:local`. */
export function knobsFromEnv(env: Record<string, string | undefined>): Partial<InvokeKnobs> {
  return {
    delayMs: Number(env.LAMBDA_LOCAL_DELAY_MS ?? 0) || 0,
    functionError: env.LAMBDA_LOCAL_FUNCTION_ERROR === '1',
    throttle: env.LAMBDA_LOCAL_THROTTLE === '1',
  };
}

/** Function timeout from LAMBDA_LOCAL_TIMEOUT_MS (default 30 s, as a Lambda configured for 30 s). */
export function timeoutFromEnv(env: Record<string, string | undefined>): number {
  const value = Number(env.LAMBDA_LOCAL_TIMEOUT_MS ?? 30_000);
  return Number.isFinite(value) && value > 0 ? value : 30_000;
}

function knobsFor(req: IncomingMessage, defaults: InvokeKnobs): InvokeKnobs {
  const header = (name: string) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const delay = header(KNOB_HEADERS.delayMs);
  const functionError = header(KNOB_HEADERS.functionError);
  const throttle = header(KNOB_HEADERS.throttle);
  return {
    delayMs: delay !== undefined && Number.isFinite(Number(delay)) ? Number(delay) : defaults.delayMs,
    functionError: functionError !== undefined ? functionError === '1' : defaults.functionError,
    throttle: throttle !== undefined ? throttle === '1' : defaults.throttle,
  };
}

function serviceError(res: ServerResponse, status: number, type: string, message: string, extra: Record<string, string> = {}): void {
  res
    .writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type, 'x-amzn-requestid': randomUUID() })
    .end(JSON.stringify({ Type: status >= 500 ? 'Service' : 'User', message, ...extra }));
}

async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_PAYLOAD_BYTES) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
