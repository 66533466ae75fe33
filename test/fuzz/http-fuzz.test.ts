// The fuzz generator in the normal suite: a few hundred seeded bad requests against the node
// server over real sockets and against the handler through invoke(Request) (the path the
// edge artifacts take). The full 10,000 run is `npm run test:fuzz`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalServer, type LocalServer } from '../../adapters/node/server.ts';
import { FUZZ_FAMILIES, generateBadRequests, invokeSender, runFuzz } from './bad-requests.ts';
import { socketSender } from './socket-sender.ts';
import { expectCleanFuzz } from './expect-clean.ts';

let server: LocalServer;

beforeAll(async () => {
  server = await startLocalServer({ port: 0, log: () => {}, demo: false });
});
afterAll(async () => {
  await server?.close();
});

describe('fuzzing the HTTP API', () => {
  it('generates the same cases from the same seed, every family represented', () => {
    const digest = (seed: number) => [...generateBadRequests(seed, 60)].map((c) => `${c.kind} ${c.method} ${c.path} ${c.body?.byteLength ?? -1}`);
    expect(digest(3)).toEqual(digest(3));
    expect(digest(3)).not.toEqual(digest(4));
    expect(new Set([...generateBadRequests(3, FUZZ_FAMILIES.length)].map((c) => c.kind)).size).toBe(FUZZ_FAMILIES.length);
  });

  it('answers 400 requests over real sockets: none ≥ 500, every error JSON with a code, none lost', async () => {
    const sender = socketSender(server.url, { sockets: 4 });
    const summary = await runFuzz(sender.send, { seed: 20261128, count: 400, concurrency: 4 });
    sender.close();
    expectCleanFuzz(summary, 400);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('answers 300 requests through invoke(Request) the same way', async () => {
    const summary = await runFuzz(invokeSender((request) => server.service.fetch(request)), { seed: 99, count: 300, concurrency: 4 });
    expect(summary.violations).toEqual([]);
    expect(summary.answered).toBe(300);
    expect(summary.byStatus['400']).toBeGreaterThan(50);
  });

  it('refuses deeply nested values in error messages without overflowing the stack (was a 500)', async () => {
    const nested = `${'['.repeat(20_000)}1${']'.repeat(20_000)}`;
    for (const body of [
      `{"inputs": [{"name": "ids", "datatype": "INT32", "shape": [1, 1], "data": [${nested}]}]}`,
      `{"inputs": [{"name": "ids", "datatype": "INT32", "shape": ${nested}, "data": [1]}]}`,
      `{"inputs": [{"name": ${nested}, "datatype": "INT32", "shape": [1, 1], "data": [1]}]}`,
    ]) {
      const response = await fetch(`${server.url}/v2/models/spam-edge/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    }
  });
});
