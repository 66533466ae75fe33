// bench:fleet on the flights example (`npm run bench:fleet -- --example flights`): the same
// planning simulation as the spam traffic (bench/fleet.ts, same latency model and prices),
// on real June 2001 flights in date order (the held-out test month), each a /v1/predict
// "fields" request through the real handler (createLocalService: the real flights models,
// the declared views materialized into real Redis behind the local Upstash REST server).
// Strategies, interleaved request by request, one isolate per PoP and strategy:
//   always-regional  flights-regional answers every request, no prediction cache. Its Lambda
//                    leg is MODELLED (a regional request carries text only, so the regional
//                    model runs in process here, its feature fetch included in the measured time)
//   cascade          flights-edge with its calibrated cascade (threshold from model.json; as
//                    calibrated on May it escalates nothing, and a "fields" request has no
//                    escalation path yet), prediction cache on (auto policy, L1 + Upstash)
// MEASURED: server-side wall time, the answer's P(delayed), the prediction cache level, the
// feature round trips and prediction L2 lookups (each an Upstash round trip from the PoP),
// Redis commands. MODELLED: the network legs (bench/fleet/latency-model.ts).
// Serving reads the views as materialized after the data (through June 30), so the features of
// a June request are not its point-in-time ones (model.json's numbers): both strategies see the
// same values, so the AUC gap is fair; the absolute AUCs are not comparable with model.json's.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis as IoRedis } from 'ioredis';
import { DEFAULT_MODELS_ROOT } from '../../adapters/node/fs-model-source.ts';
import { createLocalService } from '../../adapters/node/local-service.ts';
import { startUpstashRestServer } from '../../adapters/upstash-rest-local/server.ts';
import { createUpstashRemoteCache } from '../../core/cache/remote-cache.ts';
import { perMillion, priceTableFor, regionalCallUsd } from '../../core/cache/price-table.ts';
import type { InferenceService } from '../../core/handler.ts';
import type { PredictResponse } from '../../core/routes/predict.ts';
import { loadFeatureRepository } from '../../features/index.ts';
import { FLIGHT_SPLITS, isDelayed, loadFlights } from '../../models/training/flights-data.ts';
import { scoreSet } from '../../models/training/flights-train.ts';
import { computeRows, writeRows } from '../../models/training/materialize-features.ts';
import { createPrng } from '../../models/training/prng.ts';
import { modelLatency, popIndexFor, regionalCallMs, type LatencyModel } from './latency-model.ts';
import { machineLine, quantile } from '../stats.ts';

export interface FlightsFleetOptions {
  requests: number;
  seed: number;
  model: LatencyModel;
  redisUrl: string;
  warmupRequests: number;
  redisBudgetMs: number;
}

type Strategy = 'always-regional' | 'cascade';
const STRATEGIES: Strategy[] = ['always-regional', 'cascade'];
const MODEL_OF: Record<Strategy, string> = { 'always-regional': 'flights-regional', cascade: 'flights-edge' };
const TOKEN = 'bench-fleet-flights-token';
const NOT_ASKED = new Set(['not_asked', 'not_configured', 'circuit_open']);

export async function runFlightsFleet(options: FlightsFleetOptions): Promise<void> {
  const { model, requests: REQUESTS } = options;
  const INVOKE_MS = model.lambdaInvokeOverhead.ms;
  const TARGET_MS = model.targetMs;
  const prices = priceTableFor('vercel-edge');
  console.log(await machineLine());
  console.log(`prices: ${prices.source}; edge $${perMillion(prices.edgeRequestUsd)}/1M, regional call $${perMillion(regionalCallUsd(prices))}/1M, Redis $${perMillion(prices.redisCommandUsd)}/1M commands`);

  // --- traffic: June flights, a seeded uniform sample kept in date order (the schedule repeats: routes at an hour recur).
  const flights = await loadFlights();
  const june: number[] = [];
  for (let i = 0; i < flights.size; i++) if ((flights.day[i] as number) >= FLIGHT_SPLITS.test.from) june.push(i);
  const prng = createPrng(options.seed);
  const picked = Array.from({ length: Math.min(REQUESTS, june.length) }, () => june[Math.floor(prng.next() * june.length)] as number).sort((a, b) => (flights.day[a] as number) - (flights.day[b] as number) || a - b);
  const fieldsOf = (i: number) => ({
    origin: flights.airports[flights.origin[i] as number] as string,
    destination: flights.airports[flights.destination[i] as number] as string,
    hour: flights.hour[i] as number,
    day_of_week: flights.dayOfWeek[i] as number,
    distance: flights.distance[i] as number,
  });
  const labels = Uint8Array.from(picked, (i) => isDelayed(flights, i));
  const popPrng = createPrng(options.seed + 7);
  const popOf = Uint8Array.from(picked, () => popIndexFor(model.pops, popPrng.next()));
  const distinct = new Set(picked.map((i) => JSON.stringify(fieldsOf(i)))).size;
  console.log(`traffic: ${picked.length} June flights in date order (${distinct} distinct field sets), ${Math.round((100 * labels.reduce((s, v) => s + v, 0)) / labels.length)} % left 15+ min late`);

  // --- Redis: a database of its own, the declared flights views materialized into it.
  const rest = await startUpstashRestServer({ port: 0, token: TOKEN, redisUrl: options.redisUrl });
  const admin = new IoRedis(options.redisUrl);
  await admin.flushdb();
  const writer = createUpstashRemoteCache({ url: rest.url, token: TOKEN, budgetMs: 30_000, autoPipelining: false });
  const views = [...loadFeatureRepository().views.values()].filter((v) => v.source.kind === 'flights' || v.source.kind === 'flights-embeddings');
  for (const { view, rows } of await computeRows(views)) await writeRows(writer, rows, view.ttlSeconds, 1000);

  const root = mkdtempSync(join(tmpdir(), 'edgeinfer-fleet-flights-'));
  for (const name of ['flights-edge', 'flights-regional']) cpSync(join(DEFAULT_MODELS_ROOT, name), join(root, name), { recursive: true });
  // Redis budget (prediction cache and feature reads): the production default is 15 ms; on this shared
  // 2-core machine the local REST server round trip misses it often (see bench/faults.ts), so --redis-budget-ms.
  const upstash = { UPSTASH_REDIS_REST_URL: rest.url, UPSTASH_REDIS_REST_TOKEN: TOKEN, EDGEINFER_CACHE_BUDGET_MS: String(options.redisBudgetMs) };
  const serviceFor = (strategy: Strategy, pop: number): InferenceService =>
    strategy === 'always-regional'
      ? createLocalService({ modelsRoot: root, cache: { ...upstash, EDGEINFER_CACHE_POLICY: 'off' }, telemetry: false, regional: { kind: 'none' } })
      : createLocalService({
          modelsRoot: root,
          cache: { ...upstash, EDGEINFER_CACHE_POLICY: 'auto' },
          cachePolicy: { knownComputeMs: { regional: regionalCallMs(model.pops[pop]!, INVOKE_MS, 1) } },
          telemetry: false,
          regional: { kind: 'none' },
        });
  const services = Object.fromEntries(STRATEGIES.map((s) => [s, model.pops.map((_, i) => serviceFor(s, i))])) as Record<Strategy, InferenceService[]>;
  await Promise.all(Object.values(services).flat().map((s) => s.warm()));
  const edge = await services.cascade[0]!.context.requireModel('flights-edge');
  console.log(`edge model flights-edge@${edge.manifest.version} on ${edge.engine}, calibrated threshold ${edge.manifest.cascade.threshold}; flights-regional in process`);

  const roundTrips = (s: InferenceService) => s.context.features?.stats?.().roundTrips ?? 0;
  // With the cache off there is no prediction cache client: the only Redis commands are the feature MGETs (one each).
  const commands = (s: InferenceService) => s.context.caching?.cache.remote?.stats().commands ?? roundTrips(s);
  let seq = 0;
  async function serve(service: InferenceService, strategy: Strategy, fields: Record<string, string | number>) {
    const before = roundTrips(service);
    const request = new Request('http://fleet.local/v1/predict', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': `fleet-flights-${++seq}` },
      body: JSON.stringify({ model: MODEL_OF[strategy], fields }),
    });
    const t0 = performance.now();
    const response = await service.fetch(request);
    const ms = performance.now() - t0;
    if (response.status !== 200) throw new Error(`fleet flights: HTTP ${response.status}: ${await response.text()}`);
    const answer = (await response.json()) as PredictResponse;
    const l2Asked = answer.cache && !NOT_ASKED.has(answer.cache.l2) ? 1 : 0;
    return { ms, answer, upstashTrips: roundTrips(service) - before + l2Asked };
  }

  // Warm code paths with flights of May (not in the traffic).
  for (let w = 0; w < options.warmupRequests; w++) {
    const i = (FLIGHT_SPLITS.calibration.from + w) % flights.size;
    for (const s of STRATEGIES) await serve(services[s][w % model.pops.length]!, s, fieldsOf(i));
  }
  const commandsAtStart = Object.fromEntries(STRATEGIES.map((s) => [s, services[s].map(commands)])) as Record<Strategy, number[]>;

  const rec = Object.fromEntries(
    STRATEGIES.map((s) => [s, { ms: new Float64Array(picked.length), trips: new Uint8Array(picked.length), p: new Float64Array(picked.length), level: new Uint8Array(picked.length), degraded: new Uint8Array(picked.length) }]),
  ) as Record<Strategy, { ms: Float64Array; trips: Uint8Array; p: Float64Array; level: Uint8Array; degraded: Uint8Array }>;
  const reasons = new Map<string, number>();
  const started = performance.now();
  for (let r = 0; r < picked.length; r++) {
    const fields = fieldsOf(picked[r]!);
    for (let k = 0; k < STRATEGIES.length; k++) {
      const strategy = STRATEGIES[(r + k) % STRATEGIES.length]!;
      const { ms, answer, upstashTrips } = await serve(services[strategy][popOf[r]!]!, strategy, fields);
      const x = rec[strategy];
      x.ms[r] = ms;
      x.trips[r] = upstashTrips;
      x.p[r] = answer.scores?.delayed ?? Number.NaN;
      x.level[r] = answer.cache?.level === 'l1' ? 1 : answer.cache?.level === 'l2' ? 2 : 0;
      x.degraded[r] = answer.degraded ? 1 : 0;
      if (answer.degraded) reasons.set(answer.reason ?? '?', (reasons.get(answer.reason ?? '?') ?? 0) + 1);
    }
    if ((r + 1) % 5_000 === 0) console.log(`  ${r + 1} requests × ${STRATEGIES.length} strategies, ${Math.round((performance.now() - started) / 1000)} s`);
  }
  const replaySeconds = Math.round((performance.now() - started) / 100) / 10;
  await Promise.all(Object.values(services).flat().map((s) => s.close()));

  const round = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;
  const results = STRATEGIES.map((strategy) => {
    const x = rec[strategy];
    const regionalCalls = strategy === 'always-regional' ? picked.length : 0;
    const totals = Array.from(x.ms, (ms, r) => modelLatency(model.pops[popOf[r]!]!, INVOKE_MS, { computeMs: ms, l2Gets: strategy === 'always-regional' ? 0 : x.trips[r]!, regionalCalls: strategy === 'always-regional' ? 1 : 0 }).total).sort((a, b) => a - b);
    const within = totals.filter((t) => t <= TARGET_MS).length / totals.length;
    const cmds = services[strategy].reduce((s, svc, i) => s + commands(svc) - commandsAtStart[strategy][i]!, 0);
    const usd = (picked.length * prices.edgeRequestUsd + regionalCalls * regionalCallUsd(prices) + cmds * prices.redisCommandUsd) / picked.length;
    const scores = scoreSet(x.p, labels);
    const levels = { l1: 0, l2: 0 };
    for (const l of x.level) if (l === 1) levels.l1++;
    else if (l === 2) levels.l2++;
    return {
      strategy,
      model: MODEL_OF[strategy],
      requests: picked.length,
      auc: round(scores.auc, 4),
      logLoss: round(scores.logLoss, 4),
      accuracy: round(scores.accuracy, 4),
      withinTargetShare: round(within, 4),
      latencyMs: { p50: round(quantile(totals, 0.5), 2), p95: round(quantile(totals, 0.95), 2), p99: round(quantile(totals, 0.99), 2) },
      computeMs: { p50: round(quantile([...x.ms].sort((a, b) => a - b), 0.5)), p99: round(quantile([...x.ms].sort((a, b) => a - b), 0.99)) },
      upstashTripsPerRequest: round(x.trips.reduce((s, v) => s + v, 0) / picked.length, 3),
      regionalCalls,
      cacheHits: levels,
      degradedAnswers: x.degraded.reduce((s, v) => s + v, 0),
      redisCommands: cmds,
      costPerMillionUsd: perMillion(usd),
    };
  });
  const by = Object.fromEntries(results.map((r) => [r.strategy, r])) as Record<Strategy, (typeof results)[number]>;
  console.log(`replay: ${replaySeconds} s, one request at a time; Redis budget ${options.redisBudgetMs} ms; degraded answers by reason: ${JSON.stringify(Object.fromEntries(reasons))}`);
  console.log('strategy         model             AUC     logloss  accuracy  within 20 ms  p50 ms  p99 ms  Upstash trips/req  L1 hits  L2 hits  Redis cmds  $/1M');
  for (const r of results) {
    console.log(
      `${r.strategy.padEnd(16)} ${r.model.padEnd(17)} ${r.auc.toFixed(4)}  ${r.logLoss.toFixed(4)}   ${r.accuracy.toFixed(4)}  ${`${round(r.withinTargetShare * 100, 2)} %`.padStart(12)}  ${String(r.latencyMs.p50).padStart(6)}  ${String(r.latencyMs.p99).padStart(6)}  ${String(r.upstashTripsPerRequest).padStart(17)}  ${String(r.cacheHits.l1).padStart(7)}  ${String(r.cacheHits.l2).padStart(7)}  ${String(r.redisCommands).padStart(10)}  ${r.costPerMillionUsd}`,
    );
  }
  const bars = {
    withinTargetShare: by.cascade.withinTargetShare,
    costRatio: round(Number(by.cascade.costPerMillionUsd) / Number(by['always-regional'].costPerMillionUsd)),
    aucGap: round(by['always-regional'].auc - by.cascade.auc, 4),
  };
  console.log(`bars (cascade vs always-regional): within ${TARGET_MS} ms ${round(bars.withinTargetShare * 100, 2)} %; cost ratio ${bars.costRatio}; AUC gap ${bars.aucGap}`);

  admin.disconnect();
  await rest.close();
  rmSync(root, { recursive: true, force: true });
  console.log(JSON.stringify({ bench: 'fleet', example: 'flights', machine: await machineLine(), requests: picked.length, distinct, targetMs: TARGET_MS, redisBudgetMs: options.redisBudgetMs, degradedReasons: Object.fromEntries(reasons), threshold: edge.manifest.cascade.threshold, replaySeconds, strategies: results, bars }));
}
