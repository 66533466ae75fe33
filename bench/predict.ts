// Benchmark (not a test): what the handler costs on top of the engine. For each ORT engine,
// the warm in-process POST /v1/predict (cache off, no escalation; Request → JSON Response, read to the end) and the
// bare preprocess + session.run on the same test-split messages, interleaved message by
// message so machine noise hits both; then the cold start of `npm start` (process spawn →
// first answered /v1/predict), median over fresh processes.
// Usage: npx tsx bench/predict.ts [--messages N] [--rounds R] [--cold-runs K]
// Last line: one JSON object.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { EngineName } from '../core/engine/types.ts';
import { createLocalService } from '../adapters/node/local-service.ts';
import { loadSplits } from '../models/training/dataset.ts';
import { machineLine, summarize, type Summary } from './stats.ts';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '400' },
    rounds: { type: 'string', default: '5' },
    'cold-runs': { type: 'string', default: '5' },
    model: { type: 'string', default: 'spam-edge' },
  },
});
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const messageCount = Number(values.messages);
const rounds = Number(values.rounds);
const coldRuns = Number(values['cold-runs']);
const modelName = values.model as string;

const texts = loadSplits().test.slice(0, messageCount).map((m) => m.text);
const bodies = texts.map((text) => JSON.stringify({ text, model: modelName }));

async function warmComparison(engine: EngineName): Promise<{ handler: Summary; bare: Summary; ratio: number }> {
  // No prediction cache (the same messages come back every round) and no regional tier:
  // the handler does exactly the compute the bare path does.
  const service = createLocalService({ ortPreference: [engine], micro: false, cache: { EDGEINFER_CACHE_POLICY: 'off' }, regional: { kind: 'none' } });
  const model = await service.context.requireModel(modelName);
  if (model.engine !== engine) throw new Error(`expected ${engine}, the service picked ${model.engine}`);
  const inputName = model.manifest.inputs[0]!.name;
  const handlerUs: number[] = [];
  const bareUs: number[] = [];
  const runHandler = async (body: string) => {
    const t0 = performance.now();
    const response = await service.fetch(
      new Request('http://bench.local/v1/predict', { method: 'POST', body, headers: { 'content-type': 'application/json' } }),
    );
    await response.text();
    if (response.status !== 200) throw new Error(`handler answered ${response.status}`);
    return (performance.now() - t0) * 1000;
  };
  const runBare = async (text: string) => {
    const t0 = performance.now();
    const ids = model.preprocessor.toIds(text);
    await model.run({ [inputName]: { dtype: 'int32', dims: [1, ids.length], data: ids } });
    return (performance.now() - t0) * 1000;
  };
  for (let i = 0; i < Math.min(50, texts.length); i++) {
    await runHandler(bodies[i]!);
    await runBare(texts[i]!);
  }
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < texts.length; i++) {
      // Alternate which goes first so neither always gets the warmer cache.
      if ((i + r) % 2 === 0) {
        handlerUs.push(await runHandler(bodies[i]!));
        bareUs.push(await runBare(texts[i]!));
      } else {
        bareUs.push(await runBare(texts[i]!));
        handlerUs.push(await runHandler(bodies[i]!));
      }
    }
  }
  await service.close();
  const handler = summarize(handlerUs, 1);
  const bare = summarize(bareUs, 1);
  return { handler, bare, ratio: Math.round((handler.p50 / bare.p50) * 100) / 100 };
}

/** Spawns `npm start` on a free port and times spawn → first 200 from /v1/predict. */
async function coldStartOnce(): Promise<{ readyMs: number; firstAnswerMs: number }> {
  const t0 = performance.now();
  const child = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group, so the SIGINT below reaches npm and the server it started.
    detached: true,
  });
  let output = '';
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        output += d.toString();
        const match = /ready on (http:\/\/\S+) in/.exec(output);
        if (match) resolve(match[1]!);
      });
      child.once('exit', (code) => reject(new Error(`npm start exited with ${code}: ${output}`)));
    });
    const readyMs = performance.now() - t0;
    const response = await fetch(`${url}/v1/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: bodies[0],
    });
    await response.text();
    if (response.status !== 200) throw new Error(`first request answered ${response.status}`);
    return { readyMs, firstAnswerMs: performance.now() - t0 };
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(-child.pid!, 'SIGINT');
    await exited;
  }
}

console.log(await machineLine());
console.log(`model ${modelName}; ${texts.length} test-split messages × ${rounds} rounds per engine, interleaved handler/bare`);
const results: Record<string, Awaited<ReturnType<typeof warmComparison>>> = {};
for (const engine of ['ort-node', 'ort-web'] as const) {
  results[engine] = await warmComparison(engine);
  const r = results[engine]!;
  console.log(
    `${engine.padEnd(8)}  handler p50 ${r.handler.p50} µs  p99 ${r.handler.p99} µs | bare p50 ${r.bare.p50} µs  p99 ${r.bare.p99} µs | handler/bare p50 ${r.ratio}×`,
  );
}
const cold: Array<{ readyMs: number; firstAnswerMs: number }> = [];
for (let i = 0; i < coldRuns; i++) cold.push(await coldStartOnce());
const coldFirst = summarize(cold.map((c) => c.firstAnswerMs), 0);
const coldReady = summarize(cold.map((c) => c.readyMs), 0);
console.log(`npm start cold: ready line p50 ${coldReady.p50} ms, first answer p50 ${coldFirst.p50} ms (min ${coldFirst.min}, max ${coldFirst.max}) over ${coldRuns} processes`);
console.log(
  JSON.stringify({
    model: modelName,
    messages: texts.length,
    rounds,
    ort_node_handler_p50_us: results['ort-node']!.handler.p50,
    ort_node_handler_p99_us: results['ort-node']!.handler.p99,
    ort_node_bare_p50_us: results['ort-node']!.bare.p50,
    ort_node_bare_p99_us: results['ort-node']!.bare.p99,
    ort_node_ratio_p50: results['ort-node']!.ratio,
    ort_web_handler_p50_us: results['ort-web']!.handler.p50,
    ort_web_handler_p99_us: results['ort-web']!.handler.p99,
    ort_web_bare_p50_us: results['ort-web']!.bare.p50,
    ort_web_bare_p99_us: results['ort-web']!.bare.p99,
    ort_web_ratio_p50: results['ort-web']!.ratio,
    cold_start_first_answer_p50_ms: coldFirst.p50,
    cold_start_ready_p50_ms: coldReady.p50,
    cold_runs: coldRuns,
  }),
);
