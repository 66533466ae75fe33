// Prometheus text exposition (format 0.0.4) of a metrics window: counters as they are,
// latency sketches as summaries in seconds, Prometheus' base unit (p50, p90, p95, p99,
// p99.9 plus _sum and _count; windows keep milliseconds), and the derived cost per 1k
// predictions as a gauge. `promtool check metrics` accepts it without lint findings.
import { type MetricsWindow, parseSeries, seriesKey } from './metrics-window.ts';

/** The content type Prometheus scrapers expect for this text. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const HELP: Record<string, [type: 'counter' | 'summary' | 'gauge', help: string]> = {
  edgeinfer_requests_total: ['counter', 'HTTP responses by status code.'],
  edgeinfer_errors_total: ['counter', 'Error responses by error code.'],
  edgeinfer_predictions_total: ['counter', 'Predictions by served model, version, label and path (cache_hit, edge, escalated).'],
  edgeinfer_prediction_latency_seconds: ['summary', 'Prediction latency at the edge in seconds (DDSketch, 1% relative accuracy).'],
  edgeinfer_stage_duration_seconds: ['summary', 'Duration of each request stage in seconds (as in Server-Timing).'],
  edgeinfer_cache_hits_total: ['counter', 'Predictions answered from the cache, by level.'],
  edgeinfer_cache_misses_total: ['counter', 'Predictions the cache did not answer.'],
  edgeinfer_cache_l2_total: ['counter', 'What the L2 (Redis) cache did per prediction: hit, miss, not_asked, or why it was skipped.'],
  edgeinfer_escalations_total: ['counter', 'Regional calls by cause and outcome.'],
  edgeinfer_degraded_total: ['counter', 'Degraded answers (edge answer where the regional one was wanted) by reason.'],
  edgeinfer_cost_usd_total: ['counter', 'Attributed cost of predictions in US dollars (list prices, core/cache/price-table.ts), by path.'],
  edgeinfer_cost_per_1k_predictions_usd: ['gauge', 'Attributed cost of 1,000 predictions in US dollars, by path and overall ("all").'],
  edgeinfer_rollout_requests_total: ['counter', 'Requests per rollout arm (model version) by outcome (error = the version failed to serve).'],
  edgeinfer_rollout_latency_seconds: ['summary', 'Request latency per rollout arm in seconds (DDSketch, 1% relative accuracy).'],
  edgeinfer_shadow_total: ['counter', 'Shadow answers by candidate version and result (agree, disagree, error).'],
};

const QUANTILES = [0.5, 0.9, 0.95, 0.99, 0.999];

/** Sketch series (milliseconds inside windows) → exported summary name (seconds). */
const SUMMARY_NAMES: Record<string, string> = {
  edgeinfer_latency_ms: 'edgeinfer_prediction_latency_seconds',
  edgeinfer_stage_ms: 'edgeinfer_stage_duration_seconds',
  edgeinfer_rollout_latency_ms: 'edgeinfer_rollout_latency_seconds',
};

/** Renders a window (an isolate's total, or the fleet's merge) as Prometheus text; `extra` lines are appended as they are. */
export function renderPrometheus(window: MetricsWindow, extra: string[] = []): string {
  const byName = new Map<string, string[]>();
  const add = (name: string, line: string) => {
    let lines = byName.get(name);
    if (!lines) byName.set(name, (lines = []));
    lines.push(line);
  };
  for (const [series, value] of [...window.counters].sort(([a], [b]) => (a < b ? -1 : 1))) add(parseSeries(series).name, `${series} ${formatNumber(value)}`);
  for (const [series, sketch] of [...window.sketches].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const parsed = parseSeries(series);
    const name = (Object.hasOwn(SUMMARY_NAMES, parsed.name) ? SUMMARY_NAMES[parsed.name] : undefined) ?? parsed.name;
    const scale = name === parsed.name ? 1 : 1 / 1000;
    for (const q of QUANTILES) add(name, `${seriesKey(name, { ...parsed.labels, quantile: q })} ${formatNumber(sketch.quantile(q) * scale)}`);
    const suffix = series.slice(parsed.name.length);
    add(name, `${name}_sum${suffix} ${formatNumber(sketch.sum * scale)}`);
    add(name, `${name}_count${suffix} ${formatNumber(sketch.count)}`);
  }
  const predictions = window.sum('edgeinfer_predictions_total');
  if (predictions > 0) {
    add('edgeinfer_cost_per_1k_predictions_usd', `edgeinfer_cost_per_1k_predictions_usd{path="all"} ${formatNumber((window.sum('edgeinfer_cost_usd_total') / predictions) * 1000)}`);
    for (const path of ['cache_hit', 'edge', 'escalated']) {
      const n = window.sum('edgeinfer_predictions_total', { path });
      if (n > 0) add('edgeinfer_cost_per_1k_predictions_usd', `edgeinfer_cost_per_1k_predictions_usd{path="${path}"} ${formatNumber((window.sum('edgeinfer_cost_usd_total', { path }) / n) * 1000)}`);
    }
  }
  const out: string[] = [];
  for (const [name, lines] of byName) {
    // Own keys only: a series named "constructor" (a forged fleet entry) is untyped, not Object.
    const [type, help] = (Object.hasOwn(HELP, name) ? HELP[name] : undefined) ?? ['untyped', name];
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
  }
  return [...out, ...extra].join('\n') + '\n';
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf';
  return String(value);
}
