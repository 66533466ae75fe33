// The numbers the dashboard shows, computed from metrics windows: per window (the time
// series) and over the whole range (the tiles). Shared by the HTML page and its JSON twin.
import type { RolloutStatus } from '../rollout/rollout.ts';
import { type MetricsWindow, parseSeries } from './metrics-window.ts';

/** One point of the time series, or the totals. */
export interface DashboardPoint {
  start: number;
  end: number;
  predictions: number;
  requests: number;
  errors: number;
  /** Latency quantiles of predictions, ms (null when there were none). */
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** Share of predictions answered by the cache (0..1), share that escalated, share degraded. */
  cacheHitRatio: number | null;
  escalationRate: number | null;
  degradedRate: number | null;
  costPer1kUsd: number | null;
}

/** Everything the page draws. */
export interface DashboardData {
  scope: 'fleet' | 'isolate';
  isolates: number;
  windowMs: number;
  totals: DashboardPoint;
  series: DashboardPoint[];
  /** `model@version` → label → count. */
  labels: Record<string, Record<string, number>>;
  /** Rollout arms: traffic share and canary state (this isolate), requests, errors, p99 and shadow agreement (the scope's windows). */
  rollout: RolloutArm[];
}

/** One arm of a rollout as the dashboard shows it. */
export interface RolloutArm {
  model: string;
  version: string;
  /** Share of traffic in this isolate (0..1). */
  weight: number;
  /** running | held | rolled_back | promoted for the canary, baseline for its baseline, absent otherwise. */
  role?: string;
  reason?: string;
  requests: number;
  errorRate: number | null;
  p99Ms: number | null;
  /** For a shadow version: share of shadowed answers that agreed with the served one. */
  shadowAgreement?: number | null;
}

/** Rollout arms from the metrics (any scope) and this isolate's rollout status. */
export function rolloutArms(window: MetricsWindow, status: readonly RolloutStatus[]): RolloutArm[] {
  const arms: RolloutArm[] = [];
  for (const s of status) {
    const total = Object.values(s.weights).reduce((a, b) => a + b, 0) || 1;
    const versions = new Set([...Object.keys(s.weights), ...(s.shadow ? [s.shadow.version] : [])]);
    for (const version of versions) {
      const requests = window.sum('edgeinfer_rollout_requests_total', { model: s.model, version });
      const errors = window.sum('edgeinfer_rollout_requests_total', { model: s.model, version, outcome: 'error' });
      const latency = window.sketch('edgeinfer_rollout_latency_ms', { model: s.model, version });
      const arm: RolloutArm = { model: s.model, version, weight: (Object.hasOwn(s.weights, version) ? (s.weights[version] as number) : 0) / total, requests, errorRate: requests ? errors / requests : null, p99Ms: latency.count ? latency.quantile(0.99) : null };
      if (s.canary?.version === version) {
        arm.role = s.canary.state;
        if (s.canary.reason) arm.reason = s.canary.reason;
      } else if (s.canary?.baseline === version) arm.role = 'baseline';
      if (s.shadow?.version === version) {
        const agree = window.sum('edgeinfer_shadow_total', { model: s.model, version, result: 'agree' });
        const shadowed = window.sum('edgeinfer_shadow_total', { model: s.model, version });
        arm.role ??= 'shadow';
        arm.shadowAgreement = shadowed ? agree / shadowed : null;
      }
      arms.push(arm);
    }
  }
  return arms;
}

/** The tile and chart numbers of one window. */
export function dashboardPoint(window: MetricsWindow): DashboardPoint {
  const predictions = window.sum('edgeinfer_predictions_total');
  const latency = window.sketch('edgeinfer_latency_ms');
  const rate = (n: number) => (predictions > 0 ? n / predictions : null);
  const q = (p: number) => (latency.count > 0 ? latency.quantile(p) : null);
  return {
    start: window.start,
    end: window.end,
    predictions,
    requests: window.sum('edgeinfer_requests_total'),
    errors: window.sum('edgeinfer_errors_total'),
    p50: q(0.5),
    p95: q(0.95),
    p99: q(0.99),
    cacheHitRatio: rate(window.sum('edgeinfer_predictions_total', { path: 'cache_hit' })),
    escalationRate: rate(window.sum('edgeinfer_predictions_total', { path: 'escalated' })),
    degradedRate: rate(window.sum('edgeinfer_degraded_total')),
    costPer1kUsd: predictions > 0 ? (window.sum('edgeinfer_cost_usd_total') / predictions) * 1000 : null,
  };
}

/** Label counts per model version, from the predictions counter. */
export function labelDistribution(window: MetricsWindow): Record<string, Record<string, number>> {
  // Null prototypes: model names and labels come from files and the regional tier ("__proto__", "constructor").
  const out = Object.create(null) as Record<string, Record<string, number>>;
  for (const [series, count] of window.counters) {
    if (!series.startsWith('edgeinfer_predictions_total{')) continue;
    const { labels } = parseSeries(series);
    const arm = `${labels.model}@${labels.version}`;
    const counts = (out[arm] ??= Object.create(null) as Record<string, number>);
    const label = labels.label ?? '';
    counts[label] = (counts[label] ?? 0) + count;
  }
  return out;
}

/** The dashboard's data from a snapshot. */
export function dashboardData(
  snapshot: { total: MetricsWindow; windows: MetricsWindow[]; scope: 'fleet' | 'isolate'; isolates: number },
  windowMs: number,
  rollout: readonly RolloutStatus[] = [],
): DashboardData {
  return {
    scope: snapshot.scope,
    isolates: snapshot.isolates,
    windowMs,
    totals: dashboardPoint(snapshot.total),
    series: snapshot.windows.map(dashboardPoint),
    labels: labelDistribution(snapshot.total),
    rollout: rolloutArms(snapshot.total, rollout),
  };
}
