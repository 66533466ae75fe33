// CORS (#17 "Also"): off by default; when configured, a preflight is answered before routing,
// rate limiting and body reading, and actual answers carry Access-Control-Allow-Origin for
// allowed origins only. On the node server over real sockets; the built Vercel function runs
// the same checks in edge-runtime (test/runtime/vercel/cors.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalServer, type LocalServer } from '../../../adapters/node/server.ts';
import { createCorsFromEnv } from '../../../core/http/cors.ts';
import { corsCases } from './cors-cases.ts';

describe('CORS configuration', () => {
  it('is off unless EDGEINFER_CORS_ORIGINS is set, and refuses bad values by name', () => {
    expect(createCorsFromEnv({})).toBeUndefined();
    expect(createCorsFromEnv({ EDGEINFER_CORS_ORIGINS: 'https://app.example.com' })).toMatchObject({ methods: ['GET', 'POST'], maxAgeSeconds: 600 });
    expect(() => createCorsFromEnv({ EDGEINFER_CORS_ORIGINS: 'https://app.example.com/path' })).toThrow(/EDGEINFER_CORS_ORIGINS must list origins/);
    expect(() => createCorsFromEnv({ EDGEINFER_CORS_ORIGINS: 'app.example.com' })).toThrow(/EDGEINFER_CORS_ORIGINS/);
    expect(() => createCorsFromEnv({ EDGEINFER_CORS_ORIGINS: '*', EDGEINFER_CORS_MAX_AGE: '-1' })).toThrow(/EDGEINFER_CORS_MAX_AGE/);
    expect(() => createCorsFromEnv({ EDGEINFER_CORS_ORIGINS: '*', EDGEINFER_CORS_HEADERS: 'x-a\r\nx-b: 1' })).toThrow(/EDGEINFER_CORS_HEADERS/);
  });
});

describe('node server with CORS for https://app.example.com and a 1-request rate limit', () => {
  let server: LocalServer;
  let off: LocalServer;
  beforeAll(async () => {
    const common = { port: 0, log: () => {}, demo: false as const, regional: { kind: 'none' as const } };
    [server, off] = await Promise.all([
      startLocalServer({ ...common, cors: { EDGEINFER_CORS_ORIGINS: 'https://app.example.com', EDGEINFER_CORS_MAX_AGE: '300' }, rateLimit: { EDGEINFER_RATE_LIMIT: '1/1h', EDGEINFER_API_KEYS: `cors-${process.pid}-${Date.now()}` } }),
      startLocalServer(common),
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([server?.close(), off?.close()]);
  });

  const send = (base: () => LocalServer) => async (method: string, path: string, headers: Record<string, string>, body?: string) => {
    const answer = await fetch(`${base().url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    return { status: answer.status, headers: Object.fromEntries(answer.headers), text: await answer.text() };
  };

  for (const c of corsCases()) it(c.name, () => c.check(send(() => server)));

  it('off by default: no Access-Control-* header, OPTIONS is 405 as before', async () => {
    const pre = await send(() => off)('OPTIONS', '/v1/predict', { origin: 'https://app.example.com', 'access-control-request-method': 'POST' });
    expect(pre.status).toBe(405);
    expect(Object.keys(pre.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });
});
