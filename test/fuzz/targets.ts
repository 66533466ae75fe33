// The targets the fuzz run sends bad requests to, each started the way it runs in production
// (or as close as this machine allows), built by the real build pipeline into a temp folder:
//   node         `npm start`'s server as a child process, over real sockets
//   vercel       the built Vercel function in Vercel's edge-runtime, code generation off
//   netlify      the built Netlify edge function in Deno (deno-serve.mjs), over real sockets
//   lambda-edge  the built viewer- and origin-request zips in Node, called with CloudFront events
// Shared by `npm run test:fuzz` (test/fuzz/main.ts) and the vitest artifact fuzz tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { unzipSync } from 'fflate';
import { denoBinary } from '../../build/deno-binary.ts';
import { buildTarget } from '../../build/pipeline.ts';
import { lambdaEdgeTarget } from '../../build/targets/lambda-edge.ts';
import { netlifyTarget } from '../../build/targets/netlify.ts';
import { vercelTarget } from '../../build/targets/vercel.ts';
import { bundleVercelFunctionScript, startVercelEdgeRuntime } from '../../build/vercel-edge-runtime.ts';
import { invokeSender, type FuzzCase, type FuzzSender } from './bad-requests.ts';
import { SPAM_SIGNATURES, type FuzzModelSignature } from './kserve-cases.ts';
import { thirdPartySignatures, writeThirdPartyRepo } from '../helpers/third-party-models.ts';
import { cloudFrontSender, type CloudFrontHandler, type CloudFrontTrigger } from './cloudfront-sender.ts';
import { socketSender } from './socket-sender.ts';

export const FUZZ_TARGETS = ['node', 'vercel', 'netlify', 'lambda-edge'] as const;
export type FuzzTargetName = (typeof FUZZ_TARGETS)[number];

/** A running target. */
export interface FuzzTarget {
  name: FuzzTargetName;
  /** What runs, in a few words (for the report). */
  runs: string;
  send: FuzzSender;
  /** Concurrency that suits the target (sockets, or in-process calls in flight). */
  concurrency: number;
  /** Signatures of the models it serves, for the KServe families. */
  models: FuzzModelSignature[];
  /** False once the process or runtime behind the target has died. */
  alive(): boolean;
  /** What the target printed (stderr of a child), for the report of a failure. */
  log(): string;
  /** Extra figures for the result (e.g. requests per CloudFront trigger). */
  details?(): Record<string, unknown>;
  close(): Promise<void>;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const encoder = new TextEncoder();
/** The fuzz is one client sending thousands of requests: a rate limit would hide the validators. */
const NO_RATE_LIMIT = { EDGEINFER_RATE_LIMIT: 'off' };

/** The good request every target must still answer 200 after the bad ones. */
export function goodRequest(): FuzzCase {
  return { index: -1, kind: 'good', method: 'POST', path: '/v1/predict', headers: [['content-type', 'application/json']], body: encoder.encode(JSON.stringify({ text: 'Subject: lunch tomorrow?\n\nAre we still on for noon?' })) };
}

/** Why the Netlify target cannot run here, or null when Deno is installed. */
export function netlifyUnavailable(): string | null {
  return denoBinary() ? null : 'no deno binary: npm install brings @deno/linux-x64-glibc (optional dependency) on Linux x64; elsewhere put deno 2.8.x on PATH';
}

/** Starts one target (builds it first where it is an artifact). */
export async function startFuzzTarget(name: FuzzTargetName): Promise<FuzzTarget> {
  if (name === 'node') return startNode();
  if (name === 'vercel') return startVercel();
  if (name === 'netlify') return startNetlify();
  return startLambdaEdge();
}

function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `edgeinfer-fuzz-${name}-`));
}

/** Spawns a child and waits for `ready` to match its stdout; tracks exit and stderr. */
async function spawnReady(command: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray; alive(): boolean; log(): string }> {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  let exited = false;
  child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
  child.once('exit', () => (exited = true));
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${command} did not get ready in 60 s:\n${log}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.once('exit', (code) => reject(new Error(`${command} exited with ${code}:\n${log}`)));
  });
  return { child, match, alive: () => !exited && child.exitCode === null, log: () => log };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function startNode(): Promise<FuzzTarget> {
  // The per-client rate limit `npm start` applies would answer most of one client's 10,000
  // requests 429 before any validator saw them: off, so every request reaches the checks.
  // The example models plus real third-party graphs (several inputs, INT64 scalars, a batch
  // dim, every dtype), so the KServe families reach each validator and the engines behind them.
  const repo = writeThirdPartyRepo(undefined, { spam: true });
  const server = await spawnReady(process.execPath, ['--import', 'tsx', 'adapters/node/server.ts'], { ...process.env, ...NO_RATE_LIMIT, PORT: '0', HOST: '127.0.0.1', EDGEINFER_MODELS_DIR: repo.root }, /ready on (http:\/\/127\.0\.0\.1:\d+)/);
  const sender = socketSender(server.match[1]!, { sockets: 16 });
  return {
    name: 'node',
    runs: "npm start's server (node:http), over sockets; spam models + alexa, melspectrogram, silero_vad, dtypes",
    send: sender.send,
    concurrency: 16,
    models: [...SPAM_SIGNATURES, ...thirdPartySignatures()],
    alive: server.alive,
    log: server.log,
    close: async () => {
      sender.close();
      await stop(server.child);
      repo.cleanup();
    },
  };
}

async function startVercel(): Promise<FuzzTarget> {
  const dir = tempDir('vercel');
  const outDir = join(dir, '.vercel/output');
  // Pro's 2 MB carries the spam model and one wake-word graph (0.8 MB gzip compiled), so the
  // KServe tensor families reach a float model in edge-runtime too.
  const vercelModels = ['alexa'];
  const repo = writeThirdPartyRepo(vercelModels, { spam: true });
  await buildTarget(vercelTarget, { outDir, tier: 'pro', modelsRoot: repo.root });
  repo.cleanup();
  const runtime = startVercelEdgeRuntime(await bundleVercelFunctionScript(join(outDir, 'functions/edgeinfer.func/index.js')));
  const invoke = async (request: Request): Promise<Response> => {
    const body = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
    const response = await runtime.dispatchFetch(request.url, { method: request.method, headers: Object.fromEntries(request.headers), ...(body ? { body } : {}) });
    await response.waitUntil();
    return response as unknown as Response;
  };
  return {
    name: 'vercel',
    runs: 'built Vercel function (Pro tier, micro engine; spam-edge + alexa) in edge-runtime 4, code generation off',
    send: invokeSender(invoke, 'https://edgeinfer.vercel.test'),
    concurrency: 8,
    models: [...SPAM_SIGNATURES.slice(0, 1), ...thirdPartySignatures(vercelModels)],
    alive: () => true, // in process: a dead runtime shows as failed requests and a failed good request
    log: () => '',
    close: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function startNetlify(): Promise<FuzzTarget> {
  const deno = denoBinary();
  if (!deno) throw new Error(netlifyUnavailable()!);
  const dir = tempDir('netlify');
  const out = join(dir, '.netlify/v1');
  // Netlify carries the micro engine only: the third-party graphs it compiles.
  const netlifyModels = ['alexa', 'melspectrogram'];
  const repo = writeThirdPartyRepo(netlifyModels, { spam: true });
  await buildTarget(netlifyTarget, { outDir: out, modelsRoot: repo.root });
  repo.cleanup();
  const serve = fileURLToPath(new URL('../runtime/netlify/deno-serve.mjs', import.meta.url));
  const server = await spawnReady(deno, ['run', '--allow-read', '--allow-net', '--allow-env', serve, join(out, 'edge-functions/edgeinfer.js')], { ...process.env, ...NO_RATE_LIMIT, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' }, /listening (\d+)/);
  const url = `http://127.0.0.1:${server.match[1]}`;
  const sender = socketSender(url, { sockets: 16 });
  return {
    name: 'netlify',
    runs: `built Netlify edge function in Deno ${denoVersion(deno)} (Deno.serve, as Netlify calls it), over sockets`,
    send: sender.send,
    concurrency: 16,
    models: [...SPAM_SIGNATURES.slice(0, 1), ...thirdPartySignatures(netlifyModels)],
    alive: server.alive,
    log: server.log,
    close: async () => {
      sender.close();
      await stop(server.child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function denoVersion(deno: string): string {
  const match = /deno-linux-x64-glibc\/|@deno\/linux-x64-glibc/.test(deno) ? /"version":\s*"([^"]+)"/.exec(readFileSync(join(dirname(deno), 'package.json'), 'utf8')) : null;
  return match?.[1] ?? '(from PATH)';
}

async function startLambdaEdge(): Promise<FuzzTarget> {
  const dir = tempDir('lambda-edge');
  // /v2/* reaches origin-request, which carries ONNX Runtime: every third-party graph, the
  // wake-word ones marked engine "ort" so the 1 MB viewer-request zip keeps the spam model only.
  const repo = writeThirdPartyRepo(undefined, { spam: true, overrides: { alexa: { engine: 'ort' }, melspectrogram: { engine: 'ort' } } });
  await buildTarget(lambdaEdgeTarget, { outDir: join(dir, 'out'), modelsRoot: repo.root });
  repo.cleanup();
  const handlers = {} as Record<CloudFrontTrigger, CloudFrontHandler>;
  for (const trigger of ['viewer-request', 'origin-request'] as const) {
    for (const [name, bytes] of Object.entries(unzipSync(readFileSync(join(dir, 'out', `${trigger}.zip`))))) {
      mkdirSync(dirname(join(dir, trigger, name)), { recursive: true });
      writeFileSync(join(dir, trigger, name), bytes);
    }
    handlers[trigger] = ((await import(pathToFileURL(join(dir, trigger, 'index.mjs')).href)) as { handler: CloudFrontHandler }).handler;
  }
  const counts: Record<CloudFrontTrigger, number> = { 'viewer-request': 0, 'origin-request': 0 };
  return {
    name: 'lambda-edge',
    runs: 'built viewer-request and origin-request zips in Node, CloudFront events (body base64, cut at 40 KB / 1 MB with inputTruncated)',
    send: cloudFrontSender(handlers, counts),
    concurrency: 8,
    models: [...SPAM_SIGNATURES.slice(0, 1), ...thirdPartySignatures()],
    alive: () => true, // in process: a thrown handler is counted as a 5xx; crashes surface as unhandled errors
    log: () => '',
    details: () => ({ byTrigger: { ...counts } }),
    close: async () => rmSync(dir, { recursive: true, force: true }),
  };
}
