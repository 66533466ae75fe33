// What `npm start`'s old-space cap (--max-old-space-size=256) costs and saves, side by side in
// one run: two servers, one with `npm start`'s node flags and one without any, both filled
// like the soak (L1 and ghost lists at their bounds), then the soak traffic alternates between
// them in short slices so both see the same machine. Per slice: req/s, p99, server CPU per
// request (from /proc) and RSS. Reports medians per server and the ratios.
// Usage: npx tsx bench/heap-cap.ts [--slices 6] [--slice-seconds 15] [--connections 16]. Last line: one JSON object.
import autocannon from 'autocannon';
import { parseArgs } from 'node:util';
import { DEFAULT_CACHE_POLICY_OPTIONS } from '../core/cache/policy.ts';
import { npmStartNodeFlags, startServerProcess, type ServerProcess } from './server-process.ts';
import { fillRequests, soakRequests } from './soak-traffic.ts';
import { machineLine, quantile } from './stats.ts';

const median = (xs: number[]) => quantile([...xs].sort((x, y) => x - y), 0.5);

const { values } = parseArgs({
  options: {
    slices: { type: 'string', default: '6' },
    'slice-seconds': { type: 'string', default: '15' },
    connections: { type: 'string', default: '16' },
  },
});
const slices = Number(values.slices);
const sliceSeconds = Number(values['slice-seconds']);
const connections = Number(values.connections);
const soakTraffic = soakRequests('cap');

console.log(await machineLine());
const capped = npmStartNodeFlags();
const variants: Array<{ name: string; flags: string[]; server?: ServerProcess; slices: Array<{ rps: number; p99: number; cpuUsPerReq: number; rssMiB: number; errors: number }> }> = [
  { name: 'npm start flags', flags: capped, slices: [] },
  { name: 'no flags', flags: [], slices: [] },
];
try {
  for (const v of variants) {
    v.server = await startServerProcess({ EDGEINFER_RATE_LIMIT: 'off' }, v.flags);
    await autocannon({
      url: v.server.url,
      connections,
      amount: Math.ceil(DEFAULT_CACHE_POLICY_OPTIONS.ghostEntries * 1.1),
      timeout: 10,
      requests: fillRequests(),
    });
  }
  // One warm-up slice each, not counted; then alternate, the order flipped every round.
  for (let round = -1; round < slices; round++) {
    for (const v of round % 2 === 0 ? variants : [...variants].reverse()) {
      const server = v.server as ServerProcess;
      const cpu0 = server.cpuSeconds();
      const r = await autocannon({ url: server.url, connections, duration: sliceSeconds, requests: soakTraffic, timeout: 10 });
      const cpu = server.cpuSeconds() - cpu0;
      if (round < 0) continue;
      const slice = { rps: Math.round(r.requests.total / r.duration), p99: r.latency.p99, cpuUsPerReq: Math.round((cpu / r.requests.total) * 1e7) / 10, rssMiB: Math.round((server.rssBytes() / 2 ** 20) * 10) / 10, errors: r.errors + r.timeouts + r.non2xx };
      v.slices.push(slice);
      console.log(`  round ${round + 1} ${v.name.padEnd(16)} ${slice.rps} req/s, p99 ${slice.p99} ms, server CPU ${slice.cpuUsPerReq} µs/request, RSS ${slice.rssMiB} MiB`);
    }
  }
} finally {
  for (const v of variants) await v.server?.stop();
}
const summary = variants.map((v) => ({
  name: v.name,
  flags: v.flags,
  rps: median(v.slices.map((s) => s.rps)),
  p99_ms: median(v.slices.map((s) => s.p99)),
  cpu_us_per_request: median(v.slices.map((s) => s.cpuUsPerReq)),
  rss_mib_median: median(v.slices.map((s) => s.rssMiB)),
  rss_mib_range: [Math.min(...v.slices.map((s) => s.rssMiB)), Math.max(...v.slices.map((s) => s.rssMiB))],
  errors: v.slices.reduce((a, s) => a + s.errors, 0),
  slices: v.slices,
}));
const [a, b] = summary as [(typeof summary)[number], (typeof summary)[number]];
const ratio = (x: number, y: number) => Math.round((x / y) * 100) / 100;
console.log(
  `medians of ${slices} alternating ${sliceSeconds}-s slices: ${a.name} (${a.flags.join(' ')}) ${a.rps} req/s, p99 ${a.p99_ms} ms, ${a.cpu_us_per_request} µs CPU/request, RSS ${a.rss_mib_range.join('–')} MiB; ` +
    `${b.name} ${b.rps} req/s, p99 ${b.p99_ms} ms, ${b.cpu_us_per_request} µs CPU/request, RSS ${b.rss_mib_range.join('–')} MiB; ratio capped/uncapped: req/s ${ratio(a.rps, b.rps)}, CPU/request ${ratio(a.cpu_us_per_request, b.cpu_us_per_request)}`,
);
console.log(JSON.stringify({ bench: 'heap-cap', slices, slice_seconds: sliceSeconds, connections, variants: summary }));
