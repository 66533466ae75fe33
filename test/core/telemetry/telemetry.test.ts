// Telemetry after a scripted sequence of predictions and responses: counters, label
// distribution per model version, cache and escalation counts, cost by path, windows over
// time, and the Prometheus text read back by a real parser.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PRICE_TABLE, priceTableFor, regionalCallUsd } from '../../../core/cache/price-table.ts';
import { predictionCostUsd } from '../../../core/telemetry/cost.ts';
import { MetricsWindow } from '../../../core/telemetry/metrics-window.ts';
import { renderPrometheus } from '../../../core/telemetry/prometheus.ts';
import { Telemetry, type PredictionRecord } from '../../../core/telemetry/telemetry.ts';
import { promtoolAvailable, promtoolCheck } from '../../helpers/promtool.ts';

const hasPromtool = promtoolAvailable('Prometheus exposition checked by promtool');

const edge = { name: 'spam-edge', version: '1' };
const edge2 = { name: 'spam-edge', version: '2' };
const regional = { name: 'spam-regional', version: '1' };

function prediction(overrides: Partial<PredictionRecord>): PredictionRecord {
  return { label: 'ham', model: edge, tier: 'edge', degraded: false, cached: false, cache: { level: null, l2: 'not_asked' }, timings: { inferMs: 0.05, totalMs: 1 }, ...overrides };
}

/** 10 predictions: 5 confident edge (3 ham, 2 spam; one on version 2), 2 L1 hits, 2 escalated (one ok, one timeout), 1 circuit_open. */
function scripted(telemetry: Telemetry): void {
  for (const label of ['ham', 'ham', 'spam', 'spam']) telemetry.recordPrediction(prediction({ label, timings: { inferMs: 0.05, totalMs: 2 } }));
  telemetry.recordPrediction(prediction({ model: edge2, label: 'ham', timings: { totalMs: 2 } }));
  for (let i = 0; i < 2; i++) telemetry.recordPrediction(prediction({ label: 'spam', cached: true, cache: { level: 'l1', l2: 'not_asked' }, timings: { totalMs: 0.5 } }));
  telemetry.recordPrediction(
    prediction({ model: regional, tier: 'regional', label: 'spam', escalation: { cause: 'not_confident', outcome: 'ok', ms: 19.2 }, cache: { level: null, l2: 'miss' }, timings: { regionalMs: 19.2, totalMs: 21 } }),
  );
  telemetry.recordPrediction(
    prediction({ degraded: true, reason: 'timeout', escalation: { cause: 'not_confident', outcome: 'timeout', ms: 250 }, timings: { regionalMs: 250, totalMs: 251 } }),
  );
  telemetry.recordPrediction(prediction({ degraded: true, reason: 'circuit_open', escalation: { cause: 'not_confident', outcome: 'circuit_open', ms: 0 }, timings: { totalMs: 1 } }));
  for (let i = 0; i < 10; i++) telemetry.recordResponse(200);
  telemetry.recordResponse(400, 'invalid_json');
  telemetry.recordResponse(404, 'model_not_found');
  telemetry.recordResponse(400, 'invalid_json');
}

describe('Telemetry', () => {
  it('counts a scripted sequence: requests, errors by code, labels per version, paths, cache, escalations, degradation', () => {
    const telemetry = new Telemetry({ now: () => 1_000 });
    scripted(telemetry);
    const { total } = telemetry.snapshot();
    expect(total.sum('edgeinfer_requests_total')).toBe(13);
    expect(total.sum('edgeinfer_requests_total', { status: '200' })).toBe(10);
    expect(total.sum('edgeinfer_errors_total', { code: 'invalid_json' })).toBe(2);
    expect(total.sum('edgeinfer_errors_total', { code: 'model_not_found' })).toBe(1);
    expect(total.sum('edgeinfer_predictions_total')).toBe(10);
    expect(total.sum('edgeinfer_predictions_total', { model: 'spam-edge', version: '1', label: 'ham' })).toBe(4);
    expect(total.sum('edgeinfer_predictions_total', { model: 'spam-edge', version: '1', label: 'spam' })).toBe(4);
    expect(total.sum('edgeinfer_predictions_total', { model: 'spam-edge', version: '2' })).toBe(1);
    expect(total.sum('edgeinfer_predictions_total', { model: 'spam-regional' })).toBe(1);
    expect(total.sum('edgeinfer_predictions_total', { path: 'cache_hit' })).toBe(2);
    expect(total.sum('edgeinfer_predictions_total', { path: 'escalated' })).toBe(3);
    expect(total.sum('edgeinfer_predictions_total', { path: 'edge' })).toBe(5);
    expect(total.sum('edgeinfer_cache_hits_total', { level: 'l1' })).toBe(2);
    expect(total.sum('edgeinfer_cache_misses_total')).toBe(8);
    expect(total.sum('edgeinfer_cache_l2_total', { status: 'miss' })).toBe(1);
    expect(total.sum('edgeinfer_escalations_total')).toBe(3);
    expect(total.sum('edgeinfer_escalations_total', { outcome: 'ok' })).toBe(1);
    expect(total.sum('edgeinfer_degraded_total', { reason: 'timeout' })).toBe(1);
    expect(total.sum('edgeinfer_degraded_total', { reason: 'circuit_open' })).toBe(1);
    const latency = total.sketch('edgeinfer_latency_ms');
    expect(latency.count).toBe(10);
    expect(latency.quantile(1)).toBeGreaterThan(250 * 0.99);
    expect(total.sketch('edgeinfer_stage_ms', { stage: 'regional' }).count).toBe(2);
    expect(total.sketch('edgeinfer_stage_ms', { stage: 'infer' }).count).toBe(4);
  });

  it('costs each path from the price table: a hit is the edge invocation, an escalation adds the regional call and Redis', () => {
    const telemetry = new Telemetry({ now: () => 1_000 });
    scripted(telemetry);
    const { total } = telemetry.snapshot();
    const p = DEFAULT_PRICE_TABLE;
    expect(total.sum('edgeinfer_cost_usd_total', { path: 'cache_hit' })).toBeCloseTo(2 * p.edgeRequestUsd, 15);
    expect(total.sum('edgeinfer_cost_usd_total', { path: 'edge' })).toBeCloseTo(5 * p.edgeRequestUsd, 15);
    // ok: 20 ms billed + GET and SET; timeout: 250 ms billed; circuit_open: never called.
    const escalated = 3 * p.edgeRequestUsd + regionalCallUsd(p, 20) + 2 * p.redisCommandUsd + regionalCallUsd(p, 250);
    expect(total.sum('edgeinfer_cost_usd_total', { path: 'escalated' })).toBeCloseTo(escalated, 15);
    // Lambda@Edge also bills duration: 21 ms at 128 MB.
    const lambdaEdge = priceTableFor('lambda-edge');
    expect(predictionCostUsd(lambdaEdge, { totalMs: 20.2, redisCommands: 0 })).toBeCloseTo(0.6e-6 + 0.00005001 * 0.128 * 0.021, 15);
  });

  it('rolls windows over time, keeps history, and the total equals the merge of the windows', () => {
    let now = 0;
    const telemetry = new Telemetry({ windowMs: 1_000, historyWindows: 3, now: () => now });
    for (let second = 0; second < 5; second++) {
      now = second * 1_000 + 10;
      for (let i = 0; i <= second; i++) telemetry.recordPrediction(prediction({ timings: { totalMs: 1 + second } }));
    }
    const { total, windows } = telemetry.snapshot();
    expect(windows.map((w) => w.start)).toEqual([1_000, 2_000, 3_000, 4_000]);
    expect(windows.map((w) => w.sum('edgeinfer_predictions_total'))).toEqual([2, 3, 4, 5]);
    expect(total.sum('edgeinfer_predictions_total')).toBe(15);
    expect(total.sketch('edgeinfer_latency_ms').count).toBe(15);
  });

  it('renders Prometheus text that a real parser reads back (counters, summaries in seconds, cost per 1k)', () => {
    const telemetry = new Telemetry({ now: () => 1_000 });
    scripted(telemetry);
    const text = renderPrometheus(telemetry.snapshot().total);
    const families = parsePrometheusTextFormat(text);
    const family = (name: string) => families.find((f) => f.name === name);
    expect(family('edgeinfer_requests_total')?.type).toBe('COUNTER');
    const predictions = family('edgeinfer_predictions_total')?.metrics ?? [];
    const spamV1Edge = predictions.find((m) => JSON.stringify(m.labels) === JSON.stringify({ model: 'spam-edge', version: '1', label: 'spam', path: 'edge' }));
    expect(spamV1Edge?.value).toBe('2');
    expect(family('edgeinfer_prediction_latency_seconds')?.type).toBe('SUMMARY');
    // This parser folds labelled summaries together; read their lines directly (promtool checks the syntax below).
    const line = (series: string) => Number(text.split('\n').find((l) => l.startsWith(series + ' '))?.slice(series.length + 1));
    const edgeSeries = 'model="spam-edge",version="1",path="edge"';
    expect(line(`edgeinfer_prediction_latency_seconds_count{${edgeSeries}}`)).toBe(4);
    expect(line(`edgeinfer_prediction_latency_seconds_sum{${edgeSeries}}`)).toBeCloseTo(0.008, 12);
    expect(Math.abs(line(`edgeinfer_prediction_latency_seconds{${edgeSeries},quantile="0.99"}`) - 0.002)).toBeLessThan(0.01 * 0.002);
    const cost = family('edgeinfer_cost_per_1k_predictions_usd')?.metrics ?? [];
    const hit = cost.find((m) => m.labels?.path === 'cache_hit');
    expect(Number(hit?.value)).toBeCloseTo(1000 * DEFAULT_PRICE_TABLE.edgeRequestUsd, 12);
    expect(family('edgeinfer_errors_total')?.metrics.find((m) => m.labels?.code === 'invalid_json')?.value).toBe('2');
  });

  it.skipIf(!hasPromtool)('promtool (Prometheus\' own parser and linter) accepts the exposition without findings', () => {
    const telemetry = new Telemetry({ now: () => 1_000 });
    scripted(telemetry);
    telemetry.recordPrediction(prediction({ label: 'we"ird\\label\nx' }));
    const checked = promtoolCheck(renderPrometheus(telemetry.snapshot().total));
    expect(checked.output).toBe('');
    expect(checked.status).toBe(0);
    // And it does reject broken text: the check can fail.
    expect(promtoolCheck('edgeinfer_x{a="1" 1\n').status).not.toBe(0);
  });

  it('label values with quotes, backslashes and newlines are escaped and parse back', () => {
    const window = new MetricsWindow(0, 1);
    const telemetry = new Telemetry({ now: () => 0 });
    telemetry.recordPrediction(prediction({ label: 'we"ird\\label\nx' }));
    window.merge(telemetry.snapshot().total);
    const families = parsePrometheusTextFormat(renderPrometheus(window));
    const labels = families.find((f) => f.name === 'edgeinfer_predictions_total')?.metrics[0]?.labels;
    expect(labels?.label).toBe('we"ird\\label\nx');
  });

  it('windows survive JSON (what goes to Redis) and merge by addition', () => {
    const a = new Telemetry({ now: () => 0 });
    const b = new Telemetry({ now: () => 0 });
    scripted(a);
    scripted(b);
    const merged = MetricsWindow.fromJSON(JSON.parse(JSON.stringify(a.snapshot().total.toJSON())));
    merged.merge(MetricsWindow.fromJSON(JSON.parse(JSON.stringify(b.snapshot().total.toJSON()))));
    expect(merged.sum('edgeinfer_predictions_total')).toBe(20);
    expect(merged.sketch('edgeinfer_latency_ms').count).toBe(20);
    expect(() => MetricsWindow.fromJSON({ v: 2 } as never)).toThrow(/not a serialised metrics window/);
  });
});
