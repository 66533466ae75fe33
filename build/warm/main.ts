// `npm run warm -- --url [location=]<endpoint> [--url ...] [--urls FILE] [--provider lambda-edge]
//   [--every 5m] [--rounds N]`: pings the warm route of every function at every location-pinned
// URL with EDGEINFER_ADMIN_TOKEN, prints one line per answer, a table per location and function
// (cold / warm / failed, the location that answered), and one JSON object last.
// A ping warms only the location that answers it (each provider routes to the location nearest
// the caller), hence one URL per location you serve from; `--provider lambda-edge` warms both
// triggers (viewer-request at /_warm, origin-request at /_warm/origin-request).
// Without --every it runs one round; with it, until stopped (or --rounds).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseInterval, parseTargets, reportByLocation, warmEndpoints, type WarmResult, type WarmTarget } from './warm-endpoints.ts';

const USAGE = 'usage: EDGEINFER_ADMIN_TOKEN=<token> npm run warm -- --url [location=]<endpoint> [--url ...] [--urls FILE] [--provider lambda-edge] [--every 5m] [--rounds N]';
const { values } = parseArgs({
  options: {
    url: { type: 'string', multiple: true },
    urls: { type: 'string' },
    provider: { type: 'string', default: 'default' },
    every: { type: 'string' },
    rounds: { type: 'string' },
    'timeout-ms': { type: 'string' },
  },
});
const token = process.env.EDGEINFER_ADMIN_TOKEN;
let targets: WarmTarget[] = [];
let everyMs: number | undefined;
try {
  const given = values.url ?? [];
  let lines: string[] = [];
  if (values.urls) {
    try {
      lines = readFileSync(values.urls, 'utf8').split('\n');
    } catch (error) {
      throw new Error(`warm: cannot read --urls ${values.urls}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  targets = parseTargets([...given, ...lines], values.provider, (i) => (i < given.length ? `warm: --url ${i + 1}` : `warm: ${values.urls} line ${i - given.length + 1}`));
  everyMs = values.every ? parseInterval(values.every) : undefined;
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}
if (targets.length === 0 || !token) {
  console.error(USAGE);
  if (!token) console.error('EDGEINFER_ADMIN_TOKEN is not set: it must be the token the deployment was configured with');
  process.exit(2);
}
const rounds = values.rounds ? Number(values.rounds) : everyMs ? Infinity : 1;
const timeoutMs = values['timeout-ms'] ? Number(values['timeout-ms']) : 30_000;

function line(r: WarmResult): string {
  const state = r.error ? `FAILED (${r.status}) ${r.error}` : r.cold ? 'cold → warmed' : 'already warm';
  const steps = r.steps ? Object.entries(r.steps).map(([s, ms]) => `${s} ${ms.toFixed(1)} ms`).join(', ') : '';
  const where = r.location ? `${r.location} ${r.function}${r.answeredFrom ? ` (answered from ${r.answeredFrom})` : ''}  ` : '';
  return `  ${where}${r.url}  ${state}  round trip ${r.roundTripMs.toFixed(0)} ms${steps ? `  [${steps}]` : ''}`;
}

const totals = { cold: 0, warm: 0, failed: 0, rounds: 0 };
const all: WarmResult[] = [];
let last: WarmResult[] = [];
for (let round = 1; round <= rounds; round++) {
  console.log(`round ${round}: warming ${targets.length} function(s) at ${new Set(targets.map((t) => t.location)).size} location(s)`);
  const { results, summary } = await warmEndpoints(targets, token, { timeoutMs, onResult: (r) => console.log(line(r)) });
  last = results;
  all.push(...results);
  totals.cold += summary.cold;
  totals.warm += summary.warm;
  totals.failed += summary.failed;
  totals.rounds++;
  console.log(`round ${round}: ${summary.cold} cold, ${summary.warm} warm, ${summary.failed} failed`);
  if (round < rounds && everyMs) await new Promise((resolve) => setTimeout(resolve, everyMs));
}
const byLocation = reportByLocation(all);
console.log('location            function          cold  warm  failed  answered from');
for (const r of byLocation) console.log(`${r.location.padEnd(20)}${r.function.padEnd(18)}${String(r.cold).padStart(4)}  ${String(r.warm).padStart(4)}  ${String(r.failed).padStart(6)}  ${r.answeredFrom.join(', ') || '(not reported)'}`);
console.log(
  JSON.stringify({
    warm: totals,
    byLocation,
    last: last.map((r) => ({ url: r.url, location: r.location ?? null, function: r.function ?? null, answeredFrom: r.answeredFrom ?? null, status: r.status, cold: r.cold ?? null, roundTripMs: Math.round(r.roundTripMs * 10) / 10, error: r.error ?? null })),
  }),
);
if (totals.failed > 0) process.exitCode = 1;
