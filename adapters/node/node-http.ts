// node:http ↔ web Request/Response, so the local server runs the same core handler as the
// edge. The body is passed as a stream: the core enforces its size cap while reading, so
// an oversized upload is never buffered whole.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { InferenceService, RequestContext } from '../../core/handler.ts';

/** Turns a node request into a web Request (URL from the Host header, streamed body). */
export function toWebRequest(req: IncomingMessage, fallbackHost: string): Request {
  const host = req.headers.host ?? fallbackHost;
  const url = new URL(req.url ?? '/', `http://${host}`);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.set(name, value);
  }
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  return new Request(url, {
    method,
    headers,
    body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : null,
    // Required by Node's fetch for streamed request bodies.
    duplex: 'half',
  } as RequestInit);
}

/** Writes a web Response to the node response. */
export async function writeWebResponse(response: Response, res: ServerResponse): Promise<void> {
  const body = new Uint8Array(await response.arrayBuffer());
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  headers['content-length'] = String(body.byteLength);
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
  return (req: IncomingMessage, res: ServerResponse): void => {
    let request: Request;
    try {
      request = toWebRequest(req, fallbackHost);
    } catch {
      res.writeHead(400, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ error: { code: 'invalid_request', message: 'the request line or headers are malformed' } }));
      return;
    }
    service
      .fetch(request, { ...context, platform: { req }, ...(req.socket.remoteAddress ? { peerAddress: req.socket.remoteAddress } : {}) })
      .then((response) => writeWebResponse(response, res))
      .catch((error: unknown) => {
        console.error('edgeinfer: failed to write a response', error);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ error: { code: 'internal_error', message: 'internal error' } }));
      });
  };
}
