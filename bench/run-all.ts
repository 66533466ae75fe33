// `npm run bench`: runs every bench section as its own process, keeps each section's output
// in bench/results/<section>.json (so one section can be rerun alone; findings written by
// hand beside it in <section>.notes.md are included), and writes
// BENCHMARKS.md with hand-written SVG charts (bench/charts/) and the README's bench table.
// Usage: npm run bench -- [--only load,faults] [--skip soak] [--report-only] [--soak-minutes 5]
//        [--record soak=/path/to/stdout.log] (records a section from the saved output of a
//        standalone run, e.g. `npm run bench:soak > soak.log`, instead of running it again)
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { barChart, lineChart, xyChart, type Bar } from './svg-chart.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RESULTS = join(ROOT, 'bench', 'results');
const CHARTS = join(ROOT, 'bench', 'charts');

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    skip: { type: 'string' },
    'report-only': { type: 'boolean', default: false },
    'soak-minutes': { type: 'string', default: '5' },
    'timeout-minutes': { type: 'string', default: '20' },
    record: { type: 'string', multiple: true },
  },
});

type Json = Record<string, unknown>;

interface Section {
  name: string;
  title: string;
  script: string;
  args: string[];
  /** What the section measures, in one or two sentences for the report. */
  about: string;
  charts?: (json: Json) => Array<{ title: string; svg: string }>;
  table?: (json: Json) => string;
}

/** What a section run left behind. */
interface SectionResult {
  section: string;
  command: string;
  startedAt: string;
  durationS: number;
  exitCode: number | null;
  machine: string | null;
  /** Lines printed before the JSON line (the human summary), capped. */
  summary: string[];
  json: Json | null;
}

const num = (v: unknown) => (typeof v === 'number' ? v : Number.NaN);
const runsOf = (json: Json) => (json.runs as Array<Record<string, number | string>>) ?? [];
const scenariosOf = (json: Json) => (json.scenarios as Array<Record<string, unknown>>) ?? [];

const SECTIONS: Section[] = [
  {
    name: 'engine',
    title: 'Engines: micro vs ort-web vs ort-node, every model',
    script: 'bench/engine.ts',
    args: [],
    about: 'Per model (the repository\'s and the third-party test graphs): warm session.run p50/p99 of the three engines interleaved in one process, micro / ort-web, micro cold start (import → first inference) in fresh node processes and minus an empty module started beside it, module gzip size, parity micro vs ort-node.',
    table: (json) => {
      const rows = (json.models as Array<Record<string, unknown>>) ?? [];
      return table(
        ['model', 'micro', 'micro p50 µs', 'micro p99 µs', 'ort-web p50 µs', 'ort-node p50 µs', 'micro / ort-web', 'cold fresh node p50 ms', 'cold − empty module p50 ms', 'module gzip B', 'parity mismatches'],
        rows.map((r) => [r.model, r.micro === 'ok' ? 'ok' : String(r.micro).slice(0, 60), r.micro_p50_us, r.micro_p99_us, r.ort_web_p50_us, r.ort_node_p50_us, r.ratio_micro_over_ort_web, r.micro_cold_fresh_process_p50_ms, r.micro_cold_minus_floor_p50_ms, r.micro_module_gzip_bytes, r.parity_mismatches]),
      );
    },
  },
  { name: 'engines-cold', title: 'ORT engines: cold and warm', script: 'bench/engines-cold.ts', args: [], about: 'ort-web vs ort-node on one model: cold (import → first run) and warm p50/p99, side by side.' },
  {
    name: 'quantization',
    title: 'Edge model: int8 vs fp32 per engine',
    script: 'bench/quantization.ts',
    args: [],
    about:
      "The served int8 spam-edge against its fp32 twin on micro, ort-web and ort-node, all six sessions in one process on the same test-split messages, interleaved in blocks of 100. The twin is not kept in models/ (everything there is served): the bench retrains the edge spec with the build's code (models/training/train-graphs.ts) and stops unless the retrained int8 bytes hash to model.json's sha256 and the twin's test accuracy equals model.json's fp32TestAccuracy.",
    charts: (json) => [{ title: 'warm p50 per engine and graph', svg: barChart('spam-edge warm session.run p50: int8 vs fp32', quantRows(json).map((r) => ({ label: `${r.engine} ${r.precision}`, value: num(r.p50_us) })), 'µs') }],
    table: (json) => quantizationTable(json),
  },
  { name: 'predict', title: 'Handler overhead vs the bare engine; npm start cold start', script: 'bench/predict.ts', args: ['--messages', '200', '--rounds', '3', '--cold-runs', '3'], about: 'POST /v1/predict in process (cache off, no escalation) against bare preprocess + session.run on the same messages, interleaved; then spawn → first answer of `npm start`.' },
  { name: 'cache', title: 'Cache: latency per level and Zipf replay per policy', script: 'bench/cache.ts', args: [], about: 'L1 hit, L2 hit (real Redis behind the local REST server) and miss side by side; Zipf replay of the same sequence under each cache policy, with cost per 1M predictions.' },
  { name: 'escalation', title: 'Escalation to the regional tier', script: 'bench/escalation.ts', args: [], about: 'Regional compute, raw Invoke HTTP and the real SDK against the local Invoke API, and the extra latency of an escalation over an edge-only answer, paired per message.' },
  {
    name: 'cascade',
    title: 'Cascade curve: accuracy vs escalation rate vs cost',
    script: 'bench/cascade.ts',
    args: [],
    about:
      'Edge and regional model (onnxruntime-node) on the validation (calibration) split and the test split; every threshold of the edge confidence gives an escalation rate, a cascade accuracy and a cost per 1M predictions (edge invocation + regional calls, price table of core/cache/price-table.ts, no cache). The calibrated threshold (model.json, chosen on validation) is marked. The test curve is for reading: nothing is tuned on it; the "hindsight" point shows what tuning on test would have picked.',
    charts: (json) => [{ title: 'accuracy vs escalation rate (cost per 1M below each tick)', svg: cascadeChart(json) }],
    table: (json) => cascadeTable(json),
  },
  {
    name: 'fleet',
    title: 'Fleet picture: share within 20 ms, accuracy and cost per strategy (simulation)',
    script: 'bench/fleet.ts',
    args: [],
    about:
      'The Zipf traffic of bench:cache (100,000 requests over 10,000 messages, s = 1.1) replayed through the real handler for three strategies side by side, interleaved request by request: always-regional (every request through the edge to the regional model, no cache; stateless, so it runs on every 4th request), edge-only, and the cascade with the cost-aware cache (auto policy, L1 + Upstash). MEASURED on this machine: server-side time of each request (handler, edge model on the micro engine, the regional model in process, real Redis behind the local Upstash REST server), which tier answered, L2 GETs, regional calls, Redis commands, the corpus label. MODELLED: the network legs (bench/fleet/latency-model.ts: user ↔ PoP, PoP ↔ nearest Upstash replica per GET, PoP ↔ us-east-1 plus the Invoke front end per regional call), added per request by what it did. One isolate per PoP and strategy.',
    charts: (json) => fleetCharts(json),
    table: (json) => fleetTable(json),
  },
  {
    name: 'features',
    title: 'Flights example: feature assembly on the request path',
    script: 'bench/features.ts',
    args: [],
    about: 'The flights-edge signature (5 views: 10 view values and the airport embedding) assembled for real June flights, the views materialized into real Redis behind the local REST server: every view from L1, and every view from L2 (L1 off), interleaved; round trips per request counted by the assembler. Warm-up has its own remote; the measured reads never open the L2 circuit (in a sequential loop an open one would skip the rest of the run): each is a real call cut at the 15 ms budget, and one over it is served on defaults and counted as degraded.',
    table: (json) => {
      const l1 = json.l1HitMs as Record<string, number>;
      const l2 = json.l2Ms as Record<string, number>;
      const trips = json.roundTripsPerRequest as Record<string, number>;
      return table(['views', 'requests', 'L1 hit p50 / p99 ms', 'L2 p50 / p99 ms', 'round trips per request (L1 / L2)', 'degraded (L2)'], [[json.views, json.iterations, `${l1.p50} / ${l1.p99}`, `${l2.p50} / ${l2.p99}`, `${trips.l1} / ${trips.l2}`, json.degradedL2]]);
    },
  },
  {
    name: 'fleet-flights',
    title: 'Fleet picture on the flights traffic (simulation)',
    script: 'bench/fleet.ts',
    args: ['--example', 'flights', '--requests', '20000'],
    about: 'bench:fleet on 20,000 June flights (seeded sample, in date order): "fields" requests through the real handler with the views in real Redis behind the local REST server; always-regional (flights-regional on every request, no prediction cache; its Lambda leg modelled, since a regional request carries text only) against the cascade as calibrated (flights-edge, escalates nothing; cache on). Network legs modelled as in the spam fleet section.',
    table: (json) => {
      const s = (json.strategies as Array<Record<string, any>>) ?? [];
      const bars = json.bars as Record<string, number>;
      return (
        table(
          ['strategy', 'model', 'requests', 'ROC AUC', 'log loss', 'accuracy', `within ${json.targetMs} ms`, 'p50 / p99 ms', 'Upstash round trips per request', 'L1 hits', 'Redis commands', 'degraded', 'USD per 1M'],
          s.map((x) => [x.strategy, x.model, x.requests, x.auc, x.logLoss, x.accuracy, pct2(x.withinTargetShare), `${x.latencyMs.p50} / ${x.latencyMs.p99}`, x.upstashTripsPerRequest, x.cacheHits.l1, x.redisCommands, x.degradedAnswers, x.costPerMillionUsd]),
        ) + `\n\nCascade vs always-regional: within ${json.targetMs} ms ${pct2(bars?.withinTargetShare)}, cost ratio ${bars?.costRatio}, AUC gap ${bars?.aucGap} (Redis budget ${json.redisBudgetMs} ms).`
      );
    },
  },
  {
    name: 'flights-faults',
    title: 'Reliability: Redis stopped under load, flights example',
    script: 'bench/flights-faults.ts',
    args: ['--seconds', '8'],
    about: 'The node server answering "fields" requests (8 connections, real June flights) while the local REST server in front of Redis runs, is closed mid-load, and is started again on its port. Pass = every request answered 200, every degraded answer with its reason (features_unavailable unless all its views were in L1), features back from Redis without restarting the service.',
    table: (json) => {
      const phases = (json.phases as Record<string, Record<string, any>>) ?? {};
      return (
        table(
          ['phase', 'requests', 'answered 200', 'degraded (reason)', 'answers with L2 features', 'answers all from L1', 'p50 / p99 ms'],
          Object.entries(phases).map(([name, p]) => [name, p.requests, `${p.answered200Pct} %`, compact(p.degraded), p.answersWithL2Features, p.answersAllFromL1, `${p.latencyMs?.p50} / ${p.latencyMs?.p99}`]),
        ) + `\n\nFeatures back ${json.recoveredMs === undefined ? 'never' : `${Math.round(num(json.recoveredMs))} ms`} after the REST server restarted; pass ${compact(json.pass)}.`
      );
    },
  },
  { name: 'size', title: 'Artifact sizes per target and tier', script: 'bench/size.ts', args: [], about: 'Raw / gzip / zip size of every built target against each provider tier limit, micro engine and (where it fits) ORT.' },
  { name: 'coldstart', title: 'Cold start per runtime', script: 'bench/coldstart.ts', args: [], about: 'Process or isolate start to the first prediction, per runtime (Node, Deno, edge-runtime) and engine, running the artifact that runtime deploys.' },
  { name: 'client', title: 'Client SDK: size, offload, payload, latency', script: 'bench/client.ts', args: [], about: 'edgeinfer/client bundle sizes, share of predictions answered on the device, request bytes for ids vs text, local answer vs a localhost round trip.' },
  { name: 'telemetry', title: 'Telemetry cost and sketch accuracy', script: 'bench/telemetry.ts', args: [], about: 'Per-request cost of telemetry (on vs off, with an A/A floor), the recording cost, and merged-sketch quantile error.' },
  {
    name: 'load',
    title: 'Node adapter under load (autocannon)',
    script: 'bench/load.ts',
    args: ['--seconds', '10'],
    about:
      'autocannon 9.0.0 against the node server (child process) at concurrency 1, 16, 64 on cache-hit traffic (200 warmed test-split messages) and miss traffic (every text unique), beside a bare node:http floor. The server runs as `npm start` runs it (its node flags; the rate limiter on, at a limit that never refuses, so its cost is counted). autocannon runs on the same 2 cores as the server, so raw req/s understates the server; req/s per server CPU-second (from /proc) is the per-core figure. Latency quantiles have 1 ms resolution (autocannon histograms).',
    charts: (json) => [
      { title: 'req/s per server core (server CPU-seconds)', svg: barChart('Node server: requests per server CPU-second', runsOf(json).map((r) => ({ label: `${r.traffic} c=${r.connections}`, value: num(r.rps_per_server_core), ...(r.traffic === 'hit' ? { mark: 5000 } : {}) })), 'req/s/core') },
      { title: 'p99 latency', svg: barChart('Node server: p99 latency (client side)', runsOf(json).map((r) => ({ label: `${r.traffic} c=${r.connections}`, value: num(r.p99_ms), ...(r.traffic === 'hit' ? { mark: 5 } : {}) })), 'ms') },
    ],
    table: (json) =>
      table(
        ['traffic', 'connections', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'timeouts', 'non-2xx', 'server cores', 'req/s per server core'],
        runsOf(json).map((r) => [r.traffic, r.connections, r.rps, r.p50_ms, r.p99_ms, r.errors, r.timeouts, r.non2xx, r.server_cores, r.rps_per_server_core]),
      ),
  },
  {
    name: 'fuzz',
    title: 'Reliability: fuzzing the HTTP API',
    script: 'test/fuzz/main.ts',
    args: [],
    about: '10,000 seeded bad requests (14 families) to each target: the node server over real sockets, and the built Vercel (edge-runtime), Netlify (Deno, sockets) and Lambda@Edge (CloudFront events, bodies cut at 40 KB / 1 MB) artifacts; pass = no answer ≥ 500, every error JSON with a code, nothing lost, no crash, the target answers a good request after.',
    charts: (json) => [{ title: 'answers by status class, per target', svg: barChart('Fuzz: answers by status class per target', fuzzTargets(json).flatMap((t) => ['2xx', '4xx', '5xx'].map((c) => ({ label: `${t.target} ${c}`, value: statusClass(t.byStatus, Number(c[0]) * 100) }))), 'requests') }],
    table: (json) =>
      `${table(['target', 'runs', 'sent', 'answered', 'lost', '2xx', '4xx', '5xx', 'violations', 'crashes', 'alive after', 'ms'], fuzzTargets(json).map((t) => [t.target, t.skipped ? `skipped: ${t.skipped}` : t.runs ?? '', t.sent, t.answered, t.lost, statusClass(t.byStatus, 200), statusClass(t.byStatus, 400), statusClass(t.byStatus, 500), t.violations, t.crashes ?? '', t.alive, t.ms]))}\n\n` +
      fuzzCodeTable(fuzzTargets(json)),
  },
  {
    name: 'faults',
    title: 'Reliability: faults during load',
    script: 'bench/faults.ts',
    args: [],
    about: 'Closed-loop load (4 connections) while Redis is stopped mid-run, slowed past its budget, and while the regional Lambda fails, times out and throttles; every message escalates and the cache policy is `always`. Pass = every request answered 200 and the fault visible in every answer made under it.',
    charts: (json) => [{ title: 'p99 vs budget + 5 ms', svg: barChart('Faults: p99 latency per scenario (red: budget + 5 ms)', scenariosOf(json).map((s) => ({ label: String(s.scenario), value: num(s.p99_ms), mark: num(s.budget_ms) + 5 })), 'ms') }],
    table: (json) =>
      table(
        ['scenario', 'requests', '200s', 'lost', 'fault shown', 'answers', 'cache.l2', 'p50 ms', 'p99 ms', 'budget + 5 ms', 'pass'],
        scenariosOf(json).map((s) => [s.scenario, s.requests, s.answered200, s.lost, `${s.showingFault}/${s.underFault}`, compact(s.reasons), compact(s.l2), s.p50_ms, s.p99_ms, num(s.budget_ms) + 5, s.ok ? 'yes' : 'no']),
      ) +
      `\n\nLoad faults: ${((json.loadFaults as Array<{ fault: string; ok: boolean; detail: string }>) ?? []).map((f) => `${f.fault}: ${f.ok ? 'refused as expected' : 'NOT refused'} (${f.detail.slice(0, 160)}…)`).join('; ')}. A missing or wrong WASM binary for ort-web is refused with a clear message: test/core/engine/ort-web-init-errors.test.ts.`,
  },
  {
    name: 'soak',
    title: 'Reliability: soak',
    script: 'bench/soak.ts',
    args: ['--minutes', values['soak-minutes'] as string],
    about: "Steady autocannon load (16 connections; 90 % repeated messages, 10 % unique) on the node server run with `npm start`'s node flags. Start is read after a warm-up: unique messages until the L1 cache and the cache policy's ghost lists are full, then a minute of the soak traffic itself. RSS of the server from /proc every 5 s. Pass = RSS growth end vs start < 10 % and 0 errors; the trend (slope over the second half, lowest sample of the last minute vs the first) is reported beside it to tell a GC sawtooth from a leak.",
    charts: (json) => [{ title: 'RSS over the soak', svg: lineChart('Soak: server RSS', ((json.rss_samples as Array<{ t: number; rssMiB: number }>) ?? []).map((s) => ({ x: s.t, y: s.rssMiB })), 's', 'MiB') }],
    table: (json) =>
      table(
        ['minutes', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'timeouts', 'non-2xx', 'RSS start MiB', 'RSS end MiB', 'growth %', 'pass'],
        [[json.minutes, json.requests, json.rps, json.p50_ms, json.p99_ms, json.errors, json.timeouts, json.non2xx, json.rss_start_mib, json.rss_end_mib, json.rss_growth_pct, json.ok ? 'yes' : 'no']],
      ) +
      (json.rss_slope_second_half_mib_per_min === undefined
        ? ''
        : `\n\nTrend (not the bar): RSS ${json.rss_min_mib}–${json.rss_max_mib} MiB over the run; slope over the second half ${json.rss_slope_second_half_mib_per_min} MiB/min; lowest sample of the last minute vs the first ${json.rss_low_first_minute_mib} → ${json.rss_low_last_minute_mib} MiB (${json.rss_low_growth_pct} %). ` +
          `Warm-up: ${json.fill_requests} unique messages, then ${json.warmup_seconds} s of soak traffic (${json.warmup_requests} requests); server node flags (${json.server_node_args_source}): \`${((json.server_node_args as string[]) ?? []).join(' ') || 'none'}\`.`),
  },
];

/** Per-target fuzz figures; a result from before per-target runs is the node server alone. */
interface FuzzTargetResult { target: string; skipped?: string; runs?: string; sent: number; answered: number; lost: number; over500: number; violations: number; crashes?: number; alive: boolean; ok: boolean; ms: number; byStatus: Record<string, number>; byCode: Record<string, number> }
function fuzzTargets(json: Json): FuzzTargetResult[] {
  return (json.targets as FuzzTargetResult[] | undefined) ?? [{ ...(json as unknown as FuzzTargetResult), target: 'node' }];
}
/** Answers with a status in [lo, lo + 100). */
function statusClass(byStatus: Record<string, number>, lo: number): number {
  return Object.entries(byStatus ?? {}).filter(([k]) => Number(k) >= lo && Number(k) < lo + 100).reduce((n, [, v]) => n + v, 0);
}
/** Error codes (rows) by target (columns). */
function fuzzCodeTable(targets: FuzzTargetResult[]): string {
  const codes = [...new Set(targets.flatMap((t) => Object.keys(t.byCode ?? {})))].sort();
  return table(['answer code', ...targets.map((t) => t.target)], codes.map((code) => [code, ...targets.map((t) => t.byCode?.[code] ?? 0)]));
}

type FleetStrategy = Record<string, unknown> & { strategy: string; latencyMs: Record<string, number>; costPerMillionUsd: Record<string, number>; cacheHits: Record<string, number>; perPop: Array<Record<string, number | string>>; withinTargetByAssumption: Array<Record<string, number>> };
const fleetStrategies = (json: Json) => (json.strategies as FleetStrategy[]) ?? [];
const pct2 = (share: unknown) => `${Math.round(num(share) * 10_000) / 100} %`;

function fleetCharts(json: Json): Array<{ title: string; svg: string }> {
  const s = fleetStrategies(json);
  const always = s.find((x) => x.strategy === 'always-regional');
  return [
    { title: 'share within 20 ms (server side + modelled network)', svg: barChart(`Fleet: share of predictions within ${json.targetMs} ms (red: 95 %)`, s.map((x) => ({ label: x.strategy, value: num(x.withinTargetShare) * 100, mark: 95 })), '%') },
    { title: 'cost per 1M predictions', svg: barChart('Fleet: cost per 1M predictions (red: 0.65 × always-regional)', s.map((x) => ({ label: x.strategy, value: num(x.costPerMillionUsd.total), ...(always ? { mark: 0.65 * num(always.costPerMillionUsd.total) } : {}) })), 'USD') },
    { title: 'modelled latency p50 / p95 / p99', svg: barChart(`Fleet: total modelled latency (red: ${json.targetMs} ms)`, s.flatMap((x) => (['p50', 'p95', 'p99'] as const).map((q) => ({ label: `${x.strategy} ${q}`, value: num(x.latencyMs[q]), mark: num(json.targetMs) }))), 'ms') },
  ];
}

function fleetTable(json: Json): string {
  const s = fleetStrategies(json);
  const model = json.latencyModel as { pops: Array<Record<string, unknown>>; invokeOverheadMs: number; mix: string };
  const bars = json.bars as Record<string, unknown>;
  const yes = (v: unknown) => (v ? 'met' : 'NOT met');
  const cascadeBar = readResult('cascade')?.json?.bar as { testGapPoints: number; calibratedWithin02PointsOnTest: boolean } | undefined;
  return [
    table(
      ['strategy', 'requests', 'accuracy (all labelled traffic)', 'accuracy (test-split traffic)', `within ${json.targetMs} ms`, 'p50 ms', 'p95 ms', 'p99 ms', 'compute p50 / p99 ms', 'regional calls', 'L1 hits', 'L2 hits', 'L2 GETs', 'Redis commands', 'USD per 1M (edge + regional + Redis)'],
      s.map((x) => [x.strategy, x.requests, `${x.accuracyPct} %`, `${x.testSplitAccuracyPct} % (n ${x.testSplitRequests})`, pct2(x.withinTargetShare), x.latencyMs.p50, x.latencyMs.p95, x.latencyMs.p99, `${(x.computeMs as Record<string, number>).p50} / ${(x.computeMs as Record<string, number>).p99}`, x.regionalCalls, x.cacheHits.l1, x.cacheHits.l2, x.l2Gets, x.redisCommands, `${x.costPerMillionUsd.total} (${x.costPerMillionUsd.edge} + ${x.costPerMillionUsd.regional} + ${x.costPerMillionUsd.redis})`]),
    ),
    '',
    `Bars for the cascade (threshold ${json.threshold}): accuracy within 0.2 points of always-regional on the same requests — gap ${bars.accuracyGapPoints} points on all labelled traffic (${yes(bars.accuracyWithin02Points)}), ${bars.testSplitAccuracyGapPoints} points on test-split traffic (${yes(bars.testSplitAccuracyWithin02Points)}); ≥ 95 % within ${json.targetMs} ms — ${pct2(bars.withinTargetShare)} (${yes(bars.withinTargetAtLeast95)}); cost ≤ 0.65 × always-regional — ${bars.costRatio} (${yes(bars.costAtMost065)}). Most traffic replays messages the models were trained on (train split), so the all-traffic accuracies are optimistic; the test-split column (Zipf-weighted: popular test messages count many times) is closer to the truth, and the cascade curve section gives the accuracy bar on every test message, unweighted${cascadeBar ? ` (there: a gap of ${cascadeBar.testGapPoints} points, ${yes(cascadeBar.calibratedWithin02PointsOnTest)})` : ''}.`,
    '',
    'Latency model (round trips, ms; sources in bench/fleet/latency-model.ts):',
    '',
    table(['PoP', 'where', 'share', 'user ↔ PoP', 'PoP ↔ Upstash', 'PoP ↔ region', '+ Invoke front end'], model.pops.map((p) => [p.name, p.where, p.share, p.userRttMs, p.upstashRttMs, p.regionalRttMs, model.invokeOverheadMs])),
    '',
    `${model.mix}.`,
    '',
    table(['strategy', ...(s[0]?.perPop ?? []).map((p) => `${p.pop}: within / p50 / p99`)], s.map((x) => [x.strategy, ...x.perPop.map((p) => `${pct2(p.withinTargetShare)} / ${p.p50} / ${p.p99}`)])),
    '',
    'Share within the target if the assumed legs were different (same measured requests):',
    '',
    table(['user ↔ PoP ms', 'Invoke front end ms', ...s.map((x) => x.strategy)], (s[0]?.withinTargetByAssumption ?? []).map((a, i) => [a.userRttMs, a.invokeOverheadMs, ...s.map((x) => pct2(x.withinTargetByAssumption[i]?.share))])),
    '',
    'Cost if a regional call billed another duration (the price table says 20 ms at 1 GB):',
    '',
    table(['billed ms', 'always-regional USD/1M', 'cascade USD/1M', 'ratio'], ((json.costSensitivity as Array<Record<string, number>>) ?? []).map((c) => [c.regionalBilledMs, c.alwaysRegional, c.cascade, c.ratio])),
  ].join('\n');
}

type CascadePoint = { threshold: number; escalationRate: number; accuracyPct: number; costPerMillionUsd: number };
function cascadeChart(json: Json): string {
  const curves = json.curves as { test: CascadePoint[]; validation: CascadePoint[] };
  const calibrated = json.calibrated as { test: CascadePoint; validation: CascadePoint };
  const literal = json.literalValidationRule as { test: CascadePoint };
  const reference = json.reference as { test: { regionalOnlyPct: number; edgeOnlyPct: number } };
  const prices = json.prices as { edgePerMillion: number; regionalCallPerMillion: number };
  const maxX = 20;
  const all = [...curves.test, ...curves.validation].filter((p) => p.escalationRate * 100 <= maxX).map((p) => p.accuracyPct);
  const yMin = Math.floor(Math.min(...all, reference.test.edgeOnlyPct) * 2) / 2;
  const yMax = Math.ceil(Math.max(...all, reference.test.regionalOnlyPct) * 2) / 2;
  const toXy = (points: CascadePoint[]) => points.map((p) => ({ x: p.escalationRate * 100, y: p.accuracyPct }));
  const cost = (ratePct: number) => Math.round((prices.edgePerMillion + (ratePct / 100) * prices.regionalCallPerMillion) * 1000) / 1000;
  return xyChart(
    `Cascade ${json.edge} → ${json.regional}: accuracy vs escalation rate`,
    [
      { name: 'test split (read only)', points: toXy(curves.test), color: '#2d6cdf' },
      { name: 'validation split', points: toXy(curves.validation), color: '#8e44ad' },
    ],
    {
      xLabel: 'escalation rate, % (USD per 1M predictions below)',
      yLabel: '%',
      xRange: [0, maxX],
      yRange: [yMin, yMax],
      xTicks: [0, 5, 10, 15, 20].map((x) => ({ x, label: `${x} % ($${cost(x)})` })),
      hLines: [
        { y: reference.test.regionalOnlyPct, label: `regional-only, test ${reference.test.regionalOnlyPct} %`, color: '#27ae60' },
        { y: reference.test.regionalOnlyPct - num(json.tolerancePoints), label: `bar: regional-only − ${json.tolerancePoints} points`, color: '#c0392b' },
      ],
      marks: [
        { x: calibrated.test.escalationRate * 100, y: calibrated.test.accuracyPct, label: `calibrated ${calibrated.test.threshold.toFixed(4)} on test: ${calibrated.test.accuracyPct} %`, color: '#c0392b' },
        { x: calibrated.validation.escalationRate * 100, y: calibrated.validation.accuracyPct, label: `same threshold on validation: ${calibrated.validation.accuracyPct} %`, color: '#8e44ad' },
        { x: literal.test.escalationRate * 100, y: literal.test.accuracyPct, label: `literal validation rule on test: ${literal.test.accuracyPct} %`, color: '#7f8c8d' },
      ],
    },
  );
}

function cascadeTable(json: Json): string {
  const calibrated = json.calibrated as { test: CascadePoint; validation: CascadePoint };
  const literal = json.literalValidationRule as { test: CascadePoint; validation: CascadePoint };
  const hindsight = json.hindsightOnTest as CascadePoint & { note: string };
  const reference = json.reference as { test: Record<string, number>; validation: Record<string, number>; costPerMillionUsd: Record<string, number> };
  const bar = json.bar as { testGapPoints: number; calibratedWithin02PointsOnTest: boolean };
  const row = (name: string, p: CascadePoint) => [name, p.threshold, `${Math.round(p.escalationRate * 10_000) / 100} %`, `${p.accuracyPct} %`, p.costPerMillionUsd];
  return [
    table(
      ['point', 'threshold', 'escalation rate', 'cascade accuracy', 'USD per 1M'],
      [
        row('calibrated (model.json), validation split', calibrated.validation),
        row('calibrated (model.json), test split', calibrated.test),
        row('literal validation rule, test split', literal.test),
        row('hindsight: chosen ON TEST (never used)', { ...hindsight, costPerMillionUsd: Number.NaN }),
        ['edge-only, test', '—', '0 %', `${reference.test.edgeOnlyPct} %`, reference.costPerMillionUsd.edgeOnly],
        ['always-regional, test', '—', '100 %', `${reference.test.regionalOnlyPct} %`, reference.costPerMillionUsd.alwaysRegional],
      ],
    ),
    '',
    `Bar (cascade within ${json.tolerancePoints} points of regional-only) at the calibrated threshold on the test split: gap ${bar.testGapPoints} points — ${bar.calibratedWithin02PointsOnTest ? 'met' : 'NOT met'} (${(json.messages as Record<string, number>).test} test messages; one message is ~0.11 points).`,
  ].join('\n');
}

const quantRows = (json: Json) => (json.rows as Array<Record<string, number | string>>) ?? [];

function quantizationTable(json: Json): string {
  const perEngine = (json.per_engine as Array<Record<string, number | string>>) ?? [];
  const sizes = (json.sizes as Record<string, Record<string, number>>) ?? {};
  const gapOf = (engine: unknown) => perEngine.find((e) => e.engine === engine);
  return [
    table(
      ['engine', 'graph', 'p50 µs', 'p90 µs', 'p99 µs', 'n', 'test accuracy', 'int8 / fp32 p50', 'max abs Δp int8 vs fp32', 'differing predictions'],
      quantRows(json).map((r) => {
        const g = gapOf(r.engine);
        const first = r.precision === 'int8';
        return [r.engine, r.precision, r.p50_us, r.p90_us, r.p99_us, r.n, r.test_accuracy, first ? g?.ratio_int8_over_fp32_p50 : '', first ? num(g?.max_abs_prob_diff_int8_vs_fp32).toExponential(2) : '', first ? g?.differing_predictions_int8_vs_fp32 : ''];
      }),
    ),
    '',
    table(
      ['graph', 'model.onnx', 'gzip', 'micro module', 'micro module gzip'],
      Object.entries(sizes).map(([p, s]) => [p, `${s.onnx_bytes} B`, `${s.onnx_gzip_bytes} B`, `${s.micro_module_bytes} B`, `${s.micro_module_gzip_bytes} B`]),
    ),
    '',
    `Checks: retrained int8 sha256 equals model.json (${json.int8_sha256_matches_model_json ? 'yes' : 'NO'}); fp32 twin test accuracy ${json.fp32_test_accuracy} equals model.json fp32TestAccuracy (${json.fp32_matches_model_json ? 'yes' : 'NO'}); retraining took ${json.retrain_seconds} s.`,
  ].join('\n');
}

function compact(value: unknown): string {
  return Object.entries((value as Record<string, number>) ?? {})
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

function table(head: string[], rows: unknown[][]): string {
  const cell = (v: unknown) => String(v ?? '').replace(/\|/g, '\\|');
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

/** Scalar fields of a JSON object (one level of nesting flattened), for sections without a custom table. */
function scalarTable(json: Json): string {
  const rows: Array<[string, unknown]> = [];
  for (const [key, value] of Object.entries(json)) {
    if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') rows.push([key, value]);
    else if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k2, v2] of Object.entries(value as Json)) if (typeof v2 === 'number' || typeof v2 === 'string' || typeof v2 === 'boolean') rows.push([`${key}.${k2}`, v2]);
    }
  }
  return table(['field', 'value'], rows.slice(0, 60));
}

async function runSection(section: Section): Promise<SectionResult> {
  const started = new Date();
  const t0 = performance.now();
  const args = ['--import', 'tsx', section.script, ...section.args];
  console.log(`\n=== ${section.name}: node ${args.join(' ')}`);
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    process.stdout.write(d);
  });
  const timer = setTimeout(() => child.kill('SIGTERM'), Number(values['timeout-minutes']) * 60_000);
  const exitCode = await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  clearTimeout(timer);
  return resultFromOutput(section, stdout, started, (performance.now() - t0) / 1000, exitCode);
}

function resultFromOutput(section: Section, stdout: string, started: Date, seconds: number, exitCode: number | null): SectionResult {
  const lines = stdout.trim().split('\n').filter((l) => !l.startsWith('npm warn'));
  let json: Json | null = null;
  try {
    json = JSON.parse(lines.at(-1) ?? '') as Json;
  } catch {
    json = null;
  }
  return {
    section: section.name,
    command: `npx tsx ${section.script} ${section.args.join(' ')}`.trim(),
    startedAt: started.toISOString(),
    durationS: Math.round(seconds * 10) / 10,
    exitCode,
    machine: lines.find((l) => l.startsWith('machine:')) ?? null,
    summary: lines.slice(0, -1).filter((l) => !l.startsWith('machine:')).slice(-25),
    json,
  };
}

/** The Reliability table: requests sent, answered, lost and errors by class, per reliability section. */
function reliabilitySummary(): string[] {
  const rows: unknown[][] = [];
  const fuzz = readResult('fuzz')?.json;
  for (const t of fuzz ? fuzzTargets(fuzz) : []) {
    if (t.skipped) {
      rows.push([`fuzz: ${t.target}`, 0, 0, 0, `skipped: ${t.skipped}`, t.ok ? 'skipped' : 'FAIL']);
      continue;
    }
    const codes = Object.entries(t.byCode ?? {}).filter(([c]) => c !== 'ok' && c !== 'head').sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ');
    rows.push([`fuzz: ${t.target} (bad requests)`, t.sent, t.answered, t.lost, `2xx ${statusClass(t.byStatus, 200)}, 4xx ${statusClass(t.byStatus, 400)}, 5xx ${statusClass(t.byStatus, 500)}; violations ${t.violations}, crashes ${t.crashes ?? 0}; by code: ${codes}`, t.ok ? 'pass' : 'FAIL']);
  }
  const faults = readResult('faults')?.json;
  if (faults) {
    const scenarios = scenariosOf(faults);
    const sent = scenarios.reduce((n, s) => n + num(s.requests), 0);
    const ok200 = scenarios.reduce((n, s) => n + num(s.answered200), 0);
    const lost = scenarios.reduce((n, s) => n + num(s.lost), 0);
    rows.push(['faults during load', sent, sent - lost, lost, `200 ${ok200}, other ${sent - lost - ok200}; degraded answers carry their reason`, faults.ok ? 'pass' : 'FAIL']);
  }
  const soak = readResult('soak')?.json;
  if (soak) {
    const errors = num(soak.errors) + num(soak.timeouts) + num(soak.non2xx);
    rows.push([`soak (${soak.minutes} min)`, soak.requests, num(soak.requests) - num(soak.errors) - num(soak.timeouts), num(soak.errors) + num(soak.timeouts), `errors ${errors}; RSS ${soak.rss_start_mib} → ${soak.rss_end_mib} MiB (${soak.rss_growth_pct} %)`, soak.ok ? 'pass' : 'FAIL']);
  }
  if (rows.length === 0) return [];
  return ['## Reliability', '', table(['run', 'requests sent', 'answered', 'lost', 'answers by class', 'result'], rows)];
}

/** The README's headline table, between <!-- bench-table --> and <!-- /bench-table -->. */
function writeReadmeTable(): void {
  const readmePath = join(ROOT, 'README.md');
  if (!existsSync(readmePath)) return;
  const readme = readFileSync(readmePath, 'utf8');
  const start = '<!-- bench-table -->';
  const end = '<!-- /bench-table -->';
  if (!readme.includes(start)) return;
  const rows: unknown[][] = [];
  const load = readResult('load')?.json;
  if (load) {
    for (const r of runsOf(load).filter((r) => r.traffic === 'hit')) rows.push([`node server, cache hits, c=${r.connections}`, `${r.rps_per_server_core} req/s per server core, p99 ${r.p99_ms === 0 ? "< 1" : r.p99_ms} ms (bar: 5,000, 5 ms; autocannon has 1 ms resolution)`]);
  }
  const fuzz = readResult('fuzz')?.json;
  if (fuzz) rows.push(['fuzz: bad requests', fuzzTargets(fuzz).map((t) => (t.skipped ? `${t.target} skipped` : `${t.target} ${t.sent} sent, ${t.over500} ≥ 500, ${t.violations} without a JSON code, ${t.lost} lost`)).join('; ')]);
  const faults = readResult('faults')?.json;
  if (faults) rows.push(['faults during load', scenariosOf(faults).map((s) => `${s.scenario} ${s.answered200}/${s.requests} answered, p99 ${s.p99_ms} ms`).join('; ')]);
  const soak = readResult('soak')?.json;
  if (soak) rows.push([`soak ${soak.minutes} min`, `${soak.requests} requests, ${num(soak.errors) + num(soak.timeouts) + num(soak.non2xx)} errors, RSS ${soak.rss_start_mib} → ${soak.rss_end_mib} MiB (${soak.rss_growth_pct} %, bar < 10 %)`]);
  const fleet = readResult('fleet')?.json;
  if (fleet) {
    const b = fleet.bars as Record<string, number | boolean>;
    rows.push(['fleet simulation: cascade + cost-aware cache (modelled network)', `${Math.round(num(b.withinTargetShare) * 10_000) / 100} % within ${fleet.targetMs} ms (bar ≥ 95 %), accuracy gap ${b.accuracyGapPoints} points to always-regional (test-split traffic ${b.testSplitAccuracyGapPoints}; bar ≤ 0.2), cost ${b.costRatio} × always-regional (bar ≤ 0.65)`]);
  }
  const cascade = readResult('cascade')?.json;
  if (cascade) {
    const c = (cascade.calibrated as { test: { escalationRate: number; accuracyPct: number; costPerMillionUsd: number } }).test;
    const ref = cascade.reference as { test: { regionalOnlyPct: number } };
    rows.push(['cascade at the calibrated threshold, test split', `escalates ${Math.round(c.escalationRate * 10_000) / 100} %, ${c.accuracyPct} % vs regional-only ${ref.test.regionalOnlyPct} % (gap ${(cascade.bar as { testGapPoints: number }).testGapPoints} points, bar ≤ 0.2), $${c.costPerMillionUsd} per 1M`]);
  }
  const engine = readResult('engine')?.json;
  if (engine) rows.push(['edge model warm run, p50', `micro ${engine.micro_p50_us} µs, ort-web ${engine.ort_web_p50_us} µs, ort-node ${engine.ort_node_p50_us} µs`]);
  const quantization = readResult('quantization')?.json;
  if (quantization) {
    const sizes = quantization.sizes as Record<string, Record<string, number>>;
    const kb = (b: number) => `${Math.round(b / 1024)} KB`;
    rows.push([
      'edge model int8 vs fp32 twin, warm p50',
      `${quantRows(quantization).map((r) => `${r.engine} ${r.precision} ${r.p50_us} µs`).join(', ')}; onnx gzip ${kb(num(sizes.int8?.onnx_gzip_bytes))} vs ${kb(num(sizes.fp32?.onnx_gzip_bytes))}; test accuracy ${quantization.int8_test_accuracy} vs ${quantization.fp32_test_accuracy}`,
    ]);
  }
  if (rows.length === 0) return;
  const block = `${start}\n\n${table(['measure (npm run bench, BENCHMARKS.md)', 'latest'], rows)}\n\n${end}`;
  const from = readme.indexOf(start);
  const to = readme.includes(end) ? readme.indexOf(end) + end.length : from + start.length;
  writeFileSync(readmePath, readme.slice(0, from) + block + readme.slice(to));
}

function readResult(name: string): SectionResult | null {
  const file = join(RESULTS, `${name}.json`);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as SectionResult) : null;
}

function writeReport(): void {
  mkdirSync(CHARTS, { recursive: true });
  const parts: string[] = [
    '# Benchmarks',
    '',
    'Written by `npm run bench` (bench/run-all.ts) from the latest run of each section (bench/results/). Every section names the machine, runtime and command; comparisons inside a section ran side by side in one run. These machines are shared and noisy: read ratios and orders of magnitude, not the third digit.',
    '',
  ];
  parts.push(...reliabilitySummary(), '');
  const missing: string[] = [];
  for (const section of SECTIONS) {
    const result = readResult(section.name);
    parts.push(`## ${section.title}`, '', section.about, '');
    if (!result || !result.json) {
      missing.push(section.name);
      parts.push(result ? `Last run failed (exit ${result.exitCode}, ${result.startedAt}); rerun \`npm run bench -- --only ${section.name}\`.` : `Not run yet: \`npm run bench -- --only ${section.name}\`.`, '');
      continue;
    }
    parts.push(`- run: \`${result.command}\`, ${result.startedAt}${Number.isFinite(result.durationS) ? `, ${result.durationS} s` : ''}, exit ${result.exitCode}`, `- ${result.machine ?? 'machine: not printed'}`, '');
    for (const [i, chart] of (section.charts?.(result.json) ?? []).entries()) {
      const file = `${section.name}-${i + 1}.svg`;
      writeFileSync(join(CHARTS, file), chart.svg);
      parts.push(`![${chart.title}](bench/charts/${file})`, '');
    }
    parts.push(section.table ? section.table(result.json) : scalarTable(result.json), '');
    // Hand-written findings that go with the numbers (profiles, diagnostics), kept beside the result.
    const notes = join(RESULTS, `${section.name}.notes.md`);
    if (existsSync(notes)) parts.push(readFileSync(notes, 'utf8').trim(), '');
    if (result.summary.length) parts.push('<details><summary>printed summary</summary>', '', '```text', ...result.summary, '```', '', '</details>', '');
  }
  if (missing.length) parts.splice(4, 0, `Sections without a result in this report: ${missing.join(', ')}.`, '');
  writeFileSync(join(ROOT, 'BENCHMARKS.md'), parts.join('\n'));
  writeReadmeTable();
  console.log(`\nwrote BENCHMARKS.md (${SECTIONS.length - missing.length}/${SECTIONS.length} sections${missing.length ? `; missing: ${missing.join(', ')}` : ''})`);
}

const only = values.only ? new Set(values.only.split(',')) : null;
const skip = new Set((values.skip ?? '').split(',').filter(Boolean));
mkdirSync(RESULTS, { recursive: true });
for (const spec of values.record ?? []) {
  const [name, file] = spec.split('=') as [string, string];
  const section = SECTIONS.find((s) => s.name === name);
  if (!section || !file) throw new Error(`--record wants <section>=<log file>, sections: ${SECTIONS.map((s) => s.name).join(', ')}`);
  const text = readFileSync(file, 'utf8');
  const rc = /^rc=(\d+)$/m.exec(text);
  const { mtime } = (await import('node:fs')).statSync(file);
  const result = resultFromOutput(section, text.replace(/^rc=\d+$/m, ''), mtime, Number.NaN, rc ? Number(rc[1]) : null);
  result.command += ' (standalone run, recorded)';
  writeFileSync(join(RESULTS, `${name}.json`), JSON.stringify(result, null, 2) + '\n');
}
if (!values['report-only'] && !values.record) {
  for (const section of SECTIONS) {
    if ((only && !only.has(section.name)) || skip.has(section.name)) continue;
    const result = await runSection(section);
    writeFileSync(join(RESULTS, `${section.name}.json`), JSON.stringify(result, null, 2) + '\n');
  }
}
writeReport();
const failed = SECTIONS.map((s) => readResult(s.name)).filter((r) => r && r.exitCode !== 0);
console.log(JSON.stringify({ bench: 'all', sections: SECTIONS.length, withResults: SECTIONS.filter((s) => readResult(s.name)?.json).length, failed: failed.map((r) => r!.section) }));
