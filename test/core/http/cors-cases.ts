// The CORS cases every target runs (node server, built edge functions). The target under test is
// configured with EDGEINFER_CORS_ORIGINS=https://app.example.com, EDGEINFER_CORS_MAX_AGE=300 and
// a rate limit of 1 request per window for the x-api-key the cases do not send.
import { expect } from 'vitest';

export type Send = (method: string, path: string, headers: Record<string, string>, body?: string) => Promise<{ status: number; headers: Record<string, string>; text: string }>;

const PREDICT_BODY = JSON.stringify({ text: 'Subject: lunch\n\nnoon works' });

export function corsCases(): Array<{ name: string; check: (send: Send) => Promise<void> }> {
  return [
    {
      name: 'a preflight from an allowed origin is answered 204 with the configured methods, headers and max-age',
      check: async (send) => {
        const pre = await send('OPTIONS', '/v1/predict', { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' });
        expect(pre.status).toBe(204);
        expect(pre.headers['access-control-allow-origin']).toBe('https://app.example.com');
        expect(pre.headers['access-control-allow-methods']).toBe('GET, POST');
        expect(pre.headers['access-control-allow-headers']).toMatch(/content-type/);
        expect(pre.headers['access-control-max-age']).toBe('300');
        expect(pre.text).toBe('');
      },
    },
    {
      name: 'a preflight from another origin gets no Access-Control-Allow-Origin',
      check: async (send) => {
        const pre = await send('OPTIONS', '/v1/predict', { origin: 'https://evil.example', 'access-control-request-method': 'POST' });
        expect(pre.status).toBe(204);
        expect(pre.headers['access-control-allow-origin']).toBeUndefined();
      },
    },
    {
      name: 'preflights are answered before rate limiting and body reading: 20 in a row, with a body that is not JSON, all 204',
      check: async (send) => {
        const statuses = [];
        for (let i = 0; i < 20; i++) statuses.push((await send('OPTIONS', '/v1/predict', { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'content-type': 'application/json' }, '{not json')).status);
        expect(statuses).toEqual(Array(20).fill(204));
      },
    },
    {
      name: 'an actual request from an allowed origin carries Access-Control-Allow-Origin, Vary and the exposed headers, errors too',
      check: async (send) => {
        const ok = await send('POST', '/v1/predict', { origin: 'https://app.example.com', 'content-type': 'application/json' }, PREDICT_BODY);
        expect([200, 429]).toContain(ok.status);
        expect(ok.headers['access-control-allow-origin']).toBe('https://app.example.com');
        expect(ok.headers.vary).toMatch(/origin/i);
        expect(ok.headers['access-control-expose-headers']).toMatch(/server-timing/);
        const bad = await send('POST', '/v1/predict', { origin: 'https://app.example.com', 'content-type': 'application/json' }, '{');
        expect(bad.headers['access-control-allow-origin']).toBe('https://app.example.com');
        const other = await send('GET', '/healthz', { origin: 'https://evil.example' });
        expect(other.status).toBe(200);
        expect(other.headers['access-control-allow-origin']).toBeUndefined();
      },
    },
  ];
}
