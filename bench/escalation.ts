// Benchmark (not a test): what an escalation to the regional tier costs, through the real
// @aws-sdk/client-lambda against the local Invoke API running the regional handler. Per
// message, interleaved so machine noise hits every variant alike:
//   compute   the regional predictor called directly (model work only)
//   http      a raw fetch POST to the Invoke API (HTTP + JSON + handler, no SDK)
//   sdk       InvokeCommand through the Lambda tier (SDK + HTTP + handler)
//   edge      the router on a confident edge answer (no call)
//   escalate  the router on an unconfident edge answer (edge model + Lambda call)
// SDK overhead = sdk − http; extra latency of an escalation = escalate − edge.
// Usage: npx tsx bench/escalation.ts [--messages N] [--rounds R] [--models DIR] [--model spam-edge[@version]]
// Uses the edge model's latest version (or the one named) and the regional model its cascade
// names (latest, as the regional function serves); without models/spam-edge and
// models/spam-regional, a seeded stand-in pair.
// Last line: one JSON object.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalInvokeServer } from '../adapters/aws-lambda/local-invoke-server.ts';
import { createRegionalLambda } from '../adapters/aws-lambda/regional-handler.ts';
import { DEFAULT_MODELS_ROOT, FsModelSource } from '../adapters/node/fs-model-source.ts';
import { createOrtNodeEngine } from '../core/engine/ort-node/ort-node-engine.ts';
import { EngineRegistry } from '../core/engine/registry.ts';
import { createLambdaRegionalTier } from '../core/router/lambda-regional-tier.ts';
import { EnsembleRouter } from '../core/router/router.ts';
import { loadModel } from '../core/serving/loaded-model.ts';
import { loadSplits } from '../models/training/dataset.ts';
import { writeRegionalModelRepo } from '../test/helpers/regional-model-repo.ts';
import { resolveModelRef } from './model-ref.ts';
import { machineLine, summarize } from './stats.ts';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '5' },
    models: { type: 'string', default: DEFAULT_MODELS_ROOT },
    model: { type: 'string', default: 'spam-edge' },
  },
});
const messages = Number(values.messages);
const rounds = Number(values.rounds);
let modelsRoot = values.models as string;
let standIn: ReturnType<typeof writeRegionalModelRepo> | undefined;
if (!existsSync(join(modelsRoot, 'spam-regional')) || !existsSync(join(modelsRoot, 'spam-edge'))) {
  standIn = writeRegionalModelRepo(['spam-edge', 'spam-regional'], undefined, { cascade: { 'spam-edge': 'spam-regional' } });
  modelsRoot = standIn.root;
  console.log('note: models/spam-edge or models/spam-regional missing; using a seeded stand-in pair');
}

console.log(await machineLine());
const models = new FsModelSource(modelsRoot);
const regional = createRegionalLambda({ models, executionProviders: ['cpu'] });
const server = await startLocalInvokeServer({ functions: { 'edgeinfer-regional': regional.handler } });
const tier = createLambdaRegionalTier({
  functionName: 'edgeinfer-regional',
  region: 'us-east-1',
  endpoint: server.url,
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});
const engines = new EngineRegistry();
engines.register('ort-node', () => createOrtNodeEngine());
const edgeRef = await resolveModelRef(values.model as string, modelsRoot);
const edge = await loadModel(models, edgeRef.name, edgeRef.version, engines, ['ort-node']);
const regionalName = edge.manifest.cascade?.regional ?? 'spam-regional';
console.log(`edge ${edgeRef.name}@${edgeRef.version} (ort-node) → regional ${regionalName}@${(await resolveModelRef(regionalName, modelsRoot)).version}`);
const policy = { budgetMs: 5_000, maxInFlight: 1_000, circuit: { failures: 1_000, windowMs: 1_000, halfOpenAfterMs: 1_000 } };
const escalating = new EnsembleRouter({ policy: { ...policy, confidence: { measure: 'top', threshold: null } }, regional: tier }); // null: never confident
const confident = new EnsembleRouter({ policy: { ...policy, confidence: { measure: 'top', threshold: 0 } }, regional: tier });

const texts = loadSplits().test.slice(0, messages).map((m) => m.text);
const invokeUrl = `${server.url}/2015-03-31/functions/edgeinfer-regional/invocations`;
let seq = 0;
const requestFor = (text: string) => ({ model: regionalName, text, requestId: `b-${++seq}`, deadlineMs: Date.now() + 60_000 });
const routeInput = (text: string) => ({
  runEdge: async () => {
    const r = await edge.classifyIds(edge.preprocessor.toIds(text));
    return { ...r, probabilities: edge.manifest.labels.map((l) => r.scores[l] as number) };
  },
  regionalRequest: { model: regionalName, text, requestId: `b-${++seq}` },
});

const variants: Record<string, (text: string) => Promise<unknown>> = {
  compute: (text) => regional.predictor.predict(requestFor(text)),
  http: async (text) => {
    const response = await fetch(invokeUrl, { method: 'POST', body: JSON.stringify(requestFor(text)) });
    if (response.status !== 200 || response.headers.get('x-amz-function-error')) throw new Error(`invoke failed: ${await response.text()}`);
    return response.json();
  },
  sdk: async (text) => {
    const outcome = await tier.invoke(requestFor(text), new AbortController().signal);
    if (!outcome.ok) throw new Error(outcome.message);
    return outcome;
  },
  edge: async (text) => {
    const answer = await confident.route(routeInput(text));
    if (answer.tier !== 'edge') throw new Error('expected an edge answer');
  },
  escalate: async (text) => {
    const answer = await escalating.route(routeInput(text));
    if (answer.tier !== 'regional') throw new Error(`expected a regional answer, got ${JSON.stringify(answer).slice(0, 200)}`);
  },
};

// Warm every path (connections, JIT, model sessions) before measuring.
for (const text of texts.slice(0, 20)) for (const run of Object.values(variants)) await run(text);

const samples: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (let round = 0; round < rounds; round++) {
  for (const text of texts) {
    for (const [name, run] of Object.entries(variants)) {
      const t0 = performance.now();
      await run(text);
      samples[name]!.push(performance.now() - t0);
    }
  }
}

const summary = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
console.log('variant    n      p50 ms   p90 ms   p99 ms');
for (const [name, s] of Object.entries(summary)) {
  console.log(`${name.padEnd(10)} ${String(s.n).padEnd(6)} ${s.p50.toFixed(3).padStart(8)} ${s.p90.toFixed(3).padStart(8)} ${s.p99.toFixed(3).padStart(8)}`);
}
const pairedDiff = (a: string, b: string) => summarize(samples[a]!.map((v, i) => v - samples[b]![i]!));
const sdkOverhead = pairedDiff('sdk', 'http');
const escalationExtra = pairedDiff('escalate', 'edge');
console.log(`SDK overhead (sdk − http, paired): p50 ${sdkOverhead.p50} ms, p99 ${sdkOverhead.p99} ms`);
console.log(`extra latency of an escalation (escalate − edge, paired): p50 ${escalationExtra.p50} ms, p99 ${escalationExtra.p99} ms`);

await server.close();
await regional.predictor.close();
await edge.release();
standIn?.cleanup();
console.log(
  JSON.stringify({
    bench: 'escalation',
    models: standIn ? 'stand-in' : 'models/',
    edge: `${edgeRef.name}@${edgeRef.version}`,
    regional: regionalName,
    messages: texts.length,
    rounds,
    p50_ms: Object.fromEntries(Object.entries(summary).map(([k, s]) => [k, s.p50])),
    p99_ms: Object.fromEntries(Object.entries(summary).map(([k, s]) => [k, s.p99])),
    sdk_overhead_ms: { p50: sdkOverhead.p50, p99: sdkOverhead.p99 },
    escalation_extra_ms: { p50: escalationExtra.p50, p99: escalationExtra.p99 },
  }),
);
