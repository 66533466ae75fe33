// OTLP/HTTP JSON push to a collector stand-in (node:http on loopback that records what it
// receives): the ExportMetricsServiceRequest carries the isolate's counters as cumulative
// sums and its sketches as summaries with the right values; a failing collector is counted,
// never thrown, and pushes are throttled.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Telemetry } from '../../../core/telemetry/telemetry.ts';

interface Received {
  path: string;
  contentType: string | undefined;
  authorization: string | undefined;
  body: {
    resourceMetrics: Array<{
      resource: { attributes: Array<{ key: string; value: { stringValue: string } }> };
      scopeMetrics: Array<{ metrics: Array<{ name: string; unit?: string; sum?: { aggregationTemporality: number; isMonotonic: boolean; dataPoints: Array<{ attributes: Array<{ key: string; value: { stringValue: string } }>; asDouble: number; startTimeUnixNano: string; timeUnixNano: string }> }; summary?: { dataPoints: Array<{ count: string; sum: number; quantileValues: Array<{ quantile: number; value: number }> }> } }> }>;
    }>;
  };
}

let server: Server;
let url: string;
const received: Received[] = [];
let failNext = false;

beforeAll(async () => {
  server = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      if (failNext) {
        failNext = false;
        res.writeHead(503).end();
        return;
      }
      received.push({ path: req.url ?? '', contentType: req.headers['content-type'], authorization: req.headers.authorization, body: JSON.parse(text) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/metrics`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('OTLP/HTTP JSON push', () => {
  it('pushes cumulative sums and summaries with the recorded values, throttled to everyMs', async () => {
    let now = 1_700_000_000_000;
    const telemetry = new Telemetry({ now: () => now, otlp: { url, headers: { authorization: 'Bearer collector' }, everyMs: 30_000 }, pop: 'fra1' });
    const background: Array<Promise<unknown>> = [];
    for (let i = 1; i <= 10; i++) {
      telemetry.recordPrediction({ label: i % 2 ? 'ham' : 'spam', model: { name: 'spam-edge', version: '1' }, tier: 'edge', degraded: false, cached: false, timings: { inferMs: 0.1, totalMs: i } });
      telemetry.recordResponse(200);
      telemetry.afterResponse((p) => void background.push(p));
      now += 1_000;
    }
    await Promise.all(background);
    // Ten responses within 30 s: one push (the first).
    expect(received).toHaveLength(1);
    now += 30_000;
    telemetry.afterResponse((p) => void background.push(p));
    await Promise.all(background);
    expect(received).toHaveLength(2);
    const last = received[1] as Received;
    expect(last.path).toBe('/v1/metrics');
    expect(last.contentType).toBe('application/json');
    expect(last.authorization).toBe('Bearer collector');
    const resource = Object.fromEntries(last.body.resourceMetrics[0]!.resource.attributes.map((a) => [a.key, a.value.stringValue]));
    expect(resource['service.name']).toBe('edgeinfer');
    expect(resource['service.instance.id']).toMatch(/^fra1\//);
    const metrics = last.body.resourceMetrics[0]!.scopeMetrics[0]!.metrics;
    const predictions = metrics.find((m) => m.name === 'edgeinfer_predictions_total')?.sum;
    expect(predictions?.aggregationTemporality).toBe(2);
    expect(predictions?.isMonotonic).toBe(true);
    const spam = predictions?.dataPoints.find((p) => p.attributes.some((a) => a.key === 'label' && a.value.stringValue === 'spam'));
    expect(spam?.asDouble).toBe(5);
    expect(spam?.startTimeUnixNano).toBe('1700000000000000000');
    expect(BigInt(spam?.timeUnixNano as string)).toBe(BigInt(now) * 1_000_000n);
    const latency = metrics.find((m) => m.name === 'edgeinfer_latency');
    expect(latency?.unit).toBe('ms');
    const point = latency?.summary?.dataPoints[0];
    expect(point?.count).toBe('10');
    expect(point?.sum).toBe(55);
    const p99 = point?.quantileValues.find((q) => q.quantile === 0.99)?.value as number;
    // DDSketch ranks at q × (n − 1): the 9th of 1..10 ms, within its 1 % accuracy.
    expect(Math.abs(p99 - 9) / 9).toBeLessThanOrEqual(0.01);
    expect(telemetry.pushes).toBe(2);
  });

  it('a failing or unreachable collector is counted, never thrown', async () => {
    failNext = true;
    const failing = new Telemetry({ otlp: { url } });
    failing.recordResponse(200);
    expect(await failing.push()).toBe(false);
    const unreachable = new Telemetry({ otlp: { url: 'http://127.0.0.1:9/v1/metrics', timeoutMs: 500 } });
    expect(await unreachable.push()).toBe(false);
    expect([failing.pushFailures, unreachable.pushFailures]).toEqual([1, 1]);
  });
});
