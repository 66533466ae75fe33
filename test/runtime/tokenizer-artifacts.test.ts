// A model behind a Hugging Face tokenizer.json, served by built edge artifacts: the build
// registers hf-tokenizer because the embedded model declares it (and embeds its tokenizer.json),
// a build of email-hash models carries none of @huggingface/tokenizers. The temp repository's
// graph (test/helpers/tokenizer-model.ts) echoes the ids and mask it was fed and scores them
// (masked embedding sum times a weight matrix), so the test sees what the model saw:
//   vercel   the Vercel function in edge-runtime (micro)
//   netlify  the Netlify edge function in Deno (micro), where a deno binary is present
//   lambda-edge  the viewer-request zip (micro) in Node with CloudFront events
// ids and mask equal the library's own encoding; the scores equal onnxruntime-node's run of
// the same .onnx on those ids within 1e-5.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { unzipSync } from 'fflate';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denoBinary } from '../../build/deno-binary.ts';
import { buildTarget, bundleTargetFunctions, REPO_ROOT } from '../../build/pipeline.ts';
import { UnservedPreprocessingError } from '../../build/preprocessors.ts';
import type { CloudFrontRequestEvent, CloudFrontResultResponse } from '../../adapters/lambda-edge/lambda-edge.ts';
import { lambdaEdgeTarget } from '../../build/targets/lambda-edge.ts';
import { netlifyTarget } from '../../build/targets/netlify.ts';
import { vercelTarget } from '../../build/targets/vercel.ts';
import { bundleVercelFunctionScript, startVercelEdgeRuntime } from '../../build/vercel-edge-runtime.ts';
import { libraryEncoding, TOKENIZER_MAX_LENGTH, writeTokenizerModel } from '../helpers/tokenizer-model.ts';
import { startDenoEdgeFunction } from './netlify/deno-process.ts';

const DENO = denoBinary();
if (!DENO) console.warn('SKIPPING the Netlify part of the tokenizer artifact test: no deno binary');

const MAX_LENGTH = TOKENIZER_MAX_LENGTH;
const MODEL = 'tok_scorer';
const TEXTS = ['Hello, World!', 'the edge model serves unknown text.', 'FREE prize now!!! playing'];

const work = mkdtempSync(join(tmpdir(), 'edgeinfer-tok-artifacts-'));
const repo = join(work, 'models');
let graph: Uint8Array;
let session: ort.InferenceSession;

function writeModel(version: string, preprocessing: { id: string; version: number }): void {
  graph = writeTokenizerModel(repo, { name: MODEL, version, preprocessing });
}

type Post = (body: unknown) => Promise<{ status: number; answer: Record<string, any> }>;
const posts: Array<{ name: string; post: Post; close: () => Promise<void> }> = [];

async function startVercel(): Promise<Post> {
  const outDir = join(work, 'vercel/.vercel/output');
  await buildTarget(vercelTarget, { outDir, modelsRoot: repo });
  const runtime = startVercelEdgeRuntime(await bundleVercelFunctionScript(join(outDir, 'functions/edgeinfer.func/index.js')), { env: { EDGEINFER_RATE_LIMIT: 'off' } });
  return async (body) => {
    const response = await runtime.dispatchFetch('https://edgeinfer.vercel.test/v1/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await response.waitUntil();
    return { status: response.status, answer: (await response.json()) as Record<string, any> };
  };
}

async function startNetlify(): Promise<{ post: Post; close: () => Promise<void> }> {
  const out = join(work, 'netlify/.netlify/v1');
  await buildTarget(netlifyTarget, { outDir: out, modelsRoot: repo });
  const deno = await startDenoEdgeFunction(DENO!, join(out, 'edge-functions/edgeinfer.js'), { EDGEINFER_RATE_LIMIT: 'off' });
  const port = deno.port;
  return {
    post: async (body) => {
      const response = await fetch(`http://127.0.0.1:${port}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, answer: (await response.json()) as Record<string, any> };
    },
    close: deno.close,
  };
}

async function startLambdaEdge(): Promise<Post> {
  const dir = join(work, 'lambda-edge');
  await buildTarget(lambdaEdgeTarget, { outDir: join(dir, 'out'), modelsRoot: repo, baked: { EDGEINFER_RATE_LIMIT: 'off' } });
  for (const [name, bytes] of Object.entries(unzipSync(readFileSync(join(dir, 'out', 'viewer-request.zip'))))) {
    mkdirSync(dirname(join(dir, 'viewer', name)), { recursive: true });
    writeFileSync(join(dir, 'viewer', name), bytes);
  }
  const { handler } = (await import(pathToFileURL(join(dir, 'viewer', 'index.mjs')).href)) as { handler: (event: CloudFrontRequestEvent) => Promise<CloudFrontResultResponse> };
  return async (body) => {
    const bytes = Buffer.from(JSON.stringify(body));
    const event: CloudFrontRequestEvent = {
      Records: [{
        cf: {
          config: { distributionDomainName: 'd111111abcdef8.cloudfront.net', distributionId: 'EDFDVBD6EXAMPLE', eventType: 'viewer-request', requestId: 'tokenizer' },
          request: {
            clientIp: '203.0.113.178', method: 'POST', uri: '/v1/predict', querystring: '',
            headers: { host: [{ key: 'Host', value: 'd111111abcdef8.cloudfront.net' }], 'content-type': [{ key: 'Content-Type', value: 'application/json' }], 'content-length': [{ key: 'Content-Length', value: String(bytes.length) }] },
            body: { inputTruncated: false, action: 'read-only', encoding: 'base64', data: bytes.toString('base64') },
          },
        },
      }],
    };
    const result = await handler(event);
    const text = result.bodyEncoding === 'base64' ? Buffer.from(result.body ?? '', 'base64').toString('utf8') : (result.body ?? '');
    return { status: Number(result.status), answer: JSON.parse(text) as Record<string, any> };
  };
}

beforeAll(async () => {
  writeModel('1', { id: 'hf-tokenizer', version: 1 });
  session = await ort.InferenceSession.create(graph, { graphOptimizationLevel: 'basic', intraOpNumThreads: 1 });
  posts.push({ name: 'vercel (edge-runtime)', post: await startVercel(), close: async () => {} });
  posts.push({ name: 'lambda-edge viewer-request (Node)', post: await startLambdaEdge(), close: async () => {} });
  if (DENO) posts.push({ name: 'netlify (Deno)', ...(await startNetlify()) });
}, 240_000);

afterAll(async () => {
  for (const p of posts) await p.close();
  await session?.release();
  rmSync(work, { recursive: true, force: true });
});

describe('edge artifacts serving a Hugging Face tokenizer model', () => {
  it('the ids the graph saw equal the library encoding; its scores equal onnxruntime-node on those ids within 1e-5', async () => {
    for (const { name, post } of posts) {
      for (const text of TEXTS) {
        const { status, answer } = await post({ model: MODEL, text });
        expect(status, `${name}: ${JSON.stringify(answer)}`).toBe(200);
        const { ids, mask } = libraryEncoding(text);
        expect(answer.outputs.ids_f.data, name).toEqual(ids);
        expect(answer.outputs.mask_f.data, name).toEqual(mask);
        const feeds = {
          input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, MAX_LENGTH]),
          attention_mask: new ort.Tensor('int64', BigInt64Array.from(mask, BigInt), [1, MAX_LENGTH]),
        };
        const expected = Array.from((await session.run(feeds)).scores!.data as Float32Array);
        const got = answer.outputs.scores.data as number[];
        expect(got).toHaveLength(2);
        for (let i = 0; i < 2; i++) expect(Math.abs(got[i]! - expected[i]!), `${name} "${text}" score ${i}`).toBeLessThan(1e-5);
      }
      // Longer than maxLength: cut to 16 with [SEP] still last (truncation on).
      const long = await post({ model: MODEL, text: 'hello world '.repeat(20) });
      expect(long.status, name).toBe(200);
      expect(long.answer.outputs.ids_f.data.at(-1), name).toBe(3);
      // Bad input is a 400 naming the field.
      const bad = await post({ model: MODEL, text: 42 });
      expect(bad.status, name).toBe(400);
      expect(JSON.stringify(bad.answer), name).toMatch(/text/);
    }
  });

  it('only a build whose models declare hf-tokenizer carries @huggingface/tokenizers (and the tokenizer.json)', async () => {
    const [withTokenizer] = await bundleTargetFunctions(vercelTarget, { tier: 'hobby', baked: {}, modelsRoot: repo });
    expect(withTokenizer!.composition.map((c) => c.source)).toContain('@huggingface/tokenizers');
    expect(withTokenizer!.models[0]!.embedded).toContain(`${MODEL}/1/tokenizer.json`);
    const [spam] = await bundleTargetFunctions(vercelTarget, { tier: 'hobby', baked: {}, modelsRoot: join(REPO_ROOT, 'models') });
    expect(spam!.composition.map((c) => c.source)).not.toContain('@huggingface/tokenizers');
    // Printed for the closing note (not asserted): what the tokenizer costs a Vercel bundle.
    const library = withTokenizer!.composition.find((c) => c.source === '@huggingface/tokenizers')!.bytes;
    console.log(`vercel micro: tokenizer model build ${withTokenizer!.size.gzipBytes} B gzip (@huggingface/tokenizers ${library} B minified, tokenizer.json + graph ${withTokenizer!.models[0]!.gzipBytes} B gzip); spam/flights build ${spam!.size.gzipBytes} B gzip`);
  }, 120_000);

  it('refuses a build whose model declares a preprocessing no module serves, naming the model', async () => {
    writeModel('2', { id: 'sentencepiece', version: 3 });
    try {
      const error = await buildTarget(vercelTarget, { outDir: join(work, 'refused'), modelsRoot: repo }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnservedPreprocessingError);
      expect((error as Error).message).toMatch(new RegExp(`${MODEL}@2 declares preprocessing sentencepiece@3, which no build serves`));
    } finally {
      rmSync(join(repo, MODEL, '2'), { recursive: true, force: true });
    }
  }, 120_000);
});
