// The Lambda tier as an edge build sees it: bundled with the browser/worker conditions,
// the SDK switches to its fetch-based handler and web crypto. This bundles the tier with
// esbuild, checks nothing Node-only slipped in, and runs the bundle against the local
// Invoke API through fetch.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalInvokeServer, type LocalInvokeServer } from '../../../adapters/aws-lambda/local-invoke-server.ts';
import type * as TierModule from '../../../core/router/lambda-regional-tier.ts';

let server: LocalInvokeServer;
let bundle: Uint8Array;
let tierModule: typeof TierModule;

beforeAll(async () => {
  server = await startLocalInvokeServer({
    functions: {
      regional: async () => ({ label: 'ham', scores: { ham: 0.8, spam: 0.2 }, model: { name: 'm', version: '1', sha256: 'cd' }, timings: {}, executionProvider: 'cpu' }),
    },
  });
  const result = await esbuild.build({
    entryPoints: ['core/router/lambda-regional-tier.ts'],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['worker', 'browser'],
    minify: true,
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  bundle = (result.outputFiles[0] as esbuild.OutputFile).contents;
  const inputs = Object.keys(result.metafile.inputs);
  expect(inputs.some((p) => p.includes('fetch-http-handler'))).toBe(true);
  expect(inputs.some((p) => p.includes('node-http-handler'))).toBe(false);
  const dir = join('test', 'artifacts');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'lambda-regional-tier.web.mjs');
  writeFileSync(file, bundle);
  tierModule = (await import(pathToFileURL(join(process.cwd(), file)).href)) as typeof TierModule;
});
afterAll(() => server.close());

describe('Lambda regional tier, web bundle', () => {
  // platform "browser" already refuses to resolve Node built-ins; this guards against a
  // dependency that reaches them through require() at run time.
  it('has no Node built-ins and stays small', () => {
    const text = new TextDecoder().decode(bundle);
    expect(text).not.toMatch(/(?:from|require\(|import\()\s*["'](?:node:)?(?:http|https|http2|fs|net|tls|stream|crypto|child_process)["']/);
    expect(text).not.toMatch(/\bprocess\.env\b/);
    const gzipKb = gzipSync(bundle).length / 1024;
    expect(gzipKb).toBeLessThan(120); // measured ~67 KB gzip (SDK 3.1162.0)
  });

  it('invokes through fetch with explicit credentials (no default chain in web runtimes)', async () => {
    const tier = tierModule.createLambdaRegionalTier({
      functionName: 'regional',
      region: 'us-east-1',
      endpoint: server.url,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const outcome = await tier.invoke({ model: 'm', text: 'x', requestId: 'w1', deadlineMs: Date.now() + 10_000 }, new AbortController().signal);
    expect(outcome).toMatchObject({ ok: true, prediction: { label: 'ham' } });
    expect(server.invocations.get('regional')).toBe(1);
  });
});
