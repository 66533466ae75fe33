// The rate limit as a client meets it: the node server over real sockets (every request
// from 127.0.0.1), hammered past its limit; then per-key rules in process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalServer, type LocalServer } from '../../../adapters/node/server.ts';
import { createLocalService } from '../../../adapters/node/local-service.ts';
import type { InferenceService } from '../../../core/handler.ts';

const PREDICT = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'Subject: lunch\n\nnoon works' }) };

describe('node server with EDGEINFER_RATE_LIMIT=5/2s', () => {
  let server: LocalServer;
  beforeAll(async () => {
    server = await startLocalServer({ port: 0, log: () => {}, demo: false, regional: { kind: 'none' }, rateLimit: { EDGEINFER_RATE_LIMIT: '5/2s', EDGEINFER_API_KEYS: 'key-a,key-b' } });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it('answers 429 rate_limited with Retry-After past the limit, per key, and again after the window resets', async () => {
    // Start right after a window boundary, so the burst below lands in one window.
    await new Promise((r) => setTimeout(r, 2_000 - (Date.now() % 2_000) + 20));
    const answers = [];
    for (let i = 0; i < 8; i++) answers.push(await fetch(`${server.url}/v1/predict`, PREDICT));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    expect(answers.slice(0, 5).map((a) => a.headers.get('ratelimit-remaining'))).toEqual(['4', '3', '2', '1', '0']);
    expect(answers[0]!.headers.get('ratelimit-limit')).toBe('5');
    const refused = answers[5]!;
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(2);
    expect(refused.headers.get('x-ratelimit-limit')).toBe('5');
    expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(refused.headers.get('x-ratelimit-reset')) * 1_000).toBeGreaterThan(Date.now());
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('rate_limited');
    expect(body.error.message).toMatch(/5 per 2 s/);
    // KServe infer counts against the same client; health and metadata do not count at all.
    const infer = await fetch(`${server.url}/v2/models/spam-edge/infer`, { ...PREDICT, body: JSON.stringify({ inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: ['hi'] }] }) });
    expect(infer.status).toBe(429);
    expect((await fetch(`${server.url}/v2/health/ready`)).status).toBe(200);
    expect((await fetch(`${server.url}/v2/models/spam-edge`)).status).toBe(200);
    // A configured API key is its own client; an unknown one is ignored (no fresh bucket per made-up key).
    const withKey = (key: string) => fetch(`${server.url}/v1/predict`, { ...PREDICT, headers: { ...PREDICT.headers, 'x-api-key': key } });
    expect((await withKey('key-a')).status).toBe(200);
    expect((await withKey('key-b')).status).toBe(200);
    expect((await withKey('made-up')).status).toBe(429);
    // The telemetry counts the refusals by code.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/code="rate_limited"/);
    // And the gate's own decisions: 5 allowed in the burst plus the two keyed ones, 5 refused (3 + infer + made-up key).
    expect(metrics).toMatch(/edgeinfer_rate_limit_decisions_total\{outcome="allowed"\} 7\n/);
    expect(metrics).toMatch(/edgeinfer_rate_limit_decisions_total\{outcome="refused"\} 5\n/);
    // After the window resets the same client is served again.
    await new Promise((r) => setTimeout(r, retryAfter * 1_000 + 50));
    expect((await fetch(`${server.url}/v1/predict`, PREDICT)).status).toBe(200);
  }, 20_000);
});

// Day-long windows: epoch-aligned windows roll over at fixed instants, and a test must not straddle one.
describe('client keys and truncated bodies in the handler', () => {
  let service: InferenceService;
  beforeAll(async () => {
    service = createLocalService({ regional: { kind: 'none' }, rateLimit: { EDGEINFER_RATE_LIMIT: '1/24h' } });
    await service.warm();
  }, 60_000);
  afterAll(async () => {
    await service?.close();
  });
  const predict = (headers: Record<string, string> = {}) => new Request('http://x/v1/predict', { ...PREDICT, headers: { ...PREDICT.headers, ...headers } });

  it('keys by the platform client IP, else the peer; X-Forwarded-For is not trusted unless configured', async () => {
    expect((await service.fetch(predict(), { clientIp: '198.51.100.1' })).status).toBe(200);
    expect((await service.fetch(predict(), { clientIp: '198.51.100.1' })).status).toBe(429);
    expect((await service.fetch(predict(), { clientIp: '198.51.100.2' })).status).toBe(200);
    // IPv6 clients count by /64: another address in the same /64 is the same client.
    expect((await service.fetch(predict(), { peerAddress: '2001:db8:1:2::1' })).status).toBe(200);
    expect((await service.fetch(predict(), { peerAddress: '2001:db8:1:2::ffff' })).status).toBe(429);
    // A spoofed X-Forwarded-For does not buy a new bucket on the node server.
    expect((await service.fetch(predict({ 'x-forwarded-for': '192.0.2.99' }), { peerAddress: '2001:db8:1:2::1' })).status).toBe(429);
    // No key at all: not limited (one shared bucket would let one client lock out everyone).
    expect((await service.fetch(predict())).status).toBe(200);
    expect((await service.fetch(predict())).status).toBe(200);
  });

  it('answers a body the platform truncated with 413 before parsing it', async () => {
    const response = await service.fetch(new Request('http://x/v1/predict', { ...PREDICT, body: '{"text": "cut of' }), { clientIp: '198.51.100.3', bodyTruncated: { limitBytes: 40 * 1024 } });
    expect(response.status).toBe(413);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error).toMatchObject({ code: 'payload_too_large' });
    expect(body.error.message).toMatch(/40 KB/);
  });
});

describe('EDGEINFER_TRUST_FORWARDED_FOR=1', () => {
  it("keys by X-Forwarded-For's last entry (what our proxy appended)", async () => {
    const service = createLocalService({ regional: { kind: 'none' }, rateLimit: { EDGEINFER_RATE_LIMIT: '1/24h', EDGEINFER_TRUST_FORWARDED_FOR: '1' } });
    try {
      const req = (xff: string) => new Request('http://x/v1/predict', { ...PREDICT, headers: { ...PREDICT.headers, 'x-forwarded-for': xff } });
      expect((await service.fetch(req('1.1.1.1, 203.0.113.5'), { peerAddress: '127.0.0.1' })).status).toBe(200);
      // The client wrote a different first entry: still the same client to us.
      expect((await service.fetch(req('9.9.9.9, 203.0.113.5'), { peerAddress: '127.0.0.1' })).status).toBe(429);
      expect((await service.fetch(req('203.0.113.6'), { peerAddress: '127.0.0.1' })).status).toBe(200);
    } finally {
      await service.close();
    }
  }, 60_000);
});
