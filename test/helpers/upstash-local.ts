// Starts the local Upstash REST server over the test Redis, with a token of its own, and
// gives each test file a key prefix to clean up afterwards.
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
