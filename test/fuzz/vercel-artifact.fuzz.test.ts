// The fuzz generator against a built edge artifact: the Vercel build (build/targets/vercel.ts,
// Hobby tier, micro engine) in Vercel's edge-runtime with code generation disallowed, through
// invokeSender: the same seeded bad requests the node server gets, none may answer ≥ 500.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTarget } from '../../build/pipeline.ts';
import { vercelTarget } from '../../build/targets/vercel.ts';
import { invokeSender, runFuzz } from './bad-requests.ts';
import { bundleVercelFunctionScript, startVercelEdgeRuntime } from '../../build/vercel-edge-runtime.ts';

let invoke: (request: Request) => Promise<Response>;

beforeAll(async () => {
  const outDir = join(mkdtempSync(join(tmpdir(), 'edgeinfer-fuzz-vercel-')), '.vercel/output');
  await buildTarget(vercelTarget, { outDir, tier: 'hobby' });
  const functionFile = join(outDir, 'functions/edgeinfer.func/index.js');
  const runtime = startVercelEdgeRuntime(await bundleVercelFunctionScript(functionFile));
  invoke = async (request) => {
    const body = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
    const response = await runtime.dispatchFetch(request.url, { method: request.method, headers: Object.fromEntries(request.headers), ...(body ? { body } : {}) });
    await response.waitUntil();
    return response as unknown as Response;
  };
}, 120_000);

describe('fuzzing the Vercel edge artifact', () => {
  it('answers 500 seeded bad requests: none ≥ 500, every error JSON with a code', async () => {
    const summary = await runFuzz(invokeSender(invoke, 'https://edgeinfer.vercel.test'), { seed: 20261128, count: 500, concurrency: 4 });
    expect(summary.violations).toEqual([]);
    expect(summary.answered).toBe(500);
    for (const code of ['invalid_json', 'invalid_request', 'payload_too_large', 'unsupported_media_type', 'method_not_allowed', 'not_found']) {
      expect(summary.byCode[code], code).toBeGreaterThan(0);
    }
  });
});
