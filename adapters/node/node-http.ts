// node:http ↔ the core handler, so the local server runs the same handler as the edge. On
// the common path (a body within the core's cap, or none) no undici Request or Response is
// built: the core reads a light request view plus the body bytes, and its JSON replies are
// written as they are. Chunked or oversized uploads go as a web Request with a streamed
// body, so the core's size cap applies while reading and nothing huge is buffered.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InferenceService, RequestContext } from '../../core/handler.ts';
import type { CoreRequest } from '../../core/http/core-request.ts';
import { JsonReply, type RouteResult } from '../../core/http/reply.ts';

/**
 * Turns a node request with a body to stream (chunked, or longer than the core's cap) into a
 * web Request whose body is read under the core's size cap, so an oversized upload is never
 * buffered whole. Every other request goes through toCoreRequest.
 */
export function toWebRequest(req: IncomingMessage, fallbackHost: string): Request {
  const host = req.headers.host ?? fallbackHost;
  const url = new URL(req.url ?? '/', `http://${host}`);
  // rawHeaders is a flat [name, value, ...] list: one pass, repeated headers kept in order.
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string);
  const method = req.method ?? 'GET';
  return new Request(url, {
    method,
    headers,
    body: hasStreamedBody(req) ? requestBodyStream(req) : null,
    // Required by Node's fetch for streamed request bodies.
    duplex: 'half',
  } as RequestInit);
}

/** Host header values that can sit in a URL's authority as they are (no '/', '@', '?', spaces, ...). */
const PLAIN_HOST = /^[A-Za-z0-9.\-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/;

/**
 * The core's view of a request whose body, if any, the listener already read (passed on
 * as RequestContext.body): method, URL and headers straight from node:http's parse,
 * with no undici Request, Headers or AbortSignal to build.
 */
export function toCoreRequest(req: IncomingMessage, fallbackHost: string): CoreRequest {
  const host = req.headers.host !== undefined && PLAIN_HOST.test(req.headers.host) ? req.headers.host : fallbackHost;
  const target = req.url ?? '/';
  // Origin-form targets ("/v1/predict") are the rule; absolute-form and "*" go through URL.
  const url = target.startsWith('/') ? `http://${host}${target}` : new URL(target, `http://${host}`).href;
  const nodeHeaders = req.headers;
  return {
    method: req.method ?? 'GET',
    url,
    headers: {
      get(name: string): string | null {
        const value = nodeHeaders[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    },
    body: null,
  };
}

/**
 * The declared body length when the body may be read whole before the core sees it: a
 * Content-Length (no chunked encoding) of at most `limit` bytes; otherwise undefined.
 */
function bufferableLength(req: IncomingMessage, limit: number): number | undefined {
  if (req.method === 'GET' || req.method === 'HEAD' || req.headers['transfer-encoding'] !== undefined) return undefined;
  const declared = req.headers['content-length'];
  if (declared === undefined) return undefined;
  const length = Number(declared);
  return Number.isSafeInteger(length) && length > 0 && length <= limit ? length : undefined;
}

/** True when the request has a body to stream (chunked, or a non-zero Content-Length). */
function hasStreamedBody(req: IncomingMessage): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return false;
  const declared = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (declared !== undefined && declared !== '0');
}

/** Reads a body of known, bounded length into one buffer (a single chunk is used as it is). */
function readWholeBody(req: IncomingMessage, length: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.byteLength;
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      const whole = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received);
      resolve(whole);
    };
    const onFail = () => {
      cleanup();
      reject(new Error(`the connection closed before the request body ended (${received} of ${length} bytes)`));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onFail);
      req.off('aborted', onFail);
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onFail);
    req.once('aborted', onFail);
  });
}

/**
 * The node request body as a web stream with backpressure. Unlike Readable.toWeb, cancelling
 * it (the core stops reading at its size cap) only pauses the request instead of destroying
 * the socket, so the 413 the core answers still reaches the client; the listener then closes
 * the connection, since the rest of the upload was never read.
 */
function requestBodyStream(req: IncomingMessage): ReadableStream<Uint8Array> {
  let settled = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        req.on('data', (chunk: Buffer) => {
          if (settled) return;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 1) <= 0) req.pause();
        });
        req.once('end', () => {
          if (settled) return;
          settled = true;
          controller.close();
        });
        const fail = (error: Error) => {
          if (settled) return;
          settled = true;
          controller.error(error);
        };
        req.once('error', fail);
        req.once('close', () => fail(new Error('the connection closed before the request body ended')));
      },
      pull() {
        req.resume();
      },
      cancel() {
        settled = true;
        req.pause();
      },
    },
    { highWaterMark: 64 * 1024, size: (chunk) => chunk.byteLength },
  );
}

/** Writes the core's answer: a JsonReply as it is, a web Response through its body. */
export async function writeRouteResult(result: RouteResult, res: ServerResponse, closeConnection = false): Promise<void> {
  if (!(result instanceof JsonReply)) return writeWebResponse(result, res, closeConnection);
  const body = result.text();
  const headers: Record<string, string> = { ...result.headers, 'content-length': String(Buffer.byteLength(body)) };
  if (closeConnection) headers.connection = 'close';
  res.writeHead(result.status, headers);
  res.end(body);
}

/** Writes a web Response to the node response. */
export async function writeWebResponse(response: Response, res: ServerResponse, closeConnection = false): Promise<void> {
  const body = new Uint8Array(await response.arrayBuffer());
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  headers['content-length'] = String(body.byteLength);
  if (closeConnection) headers.connection = 'close';
  res.writeHead(response.status, headers);
  res.end(body);
}

/** A node request listener over the service; `pending` collects waitUntil work for shutdown. */
export function createRequestListener(service: InferenceService, fallbackHost: string, pending: Set<Promise<unknown>>) {
  const context: RequestContext = {
    waitUntil(promise) {
      const tracked = promise.catch((error: unknown) => console.error('edgeinfer: background task failed', error));
      pending.add(tracked);
      void tracked.finally(() => pending.delete(tracked));
    },
  };
  // Bodies up to the core's own cap are read whole first and passed as RequestContext.body.
  const bufferLimit = service.context.config.maxBodyBytes;
  const serve = (req: IncomingMessage, res: ServerResponse, body?: Uint8Array): void => {
    let request: CoreRequest;
    try {
      request = body !== undefined || !hasStreamedBody(req) ? toCoreRequest(req, fallbackHost) : toWebRequest(req, fallbackHost);
    } catch {
      res.writeHead(400, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
      res.end(JSON.stringify({ error: { code: 'invalid_request', message: 'the request line or headers are malformed' } }));
      return;
    }
    service
      // The peer address gates /dashboard when no admin token is configured (loopback only).
      .handle(request, { ...context, platform: { req }, ...(req.socket.remoteAddress ? { peerAddress: req.socket.remoteAddress } : {}), secureTransport: (req.socket as { encrypted?: boolean }).encrypted === true, ...(body ? { body } : {}) })
      // The core may answer without reading the whole body (413 on a declared size, 415, 404):
      // an upload still in flight would otherwise stall this keep-alive connection, so it is
      // closed after the answer; a body that already arrived whole is discarded and the
      // connection stays open.
      .then((result) => {
        const unread = !req.readableEnded;
        if (unread && req.complete) req.resume();
        return writeRouteResult(result, res, unread && !req.complete);
      })
      .catch((error: unknown) => {
        console.error('edgeinfer: failed to write a response', error);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
        res.end(JSON.stringify({ error: { code: 'internal_error', message: 'internal error' } }));
      });
  };
  return (req: IncomingMessage, res: ServerResponse): void => {
    const length = bufferableLength(req, bufferLimit);
    if (length === undefined) return serve(req, res);
    // A client that hangs up mid-body gets no answer: there is nobody left to read one.
    readWholeBody(req, length).then(
      (body) => serve(req, res, body),
      () => res.destroy(),
    );
  };
}
