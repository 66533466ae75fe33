// Bundled into an edge-runtime script by telemetry.edge-runtime.test.ts: exposes telemetry
// operations as globals the test evaluates.
import { createUpstashFleetStore, dashboardData, MetricsWindow, renderPrometheus, DashboardSessions, Telemetry } from '../../../core/telemetry/index.ts';
import { renderDashboard } from '../../../core/telemetry/dashboard-html.ts';

const g = globalThis as Record<string, unknown>;

/** Records `n` predictions with latencies 1..n ms in a fresh isolate's telemetry; returns its window as JSON. */
g.recordWindow = (n: number, label: string): string => {
  const telemetry = new Telemetry();
  for (let i = 1; i <= n; i++) {
    telemetry.recordPrediction({ label, model: { name: 'spam-edge', version: '1' }, tier: 'edge', degraded: false, cached: false, timings: { inferMs: 0.01, totalMs: i } });
    telemetry.recordResponse(200);
  }
  return JSON.stringify(telemetry.snapshot().total.toJSON());
};

/** Merges serialised windows; returns p99 (ms), count and the Prometheus text. */
g.mergeWindows = (jsons: string[]): string => {
  const merged = new MetricsWindow(0, 0);
  for (const json of jsons) merged.merge(MetricsWindow.fromJSON(JSON.parse(json)));
  const latency = merged.sketch('edgeinfer_latency_ms');
  const html = renderDashboard(dashboardData({ total: merged, windows: [merged], scope: 'fleet', isolates: jsons.length }, 60_000));
  return JSON.stringify({ p99: latency.quantile(0.99), count: latency.count, prometheus: renderPrometheus(merged), htmlBytes: html.length });
};

g.session = (key: string, nowMs: number): Promise<string> => new DashboardSessions(key, () => nowMs).issue();

/** Two isolates flush to the fleet store; a third reads the merge. */
g.fleetRoundTrip = async (url: string, token: string, prefix: string): Promise<string> => {
  const store = () => createUpstashFleetStore({ url, token, prefix, ttlSeconds: 120 });
  const a = new Telemetry({ fleet: store(), pop: 'a' });
  const b = new Telemetry({ fleet: store(), pop: 'b' });
  const record = (t: Telemetry, ms: number) => t.recordPrediction({ label: 'ham', model: { name: 'm', version: '1' }, tier: 'edge', degraded: false, cached: false, timings: { totalMs: ms } });
  for (let i = 0; i < 3; i++) record(a, 5);
  for (let i = 0; i < 4; i++) record(b, 50);
  const flushed = [await a.flush(), await b.flush()];
  const reader = new Telemetry({ fleet: store(), pop: 'reader' });
  const snapshot = await reader.fleetSnapshot(2);
  return JSON.stringify({ flushed, scope: snapshot.scope, isolates: snapshot.isolates, predictions: snapshot.total.sum('edgeinfer_predictions_total'), max: snapshot.total.sketch('edgeinfer_latency_ms').quantile(1) });
};
