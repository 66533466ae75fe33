// `npm run test:fuzz`: the full fuzz run. Starts `npm start`'s server as a child process
// on a free port (real models, real sockets), sends the seeded bad requests, then checks the
// process is still alive and healthy. Fails (exit 1) on any answer ≥ 500, any error without
// a JSON code, any lost request or a dead server. Last line: one JSON object.
// Usage: npx tsx test/fuzz/main.ts [--count 10000] [--seed 1] [--concurrency 16]
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runFuzz } from './bad-requests.ts';
import { socketSender } from './socket-sender.ts';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    seed: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '16' },
  },
});
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const count = Number(values.count);
const seed = Number(values.seed);
const concurrency = Number(values.concurrency);

const child = spawn(process.execPath, ['--import', 'tsx', 'adapters/node/server.ts'], {
  cwd: ROOT,
  env: { ...process.env, PORT: '0', HOST: '127.0.0.1' },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let log = '';
let exited: number | null | undefined;
child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
child.once('exit', (code, signal) => (exited = code ?? (signal ? -1 : null)));
const url = await new Promise<string>((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`server did not get ready in 60 s:\n${log}`)), 60_000);
  child.stdout!.on('data', (d: Buffer) => {
    log += d.toString();
    const match = /ready on (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
    if (match) {
      clearTimeout(timer);
      resolve(match[1]!);
    }
  });
  child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${log}`)));
});

const sender = socketSender(url, { sockets: concurrency });
const summary = await runFuzz(sender.send, { seed, count, concurrency });
sender.close();
const health = exited === undefined ? await fetch(`${url}/healthz`).then((r) => r.status, () => 0) : 0;
const alive = exited === undefined && health === 200;
child.kill('SIGTERM');
await new Promise((resolve) => (exited === undefined ? child.once('exit', resolve) : resolve(undefined)));

const lost = summary.sent - summary.answered;
const over500 = Object.entries(summary.byStatus).filter(([s]) => Number(s) >= 500).reduce((n, [, c]) => n + c, 0);
console.log(`fuzz: ${summary.sent} requests (seed ${seed}, concurrency ${concurrency}) in ${summary.ms} ms against ${url}`);
console.log(`  by status: ${JSON.stringify(summary.byStatus)}`);
console.log(`  by code:   ${JSON.stringify(summary.byCode)}`);
console.log(`  by kind:   ${JSON.stringify(summary.byKind)}`);
console.log(`  ≥500: ${over500}, lost: ${lost}, violations: ${summary.violationCount}, server alive after: ${alive}`);
for (const v of summary.violations) console.log(`  violation #${v.index} (${v.kind}, ${v.status}): ${v.violation}`);
if (/internal error|failed to write/.test(log)) console.log(`  server log mentions internal errors:\n${log.slice(-2000)}`);
const ok = over500 === 0 && lost === 0 && summary.violationCount === 0 && alive;
console.log(JSON.stringify({ bench: 'fuzz', ok, sent: summary.sent, answered: summary.answered, lost, over500, violations: summary.violationCount, alive, byStatus: summary.byStatus, byCode: summary.byCode, ms: summary.ms, seed }));
process.exit(ok ? 0 : 1);
