// Benchmark (not a test): what telemetry costs and how well merged sketches answer.
//  1. Per request, side by side in one run: warm in-process POST /v1/predict with telemetry
//     on and off (services over the same models, cache off, default cascade with the
//     in-process regional tier), interleaved message by message in rotating order so machine
//     noise hits all; a second telemetry-off service gives the A/A noise floor.
//  2. The recording itself: recordPrediction + recordResponse in a loop over realistic
//     records (labels, paths, stage timings), nanoseconds per request.
//  3. Sketch merge accuracy: N "PoPs" of log-normal latencies with different medians, each
//     sketch shipped as JSON and merged; worst relative value error and rank error of
//     p50/p90/p95/p99/p99.9 against the exact quantiles of all samples; serialised size.
// Usage: npx tsx bench/telemetry.ts [--messages N] [--rounds R] [--pops P] [--per-pop S]
// Last line: one JSON object.
import { parseArgs } from 'node:util';
import { createLocalService } from '../adapters/node/local-service.ts';
import { LatencySketch } from '../core/telemetry/sketch.ts';
import { Telemetry, type PredictionRecord } from '../core/telemetry/telemetry.ts';
import { loadSplits } from '../models/training/dataset.ts';
import { machineLine, summarize, type Summary } from './stats.ts';
import { seededRandom } from '../models/training/prng.ts';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '5' },
    pops: { type: 'string', default: '50' },
    'per-pop': { type: 'string', default: '20000' },
  },
});
const messageCount = Number(values.messages);
const rounds = Number(values.rounds);
const pops = Number(values.pops);
const perPop = Number(values['per-pop']);

console.log(await machineLine());

// --- 1. handler with telemetry on vs off -------------------------------------------------
const texts = loadSplits()
  .test.filter((m) => m.text.length < 30_000)
  .slice(0, messageCount)
  .map((m) => m.text);
const bodies = texts.map((text) => JSON.stringify({ text }));

async function handlerComparison(): Promise<{ on: Summary; off: Summary; offAgain: Summary; p50Ratio: number; p50DeltaUs: number; noiseFloorP50DeltaUs: number }> {
  const common = { cache: { EDGEINFER_CACHE_POLICY: 'off' } } as const;
  const on = createLocalService({ ...common });
  const off = createLocalService({ ...common, telemetry: false });
  const offAgain = createLocalService({ ...common, telemetry: false });
  await Promise.all([on.warm(), off.warm(), offAgain.warm()]);
  const run = async (service: typeof on, body: string) => {
    const t0 = performance.now();
    const response = await service.fetch(new Request('http://bench.local/v1/predict', { method: 'POST', body, headers: { 'content-type': 'application/json' } }));
    await response.text();
    if (response.status !== 200) throw new Error(`handler answered ${response.status}`);
    return (performance.now() - t0) * 1000;
  };
  const services = [on, off, offAgain];
  const samples: number[][] = [[], [], []];
  for (const body of bodies.slice(0, 50)) for (const service of services) await run(service, body);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < bodies.length; i++) {
      // Rotate which goes first, so none always gets the warmer caches.
      for (let k = 0; k < 3; k++) {
        const which = (i + r + k) % 3;
        samples[which]?.push(await run(services[which] as typeof on, bodies[i] as string));
      }
    }
  }
  await Promise.all(services.map((s) => s.close()));
  const [a, b, c] = samples.map((s) => summarize(s)) as [Summary, Summary, Summary];
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return { on: a, off: b, offAgain: c, p50Ratio: round(a.p50 / b.p50), p50DeltaUs: round(a.p50 - b.p50), noiseFloorP50DeltaUs: round(c.p50 - b.p50) };
}

// --- 2. recording cost ----------------------------------------------------------------------
function recordingCost(): { nsPerRequest: Summary; windowsSeries: number } {
  const records: PredictionRecord[] = [];
  for (let i = 0; i < 1_000; i++) {
    const path = i % 10;
    records.push({
      label: i % 3 ? 'ham' : 'spam',
      model: path === 9 ? { name: 'spam-regional', version: '1' } : { name: 'spam-edge', version: '1' },
      tier: path === 9 ? 'regional' : 'edge',
      degraded: false,
      cached: path < 3,
      cache: { level: path < 3 ? 'l1' : null, l2: 'not_asked' },
      ...(path === 9 ? { escalation: { cause: 'not_confident', outcome: 'ok', ms: 18 + (i % 7) } } : {}),
      timings: { parseMs: 0.02, hashMs: 0.01, preprocessMs: 0.05, inferMs: 0.03 + (i % 13) / 1000, totalMs: 0.2 + (i % 17) / 10 },
    });
  }
  const telemetry = new Telemetry();
  const perBatch: number[] = [];
  for (let warm = 0; warm < 20; warm++) for (const r of records) telemetry.recordPrediction(r);
  for (let batch = 0; batch < 200; batch++) {
    const t0 = performance.now();
    for (const r of records) {
      telemetry.recordPrediction(r);
      telemetry.recordResponse(200);
    }
    perBatch.push(((performance.now() - t0) * 1e6) / records.length);
  }
  const { total } = telemetry.snapshot();
  return { nsPerRequest: summarize(perBatch, 1), windowsSeries: total.counters.size + total.sketches.size };
}

// --- 3. sketch merge accuracy ---------------------------------------------------------------
const mulberry32 = seededRandom;

function mergeAccuracy() {
  const random = mulberry32(2026);
  const all = new Float64Array(pops * perPop);
  const merged = new LatencySketch();
  let k = 0;
  let jsonBytes = 0;
  const popP99: number[] = [];
  for (let pop = 0; pop < pops; pop++) {
    const sketch = new LatencySketch();
    const median = 1 + (pop % 25) * 3;
    for (let i = 0; i < perPop; i++) {
      const normal = Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
      const ms = median * Math.exp(0.7 * normal) + (random() < 0.02 ? 250 * random() : 0);
      sketch.add(ms);
      all[k++] = ms;
    }
    popP99.push(sketch.quantile(0.99));
    const json = JSON.stringify(sketch.toJSON());
    jsonBytes += json.length;
    merged.merge(LatencySketch.fromJSON(JSON.parse(json)));
  }
  all.sort();
  const rankOf = (v: number) => {
    let lo = 0;
    let hi = all.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((all[mid] as number) <= v) lo = mid + 1;
      else hi = mid;
    }
    return lo / all.length;
  };
  const quantiles: Record<string, { exact: number; merged: number; relError: number; rankError: number }> = {};
  for (const q of [0.5, 0.9, 0.95, 0.99, 0.999]) {
    const exact = all[Math.ceil(q * all.length) - 1] as number;
    const estimate = merged.quantile(q);
    quantiles[String(q)] = {
      exact: Math.round(exact * 1000) / 1000,
      merged: Math.round(estimate * 1000) / 1000,
      relError: Math.round((Math.abs(estimate - exact) / exact) * 1e5) / 1e5,
      rankError: Math.round(Math.abs(rankOf(estimate) - q) * 1e5) / 1e5,
    };
  }
  const averagedP99 = popP99.reduce((a, b) => a + b, 0) / popP99.length;
  const exactP99 = quantiles['0.99']?.exact as number;
  return {
    pops,
    samples: all.length,
    quantiles,
    maxRelError: Math.max(...Object.values(quantiles).map((v) => v.relError)),
    maxRankError: Math.max(...Object.values(quantiles).map((v) => v.rankError)),
    meanJsonBytesPerSketch: Math.round(jsonBytes / pops),
    averageOfPopP99: Math.round(averagedP99 * 1000) / 1000,
    averageOfPopP99RelError: Math.round((Math.abs(averagedP99 - exactP99) / exactP99) * 1e4) / 1e4,
  };
}

const handler = await handlerComparison();
console.log(`handler, ${bodies.length} messages × ${rounds} rounds (µs per request): telemetry on p50 ${handler.on.p50} p99 ${handler.on.p99}; off p50 ${handler.off.p50} p99 ${handler.off.p99}; p50 ratio ${handler.p50Ratio} (Δ ${handler.p50DeltaUs} µs; A/A noise floor, off vs off: Δ ${handler.noiseFloorP50DeltaUs} µs)`);
const recording = recordingCost();
console.log(`recording (recordPrediction + recordResponse): p50 ${recording.nsPerRequest.p50} ns, p99 ${recording.nsPerRequest.p99} ns per request (${recording.windowsSeries} series)`);
const accuracy = mergeAccuracy();
console.log(
  `sketch merge over ${accuracy.pops} PoPs (${accuracy.samples} samples): max relative error ${accuracy.maxRelError}, max rank error ${accuracy.maxRankError}; ` +
    `average of per-PoP p99s would be ${accuracy.averageOfPopP99} ms vs exact ${accuracy.quantiles['0.99']?.exact} ms (${(accuracy.averageOfPopP99RelError * 100).toFixed(1)}% off); ${accuracy.meanJsonBytesPerSketch} bytes of JSON per sketch`,
);
console.log(JSON.stringify({ bench: 'telemetry', handler, recording, accuracy }));
