// Conformance of the Netlify build: the edge function is built into a temp `.netlify/v1`,
// bundled by Netlify's own @netlify/edge-bundler (offline: Deno from @deno/linux-x64-glibc,
// an import map stub for https://edge.netlify.com) whose manifest must carry the in-source
// config, and run in Deno, called as Netlify calls it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle } from '@netlify/edge-bundler';
import { expect, it } from 'vitest';
import { denoBinary } from '../../../build/deno-binary.ts';
import { buildTarget } from '../../../build/pipeline.ts';
import { NETLIFY_PATHS, netlifyTarget } from '../../../build/targets/netlify.ts';
import { CONFORMANCE_ADMIN_TOKEN, defineConformanceSuite } from '../conformance.ts';

const DENO = denoBinary();
if (!DENO) {
  const why = 'no deno binary: npm install brings @deno/linux-x64-glibc on Linux x64; elsewhere put deno 2.8.x on PATH';
  if (process.env.CI) throw new Error(why);
  console.warn(`SKIPPING the Netlify conformance suite: ${why}`);
}
const DENO_BIN = DENO ? dirname(DENO) : '';
const bundlerLog: string[] = [];
let manifest: Awaited<ReturnType<typeof bundle>>['manifest'] | undefined;

async function startDeno(functionFile: string): Promise<{ child: ChildProcess; port: number; config: unknown }> {
  const child = spawn(join(DENO_BIN, 'deno'), ['run', '--allow-read', '--allow-net', '--allow-env', fileURLToPath(new URL('./deno-serve.mjs', import.meta.url)), functionFile], {
    env: { ...process.env, EDGEINFER_ADMIN_TOKEN: CONFORMANCE_ADMIN_TOKEN, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`deno did not start in 60 s: ${stderr}`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      const match = /listening (\d+) (.*)/.exec(chunk.toString());
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]), config: JSON.parse(match[2]!) });
      }
    });
    child.once('exit', (code) => reject(new Error(`deno exited with ${code}: ${stderr}`)));
  });
}

if (DENO) defineConformanceSuite('netlify edge (deno)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeinfer-netlify-'));
  const out = join(dir, '.netlify/v1');
  await buildTarget(netlifyTarget, { outDir: out });
  const importMap = join(dir, 'import_map.json');
  // Without this stub (no network) the bundler silently drops in-source configs.
  writeFileSync(importMap, JSON.stringify({ imports: { 'https://edge.netlify.com/': new URL('./fixtures/edge.netlify.com/', import.meta.url).href } }));
  process.env.PATH = `${DENO_BIN}${delimiter}${process.env.PATH}`;
  const bundled = await bundle([join(out, 'edge-functions')], join(dir, 'dist'), [], {
    basePath: dir,
    cacheDirectory: join(dir, 'cache'),
    importMapPaths: [importMap],
    systemLogger: () => {},
    userLogger: (...args: unknown[]) => bundlerLog.push(args.join(' ')),
  });
  manifest = bundled.manifest;
  const { child, port, config } = await startDeno(join(out, 'edge-functions/edgeinfer.js'));
  expect(config).toMatchObject({ path: NETLIFY_PATHS, method: ['GET', 'POST'], onError: 'fail' });
  return {
    invoke: async (request) => {
      const response = await fetch(`http://127.0.0.1:${port}${request.path}`, { method: request.method, headers: request.headers, ...(request.body !== undefined ? { body: request.body } : {}) });
      return { status: response.status, headers: Object.fromEntries(response.headers), body: await response.json() };
    },
    close: async () => {
      child.kill('SIGTERM');
    },
  };
});

(DENO ? it : it.skip)("Netlify's edge-bundler bundles the function and reads its in-source config into the manifest", () => {
  expect(manifest, bundlerLog.join('\n')).toBeDefined();
  const routes = [...(manifest!.routes ?? [])].filter((r) => r.function === 'edgeinfer');
  expect(routes.map((r) => r.path).sort(), bundlerLog.join('\n')).toEqual([...NETLIFY_PATHS].sort());
  for (const route of routes) expect(route.methods).toEqual(['GET', 'POST']);
  expect(manifest!.function_config?.edgeinfer).toMatchObject({ on_error: 'fail' });
  expect(manifest!.bundles.length).toBeGreaterThan(0);
});
