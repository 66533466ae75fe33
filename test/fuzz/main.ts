// `npm run test:fuzz`: the full fuzz run. Sends the seeded bad requests to each target
// (test/fuzz/targets.ts): `npm start`'s server over real sockets, and the built Vercel,
// Netlify and Lambda@Edge artifacts, each built into a temp folder and run in its own runtime.
// After each run the target must still be alive and answer a good request 200. Fails (exit 1)
// on any answer ≥ 500, any error without a JSON code, any lost request, a dead target or an
// unhandled error in this process. Last line: one JSON object (per-target figures under
// `targets`, totals beside them) that bench/run-all.ts records as the fuzz section.
// The Netlify target needs Deno (@deno/linux-x64-glibc): without it, it is skipped loudly,
// and under CI=true that is a failure.
// Usage: npx tsx test/fuzz/main.ts [--target node|vercel|netlify|lambda-edge|all] [--count 10000] [--seed 1]
import { parseArgs } from 'node:util';
import { runFuzz, type FuzzSummary } from './bad-requests.ts';
import { FUZZ_TARGETS, goodRequest, netlifyUnavailable, startFuzzTarget, type FuzzTargetName } from './targets.ts';

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'all' },
    count: { type: 'string', default: '10000' },
    seed: { type: 'string', default: '1' },
    concurrency: { type: 'string' },
  },
});
const count = Number(values.count);
const seed = Number(values.seed);
const wanted = values.target === 'all' ? [...FUZZ_TARGETS] : (values.target!.split(',') as FuzzTargetName[]);
for (const name of wanted) if (!FUZZ_TARGETS.includes(name)) throw new Error(`--target must be one of ${FUZZ_TARGETS.join(', ')} or all, got "${name}"`);

// In-process targets (edge-runtime, the Lambda handlers) crash by throwing past their caller.
const unhandled: string[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(`unhandled rejection: ${(reason as Error)?.stack ?? String(reason)}`.slice(0, 600)));
process.on('uncaughtException', (error) => unhandled.push(`uncaught exception: ${error.stack ?? String(error)}`.slice(0, 600)));

interface TargetResult {
  target: FuzzTargetName;
  ok: boolean;
  skipped?: string;
  runs?: string;
  sent: number;
  answered: number;
  lost: number;
  over500: number;
  violations: number;
  alive: boolean;
  goodStatus: number;
  crashes: number;
  byStatus: Record<string, number>;
  byCode: Record<string, number>;
  ms: number;
  buildMs?: number;
  [extra: string]: unknown;
}

const results: TargetResult[] = [];
const empty = (target: FuzzTargetName, skipped: string): TargetResult => ({ target, ok: false, skipped, sent: 0, answered: 0, lost: 0, over500: 0, violations: 0, alive: false, goodStatus: 0, crashes: 0, byStatus: {}, byCode: {}, ms: 0 });

for (const name of wanted) {
  if (name === 'netlify' && netlifyUnavailable()) {
    const why = netlifyUnavailable()!;
    console.log(`SKIPPING the Netlify fuzz target: ${why}`);
    // Never skipped silently in CI: the optional dependency installs there.
    results.push({ ...empty(name, why), ok: !process.env.CI });
    continue;
  }
  const t0 = performance.now();
  const target = await startFuzzTarget(name);
  const buildMs = Math.round(performance.now() - t0);
  const unhandledBefore = unhandled.length;
  let summary: FuzzSummary;
  let good = { status: 0, code: 'not sent' } as { status: number; code: string; violation?: string };
  try {
    summary = await runFuzz(target.send, { seed, count, concurrency: Number(values.concurrency ?? target.concurrency), models: target.models });
    const details = target.details?.() ?? {};
    good = await target.send(goodRequest()).catch((error: Error) => ({ status: 0, code: 'lost', violation: error.message }));
    const crashes = unhandled.length - unhandledBefore + (target.alive() ? 0 : 1);
    const alive = target.alive() && good.status === 200;
    const lost = summary.sent - summary.answered;
    const over500 = Object.entries(summary.byStatus).filter(([s]) => Number(s) >= 500).reduce((n, [, c]) => n + c, 0);
    const ok = over500 === 0 && lost === 0 && summary.violationCount === 0 && alive && crashes === 0;
    results.push({ target: name, ok, runs: target.runs, sent: summary.sent, answered: summary.answered, lost, over500, violations: summary.violationCount, alive, goodStatus: good.status, crashes, byStatus: summary.byStatus, byCode: summary.byCode, ms: summary.ms, buildMs, ...details });
    console.log(`fuzz ${name}: ${summary.sent} requests (seed ${seed}) in ${summary.ms} ms (start/build ${buildMs} ms); ${target.runs}`);
    console.log(`  by status: ${JSON.stringify(summary.byStatus)}`);
    console.log(`  by code:   ${JSON.stringify(summary.byCode)}`);
    console.log(`  by kind:   ${JSON.stringify(summary.byKind)}`);
    if (Object.keys(details).length) console.log(`  details:   ${JSON.stringify(details)}`);
    console.log(`  ≥500: ${over500}, lost: ${lost}, violations: ${summary.violationCount}, crashes: ${crashes}, alive and answering a good request after: ${alive} (${good.status})`);
    for (const v of summary.violations) console.log(`  violation #${v.index} (${v.kind}, ${v.status}): ${v.violation}`);
    for (const u of unhandled.slice(unhandledBefore, unhandledBefore + 5)) console.log(`  ${u}`);
    if (!ok && target.log()) console.log(`  ${name} log (tail):\n${target.log().slice(-2000)}`);
  } finally {
    await target.close();
  }
}

const ran = results.filter((r) => !r.skipped);
const sum = (key: 'sent' | 'answered' | 'lost' | 'over500' | 'violations' | 'crashes') => ran.reduce((n, r) => n + r[key], 0);
const merge = (key: 'byStatus' | 'byCode') => ran.reduce<Record<string, number>>((all, r) => {
  for (const [k, v] of Object.entries(r[key])) all[k] = (all[k] ?? 0) + v;
  return all;
}, {});
const ok = results.every((r) => r.ok);
console.log(`fuzz: ${ran.length} target(s), ${sum('sent')} requests, ${sum('over500')} ≥ 500, ${sum('lost')} lost, ${sum('violations')} violations, ${sum('crashes')} crashes${results.some((r) => r.skipped) ? `; skipped: ${results.filter((r) => r.skipped).map((r) => r.target).join(', ')}` : ''} → ${ok ? 'pass' : 'FAIL'}`);
console.log(
  JSON.stringify({
    bench: 'fuzz',
    ok,
    seed,
    countPerTarget: count,
    sent: sum('sent'),
    answered: sum('answered'),
    lost: sum('lost'),
    over500: sum('over500'),
    violations: sum('violations'),
    crashes: sum('crashes'),
    alive: ran.every((r) => r.alive),
    byStatus: merge('byStatus'),
    byCode: merge('byCode'),
    ms: ran.reduce((n, r) => n + r.ms, 0),
    targets: results,
  }),
);
process.exit(ok ? 0 : 1);
