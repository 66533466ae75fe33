// `npm run bench:coldstart [-- --runs N]`: cold start to the first prediction, per runtime and
// engine, over fresh processes (Node, Deno) or fresh isolates (edge-runtime), each running the
// artifact that runtime deploys:
//   Node          Lambda@Edge zips: viewer-request (micro) and origin-request (ORT)
//   Deno          the Netlify function (micro); the origin-request bundle for ORT (Netlify
//                 builds carry no WASM)
//   edge-runtime  the Vercel function, micro or micro + ort-web (WASM as a precompiled module,
//                 compiled once in the host as Vercel does at deploy: not in the timing)
// "ORT" builds use a copy of the model repository whose spam-edge says `engine: "ort"`.
// Process timings are from process start (performance.now() in the child) to the end of the
// first /v1/predict; isolate timings from creating the EdgeRuntime to the same point.
// Medians and p90 of N runs (default 10); the last line is one JSON object.
import { denoBinary } from '../build/deno-binary.ts';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { unzipSync } from 'fflate';
import { buildTarget, REPO_ROOT } from '../build/pipeline.ts';
import { TARGETS } from '../build/targets/index.ts';
import { summarize, type Summary } from './stats.ts';
import { bundleVercelFunctionScript, startVercelEdgeRuntime } from '../build/vercel-edge-runtime.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
const RUNS = Math.max(1, Number(values.runs));
const DENO = denoBinary() ?? 'deno';
const TEXT = 'Subject: You won! Claim your FREE prize now, click here to collect your cash reward';
const work = mkdtempSync(join(tmpdir(), 'edgeinfer-coldstart-'));

// A repository copy whose edge model asks for ORT (the .onnx and its sha256 are unchanged).
const ortModels = join(work, 'models-ort');
cpSync(join(REPO_ROOT, 'models/spam-edge'), join(ortModels, 'spam-edge'), { recursive: true });
const manifestPath = join(ortModels, 'spam-edge/1/model.json');
writeFileSync(manifestPath, JSON.stringify({ ...JSON.parse(readFileSync(manifestPath, 'utf8')), engine: 'ort' }, null, 2));

function unzipTo(zip: string, dir: string): string {
  for (const [name, bytes] of Object.entries(unzipSync(readFileSync(zip)))) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), bytes);
  }
  return join(dir, 'index.mjs');
}

console.log('building artifacts…');
const edgeMicro = await buildTarget(TARGETS['lambda-edge'], { outDir: join(work, 'le-micro') });
const edgeOrt = await buildTarget(TARGETS['lambda-edge'], { outDir: join(work, 'le-ort'), modelsRoot: ortModels });
const viewerMicro = unzipTo(join(edgeMicro.outDir, 'viewer-request.zip'), join(work, 'viewer-micro'));
const originOrt = unzipTo(join(edgeOrt.outDir, 'origin-request.zip'), join(work, 'origin-ort'));
await buildTarget(TARGETS.netlify, { outDir: join(work, 'netlify') });
const netlifyMicro = join(work, 'netlify/edge-functions/edgeinfer.js');
await buildTarget(TARGETS.vercel, { outDir: join(work, 'vercel-micro') });
await buildTarget(TARGETS.vercel, { outDir: join(work, 'vercel-ort'), modelsRoot: ortModels, engines: ['micro', 'ort-web'], tier: 'enterprise' });

const EVENT = {
  Records: [{ cf: { config: { distributionDomainName: 'd1.cloudfront.net', eventType: 'viewer-request' }, request: { method: 'POST', uri: '/v1/predict', querystring: '', headers: { host: [{ key: 'Host', value: 'd1.cloudfront.net' }], 'content-type': [{ key: 'Content-Type', value: 'application/json' }] }, body: { encoding: 'base64', data: Buffer.from(JSON.stringify({ text: TEXT })).toString('base64') } } } }],
};
const lambdaScript = (file: string) => `
const { handler } = await import(${JSON.stringify(pathToFileURL(file).href)});
const result = await handler(${JSON.stringify(EVENT)});
const body = JSON.parse(result.body);
console.log(JSON.stringify({ ms: performance.now(), status: result.status, engineLabel: body.label }));`;
const netlifyScript = (file: string) => `
const mod = await import(${JSON.stringify(pathToFileURL(file).href)});
const response = await mod.default(new Request('https://x.netlify.app/v1/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: ${JSON.stringify(JSON.stringify({ text: TEXT }))} }), { waitUntil() {} });
const body = await response.json();
console.log(JSON.stringify({ ms: performance.now(), status: String(response.status), engineLabel: body.label }));`;

function runProcess(command: string, args: string[], script: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args, script], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.once('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      try {
        const parsed = JSON.parse(line) as { ms: number; status: string };
        if (parsed.status !== '200') throw new Error(`status ${parsed.status}`);
        resolve(parsed.ms);
      } catch (error) {
        reject(new Error(`${command} exited ${code}: ${(error as Error).message}\n${out}\n${err}`));
      }
    });
  });
}

async function edgeRuntimeSample(functionFile: string, wasmModule?: WebAssembly.Module): Promise<number> {
  const script = await bundleVercelFunctionScript(functionFile);
  const t0 = performance.now();
  const runtime = startVercelEdgeRuntime(script, wasmModule ? { wasmModule } : {});
  const response = await runtime.dispatchFetch('https://x.vercel.app/v1/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: TEXT }) });
  await response.json();
  const ms = performance.now() - t0;
  if (response.status !== 200) throw new Error(`edge-runtime answered ${response.status}`);
  return ms;
}

const wasmModule = await WebAssembly.compile(readFileSync(join(work, 'vercel-ort/functions/edgeinfer.func/ort-wasm-simd-threaded.wasm')));
const cases: Array<{ runtime: string; engine: string; artifact: string; sample: () => Promise<number> }> = [
  { runtime: 'node', engine: 'micro', artifact: 'lambda-edge viewer-request', sample: () => runProcess(process.execPath, ['--input-type=module', '-e'], lambdaScript(viewerMicro)) },
  { runtime: 'node', engine: 'ort-web', artifact: 'lambda-edge origin-request', sample: () => runProcess(process.execPath, ['--input-type=module', '-e'], lambdaScript(originOrt)) },
  { runtime: 'deno', engine: 'micro', artifact: 'netlify edgeinfer', sample: () => runProcess(DENO, ['eval', '--quiet'], netlifyScript(netlifyMicro)) },
  { runtime: 'deno', engine: 'ort-web', artifact: 'lambda-edge origin-request', sample: () => runProcess(DENO, ['eval', '--quiet'], lambdaScript(originOrt)) },
  { runtime: 'edge-runtime', engine: 'micro', artifact: 'vercel edgeinfer', sample: () => edgeRuntimeSample(join(work, 'vercel-micro/functions/edgeinfer.func/index.js')) },
  { runtime: 'edge-runtime', engine: 'ort-web', artifact: 'vercel edgeinfer (enterprise)', sample: () => edgeRuntimeSample(join(work, 'vercel-ort/functions/edgeinfer.func/index.js'), wasmModule) },
];

const results: Array<{ runtime: string; engine: string; artifact: string; ms: Summary }> = [];
for (const c of cases) {
  const samples: number[] = [];
  // Interleaving would be fairer on a noisy machine, but processes of one kind back to back
  // keep the OS page cache equally warm for every sample of a case.
  for (let i = 0; i < RUNS; i++) samples.push(await c.sample());
  const ms = summarize(samples, 1);
  results.push({ runtime: c.runtime, engine: c.engine, artifact: c.artifact, ms });
  console.log(`${c.runtime.padEnd(12)} ${c.engine.padEnd(8)} ${c.artifact.padEnd(30)} p50 ${String(ms.p50).padStart(7)} ms   p90 ${String(ms.p90).padStart(7)} ms   min ${ms.min} ms   (n=${ms.n})`);
}
const ratio = (runtime: string) => {
  const micro = results.find((r) => r.runtime === runtime && r.engine === 'micro')!.ms.p50;
  const ort = results.find((r) => r.runtime === runtime && r.engine === 'ort-web')!.ms.p50;
  return Math.round((ort / micro) * 10) / 10;
};
const ratios = { node: ratio('node'), deno: ratio('deno'), 'edge-runtime': ratio('edge-runtime') };
console.log(`ORT / micro cold start (p50): node ${ratios.node}x, deno ${ratios.deno}x, edge-runtime ${ratios['edge-runtime']}x`);
console.log(JSON.stringify({ bench: 'coldstart', machine: { cpus: cpus().length, node: process.version }, runs: RUNS, results, ortOverMicroP50: ratios }));
