// Optional push of an isolate's metrics to an OpenTelemetry collector over OTLP/HTTP with
// JSON encoding (POST {collector}/v1/metrics, ExportMetricsServiceRequest as the protobuf
// JSON mapping: 64-bit integers as strings, enums as numbers). Counters go as cumulative
// monotonic sums, latency sketches as summaries (count, sum, quantiles) in milliseconds.
import { type MetricsWindow, parseSeries } from './metrics-window.ts';

/** Where and how to push. */
export interface OtlpOptions {
  /** The collector's metrics endpoint, e.g. http://collector:4318/v1/metrics. */
  url: string;
  headers?: Record<string, string>;
  /** Minimum time between two pushes of one isolate, ms (default 30 s). */
  everyMs?: number;
  /** Time allowed for one push, ms (default 2 s); it runs after responses. */
  timeoutMs?: number;
}

type Attribute = { key: string; value: { stringValue: string } };

const AGGREGATION_TEMPORALITY_CUMULATIVE = 2;
const QUANTILES = [0.5, 0.9, 0.95, 0.99, 0.999];

function attributes(labels: Record<string, string>): Attribute[] {
  return Object.entries(labels).map(([key, value]) => ({ key, value: { stringValue: value } }));
}

function nanos(ms: number): string {
  return `${BigInt(Math.round(ms)) * 1_000_000n}`;
}

/** The ExportMetricsServiceRequest for a window (cumulative since `startMs`). */
export function toOtlpJson(window: MetricsWindow, resource: Record<string, string>, startMs: number, nowMs: number): unknown {
  const start = nanos(startMs);
  const time = nanos(nowMs);
  const sums = new Map<string, unknown[]>();
  for (const [series, value] of window.counters) {
    const { name, labels } = parseSeries(series);
    let points = sums.get(name);
    if (!points) sums.set(name, (points = []));
    points.push({ attributes: attributes(labels), startTimeUnixNano: start, timeUnixNano: time, asDouble: value });
  }
  const summaries = new Map<string, unknown[]>();
  for (const [series, sketch] of window.sketches) {
    const { name, labels } = parseSeries(series);
    let points = summaries.get(name);
    if (!points) summaries.set(name, (points = []));
    points.push({
      attributes: attributes(labels),
      startTimeUnixNano: start,
      timeUnixNano: time,
      count: String(sketch.count),
      sum: sketch.sum,
      quantileValues: QUANTILES.map((quantile) => ({ quantile, value: sketch.quantile(quantile) })),
    });
  }
  const metrics = [
    ...[...sums].map(([name, dataPoints]) => ({ name, sum: { dataPoints, aggregationTemporality: AGGREGATION_TEMPORALITY_CUMULATIVE, isMonotonic: true } })),
    ...[...summaries].map(([name, dataPoints]) => ({ name: name.replace(/_ms$/, ''), unit: 'ms', summary: { dataPoints } })),
  ];
  return {
    resourceMetrics: [{ resource: { attributes: attributes(resource) }, scopeMetrics: [{ scope: { name: 'edgeinfer', version: '0.1.0' }, metrics }] }],
  };
}

/** POSTs one request body to the collector; rejects on a non-2xx answer or after the timeout. */
export async function pushOtlp(options: OtlpOptions, body: unknown): Promise<void> {
  const response = await fetch(options.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(options.timeoutMs ?? 2_000),
  });
  // Read the body so the connection can be reused.
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`OTLP collector answered ${response.status}`);
}
