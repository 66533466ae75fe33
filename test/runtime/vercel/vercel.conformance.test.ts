// Conformance of the Vercel build: `.vercel/output` is built into a temp folder, read back
// with Vercel's own @vercel/build-utils (config, routes, crons, the edge function), and the
// function runs in Vercel's edge-runtime with string and WASM code generation disallowed,
// as in production. edge-runtime runs scripts, not modules: the function's ES module is
// wrapped (unchanged) in an IIFE that registers it as the fetch listener.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserializeBuildOutput, EdgeFunction, FileFsRef } from '@vercel/build-utils';
import { expect, it } from 'vitest';
import { buildTarget, REPO_ROOT } from '../../../build/pipeline.ts';
import { vercelTarget, VERCEL_ROUTE_SOURCE } from '../../../build/targets/vercel.ts';
import { CONFORMANCE_ADMIN_TOKEN, defineConformanceSuite, defineOrtEngineCheck, ortModelsRoot, type Invoke } from '../conformance.ts';
import { bundleVercelFunctionScript, startVercelEdgeRuntime } from '../../../build/vercel-edge-runtime.ts';

let readBack: { routes: unknown; crons: unknown; entrypoint: string; entryFile: string; size: { gzipBytes: number; fits: boolean } } | undefined;

defineConformanceSuite('vercel edge (edge-runtime)', async () => {
  const outDir = join(mkdtempSync(join(tmpdir(), 'edgeinfer-vercel-')), '.vercel/output');
  const result = await buildTarget(vercelTarget, { outDir, tier: 'hobby' });
  const output = await deserializeBuildOutput({
    outputDir: outDir,
    repoRootPath: REPO_ROOT,
    deserializeLambda: async () => {
      throw new Error('this build has no serverless functions, only an edge function');
    },
    groupLambdas: async (lambdas) => lambdas,
  });
  const fn = output.output.edgeinfer;
  if (!(fn instanceof EdgeFunction)) throw new Error(`edgeinfer is not an edge function: ${String(fn?.type)}`);
  const entry = fn.files[fn.entrypoint] as FileFsRef;
  readBack = { routes: output.routes, crons: output.crons, entrypoint: fn.entrypoint, entryFile: entry.fsPath, size: result.sizes[0]! };

  return { invoke: await startInEdgeRuntime(entry.fsPath, { EDGEINFER_ADMIN_TOKEN: CONFORMANCE_ADMIN_TOKEN }) };
});

/**
 * Wraps the function's ES module (unchanged) in a script that registers it as the fetch
 * listener, and evaluates it in a fresh edge-runtime. `wasmModule` stands in for Vercel's
 * linking of `import m from './x.wasm?module'`: compiled outside, handed over as a module.
 */
async function startInEdgeRuntime(functionFile: string, env: Record<string, string>, wasmModule?: WebAssembly.Module): Promise<Invoke> {
  const runtime = startVercelEdgeRuntime(await bundleVercelFunctionScript(functionFile), { env, ...(wasmModule ? { wasmModule } : {}) });
  return async (request) => {
    const response = await runtime.dispatchFetch(`https://edgeinfer.vercel.test${request.path}`, {
      method: request.method,
      headers: request.headers,
      ...(request.body !== undefined ? { body: request.body } : {}),
    });
    await response.waitUntil();
    return { status: response.status, headers: Object.fromEntries(response.headers), body: await response.json() };
  };
}

// The Enterprise build with ORT: its WASM ships as a `?module` import, never compiled from bytes in the isolate.
defineOrtEngineCheck('vercel edge with ort-web (edge-runtime)', async () => {
  const outDir = join(mkdtempSync(join(tmpdir(), 'edgeinfer-vercel-ort-')), '.vercel/output');
  await buildTarget(vercelTarget, { outDir, tier: 'enterprise', engines: ['micro', 'ort-web'], modelsRoot: ortModelsRoot() });
  const func = join(outDir, 'functions/edgeinfer.func');
  const wasmModule = await WebAssembly.compile(readFileSync(join(func, 'ort-wasm-simd-threaded.wasm')));
  return { invoke: await startInEdgeRuntime(join(func, 'index.js'), {}, wasmModule) };
});

it('the Build Output API tree reads back with routes, the warm cron and an edge function within Hobby', () => {
  expect(readBack).toBeDefined();
  expect(readBack!.entrypoint).toBe('index.js');
  expect(readBack!.routes).toEqual([{ src: VERCEL_ROUTE_SOURCE, dest: '/edgeinfer' }]);
  // The default tier is Hobby, whose crons may run once a day at most (a */5 cron fails the deploy).
  expect(readBack!.crons).toEqual([{ path: '/_warm', schedule: '0 6 * * *' }]);
  // Vercel matches `src` against the path: every route of the suite reaches the function.
  const route = new RegExp(VERCEL_ROUTE_SOURCE);
  for (const path of ['/v1/predict', '/v1/cache', '/v2', '/v2/health/ready', '/v2/models/spam-edge/versions/1/infer', '/healthz', '/_warm', '/metrics', '/dashboard', '/dashboard/data', '/dashboard/login']) expect(route.test(path), path).toBe(true);
  for (const path of ['/', '/index.html', '/v3/nothing', '/_warmer', '/metricsx', '/dashboards']) expect(route.test(path), path).toBe(false);
  expect(readBack!.size.fits).toBe(true);
  expect(readBack!.size.gzipBytes).toBeLessThan(1024 * 1024);
});

// Vercel's cron sends `Authorization: Bearer <CRON_SECRET>` (vercel.com/docs/cron-jobs/manage-cron-jobs).
// With EDGEINFER_ADMIN_TOKEN also set (and different), /_warm takes either; the cron secret
// opens nothing else.
it('with EDGEINFER_ADMIN_TOKEN and a different CRON_SECRET, /_warm accepts either token and /metrics only the admin token', async () => {
  expect(readBack).toBeDefined();
  const invoke = await startInEdgeRuntime(readBack!.entryFile, { EDGEINFER_ADMIN_TOKEN: 'admin-token-1234567890', CRON_SECRET: 'cron-secret-0987654321' });
  const get = (path: string, token: string) => invoke({ id: path, method: 'GET', path, headers: { authorization: `Bearer ${token}` } });
  expect((await get('/_warm', 'cron-secret-0987654321')).status).toBe(200);
  expect((await get('/_warm', 'admin-token-1234567890')).status).toBe(200);
  expect((await get('/_warm', 'neither-of-them')).status).toBe(403);
  expect((await get('/metrics', 'cron-secret-0987654321')).status).toBe(403);
});
