// Soak: N minutes of steady load on the node server (`npm start`'s entry, a child process):
// RSS sampled from /proc every 5 s, errors counted. Pass: RSS growth < 10 % from the end of
// the warm-up to the end of the run, and 0 errors (socket errors, timeouts, non-2xx). The
// warm-up first fills the L1 cache to its entry bound with unique messages (a bounded cache
// filling up is not a leak: measured from an empty cache, RSS "grows" by the cache's size),
// then runs the soak traffic for 30 s.
// Traffic: test-split messages, 90 % repeats (L1 hits) and 10 % unique (misses that fill the
// L1 up to its bound), through autocannon 9.0.0 at 16 connections.
// Usage: npx tsx bench/soak.ts [--minutes 5] [--connections 16] [--server-node-args=--max-old-space-size=128].
// Last line: one JSON object.
import autocannon from 'autocannon';
import { parseArgs } from 'node:util';
import { loadSplits } from '../models/training/dataset.ts';
import { startServerProcess } from './server-process.ts';
import { machineLine } from './stats.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    connections: { type: 'string', default: '16' },
    'warmup-seconds': { type: 'string', default: '30' },
    // EDGEINFER_CACHE_L1_ENTRIES of the server (default 10,000) plus a margin.
    'fill-requests': { type: 'string', default: '12000' },
    // Node flags for the server, e.g. "--max-old-space-size=128" to tell heap sizing from a leak.
    'server-node-args': { type: 'string', default: '' },
  },
});
const minutes = Number(values.minutes);
const connections = Number(values.connections);
const warmupSeconds = Number(values['warmup-seconds']);
const texts = loadSplits()
  .test.slice(0, 300)
  .map((m) => m.text.slice(0, 1500));
const headers = { 'content-type': 'application/json' };
let counter = 0;
const requests = [
  {
    method: 'POST',
    path: '/v1/predict',
    headers,
    setupRequest: (request: { body?: string }) => {
      const i = counter++;
      const text = texts[i % texts.length] as string;
      return { ...request, body: JSON.stringify({ text: i % 10 === 0 ? `soak${i} ${text}` : text }) };
    },
  },
];

console.log(await machineLine());
const serverNodeArgs = (values['server-node-args'] as string).split(' ').filter(Boolean);
const server = await startServerProcess({}, serverNodeArgs);
const samples: Array<{ t: number; rssMiB: number }> = [];
const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
let result: Awaited<ReturnType<typeof autocannon>>;
let warm: Awaited<ReturnType<typeof autocannon>>;
let rssStart: number;
let rssEnd: number;
let cpuSeconds: number;
try {
  let fill = 0;
  const fillRequests = Number(values['fill-requests']);
  await autocannon({
    url: server.url,
    connections,
    amount: fillRequests,
    timeout: 10,
    requests: [{ method: 'POST', path: '/v1/predict', headers, setupRequest: (request: { body?: string }) => ({ ...request, body: JSON.stringify({ text: `fill${fill++} ${texts[fill % texts.length]}` }) }) }],
  });
  console.log(`L1 fill: ${fillRequests} unique messages; RSS ${mib(server.rssBytes())} MiB`);
  warm = await autocannon({ url: server.url, connections, duration: warmupSeconds, requests, timeout: 10 });
  rssStart = server.rssBytes();
  console.log(`warm-up ${warmupSeconds} s: ${warm.requests.total} requests; RSS ${mib(rssStart)} MiB; soaking ${minutes} min at ${connections} connections`);
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
  cpuSeconds = server.cpuSeconds() - cpu0;
} finally {
  await server.stop();
}
const growth = (rssEnd - rssStart) / rssStart;
const rssMax = Math.max(...samples.map((s) => s.rssMiB));
const errors = result.errors + result.timeouts + result.non2xx;
const ok = growth < 0.1 && errors === 0 && warm.errors + warm.timeouts + warm.non2xx === 0;
console.log(
  `soak ${minutes} min: ${result.requests.total} requests (${Math.round(result.requests.total / result.duration)} req/s), p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms; ` +
    `errors ${result.errors}, timeouts ${result.timeouts}, non-2xx ${result.non2xx}; RSS ${mib(rssStart)} → ${mib(rssEnd)} MiB (${(growth * 100).toFixed(1)} %, max ${rssMax}); ${ok ? 'PASS' : 'FAIL'}`,
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
    rss_start_mib: mib(rssStart),
    rss_end_mib: mib(rssEnd),
    rss_max_mib: rssMax,
    rss_growth_pct: Math.round(growth * 1000) / 10,
    fill_requests: Number(values['fill-requests']),
    warmup_seconds: warmupSeconds,
    server_node_args: serverNodeArgs,
    server_cpu_s: Math.round(cpuSeconds * 10) / 10,
    rss_samples: samples,
  }),
);
process.exit(ok ? 0 : 1);
