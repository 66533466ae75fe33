// Input shapes from model.json (issue 14): Silero VAD v5 (@ricky0123/vad-web in node_modules)
// exports every audio dim symbolic and branches on them in 25 nested Ifs, so the micro engine
// compiles it only specialised on one frame. Declaring that frame in model.json
// (`"shape": [1, 576]`, 64 context + 512 new samples at 16 kHz) is all a user does: model:check
// then serves it on micro, the same graph declared [-1, -1] falls back to ONNX Runtime, and a
// declared rank the graph does not have is refused naming the model.json field. Built for Vercel
// (micro only, Enterprise: its module is 1.9 MB gzip) and run in edge-runtime, the artifact
// answers KServe V2 requests over a sequence of frames with the state carried, as
// onnxruntime-node does within 1e-4, and answers a frame of another length 400 JSON naming the
// input and the dimension (a sample rate the specialised graph cannot take: 400, not 500).
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkModels } from '../../build/model-tools/model-check.ts';
import { buildTarget } from '../../build/pipeline.ts';
import { vercelTarget } from '../../build/targets/vercel.ts';
import { bundleVercelFunctionScript, startVercelEdgeRuntime } from '../../build/vercel-edge-runtime.ts';
import { seededRandom } from '../../models/training/prng.ts';
import type { V2Answer } from '../helpers/kserve-binary.ts';

const GRAPH = join(dirname(createRequire(import.meta.url).resolve('@ricky0123/vad-web/package.json')), 'dist/silero_vad_v5.onnx');
const FRAME = 576;
const work = mkdtempSync(join(tmpdir(), 'edgeinfer-declared-shapes-'));
const repo = join(work, 'models');

/** silero v5's model.json, as a user writes it; `input` and `state` shapes as given. */
function sileroJson(name: string, engine: 'auto' | 'micro', input: number[], state: number[]): Record<string, unknown> {
  return {
    name, version: '1', engine, role: 'edge',
    inputs: [
      { name: 'input', dtype: 'float32', shape: input, source: 'request' },
      { name: 'state', dtype: 'float32', shape: state, source: 'request' },
      { name: 'sr', dtype: 'int64', shape: [], source: 'request', optional: true, default: 16000 },
    ],
    outputs: [
      { name: 'output', dtype: 'float32', shape: [1, 1] },
      { name: 'stateN', dtype: 'float32', shape: [2, 1, 128] },
    ],
    output: { kind: 'raw' },
    // Without a declared frame, warmup would run zeros of the generated default length.
    ...(input.length === 2 ? { warmup: [{ inputs: { input: { data: [0], shape: [1, FRAME], fill: true }, state: { data: [0], shape: [2, 1, 128], fill: true } } }] } : {}),
  };
}

function addModel(json: Record<string, unknown>): void {
  const bytes = readFileSync(GRAPH);
  const dir = join(repo, json.name as string, '1');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.onnx'), bytes);
  writeFileSync(join(dir, 'model.json'), JSON.stringify({ file: 'model.onnx', sha256: createHash('sha256').update(bytes).digest('hex'), ...json }, null, 2));
}

addModel(sileroJson('vad', 'micro', [1, FRAME], [2, 1, 128]));
addModel(sileroJson('vad_any_length', 'auto', [-1, -1], [2, -1, 128]));
addModel(sileroJson('vad_wrong_rank', 'auto', [FRAME], [2, 1, 128]));

let infer: (body: unknown) => Promise<{ status: number; json: Record<string, unknown> }>;

beforeAll(async () => {
  const vercelRepo = join(work, 'vercel-models');
  mkdirSync(vercelRepo);
  // Only the model declared for micro goes into the artifact (the others are model:check's).
  cpSync(join(repo, 'vad'), join(vercelRepo, 'vad'), { recursive: true });
  const outDir = join(work, '.vercel/output');
  await buildTarget(vercelTarget, { outDir, tier: 'enterprise', modelsRoot: vercelRepo });
  const runtime = startVercelEdgeRuntime(await bundleVercelFunctionScript(join(outDir, 'functions/edgeinfer.func/index.js')), { env: { EDGEINFER_RATE_LIMIT: 'off' } });
  infer = async (body) => {
    const answer = await runtime.dispatchFetch('https://edgeinfer.vercel.test/v2/models/vad/infer', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await answer.waitUntil();
    return { status: answer.status, json: (await answer.json()) as Record<string, unknown> };
  };
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('model.json input shapes specialise the micro compile (silero VAD v5)', () => {
  it('model:check serves the declared frame on micro, the variable one on ONNX Runtime, and names the field of a wrong rank', async () => {
    const checks = await checkModels(repo, [], 3);
    const by = (name: string) => checks.find((c) => c.model === `${name}@1`)!;
    expect(by('vad').chosen, JSON.stringify(by('vad'))).toBe('micro');
    const anyLength = by('vad_any_length');
    expect(anyLength.chosen).toBe('ort-node');
    expect(anyLength.engines.find((e) => e.engine === 'micro')!.reason).toMatch(/If/);
    const wrongRank = by('vad_wrong_rank');
    // onnxruntime refuses the rank too (its warmup fails): nothing serves it, and micro says why.
    expect(wrongRank.chosen).toBeUndefined();
    expect(wrongRank.engines.find((e) => e.engine === 'micro')!.reason).toMatch(/model\.json "inputs\[0\]\.shape": input "input" is declared with shape \[576\] .*ranks differ/);
  }, 180_000);

  it('the built Vercel function answers a sequence of frames as onnxruntime-node does (state carried)', async () => {
    const session = await ort.InferenceSession.create(GRAPH);
    const rand = seededRandom(1405);
    let context = new Float32Array(64);
    let microState = new Float32Array(2 * 128);
    let ortState = new Float32Array(2 * 128);
    let worst = 0;
    for (let frame = 0; frame < 12; frame++) {
      const input = new Float32Array(FRAME);
      input.set(context);
      // Speech-like bursts on some frames, quiet noise on others.
      for (let i = 64; i < FRAME; i++) input[i] = (rand() * 2 - 1) * (frame % 3 === 0 ? 0.6 : 0.02) * Math.sin(i / (3 + frame));
      context = input.slice(-64);
      const { status, json } = await infer({
        inputs: [
          { name: 'input', datatype: 'FP32', shape: [1, FRAME], data: Array.from(input) },
          { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: Array.from(microState) },
        ],
      });
      expect(status, JSON.stringify(json).slice(0, 400)).toBe(200);
      const outputs = new Map((json as unknown as V2Answer).outputs.map((o) => [o.name, o]));
      const ref = await session.run({ input: new ort.Tensor('float32', input, [1, FRAME]), state: new ort.Tensor('float32', ortState, [2, 1, 128]), sr: new ort.Tensor('int64', BigInt64Array.of(16000n), []) });
      for (const name of ['output', 'stateN']) {
        const got = outputs.get(name)!;
        expect(got.shape).toEqual([...ref[name]!.dims]);
        const want = ref[name]!.data as Float32Array;
        const values = got.data as number[];
        expect(values.length).toBe(want.length);
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(values[i]! - want[i]!));
      }
      microState = Float32Array.from(outputs.get('stateN')!.data as number[]);
      ortState = Float32Array.from(ref.stateN!.data as Float32Array);
    }
    console.log(`silero v5 through the built Vercel function (micro) vs onnxruntime-node over 12 frames: max |delta| ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(1e-4);
  });

  it('answers a frame of another length 400 JSON naming the input and the dimension', async () => {
    const { status, json } = await infer({
      inputs: [
        { name: 'input', datatype: 'FP32', shape: [1, 512], data: new Array(512).fill(0) },
        { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: new Array(256).fill(0) },
      ],
    });
    expect(status).toBe(400);
    expect((json.error as { message: string }).message).toMatch(/input "input".*\[1,512\].*\[1,576\].*dimension 1 must be 576/);
  });

  it('answers a sample rate the specialised graph cannot take 400 (onnxruntime fails there too), not 500', async () => {
    const { status, json } = await infer({
      inputs: [
        { name: 'input', datatype: 'FP32', shape: [1, FRAME], data: new Array(FRAME).fill(0) },
        { name: 'state', datatype: 'FP32', shape: [2, 1, 128], data: new Array(256).fill(0) },
        { name: 'sr', datatype: 'INT64', shape: [], data: [8000] },
      ],
    });
    expect(status, JSON.stringify(json)).toBe(400);
    expect((json.error as { message: string }).message).toMatch(/could not run on these inputs/);
  });
});
