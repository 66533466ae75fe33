// Tests that need a real Redis call `redisAvailable()` once: on a machine without Redis they
// skip, and say so loudly; under CI (CI=true) a missing Redis fails the run instead.
import { createConnection } from 'node:net';

/** The Redis tests talk to (REDIS_URL, default redis://127.0.0.1:6379). */
export const TEST_REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

function ping(url: string, timeoutMs: number): Promise<string | null> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname || '127.0.0.1', port: Number(port || 6379) });
    const done = (problem: string | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(problem);
    };
    const timer = setTimeout(() => done(`no answer within ${timeoutMs} ms`), timeoutMs);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG') ? null : `unexpected reply ${JSON.stringify(data.toString())}`));
    socket.once('error', (error) => done(error.message));
  });
}

/**
 * True when Redis answers PING. False (with a console.warn naming the reason) when it does
 * not and we are not in CI; throws in CI, where these tests must never be skipped.
 */
export async function redisAvailable(suite: string): Promise<boolean> {
  const problem = await ping(TEST_REDIS_URL, 1_000);
  if (problem === null) return true;
  const reason = `Redis at ${TEST_REDIS_URL} is not reachable (${problem})`;
  if (process.env.CI === 'true') throw new Error(`${suite}: ${reason}; CI must run these tests (start redis-server first)`);
  console.warn(`\n*** SKIPPING ${suite}: ${reason}. Start one with: redis-server --daemonize yes --port 6379 --save "" ***\n`);
  return false;
}
