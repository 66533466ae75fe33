// `npm run bench:upstash-client [-- --runs N]`: what an Upstash client costs an edge isolate,
// @upstash/redis (its fetch entry, as core used it) beside core/upstash/rest-client.ts. Each is
// bundled alone as an edge build bundles it (esbuild, ESM, minified, gzip level 9), then run in
// fresh Node processes, interleaved: evaluate the module, construct the client, and send the
// first GET to the local Upstash REST server over real Redis (needs Redis at 127.0.0.1:6379 or
// REDIS_URL), beside an empty module (the floor, subtracted run by run). p50/p90 over N runs (default 15); the last line is one JSON object.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { REPO_ROOT } from '../build/pipeline.ts';
import { startUpstashRestServer } from '../adapters/upstash-rest-local/server.ts';
import { summarize, type Summary } from './stats.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' } } });
const RUNS = Math.max(1, Number(values.runs));
const TOKEN = 'bench-upstash-client';
const dir = mkdtempSync(join(tmpdir(), 'edgeinfer-upstash-client-'));

// Each entry exposes the same three steps, so the harness times them alike. The empty module is
// the floor (Node's first dynamic import alone costs tens of ms); its GET is a bare fetch.
const ENTRIES = {
  'empty module (bare fetch)': `export const make = (url, token) => ({ url, token });
export const get = (c, key) => fetch(c.url, { method: 'POST', headers: { authorization: 'Bearer ' + c.token }, body: JSON.stringify(['GET', key]) }).then((r) => r.json());`,
  '@upstash/redis': `import { Redis } from '@upstash/redis/cloudflare';
export const make = (url, token) => new Redis({ url, token, retry: false, enableTelemetry: false, automaticDeserialization: false });
export const get = (client, key) => client.get(key);`,
  'core/upstash/rest-client.ts': `import { createUpstashRestClient } from ${JSON.stringify(join(REPO_ROOT, 'core/upstash/rest-client.ts'))};
export const make = (url, token) => createUpstashRestClient({ url, token });
export const get = (client, key) => client.send(['GET', key]);`,
};

const bundles: Record<string, { file: string; minifiedBytes: number; gzipBytes: number }> = {};
for (const [name, source] of Object.entries(ENTRIES)) {
  const result = await build({ stdin: { contents: source, resolveDir: REPO_ROOT, loader: 'js' }, bundle: true, format: 'esm', platform: 'neutral', minify: true, write: false, target: 'es2022', mainFields: ['module', 'main'], conditions: ['worker', 'import'] });
  const code = result.outputFiles[0]!.contents;
  const file = join(dir, `${name.replace(/[^a-z]+/gi, '_')}.mjs`);
  writeFileSync(file, code);
  bundles[name] = { file, minifiedBytes: code.length, gzipBytes: gzipSync(code, { level: 9 }).length };
}

const server = await startUpstashRestServer({ port: 0, token: TOKEN, redisUrl: process.env.REDIS_URL || 'redis://127.0.0.1:6379' });
const child = (file: string) => `
const t0 = performance.now();
const m = await import(${JSON.stringify(file)});
const t1 = performance.now();
const client = m.make(${JSON.stringify(server.url)}, ${JSON.stringify(TOKEN)});
const t2 = performance.now();
await m.get(client, 'bench:upstash-client:absent');
const t3 = performance.now();
console.log(JSON.stringify({ evaluate: t1 - t0, construct: t2 - t1, firstGet: t3 - t2 }));`;

type Sample = { evaluate: number; construct: number; firstGet: number };
function run(file: string): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', child(file)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (c) => (out += c));
    p.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Sample) : reject(new Error(`exit ${code}: ${out}`))));
  });
}

const load = loadavg()[0]!;
const samples = new Map<string, Sample[]>(Object.keys(bundles).map((n) => [n, []]));
for (let i = 0; i < RUNS; i++) for (const [name, b] of Object.entries(bundles)) samples.get(name)!.push(await run(b.file));
await server.close();

const floor = samples.get('empty module (bare fetch)')!;
const results: Array<{ client: string; minifiedBytes: number; gzipBytes: number; evaluate: Summary; construct: Summary; evaluateAndConstruct: Summary; overEmpty: Summary; firstGet: Summary }> = [];
console.log(`Upstash client cost, ${RUNS} fresh Node ${process.version} processes each, interleaved (${cpus().length} cores, load average ${load.toFixed(1)} at start)`);
for (const [name, b] of Object.entries(bundles)) {
  const s = samples.get(name)!;
  const row = {
    client: name,
    minifiedBytes: b.minifiedBytes,
    gzipBytes: b.gzipBytes,
    evaluate: summarize(s.map((x) => x.evaluate), 2),
    construct: summarize(s.map((x) => x.construct), 2),
    evaluateAndConstruct: summarize(s.map((x) => x.evaluate + x.construct), 2),
    // Paired with the empty module of the same run index.
    overEmpty: summarize(s.map((x, i) => x.evaluate + x.construct - floor[i]!.evaluate - floor[i]!.construct), 2),
    firstGet: summarize(s.map((x) => x.firstGet), 2),
  };
  results.push(row);
  const f = (x: Summary) => `${x.p50.toFixed(2)}/${x.p90.toFixed(2)}`;
  console.log(`${name.padEnd(28)} ${(b.minifiedBytes / 1024).toFixed(1).padStart(6)} KB min ${(b.gzipBytes / 1024).toFixed(1).padStart(5)} KB gzip  p50/p90 ms: evaluate ${f(row.evaluate)} construct ${f(row.construct)} both ${f(row.evaluateAndConstruct)} (− empty ${f(row.overEmpty)}) first GET ${f(row.firstGet)}`);
}
console.log(JSON.stringify({ bench: 'upstash-client', runs: RUNS, machine: { cpus: cpus().length, node: process.version, loadAverage1m: load }, results }));
