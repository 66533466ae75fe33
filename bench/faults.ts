// Faults during load (assertions on counts, not on wall time). The node server runs as a child
// process with the Lambda regional tier (real @aws-sdk/client-lambda against the local Invoke
// API, `npm run lambda:local`'s entry, restarted with its fault knobs) and L2 on the local
// Upstash REST server over real Redis (`npm run redis:rest`'s entry, behind a delay proxy). Every message escalates (the edge model's threshold
// is set to null in a copy of models/) and the cache policy is `always`, so every request
// touches both Redis and the regional tier. Scenarios, each under closed-loop load:
//   healthy; Redis stopped mid-run (the REST server closed); Redis slowed past its 15 ms budget;
//   the regional Lambda returning function errors, timing out (delay past the budget) and
//   throttling (429).
// Pass: every request answered 200, each fault visible in every answer made under it
// (cache.l2 skipped, or degraded with the reason). p99 is reported against budget + 5 ms.
// Then load faults: a swapped model file is refused at load, the server says which file (relative to the repository).
// Usage: npx tsx bench/faults.ts [--seconds 6] [--connections 4] [--model spam-edge[@version]]
// (default: the repository's latest version of spam-edge, the one `npm start` serves). Last line: one JSON object.
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadSplits } from '../models/training/dataset.ts';
import { resolveModelRef } from './model-ref.ts';
import { startServerProcess, type ServerProcess } from './server-process.ts';
import { machineLine, summarize } from './stats.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '6' },
    connections: { type: 'string', default: '4' },
    'max-requests': { type: 'string', default: '4000' },
    // The production default is 15 ms; on this shared 2-core machine under load, healthy Redis
    // calls through the REST server already miss 15 ms and the L2 circuit stays open, so the
    // Redis faults would only ever meet an open circuit. 50 ms keeps L2 working when healthy.
    'redis-budget-ms': { type: 'string', default: '50' },
    // The edge model under load: name[@version]; without a version, the latest.
    model: { type: 'string', default: 'spam-edge' },
  },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const maxRequests = Number(values['max-requests']);
const REGIONAL_BUDGET_MS = 250;
const REDIS_BUDGET_MS = Number(values['redis-budget-ms']);
const TOKEN = 'faults-bench-token';
const ROOT = fileURLToPath(new URL('../', import.meta.url));

// A copy of the model repository holding the chosen edge version alone (so it is the one
// served) and its regional model, the edge model uncalibrated: every message escalates.
const edgeModel = await resolveModelRef(values.model as string, join(ROOT, 'models'));
const modelsDir = mkdtempSync(join(tmpdir(), 'edgeinfer-faults-'));
const edgeDir = join(modelsDir, edgeModel.name, edgeModel.version);
cpSync(edgeModel.dir, edgeDir, { recursive: true });
const edgeJsonPath = join(edgeDir, 'model.json');
const edgeJson = JSON.parse(readFileSync(edgeJsonPath, 'utf8')) as { cascade?: { threshold: number | null; regional?: string } };
const regionalName = edgeJson.cascade?.regional;
if (!regionalName) {
  console.error(`${edgeModel.name}@${edgeModel.version} has no cascade.regional in model.json: nothing to escalate to`);
  process.exit(1);
}
edgeJson.cascade!.threshold = null;
writeFileSync(edgeJsonPath, JSON.stringify(edgeJson, null, 2));
const regionalModel = await resolveModelRef(regionalName, join(ROOT, 'models'));
cpSync(join(ROOT, 'models', regionalName), join(modelsDir, regionalName), { recursive: true });

const texts = loadSplits()
  .test.slice(0, 200)
  .map((m) => m.text.slice(0, 1500));

// The local Upstash REST server and the local Invoke API run as child processes (as
// `npm run redis:rest` and `npm run lambda:local` do), so the regional model's compute and
// the REST server never share an event loop with the load generator or with each other.
const freePort = async () => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
};
const restPort = await freePort();
const invokePort = await freePort();
const startRest = () => startServerProcess({ PORT: String(restPort), UPSTASH_REDIS_REST_TOKEN: TOKEN, REDIS_URL: 'redis://127.0.0.1:6379' }, [], ['--import', 'tsx', 'adapters/upstash-rest-local/main.ts'], /Upstash REST \(local\) on (http:\/\/127\.0\.0\.1:\d+)/);
/** The Invoke API with its knobs from the environment (LAMBDA_LOCAL_DELAY_MS, _FUNCTION_ERROR, _THROTTLE). */
const startInvoke = (knobs: Record<string, string> = {}) =>
  startServerProcess({ LAMBDA_LOCAL_PORT: String(invokePort), EDGEINFER_MODELS_DIR: modelsDir, ...knobs }, [], ['--import', 'tsx', 'adapters/aws-lambda/local-invoke-main.ts'], /local Invoke API on (http:\/\/127\.0\.0\.1:\d+)/);
let rest: ServerProcess | undefined = await startRest();
let invoke = await startInvoke();
const restartInvoke = async (knobs: Record<string, string> = {}) => {
  await invoke.stop();
  invoke = await startInvoke(knobs);
};

// A delay proxy in front of the REST server: "Redis slowed past its budget".
const proxyState = { delayMs: 0 };
const upstreamAgent = new Agent({ keepAlive: true, maxSockets: 64 });
const proxy = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    setTimeout(() => {
      const upstream = httpRequest({ host: '127.0.0.1', port: restPort, path: req.url, method: req.method, headers: req.headers, agent: upstreamAgent }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      // Upstream down: drop the connection, as a dead Redis endpoint would look to the client.
      upstream.on('error', () => res.destroy());
      upstream.end(Buffer.concat(chunks));
    }, proxyState.delayMs);
  });
});
await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

const server = await startServerProcess({
  EDGEINFER_MODELS_DIR: modelsDir,
  EDGEINFER_REGIONAL: 'lambda',
  EDGEINFER_REGIONAL_ENDPOINT: invoke.url,
  EDGEINFER_REGIONAL_BUDGET_MS: String(REGIONAL_BUDGET_MS),
  AWS_REGION: 'us-east-1',
  UPSTASH_REDIS_REST_URL: proxyUrl,
  UPSTASH_REDIS_REST_TOKEN: TOKEN,
  EDGEINFER_CACHE_POLICY: 'always',
  EDGEINFER_CACHE_BUDGET_MS: String(REDIS_BUDGET_MS),
});

interface Answer {
  status: number;
  ms: number;
  serverMs: number;
  degraded: boolean;
  reason: string | undefined;
  tier: string | undefined;
  l2: string | undefined;
  at: number;
}

const clientAgent = new Agent({ keepAlive: true, maxSockets: connections });
function post(body: string): Promise<Answer> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = httpRequest(`${server.url}/v1/predict`, { method: 'POST', agent: clientAgent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const ms = performance.now() - t0;
        let parsed: { degraded?: boolean; reason?: string; tier?: string; cache?: { l2?: string }; timings?: { totalMs?: number } } = {};
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          // counted as an unparsable answer below (reason undefined, status kept)
        }
        resolve({ status: res.statusCode ?? 0, ms, serverMs: parsed.timings?.totalMs ?? Number.NaN, degraded: parsed.degraded === true, reason: parsed.reason, tier: parsed.tier, l2: parsed.cache?.l2, at: t0 });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, ms: performance.now() - t0, serverMs: Number.NaN, degraded: false, reason: 'lost', tier: undefined, l2: undefined, at: t0 }));
    req.end(body);
  });
}

/** Closed-loop load: `connections` workers, bounded by time and by count; `during` runs alongside. */
async function load(name: string, during?: (startedAt: number) => Promise<void>): Promise<Answer[]> {
  const answers: Answer[] = [];
  const started = performance.now();
  let sent = 0;
  const worker = async () => {
    while (performance.now() - started < seconds * 1000 && sent < maxRequests) {
      const i = sent++;
      answers.push(await post(JSON.stringify({ text: `${name}-${i} ${texts[i % texts.length]}` })));
    }
  };
  await Promise.all([...Array.from({ length: connections }, worker), during?.(started)]);
  return answers;
}

const SKIPPED_L2 = new Set(['over_budget', 'unavailable', 'circuit_open']);
const count = <T>(items: T[], key: (t: T) => string | undefined) => {
  const out: Record<string, number> = {};
  for (const item of items) {
    const k = key(item) ?? 'none';
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
};

interface ScenarioResult {
  scenario: string;
  requests: number;
  answered200: number;
  lost: number;
  /** Answers made while the fault was on, and how many of them show it. */
  underFault: number;
  showingFault: number;
  reasons: Record<string, number>;
  l2: Record<string, number>;
  tiers: Record<string, number>;
  p50_ms: number;
  p99_ms: number;
  server_p99_ms: number;
  budget_ms: number;
  p99_within_budget_plus_5: boolean;
  ok: boolean;
}

async function scenario(
  name: string,
  budgetMs: number,
  shows: (a: Answer) => boolean,
  fault: { on?: () => Promise<void> | void; off?: () => Promise<void> | void; midRunAt?: number },
): Promise<ScenarioResult> {
  let faultAt = Number.POSITIVE_INFINITY;
  if (!fault.midRunAt) {
    await fault.on?.();
    faultAt = 0;
  }
  const answers = await load(name, fault.midRunAt
    ? async (started) => {
        await new Promise((r) => setTimeout(r, fault.midRunAt! * seconds * 1000));
        faultAt = performance.now();
        await fault.on?.();
      }
    : undefined);
  // Answers to requests sent after the fault began (mid-run: with 50 ms of slack for in-flight ones).
  const under = answers.filter((a) => a.at >= faultAt + (fault.midRunAt ? 50 : 0));
  await fault.off?.();
  const latency = summarize(answers.map((a) => a.ms), 1);
  const serverLatency = summarize(answers.map((a) => a.serverMs).filter(Number.isFinite), 1);
  const answered200 = answers.filter((a) => a.status === 200).length;
  const showing = under.filter(shows).length;
  const result: ScenarioResult = {
    scenario: name,
    requests: answers.length,
    answered200,
    lost: answers.filter((a) => a.status === 0).length,
    underFault: under.length,
    showingFault: showing,
    reasons: count(answers, (a) => (a.degraded ? a.reason : a.tier)),
    l2: count(answers, (a) => a.l2),
    tiers: count(answers, (a) => a.tier),
    p50_ms: latency.p50,
    p99_ms: latency.p99,
    server_p99_ms: serverLatency.p99,
    budget_ms: budgetMs,
    p99_within_budget_plus_5: latency.p99 <= budgetMs + 5,
    ok: answered200 === answers.length && showing === under.length && answers.length > 0,
  };
  console.log(
    `${name.padEnd(16)} ${String(result.requests).padStart(5)} requests, ${answered200} × 200, lost ${result.lost}; fault shown in ${showing}/${under.length}; ` +
      `p50 ${result.p50_ms} ms p99 ${result.p99_ms} ms (server ${result.server_p99_ms}) vs budget+5 ${budgetMs + 5} ms; answers ${JSON.stringify(result.reasons)} l2 ${JSON.stringify(result.l2)} ${result.ok ? 'PASS' : 'FAIL'}`,
  );
  // Let circuit breakers close again (one trial after 5 s) before the next scenario.
  await new Promise((r) => setTimeout(r, 8_000));
  return result;
}

console.log(await machineLine());
console.log(`${connections} connections, ${seconds} s per scenario, edge ${edgeModel.name}@${edgeModel.version} → ${regionalModel.name}@${regionalModel.version} (≤ ${maxRequests} requests), every message escalates, cache policy always; regional budget ${REGIONAL_BUDGET_MS} ms, Redis budget ${REDIS_BUDGET_MS} ms per call`);
const results: ScenarioResult[] = [];
const loadFaults: Array<{ fault: string; ok: boolean; detail: string }> = [];
try {
  // Warm: JIT, SDK connections, Redis connection.
  await load('warmup');
  const regionalOk = (a: Answer) => a.tier === 'regional' && !a.degraded;
  const l2Skipped = (a: Answer) => a.l2 !== undefined && SKIPPED_L2.has(a.l2);
  const degradedFor = (...reasons: string[]) => (a: Answer) => a.degraded && a.tier === 'edge' && reasons.includes(a.reason ?? '');
  // Two Redis lookups can precede the regional call (edge answer, then regional answer).
  const redisBudget = 2 * REDIS_BUDGET_MS;
  // Healthy: every answer regional or, where the shared machine made a call miss its budget,
  // degraded with a reason; the shares are reported (on a loaded 2-core machine a Redis call
  // can miss its 15 ms budget with nothing broken).
  const answeredWithReason = (a: Answer) => regionalOk(a) || (a.degraded && a.reason !== undefined);
  results.push(await scenario('healthy', REGIONAL_BUDGET_MS, answeredWithReason, {}));
  results.push(
    await scenario('redis-stopped', redisBudget, l2Skipped, {
      midRunAt: 1 / 3,
      on: async () => {
        await rest?.stop();
        rest = undefined;
      },
      off: async () => {
        rest = await startRest();
      },
    }),
  );
  results.push(await scenario('redis-slow', redisBudget, l2Skipped, { on: () => void (proxyState.delayMs = 4 * REDIS_BUDGET_MS), off: () => void (proxyState.delayMs = 0) }));
  results.push(
    await scenario('lambda-errors', REGIONAL_BUDGET_MS, degradedFor('function_error', 'circuit_open'), {
      on: () => restartInvoke({ LAMBDA_LOCAL_FUNCTION_ERROR: '1' }),
      off: () => restartInvoke(),
    }),
  );
  results.push(
    await scenario('lambda-timeout', REGIONAL_BUDGET_MS, degradedFor('timeout', 'circuit_open'), {
      on: () => restartInvoke({ LAMBDA_LOCAL_DELAY_MS: String(REGIONAL_BUDGET_MS + 500) }),
      off: () => restartInvoke(),
    }),
  );
  results.push(
    await scenario('lambda-throttle', REGIONAL_BUDGET_MS, degradedFor('throttled', 'circuit_open'), {
      on: () => restartInvoke({ LAMBDA_LOCAL_THROTTLE: '1' }),
      off: () => restartInvoke(),
    }),
  );
  results.push(await scenario('recovered', REGIONAL_BUDGET_MS, answeredWithReason, {}));
} finally {
  await server.stop();
}

// Load faults: a swapped model file (another valid ONNX graph in the edge model's place).
const edgeFileName = (edgeJson as { file?: string }).file ?? 'model.onnx';
const edgeFile = join(edgeDir, edgeFileName);
const regionalFile = (JSON.parse(readFileSync(join(regionalModel.dir, 'model.json'), 'utf8')) as { file?: string }).file ?? 'model.onnx';
copyFileSync(join(regionalModel.dir, regionalFile), edgeFile);
const swapped = await startServerProcess({ EDGEINFER_MODELS_DIR: modelsDir, EDGEINFER_REGIONAL: 'none' });
try {
  const response = await fetch(`${swapped.url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"hi"}' });
  const body = (await response.json()) as { error?: { code: string; message: string } };
  const ready = await fetch(`${swapped.url}/v2/health/ready`);
  const ok = response.status === 503 && body.error?.code === 'model_not_ready' && body.error.message.includes(`${edgeModel.name}/${edgeModel.version}/${edgeFileName}`) && /sha256 mismatch/.test(body.error.message) && ready.status === 503 && swapped.output().includes('model not served');
  loadFaults.push({ fault: 'swapped model file', ok, detail: `${response.status} ${body.error?.code}: ${body.error?.message}` });
  console.log(`swapped model: ${ok ? 'PASS' : 'FAIL'} — ${response.status} ${body.error?.code}: ${body.error?.message}; /v2/health/ready ${ready.status}`);
} finally {
  await swapped.stop();
}

await invoke.stop();
await rest?.stop();
await new Promise((resolve) => proxy.close(resolve));
upstreamAgent.destroy();
clientAgent.destroy();
rmSync(modelsDir, { recursive: true, force: true });
const ok = results.every((r) => r.ok) && loadFaults.every((f) => f.ok);
console.log(JSON.stringify({ bench: 'faults', ok, model: `${edgeModel.name}@${edgeModel.version}`, regional: `${regionalModel.name}@${regionalModel.version}`, connections, seconds, regional_budget_ms: REGIONAL_BUDGET_MS, redis_budget_ms: REDIS_BUDGET_MS, scenarios: results, loadFaults }));
process.exit(ok ? 0 : 1);
