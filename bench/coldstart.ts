// `npm run bench:coldstart [-- --runs N] [--keep DIR] [--baseline DIR] [--only node,deno,edge-runtime,regional] [--engine micro,ort-web,ort-node] [--build-only] [--reuse]`:
// cold start to the first prediction, per runtime, over fresh processes (Node, Deno) or
// fresh isolates (edge-runtime), each running the artifact that runtime deploys, beside an
// empty function of the same shape started through the same harness (same process or
// isolate creation, same requests):
//   Node          Lambda@Edge zips: viewer-request (micro; first request POST /v1/predict, and
//                 GET /_warm as the warm schedule reaches a fresh container) and origin-request (ORT)
//   Deno          the Netlify function (micro); the origin-request bundle for ORT
//   edge-runtime  the Vercel function, micro or micro + ort-web (WASM as a precompiled module,
//                 compiled once in the host as Vercel does at deploy: not in the timing)
//   regional      the regional Lambda zip in Node: init (import), first invoke, warm invokes
// Each sample is split into: process/isolate start (to the line before the import), module
// compile + evaluate (the import), model load + verify (a GET /v2/health/ready, which loads
// and warms every model as the first request would), and the first POST /v1/predict. Each
// part is reported as artifact − empty function (p50 and p90 of N runs, default 10), then
// the warm /v1/predict p50 of 300 requests in the same process. --baseline DIR measures the
// artifacts kept by an earlier run (--keep DIR) in the same run, case by case, so "before" and
// "after" share the machine's state. The last line is one JSON object.
import { denoBinary } from '../build/deno-binary.ts';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { unzipSync } from 'fflate';
import { buildTarget, REPO_ROOT } from '../build/pipeline.ts';
import { FsModelSource } from '../adapters/node/fs-model-source.ts';
import { latestVersions } from '../core/model/repository.ts';
import { TARGETS } from '../build/targets/index.ts';
import { summarize, type Summary } from './stats.ts';
import { bundleVercelFunctionScript, startVercelEdgeRuntime } from '../build/vercel-edge-runtime.ts';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '10' }, keep: { type: 'string' }, baseline: { type: 'string' }, only: { type: 'string' }, engine: { type: 'string' }, warm: { type: 'string', default: '300' }, 'build-only': { type: 'boolean' }, reuse: { type: 'boolean' } },
});
const RUNS = Math.max(1, Number(values.runs));
const LOAD_AT_START = loadavg()[0];
const WARM = Math.max(0, Number(values.warm));
const ONLY = values.only ? new Set(values.only.split(',')) : undefined;
const ENGINES = values.engine ? new Set(values.engine.split(',')) : undefined;
const DENO = denoBinary() ?? 'deno';
const TEXT = 'Subject: You won! Claim your FREE prize now, click here to collect your cash reward';
const work = values.keep ? resolve(values.keep) : mkdtempSync(join(tmpdir(), 'edgeinfer-coldstart-'));
mkdirSync(work, { recursive: true });
// A deployed edge function has its regional tier configured: the client is built at start-up
// like in production (an unreachable endpoint; the first request is confident, so it is never called).
const REGIONAL_ENV = {
  EDGEINFER_REGIONAL: 'lambda',
  EDGEINFER_REGIONAL_ENDPOINT: 'http://127.0.0.1:9',
  // The edge reads its AWS credentials under names of its own (adapters/edge/edge-service.ts).
  EDGEINFER_AWS_REGION: 'us-east-1',
  EDGEINFER_AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  EDGEINFER_AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  // Opens GET /_warm, which reports each model's load time after the first request.
  EDGEINFER_ADMIN_TOKEN: 'bench-admin-token',
};

function unzipTo(zip: string, dir: string): string {
  for (const [name, bytes] of Object.entries(unzipSync(readFileSync(zip)))) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), bytes);
  }
  return join(dir, 'index.mjs');
}

/** The files each case runs, under one folder (kept with --keep, read back with --baseline). */
interface Artifacts {
  viewerMicro: string;
  originOrt: string;
  netlifyMicro: string;
  vercelMicro: string;
  vercelOrt: string;
  regional: string;
}
const layout = (dir: string): Artifacts => ({
  viewerMicro: join(dir, 'viewer-micro/index.mjs'),
  originOrt: join(dir, 'origin-ort/index.mjs'),
  netlifyMicro: join(dir, 'netlify/edge-functions/edgeinfer.js'),
  vercelMicro: join(dir, 'vercel-micro/functions/edgeinfer.func/index.js'),
  vercelOrt: join(dir, 'vercel-ort/functions/edgeinfer.func/index.js'),
  regional: join(dir, 'regional/index.mjs'),
});

async function buildArtifacts(dir: string): Promise<Artifacts> {
  // A repository copy whose edge model asks for ORT in the version that serves, its latest
  // (the .onnx and its sha256 are unchanged; a hard-coded v1 left v2 serving on micro).
  const ortModels = join(dir, 'models-ort');
  cpSync(join(REPO_ROOT, 'models/spam-edge'), join(ortModels, 'spam-edge'), { recursive: true });
  const latest = (await latestVersions(new FsModelSource(ortModels))).find((m) => m.name === 'spam-edge');
  if (!latest) throw new Error('models/spam-edge has no version (run `npm run models`)');
  const manifestPath = join(ortModels, 'spam-edge', latest.version, 'model.json');
  writeFileSync(manifestPath, JSON.stringify({ ...JSON.parse(readFileSync(manifestPath, 'utf8')), engine: 'ort' }, null, 2));
  const baked = REGIONAL_ENV;
  const edgeMicro = await buildTarget(TARGETS['lambda-edge'], { outDir: join(dir, 'le-micro'), baked });
  const edgeOrt = await buildTarget(TARGETS['lambda-edge'], { outDir: join(dir, 'le-ort'), modelsRoot: ortModels, baked });
  unzipTo(join(edgeMicro.outDir, 'viewer-request.zip'), join(dir, 'viewer-micro'));
  unzipTo(join(edgeOrt.outDir, 'origin-request.zip'), join(dir, 'origin-ort'));
  await buildTarget(TARGETS.netlify, { outDir: join(dir, 'netlify') });
  await buildTarget(TARGETS.vercel, { outDir: join(dir, 'vercel-micro') });
  await buildTarget(TARGETS.vercel, { outDir: join(dir, 'vercel-ort'), modelsRoot: ortModels, engines: ['micro', 'ort-web'], tier: 'enterprise' });
  const regional = await buildTarget(TARGETS.regional, { outDir: join(dir, 'regional-zip') });
  unzipTo(join(regional.outDir, 'regional.zip'), join(dir, 'regional'));
  return layout(dir);
}

// Empty functions: the same entry shapes, answering the same requests with a constant.
const EMPTY_LAMBDA_EDGE = `export const handler = async (event) => {
  const req = event.Records[0].cf.request;
  const body = req.body && req.body.data ? JSON.parse(atob(req.body.data)) : null;
  return { status: '200', headers: { 'content-type': [{ key: 'Content-Type', value: 'application/json' }] }, body: JSON.stringify({ label: body ? 'x' : null, ready: true }), bodyEncoding: 'text' };
};\n`;
const EMPTY_WEB = `export default async (request) => {
  const body = request.method === 'POST' ? await request.json() : null;
  return Response.json({ label: body ? 'x' : null, ready: true });
};\n`;
const EMPTY_REGIONAL = `export const handler = async (event) => ({ label: 'x', scores: { x: 1 }, model: { name: event.model, version: '1', sha256: '' }, timings: {}, executionProvider: 'none', requestId: event.requestId });\n`;
const emptyDir = join(work, 'empty');
mkdirSync(emptyDir, { recursive: true });
const EMPTY = { lambdaEdge: join(emptyDir, 'lambda-edge.mjs'), web: join(emptyDir, 'web.js'), regional: join(emptyDir, 'regional.mjs') };
writeFileSync(EMPTY.lambdaEdge, EMPTY_LAMBDA_EDGE);
writeFileSync(EMPTY.web, EMPTY_WEB);
writeFileSync(EMPTY.regional, EMPTY_REGIONAL);

const ADMIN_TOKEN = REGIONAL_ENV.EDGEINFER_ADMIN_TOKEN;
const ADMIN = { authorization: [{ key: 'Authorization', value: `Bearer ${ADMIN_TOKEN}` }] };
const cfEvent = (method: string, uri: string, body?: unknown, extraHeaders: Record<string, Array<{ key: string; value: string }>> = {}) => ({
  Records: [{
    cf: {
      config: { distributionDomainName: 'd1.cloudfront.net', eventType: 'viewer-request' },
      request: {
        method, uri, querystring: '',
        headers: { host: [{ key: 'Host', value: 'd1.cloudfront.net' }], 'content-type': [{ key: 'Content-Type', value: 'application/json' }], ...extraHeaders },
        ...(body ? { body: { encoding: 'base64', data: Buffer.from(JSON.stringify(body)).toString('base64') } } : {}),
      },
    },
  }],
});

// Child scripts print one JSON line: {start, module, load, first, total, warmP50, status, label}.
// The first request is the first POST /v1/predict, as in production; "load" is the model load
// + verify + warmup inside it, as the service reports it afterwards (GET /_warm lists each
// model's loadMs), and "first" the rest of that request.
const TIMED = (startImport: string, warmReport: string, predict: string, check: string, drain = '', warmRequests = WARM) => `
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const c0 = cpuMs();
const t0 = performance.now();
${startImport}
const t1 = performance.now();
const c1 = cpuMs();
let r = ${predict};
const t3 = performance.now();
const c3 = cpuMs();
${check}
const report = ${warmReport};
let loadMs = 0;
JSON.stringify(report, (k, v) => { if (k === 'loadMs' && typeof v === 'number') loadMs += v; return v; });
const warm = [];
for (let i = 0; i < ${warmRequests}; i++) { const a = performance.now(); r = ${predict}; ${drain} warm.push(performance.now() - a); }
warm.sort((a, b) => a - b);
console.log(JSON.stringify({ start: t0, module: t1 - t0, load: loadMs, first: t3 - t1 - loadMs, total: t3, moduleCpu: c1 - c0, firstCpu: c3 - c1, totalCpu: c3, warmP50: warm.length ? warm[Math.ceil(warm.length / 2) - 1] : null, status, label }));`;

// The specifier is computed at run time: Deno prefetches a literal dynamic import before the
// script starts, which would move the module's compile out of the "module" part.
const importOf = (file: string) => `await import([${JSON.stringify(pathToFileURL(file).href)}][0])`;
const lambdaEdgeScript = (file: string) =>
  TIMED(
    `const { handler } = ${importOf(file)};`,
    `JSON.parse((await handler(${JSON.stringify(cfEvent('GET', '/_warm', undefined, ADMIN))})).body || '{}')`,
    `await handler(${JSON.stringify(cfEvent('POST', '/v1/predict', { text: TEXT }))})`,
    'const status = r.status; const label = JSON.parse(r.body).label;',
  );
// The warm schedule's call as a cold container's first request (EventBridge calls /_warm every
// few minutes: the container it reaches is often a fresh one). Its "load" comes from its own answer.
const lambdaEdgeWarmFirstScript = (file: string) =>
  TIMED(
    `const { handler } = ${importOf(file)};`,
    'JSON.parse(r.body || \'{}\')',
    `await handler(${JSON.stringify(cfEvent('GET', '/_warm', undefined, ADMIN))})`,
    'const status = r.status; const label = null;',
    '',
    Math.min(WARM, 20),
  );
// The first request's body as an HTTP client sends it (fetch and curl declare a Content-Length
// for a string body; a Request built in-process from a string has none).
const PREDICT_BODY = JSON.stringify({ text: TEXT });
const PREDICT_LENGTH = String(new TextEncoder().encode(PREDICT_BODY).byteLength);
const netlifyScript = (file: string) =>
  TIMED(
    `const mod = ${importOf(file)};`,
    `await (await mod.default(new Request('https://x.netlify.app/_warm', { headers: { authorization: 'Bearer ${ADMIN_TOKEN}' } }), { waitUntil() {} })).json()`,
    `await mod.default(new Request('https://x.netlify.app/v1/predict', { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '${PREDICT_LENGTH}' }, body: ${JSON.stringify(PREDICT_BODY)} }), { waitUntil() {} })`,
    'const status = String(r.status); const label = (await r.json()).label;',
    'await r.arrayBuffer();',
  );
const REGIONAL_EVENT = { model: 'spam-regional', text: TEXT, requestId: 'bench', deadlineMs: 4_102_444_800_000 };
const regionalScript = (file: string) =>
  TIMED(
    `const { handler } = ${importOf(file)};`,
    '{}',
    `await handler(${JSON.stringify(REGIONAL_EVENT)}, { getRemainingTimeInMillis: () => 30000 })`,
    "const status = r.label ? '200' : '500'; const label = r.label;",
  );

interface Sample {
  start: number;
  module: number;
  load: number;
  first: number;
  total: number;
  /** CPU time (user + system, every thread of the process) of the import, of the first request, and from process start to its end. */
  moduleCpu: number;
  firstCpu: number;
  totalCpu: number;
  warmP50: number | null;
  status: string;
  label: string | null;
}

function runProcess(command: string, args: string[], script: string, env: Record<string, string> = {}): Promise<Sample> {
  return new Promise((resolveSample, reject) => {
    const child = spawn(command, [...args, script], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.once('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      try {
        const parsed = JSON.parse(line) as Sample;
        if (parsed.status !== '200') throw new Error(`status ${parsed.status}`);
        resolveSample(parsed);
      } catch (error) {
        reject(new Error(`${command} exited ${code}: ${(error as Error).message}\n${out}\n${err}`));
      }
    });
  });
}

const scripts = new Map<string, Promise<string>>();
async function edgeRuntimeSample(functionFile: string, wasmModule?: WebAssembly.Module): Promise<Sample> {
  let pending = scripts.get(functionFile);
  if (!pending) scripts.set(functionFile, (pending = bundleVercelFunctionScript(functionFile)));
  const script = await pending;
  const init = { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': PREDICT_LENGTH }, body: PREDICT_BODY };
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const c0 = cpuMs();
  const t0 = performance.now();
  // The EdgeRuntime constructor builds the isolate's context; evaluate compiles and runs the script.
  const runtime = startVercelEdgeRuntime(script, { ...(wasmModule ? { wasmModule } : {}), env: REGIONAL_ENV });
  const t1 = performance.now();
  const c1 = cpuMs();
  let response = await runtime.dispatchFetch('https://x.vercel.app/v1/predict', init);
  const body = (await response.json()) as { label?: string };
  const t3 = performance.now();
  const c3 = cpuMs();
  const status = String(response.status);
  let loadMs = 0;
  const report = await (await runtime.dispatchFetch('https://x.vercel.app/_warm', { headers: { authorization: `Bearer ${REGIONAL_ENV.EDGEINFER_ADMIN_TOKEN}` } })).text();
  JSON.parse(report || '{}', (k, v) => {
    if (k === 'loadMs' && typeof v === 'number') loadMs += v;
    return v;
  });
  const warm: number[] = [];
  for (let i = 0; i < WARM; i++) {
    const a = performance.now();
    response = await runtime.dispatchFetch('https://x.vercel.app/v1/predict', init);
    await response.arrayBuffer();
    warm.push(performance.now() - a);
  }
  warm.sort((a, b) => a - b);
  // Isolate creation and script evaluation are one step in edge-runtime: "start" is 0 here.
  return { start: 0, module: t1 - t0, load: loadMs, first: t3 - t1 - loadMs, total: t3 - t0, moduleCpu: c1 - c0, firstCpu: c3 - c1, totalCpu: c3 - c0, warmP50: warm.length ? warm[Math.ceil(warm.length / 2) - 1]! : null, status, label: body.label ?? null };
}

interface Case {
  runtime: string;
  engine: string;
  artifact: string;
  sample: (file: string) => Promise<Sample>;
  file: (a: Artifacts) => string;
  empty: string;
}

const node = (script: (f: string) => string, env: Record<string, string> = {}) => (file: string) => runProcess(process.execPath, ['--input-type=module', '-e'], script(file), env);
const deno = (script: (f: string) => string) => (file: string) => runProcess(DENO, ['eval', '--quiet'], script(file), REGIONAL_ENV);

console.log(`${values.reuse ? 'reusing' : 'building'} artifacts… (${cpus().length} cores, load average ${LOAD_AT_START!.toFixed(1)})`);
// --reuse: measure the artifacts already under --keep DIR (no build).
const current = values.reuse && values.keep ? layout(work) : await buildArtifacts(work);
if (values['build-only']) process.exit(0);
const baseline = values.baseline ? layout(resolve(values.baseline)) : undefined;
if (baseline) for (const f of Object.values(baseline)) if (!existsSync(f)) throw new Error(`--baseline: ${f} is missing (keep a run's artifacts with --keep DIR)`);
let wasmModule: WebAssembly.Module | undefined;
const vercelWasm = () => (wasmModule ??= new WebAssembly.Module(readFileSync(join(dirname(current.vercelOrt), 'ort-wasm-simd-threaded.wasm'))));
const regionalEnv = (file: string) => ({ EDGEINFER_MODELS_DIR: join(dirname(file), 'models'), EDGEINFER_PRELOAD: 'spam-regional' });

const cases: Case[] = [
  { runtime: 'node', engine: 'micro', artifact: 'lambda-edge viewer-request', sample: node(lambdaEdgeScript), file: (a) => a.viewerMicro, empty: EMPTY.lambdaEdge },
  { runtime: 'node', engine: 'micro', artifact: 'lambda-edge viewer-request, first GET /_warm', sample: node(lambdaEdgeWarmFirstScript), file: (a) => a.viewerMicro, empty: EMPTY.lambdaEdge },
  { runtime: 'node', engine: 'ort-web', artifact: 'lambda-edge origin-request', sample: node(lambdaEdgeScript), file: (a) => a.originOrt, empty: EMPTY.lambdaEdge },
  { runtime: 'deno', engine: 'micro', artifact: 'netlify edgeinfer', sample: deno(netlifyScript), file: (a) => a.netlifyMicro, empty: EMPTY.web },
  { runtime: 'deno', engine: 'ort-web', artifact: 'lambda-edge origin-request', sample: deno(lambdaEdgeScript), file: (a) => a.originOrt, empty: EMPTY.lambdaEdge },
  { runtime: 'edge-runtime', engine: 'micro', artifact: 'vercel edgeinfer', sample: (f) => edgeRuntimeSample(f), file: (a) => a.vercelMicro, empty: EMPTY.web },
  { runtime: 'edge-runtime', engine: 'ort-web', artifact: 'vercel edgeinfer (enterprise)', sample: (f) => edgeRuntimeSample(f, f === EMPTY.web ? undefined : vercelWasm()), file: (a) => a.vercelOrt, empty: EMPTY.web },
  {
    runtime: 'regional', engine: 'ort-node', artifact: 'regional.zip (Node)',
    sample: (f) => runProcess(process.execPath, ['--input-type=module', '-e'], regionalScript(f), f === EMPTY.regional ? {} : regionalEnv(f)),
    file: (a) => a.regional, empty: EMPTY.regional,
  },
];

const PARTS = ['start', 'module', 'load', 'first', 'total', 'moduleCpu', 'firstCpu', 'totalCpu'] as const;
type Part = (typeof PARTS)[number];
interface Row {
  runtime: string;
  engine: string;
  artifact: string;
  build: 'empty' | 'current' | 'baseline';
  parts: Record<Part, Summary>;
  /** Per run, artifact minus the empty function of the same run index (paired samples). */
  overEmpty?: Record<Part, Summary>;
  warmP50: Summary | null;
}
const results: Row[] = [];
const fmt = (s: Summary) => `${s.p50.toFixed(1).padStart(6)}/${s.p90.toFixed(1).padStart(6)}`;

for (const c of cases) {
  if ((ONLY && !ONLY.has(c.runtime)) || (ENGINES && !ENGINES.has(c.engine))) continue;
  const builds: Array<['empty' | 'current' | 'baseline', string]> = [['empty', c.empty], ['current', c.file(current)], ...(baseline ? [['baseline', c.file(baseline)] as ['baseline', string]] : [])];
  const samples = new Map<string, Sample[]>(builds.map(([b]) => [b, []]));
  // Interleaved per run (empty, current, baseline, empty, ...): machine noise hits each alike.
  for (let i = 0; i < RUNS; i++) for (const [b, file] of builds) samples.get(b)!.push(await c.sample(file));
  const empty = samples.get('empty')!;
  for (const [b] of builds) {
    const s = samples.get(b)!;
    const parts = Object.fromEntries(PARTS.map((p) => [p, summarize(s.map((x) => x[p]), 1)])) as Record<Part, Summary>;
    const overEmpty = b === 'empty' ? undefined : (Object.fromEntries(PARTS.map((p) => [p, summarize(s.map((x, i) => x[p] - empty[i]![p]), 1)])) as Record<Part, Summary>);
    const warm = s.map((x) => x.warmP50).filter((x): x is number => x !== null);
    const row: Row = { runtime: c.runtime, engine: c.engine, artifact: c.artifact, build: b, parts, ...(overEmpty ? { overEmpty } : {}), warmP50: warm.length ? summarize(warm, 3) : null };
    results.push(row);
    const d = overEmpty ? `  − empty: module ${fmt(overEmpty.module)} load ${fmt(overEmpty.load)} first ${fmt(overEmpty.first)} total ${fmt(overEmpty.total)} | cpu module ${fmt(overEmpty.moduleCpu)} first ${fmt(overEmpty.firstCpu)} total ${fmt(overEmpty.totalCpu)}` : '';
    console.log(
      `${c.runtime.padEnd(12)} ${c.engine.padEnd(8)} ${(b === 'empty' ? 'empty function' : `${c.artifact} [${b}]`).padEnd(42)} p50/p90 ms: start ${fmt(parts.start)} module ${fmt(parts.module)} load ${fmt(parts.load)} first ${fmt(parts.first)} total ${fmt(parts.total)} cpu ${fmt(parts.totalCpu)}${d}  warm p50 ${row.warmP50 ? row.warmP50.p50.toFixed(3) : '-'} ms`,
    );
  }
}
console.log(
  JSON.stringify({
    bench: 'coldstart',
    machine: { cpus: cpus().length, node: process.version },
    runs: RUNS,
    warmRequests: WARM,
    loadAverage1m: { start: LOAD_AT_START, end: loadavg()[0] },
    note: 'parts: start = process/isolate start to the import; module = import (compile + evaluate); load = model load + verify + warmup inside the first request (loadMs the service reports); first = the rest of the first POST /v1/predict; overEmpty = paired difference from the empty function, same run index; *Cpu = CPU time (user + system, all threads) of the same parts, less sensitive than wall time to a loaded machine',
    results,
  }),
);
