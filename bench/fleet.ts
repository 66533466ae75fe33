// Benchmark (not a test), a planning simulation past one machine: what share of predictions
// a fleet answers within the target (20 ms, server side plus network), at what accuracy and
// cost, for three strategies side by side over the same Zipf traffic (bench/zipf-traffic.ts):
//   always-regional  every request through the edge function to the regional model (no cache)
//   edge-only        the edge model answers everything (cost-aware cache, auto policy)
//   cascade          edge model, unconfident answers to the regional model at the calibrated
//                    threshold, cost-aware cache (auto policy, L1 + Upstash)
// MEASURED here: every request goes through the real handler (createLocalService: the real
// edge model, the real regional model in process, real Redis behind the local Upstash REST
// server); its server-side wall time, which tier answered, L2 GETs, regional calls, Redis
// commands and the corpus label of each answer. MODELLED: the network legs, from the table
// in bench/fleet/latency-model.ts, added per request according to what it did.
// One isolate per PoP and strategy (its own L1 and policy); one Upstash database for all.
// Requests run one at a time, the three strategies interleaved request by request.
// Usage: npm run bench:fleet -- [--requests 100000] [--distinct 10000] [--zipf 1.1] [--seed N]
//        [--mix near=0.4,continent=0.3,far=0.3] [--user-rtt-ms 10] [--invoke-overhead-ms 10]
//        [--example flights [--redis-budget-ms 50]]  (the flights example's June traffic instead: bench/fleet/flights.ts)
// Last line: one JSON object.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis as IoRedis } from 'ioredis';
import { DEFAULT_MODELS_ROOT } from '../adapters/node/fs-model-source.ts';
import { createLocalService } from '../adapters/node/local-service.ts';
import { startUpstashRestServer } from '../adapters/upstash-rest-local/server.ts';
import { perMillion, priceTableFor, regionalCallUsd, type PriceTable } from '../core/cache/price-table.ts';
import type { InferenceService } from '../core/handler.ts';
import { DEFAULT_CASCADE_CONFIG } from '../core/router/cascade.ts';
import type { PredictResponse } from '../core/routes/predict.ts';
import { LABELS } from '../models/training/dataset.ts';
import { createPrng } from '../models/training/prng.ts';
import { DEFAULT_LATENCY_MODEL, modelLatency, popIndexFor, regionalCallMs, withMix, type LatencyModel } from './fleet/latency-model.ts';
import { machineLine, quantile } from './stats.ts';
import { trafficMessages, zipfSequence } from './zipf-traffic.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '100000' },
    distinct: { type: 'string', default: '10000' },
    zipf: { type: 'string', default: '1.1' },
    seed: { type: 'string', default: '20261128' },
    mix: { type: 'string' },
    'user-rtt-ms': { type: 'string' },
    'invoke-overhead-ms': { type: 'string' },
    'warmup-requests': { type: 'string', default: '300' },
    'always-regional-every': { type: 'string', default: '4' },
    example: { type: 'string', default: 'spam' },
    'redis-budget-ms': { type: 'string', default: '50' },
  },
});
if (values.example !== 'spam' && values.example !== 'flights') throw new Error(`--example must be spam or flights, got ${JSON.stringify(values.example)}`);
const REQUESTS = Number(values.requests);
const DISTINCT = Number(values.distinct);
const ZIPF_S = Number(values.zipf);
const SEED = Number(values.seed);
// A Redis database of its own, so clearing keys never touches another bench or test.
const REDIS_URL = process.env.FLEET_REDIS_URL || 'redis://127.0.0.1:6379/7';
const TOKEN = 'bench-fleet-token';
// always-regional has no cache, so its requests are independent of each other: it runs on every
// Nth request of the same sequence (an unbiased systematic sample) to keep the run to minutes.
const AR_EVERY = Math.max(1, Number(values['always-regional-every']));
const runs = (strategy: string, r: number) => strategy !== 'always-regional' || r % AR_EVERY === 0;

let model: LatencyModel = values.mix ? withMix(DEFAULT_LATENCY_MODEL, values.mix) : DEFAULT_LATENCY_MODEL;
if (values['user-rtt-ms']) model = { ...model, pops: model.pops.map((p) => ({ ...p, userRtt: { ms: Number(values['user-rtt-ms']), source: '--user-rtt-ms', assumed: true } })) };
if (values['invoke-overhead-ms']) model = { ...model, lambdaInvokeOverhead: { ms: Number(values['invoke-overhead-ms']), source: '--invoke-overhead-ms', assumed: true } };
const INVOKE_MS = model.lambdaInvokeOverhead.ms;
const TARGET_MS = model.targetMs;
const prices: PriceTable = priceTableFor('vercel-edge');

if (values.example === 'flights') {
  const { runFlightsFleet } = await import('./fleet/flights.ts');
  await runFlightsFleet({ requests: Number(values.requests), seed: SEED, model, redisUrl: REDIS_URL, warmupRequests: Number(values['warmup-requests']), redisBudgetMs: Number(values['redis-budget-ms']) });
  process.exit(0);
}

console.log(await machineLine());
console.log(`prices: ${prices.source}; edge $${perMillion(prices.edgeRequestUsd)}/1M, regional call $${perMillion(regionalCallUsd(prices))}/1M (${prices.regionalBilledMs} ms at ${prices.regionalMemoryGb} GB), Redis $${perMillion(prices.redisCommandUsd)}/1M commands`);
for (const p of model.pops) {
  console.log(`PoP ${p.name} (${Math.round(p.share * 100)} %): user ${p.userRtt.ms} ms, Upstash ${p.upstashRtt.ms} ms, region ${p.regionalRtt.ms} ms + Invoke ${INVOKE_MS} ms — ${p.where}`);
}

// --- traffic: the same messages and Zipf sequence as bench:cache; a PoP per request by the mix.
const { messages, corpusSize } = trafficMessages(DISTINCT);
const sequence = zipfSequence({ requests: REQUESTS, distinct: messages.length, s: ZIPF_S, seed: SEED });
const popPrng = createPrng(SEED + 7);
const popOf = Uint8Array.from({ length: REQUESTS }, () => popIndexFor(model.pops, popPrng.next()));
const testRequests = sequence.filter((m) => messages[m]!.split === 'test').length;
console.log(`traffic: ${REQUESTS} requests, Zipf s=${ZIPF_S} over ${messages.length} messages (${corpusSize} corpus + ${messages.length - corpusSize} variants); ${testRequests} requests carry test-split messages`);

// --- always-regional needs an edge model that never trusts itself: a copy of the model
// repository whose spam-edge model.json has cascade.threshold null (the .onnx and its sha
// are unchanged, so answers are the same model's).
const neverConfidentRoot = mkdtempSync(join(tmpdir(), 'edgeinfer-fleet-models-'));
cpSync(join(DEFAULT_MODELS_ROOT, 'spam-edge'), join(neverConfidentRoot, 'spam-edge'), { recursive: true });
cpSync(join(DEFAULT_MODELS_ROOT, 'spam-regional'), join(neverConfidentRoot, 'spam-regional'), { recursive: true });
// Every version (a hard-coded one left the served v2 trusting itself: always-regional then called the region 231 times in 100,000).
for (const version of readdirSync(join(neverConfidentRoot, 'spam-edge'))) {
  const file = join(neverConfidentRoot, 'spam-edge', version, 'model.json');
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as { cascade: { threshold: number | null } };
  manifest.cascade.threshold = null;
  writeFileSync(file, JSON.stringify(manifest));
}

const rest = await startUpstashRestServer({ port: 0, token: TOKEN, redisUrl: REDIS_URL });
const admin = new IoRedis(REDIS_URL);
await admin.flushdb();

type StrategyName = 'always-regional' | 'edge-only' | 'cascade';
const STRATEGIES: StrategyName[] = ['always-regional', 'edge-only', 'cascade'];
const upstash = { UPSTASH_REDIS_REST_URL: rest.url, UPSTASH_REDIS_REST_TOKEN: TOKEN, EDGEINFER_CACHE_POLICY: 'auto' };
// A few corpus messages are over the default 64 KB body limit: raised so every labelled message is answered.
const MAX_BODY_BYTES = 1 << 20;
function serviceFor(strategy: StrategyName, popIndex: number): InferenceService {
  const pop = model.pops[popIndex]!;
  if (strategy === 'always-regional') {
    return createLocalService({ modelsRoot: neverConfidentRoot, cache: { EDGEINFER_CACHE_POLICY: 'off' }, telemetry: false, config: { maxBodyBytes: MAX_BODY_BYTES } });
  }
  return createLocalService({
    cache: upstash,
    // The policy weighs an L2 lookup against what a hit avoids from this PoP: the modelled regional round trip.
    cachePolicy: { knownComputeMs: { regional: regionalCallMs(pop, INVOKE_MS, 1) } },
    telemetry: false,
    ...(strategy === 'edge-only'
      ? { regional: { kind: 'none' as const }, config: { maxBodyBytes: MAX_BODY_BYTES, cascade: { ...DEFAULT_CASCADE_CONFIG, enabled: false } } }
      : { config: { maxBodyBytes: MAX_BODY_BYTES } }),
  });
}
const services = Object.fromEntries(STRATEGIES.map((s) => [s, model.pops.map((_, i) => serviceFor(s, i))])) as Record<StrategyName, InferenceService[]>;
await Promise.all(Object.values(services).flat().map((s) => s.warm()));
const cascadeModel = await services.cascade[0]!.context.requireModel('spam-edge');
const threshold = cascadeModel.manifest.cascade.threshold;
console.log(`edge model spam-edge@${cascadeModel.manifest.version} on ${cascadeModel.engine}, calibrated threshold ${threshold}; regional spam-regional in process (onnxruntime-node)`);

/** GETs the isolate's L2 client has made (each a network round trip on the request's path). */
function l2Gets(service: InferenceService): number {
  const s = service.context.caching?.cache.remote?.stats();
  return s ? s.hits + s.misses + s.overBudget + s.errors : 0;
}

let requestSeq = 0;
async function serve(service: InferenceService, text: string): Promise<{ ms: number; answer: PredictResponse; gets: number }> {
  const before = l2Gets(service);
  const request = new Request('http://fleet.local/v1/predict', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': `fleet-${++requestSeq}` },
    body: JSON.stringify({ text }),
  });
  const t0 = performance.now();
  const response = await service.fetch(request);
  const ms = performance.now() - t0;
  if (response.status !== 200) throw new Error(`fleet: HTTP ${response.status}: ${await response.text()}`);
  return { ms, answer: (await response.json()) as PredictResponse, gets: l2Gets(service) - before };
}

// Warm code paths (JIT, sessions, connections) with messages that are not in the traffic.
for (let i = 0; i < Number(values['warmup-requests']); i++) {
  for (const s of STRATEGIES) await serve(services[s][i % model.pops.length]!, `Subject: warmup ${i}\n\nhello ${i} ${'x'.repeat(i % 50)}`);
}
await admin.flushdb(); // warmup answers stay in L1 (not traffic keys), nothing of them in L2
const commandsAtStart = Object.fromEntries(STRATEGIES.map((s) => [s, services[s].map((svc) => svc.context.caching?.cache.remote?.stats().commands ?? 0)]));

interface Recorded {
  computeMs: Float64Array;
  gets: Uint8Array;
  calls: Uint8Array;
  correct: Uint8Array;
  level: Uint8Array; // 0 computed, 1 L1, 2 L2
  regionalAnswer: Uint8Array;
  degraded: Uint8Array;
}
const recorded = Object.fromEntries(
  STRATEGIES.map((s) => [
    s,
    {
      computeMs: new Float64Array(REQUESTS),
      gets: new Uint8Array(REQUESTS),
      calls: new Uint8Array(REQUESTS),
      correct: new Uint8Array(REQUESTS),
      level: new Uint8Array(REQUESTS),
      regionalAnswer: new Uint8Array(REQUESTS),
      degraded: new Uint8Array(REQUESTS),
    } satisfies Recorded,
  ]),
) as Record<StrategyName, Recorded>;

const started = performance.now();
for (let r = 0; r < REQUESTS; r++) {
  const message = messages[sequence[r]!]!;
  const pop = popOf[r]!;
  // Rotate the order so machine noise and shared-core contention hit every strategy alike.
  for (let k = 0; k < STRATEGIES.length; k++) {
    const strategy = STRATEGIES[(r + k) % STRATEGIES.length]!;
    if (!runs(strategy, r)) continue;
    const { ms, answer, gets } = await serve(services[strategy][pop]!, message.text);
    const rec = recorded[strategy];
    rec.computeMs[r] = ms;
    rec.gets[r] = gets;
    // An escalation the cache answered (L2) made no Lambda call; one that failed still made one.
    rec.calls[r] = answer.escalation && !(answer.tier === 'regional' && answer.cached) ? 1 : 0;
    rec.correct[r] = answer.label === LABELS[message.label] ? 1 : 0;
    rec.level[r] = answer.cache?.level === 'l1' ? 1 : answer.cache?.level === 'l2' ? 2 : 0;
    rec.regionalAnswer[r] = answer.tier === 'regional' ? 1 : 0;
    rec.degraded[r] = answer.degraded ? 1 : 0;
  }
  if ((r + 1) % 10_000 === 0) console.log(`  ${r + 1} requests × ${STRATEGIES.length} strategies, ${Math.round((performance.now() - started) / 1000)} s`);
}
const replaySeconds = Math.round((performance.now() - started) / 100) / 10;
// Cache writes run after responses: let them land before counting Redis commands.
await Promise.all(Object.values(services).flat().map((s) => s.close()));

const round = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;
const pct = (n: number, d: number) => round((100 * n) / Math.max(1, d), 2);

function totals(strategy: StrategyName, user: number, invoke: number, pick: (r: number) => boolean = () => true): number[] {
  const rec = recorded[strategy];
  const out: number[] = [];
  for (let r = 0; r < REQUESTS; r++) {
    if (!runs(strategy, r) || !pick(r)) continue;
    const pop = { ...model.pops[popOf[r]!]!, userRtt: { ms: user, source: '' } };
    out.push(modelLatency(pop, invoke, { computeMs: rec.computeMs[r]!, l2Gets: rec.gets[r]!, regionalCalls: rec.calls[r]! }).total);
  }
  return out.sort((a, b) => a - b);
}
const withinShare = (sorted: number[]) => {
  let n = 0;
  for (const v of sorted) if (v <= TARGET_MS) n++;
  return round(n / Math.max(1, sorted.length), 4);
};
const quantiles = (sorted: number[]) => ({ p50: round(quantile(sorted, 0.5), 2), p95: round(quantile(sorted, 0.95), 2), p99: round(quantile(sorted, 0.99), 2) });

function costOf(strategy: StrategyName, requests: number, calls: number, commands: number, billedMs = prices.regionalBilledMs) {
  const edge = requests * prices.edgeRequestUsd;
  const regional = calls * regionalCallUsd(prices, billedMs);
  const redis = commands * prices.redisCommandUsd;
  const per = (usd: number) => perMillion(usd / requests);
  return { strategy, total: per(edge + regional + redis), edge: per(edge), regional: per(regional), redis: per(redis) };
}

const userRtt = model.pops[0]!.userRtt.ms;
const isTest = (r: number) => messages[sequence[r]!]!.split === 'test';
/** Correct answers and requests of `strategy` among requests picked by `pick` (and that it ran). */
function accuracyOn(strategy: StrategyName, pick: (r: number) => boolean): { correct: number; n: number } {
  let correct = 0;
  let n = 0;
  for (let r = 0; r < REQUESTS; r++) {
    if (!runs(strategy, r) || !pick(r)) continue;
    n++;
    correct += recorded[strategy].correct[r]!;
  }
  return { correct, n };
}
const results = STRATEGIES.map((strategy) => {
  const rec = recorded[strategy];
  const ran = (r: number) => runs(strategy, r);
  const sum = (a: Uint8Array) => a.reduce((s, v, r) => s + (ran(r) ? v : 0), 0);
  const requests = accuracyOn(strategy, () => true).n;
  const test = accuracyOn(strategy, isTest);
  const all = totals(strategy, userRtt, INVOKE_MS);
  const compute = [...rec.computeMs].filter((_, r) => ran(r)).sort((a, b) => a - b);
  const commands = services[strategy].reduce((s, svc, i) => s + (svc.context.caching?.cache.remote?.stats().commands ?? 0) - commandsAtStart[strategy]![i]!, 0);
  const calls = sum(rec.calls);
  const levels = { l1: 0, l2: 0 };
  for (const l of rec.level) if (l === 1) levels.l1++;
  else if (l === 2) levels.l2++;
  return {
    strategy,
    requests,
    accuracyPct: pct(sum(rec.correct), requests),
    testSplitRequests: test.n,
    testSplitAccuracyPct: pct(test.correct, test.n),
    withinTargetShare: withinShare(all),
    latencyMs: quantiles(all),
    computeMs: { p50: round(quantile(compute, 0.5)), p99: round(quantile(compute, 0.99)) },
    perPop: model.pops.map((p, i) => {
      const sorted = totals(strategy, userRtt, INVOKE_MS, (r) => popOf[r] === i);
      return { pop: p.name, requests: sorted.length, withinTargetShare: withinShare(sorted), ...quantiles(sorted) };
    }),
    regionalCalls: calls,
    regionalAnswers: sum(rec.regionalAnswer),
    degradedAnswers: sum(rec.degraded),
    l2Gets: sum(rec.gets),
    cacheHits: levels,
    redisCommands: commands,
    costPerMillionUsd: costOf(strategy, requests, calls, commands),
    // Sensitivity of the latency share to the assumed legs (same measured requests).
    withinTargetByAssumption: [5, 10, 15].flatMap((user) => [0, 10, 20].map((invoke) => ({ userRttMs: user, invokeOverheadMs: invoke, share: withinShare(totals(strategy, user, invoke)) }))),
  };
});
const by = Object.fromEntries(results.map((r) => [r.strategy, r])) as Record<StrategyName, (typeof results)[number]>;

console.log(`replay: ${replaySeconds} s for ${REQUESTS} requests (always-regional on every ${AR_EVERY}th: ${by['always-regional'].requests}), one at a time`);
console.log('strategy         accuracy  test-split  within 20 ms  p50 ms  p95 ms  p99 ms  regional calls  L1 hits  L2 hits  L2 GETs  Redis cmds  $/1M');
for (const r of results) {
  console.log(
    `${r.strategy.padEnd(16)} ${`${r.accuracyPct} %`.padStart(8)}  ${`${r.testSplitAccuracyPct} %`.padStart(10)}  ${`${round(r.withinTargetShare * 100, 2)} %`.padStart(12)}  ` +
      `${String(r.latencyMs.p50).padStart(6)}  ${String(r.latencyMs.p95).padStart(6)}  ${String(r.latencyMs.p99).padStart(6)}  ${String(r.regionalCalls).padStart(14)}  ` +
      `${String(r.cacheHits.l1).padStart(7)}  ${String(r.cacheHits.l2).padStart(7)}  ${String(r.l2Gets).padStart(7)}  ${String(r.redisCommands).padStart(10)}  ${r.costPerMillionUsd.total}`,
  );
}
for (const r of results) console.log(`  ${r.strategy} per PoP: ${r.perPop.map((p) => `${p.pop} ${round(p.withinTargetShare * 100, 1)} % ≤ ${TARGET_MS} ms (p50 ${p.p50}, p99 ${p.p99})`).join('; ')}`);

// Cost if a regional call billed less (or more) than the price table's duration.
const costSensitivity = [1, 5, prices.regionalBilledMs, 50].map((billedMs) => {
  const a = costOf('always-regional', by['always-regional'].requests, by['always-regional'].regionalCalls, by['always-regional'].redisCommands, billedMs).total;
  const c = costOf('cascade', by.cascade.requests, by.cascade.regionalCalls, by.cascade.redisCommands, billedMs).total;
  return { regionalBilledMs: billedMs, alwaysRegional: a, cascade: c, ratio: round(c / a) };
});
const ratio = by.cascade.costPerMillionUsd.total / by['always-regional'].costPerMillionUsd.total;
// Accuracy gaps on the requests both strategies answered (always-regional's sample).
const gapOn = (pick: (r: number) => boolean) => {
  const common = (r: number) => runs('always-regional', r) && pick(r);
  const a = accuracyOn('always-regional', common);
  const c = accuracyOn('cascade', common);
  return (100 * (a.correct - c.correct)) / Math.max(1, a.n);
};
const gapPoints = gapOn(() => true);
const testGapPoints = gapOn(isTest);
const bars = {
  accuracyGapPoints: round(gapPoints, 2),
  accuracyWithin02Points: gapPoints <= 0.2 + 1e-9,
  testSplitAccuracyGapPoints: round(testGapPoints, 2),
  testSplitAccuracyWithin02Points: testGapPoints <= 0.2 + 1e-9,
  withinTargetShare: by.cascade.withinTargetShare,
  withinTargetAtLeast95: by.cascade.withinTargetShare >= 0.95,
  costRatio: round(ratio),
  costAtMost065: ratio <= 0.65 + 1e-9,
};
console.log(
  `bars (cascade): accuracy ${by.cascade.accuracyPct} % vs always-regional ${by['always-regional'].accuracyPct} % (gap on the same requests ${bars.accuracyGapPoints} points, ≤ 0.2: ${bars.accuracyWithin02Points}; ` +
    `test-split traffic gap ${bars.testSplitAccuracyGapPoints}, ≤ 0.2: ${bars.testSplitAccuracyWithin02Points}); ` +
    `within ${TARGET_MS} ms ${round(bars.withinTargetShare * 100, 2)} % (≥ 95 %: ${bars.withinTargetAtLeast95}); cost ratio ${bars.costRatio} (≤ 0.65: ${bars.costAtMost065})`,
);
console.log(`cost if a regional call billed: ${costSensitivity.map((c) => `${c.regionalBilledMs} ms → ratio ${c.ratio}`).join(', ')}`);

admin.disconnect();
await rest.close();
rmSync(neverConfidentRoot, { recursive: true, force: true });

console.log(
  JSON.stringify({
    bench: 'fleet',
    machine: await machineLine(),
    requests: REQUESTS,
    distinct: messages.length,
    zipf: ZIPF_S,
    testSplitRequests: testRequests,
    threshold,
    targetMs: TARGET_MS,
    replaySeconds,
    alwaysRegionalEvery: AR_EVERY,
    latencyModel: {
      pops: model.pops.map((p) => ({ name: p.name, where: p.where, share: p.share, userRttMs: p.userRtt.ms, upstashRttMs: p.upstashRtt.ms, regionalRttMs: p.regionalRtt.ms })),
      invokeOverheadMs: INVOKE_MS,
      mix: model.mixSource,
    },
    prices: { source: prices.source, edgePerMillion: perMillion(prices.edgeRequestUsd), regionalCallPerMillion: perMillion(regionalCallUsd(prices)), redisCommandPerMillion: perMillion(prices.redisCommandUsd), regionalBilledMs: prices.regionalBilledMs },
    strategies: results,
    costSensitivity,
    bars,
  }),
);
