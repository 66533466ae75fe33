// The node server's translation layer: the light request view must read like the web
// Request it replaces, and every way a body can arrive (whole within the cap, chunked,
// declared too large, cut off) must end in the same answers as before.
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InferenceService, RequestContext } from '../../../core/handler.ts';
import type { CoreRequest } from '../../../core/http/core-request.ts';
import { JsonReply } from '../../../core/http/reply.ts';
import { readJsonBody } from '../../../core/http/body.ts';
import { createRequestListener, toCoreRequest } from '../../../adapters/node/node-http.ts';

const MAX = 1024;

/** A service that echoes what the core would see: method, url, headers, the parsed body. */
function echoService(): InferenceService {
  const handle = async (request: CoreRequest, context: RequestContext = {}) => {
    const body = request.method === 'POST' ? await readJsonBody(request, MAX, context.body).catch((e: Error) => ({ error: e.message })) : null;
    return new JsonReply({
      method: request.method,
      url: request.url,
      contentType: request.headers.get('content-type'),
      accept: request.headers.get('Accept'),
      missing: request.headers.get('x-missing'),
      preread: context.body !== undefined,
      streamed: request.body !== null,
      body,
    });
  };
  return {
    handle,
    fetch: async (request, context) => (await handle(request, context)).toResponse(),
    warm: async () => [],
    ready: async () => true,
    close: async () => {},
    context: { config: { maxBodyBytes: MAX } } as InferenceService['context'],
  };
}

let server: Server;
let port: number;
beforeAll(async () => {
  server = createServer(createRequestListener(echoService(), 'fallback.test:1', new Set()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Sends raw bytes and returns the status and JSON body of the answer. */
function raw(text: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(text));
    let data = '';
    socket.on('data', (d) => (data += d.toString()));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head, ...rest] = data.split('\r\n\r\n');
      resolve({ status: Number(head?.split(' ')[1]), body: JSON.parse(rest.join('\r\n\r\n') || 'null') });
    });
  });
}

describe('toCoreRequest', () => {
  it('reads like a web Request: absolute URL, case-insensitive headers, null for absent ones, repeated ones joined', () => {
    const req = { method: 'POST', url: '/v1/predict?x=1', headers: { host: 'edge.test:8787', accept: ['a', 'b'], 'content-type': 'application/json' } } as unknown as IncomingMessage;
    const view = toCoreRequest(req, 'fallback.test:1');
    expect(view.url).toBe('http://edge.test:8787/v1/predict?x=1');
    expect(new URL(view.url).pathname).toBe('/v1/predict');
    expect(view.headers.get('Content-Type')).toBe('application/json');
    expect(view.headers.get('accept')).toBe(new Headers([['accept', 'a'], ['accept', 'b']]).get('accept'));
    expect(view.headers.get('x-missing')).toBeNull();
    expect(view.body).toBeNull();
  });

  it('does not let a Host header rewrite the path; absolute-form targets go through URL', () => {
    const hostile = toCoreRequest({ method: 'GET', url: '/v1/predict', headers: { host: 'evil.test/x?' } } as unknown as IncomingMessage, 'fallback.test:1');
    expect(hostile.url).toBe('http://fallback.test:1/v1/predict');
    const absolute = toCoreRequest({ method: 'GET', url: 'http://other.test/healthz', headers: { host: 'edge.test' } } as unknown as IncomingMessage, 'fallback.test:1');
    expect(new URL(absolute.url).pathname).toBe('/healthz');
    const ipv6 = toCoreRequest({ method: 'GET', url: '/healthz', headers: { host: '[::1]:8787' } } as unknown as IncomingMessage, 'fallback.test:1');
    expect(ipv6.url).toBe('http://[::1]:8787/healthz');
  });
});

describe('createRequestListener', () => {
  it('reads a body within the cap whole and hands it over as RequestContext.body', async () => {
    const body = JSON.stringify({ text: 'é'.repeat(100) });
    const { status, body: seen } = await raw(
      `POST /v1/predict HTTP/1.1\r\nHost: a.test\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(status).toBe(200);
    expect(seen).toMatchObject({ method: 'POST', url: 'http://a.test/v1/predict', preread: true, streamed: false, body: { text: 'é'.repeat(100) } });
  });

  it('streams a chunked body through a web Request, still under the cap', async () => {
    const small = await raw(`POST /v1/predict HTTP/1.1\r\nHost: a.test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\n{"a":\r\n2\r\n1}\r\n0\r\n\r\n`);
    expect(small.body).toMatchObject({ preread: false, streamed: true, body: { a: 1 } });
    const big = 'x'.repeat(MAX + 10);
    const large = await raw(`POST /v1/predict HTTP/1.1\r\nHost: a.test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`);
    expect((large.body.body as { error: string }).error).toMatch(/exceeds the limit of 1024 bytes/);
  });

  it('leaves a declared length over the cap to the core (refused before reading), and serves bodiless requests without a stream', async () => {
    const over = await raw(`POST /v1/predict HTTP/1.1\r\nHost: a.test\r\nContent-Type: application/json\r\nContent-Length: ${MAX + 1}\r\nConnection: close\r\n\r\n${'x'.repeat(MAX + 1)}`);
    expect(over.body).toMatchObject({ preread: false, streamed: true });
    expect((over.body.body as { error: string }).error).toMatch(/exceeds the limit/);
    const get = await raw(`GET /healthz HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n`);
    expect(get.body).toMatchObject({ method: 'GET', preread: false, streamed: false, body: null });
  });

  it('drops a client that hangs up mid-body without answering or crashing, and keeps serving', async () => {
    await new Promise<void>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(`POST /v1/predict HTTP/1.1\r\nHost: a.test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"text":`);
        setTimeout(() => socket.destroy(), 50);
      });
      socket.on('close', () => resolve());
    });
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({ port, host: '127.0.0.1', path: '/healthz' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(200);
  });
});
