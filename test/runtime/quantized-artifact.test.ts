// #14: an int8 third-party model fits a 1 MB tier and serves there. hey_jarvis (openwakeword-wasm-
// browser, node_modules) added with model:add does not fit Vercel Hobby's 1 MB as fp32 (the build
// refuses it); after `npm run quantize -- hey_jarvis --per-channel` the Hobby build (micro engine)
// takes it, and its KServe V2 infer in edge-runtime answers what onnxruntime-node computes from the
// int8 .onnx (within 1e-4) and picks the fp32 graph's label. The other 1 MB tier, the
// Lambda@Edge viewer-request zip, leaves out the fp32 openWakeWord embedding model (a 20-conv
// CNN; the build serves it from origin-request instead) and embeds its int8 version, whose /v1/predict in Node with a CloudFront viewer event answers
// what onnxruntime-node computes from the int8 .onnx.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { unzipSync } from 'fflate';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import type { CloudFrontRequestEvent, CloudFrontResultResponse } from '../../adapters/lambda-edge/lambda-edge.ts';
import { quantizeMain } from '../../build/model-tools/quantize.ts';
import { buildTarget, REPO_ROOT } from '../../build/pipeline.ts';
import { lambdaEdgeTarget } from '../../build/targets/lambda-edge.ts';
import { vercelTarget } from '../../build/targets/vercel.ts';
import { bundleVercelFunctionScript, startVercelEdgeRuntime } from '../../build/vercel-edge-runtime.ts';
import { seededRandom } from '../../models/training/prng.ts';
import { cloudFrontEventFor } from '../fuzz/cloudfront-sender.ts';
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

describe('an int8 openWakeWord embedding model in the Lambda@Edge viewer-request zip (1 MB)', () => {
  it('fp32 is left out of the viewer at 1 MB; int8 is embedded, serves /v1/predict on micro and matches onnxruntime-node', async () => {
    const embeddingRepo = join(work, 'embedding-models');
    const add = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'build/model-tools/model-add.ts'), join(OPENWAKEWORD_MODELS, 'embedding_model.onnx'), '--name', 'oww_embedding', '--role', 'edge', '--models-dir', embeddingRepo], { encoding: 'utf8' });
    expect(add.status, add.stderr).toBe(0);
    const fp32Log: string[] = [];
    await buildTarget(lambdaEdgeTarget, { outDir: join(work, 'lambda-fp32'), models: ['oww_embedding'], modelsRoot: embeddingRepo, log: (l) => fp32Log.push(l) });
    expect(fp32Log.join('\n')).toMatch(/oww_embedding@1 in lambda-edge\/viewer-request: not embedded \(its micro module is [\d.]+ MB gzip, over the 1.00 MB budget/);

    const lines: string[] = [];
    const code = await quantizeMain(['oww_embedding', '--per-channel', '--models-dir', embeddingRepo], (l) => lines.push(l), (l) => lines.push(l));
    expect(code, lines.join('\n')).toBe(0);
    const outDir = join(work, 'lambda-int8');
    const int8Log: string[] = [];
    await buildTarget(lambdaEdgeTarget, { outDir, models: ['oww_embedding'], modelsRoot: embeddingRepo, baked: { EDGEINFER_RATE_LIMIT: 'off' }, log: (l) => int8Log.push(l) });
    expect(int8Log.join('\n')).not.toMatch(/in lambda-edge\/viewer-request: not embedded/);
    const zip = join(outDir, 'viewer-request.zip');
    expect(statSync(zip).size).toBeLessThan(1024 * 1024);
    const unpacked = join(work, 'lambda-int8-viewer');
    for (const [name, bytes] of Object.entries(unzipSync(readFileSync(zip)))) {
      mkdirSync(dirname(join(unpacked, name)), { recursive: true });
      writeFileSync(join(unpacked, name), bytes);
    }
    const { handler } = (await import(pathToFileURL(join(unpacked, 'index.mjs')).href)) as { handler: (event: CloudFrontRequestEvent) => Promise<CloudFrontResultResponse> };

    const int8 = await ort.InferenceSession.create(join(embeddingRepo, 'oww_embedding/2/model.onnx'));
    const rand = seededRandom(1403);
    for (let i = 0; i < 5; i++) {
      // Mel-spectrogram frames as openWakeWord feeds them (its melspectrogram's output / 10 + 2: about
      // [0, 4]), to 3 decimals so that the JSON body fits what CloudFront exposes.
      const values = Array.from({ length: 76 * 32 }, () => Math.round(rand() * 4000) / 1000);
      const data = Float32Array.from(values);
      const body = new TextEncoder().encode(JSON.stringify({ model: 'oww_embedding', inputs: { input_1: { data: values, shape: [1, 76, 32, 1] } } }));
      expect(body.byteLength).toBeLessThan(40 * 1024); // what CloudFront exposes to a viewer trigger
      const result = await handler(cloudFrontEventFor({ index: i, kind: 'predict', method: 'POST', path: '/v1/predict', headers: [['content-type', 'application/json']], body }, 'viewer-request'));
      const text = result.bodyEncoding === 'base64' ? Buffer.from(result.body, 'base64').toString('utf8') : (result.body ?? '');
      expect(result.status, text.slice(0, 300)).toBe('200');
      const answer = JSON.parse(text) as { kind: string; model: { version: string }; outputs: Record<string, { shape: number[]; data: number[] }> };
      expect(answer.kind).toBe('raw');
      expect(answer.model.version).toBe('2');
      expect(answer.outputs['conv2d_19']!.shape).toEqual([1, 1, 1, 96]);
      const got = answer.outputs['conv2d_19']!.data;
      const want = (await int8.run({ input_1: new ort.Tensor('float32', data, [1, 76, 32, 1]) }))['conv2d_19']!.data as Float32Array;
      expect(got).toHaveLength(96);
      const scale = Math.max(1, ...Array.from(want, Math.abs));
      for (let k = 0; k < 96; k++) expect(Math.abs(got[k]! - want[k]!)).toBeLessThanOrEqual(1e-4 * scale);
    }
    await int8.release();
  }, 300_000);
});
