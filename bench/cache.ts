// Benchmark (not a test) of the prediction cache, on this machine, real Redis behind the
// local Upstash REST server, the real edge model (models/spam-edge) and real corpus text.
//  1. Latency side by side, interleaved: an L1 hit, an L2 hit (REST → Redis), and a miss
//     (the model path: preprocess + edge model), each including the input hash.
//  2. Zipf replay (s = 1.1) for each policy (off, l1, always, auto) over the same request
//     sequence: hit ratio per level, Redis commands per request, regional calls avoided,
//     and cost per 1M predictions from the price table. The regional call is counted and
//     priced, not run (its latency is modeled by --regional-ms).
// Usage: npm run bench:cache -- [--requests 100000] [--distinct 10000] [--isolates 1]
//        [--l1-entries 10000] [--latency-iterations 2000] [--regional-ms 40] [--models-dir DIR]
//        [--regional-memory-gb G --regional-billed-ms MS] (price a bigger regional model)
//        [--threshold T] (cascade threshold; default model.json's, else 0.99)
// Last line: one JSON object.
import { parseArgs } from 'node:util';
import { Redis as IoRedis } from 'ioredis';
import { startUpstashRestServer } from '../adapters/upstash-rest-local/server.ts';
import { createLocalService } from '../adapters/node/local-service.ts';
import { inputHash, predictionKey } from '../core/cache/keys.ts';
import { modelFingerprint } from '../core/cache/model-identity.ts';
import { CachePolicy, type CachePolicyMode } from '../core/cache/policy.ts';
import { DEFAULT_PRICE_TABLE, perMillion, regionalCallUsd, type PriceTable } from '../core/cache/price-table.ts';
import { createUpstashRemoteCache, type RemoteCache } from '../core/cache/remote-cache.ts';
import { TwoLevelCache } from '../core/cache/two-level-cache.ts';
import { createPrng } from '../models/training/prng.ts';
import { machineLine, summarize, type Summary } from './stats.ts';
import { trafficMessages, zipfSequence } from './zipf-traffic.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '100000' },
    distinct: { type: 'string', default: '10000' },
    zipf: { type: 'string', default: '1.1' },
    isolates: { type: 'string', default: '1' },
    'l1-entries': { type: 'string', default: '10000' },
    'latency-iterations': { type: 'string', default: '2000' },
    'regional-ms': { type: 'string', default: '40' },
    concurrency: { type: 'string', default: '16' },
    seed: { type: 'string', default: '20261128' },
    model: { type: 'string', default: 'spam-edge' },
    'models-dir': { type: 'string' },
    threshold: { type: 'string' },
    'regional-memory-gb': { type: 'string' },
    'regional-billed-ms': { type: 'string' },
  },
});
const REQUESTS = Number(values.requests);
const DISTINCT = Number(values.distinct);
const ZIPF_S = Number(values.zipf);
const ISOLATES = Number(values.isolates);
const L1_ENTRIES = Number(values['l1-entries']);
const LATENCY_ITERATIONS = Number(values['latency-iterations']);
const REGIONAL_MS = Number(values['regional-ms']);
const CONCURRENCY = Number(values.concurrency);
const SEED = Number(values.seed);
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const TOKEN = 'bench-cache-token';
const TTL_SECONDS = 3600;
const prices: PriceTable = {
  ...DEFAULT_PRICE_TABLE,
  ...(values['regional-memory-gb'] ? { regionalMemoryGb: Number(values['regional-memory-gb']) } : {}),
  ...(values['regional-billed-ms'] ? { regionalBilledMs: Number(values['regional-billed-ms']) } : {}),
};

console.log(await machineLine());

// --- corpus messages: every split (no training happens here), made up to DISTINCT with
// deterministic variants when the corpus is smaller (it has about 6,000 messages).
const traffic = trafficMessages(DISTINCT);
const messages = traffic.messages.map((m) => m.text);
console.log(`messages: ${messages.length} distinct (${traffic.corpusSize} corpus messages, ${Math.max(0, messages.length - traffic.corpusSize)} variants)`);

// --- the real edge model: its answers and confidence decide which requests escalate.
const service = createLocalService(values['models-dir'] ? { modelsRoot: values['models-dir'] } : {});
const edge = await service.context.requireModel(values.model as string);
// The calibrated threshold when model.json has one; else 0.99 (about 6 % of calibration messages escalate).
const threshold = values.threshold ? Number(values.threshold) : (edge.manifest.cascade.threshold ?? 0.99);
const catalog = await service.context.models.catalog();
const regionalName = 'spam-regional';
// Keys as the service builds them: the model fingerprint per key space (edge `e`, regional `r`).
let regionalFp = `${'0'.repeat(48)}${'regional'.split('').map((c) => c.charCodeAt(0).toString(16)).join('')}`.slice(-64);
if (catalog.has(regionalName)) regionalFp = modelFingerprint((await service.context.requireModel(regionalName)).manifest);
const edgeFp = modelFingerprint(edge.manifest);

interface EdgeAnswer {
  label: string;
  scores: Record<string, number>;
  confidence: number;
}
const edgeAnswers: EdgeAnswer[] = [];
const hashes: string[] = [];
for (const text of messages) {
  const result = await edge.classifyIds(edge.preprocessor.toIds(text));
  edgeAnswers.push({ label: result.label, scores: result.scores, confidence: result.confidence });
  hashes.push(await inputHash(text));
}
const escalates = edgeAnswers.map((a) => a.confidence < threshold);
console.log(`edge model ${edge.manifest.name}@${edge.manifest.version} on ${edge.engine}; threshold ${threshold}; ${escalates.filter(Boolean).length} of ${messages.length} distinct messages escalate`);

const rest = await startUpstashRestServer({ port: 0, token: TOKEN, redisUrl: REDIS_URL });
const admin = new IoRedis(REDIS_URL);
async function clearModelKeys(): Promise<void> {
  for (const pattern of [`p:e:${edgeFp}:*`, `p:r:${regionalFp}:*`, `hot:e:${edgeFp}`, `hot:r:${regionalFp}`]) {
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await admin.del(...keys);
    } while (cursor !== '0');
  }
}
const newRemote = (): RemoteCache => createUpstashRemoteCache({ url: rest.url, token: TOKEN, budgetMs: 1_000 });

// --- 1. latency: L1 hit, L2 hit, miss, interleaved message by message.
await clearModelKeys();
const latencyRemote = newRemote();
const l1Cache = new TwoLevelCache({ policy: new CachePolicy({ mode: 'l1' }), hotKeySampleEvery: 0 });
const l2Cache = new TwoLevelCache({ policy: new CachePolicy({ mode: 'always' }), remote: latencyRemote, l1MaxEntries: 0, hotKeySampleEvery: 0 });
const missCache = new TwoLevelCache({ policy: new CachePolicy({ mode: 'l1' }), hotKeySampleEvery: 0 });
const sample = Array.from({ length: Math.min(500, messages.length) }, (_, i) => i);
for (const i of sample) {
  const key = predictionKey({ space: 'e', fingerprint: edgeFp, inputHash: hashes[i] as string });
  l1Cache.put(key, 'edge', edgeAnswers[i], TTL_SECONDS);
  await latencyRemote.set(key, JSON.stringify(edgeAnswers[i]), TTL_SECONDS);
}
const timesUs: Record<'l1Hit' | 'l2Hit' | 'miss', number[]> = { l1Hit: [], l2Hit: [], miss: [] };
async function timed(kind: keyof typeof timesUs, cache: TwoLevelCache, i: number, salt: string): Promise<void> {
  const text = messages[i] as string;
  const t0 = performance.now();
  const key = predictionKey({ space: 'e', fingerprint: edgeFp, inputHash: await inputHash(text + salt) });
  const { trace } = await cache.getOrCompute({
    key,
    tier: 'edge',
    ttlSeconds: TTL_SECONDS,
    compute: async () => {
      const r = await edge.classifyIds(edge.preprocessor.toIds(text));
      return { label: r.label, scores: r.scores, confidence: r.confidence };
    },
  });
  timesUs[kind].push((performance.now() - t0) * 1000);
  const expected = kind === 'l1Hit' ? 'l1' : kind === 'l2Hit' ? 'l2' : null;
  if (trace.level !== expected) throw new Error(`${kind}: expected level ${expected}, got ${trace.level} (${trace.l2})`);
}
for (let n = 0; n < LATENCY_ITERATIONS + 100; n++) {
  const i = sample[n % sample.length] as number;
  const order: Array<keyof typeof timesUs> = n % 3 === 0 ? ['l1Hit', 'l2Hit', 'miss'] : n % 3 === 1 ? ['l2Hit', 'miss', 'l1Hit'] : ['miss', 'l1Hit', 'l2Hit'];
  for (const kind of order) {
    if (kind === 'l1Hit') await timed(kind, l1Cache, i, '');
    else if (kind === 'l2Hit') await timed(kind, l2Cache, i, '');
    else await timed(kind, missCache, i, `\u0000${n}`); // a new input every time: always a miss
  }
  if (n === 99) for (const k of Object.keys(timesUs) as Array<keyof typeof timesUs>) timesUs[k].length = 0; // warmup
}
const latency = {
  l1HitUs: summarize(timesUs.l1Hit, 1),
  l2HitUs: summarize(timesUs.l2Hit, 1),
  missUs: summarize(timesUs.miss, 1),
};
console.log('latency (µs, includes the SHA-256 input hash):');
for (const [name, s] of Object.entries(latency)) console.log(`  ${name.padEnd(8)} p50 ${s.p50}  p99 ${s.p99}  (n ${s.n})`);

// --- 2. Zipf replay (bench/zipf-traffic.ts: the same sequence bench:fleet replays).
const sequence = zipfSequence({ requests: REQUESTS, distinct: messages.length, s: ZIPF_S, seed: SEED });
const isolateOf = (() => {
  const prng = createPrng(SEED + 1);
  return Array.from({ length: REQUESTS }, () => Math.floor(prng.next() * ISOLATES));
})();
const escalatedRequests = sequence.filter((m) => escalates[m]).length;

interface ReplayResult {
  policy: CachePolicyMode;
  l1HitRatio: number;
  l2HitRatio: number;
  regionalL1HitRatio: number;
  regionalL2HitRatio: number;
  redisCommandsPerRequest: number;
  regionalCalls: number;
  regionalCallsAvoided: number;
  costPerMillionUsd: number;
  costBreakdownPerMillionUsd: { edge: number; regional: number; redis: number };
  seconds: number;
  autoDecision?: { regional: string; edge: string; regionalNetUsdPerMillion: number | undefined; regionalHitRate: number | undefined; hitRateSource: string | undefined };
}

async function replay(policy: CachePolicyMode): Promise<ReplayResult> {
  await clearModelKeys();
  const remote = newRemote();
  const caches = Array.from({ length: ISOLATES }, () =>
    new TwoLevelCache({
      policy: new CachePolicy({ mode: policy, prices, knownComputeMs: { regional: REGIONAL_MS } }),
      remote,
      l1MaxEntries: L1_ENTRIES,
      hotKeySampleEvery: 0,
    }),
  );
  let regionalCalls = 0;
  const levels = { l1: 0, l2: 0, lookups: 0, regionalL1: 0, regionalL2: 0, regionalLookups: 0 };
  const started = performance.now();
  const serve = async (r: number) => {
    const m = sequence[r] as number;
    const cache = caches[isolateOf[r] as number] as TwoLevelCache;
    const edgeResult = await cache.getOrCompute({
      key: predictionKey({ space: 'e', fingerprint: edgeFp, inputHash: hashes[m] as string }),
      tier: 'edge',
      ttlSeconds: TTL_SECONDS,
      compute: async () => edgeAnswers[m] as EdgeAnswer,
    });
    levels.lookups++;
    if (edgeResult.trace.level === 'l1') levels.l1++;
    if (edgeResult.trace.level === 'l2') levels.l2++;
    if (!escalates[m]) return;
    const regional = await cache.getOrCompute({
      key: predictionKey({ space: 'r', fingerprint: regionalFp, inputHash: hashes[m] as string }),
      tier: 'regional',
      ttlSeconds: TTL_SECONDS,
      compute: async () => {
        regionalCalls++;
        return { label: (edgeAnswers[m] as EdgeAnswer).label, model: { fingerprint: regionalFp } };
      },
    });
    levels.lookups++;
    levels.regionalLookups++;
    if (regional.trace.level === 'l1') levels.l1++, levels.regionalL1++;
    if (regional.trace.level === 'l2') levels.l2++, levels.regionalL2++;
  };
  for (let r = 0; r < REQUESTS; r += CONCURRENCY) {
    const batch: Promise<void>[] = [];
    for (let k = r; k < Math.min(REQUESTS, r + CONCURRENCY); k++) batch.push(serve(k));
    await Promise.all(batch);
  }
  // Writes are detached (no waitUntil here): let the last ones land before counting.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const commands = remote.stats().commands;
  const edgeUsd = REQUESTS * prices.edgeRequestUsd;
  const regionalUsd = regionalCalls * regionalCallUsd(prices);
  const redisUsd = commands * prices.redisCommandUsd;
  const perReq = (usd: number) => perMillion(usd / REQUESTS);
  const ratio = (a: number, b: number) => Math.round((a / Math.max(1, b)) * 10_000) / 10_000;
  const result: ReplayResult = {
    policy,
    l1HitRatio: ratio(levels.l1, levels.lookups),
    l2HitRatio: ratio(levels.l2, levels.lookups),
    regionalL1HitRatio: ratio(levels.regionalL1, levels.regionalLookups),
    regionalL2HitRatio: ratio(levels.regionalL2, levels.regionalLookups),
    redisCommandsPerRequest: ratio(commands, REQUESTS),
    regionalCalls,
    regionalCallsAvoided: escalatedRequests - regionalCalls,
    costPerMillionUsd: perReq(edgeUsd + regionalUsd + redisUsd),
    costBreakdownPerMillionUsd: { edge: perReq(edgeUsd), regional: perReq(regionalUsd), redis: perReq(redisUsd) },
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
  if (policy === 'auto') {
    const explained = (caches[0] as TwoLevelCache).policy.explain();
    result.autoDecision = {
      regional: explained.tiers.regional.why,
      edge: explained.tiers.edge.why,
      regionalNetUsdPerMillion: explained.tiers.regional.comparison?.netUsdPerMillion,
      regionalHitRate: explained.tiers.regional.comparison?.hitRate,
      hitRateSource: explained.tiers.regional.comparison?.hitRateSource,
    };
  }
  return result;
}

console.log(
  `replay: ${REQUESTS} requests, Zipf s=${ZIPF_S} over ${messages.length} messages, ${ISOLATES} isolate(s), L1 ${L1_ENTRIES} entries, ` +
    `${escalatedRequests} escalations; prices: Redis $${perMillion(prices.redisCommandUsd)}/1M commands, regional $${perMillion(regionalCallUsd(prices))}/1M calls, edge $${perMillion(prices.edgeRequestUsd)}/1M`,
);
const results: ReplayResult[] = [];
for (const policy of ['off', 'l1', 'always', 'auto'] as const) {
  const result = await replay(policy);
  results.push(result);
  console.log(
    `  ${policy.padEnd(6)} L1 ${result.l1HitRatio}  L2 ${result.l2HitRatio}  redis cmd/req ${result.redisCommandsPerRequest}  ` +
      `regional calls ${result.regionalCalls} (avoided ${result.regionalCallsAvoided})  $${result.costPerMillionUsd}/1M  (${result.seconds} s)`,
  );
  if (result.autoDecision) console.log(`         ${result.autoDecision.regional}`);
}

const byPolicy = Object.fromEntries(results.map((r) => [r.policy, r])) as Record<CachePolicyMode, ReplayResult>;
const cheapestOther = Math.min(byPolicy.off.costPerMillionUsd, byPolicy.l1.costPerMillionUsd, byPolicy.always.costPerMillionUsd);
const avoidedVsAlways = byPolicy.always.regionalCallsAvoided > 0 ? byPolicy.auto.regionalCallsAvoided / byPolicy.always.regionalCallsAvoided : 1;
const bar = {
  autoNotMoreExpensiveThanCheapest: byPolicy.auto.costPerMillionUsd <= cheapestOther + 1e-9,
  autoAvoidedVsAlways: Math.round(avoidedVsAlways * 1000) / 1000,
  autoAvoidedWithin10PercentOfAlways: avoidedVsAlways >= 0.9,
};
console.log(`bar: auto cost ≤ cheapest other: ${bar.autoNotMoreExpensiveThanCheapest}; auto avoided / always avoided = ${bar.autoAvoidedVsAlways} (≥ 0.9: ${bar.autoAvoidedWithin10PercentOfAlways})`);

await clearModelKeys();
admin.disconnect();
await rest.close();
await service.close();

const summary: {
  bench: string;
  machine: string;
  latency: Record<string, Summary>;
  ratios: { l2HitOverL1Hit: number; missOverL1Hit: number; missOverL2Hit: number };
  replay: {
    requests: number;
    distinct: number;
    zipf: number;
    isolates: number;
    l1Entries: number;
    threshold: number;
    escalations: number;
    regionalMs: number;
    regionalCallPerMillionUsd: number;
    results: ReplayResult[];
  };
  bar: typeof bar;
} = {
  bench: 'cache',
  machine: await machineLine(),
  latency,
  ratios: {
    l2HitOverL1Hit: Math.round((latency.l2HitUs.p50 / latency.l1HitUs.p50) * 10) / 10,
    missOverL1Hit: Math.round((latency.missUs.p50 / latency.l1HitUs.p50) * 10) / 10,
    missOverL2Hit: Math.round((latency.missUs.p50 / latency.l2HitUs.p50) * 100) / 100,
  },
  replay: {
    requests: REQUESTS,
    distinct: messages.length,
    zipf: ZIPF_S,
    isolates: ISOLATES,
    l1Entries: L1_ENTRIES,
    threshold,
    escalations: escalatedRequests,
    regionalMs: REGIONAL_MS,
    regionalCallPerMillionUsd: perMillion(regionalCallUsd(prices)),
    results,
  },
  bar,
};
console.log(JSON.stringify(summary));
