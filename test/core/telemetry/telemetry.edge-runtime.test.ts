// core/telemetry inside Vercel's edge-runtime with code generation disallowed (no eval, no
// WASM compile), bundled as the provider builds bundle it: DDSketch recording, JSON windows
// merged across isolates, Prometheus text, the dashboard page, the HMAC session value, and
// the fleet store through core/upstash/rest-client.ts (fetch) to the local REST server over real Redis.
import type { EdgeRuntime } from 'edge-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UpstashRestServer } from '../../../adapters/upstash-rest-local/server.ts';
import { DashboardSessions } from '../../../core/telemetry/admin-auth.ts';
import { redisAvailable } from '../../helpers/require-redis.ts';
import { LOCAL_UPSTASH_TOKEN, startLocalUpstash } from '../../helpers/upstash-local.ts';
import { loadIntoEdgeRuntime } from '../../helpers/edge-runtime.ts';

const hasRedis = await redisAvailable('core/telemetry fleet store in edge-runtime');

let runtime: EdgeRuntime;
beforeAll(async () => {
  runtime = await loadIntoEdgeRuntime(new URL('./telemetry-edge-entry.ts', import.meta.url));
});

describe('core/telemetry in edge-runtime (codegen off)', () => {
  it('records, serialises and merges windows of three isolates: p99 of the merge equals the exact p99 within 1%', async () => {
    const windows = [runtime.evaluate<string>("recordWindow(100, 'ham')"), runtime.evaluate<string>("recordWindow(300, 'spam')"), runtime.evaluate<string>("recordWindow(600, 'ham')")];
    const merged = JSON.parse(runtime.evaluate<string>(`mergeWindows(${JSON.stringify(windows)})`)) as { p99: number; count: number; prometheus: string; htmlBytes: number };
    expect(merged.count).toBe(1_000);
    // Exact p99 of {1..100} ∪ {1..300} ∪ {1..600}: the 990th smallest value.
    const all = [100, 300, 600].flatMap((n) => Array.from({ length: n }, (_, i) => i + 1)).sort((a, b) => a - b);
    const exact = all[989] as number;
    expect(Math.abs(merged.p99 - exact) / exact).toBeLessThanOrEqual(0.01);
    expect(merged.prometheus).toContain('edgeinfer_predictions_total{model="spam-edge",version="1",label="ham",path="edge"} 700');
    expect(merged.prometheus).toContain('edgeinfer_requests_total{status="200"} 1000');
    expect(merged.htmlBytes).toBeGreaterThan(2_000);
  });

  it('signs a dashboard session with web crypto, equal to the Node result (and Node verifies it)', async () => {
    const now = 1_800_000_000_000;
    const signed = await runtime.evaluate<Promise<string>>(`session('s3cret', ${now})`);
    expect(signed).toBe(await new DashboardSessions('s3cret', () => now).issue());
    expect(await new DashboardSessions('s3cret', () => now + 1_000).verify(signed)).toBe(true);
  });
});

describe.skipIf(!hasRedis)('core/telemetry fleet store in edge-runtime', () => {
  let server: UpstashRestServer;
  beforeAll(async () => {
    server = await startLocalUpstash();
  });
  afterAll(async () => server?.close());

  it('two isolates flush, a third reads the merged fleet', async () => {
    const prefix = `tm:edge-test:${Date.now()}:`;
    const result = JSON.parse(await runtime.evaluate<Promise<string>>(`fleetRoundTrip(${JSON.stringify(server.url)}, ${JSON.stringify(LOCAL_UPSTASH_TOKEN)}, ${JSON.stringify(prefix)})`));
    expect(result).toMatchObject({ flushed: [true, true], scope: 'fleet', isolates: 2, predictions: 7 });
    expect(Math.abs(result.max - 50) / 50).toBeLessThanOrEqual(0.01);
  });
});
