// Soak: N minutes of steady load on the node server (`npm start`'s entry and node flags, a
// child process): RSS sampled from /proc every 5 s, errors counted. Pass: RSS growth < 10 %
// from the end of the warm-up to the end of the run, and 0 errors (socket errors, timeouts,
// non-2xx).
// The warm-up brings every bounded structure to its bound before "start" is read, since a
// bounded structure filling up is not a leak: it first sends unique messages until the L1
// cache (10,000 entries) and the cache policy's ghost lists (20,000 keys) are full, then runs
// the soak traffic itself for a minute so V8 has sized its heap for this load.
// The bar is end vs start; beside it the run reports the trend, so a sawtooth (V8 letting
// garbage pile up between full collections) can be told from a leak: the least-squares slope
// of RSS over the second half of the run, and the lowest sample of the last minute against
// the lowest of the first.
// Traffic: test-split messages, 90 % repeats (L1 hits) and 10 % unique (misses that churn
// the L1 and the ghost lists at their bounds), through autocannon 9.0.0 at 16 connections.
// The server's per-client rate limit is turned off (EDGEINFER_RATE_LIMIT=off): one client
// sending 1,800 req/s is the point here, not something to refuse.
// Usage: npx tsx bench/soak.ts [--minutes 5] [--connections 16] [--warmup-seconds 60]
//        [--fill-requests 22000] [--server-node-args="--max-old-space-size=512"] (replaces
//        the flags `npm start` uses). Last line: one JSON object.
import autocannon from 'autocannon';
import { parseArgs } from 'node:util';
import { DEFAULT_CACHE_POLICY_OPTIONS } from '../core/cache/policy.ts';
import { npmStartNodeFlags, startServerProcess } from './server-process.ts';
import { machineLine } from './stats.ts';
import { rssTrend } from './rss-trend.ts';
import { fillRequests as fillTraffic, soakRequests } from './soak-traffic.ts';

// L1 entries (EDGEINFER_CACHE_L1_ENTRIES default) and ghost keys per tier, plus a 10 % margin.
const FILL_DEFAULT = Math.ceil(Math.max(10_000, DEFAULT_CACHE_POLICY_OPTIONS.ghostEntries) * 1.1);

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    connections: { type: 'string', default: '16' },
    'warmup-seconds': { type: 'string', default: '60' },
    'fill-requests': { type: 'string', default: String(FILL_DEFAULT) },
    // Node flags for the server instead of `npm start`'s, e.g. to tell heap sizing from a leak.
    'server-node-args': { type: 'string' },
  },
});
const minutes = Number(values.minutes);
const connections = Number(values.connections);
const warmupSeconds = Number(values['warmup-seconds']);
const fillRequests = Number(values['fill-requests']);
const requests = soakRequests('soak');

console.log(await machineLine());
const serverNodeArgs = values['server-node-args'] !== undefined ? values['server-node-args'].split(' ').filter(Boolean) : npmStartNodeFlags();
const nodeArgsSource = values['server-node-args'] !== undefined ? '--server-node-args' : 'npm start';
const server = await startServerProcess({ EDGEINFER_RATE_LIMIT: 'off' }, serverNodeArgs);
const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
const samples: Array<{ t: number; rssMiB: number }> = [];
const warmupSamples: Array<{ t: number; rssMiB: number }> = [];
let result: Awaited<ReturnType<typeof autocannon>>;
let warm: Awaited<ReturnType<typeof autocannon>>;
let fill: Awaited<ReturnType<typeof autocannon>>;
let rssStart: number;
let rssEnd: number;
let cpuSeconds: number;
try {
  fill = await autocannon({
    url: server.url,
    connections,
    amount: fillRequests,
    timeout: 10,
    requests: fillTraffic(),
  });
  console.log(`fill: ${fillRequests} unique messages (L1 10,000 entries, ghost lists ${DEFAULT_CACHE_POLICY_OPTIONS.ghostEntries} keys); RSS ${mib(server.rssBytes())} MiB; server node flags (${nodeArgsSource}): ${serverNodeArgs.join(' ') || 'none'}`);
  const w0 = performance.now();
  const warmSampler = setInterval(() => warmupSamples.push({ t: Math.round((performance.now() - w0) / 1000), rssMiB: mib(server.rssBytes()) }), 5_000);
  warm = await autocannon({ url: server.url, connections, duration: warmupSeconds, requests, timeout: 10 });
  clearInterval(warmSampler);
  rssStart = server.rssBytes();
  console.log(`warm-up ${warmupSeconds} s of soak traffic: ${warm.requests.total} requests; RSS ${warmupSamples.map((s) => s.rssMiB).join(', ')} → start ${mib(rssStart)} MiB; soaking ${minutes} min at ${connections} connections`);
  const t0 = performance.now();
  const cpu0 = server.cpuSeconds();
  const sampler = setInterval(() => {
    const sample = { t: Math.round((performance.now() - t0) / 1000), rssMiB: mib(server.rssBytes()) };
    samples.push(sample);
    if (sample.t % 60 < 5) console.log(`  t=${sample.t}s RSS ${sample.rssMiB} MiB`);
  }, 5_000);
  result = await autocannon({ url: server.url, connections, duration: Math.round(minutes * 60), requests, timeout: 10 });
  clearInterval(sampler);
  rssEnd = server.rssBytes();
  samples.push({ t: Math.round((performance.now() - t0) / 1000), rssMiB: mib(rssEnd) });
  cpuSeconds = server.cpuSeconds() - cpu0;
} finally {
  await server.stop();
}
const growth = (rssEnd - rssStart) / rssStart;
const trend = rssTrend(samples);
const errors = result.errors + result.timeouts + result.non2xx;
const setupErrors = fill.errors + fill.timeouts + fill.non2xx + warm.errors + warm.timeouts + warm.non2xx;
const ok = growth < 0.1 && errors === 0 && setupErrors === 0;
console.log(
  `soak ${minutes} min: ${result.requests.total} requests (${Math.round(result.requests.total / result.duration)} req/s), p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms; ` +
    `errors ${result.errors}, timeouts ${result.timeouts}, non-2xx ${result.non2xx} (fill + warm-up: ${setupErrors}); RSS ${mib(rssStart)} → ${mib(rssEnd)} MiB (${(growth * 100).toFixed(1)} %, the bar); ` +
    `trend: range ${trend.minMiB}–${trend.maxMiB} MiB, slope over the second half ${trend.slopeMiBPerMin} MiB/min, lowest of the last minute vs the first ${trend.lowFirstMinuteMiB} → ${trend.lowLastMinuteMiB} MiB (${trend.lowGrowthPct} %); ${ok ? 'PASS' : 'FAIL'}`,
);
console.log(
  JSON.stringify({
    bench: 'soak',
    ok,
    minutes,
    connections,
    requests: result.requests.total,
    rps: Math.round(result.requests.total / result.duration),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    setup_errors: setupErrors,
    rss_start_mib: mib(rssStart),
    rss_end_mib: mib(rssEnd),
    rss_growth_pct: Math.round(growth * 1000) / 10,
    rss_min_mib: trend.minMiB,
    rss_max_mib: trend.maxMiB,
    rss_slope_second_half_mib_per_min: trend.slopeMiBPerMin,
    rss_low_first_minute_mib: trend.lowFirstMinuteMiB,
    rss_low_last_minute_mib: trend.lowLastMinuteMiB,
    rss_low_growth_pct: trend.lowGrowthPct,
    fill_requests: fillRequests,
    warmup_seconds: warmupSeconds,
    warmup_requests: warm.requests.total,
    server_node_args: serverNodeArgs,
    server_node_args_source: nodeArgsSource,
    server_cpu_s: Math.round(cpuSeconds * 10) / 10,
    warmup_rss_samples: warmupSamples,
    rss_samples: samples,
  }),
);
process.exit(ok ? 0 : 1);
