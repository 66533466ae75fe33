// Benchmark: throughput and latency of the node server (`npm start`'s entry, a child process)
// under autocannon at concurrency 1, 16 and 64, on cache-hit traffic (a warmed set of
// test-split messages, answered from L1) and on miss traffic (every text unique: preprocess,
// edge model, and the real in-process regional model for unconfident ones).
// autocannon runs in this process and shares the machine's cores with the server: req/s per
// server CPU-second (from /proc) is reported beside raw req/s, with that caveat.
// Usage: npx tsx bench/load.ts [--seconds 10] [--messages 200] [--connections 1,16,64] [--traffic floor,hit,miss]
// Last line: one JSON object.
import autocannon, { type Result } from 'autocannon';
import { parseArgs } from 'node:util';
import { loadSplits } from '../models/training/dataset.ts';
import { npmStartNodeFlags, startServerProcess, type ServerProcess } from './server-process.ts';
import { machineLine } from './stats.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    messages: { type: 'string', default: '200' },
    connections: { type: 'string', default: '1,16,64' },
    traffic: { type: 'string', default: 'floor,hit,miss' },
    label: { type: 'string', default: '' },
  },
});
const seconds = Number(values.seconds);
const connectionsList = (values.connections as string).split(',').map(Number);
const trafficKinds = (values.traffic as string).split(',') as Array<'hit' | 'miss'>;

// Real messages, cut to a typical request size; the edge model reads the first 1,000 body chars.
const texts = loadSplits()
  .test.slice(0, Number(values.messages))
  .map((m) => m.text.slice(0, 1500));
const headers = { 'content-type': 'application/json' };

/** One measured run. */
export interface LoadRun {
  traffic: 'hit' | 'miss';
  connections: number;
  seconds: number;
  requests: number;
  rps: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  server_cpu_s: number;
  /** Requests per second of server CPU time: the per-core throughput. */
  rps_per_server_core: number;
  /** Server CPU use during the run, in cores (≤ 1: node serves on one thread). */
  server_cores: number;
}

async function run(server: ServerProcess, traffic: 'hit' | 'miss', connections: number): Promise<LoadRun> {
  let counter = 0;
  const requests =
    traffic === 'hit'
      ? texts.map((text) => ({ method: 'POST', path: '/v1/predict', headers, body: JSON.stringify({ text }) }))
      : [
          {
            method: 'POST',
            path: '/v1/predict',
            headers,
            // A unique first word per request: a new cache key and new token ids every time.
            setupRequest: (request: { body?: string }) => ({ ...request, body: JSON.stringify({ text: `nonce${counter++} ${texts[counter % texts.length]}` }) }),
          },
        ];
  const cpu0 = server.cpuSeconds();
  const t0 = performance.now();
  const result: Result = await autocannon({ url: server.url, connections, duration: seconds, requests, timeout: 10 });
  const wall = (performance.now() - t0) / 1000;
  const cpu = server.cpuSeconds() - cpu0;
  const total = result.requests.total;
  return {
    traffic,
    connections,
    seconds: Math.round(wall * 10) / 10,
    requests: total,
    rps: Math.round(total / result.duration),
    p50_ms: result.latency.p50,
    p90_ms: result.latency.p90,
    p99_ms: result.latency.p99,
    max_ms: result.latency.max,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    server_cpu_s: Math.round(cpu * 100) / 100,
    rps_per_server_core: cpu > 0 ? Math.round(total / cpu) : 0,
    server_cores: Math.round((cpu / wall) * 100) / 100,
  };
}

console.log(await machineLine());
console.log(`autocannon 9.0.0 in this process, server in a child process (both share the cores); ${seconds} s per run; ${texts.length} test-split messages (≤ 1,500 chars)`);
// The floor: bare node:http answering a fixed JSON body after reading the request, same
// autocannon, same machine: what any handler on node:http can reach here.
const FLOOR_SERVER = `require('node:http').createServer((q, s) => { q.resume(); q.on('end', () => { s.writeHead(200, { 'content-type': 'application/json' }); s.end('{"label":"ham"}'); }); }).listen(0, '127.0.0.1', function () { console.log('ready on http://127.0.0.1:' + this.address().port); });`;
const runs: LoadRun[] = [];
if (trafficKinds.includes('floor' as 'hit')) {
  const floor = await startServerProcess({}, [], ['-e', FLOOR_SERVER]);
  try {
    for (const connections of connectionsList) {
      const r = { ...(await run(floor, 'hit', connections)), traffic: 'floor' as 'hit' };
      runs.push(r);
      console.log(`floor c=${String(connections).padStart(2)}  ${String(r.rps).padStart(6)} req/s  p50 ${r.p50_ms} ms  p99 ${r.p99_ms} ms  server ${r.server_cores} cores → ${r.rps_per_server_core} req/s per server core (bare node:http)`);
    }
  } finally {
    await floor.stop();
  }
}
// As `npm start` runs it: the same node flags (the old-space cap), the default rate limiter on at a
// limit that never refuses (BENCH_RATE_LIMIT, so its cost is in the figures).
const server = await startServerProcess({}, npmStartNodeFlags());
try {
  // Warm: JIT, and every hit-traffic message into L1 (escalated ones with their regional answer).
  for (const text of texts) {
    const response = await fetch(`${server.url}/v1/predict`, { method: 'POST', headers, body: JSON.stringify({ text }) });
    if (response.status !== 200) throw new Error(`warmup answered ${response.status}: ${await response.text()}`);
  }
  await autocannon({ url: server.url, connections: 16, duration: 2, requests: texts.map((text) => ({ method: 'POST', path: '/v1/predict', headers, body: JSON.stringify({ text }) })) });
  for (const traffic of trafficKinds.filter((t) => t !== ('floor' as 'hit'))) {
    for (const connections of connectionsList) {
      const r = await run(server, traffic, connections);
      runs.push(r);
      console.log(
        `${traffic.padEnd(4)} c=${String(connections).padStart(2)}  ${String(r.rps).padStart(6)} req/s  p50 ${r.p50_ms} ms  p99 ${r.p99_ms} ms  max ${r.max_ms} ms  ` +
          `errors ${r.errors} timeouts ${r.timeouts} non2xx ${r.non2xx}  server ${r.server_cores} cores → ${r.rps_per_server_core} req/s per server core`,
      );
    }
  }
} finally {
  await server.stop();
}
const hit = runs.filter((r) => r.traffic === 'hit');
const best = hit.reduce((a, b) => (b.rps_per_server_core > a.rps_per_server_core ? b : a), hit[0] ?? runs[0]!);
console.log(
  JSON.stringify({
    bench: 'load',
    label: values.label || undefined,
    seconds,
    messages: texts.length,
    runs,
    hit_best_rps_per_server_core: best?.rps_per_server_core,
    hit_p99_ms_max: Math.max(...hit.map((r) => r.p99_ms)),
  }),
);
