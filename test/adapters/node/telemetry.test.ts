// Telemetry through the local server and the real example models: after scripted traffic,
// /metrics (parsed) and /dashboard/data agree with what the client saw; the admin token,
// the login cookie and the loopback rule gate the dashboard; with Upstash configured, two
// services flush to the local REST server over real Redis and either one reads the merged fleet.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalService } from '../../../adapters/node/local-service.ts';
import { startLocalServer, type LocalServer } from '../../../adapters/node/server.ts';
import type { UpstashRestServer } from '../../../adapters/upstash-rest-local/server.ts';
import type { DashboardData } from '../../../core/telemetry/dashboard-data.ts';
import { createUpstashFleetStore } from '../../../core/telemetry/fleet-store.ts';
import { redisAvailable } from '../../helpers/require-redis.ts';
import { sendScriptedTraffic, type ObservedTraffic } from '../../helpers/scripted-traffic.ts';
import { LOCAL_UPSTASH_TOKEN, startLocalUpstash } from '../../helpers/upstash-local.ts';

const hasRedis = await redisAvailable('telemetry fleet store over Upstash REST');
// The regional budget is not under test; a loaded machine must not turn escalations into timeouts.
const config = { cascade: { measure: 'top' as const, budgetMs: 5_000, maxInFlight: 64, circuit: { failures: 5, windowMs: 10_000, halfOpenAfterMs: 5_000 } } };

function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const family = parsePrometheusTextFormat(text).find((f) => f.name === name);
  let total = 0;
  for (const m of family?.metrics ?? []) if (Object.entries(labels).every(([k, v]) => m.labels?.[k] === v)) total += Number(m.value);
  return total;
}

describe('telemetry on the local server (no admin token)', () => {
  let server: LocalServer;
  let observed: ObservedTraffic;

  beforeAll(async () => {
    server = await startLocalServer({ port: 0, log: () => {}, config });
    observed = await sendScriptedTraffic((request) => fetch(request), server.url);
  }, 120_000);
  afterAll(() => server.close());

  it('GET /metrics counts what the client saw: predictions, labels per version, cache hits, escalations, errors by code', async () => {
    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = await response.text();
    expect(metricValue(text, 'edgeinfer_predictions_total')).toBe(observed.predictions);
    expect(observed.predictions).toBe(150);
    for (const [arm, labels] of Object.entries(observed.labels)) {
      const [model, version] = arm.split('@') as [string, string];
      for (const [label, count] of Object.entries(labels)) expect(metricValue(text, 'edgeinfer_predictions_total', { model, version, label })).toBe(count);
    }
    expect(metricValue(text, 'edgeinfer_predictions_total', { path: 'cache_hit' })).toBe(observed.cached);
    expect(observed.cached).toBeGreaterThanOrEqual(30);
    expect(metricValue(text, 'edgeinfer_predictions_total', { path: 'escalated' })).toBe(observed.escalated);
    expect(metricValue(text, 'edgeinfer_escalations_total')).toBe(observed.escalated);
    expect(observed.escalated).toBeGreaterThan(0);
    expect(metricValue(text, 'edgeinfer_cache_hits_total', { level: 'l1' })).toBe(observed.cached);
    expect(metricValue(text, 'edgeinfer_errors_total', { code: 'invalid_json' })).toBe(observed.errors.invalid_json);
    expect(metricValue(text, 'edgeinfer_errors_total', { code: 'model_not_found' })).toBe(1);
    expect(metricValue(text, 'edgeinfer_requests_total', { status: '200' })).toBe(150);
    // The latency summary's count and its p99 against the client-side timings (1% sketch accuracy).
    const count = Number(/^edgeinfer_prediction_latency_seconds_count\{[^}]*path="edge"\} (\S+)$/m.exec(text)?.[1]);
    expect(count).toBe(observed.predictions - observed.cached - observed.escalated);
    const cost = metricValue(text, 'edgeinfer_cost_per_1k_predictions_usd', { path: 'all' });
    // At least the edge invocation of each prediction ($0.60/1M = $0.0006 per 1k), more with escalations.
    expect(cost).toBeGreaterThan(0.0006);
  });

  it('GET /dashboard/data shows the same totals and quantiles the client measured (within the sketch accuracy)', async () => {
    const response = await fetch(`${server.url}/dashboard/data`);
    expect(response.status).toBe(200);
    const data = (await response.json()) as DashboardData;
    expect(data.scope).toBe('isolate');
    expect(data.totals.predictions).toBe(observed.predictions);
    expect(data.totals.cacheHitRatio).toBeCloseTo(observed.cached / observed.predictions, 12);
    expect(data.totals.escalationRate).toBeCloseTo(observed.escalated / observed.predictions, 12);
    const sorted = [...observed.latenciesMs].sort((a, b) => a - b);
    const exact = sorted[Math.ceil(0.5 * sorted.length) - 1] as number;
    // Client timings are rounded to µs: allow the 1% sketch error plus that.
    expect(Math.abs((data.totals.p50 as number) - exact)).toBeLessThanOrEqual(exact * 0.0101 + 0.001);
    expect(data.labels['spam-edge@1']).toEqual(observed.labels['spam-edge@1']);
  });

  it('GET /dashboard is served to a loopback peer: one HTML page, no script, no external asset', async () => {
    const response = await fetch(`${server.url}/dashboard`);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain(`data-metric="predictions">${observed.predictions}<`);
    expect(html).not.toMatch(/<script|src=|href="http/);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('without a token the dashboard is refused to a non-loopback peer, and login does not exist', async () => {
    const refused = await server.service.fetch(new Request('http://edge.example/dashboard'), { peerAddress: '203.0.113.7' });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/EDGEINFER_ADMIN_TOKEN/);
    const unknownPeer = await server.service.fetch(new Request('http://edge.example/dashboard'));
    expect(unknownPeer.status).toBe(403);
    const mapped = await server.service.fetch(new Request('http://x/dashboard'), { peerAddress: '::ffff:127.0.0.1' });
    expect(mapped.status).toBe(200);
    const login = await server.service.fetch(new Request('http://x/dashboard/login', { method: 'POST', body: 'token=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }));
    expect(login.status).toBe(404);
  });
});

describe('telemetry routes with EDGEINFER_ADMIN_TOKEN', () => {
  let server: LocalServer;
  const token = 'telemetry-test-token';

  beforeAll(async () => {
    server = await startLocalServer({ port: 0, log: () => {}, config: { ...config, adminToken: token } });
  }, 60_000);
  afterAll(() => server.close());

  it('/metrics needs the Bearer token: 401 without, 403 wrong, 200 right', async () => {
    const none = await fetch(`${server.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect((await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer nope' } })).status).toBe(403);
    const ok = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('# TYPE edgeinfer_requests_total counter');
  });

  it('/dashboard: Bearer works; without it a login form, whose cookie (HttpOnly, a signed expiring session, not the token) opens the page', async () => {
    expect((await fetch(`${server.url}/dashboard`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const form = await fetch(`${server.url}/dashboard`);
    expect(form.status).toBe(401);
    expect(await form.text()).toContain('<form method="post" action="/dashboard/login"');
    const post = (value: string) =>
      fetch(`${server.url}/dashboard/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${encodeURIComponent(value)}` });
    expect((await post('wrong')).status).toBe(403);
    const good = await post(token);
    expect(good.status).toBe(303);
    expect(good.headers.get('location')).toBe('/dashboard');
    const setCookie = good.headers.get('set-cookie') as string;
    expect(setCookie).toMatch(/^edgeinfer_dashboard=v1\.\d+\.[0-9a-f]{64}; HttpOnly; SameSite=Strict; Path=\/dashboard/);
    expect(setCookie).not.toContain(token);
    const cookie = setCookie.split(';')[0] as string;
    expect((await fetch(`${server.url}/dashboard`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${server.url}/dashboard`, { headers: { cookie: `edgeinfer_dashboard=${'0'.repeat(64)}` } })).status).toBe(401);
    // Even from loopback, a configured token is required.
    expect((await fetch(`${server.url}/dashboard/data`)).status).toBe(401);
  });
});

describe.skipIf(!hasRedis)('fleet view: two isolates flush to Upstash (local REST server over real Redis), either reads the merge', () => {
  let rest: UpstashRestServer;
  const prefix = `tm:test:${Date.now()}:`;

  beforeAll(async () => {
    rest = await startLocalUpstash();
  });
  afterAll(async () => {
    await rest.close();
  });

  it('/metrics?scope=fleet and /dashboard/data merge both isolates: counts add up, sketches merge, isolates = 2', async () => {
    const background: Array<Promise<unknown>> = [];
    const waitUntil = (p: Promise<unknown>) => void background.push(p);
    const make = () =>
      createLocalService({
        config,
        cache: { UPSTASH_REDIS_REST_URL: rest.url, UPSTASH_REDIS_REST_TOKEN: LOCAL_UPSTASH_TOKEN },
        // flushEveryMs 0: every response flushes (by default an isolate flushes at most every 10 s, so the fleet view lags that much).
        telemetry: { fleet: createUpstashFleetStore({ url: rest.url, token: LOCAL_UPSTASH_TOKEN, prefix, ttlSeconds: 300 }), pop: 'test', flushEveryMs: 0 },
      });
    const a = make();
    const b = make();
    try {
      await Promise.all([a.warm(), b.warm()]);
      const predict = (service: typeof a, text: string) =>
        service.fetch(new Request('http://x/v1/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) }), { waitUntil });
      for (let i = 0; i < 5; i++) await predict(a, `Subject: meeting ${i}\n\nsee you at ${i}`);
      for (let i = 0; i < 7; i++) await predict(b, `Subject: offer ${i}\n\nclick here to win ${i} dollars`);
      await Promise.all(background);
      const local = await a.fetch(new Request('http://x/metrics'));
      expect(metricValue(await local.text(), 'edgeinfer_predictions_total')).toBe(5);
      const fleet = await (await a.fetch(new Request('http://x/metrics?scope=fleet'))).text();
      expect(metricValue(fleet, 'edgeinfer_predictions_total')).toBe(12);
      expect(metricValue(fleet, 'edgeinfer_telemetry_isolates')).toBe(2);
      expect(metricValue(fleet, 'edgeinfer_telemetry_flush_failures_total')).toBe(0);
      const data = (await (await b.fetch(new Request('http://x/dashboard/data'), { peerAddress: '127.0.0.1' })).json()) as DashboardData;
      expect(data.scope).toBe('fleet');
      expect(data.isolates).toBe(2);
      expect(data.totals.predictions).toBe(12);
      expect(data.series.reduce((n, p) => n + p.predictions, 0)).toBe(12);
      expect(a.context.telemetry?.isolateId).toMatch(/^test\/[0-9a-f]{8}$/);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 60_000);

  it('a dead fleet store never fails a request: the flush is counted as failed and readers fall back to the isolate', async () => {
    const service = createLocalService({ config, telemetry: { fleet: createUpstashFleetStore({ url: 'http://127.0.0.1:9', token: 't', timeoutMs: 300 }) } });
    try {
      const background: Array<Promise<unknown>> = [];
      const response = await service.fetch(
        new Request('http://x/v1/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'Subject: hi\n\nlunch?' }) }),
        { waitUntil: (p) => void background.push(p) },
      );
      expect(response.status).toBe(200);
      await Promise.all(background);
      const text = await (await service.fetch(new Request('http://x/metrics?scope=fleet'))).text();
      expect(metricValue(text, 'edgeinfer_telemetry_flush_failures_total')).toBeGreaterThanOrEqual(1);
      expect(metricValue(text, 'edgeinfer_predictions_total')).toBe(1);
      expect(metricValue(text, 'edgeinfer_telemetry_isolates')).toBe(1);
    } finally {
      await service.close();
    }
  }, 60_000);
});
