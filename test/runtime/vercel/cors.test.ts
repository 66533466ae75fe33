// CORS on the built Vercel function in Vercel's edge-runtime: the same cases as the node server
// (test/core/http/cors-cases.ts), configured through the function's environment.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { buildTarget } from '../../../build/pipeline.ts';
import { vercelTarget } from '../../../build/targets/vercel.ts';
import { bundleVercelFunctionScript, startVercelEdgeRuntime } from '../../../build/vercel-edge-runtime.ts';
import { corsCases, type Send } from '../../core/http/cors-cases.ts';

describe('CORS on the built Vercel edge function (edge-runtime)', () => {
  let send: Send;
  beforeAll(async () => {
    const outDir = join(mkdtempSync(join(tmpdir(), 'edgeinfer-vercel-cors-')), '.vercel/output');
    await buildTarget(vercelTarget, { outDir, tier: 'hobby' });
    const script = await bundleVercelFunctionScript(join(outDir, 'functions/edgeinfer.func/index.js'));
    const runtime = startVercelEdgeRuntime(script, { env: { EDGEINFER_CORS_ORIGINS: 'https://app.example.com', EDGEINFER_CORS_MAX_AGE: '300', EDGEINFER_RATE_LIMIT: '1/1h' } });
    send = async (method, path, headers, body) => {
      // edge-runtime has no socket peer: the platform's client IP header keys the rate limit, as on Vercel.
      const answer = await runtime.dispatchFetch(`https://edgeinfer.vercel.test${path}`, { method, headers: { 'x-real-ip': '203.0.113.9', ...headers }, ...(body !== undefined ? { body } : {}) });
      await answer.waitUntil();
      return { status: answer.status, headers: Object.fromEntries(answer.headers), text: await answer.text() };
    };
  }, 120_000);

  for (const c of corsCases()) it(c.name, () => c.check(send));
});
