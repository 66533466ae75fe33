// `npm run warm -- --url <endpoint> [--url ...] [--every 5m] [--rounds N]`: pings /_warm on
// every endpoint (multi-PoP warming) with EDGEINFER_ADMIN_TOKEN, prints one line per answer
// and a summary of cold vs warm isolates per round; the last line is one JSON object.
// Without --every it runs one round; with it, until stopped (or --rounds).
import { parseArgs } from 'node:util';
import { parseInterval, warmEndpoints, type WarmResult } from './warm-endpoints.ts';

const { values } = parseArgs({
  options: { url: { type: 'string', multiple: true }, every: { type: 'string' }, rounds: { type: 'string' }, 'timeout-ms': { type: 'string' } },
});
const urls = values.url ?? [];
const token = process.env.EDGEINFER_ADMIN_TOKEN;
if (urls.length === 0 || !token) {
  console.error('usage: EDGEINFER_ADMIN_TOKEN=<token> npm run warm -- --url <endpoint> [--url ...] [--every 5m] [--rounds N]');
  if (!token) console.error('EDGEINFER_ADMIN_TOKEN is not set: it must be the token the deployment was configured with');
  process.exit(2);
}
let everyMs: number | undefined;
try {
  everyMs = values.every ? parseInterval(values.every) : undefined;
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}
const rounds = values.rounds ? Number(values.rounds) : everyMs ? Infinity : 1;
const timeoutMs = values['timeout-ms'] ? Number(values['timeout-ms']) : 30_000;

function line(r: WarmResult): string {
  const state = r.error ? `FAILED (${r.status}) ${r.error}` : r.cold ? 'cold → warmed' : 'already warm';
  const steps = r.steps ? Object.entries(r.steps).map(([s, ms]) => `${s} ${ms.toFixed(1)} ms`).join(', ') : '';
  return `  ${r.url}  ${state}  round trip ${r.roundTripMs.toFixed(0)} ms${steps ? `  [${steps}]` : ''}`;
}

const totals = { cold: 0, warm: 0, failed: 0, rounds: 0 };
let last: WarmResult[] = [];
for (let round = 1; round <= rounds; round++) {
  console.log(`round ${round}: warming ${urls.length} endpoint(s)`);
  const { results, summary } = await warmEndpoints(urls, token, { timeoutMs, onResult: (r) => console.log(line(r)) });
  last = results;
  totals.cold += summary.cold;
  totals.warm += summary.warm;
  totals.failed += summary.failed;
  totals.rounds++;
  console.log(`round ${round}: ${summary.cold} cold, ${summary.warm} warm, ${summary.failed} failed`);
  if (round < rounds && everyMs) await new Promise((resolve) => setTimeout(resolve, everyMs));
}
console.log(JSON.stringify({ warm: totals, last: last.map((r) => ({ url: r.url, status: r.status, cold: r.cold ?? null, roundTripMs: Math.round(r.roundTripMs * 10) / 10, error: r.error ?? null })) }));
if (totals.failed > 0) process.exitCode = 1;
