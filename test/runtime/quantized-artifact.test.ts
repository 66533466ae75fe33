// #14: an int8 third-party model fits a 1 MB tier and serves there. hey_jarvis (openwakeword-wasm-
// browser, node_modules) added with model:add does not fit Vercel Hobby's 1 MB as fp32 (the build
// refuses it); after `npm run quantize -- hey_jarvis --per-channel` the Hobby build (micro engine)
// takes it, and its KServe V2 infer in edge-runtime answers what onnxruntime-node computes from the
// int8 .onnx (within 1e-4) and picks the fp32 graph's label.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { quantizeMain } from '../../build/model-tools/quantize.ts';
import { buildTarget, REPO_ROOT } from '../../build/pipeline.ts';
import { vercelTarget } from '../../build/targets/vercel.ts';
import { bundleVercelFunctionScript, startVercelEdgeRuntime } from '../../build/vercel-edge-runtime.ts';
import { seededRandom } from '../../models/training/prng.ts';
import { OPENWAKEWORD_MODELS } from '../helpers/third-party-models.ts';

const work = mkdtempSync(join(tmpdir(), 'edgeinfer-quantized-artifact-'));
const repo = join(work, 'models');
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('an int8 hey_jarvis in the Vercel Hobby (1 MB) function', () => {
  it('fp32 is refused at 1 MB; int8 builds, serves on micro and matches onnxruntime-node', async () => {
    const add = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'build/model-tools/model-add.ts'), join(OPENWAKEWORD_MODELS, 'hey_jarvis_v0.1.onnx'), '--name', 'hey_jarvis', '--labels', 'other,hey_jarvis', '--role', 'edge', '--models-dir', repo], { encoding: 'utf8' });
    expect(add.status, add.stderr).toBe(0);
    await expect(buildTarget(vercelTarget, { outDir: join(work, 'fp32'), tier: 'hobby', models: ['hey_jarvis'], modelsRoot: repo })).rejects.toThrow(/over|exceed|MB/i);

    const lines: string[] = [];
    const code = await quantizeMain(['hey_jarvis', '--per-channel', '--models-dir', repo], (l) => lines.push(l), (l) => lines.push(l));
    expect(code, lines.join('\n')).toBe(0);
    const log: string[] = [];
    const outDir = join(work, 'int8/.vercel/output');
    await buildTarget(vercelTarget, { outDir, tier: 'hobby', models: ['hey_jarvis'], modelsRoot: repo, log: (l) => log.push(l) });
    console.log(log.join('\n'));
    const runtime = startVercelEdgeRuntime(await bundleVercelFunctionScript(join(outDir, 'functions/edgeinfer.func/index.js')), { env: { EDGEINFER_RATE_LIMIT: 'off' } });

    const int8 = await ort.InferenceSession.create(join(repo, 'hey_jarvis/2/model.onnx'));
    const fp32 = await ort.InferenceSession.create(join(repo, 'hey_jarvis/1/model.onnx'));
    const rand = seededRandom(1402);
    for (let i = 0; i < 5; i++) {
      const data = Float32Array.from({ length: 16 * 96 }, () => (rand() * 2 - 1) * 2);
      const response = await runtime.dispatchFetch('https://edgeinfer.vercel.test/v2/models/hey_jarvis/infer', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: 'x.1', datatype: 'FP32', shape: [1, 16, 96], data: Array.from(data) }] }),
      });
      await response.waitUntil();
      const text = await response.text();
      expect(response.status, text.slice(0, 300)).toBe(200);
      const answer = JSON.parse(text) as { model_version: string; outputs: Array<{ name: string; data: number[] }> };
      expect(answer.model_version).toBe('2');
      const got = answer.outputs.find((o) => o.name === '53')!.data[0]!;
      const feeds = { 'x.1': new ort.Tensor('float32', data, [1, 16, 96]) };
      const want = ((await int8.run(feeds))['53']!.data as Float32Array)[0]!;
      const reference = ((await fp32.run(feeds))['53']!.data as Float32Array)[0]!;
      expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-4);
      expect(got >= 0.5).toBe(reference >= 0.5);
    }
    const metadata = (await (await runtime.dispatchFetch('https://edgeinfer.vercel.test/v2/models/hey_jarvis')).json()) as { parameters: { engine: string } };
    expect(metadata.parameters.engine).toBe('micro');
    await int8.release();
    await fp32.release();
  }, 300_000);
});
