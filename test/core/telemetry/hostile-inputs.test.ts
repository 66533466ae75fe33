// Issue #17 item 6: telemetry must not trust its inputs. Labels invented by a regional tier are
// bounded (64 per model version, the rest "(other)"); entries forged into the fleet store are
// validated and size-checked before merging, skipped and counted, and never reach /metrics as
// injected lines, never make a read fail, never allocate without bound.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { dashboardData } from '../../../core/telemetry/dashboard-data.ts';
import { renderDashboard } from '../../../core/telemetry/dashboard-html.ts';
import type { FleetStore } from '../../../core/telemetry/fleet-store.ts';
import { MetricsWindow, OVERFLOW_LABEL } from '../../../core/telemetry/metrics-window.ts';
import { renderPrometheus } from '../../../core/telemetry/prometheus.ts';
import { Telemetry, type PredictionRecord } from '../../../core/telemetry/telemetry.ts';

const record = (label: string, name = 'hostile-tier'): PredictionRecord => ({
  label,
  model: { name, version: '1' },
  tier: 'regional',
  degraded: false,
  cached: false,
  timings: { totalMs: 3 },
});

/** A fleet store holding scripted entries for every window (what redis-cli HSET could leave there). */
function forgedStore(entries: Record<string, string>): FleetStore {
  return { write: async () => {}, read: async (starts) => starts.map(() => ({ ...entries })) };
}

describe('telemetry label bounds', () => {
  it('4,800 distinct labels from one model version keep at most 64 series; the rest count as "(other)" and the dashboard renders', () => {
    const telemetry = new Telemetry({ now: () => 5_000 });
    for (let i = 0; i < 4_800; i++) telemetry.recordPrediction(record(`label-${i}`));
    // And a 2 MB label: never kept as a series name.
    telemetry.recordPrediction(record('x'.repeat(2_000_000)));
    const { total } = telemetry.snapshot();
    const series = [...total.counters.keys()].filter((k) => k.startsWith('edgeinfer_predictions_total{'));
    expect(series.length).toBeLessThanOrEqual(64);
    expect(Math.max(...series.map((k) => k.length))).toBeLessThan(400);
    expect(total.sum('edgeinfer_predictions_total')).toBe(4_801);
    expect(total.sum('edgeinfer_predictions_total', { label: OVERFLOW_LABEL })).toBe(4_801 - 63);
    expect(telemetry.labelOverflows()).toBe(4_801 - 63);
    const data = dashboardData({ ...telemetry.snapshot(), scope: 'isolate', isolates: 1 }, telemetry.windowMs);
    expect(Object.keys(data.labels['hostile-tier@1'] as object).length).toBe(64);
    expect(renderDashboard(data).length).toBeLessThan(200_000);
  });

  it('labels named like Object.prototype members are counted as labels', () => {
    const telemetry = new Telemetry({ now: () => 5_000 });
    for (const label of ['__proto__', 'constructor', 'toString']) telemetry.recordPrediction(record(label, 'proto-model'));
    const data = dashboardData({ ...telemetry.snapshot(), scope: 'isolate', isolates: 1 }, telemetry.windowMs);
    const counts = data.labels['proto-model@1'] as Record<string, number>;
    expect(Object.keys(counts).sort()).toEqual(['__proto__', 'constructor', 'toString']);
    expect(counts.__proto__).toBe(1);
  });
});

describe('fleet entries forged into the store', () => {
  const good = new MetricsWindow(0, 60_000);
  good.inc('edgeinfer_requests_total{status="200"}', 7);
  good.observe('edgeinfer_latency_ms{model="m",version="1",path="edge"}', 2);
  const goodJson = JSON.stringify(good.toJSON());
  const sketch = (over: Record<string, unknown>) => ({ a: 0.01, n: 1, sum: 1, min: 1, max: 1, zero: 0, k0: 0, bins: [1], ...over });
  const window = (counters: Record<string, unknown>, sketches: Record<string, unknown> = {}) => JSON.stringify({ v: 1, start: 0, end: 60_000, counters, sketches });
  const forged: Record<string, string> = {
    'evil/injection': window({ 'x_total 1\nevil_injected_metric 9\nedgeinfer_requests_total': 1 }),
    'evil/label-injection': window({ 'edgeinfer_errors_total{code="a"} 1\nevil_injected_metric{x="1"}': 1 }),
    'evil/accuracy': window({}, { 'edgeinfer_latency_ms{model="m",version="1",path="edge"}': sketch({ a: 0.05 }) }),
    'evil/k0': window({}, { 'edgeinfer_latency_ms{model="m",version="1",path="edge"}': sketch({ k0: 1e8 }) }),
    'evil/bins': window({}, { 'edgeinfer_stage_ms{stage="x"}': sketch({ bins: new Array(100_000).fill(1) }) }),
    'evil/negative': window({ 'edgeinfer_requests_total{status="200"}': -1e9 }),
    'evil/not-json': '{"v":1,',
    'evil/huge': 'x'.repeat(1_000_001),
    'good/isolate': goodJson,
  };

  it('skips and counts each bad entry; the good one is merged; /metrics has no injected line and parses', async () => {
    const telemetry = new Telemetry({ fleet: forgedStore(forged), windowMs: 60_000, historyWindows: 1, now: () => 30_000 });
    const started = performance.now();
    const fleet = await telemetry.fleetSnapshot();
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(fleet.scope).toBe('fleet');
    expect(fleet.isolates).toBe(1);
    expect(telemetry.fleetEntriesSkipped).toBe(8);
    expect(fleet.total.sum('edgeinfer_requests_total', { status: '200' })).toBe(7);
    const text = renderPrometheus(fleet.total);
    expect(text).not.toMatch(/evil_injected_metric/);
    expect(() => parsePrometheusTextFormat(text)).not.toThrow();
    expect(() => dashboardData(fleet, telemetry.windowMs)).not.toThrow();
  });

  it('MetricsWindow.fromJSON refuses each forgery by itself', () => {
    for (const [member, json] of Object.entries(forged)) {
      if (member.startsWith('good') || member === 'evil/huge' || member === 'evil/not-json') continue;
      expect(() => MetricsWindow.fromJSON(JSON.parse(json)), member).toThrow();
    }
    expect(MetricsWindow.fromJSON(JSON.parse(goodJson)).counters.get('edgeinfer_requests_total{status="200"}')).toBe(7);
  });
});
