// Starts the local Upstash REST server over the test Redis, with a token of its own, and
// gives each test file a key prefix to clean up afterwards.
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { startUpstashRestServer, type UpstashRestServer } from '../../adapters/upstash-rest-local/server.ts';
import { TEST_REDIS_URL } from './require-redis.ts';

export const LOCAL_UPSTASH_TOKEN = 'edgeinfer-test-token';

/** Starts a REST server on a free port. */
export function startLocalUpstash(): Promise<UpstashRestServer> {
  return startUpstashRestServer({ port: 0, token: LOCAL_UPSTASH_TOKEN, redisUrl: TEST_REDIS_URL });
}

/**
 * A TCP server that accepts connections and never answers: what a Redis endpoint stuck
 * behind a partition looks like to a client (the request is sent, no reply comes).
 */
export async function startSilentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as import('node:net').AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A keep-alive HTTP proxy in front of a REST server that counts the client's TCP connections
 * (accepted, closed) and holds each request `holdMs(body)` ms before forwarding it: a Redis
 * slow for chosen keys only.
 */
export async function startHoldingProxy(target: string, holdMs: (body: string) => number) {
  let accepted = 0;
  let closed = 0;
  const sockets = new Set<import('node:net').Socket>();
  const server = createHttpServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const hold = holdMs(body.toString('utf8'));
    if (hold > 0) await new Promise((r) => setTimeout(r, hold));
    try {
      const answer = await fetch(target + req.url, { method: 'POST', headers: req.headers as Record<string, string>, body });
      const text = await answer.text();
      if (!res.destroyed) res.writeHead(answer.status, { 'content-type': 'application/json' }).end(text);
    } catch {
      res.destroy();
    }
  });
  server.on('connection', (socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => (closed++, sockets.delete(socket)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as import('node:net').AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    accepted: () => accepted,
    closed: () => closed,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
